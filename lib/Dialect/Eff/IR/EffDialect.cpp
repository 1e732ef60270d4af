//===- EffDialect.cpp - eff dialect registration ---------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// This file registers the eff dialect's ops and holds the generated dialect and enum definitions.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffDialect.h"
#include "effc/Dialect/Eff/IR/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

#include "effc/Dialect/Eff/IR/EffDialect.cpp.inc"
#include "effc/Dialect/Eff/IR/EffEnums.cpp.inc"

void EffDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "effc/Dialect/Eff/IR/EffOps.cpp.inc"
      >();
}
