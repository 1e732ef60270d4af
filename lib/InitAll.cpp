//===- InitAll.cpp - register everything effc provides --------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/InitAll.h"

#include "effc/Conversion/Passes.h"
#include "effc/Dialect/Eff/IR/EffDialect.h"

#include "mlir/IR/DialectRegistry.h"

void effc::registerAllDialects(mlir::DialectRegistry &registry) { registry.insert<mlir::eff::EffDialect>(); }

void effc::registerAllPasses() { registerEffcConversionPasses(); }
