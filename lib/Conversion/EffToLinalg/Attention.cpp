//===- Attention.cpp - lower eff.embedding, position_ids, rotary, attention ===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Gathers (embedding), index generators (position_ids) and rotary embedding become one linalg.generic each,
// reading rows or partner channels with tensor.extract. Attention is lowered without a fused kernel: the
// query is viewed as [B, S, Hkv, G, Dh] and keys/values as [B, L, Hkv, Dh] (tensor.expand_shape), so that
// grouped-query and multi-query attention are plain projected-permutation indexing maps; then
//   scores = Q·Kᵀ (contraction over Dh), scale and masks, softmax over the keys, head mask, P·V,
// and the result is collapsed back to [B, S, H·Dh]. Scores, probabilities and accumulators are f32 for
// f16/bf16 inputs. T5's relative position bias (eff.relative_position_bias) is one generic that reads its
// table at a bucket found by comparing the distance with thresholds computed at compile time.
//
// f32 attention without head_mask (the common case) instead becomes one call of the fused micro-kernel
// effc_uk_attention_f32 (ukernels/attention.c: online softmax over key tiles, nothing of size S×L stored);
// the linalg lowering stays for the other cases and when the pass option `fused-attention` is off.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::eff;
using namespace effc::lowering;

namespace {

using utils::IteratorType;

/// A static extent (an index attribute).
OpFoldResult indexFoldResult(OpBuilder &b, int64_t value) { return b.getIndexAttr(value); }

/// `linalg.index` values of the loops `0 .. count-1` of the enclosing generic.
SmallVector<Value> loopIndices(OpBuilder &b, Location loc, int64_t count) {
  SmallVector<Value> indices;
  for (int64_t i = 0; i < count; ++i)
    indices.push_back(linalg::IndexOp::create(b, loc, i));
  return indices;
}

/// An index-typed value (a constant when `value` is static), from an OpFoldResult.
Value asIndexValue(OpBuilder &b, Location loc, OpFoldResult value) {
  if (auto attr = dyn_cast<Attribute>(value))
    return arith::ConstantIndexOp::create(b, loc, cast<IntegerAttr>(attr).getInt());
  return cast<Value>(value);
}

/// The head size `hidden / numHeads` of the last dimension of `tensor`: static when the dimension is.
OpFoldResult headDimOf(OpBuilder &b, Location loc, Value tensor, int64_t numHeads) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t last = type.getRank() - 1;
  int64_t hidden = type.getDimSize(last);
  if (!ShapedType::isDynamic(hidden))
    return indexFoldResult(b, hidden / numHeads);
  Value dim = tensor::DimOp::create(b, loc, tensor, last);
  Value heads = arith::ConstantIndexOp::create(b, loc, numHeads);
  return Value(arith::DivUIOp::create(b, loc, dim, heads));
}

//===----------------------------------------------------------------------===//
// eff.embedding
//===----------------------------------------------------------------------===//

/// result[i..., d] = table[indices[i...], d]: a generic over indices.shape + [D] whose body extracts the
/// table element. Out-of-range indices are undefined behaviour (docs/spec/eff.md#effembedding).
struct EmbeddingLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = adaptor.getTable(), indices = adaptor.getIndices();
    auto indicesType = cast<RankedTensorType>(indices.getType());
    int64_t rank = indicesType.getRank() + 1;
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<OpFoldResult> sizes = getSizes(rewriter, loc, indices);
    sizes.push_back(tensor::getMixedSize(rewriter, loc, table, 1));
    Type elementType = cast<RankedTensorType>(table.getType()).getElementType();
    Value init = createEmpty(rewriter, loc, sizes, elementType);
    SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx).dropResult(rank - 1),
                                   AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    Value result = linalg::GenericOp::create(
                       rewriter, loc, TypeRange{init.getType()}, ValueRange{indices}, ValueRange{init}, maps,
                       iterators,
                       [&](OpBuilder &b, Location nl, ValueRange args) {
                         Value row = arith::IndexCastOp::create(b, nl, b.getIndexType(), args[0]);
                         Value column = linalg::IndexOp::create(b, nl, rank - 1);
                         Value element = tensor::ExtractOp::create(b, nl, table, ValueRange{row, column});
                         linalg::YieldOp::create(b, nl, element);
                       })
                       .getResult(0);
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// eff.position_ids
//===----------------------------------------------------------------------===//

