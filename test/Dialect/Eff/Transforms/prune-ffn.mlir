// RUN: effc-opt %s -split-input-file '--eff-prune-ffn=fraction=0.5' | FileCheck %s

// eff-prune-ffn (lib/Dialect/Eff/Transforms/PruneFfn.cpp). Neuron scores ‖up_f‖·‖gate_f‖·‖down[:, f]‖ are
// 1·1·1, 2·1·1, 1·3·1 and 1·1·0.5: neurons 0 and 3 go, rows of up/gate/bias and columns of down.

// CHECK-LABEL: func.func @gated
// CHECK-DAG: %[[UP:.*]] = arith.constant dense<{{\[\[}}2.000000e+00], [1.000000e+00]]> : tensor<2x1xf32>
// CHECK-DAG: %[[BU:.*]] = arith.constant dense<[2.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[GATE:.*]] = arith.constant dense<{{\[\[}}1.000000e+00], [3.000000e+00]]> : tensor<2x1xf32>
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, -1.000000e+00]]> : tensor<1x2xf32>
// CHECK: eff.ffn %{{.*}} up(%[[UP]], %[[BU]]) gate(%[[GATE]]) down(%[[DOWN]], %{{.*}}) silu : (tensor<2x1xf32>, tensor<2x1xf32>, tensor<2xf32>, tensor<2x1xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<2x1xf32>

func.func @gated(%x: tensor<2x1xf32>) -> tensor<2x1xf32> {
  %y = eff.layer 3 (%x) : (tensor<2x1xf32>) -> tensor<2x1xf32> {
  ^bb0(%a: tensor<2x1xf32>):
    %up = arith.constant dense<[[1.0], [2.0], [1.0], [1.0]]> : tensor<4x1xf32>
    %bu = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
    %gate = arith.constant dense<[[1.0], [1.0], [3.0], [1.0]]> : tensor<4x1xf32>
    %down = arith.constant dense<[[1.0, 1.0, -1.0, 0.5]]> : tensor<1x4xf32>
    %bd = arith.constant dense<0.5> : tensor<1xf32>
    %f = eff.ffn %a up(%up, %bu) gate(%gate) down(%down, %bd) silu : (tensor<2x1xf32>, tensor<4x1xf32>, tensor<4xf32>, tensor<4x1xf32>, tensor<1x4xf32>, tensor<1xf32>) -> tensor<2x1xf32>
    eff.yield %f : tensor<2x1xf32>
  }
  return %y : tensor<2x1xf32>
}

// -----

// Wanda-style scores from the calibration statistic: with input RMS [4, 1] the up rows [1, 0], [0, 2],
// [1.5, 0], [0, 1] score 4, 2, 6, 1 (down columns all 1), so neurons 1 and 3 go; by magnitude alone (1, 2,
// 1.5, 1) neurons 0 and 3 would. The FFN's own input statistics are unchanged.
// CHECK-LABEL: func.func @wanda
// CHECK-DAG: %[[UP:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 0.000000e+00], [1.500000e+00, 0.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense<1.000000e+00> : tensor<1x2xf32>
// CHECK: eff.ffn %{{.*}} up(%[[UP]]) down(%[[DOWN]]) relu {calibration.input_rms = array<f32: 4.000000e+00, 1.000000e+00>}
func.func @wanda(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
  %up = arith.constant dense<[[1.0, 0.0], [0.0, 2.0], [1.5, 0.0], [0.0, 1.0]]> : tensor<4x2xf32>
  %down = arith.constant dense<1.0> : tensor<1x4xf32>
  %f = eff.ffn %x up(%up) down(%down) relu {calibration.input_rms = array<f32: 4.0, 1.0>} : (tensor<3x2xf32>, tensor<4x2xf32>, tensor<1x4xf32>) -> tensor<3x1xf32>
  return %f : tensor<3x1xf32>
}
