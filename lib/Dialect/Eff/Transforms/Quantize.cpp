//===- Quantize.cpp - eff-quantize: pack constant linear weights ----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-quantize: quantizes the f32 constant weights of eff.linear and eff.ffn and packs them into
// eff.quantized_linear operands in exactly the layouts ukernels/quantized_gemm.c reads (tabled in
// docs/spec/eff.md#effquantized_linear; test/e2e/quantization_model.py is the independent numpy model).
// Under int8 the stacked weights of eff.experts are packed the same way, expert by expert, into the rows of
// an eff.quantized_experts.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/CalibrationProbes.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"

#include <array>
#include <cmath>
#include <cstring>
#include <numeric>

namespace mlir::eff {
#define GEN_PASS_DEF_EFFQUANTIZEPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr int64_t kDefaultGroup = 128;
constexpr int kLutIterations = 4; // alternating least squares rounds after the greedy fit

/// A parsed `scheme` option.
struct SchemeSpec {
  QuantScheme scheme = QuantScheme::int8;
  int64_t group = 0;          // int4 / lut
  bool explicitGroup = false; // false: the default, adapted to each layer (defaultGroup)
  int64_t bits = 0;           // lut
  bool symmetric = true;
  bool staticActivations = false; // int8
};

/// The group of a layer with `k` input features when the scheme gives none: the largest multiple of 8 up to
/// kDefaultGroup that divides k (k itself for small layers), or 0 if there is none.
int64_t defaultGroup(int64_t k) {
  for (int64_t group = kDefaultGroup; group >= 8; group -= 8)
    if (k % group == 0)
      return group;
  return 0;
}

/// Parses int8[:static|:dynamic] | int4[:gG][:asym] | lut:B[:gG] | bf16, or returns an error message.
FailureOr<SchemeSpec> parseScheme(StringRef text, bool symmetric, bool staticActivations, std::string &error) {
  SmallVector<StringRef> parts;
  text.split(parts, ':');
  SchemeSpec spec;
  spec.symmetric = symmetric;
  spec.staticActivations = staticActivations;
  auto parseGroup = [&](StringRef part) {
    if (!part.consume_front("g") || part.getAsInteger(10, spec.group) || spec.group < 1) {
      error = ("malformed group '" + part + "' in scheme '" + text + "' (expected gGROUP, e.g. g128)").str();
      return false;
    }
    spec.explicitGroup = true;
    return true;
  };
  if (parts[0] == "int8" && parts.size() == 2 && (parts[1] == "static" || parts[1] == "dynamic")) {
    // The spelling effc's --quantize flag can express: int8:static selects activations=static.
    spec.staticActivations = parts[1] == "static";
    return spec;
  }
  if (parts[0] == "int8" || parts[0] == "bf16") {
    spec.scheme = parts[0] == "int8" ? QuantScheme::int8 : QuantScheme::bf16;
    if (parts.size() != 1) {
      error = ("scheme " + parts[0] + " takes no parameters, got '" + text + "'").str();
      return failure();
    }
    return spec;
  }
  if (parts[0] == "int4") {
    spec.scheme = QuantScheme::int4;
    spec.group = kDefaultGroup;
    for (StringRef part : ArrayRef(parts).drop_front()) {
      if (part == "asym")
        spec.symmetric = false;
      else if (part == "sym")
        spec.symmetric = true;
      else if (!parseGroup(part))
        return failure();
    }
    if (spec.group % 2 != 0) {
      error = ("int4 group size must be even, got " + Twine(spec.group)).str();
      return failure();
    }
    return spec;
  }
  if (parts[0] == "lut") {
    spec.scheme = QuantScheme::lut;
    spec.group = kDefaultGroup;
    if (parts.size() < 2 || parts[1].getAsInteger(10, spec.bits) || spec.bits < 1 || spec.bits > 4) {
      error = ("lut needs a number of bits in [1, 4] (lut:BITS), got '" + text + "'").str();
      return failure();
    }
    if (parts.size() > 3) {
      error = ("malformed scheme '" + text + "' (expected lut:BITS[:gGROUP])").str();
      return failure();
    }
    if (parts.size() == 3 && !parseGroup(parts[2]))
      return failure();
    if (spec.group % 8 != 0) {
      error = ("lut group size must be a multiple of 8, got " + Twine(spec.group)).str();
      return failure();
    }
    return spec;
  }
  error = ("unknown quantization scheme '" + text +
           "' (expected int8[:static], int4[:gGROUP][:asym], lut:BITS[:gGROUP] or bf16)")
              .str();
  return failure();
}

//===----------------------------------------------------------------------===//
// Packing (the layouts of docs/spec/eff.md#effquantized_linear)
//===----------------------------------------------------------------------===//

int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/// The f32 values of a constant weight [N, K], or nothing if `weight` is not an f32 constant.
std::optional<std::vector<float>> constantValues(Value weight) {
  auto constant = weight.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(weight.getType());
  if (!constant || !type || !type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != static_cast<size_t>(type.getNumElements()) * 4)
      return std::nullopt;
    std::vector<float> values(type.getNumElements());
    std::memcpy(values.data(), blob->getData().data(), values.size() * 4);
    return values;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    auto range = dense.getValues<float>();
    return std::vector<float>(range.begin(), range.end());
  }
  return std::nullopt;
}