/// result[b..., s] = offset + s, in the ids' shape and element type.
struct PositionIdsLowering : OpConversionPattern<PositionIdsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(PositionIdsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Value ids = adaptor.getIds();
    auto idsType = cast<RankedTensorType>(ids.getType());
    int64_t last = idsType.getRank() - 1;
    Value offset = adaptor.getOffset();
    Type elementType = idsType.getElementType();
    Value result = buildElementwise(rewriter, op.getLoc(), ids, {}, {}, elementType,
                                    [&](OpBuilder &b, Location nl, ValueRange) {
                                      Value position = linalg::IndexOp::create(b, nl, last);
                                      if (offset)
                                        position = arith::AddIOp::create(b, nl, offset, position);
                                      return castScalar(b, nl, position, elementType);
                                    });
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// eff.rotary
//===----------------------------------------------------------------------===//

/// One generic over the input's shape. For channel c, j = c mod Dh is its place in the head; channels with
/// j >= R pass through. Rotated channels read their pair partner with tensor.extract:
///   rotate-half: (j, j + R/2) for j < R/2, frequency index i = j mod R/2;
///   interleaved: (2i, 2i + 1), i = j / 2;
/// and become x·cos a ∓ partner·sin a (minus for the first of the pair), a = pos · exp(−2i/R · ln θ) in f32.
struct RotaryLowering : OpConversionPattern<RotaryOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RotaryOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput(), positions = adaptor.getPositions();
    auto inputType = cast<RankedTensorType>(input.getType());
    auto positionsType = cast<RankedTensorType>(positions.getType());
    int64_t rank = inputType.getRank();
    MLIRContext *ctx = rewriter.getContext();
    Type elementType = inputType.getElementType();
    Type f32 = rewriter.getF32Type();
    bool interleaved = op.getInterleaved();

    // Head size and rotary size, as index values (constants when static).
    Value headDim = asIndexValue(rewriter, loc, headDimOf(rewriter, loc, input, op.getNumHeads()));
    Value rotaryDim = op.getRotaryDim() ? Value(arith::ConstantIndexOp::create(rewriter, loc, *op.getRotaryDim()))
                                        : headDim;
    // −2·ln θ / R: inv_freq[i] = exp(i · coefficient).
    double lnTheta = std::log(static_cast<double>(op.getTheta().convertToDouble()));
    Value coefficient;
    if (auto constant = getConstantIntValue(rotaryDim)) {
      coefficient = scalarConstant(rewriter, loc, f32, -2.0 * lnTheta / static_cast<double>(*constant));
    } else {
      Value rotaryDimF = castScalar(rewriter, loc, rotaryDim, f32);
      coefficient = arith::DivFOp::create(rewriter, loc, scalarConstant(rewriter, loc, f32, -2.0 * lnTheta),
                                          rotaryDimF);
    }

    auto index = [&](int64_t v) { return Value(arith::ConstantIndexOp::create(rewriter, loc, v)); };
    Value zero = index(0), one = index(1), two = index(2);
    Value half = getConstantIntValue(rotaryDim) ? index(*getConstantIntValue(rotaryDim) / 2)
                                                : Value(arith::DivUIOp::create(rewriter, loc, rotaryDim, two));

    // positions are [..., S] (the input's leading shape) or [S].
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap positionsMap = positionsType.getRank() == rank - 1
                                 ? identity.dropResult(rank - 1)
                                 : AffineMap::get(rank, 0, {getAffineDimExpr(rank - 2, ctx)}, ctx);
    Value init = createEmpty(rewriter, loc, getSizes(rewriter, loc, input), elementType);
    SmallVector<AffineMap> maps = {identity, positionsMap, identity};
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{init.getType()}, ValueRange{input, positions}, ValueRange{init}, maps,
            iterators,
            [&](OpBuilder &b, Location nl, ValueRange args) {
              SmallVector<Value> indices = loopIndices(b, nl, rank);
              Value channel = indices.back();
              Value j = arith::RemUIOp::create(b, nl, channel, headDim);
              Value rotated = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::ult, j, rotaryDim);
              // first: the element is the first of its pair (its partner follows it).
              Value first, partnerDistance, frequency;
              if (interleaved) {
                Value parity = arith::RemUIOp::create(b, nl, j, two);
                first = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::eq, parity, zero);
                partnerDistance = one;
                frequency = arith::DivUIOp::create(b, nl, j, two);
              } else {
                first = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::ult, j, half);
                partnerDistance = half;
                frequency = arith::SelectOp::create(b, nl, first, j, arith::SubIOp::create(b, nl, j, half));
              }
              Value after = arith::AddIOp::create(b, nl, channel, partnerDistance);
              Value before = arith::SubIOp::create(b, nl, channel, partnerDistance);
              Value partnerChannel = arith::SelectOp::create(b, nl, first, after, before);
              // Pass-through channels read themselves, so that the extract stays in bounds.
              partnerChannel = arith::SelectOp::create(b, nl, rotated, partnerChannel, channel);
              indices.back() = partnerChannel;
              Value partner = tensor::ExtractOp::create(b, nl, input, indices);

              Value x = castScalar(b, nl, args[0], f32);
              Value y = castScalar(b, nl, partner, f32);
              Value position = castScalar(b, nl, args[1], f32);
              Value frequencyF = castScalar(b, nl, frequency, f32);
              Value invFreq = math::ExpOp::create(b, nl, arith::MulFOp::create(b, nl, frequencyF, coefficient));
              Value angle = arith::MulFOp::create(b, nl, position, invFreq);
              Value cos = math::CosOp::create(b, nl, angle);
              Value sin = math::SinOp::create(b, nl, angle);
              Value xCos = arith::MulFOp::create(b, nl, x, cos);
              Value ySin = arith::MulFOp::create(b, nl, y, sin);
              Value minus = arith::SubFOp::create(b, nl, xCos, ySin);
              Value plus = arith::AddFOp::create(b, nl, xCos, ySin);
              Value out = arith::SelectOp::create(b, nl, first, minus, plus);
              out = castScalar(b, nl, out, elementType);
              linalg::YieldOp::create(b, nl, arith::SelectOp::create(b, nl, rotated, out, args[0]).getResult());
            })
            .getResult(0);
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// eff.attention
//===----------------------------------------------------------------------===//

