//===- EffOps.h - eff dialect ops -------------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// This file declares the ops and enums of the eff dialect (generated from dialects/Eff/IR/*.td).
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_DIALECT_EFF_IR_EFFOPS_H
#define EFFC_DIALECT_EFF_IR_EFFOPS_H

#include "effc/Dialect/Eff/IR/EffDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "effc/Dialect/Eff/IR/EffEnums.h.inc"

namespace mlir::eff {
/// Whether inferred result types `inferred` may be written as `actual`: same element types and ranks, and
/// each dimension equal or dynamic on one side (a written type may refine a dynamic dimension).
bool areCompatibleResultTypes(TypeRange inferred, TypeRange actual);
} // namespace mlir::eff

#define GET_OP_CLASSES
#include "effc/Dialect/Eff/IR/EffOps.h.inc"

#endif // EFFC_DIALECT_EFF_IR_EFFOPS_H
