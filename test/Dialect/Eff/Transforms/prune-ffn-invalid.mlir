// RUN: effc-opt %s -split-input-file '--eff-prune-ffn=fraction=0.5' -verify-diagnostics
// RUN: not effc-opt %s '--eff-prune-ffn=fraction=-0.1' 2>&1 | FileCheck %s --check-prefix=FRACTION
// RUN: %PYTHON -c "import numpy as np; np.savez('%t.npz', **{'layer0.ffn_importance': np.ones(3, np.float32)})"
// RUN: not effc-opt %s -split-input-file '--eff-prune-ffn=fraction=0.5 calibration=%t.npz' 2>&1 | FileCheck %s --check-prefix=SIZE

// Diagnostics of eff-prune-ffn (lib/Dialect/Eff/Transforms/PruneFfn.cpp).
// FRACTION: error: eff-prune-ffn: fraction -0.10 is not in [0, 1]
// SIZE: error: eff-prune-ffn: calibration file {{.*}}.npz has no array 'layer0.ffn_importance' of 4 neuron scores

func.func @weights_are_arguments(%x: tensor<2x2xf32>, %up: tensor<4x2xf32>) -> tensor<2x2xf32> {
  %y = eff.layer 0 (%x, %up) : (tensor<2x2xf32>, tensor<4x2xf32>) -> tensor<2x2xf32> {
  ^bb0(%a: tensor<2x2xf32>, %u: tensor<4x2xf32>):
    %down = arith.constant dense<1.0> : tensor<2x4xf32>
    // expected-warning @+1 {{eff-prune-ffn: FFN left unpruned: its weights are not constants}}
    %f = eff.ffn %a up(%u) down(%down) relu : (tensor<2x2xf32>, tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
    eff.yield %f : tensor<2x2xf32>
  }
  return %y : tensor<2x2xf32>
}

// -----

// Prunes without calibration data; with a calibration file whose vector has 3 entries for 4 neurons, fails.
func.func @constant_weights(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %y = eff.layer 0 (%x) : (tensor<2x2xf32>) -> tensor<2x2xf32> {
  ^bb0(%a: tensor<2x2xf32>):
    %up = arith.constant dense<1.0> : tensor<4x2xf32>
    %down = arith.constant dense<1.0> : tensor<2x4xf32>
    %f = eff.ffn %a up(%up) down(%down) relu : (tensor<2x2xf32>, tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
    eff.yield %f : tensor<2x2xf32>
  }
  return %y : tensor<2x2xf32>
}
