// RUN: rm -rf %t && %PYTHON %S/make_safetensors.py %t
// RUN: effc-opt %s -split-input-file --eff-materialize-parameters=base-dir=%t | FileCheck %s

// eff-materialize-parameters on sharded checkpoints (eff.weights is an array of files, each parameter in
// exactly one) and on parameter views (transpose, row_offset, stack), as the Hugging Face importer emits them.
// make_safetensors.py writes shard_a.safetensors: a = [1, 2], conv f32 [2, 3] = [[1, 2, 3], [4, 5, 6]],
// e0 f32 [1, 2] = [[5, 6]]; shard_b.safetensors: b = [3, 4], e1 f32 [1, 2] = [[7, 8]]. A blob prints as its
// alignment (0x40000000, 64) and then the little-endian bytes (1.0 = 0000803F, 2.0 = 00000040, ...).

// Each parameter is read from the shard that holds it.
// CHECK-LABEL: func.func @shards(
// CHECK-DAG:     %[[A:.+]] = arith.constant dense_resource<a> : tensor<2xf32>
// CHECK-DAG:     %[[B:.+]] = arith.constant dense_resource<b> : tensor<2xf32>
// CHECK:         return %[[A]], %[[B]]
// CHECK-DAG:   a: "0x400000000000803F00000040"
// CHECK-DAG:   b: "0x400000000000404000008040"
module attributes {eff.weights = ["shard_a.safetensors", "shard_b.safetensors"]} {
  func.func @shards() -> (tensor<2xf32>, tensor<2xf32>) {
    %a = eff.parameter "a" : tensor<2xf32>
    %b = eff.parameter "b" : tensor<2xf32>
    return %a, %b : tensor<2xf32>, tensor<2xf32>
  }
}

// -----

// A one-element array is the same as a file name.
// CHECK-LABEL: func.func @one_shard(
// CHECK:         arith.constant dense_resource<b> : tensor<2xf32>
// CHECK:       b: "0x400000000000404000008040"
module attributes {eff.weights = ["shard_b.safetensors"]} {
  func.func @one_shard() -> tensor<2xf32> {
    %b = eff.parameter "b" : tensor<2xf32>
    return %b : tensor<2xf32>
  }
}

// -----

// transpose: conv^T = [[1, 4], [2, 5], [3, 6]]; with row_offset = 1, its rows 1 and 2: [[2, 5], [3, 6]];
// row_offset alone: rows of the stored tensor, [[4, 5, 6]]. Blobs are named after the parameter (made unique).
// CHECK-LABEL: func.func @views(
// CHECK:         %[[T:.+]] = arith.constant dense_resource<conv> : tensor<3x2xf32>
// CHECK:         %[[TR:.+]] = arith.constant dense_resource<conv_1> : tensor<2x2xf32>
// CHECK:         %[[R:.+]] = arith.constant dense_resource<conv_2> : tensor<1x3xf32>
// CHECK:         return %[[T]], %[[TR]], %[[R]]
// CHECK:       conv: "0x400000000000803F00008040000000400000A040000040400000C040"
// CHECK:       conv_1: "0x40000000000000400000A040000040400000C040"
// CHECK:       conv_2: "0x40000000000080400000A0400000C040"
module attributes {eff.weights = ["shard_a.safetensors", "shard_b.safetensors"]} {
  func.func @views() -> (tensor<3x2xf32>, tensor<2x2xf32>, tensor<1x3xf32>) {
    %t = eff.parameter "conv" {transpose} : tensor<3x2xf32>
    %tr = eff.parameter "conv" {transpose, row_offset = 1 : i64} : tensor<2x2xf32>
    %r = eff.parameter "conv" {row_offset = 1 : i64} : tensor<1x3xf32>
    return %t, %tr, %r : tensor<3x2xf32>, tensor<2x2xf32>, tensor<1x3xf32>
  }
}

// -----

// stack: the experts' tensors, from both shards, along a new leading dimension; the result is named `name`.
// CHECK-LABEL: func.func @stack(
// CHECK:         arith.constant dense_resource<experts> : tensor<2x1x2xf32>
// CHECK:       experts: "0x400000000000A0400000C0400000E04000000041"
module attributes {eff.weights = ["shard_a.safetensors", "shard_b.safetensors"]} {
  func.func @stack() -> tensor<2x1x2xf32> {
    %e = eff.parameter "experts" {stack = ["e0", "e1"]} : tensor<2x1x2xf32>
    return %e : tensor<2x1x2xf32>
  }
}

// -----

// A {file, prefix} entry serves the parameters named with its prefix, read under the name without it: two
// files with the same tensor names (two PEFT adapters, both "base_model.model....") stay apart. shard_a's "a" is
// [1, 2]; "p.a" reads it from the prefixed entry while "b" comes from shard_b.
// CHECK-LABEL: func.func @prefixed(
// CHECK-DAG:     arith.constant dense_resource<p.a> : tensor<2xf32>
// CHECK-DAG:     arith.constant dense_resource<b> : tensor<2xf32>
// CHECK-DAG:   p.a: "0x400000000000803F00000040"
module attributes {eff.weights = ["shard_b.safetensors", {file = "shard_a.safetensors", prefix = "p."}]} {
  func.func @prefixed() -> (tensor<2xf32>, tensor<2xf32>) {
    %a = eff.parameter "p.a" : tensor<2xf32>
    %b = eff.parameter "b" : tensor<2xf32>
    return %a, %b : tensor<2xf32>, tensor<2xf32>
  }
}

// -----

// The same file twice, once plain and once with a prefix: "a" and "q.a" are distinct parameters, no clash.
// CHECK-LABEL: func.func @same_file_twice(
// CHECK-DAG:     arith.constant dense_resource<a> : tensor<2xf32>
// CHECK-DAG:     arith.constant dense_resource<q.a> : tensor<2xf32>
module attributes {eff.weights = ["shard_a.safetensors", {file = "shard_a.safetensors", prefix = "q."}]} {
  func.func @same_file_twice() -> (tensor<2xf32>, tensor<2xf32>) {
    %a = eff.parameter "a" : tensor<2xf32>
    %qa = eff.parameter "q.a" : tensor<2xf32>
    return %a, %qa : tensor<2xf32>, tensor<2xf32>
  }
}
