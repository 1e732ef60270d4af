//===- OutlineLayers.cpp - one function per group of identical layers ------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-outline-layers: eff.layer ops whose bodies are identical up to their weight constants are
// replaced by calls of one private function that takes the weights as arguments, so that the rest of the
// pipeline lowers, vectorises and optimises each distinct layer once (issue 7: compile time).
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::eff {
#define GEN_PASS_DEF_EFFOUTLINELAYERSPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// Whether `op` is a weight: a constant that becomes an argument of the shared body, so that layers
/// differing only in it share one. Splats and scalars stay in the body and must agree.
bool isWeight(Operation *op) {
  auto constant = dyn_cast<arith::ConstantOp>(op);
  if (!constant)
    return false;
  Attribute value = constant.getValue();
  if (isa<DenseResourceElementsAttr>(value))
    return true;
  auto dense = dyn_cast<DenseElementsAttr>(value);
  return dense && !dense.isSplat();
}

/// Whether `a` (of one layer) and `b` (of another) are the same op up to weight values, given the values
/// already matched in `matched` (a's values to b's). Records the results and nested block arguments.
bool sameOp(Operation *a, Operation *b, IRMapping &matched);

bool sameBlock(Block &a, Block &b, IRMapping &matched) {
  if (a.getNumArguments() != b.getNumArguments() || a.getArgumentTypes() != b.getArgumentTypes())
    return false;
  for (auto [x, y] : llvm::zip(a.getArguments(), b.getArguments()))
    matched.map(x, y);
  auto ai = a.begin(), bi = b.begin();
  for (; ai != a.end() && bi != b.end(); ++ai, ++bi)
    if (!sameOp(&*ai, &*bi, matched))
      return false;
  return ai == a.end() && bi == b.end();
}

bool sameOp(Operation *a, Operation *b, IRMapping &matched) {
  if (a->getName() != b->getName() || a->getResultTypes() != b->getResultTypes() ||
      a->getNumOperands() != b->getNumOperands() || a->getNumRegions() != b->getNumRegions() ||
      a->getNumSuccessors() != 0 || b->getNumSuccessors() != 0)
    return false;
  bool weight = isWeight(a);
  if (weight != isWeight(b))
    return false;
  if (!weight && (a->getDiscardableAttrDictionary() != b->getDiscardableAttrDictionary() ||
                  !a->getName().compareOpProperties(a->getPropertiesStorage(), b->getPropertiesStorage())))
    return false;
  for (auto [x, y] : llvm::zip(a->getOperands(), b->getOperands()))
    if (matched.lookupOrNull(x) != y)
      return false;
  for (auto [ra, rb] : llvm::zip(a->getRegions(), b->getRegions())) {
    if (ra.getBlocks().size() != rb.getBlocks().size())
      return false;
    for (auto [ba, bb] : llvm::zip(ra, rb))
      if (!sameBlock(ba, bb, matched))
        return false;
  }
  for (auto [x, y] : llvm::zip(a->getResults(), b->getResults()))
    matched.map(x, y);
  return true;
}

/// Whether two layers have the same operand and result types and the same body up to weight values.
bool sameLayer(LayerOp a, LayerOp b) {
  if (a.getInputs().getTypes() != b.getInputs().getTypes() || a.getResultTypes() != b.getResultTypes())
    return false;
  IRMapping matched;
  return sameBlock(a.getBody().front(), b.getBody().front(), matched);
}

/// The weight constants of a layer's body in pre-order: the order of the shared body's weight arguments.
SmallVector<Operation *> collectWeights(LayerOp layer) {
  SmallVector<Operation *> weights;
  layer.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isWeight(op))
      weights.push_back(op);
  });
  return weights;
}

/// The ops of a region in pre-order.
SmallVector<Operation *> opsInPreOrder(Region &region) {
  SmallVector<Operation *> ops;
  region.walk<WalkOrder::PreOrder>([&](Operation *op) { ops.push_back(op); });
  return ops;
}

