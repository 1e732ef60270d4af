//===- PackWeights.cpp - fold layout changes of constant weights -----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-pack-weights: a 2-D linalg.transpose of a constant becomes a constant holding the
// transposed bytes, so weights are stored in the layout the kernels stream.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

#include <algorithm>
#include <cstring>

namespace effc {
#define GEN_PASS_DEF_EFFCPACKWEIGHTSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// The bytes of a constant's elements and a name for derived constants, if they are readable.
struct ConstantBytes {
  ArrayRef<char> data;
  std::string name;
};

std::optional<ConstantBytes> getConstantBytes(Attribute value) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    return ConstantBytes{blob->getData(), resource.getRawHandle().getKey().str()};
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && !dense.isSplat())
    return ConstantBytes{dense.getRawData(), "weight"};
  return std::nullopt;
}

/// Transposes a row-major `rows x cols` matrix of `T` in square blocks, so that the rows read and the rows
/// written both stay in cache (an element-by-element column walk took 11 s for BERT-base's weights).
template <typename T>
void transposeBlocked(const char *source, char *destination, int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock)
      for (int64_t r = r0, rEnd = std::min(rows, r0 + kBlock); r < rEnd; ++r)
        for (int64_t c = c0, cEnd = std::min(cols, c0 + kBlock); c < cEnd; ++c)
          std::memcpy(destination + (c * rows + r) * sizeof(T), source + (r * cols + c) * sizeof(T), sizeof(T));
}

struct FoldConstantTranspose : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::TransposeOp op, PatternRewriter &rewriter) const override {
    auto inputType = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!inputType || !op.hasPureTensorSemantics() || inputType.getRank() != 2 ||
        op.getPermutation() != ArrayRef<int64_t>{1, 0} || !inputType.hasStaticShape())
      return failure();
    Attribute value;
    if (!matchPattern(op.getInput(), m_Constant(&value)))
      return notPacked(op, "the matrix is not a compile-time constant: it is transposed at run time");
    auto resultType = cast<RankedTensorType>(op.getResult()[0].getType());
    if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat()) {
      Location loc = op.getLoc(); // op is erased by the replacement
      rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType, dense.resizeSplat(resultType));
      return packed(loc);
    }
    std::optional<ConstantBytes> bytes = getConstantBytes(value);
    unsigned bits = inputType.getElementTypeBitWidth();
    if (!bytes)
      return notPacked(op, "the constant's bytes cannot be read (an unloaded resource)");
    if (bits % 8 != 0)
      return notPacked(op, "its elements are not whole bytes: it is transposed at run time");
    size_t elementBytes = bits / 8;
    int64_t rows = inputType.getDimSize(0), cols = inputType.getDimSize(1);
    if (bytes->data.size() != static_cast<size_t>(rows * cols) * elementBytes)
      return notPacked(op, "the constant's storage does not match its type: it is transposed at run time");
    std::vector<char> transposed(bytes->data.size());
    switch (elementBytes) {
    case 1:
      transposeBlocked<uint8_t>(bytes->data.data(), transposed.data(), rows, cols);
      break;
    case 2:
      transposeBlocked<uint16_t>(bytes->data.data(), transposed.data(), rows, cols);
      break;
    case 4:
      transposeBlocked<uint32_t>(bytes->data.data(), transposed.data(), rows, cols);
      break;
    case 8:
      transposeBlocked<uint64_t>(bytes->data.data(), transposed.data(), rows, cols);
      break;
    default:
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          std::memcpy(&transposed[(c * rows + r) * elementBytes], &bytes->data[(r * cols + c) * elementBytes],
                      elementBytes);
    }
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(transposed, /*align=*/64);
    auto attr = DenseResourceElementsAttr::get(resultType, bytes->name + ".packed", std::move(blob));
    Location loc = op.getLoc(); // op is erased by the replacement
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType, attr);
    return packed(loc);
  }

  static LogicalResult packed(Location loc) {
    effc::recordFusion(loc, effc::fusion::kWeightPacking, true, "stored transposed ([K, N]) at compile time");
    return success();
  }

  static LogicalResult notPacked(linalg::TransposeOp op, const Twine &reason) {
    effc::recordFusion(op.getLoc(), effc::fusion::kWeightPacking, false, reason);
    return failure();
  }
};

/// Whether `op` is a 2-D, statically shaped `[1, 0]` transpose of `input`.
bool isPackableTranspose(Operation *op, Value input) {
  auto transpose = dyn_cast<linalg::TransposeOp>(op);
  if (!transpose || !transpose.hasPureTensorSemantics() || transpose.getInput() != input ||
      transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
    return false;
  auto type = dyn_cast<RankedTensorType>(input.getType());
  return type && type.getRank() == 2 && type.hasStaticShape() &&
         transpose.getResult()[0].getType() ==
             RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)}, type.getElementType());
}

/// Moves the transposes of a private function's matrix arguments to its callers when every caller passes a
/// constant there (the weights of a body shared by several layers, eff-outline-layers): the function then
/// takes the packed layout, and FoldConstantTranspose folds each caller's transpose into a packed constant.
void packWeightArguments(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPrivate() || func.isExternal())
      continue;
    std::optional<SymbolTable::UseRange> uses = SymbolTable::getSymbolUses(func, module);
    if (!uses)
      continue;
    SmallVector<func::CallOp> calls;
    bool onlyCalls = true;
    for (const SymbolTable::SymbolUse &use : *uses) {
      auto call = dyn_cast<func::CallOp>(use.getUser());
      onlyCalls &= call && call.getCallee() == func.getSymName();
      if (call)
        calls.push_back(call);
    }
    if (!onlyCalls || calls.empty())
      continue;
    Block &entry = func.getBody().front();
    bool changed = false;
    for (BlockArgument argument : entry.getArguments()) {
      unsigned position = argument.getArgNumber();
      if (argument.use_empty() ||
          !llvm::all_of(argument.getUsers(), [&](Operation *user) { return isPackableTranspose(user, argument); }) ||
          !llvm::all_of(calls, [&](func::CallOp call) {
            return matchPattern(call.getOperand(position), m_Constant());
          }))
        continue;
      auto type = cast<RankedTensorType>(argument.getType());
      auto packedType = RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)}, type.getElementType());
      // The callers' transposes keep the location of the ones they replace (the layers' linear ops, which
      // the fusion report attributes the packing to), not the call's.
      SmallVector<Location> transposeLocations =
          llvm::map_to_vector(argument.getUsers(), [](Operation *user) { return user->getLoc(); });
      Location loc = FusedLoc::get(func.getContext(), transposeLocations);
      for (func::CallOp call : calls) {
        OpBuilder builder(call);
        Value init = tensor::EmptyOp::create(builder, loc, packedType.getShape(), packedType.getElementType());
        Value packed =
            linalg::TransposeOp::create(builder, loc, call.getOperand(position), init, ArrayRef<int64_t>{1, 0})
                .getResult()[0];
        call->setOperand(position, packed);
      }
      argument.setType(packedType);
      llvm::SmallSetVector<Operation *, 4> transposes(argument.getUsers().begin(), argument.getUsers().end());
      for (Operation *transpose : transposes) {
        transpose->getResult(0).replaceAllUsesWith(argument);
        transpose->erase();
      }
      changed = true;
    }
    if (changed)
      func.setType(FunctionType::get(func.getContext(), entry.getArgumentTypes(), func.getResultTypes()));
  }
}

struct EffcPackWeightsPass : effc::impl::EffcPackWeightsPassBase<EffcPackWeightsPass> {
  void runOnOperation() override {
    packWeightArguments(getOperation());
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldConstantTranspose>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
