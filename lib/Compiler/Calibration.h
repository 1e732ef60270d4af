//===- Calibration.h - running models on calibration data -------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Calibration data is a .npz (np.savez) with one array per model input, named after it. The compiler runs
// compiled copies of the model on it with the effc runtime: to collect the statistics data-driven compression
// passes read (see effc/Dialect/Eff/Transforms/CalibrationProbes.h), and to measure how far a compressed
// model's output moves from the uncompressed one.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_LIB_COMPILER_CALIBRATION_H
#define EFFC_LIB_COMPILER_CALIBRATION_H

#include "effc/Compiler/Compiler.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <vector>

namespace effc {

class CalibrationData {
public:
  ~CalibrationData();
  /// Reads the .npz at `path`.
  static mlir::FailureOr<std::unique_ptr<CalibrationData>> read(llvm::StringRef path, std::string &error);

  /// Runs `function` of the shared object at `modulePath` on the data and compares its first output with that
  /// of `baselinePath`.
  mlir::FailureOr<OutputError> measureOutputError(llvm::StringRef baselinePath, llvm::StringRef modulePath,
                                                  llvm::StringRef function, std::string &error);

  /// Runs `instrumentedPath` (`module`'s entry point compiled after eff-expose-calibration-probes, with
  /// `numOriginalResults` results before the probes) and attaches the statistics to the probed ops of
  /// `module`.
  mlir::LogicalResult annotate(mlir::ModuleOp module, llvm::StringRef instrumentedPath, unsigned numOriginalResults,
                               std::string &error);

  struct Impl;

private:
  CalibrationData();
  std::unique_ptr<Impl> impl;
};

} // namespace effc

#endif // EFFC_LIB_COMPILER_CALIBRATION_H
