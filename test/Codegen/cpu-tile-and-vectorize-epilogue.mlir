// RUN: effc-opt %s -split-input-file --effc-cpu-tile-and-vectorize=cache-tile-k=0 | FileCheck %s
// RUN: effc-opt %s -split-input-file '--effc-cpu-tile-and-vectorize=cache-tile-k=0 fuse-epilogues=false' | FileCheck %s --check-prefix=UNFUSED

// GEMM epilogues in effc-cpu-tile-and-vectorize (lib/Codegen/TileAndVectorize.cpp): the elementwise op that
// is a contraction's only user (here GELU, as eff.linear + eff.activation lower) is computed inside the
// contraction's thread blocks, row by row of each block, right after the block's register tiles. The block
// of the contraction then no longer leaves the task: the loop's only result is the epilogue's.

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>

// CHECK-LABEL: func.func @linear_gelu(
// CHECK:         %[[FORALL:.+]] = scf.forall (%[[I:.+]], %[[J:.+]]) = (0, 0) to (128, 256) step (64, 128) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<128x256xf32>) {
// CHECK:           %[[BLOCK:.+]] = scf.for
// CHECK:             vector.contract
// The epilogue: one row of the block per iteration, vectorised.
// CHECK:           %[[OUTBLOCK:.+]] = tensor.extract_slice %[[OUT]][%[[I]], %[[J]]] [64, 128] [1, 1]
// CHECK:           %[[EPI:.+]] = scf.for %[[ROW:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %[[OUTBLOCK]]) -> (tensor<64x128xf32>) {
// CHECK:             %[[V:.+]] = vector.transfer_read %[[BLOCK]][%[[ROW]], %{{.+}}]{{.*}} : tensor<64x128xf32>, vector<1x128xf32>
// CHECK:             math.erf %{{.+}} : vector<1x128xf32>
// CHECK:             vector.transfer_write %{{.+}}, %[[ACC]][%[[ROW]], %{{.+}}]{{.*}} : vector<1x128xf32>, tensor<64x128xf32>
// CHECK:           scf.forall.in_parallel {
// CHECK:             tensor.parallel_insert_slice %[[EPI]] into %[[OUT]][%[[I]], %[[J]]] [64, 128] [1, 1]
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[FORALL]] : tensor<128x256xf32>
// UNFUSED-LABEL: func.func @linear_gelu(
// UNFUSED:         %[[FORALL:.+]] = scf.forall
// UNFUSED:         linalg.generic {{.*}} ins(%[[FORALL]] : tensor<128x256xf32>)
// UNFUSED:           math.erf
func.func @linear_gelu(%a: tensor<128x64xf32>, %b: tensor<64x256xf32>) -> tensor<128x256xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x256xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<128x256xf32>) -> tensor<128x256xf32>
  %c = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x64xf32>, tensor<64x256xf32>) outs(%init : tensor<128x256xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<128x256xf32>
  %e2 = tensor.empty() : tensor<128x256xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<128x256xf32>) outs(%e2 : tensor<128x256xf32>) {
  ^bb0(%v: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %r2 = arith.constant 0.707106769 : f32
    %t = arith.mulf %v, %r2 : f32
    %erf = math.erf %t : f32
    %sum = arith.addf %erf, %one : f32
    %h = arith.mulf %v, %half : f32
    %gelu = arith.mulf %h, %sum : f32
    linalg.yield %gelu : f32
  } -> tensor<128x256xf32>
  return %g : tensor<128x256xf32>
}

// -----

#map_a = affine_map<(b, m, n, k) -> (b, m, k)>
#map_b = affine_map<(b, m, n, k) -> (k, n)>
#map_c = affine_map<(b, m, n, k) -> (b, m, n)>
#id = affine_map<(b, m, n) -> (b, m, n)>

// A residual add on [B, S, N] with dynamic B and S: fused too; the rows of a block are dynamic in number.
// CHECK-LABEL: func.func @linear_residual_dynamic(
// CHECK:         %[[FORALL:.+]] = scf.forall
// CHECK:           vector.contract
// CHECK:           scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:             %[[SUM:.+]] = arith.addf %{{.+}} : vector<1x1x128xf32>
// CHECK:             vector.transfer_write %[[SUM]]
// CHECK:           scf.forall.in_parallel {
// CHECK-NOT:     linalg.generic
// CHECK:         return %[[FORALL]]
func.func @linear_residual_dynamic(%a: tensor<?x?x64xf32>, %b: tensor<64x128xf32>, %r: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %a, %c0 : tensor<?x?x64xf32>
  %d1 = tensor.dim %a, %c1 : tensor<?x?x64xf32>
  %e = tensor.empty(%d0, %d1) : tensor<?x?x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %c = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<?x?x64xf32>, tensor<64x128xf32>) outs(%init : tensor<?x?x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x128xf32>
  %e2 = tensor.empty(%d0, %d1) : tensor<?x?x128xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c, %r : tensor<?x?x128xf32>, tensor<?x?x128xf32>) outs(%e2 : tensor<?x?x128xf32>) {
  ^bb0(%v: f32, %w: f32, %o: f32):
    %s = arith.addf %v, %w : f32
    linalg.yield %s : f32
  } -> tensor<?x?x128xf32>
  return %sum : tensor<?x?x128xf32>
}

// -----

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>

// Not fused: the contraction's result is also returned, so the epilogue stays a separate op after the loop.
// CHECK-LABEL: func.func @two_uses(
// CHECK:         %[[FORALL:.+]] = scf.forall
// CHECK:         linalg.generic {{.*}} ins(%[[FORALL]] : tensor<128x128xf32>)
func.func @two_uses(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>) -> (tensor<128x128xf32>, tensor<128x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %c = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>) outs(%init : tensor<128x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<128x128xf32>
  %e2 = tensor.empty() : tensor<128x128xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<128x128xf32>) outs(%e2 : tensor<128x128xf32>) {
  ^bb0(%v: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %v, %z : f32
    linalg.yield %m : f32
  } -> tensor<128x128xf32>
  return %c, %relu : tensor<128x128xf32>, tensor<128x128xf32>
}

// -----

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>
#tr = affine_map<(m, n) -> (n, m)>
#id = affine_map<(m, n) -> (m, n)>

// Not fused: the consumer reads the result transposed, so a block of it is not a block of the contraction.
// CHECK-LABEL: func.func @transposed_consumer(
// CHECK:         %[[FORALL:.+]] = scf.forall
// CHECK:         linalg.generic {{.*}} ins(%[[FORALL]] : tensor<128x128xf32>)
func.func @transposed_consumer(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>) -> tensor<128x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x128xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %c = linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>) outs(%init : tensor<128x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<128x128xf32>
  %e2 = tensor.empty() : tensor<128x128xf32>
  %t = linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<128x128xf32>) outs(%e2 : tensor<128x128xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<128x128xf32>
  return %t : tensor<128x128xf32>
}
