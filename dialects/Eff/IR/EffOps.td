//===- EffOps.td - all ops of the eff dialect --------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The root of the eff dialect's ODS: tablegen runs on this file (include/effc/Dialect/Eff/IR/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//

#ifndef EFF_OPS_TD
#define EFF_OPS_TD

include "Eff/IR/EffBase.td"
include "Eff/IR/EffTransformerOps.td"
include "Eff/IR/EffAdapterOps.td"
include "Eff/IR/EffMoEOps.td"
include "Eff/IR/EffQuantizedOps.td"
include "Eff/IR/EffSparseOps.td"

#endif // EFF_OPS_TD
