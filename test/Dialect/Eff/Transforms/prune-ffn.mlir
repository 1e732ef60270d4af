// RUN: effc-opt %s -split-input-file '--eff-prune-ffn=fraction=0.5' | FileCheck %s
// RUN: %PYTHON -c "import numpy as np; np.savez('%t.npz', **{'layer3.ffn_importance': np.array([4, 3, 2, 1], np.float32)})"
// RUN: effc-opt %s -split-input-file '--eff-prune-ffn=fraction=0.5 calibration=%t.npz' | FileCheck %s --check-prefix=CALIB

// eff-prune-ffn (lib/Dialect/Eff/Transforms/PruneFfn.cpp). Neuron scores ‖up_f‖·‖gate_f‖·‖down[:, f]‖ are
// 1·1·1, 2·1·1, 1·3·1 and 1·1·0.5: neurons 0 and 3 go, rows of up/gate/bias and columns of down.
// With the calibration importance [4, 3, 2, 1] of layer 3, neurons 2 and 3 go.

// CHECK-LABEL: func.func @gated
// CHECK-DAG: %[[UP:.*]] = arith.constant dense<{{\[\[}}2.000000e+00], [1.000000e+00]]> : tensor<2x1xf32>
// CHECK-DAG: %[[BU:.*]] = arith.constant dense<[2.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[GATE:.*]] = arith.constant dense<{{\[\[}}1.000000e+00], [3.000000e+00]]> : tensor<2x1xf32>
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, -1.000000e+00]]> : tensor<1x2xf32>
// CHECK: eff.ffn %{{.*}} up(%[[UP]], %[[BU]]) gate(%[[GATE]]) down(%[[DOWN]], %{{.*}}) silu : (tensor<2x1xf32>, tensor<2x1xf32>, tensor<2xf32>, tensor<2x1xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<2x1xf32>

// CALIB-LABEL: func.func @gated
// CALIB-DAG: %[[UP:.*]] = arith.constant dense<{{\[\[}}1.000000e+00], [2.000000e+00]]> : tensor<2x1xf32>
// CALIB: eff.ffn %{{.*}} up(%[[UP]], %{{.*}}) gate(%{{.*}}) down(%{{.*}}, %{{.*}}) silu : (tensor<2x1xf32>, tensor<2x1xf32>, tensor<2xf32>, tensor<2x1xf32>, tensor<1x2xf32>, tensor<1xf32>) -> tensor<2x1xf32>
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
