//===- InferDimensionGroups.cpp - which input dimensions must agree --------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-infer-dimension-groups: a union-find over (value, dimension) pairs, joined wherever the
// lowered IR assumes two extents are equal, projected onto the dynamic dimensions of each entry point's
// arguments.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/Hashing.h"

namespace effc {
#define GEN_PASS_DEF_EFFCINFERDIMENSIONGROUPSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// A dimension of a tensor value, or (with dim == -1) an index value used as an extent, in a calling
/// context: the values of a private function's body are visited once per call (chain) that reaches them.
using DimKey = std::tuple<uintptr_t, void *, int64_t>;

class DimensionClasses {
public:
  explicit DimensionClasses(ModuleOp module) : module(module) {}

  DimKey dimOf(Value value, int64_t dim) { return {context, value.getAsOpaquePointer(), dim}; }
  DimKey extent(Value index) { return {context, index.getAsOpaquePointer(), -1}; }
  void join(DimKey a, DimKey b) { classes.unionSets(a, b); }
  bool same(DimKey a, DimKey b) const {
    return classes.contains(a) && classes.contains(b) && classes.isEquivalent(a, b);
  }

  /// Records the equalities one op assumes.
  void visit(Operation *op) {
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      if (!linalgOp.hasPureTensorSemantics())
        return;
      // Operand dimensions indexed by the same loop have the loop's extent.
      SmallVector<std::optional<DimKey>> loopDims(linalgOp.getNumLoops());
      for (OpOperand &operand : op->getOpOperands()) {
        if (!isa<RankedTensorType>(operand.get().getType()))
          continue;
        AffineMap map = linalgOp.getMatchingIndexingMap(&operand);
        for (auto [position, expr] : llvm::enumerate(map.getResults())) {
          auto dim = dyn_cast<AffineDimExpr>(expr);
          if (!dim)
            continue;
          DimKey key = dimOf(operand.get(), position);
          if (auto &loop = loopDims[dim.getPosition()])
            join(*loop, key);
          else
            loop = key;
        }
      }
      // Results have their init's shape.
      for (auto [result, init] : llvm::zip(op->getResults(), linalgOp.getDpsInits()))
        joinShapes(result, init);
      return;
    }
    if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
      for (auto [dim, size] : llvm::enumerate(empty.getMixedSizes()))
        if (auto value = dyn_cast<Value>(size))
          join(dimOf(empty, dim), extent(value));
      return;
    }
    if (auto dimOp = dyn_cast<tensor::DimOp>(op)) {
      if (std::optional<int64_t> index = dimOp.getConstantIndex())
        join(extent(dimOp), dimOf(dimOp.getSource(), *index));
      return;
    }
    if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      joinShapes(cast.getResult(), cast.getSource());
      return;
    }
    // A slice's extents are its sizes (eff-pack-qkv slices q, k and v with the packed result's tensor.dim).
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      if (slice.getType().getRank() == slice.getSourceType().getRank())
        for (auto [dim, size] : llvm::enumerate(slice.getMixedSizes()))
          if (auto value = dyn_cast<Value>(size))
            join(dimOf(slice.getResult(), dim), extent(value));
      return;
    }
    // A micro-kernel's result: a buffer allocated with its extents, read back as a tensor.
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      MemRefType type = alloc.getType();
      for (int64_t dim = 0, dynamic = 0; dim < type.getRank(); ++dim)
        if (type.isDynamicDim(dim))
          join(dimOf(alloc, dim), extent(alloc.getDynamicSizes()[dynamic++]));
      return;
    }
    if (auto toTensor = dyn_cast<bufferization::ToTensorOp>(op)) {
      auto type = cast<RankedTensorType>(toTensor.getType());
      for (int64_t dim = 0; dim < type.getRank(); ++dim)
        join(dimOf(toTensor.getResult(), dim), dimOf(toTensor.getBuffer(), dim));
      return;
    }
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      joinReshape(expand.getSrc(), expand.getResult(), expand.getReassociationIndices(), /*expanding=*/true);
      for (auto [dim, size] : llvm::enumerate(expand.getMixedOutputShape()))
        if (auto value = dyn_cast<Value>(size))
          join(dimOf(expand.getResult(), dim), extent(value));
      return;
    }
    if (auto call = dyn_cast<func::CallOp>(op)) {
      if (auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee()); callee && !callee.isExternal()) {
        visitCallee(call, callee);
        return;
      }
      // A micro-kernel call states the extents it assumes equal (buildUkernelCall in the eff lowering).
      auto quadruples = call->getAttrOfType<DenseI64ArrayAttr>("effc.equal_extents");
      if (!quadruples || quadruples.size() % 4)
        return;
      ArrayRef<int64_t> ties = quadruples.asArrayRef();
      for (size_t i = 0; i + 4 <= ties.size(); i += 4) {
        Value lhs = tensorBehind(call, ties[i]), rhs = tensorBehind(call, ties[i + 2]);
        if (lhs && rhs)
          join(dimOf(lhs, ties[i + 1]), dimOf(rhs, ties[i + 3]));
      }
      return;
    }
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
      joinReshape(collapse.getSrc(), collapse.getResult(), collapse.getReassociationIndices(), /*expanding=*/false);
  }

