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
// and reading the `calibration.*` statistics the compiler attaches to ops (CalibrationProbes.h).
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_LIB_DIALECT_EFF_TRANSFORMS_WEIGHTUTILS_H
#define EFFC_LIB_DIALECT_EFF_TRANSFORMS_WEIGHTUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

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

/// The calibration statistic `name` of `op` (an `array<f32>` or `array<i64>` attribute such as
/// `calibration.head_importance`) as doubles; nullopt when `op` has no such attribute or it is of another kind.
std::optional<std::vector<double>> readCalibrationArray(Operation *op, StringRef name);

/// Restricts the array attribute `name` of `op`, if present, to the indices `keep`, so that the statistics
/// stay aligned with sliced weights (a later pass may read them).
void sliceCalibrationArray(Operation *op, StringRef name, ArrayRef<int64_t> keep);

/// Calibration measures one entry point (`prefill`, say). Gives every op of kind `OpTy` inside an eff.layer
/// that has no attribute `name` the one of the op at the same place in another function (same eff.layer
/// index, same position among the layer's `OpTy` ops), so that `decode` makes the same choices as `prefill`.
void shareCalibrationAcrossFunctions(Operation *module, StringRef opName, StringRef name);

/// Recomputes every `func.func`'s function type from its entry block arguments and its `func.return`
/// operands (after a pass retyped values or erased return operands).
void refreshFunctionType(Operation *func);

} // namespace mlir::eff

#endif // EFFC_LIB_DIALECT_EFF_TRANSFORMS_WEIGHTUTILS_H