/// The extents [B, P + S', C] of past [B, P, C] and current [B, S', C] concatenated along dimension 1, given
/// P as an index value: the batch and channel extents from whichever operand has them static, the length
/// static when both are.
SmallVector<OpFoldResult> concatenatedSizes(OpBuilder &b, Location loc, Value past, Value current, Value pastLen) {
  auto pastType = cast<RankedTensorType>(past.getType());
  auto currentType = cast<RankedTensorType>(current.getType());
  auto extent = [&](int64_t dim) {
    return ShapedType::isDynamic(pastType.getDimSize(dim)) ? tensor::getMixedSize(b, loc, current, dim)
                                                           : tensor::getMixedSize(b, loc, past, dim);
  };
  OpFoldResult length;
  if (!pastType.isDynamicDim(1) && !currentType.isDynamicDim(1))
    length = b.getIndexAttr(pastType.getDimSize(1) + currentType.getDimSize(1));
  else
    length = arith::AddIOp::create(b, loc, pastLen, asIndexValue(b, loc, tensor::getMixedSize(b, loc, current, 1)))
                 .getResult();
  return {extent(0), length, extent(2)};
}

/// Concatenates two [B, *, C] tensors along dimension 1: out[b, l, c] = l < P ? past[b, l, c] :
/// current[b, l − P, c], one generic whose body reads the chosen source under scf.if (so that P = 0 is fine).
/// Not tensor.concat: it bufferizes to memref.copy into strided subviews, which lowers to a call of the
/// `memrefCopy` runtime-library function that compiled modules cannot resolve.
Value concatSequence(OpBuilder &b, Location loc, Value past, Value current) {
  Type elementType = cast<RankedTensorType>(past.getType()).getElementType();
  Value pastLenValue = asIndexValue(b, loc, tensor::getMixedSize(b, loc, past, 1));
  Value init = createEmpty(b, loc, concatenatedSizes(b, loc, past, current, pastLenValue), elementType);
  MLIRContext *ctx = b.getContext();
  SmallVector<IteratorType> iterators(3, IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(3, ctx)}, iterators,
             [&](OpBuilder &nb, Location nl, ValueRange) {
               SmallVector<Value> indices = loopIndices(nb, nl, 3);
               Value inPast = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, indices[1], pastLenValue);
               auto ifOp = scf::IfOp::create(
                   nb, nl, inPast,
                   [&](OpBuilder &tb, Location tl) {
                     Value element = tensor::ExtractOp::create(tb, tl, past, indices);
                     scf::YieldOp::create(tb, tl, element);
                   },
                   [&](OpBuilder &eb, Location el) {
                     Value position = arith::SubIOp::create(eb, el, indices[1], pastLenValue);
                     Value element =
                         tensor::ExtractOp::create(eb, el, current, ValueRange{indices[0], position, indices[2]});
                     scf::YieldOp::create(eb, el, element);
                   });
               linalg::YieldOp::create(nb, nl, ifOp.getResult(0));
             })
      .getResult(0);
}

/// `tensor` [B, L, heads·Dh] viewed as [B, L, heads, Dh] (or, with `group` > 0, [B, L, heads, group, Dh]).
/// `headDim` must be static exactly when the tensor's last dimension is (see headDimOf).
Value splitHeads(OpBuilder &b, Location loc, Value tensor, int64_t heads, int64_t group, OpFoldResult headDim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, tensor);
  SmallVector<OpFoldResult> outputShape = {sizes[0], sizes[1], indexFoldResult(b, heads)};
  SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1), heads};
  ReassociationIndices last = {2, 3};
  if (group > 0) {
    outputShape.push_back(indexFoldResult(b, group));
    shape.push_back(group);
    last.push_back(4);
  }
  outputShape.push_back(headDim);
  std::optional<int64_t> staticHeadDim = getConstantIntValue(headDim);
  shape.push_back(staticHeadDim ? *staticHeadDim : ShapedType::kDynamic);
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return tensor::ExpandShapeOp::create(b, loc, resultType, tensor, ArrayRef<ReassociationIndices>{{0}, {1}, last},
                                       outputShape);
}

/// A generic over the identity map of `init` with inputs indexed by `inputMaps`; the body is `body(args)`
/// where `args` are the input elements followed by the output element.
Value buildGeneric(OpBuilder &b, Location loc, ValueRange inputs, ArrayRef<AffineMap> inputMaps, Value init,
                   AffineMap outputMap, ArrayRef<IteratorType> iterators, BodyBuilder body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(outputMap);
  return linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     linalg::YieldOp::create(nb, nl, body(nb, nl, args));
                                   })
      .getResult(0);
}

/// Whether a padding-mask element means "masked out": it equals `zero` (of the mask's element type).
Value isMaskedOut(OpBuilder &b, Location loc, Value element, Value zero) {
  if (isa<FloatType>(element.getType()))
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, element, zero);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, element, zero);
}

/// The f32 score scale of `op`: its `scale` attribute, or 1/√Dh.
Value attentionScale(OpBuilder &b, Location loc, AttentionOp op, OpFoldResult headDim) {
  Type f32 = b.getF32Type();
  if (auto attr = op.getScaleAttr())
    return scalarConstant(b, loc, f32, attr.getValueAsDouble());
  if (auto staticHeadDim = getConstantIntValue(headDim))
    return scalarConstant(b, loc, f32, 1.0 / std::sqrt(static_cast<double>(*staticHeadDim)));
  // 1 / sqrt(Dh) (not math.rsqrt, which math-to-libm turns into a call to a nonexistent rsqrtf).
  Value root = math::SqrtOp::create(b, loc, castScalar(b, loc, asIndexValue(b, loc, headDim), f32));
  return arith::DivFOp::create(b, loc, scalarConstant(b, loc, f32, 1.0), root);
}

