//===- Adapters.cpp - lower eff.lora, eff.prefix, eff.prompt, adapters -----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Parameter-efficient fine-tuning adapters (docs/spec/eff.md#adapter-ops):
//
//  * eff.lora keeps the low-rank update factored: `t = x · Aᵀ` ([..., r], cheap since r is small), then
//    `u = t · Bᵀ` ([..., N]), then one fused generic `y = base + (alpha / rank) · u`. For f16/bf16 the two
//    intermediates are kept in f32 so that the update is rounded once, in the final generic.
//  * eff.prefix and eff.prompt prepend a [P, D] tensor, broadcast over the batch, to the sequence dimension
//    of a [B, L, D] tensor. The result is built in destination-passing style: the activation is inserted
//    at offset P of a `tensor.empty` [B, P + L, D], then the broadcast generic writes into the leading
//    [B, P, D] slice of that destination (an extract_slice/insert_slice pair that bufferizes in place;
//    linalg elementwise fusion, which replaces an unread `outs` by a tensor.empty, undoes that unless
//    empty-tensor elimination runs before bufferization).
//  * eff.bottleneck_adapter is `x + up(act(down(x) + b_down)) + b_up`: the down projection (bias as the
//    accumulator's initial value), the activation on the narrow [..., R] tensor, the up projection without
//    bias, then one fused generic adding the residual and `b_up`.
//
// Contractions use buildLinear, which loops over the activation's leading dimensions (no reshape to a
// matrix), so dynamic batch and sequence need no expand_shape.
//
// BitFit needs no lowering: trained biases are ordinary bias operands.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::eff;
using namespace effc::lowering;

namespace {

//===----------------------------------------------------------------------===//
// eff.lora
//===----------------------------------------------------------------------===//

struct LoraLowering : OpConversionPattern<LoraOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LoraOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value base = adaptor.getBase(), input = adaptor.getInput();
    Value loraA = adaptor.getLoraA(), loraB = adaptor.getLoraB();
    Type elementType = op.getType().getElementType();
    Type accType = computeType(elementType);

    // t[..., r] = Σ_k x[..., k] · A[r, k]: the rank-r intermediate, computed first.
    Value t = buildLinear(rewriter, loc, input, loraA, Value(), accType);
    // u[..., n] = Σ_r t[..., r] · B[n, r], with x's leading dimensions (equal to base's, eff_lora_c3).
    Value u = buildLinear(rewriter, loc, t, loraB, Value(), accType);

    // y = base + scaling · u, in accType.
    double scaling = op.getScaling();
    Value result = buildElementwise(rewriter, loc, base, {base, u}, {Broadcast::Full, Broadcast::Full}, elementType,
                                    [&](OpBuilder &b, Location nl, ValueRange args) {
                                      Value s = scalarConstant(b, nl, accType, scaling);
                                      Value update = arith::MulFOp::create(b, nl, s, args[1]);
                                      Value sum = arith::AddFOp::create(b, nl, castScalar(b, nl, args[0], accType),
                                                                        update);
                                      return castScalar(b, nl, sum, elementType);
                                    });
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// eff.prefix, eff.prompt
//===----------------------------------------------------------------------===//

/// `lhs + rhs` as a static size when both are static, else as an `arith.addi` on index values.
OpFoldResult addSizes(OpBuilder &b, Location loc, OpFoldResult lhs, OpFoldResult rhs) {
  std::optional<int64_t> l = getConstantIntValue(lhs), r = getConstantIntValue(rhs);
  if (l && r)
    return b.getIndexAttr(*l + *r);
  Value lv = getValueOrCreateConstantIndexOp(b, loc, lhs), rv = getValueOrCreateConstantIndexOp(b, loc, rhs);
  return arith::AddIOp::create(b, loc, lv, rv).getResult();
}

/// Prepends `prefix` ([P, D], broadcast over the batch) to the sequence dimension of `sequence` ([B, L, D]),
/// giving [B, P + L, D].
Value prependOverBatch(OpBuilder &b, Location loc, Value prefix, Value sequence) {
  MLIRContext *ctx = b.getContext();
  Type elementType = getElementTypeOrSelf(sequence.getType());
  SmallVector<OpFoldResult> sequenceSizes = getSizes(b, loc, sequence);
  OpFoldResult batch = sequenceSizes[0], length = sequenceSizes[1], hidden = sequenceSizes[2];
  OpFoldResult prefixLength = tensor::getMixedSize(b, loc, prefix, 0);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);

