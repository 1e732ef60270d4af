//===- PrepareEntryPoints.cpp - request C interfaces for entry points ------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace effc {
#define GEN_PASS_DEF_EFFCPREPAREENTRYPOINTSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {
struct EffcPrepareEntryPointsPass : effc::impl::EffcPrepareEntryPointsPassBase<EffcPrepareEntryPointsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), UnitAttr::get(&getContext()));
      // Names were recorded in the entry point's signature; LLVM has no use for them.
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        func.removeArgAttr(i, "eff.name");
      for (unsigned i = 0; i < func.getNumResults(); ++i)
        func.removeResultAttr(i, StringAttr::get(&getContext(), "eff.name"));
    }
  }
};
} // namespace
