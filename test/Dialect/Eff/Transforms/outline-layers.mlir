// RUN: effc-opt %s -split-input-file --eff-outline-layers | FileCheck %s
// RUN: effc-opt %s -split-input-file '--eff-outline-layers=min-layers=3' | FileCheck %s --check-prefix=MIN3
// RUN: effc-opt %s -split-input-file '--eff-outline-layers=emit-remarks=true' -verify-diagnostics -o /dev/null

// eff-outline-layers (lib/Dialect/Eff/Transforms/OutlineLayers.cpp): layers identical up to their weights
// (non-splat constants) become calls of one private function that takes the weights as trailing arguments;
// a layer that differs stays an eff.layer.

// Layers 0 and 1 differ only in their weights: one body, two calls, each after its own weights. Layer 2
// has another activation and stays as it is.
// CHECK-LABEL: func.func @encoder
// CHECK-SAME: (%[[X:.*]]: tensor<?x2xf32>)
// CHECK:       %[[W0:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK:       %[[B0:.*]] = arith.constant dense<[5.000000e-01, 1.500000e+00]> : tensor<2xf32>
// CHECK:       %[[H0:.*]] = call @layer_body_0(%[[X]], %[[W0]], %[[B0]]) : (tensor<?x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
// CHECK:       %[[W1:.*]] = arith.constant dense<{{\[}}[5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00]]> : tensor<2x2xf32>
// CHECK:       %[[B1:.*]] = arith.constant dense<[2.500000e+00, 3.500000e+00]> : tensor<2xf32>
// CHECK:       %[[H1:.*]] = call @layer_body_0(%[[H0]], %[[W1]], %[[B1]])
// CHECK:       %[[H2:.*]] = eff.layer 2 (%[[H1]])
// CHECK:         eff.activation gelu
// CHECK:       return %[[H2]]
// The shared body: the layer's operand, then its weights in order; the splat scale stays inside.
// CHECK-LABEL: func.func private @layer_body_0
// CHECK-SAME: (%[[IN:.*]]: tensor<?x2xf32>, %[[W:.*]]: tensor<2x2xf32>, %[[B:.*]]: tensor<2xf32>) -> tensor<?x2xf32>
// CHECK-SAME: attributes {effc.layers = array<i64: 0, 1>}
// CHECK:       %[[S:.*]] = arith.constant dense<2.000000e+00> : tensor<2xf32>
// CHECK:       %[[Y:.*]] = eff.linear %[[IN]], %[[W]], %[[B]]
// CHECK:       %[[A:.*]] = eff.activation relu %[[Y]]
// CHECK:       %[[R:.*]] = eff.add %[[A]], %[[IN]]
// CHECK:       return %[[R]] : tensor<?x2xf32>
// CHECK-NOT:   eff.yield

// With min-layers=3 a pair of identical layers stays inline.
// MIN3-LABEL: func.func @encoder
// MIN3-NOT:   call
// MIN3-NOT:   func.func private
// MIN3-COUNT-3: eff.layer

