// RUN: effc-opt %s -split-input-file --effc-cpu-tile-and-vectorize=cache-tile-k=0 | FileCheck %s
// RUN: effc-opt %s -split-input-file '--effc-cpu-tile-and-vectorize=register-tile-m=4 register-tile-n=16 thread-tile-m=32 cache-tile-k=0' | FileCheck %s --check-prefix=OPTS
// RUN: effc-opt %s -split-input-file --effc-cpu-tile-and-vectorize | FileCheck %s --check-prefix=KBLOCK

// effc-cpu-tile-and-vectorize (lib/Codegen/TileAndVectorize.cpp): a streaming f32 contraction
// C[m, n] += A[m, k] * B[k, n] is tiled into thread blocks (scf.forall, default 64 x 128, its accumulator
// initialisation fused in), then into K blocks (default 128 deep; the first RUN turns them off to show the
// rest plainly), then into register tiles (default 8 x 32 x 1) that are vectorised, with the accumulator
// hoisted out of the K loop as a vector iter_arg.

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>

// CHECK-LABEL: func.func @matmul$static(
// CHECK-SAME:      %[[A:.+]]: tensor<128x256xf32>, %[[B:.+]]: tensor<256x64xf32>)
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : vector<64x64xf32>
// CHECK-DAG:     %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG:     %[[C32:.+]] = arith.constant 32 : index
// CHECK-DAG:     %[[C256:.+]] = arith.constant 256 : index
// CHECK:         %[[EMPTY:.+]] = tensor.empty() : tensor<128x64xf32>
// Thread blocks of 64 rows (N = 64 fits in one 128-column block).
// CHECK:         %[[FORALL:.+]] = scf.forall (%[[IV:.+]]) = (0) to (128) step (64) shared_outs(%[[OUT:.+]] = %[[EMPTY]]) -> (tensor<128x64xf32>) {
// CHECK:           %[[BLOCK:.+]] = tensor.extract_slice %[[OUT]][%[[IV]], 0] [64, 64] [1, 1]
// The fused linalg.fill, vectorised.
// CHECK:           %[[FILLED:.+]] = vector.transfer_write %[[ZERO]], %[[BLOCK]]{{.*}} : vector<64x64xf32>, tensor<64x64xf32>
// Register tile loops over rows (step 8), each row tile a slice of 8 rows, and columns (step 32).
// CHECK:           %[[ROWS:.+]] = scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %[[C8]] iter_args(%[[RACC:.+]] = %[[FILLED]]) -> (tensor<64x64xf32>) {
// CHECK:             %[[ROW:.+]] = tensor.extract_slice %[[RACC]][%[[I]], 0] [8, 64] [1, 1]
// CHECK:             %[[COLS:.+]] = scf.for %[[J:.+]] = %{{.+}} to %{{.+}} step %[[C32]] iter_args(%[[CACC:.+]] = %[[ROW]]) -> (tensor<8x64xf32>) {
// The accumulator is read once before the K loop ...
// CHECK:               %[[INIT:.+]] = vector.transfer_read %[[CACC]][%{{.+}}, %[[J]]]{{.*}} : tensor<8x64xf32>, vector<8x32xf32>
// ... carried through it as a vector iter_arg ...
// CHECK:               %[[K:.+]]:2 = scf.for %[[KV:.+]] = %{{.+}} to %[[C256]] step %{{.+}} iter_args(%{{.+}} = %[[CACC]], %[[VACC:.+]] = %[[INIT]]) -> (tensor<8x64xf32>, vector<8x32xf32>) {
// CHECK:                 %[[LHS:.+]] = vector.transfer_read %[[A]][%{{.+}}, %[[KV]]]{{.*}} : tensor<128x256xf32>, vector<8x1xf32>
// CHECK:                 %[[RHS:.+]] = vector.transfer_read %[[B]][%[[KV]], %[[J]]]{{.*}} : tensor<256x64xf32>, vector<1x32xf32>
// CHECK:                 %[[NEXT:.+]] = vector.contract {{.+}} %[[LHS]], %[[RHS]], %[[VACC]] : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:                 scf.yield %{{.+}}, %[[NEXT]] : tensor<8x64xf32>, vector<8x32xf32>
// CHECK:               }
// ... and written back once after it.
// CHECK:               %[[WRITTEN:.+]] = vector.transfer_write %[[K]]#1, %[[K]]#0[%{{.+}}, %[[J]]]{{.*}} : vector<8x32xf32>, tensor<8x64xf32>
// CHECK:               scf.yield %[[WRITTEN]]
// CHECK:             tensor.insert_slice %[[COLS]] into %[[RACC]][%[[I]], 0] [8, 64] [1, 1]
// CHECK:           scf.forall.in_parallel {
// CHECK:             tensor.parallel_insert_slice %[[ROWS]] into %[[OUT]][%[[IV]], 0] [64, 64] [1, 1]
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     linalg.fill
// CHECK:         return %[[FORALL]] : tensor<128x64xf32>

