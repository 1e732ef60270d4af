//===- MoE.cpp - lower the Mixture-of-Experts ops -------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Mixture-of-Experts lowering.
//
// * eff.router: the logits are one [T, D] x [E, D]ᵀ contraction accumulated in f32, the gating is a
//   softmax or sigmoid generic; the top-k selection, normalisation and capacity admission are small scalar
//   scf.for loops on tensors (routing is O(T·k·E) scalar work, negligible next to the experts).
// * eff.experts: a real sparse computation. The assignments (token, choice) of nonzero weight are bucketed
//   by expert with a counting sort (counts, then a scatter at per-expert cursors); for each expert that
//   receives tokens the routed rows are gathered into an [n_e, D] matrix, the expert FFN runs on it with
//   that expert's weight slices, and weight · output is scatter-added into the result rows (accumulated in
//   f32). In f32 with output widths that are multiples of 16, each expert linear layer is one call of
//   effc_uk_linear_f32_panels (ukernels/panel_gemm.c) on weights stored in 16-column panels [E, N/16, K, 16]:
//   an expert's M (its routed tokens, about T·k/E) is small and dynamic, so the GEMM is bound by the weight
//   stream, which a panel makes contiguous; the activation is applied in the kernel's epilogue. Otherwise
//   the stacked weights are transposed into the [K, N] layout that the tiled contractions stream. Either
//   layout change is a reshape and transpose of the weight constant, folded at compile time by
//   effc-pack-weights (also through the arguments of shared layer bodies). Experts without tokens cost
//   nothing else.
// * eff.quantized_experts: the same routed computation, each expert's linear layers one call of the
//   micro-kernel of eff.quantized_linear's scheme (effc_uk_quantized_linear_int8[_epilogue] or
//   effc_uk_quantized_linear_int4, ukernels/quantized_gemm.c) on the gathered rows (as [1, n, D]) and the
//   expert's rows of the stacked packed operands, read in place; the activation of the up (or gate)
//   projection is applied in the int8 kernel's epilogue, after the int4 kernel by an elementwise op.
// * eff.residual_moe: the two mixing coefficients are a softmax over x · W_coefᵀ + b_coef (f32), then one
//   elementwise generic mixes dense and moe.
// * Results of rank > 2 with several dynamic leading dimensions are not reshaped from matrices but written
//   by a generic (see unflattenResult): LLVM 22 cannot lower such a memref.expand_shape.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::eff;
using namespace effc::lowering;

namespace {

Value indexConst(OpBuilder &b, Location loc, int64_t value) { return arith::ConstantIndexOp::create(b, loc, value); }

/// Softmax over the last dimension of an f32 tensor.
Value buildSoftmaxF32(OpBuilder &b, Location loc, Value input) {
  Type f32 = b.getF32Type();
  Value max = buildLastDimReduction(b, loc, input, f32, -std::numeric_limits<double>::infinity(), {},
                                    [](OpBuilder &nb, Location nl, ValueRange args) {
                                      return Value(arith::MaximumFOp::create(nb, nl, args[0], args[1]));
                                    });
  Value sum = buildLastDimReduction(b, loc, input, f32, 0.0, {max}, [](OpBuilder &nb, Location nl, ValueRange args) {
    Value e = math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, args[0], args[1]));
    return Value(arith::AddFOp::create(nb, nl, args[2], e));
  });
  return buildElementwise(b, loc, input, {input, max, sum}, {Broadcast::Full, Broadcast::Rows, Broadcast::Rows}, f32,
                          [](OpBuilder &nb, Location nl, ValueRange args) {
                            Value e = math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, args[0], args[1]));
                            return Value(arith::DivFOp::create(nb, nl, e, args[2]));
                          });
}

/// Converts every element of `input` to `elementType` (no-op when it already has it).
Value convertElements(OpBuilder &b, Location loc, Value input, Type elementType) {
  if (getElementTypeOrSelf(input.getType()) == elementType)
    return input;
  return buildElementwise(
      b, loc, input, {input}, {Broadcast::Full}, elementType,
      [&](OpBuilder &nb, Location nl, ValueRange args) { return castScalar(nb, nl, args[0], elementType); });
}

/// `matrix` [T, N] as `like`'s leading dimensions followed by N, its elements converted to `elementType`.
/// A reshape when at most one leading dimension is dynamic; otherwise one generic that reads the matrix at
/// the linearised row, because LLVM 22's expand-strided-metadata crashes on a memref.expand_shape with two
/// dynamic sizes in one group (llvm/llvm-project#186830, fixed in LLVM 23).
Value unflattenResult(OpBuilder &b, Location loc, Value matrix, Value like, Type elementType) {
  auto likeType = cast<RankedTensorType>(like.getType());
  int64_t rank = likeType.getRank();
  if (rank <= 2 || llvm::count_if(likeType.getShape().drop_back(), ShapedType::isDynamic) <= 1)
    return unflattenFromMatrix(b, loc, convertElements(b, loc, matrix, elementType), like);
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, like);
  sizes.back() = tensor::getMixedSize(b, loc, matrix, 1);
  SmallVector<Value> extents(rank - 1); // extents[i] for 0 < i < rank - 1 (the row strides)
  for (int64_t i = 1; i < rank - 1; ++i)
    extents[i] = tensor::DimOp::create(b, loc, like, i);
  Value init = createEmpty(b, loc, sizes, elementType);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, ArrayRef<AffineMap>{identity},
             SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nl, ValueRange) {
               Value row = linalg::IndexOp::create(nb, nl, 0);
               for (int64_t i = 1; i < rank - 1; ++i)
                 row = arith::AddIOp::create(nb, nl, arith::MulIOp::create(nb, nl, row, extents[i]),
                                             linalg::IndexOp::create(nb, nl, i));
               Value column = linalg::IndexOp::create(nb, nl, rank - 1);
               Value v = tensor::ExtractOp::create(nb, nl, matrix, ValueRange{row, column});
               linalg::YieldOp::create(nb, nl, castScalar(nb, nl, v, elementType));
             })
      .getResult(0);
}

