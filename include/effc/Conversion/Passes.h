//===- Passes.h - effc conversion passes ------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_CONVERSION_PASSES_H
#define EFFC_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace effc {

#define GEN_PASS_DECL
#include "effc/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "effc/Conversion/Passes.h.inc"

} // namespace effc

#endif // EFFC_CONVERSION_PASSES_H
