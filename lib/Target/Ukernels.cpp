//===- Ukernels.cpp - linking micro-kernels into compiled models -----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Target/Ukernels.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Target/TargetMachine.h"

namespace {

// The bitcode built by ukernels/CMakeLists.txt.
const unsigned char avx512Bf16Bitcode[] = {
#include "effc_ukernels_avx512bf16.inc"
};
const unsigned char avx512Bitcode[] = {
#include "effc_ukernels_avx512.inc"
};
const unsigned char genericBitcode[] = {
#include "effc_ukernels_generic.inc"
};

/// Host services defined by the runtime interface emitter, not by the kernels.
bool isHostService(llvm::StringRef name) {
  return name == "effc_uk_parallel_for" || name == "effc_uk_alloc" || name == "effc_uk_free";
}

} // namespace

namespace effc {

mlir::LogicalResult linkUkernels(llvm::Module &module, const llvm::TargetMachine &machine, std::string &error) {
  bool needed = false;
  for (const llvm::Function &function : module)
    needed |= function.isDeclaration() && function.getName().starts_with(kUkernelPrefix) &&
              !isHostService(function.getName());
  if (!needed)
    return mlir::success();

  // The richest variant the model's CPU runs.
  const llvm::MCSubtargetInfo *subtarget = machine.getMCSubtargetInfo();
  bool avx512 = subtarget->checkFeatures("+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512vnni");
  bool bf16 = avx512 && subtarget->checkFeatures("+avx512bf16");
  auto bytes = [](const auto &array) {
    return llvm::StringRef(reinterpret_cast<const char *>(array), sizeof(array));
  };
  llvm::MemoryBufferRef bitcode =
      bf16     ? llvm::MemoryBufferRef(bytes(avx512Bf16Bitcode), "effc_ukernels_avx512bf16.bc")
      : avx512 ? llvm::MemoryBufferRef(bytes(avx512Bitcode), "effc_ukernels_avx512.bc")
               : llvm::MemoryBufferRef(bytes(genericBitcode), "effc_ukernels_generic.bc");
  llvm::Expected<std::unique_ptr<llvm::Module>> kernels = llvm::parseBitcodeFile(bitcode, module.getContext());
  if (!kernels) {
    error = "internal error: cannot read the embedded micro-kernels: " + llvm::toString(kernels.takeError());
    return mlir::failure();
  }
  (*kernels)->setTargetTriple(module.getTargetTriple());
  (*kernels)->setDataLayout(module.getDataLayout());
  // The kernels' own target attributes are replaced by the model's CPU when the model is compiled.
  for (llvm::Function &function : **kernels) {
    function.removeFnAttr("target-cpu");
    function.removeFnAttr("target-features");
    function.removeFnAttr("tune-cpu");
  }
  if (llvm::Linker::linkModules(module, std::move(*kernels), llvm::Linker::LinkOnlyNeeded)) {
    error = "internal error: linking the micro-kernels failed";
    return mlir::failure();
  }
  for (const llvm::Function &function : module)
    if (function.isDeclaration() && function.getName().starts_with(kUkernelPrefix) &&
        !isHostService(function.getName())) {
      error = ("unknown micro-kernel '" + function.getName() + "'").str();
      return mlir::failure();
    }
  return mlir::success();
}

} // namespace effc