/// The i8 values of a constant (N:M indices), or nothing if `value` is not an i8 constant.
std::optional<std::vector<int8_t>> constantInt8(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!constant || !type || !type.getElementType().isInteger(8) || !type.hasStaticShape())
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != static_cast<size_t>(type.getNumElements()))
      return std::nullopt;
    return std::vector<int8_t>(blob->getData().begin(), blob->getData().end());
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    auto range = dense.getValues<int8_t>();
    return std::vector<int8_t>(range.begin(), range.end());
  }
  return std::nullopt;
}

/// The name a weight constant is known by (its dense_resource key), or "" for inline constants.
std::string weightName(Value weight) {
  if (auto constant = weight.getDefiningOp<arith::ConstantOp>())
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
      return resource.getRawHandle().getKey().str();
  return "";
}

float roundEven(float v) { return std::nearbyint(v); }

struct Packed {
  std::vector<int8_t> bytes;       // int8 / int4 / lut
  std::vector<uint16_t> bf16;      // bf16
  std::vector<float> scales, zeroPoints;
  std::vector<int32_t> columnSums;
};

Packed packInt8(const std::vector<float> &w, int64_t n, int64_t k) {
  int64_t np = roundUp(n, 16), kp = roundUp(k, 4);
  Packed p;
  p.bytes.assign(np * kp, 0);
  p.scales.assign(np, 1.0f);
  p.columnSums.assign(np, 0);
  for (int64_t row = 0; row < n; ++row) {
    float amax = 0.0f;
    for (int64_t c = 0; c < k; ++c)
      amax = std::max(amax, std::fabs(w[row * k + c]));
    float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
    p.scales[row] = scale;
    for (int64_t c = 0; c < k; ++c) {
      float q = std::min(127.0f, std::max(-127.0f, roundEven(w[row * k + c] / scale)));
      // [Np/16][Kp/4][16][4]
      p.bytes[((row / 16) * (kp / 4) + c / 4) * 64 + (row % 16) * 4 + c % 4] = static_cast<int8_t>(q);
      p.columnSums[row] += static_cast<int32_t>(q);
    }
  }
  return p;
}

