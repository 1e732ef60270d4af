//===- EffTypeInference.cpp - shape rules of the eff ops ------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// This file holds the shape rules of every eff op with an inferred result type: each op's
// inferReturnTypes checks the constraints of docs/spec/eff.md (cited as `// eff_<op>_c<N>`) and computes the
// result types. Verification runs the same code, so the rules are written once. A dimension constraint is
// checked when both dimensions are static.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// The static one of two compatible dimensions, if either is static.
int64_t mergeDims(int64_t a, int64_t b) { return ShapedType::isDynamic(a) ? b : a; }

int64_t addDims(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ? kDynamic : a + b;
}

std::string formatDim(int64_t d) { return ShapedType::isDynamic(d) ? "?" : std::to_string(d); }

std::string formatShape(RankedTensorType type) {
  std::string s = "[";
  llvm::interleave(
      type.getShape(), [&](int64_t d) { s += formatDim(d); }, [&] { s += ", "; });
  return s + "]";
}

int64_t lastDim(RankedTensorType type) { return type.getDimSize(type.getRank() - 1); }

/// Checks one op's shape rules and reports violations as "'eff.<op>' op <message>" at the op's location.
/// Without a location (speculative inference) failures are silent.
class ShapeRules {
public:
  ShapeRules(std::optional<Location> loc, StringRef opName) : loc(loc), opName(opName) {}

  template <typename... Args>
  LogicalResult fail(const Args &...args) {
    if (loc) {
      InFlightDiagnostic diag = emitError(*loc) << "'" << opName << "' op ";
      (diag << ... << args);
    }
    return failure();
  }

  /// The ranked tensor type of `value` (named `name` in diagnostics), or null after reporting why not.
  RankedTensorType tensor(Value value, StringRef name) {
    auto type = value ? dyn_cast<RankedTensorType>(value.getType()) : RankedTensorType();
    if (!type)
      (void)fail(name, " must be a ranked tensor");
    return type;
  }

  /// Like tensor(), and also requires rank `rank`.
  RankedTensorType tensorOfRank(Value value, StringRef name, int64_t rank) {
    RankedTensorType type = tensor(value, name);
    if (type && type.getRank() != rank) {
      (void)fail(name, " must have rank ", rank, ", got ", formatShape(type));
      return {};
    }
    return type;
  }

  /// Requires every present value in `named` to have the element type of the first one.
  LogicalResult sameElementType(ArrayRef<std::pair<StringRef, Value>> named) {
    const std::pair<StringRef, Value> *first = nullptr;
    for (const auto &entry : named) {
      if (!entry.second)
        continue;
      if (!first) {
        first = &entry;
        continue;
      }
      Type expected = getElementTypeOrSelf(first->second.getType());
      Type actual = getElementTypeOrSelf(entry.second.getType());
      if (actual != expected)
        return fail(entry.first, " has element type ", actual, ", but ", first->first, " has ", expected,
                    " (float operands share one element type)");
    }
    return success();
  }

  /// Requires a rank-1 `value` whose length is compatible with `expected`; describes it as `what`.
  LogicalResult vectorOfLength(Value value, StringRef name, int64_t expected, StringRef what) {
    if (!value)
      return success();
    RankedTensorType type = tensorOfRank(value, name, 1);
    if (!type)
      return failure();
    if (!dimsCompatible(type.getDimSize(0), expected))
      return fail(name, " ", formatShape(type), " must have ", formatDim(expected), " elements (", what, ")");
    return success();
  }

private:
  std::optional<Location> loc;
  StringRef opName;
};

RankedTensorType withLastDim(RankedTensorType type, int64_t dim) {
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = dim;
  return RankedTensorType::get(shape, type.getElementType());
}

RankedTensorType withElementType(ArrayRef<int64_t> shape, Type elementType) {
  return RankedTensorType::get(shape, elementType);
}

/// Positive integer attribute value, or failure after reporting `name` must be >= 1.
FailureOr<int64_t> positiveInt(ShapeRules &rules, IntegerAttr attr, StringRef name) {
  if (!attr)
    return rules.fail("requires attribute '", name, "'");
  int64_t value = attr.getValue().getSExtValue();
  if (value < 1)
    return rules.fail(name, " must be >= 1, got ", value);
  return value;
}

} // namespace

