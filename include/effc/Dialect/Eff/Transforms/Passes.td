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
    `base-dir` (the IR file's directory).

    ```mlir
    // Before (module attributes {eff.weights = "tiny.safetensors"}):
    %w = eff.parameter "fc.weight" : tensor<64x32xf32>
    // After:
    %w = arith.constant dense_resource<fc.weight> : tensor<64x32xf32>
    ```

    #### Output IR
    No `eff.parameter` remains. A missing parameter, or one whose dtype or shape differs from its declared
    type, is an error at the parameter's location.
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
// Quantization
//===----------------------------------------------------------------------===//

def EffQuantizePass : Pass<"eff-quantize", "::mlir::ModuleOp"> {
  let summary = "Quantize constant linear weights and pack them for the quantized micro-kernels";
  let description = [{
    Rewrites every `eff.linear` whose weight is an f32 constant, and every `eff.ffn` whose weights are
    (its up, gate and down projections become quantized linears around `eff.activation` / `eff.glu`), into
    `eff.quantized_linear` ops whose weights are packed at compile time into the layout the kernels in
    ukernels/quantized_gemm.c read. Linears with non-constant weights (and `eff.experts`) are left as they are.

    `scheme`:
    * `int8`, `int8:static`: per-output-channel symmetric int8 weights (scale max|w|/127) with their column
      sums, multiplied with VNNI dot products (W8A8). Activations are quantized to u8 per row at run time
      (`activations=dynamic`), or statically (`int8:static` or `activations=static`, the spelling effc's
      `--quantize` can express) with scale `calibration.input_absmax / 127` and zero point 128, read from
      the `calibration.input_absmax` attribute that effc's `--calibration` attaches to each `eff.linear` and
      `eff.ffn`. An FFN's down projection stays dynamic (its hidden activation has no statistic).
    * `int4`, `int4:gG`, `int4:asym`, `int4:gG:asym`: weight-only int4 in groups of G along the input
      features; symmetric (scale max|w|/7, zero point 8) or, with `asym` or `symmetric=false`, asymmetric
      (scale (max−min)/15 and a zero point per group). G must be even and divide K.
    * `lut:B`, `lut:B:gG`: binary-coding quantization with B ∈ [1, 4] planes, W ≈ Σ_i α_i·b_i, b ∈ {−1, +1},
      α per output row and group of G (a multiple of 8 dividing K), fitted greedily and then refined by
      alternating least squares; the kernel multiplies through lookup tables (LUT-GEMM).
    * `bf16`: bf16 weights and activations with f32 accumulation.

    Without `:gG`, a layer's group is the largest multiple of 8 up to 128 that divides its K (128 for
    transformer widths, K itself for K = 64).

    ```mlir
    // Before (eff-quantize{scheme=int4:g64}):
    %w = arith.constant dense_resource<fc.weight> : tensor<256x768xf32>
    %y = eff.linear %x, %w, %b : (tensor<?x768xf32>, tensor<256x768xf32>, tensor<256xf32>) -> tensor<?x256xf32>
    // After:
    %p = arith.constant dense_resource<fc.weight.int4> : tensor<98304xi8>
    %s = arith.constant dense_resource<fc.weight.scales> : tensor<3072xf32>
    %y = eff.quantized_linear int4 %x, %p scales(%s) bias(%b)
        {group_size = 64 : i64, in_features = 768 : i64, out_features = 256 : i64}
        : (tensor<?x768xf32>, tensor<98304xi8>, tensor<3072xf32>, tensor<256xf32>) -> tensor<?x256xf32>
    ```

    #### Errors
    An unknown scheme, `lut` bits outside [1, 4], a malformed group, or static activations with another
    scheme than int8 fail the pass. At a layer: a group size that does not divide its input features, a K
    that no default group divides, or static activations without a `calibration.input_absmax` attribute
    ("static activations need calibration data: pass --calibration").
  }];
  let options = [
    Option<"scheme", "scheme", "std::string", /*default=*/"\"int8\"",
           "int8[:static], int4[:gGROUP][:asym], lut:BITS[:gGROUP] or bf16">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "int4: symmetric quantization (false: asymmetric, with zero points)">,
    Option<"activations", "activations", "std::string", /*default=*/"\"dynamic\"",
           "int8 activations: dynamic (per row at run time) or static (calibration.input_absmax)">,
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
