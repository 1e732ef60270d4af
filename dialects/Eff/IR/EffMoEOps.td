//===- EffMoEOps.td - eff Mixture-of-Experts ops -----------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Mixture-of-Experts: token-choice routing (softmax or sigmoid gating, top-k, Switch top-1, capacity
// factor), stacked experts, and the residual (PR-MoE) form. Semantics: docs/spec/eff.md#mixture-of-experts-ops.
//
//===----------------------------------------------------------------------===//

#ifndef EFF_MOE_OPS_TD
#define EFF_MOE_OPS_TD

include "Eff/IR/EffBase.td"

def OpGroupMoEOps : OpDocGroup {
  let summary = "Mixture-of-Experts ops";
  let description = "Routing, experts and residual MoE.";
}

let opDocGroup = OpGroupMoEOps in {

def Eff_RouterOp : Eff_Op<"router", [Pure, Eff_InferTypes]> {
  let summary = "Token-choice top-k routing with optional capacity";
  let description = [{
    Scores experts with `gating(x · Wᵀ)` (softmax over experts, or sigmoid) for `input` `[..., D]` and
    `weight` `[E, D]`, and keeps each token's `top_k` best experts in descending order: `indices` `[..., k]`
    (i64) and their scores as `weights` `[..., k]`, divided by their sum when `normalize` is set (Mixtral).
    With `capacity_factor = c` each expert admits at most `ceil(c · T · k / E)` assignments (first choices
    before second choices, then token order); a dropped assignment gets weight 0. Switch Transformer's routing
    is `top_k = 1, gating = softmax, capacity_factor = 1.25`.

    ```mlir
    %w, %i = eff.router softmax %x, %wg {top_k = 2 : i64, normalize}
        : (tensor<?x4096xf32>, tensor<8x4096xf32>) -> (tensor<?x2xf32>, tensor<?x2xi64>)
    ```
    See docs/spec/eff.md#effrouter.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_Float2DTensor:$weight, I64Attr:$top_k,
                   Eff_GatingKindAttr:$gating,
                   UnitAttr:$normalize, OptionalAttr<F32Attr>:$capacity_factor);
  let results = (outs Eff_FloatTensor:$weights, TensorOf<[I64]>:$indices);
  let assemblyFormat = "$gating $input `,` $weight attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    int64_t getNumExperts() { return getWeight().getType().getDimSize(0); }
  }];
}

def Eff_ExpertsOp : Eff_Op<"experts", [Pure, AttrSizedOperandSegments, Eff_InferTypes]> {
  let summary = "E stacked feed-forward experts applied to routed tokens";
  let description = [{
    `y[t] = Σ_j weights[t, j] · FFN_{indices[t, j]}(x[t])`, where `FFN_e` is `eff.ffn` with the `e`-th slices of
    `W_up`, `W_gate` (`[E, F, D]`), `W_down` (`[E, D, F]`), `b_up` (`[E, F]`) and `b_down` (`[E, D]`).

    ```mlir
    %y = eff.experts %x, %w, %i up(%wu) gate(%wg) down(%wd) silu
        : (tensor<?x4096xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<8x14336x4096xf32>, tensor<8x14336x4096xf32>, tensor<8x4096x14336xf32>) -> tensor<?x4096xf32>
    ```
    See docs/spec/eff.md#effexperts.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_FloatTensor:$routing_weights, Eff_IndexTensor:$routing_indices,
                   Eff_Float3DTensor:$up_weight, Optional<Eff_Float2DTensor>:$up_bias,
                   Optional<Eff_Float3DTensor>:$gate_weight, Eff_Float3DTensor:$down_weight,
                   Optional<Eff_Float2DTensor>:$down_bias, Eff_ActivationKindAttr:$activation);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $routing_weights `,` $routing_indices `up` `(` $up_weight (`,` $up_bias^)? `)`
    (`gate` `(` $gate_weight^ `)`)? `down` `(` $down_weight (`,` $down_bias^)? `)` $activation
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    int64_t getNumExperts() { return getUpWeight().getType().getDimSize(0); }
  }];
}

def Eff_ResidualMoeOp : Eff_Op<"residual_moe", [Pure, Eff_InferTypes]> {
  let summary = "Residual MoE (PR-MoE): a dense MLP beside the experts, mixed per token";
  let description = [{
    `c = softmax(x · W_coefᵀ + b_coef)` (`W_coef` `[2, D]`), then `y = dense · c[..., 0] + experts · c[..., 1]`,
    where `dense` and `experts` are the outputs of the dense MLP and of the experts on `input`.

    ```mlir
    %y = eff.residual_moe %x, %dense, %moe, %wc, %bc
        : (tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<2x768xf32>, tensor<2xf32>) -> tensor<?x?x768xf32>
    ```
    See docs/spec/eff.md#effresidual_moe.
  }];
  let arguments = (ins Eff_FloatTensor:$input, Eff_FloatTensor:$dense, Eff_FloatTensor:$experts,
                   Eff_Float2DTensor:$coefficient_weight, Optional<Eff_Float1DTensor>:$coefficient_bias);
  let results = (outs Eff_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $dense `,` $experts `,` $coefficient_weight (`,` $coefficient_bias^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

} // opDocGroup

#endif // EFF_MOE_OPS_TD