bool mlir::eff::areCompatibleResultTypes(TypeRange inferred, TypeRange actual) {
  if (inferred.size() != actual.size())
    return false;
  for (auto [lhs, rhs] : llvm::zip_equal(inferred, actual)) {
    auto l = dyn_cast<RankedTensorType>(lhs), r = dyn_cast<RankedTensorType>(rhs);
    if (!l || !r) {
      if (lhs != rhs)
        return false;
      continue;
    }
    if (l.getElementType() != r.getElementType() || failed(verifyCompatibleShape(l, r)))
      return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Transformer ops
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  // eff_embedding_c1
  RankedTensorType table = rules.tensorOfRank(adaptor.getTable(), "table", 2);
  RankedTensorType indices = rules.tensor(adaptor.getIndices(), "indices");
  if (!table || !indices)
    return failure();
  SmallVector<int64_t> shape(indices.getShape());
  shape.push_back(table.getDimSize(1));
  results.push_back(withElementType(shape, table.getElementType()));
  return success();
}

LogicalResult PositionIdsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                              SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType ids = rules.tensor(adaptor.getIds(), "ids");
  if (!ids)
    return failure();
  // eff_position_ids_c1
  if (ids.getRank() < 1)
    return rules.fail("ids must have rank >= 1 (a sequence dimension), got ", formatShape(ids));
  results.push_back(ids);
  return success();
}

LogicalResult LinearOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  // eff_linear_c1
  RankedTensorType weight = rules.tensorOfRank(adaptor.getWeight(), "weight", 2);
  if (!input || !weight)
    return failure();
  if (input.getRank() < 1)
    return rules.fail("input must have rank >= 1, got a rank-0 tensor");
  if (failed(rules.sameElementType(
          {{"input", adaptor.getInput()}, {"weight", adaptor.getWeight()}, {"bias", adaptor.getBias()}})))
    return failure();
  // eff_linear_c2
  if (!dimsCompatible(weight.getDimSize(1), lastDim(input)))
    return rules.fail("weight ", formatShape(weight), " takes ", formatDim(weight.getDimSize(1)),
                      " input features, but input ", formatShape(input), " has ", formatDim(lastDim(input)));
  // eff_linear_c3
  int64_t n = weight.getDimSize(0);
  if (failed(rules.vectorOfLength(adaptor.getBias(), "bias", n, "the weight's output features")))
    return failure();
  if (Value bias = adaptor.getBias())
    n = mergeDims(n, cast<RankedTensorType>(bias.getType()).getDimSize(0));
  results.push_back(withLastDim(input, n));
  return success();
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType lhs = rules.tensor(adaptor.getLhs(), "lhs");
  RankedTensorType rhs = rules.tensor(adaptor.getRhs(), "rhs");
  if (!lhs || !rhs)
    return failure();
  if (failed(rules.sameElementType({{"lhs", adaptor.getLhs()}, {"rhs", adaptor.getRhs()}})))
    return failure();
  // eff_matmul_c1
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return rules.fail("operands must have rank >= 2, got lhs ", formatShape(lhs), " and rhs ", formatShape(rhs));
  // eff_matmul_c2
  int64_t batchRank = lhs.getRank() - 2;
  if (rhs.getRank() != 2 && rhs.getRank() != lhs.getRank())
    return rules.fail("rhs ", formatShape(rhs), " must have rank 2 or the rank of lhs ", formatShape(lhs));
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < batchRank; ++i) {
    int64_t dim = lhs.getDimSize(i);
    if (rhs.getRank() != 2) {
      if (!dimsCompatible(dim, rhs.getDimSize(i)))
        return rules.fail("batch dimension ", i, " differs: lhs ", formatShape(lhs), ", rhs ", formatShape(rhs));
      dim = mergeDims(dim, rhs.getDimSize(i));
    }
    shape.push_back(dim);
  }
  int64_t rhsRank = rhs.getRank();
  int64_t rhsK = rhs.getDimSize(rhsRank - (adaptor.getTransposeB() ? 1 : 2));
  int64_t rhsN = rhs.getDimSize(rhsRank - (adaptor.getTransposeB() ? 2 : 1));
  // eff_matmul_c3
  if (!dimsCompatible(lastDim(lhs), rhsK))
    return rules.fail("contraction dimensions differ: lhs ", formatShape(lhs), " has K = ", formatDim(lastDim(lhs)),
                      ", rhs ", formatShape(rhs), " has K = ", formatDim(rhsK),
                      adaptor.getTransposeB() ? " (transpose_b)" : "");
  shape.push_back(lhs.getDimSize(lhs.getRank() - 2));
  shape.push_back(rhsN);
  results.push_back(withElementType(shape, lhs.getElementType()));
  return success();
}

