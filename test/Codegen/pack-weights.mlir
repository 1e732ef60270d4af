// RUN: effc-opt %s -split-input-file --effc-pack-weights | FileCheck %s

// effc-pack-weights (lib/Codegen/PackWeights.cpp): a linalg.transpose of a constant (a matrix, or a stack
// of them) becomes a constant holding the permuted elements. Non-splat constants become a `<name>.packed`
// dense_resource blob, printed in the split's dialect_resources section after the function: the blob is the 4-byte
// alignment (0x40000000) followed by the little-endian elements.

// [[1, 2, 3], [4, 5, 6]] transposed is [[1, 4], [2, 5], [3, 6]]: f32 1.0 = 0000803F, 4.0 = 00008040,
// 2.0 = 00000040, 5.0 = 0000A040, 3.0 = 00004040, 6.0 = 0000C040.
// CHECK-LABEL: func.func @dense$transposed_values(
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[PACKED:.+]] = arith.constant dense_resource<[[BLOB:weight\.packed[^>]*]]> : tensor<3x2xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[PACKED]] : tensor<3x2xf32>
// CHECK:       [[BLOB]]: "0x400000000000803F00008040000000400000A040000040400000C040"
func.func @dense$transposed_values(%init: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%init : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}

// -----

// f16 elements are moved two bytes at a time: [[1, 2], [3, 4]] -> [[1, 3], [2, 4]]
// (f16 1.0 = 003C, 2.0 = 0040, 3.0 = 0042, 4.0 = 0044).
// CHECK-LABEL: func.func @dense$f16(
// CHECK:         %[[PACKED:.+]] = arith.constant dense_resource<[[BLOB:weight\.packed[^>]*]]> : tensor<2x2xf16>
// CHECK:         return %[[PACKED]]
// CHECK:       [[BLOB]]: "0x40000000003C004200400044"
func.func @dense$f16(%init: tensor<2x2xf16>) -> tensor<2x2xf16> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf16>
  %t = linalg.transpose ins(%w : tensor<2x2xf16>) outs(%init : tensor<2x2xf16>) permutation = [1, 0]
  return %t : tensor<2x2xf16>
}

// -----

// A dense_resource weight (as eff-materialize-parameters produces) keeps its name with a `.packed`
// suffix: [[1, 2], [3, 4]] -> [[1, 3], [2, 4]].
// CHECK-LABEL: func.func @dense_resource$transposed_values(
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[PACKED:.+]] = arith.constant dense_resource<fc.weight.packed> : tensor<2x2xf32>
// CHECK:         return %[[PACKED]] : tensor<2x2xf32>
// CHECK:       fc.weight.packed: "0x400000000000803F000040400000004000008040"
func.func @dense_resource$transposed_values(%init: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense_resource<fc.weight> : tensor<2x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x2xf32>) outs(%init : tensor<2x2xf32>) permutation = [1, 0]
  return %t : tensor<2x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      fc.weight: "0x040000000000803F000000400000404000008040"
    }
  }
#-}

// -----

// A splat stays a (resized) splat; no blob is made.
// CHECK-LABEL: func.func @splat(
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[SPLAT:.+]] = arith.constant dense<1.500000e+00> : tensor<3x2xf32>
// CHECK:         return %[[SPLAT]] : tensor<3x2xf32>
// CHECK-NOT:   dense_resource
func.func @splat(%init: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.5> : tensor<2x3xf32>
  %t = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%init : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}

// -----