/// Why the fused kernel effc_uk_attention_f32 does not implement `op`, or an empty string if it does: every
/// floating-point operand must be f32 and the op must have no operand beyond query, key, value, mask and the
/// KV cache (head_mask, or operands added to eff.attention later, take the linalg lowering). A `maxHeadDim` > 0
/// (the GPU kernel's limit) also requires a static head size of at most that.
std::string fusedKernelMismatch(AttentionOp op, int64_t maxHeadDim) {
  if (op.getHeadMask())
    return "head_mask is not supported by the fused kernel";
  if (op.getBias())
    return "an additive bias (e.g. a relative position bias) is not supported by the fused kernel";
  unsigned supported = 3 + (op.getMask() ? 1 : 0) + (op.getPastKey() ? 2 : 0);
  if (op->getNumOperands() != supported)
    return "an operand beyond query, key, value, mask and KV cache is not supported by the fused kernel";
  std::pair<StringRef, Value> floatOperands[] = {{"query", op.getQuery()},
                                                 {"key", op.getKey()},
                                                 {"value", op.getValue()},
                                                 {"past key", op.getPastKey()},
                                                 {"past value", op.getPastValue()}};
  for (auto [name, operand] : floatOperands) {
    if (!operand)
      continue;
    Type elementType = cast<RankedTensorType>(operand.getType()).getElementType();
    if (!elementType.isF32()) {
      std::string reason;
      llvm::raw_string_ostream os(reason);
      os << "the " << name << " is " << elementType << "; the fused kernel is f32 only";
      return reason;
    }
  }
  if (maxHeadDim > 0) {
    int64_t hidden = cast<RankedTensorType>(op.getQuery().getType()).getDimSize(2);
    if (ShapedType::isDynamic(hidden))
      return "the head size is dynamic; the fused kernel needs a static one of at most " + std::to_string(maxHeadDim);
    int64_t headDim = hidden / static_cast<int64_t>(op.getNumHeads());
    if (headDim > maxHeadDim)
      return "the head size " + std::to_string(headDim) + " exceeds the fused kernel's " + std::to_string(maxHeadDim);
  }
  return "";
}

/// Whether the fused lowering of `op` writes its `present` results in the kernel: with `fusedKvCache`, a KV
/// cache and a use of either result.
bool kernelWritesPresent(AttentionOp op, bool fusedKvCache) {
  return fusedKvCache && op.getPastKey() &&
         llvm::any_of(op.getPresent(), [](Value v) { return !v.use_empty(); });
}

