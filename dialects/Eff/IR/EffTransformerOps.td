//===- EffTransformerOps.td - eff transformer ops ----------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Weights, embeddings, linear algebra, norms, activations, rotary embedding, attention, FFN and the layer
// container. Each op's semantics and numbered constraints: docs/spec/eff.md#<op>.
//
//===----------------------------------------------------------------------===//

#ifndef EFF_TRANSFORMER_OPS_TD
#define EFF_TRANSFORMER_OPS_TD

include "Eff/IR/EffBase.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def OpGroupTransformerOps : OpDocGroup {
  let summary = "Transformer ops";
  let description = "Embeddings, linear algebra, norms, activations, attention, FFN and layers.";
}

let opDocGroup = OpGroupTransformerOps in {

//===----------------------------------------------------------------------===//
// eff.parameter
//===----------------------------------------------------------------------===//

def Eff_ParameterOp : Eff_Op<"parameter", [Pure]> {
  let summary = "A named weight kept outside the IR";
  let description = [{
    Refers to a weight by name in the weights file named by the enclosing module's `eff.weights` attribute
    (safetensors, relative to the IR file) or given to the driver with `--weights`, so that a large model never
    has to live in IR text. Small weights for tests may instead be inline `arith.constant`s.

    ```mlir
    %w = eff.parameter "encoder.layer.0.attention.query.weight" : tensor<768x768xf32>
    ```
    Imported checkpoints that store a weight in another layout are read through a view, so the IR still sees
    the `[N, K]` weights the ops expect: `transpose` reads a 2-D stored tensor transposed (GPT-2's Conv1D keeps
    `[K, N]`), `row_offset` takes the result's rows from that row on (the query, key and value parts of a fused
    projection), and `stack` names the stored tensors to stack along a new leading dimension (one per expert;
    `name` then only names the result).

    ```mlir
    %k = eff.parameter "h.0.attn.c_attn.weight" {transpose, row_offset = 768 : i64} : tensor<768x768xf32>
    %up = eff.parameter "layers.0.w3" {stack = ["layers.0.experts.0.w3.weight", "layers.0.experts.1.w3.weight"]}
        : tensor<2x14336x4096xf32>
    ```
    See docs/spec/eff.md#effparameter.
  }];
  let arguments = (ins StrAttr:$name, OptionalAttr<StrArrayAttr>:$stack, UnitAttr:$transpose,
                   OptionalAttr<I64Attr>:$row_offset);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// eff.embedding
//===----------------------------------------------------------------------===//

def Eff_EmbeddingOp : Eff_Op<"embedding", [Pure, Eff_InferTypes]> {
  let summary = "Gathers embedding rows (token, position or segment embedding)";
  let description = [{
    `result[i..., :] = table[indices[i...], :]` for a table `[V, D]`. `kind` records the table's role for
    passes and reports and does not change the semantics.

    ```mlir
    %e = eff.embedding token %table[%ids] : (tensor<30522x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32>
    ```
    See docs/spec/eff.md#effembedding.
  }];
  let arguments = (ins Eff_EmbeddingKindAttr:$kind, Eff_Float2DTensor:$table, Eff_IndexTensor:$indices);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = [{
    $kind $table `[` $indices `]` attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// eff.position_ids
//===----------------------------------------------------------------------===//

def Eff_PositionIdsOp : Eff_Op<"position_ids", [Pure, Eff_InferTypes]> {
  let summary = "Positions `offset + s` for a batch of sequences";
  let description = [{
    `result[b..., s] = offset + s`, shaped and typed like `ids` (`[..., S]`). `offset` is the number of
    tokens already in the KV cache (0 when absent).

    ```mlir
    %pos = eff.position_ids %ids offset %past_len : tensor<?x?xi64>
    ```
    See docs/spec/eff.md#effposition_ids.
  }];
  let arguments = (ins Eff_IndexTensor:$ids, Optional<Index>:$offset);
  let results = (outs Eff_IndexTensor:$result);
  let assemblyFormat = "$ids (`offset` $offset^)? attr-dict `:` type($ids)";
}

//===----------------------------------------------------------------------===//
// eff.linear
//===----------------------------------------------------------------------===//

def Eff_LinearOp : Eff_Op<"linear", [Pure, Eff_InferTypes]> {
  let summary = "Linear layer, `y = x · Wᵀ + b`";
  let description = [{
    Applies a linear map over the last dimension: `input` `[..., K]`, `weight` `[N, K]` (PyTorch's
    `nn.Linear` layout), optional `bias` `[N]`; the result is `[..., N]`.

    ```mlir
    %y = eff.linear %x, %w, %b : (tensor<?x128x768xf32>, tensor<3072x768xf32>, tensor<3072xf32>) -> tensor<?x128x3072xf32>
    ```
    See docs/spec/eff.md#efflinear.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_Float2DTensor:$weight, Optional<Eff_Float1DTensor>:$bias);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// eff.matmul
//===----------------------------------------------------------------------===//

def Eff_MatmulOp : Eff_Op<"matmul", [Pure, Eff_InferTypes]> {
  let summary = "(Batch) matrix product over the last two dimensions";
  let description = [{
    `lhs` is `[batch..., M, K]`; `rhs` is `[batch..., K, N]`, or `[batch..., N, K]` with `transpose_b`, or rank 2
    (shared by every batch). The result is `[batch..., M, N]`.

    ```mlir
    %s = eff.matmul %a, %b {transpose_b} : (tensor<2x8x64xf32>, tensor<2x16x64xf32>) -> tensor<2x8x16xf32>
    ```
    See docs/spec/eff.md#effmatmul.
  }];
  let arguments = (ins Eff_FloatTensor:$lhs, Eff_FloatTensor:$rhs, UnitAttr:$transpose_b);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

def Eff_LayerNormOp : Eff_Op<"layer_norm", [Pure, Eff_InferTypes]> {
  let summary = "Layer normalisation over the last dimension";
  let description = [{
    `y = (x − mean) / sqrt(var + epsilon) · gamma + beta` over the last dimension, with the biased variance;
    `beta` is optional.

    ```mlir
    %y = eff.layer_norm %x, %gamma, %beta {epsilon = 1.0e-12 : f32} : (tensor<?x?x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    ```
    See docs/spec/eff.md#efflayer_norm.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_Float1DTensor:$gamma, Optional<Eff_Float1DTensor>:$beta,
                   DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma (`,` $beta^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Eff_RmsNormOp : Eff_Op<"rms_norm", [Pure, Eff_InferTypes]> {
  let summary = "Root-mean-square normalisation over the last dimension";
  let description = [{
    `y = x / sqrt(mean(x²) + epsilon) · gamma` over the last dimension (Llama, T5).

    ```mlir
    %y = eff.rms_norm %x, %gamma {epsilon = 1.0e-6 : f32} : (tensor<?x?x4096xf32>, tensor<4096xf32>) -> tensor<?x?x4096xf32>
    ```
    See docs/spec/eff.md#effrms_norm.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_Float1DTensor:$gamma,
                   DefaultValuedAttr<F32Attr, "1.0e-6">:$epsilon);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = "$input `,` $gamma attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

def Eff_SoftmaxOp : Eff_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis";
  let description = [{
    `exp(x − max) / Σ exp(x − max)` along `axis` (negative values count from the end).

    ```mlir
    %p = eff.softmax %x {axis = -1 : i64} : tensor<?x12x128x128xf32>
    ```
    See docs/spec/eff.md#effsoftmax.
  }];
  let arguments = (ins Eff_FloatTensor:$input, DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Eff_ActivationOp : Eff_Op<"activation", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise activation (relu, gelu, gelu_tanh, silu, sigmoid, tanh)";
  let description = [{
    `gelu` is the exact erf form (BERT), `gelu_tanh` the tanh approximation (GPT-2), `silu` is `x·sigmoid(x)`.

    ```mlir
    %y = eff.activation gelu %x : tensor<?x?x3072xf32>
    ```
    See docs/spec/eff.md#effactivation.
  }];
  let arguments = (ins Eff_ActivationKindAttr:$kind, Eff_FloatTensor:$input);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
}

def Eff_GluOp : Eff_Op<"glu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gated linear unit, `activation(gate) · up` (SwiGLU, GeGLU)";
  let description = [{
    `silu` gives SwiGLU (Llama); `gelu` or `gelu_tanh` give GeGLU (T5 v1.1).

    ```mlir
    %h = eff.glu silu %gate, %up : tensor<?x?x11008xf32>
    ```
    See docs/spec/eff.md#effglu.
  }];
  let arguments = (ins Eff_ActivationKindAttr:$kind, Eff_FloatTensor:$gate, Eff_FloatTensor:$up);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = "$kind $gate `,` $up attr-dict `:` type($gate)";
}

def Eff_AddOp : Eff_Op<"add", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "Residual add";
  let description = [{
    Elementwise sum of two tensors of the same type: the residual connection.

    ```mlir
    %r = eff.add %x, %h : tensor<?x?x768xf32>
    ```
    See docs/spec/eff.md#effadd.
  }];
  let arguments = (ins Eff_FloatTensor:$lhs, Eff_FloatTensor:$rhs);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs)";
}

//===----------------------------------------------------------------------===//
// eff.rotary
//===----------------------------------------------------------------------===//

def Eff_RotaryOp : Eff_Op<"rotary", [Pure, Eff_InferTypes]> {
  let summary = "Rotary position embedding (RoPE), per head";
  let description = [{
    Rotates channel pairs of each head of `input` (`[..., S, H·Dh]`) by `positions · theta^(−2i/R)`, with
    `R = rotary_dim` (default `Dh`). Pairs are `(x[i], x[i + R/2])` (rotate-half, Llama/GPT-NeoX) or, with
    `interleaved`, `(x[2i], x[2i+1])` (GPT-J). Channels at or beyond `R` pass through.

    ```mlir
    %q2 = eff.rotary %q, %pos {num_heads = 32 : i64, theta = 10000.0 : f32} : (tensor<?x?x4096xf32>, tensor<?x?xi64>) -> tensor<?x?x4096xf32>
    ```
    See docs/spec/eff.md#effrotary.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_IndexTensor:$positions, I64Attr:$num_heads,
                   DefaultValuedAttr<F32Attr, "10000.0">:$theta, OptionalAttr<I64Attr>:$rotary_dim,
                   UnitAttr:$interleaved);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = "$input `,` $positions attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// Head size: the input's last dimension divided by the number of heads, or kDynamic.
    int64_t getHeadDim();
  }];
}

//===----------------------------------------------------------------------===//
// eff.attention
//===----------------------------------------------------------------------===//

def Eff_AttentionOp : Eff_Op<"attention", [Pure, AttrSizedOperandSegments, Eff_InferTypes]> {
  let summary = "Scaled dot-product attention: multi-head, grouped-query or multi-query";
  let description = [{
    Attention over heads in the hidden layout: `query` `[B, S, H·Dh]`, `key` and `value` `[B, L, Hkv·Dh]`.
    Query head `h` reads key/value head `h / (H / Hkv)`. Scores are scaled by `scale` (default `1/√Dh`),
    plus the optional additive `bias` (`[B or 1, H, S, L]`: T5's relative position bias, ALiBi), masked
    causally (query `i` sees keys `j ≤ i + L − S`) when `causal` is set and where the padding `mask`
    (`[B, L]`) is zero, normalised with softmax, multiplied by the optional `head_mask` (`[H]`) and applied
    to the values.

    With `past(%past_key, %past_value)` (the KV cache, `[B, P, Hkv·Dh]`) the keys and values attended to are
    the concatenation of past and new along the sequence, and the op also returns that concatenation as
    `present` (two results) for the next decoding step.

    ```mlir
    %o = eff.attention %q, %k, %v mask(%m) {num_heads = 12 : i64}
        : (tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32>
    %o, %pk, %pv = eff.attention %q, %k, %v past(%kc, %vc) {num_heads = 32 : i64, num_kv_heads = 8 : i64, causal}
        : (tensor<1x1x4096xf32>, tensor<1x1x1024xf32>, tensor<1x1x1024xf32>, tensor<1x?x1024xf32>, tensor<1x?x1024xf32>)
          -> (tensor<1x1x4096xf32>, tensor<1x?x1024xf32>, tensor<1x?x1024xf32>)
    %t5 = eff.attention %q, %k, %v mask(%m) bias(%pb) {num_heads = 8 : i64, scale = 1.0 : f32}
        : (tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<?x?x512xf32>, tensor<?x?xi64>, tensor<1x8x?x?xf32>)
          -> tensor<?x?x512xf32>
    ```
    See docs/spec/eff.md#effattention.
  }];
  let arguments = (ins Eff_Float3DTensor:$query, Eff_Float3DTensor:$key, Eff_Float3DTensor:$value,
                   Optional<Eff_MaskTensor>:$mask, Optional<4DTensorOf<[F32, F16, BF16]>>:$bias,
                   Optional<Eff_Float1DTensor>:$head_mask,
                   Optional<Eff_Float3DTensor>:$past_key, Optional<Eff_Float3DTensor>:$past_value,
                   I64Attr:$num_heads, OptionalAttr<I64Attr>:$num_kv_heads, OptionalAttr<F32Attr>:$scale,
                   UnitAttr:$causal);
  let results = (outs Eff_Float3DTensor:$output, Variadic<Eff_Float3DTensor>:$present);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` `(` $mask^ `)`)? (`bias` `(` $bias^ `)`)? (`head_mask` `(` $head_mask^ `)`)?
    (`past` `(` $past_key^ `,` $past_value `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let builders = [
    // Without a bias: the operands in their order before `bias` was added (types inferred).
    OpBuilder<(ins "Value":$query, "Value":$key, "Value":$value, "Value":$mask, "Value":$head_mask,
                   "Value":$past_key, "Value":$past_value, "IntegerAttr":$num_heads, "IntegerAttr":$num_kv_heads,
                   "FloatAttr":$scale, "UnitAttr":$causal), [{
      build($_builder, $_state, query, key, value, mask, /*bias=*/Value(), head_mask, past_key, past_value,
            num_heads, num_kv_heads, scale, causal);
    }]>
  ];
  let extraClassDeclaration = [{
    /// Number of key/value heads (num_kv_heads, defaulting to num_heads).
    int64_t getNumKeyValueHeads();
    /// Head size, or kDynamic when the query's hidden size is dynamic.
    int64_t getHeadDim();
  }];
}

//===----------------------------------------------------------------------===//
// eff.relative_position_bias
//===----------------------------------------------------------------------===//

def Eff_RelativePositionBiasOp : Eff_Op<"relative_position_bias", [Pure, Eff_InferTypes]> {
  let summary = "T5's bucketed relative position bias, `[1, H, S, L]`, for eff.attention's `bias`";
  let description = [{
    `result[0, h, i, j] = table[bucket(j − (i + L − S)), h]` for `S = query_length` queries (the last `S`
    of `L` positions, as for a KV cache) and `L = key_length` keys, with `table` `[num_buckets, H]`. The bucket
    of a relative position is exact for small distances and logarithmic up to `max_distance`; `bidirectional`
    (encoders) gives later keys their own half of the buckets, otherwise (decoders) later keys share bucket 0.

    ```mlir
    %pb = eff.relative_position_bias %table[%s, %l] {max_distance = 128 : i64, bidirectional}
        : tensor<32x8xf32> -> tensor<1x8x?x?xf32>
    ```
    See docs/spec/eff.md#effrelative_position_bias.
  }];
  let arguments = (ins Eff_Float2DTensor:$table, Index:$query_length, Index:$key_length,
                   DefaultValuedAttr<I64Attr, "128">:$max_distance, UnitAttr:$bidirectional);
  let results = (outs 4DTensorOf<[F32, F16, BF16]>:$result);
  let assemblyFormat = [{
    $table `[` $query_length `,` $key_length `]` attr-dict `:` type($table) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// The bucket of the relative position `relative` (key position − query position) for a table of
    /// `numBuckets` rows (docs/spec/eff.md#effrelative_position_bias); the verifier guarantees valid sizes.
    static int64_t bucketOf(int64_t relative, int64_t numBuckets, int64_t maxDistance, bool bidirectional);
  }];
}

//===----------------------------------------------------------------------===//
// eff.ffn
//===----------------------------------------------------------------------===//

def Eff_FfnOp : Eff_Op<"ffn", [Pure, AttrSizedOperandSegments, Eff_InferTypes]> {
  let summary = "Position-wise feed-forward network, plain or gated";
  let description = [{
    `h = activation(x · W_upᵀ + b_up)`, or gated `h = activation(x · W_gateᵀ) · (x · W_upᵀ + b_up)`; then
    `y = h · W_downᵀ + b_down`. `W_up`, `W_gate` are `[F, D]`, `W_down` `[D', F]`, biases `[F]` and `[D']`.

    ```mlir
    %y = eff.ffn %x up(%w1, %b1) down(%w2, %b2) gelu : (tensor<?x?x768xf32>, tensor<3072x768xf32>, tensor<3072xf32>, tensor<768x3072xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    %y = eff.ffn %x up(%wu) gate(%wg) down(%wd) silu : (tensor<?x?x4096xf32>, tensor<11008x4096xf32>, tensor<11008x4096xf32>, tensor<4096x11008xf32>) -> tensor<?x?x4096xf32>
    ```
    See docs/spec/eff.md#effffn.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_Float2DTensor:$up_weight, Optional<Eff_Float1DTensor>:$up_bias,
                   Optional<Eff_Float2DTensor>:$gate_weight, Eff_Float2DTensor:$down_weight,
                   Optional<Eff_Float1DTensor>:$down_bias, Eff_ActivationKindAttr:$activation);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = [{
    $input `up` `(` $up_weight (`,` $up_bias^)? `)` (`gate` `(` $gate_weight^ `)`)?
    `down` `(` $down_weight (`,` $down_bias^)? `)` $activation attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// eff.layer
//===----------------------------------------------------------------------===//

def Eff_LayerOp : Eff_Op<"layer", [IsolatedFromAbove, RecursiveMemoryEffects, SingleBlock]> {
  let summary = "One transformer block, with its index in the model";
  let description = [{
    A container for one transformer block, isolated from above: its operands bind to the entry block's
    arguments and its results are the operands of the terminating `eff.yield`. `index` is the block's
    position in the original model: layer passes (dropping, reordering) find blocks by it, and it stays as
    provenance after a rewrite. The first operand and first result are the residual stream, so dropping a
    layer replaces its first result with its first operand.

    ```mlir
    %h1 = eff.layer 0 (%h0, %mask) : (tensor<?x?x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32> {
    ^bb0(%x: tensor<?x?x768xf32>, %m: tensor<?x?xi64>):
      ...
      eff.yield %out : tensor<?x?x768xf32>
    }
    ```
    See docs/spec/eff.md#efflayer.
  }];
  let arguments = (ins I64Attr:$index, Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $index ` ` `(` $inputs `)` attr-dict `:` functional-type($inputs, results) $body
  }];
  let hasRegionVerifier = 1;
}

def Eff_YieldOp : Eff_Op<"yield", [Pure, Terminator, ReturnLike, HasParent<"LayerOp">]> {
  let summary = "Returns the results of an `eff.layer`";
  let description = [{
    ```mlir
    eff.yield %out : tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

} // opDocGroup

#endif // EFF_TRANSFORMER_OPS_TD
