//===- LinearAlgebra.cpp - lower eff.linear, eff.matmul, eff.ffn -----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Contractions become linalg.generic ops in destination-passing style; activations of rank > 2 are viewed
// as matrices so that every linear layer is one [M, K] x [N, K]ᵀ contraction. With f32-linear-kernel (the CPU
// pipeline), f32 linear layers with static weights become calls of effc_uk_linear_f32 instead, an FFN's
// activation applied in the up projection's kernel.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::eff;
using namespace effc::lowering;

namespace {

/// x · weightᵀ + bias, then the activation `code` (0: none; ukernels/epilogue.h), on effc_uk_linear_f32 when
/// `f32Kernel` allows and the operands fit, else as a linalg contraction followed by the activation.
FailureOr<Value> lowerLinear(OpBuilder &b, Location loc, bool f32Kernel, Value x, Value weight, Value bias,
                             std::optional<ActivationKind> activation = std::nullopt) {
  if (f32Kernel && canUseF32LinearKernel(x, weight)) {
    if (activation)
      effc::recordFusion(loc, effc::fusion::kGemmActivation, true,
                         "applied by effc_uk_linear_f32 to each output tile while it is in registers");
    return buildF32LinearKernelCall(b, loc, x, weight, bias, activation ? ukernelActivationCode(*activation) : 0,
                                    Value());
  }
  Value result = buildLinear(b, loc, x, weight, bias);
  if (!activation)
    return result;
  return buildActivationElementwise(b, loc, *activation, result);
}

struct LinearLowering : OpConversionPattern<LinearOp> {
  LinearLowering(MLIRContext *ctx, bool f32Kernel) : OpConversionPattern(ctx), f32Kernel(f32Kernel) {}
  LogicalResult matchAndRewrite(LinearOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    FailureOr<Value> result = lowerLinear(rewriter, op.getLoc(), f32Kernel, adaptor.getInput(), adaptor.getWeight(),
                                          adaptor.getBias());
    if (failed(result))
      return failure();
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), *result);
    return success();
  }
  bool f32Kernel;
};

struct MatmulLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MatmulOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    int64_t rank = op.getLhs().getType().getRank(), rhsRank = op.getRhs().getType().getRank();
    int64_t batchRank = rank - 2;
    bool transposeB = op.getTransposeB();
    MLIRContext *ctx = rewriter.getContext();
    // Loops: batch..., m, n, k.
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    AffineExpr m = dim(batchRank), n = dim(batchRank + 1), k = dim(batchRank + 2);
    SmallVector<AffineExpr> lhsExprs, rhsExprs, outExprs;
    for (int64_t i = 0; i < batchRank; ++i) {
      lhsExprs.push_back(dim(i));
      outExprs.push_back(dim(i));
      if (rhsRank != 2)
        rhsExprs.push_back(dim(i));
    }
    lhsExprs.append({m, k});
    if (transposeB)
      rhsExprs.append({n, k});
    else
      rhsExprs.append({k, n});
    outExprs.append({m, n});
    int64_t numLoops = batchRank + 3;
    SmallVector<AffineMap> maps = {AffineMap::get(numLoops, 0, lhsExprs, ctx),
                                   AffineMap::get(numLoops, 0, rhsExprs, ctx),
                                   AffineMap::get(numLoops, 0, outExprs, ctx)};
    SmallVector<OpFoldResult> sizes = getSizes(rewriter, loc, lhs);
    sizes.back() = tensor::getMixedSize(rewriter, loc, rhs, transposeB ? rhsRank - 2 : rhsRank - 1);
    Type elementType = op.getType().getElementType();
    Value init = createFilled(rewriter, loc, sizes, elementType, 0.0);
    SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;
    Type accType = computeType(elementType);
    Value result = linalg::GenericOp::create(
                       rewriter, loc, TypeRange{init.getType()}, ValueRange{lhs, rhs}, ValueRange{init}, maps,
                       iterators,
                       [&](OpBuilder &b, Location nl, ValueRange args) {
                         Value product = arith::MulFOp::create(b, nl, castScalar(b, nl, args[0], accType),
                                                               castScalar(b, nl, args[1], accType));
                         Value sum = arith::AddFOp::create(b, nl, castScalar(b, nl, args[2], accType), product);
                         linalg::YieldOp::create(b, nl, castScalar(b, nl, sum, elementType));
                       })
                       .getResult(0);
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), result);
    return success();
  }
};

struct FfnLowering : OpConversionPattern<FfnOp> {
  FfnLowering(MLIRContext *ctx, bool f32Kernel) : OpConversionPattern(ctx), f32Kernel(f32Kernel) {}
  LogicalResult matchAndRewrite(FfnOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Type elementType = op.getType().getElementType();
    ActivationKind kind = op.getActivation();
    FailureOr<Value> hidden;
    if (Value gateWeight = adaptor.getGateWeight()) {
      FailureOr<Value> up = lowerLinear(rewriter, loc, f32Kernel, input, adaptor.getUpWeight(), adaptor.getUpBias());
      // The gate's activation runs in its kernel, or else with the product.
      bool gateKernel = f32Kernel && canUseF32LinearKernel(input, gateWeight);
      FailureOr<Value> gate = lowerLinear(rewriter, loc, f32Kernel, input, gateWeight, Value(),
                                          gateKernel ? std::optional(kind) : std::nullopt);
      if (failed(up) || failed(gate))
        return failure();
      hidden = buildElementwise(rewriter, loc, *up, {*gate, *up}, {Broadcast::Full, Broadcast::Full}, elementType,
                                [&](OpBuilder &b, Location nl, ValueRange args) {
                                  Value activated = gateKernel ? args[0] : buildActivation(b, nl, kind, args[0]);
                                  return Value(arith::MulFOp::create(b, nl, activated, args[1]));
                                });
    } else {
      hidden = lowerLinear(rewriter, loc, f32Kernel, input, adaptor.getUpWeight(), adaptor.getUpBias(), kind);
    }
    if (failed(hidden))
      return failure();
    FailureOr<Value> result =
        lowerLinear(rewriter, loc, f32Kernel, *hidden, adaptor.getDownWeight(), adaptor.getDownBias());
    if (failed(result))
      return failure();
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), *result);
    return success();
  }
  bool f32Kernel;
};

} // namespace

void effc::populateLinearAlgebraLoweringPatterns(RewritePatternSet &patterns, bool f32LinearKernel) {
  patterns.add<LinearLowering, FfnLowering>(patterns.getContext(), f32LinearKernel);
  patterns.add<MatmulLowering>(patterns.getContext());
}
