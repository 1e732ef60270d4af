// RUN: rm -rf %t && %PYTHON %S/make_safetensors.py %t
// RUN: effc-opt %s -split-input-file --eff-materialize-parameters=base-dir=%t | FileCheck %s
// RUN: effc-opt %s -split-input-file '--eff-materialize-parameters=weights-file=%t/tiny.safetensors' | FileCheck %s --check-prefix=OPTION

// eff-materialize-parameters (lib/Dialect/Eff/Transforms/MaterializeParameters.cpp): each eff.parameter
// becomes an arith.constant holding a dense_resource blob named after the parameter, read from the module's
// eff.weights file (relative to base-dir) or from the weights-file option. make_safetensors.py writes
// tiny.safetensors: fc.weight f32 [2, 3] = [[1, 2, 3], [4, 5, 6]], fc.bias f16 [3] = [1, 2, 3],
// ids i64 [2] = [7, 8], mask bool [4] = [1, 0, 1, 1]. A blob prints as its alignment (0x40000000, 64) and
// then the little-endian bytes.

// CHECK-LABEL: func.func @one_parameter(
// CHECK-NOT:     eff.parameter
// CHECK:         %[[W:.+]] = arith.constant dense_resource<fc.weight> : tensor<2x3xf32>
// CHECK:         return %[[W]] : tensor<2x3xf32>
// CHECK:       fc.weight: "0x400000000000803F0000004000004040000080400000A0400000C040"
// OPTION-LABEL: func.func @one_parameter(
// OPTION:         arith.constant dense_resource<fc.weight> : tensor<2x3xf32>
// OPTION:       fc.weight: "0x400000000000803F0000004000004040000080400000A0400000C040"
module attributes {eff.weights = "tiny.safetensors"} {
  func.func @one_parameter() -> tensor<2x3xf32> {
    %w = eff.parameter "fc.weight" : tensor<2x3xf32>
    return %w : tensor<2x3xf32>
  }
}

// -----

// Every dtype the pass maps, in one module: f16, i64 and bool (one byte per element).
// CHECK-LABEL: func.func @dtypes(
// CHECK-NOT:     eff.parameter
// CHECK-DAG:     %[[B:.+]] = arith.constant dense_resource<fc.bias> : tensor<3xf16>
// CHECK-DAG:     %[[I:.+]] = arith.constant dense_resource<ids> : tensor<2xi64>
// CHECK-DAG:     %[[M:.+]] = arith.constant dense_resource<mask> : tensor<4xi1>
// CHECK:         return %[[B]], %[[I]], %[[M]]
// CHECK-DAG:   fc.bias: "0x40000000003C00400042"
// CHECK-DAG:   ids: "0x4000000007000000000000000800000000000000"
// CHECK-DAG:   mask: "0x4000000001000101"
module attributes {eff.weights = "tiny.safetensors"} {
  func.func @dtypes() -> (tensor<3xf16>, tensor<2xi64>, tensor<4xi1>) {
    %b = eff.parameter "fc.bias" : tensor<3xf16>
    %i = eff.parameter "ids" : tensor<2xi64>
    %m = eff.parameter "mask" : tensor<4xi1>
    return %b, %i, %m : tensor<3xf16>, tensor<2xi64>, tensor<4xi1>
  }
}

// -----

// Parameters inside nested regions (an eff.layer body) are materialised in place.
// CHECK-LABEL: func.func @in_layer(
// CHECK:         eff.layer 0
// CHECK:           %[[W:.+]] = arith.constant dense_resource<fc.weight> : tensor<2x3xf32>
// CHECK:           eff.yield %[[W]]
module attributes {eff.weights = "tiny.safetensors"} {
  func.func @in_layer(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
    %r = eff.layer 0 (%x) : (tensor<2x3xf32>) -> tensor<2x3xf32> {
    ^bb0(%y: tensor<2x3xf32>):
      %w = eff.parameter "fc.weight" : tensor<2x3xf32>
      eff.yield %w : tensor<2x3xf32>
    }
    return %r : tensor<2x3xf32>
  }
}

// -----

// A module without parameters needs no weights file.
// CHECK-LABEL: func.func @no_parameters(
// CHECK:         arith.constant dense<1.000000e+00> : tensor<2xf32>
// OPTION-LABEL: func.func @no_parameters(
module {
  func.func @no_parameters() -> tensor<2xf32> {
    %c = arith.constant dense<1.0> : tensor<2xf32>
    return %c : tensor<2xf32>
  }
}

// -----

// The weights-file option overrides the module's eff.weights: other.safetensors holds the negated weight.
// CHECK-LABEL: func.func @option_overrides_attribute(
// CHECK:         arith.constant dense_resource<fc.weight> : tensor<2x3xf32>
// CHECK:       fc.weight: "0x40000000000080BF000000C0000040C0000080C00000A0C00000C0C0"
// OPTION-LABEL: func.func @option_overrides_attribute(
// OPTION:         arith.constant dense_resource<fc.weight> : tensor<2x3xf32>
// OPTION:       fc.weight: "0x400000000000803F0000004000004040000080400000A0400000C040"
module attributes {eff.weights = "other.safetensors"} {
  func.func @option_overrides_attribute() -> tensor<2x3xf32> {
    %w = eff.parameter "fc.weight" : tensor<2x3xf32>
    return %w : tensor<2x3xf32>
  }
}
