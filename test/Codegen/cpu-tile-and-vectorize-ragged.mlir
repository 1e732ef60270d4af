// RUN: effc-opt %s -split-input-file --effc-cpu-tile-and-vectorize=cache-tile-k=0 | FileCheck %s
// RUN: effc-opt %s -split-input-file '--effc-cpu-tile-and-vectorize=cache-tile-k=0 wide-column-blocks=0' | FileCheck %s --check-prefix=NARROW

// effc-cpu-tile-and-vectorize (lib/Codegen/TileAndVectorize.cpp) on an N that is not a multiple of the
// register tile. A thread block of a ragged N (GPT-2's tied LM head: 50257 = 392 x 128 + 81) is split
// at run time into parts of 32-, 16-, 8- and 1-column register tiles, each peeled to static tiles, so no
// column is computed by scalar loops; the rows left over from the 8-row tiles are done one row at a time
// with the same column tiles. An N narrower than a thread block is split statically.

#map_a = affine_map<(b, m, n, k) -> (b, m, k)>
#map_b = affine_map<(b, m, n, k) -> (k, n)>
#map_c = affine_map<(b, m, n, k) -> (b, m, n)>

// With 393 column blocks (at least wide-column-blocks = 64), the blocks take 256 rows rather than 64, so
// that the weight is streamed from memory once per 256 rows; wide-column-blocks=0 turns that off.
// CHECK-LABEL: func.func @lm_head(
// CHECK:         scf.forall ({{.+}}) = (0, 0, 0) to ({{.+}}, {{.+}}, 50257) step (1, 256, 128)
// NARROW-LABEL: func.func @lm_head(
// NARROW:         scf.forall ({{.+}}) = (0, 0, 0) to ({{.+}}, {{.+}}, 50257) step (1, 64, 128)
// The part of the block that is a multiple of 32 columns: full rows, then single rows.
// CHECK:           %[[W32:.+]] = affine.min
// CHECK:           scf.for {{.+}} step %c8
// CHECK:             scf.for {{.+}} step %c32
// CHECK:               scf.for {{.+}} -> (tensor<1x8x?xf32>, vector<1x8x32xf32>)
// CHECK:                 vector.contract {{.+}} into vector<1x8x32xf32>
// CHECK:           scf.for {{.+}} step %c8
// CHECK:             scf.for {{.+}} step %c1
// CHECK:               scf.for {{.+}} step %c32
// CHECK:                 scf.for {{.+}} -> (tensor<1x?x?xf32>, vector<1x1x32xf32>)
// CHECK:                   vector.contract {{.+}} into vector<1x1x32xf32>
// The next parts: 16 and 8 columns.
// CHECK:           vector.contract {{.+}} into vector<1x8x16xf32>
// CHECK:           vector.contract {{.+}} into vector<1x1x16xf32>
// CHECK:           vector.contract {{.+}} into vector<1x8x8xf32>
// CHECK:           vector.contract {{.+}} into vector<1x1x8xf32>
// The last (fewer than 8) columns, one at a time.
// CHECK:           vector.contract {{.+}} into vector<1x8x1xf32>
// CHECK:           vector.contract {{.+}} into vector<1x1x1xf32>
// CHECK:           scf.forall.in_parallel
// No scalar linalg.generic is left (the peeled column loops of the exact parts are dropped).
// CHECK-NOT:     linalg.generic
func.func @lm_head(%a: tensor<?x?x64xf32>, %w: tensor<64x50257xf32>, %c: tensor<?x?x50257xf32>) -> tensor<?x?x50257xf32> {
  %r = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<?x?x64xf32>, tensor<64x50257xf32>) outs(%c : tensor<?x?x50257xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x50257xf32>
  return %r : tensor<?x?x50257xf32>
}

// -----

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>

// N = 100 fits in one thread block (its loop of one iteration folds away): 96 columns of 32-wide tiles
// and one static 4-wide tile.
// CHECK-LABEL: func.func @narrow(
// CHECK:           tensor.extract_slice %{{.+}}[0, 0] [{{.+}}, 96] [1, 1]
// CHECK:           vector.contract {{.+}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK:           tensor.extract_slice %{{.+}}[0, 96] [{{.+}}, 4] [1, 1]
// CHECK:           vector.contract {{.+}} : vector<8x1xf32>, vector<1x4xf32> into vector<8x4xf32>
// CHECK-NOT:     linalg.generic
func.func @narrow(%a: tensor<64x48xf32>, %b: tensor<48x100xf32>, %c: tensor<64x100xf32>) -> tensor<64x100xf32> {
  %r = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<64x48xf32>, tensor<48x100xf32>) outs(%c : tensor<64x100xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<64x100xf32>
  return %r : tensor<64x100xf32>
}

// -----

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>

// The rows of an epilogue fused into a block of a ragged N (312 = 2 x 128 + 56) have a dynamic width of
// at most 128: they are vectorised as 1 x 128 tiles with masks.
// CHECK-LABEL: func.func @ragged_epilogue(
// CHECK:         scf.forall
// CHECK:           %[[MASK:.+]] = vector.create_mask %{{.+}}, %{{.+}} : vector<1x128xi1>
// CHECK:           vector.mask %[[MASK]] { vector.transfer_read {{.+}} vector<1x128xf32> }
// CHECK:           math.tanh {{.+}} : vector<1x128xf32>
// CHECK:           vector.mask %[[MASK]] { vector.transfer_write {{.+}} : vector<1x128xf32>, tensor<1x?xf32> }
// CHECK:           scf.forall.in_parallel
func.func @ragged_epilogue(%a: tensor<64x48xf32>, %b: tensor<48x312xf32>, %c: tensor<64x312xf32>) -> tensor<64x312xf32> {
  %r = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<64x48xf32>, tensor<48x312xf32>) outs(%c : tensor<64x312xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<64x312xf32>
  %e = tensor.empty() : tensor<64x312xf32>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r : tensor<64x312xf32>) outs(%e : tensor<64x312xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = math.tanh %x : f32
    linalg.yield %y : f32
  } -> tensor<64x312xf32>
  return %t : tensor<64x312xf32>
}
