//===- EffQuantizedOps.cpp - shape rules of eff.quantized_linear ----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Result types and verification of eff.quantized_linear (which side operands and attributes each scheme
// takes, and the exact lengths of the packed operands: docs/spec/eff.md#effquantized_linear, constraints
// eff_quantized_linear_c1..c6) and of eff.quantized_experts (eff_quantized_experts_c1..c5).
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::eff;

namespace {

/// Reports "'<op>' op <message>" at `loc` (silently fails without a location).
struct Diagnoser {
  std::optional<Location> loc;
  StringRef opName = "eff.quantized_linear";
  template <typename... Args>
  LogicalResult fail(const Args &...args) const {
    if (loc) {
      InFlightDiagnostic diag = emitError(*loc) << "'" << opName << "' op ";
      (diag << ... << args);
    }
    return failure();
  }
};

int64_t lengthOf(Value value) { return cast<RankedTensorType>(value.getType()).getDimSize(0); }

/// Requires `value` to be present (or absent) as the scheme says, and of length `expected` when present.
LogicalResult checkOperand(const Diagnoser &d, Value value, StringRef name, bool required, bool allowed,
                           int64_t expected, StringRef scheme) {
  if (!value) {
    if (required)
      return d.fail("scheme ", scheme, " requires operand '", name, "'");
    return success();
  }
  if (!allowed)
    return d.fail("scheme ", scheme, " takes no operand '", name, "'");
  int64_t length = lengthOf(value);
  if (!ShapedType::isDynamic(length) && length != expected)
    return d.fail(name, " has ", length, " elements, but scheme ", scheme, " with these features needs ",
                  expected);
  return success();
}

} // namespace

/// The largest in_features, out_features, hidden or intermediate size: products of two such extents (the
/// packed lengths) stay within int64_t.
constexpr int64_t kMaxQuantizedExtent = (int64_t{1} << 30) - 1;

LogicalResult QuantizedLinearOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,
                                                  SmallVectorImpl<Type> &results) {
  Diagnoser d{loc};
  auto input = cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t k = adaptor.getInFeatures(), n = adaptor.getOutFeatures();
  // eff_quantized_linear_c1
  if (k < 1 || n < 1)
    return d.fail("in_features and out_features must be >= 1, got ", k, " and ", n);
  if (k > kMaxQuantizedExtent || n > kMaxQuantizedExtent)
    return d.fail("in_features and out_features must be at most 2^30 - 1, got ", k, " and ", n);
  if (input.getRank() < 1)
    return d.fail("input must have rank >= 1, got a rank-0 tensor");
  int64_t inputK = input.getDimSize(input.getRank() - 1);
  if (!ShapedType::isDynamic(inputK) && inputK != k)
    return d.fail("input has ", inputK, " features, but in_features is ", k);

  QuantScheme scheme = adaptor.getScheme();
  StringRef name = stringifyQuantScheme(scheme);
  int64_t np = (n + 15) / 16 * 16;
  std::optional<int64_t> group = adaptor.getGroupSize(), bits = adaptor.getBits();
  bool grouped = scheme == QuantScheme::int4 || scheme == QuantScheme::lut;
  // eff_quantized_linear_c2
  if (grouped && !group)
    return d.fail("scheme ", name, " requires attribute 'group_size'");
  if (!grouped && group)
    return d.fail("scheme ", name, " takes no attribute 'group_size'");
  if ((scheme == QuantScheme::lut) != bits.has_value())
    return d.fail(bits ? "only scheme lut takes attribute 'bits'" : "scheme lut requires attribute 'bits'");
  if ((adaptor.getInputScale() || adaptor.getInputZeroPoint()) && scheme != QuantScheme::int8)
    return d.fail("only scheme int8 takes static activation attributes 'input_scale' and 'input_zero_point'");
  if (adaptor.getInputScale().has_value() != adaptor.getInputZeroPoint().has_value())
    return d.fail("'input_scale' and 'input_zero_point' go together");
  if (auto scale = adaptor.getInputScale(); scale && !(scale->convertToFloat() > 0.0f))
    return d.fail("input_scale must be > 0");
  if (auto zero = adaptor.getInputZeroPoint(); zero && (*zero < 0 || *zero > 255))
    return d.fail("input_zero_point must be in [0, 255], got ", *zero);
  // eff_quantized_linear_c3
  if (group) {
    int64_t multiple = scheme == QuantScheme::lut ? 8 : 2;
    if (*group < multiple || *group % multiple != 0)
      return d.fail("group_size must be a positive multiple of ", multiple, " for scheme ", name, ", got ", *group);
    if (k % *group != 0)
      return d.fail("group_size ", *group, " does not divide in_features ", k);
  }
  if (bits && (*bits < 1 || *bits > 4))
    return d.fail("bits must be in [1, 4], got ", *bits);

  // eff_quantized_linear_c4: the packed weight's element type and length.
  Type packedElement = cast<RankedTensorType>(adaptor.getPacked().getType()).getElementType();
  Type expectedElement = scheme == QuantScheme::bf16 ? Type(BFloat16Type::get(ctx)) : IntegerType::get(ctx, 8);
  if (packedElement != expectedElement)
    return d.fail("packed weight of scheme ", name, " must have element type ", expectedElement, ", got ",
                  packedElement);
  int64_t packedLength = 0, scaleLength = 0;
  switch (scheme) {
  case QuantScheme::int8:
    packedLength = np * ((k + 3) / 4 * 4);
    scaleLength = np;
    break;
  case QuantScheme::int4:
    packedLength = np * k / 2;
    scaleLength = np * (k / *group);
    break;
  case QuantScheme::lut:
    packedLength = np * *bits * k / 8;
    scaleLength = np * (k / *group) * *bits;
    break;
  case QuantScheme::bf16:
    packedLength = np * ((k + 1) / 2 * 2);
    break;
  }
  if (failed(checkOperand(d, adaptor.getPacked(), "packed", true, true, packedLength, name)))
    return failure();
  // eff_quantized_linear_c5: side operands by scheme.
  bool scaled = scheme != QuantScheme::bf16;
  if (failed(checkOperand(d, adaptor.getScales(), "scales", scaled, scaled, scaleLength, name)) ||
      failed(checkOperand(d, adaptor.getZeroPoints(), "zero_points", false, scheme == QuantScheme::int4,
                          scaleLength, name)) ||
      failed(checkOperand(d, adaptor.getColumnSums(), "column_sums", scheme == QuantScheme::int8,
                          scheme == QuantScheme::int8, np, name)))
    return failure();
  // eff_quantized_linear_c6
  if (Value bias = adaptor.getBias()) {
    int64_t length = lengthOf(bias);
    if (!ShapedType::isDynamic(length) && length != n)
      return d.fail("bias has ", length, " elements, but out_features is ", n);
  }
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = n;
  results.push_back(RankedTensorType::get(shape, Float32Type::get(ctx)));
  return success();
}