/// The capacity C = ceil(c · T · k / E) as an index, for `numTokens` = T (index). The factor, an f32, is
/// an exact binary fraction num / 2^s; the ceiling is taken exactly in integer arithmetic when it fits
/// (it always does for realistic factors), as the reference does with exact rationals.
Value buildCapacity(OpBuilder &b, Location loc, const llvm::APFloat &factor, Value numTokens, int64_t topK,
                    Value numExperts) {
  double c = factor.convertToDouble();
  int64_t num = 0;
  int shift = -1; // exact when c = num / 2^shift with 0 <= shift <= 40 and num < 2^32
  if (std::isfinite(c) && c > 0) {
    int exponent = 0;
    double mantissa = std::frexp(c, &exponent); // c = mantissa · 2^exponent, mantissa in [0.5, 1)
    num = static_cast<int64_t>(std::ldexp(mantissa, 53));
    shift = 53 - exponent;
    while (num % 2 == 0) { // num odd: < 2^24 for an f32 factor
      num /= 2;
      --shift;
    }
    if (shift < 0 && shift > -31 && num < (int64_t(1) << (31 + shift))) { // an integral factor
      num <<= -shift;
      shift = 0;
    }
  }
  Type i64 = b.getI64Type();
  Value tokens = arith::IndexCastOp::create(b, loc, i64, numTokens);
  Value experts = arith::IndexCastOp::create(b, loc, i64, numExperts);
  auto cst = [&](int64_t v) { return Value(arith::ConstantIntOp::create(b, loc, i64, v)); };
  Value capacity;
  if (shift >= 0 && shift <= 40 && num < (int64_t(1) << 32)) {
    // Exactly ceil(num · T · k / (2^shift · E)).
    Value numerator = arith::MulIOp::create(b, loc, tokens, cst(num * topK));
    Value denominator = arith::MulIOp::create(b, loc, experts, cst(int64_t(1) << shift));
    capacity = arith::CeilDivSIOp::create(b, loc, numerator, denominator);
  } else {
    Type f64 = b.getF64Type();
    Value product = arith::MulFOp::create(b, loc, arith::SIToFPOp::create(b, loc, f64, tokens),
                                          scalarConstant(b, loc, f64, c * static_cast<double>(topK)));
    Value quotient = arith::DivFOp::create(b, loc, product, arith::SIToFPOp::create(b, loc, f64, experts));
    capacity = arith::FPToSIOp::create(b, loc, i64, math::CeilOp::create(b, loc, quotient));
  }
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), capacity);
}

//===----------------------------------------------------------------------===//
// eff.router
//===----------------------------------------------------------------------===//

struct RouterLowering : OpConversionPattern<RouterOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RouterOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value input = adaptor.getInput(), weight = adaptor.getWeight();
    Type elementType = cast<RankedTensorType>(input.getType()).getElementType();
    Type f32 = b.getF32Type(), i64 = b.getI64Type();
    int64_t topK = static_cast<int64_t>(op.getTopK());

    // scores [T, E] in f32.
    Value matrix = flattenToMatrix(b, loc, input);
    Value logits = buildLinear(b, loc, matrix, weight, Value(), f32); // accumulated in f32
    Value scores;
    if (op.getGating() == GatingKind::softmax)
      scores = buildSoftmaxF32(b, loc, logits);
    else
      scores = buildActivationElementwise(b, loc, ActivationKind::sigmoid, logits, f32);

    Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
    Value numTokens = tensor::DimOp::create(b, loc, scores, 0);
    Value numExperts = tensor::DimOp::create(b, loc, scores, 1);
    Value k = indexConst(b, loc, topK);
    SmallVector<OpFoldResult> outSizes = {tensor::getMixedSize(b, loc, scores, 0), b.getIndexAttr(topK)};
    Value weightsInit = createEmpty(b, loc, outSizes, f32);
    Value indicesInit = createEmpty(b, loc, outSizes, i64);

    // Top-k per token: round j takes the best expert that comes strictly after round j-1's choice in the
    // order (descending score, ascending index), so ties go to the lower index and no expert repeats.
    auto tokenLoop = scf::ForOp::create(
        b, loc, c0, numTokens, c1, ValueRange{weightsInit, indicesInit},
        [&](OpBuilder &tb, Location tl, Value t, ValueRange tokenArgs) {
          Value posInf = scalarConstant(tb, tl, f32, std::numeric_limits<double>::infinity());
          Value negInf = scalarConstant(tb, tl, f32, -std::numeric_limits<double>::infinity());
          Value minusOne = arith::ConstantIntOp::create(tb, tl, i64, -1);
          auto rankLoop = scf::ForOp::create(
              tb, tl, c0, k, c1, ValueRange{tokenArgs[0], tokenArgs[1], posInf, minusOne},
              [&](OpBuilder &rb, Location rl, Value j, ValueRange rankArgs) {
                Value prevScore = rankArgs[2], prevIndex = rankArgs[3];
                auto expertLoop = scf::ForOp::create(
                    rb, rl, c0, numExperts, c1, ValueRange{negInf, minusOne},
                    [&](OpBuilder &eb, Location el, Value e, ValueRange bestArgs) {
                      Value best = bestArgs[0], bestIndex = bestArgs[1];
                      Value score = tensor::ExtractOp::create(eb, el, scores, ValueRange{t, e});
                      Value e64 = arith::IndexCastOp::create(eb, el, i64, e);
                      Value below = arith::CmpFOp::create(eb, el, arith::CmpFPredicate::OLT, score, prevScore);
                      Value equal = arith::CmpFOp::create(eb, el, arith::CmpFPredicate::OEQ, score, prevScore);
                      Value after = arith::CmpIOp::create(eb, el, arith::CmpIPredicate::sgt, e64, prevIndex);
                      Value candidate =
                          arith::OrIOp::create(eb, el, below, arith::AndIOp::create(eb, el, equal, after));
                      Value none = arith::CmpIOp::create(eb, el, arith::CmpIPredicate::slt, bestIndex,
                                                         arith::ConstantIntOp::create(eb, el, i64, 0));
                      Value greater = arith::CmpFOp::create(eb, el, arith::CmpFPredicate::OGT, score, best);
                      Value take =
                          arith::AndIOp::create(eb, el, candidate, arith::OrIOp::create(eb, el, none, greater));
                      Value newBest = arith::SelectOp::create(eb, el, take, score, best);
                      Value newIndex = arith::SelectOp::create(eb, el, take, e64, bestIndex);
                      scf::YieldOp::create(eb, el, ValueRange{newBest, newIndex});
                    });
                Value best = expertLoop.getResult(0), bestIndex = expertLoop.getResult(1);
                Value w = tensor::InsertOp::create(rb, rl, best, rankArgs[0], ValueRange{t, j});
                Value i = tensor::InsertOp::create(rb, rl, bestIndex, rankArgs[1], ValueRange{t, j});
                scf::YieldOp::create(rb, rl, ValueRange{w, i, best, bestIndex});
              });
          scf::YieldOp::create(tb, tl, ValueRange{rankLoop.getResult(0), rankLoop.getResult(1)});
        });
    Value weights = tokenLoop.getResult(0), indices = tokenLoop.getResult(1);

    if (op.getNormalize()) {
      Value sum = buildLastDimReduction(b, loc, weights, f32, 0.0, {}, [](OpBuilder &nb, Location nl, ValueRange args) {
        return Value(arith::AddFOp::create(nb, nl, args[1], args[0]));
      });
      weights = buildElementwise(b, loc, weights, {weights, sum}, {Broadcast::Full, Broadcast::Rows}, f32,
                                 [](OpBuilder &nb, Location nl, ValueRange args) {
                                   return Value(arith::DivFOp::create(nb, nl, args[0], args[1]));
                                 });
    }

    if (std::optional<llvm::APFloat> factor = op.getCapacityFactor()) {
      // Admission: choice rank outer, token inner; per-expert loads in a tensor<E x index>.
      Value capacity = buildCapacity(b, loc, *factor, numTokens, topK, numExperts);
      Value loadInit = createFilled(b, loc, {tensor::getMixedSize(b, loc, scores, 1)}, b.getIndexType(), 0.0);
      auto rankLoop = scf::ForOp::create(
          b, loc, c0, k, c1, ValueRange{weights, loadInit},
          [&](OpBuilder &rb, Location rl, Value j, ValueRange rankArgs) {
            auto admitLoop = scf::ForOp::create(
                rb, rl, c0, numTokens, c1, rankArgs, [&](OpBuilder &tb, Location tl, Value t, ValueRange args) {
                  Value expert64 = tensor::ExtractOp::create(tb, tl, indices, ValueRange{t, j});
                  Value expert = arith::IndexCastOp::create(tb, tl, tb.getIndexType(), expert64);
                  Value load = tensor::ExtractOp::create(tb, tl, args[1], ValueRange{expert});
                  Value admit = arith::CmpIOp::create(tb, tl, arith::CmpIPredicate::slt, load, capacity);
                  Value newLoad = arith::SelectOp::create(tb, tl, admit, arith::AddIOp::create(tb, tl, load, c1), load);
                  Value loads = tensor::InsertOp::create(tb, tl, newLoad, args[1], ValueRange{expert});
                  Value w = tensor::ExtractOp::create(tb, tl, args[0], ValueRange{t, j});
                  Value newW = arith::SelectOp::create(tb, tl, admit, w, scalarConstant(tb, tl, f32, 0.0));
                  Value ws = tensor::InsertOp::create(tb, tl, newW, args[0], ValueRange{t, j});
                  scf::YieldOp::create(tb, tl, ValueRange{ws, loads});
                });
            scf::YieldOp::create(rb, rl, admitLoop.getResults());
          });
      weights = rankLoop.getResult(0);
    }

    Value weightsOut = unflattenResult(b, loc, weights, input, elementType);
    Value indicesOut = unflattenResult(b, loc, indices, input, i64);
    Value results[] = {tensor::CastOp::create(b, loc, op.getWeights().getType(), weightsOut),
                       tensor::CastOp::create(b, loc, op.getIndices().getType(), indicesOut)};
    rewriter.replaceOp(op, results);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// eff.experts
