// RUN: effc-opt %s -split-input-file '--eff-prune-experts=experts=1' -verify-diagnostics
// RUN: not effc-opt %s '--eff-prune-experts=experts=two' 2>&1 | FileCheck %s --check-prefix=SPEC
// RUN: not effc-opt %s '--eff-prune-experts=experts=list:1,x' 2>&1 | FileCheck %s --check-prefix=LIST-SPEC
// RUN: not effc-opt %s -split-input-file '--eff-prune-experts=experts=3' 2>&1 | FileCheck %s --check-prefix=ALL
// RUN: not effc-opt %s -split-input-file '--eff-prune-experts=experts=list:0,5' 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not effc-opt %s -split-input-file '--eff-prune-experts=experts=list:1,1' 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not effc-opt %s -split-input-file '--eff-prune-experts=experts=list:0,1' 2>&1 | FileCheck %s --check-prefix=TOPK

// Diagnostics of eff-prune-experts (lib/Dialect/Eff/Transforms/PruneExperts.cpp); the first function of
// this file is a valid 3-expert top-2 MoE that the option errors are checked against.
// SPEC: error: eff-prune-experts: experts must be a count N or list:i,j,..., got 'two'
// LIST-SPEC: error: eff-prune-experts: experts must be a count N or list:i,j,..., got 'list:1,x'
// ALL: error: eff-prune-experts: cannot prune 3 of the router's 3 experts: at least one must stay
// RANGE: error: eff-prune-experts: expert 5 is out of range: the router has 3 experts
// TWICE: error: eff-prune-experts: expert 1 is listed twice
// TOPK: error: eff-prune-experts: pruning 2 of 3 experts leaves 1, fewer than top_k = 2

func.func @top2(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %wr = arith.constant dense<1.0> : tensor<3x2xf32>
  %up = arith.constant dense<1.0> : tensor<3x1x2xf32>
  %down = arith.constant dense<1.0> : tensor<3x2x1xf32>
  %w, %i = eff.router softmax %x, %wr {top_k = 2 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xi64>)
  %y = eff.experts %x, %w, %i up(%up) down(%down) relu : (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xi64>, tensor<3x1x2xf32>, tensor<3x2x1xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

func.func @usage_of_wrong_size(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %wr = arith.constant dense<1.0> : tensor<3x2xf32>
  %up = arith.constant dense<1.0> : tensor<3x1x2xf32>
  %down = arith.constant dense<1.0> : tensor<3x2x1xf32>
  // expected-error @+1 {{eff-prune-experts: calibration.expert_usage must be an array<i64> of 3 assignment counts, got array<i64: 1, 2>}}
  %w, %i = eff.router softmax %x, %wr {top_k = 1 : i64, calibration.expert_usage = array<i64: 1, 2>} : (tensor<4x2xf32>, tensor<3x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %y = eff.experts %x, %w, %i up(%up) down(%down) relu : (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xi64>, tensor<3x1x2xf32>, tensor<3x2x1xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

func.func @indices_used_elsewhere(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x1xi64>) {
  %wr = arith.constant dense<1.0> : tensor<3x2xf32>
  %up = arith.constant dense<1.0> : tensor<3x1x2xf32>
  %down = arith.constant dense<1.0> : tensor<3x2x1xf32>
  // expected-warning @+1 {{eff-prune-experts: router left unpruned: its expert indices are used by 'func.return', not only as the routing indices of eff.experts}}
  %w, %i = eff.router softmax %x, %wr {top_k = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %y = eff.experts %x, %w, %i up(%up) down(%down) relu : (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xi64>, tensor<3x1x2xf32>, tensor<3x2x1xf32>) -> tensor<4x2xf32>
  return %y, %i : tensor<4x2xf32>, tensor<4x1xi64>
}

// -----

func.func @weights_are_arguments(%x: tensor<4x2xf32>, %up: tensor<3x1x2xf32>) -> tensor<4x2xf32> {
  %wr = arith.constant dense<1.0> : tensor<3x2xf32>
  %down = arith.constant dense<1.0> : tensor<3x2x1xf32>
  // expected-warning @+1 {{eff-prune-experts: router left unpruned: the experts weights are not constants with one slice per expert}}
  %w, %i = eff.router softmax %x, %wr {top_k = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %y = eff.experts %x, %w, %i up(%up) down(%down) relu : (tensor<4x2xf32>, tensor<4x1xf32>, tensor<4x1xi64>, tensor<3x1x2xf32>, tensor<3x2x1xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
