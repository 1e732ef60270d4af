//===- LinearAlgebra.cpp - lower eff.linear, eff.matmul, eff.ffn -----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Contractions become linalg.generic ops in destination-passing style; activations of rank > 2 are viewed
// as matrices so that every linear layer is one [M, K] x [N, K]ᵀ contraction.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::eff;
using namespace effc::lowering;

namespace {

struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LinearOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Value result = buildLinear(rewriter, op.getLoc(), adaptor.getInput(), adaptor.getWeight(), adaptor.getBias());
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), result);
    return success();
  }
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
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(FfnOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Value up = buildLinear(rewriter, loc, input, adaptor.getUpWeight(), adaptor.getUpBias());
    Type elementType = op.getType().getElementType();
    ActivationKind kind = op.getActivation();
    Value hidden;
    if (Value gateWeight = adaptor.getGateWeight()) {
      Value gate = buildLinear(rewriter, loc, input, gateWeight, Value());
      hidden = buildElementwise(rewriter, loc, up, {gate, up}, {Broadcast::Full, Broadcast::Full}, elementType,
                                [&](OpBuilder &b, Location nl, ValueRange args) {
                                  Value activated = buildActivation(b, nl, kind, args[0]);
                                  return Value(arith::MulFOp::create(b, nl, activated, args[1]));
                                });
    } else {
      hidden = buildElementwise(rewriter, loc, up, {up}, {Broadcast::Full}, elementType,
                                [&](OpBuilder &b, Location nl, ValueRange args) {
                                  return buildActivation(b, nl, kind, args[0]);
                                });
    }
    Value result = buildLinear(rewriter, loc, hidden, adaptor.getDownWeight(), adaptor.getDownBias());
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), result);
    return success();
  }
};

} // namespace

void effc::populateLinearAlgebraLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearLowering, MatmulLowering, FfnLowering>(patterns.getContext());
}
