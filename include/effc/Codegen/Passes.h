//===- Passes.h - effc code generation passes -------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_CODEGEN_PASSES_H
#define EFFC_CODEGEN_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class ModuleOp;
class RewritePatternSet;
} // namespace mlir

namespace effc {

#define GEN_PASS_DECL
#include "effc/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "effc/Codegen/Passes.h.inc"

/// memref.copy between views that are not both contiguous -> linalg.copy (StridedCopiesToLinalg.cpp).
void populateStridedCopyToLinalgPatterns(mlir::RewritePatternSet &patterns);

} // namespace effc

#endif // EFFC_CODEGEN_PASSES_H
