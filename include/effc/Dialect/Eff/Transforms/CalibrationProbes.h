//===- CalibrationProbes.h - tensors calibration statistics come from -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Calibration runs a model on sample inputs and records, for the ops compression passes make data-driven
// decisions about, the tensors those decisions need: the output of each eff.attention (per-head activity),
// the expert indices of each eff.router (expert usage), and the input of each eff.linear and eff.ffn
// (activation ranges and per-channel magnitudes). eff-expose-calibration-probes makes those tensors extra
// results of the entry point; the compiler runs that copy of the model and writes the statistics back
// onto the ops of the original as `calibration.*` attributes, which the passes read.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_DIALECT_EFF_TRANSFORMS_CALIBRATIONPROBES_H
#define EFFC_DIALECT_EFF_TRANSFORMS_CALIBRATIONPROBES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace effc {

/// Names of the statistics attributes calibration attaches.
namespace calibration {
inline constexpr llvm::StringLiteral kHeadImportance = "calibration.head_importance"; ///< eff.attention
inline constexpr llvm::StringLiteral kExpertUsage = "calibration.expert_usage";       ///< eff.router
inline constexpr llvm::StringLiteral kInputRms = "calibration.input_rms";             ///< eff.linear, eff.ffn
inline constexpr llvm::StringLiteral kInputAbsMax = "calibration.input_absmax";       ///< eff.linear, eff.ffn
} // namespace calibration

/// One op calibration measures and the tensor it measures.
struct CalibrationProbe {
  mlir::Operation *op;
  mlir::Value value;
};

/// The entry point calibration runs: `name`, or the module's first public function with a body.
mlir::func::FuncOp calibrationEntryPoint(mlir::ModuleOp module, llvm::StringRef name = "");

/// The probes of `function`, in a fixed (pre-)order; equal for a module and its clone.
llvm::SmallVector<CalibrationProbe> collectCalibrationProbes(mlir::func::FuncOp function);

/// The distinct probed values in order of first appearance: the results eff-expose-calibration-probes adds.
llvm::SmallVector<mlir::Value> distinctProbeValues(llvm::ArrayRef<CalibrationProbe> probes);

} // namespace effc

#endif // EFFC_DIALECT_EFF_TRANSFORMS_CALIBRATIONPROBES_H
