// RUN: effc-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the eff verifiers and shape rules (lib/Dialect/Eff/IR/EffOps.cpp,
// EffTypeInference.cpp), plus the ODS constraints named in docs/spec/eff.md and a few parser errors (at the end).
// A shape rule of an op with inferred result types reports twice: the rule's message, then
// "failed to infer returned types".

//===----------------------------------------------------------------------===//
// eff.parameter
//===----------------------------------------------------------------------===//

func.func @parameter$empty_name() -> tensor<4xf32> {
  // expected-error @+1 {{'eff.parameter' op requires a non-empty parameter name}}
  %w = eff.parameter "" : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

// eff_parameter_c2 is ODS's.
func.func @parameter$dynamic_shape() -> tensor<?xf32> {
  // expected-error @+1 {{'eff.parameter' op result #0 must be statically shaped tensor of any type values, but got 'tensor<?xf32>'}}
  %w = eff.parameter "w" : tensor<?xf32>
  return %w : tensor<?xf32>
}

// -----

// eff_parameter_c3
func.func @parameter$stack_count() -> tensor<3x4xf32> {
  // expected-error @+1 {{'eff.parameter' op stacks 2 tensors, but its leading dimension is 3}}
  %w = eff.parameter "w" {stack = ["w.0", "w.1"]} : tensor<3x4xf32>
  return %w : tensor<3x4xf32>
}

// -----

// eff_parameter_c4
func.func @parameter$transpose_rank() -> tensor<2x3x4xf32> {
  // expected-error @+1 {{'eff.parameter' op reads a transposed tensor, which must be 2-D, but each part has rank 3}}
  %w = eff.parameter "w" {transpose} : tensor<2x3x4xf32>
  return %w : tensor<2x3x4xf32>
}

// -----

func.func @parameter$negative_row_offset() -> tensor<4xf32> {
  // expected-error @+1 {{'eff.parameter' op has row_offset -1, which needs a non-negative offset into parts of rank >= 1}}
  %w = eff.parameter "w" {row_offset = -1 : i64} : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.embedding
//===----------------------------------------------------------------------===//

// eff_embedding_c1 is ODS's.
func.func @embedding$rank1_table(%t: tensor<16xf32>, %ids: tensor<2x8xi64>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{'eff.embedding' op operand #0 must be 2D tensor of 32-bit float or 16-bit float or bfloat16 type values, but got 'tensor<16xf32>'}}
  %e = eff.embedding token %t[%ids] : (tensor<16xf32>, tensor<2x8xi64>) -> tensor<2x8x16xf32>
  return %e : tensor<2x8x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.position_ids
//===----------------------------------------------------------------------===//

// The custom syntax infers the result type while parsing, so the rule reports once.
func.func @position_ids$rank0(%ids: tensor<i64>) -> tensor<i64> {
  // expected-error @+1 {{'eff.position_ids' op ids must have rank >= 1 (a sequence dimension), got []}}
  %p = eff.position_ids %ids : tensor<i64>
  return %p : tensor<i64>
}

// -----

func.func @position_ids$rank0_generic(%ids: tensor<i64>) -> tensor<i64> {
  // expected-error @+2 {{'eff.position_ids' op ids must have rank >= 1 (a sequence dimension), got []}}
  // expected-error @+1 {{'eff.position_ids' op failed to infer returned types}}
  %p = "eff.position_ids"(%ids) : (tensor<i64>) -> tensor<i64>
  return %p : tensor<i64>
}

// -----

//===----------------------------------------------------------------------===//
// eff.linear
//===----------------------------------------------------------------------===//

func.func @linear$rank0_input(%x: tensor<f32>, %w: tensor<32x16xf32>) -> tensor<32xf32> {
  // expected-error @+2 {{'eff.linear' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.linear' op failed to infer returned types}}
  %y = eff.linear %x, %w : (tensor<f32>, tensor<32x16xf32>) -> tensor<32xf32>
  return %y : tensor<32xf32>
}

// -----

func.func @linear$element_type(%x: tensor<2x16xf32>, %w: tensor<32x16xf16>) -> tensor<2x32xf32> {
  // expected-error @+2 {{'eff.linear' op weight has element type 'f16', but input has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.linear' op failed to infer returned types}}
  %y = eff.linear %x, %w : (tensor<2x16xf32>, tensor<32x16xf16>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @linear$k_mismatch(%x: tensor<2x8x16xf32>, %w: tensor<32x15xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+2 {{'eff.linear' op weight [32, 15] takes 15 input features, but input [2, 8, 16] has 16}}
  // expected-error @+1 {{'eff.linear' op failed to infer returned types}}
  %y = eff.linear %x, %w : (tensor<2x8x16xf32>, tensor<32x15xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

func.func @linear$bias_length(%x: tensor<2x16xf32>, %w: tensor<32x16xf32>, %b: tensor<31xf32>) -> tensor<2x32xf32> {
  // expected-error @+2 {{'eff.linear' op bias [31] must have 32 elements (the weight's output features)}}
  // expected-error @+1 {{'eff.linear' op failed to infer returned types}}
  %y = eff.linear %x, %w, %b : (tensor<2x16xf32>, tensor<32x16xf32>, tensor<31xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

// Inference succeeds, but the written result type contradicts it (a static dimension differs).
func.func @linear$incompatible_result(%x: tensor<2x16xf32>, %w: tensor<32x16xf32>) -> tensor<2x31xf32> {
  // expected-error @+2 {{'eff.linear' op inferred type(s) 'tensor<2x32xf32>' are incompatible with return type(s) of operation 'tensor<2x31xf32>'}}
  // expected-error @+1 {{'eff.linear' op failed to infer returned types}}
  %y = eff.linear %x, %w : (tensor<2x16xf32>, tensor<32x16xf32>) -> tensor<2x31xf32>
  return %y : tensor<2x31xf32>
}

// -----

// The written result type may refine a dynamic dimension, but not change the element type.
func.func @linear$incompatible_result_element_type(%x: tensor<?x16xf32>, %w: tensor<32x16xf32>) -> tensor<2x32xf16> {
  // expected-error @+2 {{'eff.linear' op inferred type(s) 'tensor<?x32xf32>' are incompatible with return type(s) of operation 'tensor<2x32xf16>'}}
  // expected-error @+1 {{'eff.linear' op failed to infer returned types}}
  %y = eff.linear %x, %w : (tensor<?x16xf32>, tensor<32x16xf32>) -> tensor<2x32xf16>
  return %y : tensor<2x32xf16>
}

// -----

//===----------------------------------------------------------------------===//
// eff.matmul
//===----------------------------------------------------------------------===//

func.func @matmul$element_type(%a: tensor<8x16xf32>, %b: tensor<16x4xbf16>) -> tensor<8x4xf32> {
  // expected-error @+2 {{'eff.matmul' op rhs has element type 'bf16', but lhs has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.matmul' op failed to infer returned types}}
  %c = eff.matmul %a, %b : (tensor<8x16xf32>, tensor<16x4xbf16>) -> tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

func.func @matmul$rank1(%a: tensor<16xf32>, %b: tensor<16x4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{'eff.matmul' op operands must have rank >= 2, got lhs [16] and rhs [16, 4]}}
  // expected-error @+1 {{'eff.matmul' op failed to infer returned types}}
  %c = eff.matmul %a, %b : (tensor<16xf32>, tensor<16x4xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

func.func @matmul$rhs_rank(%a: tensor<2x3x8x16xf32>, %b: tensor<3x16x4xf32>) -> tensor<2x3x8x4xf32> {
  // expected-error @+2 {{'eff.matmul' op rhs [3, 16, 4] must have rank 2 or the rank of lhs [2, 3, 8, 16]}}
  // expected-error @+1 {{'eff.matmul' op failed to infer returned types}}
  %c = eff.matmul %a, %b : (tensor<2x3x8x16xf32>, tensor<3x16x4xf32>) -> tensor<2x3x8x4xf32>
  return %c : tensor<2x3x8x4xf32>
}

// -----

func.func @matmul$batch_mismatch(%a: tensor<2x8x16xf32>, %b: tensor<3x16x4xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+2 {{'eff.matmul' op batch dimension 0 differs: lhs [2, 8, 16], rhs [3, 16, 4]}}
  // expected-error @+1 {{'eff.matmul' op failed to infer returned types}}
  %c = eff.matmul %a, %b : (tensor<2x8x16xf32>, tensor<3x16x4xf32>) -> tensor<2x8x4xf32>
  return %c : tensor<2x8x4xf32>
}

// -----

func.func @matmul$k_mismatch(%a: tensor<2x8x16xf32>, %b: tensor<2x15x4xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+2 {{'eff.matmul' op contraction dimensions differ: lhs [2, 8, 16] has K = 16, rhs [2, 15, 4] has K = 15}}
  // expected-error @+1 {{'eff.matmul' op failed to infer returned types}}
  %c = eff.matmul %a, %b : (tensor<2x8x16xf32>, tensor<2x15x4xf32>) -> tensor<2x8x4xf32>
  return %c : tensor<2x8x4xf32>
}

// -----

func.func @matmul$k_mismatch_transpose_b(%a: tensor<2x8x16xf32>, %b: tensor<2x4x15xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+2 {{'eff.matmul' op contraction dimensions differ: lhs [2, 8, 16] has K = 16, rhs [2, 4, 15] has K = 15 (transpose_b)}}
  // expected-error @+1 {{'eff.matmul' op failed to infer returned types}}
  %c = eff.matmul %a, %b {transpose_b} : (tensor<2x8x16xf32>, tensor<2x4x15xf32>) -> tensor<2x8x4xf32>
  return %c : tensor<2x8x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.layer_norm, eff.rms_norm
//===----------------------------------------------------------------------===//

func.func @layer_norm$rank0_input(%x: tensor<f32>, %g: tensor<16xf32>) -> tensor<f32> {
  // expected-error @+2 {{'eff.layer_norm' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.layer_norm' op failed to infer returned types}}
  %y = eff.layer_norm %x, %g : (tensor<f32>, tensor<16xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @layer_norm$element_type(%x: tensor<2x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf16>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.layer_norm' op beta has element type 'f16', but input has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.layer_norm' op failed to infer returned types}}
  %y = eff.layer_norm %x, %g, %b : (tensor<2x16xf32>, tensor<16xf32>, tensor<16xf16>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @layer_norm$gamma_length(%x: tensor<2x16xf32>, %g: tensor<15xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.layer_norm' op gamma [15] must have 16 elements (the input's last dimension)}}
  // expected-error @+1 {{'eff.layer_norm' op failed to infer returned types}}
  %y = eff.layer_norm %x, %g : (tensor<2x16xf32>, tensor<15xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @layer_norm$beta_length(%x: tensor<2x16xf32>, %g: tensor<16xf32>, %b: tensor<17xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.layer_norm' op beta [17] must have 16 elements (the input's last dimension)}}
  // expected-error @+1 {{'eff.layer_norm' op failed to infer returned types}}
  %y = eff.layer_norm %x, %g, %b : (tensor<2x16xf32>, tensor<16xf32>, tensor<17xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @layer_norm$negative_epsilon(%x: tensor<2x16xf32>, %g: tensor<16xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.layer_norm' op epsilon must be > 0, got -1.000000e+00}}
  // expected-error @+1 {{'eff.layer_norm' op failed to infer returned types}}
  %y = eff.layer_norm %x, %g {epsilon = -1.0 : f32} : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @rms_norm$gamma_length(%x: tensor<?x?x16xbf16>, %g: tensor<32xbf16>) -> tensor<?x?x16xbf16> {
  // expected-error @+2 {{'eff.rms_norm' op gamma [32] must have 16 elements (the input's last dimension)}}
  // expected-error @+1 {{'eff.rms_norm' op failed to infer returned types}}
  %y = eff.rms_norm %x, %g : (tensor<?x?x16xbf16>, tensor<32xbf16>) -> tensor<?x?x16xbf16>
  return %y : tensor<?x?x16xbf16>
}

// -----

func.func @rms_norm$zero_epsilon(%x: tensor<2x16xf32>, %g: tensor<16xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.rms_norm' op epsilon must be > 0, got 0.000000e+00}}
  // expected-error @+1 {{'eff.rms_norm' op failed to infer returned types}}
  %y = eff.rms_norm %x, %g {epsilon = 0.0 : f32} : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.softmax
//===----------------------------------------------------------------------===//

func.func @softmax$axis_too_large(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'eff.softmax' op axis 2 is out of range for an input of rank 2}}
  %p = eff.softmax %x {axis = 2 : i64} : tensor<2x4xf32>
  return %p : tensor<2x4xf32>
}

// -----

func.func @softmax$axis_too_small(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'eff.softmax' op axis -3 is out of range for an input of rank 2}}
  %p = eff.softmax %x {axis = -3 : i64} : tensor<2x4xf32>
  return %p : tensor<2x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.rotary
//===----------------------------------------------------------------------===//

func.func @rotary$rank1_input(%x: tensor<64xf32>, %pos: tensor<64xi64>) -> tensor<64xf32> {
  // expected-error @+2 {{'eff.rotary' op input must have rank >= 2 ([..., seq, heads * head_dim]), got [64]}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 4 : i64} : (tensor<64xf32>, tensor<64xi64>) -> tensor<64xf32>
  return %r : tensor<64xf32>
}

// -----

func.func @rotary$zero_heads(%x: tensor<2x8x64xf32>, %pos: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.rotary' op num_heads must be >= 1, got 0}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 0 : i64} : (tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

func.func @rotary$heads_do_not_divide(%x: tensor<2x8x64xf32>, %pos: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.rotary' op num_heads = 3 does not divide the input's hidden size 64}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 3 : i64} : (tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

func.func @rotary$odd_rotary_dim(%x: tensor<2x8x64xf32>, %pos: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.rotary' op rotary_dim must be even and >= 2, got 3}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 4 : i64, rotary_dim = 3 : i64} : (tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

func.func @rotary$zero_rotary_dim(%x: tensor<2x8x64xf32>, %pos: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.rotary' op rotary_dim must be even and >= 2, got 0}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 4 : i64, rotary_dim = 0 : i64} : (tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

func.func @rotary$rotary_dim_too_large(%x: tensor<2x8x64xf32>, %pos: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.rotary' op rotary_dim = 32 exceeds the head size 16}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 4 : i64, rotary_dim = 32 : i64} : (tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

func.func @rotary$odd_head_size(%x: tensor<2x8x12xf32>, %pos: tensor<2x8xi64>) -> tensor<2x8x12xf32> {
  // expected-error @+2 {{'eff.rotary' op the head size 3 must be even to rotate channel pairs}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 4 : i64} : (tensor<2x8x12xf32>, tensor<2x8xi64>) -> tensor<2x8x12xf32>
  return %r : tensor<2x8x12xf32>
}

// -----

func.func @rotary$positions_shape(%x: tensor<2x8x64xf32>, %pos: tensor<2x7xi64>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.rotary' op positions [2, 7] must have the input's leading shape or be [seq]; input is [2, 8, 64]}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x7xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

func.func @rotary$zero_theta(%x: tensor<2x8x64xf32>, %pos: tensor<8xi64>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.rotary' op theta must be > 0, got 0.000000e+00}}
  // expected-error @+1 {{'eff.rotary' op failed to infer returned types}}
  %r = eff.rotary %x, %pos {num_heads = 4 : i64, theta = 0.0 : f32} : (tensor<2x8x64xf32>, tensor<8xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.attention
//===----------------------------------------------------------------------===//

func.func @attention$element_type(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf16>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op value has element type 'f16', but query has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf16>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$key_value_shape(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x7x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op key [2, 8, 64] and value [2, 7, 64] must have the same shape}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x7x64xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$batch_mismatch(%q: tensor<2x8x64xf32>, %k: tensor<3x8x64xf32>, %v: tensor<3x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op query [2, 8, 64], key [3, 8, 64] and value [3, 8, 64] must have the same batch size}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<3x8x64xf32>, tensor<3x8x64xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$zero_heads(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op num_heads must be >= 1, got 0}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 0 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$heads_do_not_divide(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op num_heads = 5 does not divide the query's hidden size 64}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 5 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$zero_kv_heads(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op num_kv_heads must be >= 1, got 0}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 0 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$kv_heads_do_not_divide(%q: tensor<2x8x64xf32>, %k: tensor<2x8x48xf32>, %v: tensor<2x8x48xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op num_kv_heads = 3 must divide num_heads = 4}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 3 : i64} : (tensor<2x8x64xf32>, tensor<2x8x48xf32>, tensor<2x8x48xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$key_channels(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op key [2, 8, 64] must have num_kv_heads * head_dim = 2 * 16 = 32 channels}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

// The custom syntax cannot give past_key without past_value; the generic syntax can.
func.func @attention$past_key_without_value(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>, %pk: tensor<1x5x64xf32>) -> tensor<1x1x64xf32> {
  // expected-error @+2 {{'eff.attention' op past_key and past_value must be given together}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = "eff.attention"(%q, %k, %v, %pk) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 1, 0>, num_heads = 4 : i64}> : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x5x64xf32>) -> tensor<1x1x64xf32>
  return %o : tensor<1x1x64xf32>
}

// -----

func.func @attention$past_shapes(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>, %pk: tensor<1x5x64xf32>, %pv: tensor<1x4x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>) {
  // expected-error @+2 {{'eff.attention' op past_key [1, 5, 64] and past_value [1, 4, 64] must have the same shape}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o, %nk, %nv = eff.attention %q, %k, %v past(%pk, %pv) {num_heads = 4 : i64} : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x5x64xf32>, tensor<1x4x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>)
  return %o, %nk, %nv : tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>
}

// -----

func.func @attention$past_channels(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>, %pk: tensor<1x5x32xf32>, %pv: tensor<1x5x32xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>) {
  // expected-error @+2 {{'eff.attention' op past_key [1, 5, 32] must be [batch, past, 64] to extend key [1, 1, 64]}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o, %nk, %nv = eff.attention %q, %k, %v past(%pk, %pv) {num_heads = 4 : i64} : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x5x32xf32>, tensor<1x5x32xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>)
  return %o, %nk, %nv : tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>
}

// -----

// With `past` the op has three results (eff_attention_c7).
func.func @attention$past_one_result(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>, %pk: tensor<1x5x64xf32>, %pv: tensor<1x5x64xf32>) -> tensor<1x1x64xf32> {
  // expected-error @+2 {{'eff.attention' op inferred type(s) 'tensor<1x1x64xf32>', 'tensor<1x6x64xf32>', 'tensor<1x6x64xf32>' are incompatible with return type(s) of operation 'tensor<1x1x64xf32>'}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v past(%pk, %pv) {num_heads = 4 : i64} : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x1x64xf32>
  return %o : tensor<1x1x64xf32>
}

// -----

func.func @attention$mask_shape(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>, %m: tensor<2x7xi64>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op mask [2, 7] must be [batch, key length] = [2, 8]}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v mask(%m) {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x7xi64>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

// With a KV cache the mask covers the past and the new keys.
func.func @attention$mask_shape_with_past(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>, %m: tensor<1x1xi1>, %pk: tensor<1x5x64xf32>, %pv: tensor<1x5x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>) {
  // expected-error @+2 {{'eff.attention' op mask [1, 1] must be [batch, key length] = [1, 6]}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o, %nk, %nv = eff.attention %q, %k, %v mask(%m) past(%pk, %pv) {num_heads = 4 : i64} : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1xi1>, tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>)
  return %o, %nk, %nv : tensor<1x1x64xf32>, tensor<1x6x64xf32>, tensor<1x6x64xf32>
}

// -----

func.func @attention$head_mask_length(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>, %hm: tensor<3xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op head_mask [3] must have 4 elements (one per query head)}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v head_mask(%hm) {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<3xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$zero_scale(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op scale must be > 0, got 0.000000e+00}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64, scale = 0.0 : f32} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$causal_more_queries_than_keys(%q: tensor<1x8x64xf32>, %k: tensor<1x4x64xf32>, %v: tensor<1x4x64xf32>) -> tensor<1x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op causal attention needs at least as many keys (4) as queries (8)}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64, causal} : (tensor<1x8x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32>) -> tensor<1x8x64xf32>
  return %o : tensor<1x8x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.ffn
//===----------------------------------------------------------------------===//

func.func @ffn$rank0_input(%x: tensor<f32>, %wu: tensor<64x16xf32>, %wd: tensor<16x64xf32>) -> tensor<f32> {
  // expected-error @+2 {{'eff.ffn' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.ffn' op failed to infer returned types}}
  %y = eff.ffn %x up(%wu) down(%wd) gelu : (tensor<f32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @ffn$element_type(%x: tensor<2x16xf32>, %wu: tensor<64x16xf32>, %wd: tensor<16x64xbf16>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.ffn' op down_weight has element type 'bf16', but input has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.ffn' op failed to infer returned types}}
  %y = eff.ffn %x up(%wu) down(%wd) gelu : (tensor<2x16xf32>, tensor<64x16xf32>, tensor<16x64xbf16>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @ffn$up_k_mismatch(%x: tensor<2x16xf32>, %wu: tensor<64x15xf32>, %wd: tensor<16x64xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.ffn' op up_weight [64, 15] takes 15 input features, but input [2, 16] has 16}}
  // expected-error @+1 {{'eff.ffn' op failed to infer returned types}}
  %y = eff.ffn %x up(%wu) down(%wd) gelu : (tensor<2x16xf32>, tensor<64x15xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @ffn$gate_shape(%x: tensor<2x16xf32>, %wu: tensor<64x16xf32>, %wg: tensor<48x16xf32>, %wd: tensor<16x64xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.ffn' op gate_weight [48, 16] must have the shape of up_weight [64, 16]}}
  // expected-error @+1 {{'eff.ffn' op failed to infer returned types}}
  %y = eff.ffn %x up(%wu) gate(%wg) down(%wd) silu : (tensor<2x16xf32>, tensor<64x16xf32>, tensor<48x16xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @ffn$down_width(%x: tensor<2x16xf32>, %wu: tensor<64x16xf32>, %wd: tensor<16x48xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.ffn' op down_weight [16, 48] takes 48 features, but up_weight [64, 16] produces 64}}
  // expected-error @+1 {{'eff.ffn' op failed to infer returned types}}
  %y = eff.ffn %x up(%wu) down(%wd) relu : (tensor<2x16xf32>, tensor<64x16xf32>, tensor<16x48xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @ffn$up_bias_length(%x: tensor<2x16xf32>, %wu: tensor<64x16xf32>, %bu: tensor<63xf32>, %wd: tensor<16x64xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.ffn' op up_bias [63] must have 64 elements (the FFN width)}}
  // expected-error @+1 {{'eff.ffn' op failed to infer returned types}}
  %y = eff.ffn %x up(%wu, %bu) down(%wd) gelu : (tensor<2x16xf32>, tensor<64x16xf32>, tensor<63xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @ffn$down_bias_length(%x: tensor<2x16xf32>, %wu: tensor<64x16xf32>, %wd: tensor<16x64xf32>, %bd: tensor<15xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.ffn' op down_bias [15] must have 16 elements (the output features)}}
  // expected-error @+1 {{'eff.ffn' op failed to infer returned types}}
  %y = eff.ffn %x up(%wu) down(%wd, %bd) gelu : (tensor<2x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>, tensor<15xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.layer, eff.yield
//===----------------------------------------------------------------------===//

func.func @layer$negative_index(%h: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'eff.layer' op index must be >= 0, got -1}}
  %o = eff.layer -1 (%h) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>):
    eff.yield %x : tensor<4xf32>
  }
  return %o : tensor<4xf32>
}

// -----

func.func @layer$block_arguments(%h: tensor<4xf32>, %m: tensor<4xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{'eff.layer' op entry block arguments ('tensor<4xf32>', 'tensor<4xi32>') must have the operand types ('tensor<4xf32>', 'tensor<4xi64>')}}
  %o = eff.layer 0 (%h, %m) : (tensor<4xf32>, tensor<4xi64>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>, %mask: tensor<4xi32>):
    eff.yield %x : tensor<4xf32>
  }
  return %o : tensor<4xf32>
}

// -----

func.func @layer$missing_block_argument(%h: tensor<4xf32>, %m: tensor<4xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{'eff.layer' op entry block arguments ('tensor<4xf32>') must have the operand types ('tensor<4xf32>', 'tensor<4xi64>')}}
  %o = eff.layer 0 (%h, %m) : (tensor<4xf32>, tensor<4xi64>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>):
    eff.yield %x : tensor<4xf32>
  }
  return %o : tensor<4xf32>
}

// -----

// llvm.unreachable is a terminator that any region accepts.
func.func @layer$other_terminator(%h: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'eff.layer' op body must end with 'eff.yield'}}
  %o = eff.layer 0 (%h) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>):
    llvm.unreachable
  }
  return %o : tensor<4xf32>
}

// -----

func.func @layer$yield_types(%h: tensor<4xf32>) -> tensor<4xf32> {
  %o = eff.layer 0 (%h) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>):
    %y = eff.activation relu %x : tensor<4xf32>
    // expected-error @+1 {{'eff.yield' op operand types ('tensor<4xf32>', 'tensor<4xf32>') must match the enclosing layer's result types ('tensor<4xf32>')}}
    eff.yield %x, %y : tensor<4xf32>, tensor<4xf32>
  }
  return %o : tensor<4xf32>
}

// -----

func.func @layer$yield_outside_layer(%x: tensor<4xf32>) {
  // expected-error @+1 {{'eff.yield' op expects parent op 'eff.layer'}}
  eff.yield %x : tensor<4xf32>
}

// -----

func.func @layer$no_residual_stream() {
  // expected-error @+1 {{'eff.layer' op needs the residual stream as its first operand and first result}}
  eff.layer 0 () : () -> () {
    eff.yield
  }
  return
}

// -----

func.func @layer$residual_stream_type(%h: tensor<4xf32>, %g: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'eff.layer' op first result type 'tensor<8xf32>' must equal the first operand type 'tensor<4xf32>' (the residual stream)}}
  %o = eff.layer 0 (%h, %g) : (tensor<4xf32>, tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%x: tensor<4xf32>, %y: tensor<8xf32>):
    eff.yield %y : tensor<8xf32>
  }
  return %o : tensor<8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.lora
//===----------------------------------------------------------------------===//

func.func @lora$element_type(%base: tensor<2x32xf32>, %x: tensor<2x16xf32>, %a: tensor<4x16xf16>, %b: tensor<32x4xf32>) -> tensor<2x32xf32> {
  // expected-error @+2 {{'eff.lora' op lora_a has element type 'f16', but base has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.lora' op failed to infer returned types}}
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<2x32xf32>, tensor<2x16xf32>, tensor<4x16xf16>, tensor<32x4xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @lora$zero_rank(%base: tensor<2x32xf32>, %x: tensor<2x16xf32>, %a: tensor<4x16xf32>, %b: tensor<32x4xf32>) -> tensor<2x32xf32> {
  // expected-error @+2 {{'eff.lora' op rank must be >= 1, got 0}}
  // expected-error @+1 {{'eff.lora' op failed to infer returned types}}
  %y = eff.lora %base, %x, %a, %b {rank = 0 : i64, alpha = 8.0 : f32} : (tensor<2x32xf32>, tensor<2x16xf32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @lora$rank_mismatch(%base: tensor<2x32xf32>, %x: tensor<2x16xf32>, %a: tensor<8x16xf32>, %b: tensor<32x8xf32>) -> tensor<2x32xf32> {
  // expected-error @+2 {{'eff.lora' op lora_a [8, 16] must have rank = 4 rows}}
  // expected-error @+1 {{'eff.lora' op failed to infer returned types}}
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<2x32xf32>, tensor<2x16xf32>, tensor<8x16xf32>, tensor<32x8xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @lora$b_rank_mismatch(%base: tensor<2x32xf32>, %x: tensor<2x16xf32>, %a: tensor<4x16xf32>, %b: tensor<32x8xf32>) -> tensor<2x32xf32> {
  // expected-error @+2 {{'eff.lora' op lora_b [32, 8] must have rank = 4 columns}}
  // expected-error @+1 {{'eff.lora' op failed to infer returned types}}
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<2x32xf32>, tensor<2x16xf32>, tensor<4x16xf32>, tensor<32x8xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @lora$rank0_base(%base: tensor<f32>, %x: tensor<f32>, %a: tensor<4x16xf32>, %b: tensor<32x4xf32>) -> tensor<f32> {
  // expected-error @+2 {{'eff.lora' op base must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.lora' op failed to infer returned types}}
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<f32>, tensor<f32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @lora$leading_dims(%base: tensor<2x8x32xf32>, %x: tensor<2x7x16xf32>, %a: tensor<4x16xf32>, %b: tensor<32x4xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+2 {{'eff.lora' op base [2, 8, 32] and input [2, 7, 16] must have the same leading dimensions}}
  // expected-error @+1 {{'eff.lora' op failed to infer returned types}}
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<2x8x32xf32>, tensor<2x7x16xf32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

func.func @lora$k_mismatch(%base: tensor<2x8x32xf32>, %x: tensor<2x8x16xf32>, %a: tensor<4x15xf32>, %b: tensor<32x4xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+2 {{'eff.lora' op lora_a [4, 15] takes 15 input features, but input [2, 8, 16] has 16}}
  // expected-error @+1 {{'eff.lora' op failed to infer returned types}}
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<2x8x32xf32>, tensor<2x8x16xf32>, tensor<4x15xf32>, tensor<32x4xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

func.func @lora$n_mismatch(%base: tensor<2x8x32xf32>, %x: tensor<2x8x16xf32>, %a: tensor<4x16xf32>, %b: tensor<31x4xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+2 {{'eff.lora' op lora_b [31, 4] produces 31 features, but base [2, 8, 32] has 32}}
  // expected-error @+1 {{'eff.lora' op failed to infer returned types}}
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<2x8x32xf32>, tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<31x4xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.ia3
//===----------------------------------------------------------------------===//

func.func @ia3$rank0_input(%x: tensor<f32>, %s: tensor<16xf32>) -> tensor<f32> {
  // expected-error @+2 {{'eff.ia3' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.ia3' op failed to infer returned types}}
  %y = eff.ia3 key %x, %s : (tensor<f32>, tensor<16xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @ia3$element_type(%x: tensor<2x16xf32>, %s: tensor<16xbf16>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.ia3' op scale has element type 'bf16', but input has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.ia3' op failed to infer returned types}}
  %y = eff.ia3 value %x, %s : (tensor<2x16xf32>, tensor<16xbf16>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @ia3$scale_length(%x: tensor<2x8x64xf32>, %s: tensor<16xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.ia3' op scale [16] must have 64 elements (the input's last dimension)}}
  // expected-error @+1 {{'eff.ia3' op failed to infer returned types}}
  %y = eff.ia3 ffn %x, %s : (tensor<2x8x64xf32>, tensor<16xf32>) -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.prefix
//===----------------------------------------------------------------------===//

func.func @prefix$element_type(%k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %pk: tensor<4x16xf32>, %pv: tensor<4x16xf16>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>) {
  // expected-error @+2 {{'eff.prefix' op prefix_value has element type 'f16', but key has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.prefix' op failed to infer returned types}}
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<4x16xf16>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>)
  return %k2, %v2 : tensor<2x12x16xf32>, tensor<2x12x16xf32>
}

// -----

func.func @prefix$key_value_shape(%k: tensor<2x8x16xf32>, %v: tensor<2x9x16xf32>, %pk: tensor<4x16xf32>, %pv: tensor<4x16xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>) {
  // expected-error @+2 {{'eff.prefix' op key [2, 8, 16] and value [2, 9, 16] must have the same shape}}
  // expected-error @+1 {{'eff.prefix' op failed to infer returned types}}
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<2x8x16xf32>, tensor<2x9x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>)
  return %k2, %v2 : tensor<2x12x16xf32>, tensor<2x12x16xf32>
}

// -----

func.func @prefix$prefix_shapes(%k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %pk: tensor<4x16xf32>, %pv: tensor<5x16xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>) {
  // expected-error @+2 {{'eff.prefix' op prefix_key [4, 16] and prefix_value [5, 16] must have the same shape}}
  // expected-error @+1 {{'eff.prefix' op failed to infer returned types}}
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<5x16xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>)
  return %k2, %v2 : tensor<2x12x16xf32>, tensor<2x12x16xf32>
}

// -----

func.func @prefix$channels(%k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %pk: tensor<4x32xf32>, %pv: tensor<4x32xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>) {
  // expected-error @+2 {{'eff.prefix' op prefix_key [4, 32] must have the key's 16 channels}}
  // expected-error @+1 {{'eff.prefix' op failed to infer returned types}}
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<4x32xf32>, tensor<4x32xf32>) -> (tensor<2x12x16xf32>, tensor<2x12x16xf32>)
  return %k2, %v2 : tensor<2x12x16xf32>, tensor<2x12x16xf32>
}

// -----

// The result's sequence length is P + L.
func.func @prefix$result_length(%k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %pk: tensor<4x16xf32>, %pv: tensor<4x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  // expected-error @+2 {{'eff.prefix' op inferred type(s) 'tensor<2x12x16xf32>', 'tensor<2x12x16xf32>' are incompatible with return type(s) of operation 'tensor<2x8x16xf32>', 'tensor<2x8x16xf32>'}}
  // expected-error @+1 {{'eff.prefix' op failed to infer returned types}}
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>)
  return %k2, %v2 : tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.prompt
//===----------------------------------------------------------------------===//

func.func @prompt$element_type(%e: tensor<2x8x16xf32>, %p: tensor<20x16xbf16>) -> tensor<2x28x16xf32> {
  // expected-error @+2 {{'eff.prompt' op prompt has element type 'bf16', but embeds has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.prompt' op failed to infer returned types}}
  %e2 = eff.prompt %e, %p : (tensor<2x8x16xf32>, tensor<20x16xbf16>) -> tensor<2x28x16xf32>
  return %e2 : tensor<2x28x16xf32>
}

// -----

func.func @prompt$channels(%e: tensor<2x8x16xf32>, %p: tensor<20x32xf32>) -> tensor<2x28x16xf32> {
  // expected-error @+2 {{'eff.prompt' op prompt [20, 32] must have the embeddings' 16 channels}}
  // expected-error @+1 {{'eff.prompt' op failed to infer returned types}}
  %e2 = eff.prompt %e, %p : (tensor<2x8x16xf32>, tensor<20x32xf32>) -> tensor<2x28x16xf32>
  return %e2 : tensor<2x28x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.bottleneck_adapter
//===----------------------------------------------------------------------===//

func.func @bottleneck_adapter$rank0_input(%x: tensor<f32>, %wd: tensor<4x16xf32>, %wu: tensor<16x4xf32>) -> tensor<f32> {
  // expected-error @+2 {{'eff.bottleneck_adapter' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.bottleneck_adapter' op failed to infer returned types}}
  %y = eff.bottleneck_adapter %x down(%wd) up(%wu) relu : (tensor<f32>, tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @bottleneck_adapter$element_type(%x: tensor<2x16xf32>, %wd: tensor<4x16xf32>, %bd: tensor<4xf16>, %wu: tensor<16x4xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.bottleneck_adapter' op down_bias has element type 'f16', but input has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.bottleneck_adapter' op failed to infer returned types}}
  %y = eff.bottleneck_adapter %x down(%wd, %bd) up(%wu) relu : (tensor<2x16xf32>, tensor<4x16xf32>, tensor<4xf16>, tensor<16x4xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @bottleneck_adapter$down_k_mismatch(%x: tensor<2x16xf32>, %wd: tensor<4x15xf32>, %wu: tensor<16x4xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.bottleneck_adapter' op down_weight [4, 15] takes 15 features, but input [2, 16] has 16}}
  // expected-error @+1 {{'eff.bottleneck_adapter' op failed to infer returned types}}
  %y = eff.bottleneck_adapter %x down(%wd) up(%wu) relu : (tensor<2x16xf32>, tensor<4x15xf32>, tensor<16x4xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @bottleneck_adapter$up_shape(%x: tensor<2x16xf32>, %wd: tensor<4x16xf32>, %wu: tensor<16x8xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.bottleneck_adapter' op up_weight [16, 8] must be [16, 4] to return to the input's width}}
  // expected-error @+1 {{'eff.bottleneck_adapter' op failed to infer returned types}}
  %y = eff.bottleneck_adapter %x down(%wd) up(%wu) relu : (tensor<2x16xf32>, tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @bottleneck_adapter$down_bias_length(%x: tensor<2x16xf32>, %wd: tensor<4x16xf32>, %bd: tensor<5xf32>, %wu: tensor<16x4xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.bottleneck_adapter' op down_bias [5] must have 4 elements (the bottleneck width)}}
  // expected-error @+1 {{'eff.bottleneck_adapter' op failed to infer returned types}}
  %y = eff.bottleneck_adapter %x down(%wd, %bd) up(%wu) relu : (tensor<2x16xf32>, tensor<4x16xf32>, tensor<5xf32>, tensor<16x4xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @bottleneck_adapter$up_bias_length(%x: tensor<2x16xf32>, %wd: tensor<4x16xf32>, %wu: tensor<16x4xf32>, %bu: tensor<15xf32>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.bottleneck_adapter' op up_bias [15] must have 16 elements (the input's last dimension)}}
  // expected-error @+1 {{'eff.bottleneck_adapter' op failed to infer returned types}}
  %y = eff.bottleneck_adapter %x down(%wd) up(%wu, %bu) relu : (tensor<2x16xf32>, tensor<4x16xf32>, tensor<16x4xf32>, tensor<15xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.router
//===----------------------------------------------------------------------===//

func.func @router$rank0_input(%x: tensor<f32>, %w: tensor<4x32xf32>) -> (tensor<1xf32>, tensor<1xi64>) {
  // expected-error @+2 {{'eff.router' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.router' op failed to infer returned types}}
  %rw, %ri = eff.router softmax %x, %w {top_k = 1 : i64} : (tensor<f32>, tensor<4x32xf32>) -> (tensor<1xf32>, tensor<1xi64>)
  return %rw, %ri : tensor<1xf32>, tensor<1xi64>
}

// -----

func.func @router$element_type(%x: tensor<16x32xf32>, %w: tensor<4x32xf16>) -> (tensor<16x1xf32>, tensor<16x1xi64>) {
  // expected-error @+2 {{'eff.router' op weight has element type 'f16', but input has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.router' op failed to infer returned types}}
  %rw, %ri = eff.router softmax %x, %w {top_k = 1 : i64} : (tensor<16x32xf32>, tensor<4x32xf16>) -> (tensor<16x1xf32>, tensor<16x1xi64>)
  return %rw, %ri : tensor<16x1xf32>, tensor<16x1xi64>
}

// -----

func.func @router$k_mismatch(%x: tensor<16x32xf32>, %w: tensor<4x31xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>) {
  // expected-error @+2 {{'eff.router' op weight [4, 31] takes 31 features, but input [16, 32] has 32}}
  // expected-error @+1 {{'eff.router' op failed to infer returned types}}
  %rw, %ri = eff.router softmax %x, %w {top_k = 1 : i64} : (tensor<16x32xf32>, tensor<4x31xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>)
  return %rw, %ri : tensor<16x1xf32>, tensor<16x1xi64>
}

// -----

func.func @router$zero_top_k(%x: tensor<16x32xf32>, %w: tensor<4x32xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>) {
  // expected-error @+2 {{'eff.router' op top_k must be >= 1, got 0}}
  // expected-error @+1 {{'eff.router' op failed to infer returned types}}
  %rw, %ri = eff.router softmax %x, %w {top_k = 0 : i64} : (tensor<16x32xf32>, tensor<4x32xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>)
  return %rw, %ri : tensor<16x1xf32>, tensor<16x1xi64>
}

// -----

func.func @router$top_k_exceeds_experts(%x: tensor<16x32xf32>, %w: tensor<4x32xf32>) -> (tensor<16x5xf32>, tensor<16x5xi64>) {
  // expected-error @+2 {{'eff.router' op top_k = 5 exceeds the number of experts 4}}
  // expected-error @+1 {{'eff.router' op failed to infer returned types}}
  %rw, %ri = eff.router softmax %x, %w {top_k = 5 : i64} : (tensor<16x32xf32>, tensor<4x32xf32>) -> (tensor<16x5xf32>, tensor<16x5xi64>)
  return %rw, %ri : tensor<16x5xf32>, tensor<16x5xi64>
}

// -----

func.func @router$negative_capacity_factor(%x: tensor<16x32xf32>, %w: tensor<4x32xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>) {
  // expected-error @+2 {{'eff.router' op capacity_factor must be > 0, got -1.250000e+00}}
  // expected-error @+1 {{'eff.router' op failed to infer returned types}}
  %rw, %ri = eff.router softmax %x, %w {top_k = 1 : i64, capacity_factor = -1.25 : f32} : (tensor<16x32xf32>, tensor<4x32xf32>) -> (tensor<16x1xf32>, tensor<16x1xi64>)
  return %rw, %ri : tensor<16x1xf32>, tensor<16x1xi64>
}

// -----

//===----------------------------------------------------------------------===//
// eff.experts
//===----------------------------------------------------------------------===//

func.func @experts$rank0_input(%x: tensor<f32>, %rw: tensor<f32>, %ri: tensor<i64>, %wu: tensor<4x64x32xf32>, %wd: tensor<4x32x64xf32>) -> tensor<f32> {
  // expected-error @+2 {{'eff.experts' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu : (tensor<f32>, tensor<f32>, tensor<i64>, tensor<4x64x32xf32>, tensor<4x32x64xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @experts$element_type(%x: tensor<8x32xf32>, %rw: tensor<8x2xf16>, %ri: tensor<8x2xi64>, %wu: tensor<4x64x32xf32>, %wd: tensor<4x32x64xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{'eff.experts' op routing_weights has element type 'f16', but input has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu : (tensor<8x32xf32>, tensor<8x2xf16>, tensor<8x2xi64>, tensor<4x64x32xf32>, tensor<4x32x64xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

func.func @experts$routing_shape(%x: tensor<8x32xf32>, %rw: tensor<8x2xf32>, %ri: tensor<8x3xi64>, %wu: tensor<4x64x32xf32>, %wd: tensor<4x32x64xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{'eff.experts' op routing_weights [8, 2] and routing_indices [8, 3] must both be [tokens..., k] for input [8, 32]}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu : (tensor<8x32xf32>, tensor<8x2xf32>, tensor<8x3xi64>, tensor<4x64x32xf32>, tensor<4x32x64xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

func.func @experts$routing_tokens(%x: tensor<2x8x32xf32>, %rw: tensor<16x2xf32>, %ri: tensor<16x2xi64>, %wu: tensor<4x64x32xf32>, %wd: tensor<4x32x64xf32>) -> tensor<2x8x32xf32> {
  // expected-error @+2 {{'eff.experts' op routing_weights [16, 2] and routing_indices [16, 2] must both be [tokens..., k] for input [2, 8, 32]}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu : (tensor<2x8x32xf32>, tensor<16x2xf32>, tensor<16x2xi64>, tensor<4x64x32xf32>, tensor<4x32x64xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

func.func @experts$up_k_mismatch(%x: tensor<8x32xf32>, %rw: tensor<8x2xf32>, %ri: tensor<8x2xi64>, %wu: tensor<4x64x31xf32>, %wd: tensor<4x32x64xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{'eff.experts' op up_weight [4, 64, 31] takes 31 features, but input [8, 32] has 32}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu : (tensor<8x32xf32>, tensor<8x2xf32>, tensor<8x2xi64>, tensor<4x64x31xf32>, tensor<4x32x64xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

func.func @experts$gate_shape(%x: tensor<8x32xf32>, %rw: tensor<8x2xf32>, %ri: tensor<8x2xi64>, %wu: tensor<4x64x32xf32>, %wg: tensor<8x64x32xf32>, %wd: tensor<4x32x64xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{'eff.experts' op gate_weight [8, 64, 32] must have the shape of up_weight [4, 64, 32]}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu) gate(%wg) down(%wd) silu : (tensor<8x32xf32>, tensor<8x2xf32>, tensor<8x2xi64>, tensor<4x64x32xf32>, tensor<8x64x32xf32>, tensor<4x32x64xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

func.func @experts$down_shape(%x: tensor<8x32xf32>, %rw: tensor<8x2xf32>, %ri: tensor<8x2xi64>, %wu: tensor<4x64x32xf32>, %wd: tensor<4x32x63xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{'eff.experts' op down_weight [4, 32, 63] must be [experts, hidden, width] = [4, 32, 64]}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu : (tensor<8x32xf32>, tensor<8x2xf32>, tensor<8x2xi64>, tensor<4x64x32xf32>, tensor<4x32x63xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

func.func @experts$up_bias_shape(%x: tensor<8x32xf32>, %rw: tensor<8x2xf32>, %ri: tensor<8x2xi64>, %wu: tensor<4x64x32xf32>, %bu: tensor<4x63xf32>, %wd: tensor<4x32x64xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{'eff.experts' op up_bias [4, 63] must be [4, 64]}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu, %bu) down(%wd) gelu : (tensor<8x32xf32>, tensor<8x2xf32>, tensor<8x2xi64>, tensor<4x64x32xf32>, tensor<4x63xf32>, tensor<4x32x64xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

func.func @experts$down_bias_shape(%x: tensor<8x32xf32>, %rw: tensor<8x2xf32>, %ri: tensor<8x2xi64>, %wu: tensor<4x64x32xf32>, %wd: tensor<4x32x64xf32>, %bd: tensor<3x32xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{'eff.experts' op down_bias [3, 32] must be [4, 32]}}
  // expected-error @+1 {{'eff.experts' op failed to infer returned types}}
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd, %bd) gelu : (tensor<8x32xf32>, tensor<8x2xf32>, tensor<8x2xi64>, tensor<4x64x32xf32>, tensor<4x32x64xf32>, tensor<3x32xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

//===----------------------------------------------------------------------===//
// eff.residual_moe
//===----------------------------------------------------------------------===//

func.func @residual_moe$rank0_input(%x: tensor<f32>, %d: tensor<f32>, %e: tensor<f32>, %wc: tensor<2x16xf32>) -> tensor<f32> {
  // expected-error @+2 {{'eff.residual_moe' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{'eff.residual_moe' op failed to infer returned types}}
  %y = eff.residual_moe %x, %d, %e, %wc : (tensor<f32>, tensor<f32>, tensor<f32>, tensor<2x16xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @residual_moe$element_type(%x: tensor<2x16xf32>, %d: tensor<2x16xf32>, %e: tensor<2x16xf32>, %wc: tensor<2x16xf32>, %bc: tensor<2xbf16>) -> tensor<2x16xf32> {
  // expected-error @+2 {{'eff.residual_moe' op coefficient_bias has element type 'bf16', but input has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.residual_moe' op failed to infer returned types}}
  %y = eff.residual_moe %x, %d, %e, %wc, %bc : (tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<2xbf16>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @residual_moe$branch_shape(%x: tensor<2x8x16xf32>, %d: tensor<2x8x15xf32>, %e: tensor<2x8x16xf32>, %wc: tensor<2x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+2 {{'eff.residual_moe' op dense [2, 8, 15] and experts [2, 8, 16] must have the input's shape [2, 8, 16]}}
  // expected-error @+1 {{'eff.residual_moe' op failed to infer returned types}}
  %y = eff.residual_moe %x, %d, %e, %wc : (tensor<2x8x16xf32>, tensor<2x8x15xf32>, tensor<2x8x16xf32>, tensor<2x16xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

func.func @residual_moe$coefficient_weight(%x: tensor<2x8x16xf32>, %d: tensor<2x8x16xf32>, %e: tensor<2x8x16xf32>, %wc: tensor<3x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+2 {{'eff.residual_moe' op coefficient_weight [3, 16] must be [2, 16]}}
  // expected-error @+1 {{'eff.residual_moe' op failed to infer returned types}}
  %y = eff.residual_moe %x, %d, %e, %wc : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<3x16xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

func.func @residual_moe$coefficient_bias(%x: tensor<2x8x16xf32>, %d: tensor<2x8x16xf32>, %e: tensor<2x8x16xf32>, %wc: tensor<2x16xf32>, %bc: tensor<3xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+2 {{'eff.residual_moe' op coefficient_bias [3] must have 2 elements (one per branch)}}
  // expected-error @+1 {{'eff.residual_moe' op failed to infer returned types}}
  %y = eff.residual_moe %x, %d, %e, %wc, %bc : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x16xf32>, tensor<3xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

//===----------------------------------------------------------------------===//
// Parser errors
//===----------------------------------------------------------------------===//

func.func @activation$unknown_kind(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{custom op 'eff.activation' expected string or keyword containing one of the following enum values for attribute 'kind' [relu, gelu, gelu_tanh, silu, sigmoid, tanh]}}
  %y = eff.activation swish %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @embedding$unknown_kind(%t: tensor<4x16xf32>, %ids: tensor<8xi64>) -> tensor<8x16xf32> {
  // expected-error @+1 {{custom op 'eff.embedding' expected string or keyword containing one of the following enum values for attribute 'kind' [token, position, segment]}}
  %e = eff.embedding word %t[%ids] : (tensor<4x16xf32>, tensor<8xi64>) -> tensor<8x16xf32>
  return %e : tensor<8x16xf32>
}

// -----

func.func @ia3$unknown_target(%x: tensor<2x16xf32>, %s: tensor<16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{custom op 'eff.ia3' expected string or keyword containing one of the following enum values for attribute 'target' [key, value, ffn]}}
  %y = eff.ia3 query %x, %s : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @ffn$missing_up(%x: tensor<2x16xf32>, %wu: tensor<64x16xf32>, %wd: tensor<16x64xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{custom op 'eff.ffn' expected 'up'}}
  %y = eff.ffn %x (%wu) down(%wd) gelu : (tensor<2x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @ffn$missing_activation(%x: tensor<2x16xf32>, %wu: tensor<64x16xf32>, %wd: tensor<16x64xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{custom op 'eff.ffn' expected string or keyword containing one of the following enum values for attribute 'activation' [relu, gelu, gelu_tanh, silu, sigmoid, tanh]}}
  %y = eff.ffn %x up(%wu) down(%wd) : (tensor<2x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// `past` takes the key and the value cache.
func.func @attention$past_one_operand(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>, %pk: tensor<1x5x64xf32>) -> tensor<1x1x64xf32> {
  // expected-error @+1 {{expected ','}}
  %o = eff.attention %q, %k, %v past(%pk) {num_heads = 4 : i64} : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x5x64xf32>) -> tensor<1x1x64xf32>
  return %o : tensor<1x1x64xf32>
}

// -----

// The custom syntax of eff.position_ids only accepts ranked tensors.
func.func @position_ids$unranked(%ids: tensor<*xi64>) -> tensor<*xi64> {
  // expected-error @+1 {{custom op 'eff.position_ids' invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xi64>'}}
  %p = eff.position_ids %ids : tensor<*xi64>
  return %p : tensor<*xi64>
}

// -----

func.func @attention$bias_shape(%q: tensor<2x8x64xf32>, %k: tensor<2x6x64xf32>, %v: tensor<2x6x64xf32>, %b: tensor<1x4x8x8xf32>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op bias [1, 4, 8, 8] must be [batch or 1, num_heads, query length, key length] = [2 or 1, 4, 8, 6]}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %k, %v bias(%b) {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x6x64xf32>, tensor<2x6x64xf32>, tensor<1x4x8x8xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @attention$bias_element_type(%q: tensor<2x8x64xf32>, %b: tensor<1x4x8x8xf16>) -> tensor<2x8x64xf32> {
  // expected-error @+2 {{'eff.attention' op bias has element type 'f16', but query has 'f32' (float operands share one element type)}}
  // expected-error @+1 {{'eff.attention' op failed to infer returned types}}
  %o = eff.attention %q, %q, %q bias(%b) {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<1x4x8x8xf16>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

func.func @relative_position_bias$too_few_buckets(%t: tensor<3x4xf32>, %s: index) -> tensor<1x4x?x?xf32> {
  // expected-error @+2 {{'eff.relative_position_bias' op table [3, 4] must have a static number of buckets >= 4 (bidirectional)}}
  // expected-error @+1 {{'eff.relative_position_bias' op failed to infer returned types}}
  %b = eff.relative_position_bias %t[%s, %s] {bidirectional} : tensor<3x4xf32> -> tensor<1x4x?x?xf32>
  return %b : tensor<1x4x?x?xf32>
}

// -----

func.func @relative_position_bias$max_distance(%t: tensor<32x4xf32>, %s: index) -> tensor<1x4x?x?xf32> {
  // expected-error @+2 {{'eff.relative_position_bias' op max_distance = 8 must exceed the 8 exact buckets}}
  // expected-error @+1 {{'eff.relative_position_bias' op failed to infer returned types}}
  %b = eff.relative_position_bias %t[%s, %s] {max_distance = 8 : i64, bidirectional} : tensor<32x4xf32> -> tensor<1x4x?x?xf32>
  return %b : tensor<1x4x?x?xf32>
}

// -----

func.func @relative_position_bias$result_type(%t: tensor<32x4xf32>, %s: index) -> tensor<1x8x?x?xf32> {
  // expected-error @+2 {{'eff.relative_position_bias' op inferred type(s) 'tensor<1x4x?x?xf32>' are incompatible with return type(s) of operation 'tensor<1x8x?x?xf32>'}}
  // expected-error @+1 {{'eff.relative_position_bias' op failed to infer returned types}}
  %b = eff.relative_position_bias %t[%s, %s] : tensor<32x4xf32> -> tensor<1x8x?x?xf32>
  return %b : tensor<1x8x?x?xf32>
}
