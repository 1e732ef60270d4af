//===- Quantized.cpp - lower eff.quantized_linear to micro-kernel calls ---===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// eff.quantized_linear becomes one call of its scheme's kernel in ukernels/quantized_gemm.c
// (effc_uk_quantized_linear_{int8,int4,lut,bf16}) on the activation viewed as [B, S, K] (flattenTo3D: the
// kernels walk the B · S rows through the strides, and the [B, S, N] result is reshaped back without an
// expand_shape of two dynamic sizes, which LLVM 22 cannot lower); the packed operands are passed as they
// are, since eff-quantize laid them out for exactly these kernels.
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

struct QuantizedLinearLowering : OpConversionPattern<QuantizedLinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(QuantizedLinearOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = flattenTo3D(rewriter, loc, adaptor.getInput());
    auto i64 = [&](int64_t v) { return Value(arith::ConstantIntOp::create(rewriter, loc, v, 64)); };
    Value bias = adaptor.getBias();
    // Absent optional operands are passed as a placeholder buffer with a flag saying so.
    Value placeholder = adaptor.getScales();
    if (!placeholder)
      placeholder = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(RankedTensorType::get({1}, rewriter.getF32Type()), 0.0f));
    Value hasBias = i64(bias ? 1 : 0);
    if (bias)
      effc::recordFusion(loc, effc::fusion::kGemmBias, true, "the micro-kernel adds the bias to its output tile");
    bias = bias ? bias : placeholder;

    SmallVector<Value> operands{x, adaptor.getPacked()};
    std::string name = "effc_uk_quantized_linear_";
    switch (op.getScheme()) {
    case QuantScheme::int8: {
      name += "int8";
      float scale = op.getInputScale() ? op.getInputScale()->convertToFloat() : 0.0f;
      operands.append({adaptor.getColumnSums(), adaptor.getScales(), bias, hasBias,
                       arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(scale)),
                       i64(op.getInputZeroPoint().value_or(0))});
      break;
    }
    case QuantScheme::int4: {
      name += "int4";
      Value zeroPoints = adaptor.getZeroPoints();
      operands.append({adaptor.getScales(), zeroPoints ? zeroPoints : placeholder, bias,
                       i64(*op.getGroupSize()), i64(zeroPoints ? 1 : 0), hasBias});
      break;
    }
    case QuantScheme::lut:
      name += "lut";
      operands.append({adaptor.getScales(), bias, i64(*op.getGroupSize()), i64(*op.getBits()), hasBias});
      break;
    case QuantScheme::bf16:
      name += "bf16";
      operands.append({bias, hasBias});
      break;
    }

    auto xType = cast<RankedTensorType>(x.getType());
    UkernelResult result{RankedTensorType::get({xType.getDimSize(0), xType.getDimSize(1),
                                                static_cast<int64_t>(op.getOutFeatures())},
                                               rewriter.getF32Type()),
                         {}};
    for (int64_t dim : {0, 1})
      if (xType.isDynamicDim(dim))
        result.dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, x, dim));
    FailureOr<SmallVector<Value>> y = buildUkernelCall(rewriter, loc, name, operands, {result});
    if (failed(y))
      return failure();
    Value result3D = (*y)[0];
    replaceWithCast(rewriter, op, unflattenFrom3D(rewriter, loc, result3D, adaptor.getInput()));
    return success();
  }
};

} // namespace

void effc::populateQuantizedLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<QuantizedLinearLowering>(patterns.getContext());
}
