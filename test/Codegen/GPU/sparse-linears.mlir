// RUN: effc-opt %s --split-input-file --effc-gpu-sparse-linears | FileCheck %s
// RUN: effc-opt %s --split-input-file --effc-gpu-sparse-linears="precision=bf16 min-large-tiles=4" | FileCheck %s --check-prefix=BF16
// RUN: effc-opt %s --split-input-file --effc-gpu-sparse-linears="max-gemv-rows=0" | FileCheck %s --check-prefix=NOGEMV
// RUN: effc-opt %s --split-input-file --effc-gpu-sparse-linears="precision=f16 min-large-tiles=4" | FileCheck %s --check-prefix=F16

// An N:M sparse linear layer as the CPU lowering leaves it (a call of the host micro-kernel on memrefs) becomes one
// device launch on the same operands, whose grid and branch the host chooses: the warp-per-row GEMV for few
// tokens, else the f32 tile. The grid has at least one block (the kernels guard empty products).
// CHECK-LABEL: func.func @sparse24
// CHECK-SAME:    (%[[X:.+]]: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, %[[V:.+]]: memref<?x?xf32, strided<[?, ?], offset: ?>>, %[[I:.+]]: memref<?x?xi8, strided<[?, ?], offset: ?>>, %[[B:.+]]: memref<?xf32, strided<[?], offset: ?>>, %[[Y:.+]]: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-NOT:     call @effc_uk_sparse_nm_linear
// CHECK:         %[[XM:.+]], %[[XO:.+]], %[[XS:.+]]:3, %[[XT:.+]]:3 = memref.extract_strided_metadata %[[X]]
// CHECK:         %[[YM:.+]], %[[YO:.+]], %[[YS:.+]]:3, %[[YT:.+]]:3 = memref.extract_strided_metadata %[[Y]]
// CHECK:         %[[M:.+]] = arith.muli %[[XS]]#0, %[[XS]]#1 : index
// CHECK:         %[[FEW:.+]] = arith.cmpi sle, %[[M]], %c8
// CHECK:         %[[GEMVX:.+]] = arith.ceildivui %[[YS]]#2, %c8
// CHECK:         %[[GEMVY:.+]] = arith.ceildivui %[[M]], %c8
// CHECK:         %[[TILEX:.+]] = arith.ceildivui %[[YS]]#2, %c64
// CHECK:         %[[TILEY:.+]] = arith.ceildivui %[[M]], %c64
// CHECK:         %[[SX:.+]] = arith.select %[[FEW]], %[[GEMVX]], %[[TILEX]]
// CHECK:         %[[GX:.+]] = arith.maxui %[[SX]], %c1
// CHECK:         %[[SY:.+]] = arith.select %[[FEW]], %[[GEMVY]], %[[TILEY]]
// CHECK:         %[[GY:.+]] = arith.maxui %[[SY]], %c1
// CHECK:         gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %[[GX]], %{{.+}} = %[[GY]], %{{.+}} = %c1{{.*}}) threads({{.*}}) in (%{{.+}} = %c256{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// CHECK:           scf.if %[[FEW]] {
// CHECK:             memref.extract_strided_metadata %[[V]]
// CHECK:             memref.extract_strided_metadata %[[I]]
// CHECK:             memref.extract_strided_metadata %[[B]]
// CHECK:             memref.extract_aligned_pointer_as_index %[[X]]
// CHECK:             memref.extract_aligned_pointer_as_index %[[V]]
// CHECK:             memref.extract_aligned_pointer_as_index %[[I]]
// CHECK:             memref.extract_aligned_pointer_as_index %[[B]]
// CHECK:             memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK:             llvm.call @effc_cuda_uk_sparse_nm_gemv_f32(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c2_i64, %c4_i64, %{{.+}}, %{{.+}}, %{{.+}})
// CHECK:           } else {
// CHECK:             llvm.call @effc_cuda_uk_sparse_nm_gemm_f32(
// CHECK:           }
// CHECK-NEXT:      gpu.terminator
// CHECK:         return
// The host kernel's declaration is gone; the device kernels are declared as llvm.func.
// CHECK-NOT:   func.func private @effc_uk_sparse_nm_linear
// CHECK-DAG:   llvm.func @effc_cuda_uk_sparse_nm_gemv_f32(i64, i64, i64, !llvm.ptr, i64, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, i64, i64, !llvm.ptr, !llvm.ptr, i64)
// CHECK-DAG:   llvm.func @effc_cuda_uk_sparse_nm_gemm_f32(i64, i64, i64, !llvm.ptr, i64, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, i64, i64, !llvm.ptr, !llvm.ptr, i64)