//===----------------------------------------------------------------------===//

/// `source[e]` of a stacked weight ([E, a, b] -> [a, b], [E, a] -> [a]) as a rank-reducing slice.
Value sliceExpert(OpBuilder &b, Location loc, Value source, Value e) {
  if (!source)
    return Value();
  auto type = cast<RankedTensorType>(source.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes, strides(rank, b.getIndexAttr(1));
  offsets[0] = e;
  sizes.push_back(b.getIndexAttr(1));
  for (int64_t i = 1; i < rank; ++i)
    sizes.push_back(tensor::getMixedSize(b, loc, source, i));
  auto resultType = RankedTensorType::get(type.getShape().drop_front(), type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, resultType, source, offsets, sizes, strides);
}

/// Stacked nn.Linear weights [E, N, K] as [E, K, N]: every expert's weight in the [K, N] layout that the
/// contraction kernels stream (as buildLinear reads it), transposed once, outside the loop over experts.
Value transposeExperts(OpBuilder &b, Location loc, Value stacked) {
  if (!stacked)
    return Value();
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, stacked);
  Value init = createEmpty(b, loc, {sizes[0], sizes[2], sizes[1]}, getElementTypeOrSelf(stacked.getType()));
  return linalg::TransposeOp::create(b, loc, stacked, init, ArrayRef<int64_t>{0, 2, 1}).getResult()[0];
}

/// Columns per panel of effc_uk_linear_f32_panels.
constexpr int64_t kPanelWidth = 16;

/// Whether the experts' linear layers can run on effc_uk_linear_f32_panels: f32, static weights whose output
/// widths (F for up and gate, D for down) are multiples of the panel width.
bool canUsePanels(ExpertsOp op) {
  auto fits = [](Value weight) {
    if (!weight)
      return true;
    auto type = cast<RankedTensorType>(weight.getType());
    return type.getElementType().isF32() && type.hasStaticShape() && type.getDimSize(1) % kPanelWidth == 0;
  };
  return cast<RankedTensorType>(op.getInput().getType()).getElementType().isF32() && fits(op.getUpWeight()) &&
         fits(op.getGateWeight()) && fits(op.getDownWeight());
}

