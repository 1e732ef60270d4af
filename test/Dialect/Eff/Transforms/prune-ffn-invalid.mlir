// RUN: effc-opt %s -split-input-file '--eff-prune-ffn=fraction=0.5' -verify-diagnostics
// RUN: not effc-opt %s '--eff-prune-ffn=fraction=-0.1' 2>&1 | FileCheck %s --check-prefix=FRACTION

// Diagnostics of eff-prune-ffn (lib/Dialect/Eff/Transforms/PruneFfn.cpp).
// FRACTION: error: eff-prune-ffn: fraction -0.10 is not in [0, 1]

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

func.func @rms_of_wrong_size(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %up = arith.constant dense<1.0> : tensor<4x2xf32>
  %down = arith.constant dense<1.0> : tensor<2x4xf32>
  // expected-error @+1 {{eff-prune-ffn: calibration.input_rms must be an array<f32> of 2 input channel RMS values, got array<f32: 1.000000e+00, 2.000000e+00, 3.000000e+00>}}
  %f = eff.ffn %x up(%up) down(%down) relu {calibration.input_rms = array<f32: 1.0, 2.0, 3.0>} : (tensor<2x2xf32>, tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  return %f : tensor<2x2xf32>
}
