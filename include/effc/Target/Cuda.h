//===- Cuda.h - the CUDA target's part of a compiled module ------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// What a module compiled with --target=cuda adds to the runtime ABI: bodies for the mgpu* functions that
// MLIR's gpu-to-llvm lowering calls (forwarding to the runtime's GPU services, abi.h effc_abi_gpu_t),
// lazy kernel loading, weights served from device-visible memory, and the module's target string.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_TARGET_CUDA_H
#define EFFC_TARGET_CUDA_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace llvm {
class Module;
} // namespace llvm

namespace effc {

/// Completes `module`, which already holds the runtime ABI (host slot `effc_host`, trampolines
/// `effc_invoke_*`), for a GPU: see the file comment. `deviceTarget` is exported as the module's
/// EFFC_MODULE_TARGET_SYMBOL ("cuda:sm_90"). Fails with a message in `error` for a gpu runtime function the
/// runtime does not provide.
mlir::LogicalResult emitCudaModuleServices(llvm::Module &module, llvm::StringRef deviceTarget, std::string &error);

/// The CUDA toolkit directory holding bin/ptxas (CUDA_HOME, CUDA_PATH, /usr/local/cuda, then ptxas on PATH),
/// or "" if there is none.
std::string findCudaToolkit();

} // namespace effc

#endif // EFFC_TARGET_CUDA_H
