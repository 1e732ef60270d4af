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
    Reads every `eff.parameter` from a safetensors file (or the initializers of an `.onnx` model) and replaces
    it by an `arith.constant` holding the bytes as a `dense_resource` blob, so that codegen embeds them in the
    compiled module. The file is the
    `weights-file` option if given, else the module's `eff.weights` attribute, resolved relative to
    `base-dir` (the IR file's directory). `eff.weights` may also be an array of files (the shards of a
    Hugging Face checkpoint); each parameter must then be in exactly one of them. An array entry may also be
    `{file = "...", prefix = "..."}`: that file serves only the parameters named with the prefix, read under
    the name without it (how several PEFT adapters, whose tensors share names, attach to one model). A
    parameter with a view
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
// Quantization
//===----------------------------------------------------------------------===//

def EffQuantizePass : Pass<"eff-quantize", "::mlir::ModuleOp"> {
  let summary = "Quantize constant linear weights and pack them for the quantized micro-kernels";
  let description = [{
    Rewrites every `eff.linear` whose weight is an f32 constant, and every `eff.ffn` whose weights are
    (its up, gate and down projections become quantized linears around `eff.activation` / `eff.glu`), into
    `eff.quantized_linear` ops whose weights are packed at compile time into the layout the kernels in
    ukernels/quantized_gemm.c read. Linears with non-constant weights are left as they are. Under `int8`
    (and `int8:static`), `eff.experts` with constant f32 weights become `eff.quantized_experts`: each expert's
    up, gate and down weights packed as above into one row of stacked `[E, ·]` operands (activations always
    dynamic: calibration records no per-expert range); under the other schemes the experts stay f32.
    Under `int8`, an N:M `eff.sparse_linear` (eff-sparsify's output) with M = 4 and constant f32 weights
    becomes its int8 form: each row's stored values symmetric int8 (scale max|v|/127) with an f32 `scales`
    operand, and the i8 indices packed to 2 bits, four to a byte (0.625 bytes per dense 2:4 weight against
    int8's 1); activations always dynamic. Other patterns, CSR layers and the other schemes leave sparse
    layers f32.

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

def EffPruneHeadsPass : Pass<"eff-prune-heads", "::mlir::ModuleOp"> {
  let summary = "Structured pruning of attention heads, shrinking the projection weights";
  let description = [{
    For every `eff.attention` with `H` query and `Hkv` key/value heads of size `Dh`, removes the
    `round(fraction · H)` weakest heads (at least one head stays) by slicing the constant weights around it:

    - the query (and, for multi-head attention, key and value) projection: the rows `h·Dh .. h·Dh+Dh-1` of
      each removed head `h` from the `eff.linear` weight and bias, from LoRA B (`[N, r]`) of an `eff.lora`
      on it, from an `eff.ia3` vector on it, and the columns of an `eff.prefix` key/value prefix;
      `eff.rotary` stays per head and gets the new `num_heads`;
    - the output projection: the same columns of every `eff.linear` weight (and LoRA A) that reads the
      attention output; the head mask loses the removed entries.

    Scores: by default the squared L2 norm of the head's rows of `Wq` (and `Wk`, `Wv` for multi-head
    attention) plus its columns of `Wo`. When the attention carries `calibration.head_importance`
    (`array<f32>` of `H` values, higher is more important; attached by `effc --calibration=INPUTS.npz`,
    which runs the model on those inputs: the mean over tokens of the L2 norm of the head's slice of the
    attention output), those scores are used instead. Ties keep the lower head. The statistic, and the
    `calibration.input_rms` of the output projection, are sliced with the heads.

    Grouped-query attention (`1 < H/Hkv`): the same number of query heads, `round(fraction · H/Hkv)`, goes
    from every group (at least one stays per group), so keys, values and the KV cache keep all `Hkv` heads.
    Multi-head attention (`Hkv = H`): a removed head takes its key and value head with it, so the KV cache
    gets narrower: the layer results and function results that return it (`present_*`) and the function
    arguments that feed `past(...)` (`past_*`) are retyped to `[B, P, H'·Dh]`. The selection is a pure
    function of the weights (or of the statistics), so `prefill` and `decode` stay consistent: calibration
    measures one entry point, and an attention of another function without statistics takes those of the
    attention at the same place (same `eff.layer` index, same position in the layer).

    ```mlir
    // Before (2 heads of 2 channels, fraction = 0.5):
    %q = eff.linear %x, %wq, %bq : (tensor<?x?x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
    ...
    %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (...) -> tensor<?x?x4xf32>
    %o = eff.linear %a, %wo : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
    // After (head 0 was the weaker):
    %q = eff.linear %x, %wq2, %bq2 : (tensor<?x?x8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
    ...
    %a = eff.attention %q, %k, %v {num_heads = 1 : i64} : (...) -> tensor<?x?x2xf32>
    %o = eff.linear %a, %wo2 : (tensor<?x?x2xf32>, tensor<8x2xf32>) -> tensor<?x?x8xf32>
    ```

    #### Input invariant
    Runs after eff-materialize-parameters: projection weights are `arith.constant`s. An attention whose
    projections are not recognised (an input not computed by a constant `eff.linear` through
    `eff.lora`/`eff.ia3`/`eff.rotary`/`eff.prefix`, an output not read only by output projections, a KV
    tensor used elsewhere) is left unchanged with a warning that says why.

    #### Output IR
    Narrower weights and attention ops, `dense_resource` blobs named `<parameter>.pruned`. Errors: a
    fraction outside [0, 1], a `calibration.head_importance` that is not an `array<f32>` of `H` values.
  }];
  let options = [
    Option<"fraction", "fraction", "double", /*default=*/"0.0",
           "Fraction of the query heads of each attention to remove">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def EffPruneFfnPass : Pass<"eff-prune-ffn", "::mlir::ModuleOp"> {
  let summary = "Structured pruning of FFN neurons, shrinking the FFN weights";
  let description = [{
    For every `eff.ffn` (plain, or gated such as Llama's SwiGLU) of width `F`, removes the
    `round(fraction · F)` weakest intermediate neurons (at least one stays): rows of `W_up`, `b_up` and
    `W_gate`, and columns of `W_down`. `b_down` and the output are unchanged, so the rest of the model is too.

    Scores: by default `‖W_up[f, :]‖₂ · ‖W_down[:, f]‖₂` (times `‖W_gate[f, :]‖₂` when gated), the neuron's
    weight magnitude on the way in and out. When the FFN carries `calibration.input_rms` (`array<f32>` of
    `D` values: the RMS over the calibration tokens of each input channel, attached by
    `effc --calibration=INPUTS.npz`), the input rows are weighted by it as in Wanda (Sun et al., 2023,
    `|W|·‖X‖` per weight): `score_f = ‖W_up[f, :] ⊙ rms‖₂ · ‖W_down[:, f]‖₂` (times `‖W_gate[f, :] ⊙ rms‖₂`
    when gated), so a neuron with large weights on channels that are quiet in practice scores low.
    Ties keep the lower neuron.

    ```mlir
    // Before (fraction = 0.5):
    %y = eff.ffn %x up(%wu, %bu) down(%wd, %bd) gelu : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x8xf32>
    // After:
    %y = eff.ffn %x up(%wu2, %bu2) down(%wd2, %bd) gelu : (tensor<?x8xf32>, tensor<2x8xf32>, tensor<2xf32>, tensor<8x2xf32>, tensor<8xf32>) -> tensor<?x8xf32>
    ```

    #### Input invariant
    Runs after eff-materialize-parameters. An FFN whose weights are not constants is left unchanged with a
    warning. (LoRA and (IA)^3 attach to unfused `eff.linear`s, not to the fused `eff.ffn`; FFNs written as
    separate linear ops are not pruned by this pass.)

    #### Output IR
    Narrower FFN weights, `dense_resource` blobs named `<parameter>.pruned`. Errors: a fraction outside
    [0, 1], a `calibration.input_rms` that is not an `array<f32>` of `D` values.
  }];
  let options = [
    Option<"fraction", "fraction", "double", /*default=*/"0.0",
           "Fraction of the intermediate neurons of each FFN to remove">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def EffPruneExpertsPass : Pass<"eff-prune-experts", "::mlir::ModuleOp"> {
  let summary = "Remove experts from every Mixture-of-Experts layer, shrinking the router to match";
  let description = [{
    For every `eff.router` with `E` experts and the `eff.experts` ops that consume its indices, removes
    experts by slicing the expert axis: the rows of the router weight `[E, D]`, and the slices of the
    experts' `W_up`, `W_gate` (`[E, F, D]`), `W_down` (`[E, D, F]`), `b_up` (`[E, F]`) and `b_down`
    (`[E, D]`). Kept experts are renumbered in order; the router's outputs keep their shapes (`top_k`
    choices per token), so the rest of the model is unchanged. `eff.residual_moe` carries no expert-indexed
    weights (its coefficient is `[2, D]`) and needs no change.

    `experts=N` removes `N` experts per router: those with the fewest assignments on the calibration data
    when the router carries `calibration.expert_usage` (`array<i64>` of `E` counts, attached by
    `effc --calibration=INPUTS.npz`), else those with the smallest router rows (squared L2 norm). Ties keep
    the lower expert. `experts=list:i,j,...` removes the listed experts from every router. The statistic is
    sliced with the experts. A router of another function without statistics (`decode` beside `prefill`)
    takes those of the router at the same place (same `eff.layer` index and position in the layer).

    Note that with a `capacity_factor` the per-expert capacity `ceil(c · T · k / E)` is recomputed from
    the new `E`, as a model trained with fewer experts would.

    ```mlir
    // Before (experts=1; expert 2 was used least):
    %w, %i = eff.router softmax %x, %wr {top_k = 1 : i64} : (tensor<?x8xf32>, tensor<3x8xf32>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
    %y = eff.experts %x, %w, %i up(%wu) down(%wd) relu : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<3x16x8xf32>, tensor<3x8x16xf32>) -> tensor<?x8xf32>
    // After:
    %w, %i = eff.router softmax %x, %wr2 {top_k = 1 : i64} : (tensor<?x8xf32>, tensor<2x8xf32>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
    %y = eff.experts %x, %w, %i up(%wu2) down(%wd2) relu : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x16x8xf32>, tensor<2x8x16xf32>) -> tensor<?x8xf32>
    ```

    #### Input invariant
    Runs after eff-materialize-parameters. A router whose indices are used by anything but the routing
    indices of `eff.experts`, or whose (or whose experts') weights are not constants with one slice per
    expert, is left unchanged with a warning.

    #### Output IR
    Routers and experts with fewer experts, `dense_resource` blobs named `<parameter>.pruned`. Errors: a
    malformed spec, `N >= E` or a list of every expert, fewer than `top_k` experts left, a listed expert
    out of range or listed twice, a `calibration.expert_usage` that is not an `array<i64>` of `E` counts.
  }];
  let options = [
    Option<"experts", "experts", "std::string", /*default=*/"\"\"",
           "Experts to remove per router: a count N (least used, else smallest router rows) or list:i,j,...">,
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

def EffMergeAdaptersPass : Pass<"eff-merge-adapters", "::mlir::ModuleOp"> {
  let summary = "Fold LoRA and (IA)^3 adapters into the weights they adapt";
  let description = [{
    Removes the adapter ops whose effect is linear, so that the compiled model costs what the base model
    costs:

    - `eff.lora` (`y = base + (alpha / rank) · (x · Aᵀ) · Bᵀ`) whose `base` is an `eff.linear` of the same
      `input` with a constant weight `W`: the linear takes the merged weight `W + (alpha / rank) · B · A`
      (computed in double, rounded once) and replaces the `eff.lora`.
    - `eff.ia3` with a constant vector `l`: when the scaled tensor is the output of an `eff.linear` with
      constant weight (and bias), row `n` of the weight and `b[n]` are multiplied by `l[n]`
      (`(x · Wᵀ + b) ⊙ l = x · (diag(l) · W)ᵀ + l ⊙ b`); the key and value cases. Otherwise, when every user
      of the scaled tensor reads it as the input of an `eff.linear` with a constant weight, column `k` of
      each such weight is multiplied by `l[k]`; the FFN case, where the vector rescales the activation that
      the down projection reads. LoRA is merged first, so a linear -> lora -> ia3 chain folds completely.
    - `eff.prefix` and `eff.prompt` are left as they are: with constant prefixes they already are constant
      prefixes, concatenated with the sequence at run time; there is nothing to fold.
    - `eff.bottleneck_adapter` is left with a remark: its activation makes it nonlinear.

    A merged linear is a copy of the original with new constants; the original goes once nothing else uses
    it, so a base layer shared with another user stays intact for that user.

    ```mlir
    // Before:
    %y = eff.linear %x, %w, %b : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    %z = eff.lora %y, %x, %a, %bb {rank = 2 : i64, alpha = 4.0 : f32} : (tensor<?x4xf32>, tensor<?x8xf32>, tensor<2x8xf32>, tensor<4x2xf32>) -> tensor<?x4xf32>
    %s = eff.ia3 value %z, %l : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    // After (%w2 = diag(l) · (W + 2 · B · A), %b2 = l ⊙ b):
    %s = eff.linear %x, %w2, %b2 : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    ```

    #### Input invariant
    Runs after eff-materialize-parameters, before passes that change how weights are stored (eff-quantize,
    eff-sparsify): the weights it merges must be float `arith.constant`s.

    #### Output IR
    No `eff.lora` or `eff.ia3` left where they could be folded; merged weights are `dense_resource` blobs
    named `<parameter>.merged` (`<parameter>.merged.merged` when a LoRA and then an (IA)^3 vector fold into
    the same weight; inline constants stay inline). Every adapter left in place gets a remark
    saying why: a LoRA whose base is not an `eff.linear` of the same input or whose weights are not
    constants, an (IA)^3 vector that is not constant or whose tensor is neither produced by nor only read
    by such linears, and every bottleneck adapter. The pass has no options and never fails.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def EffKeepAdaptersPass : Pass<"eff-keep-adapters", "::mlir::ModuleOp"> {
  let summary = "Turn constant adapter weights into entry-point arguments, to choose adapters at run time";
  let description = [{
    Makes one compiled base model serve several adapters: every constant operand of an adapter op (LoRA
    `lora_a` and `lora_b`, the (IA)^3 `scale`, prefix `prefix_key` and `prefix_value`, the soft `prompt`,
    and the bottleneck adapter's weights and biases) becomes an extra argument of each entry point
    (`func.func` with a body) that uses it, with an `eff.name` argument attribute, so callers pass the
    adapter's tensors by name beside the model's inputs.

    Names: the weight's parameter name, i.e. the key of its `dense_resource` blob, which
    eff-materialize-parameters sets to the safetensors tensor name (the `_N` suffix that MLIR adds to a key
    used twice, e.g. for the same parameter in `prefill` and `decode`, is dropped when the unsuffixed blob
    holds the same data, so both entry points name the argument alike). An inline constant is named after
    its role (`lora_a`, `lora_b`, `ia3_scale`, `prefix_key`, `prefix_value`, `prompt`,
    `bottleneck_down_weight`, ...). A name that would clash with another weight or an existing input gets
    a `.1`, `.2`, ... suffix. One weight is one name module-wide: entry points sharing an adapter weight get
    arguments of the same name. Arguments are appended after the original ones, in the order in which the
    weights are first used in the function (model order). An adapter inside an `eff.layer` (isolated from
    above) receives its argument through a new trailing layer operand.

    ```mlir
    // Before (the blob of %a is named "layer.0.q.lora_A"):
    func.func @main(%x: tensor<?x8xf32> {eff.name = "x"}) -> ... {
      %a = arith.constant dense_resource<layer.0.q.lora_A> : tensor<2x8xf32>
      %z = eff.lora %y, %x, %a, %b {rank = 2 : i64, alpha = 4.0 : f32} : ...
    // After:
    func.func @main(%x: tensor<?x8xf32> {eff.name = "x"},
                    %arg1: tensor<2x8xf32> {eff.name = "layer.0.q.lora_A"}, %arg2: ...) -> ... {
      %z = eff.lora %y, %x, %arg1, %arg2 {rank = 2 : i64, alpha = 4.0 : f32} : ...
    ```

    #### Input invariant
    Runs after eff-materialize-parameters. Adapter operands that are not constants (already arguments, say)
    are left alone. An adapter nested in an op isolated from above other than `eff.layer` is an error.

    #### Output IR
    Entry points with extra, statically shaped adapter arguments; the adapter constants are gone. The pass
    has no options; running eff-merge-adapters before it leaves only the adapters that could not be folded.
  }];
}

//===----------------------------------------------------------------------===//
// Compile time (issue 7)
//===----------------------------------------------------------------------===//

def EffOutlineLayersPass : Pass<"eff-outline-layers", "::mlir::ModuleOp"> {
  let summary = "Compile structurally identical eff.layer ops once: one shared function per group";
  let description = [{
    Groups the `eff.layer` ops of the module (across functions) whose bodies are identical up to their
    weights: the same ops, attributes, types and use-def structure, where a weight is an `arith.constant`
    holding a `dense_resource` blob or a non-splat `dense` tensor and only its type must agree. Each group
    of at least `min-layers` layers becomes one private function `@layer_body_<k>` that takes the layer's
    operands followed by its weights (in the body's pre-order), and every layer of the group becomes a
    `func.call` with its own weights, which stay constants in the caller (so they are still embedded in
    `.rodata` or written to the external weights file, and effc-pack-weights still packs them). Layers that
    compression made different (pruned heads, other sparsity masks, static quantization scales) fall in
    groups of their own; groups smaller than `min-layers` stay `eff.layer` ops and are inlined by
    convert-eff-to-linalg as before. Everything after this pass (lowering, tiling, vectorisation, LLVM) then
    runs on one copy of the layer instead of one per layer.

    ```mlir
    // Before:
    %h1 = eff.layer 0 (%h0) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    ^bb0(%x: tensor<?x?x8xf32>):
      %w = arith.constant dense_resource<layer.0.w> : tensor<8x8xf32>
      %y = eff.linear %x, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
      eff.yield %y : tensor<?x?x8xf32>
    }
    %h2 = eff.layer 1 (%h1) ... { ... dense_resource<layer.1.w> ... }
    // After:
    %w0 = arith.constant dense_resource<layer.0.w> : tensor<8x8xf32>
    %h1 = call @layer_body_0(%h0, %w0) : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %w1 = arith.constant dense_resource<layer.1.w> : tensor<8x8xf32>
    %h2 = call @layer_body_0(%h1, %w1) : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    ...
    func.func private @layer_body_0(%x: tensor<?x?x8xf32>, %w: tensor<8x8xf32>) -> tensor<?x?x8xf32>
        attributes {effc.layers = array<i64: 0, 1>} {
      %y = eff.linear %x, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
      return %y : tensor<?x?x8xf32>
    }
    ```

    #### Input invariant
    eff IR after eff-materialize-parameters and the compression passes (weights are constants inside the
    layers, which are isolated from above).

    #### Output IR
    Fewer `eff.layer` ops; private functions with an `effc.layers` attribute listing the `index` of every
    layer that calls them. The statistics count the shared bodies and the layers that call one; with
    `emit-remarks`, a remark on each body says which layers share it. `min-layers` below 2 is an error.
  }];
  let options = [
    Option<"minLayers", "min-layers", "int64_t", /*default=*/"2",
           "Smallest group of identical layers that gets a shared function (at least 2)">,
    Option<"emitRemarks", "emit-remarks", "bool", /*default=*/"false",
           "Emit a remark per shared body naming the layers that call it">,
  ];
  let statistics = [
    Statistic<"numSharedBodies", "shared-bodies", "Functions outlined for groups of identical layers">,
    Statistic<"numSharingLayers", "sharing-layers", "Layers that call a shared body">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def EffPackQkvPass : Pass<"eff-pack-qkv", "::mlir::ModuleOp"> {
  let summary = "Run the query, key and value projections of one attention as one GEMM over concatenated weights";
  let description = [{
    For every `eff.attention` whose query, key and value are computed (through `eff.rotary`, which acts on
    the projection's output) by three linear layers of the same kind reading the same input, replaces the
    three layers by one whose weight is the concatenation of theirs along the output features, packed at
    compile time, and slices the result back into q, k and v with `tensor.extract_slice`. The narrower key
    and value of grouped-query attention are packed the same way. When only the key and value share an
    input (cross-attention), those two are packed.

    Layers packed: `eff.linear` with constant weights of one element type (a missing bias becomes zeros when
    another layer has one); `eff.sparse_linear` in N:M format with one pattern (values and indices are rows);
    and `eff.quantized_linear` of one scheme with the same in_features, group size, bits and static
    activation parameters, whose packed operands concatenate because their layouts are 16-row blocks (every
    layer but the last must have a multiple of 16 out_features). A projection behind a kept adapter
    (`eff.lora`, `eff.ia3`), a CSR sparse layer or non-constant weights is left as it is. Each decision is recorded as an `effc-fusion` remark of kind `qkv-projection` on the
    attention op (`effc --report-fusions`).

    ```mlir
    // Before:
    %q = eff.linear %x, %wq, %bq : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %k = eff.linear %x, %wk, %bk : (tensor<?x?x64xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %v = eff.linear %x, %wv, %bv : (tensor<?x?x64xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %a = eff.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 1 : i64} : ...
    // After:
    %w = arith.constant dense_resource<wq.qkv> : tensor<96x64xf32>
    %b = arith.constant dense_resource<bq.qkv> : tensor<96xf32>
    %qkv = eff.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<96x64xf32>, tensor<96xf32>) -> tensor<?x?x96xf32>
    %q = tensor.extract_slice %qkv[0, 0, 0] [%d0, %d1, 64] [1, 1, 1] : tensor<?x?x96xf32> to tensor<?x?x64xf32>
    %k = tensor.extract_slice %qkv[0, 0, 64] [%d0, %d1, 16] [1, 1, 1] : tensor<?x?x96xf32> to tensor<?x?x16xf32>
    %v = tensor.extract_slice %qkv[0, 0, 80] [%d0, %d1, 16] [1, 1, 1] : tensor<?x?x96xf32> to tensor<?x?x16xf32>
    %a = eff.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 1 : i64} : ...
    ```

    #### Input invariant
    eff IR after eff-materialize-parameters and the compression passes (weights are constants). effc runs
    this pass first in the CPU lowering pipeline at -O1 and up, unless `--no-pack-qkv`.

    #### Output IR
    The same computation with fewer, wider linear layers; the outputs are unchanged up to the kernels'
    summation order (the same dot products, so in practice bit-identical). The constants of the layers
    replaced are erased when nothing else uses them.
  }];
  let statistics = [
    Statistic<"numPacked", "packed", "Attention ops whose projections were packed into one linear layer">,
    Statistic<"numLeft", "left", "Attention ops whose projections were left as they are">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect"];
}

#endif // EFFC_DIALECT_EFF_TRANSFORMS_PASSES_TD
