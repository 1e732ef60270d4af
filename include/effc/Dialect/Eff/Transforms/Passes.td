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
// Sparsity
//===----------------------------------------------------------------------===//

def EffSparsifyPass : Pass<"eff-sparsify", "::mlir::ModuleOp"> {
  let summary = "Prune constant linear weights to N:M or unstructured sparsity, stored compressed";
  let description = [{
    Rewrites every `eff.linear` whose weight is an f32 constant (and the linears of `eff.ffn`, plain or
    gated, whose weights all are, after splitting the FFN into `eff.linear`, `eff.activation`/`eff.glu` and
    `eff.linear`) by magnitude pruning; no calibration data is needed.

    * `pattern=N:M` (`1 <= N < M <= 128`, `M` dividing K): in each group of M consecutive weights along K,
      the N of largest magnitude stay (ties keep the lower index). The layer becomes `eff.sparse_linear nm`
      with values and i8 in-group indices `[N_out, K·N/M]`; its kernel reads only those and does N/M of the
      multiply-adds.
    * `pattern=unstructured:F` (`0 <= F < 1`): the `floor(F · size)` weights of smallest magnitude become
      zero (ties: lower flat index first), per weight matrix (`scope=layer`) or over all rewritten weights
      together (`scope=global`, flat index in op order). A matrix with at least `csr-threshold` zeros becomes
      `eff.sparse_linear csr`; below it the zeros are kept in the dense weight, which the CSR kernel would
      not beat, and a remark says so.

    Either way the layer computes exactly `x · W_prunedᵀ + b`.

    ```mlir
    // Before (pattern=2:4):
    %w = arith.constant dense<[[1.0, -3.0, 0.5, 2.0]]> : tensor<1x4xf32>
    %y = eff.linear %x, %w : (tensor<?x4xf32>, tensor<1x4xf32>) -> tensor<?x1xf32>
    // After:
    %v = arith.constant dense<[[-3.0, 2.0]]> : tensor<1x2xf32>
    %i = arith.constant dense<[[1, 3]]> : tensor<1x2xi8>
    %y = eff.sparse_linear nm %x, %v, %i {in_features = 4 : i64, m = 4 : i64, n = 2 : i64, out_features = 1 : i64}
        : (tensor<?x4xf32>, tensor<1x2xf32>, tensor<1x2xi8>) -> tensor<?x1xf32>
    ```

    #### Output IR
    Weights given as `dense_resource` blobs stay blobs; inline `dense<...>` weights stay inline. A malformed
    pattern, N >= M, N < 1, a fraction outside [0, 1) or an unknown scope fails the pass with a message; M
    not dividing a rewritten layer's K is an error at that layer.
  }];
  let options = [
    Option<"pattern", "pattern", "std::string", /*default=*/"\"2:4\"",
           "Sparsity: 'N:M' (e.g. 2:4) or 'unstructured:FRACTION' (e.g. unstructured:0.9)">,
    Option<"scope", "scope", "std::string", /*default=*/"\"layer\"",
           "Unstructured pruning threshold per weight matrix ('layer') or over all of them ('global')">,
    Option<"csrThreshold", "csr-threshold", "double", /*default=*/"0.6",
           "Least fraction of zeros for which a matrix is stored as CSR: the CSR kernel breaks even with "
           "dense f32 at about 50-55% zeros at BERT-base shapes (bench/sparsity.py), 0.6 keeps a margin">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif // EFFC_DIALECT_EFF_TRANSFORMS_PASSES_TD
