//===- MarkDeviceWeights.cpp - name the weights that kernels read ----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-mark-device-weights: constant memref globals get the prefix `effc_gpu_weight.`,
// which lib/Target/Cuda.cpp recognises to serve them from device-visible memory.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUMARKDEVICEWEIGHTSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kPrefix = "effc_gpu_weight.";

struct GpuMarkDeviceWeightsPass
    : public effc::impl::EffcGpuMarkDeviceWeightsPassBase<GpuMarkDeviceWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto global : llvm::make_early_inc_range(module.getOps<memref::GlobalOp>())) {
      if (!global.getConstant() || global.getSymName().starts_with(kPrefix))
        continue;
      StringAttr newName = StringAttr::get(&getContext(), kPrefix + global.getSymName());
      if (failed(symbols.rename(global, newName))) {
        global.emitError("effc-gpu-mark-device-weights: cannot rename the global to ") << newName;
        return signalPassFailure();
      }
    }
  }
};

} // namespace
