// RUN: effc-opt %s -split-input-file '--eff-drop-layers=layers=bottom:1' | FileCheck %s --check-prefix=BOTTOM
// RUN: effc-opt %s -split-input-file '--eff-drop-layers=layers=top:2' | FileCheck %s --check-prefix=TOP
// RUN: effc-opt %s -split-input-file '--eff-drop-layers=layers=alternate' | FileCheck %s --check-prefix=ALT
// RUN: effc-opt %s -split-input-file '--eff-drop-layers=layers=symmetric:2' | FileCheck %s --check-prefix=SYM
// RUN: effc-opt %s -split-input-file '--eff-drop-layers=layers=list:2,0' | FileCheck %s --check-prefix=LIST

// eff-drop-layers (lib/Dialect/Eff/Transforms/DropLayers.cpp) on a 4-layer encoder whose layers share a mask
// argument, and on a decoder step whose layers own their KV-cache arguments and results.

// Layers are selected in index order, not in block order; the residual stream is rewired and the shared mask
// stays. The kept layers are renumbered 0, 1, ...
// BOTTOM-LABEL: func.func @encoder
// BOTTOM-SAME: (%[[X:.*]]: tensor<2x8xf32>, %[[M:.*]]: tensor<2xi64>)
// BOTTOM: %[[L1:.*]] = eff.layer 0 (%[[X]], %[[M]]) {{.*}} {
// BOTTOM: eff.add
// BOTTOM-SAME: {tag = 1 : i64}
// BOTTOM: %[[L2:.*]] = eff.layer 1 (%[[L1]], %[[M]])
// BOTTOM: %[[L3:.*]] = eff.layer 2 (%[[L2]], %[[M]])
// BOTTOM-NOT: eff.layer
// BOTTOM: return %[[L3]]

// TOP-LABEL: func.func @encoder
// TOP: %[[L0:.*]] = eff.layer 0 (%{{.*}}, %{{.*}})
// TOP: eff.add {{.*}} {tag = 0 : i64}
// TOP: %[[L1:.*]] = eff.layer 1 (%[[L0]], %{{.*}})
// TOP: eff.add {{.*}} {tag = 1 : i64}
// TOP-NOT: eff.layer
// TOP: return %[[L1]]

// Alternate keeps positions 0 and 2.
// ALT-LABEL: func.func @encoder
// ALT: eff.layer 0
// ALT: eff.add {{.*}} {tag = 0 : i64}
// ALT: eff.layer 1
// ALT: eff.add {{.*}} {tag = 2 : i64}
// ALT-NOT: eff.layer

// Symmetric:2 of 4 drops the middle positions 1 and 2.
// SYM-LABEL: func.func @encoder
// SYM: eff.layer 0
// SYM: eff.add {{.*}} {tag = 0 : i64}
// SYM: eff.layer 1
// SYM: eff.add {{.*}} {tag = 3 : i64}
// SYM-NOT: eff.layer

// LIST-LABEL: func.func @encoder
// LIST: eff.layer 0
// LIST: eff.add {{.*}} {tag = 1 : i64}
// LIST: eff.layer 1
// LIST: eff.add {{.*}} {tag = 3 : i64}
// LIST-NOT: eff.layer
func.func @encoder(%x: tensor<2x8xf32>, %mask: tensor<2xi64>) -> tensor<2x8xf32> {
  %h0 = eff.layer 0 (%x, %mask) : (tensor<2x8xf32>, tensor<2xi64>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x8xf32>, %m: tensor<2xi64>):
    %y = eff.add %a, %a {tag = 0 : i64} : tensor<2x8xf32>
    eff.yield %y : tensor<2x8xf32>
  }
  %h1 = eff.layer 1 (%h0, %mask) : (tensor<2x8xf32>, tensor<2xi64>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x8xf32>, %m: tensor<2xi64>):
    %y = eff.add %a, %a {tag = 1 : i64} : tensor<2x8xf32>
    eff.yield %y : tensor<2x8xf32>
  }
  %h2 = eff.layer 2 (%h1, %mask) : (tensor<2x8xf32>, tensor<2xi64>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x8xf32>, %m: tensor<2xi64>):
    %y = eff.add %a, %a {tag = 2 : i64} : tensor<2x8xf32>
    eff.yield %y : tensor<2x8xf32>
  }
  %h3 = eff.layer 3 (%h2, %mask) : (tensor<2x8xf32>, tensor<2xi64>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x8xf32>, %m: tensor<2xi64>):
    %y = eff.add %a, %a {tag = 3 : i64} : tensor<2x8xf32>
    eff.yield %y : tensor<2x8xf32>
  }
  return %h3 : tensor<2x8xf32>
}

// -----

// A 3-layer decode step: dropping a layer removes its past_* arguments and present_* results, the past
// length is read from the first kept layer's cache, and the names of the kept layers' caches are renumbered.
// BOTTOM-LABEL: func.func @decode
// BOTTOM-SAME: (%[[X:[^:]*]]: tensor<1x1x8xf32> {eff.name = "input"},
// BOTTOM-SAME: %[[PK1:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_key_0"}, %[[PV1:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_value_0"},
// BOTTOM-SAME: %[[PK2:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_key_1"}, %[[PV2:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_value_1"})
// BOTTOM-SAME: -> (tensor<1x1x8xf32> {eff.name = "hidden"}, tensor<1x?x8xf32> {eff.name = "present_key_0"}, tensor<1x?x8xf32> {eff.name = "present_value_0"},
// BOTTOM-SAME: tensor<1x?x8xf32> {eff.name = "present_key_1"}, tensor<1x?x8xf32> {eff.name = "present_value_1"}, index {eff.name = "past_length"})
// BOTTOM: %[[LEN:.*]] = tensor.dim %[[PK1]], %{{.*}} : tensor<1x?x8xf32>
// BOTTOM: %[[L1:.*]]:3 = eff.layer 0 (%[[X]], %[[PK1]], %[[PV1]])
// BOTTOM: eff.add {{.*}} {tag = 1 : i64}
// BOTTOM: %[[L2:.*]]:3 = eff.layer 1 (%[[L1]]#0, %[[PK2]], %[[PV2]])
// BOTTOM: eff.add {{.*}} {tag = 2 : i64}
// BOTTOM: return %[[L2]]#0, %[[L1]]#1, %[[L1]]#2, %[[L2]]#1, %[[L2]]#2, %[[LEN]]

