//===- MergeKernelModules.cpp - one gpu.module for all kernels -------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-merge-kernel-modules: the kernels that gpu-kernel-outlining put in one gpu.module
// each move into a single gpu.module @effc_kernels, so that a model is one PTX image and one driver load.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUMERGEKERNELMODULESPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kMergedName = "effc_kernels";

/// A function declaration (no body), such as a device micro-kernel that a kernel calls.
bool isDeclaration(Operation &op) {
  auto function = dyn_cast<FunctionOpInterface>(op);
  return function && function.isExternal();
}

struct GpuMergeKernelModulesPass
    : public effc::impl::EffcGpuMergeKernelModulesPassBase<GpuMergeKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernelModules(module.getOps<gpu::GPUModuleOp>());
    if (kernelModules.empty())
      return;
    for (gpu::GPUModuleOp kernelModule : kernelModules) {
      for (Operation &op : kernelModule.getBody()->without_terminator())
        if (!isa<gpu::GPUFuncOp>(op) && !isDeclaration(op)) {
          op.emitError("effc-gpu-merge-kernel-modules: expected only gpu.func and function declarations in an "
                       "outlined gpu.module, found ")
              << op.getName();
          return signalPassFailure();
        }
      if (kernelModule.getSymName() == kMergedName) {
        kernelModule.emitError("effc-gpu-merge-kernel-modules: the module already has a gpu.module @")
            << kMergedName;
        return signalPassFailure();
      }
    }

    OpBuilder builder(kernelModules.front());
    auto merged = gpu::GPUModuleOp::create(builder, kernelModules.front().getLoc(), kMergedName);
    if (ArrayAttr targets = kernelModules.front().getTargetsAttr())
      merged.setTargetsAttr(targets);
    SymbolTable mergedSymbols(merged);
    // (old module, old kernel) -> new kernel name.
    DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    // Device functions that kernels call (micro-kernels: gpu-kernel-outlining copied the host's declaration
    // into each module that calls one) are declared once.
    llvm::StringSet<> declared;
    for (gpu::GPUModuleOp kernelModule : kernelModules) {
      for (Operation &op : llvm::make_early_inc_range(kernelModule.getBody()->without_terminator())) {
        if (!isDeclaration(op))
          continue;
        auto declaration = cast<FunctionOpInterface>(op);
        if (auto existing = mergedSymbols.lookup<FunctionOpInterface>(declaration.getName())) {
          if (existing.getFunctionType() != declaration.getFunctionType()) {
            declaration.emitError("effc-gpu-merge-kernel-modules: function ")
                << declaration.getName() << " is declared with two types: " << existing.getFunctionType()
                << " and " << declaration.getFunctionType();
            return signalPassFailure();
          }
          continue;
        }
        declaration->remove();
        mergedSymbols.insert(declaration);
        declared.insert(declaration.getName());
      }
    }
    for (gpu::GPUModuleOp kernelModule : kernelModules) {
      bool single = llvm::hasSingleElement(kernelModule.getOps<gpu::GPUFuncOp>());
      for (gpu::GPUFuncOp kernel : llvm::make_early_inc_range(kernelModule.getOps<gpu::GPUFuncOp>())) {
        StringAttr oldName = SymbolTable::getSymbolName(kernel);
        kernel->remove();
        // Name the kernel after its outlined module (unique in the parent); insert() uniquifies the rest.
        std::string newName = single ? kernelModule.getSymName().str()
                                     : (kernelModule.getSymName() + "_" + oldName.getValue()).str();
        SymbolTable::setSymbolName(kernel, newName);
        renamed[{kernelModule.getSymNameAttr(), oldName}] = mergedSymbols.insert(kernel);
      }
    }
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr kernel = launch.getKernel();
      auto it = renamed.find({kernel.getRootReference(), kernel.getLeafReference()});
      if (it == renamed.end()) {
        launch.emitError("effc-gpu-merge-kernel-modules: launch of unknown kernel ") << kernel;
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(merged.getSymNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (gpu::GPUModuleOp kernelModule : kernelModules)
      kernelModule.erase();
    // The host's copies of those declarations are no longer called from host code.
    for (Operation &op : llvm::make_early_inc_range(module.getBody()->getOperations()))
      if (isDeclaration(op) && declared.contains(cast<FunctionOpInterface>(op).getName()) &&
          SymbolTable::symbolKnownUseEmpty(&op, module))
        op.erase();
  }
};

} // namespace