/// Shared by layer_norm and rms_norm: `input` [..., D] with per-channel vectors of length D.
static LogicalResult inferNorm(ShapeRules &rules, Value inputValue, Value gamma, Value beta, APFloat epsilon,
                               SmallVectorImpl<Type> &results) {
  RankedTensorType input = rules.tensor(inputValue, "input");
  if (!input)
    return failure();
  if (input.getRank() < 1)
    return rules.fail("input must have rank >= 1, got a rank-0 tensor");
  if (failed(rules.sameElementType({{"input", inputValue}, {"gamma", gamma}, {"beta", beta}})))
    return failure();
  // eff_layer_norm_c1, eff_rms_norm_c1
  if (failed(rules.vectorOfLength(gamma, "gamma", lastDim(input), "the input's last dimension")) ||
      failed(rules.vectorOfLength(beta, "beta", lastDim(input), "the input's last dimension")))
    return failure();
  // eff_layer_norm_c2, eff_rms_norm_c2
  if (!(epsilon.convertToDouble() > 0.0))
    return rules.fail("epsilon must be > 0, got ", epsilon.convertToDouble());
  int64_t d = mergeDims(lastDim(input), cast<RankedTensorType>(gamma.getType()).getDimSize(0));
  results.push_back(withLastDim(input, d));
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  return inferNorm(rules, adaptor.getInput(), adaptor.getGamma(), adaptor.getBeta(), adaptor.getEpsilon(),
                   results);
}

LogicalResult RmsNormOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  return inferNorm(rules, adaptor.getInput(), adaptor.getGamma(), Value(), adaptor.getEpsilon(), results);
}

