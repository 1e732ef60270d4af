//===- WeightUtils.h - read, slice and rebuild constant weights -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Helpers shared by the structural compression passes (layer dropping, head/FFN/expert pruning, adapter
// folding), which run after eff-materialize-parameters on eff IR whose weights are `arith.constant`s: reading
// a constant weight into doubles, gathering slices along an axis, writing a new constant (a dense_resource
// blob when the original was one, so that big weights never become IR text), ranking slices by magnitude,
// and reading per-layer importance vectors from a calibration file (.npz or .safetensors).
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_LIB_DIALECT_EFF_TRANSFORMS_WEIGHTUTILS_H
#define EFFC_LIB_DIALECT_EFF_TRANSFORMS_WEIGHTUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <vector>

namespace mlir::eff {

/// A constant float weight: its type, its elements in row-major order, and where it came from.
struct Weight {
  RankedTensorType type;
  std::vector<double> values;
  /// The resource key when the constant is a dense_resource blob; empty for an inline dense attribute.
  std::string resourceKey;

  int64_t dim(int axis) const { return type.getDimSize(axis); }
};

/// The weight defined by `value` if it is an `arith.constant` of a static float tensor, else nullopt.
std::optional<Weight> readWeight(Value value);

/// `weight` restricted to the indices `keep` (in that order) along `axis`.
Weight gatherWeight(const Weight &weight, int axis, ArrayRef<int64_t> keep);

/// A new `arith.constant` at the builder's insertion point holding `weight` (converted to its element type):
/// a dense_resource blob named after the original's key plus `suffix` when the original was a blob, else an
/// inline dense attribute.
Value createWeight(OpBuilder &builder, Location loc, const Weight &weight, StringRef suffix);

/// Replaces the value of `operand` by a new constant holding `weight`, created just before the owner. The old
/// constant is erased when it has no other use.
void replaceWeight(OpOperand &operand, const Weight &weight, StringRef suffix);

/// Squared L2 norm of each index along `axis` (the sum of squares of the sub-tensor at that index).
std::vector<double> squaredNormsAlong(const Weight &weight, int axis);

/// The indices 0..scores.size()-1 without the `remove` lowest scores, ascending. Ties remove the higher index.
SmallVector<int64_t> keepStrongest(ArrayRef<double> scores, int64_t remove);

/// Number of slices to remove for a pruning `fraction` of `count`: round(fraction · count), keeping at least
/// `keepAtLeast`.
int64_t pruneCount(double fraction, int64_t count, int64_t keepAtLeast = 1);

/// Replaces the last dimension of `value`'s tensor type by `size`.
void setLastDim(Value value, int64_t size);

/// Named vectors from a calibration file: `.safetensors` (any float or integer dtype) or `.npz` written with
/// `np.savez` (uncompressed). Arrays are flattened to doubles.
class CalibrationData {
public:
  static llvm::Expected<CalibrationData> load(StringRef path);
  /// The array `name`, or nullptr when the file has none.
  const std::vector<double> *lookup(StringRef name) const;
  StringRef path() const { return filePath; }

private:
  std::string filePath;
  llvm::StringMap<std::vector<double>> arrays;
};

/// Recomputes every `func.func`'s function type from its entry block arguments and its `func.return`
/// operands (after a pass retyped values or erased return operands).
void refreshFunctionType(Operation *func);

} // namespace mlir::eff

#endif // EFFC_LIB_DIALECT_EFF_TRANSFORMS_WEIGHTUTILS_H
