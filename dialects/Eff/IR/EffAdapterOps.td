//===- EffAdapterOps.td - eff adapter ops ------------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Parameter-efficient fine-tuning adapters: LoRA, (IA)^3, prefix tuning, prompt tuning and bottleneck
// adapters. BitFit needs no op: its trained biases are ordinary bias operands. Semantics:
// docs/spec/eff.md#adapter-ops.
//
//===----------------------------------------------------------------------===//

#ifndef EFF_ADAPTER_OPS_TD
#define EFF_ADAPTER_OPS_TD

include "Eff/IR/EffBase.td"

def OpGroupAdapterOps : OpDocGroup {
  let summary = "Adapter ops";
  let description = "LoRA, (IA)^3, prefix and prompt tuning, bottleneck adapters.";
}

let opDocGroup = OpGroupAdapterOps in {

def Eff_LoraOp : Eff_Op<"lora", [Pure, Eff_InferTypes]> {
  let summary = "Low-rank adaptation of a linear layer";
  let description = [{
    `y = base + (alpha / rank) · (x · Aᵀ) · Bᵀ`, where `base` is the adapted linear layer's output
    `[..., N]`, `input` its input `[..., K]`, `lora_a` is `[rank, K]` and `lora_b` `[N, rank]`. Folding merges
    the update into the base layer's weight; kept live, `lora_a` and `lora_b` may be run-time inputs.

    ```mlir
    %y = eff.lora %base, %x, %a, %b {rank = 8 : i64, alpha = 16.0 : f32}
        : (tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<8x768xf32>, tensor<768x8xf32>) -> tensor<?x?x768xf32>
    ```
    See docs/spec/eff.md#efflora.
  }];
  let arguments = (ins Eff_FloatTensor:$base, Eff_FloatTensor:$input, Eff_Float2DTensor:$lora_a,
                   Eff_Float2DTensor:$lora_b, I64Attr:$rank, F32Attr:$alpha);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = [{
    $base `,` $input `,` $lora_a `,` $lora_b attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The factor `alpha / rank` applied to the low-rank update.
    double getScaling() { return getAlpha().convertToDouble() / static_cast<double>(getRank()); }
  }];
}

def Eff_Ia3Op : Eff_Op<"ia3", [Pure, Eff_InferTypes]> {
  let summary = "(IA)^3 rescaling of keys, values or the FFN activation";
  let description = [{
    `y = x · scale` over the last dimension (`scale` is `[D]`). `target` says what is rescaled, so that
    folding knows which weight absorbs the vector: the key or value projection, or the FFN's down projection.

    ```mlir
    %k2 = eff.ia3 key %k, %l_k : (tensor<?x?x768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    ```
    See docs/spec/eff.md#effia3.
  }];
  let arguments = (ins Eff_Ia3TargetAttr:$target, Eff_FloatTensor:$input, Eff_Float1DTensor:$scale);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = "$target $input `,` $scale attr-dict `:` functional-type(operands, results)";
}

def Eff_PrefixOp : Eff_Op<"prefix", [Pure, Eff_InferTypes]> {
  let summary = "Prefix tuning: prepends learned key and value prefixes";
  let description = [{
    Prepends `prefix_key` and `prefix_value` (`[P, D]`, shared by the batch) to the sequence dimension of
    `key` and `value` (`[B, L, D]`), giving `[B, P + L, D]` each. A padding mask given to the attention that
    consumes them must cover all `P + L` positions.

    ```mlir
    %k2, %v2 = eff.prefix %k, %v, %pk, %pv
        : (tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<16x768xf32>, tensor<16x768xf32>) -> (tensor<?x?x768xf32>, tensor<?x?x768xf32>)
    ```
    See docs/spec/eff.md#effprefix.
  }];
  let arguments = (ins Eff_Float3DTensor:$key, Eff_Float3DTensor:$value, Eff_Float2DTensor:$prefix_key,
                   Eff_Float2DTensor:$prefix_value);
  let results = (outs Eff_Float3DTensor:$result_key, Eff_Float3DTensor:$result_value);
  let assemblyFormat = [{
    $key `,` $value `,` $prefix_key `,` $prefix_value attr-dict `:` functional-type(operands, results)
  }];
}

def Eff_PromptOp : Eff_Op<"prompt", [Pure, Eff_InferTypes]> {
  let summary = "Prompt tuning: prepends soft prompt embeddings";
  let description = [{
    Prepends `prompt` (`[P, D]`) to the sequence of `embeds` (`[B, S, D]`), giving `[B, P + S, D]`.

    ```mlir
    %e2 = eff.prompt %embeds, %soft : (tensor<?x?x768xf32>, tensor<20x768xf32>) -> tensor<?x?x768xf32>
    ```
    See docs/spec/eff.md#effprompt.
  }];
  let arguments = (ins Eff_Float3DTensor:$embeds, Eff_Float2DTensor:$prompt);
  let results = (outs Eff_Float3DTensor:$result);
  let assemblyFormat = "$embeds `,` $prompt attr-dict `:` functional-type(operands, results)";
}

def Eff_BottleneckAdapterOp : Eff_Op<"bottleneck_adapter", [Pure, AttrSizedOperandSegments, Eff_InferTypes]> {
  let summary = "Bottleneck adapter with its residual (Houlsby, Pfeiffer)";
  let description = [{
    `y = x + (activation(x · W_downᵀ + b_down) · W_upᵀ + b_up)`, with `W_down` `[R, D]` and `W_up` `[D, R]`.

    ```mlir
    %y = eff.bottleneck_adapter %x down(%wd, %bd) up(%wu, %bu) relu
        : (tensor<?x?x768xf32>, tensor<64x768xf32>, tensor<64xf32>, tensor<768x64xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    ```
    See docs/spec/eff.md#effbottleneck_adapter.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_Float2DTensor:$down_weight,
                   Optional<Eff_Float1DTensor>:$down_bias, Eff_Float2DTensor:$up_weight,
                   Optional<Eff_Float1DTensor>:$up_bias, Eff_ActivationKindAttr:$activation);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = [{
    $input `down` `(` $down_weight (`,` $down_bias^)? `)` `up` `(` $up_weight (`,` $up_bias^)? `)` $activation
    attr-dict `:` functional-type(operands, results)
  }];
}

} // opDocGroup

#endif // EFF_ADAPTER_OPS_TD
