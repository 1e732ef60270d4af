//===- EffDialect.h - eff dialect declaration -------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// This file declares the eff dialect (generated from dialects/Eff/IR/EffBase.td).
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_DIALECT_EFF_IR_EFFDIALECT_H
#define EFFC_DIALECT_EFF_IR_EFFDIALECT_H

#include "mlir/IR/Dialect.h"

#include "effc/Dialect/Eff/IR/EffDialect.h.inc"

#endif // EFFC_DIALECT_EFF_IR_EFFDIALECT_H