private:
  /// Joins a call's operands and results with the callee's arguments and returned values, and visits the
  /// callee's body in a context of its own (a body shared by several layers, eff-outline-layers).
  void visitCallee(func::CallOp call, func::FuncOp callee) {
    uintptr_t caller = context;
    auto callContext = static_cast<uintptr_t>(static_cast<size_t>(llvm::hash_combine(caller, call.getOperation())));
    if (llvm::is_contained(activeCalls, callee.getOperation()))
      return; // recursion: the shapes of a recursive call are not followed
    SmallVector<std::pair<Value, Value>> ties; // (in the caller, in the callee)
    for (auto [operand, argument] : llvm::zip(call.getOperands(), callee.getArguments()))
      ties.push_back({operand, argument});
    callee.walk([&](func::ReturnOp ret) {
      for (auto [result, returned] : llvm::zip(call.getResults(), ret.getOperands()))
        ties.push_back({result, returned});
    });
    for (auto [outer, inner] : ties) {
      auto type = dyn_cast<RankedTensorType>(outer.getType());
      auto innerType = dyn_cast<RankedTensorType>(inner.getType());
      if (!type || !innerType || type.getRank() != innerType.getRank())
        continue;
      for (int64_t dim = 0; dim < type.getRank(); ++dim)
        join(dimOf(outer, dim), DimKey{callContext, inner.getAsOpaquePointer(), dim});
    }
    activeCalls.push_back(callee);
    context = callContext;
    callee.walk([&](Operation *nested) { visit(nested); });
    context = caller;
    activeCalls.pop_back();
  }

  /// The tensor a call operand was made from (through casts and bufferization.to_buffer), if any.
  static Value tensorBehind(func::CallOp call, int64_t operand) {
    if (operand < 0 || operand >= static_cast<int64_t>(call.getNumOperands()))
      return {};
    Value value = call.getOperand(operand);
    while (Operation *def = value.getDefiningOp()) {
      if (auto cast = dyn_cast<memref::CastOp>(def))
        value = cast.getSource();
      else if (auto toBuffer = dyn_cast<bufferization::ToBufferOp>(def))
        value = toBuffer.getTensor();
      else
        break;
    }
    return isa<RankedTensorType>(value.getType()) ? value : Value();
  }

  void joinShapes(Value a, Value b) {
    auto type = dyn_cast<RankedTensorType>(a.getType());
    auto other = dyn_cast<RankedTensorType>(b.getType());
    if (!type || !other || type.getRank() != other.getRank())
      return;
    for (int64_t dim = 0; dim < type.getRank(); ++dim)
      join(dimOf(a, dim), dimOf(b, dim));
  }

  /// Groups of one dimension are the same dimension on both sides of a reshape.
  void joinReshape(Value source, Value result, ArrayRef<ReassociationIndices> groups, bool expanding) {
    for (auto [collapsedDim, group] : llvm::enumerate(groups)) {
      if (group.size() != 1)
        continue;
      int64_t expandedDim = group.front();
      Value collapsed = expanding ? source : result, expanded = expanding ? result : source;
      join(dimOf(collapsed, collapsedDim), dimOf(expanded, expandedDim));
    }
  }

  ModuleOp module;
  uintptr_t context = 0; ///< 0 in the entry point; a hash of the call chain inside callees
  SmallVector<Operation *> activeCalls;
  llvm::EquivalenceClasses<DimKey> classes;
};

struct EffcInferDimensionGroupsPass
    : effc::impl::EffcInferDimensionGroupsPassBase<EffcInferDimensionGroupsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder builder(&getContext());
    SmallVector<NamedAttribute> functions;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      DimensionClasses classes(module);
      func.walk([&](Operation *op) { classes.visit(op); });

      // Number the classes of the arguments' dynamic dimensions in order of first appearance.
      SmallVector<std::pair<DimKey, int32_t>> representatives;
      SmallVector<Attribute> arguments;
      for (BlockArgument argument : func.getArguments()) {
        SmallVector<int32_t> groups;
        auto type = dyn_cast<RankedTensorType>(argument.getType());
        for (int64_t dim = 0; type && dim < type.getRank(); ++dim) {
          int32_t group = -1;
          if (type.isDynamicDim(dim)) {
            DimKey key = classes.dimOf(argument, dim);
            for (auto &[representative, id] : representatives)
              if (classes.same(representative, key))
                group = id;
            if (group < 0) {
              group = static_cast<int32_t>(representatives.size());
              representatives.push_back({key, group});
            }
          }
          groups.push_back(group);
        }
        arguments.push_back(builder.getDenseI32ArrayAttr(groups));
      }
      functions.push_back(builder.getNamedAttr(func.getSymName(), builder.getArrayAttr(arguments)));
    }
    module->setAttr("effc.dimension_groups", builder.getDictionaryAttr(functions));
  }
};

} // namespace
