//===- ModuleToBinary.cpp - serialise gpu.modules with device micro-kernels -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-module-to-binary: upstream's gpu-module-to-binary, plus the NVPTX bitcode of
// ukernels/cuda/*.cu (embedded in effc when it is built) among the libraries linked into each gpu.module.
// `#nvvm.target`'s `link` list takes only file paths; gpu::TargetOptions also takes blob attributes, which
// the serialiser parses as bitcode in memory (mlir/Target/LLVM/ModuleToObject.cpp).
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/CompilationInterfaces.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSwitch.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUMODULETOBINARYPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

// The bitcode built by ukernels/CMakeLists.txt from ukernels/cuda/*.cu.
const unsigned char cudaUkernelBitcode[] = {
#include "effc_cuda_ukernels.inc"
};

constexpr llvm::StringLiteral kCudaUkernelPrefix = "effc_cuda_uk_";

/// Some gpu.module declares a device micro-kernel.
bool callsUkernels(ModuleOp module) {
  auto isUkernelDeclaration = [](Operation *op) {
    auto function = dyn_cast<FunctionOpInterface>(op);
    return function && function.isExternal() && function.getName().starts_with(kCudaUkernelPrefix);
  };
  for (auto kernels : module.getOps<gpu::GPUModuleOp>())
    if (llvm::any_of(kernels.getBody()->getOperations(), [&](Operation &op) { return isUkernelDeclaration(&op); }))
      return true;
  return false;
}

struct GpuModuleToBinaryPass : public effc::impl::EffcGpuModuleToBinaryPassBase<GpuModuleToBinaryPass> {
  using EffcGpuModuleToBinaryPassBase::EffcGpuModuleToBinaryPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<gpu::CompilationTarget> format =
        llvm::StringSwitch<std::optional<gpu::CompilationTarget>>(compilationTarget)
            .Case("isa", gpu::CompilationTarget::Assembly)
            .Case("bin", gpu::CompilationTarget::Binary)
            .Case("fatbin", gpu::CompilationTarget::Fatbin)
            .Default(std::nullopt);
    if (!format) {
      module.emitError("effc-gpu-module-to-binary: unknown format '")
          << compilationTarget << "' (expected isa, bin or fatbin)";
      return signalPassFailure();
    }
    SmallVector<Attribute> libraries;
    if (callsUkernels(module)) {
      ArrayRef<int8_t> bitcode(reinterpret_cast<const int8_t *>(cudaUkernelBitcode), sizeof(cudaUkernelBitcode));
      libraries.push_back(DenseI8ArrayAttr::get(&getContext(), bitcode));
    }
    std::optional<SymbolTable> symbols;
    auto getSymbols = [&]() -> SymbolTable * {
      if (!symbols)
        symbols.emplace(module);
      return &*symbols;
    };
    gpu::TargetOptions options(toolkitPath, libraries, /*cmdOptions=*/"", /*elfSection=*/"", *format, getSymbols);
    if (failed(gpu::transformGpuModulesToBinaries(module, /*handler=*/nullptr, options)))
      return signalPassFailure();
  }
};

} // namespace
