//===- Passes.td - effc conversion passes ------------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_CONVERSION_PASSES_TD
#define EFFC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertEffToLinalgPass : Pass<"convert-eff-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower eff ops to linalg, tensor, arith, math and scf on tensors";
  let description = [{
    Rewrites every eff op into destination-passing linalg ops on tensors (contractions and elementwise
    `linalg.generic`s), `tensor` reshapes and slices, and `scf` loops for routing. `eff.layer` bodies are
    inlined. The semantics implemented are those of docs/spec/eff.md.

    #### Input invariant
    `eff.parameter` ops have been materialised (`eff-materialize-parameters`).

    #### Output IR
    No eff ops remain; any op that cannot be lowered is reported with its location. Compressed linear
    layers become calls of micro-kernels (`func.call @effc_uk_*` on buffers, see ukernels/ukernel.h).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // EFFC_CONVERSION_PASSES_TD
