// RUN: effc-opt %s -split-input-file --effc-cpu-weight-panels=panel-width=128 | FileCheck %s
// RUN: effc-opt %s -split-input-file --effc-cpu-weight-panels | FileCheck %s --check-prefix=DEFAULT

// effc-cpu-weight-panels (lib/Codegen/WeightPanels.cpp): the constant weight of an f32 GEMM is read as
// column panels Bp[N/P][K][P], with the accumulator's initialisation and the epilogue expanded along N. The
// first RUN uses P = 128; by default P = 32, the register tile's width, so that each register tile streams
// contiguous 128-byte rows of its panel (DEFAULT).

#bias = affine_map<(d0, d1, d2) -> (d2)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// A linear layer (W [N, K] transposed by its lowering), its bias broadcast as the accumulator's initial value
// and an activation epilogue. The transpose becomes one of the expanded weight ([N/128, 128, K] -> [N/128, K,
// 128]); the bias broadcast, the contraction and the epilogue have loops over (nb, ni) instead of n; one
// collapse_shape gives the [.., N] result.
// CHECK-DAG:   #[[BIAS:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG:   #[[ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG:   #[[A:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
// CHECK-DAG:   #[[BP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d2, d4, d3)>
// CHECK-DAG:   #[[C:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK:       func.func @linear_bias_activation(
// CHECK-SAME:      %[[X:.+]]: tensor<?x?x64xf32>
// CHECK-DAG:     %[[W:.+]] = arith.constant dense<1.000000e+00> : tensor<2x128x64xf32>
// CHECK-DAG:     %[[B:.+]] = arith.constant dense<5.000000e-01> : tensor<2x128xf32>
// CHECK:         %[[INIT:.+]] = linalg.generic {indexing_maps = [#[[BIAS]], #[[ID4]]]
// CHECK-SAME:      ins(%[[B]] : tensor<2x128xf32>) outs(%{{.+}} : tensor<?x?x2x128xf32>)
// CHECK:         %[[PANELS:.+]] = linalg.transpose ins(%[[W]] : tensor<2x128x64xf32>) outs(%{{.+}} : tensor<2x64x128xf32>) permutation = [0, 2, 1]
// CHECK:         %[[GEMM:.+]] = linalg.generic {indexing_maps = [#[[A]], #[[BP]], #[[C]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:      ins(%[[X]], %[[PANELS]] : tensor<?x?x64xf32>, tensor<2x64x128xf32>) outs(%[[INIT]] : tensor<?x?x2x128xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         %[[EPILOGUE:.+]] = linalg.generic {indexing_maps = [#[[ID4]], #[[ID4]]]
// CHECK-SAME:      ins(%[[GEMM]] : tensor<?x?x2x128xf32>)
// CHECK:           math.tanh
// CHECK:         %[[Y:.+]] = tensor.collapse_shape %[[EPILOGUE]] {{\[}}[0], [1], [2, 3]] : tensor<?x?x2x128xf32> into tensor<?x?x256xf32>
// CHECK:         return %[[Y]]
// DEFAULT-LABEL: func.func @linear_bias_activation(
// DEFAULT:         %[[W:.+]] = arith.constant dense<1.000000e+00> : tensor<8x32x64xf32>
// DEFAULT:         linalg.transpose ins(%[[W]] : tensor<8x32x64xf32>) outs(%{{.+}} : tensor<8x64x32xf32>) permutation = [0, 2, 1]
// DEFAULT:         tensor.collapse_shape %{{.+}} {{\[}}[0], [1], [2, 3]] : tensor<?x?x8x32xf32> into tensor<?x?x256xf32>
func.func @linear_bias_activation(%x: tensor<?x?x64xf32>) -> tensor<?x?x256xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %w = arith.constant dense<1.0> : tensor<256x64xf32>
  %bias = arith.constant dense<0.5> : tensor<256xf32>
  %d0 = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %d1 = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %empty = tensor.empty(%d0, %d1) : tensor<?x?x256xf32>
  %init = linalg.generic {indexing_maps = [#bias, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%bias : tensor<256xf32>) outs(%empty : tensor<?x?x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<?x?x256xf32>
  %wt_init = tensor.empty() : tensor<64x256xf32>
  %wt = linalg.transpose ins(%w : tensor<256x64xf32>) outs(%wt_init : tensor<64x256xf32>) permutation = [1, 0]
  %c = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %wt : tensor<?x?x64xf32>, tensor<64x256xf32>) outs(%init : tensor<?x?x256xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<?x?x256xf32>
  %y = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : tensor<?x?x256xf32>) outs(%empty : tensor<?x?x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.tanh %in : f32
    linalg.yield %0 : f32
  } -> tensor<?x?x256xf32>
  return %y : tensor<?x?x256xf32>
}

// -----

