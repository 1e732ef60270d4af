// RUN: effc-opt %s -split-input-file '--eff-prune-heads=fraction=0.5' -verify-diagnostics
// RUN: not effc-opt %s '--eff-prune-heads=fraction=1.5' 2>&1 | FileCheck %s --check-prefix=FRACTION

// Diagnostics of eff-prune-heads (lib/Dialect/Eff/Transforms/PruneHeads.cpp). An attention whose structure is not recognised is left unchanged with a warning.

// FRACTION: error: eff-prune-heads: fraction 1.50 is not in [0, 1]

func.func @importance_of_wrong_size(%x: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %k = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %v = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  // expected-error @+1 {{eff-prune-heads: calibration.head_importance must be an array<f32> of 2 head scores, got array<f32: 1.000000e+00>}}
  %a = eff.attention %q, %k, %v {num_heads = 2 : i64, calibration.head_importance = array<f32: 1.0>} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
  %o = eff.linear %a, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  return %o : tensor<1x3x4xf32>
}

// -----

func.func @query_not_linear(%q: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  // expected-warning @+1 {{eff-prune-heads: attention left unpruned: the query is a block argument, not the result of an eff.linear}}
  %a = eff.attention %q, %q, %q {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
  %o = eff.linear %a, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  return %o : tensor<1x3x4xf32>
}

// -----

func.func @output_not_projected(%x: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %k = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %v = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  // expected-warning @+1 {{eff-prune-heads: attention left unpruned: the attention output is used by 'eff.add' instead of an output projection (eff.linear with a constant weight)}}
  %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
  %o = eff.add %a, %x : tensor<1x3x4xf32>
  return %o : tensor<1x3x4xf32>
}

// -----

func.func @key_used_elsewhere(%x: tensor<1x3x4xf32>) -> (tensor<1x3x4xf32>, tensor<1x3x4xf32>) {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %k = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %v = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  // expected-warning @+1 {{eff-prune-heads: attention left unpruned: a key/value tensor is also used by 'func.return'}}
  %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
  %o = eff.linear %a, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  return %o, %k : tensor<1x3x4xf32>, tensor<1x3x4xf32>
}

// -----

func.func @bias_not_constant(%x: tensor<1x3x4xf32>, %bias: tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %k = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %v = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  // expected-warning @+1 {{eff-prune-heads: attention left unpruned: the attention bias is a block argument of something other than an eff.layer}}
  %a = eff.attention %q, %k, %v bias(%bias) {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32>
  %o = eff.linear %a, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  return %o : tensor<1x3x4xf32>
}

// -----

func.func @bias_table_not_constant(%x: tensor<1x3x4xf32>, %t: tensor<8x2xf32>) -> tensor<1x3x4xf32> {
  %c3 = arith.constant 3 : index
  %bias = eff.relative_position_bias %t[%c3, %c3] : tensor<8x2xf32> -> tensor<1x2x3x3xf32>
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %k = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  %v = eff.linear %x, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  // expected-warning @+1 {{eff-prune-heads: attention left unpruned: the attention bias is neither a constant nor an eff.relative_position_bias of a constant table}}
  %a = eff.attention %q, %k, %v bias(%bias) {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32>
  %o = eff.linear %a, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
  return %o : tensor<1x3x4xf32>
}

// -----

func.func @bias_shared_in_layer(%x: tensor<1x3x4xf32>, %b: tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32> {
  %h = eff.layer 0 (%x, %b) : (tensor<1x3x4xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32> {
  ^bb0(%in: tensor<1x3x4xf32>, %bias: tensor<1x2x3x3xf32>):
    %w = arith.constant dense<1.0> : tensor<4x4xf32>
    %q = eff.linear %in, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    %k = eff.linear %in, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    %v = eff.linear %in, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    // expected-warning @+1 {{eff-prune-heads: attention left unpruned: the attention bias is also used by 'eff.attention' in the layer}}
    %a = eff.attention %q, %k, %v bias(%bias) {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32>
    %o = eff.linear %a, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    %q2 = eff.linear %o, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    %k2 = eff.linear %o, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    %v2 = eff.linear %o, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    // expected-warning @+1 {{eff-prune-heads: attention left unpruned: the attention bias is also used by 'eff.attention' in the layer}}
    %a2 = eff.attention %q2, %k2, %v2 bias(%bias) {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x4xf32>
    %o2 = eff.linear %a2, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    eff.yield %o2 : tensor<1x3x4xf32>
  }
  return %h : tensor<1x3x4xf32>
}