LogicalResult RotaryOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  RankedTensorType positions = rules.tensor(adaptor.getPositions(), "positions");
  if (!input || !positions)
    return failure();
  // eff_rotary_c1
  if (input.getRank() < 2)
    return rules.fail("input must have rank >= 2 ([..., seq, heads * head_dim]), got ", formatShape(input));
  FailureOr<int64_t> numHeads = positiveInt(rules, adaptor.getNumHeadsAttr(), "num_heads");
  if (failed(numHeads))
    return failure();
  int64_t hidden = lastDim(input), headDim = kDynamic;
  if (!ShapedType::isDynamic(hidden)) {
    if (hidden % *numHeads != 0)
      return rules.fail("num_heads = ", *numHeads, " does not divide the input's hidden size ", hidden);
    headDim = hidden / *numHeads;
  }
  // eff_rotary_c2
  if (IntegerAttr rotaryDimAttr = adaptor.getRotaryDimAttr()) {
    int64_t rotaryDim = rotaryDimAttr.getValue().getSExtValue();
    if (rotaryDim < 2 || rotaryDim % 2 != 0)
      return rules.fail("rotary_dim must be even and >= 2, got ", rotaryDim);
    if (!ShapedType::isDynamic(headDim) && rotaryDim > headDim)
      return rules.fail("rotary_dim = ", rotaryDim, " exceeds the head size ", headDim);
  } else if (!ShapedType::isDynamic(headDim) && headDim % 2 != 0) {
    return rules.fail("the head size ", headDim, " must be even to rotate channel pairs");
  }
  // eff_rotary_c3
  ArrayRef<int64_t> leading = input.getShape().drop_back();
  bool perToken = succeeded(verifyCompatibleShape(positions.getShape(), leading));
  bool perPosition = positions.getRank() == 1 && dimsCompatible(positions.getDimSize(0), leading.back());
  if (!perToken && !perPosition)
    return rules.fail("positions ", formatShape(positions), " must have the input's leading shape or be [seq]; input is ",
                      formatShape(input));
  // eff_rotary_c4
  if (!(adaptor.getTheta().convertToDouble() > 0.0))
    return rules.fail("theta must be > 0, got ", adaptor.getTheta().convertToDouble());
  results.push_back(input);
  return success();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  // eff_attention_c1
  RankedTensorType query = rules.tensorOfRank(adaptor.getQuery(), "query", 3);
  RankedTensorType key = rules.tensorOfRank(adaptor.getKey(), "key", 3);
  RankedTensorType value = rules.tensorOfRank(adaptor.getValue(), "value", 3);
  if (!query || !key || !value)
    return failure();
  if (failed(rules.sameElementType({{"query", adaptor.getQuery()},
                                    {"key", adaptor.getKey()},
                                    {"value", adaptor.getValue()},
                                    {"bias", adaptor.getBias()},
                                    {"head_mask", adaptor.getHeadMask()},
                                    {"past_key", adaptor.getPastKey()},
                                    {"past_value", adaptor.getPastValue()}})))
    return failure();
  if (failed(verifyCompatibleShape(key, value)))
    return rules.fail("key ", formatShape(key), " and value ", formatShape(value), " must have the same shape");
  if (!dimsCompatible(query.getDimSize(0), key.getDimSize(0)) ||
      !dimsCompatible(query.getDimSize(0), value.getDimSize(0)))
    return rules.fail("query ", formatShape(query), ", key ", formatShape(key), " and value ", formatShape(value),
                      " must have the same batch size");
  int64_t batch = mergeDims(mergeDims(query.getDimSize(0), key.getDimSize(0)), value.getDimSize(0));
  // eff_attention_c2
  FailureOr<int64_t> numHeads = positiveInt(rules, adaptor.getNumHeadsAttr(), "num_heads");
  if (failed(numHeads))
    return failure();
  int64_t headDim = kDynamic;
  if (int64_t hidden = query.getDimSize(2); !ShapedType::isDynamic(hidden)) {
    if (hidden % *numHeads != 0)
      return rules.fail("num_heads = ", *numHeads, " does not divide the query's hidden size ", hidden);
    headDim = hidden / *numHeads;
  }
  // eff_attention_c3
  int64_t numKvHeads = *numHeads;
  if (IntegerAttr attr = adaptor.getNumKvHeadsAttr()) {
    FailureOr<int64_t> value = positiveInt(rules, attr, "num_kv_heads");
    if (failed(value))
      return failure();
    numKvHeads = *value;
    if (*numHeads % numKvHeads != 0)
      return rules.fail("num_kv_heads = ", numKvHeads, " must divide num_heads = ", *numHeads);
  }
  // eff_attention_c4
  int64_t kvHidden = ShapedType::isDynamic(headDim) ? kDynamic : numKvHeads * headDim;
  if (!dimsCompatible(key.getDimSize(2), kvHidden))
    return rules.fail("key ", formatShape(key), " must have num_kv_heads * head_dim = ", numKvHeads, " * ",
                      headDim, " = ", kvHidden, " channels");
  kvHidden = mergeDims(kvHidden, key.getDimSize(2));
  // eff_attention_c7
  Value pastKey = adaptor.getPastKey(), pastValue = adaptor.getPastValue();
  if (!pastKey != !pastValue)
    return rules.fail("past_key and past_value must be given together");
  int64_t pastLen = 0;
  if (pastKey) {
    RankedTensorType pk = rules.tensorOfRank(pastKey, "past_key", 3);
    RankedTensorType pv = rules.tensorOfRank(pastValue, "past_value", 3);
    if (!pk || !pv)
      return failure();
    if (failed(verifyCompatibleShape(pk, pv)))
      return rules.fail("past_key ", formatShape(pk), " and past_value ", formatShape(pv),
                        " must have the same shape");
    if (!dimsCompatible(pk.getDimSize(0), batch) || !dimsCompatible(pk.getDimSize(2), kvHidden))
      return rules.fail("past_key ", formatShape(pk), " must be [batch, past, ", formatDim(kvHidden),
                        "] to extend key ", formatShape(key));
    pastLen = pk.getDimSize(1);
  }
  int64_t totalLen = addDims(pastLen, key.getDimSize(1));
  // eff_attention_c5
  if (Value maskValue = adaptor.getMask()) {
    RankedTensorType mask = rules.tensorOfRank(maskValue, "mask", 2);
    if (!mask)
      return failure();
    if (!dimsCompatible(mask.getDimSize(0), batch) || !dimsCompatible(mask.getDimSize(1), totalLen))
      return rules.fail("mask ", formatShape(mask), " must be [batch, key length] = [", formatDim(batch), ", ",
                        formatDim(totalLen), "]");
  }
  // eff_attention_c6
  if (failed(rules.vectorOfLength(adaptor.getHeadMask(), "head_mask", *numHeads, "one per query head")))
    return failure();
  // eff_attention_c8
  if (FloatAttr scale = adaptor.getScaleAttr(); scale && !(scale.getValueAsDouble() > 0.0))
    return rules.fail("scale must be > 0, got ", scale.getValueAsDouble());
  // eff_attention_c9
  int64_t queryLen = query.getDimSize(1);
  if (adaptor.getCausal() && !ShapedType::isDynamic(queryLen) && !ShapedType::isDynamic(totalLen) &&
      queryLen > totalLen)
    return rules.fail("causal attention needs at least as many keys (", totalLen, ") as queries (", queryLen, ")");
  // eff_attention_c10
  if (Value biasValue = adaptor.getBias()) {
    auto bias = cast<RankedTensorType>(biasValue.getType()); // rank 4 by ODS
    int64_t biasBatch = bias.getDimSize(0);
    if (!(biasBatch == 1 || dimsCompatible(biasBatch, batch)) || !dimsCompatible(bias.getDimSize(1), *numHeads) ||
        !dimsCompatible(bias.getDimSize(2), queryLen) || !dimsCompatible(bias.getDimSize(3), totalLen))
      return rules.fail("bias ", formatShape(bias), " must be [batch or 1, num_heads, query length, key length] = [",
                        formatDim(batch), " or 1, ", *numHeads, ", ", formatDim(queryLen), ", ", formatDim(totalLen),
                        "]");
  }

  results.push_back(withElementType({batch, queryLen, query.getDimSize(2)}, query.getElementType()));
  if (pastKey) {
    Type present = withElementType({batch, totalLen, kvHidden}, key.getElementType());
    results.append({present, present});
  }
  return success();
}

