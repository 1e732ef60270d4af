//===- Passes.td - eff dialect passes ----------------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Passes over eff IR. Groups related passes under one banner; alphabetical within a group.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_DIALECT_EFF_TRANSFORMS_PASSES_TD
#define EFFC_DIALECT_EFF_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def EffMaterializeParametersPass : Pass<"eff-materialize-parameters", "::mlir::ModuleOp"> {
  let summary = "Replace eff.parameter ops by constants read from the weights file";
  let description = [{
    Reads every `eff.parameter` from a safetensors file and replaces it by an `arith.constant` holding the
    bytes as a `dense_resource` blob, so that codegen embeds them in the compiled module. The file is the
    `weights-file` option if given, else the module's `eff.weights` attribute, resolved relative to
    `base-dir` (the IR file's directory). `eff.weights` may also be an array of files (the shards of a
    Hugging Face checkpoint); each parameter must then be in exactly one of them. A parameter with a view
    (`transpose`, `row_offset`, `stack`; see eff.parameter) is assembled from the stored tensors.

    ```mlir
    // Before (module attributes {eff.weights = "tiny.safetensors"}):
    %w = eff.parameter "fc.weight" : tensor<64x32xf32>
    // After:
    %w = arith.constant dense_resource<fc.weight> : tensor<64x32xf32>
    ```

    #### Output IR
    No `eff.parameter` remains. A missing parameter, one found in two shards, or one whose dtype or shape
    differs from its declared type (through its view), is an error at the parameter's location.
  }];
  let options = [
    Option<"weightsFile", "weights-file", "std::string", /*default=*/"\"\"",
           "Safetensors file to read (overrides the module's eff.weights attribute)">,
    Option<"baseDir", "base-dir", "std::string", /*default=*/"\"\"",
           "Directory that a relative eff.weights path is resolved against">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

def EffExposeCalibrationProbesPass : Pass<"eff-expose-calibration-probes", "::mlir::ModuleOp"> {
  let summary = "Make the tensors calibration measures extra results of the entry point";
  let description = [{
    The first step of calibration (see include/effc/Dialect/Eff/Transforms/CalibrationProbes.h): the output
    of every `eff.attention`, the expert indices of every `eff.router`, and the input of every `eff.linear`
    and `eff.ffn` of the entry point become extra results named `calibration_probe_<k>`, in a fixed order
    (each distinct tensor once). Probes inside an `eff.layer` leave it as extra layer results. The compiler
    runs the instrumented copy on the calibration inputs and attaches the statistics to the original ops.

    ```mlir
    // Before:
    func.func @f(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
      %y = eff.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
      return %y : tensor<?x4xf32>
    }
    // After:
    func.func @f(%x: tensor<?x8xf32>) -> (tensor<?x4xf32>, tensor<?x8xf32> {eff.name = "calibration_probe_0"}) {
      %y = eff.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
      return %y, %x : tensor<?x4xf32>, tensor<?x8xf32>
    }
    ```
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"\"",
           "Entry point to instrument (default: the first public function)">,
  ];
}

#endif // EFFC_DIALECT_EFF_TRANSFORMS_PASSES_TD
