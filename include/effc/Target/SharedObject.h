//===- SharedObject.h - emit compiled modules for the runtime ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The last stage of the CPU target: an LLVM-dialect module becomes an llvm::Module that implements the
// runtime ABI of runtime/include/effc/runtime/abi.h (the module header, one fixed-signature trampoline per
// entry point, allocation routed to the runtime), is optimised for the chosen CPU, and is written as LLVM
// IR, assembly, an object file or a shared object.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_TARGET_SHAREDOBJECT_H
#define EFFC_TARGET_SHAREDOBJECT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class raw_pwrite_stream;
} // namespace llvm

namespace effc {

/// One input or output of an entry point, as the runtime sees it.
struct TensorSignature {
  std::string name;
  uint32_t dtype = 0;         ///< effc_dtype_t
  std::vector<int64_t> dims; ///< EFFC_DYNAMIC_DIM (-1) where dynamic
  std::vector<int32_t> dimGroups; ///< inputs only: group of each dimension that must agree, or -1
};

/// A public function of the compiled module.
struct EntryPointSignature {
  std::string name;
  std::vector<TensorSignature> inputs, outputs;
  uint64_t minCallBytes = 0; ///< effc_abi_function_t.min_call_bytes (effc-record-min-call-bytes)
};

/// Reads the signatures of the public functions of tensor-level IR (before lowering). Argument and result
/// names come from `eff.name` attributes, defaulting to argN / resultN. Fails, with a diagnostic at the
/// function, on a non-tensor or unsupported-dtype argument or result.
mlir::FailureOr<std::vector<EntryPointSignature>> collectEntryPoints(mlir::ModuleOp module);

/// Code generation options.
struct TargetOptions {
  std::string cpu = "native"; ///< "native", "x86-64", "x86-64-v4", or an LLVM CPU name
  unsigned optLevel = 3;
  /// When set, constant weights of at least `externalWeightsThreshold` bytes are written to this file
  /// (which must sit beside the shared object) instead of being embedded.
  std::string externalWeightsPath;
  uint64_t externalWeightsThreshold = 1024;
  /// For a module compiled for a GPU, its device ("cuda:sm_90"): the module then gets the CUDA services
  /// (effc/Target/Cuda.h). Empty for the CPU.
  std::string deviceTarget;
};

/// Checks that `options` name a CPU this LLVM can generate code for.
mlir::LogicalResult checkTargetOptions(const TargetOptions &options, std::string &error);

/// Translates a module in the LLVM dialect into LLVM IR implementing the runtime ABI for `entryPoints`,
/// configured for `options.cpu` and optimised at `options.optLevel`.
mlir::FailureOr<std::unique_ptr<llvm::Module>> translateToRuntimeModule(mlir::ModuleOp module,
                                                                       llvm::ArrayRef<EntryPointSignature> entryPoints,
                                                                       llvm::LLVMContext &context,
                                                                       const TargetOptions &options);

/// Writes `module` as assembly or as an object file.
mlir::LogicalResult emitMachineCode(llvm::Module &module, const TargetOptions &options, bool assembly,
                                    llvm::raw_pwrite_stream &os, std::string &error);

/// Links an object file into a shared object with ld.lld, then seals it (sealSharedObject).
mlir::LogicalResult linkSharedObject(llvm::StringRef objectPath, llvm::StringRef outputPath, std::string &error);

/// Appends the module trailer of runtime/include/effc/runtime/abi.h (size, XXH64 checksum and ABI
/// version of everything before it) to the shared object at `path`; linkSharedObject does this itself.
mlir::LogicalResult sealSharedObject(llvm::StringRef path, std::string &error);

} // namespace effc

#endif // EFFC_TARGET_SHAREDOBJECT_H