int64_t RelativePositionBiasOp::bucketOf(int64_t relative, int64_t numBuckets, int64_t maxDistance,
                                         bool bidirectional) {
  int64_t bucket = 0, distance;
  if (bidirectional) {
    numBuckets /= 2;
    bucket = relative > 0 ? numBuckets : 0;
    distance = relative < 0 ? -relative : relative;
  } else {
    distance = relative < 0 ? -relative : 0;
  }
  int64_t maxExact = numBuckets / 2;
  if (distance < maxExact)
    return bucket + distance;
  // maxExact + floor(log(distance / maxExact) / log(maxDistance / maxExact) · (numBuckets − maxExact)), in
  // double with a margin so that results that are integers in exact arithmetic stay on them.
  double scaled = std::log(static_cast<double>(distance) / maxExact) /
                  std::log(static_cast<double>(maxDistance) / maxExact) * static_cast<double>(numBuckets - maxExact);
  int64_t large = maxExact + static_cast<int64_t>(std::floor(scaled + 1e-9));
  return bucket + std::min(large, numBuckets - 1);
}

LogicalResult RelativePositionBiasOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                                       SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  // eff_relative_position_bias_c1
  auto table = cast<RankedTensorType>(adaptor.getTable().getType()); // rank 2 by ODS
  int64_t numBuckets = table.getDimSize(0);
  int64_t buckets = adaptor.getBidirectional() ? numBuckets / 2 : numBuckets;
  if (ShapedType::isDynamic(numBuckets) || buckets < 2)
    return rules.fail("table ", formatShape(table), " must have a static number of buckets >= ",
                      adaptor.getBidirectional() ? "4 (bidirectional)" : "2");
  // eff_relative_position_bias_c2
  int64_t maxExact = buckets / 2;
  if (static_cast<int64_t>(adaptor.getMaxDistance()) <= maxExact)
    return rules.fail("max_distance = ", adaptor.getMaxDistance(), " must exceed the ", maxExact,
                      " exact buckets");
  // eff_relative_position_bias_c3
  auto length = [](Value value) {
    APInt constant;
    return value && matchPattern(value, m_ConstantInt(&constant)) ? constant.getSExtValue() : kDynamic;
  };
  results.push_back(withElementType({1, table.getDimSize(1), length(adaptor.getQueryLength()),
                                     length(adaptor.getKeyLength())},
                                    table.getElementType()));
  return success();
}

LogicalResult FfnOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  RankedTensorType up = rules.tensorOfRank(adaptor.getUpWeight(), "up_weight", 2);
  RankedTensorType down = rules.tensorOfRank(adaptor.getDownWeight(), "down_weight", 2);
  if (!input || !up || !down)
    return failure();
  if (input.getRank() < 1)
    return rules.fail("input must have rank >= 1, got a rank-0 tensor");
  if (failed(rules.sameElementType({{"input", adaptor.getInput()},
                                    {"up_weight", adaptor.getUpWeight()},
                                    {"up_bias", adaptor.getUpBias()},
                                    {"gate_weight", adaptor.getGateWeight()},
                                    {"down_weight", adaptor.getDownWeight()},
                                    {"down_bias", adaptor.getDownBias()}})))
    return failure();
  // eff_ffn_c1
  if (!dimsCompatible(up.getDimSize(1), lastDim(input)))
    return rules.fail("up_weight ", formatShape(up), " takes ", formatDim(up.getDimSize(1)),
                      " input features, but input ", formatShape(input), " has ", formatDim(lastDim(input)));
  if (Value gateValue = adaptor.getGateWeight()) {
    RankedTensorType gate = rules.tensorOfRank(gateValue, "gate_weight", 2);
    if (!gate)
      return failure();
    if (failed(verifyCompatibleShape(gate, up)))
      return rules.fail("gate_weight ", formatShape(gate), " must have the shape of up_weight ", formatShape(up));
  }
  // eff_ffn_c2
  int64_t width = up.getDimSize(0);
  if (!dimsCompatible(down.getDimSize(1), width))
    return rules.fail("down_weight ", formatShape(down), " takes ", formatDim(down.getDimSize(1)),
                      " features, but up_weight ", formatShape(up), " produces ", formatDim(width));
  // eff_ffn_c3
  int64_t outDim = down.getDimSize(0);
  if (failed(rules.vectorOfLength(adaptor.getUpBias(), "up_bias", width, "the FFN width")) ||
      failed(rules.vectorOfLength(adaptor.getDownBias(), "down_bias", outDim, "the output features")))
    return failure();
  results.push_back(withLastDim(input, outDim));
  return success();
}

//===----------------------------------------------------------------------===//
// Adapter ops
//===----------------------------------------------------------------------===//