func.func @encoder(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  // expected-remark @below {{layers 0, 1 share the body @layer_body_0}}
  %h0 = eff.layer 0 (%x) : (tensor<?x2xf32>) -> tensor<?x2xf32> {
  ^bb0(%in: tensor<?x2xf32>):
    %s = arith.constant dense<2.0> : tensor<2xf32>
    %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %b = arith.constant dense<[0.5, 1.5]> : tensor<2xf32>
    %y = eff.linear %in, %w, %b : (tensor<?x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    %a = eff.activation relu %y : tensor<?x2xf32>
    %r = eff.add %a, %in : tensor<?x2xf32>
    eff.yield %r : tensor<?x2xf32>
  }
  %h1 = eff.layer 1 (%h0) : (tensor<?x2xf32>) -> tensor<?x2xf32> {
  ^bb0(%in: tensor<?x2xf32>):
    %s = arith.constant dense<2.0> : tensor<2xf32>
    %w = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
    %b = arith.constant dense<[2.5, 3.5]> : tensor<2xf32>
    %y = eff.linear %in, %w, %b : (tensor<?x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    %a = eff.activation relu %y : tensor<?x2xf32>
    %r = eff.add %a, %in : tensor<?x2xf32>
    eff.yield %r : tensor<?x2xf32>
  }
  %h2 = eff.layer 2 (%h1) : (tensor<?x2xf32>) -> tensor<?x2xf32> {
  ^bb0(%in: tensor<?x2xf32>):
    %s = arith.constant dense<2.0> : tensor<2xf32>
    %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
    %b = arith.constant dense<[0.5, 1.5]> : tensor<2xf32>
    %y = eff.linear %in, %w, %b : (tensor<?x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
    %a = eff.activation gelu %y : tensor<?x2xf32>
    %r = eff.add %a, %in : tensor<?x2xf32>
    eff.yield %r : tensor<?x2xf32>
  }
  return %h2 : tensor<?x2xf32>
}

// -----

// What else keeps layers apart: a different splat (it is compiled into the body), different weight shapes
// (a pruned layer), a different use-def structure. Nothing is outlined here.
// CHECK-LABEL: func.func @different
// CHECK-NOT:   call
// CHECK-COUNT-4: eff.layer
// CHECK-NOT:   func.func private
func.func @different(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %h0 = eff.layer 0 (%x) : (tensor<4x2xf32>) -> tensor<4x2xf32> {
  ^bb0(%in: tensor<4x2xf32>):
    %s = arith.constant dense<2.0> : tensor<4x2xf32>
    %r = eff.add %in, %s : tensor<4x2xf32>
    eff.yield %r : tensor<4x2xf32>
  }
  %h1 = eff.layer 1 (%h0) : (tensor<4x2xf32>) -> tensor<4x2xf32> {
  ^bb0(%in: tensor<4x2xf32>):
    %s = arith.constant dense<3.0> : tensor<4x2xf32>
    %r = eff.add %in, %s : tensor<4x2xf32>
    eff.yield %r : tensor<4x2xf32>
  }
  %h2 = eff.layer 2 (%h1) : (tensor<4x2xf32>) -> tensor<4x2xf32> {
  ^bb0(%in: tensor<4x2xf32>):
    %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
    %y = eff.linear %in, %w : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
    %w2 = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
    %z = eff.linear %y, %w2 : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<4x2xf32>
    eff.yield %z : tensor<4x2xf32>
  }
  %h3 = eff.layer 3 (%h2) : (tensor<4x2xf32>) -> tensor<4x2xf32> {
  ^bb0(%in: tensor<4x2xf32>):
    %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
    %y = eff.linear %in, %w : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x4xf32>
    %w2 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
    %z = eff.linear %y, %w2 : (tensor<4x4xf32>, tensor<2x4xf32>) -> tensor<4x2xf32>
    eff.yield %z : tensor<4x2xf32>
  }
  return %h3 : tensor<4x2xf32>
}

// -----

// Layers with several operands and results, in two entry points (prefill and decode, say), share one body
// across functions; an identity result (a yielded argument) becomes a returned argument.
// CHECK-LABEL: func.func @first
// CHECK:       %[[R:.*]]:2 = call @layer_body_0(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
// CHECK:       return %[[R]]#0, %[[R]]#1
// CHECK-LABEL: func.func private @layer_body_0
// CHECK-SAME: attributes {effc.layers = array<i64: 0, 0>}
// CHECK:       return %{{.*}}, %arg1 : tensor<4xf32>, tensor<4xf32>
// CHECK-LABEL: func.func @second
// CHECK:       call @layer_body_0
func.func @first(%x: tensor<4xf32>, %c: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  // expected-remark @below {{layers 0, 0 share the body @layer_body_0}}
  %h, %k = eff.layer 0 (%x, %c) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: tensor<4xf32>, %cache: tensor<4xf32>):
    %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
    %a = eff.add %in, %w : tensor<4xf32>
    eff.yield %a, %cache : tensor<4xf32>, tensor<4xf32>
  }
  return %h, %k : tensor<4xf32>, tensor<4xf32>
}
func.func @second(%x: tensor<4xf32>, %c: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %h, %k = eff.layer 0 (%x, %c) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: tensor<4xf32>, %cache: tensor<4xf32>):
    %w = arith.constant dense<[5.0, 6.0, 7.0, 8.0]> : tensor<4xf32>
    %a = eff.add %in, %w : tensor<4xf32>
    eff.yield %a, %cache : tensor<4xf32>, tensor<4xf32>
  }
  return %h, %k : tensor<4xf32>, tensor<4xf32>
}
