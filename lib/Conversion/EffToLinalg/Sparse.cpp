//===- Sparse.cpp - lower eff.sparse_linear to micro-kernel calls ----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// eff.sparse_linear becomes a call of the sparse GEMM micro-kernels of ukernels/sparse_gemm.c:
// effc_uk_sparse_nm_linear (N:M), effc_uk_sparse_nm_linear_i8 (N:M with int8 values and 2-bit indices) or
// effc_uk_sparse_csr_linear (CSR). The kernels read only the compressed
// weights; a missing bias is passed as zeros. Activations are passed as [B, S, K] (the hidden layout as it
// is; lower ranks get unit dimensions, higher ranks fold their middle dimensions), so that the result needs
// no expand_shape with two dynamic sizes in one group, which LLVM 22 cannot lower to memrefs.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::eff;
using namespace effc::lowering;

namespace {

struct SparseLinearLowering : OpConversionPattern<SparseLinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SparseLinearOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    int64_t outFeatures = op.getOutFeatures();
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();

    Value x = flattenTo3D(rewriter, loc, adaptor.getInput());
    Value bias = adaptor.getBias();
    if (bias)
      effc::recordFusion(loc, effc::fusion::kGemmBias, true, "the micro-kernel adds the bias to its output rows");
    if (!bias) {
      auto biasType = RankedTensorType::get({outFeatures}, f32);
      bias = arith::ConstantOp::create(rewriter, loc, biasType,
                                       DenseElementsAttr::get(biasType, rewriter.getF32FloatAttr(0.0f)));
    }

    auto xType = cast<RankedTensorType>(x.getType());
    UkernelResult result{RankedTensorType::get({xType.getDimSize(0), xType.getDimSize(1), outFeatures}, f32), {}};
    for (int64_t dim : {0, 1})
      if (xType.isDynamicDim(dim))
        result.dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, x, dim));

    FailureOr<SmallVector<Value>> called;
    if (op.getFormat() == SparseFormat::nm) {
      Value n = arith::ConstantIntOp::create(rewriter, loc, *op.getN(), 64);
      Value m = arith::ConstantIntOp::create(rewriter, loc, *op.getM(), 64);
      if (Value scales = adaptor.getScales())
        called = buildUkernelCall(rewriter, loc, "effc_uk_sparse_nm_linear_i8",
                                  {x, adaptor.getValues(), adaptor.getIndices(), scales, bias, n, m}, {result});
      else
        called = buildUkernelCall(rewriter, loc, "effc_uk_sparse_nm_linear",
                                  {x, adaptor.getValues(), adaptor.getIndices(), bias, n, m}, {result});
    } else {
      called = buildUkernelCall(rewriter, loc, "effc_uk_sparse_csr_linear",
                                {x, adaptor.getValues(), adaptor.getIndices(), adaptor.getRowPtr(), bias},
                                {result});
    }
    if (failed(called))
      return failure();
    replaceWithCast(rewriter, op, unflattenFrom3D(rewriter, loc, called->front(), adaptor.getInput()));
    return success();
  }
};

} // namespace

void effc::populateSparseLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<SparseLinearLowering>(patterns.getContext());
}
