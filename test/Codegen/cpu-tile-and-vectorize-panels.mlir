// RUN: effc-opt %s --effc-cpu-tile-and-vectorize=panel-thread-tile-m=64 | FileCheck %s
// RUN: effc-opt %s --effc-cpu-tile-and-vectorize | FileCheck %s --check-prefix=ROWS

// Panel GEMMs in effc-cpu-tile-and-vectorize (lib/Codegen/TileAndVectorize.cpp): C[m, nb, ni] += A[m, k] *
// Bp[nb, k, ni], the form effc-cpu-weight-panels gives a GEMM with a constant weight. A thread block takes
// panel-thread-tile-m rows (64 in the first RUN) of one panel (nb), so its whole weight is the contiguous [K, 128] panel Bp[nb]; the block is reduced
// to an ordinary (m, n, k) contraction over that panel (rank-reducing slices), then blocked along K by 128 and
// tiled into 8x32 register tiles, with its epilogue fused after the K loop.

#a = affine_map<(m, nb, ni, k) -> (m, k)>
#b = affine_map<(m, nb, ni, k) -> (nb, k, ni)>
#c = affine_map<(m, nb, ni, k) -> (m, nb, ni)>
#id = affine_map<(m, nb, ni) -> (m, nb, ni)>

// CHECK-LABEL: func.func @panel_gemm_epilogue(
// CHECK-SAME:      %[[A:.+]]: tensor<128x256xf32>, %[[BP:.+]]: tensor<3x256x128xf32>
// CHECK:         %[[FORALL:.+]] = scf.forall (%[[I:.+]], %[[NB:.+]]) = (0, 0) to (128, 3) step (64, 1) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<128x3x128xf32>) {
// The block's loops: K blocks of 128, 8-row tiles, 32-column tiles, K. B's rows are read from the block's
// panel Bp[nb], 512 bytes apart (a [K, N] weight's are 4 N bytes apart).
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C128:.+]] iter_args
// CHECK:             scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C8:.+]] iter_args
// CHECK:               scf.for %[[COL:.+]] = %{{.+}} to %{{.+}} step %[[C32:.+]] iter_args
// CHECK:                 scf.for
// CHECK:                   vector.transfer_read %[[A]][%{{.+}}, %{{.+}}]{{.*}} : tensor<128x256xf32>, vector<8x1xf32>
// CHECK:                   vector.transfer_read %[[BP]][%[[NB]], %{{.+}}, %[[COL]]]{{.*}} : tensor<3x256x128xf32>, vector<1x32xf32>
// CHECK:                   vector.contract {{.*}} vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// The epilogue, row by row of the block.
// CHECK:           scf.for
// CHECK:             math.absf %{{.+}} : vector<1x1x128xf32>
// CHECK:           scf.forall.in_parallel {
// CHECK:             tensor.parallel_insert_slice %{{.+}} into %[[OUT]][%[[I]], %[[NB]], 0] [64, 1, 128] [1, 1, 1]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[FORALL]] : tensor<128x3x128xf32>
// By default (panel-thread-tile-m = 128) a block takes all 128 rows, so each panel is read by one block only:
// the forall's row dimension folds away and its tasks are the panels.
// ROWS-LABEL: func.func @panel_gemm_epilogue(
// ROWS:         scf.forall (%[[NB:.+]]) in (3) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<128x3x128xf32>) {
// ROWS:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%{{.+}} = %{{.+}}) -> (tensor<128x128xf32>)
// ROWS:             vector.contract {{.*}} vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// ROWS:           scf.forall.in_parallel {
// ROWS:             tensor.parallel_insert_slice %{{.+}} into %[[OUT]][0, %[[NB]], 0] [128, 1, 128] [1, 1, 1]
func.func @panel_gemm_epilogue(%x: tensor<128x256xf32>, %bp: tensor<3x256x128xf32>) -> tensor<128x3x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x3x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<128x3x128xf32>) -> tensor<128x3x128xf32>
  %c = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %bp : tensor<128x256xf32>, tensor<3x256x128xf32>) outs(%init : tensor<128x3x128xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<128x3x128xf32>
  %e2 = tensor.empty() : tensor<128x3x128xf32>
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : tensor<128x3x128xf32>) outs(%e2 : tensor<128x3x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.absf %in : f32
    linalg.yield %0 : f32
  } -> tensor<128x3x128xf32>
  return %y : tensor<128x3x128xf32>
}
