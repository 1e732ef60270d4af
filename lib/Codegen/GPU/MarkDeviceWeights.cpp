//===- MarkDeviceWeights.cpp - name the weights that kernels read ----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-mark-device-weights: a constant memref global that kernels read gets a copy named
// `effc_gpu_weight.<name>`, which lib/Target/Cuda.cpp serves from device memory. The kernels' operands are
// rebuilt from that copy just before each launch; host code (micro-kernels, copies, routing loops) keeps
// reading the original in the shared object's host memory, which the device copy is not.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUMARKDEVICEWEIGHTSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kPrefix = "effc_gpu_weight.";

/// The chain of view ops from a constant global's get_global to `value` (get_global first), if `value` is
/// such a view; views are pure, so the chain can be rebuilt elsewhere.
FailureOr<SmallVector<Operation *>> viewChainToGlobal(Value value) {
  SmallVector<Operation *> chain;
  while (Operation *def = value.getDefiningOp()) {
    chain.push_back(def);
    if (isa<memref::GetGlobalOp>(def)) {
      std::reverse(chain.begin(), chain.end());
      return chain;
    }
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view || def->getNumResults() != 1 || !isa<memref::SubViewOp, memref::CastOp, memref::CollapseShapeOp,
                                                      memref::ExpandShapeOp, memref::ReinterpretCastOp,
                                                      memref::TransposeOp>(def))
      return failure();
    value = view.getViewSource();
  }
  return failure();
}

struct GpuMarkDeviceWeightsPass
    : public effc::impl::EffcGpuMarkDeviceWeightsPassBase<GpuMarkDeviceWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    llvm::DenseMap<StringAttr, memref::GlobalOp> deviceCopies;

    auto deviceCopy = [&](memref::GlobalOp global) -> memref::GlobalOp {
      memref::GlobalOp &copy = deviceCopies[global.getSymNameAttr()];
      if (!copy) {
        OpBuilder builder(global);
        builder.setInsertionPointAfter(global);
        copy = cast<memref::GlobalOp>(builder.clone(*global));
        copy.setSymName((kPrefix + global.getSymName()).str());
        symbols.insert(copy); // uniques the name if taken
      }
      return copy;
    };

    // Operands a kernel reads: values used inside a gpu.launch but defined outside it, and gpu.launch_func
    // operands.
    auto rebuildForLaunch = [&](Operation *launch, Value captured, llvm::function_ref<bool(OpOperand &)> isDeviceUse) {
      FailureOr<SmallVector<Operation *>> chain = viewChainToGlobal(captured);
      if (failed(chain))
        return;
      auto get = cast<memref::GetGlobalOp>(chain->front());
      auto global = symbols.lookup<memref::GlobalOp>(get.getName());
      if (!global || !global.getConstant() || global.getSymName().starts_with(kPrefix))
        return;
      memref::GlobalOp copy = deviceCopy(global);
      OpBuilder builder(launch);
      IRMapping mapping;
      Value rebuilt;
      for (Operation *op : *chain) {
        Operation *clone = builder.clone(*op, mapping);
        if (auto cloneGet = dyn_cast<memref::GetGlobalOp>(clone))
          cloneGet.setName(copy.getSymName());
        rebuilt = clone->getResult(0);
        mapping.map(op->getResult(0), rebuilt);
      }
      captured.replaceUsesWithIf(rebuilt, isDeviceUse);
      for (Operation *op : llvm::reverse(*chain))
        if (op->use_empty())
          op->erase();
    };

    SmallVector<gpu::LaunchOp> launches;
    SmallVector<gpu::LaunchFuncOp> launchFuncs;
    module.walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
    module.walk([&](gpu::LaunchFuncOp launch) { launchFuncs.push_back(launch); });
    for (gpu::LaunchOp launch : launches) {
      llvm::SetVector<Value> captured;
      launch.getBody().walk([&](Operation *op) {
        for (Value operand : op->getOperands())
          if (!launch.getBody().isAncestor(operand.getParentRegion()))
            captured.insert(operand);
      });
      for (Value value : captured)
        rebuildForLaunch(launch, value, [&](OpOperand &use) {
          return launch.getBody().isAncestor(use.getOwner()->getParentRegion());
        });
    }
    for (gpu::LaunchFuncOp launch : launchFuncs) {
      llvm::SetVector<Value> operands(launch.getKernelOperands().begin(), launch.getKernelOperands().end());
      for (Value value : operands)
        rebuildForLaunch(launch, value, [&](OpOperand &use) { return use.getOwner() == launch.getOperation(); });
    }

    // Originals that only kernels read are no longer needed.
    for (auto [name, copy] : deviceCopies) {
      auto global = symbols.lookup<memref::GlobalOp>(name);
      if (global && SymbolTable::symbolKnownUseEmpty(global, module))
        global.erase();
    }
  }
};

} // namespace
