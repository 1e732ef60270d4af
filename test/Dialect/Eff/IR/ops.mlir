// RUN: effc-opt %s -split-input-file | effc-opt -split-input-file | FileCheck %s
// RUN: effc-opt %s -split-input-file -mlir-print-op-generic | effc-opt -split-input-file | FileCheck %s

// Round-trip test of every eff op: custom syntax, and generic syntax (whose result types are checked against
// the inferred ones) re-parsed into custom syntax. Each case pins the printed op: operands, attributes (default
// values are elided) and types. Semantics: docs/spec/eff.md.

// CHECK-LABEL: func.func @parameter$static() -> tensor<16x8xf32> {
// CHECK-NEXT:    %[[W:.*]] = eff.parameter "encoder.layer.0.attention.query.weight" : tensor<16x8xf32>
// CHECK-NEXT:    return %[[W]] : tensor<16x8xf32>
func.func @parameter$static() -> tensor<16x8xf32> {
  %w = eff.parameter "encoder.layer.0.attention.query.weight" : tensor<16x8xf32>
  return %w : tensor<16x8xf32>
}

// -----

// CHECK-LABEL: func.func @parameter$bf16_with_attr() -> tensor<4xbf16> {
// CHECK-NEXT:    %[[W:.*]] = eff.parameter "lm_head.bias" {note = "tied"} : tensor<4xbf16>
// CHECK-NEXT:    return %[[W]] : tensor<4xbf16>
func.func @parameter$bf16_with_attr() -> tensor<4xbf16> {
  %w = eff.parameter "lm_head.bias" {note = "tied"} : tensor<4xbf16>
  return %w : tensor<4xbf16>
}

// -----