/// Stacked nn.Linear weights [E, N, K] as 16-column panels [E, N/16, K, 16]: panel p of expert e holds the
/// columns [16p, 16p + 16) of that expert's [K, N] matrix, row after row (a reshape and a transpose, which
/// effc-pack-weights folds into the constant).
Value packExpertPanels(OpBuilder &b, Location loc, Value stacked) {
  if (!stacked)
    return Value();
  auto type = cast<RankedTensorType>(stacked.getType());
  int64_t experts = type.getDimSize(0), n = type.getDimSize(1), k = type.getDimSize(2);
  Type f32 = type.getElementType();
  auto split = RankedTensorType::get({experts, n / kPanelWidth, kPanelWidth, k}, f32);
  Value panels = tensor::ExpandShapeOp::create(b, loc, split, stacked,
                                               ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
  Value init = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{experts, n / kPanelWidth, k, kPanelWidth}, f32);
  return linalg::TransposeOp::create(b, loc, panels, init, ArrayRef<int64_t>{0, 1, 3, 2}).getResult()[0];
}

/// activation(x · W + bias) for a matrix `x` [M, K] (f32) and one expert's weight panels [N/16, K, 16], by
/// effc_uk_linear_f32_panels; `bias` [N] may be null, `activation` is an EFFC_UK_ACT_* code (0: none).
FailureOr<Value> buildPanelLinear(OpBuilder &b, Location loc, Value x, Value panels, Value bias,
                                  int64_t activation) {
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  int64_t n = cast<RankedTensorType>(panels.getType()).getDimSize(0) * kPanelWidth;
  Value hasBias = arith::ConstantIntOp::create(b, loc, i64, bias ? 1 : 0);
  if (!bias) // the kernel does not read it
    bias = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(RankedTensorType::get({1}, f32), 0.0f));
  UkernelResult result{RankedTensorType::get({ShapedType::kDynamic, n}, f32), {tensor::DimOp::create(b, loc, x, 0)}};
  Value code = arith::ConstantIntOp::create(b, loc, i64, activation);
  FailureOr<SmallVector<Value>> y =
      buildUkernelCall(b, loc, "effc_uk_linear_f32_panels", {x, panels, bias, hasBias, code}, {result},
                       {{0, 1, 1, 1}}); // x's K is the panels' K
  if (failed(y))
    return failure();
  return (*y)[0];
}

/// eff.ffn on a matrix with one expert's weights, already sliced and in panels.
FailureOr<Value> buildPanelFfnMatrix(OpBuilder &b, Location loc, Value x, Value upPanels, Value upBias,
                                     Value gatePanels, Value downPanels, Value downBias, ActivationKind kind) {
  int64_t code = ukernelActivationCode(kind);
  FailureOr<Value> hidden = buildPanelLinear(b, loc, x, upPanels, upBias, gatePanels ? 0 : code);
  if (failed(hidden))
    return failure();
  if (gatePanels) {
    FailureOr<Value> gate = buildPanelLinear(b, loc, x, gatePanels, Value(), code);
    if (failed(gate))
      return failure();
    hidden = buildElementwise(b, loc, *hidden, {*gate, *hidden}, {Broadcast::Full, Broadcast::Full}, b.getF32Type(),
                              [](OpBuilder &nb, Location nl, ValueRange args) {
                                return Value(arith::MulFOp::create(nb, nl, args[0], args[1]));
                              });
  }
  return buildPanelLinear(b, loc, *hidden, downPanels, downBias, 0);
}

/// `x · w + bias` for a matrix `x` [M, K] and a weight already in [K, N] layout; `bias` may be null.
Value buildLinearKN(OpBuilder &b, Location loc, Value x, Value weightKN, Value bias) {
  Type elementType = getElementTypeOrSelf(weightKN.getType());
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, x, 0), tensor::getMixedSize(b, loc, weightKN, 1)};
  Value init;
  if (bias) {
    MLIRContext *ctx = b.getContext();
    AffineExpr m, n;
    bindDims(ctx, m, n);
    Value empty = createEmpty(b, loc, sizes, elementType);
    init = linalg::GenericOp::create(
               b, loc, TypeRange{empty.getType()}, ValueRange{bias}, ValueRange{empty},
               AffineMap::inferFromExprList(ArrayRef<ArrayRef<AffineExpr>>{{n}, {m, n}}, ctx),
               {utils::IteratorType::parallel, utils::IteratorType::parallel},
               [](OpBuilder &nb, Location nl, ValueRange args) { linalg::YieldOp::create(nb, nl, args[0]); })
               .getResult(0);
  } else {
    init = createFilled(b, loc, sizes, elementType, 0.0);
  }
  return matmul(b, loc, x, weightKN, init);
}

/// eff.ffn on a matrix with one expert's weights, already sliced and in [K, N] layout.
Value buildFfnMatrix(OpBuilder &b, Location loc, Value x, Value upWeight, Value upBias, Value gateWeight,
                     Value downWeight, Value downBias, ActivationKind kind, Type elementType) {
  Value up = buildLinearKN(b, loc, x, upWeight, upBias);
  Value hidden;
  if (gateWeight) {
    Value gate = buildLinearKN(b, loc, x, gateWeight, Value());
    hidden = buildElementwise(b, loc, up, {gate, up}, {Broadcast::Full, Broadcast::Full}, elementType,
                              [&](OpBuilder &nb, Location nl, ValueRange args) {
                                Value activated = buildActivation(nb, nl, kind, args[0]);
                                return Value(arith::MulFOp::create(nb, nl, activated, args[1]));
                              });
  } else {
    hidden = buildActivationElementwise(b, loc, kind, up, elementType);
  }
  return buildLinearKN(b, loc, hidden, downWeight, downBias);
}

/// Builds one expert's FFN on its gathered routed rows: (builder, location, expert index, rows [n, D]) ->
/// output rows [n, D].
using ExpertFfnBuilder = function_ref<FailureOr<Value>(OpBuilder &, Location, Value, Value)>;

