// RUN: effc-opt %s --split-input-file --eff-expose-calibration-probes | FileCheck %s

// A probe outside layers: the linear's input is returned as it is; the shared input of two linears once.
// CHECK-LABEL: func.func @mlp(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x8xf32>) -> (tensor<?x4xf32>, tensor<?x8xf32> {eff.name = "calibration_probe_0"}, tensor<?x4xf32> {eff.name = "calibration_probe_1"})
// CHECK: %[[S:.*]] = eff.add
// CHECK: %[[Y:.*]] = eff.linear %[[S]]
// CHECK: return %[[Y]], %[[X]], %[[S]]
module {
  func.func @mlp(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
    %w1 = arith.constant dense<1.0> : tensor<4x8xf32>
    %w2 = arith.constant dense<1.0> : tensor<4x4xf32>
    %h = eff.linear %x, %w1 : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
    %g = eff.linear %x, %w1 : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
    %s = eff.add %h, %g : tensor<?x4xf32>
    %y = eff.linear %s, %w2 : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}

// -----

// Probes inside a layer leave it as extra layer results: the linear's input, the attention output and the
// FFN input.
// CHECK-LABEL: func.func @block(
// CHECK-SAME: tensor<?x?x8xf32> {eff.name = "calibration_probe_0"}, tensor<?x?x8xf32> {eff.name = "calibration_probe_1"}, tensor<?x?x8xf32> {eff.name = "calibration_probe_2"})
// CHECK: %[[L:.*]]:4 = eff.layer 0 (%{{.*}}) : (tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: tensor<?x?x8xf32>):
// CHECK: %[[A:.*]] = eff.attention
// CHECK: %[[R:.*]] = eff.add
// CHECK: eff.yield %{{.*}}, %[[IN]], %[[A]], %[[R]]
// CHECK: return %[[L]]#0, %[[L]]#1, %[[L]]#2, %[[L]]#3
module {
  func.func @block(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    %h = eff.layer 0 (%x) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    ^bb0(%in: tensor<?x?x8xf32>):
      %wq = arith.constant dense<0.5> : tensor<8x8xf32>
      %q = eff.linear %in, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
      %a = eff.attention %q, %q, %q {num_heads = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
      %r = eff.add %in, %a : tensor<?x?x8xf32>
      %wu = arith.constant dense<0.5> : tensor<16x8xf32>
      %wd = arith.constant dense<0.5> : tensor<8x16xf32>
      %f = eff.ffn %r up(%wu) down(%wd) relu : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
      eff.yield %f : tensor<?x?x8xf32>
    }
    return %h : tensor<?x?x8xf32>
  }
}
