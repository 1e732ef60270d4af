// RUN: effc-opt %s -split-input-file '--effc-cpu-weight-panels=panel-width=2 register-tile-n=1 min-padded-panels=2' \
// RUN:   --effc-pack-weights | FileCheck %s

// effc-cpu-weight-panels then effc-pack-weights: the panels become constants holding the packed bytes, also
// through the arguments of a shared layer body. Panels of 2 columns, so that the bytes can be checked:
// W [N = 4, K = 2] = [[1, 2], [3, 4], [5, 6], [7, 8]] is B = W^T = [[1, 3, 5, 7], [2, 4, 6, 8]] ([K, N]), and its
// panels Bp[nb][k][ni] = B[k][2 nb + ni] are [[[1, 3], [2, 4]], [[5, 7], [6, 8]]]: f32 1 = 0000803F,
// 2 = 00000040, 3 = 00004040, 4 = 00008040, 5 = 0000A040, 6 = 0000C040, 7 = 0000E040, 8 = 00000041.

// A linear layer's transposed weight.
// CHECK-LABEL: func.func @transposed_weight(
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[PANELS:.+]] = arith.constant dense_resource<[[BLOB:weight\.packed[^>]*]]> : tensor<2x2x2xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         linalg.generic {{.*}} ins(%{{.+}}, %[[PANELS]] : tensor<3x2xf32>, tensor<2x2x2xf32>)
// CHECK:       [[BLOB]]: "0x400000000000803F0000404000000040000080400000A0400000E0400000C04000000041"
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @transposed_weight(%x: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %wt_init = tensor.empty() : tensor<2x4xf32>
  %wt = linalg.transpose ins(%w : tensor<4x2xf32>) outs(%wt_init : tensor<2x4xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<3x4xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
  %y = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wt : tensor<3x2xf32>, tensor<2x4xf32>) outs(%i : tensor<3x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

// The same B given as [K, N] rows: the same panels.
// CHECK-LABEL: func.func @rows_weight(
// CHECK-NOT:     linalg.transpose
// CHECK:         arith.constant dense_resource<[[BLOB:weight\.packed[^>]*]]> : tensor<2x2x2xf32>
// CHECK:       [[BLOB]]: "0x400000000000803F0000404000000040000080400000A0400000E0400000C04000000041"
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @rows_weight(%x: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[1.0, 3.0, 5.0, 7.0], [2.0, 4.0, 6.0, 8.0]]> : tensor<2x4xf32>
  %e = tensor.empty() : tensor<3x4xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
  %y = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<3x2xf32>, tensor<2x4xf32>) outs(%i : tensor<3x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

// A layer body shared by two layers (eff-outline-layers), its weight an argument transposed in the body: the
// body takes the panels, and each call site passes its layer's packed constant.
// CHECK-LABEL: func.func @two_layers(
// CHECK-NOT:     linalg.transpose
// CHECK-COUNT-2: arith.constant dense_resource<weight.packed{{.*}}> : tensor<2x2x2xf32>
// CHECK-COUNT-2: call @layer_body(%{{.+}}, %{{.+}}) : (tensor<3x2xf32>, tensor<2x2x2xf32>) -> tensor<3x4xf32>
// CHECK-LABEL: func.func private @layer_body(
// CHECK-SAME:      %[[X:.+]]: tensor<3x2xf32>, %[[W:.+]]: tensor<2x2x2xf32>) -> tensor<3x4xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         linalg.generic {{.*}} ins(%[[X]], %[[W]] : tensor<3x2xf32>, tensor<2x2x2xf32>)
// CHECK:         tensor.collapse_shape
// The second layer's W = [[8, 7], [6, 5], [4, 3], [2, 1]]: panels [[[8, 6], [7, 5]], [[4, 2], [3, 1]]].
// CHECK-DAG:   "0x400000000000803F0000404000000040000080400000A0400000E0400000C04000000041"
// CHECK-DAG:   "0x40000000000000410000C0400000E0400000A0400000804000000040000040400000803F"
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @two_layers(%x: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %w0 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %w1 = arith.constant dense<[[8.0, 7.0], [6.0, 5.0], [4.0, 3.0], [2.0, 1.0]]> : tensor<4x2xf32>
  %h = call @layer_body(%x, %w0) : (tensor<3x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
  %h2 = tensor.extract_slice %h[0, 0] [3, 2] [1, 1] : tensor<3x4xf32> to tensor<3x2xf32>
  %y = call @layer_body(%h2, %w1) : (tensor<3x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}
func.func private @layer_body(%x: tensor<3x2xf32>, %w: tensor<4x2xf32>) -> tensor<3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %wt_init = tensor.empty() : tensor<2x4xf32>
  %wt = linalg.transpose ins(%w : tensor<4x2xf32>) outs(%wt_init : tensor<2x4xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<3x4xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
  %y = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wt : tensor<3x2xf32>, tensor<2x4xf32>) outs(%i : tensor<3x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

// A ragged N (5 = 2 x 2 + 1) of at least min-padded-panels panels, with a constant weight and a fill: the
// weight is padded with a zero column to 3 whole panels, [[[1, 3], [2, 4]], [[5, 7], [6, 8]], [[9, 0], [10, 0]]]
// (9 = 00001041, 10 = 00002041), the accumulator is a fill of [3, 3, 2], and the result is the first 5 columns
// of the collapsed [3, 6].
// CHECK-LABEL: func.func @padded_panels(
// CHECK-NOT:     tensor.pad
// CHECK-DAG:     %[[PANELS:.+]] = arith.constant dense_resource<[[BLOB:weight\.padded\.packed[^>]*]]> : tensor<3x2x2xf32>
// CHECK-DAG:     %[[FILL:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<3x3x2xf32>)
// CHECK:         %[[GEMM:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %[[PANELS]] : tensor<3x2xf32>, tensor<3x2x2xf32>) outs(%[[FILL]] : tensor<3x3x2xf32>)
// CHECK:         %[[ALL:.+]] = tensor.collapse_shape %[[GEMM]] {{\[}}[0], [1, 2]] : tensor<3x3x2xf32> into tensor<3x6xf32>
// CHECK:         %[[Y:.+]] = tensor.extract_slice %[[ALL]][0, 0] [3, 5] [1, 1] : tensor<3x6xf32> to tensor<3x5xf32>
// CHECK:         return %[[Y]]
// CHECK:       [[BLOB]]: "0x400000000000803F0000404000000040000080400000A0400000E0400000C0400000004100001041000000000000204100000000"
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @padded_panels(%x: tensor<3x2xf32>) -> tensor<3x5xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]> : tensor<5x2xf32>
  %wt_init = tensor.empty() : tensor<2x5xf32>
  %wt = linalg.transpose ins(%w : tensor<5x2xf32>) outs(%wt_init : tensor<2x5xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<3x5xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  %y = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wt : tensor<3x2xf32>, tensor<2x5xf32>) outs(%i : tensor<3x5xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}

// -----

// Not padded: a ragged N whose GEMM has an elementwise epilogue (a slice of the padded result would keep it out
// of the GEMM's thread blocks).
// CHECK-LABEL: func.func @ragged_with_epilogue(
// CHECK-NOT:     tensor.collapse_shape
// CHECK:         return
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @ragged_with_epilogue(%x: tensor<3x2xf32>) -> tensor<3x5xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[1.0, 3.0, 5.0, 7.0, 9.0], [2.0, 4.0, 6.0, 8.0, 10.0]]> : tensor<2x5xf32>
  %e = tensor.empty() : tensor<3x5xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<3x5xf32>) -> tensor<3x5xf32>
  %y = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<3x2xf32>, tensor<2x5xf32>) outs(%i : tensor<3x5xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<3x5xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<3x5xf32>) outs(%e : tensor<3x5xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.absf %in : f32
    linalg.yield %0 : f32
  } -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}