/// eff.attention as one call of effc_uk_attention_f32 (ukernels/attention.c), which never materialises the
/// [S, L] scores: operands in the hidden layout as they are, the KV cache read in place, a padding mask of
/// another element type first turned into f32 0/1. Absent operands are passed as placeholders the kernel does
/// not read (flags say which). The `present` results are concatenations, or with `fusedKvCache` (and a use of
/// either) outputs of effc_uk_attention_present_f32, which writes them as it reads the cache.
LogicalResult lowerToFusedKernel(AttentionOp op, AttentionOp::Adaptor adaptor, ConversionPatternRewriter &rewriter,
                                 bool fusedKvCache) {
  Location loc = op.getLoc();
  OpBuilder &b = rewriter;
  Type f32 = b.getF32Type();
  Value query = adaptor.getQuery(), key = adaptor.getKey(), value = adaptor.getValue();
  Value pastKey = adaptor.getPastKey(), pastValue = adaptor.getPastValue(), mask = adaptor.getMask();

  Value maskOperand;
  if (!mask) {
    auto placeholderType = RankedTensorType::get({1, 1}, f32);
    maskOperand = arith::ConstantOp::create(b, loc, placeholderType,
                                            DenseElementsAttr::get(placeholderType, b.getF32FloatAttr(1.0f)));
  } else if (cast<RankedTensorType>(mask.getType()).getElementType().isF32()) {
    maskOperand = mask;
  } else {
    Type maskElement = cast<RankedTensorType>(mask.getType()).getElementType();
    Value maskZero = scalarConstant(b, loc, maskElement, 0.0);
    maskOperand = buildElementwise(b, loc, mask, {mask}, {Broadcast::Full}, f32,
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     Value hidden = isMaskedOut(nb, nl, args[0], maskZero);
                                     return Value(arith::SelectOp::create(nb, nl, hidden,
                                                                          scalarConstant(nb, nl, f32, 0.0),
                                                                          scalarConstant(nb, nl, f32, 1.0)));
                                   });
  }

  auto flag = [&](bool set) { return Value(arith::ConstantIntOp::create(b, loc, set ? 1 : 0, 64)); };
  Value numHeads = arith::ConstantIntOp::create(b, loc, op.getNumHeads(), 64);
  Value numKvHeads = arith::ConstantIntOp::create(b, loc, op.getNumKeyValueHeads(), 64);
  Value scale = attentionScale(b, loc, op, headDimOf(b, loc, query, op.getNumHeads()));

  auto queryType = cast<RankedTensorType>(query.getType());
  UkernelResult result{RankedTensorType::get(queryType.getShape(), f32), {}};
  for (int64_t dim = 0; dim < 3; ++dim)
    if (queryType.isDynamicDim(dim))
      result.dynamicSizes.push_back(tensor::DimOp::create(b, loc, query, dim));
  // What the kernel assumes of the extents (operands: 0 query, 1 key, 2 value, 3 past key, 4 past value,
  // 5 mask), for effc-infer-dimension-groups: one batch; keys and values of one length and width; a mask
  // over the batch and, without a cache, over the keys.
  SmallVector<UkernelEqualExtents> equalExtents = {{1, 0, 0, 0}, {2, 0, 0, 0}, {2, 1, 1, 1}, {2, 2, 1, 2}};
  if (pastKey)
    equalExtents.append({{3, 0, 0, 0}, {4, 0, 0, 0}, {4, 1, 3, 1}, {3, 2, 1, 2}, {4, 2, 2, 2}});
  if (mask) {
    equalExtents.push_back({5, 0, 0, 0});
    if (!pastKey)
      equalExtents.push_back({5, 1, 1, 1});
  }
  bool writePresent = kernelWritesPresent(op, fusedKvCache);
  SmallVector<Value> operands = {query, key, value, pastKey ? pastKey : key, pastValue ? pastValue : value,
                                 maskOperand, numHeads, numKvHeads, scale, flag(op.getCausal()),
                                 flag(mask != nullptr)};
  SmallVector<UkernelResult> kernelResults = {result};
  if (writePresent) {
    // [B, P + S', Hkv·Dh] each, sized from the operands as the concatenation is (a result type may declare
    // static extents the run-time operands must match; the kernel writes what the operands hold), then cast.
    Value pasts[] = {pastKey, pastValue}, currents[] = {key, value};
    for (auto [past, current] : llvm::zip_equal(pasts, currents)) {
      SmallVector<int64_t> shape;
      SmallVector<Value> sizes;
      Value pastLen = asIndexValue(b, loc, tensor::getMixedSize(b, loc, past, 1));
      dispatchIndexOpFoldResults(concatenatedSizes(b, loc, past, current, pastLen), sizes, shape);
      kernelResults.push_back({RankedTensorType::get(shape, f32), sizes});
    }
  } else {
    operands.push_back(flag(pastKey != nullptr));
  }
  FailureOr<SmallVector<Value>> called =
      buildUkernelCall(b, loc, writePresent ? "effc_uk_attention_present_f32" : "effc_uk_attention_f32", operands,
                       kernelResults, equalExtents);
  if (failed(called))
    return failure();

  SmallVector<Value> results = {tensor::CastOp::create(b, loc, op.getOutput().getType(), (*called)[0])};
  if (writePresent) {
    for (int i : {0, 1}) {
      Value present = (*called)[1 + i];
      Type declared = op.getPresent()[i].getType();
      results.push_back(present.getType() == declared ? present
                                                      : Value(tensor::CastOp::create(b, loc, declared, present)));
    }
  } else if (pastKey) {
    results.push_back(tensor::CastOp::create(b, loc, op.getPresent()[0].getType(),
                                             concatSequence(b, loc, pastKey, key)));
    results.push_back(tensor::CastOp::create(b, loc, op.getPresent()[1].getType(),
                                             concatSequence(b, loc, pastValue, value)));
  }
  rewriter.replaceOp(op, results);
  return success();
}