/// Replaces `op`, routed experts on `input` [..., D] with `routingWeights` and `routingIndices` [..., k] over
/// `numExpertsOf`'s dimension 0 experts, by the bucketed sparse computation of the file comment, each expert's
/// FFN built by `buildFfn`; `prepareWeights` (may be null) builds what is shared by all experts (a weight
/// layout change) before the loop over experts.
LogicalResult lowerRoutedExperts(ConversionPatternRewriter &rewriter, Operation *op, Value input,
                                 Value routingWeightsIn, Value routingIndicesIn, Value numExpertsOf,
                                 function_ref<void()> prepareWeights, ExpertFfnBuilder buildFfn) {
  Location loc = op->getLoc();
  OpBuilder &b = rewriter;
  Type elementType = cast<RankedTensorType>(input.getType()).getElementType();
  Type accType = computeType(elementType);
  Type indexType = b.getIndexType();

  Value x = flattenToMatrix(b, loc, input);                          // [T, D]
  Value routeWeights = flattenToMatrix(b, loc, routingWeightsIn);    // [T, k]
  Value routeIndices = flattenToMatrix(b, loc, routingIndicesIn);    // [T, k]

  Value c0 = indexConst(b, loc, 0), c1 = indexConst(b, loc, 1);
  Value numTokens = tensor::DimOp::create(b, loc, x, 0);
  OpFoldResult hiddenSize = tensor::getMixedSize(b, loc, x, 1);
  Value topK = tensor::DimOp::create(b, loc, routeWeights, 1);
  Value numExperts = tensor::DimOp::create(b, loc, numExpertsOf, 0);
  Value zeroWeight = scalarConstant(b, loc, elementType, 0.0);

  // The expert of assignment (t, j), whether it is taken (nonzero weight, expert in range), and that
  // expert clamped into range so that skipped assignments never index out of bounds.
  struct Assignment {
    Value expert, taken, weight;
  };
  auto readAssignment = [&](OpBuilder &nb, Location nl, Value t, Value j) {
    Value w = tensor::ExtractOp::create(nb, nl, routeWeights, ValueRange{t, j});
    Value raw = tensor::ExtractOp::create(nb, nl, routeIndices, ValueRange{t, j});
    Value e = castScalar(nb, nl, raw, indexType);
    Value nonzero = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNE, w, zeroWeight);
    Value lowOk = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, e, c0);
    Value highOk = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, e, numExperts);
    Value taken = arith::AndIOp::create(nb, nl, nonzero, arith::AndIOp::create(nb, nl, lowOk, highOk));
    Value clamped = arith::SelectOp::create(nb, nl, taken, e, c0);
    return Assignment{clamped, taken, castScalar(nb, nl, w, accType)};
  };
  // for t in [0, T), j in [0, k): body(t, j, iterArgs) -> new iterArgs.
  auto forEachAssignment =
      [&](ValueRange init, function_ref<SmallVector<Value>(OpBuilder &, Location, Value, Value, ValueRange)> body) {
        return scf::ForOp::create(b, loc, c0, numTokens, c1, init,
                                  [&](OpBuilder &tb, Location tl, Value t, ValueRange tokenArgs) {
                                    auto inner =
                                        scf::ForOp::create(tb, tl, c0, topK, c1, tokenArgs,
                                                           [&](OpBuilder &jb, Location jl, Value j, ValueRange args) {
                                                             scf::YieldOp::create(jb, jl, body(jb, jl, t, j, args));
                                                           });
                                    scf::YieldOp::create(tb, tl, inner.getResults());
                                  })
            .getResults();
      };

  // 1. Counting sort of the taken assignments by expert: counts[e].
  OpFoldResult expertsSize = tensor::getMixedSize(b, loc, numExpertsOf, 0);
  Value countsInit = createFilled(b, loc, {expertsSize}, indexType, 0.0);
  Value counts = forEachAssignment(
      countsInit, [&](OpBuilder &nb, Location nl, Value t, Value j, ValueRange args) -> SmallVector<Value> {
        Assignment a = readAssignment(nb, nl, t, j);
        Value count = tensor::ExtractOp::create(nb, nl, args[0], ValueRange{a.expert});
        Value increment = arith::SelectOp::create(nb, nl, a.taken, c1, c0);
        Value updated = arith::AddIOp::create(nb, nl, count, increment);
        return {tensor::InsertOp::create(nb, nl, updated, args[0], ValueRange{a.expert}).getResult()};
      })[0];
  // cursors[e] = Σ_{e' < e} counts[e'] (exclusive prefix sum).
  Value cursorsInit = createEmpty(b, loc, {expertsSize}, indexType);
  Value cursors = scf::ForOp::create(b, loc, c0, numExperts, c1, ValueRange{cursorsInit, c0},
                                     [&](OpBuilder &nb, Location nl, Value e, ValueRange args) {
                                       Value inserted =
                                           tensor::InsertOp::create(nb, nl, args[1], args[0], ValueRange{e});
                                       Value count = tensor::ExtractOp::create(nb, nl, counts, ValueRange{e});
                                       Value next = arith::AddIOp::create(nb, nl, args[1], count);
                                       scf::YieldOp::create(nb, nl, ValueRange{inserted, next});
                                     })
                      .getResult(0);
  // Bucketed rows and weights: expert e's assignments occupy [cursor_e, cursor_e + counts[e]) in token order.
  Value capacity = arith::MulIOp::create(b, loc, numTokens, topK);
  Value rowsInit = createEmpty(b, loc, {OpFoldResult(capacity)}, indexType);
  Value gatesInit = createEmpty(b, loc, {OpFoldResult(capacity)}, accType);
  ValueRange buckets = forEachAssignment(
      ValueRange{cursors, rowsInit, gatesInit},
      [&](OpBuilder &nb, Location nl, Value t, Value j, ValueRange args) -> SmallVector<Value> {
        Assignment a = readAssignment(nb, nl, t, j);
        auto ifOp = scf::IfOp::create(
            nb, nl, a.taken,
            [&](OpBuilder &ib, Location il) {
              Value position = tensor::ExtractOp::create(ib, il, args[0], ValueRange{a.expert});
              Value next = arith::AddIOp::create(ib, il, position, c1);
              Value cursorsNew = tensor::InsertOp::create(ib, il, next, args[0], ValueRange{a.expert});
              Value rowsNew = tensor::InsertOp::create(ib, il, t, args[1], ValueRange{position});
              Value gatesNew = tensor::InsertOp::create(ib, il, a.weight, args[2], ValueRange{position});
              scf::YieldOp::create(ib, il, ValueRange{cursorsNew, rowsNew, gatesNew});
            },
            [&](OpBuilder &ib, Location il) { scf::YieldOp::create(ib, il, args); });
        return SmallVector<Value>(ifOp.getResults());
      });
  Value rows = buckets[1], gates = buckets[2];
  if (prepareWeights)
    prepareWeights();

  // 2. Per expert with routed tokens: gather, FFN, scatter-add into the accumulator [T, D] (computeType).
  Value accInit = createFilled(b, loc, {tensor::getMixedSize(b, loc, x, 0), hiddenSize}, accType, 0.0);

  // One expert's work on its `count` (> 0) routed rows, which start at `offset` in `rows` and `gates`.
  auto buildExpert = [&](OpBuilder &eb, Location el, Value e, Value acc, Value offset,
                         Value count) -> FailureOr<Value> {
    SmallVector<OpFoldResult> off = {offset}, size = {count}, stride = {eb.getIndexAttr(1)};
    Value expertRows = tensor::ExtractSliceOp::create(eb, el, rows, off, size, stride);
    Value expertGates = tensor::ExtractSliceOp::create(eb, el, gates, off, size, stride);

    // Gather the routed rows: xs[i, d] = x[rows[i], d].
    MLIRContext *ctx = eb.getContext();
    AffineExpr i, d;
    bindDims(ctx, i, d);
    Value gatheredInit = createEmpty(eb, el, {OpFoldResult(count), hiddenSize}, elementType);
    Value gathered = linalg::GenericOp::create(
                         eb, el, TypeRange{gatheredInit.getType()}, ValueRange{expertRows}, ValueRange{gatheredInit},
                         AffineMap::inferFromExprList(ArrayRef<ArrayRef<AffineExpr>>{{i}, {i, d}}, ctx),
                         {utils::IteratorType::parallel, utils::IteratorType::parallel},
                         [&](OpBuilder &nb, Location nl, ValueRange bargs) {
                           Value column = linalg::IndexOp::create(nb, nl, 1);
                           Value v = tensor::ExtractOp::create(nb, nl, x, ValueRange{bargs[0], column});
                           linalg::YieldOp::create(nb, nl, v);
                         })
                         .getResult(0);

    FailureOr<Value> ffn = buildFfn(eb, el, e, gathered);
    if (failed(ffn))
      return failure();
    Value out = *ffn; // [n, D]

    // Scatter-add: acc[rows[i], :] += gates[i] · out[i, :].
    auto scatter = scf::ForOp::create(
        eb, el, c0, count, c1, ValueRange{acc}, [&](OpBuilder &sb, Location sl, Value r, ValueRange sargs) {
          Value row = tensor::ExtractOp::create(sb, sl, expertRows, ValueRange{r});
          Value gate = tensor::ExtractOp::create(sb, sl, expertGates, ValueRange{r});
          SmallVector<OpFoldResult> strides = {sb.getIndexAttr(1), sb.getIndexAttr(1)};
          SmallVector<OpFoldResult> sizes = {sb.getIndexAttr(1), hiddenSize};
          auto rowType = [&](Type t) {
            return RankedTensorType::get({cast<RankedTensorType>(x.getType()).getDimSize(1)}, t);
          };
          Value outRow = tensor::ExtractSliceOp::create(
              sb, sl, rowType(elementType), out, SmallVector<OpFoldResult>{r, sb.getIndexAttr(0)}, sizes, strides);
          SmallVector<OpFoldResult> accOffsets = {row, sb.getIndexAttr(0)};
          Value accRow =
              tensor::ExtractSliceOp::create(sb, sl, rowType(accType), sargs[0], accOffsets, sizes, strides);
          // In place on the accumulator row (destination-passing), so that the insert_slice below
          // bufferizes without a copy.
          AffineMap identity = AffineMap::getMultiDimIdentityMap(1, sb.getContext());
          Value updated =
              linalg::GenericOp::create(sb, sl, TypeRange{accRow.getType()}, ValueRange{outRow}, ValueRange{accRow},
                                        ArrayRef<AffineMap>{identity, identity}, {utils::IteratorType::parallel},
                                        [&](OpBuilder &nb, Location nl, ValueRange bargs) {
                                          Value v = castScalar(nb, nl, bargs[0], accType);
                                          Value scaled = arith::MulFOp::create(nb, nl, v, gate);
                                          Value sum = arith::AddFOp::create(nb, nl, bargs[1], scaled);
                                          linalg::YieldOp::create(nb, nl, sum);
                                        })
                  .getResult(0);
          Value inserted = tensor::InsertSliceOp::create(sb, sl, updated, sargs[0], accOffsets, sizes, strides);
          scf::YieldOp::create(sb, sl, inserted);
        });
    return scatter.getResult(0);
  };

  // Built into an attached loop (not through body callbacks), so that a micro-kernel call inside finds the
  // module to declare its kernel in.
  auto expertLoop = scf::ForOp::create(b, loc, c0, numExperts, c1, ValueRange{accInit, c0});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(expertLoop.getBody());
    Value e = expertLoop.getInductionVar();
    Value acc = expertLoop.getRegionIterArg(0), offset = expertLoop.getRegionIterArg(1);
    Value count = tensor::ExtractOp::create(b, loc, counts, ValueRange{e});
    Value routed = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, count, c0);
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{acc.getType()}, routed, /*withElseRegion=*/true);
    b.setInsertionPointToStart(ifOp.thenBlock());
    FailureOr<Value> updated = buildExpert(b, loc, e, acc, offset, count);
    if (failed(updated))
      return failure(); // buildUkernelCall has reported why
    scf::YieldOp::create(b, loc, *updated);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, acc);
    b.setInsertionPointAfter(ifOp);
    Value nextOffset = arith::AddIOp::create(b, loc, offset, count);
    scf::YieldOp::create(b, loc, ValueRange{ifOp.getResult(0), nextOffset});
  }

  Value result = unflattenResult(b, loc, expertLoop.getResult(0), input, elementType);
  rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op->getResult(0).getType(), result);
  return success();
}


