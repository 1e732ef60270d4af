//===- InitAll.cpp - register everything effc provides --------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/InitAll.h"

#include "effc/Codegen/Passes.h"
#include "effc/Conversion/Passes.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"
#include "effc/Pipelines/Pipelines.h"
#include "effc/Dialect/Eff/IR/EffDialect.h"

#include "mlir/IR/DialectRegistry.h"

void effc::registerAllDialects(mlir::DialectRegistry &registry) { registry.insert<mlir::eff::EffDialect>(); }

void effc::registerAllPasses() {
  registerEffcCodegenPasses();
  registerEffcConversionPasses();
  mlir::eff::registerEffTransformsPasses();
  registerPipelines();
}