// Two weights of one function get two distinct blobs.
// CHECK-LABEL: func.func @two_weights(
// CHECK-DAG:     arith.constant dense_resource<[[A:weight\.packed[^>]*]]> : tensor<2x2xf32>
// CHECK-DAG:     arith.constant dense_resource<[[B:weight\.packed[^>]*]]> : tensor<2x2xf32>
// CHECK-NOT:     linalg.transpose
// CHECK-DAG:   [[A]]: "0x400000000000803F000040400000004000008040"
// CHECK-DAG:   [[B]]: "0x400000000000A0400000E0400000C04000000041"
func.func @two_weights(%init: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %a = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[[5.0, 6.0], [7.0, 8.0]]> : tensor<2x2xf32>
  %ta = linalg.transpose ins(%a : tensor<2x2xf32>) outs(%init : tensor<2x2xf32>) permutation = [1, 0]
  %tb = linalg.transpose ins(%b : tensor<2x2xf32>) outs(%init : tensor<2x2xf32>) permutation = [1, 0]
  return %ta, %tb : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// A transpose of a function argument is run-time work and stays.
// CHECK-LABEL: func.func @non_constant_input(
// CHECK-SAME:      %[[X:.+]]: tensor<2x3xf32>, %[[INIT:.+]]: tensor<3x2xf32>)
// CHECK:         %[[T:.+]] = linalg.transpose ins(%[[X]] : tensor<2x3xf32>) outs(%[[INIT]] : tensor<3x2xf32>) permutation = [1, 0]
// CHECK:         return %[[T]]
func.func @non_constant_input(%x: tensor<2x3xf32>, %init: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %t = linalg.transpose ins(%x : tensor<2x3xf32>) outs(%init : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}

// -----

// A stack of matrices (the [E, N, K] weights of eff.experts) transposed per matrix ([0, 2, 1]) becomes the
// [E, K, N] constant: [[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]] -> [[[1, 4], [2, 5], [3, 6]],
// [[7, 10], [8, 11], [9, 12]]].
// CHECK-LABEL: func.func @stacked$per_matrix(
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[PACKED:.+]] = arith.constant dense_resource<[[BLOB:weight\.packed[^>]*]]> : tensor<2x3x2xf32>
// CHECK:         return %[[PACKED]] : tensor<2x3x2xf32>
// CHECK:       [[BLOB]]: "0x400000000000803F00008040000000400000A040000040400000C0400000E0400000204100000041000030410000104100004041"
func.func @stacked$per_matrix(%init: tensor<2x3x2xf32>) -> tensor<2x3x2xf32> {
  %w = arith.constant dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]]> : tensor<2x2x3xf32>
  %t = linalg.transpose ins(%w : tensor<2x2x3xf32>) outs(%init : tensor<2x3x2xf32>) permutation = [0, 2, 1]
  return %t : tensor<2x3x2xf32>
}

// -----

// Any other permutation is folded element by element: [2, 0, 1] makes result[k][i][j] = w[i][j][k], so the
// elements come out as 1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12.
// CHECK-LABEL: func.func @stacked$general_permutation(
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[PACKED:.+]] = arith.constant dense_resource<[[BLOB:weight\.packed[^>]*]]> : tensor<3x2x2xf32>
// CHECK:         return %[[PACKED]] : tensor<3x2x2xf32>
// CHECK:       [[BLOB]]: "0x400000000000803F000080400000E04000002041000000400000A0400000004100003041000040400000C0400000104100004041"
func.func @stacked$general_permutation(%init: tensor<3x2x2xf32>) -> tensor<3x2x2xf32> {
  %w = arith.constant dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]]> : tensor<2x2x3xf32>
  %t = linalg.transpose ins(%w : tensor<2x2x3xf32>) outs(%init : tensor<3x2x2xf32>) permutation = [2, 0, 1]
  return %t : tensor<3x2x2xf32>
}

// -----

// A stacked transpose of a function argument is run-time work and stays.
// CHECK-LABEL: func.func @stacked$non_constant(
// CHECK:         linalg.transpose ins(%{{.+}} : tensor<2x2x3xf32>) {{.*}} permutation = [0, 2, 1]
func.func @stacked$non_constant(%w: tensor<2x2x3xf32>, %init: tensor<2x3x2xf32>) -> tensor<2x3x2xf32> {
  %t = linalg.transpose ins(%w : tensor<2x2x3xf32>) outs(%init : tensor<2x3x2xf32>) permutation = [0, 2, 1]
  return %t : tensor<2x3x2xf32>
}