Packed packInt4(const std::vector<float> &w, int64_t n, int64_t k, int64_t group, bool symmetric) {
  int64_t np = roundUp(n, 16), groups = k / group;
  Packed p;
  p.bytes.assign(np * k / 2, 0);
  p.scales.assign(np * groups, 0.0f);
  if (!symmetric)
    p.zeroPoints.assign(np * groups, 0.0f);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t g = 0; g < groups; ++g) {
      const float *v = &w[row * k + g * group];
      float scale, zero;
      if (symmetric) {
        float amax = 0.0f;
        for (int64_t i = 0; i < group; ++i)
          amax = std::max(amax, std::fabs(v[i]));
        scale = amax > 0.0f ? amax / 7.0f : 1.0f;
        zero = 8.0f;
      } else {
        float lo = v[0], hi = v[0];
        for (int64_t i = 0; i < group; ++i)
          lo = std::min(lo, v[i]), hi = std::max(hi, v[i]);
        scale = hi > lo ? (hi - lo) / 15.0f : 1.0f;
        zero = std::min(15.0f, std::max(0.0f, roundEven(-lo / scale)));
      }
      size_t at = ((row / 16) * groups + g) * 16 + row % 16; // [Np/16][K/G][16]
      p.scales[at] = scale;
      if (!symmetric)
        p.zeroPoints[at] = zero;
      for (int64_t i = 0; i < group; ++i) {
        float q = symmetric ? std::min(7.0f, std::max(-8.0f, roundEven(v[i] / scale))) + 8.0f
                            : std::min(15.0f, std::max(0.0f, roundEven(v[i] / scale) + zero));
        int64_t c = g * group + i;
        // [Np/16][K/2][16], w[k] in the low nibble, w[k+1] in the high one.
        int8_t &byte = p.bytes[((row / 16) * (k / 2) + c / 2) * 16 + row % 16];
        byte = static_cast<int8_t>(static_cast<uint8_t>(byte) | (static_cast<uint8_t>(q) << (4 * (c % 2))));
      }
    }
  return p;
}

