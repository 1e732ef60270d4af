//===- Elementwise.cpp - lower eff elementwise ops, softmax and norms ------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Elementwise ops become one linalg.generic; softmax and the norms become reductions over one dimension
// followed by an elementwise generic. Statistics of f16/bf16 inputs are accumulated in f32.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::eff;
using namespace effc::lowering;

namespace {

struct ActivationLowering : OpConversionPattern<ActivationOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ActivationOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    ActivationKind kind = op.getKind();
    Value result = buildActivationElementwise(rewriter, op.getLoc(), kind, adaptor.getInput(),
                                              op.getType().getElementType());
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

struct GluLowering : OpConversionPattern<GluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(GluOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    ActivationKind kind = op.getKind();
    Value result = buildElementwise(rewriter, op.getLoc(), adaptor.getGate(), {adaptor.getGate(), adaptor.getUp()},
                                    {Broadcast::Full, Broadcast::Full}, op.getType().getElementType(),
                                    [&](OpBuilder &b, Location loc, ValueRange args) {
                                      Value activated = buildActivation(b, loc, kind, args[0]);
                                      return Value(arith::MulFOp::create(b, loc, activated, args[1]));
                                    });
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

struct AddLowering : OpConversionPattern<AddOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AddOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Value result = buildElementwise(rewriter, op.getLoc(), adaptor.getLhs(), {adaptor.getLhs(), adaptor.getRhs()},
                                    {Broadcast::Full, Broadcast::Full}, op.getType().getElementType(),
                                    [](OpBuilder &b, Location loc, ValueRange args) {
                                      return Value(arith::AddFOp::create(b, loc, args[0], args[1]));
                                    });
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

struct Ia3Lowering : OpConversionPattern<Ia3Op> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(Ia3Op op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Value result = buildElementwise(rewriter, op.getLoc(), adaptor.getInput(), {adaptor.getInput(), adaptor.getScale()},
                                    {Broadcast::Full, Broadcast::Channel}, op.getType().getElementType(),
                                    [](OpBuilder &b, Location loc, ValueRange args) {
                                      return Value(arith::MulFOp::create(b, loc, args[0], args[1]));
                                    });
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

/// Normalisation over the last dimension: y = (x - mean) * rsqrt(var + eps) * gamma (+ beta) for layer
/// norm, y = x * rsqrt(mean(x²) + eps) * gamma for RMS norm.
Value buildNorm(OpBuilder &b, Location loc, Value input, Value gamma, Value beta, double epsilon, bool centered,
                Type elementType) {
  Type accType = computeType(elementType);
  Value count = lastDimAsScalar(b, loc, input, accType);
  auto sum = [&](OpBuilder &nb, Location nl, ValueRange args) {
    return Value(arith::AddFOp::create(nb, nl, castScalar(nb, nl, args[0], accType), args[1]));
  };
  // mean[rows] (only needed when centering).
  Value mean;
  if (centered) {
    Value total = buildLastDimReduction(b, loc, input, accType, 0.0, {}, sum);
    mean = buildElementwise(b, loc, total, {total}, {Broadcast::Full}, accType,
                            [&](OpBuilder &nb, Location nl, ValueRange args) {
                              return Value(arith::DivFOp::create(nb, nl, args[0], count));
                            });
  }
  // Σ (x - mean)² or Σ x².
  SmallVector<Value> extra;
  if (centered)
    extra.push_back(mean);
  Value squares = buildLastDimReduction(b, loc, input, accType, 0.0, extra,
                                        [&](OpBuilder &nb, Location nl, ValueRange args) {
                                          Value x = castScalar(nb, nl, args[0], accType);
                                          if (centered)
                                            x = arith::SubFOp::create(nb, nl, x, args[1]);
                                          Value square = arith::MulFOp::create(nb, nl, x, x);
                                          return Value(arith::AddFOp::create(nb, nl, args.back(), square));
                                        });
  // rstd[rows] = rsqrt(Σ / D + eps).
  Value eps = scalarConstant(b, loc, accType, epsilon);
  Value rstd = buildElementwise(b, loc, squares, {squares}, {Broadcast::Full}, accType,
                                [&](OpBuilder &nb, Location nl, ValueRange args) {
                                  Value variance = arith::DivFOp::create(nb, nl, args[0], count);
                                  return Value(math::RsqrtOp::create(nb, nl, arith::AddFOp::create(nb, nl, variance, eps)));
                                });
  SmallVector<Value> inputs = {input, rstd, gamma};
  SmallVector<Broadcast> broadcasts = {Broadcast::Full, Broadcast::Rows, Broadcast::Channel};
  if (centered) {
    inputs.push_back(mean);
    broadcasts.push_back(Broadcast::Rows);
  }
  if (beta) {
    inputs.push_back(beta);
    broadcasts.push_back(Broadcast::Channel);
  }
  return buildElementwise(b, loc, input, inputs, broadcasts, elementType,
                          [&](OpBuilder &nb, Location nl, ValueRange args) {
                            Value x = castScalar(nb, nl, args[0], accType);
                            if (centered)
                              x = arith::SubFOp::create(nb, nl, x, args[3]);
                            Value normalized = arith::MulFOp::create(nb, nl, x, args[1]);
                            Value scaled =
                                arith::MulFOp::create(nb, nl, normalized, castScalar(nb, nl, args[2], accType));
                            if (beta)
                              scaled = arith::AddFOp::create(nb, nl, scaled, castScalar(nb, nl, args.back(), accType));
                            return castScalar(nb, nl, scaled, elementType);
                          });
}

struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Value result = buildNorm(rewriter, op.getLoc(), adaptor.getInput(), adaptor.getGamma(), adaptor.getBeta(),
                             op.getEpsilon().convertToDouble(), /*centered=*/true, op.getType().getElementType());
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

struct RmsNormLowering : OpConversionPattern<RmsNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RmsNormOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Value result = buildNorm(rewriter, op.getLoc(), adaptor.getInput(), adaptor.getGamma(), Value(),
                             op.getEpsilon().convertToDouble(), /*centered=*/false, op.getType().getElementType());
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

struct SoftmaxLowering : OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto type = cast<RankedTensorType>(input.getType());
    int64_t rank = type.getRank();
    // The I64Attr getter returns uint64_t: read it as signed before normalising a negative axis.
    int64_t axis = static_cast<int64_t>(op.getAxis());
    if (axis < 0)
      axis += rank;
    // Move the softmax axis last so that the shared last-dimension builders apply.
    SmallVector<int64_t> permutation;
    for (int64_t i = 0; i < rank; ++i)
      if (i != axis)
        permutation.push_back(i);
    permutation.push_back(axis);
    Value moved = buildTranspose(rewriter, loc, input, permutation);
    Value result = buildLastDimSoftmax(rewriter, loc, moved, type.getElementType());
    SmallVector<int64_t> inverse(rank);
    for (int64_t i = 0; i < rank; ++i)
      inverse[permutation[i]] = i;
    replaceWithCast(rewriter, op, buildTranspose(rewriter, loc, result, inverse));
    return success();
  }

  static Value buildLastDimSoftmax(OpBuilder &b, Location loc, Value input, Type elementType) {
    Type accType = computeType(elementType);
    Value max = buildLastDimReduction(b, loc, input, accType, -std::numeric_limits<double>::infinity(), {},
                                      [&](OpBuilder &nb, Location nl, ValueRange args) {
                                        Value x = castScalar(nb, nl, args[0], accType);
                                        return Value(arith::MaximumFOp::create(nb, nl, x, args[1]));
                                      });
    Value sum = buildLastDimReduction(b, loc, input, accType, 0.0, {max},
                                      [&](OpBuilder &nb, Location nl, ValueRange args) {
                                        Value x = castScalar(nb, nl, args[0], accType);
                                        Value e = math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, x, args[1]));
                                        return Value(arith::AddFOp::create(nb, nl, args[2], e));
                                      });
    return buildElementwise(b, loc, input, {input, max, sum}, {Broadcast::Full, Broadcast::Rows, Broadcast::Rows},
                            elementType, [&](OpBuilder &nb, Location nl, ValueRange args) {
                              Value x = castScalar(nb, nl, args[0], accType);
                              Value e = math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, x, args[1]));
                              return castScalar(nb, nl, arith::DivFOp::create(nb, nl, e, args[2]), elementType);
                            });
  }
};

} // namespace

void effc::populateElementwiseLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<ActivationLowering, GluLowering, AddLowering, Ia3Lowering, LayerNormLowering, RmsNormLowering,
               SoftmaxLowering>(patterns.getContext());
}
