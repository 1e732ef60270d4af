//===- Ukernels.h - linking micro-kernels into compiled models ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The micro-kernels of ukernels/ are embedded in effc as LLVM bitcode (one module per CPU variant). A
// compiled model that declares `effc_uk_*` functions gets their definitions linked in, to be optimised and
// compiled with it for its target CPU.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_TARGET_UKERNELS_H
#define EFFC_TARGET_UKERNELS_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace effc {

/// Prefix of every micro-kernel symbol.
inline constexpr llvm::StringLiteral kUkernelPrefix = "effc_uk_";

/// Links the definitions of the micro-kernels `module` declares, choosing the variant `machine`'s CPU
/// supports. Host services the kernels call (effc_uk_parallel_for, effc_uk_alloc, effc_uk_free) stay
/// declared: the runtime interface emitter defines them. Does nothing if no kernel is declared.
mlir::LogicalResult linkUkernels(llvm::Module &module, const llvm::TargetMachine &machine, std::string &error);

} // namespace effc

#endif // EFFC_TARGET_UKERNELS_H