/// Solves the q x q system a·x = b (q <= 4) by Gaussian elimination with partial pivoting; false if singular.
bool solveSmall(double a[4][4], double b[4], int q) {
  double det = 1.0;
  for (int col = 0; col < q; ++col) {
    int pivot = col;
    for (int r = col + 1; r < q; ++r)
      if (std::fabs(a[r][col]) > std::fabs(a[pivot][col]))
        pivot = r;
    if (pivot != col) {
      std::swap(a[pivot], a[col]);
      std::swap(b[pivot], b[col]);
      det = -det;
    }
    det *= a[col][col];
    if (a[col][col] == 0.0)
      return false;
    for (int r = col + 1; r < q; ++r) {
      double f = a[r][col] / a[col][col];
      for (int c = col; c < q; ++c)
        a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  if (std::fabs(det) <= 1e-9)
    return false;
  for (int r = q - 1; r >= 0; --r) {
    for (int c = r + 1; c < q; ++c)
      b[r] -= a[r][c] * b[c];
    b[r] /= a[r][r];
  }
  return true;
}

/// Binary-coding fit of one group: greedy residual signs, then alternating least squares (α by the
/// normal equations, then each weight's signs as the nearest of the 2^q sums Σ α_i·(±1)).
void fitBinaryCoding(const float *w, int64_t size, int q, std::vector<uint8_t> &plus /*[q][size]*/,
                     double alpha[4]) {
  std::vector<double> residual(w, w + size);
  for (int i = 0; i < q; ++i) {
    double mean = 0.0;
    for (double r : residual)
      mean += std::fabs(r);
    alpha[i] = mean / size;
    for (int64_t e = 0; e < size; ++e) {
      plus[i * size + e] = residual[e] >= 0.0;
      residual[e] -= plus[i * size + e] ? alpha[i] : -alpha[i];
    }
  }
  for (int it = 0; it < kLutIterations; ++it) {
    double gram[4][4] = {}, rhs[4] = {};
    for (int64_t e = 0; e < size; ++e)
      for (int i = 0; i < q; ++i) {
        double si = plus[i * size + e] ? 1.0 : -1.0;
        rhs[i] += si * w[e];
        for (int j = 0; j < q; ++j)
          gram[i][j] += si * (plus[j * size + e] ? 1.0 : -1.0);
      }
    if (solveSmall(gram, rhs, q))
      std::copy(rhs, rhs + q, alpha);
    double values[16];
    for (int c = 0; c < (1 << q); ++c) {
      values[c] = 0.0;
      for (int i = 0; i < q; ++i)
        values[c] += ((c >> i) & 1) ? alpha[i] : -alpha[i];
    }
    for (int64_t e = 0; e < size; ++e) {
      int best = 0;
      for (int c = 1; c < (1 << q); ++c)
        if (std::fabs(w[e] - values[c]) < std::fabs(w[e] - values[best]))
          best = c;
      for (int i = 0; i < q; ++i)
        plus[i * size + e] = (best >> i) & 1;
    }
  }
}

Packed packLut(const std::vector<float> &w, int64_t n, int64_t k, int64_t group, int q) {
  int64_t np = roundUp(n, 16), groups = k / group;
  Packed p;
  p.bytes.assign(np * q * k / 8, 0);
  p.scales.assign(np * groups * q, 0.0f);
  std::vector<uint8_t> plus(q * group);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t g = 0; g < groups; ++g) {
      double alpha[4];
      fitBinaryCoding(&w[row * k + g * group], group, q, plus, alpha);
      for (int i = 0; i < q; ++i) {
        p.scales[(((row / 16) * groups + g) * q + i) * 16 + row % 16] = static_cast<float>(alpha[i]);
        for (int64_t e = 0; e < group; ++e) {
          if (!plus[i * group + e])
            continue;
          int64_t c = g * group + e, chunk = c / 4;
          // [Np/16][q][K/8][16]: 4-sign pattern of chunk 2j in the low nibble, of chunk 2j+1 in the high one.
          int8_t &byte = p.bytes[(((row / 16) * q + i) * (k / 8) + chunk / 2) * 16 + row % 16];
          byte = static_cast<int8_t>(static_cast<uint8_t>(byte) | (1u << (4 * (chunk % 2) + c % 4)));
        }
      }
    }
  return p;
}

uint16_t toBf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if ((bits & 0x7f800000u) != 0x7f800000u)
    bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

Packed packBf16(const std::vector<float> &w, int64_t n, int64_t k) {
  int64_t np = roundUp(n, 16), kp = roundUp(k, 2);
  Packed p;
  p.bf16.assign(np * kp, 0);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t c = 0; c < k; ++c) // [Np/16][Kp/2][16][2]
      p.bf16[((row / 16) * (kp / 2) + c / 2) * 32 + (row % 16) * 2 + c % 2] = toBf16(w[row * k + c]);
  return p;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Constants up to this many elements stay inline (readable in tests); larger ones become blobs.
constexpr size_t kInlineLimit = 256;

/// A constant of `shape` (default: flat) holding `values`.
template <typename T>
Value createConstant(OpBuilder &b, Location loc, Type elementType, ArrayRef<T> values, StringRef name,
                     ArrayRef<int64_t> shape = {}) {
  SmallVector<int64_t> dims(shape);
  if (dims.empty())
    dims.push_back(static_cast<int64_t>(values.size()));
  auto type = RankedTensorType::get(dims, elementType);
  ArrayRef<char> raw(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T));
  TypedAttr attr;
  if (values.size() <= kInlineLimit)
    attr = DenseElementsAttr::getFromRawBuffer(type, raw);
  else
    attr = DenseResourceElementsAttr::get(type, name, HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, 64));
  return arith::ConstantOp::create(b, loc, type, attr);
}

struct EffQuantizePass : mlir::eff::impl::EffQuantizePassBase<EffQuantizePass> {
  using Base::Base;

  SchemeSpec spec;

  /// The group of layers with `k` input features: none (0) for schemes without groups, the scheme's explicit
  /// one, or else defaultGroup(k) (0 when there is none).
  int64_t groupFor(int64_t k) const {
    if (!spec.group)
      return 0;
    return spec.explicitGroup ? spec.group : defaultGroup(k);
  }