struct AttentionLowering : OpConversionPattern<AttentionOp> {
  AttentionLowering(MLIRContext *ctx, bool fusedAttention, int64_t maxHeadDim, bool fusedKvCache)
      : OpConversionPattern(ctx), fusedAttention(fusedAttention), maxHeadDim(maxHeadDim),
        fusedKvCache(fusedKvCache) {}
  LogicalResult matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    std::string mismatch =
        fusedAttention ? fusedKernelMismatch(op, maxHeadDim) : "the fused kernel is off (convert-eff-to-linalg{fused-attention=0})";
    const char *fused = kernelWritesPresent(op, fusedKvCache)
                            ? "one call of effc_uk_attention_present_f32, which also writes the present KV cache"
                            : "one call of effc_uk_attention_f32";
    effc::recordFusion(op.getLoc(), effc::fusion::kAttention, mismatch.empty(), mismatch.empty() ? fused : mismatch);
    if (mismatch.empty())
      return lowerToFusedKernel(op, adaptor, rewriter, fusedKvCache);
    return lowerToLinalg(op, adaptor, rewriter);
  }

  /// Scores, softmax and P·V as linalg contractions and generics (see the file comment).
  static LogicalResult lowerToLinalg(AttentionOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    OpBuilder &b = rewriter;
    Value query = adaptor.getQuery(), key = adaptor.getKey(), value = adaptor.getValue();
    Value mask = adaptor.getMask(), headMask = adaptor.getHeadMask();
    Type elementType = cast<RankedTensorType>(query.getType()).getElementType();
    Type f32 = b.getF32Type();
    int64_t numHeads = op.getNumHeads(), numKvHeads = op.getNumKeyValueHeads();
    int64_t group = numHeads / numKvHeads;

    // Keys and values attended to: the KV cache followed by the new ones.
    if (adaptor.getPastKey()) {
      key = concatSequence(b, loc, adaptor.getPastKey(), key);
      value = concatSequence(b, loc, adaptor.getPastValue(), value);
    }

    OpFoldResult headDim = headDimOf(b, loc, query, numHeads);
    // Each view takes Dh from its own operand so that it is static exactly when that operand's hidden size is.
    Value q5 = splitHeads(b, loc, query, numKvHeads, group, headDim); // [B, S, Hkv, G, Dh]
    Value k4 = splitHeads(b, loc, key, numKvHeads, 0, headDimOf(b, loc, key, numKvHeads));     // [B, L, Hkv, Dh]
    Value v4 = splitHeads(b, loc, value, numKvHeads, 0, headDimOf(b, loc, value, numKvHeads)); // [B, L, Hkv, Dh]
    OpFoldResult batch = tensor::getMixedSize(b, loc, query, 0);
    OpFoldResult queryLen = tensor::getMixedSize(b, loc, query, 1);
    OpFoldResult keyLen = tensor::getMixedSize(b, loc, key, 1);

    auto dims = [&](int64_t count) {
      SmallVector<AffineExpr> exprs;
      for (int64_t i = 0; i < count; ++i)
        exprs.push_back(getAffineDimExpr(i, ctx));
      return exprs;
    };
    auto map = [&](int64_t numDims, ArrayRef<AffineExpr> results) {
      return AffineMap::get(numDims, 0, results, ctx);
    };

    // Both contractions are batched matmuls over (b, g) in the streaming form the CPU schedule tiles and
    // vectorises (effc-cpu-tile-and-vectorize): rows are (r, i) flattened, and the right-hand operand is
    // read [K, N]. The transposes are O(L·D) copies next to O(S·L·D) contractions.
    //   scores[b, g, (r, i), j] = Σ_d Q[b, g, (r, i), d] · Kᵀ[b, g, d, j]
    OpFoldResult rows;
    if (std::optional<int64_t> staticLen = getConstantIntValue(queryLen))
      rows = b.getIndexAttr(group * *staticLen);
    else
      rows = arith::MulIOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, group),
                                   asIndexValue(b, loc, queryLen))
                 .getResult();
    // lhs [B, Hkv, G·S, K] · rhs [B, Hkv, K, N] accumulated in f32, viewed as [B, Hkv, G, S, N].
    auto headsMatmul = [&](Value lhs, Value rhs, OpFoldResult cols) {
      SmallVector<AffineExpr> d = dims(5); // b g m n k
      Value init = createFilled(b, loc, {batch, indexFoldResult(b, numKvHeads), rows, cols}, f32, 0.0);
      SmallVector<IteratorType> iterators(4, IteratorType::parallel);
      iterators.push_back(IteratorType::reduction);
      Value flat = buildGeneric(b, loc, {lhs, rhs}, {map(5, {d[0], d[1], d[2], d[4]}), map(5, {d[0], d[1], d[4], d[3]})},
                                init, map(5, {d[0], d[1], d[2], d[3]}), iterators,
                                [&](OpBuilder &nb, Location nl, ValueRange args) {
                                  Value product = arith::MulFOp::create(nb, nl, castScalar(nb, nl, args[0], f32),
                                                                        castScalar(nb, nl, args[1], f32));
                                  return Value(arith::AddFOp::create(nb, nl, args[2], product));
                                });
      auto type = cast<RankedTensorType>(flat.getType());
      auto headsType = RankedTensorType::get({type.getDimSize(0), numKvHeads, group,
                                              getConstantIntValue(queryLen).value_or(ShapedType::kDynamic),
                                              type.getDimSize(3)},
                                             f32);
      return Value(tensor::ExpandShapeOp::create(
          b, loc, headsType, flat, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}, {4}},
          SmallVector<OpFoldResult>{batch, indexFoldResult(b, numKvHeads), indexFoldResult(b, group), queryLen,
                                    cols}));
    };
    SmallVector<OpFoldResult> scoreSizes = {batch, indexFoldResult(b, numKvHeads), indexFoldResult(b, group),
                                            queryLen, keyLen};
    Value qRows = tensor::CollapseShapeOp::create(b, loc, buildTranspose(b, loc, q5, {0, 2, 3, 1, 4}),
                                                  ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}, {4}});
    Value scores = headsMatmul(qRows, buildTranspose(b, loc, k4, {0, 2, 3, 1}), keyLen); // Kᵀ: [B, Hkv, Dh, L]

    // Scale, add the bias, then −inf where causal (j > i + L − S) or padded (mask[b, j] == 0).
    Value scale = attentionScale(b, loc, op, headDim);
    Value causalOffset;
    if (op.getCausal())
      causalOffset = arith::SubIOp::create(b, loc, asIndexValue(b, loc, keyLen), asIndexValue(b, loc, queryLen));
    Value negInf = scalarConstant(b, loc, f32, -std::numeric_limits<double>::infinity());
    {
      SmallVector<AffineExpr> d = dims(5); // b g r i j
      SmallVector<Value> inputs = {scores};
      SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(5, ctx)};
      Value maskZero;
      if (mask) {
        maskZero = scalarConstant(b, loc, cast<RankedTensorType>(mask.getType()).getElementType(), 0.0);
        inputs.push_back(mask);
        maps.push_back(map(5, {d[0], d[4]}));
      }
      // bias[b or 0, g·G + r, i, j]: a static batch of 1 broadcasts.
      Value bias = adaptor.getBias();
      if (bias) {
        AffineExpr biasBatch = cast<RankedTensorType>(bias.getType()).getDimSize(0) == 1
                                   ? getAffineConstantExpr(0, ctx)
                                   : d[0];
        inputs.push_back(bias);
        maps.push_back(map(5, {biasBatch, d[1] * group + d[2], d[3], d[4]}));
      }
      Value init = createEmpty(b, loc, scoreSizes, f32);
      SmallVector<IteratorType> iterators(5, IteratorType::parallel);
      scores = buildGeneric(b, loc, inputs, maps, init, AffineMap::getMultiDimIdentityMap(5, ctx), iterators,
                            [&](OpBuilder &nb, Location nl, ValueRange args) {
                              Value scaled = arith::MulFOp::create(nb, nl, args[0], scale);
                              if (bias)
                                scaled = arith::AddFOp::create(nb, nl, scaled,
                                                               castScalar(nb, nl, args[mask ? 2 : 1], f32));
                              Value masked;
                              if (causalOffset) {
                                Value i = linalg::IndexOp::create(nb, nl, 3);
                                Value j = linalg::IndexOp::create(nb, nl, 4);
                                Value limit = arith::AddIOp::create(nb, nl, i, causalOffset);
                                masked = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sgt, j, limit);
                              }
                              if (mask) {
                                Value padded = isMaskedOut(nb, nl, args[1], maskZero);
                                masked = masked ? Value(arith::OrIOp::create(nb, nl, masked, padded)) : padded;
                              }
                              if (!masked)
                                return Value(scaled);
                              return Value(arith::SelectOp::create(nb, nl, masked, negInf, scaled));
                            });
    }

    // Softmax over j. A fully masked row has max −inf: subtract 0 instead (every exp is then 0) and divide
    // by 1 instead of 0, so that the row is all zeros.
    Value zero = scalarConstant(b, loc, f32, 0.0), one = scalarConstant(b, loc, f32, 1.0);
    auto safeMax = [&](OpBuilder &nb, Location nl, Value max) {
      Value isNegInf = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, max, negInf);
      return Value(arith::SelectOp::create(nb, nl, isNegInf, zero, max));
    };
    Value rowMax = buildLastDimReduction(b, loc, scores, f32, -std::numeric_limits<double>::infinity(), {},
                                         [&](OpBuilder &nb, Location nl, ValueRange args) {
                                           return Value(arith::MaximumFOp::create(nb, nl, args[0], args[1]));
                                         });
    Value rowSum = buildLastDimReduction(b, loc, scores, f32, 0.0, {rowMax},
                                         [&](OpBuilder &nb, Location nl, ValueRange args) {
                                           Value shifted = arith::SubFOp::create(nb, nl, args[0], safeMax(nb, nl, args[1]));
                                           Value e = math::ExpOp::create(nb, nl, shifted);
                                           return Value(arith::AddFOp::create(nb, nl, args[2], e));
                                         });
    // P[b, g, r, i, j] = exp(s − max) / sum · head_mask[g·G + r]
    Value probabilities;
    {
      SmallVector<AffineExpr> d = dims(5); // b g r i j
      AffineMap rows = map(5, {d[0], d[1], d[2], d[3]});
      SmallVector<Value> inputs = {scores, rowMax, rowSum};
      SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(5, ctx), rows, rows};
      if (headMask) {
        auto headMaskType = cast<RankedTensorType>(headMask.getType());
        auto viewType = RankedTensorType::get({numKvHeads, group}, headMaskType.getElementType());
        Value view = tensor::ExpandShapeOp::create(b, loc, viewType, headMask,
                                                   ArrayRef<ReassociationIndices>{{0, 1}});
        inputs.push_back(view);
        maps.push_back(map(5, {d[1], d[2]}));
      }
      Value init = createEmpty(b, loc, scoreSizes, f32);
      SmallVector<IteratorType> iterators(5, IteratorType::parallel);
      probabilities = buildGeneric(
          b, loc, inputs, maps, init, AffineMap::getMultiDimIdentityMap(5, ctx), iterators,
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value e = math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, args[0], safeMax(nb, nl, args[1])));
            Value isZero = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, args[2], zero);
            Value denominator = arith::SelectOp::create(nb, nl, isZero, one, args[2]);
            Value p = arith::DivFOp::create(nb, nl, e, denominator);
            if (headMask)
              p = arith::MulFOp::create(nb, nl, p, castScalar(nb, nl, args[3], f32));
            return p;
          });
    }

    //   out[b, g, (r, i), d] = Σ_j P[b, g, (r, i), j] · V[b, g, j, d], then back to [B, S, Hkv, G, Dh]
    Value pRows = tensor::CollapseShapeOp::create(b, loc, probabilities,
                                                  ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}, {4}});
    Value heads = headsMatmul(pRows, buildTranspose(b, loc, v4, {0, 2, 1, 3}), headDim); // V: [B, Hkv, L, Dh]
    Value out = buildTranspose(b, loc, heads, {0, 3, 1, 2, 4});                          // [B, S, Hkv, G, Dh]
    if (elementType != f32)
      out = buildElementwise(b, loc, out, {out}, {Broadcast::Full}, elementType,
                             [&](OpBuilder &nb, Location nl, ValueRange args) {
                               return castScalar(nb, nl, args[0], elementType);
                             });
    Value collapsed =
        tensor::CollapseShapeOp::create(b, loc, out, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3, 4}});

    SmallVector<Value> results = {tensor::CastOp::create(b, loc, op.getOutput().getType(), collapsed)};
    if (adaptor.getPastKey()) {
      results.push_back(tensor::CastOp::create(b, loc, op.getPresent()[0].getType(), key));
      results.push_back(tensor::CastOp::create(b, loc, op.getPresent()[1].getType(), value));
    }
    rewriter.replaceOp(op, results);
    return success();
  }

  bool fusedAttention;
  int64_t maxHeadDim;
  bool fusedKvCache;
};

