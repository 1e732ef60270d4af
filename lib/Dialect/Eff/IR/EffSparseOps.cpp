//===- EffSparseOps.cpp - shape rules of the eff sparse ops ----------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Shape rules of eff.sparse_linear (docs/spec/eff.md#effsparse_linear, cited as `// eff_sparse_linear_c<N>`),
// checked in inferReturnTypes like those of EffTypeInference.cpp. A dimension is checked when it is static.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::eff;

namespace {

std::string formatShape(RankedTensorType type) {
  std::string s = "[";
  llvm::interleave(
      type.getShape(), [&](int64_t d) { s += ShapedType::isDynamic(d) ? "?" : std::to_string(d); },
      [&] { s += ", "; });
  return s + "]";
}

bool mismatch(int64_t actual, int64_t expected) {
  return !ShapedType::isDynamic(actual) && !ShapedType::isDynamic(expected) && actual != expected;
}

/// The rows a weight stores: those of an N:M `values`, or CSR row_ptr's length minus one.
int64_t outFeaturesOf(SparseFormat format, Value values, Value rowPtr) {
  if (format == SparseFormat::nm) {
    auto type = dyn_cast<RankedTensorType>(values.getType());
    return type && type.getRank() == 2 ? type.getDimSize(0) : ShapedType::kDynamic;
  }
  auto type = rowPtr ? dyn_cast<RankedTensorType>(rowPtr.getType()) : RankedTensorType();
  if (!type || type.getRank() != 1 || ShapedType::isDynamic(type.getDimSize(0)))
    return ShapedType::kDynamic;
  return type.getDimSize(0) - 1;
}

} // namespace

LogicalResult SparseLinearOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                               SmallVectorImpl<Type> &results) {
  // Reports `message` (when there is a location) and fails.
  auto error = [&](const Twine &message) -> LogicalResult {
    if (loc)
      mlir::emitError(*loc) << "'eff.sparse_linear' op " << message;
    return failure();
  };

  auto input = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  auto values = dyn_cast<RankedTensorType>(adaptor.getValues().getType());
  auto indices = dyn_cast<RankedTensorType>(adaptor.getIndices().getType());
  if (!input || !values || !indices)
    return error("operands must be ranked tensors");
  // eff_sparse_linear_c1
  if (input.getRank() < 1)
    return error("input must have rank >= 1, got a rank-0 tensor");
  int64_t k = adaptor.getInFeatures();
  if (k < 1)
    return error("in_features must be >= 1, got " + Twine(k));
  if (mismatch(input.getDimSize(input.getRank() - 1), k))
    return error("input " + formatShape(input) + " must have in_features = " + Twine(k) + " features");

  SparseFormat format = adaptor.getFormat();
  Value rowPtr = adaptor.getRowPtr();
  if (format == SparseFormat::nm) {
    // eff_sparse_linear_c2
    std::optional<int64_t> n = adaptor.getN(), m = adaptor.getM();
    if (!n || !m)
      return error("format nm requires attributes 'n' and 'm'");
    if (*n < 1 || *m > 128 || *n >= *m)
      return error("N:M pattern " + Twine(*n) + ":" + Twine(*m) + " must satisfy 1 <= N < M <= 128");
    if (k % *m != 0)
      return error("M = " + Twine(*m) + " must divide in_features = " + Twine(k));
    if (rowPtr)
      return error("format nm takes no row_ptr");
    if (values.getRank() != 2 || indices.getRank() != 2)
      return error("format nm requires rank-2 values and indices, got " + formatShape(values) + " and " +
                   formatShape(indices));
    if (!indices.getElementType().isInteger(8))
      return error("format nm requires i8 indices");
    int64_t stored = k / *m * *n;
    if (mismatch(values.getDimSize(1), stored))
      return error("values " + formatShape(values) + " must have K·n/m = " + Twine(stored) + " columns");
    if (values.getElementType().isInteger(8)) {
      // eff_sparse_linear_c5: int8 values with 2-bit indices, four to a byte.
      if (*m != 4)
        return error("int8 values need M = 4 (2-bit indices), got " + Twine(*n) + ":" + Twine(*m));
      if (mismatch(indices.getDimSize(0), values.getDimSize(0)) ||
          mismatch(indices.getDimSize(1), (stored + 3) / 4))
        return error("indices " + formatShape(indices) + " of int8 values must be [N, ceil(K·n/16) = " +
                     Twine((stored + 3) / 4) + "] (2 bits per entry)");
    } else if (mismatch(indices.getDimSize(0), values.getDimSize(0)) ||
               mismatch(indices.getDimSize(1), values.getDimSize(1))) {
      return error("indices " + formatShape(indices) + " must have the shape of values " + formatShape(values));
    }
  } else {
    // eff_sparse_linear_c3
    if (adaptor.getN() || adaptor.getM())
      return error("format csr takes no 'n' or 'm'");
    if (!rowPtr)
      return error("format csr requires row_ptr");
    if (values.getRank() != 1 || indices.getRank() != 1)
      return error("format csr requires rank-1 values and indices, got " + formatShape(values) + " and " +
                   formatShape(indices));
    if (!indices.getElementType().isInteger(32))
      return error("format csr requires i32 indices");
    // eff_sparse_linear_c5
    if (!values.getElementType().isF32())
      return error("format csr requires f32 values");
    if (mismatch(indices.getDimSize(0), values.getDimSize(0)))
      return error("indices " + formatShape(indices) + " must have the length of values " + formatShape(values));
    if (cast<RankedTensorType>(rowPtr.getType()).getDimSize(0) == 0)
      return error("row_ptr must have N + 1 >= 1 elements");
  }
  // eff_sparse_linear_c4
  int64_t outFeatures = adaptor.getOutFeatures();
  if (outFeatures < 1)
    return error("out_features must be >= 1, got " + Twine(outFeatures));
  if (int64_t stored = outFeaturesOf(format, adaptor.getValues(), rowPtr); mismatch(stored, outFeatures))
    return error(Twine(format == SparseFormat::nm ? "values" : "row_ptr") + " store " + Twine(stored) +
                 " rows, but out_features = " + Twine(outFeatures));
  if (Value bias = adaptor.getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (mismatch(biasType.getDimSize(0), outFeatures))
      return error("bias " + formatShape(biasType) + " must have out_features = " + Twine(outFeatures) +
                   " elements");
  }
  // eff_sparse_linear_c5
  bool int8Values = values.getElementType().isInteger(8);
  Value scales = adaptor.getScales();
  if (int8Values && !scales)
    return error("int8 values require scales");
  if (!int8Values && scales)
    return error("scales require int8 values");
  if (scales && mismatch(cast<RankedTensorType>(scales.getType()).getDimSize(0), outFeatures))
    return error("scales " + formatShape(cast<RankedTensorType>(scales.getType())) + " must have out_features = " +
                 Twine(outFeatures) + " elements");
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = outFeatures;
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}
