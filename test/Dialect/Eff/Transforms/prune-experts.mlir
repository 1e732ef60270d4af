// RUN: effc-opt %s -split-input-file '--eff-prune-experts=experts=1' | FileCheck %s
// RUN: effc-opt %s -split-input-file '--eff-prune-experts=experts=list:0,2' | FileCheck %s --check-prefix=LIST

// eff-prune-experts (lib/Dialect/Eff/Transforms/PruneExperts.cpp).

// Three experts (router rows of squared norm 4, 1 and 9): by magnitude expert 1 goes; the list removes
// experts 0 and 2. The router rows, the experts' weights and both biases are sliced along the expert axis.
// CHECK-LABEL: func.func @by_router_norm
// CHECK-DAG: %[[WR:.*]] = arith.constant dense<{{\[\[}}2.000000e+00, 0.000000e+00], [0.000000e+00, 3.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[W:.*]], %[[I:.*]] = eff.router softmax %{{.*}}, %[[WR]] {top_k = 1 : i64} : (tensor<4x2xf32>, tensor<2x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xi64>)
// CHECK-DAG: %[[UP:.*]] = arith.constant dense<{{\[\[\[}}1.000000e+00, 1.000000e+00]], {{\[\[}}3.000000e+00, 3.000000e+00]]]> : tensor<2x1x2xf32>
// CHECK-DAG: %[[BU:.*]] = arith.constant dense<{{\[\[}}1.000000e+00], [3.000000e+00]]> : tensor<2x1xf32>
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense<{{\[\[\[}}1.000000e+00], [1.000000e+00]], {{\[\[}}3.000000e+00], [3.000000e+00]]]> : tensor<2x2x1xf32>
// CHECK-DAG: %[[BD:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 1.000000e+00], [3.000000e+00, 3.000000e+00]]> : tensor<2x2xf32>
// CHECK: eff.experts %{{.*}}, %[[W]], %[[I]] up(%[[UP]], %[[BU]]) down(%[[DOWN]], %[[BD]]) relu : (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xi64>, tensor<2x1x2xf32>, tensor<2x1xf32>, tensor<2x2x1xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
// LIST-LABEL: func.func @by_router_norm
// LIST-DAG: %[[WR:.*]] = arith.constant dense<{{\[\[}}0.000000e+00, 1.000000e+00]]> : tensor<1x2xf32>
// LIST: eff.router softmax %{{.*}}, %[[WR]] {top_k = 1 : i64} : (tensor<4x2xf32>, tensor<1x2xf32>)
// LIST: %[[UP:.*]] = arith.constant dense<2.000000e+00> : tensor<1x1x2xf32>
// LIST: eff.experts {{.*}} up(%[[UP]], %{{.*}}) {{.*}} : (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xi64>, tensor<1x1x2xf32>, tensor<1x1xf32>, tensor<1x2x1xf32>, tensor<1x2xf32>) -> tensor<4x2xf32>
func.func @by_router_norm(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %wr = arith.constant dense<[[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]]> : tensor<3x2xf32>
  %up = arith.constant dense<[[[1.0, 1.0]], [[2.0, 2.0]], [[3.0, 3.0]]]> : tensor<3x1x2xf32>
  %bu = arith.constant dense<[[1.0], [2.0], [3.0]]> : tensor<3x1xf32>
  %down = arith.constant dense<[[[1.0], [1.0]], [[2.0], [2.0]], [[3.0], [3.0]]]> : tensor<3x2x1xf32>
  %bd = arith.constant dense<[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]> : tensor<3x2xf32>
  %w, %i = eff.router softmax %x, %wr {top_k = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %y = eff.experts %x, %w, %i up(%up, %bu) down(%down, %bd) relu : (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xi64>, tensor<3x1x2xf32>, tensor<3x1xf32>, tensor<3x2x1xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// Calibration usage decides: expert 2 has the largest router row but was never chosen, so it goes (by
// magnitude expert 1 would); the usage attribute is sliced with the experts. Gated experts lose their gate
// slice too.
// CHECK-LABEL: func.func @by_usage
// CHECK-DAG: %[[WR:.*]] = arith.constant dense<{{\[\[}}2.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK: eff.router softmax %{{.*}}, %[[WR]] {calibration.expert_usage = array<i64: 5, 3>, top_k = 1 : i64}
// CHECK: arith.constant dense<{{\[\[\[}}1.000000e+00, 1.000000e+00]], {{\[\[}}2.000000e+00, 2.000000e+00]]]> : tensor<2x1x2xf32>
// CHECK: eff.experts {{.*}} gate(%{{.*}}) {{.*}} silu : (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xi64>, tensor<2x1x2xf32>, tensor<2x1x2xf32>, tensor<2x2x1xf32>) -> tensor<4x2xf32>
// LIST-LABEL: func.func @by_usage
// LIST: eff.router softmax %{{.*}}, %{{.*}} {calibration.expert_usage = array<i64: 3>, top_k = 1 : i64} : (tensor<4x2xf32>, tensor<1x2xf32>)
func.func @by_usage(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %wr = arith.constant dense<[[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]]> : tensor<3x2xf32>
  %up = arith.constant dense<[[[1.0, 1.0]], [[2.0, 2.0]], [[3.0, 3.0]]]> : tensor<3x1x2xf32>
  %down = arith.constant dense<[[[1.0], [1.0]], [[2.0], [2.0]], [[3.0], [3.0]]]> : tensor<3x2x1xf32>
  %w, %i = eff.router softmax %x, %wr {top_k = 1 : i64, calibration.expert_usage = array<i64: 5, 3, 0>} : (tensor<4x2xf32>, tensor<3x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %y = eff.experts %x, %w, %i up(%up) gate(%up) down(%down) silu : (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xi64>, tensor<3x1x2xf32>, tensor<3x1x2xf32>, tensor<3x2x1xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