LogicalResult LoraOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType base = rules.tensor(adaptor.getBase(), "base");
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  RankedTensorType a = rules.tensorOfRank(adaptor.getLoraA(), "lora_a", 2);
  RankedTensorType b = rules.tensorOfRank(adaptor.getLoraB(), "lora_b", 2);
  if (!base || !input || !a || !b)
    return failure();
  if (failed(rules.sameElementType({{"base", adaptor.getBase()},
                                    {"input", adaptor.getInput()},
                                    {"lora_a", adaptor.getLoraA()},
                                    {"lora_b", adaptor.getLoraB()}})))
    return failure();
  // eff_lora_c1
  FailureOr<int64_t> rank = positiveInt(rules, adaptor.getRankAttr(), "rank");
  if (failed(rank))
    return failure();
  if (!dimsCompatible(a.getDimSize(0), *rank))
    return rules.fail("lora_a ", formatShape(a), " must have rank = ", *rank, " rows");
  if (!dimsCompatible(b.getDimSize(1), *rank))
    return rules.fail("lora_b ", formatShape(b), " must have rank = ", *rank, " columns");
  // eff_lora_c3
  if (base.getRank() < 1)
    return rules.fail("base must have rank >= 1, got a rank-0 tensor");
  if (base.getRank() != input.getRank() ||
      failed(verifyCompatibleShape(base.getShape().drop_back(), input.getShape().drop_back())))
    return rules.fail("base ", formatShape(base), " and input ", formatShape(input),
                      " must have the same leading dimensions");
  // eff_lora_c2
  if (!dimsCompatible(a.getDimSize(1), lastDim(input)))
    return rules.fail("lora_a ", formatShape(a), " takes ", formatDim(a.getDimSize(1)),
                      " input features, but input ", formatShape(input), " has ", formatDim(lastDim(input)));
  if (!dimsCompatible(b.getDimSize(0), lastDim(base)))
    return rules.fail("lora_b ", formatShape(b), " produces ", formatDim(b.getDimSize(0)),
                      " features, but base ", formatShape(base), " has ", formatDim(lastDim(base)));
  results.push_back(withLastDim(base, mergeDims(lastDim(base), b.getDimSize(0))));
  return success();
}

LogicalResult Ia3Op::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  if (!input)
    return failure();
  if (input.getRank() < 1)
    return rules.fail("input must have rank >= 1, got a rank-0 tensor");
  if (failed(rules.sameElementType({{"input", adaptor.getInput()}, {"scale", adaptor.getScale()}})))
    return failure();
  // eff_ia3_c1
  if (failed(rules.vectorOfLength(adaptor.getScale(), "scale", lastDim(input), "the input's last dimension")))
    return failure();
  results.push_back(input);
  return success();
}

LogicalResult PrefixOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  // eff_prefix_c1
  RankedTensorType key = rules.tensorOfRank(adaptor.getKey(), "key", 3);
  RankedTensorType value = rules.tensorOfRank(adaptor.getValue(), "value", 3);
  RankedTensorType prefixKey = rules.tensorOfRank(adaptor.getPrefixKey(), "prefix_key", 2);
  RankedTensorType prefixValue = rules.tensorOfRank(adaptor.getPrefixValue(), "prefix_value", 2);
  if (!key || !value || !prefixKey || !prefixValue)
    return failure();
  if (failed(rules.sameElementType({{"key", adaptor.getKey()},
                                    {"value", adaptor.getValue()},
                                    {"prefix_key", adaptor.getPrefixKey()},
                                    {"prefix_value", adaptor.getPrefixValue()}})))
    return failure();
  if (failed(verifyCompatibleShape(key, value)))
    return rules.fail("key ", formatShape(key), " and value ", formatShape(value), " must have the same shape");
  if (failed(verifyCompatibleShape(prefixKey, prefixValue)))
    return rules.fail("prefix_key ", formatShape(prefixKey), " and prefix_value ", formatShape(prefixValue),
                      " must have the same shape");
  // eff_prefix_c2
  if (!dimsCompatible(prefixKey.getDimSize(1), key.getDimSize(2)))
    return rules.fail("prefix_key ", formatShape(prefixKey), " must have the key's ", formatDim(key.getDimSize(2)),
                      " channels");
  Type result = withElementType({key.getDimSize(0), addDims(prefixKey.getDimSize(0), key.getDimSize(1)),
                                 mergeDims(key.getDimSize(2), prefixKey.getDimSize(1))},
                                key.getElementType());
  results.append({result, result});
  return success();
}

LogicalResult PromptOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  // eff_prompt_c1
  RankedTensorType embeds = rules.tensorOfRank(adaptor.getEmbeds(), "embeds", 3);
  RankedTensorType prompt = rules.tensorOfRank(adaptor.getPrompt(), "prompt", 2);
  if (!embeds || !prompt)
    return failure();
  if (failed(rules.sameElementType({{"embeds", adaptor.getEmbeds()}, {"prompt", adaptor.getPrompt()}})))
    return failure();
  if (!dimsCompatible(prompt.getDimSize(1), embeds.getDimSize(2)))
    return rules.fail("prompt ", formatShape(prompt), " must have the embeddings' ",
                      formatDim(embeds.getDimSize(2)), " channels");
  results.push_back(withElementType({embeds.getDimSize(0), addDims(prompt.getDimSize(0), embeds.getDimSize(1)),
                                     mergeDims(embeds.getDimSize(2), prompt.getDimSize(1))},
                                    embeds.getElementType()));
  return success();
}