  /// The quantized linear replacing x · Wᵀ + b, or null (with an error emitted when `failed` is set) if W
  /// is not a constant. With static int8 activations, `inputAbsMax` is the calibrated max |x| (null: keep
  /// dynamic quantization).
  Value quantizeLinear(OpBuilder &b, Location loc, Value input, Value weight, Value bias, FloatAttr inputAbsMax,
                       bool &failed) {
    std::optional<std::vector<float>> values = constantValues(weight);
    auto inputType = cast<RankedTensorType>(input.getType());
    if (!values || !inputType.getElementType().isF32() ||
        (bias && !cast<RankedTensorType>(bias.getType()).getElementType().isF32()))
      return {};
    auto shape = cast<RankedTensorType>(weight.getType()).getShape();
    int64_t n = shape[0], k = shape[1];
    int64_t group = groupFor(k);
    if (group == 0 && spec.group) {
      emitError(loc) << stringifyQuantScheme(spec.scheme) << " has no default group size for the layer's " << k
                     << " input features (no multiple of 8 up to " << kDefaultGroup
                     << " divides it); give one with :gGROUP";
      failed = true;
      return {};
    }
    if (group && k % group != 0) {
      emitError(loc) << stringifyQuantScheme(spec.scheme) << " group size " << group
                     << " does not divide the layer's " << k << " input features";
      failed = true;
      return {};
    }
    std::string name = weightName(weight);
    std::string base = name.empty() ? "quantized" : name;
    MLIRContext *ctx = b.getContext();
    Type i8 = IntegerType::get(ctx, 8), f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
    Packed packed;
    switch (spec.scheme) {
    case QuantScheme::int8:
      packed = packInt8(*values, n, k);
      break;
    case QuantScheme::int4:
      packed = packInt4(*values, n, k, group, spec.symmetric);
      break;
    case QuantScheme::lut:
      packed = packLut(*values, n, k, group, static_cast<int>(spec.bits));
      break;
    case QuantScheme::bf16:
      packed = packBf16(*values, n, k);
      break;
    }
    StringRef schemeName = stringifyQuantScheme(spec.scheme);
    Value packedValue =
        spec.scheme == QuantScheme::bf16
            ? createConstant<uint16_t>(b, loc, BFloat16Type::get(ctx), packed.bf16, base + ".bf16")
            : createConstant<int8_t>(b, loc, i8, packed.bytes, base + "." + schemeName.str());
    Value scales, zeroPoints, columnSums;
    if (!packed.scales.empty())
      scales = createConstant<float>(b, loc, f32, packed.scales, base + ".scales");
    if (!packed.zeroPoints.empty())
      zeroPoints = createConstant<float>(b, loc, f32, packed.zeroPoints, base + ".zero_points");
    if (!packed.columnSums.empty())
      columnSums = createConstant<int32_t>(b, loc, i32, packed.columnSums, base + ".column_sums");

    FloatAttr inputScale;
    IntegerAttr inputZeroPoint;
    if (inputAbsMax) {
      // Symmetric in the kernels' u8 form: x ≈ scale · (q − 128), scale = max|x| / 127.
      float absMax = inputAbsMax.getValue().convertToFloat();
      inputScale = b.getF32FloatAttr(absMax > 0.0f ? absMax / 127.0f : 1.0f);
      inputZeroPoint = b.getI64IntegerAttr(128);
    }
    auto op = QuantizedLinearOp::create(
        b, loc, input, packedValue, scales, zeroPoints, columnSums, bias, QuantSchemeAttr::get(ctx, spec.scheme),
        b.getI64IntegerAttr(k), b.getI64IntegerAttr(n), group ? b.getI64IntegerAttr(group) : IntegerAttr(),
        spec.bits ? b.getI64IntegerAttr(spec.bits) : IntegerAttr(), inputScale, inputZeroPoint);
    return op.getResult();
  }

  /// One projection of quantized experts: the rows of [E, ·] constants packed, scales and the scheme's side
  /// operand (int8: column sums; asymmetric int4: zero points; else null).
  struct StackedProjection {
    Value packed, scales, columnSums, zeroPoints;
  };

