//===- effc-opt.cpp - effc's optimizer driver -----------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// effc-opt runs effc's and MLIR's passes on textual or bytecode IR: the workhorse of the lit suite.
//
//===----------------------------------------------------------------------===//

#include "effc/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  effc::registerAllPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  effc::registerAllDialects(registry);
  // gpu-module-to-binary (effc-cuda-pipeline) translates kernels to LLVM IR inside the pass.
  mlir::registerAllToLLVMIRTranslations(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "effc optimizer driver: eff and upstream MLIR passes\n", registry));
}