LogicalResult BottleneckAdapterOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                                    SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  RankedTensorType down = rules.tensorOfRank(adaptor.getDownWeight(), "down_weight", 2);
  RankedTensorType up = rules.tensorOfRank(adaptor.getUpWeight(), "up_weight", 2);
  if (!input || !down || !up)
    return failure();
  if (input.getRank() < 1)
    return rules.fail("input must have rank >= 1, got a rank-0 tensor");
  if (failed(rules.sameElementType({{"input", adaptor.getInput()},
                                    {"down_weight", adaptor.getDownWeight()},
                                    {"down_bias", adaptor.getDownBias()},
                                    {"up_weight", adaptor.getUpWeight()},
                                    {"up_bias", adaptor.getUpBias()}})))
    return failure();
  // eff_bottleneck_adapter_c1
  int64_t d = lastDim(input), r = down.getDimSize(0);
  if (!dimsCompatible(down.getDimSize(1), d))
    return rules.fail("down_weight ", formatShape(down), " takes ", formatDim(down.getDimSize(1)),
                      " features, but input ", formatShape(input), " has ", formatDim(d));
  if (!dimsCompatible(up.getDimSize(0), d) || !dimsCompatible(up.getDimSize(1), r))
    return rules.fail("up_weight ", formatShape(up), " must be [", formatDim(d), ", ", formatDim(r),
                      "] to return to the input's width");
  // eff_bottleneck_adapter_c2
  if (failed(rules.vectorOfLength(adaptor.getDownBias(), "down_bias", r, "the bottleneck width")) ||
      failed(rules.vectorOfLength(adaptor.getUpBias(), "up_bias", d, "the input's last dimension")))
    return failure();
  results.push_back(input);
  return success();
}

//===----------------------------------------------------------------------===//
// Mixture-of-Experts ops
//===----------------------------------------------------------------------===//

LogicalResult RouterOp::inferReturnTypes(MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  RankedTensorType weight = rules.tensorOfRank(adaptor.getWeight(), "weight", 2);
  if (!input || !weight)
    return failure();
  if (input.getRank() < 1)
    return rules.fail("input must have rank >= 1, got a rank-0 tensor");
  if (failed(rules.sameElementType({{"input", adaptor.getInput()}, {"weight", adaptor.getWeight()}})))
    return failure();
  // eff_router_c1
  if (!dimsCompatible(weight.getDimSize(1), lastDim(input)))
    return rules.fail("weight ", formatShape(weight), " takes ", formatDim(weight.getDimSize(1)),
                      " features, but input ", formatShape(input), " has ", formatDim(lastDim(input)));
  // eff_router_c2
  FailureOr<int64_t> topK = positiveInt(rules, adaptor.getTopKAttr(), "top_k");
  if (failed(topK))
    return failure();
  int64_t numExperts = weight.getDimSize(0);
  if (!ShapedType::isDynamic(numExperts) && *topK > numExperts)
    return rules.fail("top_k = ", *topK, " exceeds the number of experts ", numExperts);
  // eff_router_c3
  if (FloatAttr cf = adaptor.getCapacityFactorAttr(); cf && !(cf.getValueAsDouble() > 0.0))
    return rules.fail("capacity_factor must be > 0, got ", cf.getValueAsDouble());
  RankedTensorType weights = withLastDim(input, *topK);
  results.push_back(weights);
  results.push_back(withElementType(weights.getShape(), IntegerType::get(context, 64)));
  return success();
}

