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
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

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
      rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType, dense.resizeSplat(resultType));
      return packed(op.getLoc());
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
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        std::memcpy(&transposed[(c * rows + r) * elementBytes], &bytes->data[(r * cols + c) * elementBytes],
                    elementBytes);
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(transposed, /*align=*/64);
    auto attr = DenseResourceElementsAttr::get(resultType, bytes->name + ".packed", std::move(blob));
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType, attr);
    return packed(op.getLoc());
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

struct EffcPackWeightsPass : effc::impl::EffcPackWeightsPassBase<EffcPackWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldConstantTranspose>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
