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
// Structural compression (issue 4): passes that remove layers, heads, FFN neurons and experts, or fold
// adapters, by rewriting constant weights. They run right after eff-materialize-parameters.
//===----------------------------------------------------------------------===//

def EffDropLayersPass : Pass<"eff-drop-layers", "::mlir::ModuleOp"> {
  let summary = "Remove whole transformer layers (Sajjad et al., \"Poor man's BERT\")";
  let description = [{
    Removes `eff.layer` ops from every function of the module, with the same selection in each, so that
    e.g. `prefill` and `decode` stay consistent. Layers are ordered by their `index` attribute; with `n`
    layers the strategies of Sajjad et al. are:

    - `top:K`: the last K layers (the paper's best strategy for BERT-like models);
    - `bottom:K`: the first K layers;
    - `alternate`: every other layer starting at position 1 (0-based positions 1, 3, 5, ..., i.e. the
      paper's even-numbered layers when counting from 1); the first layer is always kept;
    - `symmetric:K`: K consecutive layers from the middle, positions `(n-K)/2 .. (n-K)/2 + K - 1`, keeping
      the bottom and top layers;
    - `list:i,j,...`: the layers whose `index` attribute is listed.

    A dropped layer's first result (the residual stream) is replaced by its first operand. Its other results
    (the KV cache `present_key_<i>`/`present_value_<i>` of a decoder) may only be returned by the function:
    those function results are removed. Function arguments that only fed dropped layers (`past_key_<i>`...)
    are removed; a remaining `tensor.dim` of such an argument (the decode step reads the past length from
    `past_key_0`) is rewired to the argument in the same operand position of the first kept layer.

    The kept layers are renumbered `0 .. n-K-1` in order, and so are the `eff.name`s of the arguments and
    results that belong to one layer: a name ending in `_<old index>` becomes `_<new index>`
    (`past_key_3` -> `past_key_1`), so that a generation loop written for an `m`-layer model works unchanged.

    ```mlir
    // Before (drop "bottom:1"):
    func.func @decode(%x: tensor<?x1x8xf32>, %pk0: tensor<?x?x8xf32> {eff.name = "past_key_0"}, ...,
                      %pk1: tensor<?x?x8xf32> {eff.name = "past_key_1"}, ...) -> (...) {
      %len = tensor.dim %pk0, %c1 : tensor<?x?x8xf32>
      %h0, %k0, %v0 = eff.layer 0 (%x, %pk0, %pv0) ...
      %h1, %k1, %v1 = eff.layer 1 (%h0, %pk1, %pv1) ...
      return %h1, %k0, %v0, %k1, %v1 : ...
    }
    // After:
    func.func @decode(%x: tensor<?x1x8xf32>, %pk1: tensor<?x?x8xf32> {eff.name = "past_key_0"}, ...) -> (...) {
      %len = tensor.dim %pk1, %c1 : tensor<?x?x8xf32>
      %h1, %k1, %v1 = eff.layer 0 (%x, %pk1, %pv1) ...
      return %h1, %k1, %v1 : ...
    }
    ```

    #### Input invariant
    Layers are `eff.layer` ops directly in a function body; each one's first operand and first result are
    the residual stream, of the same type.

    #### Output IR
    The same functions without the dropped layers, with fewer arguments and results where the dropped
    layers had their own. Errors: a malformed spec, `K` larger than the number of layers, a listed index
    that is not a layer or is listed twice, and a dropped layer's result or argument used in a way that
    cannot be rewired.
  }];
  let options = [
    Option<"layers", "layers", "std::string", /*default=*/"\"\"",
           "Layers to drop: top:K, bottom:K, alternate, symmetric:K or list:i,j,...">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::tensor::TensorDialect"];
}

#endif // EFFC_DIALECT_EFF_TRANSFORMS_PASSES_TD
