// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg="fused-attention-max-head-dim=128" | FileCheck %s

// fused-attention-max-head-dim (set to 128 by --target=cuda, the limit of ukernels/cuda/attention.cu): the fused
// kernel only for a static head size of at most the limit; other attention takes the linalg lowering.

// Head size 128 (256 / 2): the fused kernel.
// CHECK-LABEL: func.func @at_limit(
// CHECK:         call @effc_uk_attention_f32(
// CHECK-NOT:     math.exp
func.func @at_limit(%q: tensor<?x?x256xf32>, %k: tensor<?x?x256xf32>, %v: tensor<?x?x256xf32>) -> tensor<?x?x256xf32> {
  %o = eff.attention %q, %k, %v {num_heads = 2 : i64, causal}
      : (tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>) -> tensor<?x?x256xf32>
  return %o : tensor<?x?x256xf32>
}

// -----

// Head size 256: linalg.
// CHECK-LABEL: func.func @over_limit(
// CHECK-NOT:     call @effc_uk_attention_f32
// CHECK:         math.exp
func.func @over_limit(%q: tensor<?x?x256xf32>, %k: tensor<?x?x256xf32>, %v: tensor<?x?x256xf32>) -> tensor<?x?x256xf32> {
  %o = eff.attention %q, %k, %v {num_heads = 1 : i64}
      : (tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>) -> tensor<?x?x256xf32>
  return %o : tensor<?x?x256xf32>
}

// -----

// A dynamic hidden size (so a dynamic head size): linalg.
// CHECK-LABEL: func.func @dynamic_head(
// CHECK-NOT:     call @effc_uk_attention_f32
// CHECK:         math.exp
func.func @dynamic_head(%q: tensor<?x?x?xf32>, %k: tensor<?x?x?xf32>, %v: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %o = eff.attention %q, %k, %v {num_heads = 2 : i64}
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  return %o : tensor<?x?x?xf32>
}