// -----

// i1 elements are not whole bytes; the transpose stays.
// CHECK-LABEL: func.func @i1_untouched(
// CHECK:         linalg.transpose
// CHECK-NOT:   dense_resource
func.func @i1_untouched(%init: tensor<2x2xi1>) -> tensor<2x2xi1> {
  %w = arith.constant dense<[[true, false], [true, true]]> : tensor<2x2xi1>
  %t = linalg.transpose ins(%w : tensor<2x2xi1>) outs(%init : tensor<2x2xi1>) permutation = [1, 0]
  return %t : tensor<2x2xi1>
}

// -----

// On buffers the pass does nothing.
// CHECK-LABEL: func.func @memref_untouched(
// CHECK:         linalg.transpose ins(%{{.+}} : memref<2x3xf32>) outs(%{{.+}} : memref<3x2xf32>)
func.func @memref_untouched(%x: memref<2x3xf32>, %y: memref<3x2xf32>) {
  linalg.transpose ins(%x : memref<2x3xf32>) outs(%y : memref<3x2xf32>) permutation = [1, 0]
  return
}

// -----

// A private function's matrix argument that it only transposes, and that every caller passes as a constant
// (the weights of a layer body shared by several layers, eff-outline-layers), takes the packed layout: the
// callers pass packed constants and the function has no transpose left.
// CHECK-LABEL: func.func @shared_body_callers(
// CHECK-DAG:     arith.constant dense_resource<weight.packed{{[^>]*}}> : tensor<3x2xf32>
// CHECK-DAG:     arith.constant dense_resource<weight.packed{{[^>]*}}> : tensor<3x2xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         call @shared_body(%{{.+}}) : (tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK:         call @shared_body(%{{.+}}) : (tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK-LABEL: func.func private @shared_body(
// CHECK-SAME:    %[[ARG:.+]]: tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[ARG]] : tensor<3x2xf32>
// The two packed blobs, in either order.
// CHECK-DAG:   weight.packed{{[_0-9]*}}: "0x400000000000803F00008040000000400000A040000040400000C040"
// CHECK-DAG:   weight.packed{{[_0-9]*}}: "0x400000000000C0400000004100000041000020410000104100003041"
func.func @shared_body_callers() -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w0 = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %r0 = call @shared_body(%w0) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %w1 = arith.constant dense<[[6.0, 8.0, 9.0], [8.0, 10.0, 11.0]]> : tensor<2x3xf32>
  %r1 = call @shared_body(%w1) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %r0, %r1 : tensor<3x2xf32>, tensor<3x2xf32>
}
func.func private @shared_body(%w: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %init = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%init : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}

// -----

// A caller that passes a non-constant, or an argument used by something other than a transpose, keeps the
// original layout.
// CHECK-LABEL: func.func @not_all_constant(
// CHECK:         call @transposes(%{{.+}}) : (tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK:         call @transposes(%{{.+}}) : (tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK:         call @also_returns(%{{.+}}) : (tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<2x3xf32>)
// CHECK-LABEL: func.func private @transposes(
// CHECK-SAME:    tensor<2x3xf32>
// CHECK:         linalg.transpose
// CHECK-LABEL: func.func private @also_returns(
// CHECK-SAME:    tensor<2x3xf32>
// CHECK:         linalg.transpose
func.func @not_all_constant(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %r0 = call @transposes(%w) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %r1 = call @transposes(%x) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %r2, %same = call @also_returns(%w) : (tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<2x3xf32>)
  return %r0, %r1, %r2 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}
func.func private @transposes(%w: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %init = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%init : tensor<3x2xf32>) permutation = [1, 0]
  return %t : tensor<3x2xf32>
}
func.func private @also_returns(%w: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<2x3xf32>) {
  %init = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%init : tensor<3x2xf32>) permutation = [1, 0]
  return %t, %w : tensor<3x2xf32>, tensor<2x3xf32>
}

