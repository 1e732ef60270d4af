// RUN: effc-opt %s -split-input-file '--eff-prune-heads=fraction=0.5' | FileCheck %s

// eff-prune-heads (lib/Dialect/Eff/Transforms/PruneHeads.cpp).

// Two heads of two channels; head 1's rows of Wq/Wk/Wv and columns of Wo are larger, so head 0 (channels 0
// and 1) goes: from the projections' weights and biases, LoRA B, the (IA)^3 vector, the head mask and the
// output projection's columns.
// CHECK-LABEL: func.func @mha
// CHECK: %[[WQ:.*]] = arith.constant dense<{{\[\[}}3.000000e+00, 3.000000e+00], [4.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: %[[BQ:.*]] = arith.constant dense<[3.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: %[[Q:.*]] = eff.linear %{{.*}}, %[[WQ]], %[[BQ]] : (tensor<1x3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x3x2xf32>
// CHECK-NEXT: %[[LB:.*]] = arith.constant dense<{{\[\[}}3.000000e+00], [4.000000e+00]]> : tensor<2x1xf32>
// CHECK-NEXT: %[[QL:.*]] = eff.lora %[[Q]], %{{.*}}, %{{.*}}, %[[LB]] {{.*}} -> tensor<1x3x2xf32>
// CHECK: eff.linear
// CHECK-NEXT: %[[L3:.*]] = arith.constant dense<[3.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: eff.ia3 key %{{.*}}, %[[L3]] : (tensor<1x3x2xf32>, tensor<2xf32>) -> tensor<1x3x2xf32>
// CHECK: %[[HM:.*]] = arith.constant dense<2.000000e+00> : tensor<1xf32>
// CHECK-NEXT: %[[A:.*]] = eff.attention %[[QL]], {{.*}} head_mask(%[[HM]]) {num_heads = 1 : i64} : ({{.*}}) -> tensor<1x3x2xf32>
// CHECK-NEXT: %[[WO:.*]] = arith.constant dense<{{\[\[}}3.000000e+00, 4.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: eff.linear %[[A]], %[[WO]] : (tensor<1x3x2xf32>, tensor<2x2xf32>) -> tensor<1x3x2xf32>
func.func @mha(%x: tensor<1x3x2xf32>) -> tensor<1x3x2xf32> {
  %w = arith.constant dense<[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]]> : tensor<4x2xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %la = arith.constant dense<[[1.0, 1.0]]> : tensor<1x2xf32>
  %lb = arith.constant dense<[[1.0], [2.0], [3.0], [4.0]]> : tensor<4x1xf32>
  %q = eff.linear %x, %w, %b : (tensor<1x3x2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<1x3x4xf32>
  %ql = eff.lora %q, %x, %la, %lb {rank = 1 : i64, alpha = 1.0 : f32} : (tensor<1x3x4xf32>, tensor<1x3x2xf32>, tensor<1x2xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
  %k = eff.linear %x, %w, %b : (tensor<1x3x2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<1x3x4xf32>
  %ik = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %k3 = eff.ia3 key %k, %ik : (tensor<1x3x4xf32>, tensor<4xf32>) -> tensor<1x3x4xf32>
  %v = eff.linear %x, %w, %b : (tensor<1x3x2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<1x3x4xf32>
  %hm = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %a = eff.attention %ql, %k3, %v head_mask(%hm) {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<2xf32>) -> tensor<1x3x4xf32>
  %wo = arith.constant dense<[[1.0, 1.0, 3.0, 4.0], [1.0, 1.0, 3.0, 4.0]]> : tensor<2x4xf32>
  %o = eff.linear %a, %wo : (tensor<1x3x4xf32>, tensor<2x4xf32>) -> tensor<1x3x2xf32>
  return %o : tensor<1x3x2xf32>
}

// -----

// Grouped-query attention (4 query heads of 2 channels in 2 groups): one query head goes from each group
// (the weaker of 0/1 and of 2/3: heads 0 and 3), the keys, values and cache keep both KV heads; rotary gets
// num_heads = 2.
// CHECK-LABEL: func.func @gqa
// CHECK: %[[BQ:.*]] = arith.constant dense<[2.000000e+00, 2.000000e+00, 3.000000e+00, 3.000000e+00]> : tensor<4xf32>
// CHECK-NEXT: %[[Q:.*]] = eff.linear %{{.*}}, %{{.*}}, %[[BQ]] : (tensor<1x3x1xf32>, tensor<4x1xf32>, tensor<4xf32>) -> tensor<1x3x4xf32>
// CHECK: %[[R:.*]] = eff.rotary %[[Q]], %{{.*}} {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3xi64>) -> tensor<1x3x4xf32>
// CHECK: eff.attention %[[R]], %{{.*}}, %{{.*}} past(%{{.*}}, %{{.*}}) {num_heads = 2 : i64, num_kv_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> (tensor<1x3x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>)
// CHECK: eff.linear %{{.*}}, %{{.*}} : (tensor<1x3x4xf32>, tensor<1x4xf32>) -> tensor<1x3x1xf32>
func.func @gqa(%x: tensor<1x3x1xf32>, %pos: tensor<1x3xi64>, %pk: tensor<1x?x4xf32>, %pv: tensor<1x?x4xf32>) -> (tensor<1x3x1xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) {
  %wq = arith.constant dense<[[1.0], [1.0], [2.0], [2.0], [3.0], [3.0], [0.5], [0.5]]> : tensor<8x1xf32>
  %bq = arith.constant dense<[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 0.5, 0.5]> : tensor<8xf32>
  %wkv = arith.constant dense<1.0> : tensor<4x1xf32>
  %q = eff.linear %x, %wq, %bq : (tensor<1x3x1xf32>, tensor<8x1xf32>, tensor<8xf32>) -> tensor<1x3x8xf32>
  %qr = eff.rotary %q, %pos {num_heads = 4 : i64} : (tensor<1x3x8xf32>, tensor<1x3xi64>) -> tensor<1x3x8xf32>
  %k = eff.linear %x, %wkv : (tensor<1x3x1xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
  %v = eff.linear %x, %wkv : (tensor<1x3x1xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
  %a, %k2, %v2 = eff.attention %qr, %k, %v past(%pk, %pv) {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<1x3x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> (tensor<1x3x8xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>)
  %wo = arith.constant dense<1.0> : tensor<1x8xf32>
  %o = eff.linear %a, %wo : (tensor<1x3x8xf32>, tensor<1x8xf32>) -> tensor<1x3x1xf32>
  return %o, %k2, %v2 : tensor<1x3x1xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>
}

// -----

// Multi-head attention in a decode layer: the KV cache loses the pruned head, so the layer's past arguments
// and present results and the function's signature get narrower.
// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%{{.*}}: tensor<1x1x2xf32>, %{{.*}}: tensor<1x?x1xf32> {eff.name = "past_key_0"}, %{{.*}}: tensor<1x?x1xf32> {eff.name = "past_value_0"})
// CHECK-SAME: -> (tensor<1x1x2xf32>, tensor<1x?x1xf32> {eff.name = "present_key_0"}, tensor<1x?x1xf32> {eff.name = "present_value_0"})
// CHECK: eff.layer 0 ({{.*}}) : (tensor<1x1x2xf32>, tensor<1x?x1xf32>, tensor<1x?x1xf32>) -> (tensor<1x1x2xf32>, tensor<1x?x1xf32>, tensor<1x?x1xf32>)
// CHECK: eff.attention {{.*}} {num_heads = 1 : i64} : (tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x1x1xf32>, tensor<1x?x1xf32>, tensor<1x?x1xf32>) -> (tensor<1x1x1xf32>, tensor<1x?x1xf32>, tensor<1x?x1xf32>)
func.func @decode(%x: tensor<1x1x2xf32>, %pk: tensor<1x?x2xf32> {eff.name = "past_key_0"}, %pv: tensor<1x?x2xf32> {eff.name = "past_value_0"})
    -> (tensor<1x1x2xf32>, tensor<1x?x2xf32> {eff.name = "present_key_0"}, tensor<1x?x2xf32> {eff.name = "present_value_0"}) {
  %h, %k2, %v2 = eff.layer 0 (%x, %pk, %pv) : (tensor<1x1x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>) -> (tensor<1x1x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>) {
  ^bb0(%a0: tensor<1x1x2xf32>, %a1: tensor<1x?x2xf32>, %a2: tensor<1x?x2xf32>):
    %w = arith.constant dense<[[1.0, 0.0], [0.0, 2.0]]> : tensor<2x2xf32>
    %q = eff.linear %a0, %w : (tensor<1x1x2xf32>, tensor<2x2xf32>) -> tensor<1x1x2xf32>
    %k = eff.linear %a0, %w : (tensor<1x1x2xf32>, tensor<2x2xf32>) -> tensor<1x1x2xf32>
    %v = eff.linear %a0, %w : (tensor<1x1x2xf32>, tensor<2x2xf32>) -> tensor<1x1x2xf32>
    %a, %pk2, %pv2 = eff.attention %q, %k, %v past(%a1, %a2) {num_heads = 2 : i64} : (tensor<1x1x2xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>) -> (tensor<1x1x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>)
    %o = eff.linear %a, %w : (tensor<1x1x2xf32>, tensor<2x2xf32>) -> tensor<1x1x2xf32>
    eff.yield %o, %pk2, %pv2 : tensor<1x1x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>
  }
  return %h, %k2, %v2 : tensor<1x1x2xf32>, tensor<1x?x2xf32>, tensor<1x?x2xf32>
}

// -----

// Calibration statistics decide: by magnitude head 1 (the larger rows) would stay, but the measured
// importance [0.9, 0.1] keeps head 0. The statistics are sliced with the heads (the attention's importance,
// the output projection's input RMS). @step has no statistics of its own: its attention takes those of the
// attention at the same place (layer 0, first attention) in @prefill, so both keep head 0.
// CHECK-LABEL: func.func @prefill
// CHECK: arith.constant dense<1.000000e+00> : tensor<2x1xf32>
// CHECK: eff.attention {{.*}} {calibration.head_importance = array<f32: 0.899999976>, num_heads = 1 : i64}
// CHECK: eff.linear {{.*}} {calibration.input_rms = array<f32: 1.000000e+00, 2.000000e+00>} : (tensor<1x3x2xf32>, tensor<1x2xf32>) -> tensor<1x3x1xf32>
// CHECK-LABEL: func.func @step
// CHECK: arith.constant dense<1.000000e+00> : tensor<2x1xf32>
// CHECK: eff.attention {{.*}} {calibration.head_importance = array<f32: 0.899999976>, num_heads = 1 : i64}
func.func @prefill(%x: tensor<1x3x1xf32>) -> tensor<1x3x1xf32> {
  %h = eff.layer 0 (%x) : (tensor<1x3x1xf32>) -> tensor<1x3x1xf32> {
  ^bb0(%a0: tensor<1x3x1xf32>):
    %w = arith.constant dense<[[1.0], [1.0], [5.0], [5.0]]> : tensor<4x1xf32>
    %q = eff.linear %a0, %w : (tensor<1x3x1xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
    %k = eff.linear %a0, %w : (tensor<1x3x1xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
    %v = eff.linear %a0, %w : (tensor<1x3x1xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
    %a = eff.attention %q, %k, %v {num_heads = 2 : i64, calibration.head_importance = array<f32: 0.9, 0.1>} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
    %wo = arith.constant dense<1.0> : tensor<1x4xf32>
    %o = eff.linear %a, %wo {calibration.input_rms = array<f32: 1.0, 2.0, 3.0, 4.0>} : (tensor<1x3x4xf32>, tensor<1x4xf32>) -> tensor<1x3x1xf32>
    eff.yield %o : tensor<1x3x1xf32>
  }
  return %h : tensor<1x3x1xf32>
}
func.func @step(%x: tensor<1x3x1xf32>) -> tensor<1x3x1xf32> {
  %h = eff.layer 0 (%x) : (tensor<1x3x1xf32>) -> tensor<1x3x1xf32> {
  ^bb0(%a0: tensor<1x3x1xf32>):
    %w = arith.constant dense<[[1.0], [1.0], [5.0], [5.0]]> : tensor<4x1xf32>
    %q = eff.linear %a0, %w : (tensor<1x3x1xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
    %k = eff.linear %a0, %w : (tensor<1x3x1xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
    %v = eff.linear %a0, %w : (tensor<1x3x1xf32>, tensor<4x1xf32>) -> tensor<1x3x4xf32>
    %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
    %wo = arith.constant dense<1.0> : tensor<1x4xf32>
    %o = eff.linear %a, %wo : (tensor<1x3x4xf32>, tensor<1x4xf32>) -> tensor<1x3x1xf32>
    eff.yield %o : tensor<1x3x1xf32>
  }
  return %h : tensor<1x3x1xf32>
}

// -----

// Two heads with a constant bias [1, 2, S, L] and a T5 relative position bias shared through a layer
// argument: head 0 goes, so the constant keeps head 1's slice and the layer gets its own
// eff.relative_position_bias reading column 1 of the table (the original, now unused, is erased).
// CHECK-LABEL: func.func @bias
// CHECK: %[[T:.*]] = arith.constant dense<{{\[\[}}2.000000e+00], [4.000000e+00], [6.000000e+00]]> : tensor<3x1xf32>
// CHECK-NEXT: %[[PB:.*]] = eff.relative_position_bias %[[T]][%{{.*}}, %{{.*}}] {max_distance = 8 : i64} : tensor<3x1xf32> -> tensor<1x1x3x3xf32>
// CHECK-NOT: eff.relative_position_bias
// CHECK: eff.layer 0 (%{{.*}}, %[[PB]]) : (tensor<1x3x2xf32>, tensor<1x1x3x3xf32>) -> tensor<1x3x2xf32> {
// CHECK: ^bb0(%{{.*}}: tensor<1x3x2xf32>, %[[ARG:.*]]: tensor<1x1x3x3xf32>):
// CHECK: %[[A:.*]] = eff.attention %{{.*}}, %{{.*}}, %{{.*}} bias(%[[ARG]]) {num_heads = 1 : i64} : (tensor<1x3x2xf32>, tensor<1x3x2xf32>, tensor<1x3x2xf32>, tensor<1x1x3x3xf32>) -> tensor<1x3x2xf32>
// CHECK: %[[C:.*]] = arith.constant dense<7.000000e+00> : tensor<1x1x3x3xf32>
// CHECK-NEXT: eff.attention %{{.*}}, %{{.*}}, %{{.*}} bias(%[[C]]) {num_heads = 1 : i64}
func.func @bias(%x: tensor<1x3x2xf32>) -> tensor<1x3x2xf32> {
  %c3 = arith.constant 3 : index
  %t = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %pb = eff.relative_position_bias %t[%c3, %c3] {max_distance = 8 : i64} : tensor<3x2xf32> -> tensor<1x2x3x3xf32>
  %h = eff.layer 0 (%x, %pb) : (tensor<1x3x2xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x2xf32> {
  ^bb0(%in: tensor<1x3x2xf32>, %bias: tensor<1x2x3x3xf32>):
    %w = arith.constant dense<[[1.0, 1.0], [1.0, 1.0], [3.0, 3.0], [4.0, 4.0]]> : tensor<4x2xf32>
    %q = eff.linear %in, %w : (tensor<1x3x2xf32>, tensor<4x2xf32>) -> tensor<1x3x4xf32>
    %k = eff.linear %in, %w : (tensor<1x3x2xf32>, tensor<4x2xf32>) -> tensor<1x3x4xf32>
    %v = eff.linear %in, %w : (tensor<1x3x2xf32>, tensor<4x2xf32>) -> tensor<1x3x4xf32>
    %a = eff.attention %q, %k, %v bias(%bias) {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32>
    %wo = arith.constant dense<[[1.0, 1.0, 3.0, 4.0], [1.0, 1.0, 3.0, 4.0]]> : tensor<2x4xf32>
    %o = eff.linear %a, %wo : (tensor<1x3x4xf32>, tensor<2x4xf32>) -> tensor<1x3x2xf32>
    eff.yield %o : tensor<1x3x2xf32>
  }
  %w2 = arith.constant dense<[[1.0, 1.0], [1.0, 1.0], [3.0, 3.0], [4.0, 4.0]]> : tensor<4x2xf32>
  %q2 = eff.linear %h, %w2 : (tensor<1x3x2xf32>, tensor<4x2xf32>) -> tensor<1x3x4xf32>
  %k2 = eff.linear %h, %w2 : (tensor<1x3x2xf32>, tensor<4x2xf32>) -> tensor<1x3x4xf32>
  %v2 = eff.linear %h, %w2 : (tensor<1x3x2xf32>, tensor<4x2xf32>) -> tensor<1x3x4xf32>
  %cb = arith.constant dense<[[[[5.0, 5.0, 5.0], [5.0, 5.0, 5.0], [5.0, 5.0, 5.0]], [[7.0, 7.0, 7.0], [7.0, 7.0, 7.0], [7.0, 7.0, 7.0]]]]> : tensor<1x2x3x3xf32>
  %a2 = eff.attention %q2, %k2, %v2 bias(%cb) {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32>
  %wo2 = arith.constant dense<[[1.0, 1.0, 3.0, 4.0], [1.0, 1.0, 3.0, 4.0]]> : tensor<2x4xf32>
  %o2 = eff.linear %a2, %wo2 : (tensor<1x3x4xf32>, tensor<2x4xf32>) -> tensor<1x3x2xf32>
  return %o2 : tensor<1x3x2xf32>
}