  Value dest = createEmpty(b, loc, {batch, addSizes(b, loc, prefixLength, length), hidden}, elementType);
  SmallVector<OpFoldResult> strides = {one, one, one};

  // dest[:, P:P+L, :] = sequence.
  SmallVector<OpFoldResult> sequenceOffsets = {zero, prefixLength, zero};
  dest = tensor::InsertSliceOp::create(b, loc, sequence, dest, sequenceOffsets, sequenceSizes, strides);

  // dest[:, 0:P, :] = broadcast(prefix), written in place into the destination's leading slice. Slicing the
  // partially written destination (rather than the tensor.empty, which canonicalization would fold into a
  // fresh empty tensor) keeps the extract_slice/insert_slice pair that bufferizes without a copy.
  SmallVector<OpFoldResult> prefixOffsets = {zero, zero, zero}, prefixSizes = {batch, prefixLength, hidden};
  Value prefixSlice = tensor::ExtractSliceOp::create(b, loc, dest, prefixOffsets, prefixSizes, strides);
  AffineExpr d0, d1, d2;
  bindDims(ctx, d0, d1, d2);
  auto maps = AffineMap::inferFromExprList(ArrayRef<ArrayRef<AffineExpr>>{{d1, d2}, {d0, d1, d2}}, ctx);
  Value broadcast =
      linalg::GenericOp::create(
          b, loc, TypeRange{prefixSlice.getType()}, ValueRange{prefix}, ValueRange{prefixSlice}, maps,
          {utils::IteratorType::parallel, utils::IteratorType::parallel, utils::IteratorType::parallel},
          [](OpBuilder &nb, Location nl, ValueRange args) { linalg::YieldOp::create(nb, nl, args[0]); })
          .getResult(0);
  return tensor::InsertSliceOp::create(b, loc, broadcast, dest, prefixOffsets, prefixSizes, strides);
}

struct PrefixLowering : OpConversionPattern<PrefixOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(PrefixOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value key = prependOverBatch(rewriter, loc, adaptor.getPrefixKey(), adaptor.getKey());
    Value value = prependOverBatch(rewriter, loc, adaptor.getPrefixValue(), adaptor.getValue());
    Value keyCast = tensor::CastOp::create(rewriter, loc, op.getResultKey().getType(), key);
    Value valueCast = tensor::CastOp::create(rewriter, loc, op.getResultValue().getType(), value);
    rewriter.replaceOp(op, ValueRange{keyCast, valueCast});
    return success();
  }
};

struct PromptLowering : OpConversionPattern<PromptOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(PromptOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Value result = prependOverBatch(rewriter, op.getLoc(), adaptor.getPrompt(), adaptor.getEmbeds());
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// eff.bottleneck_adapter
//===----------------------------------------------------------------------===//

struct BottleneckAdapterLowering : OpConversionPattern<BottleneckAdapterOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BottleneckAdapterOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Type elementType = op.getType().getElementType();
    Type accType = computeType(elementType);
    ActivationKind kind = op.getActivation();

    // h = act(x · W_downᵀ + b_down): [..., R].
    Value down = buildLinear(rewriter, loc, input, adaptor.getDownWeight(), adaptor.getDownBias());
    Value hidden = buildActivationElementwise(rewriter, loc, kind, down, elementType);
    // u = h · W_upᵀ: [..., D]; b_up is added in the residual generic below.
    Value up = buildLinear(rewriter, loc, hidden, adaptor.getUpWeight(), Value());

    // y = x + u (+ b_up).
    Value upBias = adaptor.getUpBias();
    SmallVector<Value> inputs = {input, up};
    SmallVector<Broadcast> broadcasts = {Broadcast::Full, Broadcast::Full};
    if (upBias) {
      inputs.push_back(upBias);
      broadcasts.push_back(Broadcast::Channel);
    }
    Value result = buildElementwise(rewriter, loc, input, inputs, broadcasts, elementType,
                                    [&](OpBuilder &b, Location nl, ValueRange args) {
                                      Value sum = arith::AddFOp::create(b, nl, castScalar(b, nl, args[0], accType),
                                                                        castScalar(b, nl, args[1], accType));
                                      if (upBias)
                                        sum = arith::AddFOp::create(b, nl, sum, castScalar(b, nl, args[2], accType));
                                      return castScalar(b, nl, sum, elementType);
                                    });
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), result);
    return success();
  }
};

} // namespace

void effc::populateAdapterLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<LoraLowering, PrefixLowering, PromptLowering, BottleneckAdapterLowering>(patterns.getContext());
}