//===----------------------------------------------------------------------===//
// eff.relative_position_bias
//===----------------------------------------------------------------------===//

/// result[0, h, i, j] = table[bucket(j − i − (L − S)), h]. The logarithmic buckets are found without a log
/// at run time: the distances at which each bucket starts are computed here with the op's own bucketOf, and
/// the body counts the thresholds a distance reaches.
struct RelativePositionBiasLowering : OpConversionPattern<RelativePositionBiasOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RelativePositionBiasOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = adaptor.getTable();
    auto tableType = cast<RankedTensorType>(table.getType());
    int64_t numBuckets = tableType.getDimSize(0), maxDistance = op.getMaxDistance();
    bool bidirectional = op.getBidirectional();
    int64_t buckets = bidirectional ? numBuckets / 2 : numBuckets, maxExact = buckets / 2;
    // thresholds[k]: the smallest distance whose bucket (within its half) is at least maxExact + k + 1. The
    // bucket grows monotonically with the distance, so a binary search finds it.
    auto bucketOfDistance = [&](int64_t distance) { // an earlier key: the same bucket in both modes
      return RelativePositionBiasOp::bucketOf(-distance, numBuckets, maxDistance, bidirectional);
    };
    SmallVector<int64_t> thresholds;
    for (int64_t k = maxExact + 1; k < buckets; ++k) {
      int64_t low = maxExact, high = int64_t(1) << 40;
      while (low < high) {
        int64_t mid = low + (high - low) / 2;
        if (bucketOfDistance(mid) >= k)
          high = mid;
        else
          low = mid + 1;
      }
      thresholds.push_back(low);
    }

    OpFoldResult queryLen = adaptor.getQueryLength(), keyLen = adaptor.getKeyLength();
    auto resultType = cast<RankedTensorType>(op.getType());
    SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1), rewriter.getIndexAttr(tableType.getDimSize(1)),
                                       queryLen, keyLen};
    Value init = createEmpty(rewriter, loc, sizes, resultType.getElementType());
    Value offset = arith::SubIOp::create(rewriter, loc, adaptor.getKeyLength(), adaptor.getQueryLength());
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<IteratorType> iterators(4, IteratorType::parallel);
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
            ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(4, ctx)}, iterators,
            [&](OpBuilder &b, Location nl, ValueRange) {
              SmallVector<Value> idx = loopIndices(b, nl, 4);
              Type i64 = b.getI64Type();
              auto constant = [&](int64_t v) { return Value(arith::ConstantIntOp::create(b, nl, i64, v)); };
              auto cast = [&](Value v) { return Value(arith::IndexCastOp::create(b, nl, i64, v)); };
              // relative = j − (i + L − S)
              Value queryPosition = arith::AddIOp::create(b, nl, cast(idx[2]), cast(offset));
              Value relative = arith::SubIOp::create(b, nl, cast(idx[3]), queryPosition);
              Value zero = constant(0);
              Value bucket = zero, distance;
              Value negated = arith::SubIOp::create(b, nl, zero, relative);
              if (bidirectional) {
                Value later = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::sgt, relative, zero);
                bucket = arith::SelectOp::create(b, nl, later, constant(buckets), zero);
                distance = arith::MaxSIOp::create(b, nl, relative, negated);
              } else {
                distance = arith::MaxSIOp::create(b, nl, negated, zero);
              }
              // Exact below maxExact, else maxExact plus the number of thresholds reached.
              Value large = constant(maxExact);
              for (int64_t threshold : thresholds) {
                Value reached = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::sge, distance, constant(threshold));
                large = arith::AddIOp::create(b, nl, large, arith::ExtUIOp::create(b, nl, i64, reached));
              }
              Value small = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::slt, distance, constant(maxExact));
              bucket = arith::AddIOp::create(b, nl, bucket, arith::SelectOp::create(b, nl, small, distance, large));
              Value row = arith::IndexCastOp::create(b, nl, b.getIndexType(), bucket);
              Value element = tensor::ExtractOp::create(b, nl, table, ValueRange{row, idx[1]});
              linalg::YieldOp::create(b, nl, element);
            })
            .getResult(0);
    replaceWithCast(rewriter, op, result);
    return success();
  }
};

} // namespace

void effc::populateAttentionLoweringPatterns(RewritePatternSet &patterns, bool fusedAttention,
                                             int64_t fusedAttentionMaxHeadDim, bool fusedKvCache) {
  patterns.add<EmbeddingLowering, PositionIdsLowering, RotaryLowering, RelativePositionBiasLowering>(
      patterns.getContext());
  patterns.add<AttentionLowering>(patterns.getContext(), fusedAttention, fusedAttentionMaxHeadDim, fusedKvCache);
}
