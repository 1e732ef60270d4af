// RUN: effc-opt %s -split-input-file '--eff-prune-heads=fraction=0.5' -verify-diagnostics
// RUN: not effc-opt %s '--eff-prune-heads=fraction=1.5' 2>&1 | FileCheck %s --check-prefix=FRACTION
// RUN: not effc-opt %s '--eff-prune-heads=fraction=0.5 calibration=%t.absent.npz' 2>&1 | FileCheck %s --check-prefix=FILE
// RUN: %PYTHON -c "import numpy as np; np.savez('%t.npz', other=np.ones(2, np.float32))"
// RUN: not effc-opt %s '--eff-prune-heads=fraction=0.5 calibration=%t.npz' 2>&1 | FileCheck %s --check-prefix=KEY
// RUN: %PYTHON -c "import numpy as np; np.savez_compressed('%t.z.npz', a=np.ones(2, np.float32))"
// RUN: not effc-opt %s '--eff-prune-heads=fraction=0.5 calibration=%t.z.npz' 2>&1 | FileCheck %s --check-prefix=COMPRESSED

// Diagnostics of eff-prune-heads (lib/Dialect/Eff/Transforms/PruneHeads.cpp) and of the .npz reader
// (lib/Support/Npz.cpp). An attention whose structure is not recognised is left unchanged with a warning.

// FRACTION: error: eff-prune-heads: fraction 1.50 is not in [0, 1]
// FILE: error: eff-prune-heads: {{.*}}absent.npz: cannot open .npz file
// KEY: error: eff-prune-heads: calibration file {{.*}}.npz has no array 'layer0.head_importance' of 2 head scores
// COMPRESSED: error: eff-prune-heads: {{.*}}.z.npz: member 'a.npy' is compressed; write calibration data with np.savez, not np.savez_compressed

func.func @in_layer(%x: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
  %h = eff.layer 0 (%x) : (tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
  ^bb0(%a0: tensor<1x3x4xf32>):
    %w = arith.constant dense<1.0> : tensor<4x4xf32>
    %q = eff.linear %a0, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    %k = eff.linear %a0, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    %v = eff.linear %a0, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
    %o = eff.linear %a, %w : (tensor<1x3x4xf32>, tensor<4x4xf32>) -> tensor<1x3x4xf32>
    eff.yield %o : tensor<1x3x4xf32>
  }
  return %h : tensor<1x3x4xf32>
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