//===----------------------------------------------------------------------===//
// eff.quantized_experts
//===----------------------------------------------------------------------===//

namespace {

int64_t roundUpTo(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

std::string formatShapeOf(Value value) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      cast<ShapedType>(value.getType()).getShape(), os,
      [&](int64_t dim) { ShapedType::isDynamic(dim) ? os << "?" : os << dim; }, ", ");
  return text + "]";
}

/// Requires `value` (2-D) to be [experts, columns] where static.
LogicalResult checkExpertRows(const Diagnoser &d, Value value, StringRef name, int64_t experts, int64_t columns) {
  auto shape = cast<ShapedType>(value.getType()).getShape();
  bool ok = (ShapedType::isDynamic(shape[0]) || ShapedType::isDynamic(experts) || shape[0] == experts) &&
            (ShapedType::isDynamic(shape[1]) || shape[1] == columns);
  if (!ok)
    return d.fail(name, " ", formatShapeOf(value), " must be [", experts, ", ", columns, "]");
  return success();
}

} // namespace

LogicalResult QuantizedExpertsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                                   SmallVectorImpl<Type> &results) {
  Diagnoser d{loc, "eff.quantized_experts"};
  auto input = cast<RankedTensorType>(adaptor.getInput().getType());
  auto weights = cast<RankedTensorType>(adaptor.getRoutingWeights().getType());
  auto indices = cast<RankedTensorType>(adaptor.getRoutingIndices().getType());
  // eff_quantized_experts_c1
  QuantScheme scheme = adaptor.getScheme();
  if (scheme != QuantScheme::int8 && scheme != QuantScheme::int4)
    return d.fail("scheme ", stringifyQuantScheme(scheme), " is not supported for experts (int8 and int4 are)");
  std::optional<int64_t> group;
  if (IntegerAttr groupAttr = adaptor.getGroupSizeAttr())
    group = groupAttr.getInt();
  if (scheme == QuantScheme::int8 && group)
    return d.fail("group_size is for int4 experts only");
  if (scheme == QuantScheme::int4 && !group)
    return d.fail("int4 experts need a group_size");
  // eff_quantized_experts_c2
  if (input.getRank() < 1)
    return d.fail("input must have rank >= 1, got a rank-0 tensor");
  int64_t hidden = input.getDimSize(input.getRank() - 1), width = adaptor.getIntermediateSize();
  if (ShapedType::isDynamic(hidden))
    return d.fail("input must have a static last dimension (the experts' hidden size)");
  if (width < 1)
    return d.fail("intermediate_size must be >= 1, got ", width);
  if (hidden > kMaxQuantizedExtent || width > kMaxQuantizedExtent)
    return d.fail("the hidden and intermediate sizes must be at most 2^30 - 1, got ", hidden, " and ", width);
  if (group && (*group < 2 || *group % 2 != 0 || hidden % *group != 0 || width % *group != 0))
    return d.fail("group_size ", *group, " must be even and divide both the hidden size ", hidden,
                  " and intermediate_size ", width);
  auto routedShapeMatches = [&](RankedTensorType routed) {
    return routed.getRank() == input.getRank() &&
           succeeded(verifyCompatibleShape(routed.getShape().drop_back(), input.getShape().drop_back()));
  };
  if (!routedShapeMatches(weights) || !routedShapeMatches(indices) ||
      failed(verifyCompatibleShape(weights.getShape(), indices.getShape())))
    return d.fail("routing_weights ", formatShapeOf(adaptor.getRoutingWeights()), " and routing_indices ",
                  formatShapeOf(adaptor.getRoutingIndices()), " must both be [tokens..., k] for input ",
                  formatShapeOf(adaptor.getInput()));
  // eff_quantized_experts_c3: up and gate, [F, D] per expert; int8 with column sums, int4 with zero points on
  // every projection or on none.
  int64_t experts = cast<ShapedType>(adaptor.getUpPacked().getType()).getDimSize(0);
  int64_t upRows = roundUpTo(width, 16), downRows = roundUpTo(hidden, 16);
  bool asymmetric = static_cast<bool>(adaptor.getUpZeroPoints());
  auto checkProjection = [&](Value packed, Value scales, Value sums, Value zeros, StringRef name, int64_t rows,
                             int64_t k) -> LogicalResult {
    std::string prefix = name.str() + "_";
    if (scheme == QuantScheme::int8) {
      if (!sums)
        return d.fail(prefix, "column_sums are required for int8 experts");
      if (zeros)
        return d.fail(prefix, "zero_points are for int4 experts only");
      if (failed(checkExpertRows(d, packed, prefix + "packed", experts, rows * roundUpTo(k, 4))) ||
          failed(checkExpertRows(d, scales, prefix + "scales", experts, rows)) ||
          failed(checkExpertRows(d, sums, prefix + "column_sums", experts, rows)))
        return failure();
      return success();
    }
    if (sums)
      return d.fail(prefix, "column_sums are for int8 experts only");
    if (static_cast<bool>(zeros) != asymmetric)
      return d.fail(prefix, "zero_points must be given for every projection or for none");
    if (failed(checkExpertRows(d, packed, prefix + "packed", experts, rows * k / 2)) ||
        failed(checkExpertRows(d, scales, prefix + "scales", experts, rows * k / *group)) ||
        (zeros && failed(checkExpertRows(d, zeros, prefix + "zero_points", experts, rows * k / *group))))
      return failure();
    return success();
  };
  if (failed(checkProjection(adaptor.getUpPacked(), adaptor.getUpScales(), adaptor.getUpColumnSums(),
                             adaptor.getUpZeroPoints(), "up", upRows, hidden)))
    return failure();
  Value gate = adaptor.getGatePacked(), gateScales = adaptor.getGateScales();
  if (!gate || !gateScales) {
    if (gate || gateScales || adaptor.getGateColumnSums() || adaptor.getGateZeroPoints())
      return d.fail("gate_packed and gate_scales go together (with their column sums or zero points)");
  } else if (failed(checkProjection(gate, gateScales, adaptor.getGateColumnSums(), adaptor.getGateZeroPoints(),
                                    "gate", upRows, hidden))) {
    return failure();
  }
  // eff_quantized_experts_c4: down, [D, F] per expert.
  if (failed(checkProjection(adaptor.getDownPacked(), adaptor.getDownScales(), adaptor.getDownColumnSums(),
                             adaptor.getDownZeroPoints(), "down", downRows, width)))
    return failure();
  // eff_quantized_experts_c5
  if (Value bias = adaptor.getUpBias(); bias && failed(checkExpertRows(d, bias, "up_bias", experts, width)))
    return failure();
  if (Value bias = adaptor.getDownBias(); bias && failed(checkExpertRows(d, bias, "down_bias", experts, hidden)))
    return failure();
  results.push_back(input);
  return success();
}