struct ExpertsLowering : OpConversionPattern<ExpertsOp> {
  ExpertsLowering(MLIRContext *ctx, bool expertPanels) : OpConversionPattern(ctx), expertPanels(expertPanels) {}

  /// Whether f32 experts may use effc_uk_linear_f32_panels (off where CPU micro-kernels must not run, as
  /// in the CUDA pipeline).
  bool expertPanels;

  LogicalResult matchAndRewrite(ExpertsOp op, OpAdaptor adaptor, ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Type elementType = cast<RankedTensorType>(adaptor.getInput().getType()).getElementType();
    ActivationKind kind = op.getActivation();
    // Each expert's weights in the layout its linear layers read, changed once outside the loop over experts.
    bool panels = expertPanels && canUsePanels(op);
    auto layout = [&](Value stacked) {
      return panels ? packExpertPanels(b, loc, stacked) : transposeExperts(b, loc, stacked);
    };
    Value upKN, gateKN, downKN;
    auto prepareWeights = [&] {
      upKN = layout(adaptor.getUpWeight());     // [E, D, F] or panels [E, F/16, D, 16]
      gateKN = layout(adaptor.getGateWeight()); // [E, D, F] or panels [E, F/16, D, 16]
      downKN = layout(adaptor.getDownWeight()); // [E, F, D] or panels [E, D/16, F, 16]
    };
    auto buildFfn = [&](OpBuilder &eb, Location el, Value e, Value gathered) -> FailureOr<Value> {
      Value upBias = sliceExpert(eb, el, adaptor.getUpBias(), e);
      Value downBias = sliceExpert(eb, el, adaptor.getDownBias(), e);
      if (panels)
        return buildPanelFfnMatrix(eb, el, gathered, sliceExpert(eb, el, upKN, e), upBias,
                                   sliceExpert(eb, el, gateKN, e), sliceExpert(eb, el, downKN, e), downBias, kind);
      return buildFfnMatrix(eb, el, gathered, sliceExpert(eb, el, upKN, e), upBias, sliceExpert(eb, el, gateKN, e),
                            sliceExpert(eb, el, downKN, e), downBias, kind, elementType);
    };
    return lowerRoutedExperts(rewriter, op, adaptor.getInput(), adaptor.getRoutingWeights(),
                              adaptor.getRoutingIndices(), adaptor.getUpWeight(), prepareWeights, buildFfn);
  }
};