// precision=bf16: a 2:4 layer takes the sparse tensor-core tiles, 128 x 128 when that gives enough blocks.
// BF16-LABEL: func.func @sparse24
// BF16:         %[[FEW:.+]] = arith.cmpi sle
// BF16:         %[[LX:.+]] = arith.ceildivui %{{.+}}, %c128
// BF16:         %[[LY:.+]] = arith.ceildivui %{{.+}}, %c128
// BF16:         %[[LARGE:.+]] = arith.muli %[[LX]], %[[LY]]
// BF16:         %[[USE:.+]] = arith.cmpi sge, %[[LARGE]], %c4
// BF16:         %[[SX:.+]] = arith.ceildivui %{{.+}}, %c64
// BF16:         arith.select %[[USE]], %[[LX]], %[[SX]]
// BF16:         gpu.launch
// BF16:           scf.if %[[FEW]] {
// BF16:             llvm.call @effc_cuda_uk_sparse_nm_gemv_f32(
// BF16:           } else {
// BF16:             scf.if %[[USE]] {
// BF16:               llvm.call @effc_cuda_uk_sparse24_bf16_gemm_128x128(
// BF16:             } else {
// BF16:               llvm.call @effc_cuda_uk_sparse24_bf16_gemm_64x64(
// BF16-NOT:     llvm.call @effc_cuda_uk_sparse_nm_gemm_f32(
// BF16-DAG:   llvm.func @effc_cuda_uk_sparse24_bf16_gemm_128x128(i64, i64, i64, !llvm.ptr, i64, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64)

// precision=f16: the same choice between the f16 tiles.
// F16-LABEL: func.func @sparse24
// F16:         gpu.launch
// F16:           llvm.call @effc_cuda_uk_sparse_nm_gemv_f32(
// F16:             llvm.call @effc_cuda_uk_sparse24_f16_gemm_128x128(
// F16:             llvm.call @effc_cuda_uk_sparse24_f16_gemm_64x64(
// F16-NOT:     @effc_cuda_uk_sparse24_bf16_
// F16-NOT:     llvm.call @effc_cuda_uk_sparse_nm_gemm_f32(
// F16-DAG:   llvm.func @effc_cuda_uk_sparse24_f16_gemm_128x128(i64, i64, i64, !llvm.ptr, i64, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64)

// With max-gemv-rows=0 the tile is taken whenever there is a token.
// NOGEMV-LABEL: func.func @sparse24
// NOGEMV:         arith.cmpi sle, %{{.+}}, %c0
module {
  func.func private @effc_uk_sparse_nm_linear(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
  func.func @sparse24(%x: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, %v: memref<?x?xf32, strided<[?, ?], offset: ?>>,
                      %i: memref<?x?xi8, strided<[?, ?], offset: ?>>, %b: memref<?xf32, strided<[?], offset: ?>>,
                      %y: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) {
    %c2 = arith.constant 2 : i64
    %c4 = arith.constant 4 : i64
    call @effc_uk_sparse_nm_linear(%x, %v, %i, %b, %c2, %c4, %y) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) -> ()
    return
  }
}

// -----

// Other patterns have no tensor-core form: even with precision=bf16 they take the exact f32 kernels.
// CHECK-LABEL: func.func @sparse38
// CHECK:         llvm.call @effc_cuda_uk_sparse_nm_gemm_f32(
// BF16-LABEL:  func.func @sparse38
// BF16:          llvm.call @effc_cuda_uk_sparse_nm_gemv_f32(
// BF16-SAME:       %c3_i64, %c8_i64
// BF16:          llvm.call @effc_cuda_uk_sparse_nm_gemm_f32(
// BF16-NOT:      sparse24_bf16_gemm
module {
  func.func private @effc_uk_sparse_nm_linear(memref<?x?x?xf32>, memref<?x?xf32>, memref<?x?xi8>, memref<?xf32>, i64, i64, memref<?x?x?xf32>)
  func.func @sparse38(%x: memref<?x?x?xf32>, %v: memref<?x?xf32>, %i: memref<?x?xi8>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %c3 = arith.constant 3 : i64
    %c8 = arith.constant 8 : i64
    call @effc_uk_sparse_nm_linear(%x, %v, %i, %b, %c3, %c8, %y) : (memref<?x?x?xf32>, memref<?x?xf32>, memref<?x?xi8>, memref<?xf32>, i64, i64, memref<?x?x?xf32>) -> ()
    return
  }
}

// -----