// -----

// A shared body's stacked expert weight ([E, N, K], transposed [0, 2, 1]) takes the packed [E, K, N] layout
// at its callers, like a matrix.
// CHECK-LABEL: func.func @shared_body_stacked_callers(
// CHECK:         %[[W:.+]] = arith.constant dense_resource<weight.packed{{[^>]*}}> : tensor<2x3x2xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         call @shared_stacked(%[[W]]) : (tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
// CHECK-LABEL: func.func private @shared_stacked(
// CHECK-SAME:    %[[ARG:.+]]: tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[ARG]] : tensor<2x3x2xf32>
// CHECK:       weight.packed{{[_0-9]*}}: "0x400000000000803F00008040000000400000A040000040400000C0400000E0400000204100000041000030410000104100004041"
func.func @shared_body_stacked_callers() -> tensor<2x3x2xf32> {
  %w = arith.constant dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]]> : tensor<2x2x3xf32>
  %r = call @shared_stacked(%w) : (tensor<2x2x3xf32>) -> tensor<2x3x2xf32>
  return %r : tensor<2x3x2xf32>
}
func.func private @shared_stacked(%w: tensor<2x2x3xf32>) -> tensor<2x3x2xf32> {
  %init = tensor.empty() : tensor<2x3x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x2x3xf32>) outs(%init : tensor<2x3x2xf32>) permutation = [0, 2, 1]
  return %t : tensor<2x3x2xf32>
}

// -----

// Two uses of one argument with different permutations: no single packed layout serves both, so the
// argument keeps its layout.
// CHECK-LABEL: func.func private @two_permutations(
// CHECK-SAME:    tensor<2x2x3xf32>
// CHECK:         linalg.transpose {{.*}} permutation = [0, 2, 1]
// CHECK:         linalg.transpose {{.*}} permutation = [2, 0, 1]
func.func @two_permutations_caller() -> (tensor<2x3x2xf32>, tensor<3x2x2xf32>) {
  %w = arith.constant dense<1.0> : tensor<2x2x3xf32>
  %r:2 = call @two_permutations(%w) : (tensor<2x2x3xf32>) -> (tensor<2x3x2xf32>, tensor<3x2x2xf32>)
  return %r#0, %r#1 : tensor<2x3x2xf32>, tensor<3x2x2xf32>
}
func.func private @two_permutations(%w: tensor<2x2x3xf32>) -> (tensor<2x3x2xf32>, tensor<3x2x2xf32>) {
  %i0 = tensor.empty() : tensor<2x3x2xf32>
  %t0 = linalg.transpose ins(%w : tensor<2x2x3xf32>) outs(%i0 : tensor<2x3x2xf32>) permutation = [0, 2, 1]
  %i1 = tensor.empty() : tensor<3x2x2xf32>
  %t1 = linalg.transpose ins(%w : tensor<2x2x3xf32>) outs(%i1 : tensor<3x2x2xf32>) permutation = [2, 0, 1]
  return %t0, %t1 : tensor<2x3x2xf32>, tensor<3x2x2xf32>
}

// -----