//===----------------------------------------------------------------------===//
// eff.quantized_experts
//===----------------------------------------------------------------------===//

/// One call of the quantized-linear micro-kernel `name` on a matrix `x` [M, K] (f32), viewed as the [1, M, K]
/// rows the kernels walk (one dynamic size: a plain expand_shape), with the kernel's other operands `rest`;
/// returns its [M, n] result.
FailureOr<Value> buildExpertKernelCall(OpBuilder &b, Location loc, StringRef name, Value x, ValueRange rest,
                                       int64_t n) {
  Type f32 = b.getF32Type();
  auto xType = cast<RankedTensorType>(x.getType());
  auto x3Type = RankedTensorType::get({1, xType.getDimSize(0), xType.getDimSize(1)}, f32);
  SmallVector<Value> operands = {
      tensor::ExpandShapeOp::create(b, loc, x3Type, x, ArrayRef<ReassociationIndices>{{0, 1}, {2}})};
  operands.append(rest.begin(), rest.end());
  UkernelResult result{RankedTensorType::get({1, xType.getDimSize(0), n}, f32), {}};
  if (xType.isDynamicDim(0))
    result.dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, 0));
  FailureOr<SmallVector<Value>> y = buildUkernelCall(b, loc, name, operands, {result});
  if (failed(y))
    return failure();
  auto matrixType = RankedTensorType::get({xType.getDimSize(0), n}, f32);
  return Value(tensor::CollapseShapeOp::create(b, loc, matrixType, (*y)[0],
                                               ArrayRef<ReassociationIndices>{{0, 1}, {2}}));
}

/// activation(x · Wᵀ + bias) for a matrix `x` [M, K] (f32) and one expert's int8-packed weight (`packed`,
/// `scales`, `sums`: rows of the stacked operands) with `n` outputs, by effc_uk_quantized_linear_int8 (no
/// activation) or its _epilogue variant (the activation applied to each output tile); `bias` [n] may be null.
FailureOr<Value> buildInt8ExpertLinear(OpBuilder &b, Location loc, Value x, Value packed, Value scales, Value sums,
                                       Value bias, int64_t n, int64_t activation) {
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  auto i64Const = [&](int64_t v) { return Value(arith::ConstantIntOp::create(b, loc, i64, v)); };
  Value hasBias = i64Const(bias ? 1 : 0);
  if (!bias) // the kernel does not read it
    bias = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(RankedTensorType::get({1}, f32), 0.0f));
  SmallVector<Value> rest = {packed, sums, scales, bias, hasBias,
                             arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f)), i64Const(0)};
  StringRef name = "effc_uk_quantized_linear_int8";
  if (activation != 0) {
    name = "effc_uk_quantized_linear_int8_epilogue";
    // No residual: a placeholder the kernel does not read without EFFC_UK_EPILOGUE_RESIDUAL.
    rest.push_back(
        arith::ConstantOp::create(b, loc, DenseElementsAttr::get(RankedTensorType::get({1, 1, 1}, f32), 0.0f)));
    rest.push_back(i64Const(activation));
  }
  return buildExpertKernelCall(b, loc, name, x, rest, n);
}

/// x · Wᵀ + bias for a matrix `x` [M, K] (f32) and one expert's int4-packed weight (`packed`, `scales` and
/// `zeros`: rows of the stacked operands; `zeros` null for symmetric weights) with `n` outputs and groups of
/// `group`, by effc_uk_quantized_linear_int4 (W4A8 where the group allows, as for eff.quantized_linear);
/// `bias` [n] may be null.
FailureOr<Value> buildInt4ExpertLinear(OpBuilder &b, Location loc, Value x, Value packed, Value scales, Value zeros,
                                       Value bias, int64_t n, int64_t group) {
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  auto i64Const = [&](int64_t v) { return Value(arith::ConstantIntOp::create(b, loc, i64, v)); };
  // Absent zero points and bias: a placeholder the kernel does not read (flags say so).
  Value placeholder = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(RankedTensorType::get({1}, f32), 0.0f));
  Value rest[] = {packed,          scales, zeros ? zeros : placeholder, bias ? bias : placeholder, i64Const(group),
                  i64Const(zeros ? 1 : 0), i64Const(bias ? 1 : 0)};
  return buildExpertKernelCall(b, loc, "effc_uk_quantized_linear_int4", x, rest, n);
}

/// eff.quantized_experts: the routed-experts lowering with each expert's linear layers on the quantized GEMM
/// micro-kernel of eff.quantized_linear's scheme (int8, with the activation in the up or gate projection's
/// epilogue; int4, with the activation after it), which reads the expert's rows of the stacked packed operands
/// in place.
struct QuantizedExpertsLowering : OpConversionPattern<QuantizedExpertsOp> {
  QuantizedExpertsLowering(MLIRContext *ctx, bool epilogueKernel)
      : OpConversionPattern(ctx), epilogueKernel(epilogueKernel) {}

