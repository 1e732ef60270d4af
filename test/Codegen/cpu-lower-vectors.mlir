// RUN: effc-opt %s -split-input-file --effc-cpu-lower-vectors | FileCheck %s

// effc-cpu-lower-vectors (lib/Codegen/LowerVectors.cpp): vector.contract becomes one broadcast + FMA per
// accumulator row, multi-dimensional vector ops become 1-D ones, and memref.copy between views that are not
// both identity-laid-out becomes a linalg.copy (no memref runtime library is linked).

#map_a = affine_map<(m, n, k) -> (m, k)>
#map_b = affine_map<(m, n, k) -> (k, n)>
#map_c = affine_map<(m, n, k) -> (m, n)>

// The register tile's contraction (K = 1): row r of the result is fma(broadcast(a[r, 0]), b[0], c[r]).
// CHECK-LABEL: func.func @contract$register_tile(
// CHECK-SAME:      %[[A:.+]]: vector<4x1xf32>, %[[B:.+]]: vector<1x16xf32>, %[[C:.+]]: vector<4x16xf32>)
// CHECK-NOT:     vector.contract
// CHECK:         %[[BROW:.+]] = vector.extract %[[B]][0] : vector<16xf32> from vector<1x16xf32>
// CHECK:         %[[A0:.+]] = vector.extract %[[A]][0, 0] : f32 from vector<4x1xf32>
// CHECK:         %[[A0B:.+]] = vector.broadcast %[[A0]] : f32 to vector<16xf32>
// CHECK:         %[[C0:.+]] = vector.extract %[[C]][0] : vector<16xf32> from vector<4x16xf32>
// CHECK:         %[[R0:.+]] = vector.fma %[[A0B]], %[[BROW]], %[[C0]] : vector<16xf32>
// CHECK:         vector.insert %[[R0]], %{{.+}} [0] : vector<16xf32> into vector<4x16xf32>
// CHECK-COUNT-3: vector.fma %{{.+}}, %[[BROW]], %{{.+}} : vector<16xf32>
// CHECK-NOT:     vector.fma
// CHECK-NOT:     vector.contract
// CHECK:         return
func.func @contract$register_tile(%a: vector<4x1xf32>, %b: vector<1x16xf32>, %c: vector<4x16xf32>) -> vector<4x16xf32> {
  %r = vector.contract {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"], kind = #vector.kind<add>} %a, %b, %c : vector<4x1xf32>, vector<1x16xf32> into vector<4x16xf32>
  return %r : vector<4x16xf32>
}

// -----

// A row reduction becomes 1-D adds.
// CHECK-LABEL: func.func @multi_reduction(
// CHECK-NOT:     vector.multi_reduction
// CHECK:         arith.addf %{{.+}}, %{{.+}} : vector<4xf32>
// CHECK-NOT:     vector.multi_reduction
// CHECK:         return
func.func @multi_reduction(%v: vector<4x16xf32>, %acc: vector<4xf32>) -> vector<4xf32> {
  %r = vector.multi_reduction <add>, %v, %acc [1] : vector<4x16xf32> to vector<4xf32>
  return %r : vector<4xf32>
}

// -----

// A 2-D shape_cast becomes extracts and strided inserts of rows.
// CHECK-LABEL: func.func @shape_cast(
// CHECK-NOT:     vector.shape_cast
// CHECK:         vector.extract %{{.+}}[0] : vector<8xf32> from vector<2x8xf32>
// CHECK:         vector.insert_strided_slice %{{.+}}, %{{.+}} {offsets = [0], strides = [1]} : vector<8xf32> into vector<16xf32>
// CHECK:         vector.extract %{{.+}}[1] : vector<8xf32> from vector<2x8xf32>
// CHECK:         vector.insert_strided_slice %{{.+}}, %{{.+}} {offsets = [8], strides = [1]} : vector<8xf32> into vector<16xf32>
func.func @shape_cast(%v: vector<2x8xf32>) -> vector<16xf32> {
  %r = vector.shape_cast %v : vector<2x8xf32> to vector<16xf32>
  return %r : vector<16xf32>
}

// -----

// CHECK-LABEL: func.func @copy$strided_source(
// CHECK-SAME:      %[[SRC:.+]]: memref<4x8xf32, strided<[16, 1], offset: ?>>, %[[DST:.+]]: memref<4x8xf32>)
// CHECK-NOT:     memref.copy
// CHECK:         linalg.copy ins(%[[SRC]] : memref<4x8xf32, strided<[16, 1], offset: ?>>) outs(%[[DST]] : memref<4x8xf32>)
func.func @copy$strided_source(%src: memref<4x8xf32, strided<[16, 1], offset: ?>>, %dst: memref<4x8xf32>) {
  memref.copy %src, %dst : memref<4x8xf32, strided<[16, 1], offset: ?>> to memref<4x8xf32>
  return
}

// -----

// CHECK-LABEL: func.func @copy$strided_target(
// CHECK-SAME:      %[[SRC:.+]]: memref<4x8xf32>, %[[DST:.+]]: memref<4x8xf32, strided<[32, 1]>>)
// CHECK-NOT:     memref.copy
// CHECK:         linalg.copy ins(%[[SRC]] : memref<4x8xf32>) outs(%[[DST]] : memref<4x8xf32, strided<[32, 1]>>)
func.func @copy$strided_target(%src: memref<4x8xf32>, %dst: memref<4x8xf32, strided<[32, 1]>>) {
  memref.copy %src, %dst : memref<4x8xf32> to memref<4x8xf32, strided<[32, 1]>>
  return
}

// -----

// Bufferizing scf.forall leaves copies of a view onto itself: they are dropped.
// CHECK-LABEL: func.func @copy$self(
// CHECK-NOT:     memref.copy
// CHECK-NOT:     linalg.copy
// CHECK:         return
func.func @copy$self(%m: memref<4x8xf32, strided<[16, 1], offset: ?>>) {
  memref.copy %m, %m : memref<4x8xf32, strided<[16, 1], offset: ?>> to memref<4x8xf32, strided<[16, 1], offset: ?>>
  return
}

// -----

// Two contiguous buffers keep memref.copy (lowered to a memcpy).
// CHECK-LABEL: func.func @copy$contiguous_kept(
// CHECK-SAME:      %[[SRC:.+]]: memref<4x8xf32>, %[[DST:.+]]: memref<4x8xf32>)
// CHECK:         memref.copy %[[SRC]], %[[DST]] : memref<4x8xf32> to memref<4x8xf32>
// CHECK-NOT:     linalg.copy
func.func @copy$contiguous_kept(%src: memref<4x8xf32>, %dst: memref<4x8xf32>) {
  memref.copy %src, %dst : memref<4x8xf32> to memref<4x8xf32>
  return
}
