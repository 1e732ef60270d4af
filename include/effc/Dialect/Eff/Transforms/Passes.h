//===- Passes.h - eff dialect passes ----------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_DIALECT_EFF_TRANSFORMS_PASSES_H
#define EFFC_DIALECT_EFF_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace mlir::eff {

#define GEN_PASS_DECL
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"

} // namespace mlir::eff

#endif // EFFC_DIALECT_EFF_TRANSFORMS_PASSES_H
