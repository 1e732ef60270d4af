// RUN: effc-opt %s --effc-cpu-tile-and-vectorize=gemv-panels-per-block=1 | FileCheck %s
// RUN: effc-opt %s '--effc-cpu-tile-and-vectorize=gemv-panels-per-block=1 row-tile-n=32' | FileCheck %s --check-prefix=NARROW
// RUN: effc-opt %s --effc-cpu-tile-and-vectorize | FileCheck %s --check-prefix=GROUP
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=row-tile-n=0 2>&1 | FileCheck %s --check-prefix=INVALID

// Rows left over from the 8-row register tiles (a decode step's single row) take one-row tiles of
// row-tile-n = 128 columns where the block is that wide (lib/Codegen/TileAndVectorize.cpp, tileRegisters):
// each k reads a whole 512-byte row of the block's weight panel and feeds 8 independent FMA chains, where
// 1x32 tiles read a quarter row and keep 2 chains in flight.

#a = affine_map<(m, nb, ni, k) -> (m, k)>
#b = affine_map<(m, nb, ni, k) -> (nb, k, ni)>
#c = affine_map<(m, nb, ni, k) -> (m, nb, ni)>

// CHECK-LABEL: func.func @decode_panel_gemm(
// CHECK-SAME:      %[[A:.+]]: tensor<1x256xf32>, %[[BP:.+]]: tensor<6x256x128xf32>
// CHECK:         scf.forall (%[[NB:.+]]) in (6)
// CHECK:           vector.transfer_read %[[BP]][%[[NB]], %{{.+}}, %{{.+}}]{{.*}} : tensor<6x256x128xf32>, vector<1x128xf32>
// CHECK:           vector.contract {{.*}} vector<1x1xf32>, vector<1x128xf32> into vector<1x128xf32>
// CHECK-NOT:       vector<1x32xf32>
// NARROW-LABEL: func.func @decode_panel_gemm(
// NARROW:         vector.contract {{.*}} vector<1x1xf32>, vector<1x32xf32> into vector<1x32xf32>
// NARROW-NOT:     vector<1x128xf32>
func.func @decode_panel_gemm(%x: tensor<1x256xf32>, %bp: tensor<6x256x128xf32>) -> tensor<1x6x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x6x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x6x128xf32>) -> tensor<1x6x128xf32>
  %c = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %bp : tensor<1x256xf32>, tensor<6x256x128xf32>) outs(%init : tensor<1x6x128xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x6x128xf32>
  return %c : tensor<1x6x128xf32>
}

// A block narrower than row-tile-n (80 columns: 64 in 32-wide tiles, then 16) keeps the register tile's width.
// CHECK-LABEL: func.func @decode_narrow_block(
// CHECK:         vector.contract {{.*}} vector<1x1xf32>, vector<1x32xf32> into vector<1x32xf32>
// CHECK-NOT:     vector<1x128xf32>
// CHECK:         return
func.func @decode_narrow_block(%x: tensor<1x64xf32>, %w: tensor<64x80xf32>) -> tensor<1x80xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x80xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x80xf32>) -> tensor<1x80xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                                        affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<1x64xf32>, tensor<64x80xf32>) outs(%init : tensor<1x80xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x80xf32>
  return %c : tensor<1x80xf32>
}

// By default a GEMV's block takes gemv-panels-per-block (4) panels, one after the other, each with its own K
// loop: 32-column panels (effc-cpu-weight-panels' default) would otherwise give a task per 32 columns
// (1571 for GPT-2's LM head).
// GROUP-LABEL: func.func @decode_panel_gemm(
// GROUP:         scf.forall (%[[NB:.+]]) = (0) to (6) step (4)
// GROUP:           scf.for %[[P:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// GROUP:             scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// GROUP:               vector.contract {{.*}} vector<1x1xf32>, vector<1x128xf32> into vector<1x128xf32>
// GROUP:           scf.forall.in_parallel {
// GROUP:             tensor.parallel_insert_slice %{{.+}} into %{{.+}}[0, %[[NB]], 0] [1, %{{.+}}, 128] [1, 1, 1]
// GROUP-LABEL: func.func @decode_narrow_block(

// INVALID: error: effc-cpu-tile-and-vectorize: row-tile-n must be > 0, got 0
