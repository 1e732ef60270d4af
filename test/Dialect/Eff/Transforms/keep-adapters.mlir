// RUN: effc-opt %s -split-input-file -eff-keep-adapters | FileCheck %s

// eff-keep-adapters (lib/Dialect/Eff/Transforms/KeepAdapters.cpp).

// Two entry points materialised from the same parameters: the blobs of the second function carry MLIR's
// uniquing suffix (_1) but hold the same data, so both functions name their arguments after the parameter.
// Weights inside an eff.layer arrive as trailing layer operands; arguments follow the order of first use.
// CHECK-LABEL: func.func @prefill
// CHECK-SAME: (%[[X:.*]]: tensor<4x2xf32> {eff.name = "x"}, %[[A:.*]]: tensor<1x2xf32> {eff.name = "q.lora_A"}, %[[B:.*]]: tensor<2x1xf32> {eff.name = "q.lora_B"})
// CHECK-NOT: dense_resource<q.lora
// CHECK: eff.layer 0 (%[[X]], %[[A]], %[[B]]) : (tensor<4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
// CHECK-NEXT: ^bb0(%[[IN:.*]]: tensor<4x2xf32>, %[[LA:.*]]: tensor<1x2xf32>, %[[LB:.*]]: tensor<2x1xf32>):
// CHECK: eff.lora %{{.*}}, %[[IN]], %[[LA]], %[[LB]]
// CHECK-LABEL: func.func @decode
// CHECK-SAME: (%{{.*}}: tensor<1x2xf32> {eff.name = "x"}, %{{.*}}: tensor<1x2xf32> {eff.name = "q.lora_A"}, %{{.*}}: tensor<2x1xf32> {eff.name = "q.lora_B"})
// CHECK-NOT: dense_resource<q.lora
// CHECK: return
func.func @prefill(%x: tensor<4x2xf32> {eff.name = "x"}) -> tensor<4x2xf32> {
  %r = eff.layer 0 (%x) : (tensor<4x2xf32>) -> tensor<4x2xf32> {
  ^bb0(%in: tensor<4x2xf32>):
    %w = arith.constant dense_resource<q.weight> : tensor<2x2xf32>
    %a = arith.constant dense_resource<q.lora_A> : tensor<1x2xf32>
    %b = arith.constant dense_resource<q.lora_B> : tensor<2x1xf32>
    %y = eff.linear %in, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
    %z = eff.lora %y, %in, %a, %b {rank = 1 : i64, alpha = 1.0 : f32} : (tensor<4x2xf32>, tensor<4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<4x2xf32>
    eff.yield %z : tensor<4x2xf32>
  }
  return %r : tensor<4x2xf32>
}
func.func @decode(%x: tensor<1x2xf32> {eff.name = "x"}) -> tensor<1x2xf32> {
  %w = arith.constant dense_resource<q.weight_1> : tensor<2x2xf32>
  %a = arith.constant dense_resource<q.lora_A_1> : tensor<1x2xf32>
  %b = arith.constant dense_resource<q.lora_B_1> : tensor<2x1xf32>
  %y = eff.linear %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %z = eff.lora %y, %x, %a, %b {rank = 1 : i64, alpha = 1.0 : f32} : (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<1x2xf32>
  return %z : tensor<1x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      q.weight: "0x040000000000803F0000803F0000803F0000803F",
      q.weight_1: "0x040000000000803F0000803F0000803F0000803F",
      q.lora_A: "0x040000000000803F00000040",
      q.lora_A_1: "0x040000000000803F00000040",
      q.lora_B: "0x040000000000803F00000040",
      q.lora_B_1: "0x040000000000803F00000040"
    }
  }
#-}

// -----

// A `_1` blob with other data is another parameter and keeps its key. Inline constants are named after
// their role; one constant used twice is one argument; a name already taken by an input gets a suffix.
// The base linear's weight is no adapter weight and stays a constant.
// CHECK-LABEL: func.func @roles
// CHECK-SAME: %{{.*}}: tensor<1x4x2xf32> {eff.name = "prompt"}, %[[P:.*]]: tensor<1x2xf32> {eff.name = "prompt.1"}, %[[L:.*]]: tensor<2xf32> {eff.name = "ia3_scale"}, %[[PK:.*]]: tensor<2x2xf32> {eff.name = "prefix_key"}, %[[PV:.*]]: tensor<2x2xf32> {eff.name = "prefix_value"}, %[[D:.*]]: tensor<1x2xf32> {eff.name = "down"}, %[[U:.*]]: tensor<2x1xf32> {eff.name = "bottleneck_up_weight"}, %[[D1:.*]]: tensor<1x2xf32> {eff.name = "down_1"})
// CHECK: arith.constant dense<1.000000e+00> : tensor<2x2xf32>
// CHECK-NOT: arith.constant
// CHECK: eff.prompt %{{.*}}, %[[P]]
// CHECK: eff.ia3 key %{{.*}}, %[[L]]
// CHECK: eff.ia3 value %{{.*}}, %[[L]]
// CHECK: eff.prefix %{{.*}}, %{{.*}}, %[[PK]], %[[PV]]
// CHECK: eff.bottleneck_adapter %{{.*}} down(%[[D]]) up(%[[U]])
// CHECK: eff.bottleneck_adapter %{{.*}} down(%[[D1]]) up(%[[U]])
func.func @roles(%e: tensor<1x4x2xf32> {eff.name = "prompt"}) -> (tensor<1x5x2xf32>, tensor<1x6x2xf32>, tensor<1x6x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>) {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %p = arith.constant dense<1.0> : tensor<1x2xf32>
  %l = arith.constant dense<2.0> : tensor<2xf32>
  %pk = arith.constant dense<2.0> : tensor<2x2xf32>
  %pv = arith.constant dense<3.0> : tensor<2x2xf32>
  %d = arith.constant dense_resource<down> : tensor<1x2xf32>
  %d1 = arith.constant dense_resource<down_1> : tensor<1x2xf32>
  %u = arith.constant dense<1.0> : tensor<2x1xf32>
  %e2 = eff.prompt %e, %p : (tensor<1x4x2xf32>, tensor<1x2xf32>) -> tensor<1x5x2xf32>
  %k = eff.linear %e, %w : (tensor<1x4x2xf32>, tensor<2x2xf32>) -> tensor<1x4x2xf32>
  %k1 = eff.ia3 key %k, %l : (tensor<1x4x2xf32>, tensor<2xf32>) -> tensor<1x4x2xf32>
  %v1 = eff.ia3 value %k, %l : (tensor<1x4x2xf32>, tensor<2xf32>) -> tensor<1x4x2xf32>
  %k2, %v2 = eff.prefix %k1, %v1, %pk, %pv : (tensor<1x4x2xf32>, tensor<1x4x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> (tensor<1x6x2xf32>, tensor<1x6x2xf32>)
  %o1 = eff.bottleneck_adapter %e down(%d) up(%u) relu : (tensor<1x4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<1x4x2xf32>
  %o2 = eff.bottleneck_adapter %e down(%d1) up(%u) relu : (tensor<1x4x2xf32>, tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<1x4x2xf32>
  return %e2, %k2, %v2, %o1, %o2 : tensor<1x5x2xf32>, tensor<1x6x2xf32>, tensor<1x6x2xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      down: "0x040000000000803F00000040",
      down_1: "0x040000000000004000000040"
    }
  }
#-}