/// Gives each op of the shared body (a fresh clone of the group's first layer) the locations of the same op
/// in every layer of the group: the body's op stands for all of them, so diagnostics and the decisions the
/// fusion report collects (--report-fusions) reach every layer, not only the first.
void fuseGroupLocations(func::FuncOp body, ArrayRef<LayerOp> group) {
  SmallVector<Operation *> bodyOps = opsInPreOrder(body.getBody());
  SmallVector<SmallVector<Operation *>> layerOps =
      llvm::map_to_vector(group, [](LayerOp layer) { return opsInPreOrder(layer.getBody()); });
  for (auto [index, op] : llvm::enumerate(bodyOps)) {
    SmallVector<Location> locations;
    for (ArrayRef<Operation *> ops : layerOps)
      if (index < ops.size()) // sameLayer matched the bodies op by op
        locations.push_back(ops[index]->getLoc());
    op->setLoc(FusedLoc::get(body.getContext(), locations));
  }
}

struct EffOutlineLayersPass : mlir::eff::impl::EffOutlineLayersPassBase<EffOutlineLayersPass> {
  using EffOutlineLayersPassBase::EffOutlineLayersPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (minLayers < 2) {
      module.emitError("eff-outline-layers: min-layers must be at least 2, not ") << static_cast<int64_t>(minLayers);
      return signalPassFailure();
    }
    // Groups in order of their first layer; each layer compared with each group's first one.
    SmallVector<SmallVector<LayerOp>> groups;
    module.walk([&](LayerOp layer) {
      for (SmallVector<LayerOp> &group : groups)
        if (sameLayer(group.front(), layer)) {
          group.push_back(layer);
          return;
        }
      groups.push_back({layer});
    });
    SymbolTable symbols(module);
    unsigned number = 0;
    for (SmallVector<LayerOp> &group : groups)
      if (static_cast<int64_t>(group.size()) >= minLayers)
        outline(group, number++, symbols);
  }

  /// Moves the body of the group's first layer into a new function and replaces every layer by a call.
  void outline(ArrayRef<LayerOp> group, unsigned number, SymbolTable &symbols) {
    LayerOp first = group.front();
    MLIRContext *ctx = first.getContext();
    SmallVector<Operation *> firstWeights = collectWeights(first);
    SmallVector<Type> argumentTypes = llvm::to_vector(first.getInputs().getTypes());
    for (Operation *weight : firstWeights)
      argumentTypes.push_back(weight->getResult(0).getType());
    auto type = FunctionType::get(ctx, argumentTypes, first.getResultTypes());

    auto parent = first->getParentOfType<func::FuncOp>();
    OpBuilder moduleBuilder(ctx);
    moduleBuilder.setInsertionPointAfter(parent ? parent.getOperation() : first.getOperation());
    auto body = func::FuncOp::create(moduleBuilder, first.getLoc(), ("layer_body_" + Twine(number)).str(), type);
    body.setPrivate();
    symbols.insert(body); // renamed if the module already has a symbol of that name
    SmallVector<int64_t> indices = llvm::map_to_vector(group, [](LayerOp layer) { return static_cast<int64_t>(layer.getIndex()); });
    body->setAttr("effc.layers", DenseI64ArrayAttr::get(ctx, indices));

    // The body: the first layer's block, its weights replaced by trailing arguments, eff.yield by return.
    IRMapping mapping;
    first.getBody().cloneInto(&body.getBody(), mapping);
    fuseGroupLocations(body, group);
    Block &entry = body.getBody().front();
    for (Operation *weight : firstWeights) {
      Operation *cloned = mapping.lookup(weight->getResult(0)).getDefiningOp();
      cloned->getResult(0).replaceAllUsesWith(entry.addArgument(cloned->getResult(0).getType(), cloned->getLoc()));
      cloned->erase();
    }
    auto yield = cast<YieldOp>(entry.getTerminator());
    OpBuilder bodyBuilder = OpBuilder::atBlockEnd(&entry);
    func::ReturnOp::create(bodyBuilder, yield.getLoc(), yield.getValues());
    yield.erase();

    // The calls, each after its own weights (cloned out of the layer, which is isolated from above).
    for (LayerOp layer : group) {
      OpBuilder builder(layer);
      SmallVector<Value> operands(layer.getInputs());
      for (Operation *weight : collectWeights(layer))
        operands.push_back(builder.clone(*weight)->getResult(0));
      auto call = func::CallOp::create(builder, layer.getLoc(), body, operands);
      layer->replaceAllUsesWith(call.getResults());
      layer.erase();
    }

    ++numSharedBodies;
    numSharingLayers += group.size();
    if (emitRemarks) {
      auto names = llvm::map_range(indices, [](int64_t index) { return std::to_string(index); });
      emitRemark(body.getLoc()) << "layers " << llvm::join(names, ", ") << " share the body @"
                                << body.getSymName();
    }
  }
};

} // namespace
