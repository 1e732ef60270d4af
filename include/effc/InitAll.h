//===- InitAll.h - register everything effc provides ------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// One place that registers effc's dialects and passes, shared by effc-opt, effc and the Python bindings.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_INITALL_H
#define EFFC_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace effc {
/// Adds effc's dialects to `registry`.
void registerAllDialects(mlir::DialectRegistry &registry);
/// Registers effc's passes and pipelines with the global pass registry.
void registerAllPasses();
} // namespace effc

#endif // EFFC_INITALL_H