// A [K, N] constant read as it is (no transpose), accumulating into a zero fill: the weight is expanded to
// [K, N/128, 128] and its first two dimensions swapped; the fill is one of the expanded accumulator. The
// result has two users (slices, like a packed QKV projection's): no epilogue is expanded, they read the
// collapsed result.
// CHECK-LABEL: func.func @rows_weight_fill_slices(
// CHECK-DAG:     %[[W:.+]] = arith.constant dense<2.000000e+00> : tensor<32x3x128xf32>
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[PANELS:.+]] = linalg.transpose ins(%[[W]] : tensor<32x3x128xf32>) outs(%{{.+}} : tensor<3x32x128xf32>) permutation = [1, 0, 2]
// CHECK-DAG:     %[[FILL:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<16x3x128xf32>)
// CHECK:         %[[GEMM:.+]] = linalg.generic
// CHECK-SAME:      ins(%{{.+}}, %[[PANELS]] : tensor<16x32xf32>, tensor<3x32x128xf32>) outs(%[[FILL]] : tensor<16x3x128xf32>)
// CHECK:         %[[Y:.+]] = tensor.collapse_shape %[[GEMM]] {{\[}}[0], [1, 2]] : tensor<16x3x128xf32> into tensor<16x384xf32>
// CHECK:         tensor.extract_slice %[[Y]][0, 0] [16, 128]
// CHECK:         tensor.extract_slice %[[Y]][0, 128] [16, 256]
#a2 = affine_map<(d0, d1, d2) -> (d0, d2)>
#b2 = affine_map<(d0, d1, d2) -> (d2, d1)>
#c2 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @rows_weight_fill_slices(%x: tensor<16x32xf32>) -> (tensor<16x128xf32>, tensor<16x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<2.0> : tensor<32x384xf32>
  %empty = tensor.empty() : tensor<16x384xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<16x384xf32>) -> tensor<16x384xf32>
  %c = linalg.generic {indexing_maps = [#a2, #b2, #c2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<16x32xf32>, tensor<32x384xf32>) outs(%init : tensor<16x384xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<16x384xf32>
  %q = tensor.extract_slice %c[0, 0] [16, 128] [1, 1] : tensor<16x384xf32> to tensor<16x128xf32>
  %kv = tensor.extract_slice %c[0, 128] [16, 256] [1, 1] : tensor<16x384xf32> to tensor<16x256xf32>
  return %q, %kv : tensor<16x128xf32>, tensor<16x256xf32>
}

// -----

// Left as they are: an N that is no multiple of the panel width (320), a single panel (N = 128: the [K, N]
// layout already), and a weight that is a run-time argument (nothing to pack at compile time).
// CHECK-LABEL: func.func @unchanged(
// CHECK-NOT:     tensor.expand_shape
// CHECK-NOT:     tensor.collapse_shape
// CHECK:         return
#a3 = affine_map<(d0, d1, d2) -> (d0, d2)>
#b3 = affine_map<(d0, d1, d2) -> (d2, d1)>
#c3 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @unchanged(%x: tensor<8x32xf32>, %runtime: tensor<32x256xf32>)
    -> (tensor<8x320xf32>, tensor<8x128xf32>, tensor<8x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %ragged = arith.constant dense<1.0> : tensor<32x320xf32>
  %single = arith.constant dense<1.0> : tensor<32x128xf32>
  %e0 = tensor.empty() : tensor<8x320xf32>
  %i0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x320xf32>) -> tensor<8x320xf32>
  %y0 = linalg.generic {indexing_maps = [#a3, #b3, #c3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %ragged : tensor<8x32xf32>, tensor<32x320xf32>) outs(%i0 : tensor<8x320xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x320xf32>
  %e1 = tensor.empty() : tensor<8x128xf32>
  %i1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x128xf32>) -> tensor<8x128xf32>
  %y1 = linalg.generic {indexing_maps = [#a3, #b3, #c3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %single : tensor<8x32xf32>, tensor<32x128xf32>) outs(%i1 : tensor<8x128xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x128xf32>
  %e2 = tensor.empty() : tensor<8x256xf32>
  %i2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<8x256xf32>) -> tensor<8x256xf32>
  %y2 = linalg.generic {indexing_maps = [#a3, #b3, #c3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %runtime : tensor<8x32xf32>, tensor<32x256xf32>) outs(%i2 : tensor<8x256xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x256xf32>
  return %y0, %y1, %y2 : tensor<8x320xf32>, tensor<8x128xf32>, tensor<8x256xf32>
}

// -----

// A weight argument of a shared layer body that the body also returns: its call sites could not pass one
// packed constant for both uses, so the GEMM keeps reading [K, N] rows.
// CHECK-LABEL: func.func private @body_weight_with_another_use(
// CHECK-NOT:     tensor.expand_shape
// CHECK:         return
#a4 = affine_map<(d0, d1, d2) -> (d0, d2)>
#b4 = affine_map<(d0, d1, d2) -> (d2, d1)>
#c4 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func private @body_weight_with_another_use(%x: tensor<8x32xf32>, %w: tensor<32x256xf32>)
    -> (tensor<8x256xf32>, tensor<32x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x256xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x256xf32>) -> tensor<8x256xf32>
  %y = linalg.generic {indexing_maps = [#a4, #b4, #c4], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<8x32xf32>, tensor<32x256xf32>) outs(%i : tensor<8x256xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x256xf32>
  return %y, %w : tensor<8x256xf32>, tensor<32x256xf32>
}
func.func @caller(%x: tensor<8x32xf32>) -> (tensor<8x256xf32>, tensor<32x256xf32>) {
  %w = arith.constant dense<1.0> : tensor<32x256xf32>
  %y:2 = call @body_weight_with_another_use(%x, %w) : (tensor<8x32xf32>, tensor<32x256xf32>) -> (tensor<8x256xf32>, tensor<32x256xf32>)
  return %y#0, %y#1 : tensor<8x256xf32>, tensor<32x256xf32>
}
