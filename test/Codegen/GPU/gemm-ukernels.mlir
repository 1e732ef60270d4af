// RUN: effc-opt %s --split-input-file --effc-gpu-gemm-ukernels | FileCheck %s
// RUN: effc-opt %s --split-input-file --effc-gpu-gemm-ukernels="max-gemv-rows=0" | FileCheck %s --check-prefix=NOGEMV

#map_a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map_b = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#map_c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// A linear layer's [B, S, K] x [K, N]: B and S fold into the GEMM's M (identity layouts), K = 64, N = 32.
// The launch is skipped for an empty output; up to 8 rows (a decode step) take the GEMV, 32 columns per block;
// otherwise the tile is chosen on the number of 128 x 128 tiles.
// CHECK-LABEL: func.func @linear
// CHECK-SAME:    (%[[X:.+]]: memref<?x?x64xf32>, %[[W:.+]]: memref<64x32xf32>, %[[Y:.+]]: memref<?x?x32xf32>)
// CHECK-DAG:     %[[BASE_X:.+]], %[[OFF_X:.+]], %[[SIZES_X:.+]]:3, %[[STRIDES_X:.+]]:3 = memref.extract_strided_metadata %[[X]]
// CHECK-DAG:     %[[BASE_Y:.+]], %[[OFF_Y:.+]], %[[SIZES_Y:.+]]:3, %[[STRIDES_Y:.+]]:3 = memref.extract_strided_metadata %[[Y]]
// CHECK:         %[[M:.+]] = arith.muli %[[SIZES_Y]]#1, %[[SIZES_Y]]#0 : index
// CHECK:         scf.if
// CHECK:           %[[FEW:.+]] = arith.cmpi sle, %[[M]], %c8
// CHECK:           scf.if %[[FEW]] {
// CHECK:             %[[GX:.+]] = arith.ceildivui %{{.+}}, %c32
// CHECK:             gpu.launch blocks({{.*}}) in (%{{.+}} = %[[GX]],
// CHECK:               llvm.call @effc_cuda_uk_sgemv_f32(
// CHECK:           } else {
// CHECK:           %[[TILES:.+]] = arith.muli
// CHECK:           %[[LARGE:.+]] = arith.cmpi sge, %{{.+}}, %c128
// CHECK:           scf.if %[[LARGE]] {
// CHECK:             gpu.launch blocks(%{{.+}}, %{{.+}}, %[[BZ:.+]]) in (%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %c1{{.*}}) threads({{.*}}) in (%{{.+}} = %c256{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// CHECK:               memref.extract_aligned_pointer_as_index %[[X]]
// CHECK:               llvm.inttoptr
// CHECK:               memref.extract_aligned_pointer_as_index %[[W]]
// CHECK:               memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK:               llvm.call @effc_cuda_uk_sgemm_128x128(
// CHECK:               gpu.terminator
// CHECK:           } else {
// CHECK:             gpu.launch
// CHECK:               llvm.call @effc_cuda_uk_sgemm_64x64(
// CHECK-NOT:     linalg.generic
// CHECK:         return
// CHECK-DAG:   llvm.func @effc_cuda_uk_sgemm_128x128(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64)
// CHECK-DAG:   llvm.func @effc_cuda_uk_sgemm_64x64(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64)
// CHECK-DAG:   llvm.func @effc_cuda_uk_sgemv_f32(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64)
// With max-gemv-rows=0 the GEMV is never taken (no rows: no launch at all).
// NOGEMV-LABEL: func.func @linear
// NOGEMV:         arith.cmpi sle, %{{.+}}, %c0
func.func @linear(%x: memref<?x?x64xf32>, %w: memref<64x32xf32>, %y: memref<?x?x32xf32>) {
  linalg.generic {indexing_maps = [#map_a, #map_b, #map_c],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x64xf32>, memref<64x32xf32>) outs(%y : memref<?x?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#map_a = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#map_b = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#map_c = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>

// Attention's batched [B, H, S, D] x [B, H, D, S]: B and H are spread over block z; the body turns the block
// index into the (b, h) offsets of every operand.
// CHECK-LABEL: func.func @batched
// CHECK:         %{{.+}}, %{{.+}}, %[[SIZES:.+]]:4, %{{.+}}:4 = memref.extract_strided_metadata %arg2
// CHECK:         %[[B:.+]] = arith.muli %{{.+}}, %[[SIZES]]#0 : index
// CHECK:         %[[BH:.+]] = arith.muli %[[B]], %[[SIZES]]#1 : index
// CHECK:         gpu.launch blocks(%{{.+}}, %{{.+}}, %[[BZ:.+]]) in (%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %[[BH]])
// CHECK:           %[[H:.+]] = arith.remui %[[BZ]], %[[SIZES]]#1
// CHECK:           %[[REST:.+]] = arith.divui %[[BZ]], %[[SIZES]]#1
// CHECK:           arith.remui %[[REST]], %[[SIZES]]#0
// CHECK:           llvm.call @effc_cuda_uk_sgemm_128x128(
func.func @batched(%q: memref<?x4x?x16xf32>, %k: memref<?x4x16x?xf32>, %s: memref<?x4x?x?xf32>) {
  linalg.generic {indexing_maps = [#map_a, #map_b, #map_c],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<?x4x?x16xf32>, memref<?x4x16x?xf32>) outs(%s : memref<?x4x?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %b, %a : f32
    %sum = arith.addf %p, %acc : f32
    linalg.yield %sum : f32
  }
  return
}

// -----

#map_a = affine_map<(d0, d1, d2) -> (d0, d2)>
#map_b = affine_map<(d0, d1, d2) -> (d2, d1)>
#map_c = affine_map<(d0, d1, d2) -> (d0, d1)>

// Not for the micro-kernel: bf16 operands, a body that is not a multiply-accumulate, a B whose
// contiguous dimension is K, and an A with a strided innermost dimension. They stay linalg.generic.
// CHECK-LABEL: func.func @not_gemms
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT:     gpu.launch
func.func @not_gemms(%a16: memref<8x4xbf16>, %b16: memref<4x8xbf16>, %c16: memref<8x8xbf16>,
                     %a: memref<8x4xf32>, %b: memref<4x8xf32>, %c: memref<8x8xf32>,
                     %bt: memref<8x4xf32>, %as: memref<8x4xf32, strided<[8, 2]>>) {
  linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a16, %b16 : memref<8x4xbf16>, memref<4x8xbf16>) outs(%c16 : memref<8x8xbf16>) {
  ^bb0(%x: bf16, %y: bf16, %acc: bf16):
    %p = arith.mulf %x, %y : bf16
    %s = arith.addf %acc, %p : bf16
    linalg.yield %s : bf16
  }
  linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<8x4xf32>, memref<4x8xf32>) outs(%c : memref<8x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.maximumf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#map_a, affine_map<(d0, d1, d2) -> (d1, d2)>, #map_c],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %bt : memref<8x4xf32>, memref<8x4xf32>) outs(%c : memref<8x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#map_a, #map_b, #map_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%as, %b : memref<8x4xf32, strided<[8, 2]>>, memref<4x8xf32>) outs(%c : memref<8x8xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
