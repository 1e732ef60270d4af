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