  /// Packs each expert's slice of a stacked constant weight [E, N, K] as the scheme packs a linear layer
  /// (int8, or int4 with `group`) into the rows of [E, ·] constants, or nothing if `weight` is not an f32
  /// constant.
  std::optional<StackedProjection> quantizeStacked(OpBuilder &b, Location loc, Value weight, int64_t group) {
    std::optional<std::vector<float>> values = constantValues(weight);
    if (!values)
      return std::nullopt;
    auto shape = cast<RankedTensorType>(weight.getType()).getShape();
    int64_t experts = shape[0], n = shape[1], k = shape[2];
    Packed all;
    for (int64_t e = 0; e < experts; ++e) {
      std::vector<float> slice(values->begin() + e * n * k, values->begin() + (e + 1) * n * k);
      Packed one = spec.scheme == QuantScheme::int8 ? packInt8(slice, n, k)
                                                     : packInt4(slice, n, k, group, spec.symmetric);
      all.bytes.insert(all.bytes.end(), one.bytes.begin(), one.bytes.end());
      all.scales.insert(all.scales.end(), one.scales.begin(), one.scales.end());
      all.columnSums.insert(all.columnSums.end(), one.columnSums.begin(), one.columnSums.end());
      all.zeroPoints.insert(all.zeroPoints.end(), one.zeroPoints.begin(), one.zeroPoints.end());
    }
    std::string name = weightName(weight);
    std::string base = name.empty() ? "quantized" : name;
    MLIRContext *ctx = b.getContext();
    int64_t perExpert = static_cast<int64_t>(all.scales.size()) / experts;
    StackedProjection projection;
    projection.packed =
        createConstant<int8_t>(b, loc, IntegerType::get(ctx, 8), all.bytes,
                               base + "." + stringifyQuantScheme(spec.scheme).str(),
                               {experts, static_cast<int64_t>(all.bytes.size()) / experts});
    projection.scales =
        createConstant<float>(b, loc, Float32Type::get(ctx), all.scales, base + ".scales", {experts, perExpert});
    if (!all.columnSums.empty())
      projection.columnSums = createConstant<int32_t>(b, loc, IntegerType::get(ctx, 32), all.columnSums,
                                                      base + ".column_sums", {experts, perExpert});
    if (!all.zeroPoints.empty())
      projection.zeroPoints = createConstant<float>(b, loc, Float32Type::get(ctx), all.zeroPoints,
                                                    base + ".zero_points", {experts, perExpert});
    return projection;
  }

  /// Replaces f32 experts with constant weights by eff.quantized_experts (int8 and int4; other schemes leave
  /// them f32); false if they stay. int4 takes one group size for all projections: the scheme's, which must
  /// divide the hidden and intermediate sizes, or by default the largest multiple of 8 up to 128 that divides
  /// both (`failed` is set, with an error, when there is none).
  bool quantizeExperts(ExpertsOp experts, bool &failed) {
    auto inputType = cast<RankedTensorType>(experts.getInput().getType());
    auto f32Constant = [](Value v) { return !v || constantValues(v).has_value(); };
    if ((spec.scheme != QuantScheme::int8 && spec.scheme != QuantScheme::int4) ||
        !inputType.getElementType().isF32() || inputType.isDynamicDim(inputType.getRank() - 1) ||
        !cast<RankedTensorType>(experts.getRoutingWeights().getType()).getElementType().isF32() ||
        !f32Constant(experts.getUpWeight()) || !f32Constant(experts.getGateWeight()) ||
        !f32Constant(experts.getDownWeight()) ||
        (experts.getUpBias() && !cast<RankedTensorType>(experts.getUpBias().getType()).getElementType().isF32()) ||
        (experts.getDownBias() && !cast<RankedTensorType>(experts.getDownBias().getType()).getElementType().isF32()))
      return false;
    Location loc = experts.getLoc();
    int64_t hidden = inputType.getShape().back();
    int64_t width = cast<RankedTensorType>(experts.getUpWeight().getType()).getDimSize(1);
    int64_t group = 0;
    if (spec.scheme == QuantScheme::int4) {
      group = groupFor(std::gcd(hidden, width)); // a group dividing the gcd divides both
      if (group == 0) {
        emitError(loc) << "int4 has no default group size for experts of hidden size " << hidden
                       << " and intermediate size " << width << " (no multiple of 8 up to " << kDefaultGroup
                       << " divides both); give one with :gGROUP";
        failed = true;
        return false;
      }
      if (hidden % group != 0 || width % group != 0) {
        emitError(loc) << "int4 group size " << group << " does not divide the experts' hidden size " << hidden
                       << " and intermediate size " << width;
        failed = true;
        return false;
      }
    }
    OpBuilder b(experts);
    std::optional<StackedProjection> up = quantizeStacked(b, loc, experts.getUpWeight(), group);
    std::optional<StackedProjection> down = quantizeStacked(b, loc, experts.getDownWeight(), group);
    StackedProjection gate;
    if (Value gateWeight = experts.getGateWeight())
      gate = *quantizeStacked(b, loc, gateWeight, group);
    auto quantized = QuantizedExpertsOp::create(
        b, loc, experts.getInput(), experts.getRoutingWeights(), experts.getRoutingIndices(), up->packed,
        up->scales, up->columnSums, up->zeroPoints, experts.getUpBias(), gate.packed, gate.scales,
        gate.columnSums, gate.zeroPoints, down->packed, down->scales, down->columnSums, down->zeroPoints,
        experts.getDownBias(), spec.scheme, width, experts.getActivation(),
        group ? b.getI64IntegerAttr(group) : IntegerAttr());
    quantized->setDiscardableAttrs(experts->getDiscardableAttrDictionary());
    experts.getResult().replaceAllUsesWith(quantized.getResult());
    experts.erase();
    return true;
  }

