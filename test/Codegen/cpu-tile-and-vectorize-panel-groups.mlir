// RUN: effc-opt %s --effc-cpu-tile-and-vectorize=panel-thread-tile-m=64 | FileCheck %s
// RUN: effc-opt %s '--effc-cpu-tile-and-vectorize=panel-thread-tile-m=64 panels-per-block=1' | FileCheck %s --check-prefix=ONE
// RUN: effc-opt %s '--effc-cpu-tile-and-vectorize=panel-thread-tile-m=64 group-panels-min-k=0' | FileCheck %s --check-prefix=ONE
// RUN: effc-opt %s '--effc-cpu-tile-and-vectorize=panel-thread-tile-m=64 group-panels-min-k=2048' | FileCheck %s --check-prefix=ONE
// RUN: effc-opt %s '--effc-cpu-tile-and-vectorize=panel-thread-tile-m=64 panels-per-block=4' | FileCheck %s --check-prefix=PARTIAL
// RUN: effc-opt %s '--effc-cpu-tile-and-vectorize=panel-thread-tile-m=64 panels-per-block=8' | FileCheck %s --check-prefix=ALL

// Panel groups in effc-cpu-tile-and-vectorize (lib/Codegen/TileAndVectorize.cpp): a panel GEMM C[m, nb, ni] +=
// A[m, k] * Bp[nb, k, ni] with a deep K (>= group-panels-min-k, 1024) gives each thread block 64 rows of
// panels-per-block (2) panels. The block loops over K blocks of 128 outside its panels, so that the block's A
// slice [64 x 128] is read from memory once and reused from cache by every panel, where one panel per block
// reads A's [64 x K] rows again for each panel (panel-thread-tile-m is set to 64 here; its default is 128).
// Contractions with fewer rows than a block and shallow ones keep one panel per block, except GEMVs (below).

#a = affine_map<(m, nb, ni, k) -> (m, k)>
#b = affine_map<(m, nb, ni, k) -> (nb, k, ni)>
#c = affine_map<(m, nb, ni, k) -> (m, nb, ni)>

// CHECK-LABEL: func.func @deep_panel_gemm(
// CHECK-SAME:      %[[A:.+]]: tensor<128x1024xf32>, %[[BP:.+]]: tensor<6x1024x128xf32>
// CHECK:         scf.forall (%[[I:.+]], %[[NB:.+]]) = (0, 0) to (128, 6) step (64, 2) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<128x6x128xf32>) {
// The block's loops: K blocks of 128, its 2 panels, 8-row tiles, 32-column tiles, K.
// CHECK:           scf.for %[[KB:.+]] = %{{.+}} to %{{.+}} step %[[C128:.+]] iter_args
// CHECK:             scf.for %[[P:.+]] = %[[C0:.+]] to %[[C2:.+]] step %[[C1:.+]] iter_args
// CHECK:               scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C8:.+]] iter_args
// CHECK:                 scf.for %[[COL:.+]] = %{{.+}} to %{{.+}} step %[[C32:.+]] iter_args
// CHECK:                   scf.for
// CHECK:                     vector.transfer_read %[[A]][%{{.+}}, %{{.+}}]{{.*}} : tensor<128x1024xf32>, vector<8x1xf32>
// CHECK:                     %[[PANEL:.+]] = affine.apply #{{.+}}()[%[[NB]], %[[P]]]
// CHECK:                     vector.transfer_read %[[BP]][%[[PANEL]], %{{.+}}, %[[COL]]]{{.*}} : tensor<6x1024x128xf32>, vector<1x32xf32>
// CHECK:                     vector.contract {{.*}} vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:           scf.forall.in_parallel {
// CHECK:             tensor.parallel_insert_slice %{{.+}} into %[[OUT]][%[[I]], %[[NB]], 0] [64, 2, 128] [1, 1, 1]

// All 6 panels in one block (at most panels-per-block): the forall's column dimension folds away.
// ALL-LABEL: func.func @deep_panel_gemm(
// ALL:         scf.forall (%{{.+}}) = (0) to (128) step (64)
// ALL:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c128 iter_args
// ALL-NEXT:        scf.for %{{.+}} = %c0 to %c6 step %c1 iter_args

// One panel per block: K blocks inside the block's one panel.
// ONE-LABEL: func.func @deep_panel_gemm(
// ONE:         scf.forall (%{{.+}}, %{{.+}}) = (0, 0) to (128, 6) step (64, 1)
// ONE:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c128 iter_args
// ONE-NEXT:        scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c8 iter_args
// ONE:                 vector.contract {{.*}} vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>

// 4 panels per block of 6: the second block has 2, a loop bound of min(6 - nb, 4).
// PARTIAL-LABEL: func.func @deep_panel_gemm(
// PARTIAL:         scf.forall (%{{.+}}, %[[NB:.+]]) = (0, 0) to (128, 6) step (64, 4)
// PARTIAL:           %[[PANELS:.+]] = affine.min #{{.+}}(%[[NB]])
// PARTIAL:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// PARTIAL:             scf.for %{{.+}} = %{{.+}} to %[[PANELS]] step %{{.+}} iter_args
// PARTIAL:               vector.contract {{.*}} vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
func.func @deep_panel_gemm(%x: tensor<128x1024xf32>, %bp: tensor<6x1024x128xf32>) -> tensor<128x6x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x6x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<128x6x128xf32>) -> tensor<128x6x128xf32>
  %c = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %bp : tensor<128x1024xf32>, tensor<6x1024x128xf32>) outs(%init : tensor<128x6x128xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<128x6x128xf32>
  return %c : tensor<128x6x128xf32>
}

// A decode step (one row) is not grouped for its deep K: its block takes gemv-panels-per-block (4) panels one
// after the other instead, each with its K loop inside (cpu-tile-and-vectorize-decode.mlir).
// CHECK-LABEL: func.func @deep_panel_gemv(
// CHECK:         scf.forall (%{{.+}}) = (0) to (6) step (4)
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:             scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:           vector.contract {{.*}} vector<1x1xf32>, vector<1x128xf32> into vector<1x128xf32>
func.func @deep_panel_gemv(%x: tensor<1x1024xf32>, %bp: tensor<6x1024x128xf32>) -> tensor<1x6x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x6x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x6x128xf32>) -> tensor<1x6x128xf32>
  %c = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %bp : tensor<1x1024xf32>, tensor<6x1024x128xf32>) outs(%init : tensor<1x6x128xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x6x128xf32>
  return %c : tensor<1x6x128xf32>
}