// TOP-LABEL: func.func @decode
// TOP-SAME: (%[[X:[^:]*]]: tensor<1x1x8xf32> {eff.name = "input"},
// TOP-SAME: %[[PK0:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_key_0"}, %[[PV0:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_value_0"})
// TOP-SAME: -> (tensor<1x1x8xf32> {eff.name = "hidden"}, tensor<1x?x8xf32> {eff.name = "present_key_0"}, tensor<1x?x8xf32> {eff.name = "present_value_0"}, index {eff.name = "past_length"})
// TOP: tensor.dim %[[PK0]]
// TOP: %[[L0:.*]]:3 = eff.layer 0 (%[[X]], %[[PK0]], %[[PV0]])
// TOP-NOT: eff.layer
// TOP: return %[[L0]]#0, %[[L0]]#1, %[[L0]]#2, %{{.*}} :

// Alternate keeps positions 0 and 2; layer 2 and its cache become number 1.
// ALT-LABEL: func.func @decode
// ALT-SAME: {eff.name = "past_key_0"}
// ALT-SAME: %[[PK2:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_key_1"}
// ALT-SAME: {eff.name = "present_key_1"}
// ALT: eff.layer 0
// ALT: eff.layer 1 (%{{.*}}, %[[PK2]],
// ALT: eff.add {{.*}} {tag = 2 : i64}

// Symmetric:2 of 3 drops positions 0 and 1: the past length now comes from layer 2's cache.
// SYM-LABEL: func.func @decode
// SYM-SAME: (%[[X:[^:]*]]: tensor<1x1x8xf32> {eff.name = "input"},
// SYM-SAME: %[[PK2:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_key_0"}, %[[PV2:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_value_0"})
// SYM: tensor.dim %[[PK2]]
// SYM: eff.layer 0 (%[[X]], %[[PK2]], %[[PV2]])
// SYM: eff.add {{.*}} {tag = 2 : i64}

// LIST-LABEL: func.func @decode
// LIST-SAME: %[[PK1:[^:]*]]: tensor<1x?x8xf32> {eff.name = "past_key_0"}, %{{[^:]*}}: tensor<1x?x8xf32> {eff.name = "past_value_0"})
// LIST-SAME: {eff.name = "present_key_0"}
// LIST: tensor.dim %[[PK1]]
// LIST: eff.layer 0
// LIST: eff.add {{.*}} {tag = 1 : i64}
// LIST-NOT: eff.layer
func.func @decode(%x: tensor<1x1x8xf32> {eff.name = "input"},
                  %pk0: tensor<1x?x8xf32> {eff.name = "past_key_0"}, %pv0: tensor<1x?x8xf32> {eff.name = "past_value_0"},
                  %pk1: tensor<1x?x8xf32> {eff.name = "past_key_1"}, %pv1: tensor<1x?x8xf32> {eff.name = "past_value_1"},
                  %pk2: tensor<1x?x8xf32> {eff.name = "past_key_2"}, %pv2: tensor<1x?x8xf32> {eff.name = "past_value_2"})
    -> (tensor<1x1x8xf32> {eff.name = "hidden"},
        tensor<1x?x8xf32> {eff.name = "present_key_0"}, tensor<1x?x8xf32> {eff.name = "present_value_0"},
        tensor<1x?x8xf32> {eff.name = "present_key_1"}, tensor<1x?x8xf32> {eff.name = "present_value_1"},
        tensor<1x?x8xf32> {eff.name = "present_key_2"}, tensor<1x?x8xf32> {eff.name = "present_value_2"},
        index {eff.name = "past_length"}) {
  %c1 = arith.constant 1 : index
  %len = tensor.dim %pk0, %c1 : tensor<1x?x8xf32>
  %h0, %k0, %v0 = eff.layer 0 (%x, %pk0, %pv0) : (tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> (tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) {
  ^bb0(%a: tensor<1x1x8xf32>, %k: tensor<1x?x8xf32>, %v: tensor<1x?x8xf32>):
    %y = eff.add %a, %a {tag = 0 : i64} : tensor<1x1x8xf32>
    eff.yield %y, %k, %v : tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>
  }
  %h1, %k1, %v1 = eff.layer 1 (%h0, %pk1, %pv1) : (tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> (tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) {
  ^bb0(%a: tensor<1x1x8xf32>, %k: tensor<1x?x8xf32>, %v: tensor<1x?x8xf32>):
    %y = eff.add %a, %a {tag = 1 : i64} : tensor<1x1x8xf32>
    eff.yield %y, %k, %v : tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>
  }
  %h2, %k2, %v2 = eff.layer 2 (%h1, %pk2, %pv2) : (tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> (tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) {
  ^bb0(%a: tensor<1x1x8xf32>, %k: tensor<1x?x8xf32>, %v: tensor<1x?x8xf32>):
    %y = eff.add %a, %a {tag = 2 : i64} : tensor<1x1x8xf32>
    eff.yield %y, %k, %v : tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>
  }
  return %h2, %k0, %v0, %k1, %v1, %k2, %v2, %len : tensor<1x1x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>, index
}