// KBLOCK-LABEL: func.func @matmul$static(
// KBLOCK:         scf.forall
// KBLOCK:           %[[FILLED:.+]] = vector.transfer_write
// K blocks of 128 around the register tile loops; the inner K loop covers one block.
// KBLOCK:           scf.for %[[KB:.+]] = %c0 to %c256 step %c128 iter_args(%{{.+}} = %[[FILLED]]) -> (tensor<64x64xf32>) {
// KBLOCK:             scf.for %{{.+}} step %c8
// KBLOCK:               scf.for %{{.+}} step %c32
// KBLOCK:                 scf.for %{{.+}} = %c0 to %c128 step %c1 {{.+}} -> (tensor<8x64xf32>, vector<8x32xf32>)
// KBLOCK:                   vector.contract

// OPTS-LABEL: func.func @matmul$static(
// OPTS:         scf.forall (%{{.+}}) = (0) to (128) step (32)
// OPTS:           vector.transfer_write %{{.+}} : vector<32x64xf32>, tensor<32x64xf32>
// OPTS:           scf.for %{{.+}} step %c4
// OPTS:             scf.for %{{.+}} step %c16
// OPTS:               vector.transfer_read {{.+}} vector<4x16xf32>
// OPTS:               scf.for {{.+}} -> (tensor<4x64xf32>, vector<4x16xf32>)
// OPTS:                 vector.transfer_read {{.+}} vector<4x1xf32>
// OPTS:                 vector.transfer_read {{.+}} vector<1x16xf32>
// OPTS:                 vector.contract {{.+}} : vector<4x1xf32>, vector<1x16xf32> into vector<4x16xf32>
func.func @matmul$static(%a: tensor<128x256xf32>, %b: tensor<256x64xf32>) -> tensor<128x64xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<128x64xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<128x64xf32>) -> tensor<128x64xf32>
  %r = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x256xf32>, tensor<256x64xf32>) outs(%init : tensor<128x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<128x64xf32>
  return %r : tensor<128x64xf32>
}

// -----

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>