  /// Whether int8 experts apply their activation in effc_uk_quantized_linear_int8_epilogue (off where the
  /// int8 linear runs as device kernels, as in the CUDA pipeline: the activation is then an elementwise op
  /// after a plain int8 call, as for int4).
  bool epilogueKernel;

  LogicalResult matchAndRewrite(QuantizedExpertsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    if (op.getScheme() != QuantScheme::int8 && op.getScheme() != QuantScheme::int4)
      return rewriter.notifyMatchFailure(op, "only int8 and int4 experts are lowered");
    bool int4 = op.getScheme() == QuantScheme::int4;
    int64_t group = int4 ? static_cast<int64_t>(*op.getGroupSize()) : 0;
    int64_t code = ukernelActivationCode(op.getActivation());
    int64_t hidden = cast<RankedTensorType>(op.getInput().getType()).getShape().back();
    int64_t width = static_cast<int64_t>(op.getIntermediateSize());
    Type f32 = rewriter.getF32Type();
    auto buildFfn = [&](OpBuilder &eb, Location el, Value e, Value gathered) -> FailureOr<Value> {
      // Row e of a stacked operand [E, L] as a flat [L] tensor (a slice: no copy); null stays null.
      auto row = [&](Value stacked) { return sliceExpert(eb, el, stacked, e); };
      // One projection, with the op's activation applied when `activate` (int8 with epilogueKernel: in the
      // kernel's epilogue).
      auto linear = [&](Value x, Value packed, Value scales, Value sums, Value zeros, Value bias, int64_t n,
                        bool activate) -> FailureOr<Value> {
        if (!int4 && epilogueKernel)
          return buildInt8ExpertLinear(eb, el, x, row(packed), row(scales), row(sums), row(bias), n,
                                       activate ? code : 0);
        FailureOr<Value> y =
            int4 ? buildInt4ExpertLinear(eb, el, x, row(packed), row(scales), row(zeros), row(bias), n, group)
                 : buildInt8ExpertLinear(eb, el, x, row(packed), row(scales), row(sums), row(bias), n, 0);
        if (failed(y) || !activate)
          return y;
        return buildActivationElementwise(eb, el, op.getActivation(), *y);
      };
      bool gated = static_cast<bool>(adaptor.getGatePacked());
      FailureOr<Value> hidden1 = linear(gathered, adaptor.getUpPacked(), adaptor.getUpScales(),
                                        adaptor.getUpColumnSums(), adaptor.getUpZeroPoints(), adaptor.getUpBias(),
                                        width, !gated);
      if (failed(hidden1))
        return failure();
      Value h = *hidden1;
      if (gated) {
        FailureOr<Value> gate = linear(gathered, adaptor.getGatePacked(), adaptor.getGateScales(),
                                       adaptor.getGateColumnSums(), adaptor.getGateZeroPoints(), Value(), width,
                                       /*activate=*/true);
        if (failed(gate))
          return failure();
        h = buildElementwise(eb, el, h, {*gate, h}, {Broadcast::Full, Broadcast::Full}, f32,
                             [](OpBuilder &nb, Location nl, ValueRange args) {
                               return Value(arith::MulFOp::create(nb, nl, args[0], args[1]));
                             });
      }
      return linear(h, adaptor.getDownPacked(), adaptor.getDownScales(), adaptor.getDownColumnSums(),
                    adaptor.getDownZeroPoints(), adaptor.getDownBias(), hidden, /*activate=*/false);
    };
    return lowerRoutedExperts(rewriter, op, adaptor.getInput(), adaptor.getRoutingWeights(),
                              adaptor.getRoutingIndices(), adaptor.getUpPacked(), nullptr, buildFfn);
  }
};

//===----------------------------------------------------------------------===//
// eff.residual_moe
//===----------------------------------------------------------------------===//

struct ResidualMoeLowering : OpConversionPattern<ResidualMoeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ResidualMoeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Type elementType = op.getType().getElementType();
    Type accType = computeType(elementType);
    Value dense = adaptor.getDense(), moe = adaptor.getExperts();

    // c = softmax(x · W_coefᵀ + b_coef) over the 2 coefficients, in f32: [..., 2]. The activations keep
    // their rank (no matrix view), so no reshape is needed on the way back.
    Value logits = buildLinear(b, loc, adaptor.getInput(), adaptor.getCoefficientWeight(),
                                 adaptor.getCoefficientBias(), b.getF32Type());
    Value coefficients = buildSoftmaxF32(b, loc, logits);

    // y[..., d] = dense[..., d] · c[..., 0] + moe[..., d] · c[..., 1].
    int64_t rank = cast<RankedTensorType>(dense.getType()).getRank();
    MLIRContext *ctx = b.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    auto column = [&](int64_t c) {
      return identity.dropResult(rank - 1).insertResult(getAffineConstantExpr(c, ctx), rank - 1);
    };
    SmallVector<AffineMap> maps = {identity, identity, column(0), column(1), identity};
    Value init = createEmpty(b, loc, getSizes(b, loc, dense), elementType);
    Value result = linalg::GenericOp::create(
                       b, loc, TypeRange{init.getType()}, ValueRange{dense, moe, coefficients, coefficients},
                       ValueRange{init}, maps, SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
                       [&](OpBuilder &nb, Location nl, ValueRange args) {
                         Value c0 = castScalar(nb, nl, args[2], accType), c1 = castScalar(nb, nl, args[3], accType);
                         Value lhs = arith::MulFOp::create(nb, nl, castScalar(nb, nl, args[0], accType), c0);
                         Value rhs = arith::MulFOp::create(nb, nl, castScalar(nb, nl, args[1], accType), c1);
                         Value sum = arith::AddFOp::create(nb, nl, lhs, rhs);
                         linalg::YieldOp::create(nb, nl, castScalar(nb, nl, sum, elementType));
                       })
                       .getResult(0);
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), result);
    return success();
  }
};

} // namespace

void effc::populateMoELoweringPatterns(RewritePatternSet &patterns, bool expertPanels) {
  patterns.add<RouterLowering, ResidualMoeLowering>(patterns.getContext());
  patterns.add<ExpertsLowering, QuantizedExpertsLowering>(patterns.getContext(), expertPanels);
}