LogicalResult ExpertsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  RankedTensorType weights = rules.tensor(adaptor.getRoutingWeights(), "routing_weights");
  RankedTensorType indices = rules.tensor(adaptor.getRoutingIndices(), "routing_indices");
  RankedTensorType up = rules.tensorOfRank(adaptor.getUpWeight(), "up_weight", 3);
  RankedTensorType down = rules.tensorOfRank(adaptor.getDownWeight(), "down_weight", 3);
  if (!input || !weights || !indices || !up || !down)
    return failure();
  if (input.getRank() < 1)
    return rules.fail("input must have rank >= 1, got a rank-0 tensor");
  if (failed(rules.sameElementType({{"input", adaptor.getInput()},
                                    {"routing_weights", adaptor.getRoutingWeights()},
                                    {"up_weight", adaptor.getUpWeight()},
                                    {"up_bias", adaptor.getUpBias()},
                                    {"gate_weight", adaptor.getGateWeight()},
                                    {"down_weight", adaptor.getDownWeight()},
                                    {"down_bias", adaptor.getDownBias()}})))
    return failure();
  // eff_experts_c1
  auto routedShapeMatches = [&](RankedTensorType routed) {
    return routed.getRank() == input.getRank() &&
           succeeded(verifyCompatibleShape(routed.getShape().drop_back(), input.getShape().drop_back()));
  };
  if (!routedShapeMatches(weights) || !routedShapeMatches(indices) ||
      failed(verifyCompatibleShape(weights.getShape(), indices.getShape())))
    return rules.fail("routing_weights ", formatShape(weights), " and routing_indices ", formatShape(indices),
                      " must both be [tokens..., k] for input ", formatShape(input));
  // eff_experts_c2
  int64_t numExperts = up.getDimSize(0), width = up.getDimSize(1), d = lastDim(input);
  if (!dimsCompatible(up.getDimSize(2), d))
    return rules.fail("up_weight ", formatShape(up), " takes ", formatDim(up.getDimSize(2)),
                      " features, but input ", formatShape(input), " has ", formatDim(d));
  if (Value gateValue = adaptor.getGateWeight()) {
    RankedTensorType gate = rules.tensorOfRank(gateValue, "gate_weight", 3);
    if (!gate)
      return failure();
    if (failed(verifyCompatibleShape(gate, up)))
      return rules.fail("gate_weight ", formatShape(gate), " must have the shape of up_weight ", formatShape(up));
  }
  // eff_experts_c3
  if (!dimsCompatible(down.getDimSize(0), numExperts) || !dimsCompatible(down.getDimSize(1), d) ||
      !dimsCompatible(down.getDimSize(2), width))
    return rules.fail("down_weight ", formatShape(down), " must be [experts, hidden, width] = [",
                      formatDim(numExperts), ", ", formatDim(d), ", ", formatDim(width), "]");
  // eff_experts_c4
  auto checkBias = [&](Value bias, StringRef name, int64_t dim) -> LogicalResult {
    if (!bias)
      return success();
    RankedTensorType type = rules.tensorOfRank(bias, name, 2);
    if (!type)
      return failure();
    if (!dimsCompatible(type.getDimSize(0), numExperts) || !dimsCompatible(type.getDimSize(1), dim))
      return rules.fail(name, " ", formatShape(type), " must be [", formatDim(numExperts), ", ", formatDim(dim), "]");
    return success();
  };
  if (failed(checkBias(adaptor.getUpBias(), "up_bias", width)) ||
      failed(checkBias(adaptor.getDownBias(), "down_bias", d)))
    return failure();
  results.push_back(input);
  return success();
}

LogicalResult ResidualMoeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                              SmallVectorImpl<Type> &results) {
  ShapeRules rules(loc, getOperationName());
  RankedTensorType input = rules.tensor(adaptor.getInput(), "input");
  RankedTensorType dense = rules.tensor(adaptor.getDense(), "dense");
  RankedTensorType experts = rules.tensor(adaptor.getExperts(), "experts");
  RankedTensorType coefficient = rules.tensorOfRank(adaptor.getCoefficientWeight(), "coefficient_weight", 2);
  if (!input || !dense || !experts || !coefficient)
    return failure();
  if (input.getRank() < 1)
    return rules.fail("input must have rank >= 1, got a rank-0 tensor");
  if (failed(rules.sameElementType({{"input", adaptor.getInput()},
                                    {"dense", adaptor.getDense()},
                                    {"experts", adaptor.getExperts()},
                                    {"coefficient_weight", adaptor.getCoefficientWeight()},
                                    {"coefficient_bias", adaptor.getCoefficientBias()}})))
    return failure();
  // eff_residual_moe_c1
  if (failed(verifyCompatibleShape(dense, input)) || failed(verifyCompatibleShape(experts, input)))
    return rules.fail("dense ", formatShape(dense), " and experts ", formatShape(experts),
                      " must have the input's shape ", formatShape(input));
  // eff_residual_moe_c2
  if (!dimsCompatible(coefficient.getDimSize(0), 2) || !dimsCompatible(coefficient.getDimSize(1), lastDim(input)))
    return rules.fail("coefficient_weight ", formatShape(coefficient), " must be [2, ", formatDim(lastDim(input)), "]");
  if (failed(rules.vectorOfLength(adaptor.getCoefficientBias(), "coefficient_bias", 2, "one per branch")))
    return failure();
  SmallVector<int64_t> shape(input.getShape());
  for (auto [i, dim] : llvm::enumerate(shape))
    dim = mergeDims(dim, mergeDims(dense.getDimSize(i), experts.getDimSize(i)));
  results.push_back(withElementType(shape, input.getElementType()));
  return success();
}
