// RUN: effc-opt %s -split-input-file -eff-merge-adapters | FileCheck %s

// eff-merge-adapters (lib/Dialect/Eff/Transforms/MergeAdapters.cpp).

// LoRA: W + (alpha / rank) · B · A with alpha / rank = 2, B · A = [[1, 2, 3], [0.5, 1, 1.5]].
// CHECK-LABEL: func.func @lora
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[\[}}3.000000e+00, 4.000000e+00, 6.000000e+00], [1.000000e+00, 3.000000e+00, 3.000000e+00]]> : tensor<2x3xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<5.000000e-01> : tensor<2xf32>
// CHECK: %[[Y:.*]] = eff.linear %[[X]], %[[W]], %[[B]] : (tensor<4x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<4x2xf32>
// CHECK-NOT: eff.lora
// CHECK: return %[[Y]]
func.func @lora(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]> : tensor<2x3xf32>
  %b = arith.constant dense<0.5> : tensor<2xf32>
  %a = arith.constant dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>
  %bb = arith.constant dense<[[1.0], [0.5]]> : tensor<2x1xf32>
  %y = eff.linear %x, %w, %b : (tensor<4x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %z = eff.lora %y, %x, %a, %bb {rank = 1 : i64, alpha = 2.0 : f32} : (tensor<4x2xf32>, tensor<4x3xf32>, tensor<1x3xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

// LoRA then (IA)^3 on the values, inside a layer: the merged weight's rows and the bias scale by l = [2, -1].
// CHECK-LABEL: func.func @lora_then_ia3
// CHECK: eff.layer 0
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[\[}}6.000000e+00, 8.000000e+00, 1.200000e+01], [-1.000000e+00, -3.000000e+00, -3.000000e+00]]> : tensor<2x3xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[2.000000e+00, -1.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = eff.linear %{{.*}}, %[[W]], %[[B]]
// CHECK-NOT: eff.lora
// CHECK-NOT: eff.ia3
// CHECK: eff.yield %{{.*}}, %[[Y]]
func.func @lora_then_ia3(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %h, %r = eff.layer 0 (%x) : (tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<4x2xf32>) {
  ^bb0(%in: tensor<4x3xf32>):
    %w = arith.constant dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]> : tensor<2x3xf32>
    %b = arith.constant dense<1.0> : tensor<2xf32>
    %a = arith.constant dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>
    %bb = arith.constant dense<[[1.0], [0.5]]> : tensor<2x1xf32>
    %l = arith.constant dense<[2.0, -1.0]> : tensor<2xf32>
    %y = eff.linear %in, %w, %b : (tensor<4x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<4x2xf32>
    %z = eff.lora %y, %in, %a, %bb {rank = 1 : i64, alpha = 2.0 : f32} : (tensor<4x2xf32>, tensor<4x3xf32>, tensor<1x3xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
    %s = eff.ia3 value %z, %l : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
    eff.yield %in, %s : tensor<4x3xf32>, tensor<4x2xf32>
  }
  return %r : tensor<4x2xf32>
}

// -----

// (IA)^3 on the FFN activation: folded into the columns of the down projection that reads it.
// CHECK-LABEL: func.func @ia3_ffn
// CHECK: %[[ACT:.*]] = eff.activation gelu
// CHECK-NOT: eff.ia3
// CHECK: %[[DOWN:.*]] = arith.constant dense<{{\[\[}}3.000000e+00, 1.000000e+00]]> : tensor<1x2xf32>
// CHECK-NOT: eff.ia3
// CHECK: eff.linear %[[ACT]], %[[DOWN]] :
func.func @ia3_ffn(%x: tensor<4x1xf32>) -> tensor<4x1xf32> {
  %up = arith.constant dense<[[1.0], [-1.0]]> : tensor<2x1xf32>
  %down = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %l = arith.constant dense<[3.0, 0.5]> : tensor<2xf32>
  %h = eff.linear %x, %up : (tensor<4x1xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
  %g = eff.activation gelu %h : tensor<4x2xf32>
  %s = eff.ia3 ffn %g, %l : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %y = eff.linear %s, %down : (tensor<4x2xf32>, tensor<1x2xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// A base linear with another user stays for it; the LoRA path gets a merged copy. A dense_resource weight
// gives a blob named <parameter>.merged.
// CHECK-LABEL: func.func @shared_base
// CHECK-DAG: %[[W:.*]] = arith.constant dense_resource<q.weight> : tensor<1x2xf32>
// CHECK-DAG: %[[M:.*]] = arith.constant dense_resource<q.weight.merged> : tensor<1x2xf32>
// CHECK-DAG: %[[Y:.*]] = eff.linear %{{.*}}, %[[W]] :
// CHECK-DAG: %[[Z:.*]] = eff.linear %{{.*}}, %[[M]] :
// CHECK-NOT: eff.lora
// CHECK: return %[[Y]], %[[Z]]
// CHECK: q.weight.merged: "0x40000000000000400000803F"
func.func @shared_base(%x: tensor<4x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>) {
  %w = arith.constant dense_resource<q.weight> : tensor<1x2xf32>
  %a = arith.constant dense<[[1.0, 0.0]]> : tensor<1x2xf32>
  %bb = arith.constant dense<[[0.5]]> : tensor<1x1xf32>
  %y = eff.linear %x, %w : (tensor<4x2xf32>, tensor<1x2xf32>) -> tensor<4x1xf32>
  %z = eff.lora %y, %x, %a, %bb {rank = 1 : i64, alpha = 2.0 : f32} : (tensor<4x1xf32>, tensor<4x2xf32>, tensor<1x2xf32>, tensor<1x1xf32>) -> tensor<4x1xf32>
  return %y, %z : tensor<4x1xf32>, tensor<4x1xf32>
}

{-#
  dialect_resources: {
    builtin: {
      q.weight: "0x040000000000803F0000803F"
    }
  }
#-}