  /// Replaces an f32 N:M eff.sparse_linear with m = 4 and constant weights by its int8 form (scheme int8
  /// only; other schemes and patterns leave it f32): each row's stored values symmetric int8 with the scale
  /// max|v| / 127 (eff.quantized_linear's int8 rule), the i8 indices packed to 2 bits, four to a byte
  /// (docs/spec/eff.md#effsparse_linear). False if the layer stays.
  bool quantizeSparse(SparseLinearOp op) {
    if (spec.scheme != QuantScheme::int8 || op.getFormat() != SparseFormat::nm || op.getM() != 4 ||
        op.getScales())
      return false;
    std::optional<std::vector<float>> values = constantValues(op.getValues());
    std::optional<std::vector<int8_t>> indices = constantInt8(op.getIndices());
    if (!values || !indices || values->size() != indices->size())
      return false;
    int64_t rows = op.getOutFeatures();
    int64_t stored = static_cast<int64_t>(values->size()) / rows, packedColumns = (stored + 3) / 4;
    std::vector<int8_t> quantized(values->size()), packed(rows * packedColumns, 0);
    std::vector<float> scales(rows);
    for (int64_t row = 0; row < rows; ++row) {
      const float *v = values->data() + row * stored;
      float amax = 0.0f;
      for (int64_t c = 0; c < stored; ++c)
        amax = std::max(amax, std::fabs(v[c]));
      float scale = amax > 0.0f ? amax / 127.0f : 1.0f;
      scales[row] = scale;
      for (int64_t c = 0; c < stored; ++c) {
        float q = std::min(127.0f, std::max(-127.0f, roundEven(v[c] / scale)));
        quantized[row * stored + c] = static_cast<int8_t>(q);
        auto index = static_cast<uint8_t>((*indices)[row * stored + c] & 3);
        int8_t &byte = packed[row * packedColumns + c / 4];
        byte = static_cast<int8_t>(static_cast<uint8_t>(byte) | (index << (2 * (c % 4))));
      }
    }
    OpBuilder b(op);
    Location loc = op.getLoc();
    std::string name = weightName(op.getValues());
    std::string base = name.empty() ? "sparse" : name;
    Type i8 = b.getIntegerType(8);
    Value valuesConst = createConstant<int8_t>(b, loc, i8, quantized, base + ".int8", {rows, stored});
    Value indicesConst = createConstant<int8_t>(b, loc, i8, packed, base + ".indices2", {rows, packedColumns});
    Value scalesConst = createConstant<float>(b, loc, b.getF32Type(), scales, base + ".scales");
    auto sparse = SparseLinearOp::create(b, loc, op.getType(), op.getInput(), valuesConst, indicesConst,
                                         /*row_ptr=*/Value(), op.getBias(), scalesConst, SparseFormat::nm,
                                         op.getInFeatures(), op.getOutFeatures(), op.getNAttr(), op.getMAttr());
    sparse->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    op.getResult().replaceAllUsesWith(sparse.getResult());
    op.erase();
    return true;
  }