// CHECK-LABEL: func.func @parameter$views() -> (tensor<8x16xf32>, tensor<2x8x16xf32>) {
// CHECK-NEXT:    %[[K:.*]] = eff.parameter "h.0.attn.c_attn.weight" {row_offset = 16 : i64, transpose} : tensor<8x16xf32>
// CHECK-NEXT:    %[[E:.*]] = eff.parameter "experts.w1" {stack = ["experts.0.w1.weight", "experts.1.w1.weight"]} : tensor<2x8x16xf32>
// CHECK-NEXT:    return %[[K]], %[[E]] : tensor<8x16xf32>, tensor<2x8x16xf32>
func.func @parameter$views() -> (tensor<8x16xf32>, tensor<2x8x16xf32>) {
  %k = eff.parameter "h.0.attn.c_attn.weight" {transpose, row_offset = 16 : i64} : tensor<8x16xf32>
  %e = eff.parameter "experts.w1" {stack = ["experts.0.w1.weight", "experts.1.w1.weight"]} : tensor<2x8x16xf32>
  return %k, %e : tensor<8x16xf32>, tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @embedding$token(
// CHECK-SAME:    %[[TABLE:.*]]: tensor<100x16xf32>, %[[IDS:.*]]: tensor<2x8xi64>) -> tensor<2x8x16xf32> {
// CHECK-NEXT:    %[[E:.*]] = eff.embedding token %[[TABLE]][%[[IDS]]] : (tensor<100x16xf32>, tensor<2x8xi64>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    return %[[E]] : tensor<2x8x16xf32>
func.func @embedding$token(%table: tensor<100x16xf32>, %ids: tensor<2x8xi64>) -> tensor<2x8x16xf32> {
  %e = eff.embedding token %table[%ids] : (tensor<100x16xf32>, tensor<2x8xi64>) -> tensor<2x8x16xf32>
  return %e : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @embedding$position_dynamic(
// CHECK-SAME:    %[[TABLE:.*]]: tensor<512x16xf16>, %[[POS:.*]]: tensor<?x?xi32>) -> tensor<?x?x16xf16> {
// CHECK-NEXT:    %[[E:.*]] = eff.embedding position %[[TABLE]][%[[POS]]] : (tensor<512x16xf16>, tensor<?x?xi32>) -> tensor<?x?x16xf16>
// CHECK-NEXT:    return %[[E]] : tensor<?x?x16xf16>
func.func @embedding$position_dynamic(%table: tensor<512x16xf16>, %pos: tensor<?x?xi32>) -> tensor<?x?x16xf16> {
  %e = eff.embedding position %table[%pos] : (tensor<512x16xf16>, tensor<?x?xi32>) -> tensor<?x?x16xf16>
  return %e : tensor<?x?x16xf16>
}

// -----

// CHECK-LABEL: func.func @embedding$segment_rank1_ids(
// CHECK-SAME:    %[[TABLE:.*]]: tensor<2x16xbf16>, %[[SEG:.*]]: tensor<8xi64>) -> tensor<8x16xbf16> {
// CHECK-NEXT:    %[[E:.*]] = eff.embedding segment %[[TABLE]][%[[SEG]]] : (tensor<2x16xbf16>, tensor<8xi64>) -> tensor<8x16xbf16>
// CHECK-NEXT:    return %[[E]] : tensor<8x16xbf16>
func.func @embedding$segment_rank1_ids(%table: tensor<2x16xbf16>, %seg: tensor<8xi64>) -> tensor<8x16xbf16> {
  %e = eff.embedding segment %table[%seg] : (tensor<2x16xbf16>, tensor<8xi64>) -> tensor<8x16xbf16>
  return %e : tensor<8x16xbf16>
}

// -----

// CHECK-LABEL: func.func @position_ids$no_offset(
// CHECK-SAME:    %[[IDS:.*]]: tensor<2x8xi64>) -> tensor<2x8xi64> {
// CHECK-NEXT:    %[[P:.*]] = eff.position_ids %[[IDS]] : tensor<2x8xi64>
// CHECK-NEXT:    return %[[P]] : tensor<2x8xi64>
func.func @position_ids$no_offset(%ids: tensor<2x8xi64>) -> tensor<2x8xi64> {
  %p = eff.position_ids %ids : tensor<2x8xi64>
  return %p : tensor<2x8xi64>
}

// -----

// CHECK-LABEL: func.func @position_ids$offset(
// CHECK-SAME:    %[[IDS:.*]]: tensor<?x1xi32>, %[[PAST:.*]]: index) -> tensor<?x1xi32> {
// CHECK-NEXT:    %[[P:.*]] = eff.position_ids %[[IDS]] offset %[[PAST]] : tensor<?x1xi32>
// CHECK-NEXT:    return %[[P]] : tensor<?x1xi32>
func.func @position_ids$offset(%ids: tensor<?x1xi32>, %past: index) -> tensor<?x1xi32> {
  %p = eff.position_ids %ids offset %past : tensor<?x1xi32>
  return %p : tensor<?x1xi32>
}

// -----

// CHECK-LABEL: func.func @linear$rank2_no_bias(
// CHECK-SAME:    %[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<32x16xf32>) -> tensor<4x32xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.linear %[[X]], %[[W]] : (tensor<4x16xf32>, tensor<32x16xf32>) -> tensor<4x32xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<4x32xf32>
func.func @linear$rank2_no_bias(%x: tensor<4x16xf32>, %w: tensor<32x16xf32>) -> tensor<4x32xf32> {
  %y = eff.linear %x, %w : (tensor<4x16xf32>, tensor<32x16xf32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// CHECK-LABEL: func.func @linear$rank3_bias(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xf32>, %[[W:.*]]: tensor<32x16xf32>, %[[B:.*]]: tensor<32xf32>) -> tensor<2x8x32xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.linear %[[X]], %[[W]], %[[B]] : (tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x32xf32>
func.func @linear$rank3_bias(%x: tensor<2x8x16xf32>, %w: tensor<32x16xf32>, %b: tensor<32xf32>) -> tensor<2x8x32xf32> {
  %y = eff.linear %x, %w, %b : (tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// CHECK-LABEL: func.func @linear$dynamic_dims(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x16xf16>, %[[W:.*]]: tensor<32x16xf16>, %[[B:.*]]: tensor<32xf16>) -> tensor<?x?x32xf16> {
// CHECK-NEXT:    %[[Y:.*]] = eff.linear %[[X]], %[[W]], %[[B]] : (tensor<?x?x16xf16>, tensor<32x16xf16>, tensor<32xf16>) -> tensor<?x?x32xf16>
// CHECK-NEXT:    return %[[Y]] : tensor<?x?x32xf16>
func.func @linear$dynamic_dims(%x: tensor<?x?x16xf16>, %w: tensor<32x16xf16>, %b: tensor<32xf16>) -> tensor<?x?x32xf16> {
  %y = eff.linear %x, %w, %b : (tensor<?x?x16xf16>, tensor<32x16xf16>, tensor<32xf16>) -> tensor<?x?x32xf16>
  return %y : tensor<?x?x32xf16>
}

// -----

// A written result type may refine the inferred dynamic dimensions.
// CHECK-LABEL: func.func @linear$refined_result(
// CHECK-SAME:    %[[X:.*]]: tensor<?x8x?xf32>, %[[W:.*]]: tensor<32x16xf32>) -> tensor<2x8x32xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.linear %[[X]], %[[W]] : (tensor<?x8x?xf32>, tensor<32x16xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x32xf32>
func.func @linear$refined_result(%x: tensor<?x8x?xf32>, %w: tensor<32x16xf32>) -> tensor<2x8x32xf32> {
  %y = eff.linear %x, %w : (tensor<?x8x?xf32>, tensor<32x16xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// CHECK-LABEL: func.func @matmul$batch(
// CHECK-SAME:    %[[A:.*]]: tensor<2x4x8x16xf32>, %[[B:.*]]: tensor<2x4x16x32xf32>) -> tensor<2x4x8x32xf32> {
// CHECK-NEXT:    %[[C:.*]] = eff.matmul %[[A]], %[[B]] : (tensor<2x4x8x16xf32>, tensor<2x4x16x32xf32>) -> tensor<2x4x8x32xf32>
// CHECK-NEXT:    return %[[C]] : tensor<2x4x8x32xf32>
func.func @matmul$batch(%a: tensor<2x4x8x16xf32>, %b: tensor<2x4x16x32xf32>) -> tensor<2x4x8x32xf32> {
  %c = eff.matmul %a, %b : (tensor<2x4x8x16xf32>, tensor<2x4x16x32xf32>) -> tensor<2x4x8x32xf32>
  return %c : tensor<2x4x8x32xf32>
}

// -----

// CHECK-LABEL: func.func @matmul$transpose_b(
// CHECK-SAME:    %[[A:.*]]: tensor<2x8x64xf32>, %[[B:.*]]: tensor<2x16x64xf32>) -> tensor<2x8x16xf32> {
// CHECK-NEXT:    %[[C:.*]] = eff.matmul %[[A]], %[[B]] {transpose_b} : (tensor<2x8x64xf32>, tensor<2x16x64xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    return %[[C]] : tensor<2x8x16xf32>
func.func @matmul$transpose_b(%a: tensor<2x8x64xf32>, %b: tensor<2x16x64xf32>) -> tensor<2x8x16xf32> {
  %c = eff.matmul %a, %b {transpose_b} : (tensor<2x8x64xf32>, tensor<2x16x64xf32>) -> tensor<2x8x16xf32>
  return %c : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @matmul$rank2_rhs(
// CHECK-SAME:    %[[A:.*]]: tensor<?x8x16xbf16>, %[[B:.*]]: tensor<16x4xbf16>) -> tensor<?x8x4xbf16> {
// CHECK-NEXT:    %[[C:.*]] = eff.matmul %[[A]], %[[B]] : (tensor<?x8x16xbf16>, tensor<16x4xbf16>) -> tensor<?x8x4xbf16>
// CHECK-NEXT:    return %[[C]] : tensor<?x8x4xbf16>
func.func @matmul$rank2_rhs(%a: tensor<?x8x16xbf16>, %b: tensor<16x4xbf16>) -> tensor<?x8x4xbf16> {
  %c = eff.matmul %a, %b : (tensor<?x8x16xbf16>, tensor<16x4xbf16>) -> tensor<?x8x4xbf16>
  return %c : tensor<?x8x4xbf16>
}

// -----

// CHECK-LABEL: func.func @layer_norm$beta(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xf32>, %[[G:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>) -> tensor<2x8x16xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.layer_norm %[[X]], %[[G]], %[[B]] {epsilon = 9.99999996E-13 : f32} : (tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x16xf32>
func.func @layer_norm$beta(%x: tensor<2x8x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %y = eff.layer_norm %x, %g, %b {epsilon = 9.99999996E-13 : f32} : (tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @layer_norm$no_beta_default_epsilon(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x16xf16>, %[[G:.*]]: tensor<16xf16>) -> tensor<?x?x16xf16> {
// CHECK-NEXT:    %[[Y:.*]] = eff.layer_norm %[[X]], %[[G]] : (tensor<?x?x16xf16>, tensor<16xf16>) -> tensor<?x?x16xf16>
// CHECK-NEXT:    return %[[Y]] : tensor<?x?x16xf16>
func.func @layer_norm$no_beta_default_epsilon(%x: tensor<?x?x16xf16>, %g: tensor<16xf16>) -> tensor<?x?x16xf16> {
  %y = eff.layer_norm %x, %g : (tensor<?x?x16xf16>, tensor<16xf16>) -> tensor<?x?x16xf16>
  return %y : tensor<?x?x16xf16>
}

// -----

// CHECK-LABEL: func.func @rms_norm$epsilon(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xbf16>, %[[G:.*]]: tensor<16xbf16>) -> tensor<2x8x16xbf16> {
// CHECK-NEXT:    %[[Y:.*]] = eff.rms_norm %[[X]], %[[G]] {epsilon = 9.99999974E-6 : f32} : (tensor<2x8x16xbf16>, tensor<16xbf16>) -> tensor<2x8x16xbf16>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x16xbf16>
func.func @rms_norm$epsilon(%x: tensor<2x8x16xbf16>, %g: tensor<16xbf16>) -> tensor<2x8x16xbf16> {
  %y = eff.rms_norm %x, %g {epsilon = 9.99999974E-6 : f32} : (tensor<2x8x16xbf16>, tensor<16xbf16>) -> tensor<2x8x16xbf16>
  return %y : tensor<2x8x16xbf16>
}

// -----

// CHECK-LABEL: func.func @softmax$default_axis(
// CHECK-SAME:    %[[X:.*]]: tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
// CHECK-NEXT:    %[[P:.*]] = eff.softmax %[[X]] : tensor<2x4x8x8xf32>
// CHECK-NEXT:    return %[[P]] : tensor<2x4x8x8xf32>
func.func @softmax$default_axis(%x: tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
  %p = eff.softmax %x : tensor<2x4x8x8xf32>
  return %p : tensor<2x4x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @softmax$axis(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
// CHECK-NEXT:    %[[P:.*]] = eff.softmax %[[X]] {axis = 1 : i64} : tensor<?x4x8xf32>
// CHECK-NEXT:    return %[[P]] : tensor<?x4x8xf32>
func.func @softmax$axis(%x: tensor<?x4x8xf32>) -> tensor<?x4x8xf32> {
  %p = eff.softmax %x {axis = 1 : i64} : tensor<?x4x8xf32>
  return %p : tensor<?x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @activation$kinds(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
// CHECK-NEXT:    %[[RELU:.*]] = eff.activation relu %[[X]] : tensor<2x8x16xf32>
// CHECK-NEXT:    %[[GELU:.*]] = eff.activation gelu %[[RELU]] : tensor<2x8x16xf32>
// CHECK-NEXT:    %[[GELU_TANH:.*]] = eff.activation gelu_tanh %[[GELU]] : tensor<2x8x16xf32>
// CHECK-NEXT:    %[[SILU:.*]] = eff.activation silu %[[GELU_TANH]] : tensor<2x8x16xf32>
// CHECK-NEXT:    %[[SIGMOID:.*]] = eff.activation sigmoid %[[SILU]] : tensor<2x8x16xf32>
// CHECK-NEXT:    %[[TANH:.*]] = eff.activation tanh %[[SIGMOID]] : tensor<2x8x16xf32>
// CHECK-NEXT:    return %[[TANH]] : tensor<2x8x16xf32>
func.func @activation$kinds(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %relu = eff.activation relu %x : tensor<2x8x16xf32>
  %gelu = eff.activation gelu %relu : tensor<2x8x16xf32>
  %gelu_tanh = eff.activation gelu_tanh %gelu : tensor<2x8x16xf32>
  %silu = eff.activation silu %gelu_tanh : tensor<2x8x16xf32>
  %sigmoid = eff.activation sigmoid %silu : tensor<2x8x16xf32>
  %tanh = eff.activation tanh %sigmoid : tensor<2x8x16xf32>
  return %tanh : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @glu$silu(
// CHECK-SAME:    %[[GATE:.*]]: tensor<?x?x64xf32>, %[[UP:.*]]: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT:    %[[H:.*]] = eff.glu silu %[[GATE]], %[[UP]] : tensor<?x?x64xf32>
// CHECK-NEXT:    return %[[H]] : tensor<?x?x64xf32>
func.func @glu$silu(%gate: tensor<?x?x64xf32>, %up: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %h = eff.glu silu %gate, %up : tensor<?x?x64xf32>
  return %h : tensor<?x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @add$residual(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xf16>, %[[H:.*]]: tensor<2x8x16xf16>) -> tensor<2x8x16xf16> {
// CHECK-NEXT:    %[[R:.*]] = eff.add %[[X]], %[[H]] : tensor<2x8x16xf16>
// CHECK-NEXT:    return %[[R]] : tensor<2x8x16xf16>
func.func @add$residual(%x: tensor<2x8x16xf16>, %h: tensor<2x8x16xf16>) -> tensor<2x8x16xf16> {
  %r = eff.add %x, %h : tensor<2x8x16xf16>
  return %r : tensor<2x8x16xf16>
}

// -----

// CHECK-LABEL: func.func @rotary$default(
// CHECK-SAME:    %[[Q:.*]]: tensor<2x8x64xf32>, %[[POS:.*]]: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
// CHECK-NEXT:    %[[R:.*]] = eff.rotary %[[Q]], %[[POS]] {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
// CHECK-NEXT:    return %[[R]] : tensor<2x8x64xf32>
func.func @rotary$default(%q: tensor<2x8x64xf32>, %pos: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  %r = eff.rotary %q, %pos {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

// CHECK-LABEL: func.func @rotary$interleaved_theta(
// CHECK-SAME:    %[[Q:.*]]: tensor<?x?x64xf32>, %[[POS:.*]]: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT:    %[[R:.*]] = eff.rotary %[[Q]], %[[POS]] {interleaved, num_heads = 4 : i64, theta = 5.000000e+05 : f32} : (tensor<?x?x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
// CHECK-NEXT:    return %[[R]] : tensor<?x?x64xf32>
func.func @rotary$interleaved_theta(%q: tensor<?x?x64xf32>, %pos: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  %r = eff.rotary %q, %pos {num_heads = 4 : i64, theta = 5.000000e+05 : f32, interleaved} : (tensor<?x?x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %r : tensor<?x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @rotary$rotary_dim_seq_positions(
// CHECK-SAME:    %[[K:.*]]: tensor<2x8x32xf32>, %[[POS:.*]]: tensor<8xi64>) -> tensor<2x8x32xf32> {
// CHECK-NEXT:    %[[R:.*]] = eff.rotary %[[K]], %[[POS]] {num_heads = 2 : i64, rotary_dim = 4 : i64} : (tensor<2x8x32xf32>, tensor<8xi64>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[R]] : tensor<2x8x32xf32>
func.func @rotary$rotary_dim_seq_positions(%k: tensor<2x8x32xf32>, %pos: tensor<8xi64>) -> tensor<2x8x32xf32> {
  %r = eff.rotary %k, %pos {num_heads = 2 : i64, rotary_dim = 4 : i64} : (tensor<2x8x32xf32>, tensor<8xi64>) -> tensor<2x8x32xf32>
  return %r : tensor<2x8x32xf32>
}

// -----

// CHECK-LABEL: func.func @attention$mha_mask_i64(
// CHECK-SAME:    %[[Q:.*]]: tensor<2x8x64xf32>, %[[K:.*]]: tensor<2x8x64xf32>, %[[V:.*]]: tensor<2x8x64xf32>, %[[M:.*]]: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
// CHECK-NEXT:    %[[O:.*]] = eff.attention %[[Q]], %[[K]], %[[V]] mask(%[[M]]) {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
// CHECK-NEXT:    return %[[O]] : tensor<2x8x64xf32>
func.func @attention$mha_mask_i64(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>, %m: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  %o = eff.attention %q, %k, %v mask(%m) {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

// CHECK-LABEL: func.func @attention$gqa_causal(
// CHECK-SAME:    %[[Q:.*]]: tensor<?x?x64xf32>, %[[K:.*]]: tensor<?x?x32xf32>, %[[V:.*]]: tensor<?x?x32xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT:    %[[O:.*]] = eff.attention %[[Q]], %[[K]], %[[V]] {causal, num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT:    return %[[O]] : tensor<?x?x64xf32>
func.func @attention$gqa_causal(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>) -> tensor<?x?x64xf32> {
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x64xf32>
  return %o : tensor<?x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @attention$mqa(
// CHECK-SAME:    %[[Q:.*]]: tensor<1x4x64xf16>, %[[K:.*]]: tensor<1x6x16xf16>, %[[V:.*]]: tensor<1x6x16xf16>) -> tensor<1x4x64xf16> {
// CHECK-NEXT:    %[[O:.*]] = eff.attention %[[Q]], %[[K]], %[[V]] {num_heads = 4 : i64, num_kv_heads = 1 : i64} : (tensor<1x4x64xf16>, tensor<1x6x16xf16>, tensor<1x6x16xf16>) -> tensor<1x4x64xf16>
// CHECK-NEXT:    return %[[O]] : tensor<1x4x64xf16>
func.func @attention$mqa(%q: tensor<1x4x64xf16>, %k: tensor<1x6x16xf16>, %v: tensor<1x6x16xf16>) -> tensor<1x4x64xf16> {
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 1 : i64} : (tensor<1x4x64xf16>, tensor<1x6x16xf16>, tensor<1x6x16xf16>) -> tensor<1x4x64xf16>
  return %o : tensor<1x4x64xf16>
}

// -----

// CHECK-LABEL: func.func @attention$mask_i1_head_mask_scale(
// CHECK-SAME:    %[[Q:.*]]: tensor<2x8x64xf32>, %[[K:.*]]: tensor<2x8x64xf32>, %[[V:.*]]: tensor<2x8x64xf32>, %[[M:.*]]: tensor<2x8xi1>, %[[HM:.*]]: tensor<4xf32>) -> tensor<2x8x64xf32> {
// CHECK-NEXT:    %[[O:.*]] = eff.attention %[[Q]], %[[K]], %[[V]] mask(%[[M]]) head_mask(%[[HM]]) {num_heads = 4 : i64, scale = 1.250000e-01 : f32} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8xi1>, tensor<4xf32>) -> tensor<2x8x64xf32>
// CHECK-NEXT:    return %[[O]] : tensor<2x8x64xf32>
func.func @attention$mask_i1_head_mask_scale(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>, %m: tensor<2x8xi1>, %hm: tensor<4xf32>) -> tensor<2x8x64xf32> {
  %o = eff.attention %q, %k, %v mask(%m) head_mask(%hm) {num_heads = 4 : i64, scale = 1.250000e-01 : f32} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8xi1>, tensor<4xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

// CHECK-LABEL: func.func @attention$past_presents(
// CHECK-SAME:    %[[Q:.*]]: tensor<1x1x64xf32>, %[[K:.*]]: tensor<1x1x32xf32>, %[[V:.*]]: tensor<1x1x32xf32>, %[[M:.*]]: tensor<1x6xi64>, %[[PK:.*]]: tensor<1x5x32xf32>, %[[PV:.*]]: tensor<1x5x32xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x32xf32>, tensor<1x6x32xf32>) {
// CHECK-NEXT:    %[[OUTPUT:.*]], %[[PRESENT:.*]]:2 = eff.attention %[[Q]], %[[K]], %[[V]] mask(%[[M]]) past(%[[PK]], %[[PV]]) {causal, num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<1x1x64xf32>, tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x6xi64>, tensor<1x5x32xf32>, tensor<1x5x32xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x32xf32>, tensor<1x6x32xf32>)
// CHECK-NEXT:    return %[[OUTPUT]], %[[PRESENT]]#0, %[[PRESENT]]#1 : tensor<1x1x64xf32>, tensor<1x6x32xf32>, tensor<1x6x32xf32>
func.func @attention$past_presents(%q: tensor<1x1x64xf32>, %k: tensor<1x1x32xf32>, %v: tensor<1x1x32xf32>, %m: tensor<1x6xi64>, %pk: tensor<1x5x32xf32>, %pv: tensor<1x5x32xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x32xf32>, tensor<1x6x32xf32>) {
  %o, %nk, %nv = eff.attention %q, %k, %v mask(%m) past(%pk, %pv) {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal} : (tensor<1x1x64xf32>, tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<1x6xi64>, tensor<1x5x32xf32>, tensor<1x5x32xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x32xf32>, tensor<1x6x32xf32>)
  return %o, %nk, %nv : tensor<1x1x64xf32>, tensor<1x6x32xf32>, tensor<1x6x32xf32>
}

// -----

// CHECK-LABEL: func.func @attention$past_dynamic(
// CHECK-SAME:    %[[Q:.*]]: tensor<1x1x64xf32>, %[[K:.*]]: tensor<1x1x64xf32>, %[[V:.*]]: tensor<1x1x64xf32>, %[[PK:.*]]: tensor<1x?x64xf32>, %[[PV:.*]]: tensor<1x?x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>) {
// CHECK-NEXT:    %[[OUTPUT:.*]], %[[PRESENT:.*]]:2 = eff.attention %[[Q]], %[[K]], %[[V]] past(%[[PK]], %[[PV]]) {num_heads = 4 : i64} : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
// CHECK-NEXT:    return %[[OUTPUT]], %[[PRESENT]]#0, %[[PRESENT]]#1 : tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>
func.func @attention$past_dynamic(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>, %pk: tensor<1x?x64xf32>, %pv: tensor<1x?x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>) {
  %o, %nk, %nv = eff.attention %q, %k, %v past(%pk, %pv) {num_heads = 4 : i64} : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
  return %o, %nk, %nv : tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @ffn$plain_biases(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xf32>, %[[W1:.*]]: tensor<64x16xf32>, %[[B1:.*]]: tensor<64xf32>, %[[W2:.*]]: tensor<16x64xf32>, %[[B2:.*]]: tensor<16xf32>) -> tensor<2x8x16xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.ffn %[[X]] up(%[[W1]], %[[B1]]) down(%[[W2]], %[[B2]]) gelu : (tensor<2x8x16xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x16xf32>
func.func @ffn$plain_biases(%x: tensor<2x8x16xf32>, %w1: tensor<64x16xf32>, %b1: tensor<64xf32>, %w2: tensor<16x64xf32>, %b2: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %y = eff.ffn %x up(%w1, %b1) down(%w2, %b2) gelu : (tensor<2x8x16xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @ffn$gated(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x16xbf16>, %[[WU:.*]]: tensor<48x16xbf16>, %[[WG:.*]]: tensor<48x16xbf16>, %[[WD:.*]]: tensor<16x48xbf16>) -> tensor<?x?x16xbf16> {
// CHECK-NEXT:    %[[Y:.*]] = eff.ffn %[[X]] up(%[[WU]]) gate(%[[WG]]) down(%[[WD]]) silu : (tensor<?x?x16xbf16>, tensor<48x16xbf16>, tensor<48x16xbf16>, tensor<16x48xbf16>) -> tensor<?x?x16xbf16>
// CHECK-NEXT:    return %[[Y]] : tensor<?x?x16xbf16>
func.func @ffn$gated(%x: tensor<?x?x16xbf16>, %wu: tensor<48x16xbf16>, %wg: tensor<48x16xbf16>, %wd: tensor<16x48xbf16>) -> tensor<?x?x16xbf16> {
  %y = eff.ffn %x up(%wu) gate(%wg) down(%wd) silu : (tensor<?x?x16xbf16>, tensor<48x16xbf16>, tensor<48x16xbf16>, tensor<16x48xbf16>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

// CHECK-LABEL: func.func @layer$block(
// CHECK-SAME:    %[[H:.*]]: tensor<2x8x16xf32>, %[[M:.*]]: tensor<2x8xi64>, %[[G:.*]]: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
// CHECK-NEXT:    %[[OUT:.*]]:2 = eff.layer 3 (%[[H]], %[[M]], %[[G]]) : (tensor<2x8x16xf32>, tensor<2x8xi64>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
// CHECK-NEXT:    ^bb0(%[[X:.*]]: tensor<2x8x16xf32>, %[[MASK:.*]]: tensor<2x8xi64>, %[[GAMMA:.*]]: tensor<16xf32>):
// CHECK-NEXT:    %[[N:.*]] = eff.rms_norm %[[X]], %[[GAMMA]] : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    %[[A:.*]] = eff.attention %[[N]], %[[N]], %[[N]] mask(%[[MASK]]) {causal, num_heads = 2 : i64} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8xi64>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    %[[R:.*]] = eff.add %[[X]], %[[A]] : tensor<2x8x16xf32>
// CHECK-NEXT:    eff.yield %[[R]], %[[N]] : tensor<2x8x16xf32>, tensor<2x8x16xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[OUT]]#0, %[[OUT]]#1 : tensor<2x8x16xf32>, tensor<2x8x16xf32>
func.func @layer$block(%h: tensor<2x8x16xf32>, %m: tensor<2x8xi64>, %g: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %out:2 = eff.layer 3 (%h, %m, %g) : (tensor<2x8x16xf32>, tensor<2x8xi64>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  ^bb0(%x: tensor<2x8x16xf32>, %mask: tensor<2x8xi64>, %gamma: tensor<16xf32>):
    %n = eff.rms_norm %x, %gamma : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
    %a = eff.attention %n, %n, %n mask(%mask) {num_heads = 2 : i64, causal} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8xi64>) -> tensor<2x8x16xf32>
    %r = eff.add %x, %a : tensor<2x8x16xf32>
    eff.yield %r, %n : tensor<2x8x16xf32>, tensor<2x8x16xf32>
  }
  return %out#0, %out#1 : tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @layer$single_operand(
// CHECK-SAME:    %[[H:.*]]: tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
// CHECK-NEXT:    %[[OUT:.*]] = eff.layer 0 (%[[H]]) : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
// CHECK-NEXT:    ^bb0(%[[X:.*]]: tensor<?x?x16xf32>):
// CHECK-NEXT:    eff.yield %[[X]] : tensor<?x?x16xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[OUT]] : tensor<?x?x16xf32>
func.func @layer$single_operand(%h: tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
  %out = eff.layer 0 (%h) : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
  ^bb0(%x: tensor<?x?x16xf32>):
    eff.yield %x : tensor<?x?x16xf32>
  }
  return %out : tensor<?x?x16xf32>
}

// -----

// CHECK-LABEL: func.func @lora$scaling(
// CHECK-SAME:    %[[BASE:.*]]: tensor<2x8x32xf32>, %[[X:.*]]: tensor<2x8x16xf32>, %[[A:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<32x4xf32>) -> tensor<2x8x32xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.lora %[[BASE]], %[[X]], %[[A]], %[[B]] {alpha = 8.000000e+00 : f32, rank = 4 : i64} : (tensor<2x8x32xf32>, tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x32xf32>
func.func @lora$scaling(%base: tensor<2x8x32xf32>, %x: tensor<2x8x16xf32>, %a: tensor<4x16xf32>, %b: tensor<32x4xf32>) -> tensor<2x8x32xf32> {
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.000000e+00 : f32} : (tensor<2x8x32xf32>, tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// CHECK-LABEL: func.func @ia3$targets(
// CHECK-SAME:    %[[K:.*]]: tensor<2x8x16xf32>, %[[V:.*]]: tensor<2x8x16xf32>, %[[H:.*]]: tensor<2x8x64xf32>, %[[LK:.*]]: tensor<16xf32>, %[[LV:.*]]: tensor<16xf32>, %[[LF:.*]]: tensor<64xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x64xf32>) {
// CHECK-NEXT:    %[[K2:.*]] = eff.ia3 key %[[K]], %[[LK]] : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    %[[V2:.*]] = eff.ia3 value %[[V]], %[[LV]] : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    %[[H2:.*]] = eff.ia3 ffn %[[H]], %[[LF]] : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
// CHECK-NEXT:    return %[[K2]], %[[V2]], %[[H2]] : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x64xf32>
func.func @ia3$targets(%k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %h: tensor<2x8x64xf32>, %lk: tensor<16xf32>, %lv: tensor<16xf32>, %lf: tensor<64xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x64xf32>) {
  %k2 = eff.ia3 key %k, %lk : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  %v2 = eff.ia3 value %v, %lv : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  %h2 = eff.ia3 ffn %h, %lf : (tensor<2x8x64xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return %k2, %v2, %h2 : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x64xf32>
}

// -----

// CHECK-LABEL: func.func @prefix$static(
// CHECK-SAME:    %[[K:.*]]: tensor<2x8x16xf32>, %[[V:.*]]: tensor<2x8x16xf32>, %[[PK:.*]]: tensor<4x16xf32>, %[[PV:.*]]: tensor<4x16xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>) {
// CHECK-NEXT:    %[[K2:.*]], %[[V2:.*]] = eff.prefix %[[K]], %[[V]], %[[PK]], %[[PV]] : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>)
// CHECK-NEXT:    return %[[K2]], %[[V2]] : tensor<2x12x16xf32>, tensor<2x12x16xf32>
func.func @prefix$static(%k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %pk: tensor<4x16xf32>, %pv: tensor<4x16xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>) {
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>)
  return %k2, %v2 : tensor<2x12x16xf32>, tensor<2x12x16xf32>
}

// -----

// CHECK-LABEL: func.func @prompt$dynamic_seq(
// CHECK-SAME:    %[[E:.*]]: tensor<?x?x16xf32>, %[[P:.*]]: tensor<20x16xf32>) -> tensor<?x?x16xf32> {
// CHECK-NEXT:    %[[E2:.*]] = eff.prompt %[[E]], %[[P]] : (tensor<?x?x16xf32>, tensor<20x16xf32>) -> tensor<?x?x16xf32>
// CHECK-NEXT:    return %[[E2]] : tensor<?x?x16xf32>
func.func @prompt$dynamic_seq(%e: tensor<?x?x16xf32>, %p: tensor<20x16xf32>) -> tensor<?x?x16xf32> {
  %e2 = eff.prompt %e, %p : (tensor<?x?x16xf32>, tensor<20x16xf32>) -> tensor<?x?x16xf32>
  return %e2 : tensor<?x?x16xf32>
}

// -----

// CHECK-LABEL: func.func @bottleneck_adapter$biases(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xf32>, %[[WD:.*]]: tensor<4x16xf32>, %[[BD:.*]]: tensor<4xf32>, %[[WU:.*]]: tensor<16x4xf32>, %[[BU:.*]]: tensor<16xf32>) -> tensor<2x8x16xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.bottleneck_adapter %[[X]] down(%[[WD]], %[[BD]]) up(%[[WU]], %[[BU]]) relu : (tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<4xf32>, tensor<16x4xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x16xf32>
func.func @bottleneck_adapter$biases(%x: tensor<2x8x16xf32>, %wd: tensor<4x16xf32>, %bd: tensor<4xf32>, %wu: tensor<16x4xf32>, %bu: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %y = eff.bottleneck_adapter %x down(%wd, %bd) up(%wu, %bu) relu : (tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<4xf32>, tensor<16x4xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @bottleneck_adapter$no_biases(
// CHECK-SAME:    %[[X:.*]]: tensor<?x16xf32>, %[[WD:.*]]: tensor<4x16xf32>, %[[WU:.*]]: tensor<16x4xf32>) -> tensor<?x16xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.bottleneck_adapter %[[X]] down(%[[WD]]) up(%[[WU]]) gelu : (tensor<?x16xf32>, tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<?x16xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<?x16xf32>
func.func @bottleneck_adapter$no_biases(%x: tensor<?x16xf32>, %wd: tensor<4x16xf32>, %wu: tensor<16x4xf32>) -> tensor<?x16xf32> {
  %y = eff.bottleneck_adapter %x down(%wd) up(%wu) gelu : (tensor<?x16xf32>, tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// CHECK-LABEL: func.func @router$switch_top1_capacity(
// CHECK-SAME:    %[[X:.*]]: tensor<16x32xf32>, %[[W:.*]]: tensor<4x32xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>) {
// CHECK-NEXT:    %[[RW:.*]], %[[RI:.*]] = eff.router softmax %[[X]], %[[W]] {capacity_factor = 1.250000e+00 : f32, top_k = 1 : i64} : (tensor<16x32xf32>, tensor<4x32xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>)
// CHECK-NEXT:    return %[[RW]], %[[RI]] : tensor<16x1xf32>, tensor<16x1xi64>
func.func @router$switch_top1_capacity(%x: tensor<16x32xf32>, %w: tensor<4x32xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>) {
  %rw, %ri = eff.router softmax %x, %w {top_k = 1 : i64, capacity_factor = 1.250000e+00 : f32} : (tensor<16x32xf32>, tensor<4x32xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>)
  return %rw, %ri : tensor<16x1xf32>, tensor<16x1xi64>
}

// -----

// CHECK-LABEL: func.func @router$top2_normalize(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x32xf32>, %[[W:.*]]: tensor<8x32xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>) {
// CHECK-NEXT:    %[[RW:.*]], %[[RI:.*]] = eff.router softmax %[[X]], %[[W]] {normalize, top_k = 2 : i64} : (tensor<?x?x32xf32>, tensor<8x32xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
// CHECK-NEXT:    return %[[RW]], %[[RI]] : tensor<?x?x2xf32>, tensor<?x?x2xi64>
func.func @router$top2_normalize(%x: tensor<?x?x32xf32>, %w: tensor<8x32xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>) {
  %rw, %ri = eff.router softmax %x, %w {top_k = 2 : i64, normalize} : (tensor<?x?x32xf32>, tensor<8x32xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return %rw, %ri : tensor<?x?x2xf32>, tensor<?x?x2xi64>
}

// -----

// CHECK-LABEL: func.func @router$sigmoid(
// CHECK-SAME:    %[[X:.*]]: tensor<?x32xf16>, %[[W:.*]]: tensor<8x32xf16>) -> (tensor<?x2xf16>, tensor<?x2xi64>) {
// CHECK-NEXT:    %[[RW:.*]], %[[RI:.*]] = eff.router sigmoid %[[X]], %[[W]] {top_k = 2 : i64} : (tensor<?x32xf16>, tensor<8x32xf16>) -> (tensor<?x2xf16>, tensor<?x2xi64>)
// CHECK-NEXT:    return %[[RW]], %[[RI]] : tensor<?x2xf16>, tensor<?x2xi64>
func.func @router$sigmoid(%x: tensor<?x32xf16>, %w: tensor<8x32xf16>) -> (tensor<?x2xf16>, tensor<?x2xi64>) {
  %rw, %ri = eff.router sigmoid %x, %w {top_k = 2 : i64} : (tensor<?x32xf16>, tensor<8x32xf16>) -> (tensor<?x2xf16>, tensor<?x2xi64>)
  return %rw, %ri : tensor<?x2xf16>, tensor<?x2xi64>
}

// -----

// CHECK-LABEL: func.func @experts$gated(
// CHECK-SAME:    %[[X:.*]]: tensor<?x32xf32>, %[[RW:.*]]: tensor<?x2xf32>, %[[RI:.*]]: tensor<?x2xi64>, %[[WU:.*]]: tensor<4x64x32xf32>, %[[WG:.*]]: tensor<4x64x32xf32>, %[[WD:.*]]: tensor<4x32x64xf32>) -> tensor<?x32xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.experts %[[X]], %[[RW]], %[[RI]] up(%[[WU]]) gate(%[[WG]]) down(%[[WD]]) silu : (tensor<?x32xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x32x64xf32>) -> tensor<?x32xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<?x32xf32>
func.func @experts$gated(%x: tensor<?x32xf32>, %rw: tensor<?x2xf32>, %ri: tensor<?x2xi64>, %wu: tensor<4x64x32xf32>, %wg: tensor<4x64x32xf32>, %wd: tensor<4x32x64xf32>) -> tensor<?x32xf32> {
  %y = eff.experts %x, %rw, %ri up(%wu) gate(%wg) down(%wd) silu : (tensor<?x32xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// CHECK-LABEL: func.func @experts$plain_biases(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x32xf32>, %[[RW:.*]]: tensor<2x8x1xf32>, %[[RI:.*]]: tensor<2x8x1xi32>, %[[WU:.*]]: tensor<4x64x32xf32>, %[[BU:.*]]: tensor<4x64xf32>, %[[WD:.*]]: tensor<4x32x64xf32>, %[[BD:.*]]: tensor<4x32xf32>) -> tensor<2x8x32xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.experts %[[X]], %[[RW]], %[[RI]] up(%[[WU]], %[[BU]]) down(%[[WD]], %[[BD]]) gelu_tanh : (tensor<2x8x32xf32>, tensor<2x8x1xf32>, tensor<2x8x1xi32>, tensor<4x64x32xf32>, tensor<4x64xf32>, tensor<4x32x64xf32>, tensor<4x32xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x32xf32>
func.func @experts$plain_biases(%x: tensor<2x8x32xf32>, %rw: tensor<2x8x1xf32>, %ri: tensor<2x8x1xi32>, %wu: tensor<4x64x32xf32>, %bu: tensor<4x64xf32>, %wd: tensor<4x32x64xf32>, %bd: tensor<4x32xf32>) -> tensor<2x8x32xf32> {
  %y = eff.experts %x, %rw, %ri up(%wu, %bu) down(%wd, %bd) gelu_tanh : (tensor<2x8x32xf32>, tensor<2x8x1xf32>, tensor<2x8x1xi32>, tensor<4x64x32xf32>, tensor<4x64xf32>, tensor<4x32x64xf32>, tensor<4x32xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// CHECK-LABEL: func.func @residual_moe$bias(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xf32>, %[[D:.*]]: tensor<2x8x16xf32>, %[[E:.*]]: tensor<2x8x16xf32>, %[[WC:.*]]: tensor<2x16xf32>, %[[BC:.*]]: tensor<2xf32>) -> tensor<2x8x16xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.residual_moe %[[X]], %[[D]], %[[E]], %[[WC]], %[[BC]] : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<2x8x16xf32>
func.func @residual_moe$bias(%x: tensor<2x8x16xf32>, %d: tensor<2x8x16xf32>, %e: tensor<2x8x16xf32>, %wc: tensor<2x16xf32>, %bc: tensor<2xf32>) -> tensor<2x8x16xf32> {
  %y = eff.residual_moe %x, %d, %e, %wc, %bc : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @residual_moe$no_bias(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x16xf32>, %[[D:.*]]: tensor<?x?x16xf32>, %[[E:.*]]: tensor<?x?x16xf32>, %[[WC:.*]]: tensor<2x16xf32>) -> tensor<?x?x16xf32> {
// CHECK-NEXT:    %[[Y:.*]] = eff.residual_moe %[[X]], %[[D]], %[[E]], %[[WC]] : (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<2x16xf32>) -> tensor<?x?x16xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<?x?x16xf32>
func.func @residual_moe$no_bias(%x: tensor<?x?x16xf32>, %d: tensor<?x?x16xf32>, %e: tensor<?x?x16xf32>, %wc: tensor<2x16xf32>) -> tensor<?x?x16xf32> {
  %y = eff.residual_moe %x, %d, %e, %wc : (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<2x16xf32>) -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// CHECK-LABEL: func.func @attention$bias(
// CHECK-SAME:    %[[Q:.*]]: tensor<?x?x64xf32>, %[[K:.*]]: tensor<?x?x64xf32>, %[[V:.*]]: tensor<?x?x64xf32>, %[[M:.*]]: tensor<?x?xi64>, %[[B:.*]]: tensor<1x4x?x?xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT:    %[[O:.*]] = eff.attention %[[Q]], %[[K]], %[[V]] mask(%[[M]]) bias(%[[B]]) {num_heads = 4 : i64, scale = 1.000000e+00 : f32} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xi64>, tensor<1x4x?x?xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT:    return %[[O]] : tensor<?x?x64xf32>
func.func @attention$bias(%q: tensor<?x?x64xf32>, %k: tensor<?x?x64xf32>, %v: tensor<?x?x64xf32>, %m: tensor<?x?xi64>, %b: tensor<1x4x?x?xf32>) -> tensor<?x?x64xf32> {
  %o = eff.attention %q, %k, %v mask(%m) bias(%b) {num_heads = 4 : i64, scale = 1.0 : f32} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?xi64>, tensor<1x4x?x?xf32>) -> tensor<?x?x64xf32>
  return %o : tensor<?x?x64xf32>
}

// -----

// A per-batch bias over a KV cache: [B, H, S, P + S].
// CHECK-LABEL: func.func @attention$bias_past(
// CHECK:         eff.attention %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) past(%{{.*}}, %{{.*}}) {causal, num_heads = 2 : i64} : (tensor<2x1x8xf32>, tensor<2x1x8xf32>, tensor<2x1x8xf32>, tensor<2x2x1x5xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> (tensor<2x1x8xf32>, tensor<2x5x8xf32>, tensor<2x5x8xf32>)
func.func @attention$bias_past(%q: tensor<2x1x8xf32>, %k: tensor<2x1x8xf32>, %v: tensor<2x1x8xf32>, %b: tensor<2x2x1x5xf32>, %pk: tensor<2x4x8xf32>, %pv: tensor<2x4x8xf32>) -> tensor<2x1x8xf32> {
  %o, %k2, %v2 = eff.attention %q, %k, %v bias(%b) past(%pk, %pv) {num_heads = 2 : i64, causal} : (tensor<2x1x8xf32>, tensor<2x1x8xf32>, tensor<2x1x8xf32>, tensor<2x2x1x5xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> (tensor<2x1x8xf32>, tensor<2x5x8xf32>, tensor<2x5x8xf32>)
  return %o : tensor<2x1x8xf32>
}

// -----

// Static lengths when the operands are constants, dynamic otherwise.
// CHECK-LABEL: func.func @relative_position_bias(
// CHECK-SAME:    %[[T:.*]]: tensor<32x4xf32>, %[[S:.*]]: index, %[[L:.*]]: index)
// CHECK:         eff.relative_position_bias %[[T]][%[[S]], %[[L]]] {bidirectional} : tensor<32x4xf32> -> tensor<1x4x?x?xf32>
// CHECK:         eff.relative_position_bias %[[T]][%{{.*}}, %{{.*}}] {max_distance = 64 : i64} : tensor<32x4xf32> -> tensor<1x4x3x7xf32>
func.func @relative_position_bias(%t: tensor<32x4xf32>, %s: index, %l: index) -> (tensor<1x4x?x?xf32>, tensor<1x4x3x7xf32>) {
  %a = eff.relative_position_bias %t[%s, %l] {bidirectional} : tensor<32x4xf32> -> tensor<1x4x?x?xf32>
  %c3 = arith.constant 3 : index
  %c7 = arith.constant 7 : index
  %b = eff.relative_position_bias %t[%c3, %c7] {max_distance = 64 : i64} : tensor<32x4xf32> -> tensor<1x4x3x7xf32>
  return %a, %b : tensor<1x4x?x?xf32>, tensor<1x4x3x7xf32>
}