// A dynamic M: the row loop of each thread block is peeled. Full 8-row tiles are vectorised; the
// remainder (fewer than 8 rows: all of a decode step's) is split into single rows, whose column loop is
// peeled too, so they vectorise as 1 x 32 tiles with the accumulator in a register.
// CHECK-LABEL: func.func @matmul$dynamic_m(
// CHECK-SAME:      %[[A:.+]]: tensor<?x256xf32>, %[[B:.+]]: tensor<256x64xf32>, %[[C:.+]]: tensor<?x64xf32>)
// CHECK:         %[[M:.+]] = tensor.dim %[[A]], %{{.+}} : tensor<?x256xf32>
// CHECK:         scf.forall (%{{.+}}) = (0) to (%[[M]]) step (64) shared_outs(%{{.+}} = %[[C]]) -> (tensor<?x64xf32>) {
// CHECK:           %[[ROWS:.+]] = affine.min
// CHECK:           %[[FULL:.+]] = affine.apply #{{.+}}()[%[[ROWS]]]
// The full tiles: 0 to FULL, vectorised.
// CHECK:           %[[MAIN:.+]] = scf.for %{{.+}} = %{{.+}} to %[[FULL]] step %{{.+}} iter_args
// CHECK:             scf.for {{.+}} -> (tensor<8x64xf32>, vector<8x32xf32>)
// CHECK:               vector.contract {{.+}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// The remainder: FULL to ROWS, one row at a time, 32 columns at a time.
// CHECK:           scf.for %{{.+}} = %[[FULL]] to %[[ROWS]] step %{{.+}} iter_args(%{{.+}} = %[[MAIN]])
// CHECK:             scf.for %{{.+}} = %c0 to %{{.+}} step %c1
// CHECK:               scf.for %{{.+}} = %c0 to %c64 step %c32
// CHECK:                 scf.for {{.+}} -> (tensor<?x64xf32>, vector<1x32xf32>)
// CHECK:                   vector.contract {{.+}} : vector<1x1xf32>, vector<1x32xf32> into vector<1x32xf32>
// CHECK-NOT:       linalg.generic
// CHECK:           scf.forall.in_parallel
func.func @matmul$dynamic_m(%a: tensor<?x256xf32>, %b: tensor<256x64xf32>, %c: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<?x256xf32>, tensor<256x64xf32>) outs(%c : tensor<?x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

#map_a = affine_map<(b, m, n, k) -> (b, m, k)>
#map_b = affine_map<(b, m, n, k) -> (k, n)>
#map_c = affine_map<(b, m, n, k) -> (b, m, n)>

// A batch of rows against one shared [K, N] weight (a linear layer): the batch is tiled by 1 (the single
// 64-row block folds away).
// CHECK-LABEL: func.func @matmul$batch_shared_b(
// CHECK:         scf.forall (%{{.+}}) in (2) shared_outs(%{{.+}}) -> (tensor<2x64x64xf32>)
// CHECK:           scf.for {{.+}} -> (tensor<1x8x64xf32>, vector<1x8x32xf32>)
// CHECK:           vector.contract {{.+}} : vector<1x8x1xf32>, vector<1x32xf32> into vector<1x8x32xf32>
// CHECK-NOT:     linalg.generic
func.func @matmul$batch_shared_b(%a: tensor<2x64x32xf32>, %b: tensor<32x64xf32>, %c: tensor<2x64x64xf32>) -> tensor<2x64x64xf32> {
  %r = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<2x64x32xf32>, tensor<32x64xf32>) outs(%c : tensor<2x64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x64x64xf32>
  return %r : tensor<2x64x64xf32>
}

// -----

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_bt = affine_map<(m, n, k) -> (n, k)>
#map_c = affine_map<(m, n, k) -> (m, n)>

// B read as [N, K] does not stream rows of B: the contraction is left alone.
// CHECK-LABEL: func.func @matmul$transposed_b(
// CHECK-NOT:     scf.forall
// CHECK-NOT:     vector.contract
// CHECK:         %[[R:.+]] = linalg.generic
// CHECK-SAME:        ins(%{{.+}}, %{{.+}} : tensor<128x256xf32>, tensor<64x256xf32>)
// CHECK:         return %[[R]]
func.func @matmul$transposed_b(%a: tensor<128x256xf32>, %b: tensor<64x256xf32>, %c: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %r = linalg.generic {indexing_maps = [#map_a, #map_bt, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x256xf32>, tensor<64x256xf32>) outs(%c : tensor<128x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<128x64xf32>
  return %r : tensor<128x64xf32>
}

// -----

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>

// Only f32 contractions are tiled.
// CHECK-LABEL: func.func @matmul$f16_untouched(
// CHECK-NOT:     scf.forall
// CHECK:         linalg.generic
func.func @matmul$f16_untouched(%a: tensor<128x256xf16>, %b: tensor<256x64xf16>, %c: tensor<128x64xf16>) -> tensor<128x64xf16> {
  %r = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x256xf16>, tensor<256x64xf16>) outs(%c : tensor<128x64xf16>) {
  ^bb0(%x: f16, %y: f16, %acc: f16):
    %p = arith.mulf %x, %y : f16
    %s = arith.addf %acc, %p : f16
    linalg.yield %s : f16
  } -> tensor<128x64xf16>
  return %r : tensor<128x64xf16>
}

// -----

// Functions with no contraction are left exactly as they are.
// CHECK-LABEL: func.func @elementwise_untouched(
// CHECK-NOT:     scf.forall
// CHECK:         linalg.generic
// CHECK:           arith.addf
func.func @elementwise_untouched(%a: tensor<128x64xf32>, %c: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<128x64xf32>) outs(%c : tensor<128x64xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  } -> tensor<128x64xf32>
  return %r : tensor<128x64xf32>
}

// -----

// A decode step: M is dynamic (one token at run time) and N fills whole thread blocks. The rows left
// over by the 8-row register tiles are split into single rows whose 1 x 128 tiles (row-tile-n: the block's
// whole width) are vectorised.
// KBLOCK-LABEL: func.func @matmul$decode_rows(
// KBLOCK:         vector.contract {{.+}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// KBLOCK:         vector.contract {{.+}} : vector<1x1xf32>, vector<1x128xf32> into vector<1x128xf32>
#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>
func.func @matmul$decode_rows(%a: tensor<?x64xf32>, %b: tensor<64x128xf32>) -> tensor<?x128xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = tensor.dim %a, %c0 : tensor<?x64xf32>
  %empty = tensor.empty(%m) : tensor<?x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x128xf32>) -> tensor<?x128xf32>
  %r = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<?x64xf32>, tensor<64x128xf32>) outs(%init : tensor<?x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x128xf32>
  return %r : tensor<?x128xf32>
}