// The panels of eff.experts' weights: a reshape of the dense_resource constant shares its blob (no copy),
// then the transpose folds. w [1, 4, 2] = 1..8 in panels of 2 columns: [1, 2, 2, 2] with
// panel[p][k][j] = w[2p + j][k] -> 1, 3, 2, 4, 5, 7, 6, 8.
// CHECK-LABEL: func.func @reshaped_resource$panels(
// CHECK-NOT:     tensor.expand_shape
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[PACKED:.+]] = arith.constant dense_resource<experts.up.packed> : tensor<1x2x2x2xf32>
// CHECK:         return %[[PACKED]] : tensor<1x2x2x2xf32>
// CHECK:       experts.up.packed: "0x400000000000803F0000404000000040000080400000A0400000E0400000C04000000041"
func.func @reshaped_resource$panels() -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense_resource<experts.up> : tensor<1x4x2xf32>
  %split = tensor.expand_shape %w [[0], [1, 2], [3]] output_shape [1, 2, 2, 2] : tensor<1x4x2xf32> into tensor<1x2x2x2xf32>
  %init = tensor.empty() : tensor<1x2x2x2xf32>
  %t = linalg.transpose ins(%split : tensor<1x2x2x2xf32>) outs(%init : tensor<1x2x2x2xf32>) permutation = [0, 1, 3, 2]
  return %t : tensor<1x2x2x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      experts.up: "0x400000000000803F0000004000004040000080400000A0400000C0400000E04000000041"
    }
  }
#-}

// -----

// A reshape of a constant on its own becomes a constant of the new shape (dense: reshaped in place).
// CHECK-LABEL: func.func @reshaped_dense(
// CHECK-NOT:     tensor.collapse_shape
// CHECK:         %[[C:.+]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// CHECK:         return %[[C]]
func.func @reshaped_dense() -> tensor<4xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %c = tensor.collapse_shape %w [[0, 1]] : tensor<2x2xf32> into tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

// A shared body's weight argument that is reshaped into panels and transposed: the whole chain moves to the
// callers, where it folds into a packed constant; the body takes the panels.
// CHECK-LABEL: func.func @shared_body_panels_callers(
// CHECK:         %[[W:.+]] = arith.constant dense_resource<weight.packed{{[^>]*}}> : tensor<1x2x2x2xf32>
// CHECK-NOT:     tensor.expand_shape
// CHECK:         call @shared_panels(%[[W]]) : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
// CHECK-LABEL: func.func private @shared_panels(
// CHECK-SAME:    %[[ARG:.+]]: tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
// CHECK-NOT:     tensor.expand_shape
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[ARG]] : tensor<1x2x2x2xf32>
// CHECK:       weight.packed{{[_0-9]*}}: "0x400000000000803F0000404000000040000080400000A0400000E0400000C04000000041"
func.func @shared_body_panels_callers() -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]]> : tensor<1x4x2xf32>
  %r = call @shared_panels(%w) : (tensor<1x4x2xf32>) -> tensor<1x2x2x2xf32>
  return %r : tensor<1x2x2x2xf32>
}
func.func private @shared_panels(%w: tensor<1x4x2xf32>) -> tensor<1x2x2x2xf32> {
  %split = tensor.expand_shape %w [[0], [1, 2], [3]] output_shape [1, 2, 2, 2] : tensor<1x4x2xf32> into tensor<1x2x2x2xf32>
  %init = tensor.empty() : tensor<1x2x2x2xf32>
  %t = linalg.transpose ins(%split : tensor<1x2x2x2xf32>) outs(%init : tensor<1x2x2x2xf32>) permutation = [0, 1, 3, 2]
  return %t : tensor<1x2x2x2xf32>
}

// -----

