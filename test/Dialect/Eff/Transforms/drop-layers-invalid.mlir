// RUN: effc-opt %s -split-input-file '--eff-drop-layers=layers=bottom:1' -verify-diagnostics
// RUN: not effc-opt %s '--eff-drop-layers=layers=top:5' 2>&1 | FileCheck %s --check-prefix=TOO-MANY
// RUN: not effc-opt %s '--eff-drop-layers=layers=middle:1' 2>&1 | FileCheck %s --check-prefix=SYNTAX
// RUN: not effc-opt %s '--eff-drop-layers=layers=top:x' 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not effc-opt %s '--eff-drop-layers=layers=list:1,1' 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not effc-opt %s '--eff-drop-layers=layers=list:0,7' 2>&1 | FileCheck %s --check-prefix=NO-LAYER
// RUN: not effc-opt %s '--eff-drop-layers=layers=' 2>&1 | FileCheck %s --check-prefix=EMPTY

// Every diagnostic of eff-drop-layers (lib/Dialect/Eff/Transforms/DropLayers.cpp). Option errors are reported
// at the module; selection errors at the function; rewiring errors at the layer or function.

// TOO-MANY: error: eff-drop-layers: cannot drop 5 layers, function @kv_used_elsewhere has 2
// SYNTAX: error: eff-drop-layers: unknown layer selection 'middle:1'; expected top:K, bottom:K, alternate, symmetric:K or list:i,j,...
// COUNT: error: eff-drop-layers: 'x' is not a non-negative integer
// TWICE: error: eff-drop-layers: layer 1 is listed twice
// NO-LAYER: error: eff-drop-layers: function @kv_used_elsewhere has no layer 7
// EMPTY: error: eff-drop-layers: no layer selection given; expected top:K, bottom:K, alternate, symmetric:K or list:i,j,...

// A KV output of the dropped layer feeds another op: it cannot be removed from the signature.
func.func @kv_used_elsewhere(%x: tensor<1x1x8xf32>, %pk: tensor<1x?x8xf32>) -> tensor<1x?x8xf32> {
  // expected-error @+1 {{eff-drop-layers: result #1 of layer 0 is used by 'eff.add', which cannot be rewired when the layer is dropped}}
  %h0, %k0 = eff.layer 0 (%x, %pk) : (tensor<1x1x8xf32>, tensor<1x?x8xf32>) -> (tensor<1x1x8xf32>, tensor<1x?x8xf32>) {
  ^bb0(%a: tensor<1x1x8xf32>, %k: tensor<1x?x8xf32>):
    eff.yield %a, %k : tensor<1x1x8xf32>, tensor<1x?x8xf32>
  }
  %h1 = eff.layer 1 (%h0) : (tensor<1x1x8xf32>) -> tensor<1x1x8xf32> {
  ^bb0(%a: tensor<1x1x8xf32>):
    eff.yield %a : tensor<1x1x8xf32>
  }
  %s = eff.add %k0, %k0 : tensor<1x?x8xf32>
  return %s : tensor<1x?x8xf32>
}

// -----

// The past length is read from the only layer's cache, and no layer is left to read it from.
// expected-error @+1 {{eff-drop-layers: argument #1 of @orphaned_shape_query fed only dropped layers but its shape is still queried, and no kept layer has an argument of the same type in the same position to query instead}}
func.func @orphaned_shape_query(%x: tensor<1x1x8xf32>, %pk: tensor<1x?x8xf32>) -> (tensor<1x1x8xf32>, index) {
  %c1 = arith.constant 1 : index
  %len = tensor.dim %pk, %c1 : tensor<1x?x8xf32>
  %h = eff.layer 0 (%x, %pk) : (tensor<1x1x8xf32>, tensor<1x?x8xf32>) -> tensor<1x1x8xf32> {
  ^bb0(%a: tensor<1x1x8xf32>, %k: tensor<1x?x8xf32>):
    eff.yield %a : tensor<1x1x8xf32>
  }
  return %h, %len : tensor<1x1x8xf32>, index
}
