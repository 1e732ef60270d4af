//===- Passes.td - effc code generation passes -------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Passes between linalg on tensors and the LLVM dialect. Alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_CODEGEN_PASSES_TD
#define EFFC_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def EffcApproximateMathPass : Pass<"effc-approximate-math"> {
  let summary = "Replace transcendental math ops by vectorisable polynomial approximations";
  let description = [{
    Expands `math.tanh`, `math.erf`, `math.exp`, `math.log` and friends into arithmetic (MLIR's polynomial
    approximations), so that the compiled module needs no libm and the activations vectorise. Accurate to
    about 1e-6 relative on f32.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def EffcPrepareEntryPointsPass : Pass<"effc-prepare-entry-points", "::mlir::ModuleOp"> {
  let summary = "Mark public functions as entry points with a C interface";
  let description = [{
    Requests `_mlir_ciface_<name>` wrappers (`llvm.emit_c_interface`) for every public `func.func`, which
    the target emitter wraps in the fixed-signature trampolines of runtime/include/effc/runtime/abi.h.
    Private functions stay internal.
  }];
}

#endif // EFFC_CODEGEN_PASSES_TD