// effc_uk_linear_f32's layout of a shared body's [N = 3, K = 2] weight: zero-padded to N = 4, split into
// panels of 2 and transposed. The pad moves to the callers with the rest of the chain and folds into the
// packed constant ([[1, 3], [2, 4]], [[5, 0], [6, 0]]).
// CHECK-LABEL: func.func @shared_body_padded_callers(
// CHECK:         %[[W:.+]] = arith.constant dense_resource<weight.padded.packed{{[^>]*}}> : tensor<2x2x2xf32>
// CHECK-NOT:     tensor.pad
// CHECK:         call @shared_padded(%[[W]]) : (tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
// CHECK-LABEL: func.func private @shared_padded(
// CHECK-SAME:    %[[ARG:.+]]: tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
// CHECK-NOT:     tensor.pad
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[ARG]] : tensor<2x2x2xf32>
// CHECK:       weight.padded.packed{{[_0-9]*}}: "0x400000000000803F0000404000000040000080400000A040000000000000C04000000000"
func.func @shared_body_padded_callers() -> tensor<2x2x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %r = call @shared_padded(%w) : (tensor<3x2xf32>) -> tensor<2x2x2xf32>
  return %r : tensor<2x2x2xf32>
}
func.func private @shared_padded(%w: tensor<3x2xf32>) -> tensor<2x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %padded = tensor.pad %w low[0, 0] high[1, 0] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f32
  } : tensor<3x2xf32> to tensor<4x2xf32>
  %split = tensor.expand_shape %padded [[0, 1], [2]] output_shape [2, 2, 2] : tensor<4x2xf32> into tensor<2x2x2xf32>
  %init = tensor.empty() : tensor<2x2x2xf32>
  %t = linalg.transpose ins(%split : tensor<2x2x2xf32>) outs(%init : tensor<2x2x2xf32>) permutation = [0, 2, 1]
  return %t : tensor<2x2x2xf32>
}

// -----

// A reshaped argument that is also used as it is keeps its layout (the chain must be the only use).
// CHECK-LABEL: func.func private @panels_and_raw(
// CHECK-SAME:    tensor<1x4x2xf32>
// CHECK:         tensor.expand_shape
// CHECK:         linalg.transpose
func.func @panels_and_raw_caller() -> (tensor<1x2x2x2xf32>, tensor<1x4x2xf32>) {
  %w = arith.constant dense<2.0> : tensor<1x4x2xf32>
  %r:2 = call @panels_and_raw(%w) : (tensor<1x4x2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x4x2xf32>)
  return %r#0, %r#1 : tensor<1x2x2x2xf32>, tensor<1x4x2xf32>
}
func.func private @panels_and_raw(%w: tensor<1x4x2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x4x2xf32>) {
  %split = tensor.expand_shape %w [[0], [1, 2], [3]] output_shape [1, 2, 2, 2] : tensor<1x4x2xf32> into tensor<1x2x2x2xf32>
  %init = tensor.empty() : tensor<1x2x2x2xf32>
  %t = linalg.transpose ins(%split : tensor<1x2x2x2xf32>) outs(%init : tensor<1x2x2x2xf32>) permutation = [0, 1, 3, 2]
  return %t, %w : tensor<1x2x2x2xf32>, tensor<1x4x2xf32>
}

// -----

// Two functions that pack the same weight (a decoder's prefill and decode) share one packed constant: it is
// stored once. A constant of the same bytes but another type stays apart.
// CHECK-LABEL: func.func @prefill(
// CHECK:         arith.constant dense_resource<[[$SHARED:fc\.weight\.packed[^>]*]]> : tensor<2x2xf32>
// CHECK-LABEL: func.func @decode(
// CHECK:         arith.constant dense_resource<[[$SHARED]]> : tensor<2x2xf32>
// CHECK-LABEL: func.func @flat(
// CHECK:         arith.constant dense_resource<flat.weight> : tensor<4xf32>
// CHECK:       [[$SHARED]]: "0x400000000000803F000040400000004000008040"
// CHECK-NOT:   packed
func.func @prefill(%init: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense_resource<fc.weight> : tensor<2x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x2xf32>) outs(%init : tensor<2x2xf32>) permutation = [1, 0]
  return %t : tensor<2x2xf32>
}
func.func @decode(%init: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense_resource<fc.weight> : tensor<2x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x2xf32>) outs(%init : tensor<2x2xf32>) permutation = [1, 0]
  return %t : tensor<2x2xf32>
}
func.func @flat() -> tensor<4xf32> {
  %w = arith.constant dense_resource<flat.weight> : tensor<4xf32>
  return %w : tensor<4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      fc.weight: "0x040000000000803F000000400000404000008040",
      flat.weight: "0x040000000000803F000040400000004000008040"
    }
  }
#-}