  void runOnOperation() override {
    std::string error;
    if (activations != "dynamic" && activations != "static") {
      getOperation().emitError() << "eff-quantize: activations must be dynamic or static, got '" << activations
                                 << "'";
      return signalPassFailure();
    }
    FailureOr<SchemeSpec> parsed = parseScheme(scheme, symmetric, activations == "static", error);
    if (failed(parsed)) {
      getOperation().emitError() << "eff-quantize: " << error;
      return signalPassFailure();
    }
    spec = *parsed;
    if (spec.staticActivations && spec.scheme != QuantScheme::int8) {
      getOperation().emitError() << "eff-quantize: activations=static needs scheme int8";
      return signalPassFailure();
    }
    // The calibrated input range of a linear or FFN (its up and gate projections; the FFN's hidden
    // activation has no statistic, so its down projection stays dynamic).
    auto staticRange = [&](Operation *op, bool &failedAny) -> FloatAttr {
      if (!spec.staticActivations)
        return {};
      auto absMax = op->getAttrOfType<FloatAttr>(effc::calibration::kInputAbsMax);
      if (!absMax) {
        op->emitError() << "static activations need calibration data: pass --calibration (no '"
                        << effc::calibration::kInputAbsMax << "' attribute)";
        failedAny = true;
      }
      return absMax;
    };

    bool failedAny = false;
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<LinearOp, FfnOp, ExpertsOp, SparseLinearOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto sparse = dyn_cast<SparseLinearOp>(op)) {
        // Activations of int8 sparse layers are always quantized dynamically.
        quantizeSparse(sparse);
        continue;
      }
      if (auto experts = dyn_cast<ExpertsOp>(op)) {
        // Expert activations are always quantized dynamically (calibration records no per-expert range).
        quantizeExperts(experts, failedAny);
        continue;
      }
      OpBuilder b(op);
      Location loc = op->getLoc();
      if (auto linear = dyn_cast<LinearOp>(op)) {
        if (!constantValues(linear.getWeight()))
          continue;
        Value result = quantizeLinear(b, loc, linear.getInput(), linear.getWeight(), linear.getBias(),
                                      staticRange(op, failedAny), failedAny);
        if (!result)
          continue;
        linear.getResult().replaceAllUsesWith(result);
        linear.erase();
        continue;
      }
      auto ffn = cast<FfnOp>(op);
      bool allConstant = constantValues(ffn.getUpWeight()) && constantValues(ffn.getDownWeight()) &&
                         (!ffn.getGateWeight() || constantValues(ffn.getGateWeight()));
      if (!allConstant || !ffn.getType().getElementType().isF32())
        continue;
      FloatAttr inputAbsMax = staticRange(op, failedAny);
      Value up = quantizeLinear(b, loc, ffn.getInput(), ffn.getUpWeight(), ffn.getUpBias(), inputAbsMax, failedAny);
      if (!up)
        continue;
      Value hidden;
      if (Value gateWeight = ffn.getGateWeight()) {
        Value gate = quantizeLinear(b, loc, ffn.getInput(), gateWeight, Value(), inputAbsMax, failedAny);
        if (!gate)
          continue;
        hidden = GluOp::create(b, loc, ffn.getActivation(), gate, up);
      } else {
        hidden = ActivationOp::create(b, loc, ffn.getActivation(), up);
      }
      Value down = quantizeLinear(b, loc, hidden, ffn.getDownWeight(), ffn.getDownBias(), FloatAttr(), failedAny);
      if (!down)
        continue;
      ffn.getResult().replaceAllUsesWith(down);
      ffn.erase();
    }
    if (failedAny)
      return signalPassFailure();
    // Weights that only the rewritten layers used are dead now.
    SmallVector<arith::ConstantOp> dead;
    getOperation().walk([&](arith::ConstantOp constant) {
      if (constant.use_empty())
        dead.push_back(constant);
    });
    for (arith::ConstantOp constant : dead)
      constant.erase();
  }
};

} // namespace