// int8 N:4 (int8 values, 2-bit indices, per-row scales): the activation rows are quantized into scratch by the
// dense int8 path's device quantizer (dynamic: static scale 0), then for 2:4 the int8 tensor-core tile (mma.sp
// s8); the scratch is allocated around an scf.if that holds only the two launches.
// CHECK-LABEL: func.func @sparse24_int8
// CHECK-SAME:    (%[[X:.+]]: memref<?x?x?xf32>, %[[V:.+]]: memref<?x?xi8>, %[[I:.+]]: memref<?x?xi8>, %[[S:.+]]: memref<?xf32>, %[[B:.+]]: memref<?xf32>, %[[Y:.+]]: memref<?x?x?xf32>)
// CHECK-NOT:     call @effc_uk_sparse_nm_linear_i8
// CHECK:         %[[Q:.+]] = memref.alloc(%{{.+}}, %{{.+}}) {alignment = 64 : i64} : memref<?x?xi8>
// CHECK:         %[[RS:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK:         %[[CORR:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?xi32>
// CHECK:         scf.if
// CHECK:           %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:           gpu.launch
// CHECK:             llvm.call @effc_cuda_uk_quantize_rows_s8(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[ZERO]],
// CHECK:           gpu.launch
// CHECK:             memref.extract_strided_metadata %[[V]]
// CHECK:             memref.extract_strided_metadata %[[I]]
// CHECK:             memref.extract_strided_metadata %[[S]]
// CHECK:             memref.extract_strided_metadata %[[B]]
// CHECK:             llvm.call @effc_cuda_uk_sparse24_i8_mma_gemm(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c2_i64,
// CHECK:         memref.dealloc %[[Q]] : memref<?x?xi8>
// CHECK:         memref.dealloc %[[RS]] : memref<?xf32>
// CHECK:         memref.dealloc %[[CORR]] : memref<?xi32>
// CHECK-NOT:   func.func private @effc_uk_sparse_nm_linear_i8
// CHECK-NOT:   @effc_cuda_uk_sparse_nm_i8_gemm
// CHECK-DAG:   llvm.func @effc_cuda_uk_sparse24_i8_mma_gemm(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64, !llvm.ptr, i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
module {
  func.func private @effc_uk_sparse_nm_linear_i8(memref<?x?x?xf32>, memref<?x?xi8>, memref<?x?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>)
  func.func @sparse24_int8(%x: memref<?x?x?xf32>, %v: memref<?x?xi8>, %i: memref<?x?xi8>, %s: memref<?xf32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %c2 = arith.constant 2 : i64
    %c4 = arith.constant 4 : i64
    call @effc_uk_sparse_nm_linear_i8(%x, %v, %i, %s, %b, %c2, %c4, %y) : (memref<?x?x?xf32>, memref<?x?xi8>, memref<?x?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>) -> ()
    return
  }
}

// -----

// 1:4 (mma.sp takes 2:4 only): the int8 N:4 tile.
// CHECK-LABEL: func.func @sparse14_int8
// CHECK:             llvm.call @effc_cuda_uk_quantize_rows_s8(
// CHECK:             llvm.call @effc_cuda_uk_sparse_nm_i8_gemm(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c1_i64,
// CHECK-NOT:   @effc_cuda_uk_sparse24_i8_mma_gemm
module {
  func.func private @effc_uk_sparse_nm_linear_i8(memref<?x?x?xf32>, memref<?x?xi8>, memref<?x?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>)
  func.func @sparse14_int8(%x: memref<?x?x?xf32>, %v: memref<?x?xi8>, %i: memref<?x?xi8>, %s: memref<?xf32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %c1 = arith.constant 1 : i64
    %c4 = arith.constant 4 : i64
    call @effc_uk_sparse_nm_linear_i8(%x, %v, %i, %s, %b, %c1, %c4, %y) : (memref<?x?x?xf32>, memref<?x?xi8>, memref<?x?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>) -> ()
    return
  }
}

// -----

// CSR (unstructured sparsity): one launch of the warp-per-row kernel, 8 outputs x 8 tokens per block.
// CHECK-LABEL: func.func @csr
// CHECK-SAME:    (%[[X:.+]]: memref<?x?x?xf32>, %[[V:.+]]: memref<?xf32>, %[[C:.+]]: memref<?xi32>, %[[P:.+]]: memref<?xi32>, %[[B:.+]]: memref<?xf32>, %[[Y:.+]]: memref<?x?x?xf32>)
// CHECK-NOT:     call @effc_uk_sparse_csr_linear
// CHECK:         %[[GX:.+]] = arith.maxui %{{.+}}, %c1
// CHECK:         %[[GY:.+]] = arith.maxui %{{.+}}, %c1
// CHECK:         gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %[[GX]], %{{.+}} = %[[GY]], %{{.+}} = %c1{{.*}})
// CHECK:           memref.extract_aligned_pointer_as_index %[[V]]
// CHECK:           memref.extract_aligned_pointer_as_index %[[C]]
// CHECK:           memref.extract_aligned_pointer_as_index %[[P]]
// CHECK:           llvm.call @effc_cuda_uk_sparse_csr_f32(
// CHECK-NOT:   func.func private @effc_uk_sparse_csr_linear
// CHECK-DAG:   llvm.func @effc_cuda_uk_sparse_csr_f32(i64, i64, !llvm.ptr, i64, i64, i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
module {
  func.func private @effc_uk_sparse_csr_linear(memref<?x?x?xf32>, memref<?xf32>, memref<?xi32>, memref<?xi32>, memref<?xf32>, memref<?x?x?xf32>)
  func.func @csr(%x: memref<?x?x?xf32>, %v: memref<?xf32>, %c: memref<?xi32>, %p: memref<?xi32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    call @effc_uk_sparse_csr_linear(%x, %v, %c, %p, %b, %y) : (memref<?x?x?xf32>, memref<?xf32>, memref<?xi32>, memref<?xi32>, memref<?xf32>, memref<?x?x?xf32>) -> ()
    return
  }
}
