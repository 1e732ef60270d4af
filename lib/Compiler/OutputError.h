//===- OutputError.h - compressed vs uncompressed outputs -------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_LIB_COMPILER_OUTPUTERROR_H
#define EFFC_LIB_COMPILER_OUTPUTERROR_H

#include "effc/Compiler/Compiler.h"

namespace effc {

/// Runs `function` of both shared objects on the arrays of the .npz at `calibrationPath` (one per input,
/// named after it) and compares their first outputs.
mlir::FailureOr<OutputError> measureOutputError(llvm::StringRef baselinePath, llvm::StringRef compressedPath,
                                                llvm::StringRef calibrationPath, llvm::StringRef function,
                                                std::string &error);

} // namespace effc

#endif // EFFC_LIB_COMPILER_OUTPUTERROR_H
