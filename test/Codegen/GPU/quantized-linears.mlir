// RUN: effc-opt %s --split-input-file --effc-gpu-quantized-linears | FileCheck %s
// RUN: effc-opt %s --split-input-file --effc-gpu-quantized-linears="max-gemv-rows=0" | FileCheck %s --check-prefix=NOGEMV

// An int8 linear layer as the CPU lowering leaves it (a call of the host micro-kernel on memrefs) becomes device
// launches on the same operands: rows quantized into scratch, then the dp4a GEMV or the tensor-core GEMM.
// CHECK-LABEL: func.func @linear
// CHECK-SAME:    (%[[X:.+]]: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, %[[W:.+]]: memref<?xi8, strided<[?], offset: ?>>, %[[CS:.+]]: memref<?xi32, strided<[?], offset: ?>>, %[[S:.+]]: memref<?xf32, strided<[?], offset: ?>>, %[[B:.+]]: memref<?xf32, strided<[?], offset: ?>>, %[[Y:.+]]: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-NOT:     call @effc_uk_quantized_linear_int8
// CHECK:         %[[XM:.+]], %[[XO:.+]], %[[XS:.+]]:3, %[[XT:.+]]:3 = memref.extract_strided_metadata %[[X]]
// CHECK:         %[[YM:.+]], %[[YO:.+]], %[[YS:.+]]:3, %[[YT:.+]]:3 = memref.extract_strided_metadata %[[Y]]
// CHECK:         %[[M:.+]] = arith.muli %[[XS]]#0, %[[XS]]#1 : index
// The scratch buffers are allocated (at least one row, one 32-byte K step) around an scf.if that holds only
// launches, so that effc-gpu-async-launches keeps it on the stream.
// CHECK:         %[[LDQ:.+]] = arith.muli %{{.+}}, %c32{{.*}} : index
// CHECK:         %[[AROWS:.+]] = arith.maxui %[[M]], %c1
// CHECK:         %[[ALDQ:.+]] = arith.maxui %[[LDQ]], %c32
// CHECK:         %[[Q:.+]] = memref.alloc(%[[AROWS]], %[[ALDQ]]) {alignment = 64 : i64} : memref<?x?xi8>
// CHECK:         %[[RS:.+]] = memref.alloc(%[[AROWS]]) {alignment = 64 : i64} : memref<?xf32>
// CHECK:         %[[CORR:.+]] = memref.alloc(%[[AROWS]]) {alignment = 64 : i64} : memref<?xi32>
// CHECK:         scf.if
// CHECK:           gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %[[M]], %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) threads({{.*}}) in (%{{.+}} = %c256{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// CHECK:             memref.extract_aligned_pointer_as_index %[[X]]
// CHECK:             llvm.call @effc_cuda_uk_quantize_rows_s8(
// CHECK:             gpu.terminator
// CHECK:           %[[FEW:.+]] = arith.cmpi sle, %[[M]], %c8
// CHECK:           scf.if %[[FEW]] {
// CHECK:             gpu.launch
// CHECK:               memref.extract_strided_metadata %[[W]]
// CHECK:               memref.extract_aligned_pointer_as_index %[[B]]
// CHECK:               %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK:               arith.select %{{.+}}, %{{.+}}, %[[NULL]]
// CHECK:               memref.extract_aligned_pointer_as_index %[[W]]
// CHECK:               memref.extract_aligned_pointer_as_index %[[CS]]
// CHECK:               memref.extract_aligned_pointer_as_index %[[S]]
// CHECK:               llvm.call @effc_cuda_uk_qgemv_s8(
// CHECK:           } else {
// CHECK:             gpu.launch
// CHECK:               llvm.call @effc_cuda_uk_qgemm_s8_128x128(
// CHECK:         }
// CHECK:         memref.dealloc %[[Q]] : memref<?x?xi8>
// CHECK:         memref.dealloc %[[RS]] : memref<?xf32>
// CHECK:         memref.dealloc %[[CORR]] : memref<?xi32>
// CHECK:         return
// The host kernel's declaration is gone; the device kernels are declared as llvm.func.
// CHECK-NOT:   func.func private @effc_uk_quantized_linear_int8
// CHECK-DAG:   llvm.func @effc_cuda_uk_quantize_rows_s8(i64, !llvm.ptr, i64, i64, i64, i64, f32, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr)
// CHECK-DAG:   llvm.func @effc_cuda_uk_qgemv_s8(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK-DAG:   llvm.func @effc_cuda_uk_qgemm_s8_128x128(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)

// With max-gemv-rows=0 the GEMM is taken whenever there is a row.
// NOGEMV-LABEL: func.func @linear
// NOGEMV:         arith.cmpi sle, %{{.+}}, %c0
// NOGEMV:         llvm.call @effc_cuda_uk_qgemv_s8(
// NOGEMV:         llvm.call @effc_cuda_uk_qgemm_s8_128x128(
module {
  func.func private @effc_uk_quantized_linear_int8(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?xi32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, f32, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
  func.func @linear(%x: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, %w: memref<?xi8, strided<[?], offset: ?>>,
                    %cs: memref<?xi32, strided<[?], offset: ?>>, %s: memref<?xf32, strided<[?], offset: ?>>,
                    %b: memref<?xf32, strided<[?], offset: ?>>, %y: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) {
    %c1 = arith.constant 1 : i64
    %c0 = arith.constant 0 : i64
    %scale = arith.constant 0.0 : f32
    call @effc_uk_quantized_linear_int8(%x, %w, %cs, %s, %b, %c1, %scale, %c0, %y) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?xi32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, f32, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) -> ()
    return
  }
}

// -----

// int4: one launch reading the activations in place (any strides) and dequantising the weights in registers; the
// zero points and the bias are passed as null pointers when their flags are 0.
// CHECK-LABEL: func.func @int4
// CHECK-SAME:    (%[[X:.+]]: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, %[[W:.+]]: memref<?xi8, strided<[?], offset: ?>>, %[[S:.+]]: memref<?xf32, strided<[?], offset: ?>>, %[[Z:.+]]: memref<?xf32, strided<[?], offset: ?>>, %[[B:.+]]: memref<?xf32, strided<[?], offset: ?>>, %[[Y:.+]]: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-NOT:     call @effc_uk_quantized_linear_int4
// CHECK:         scf.if
// CHECK:           %[[FEW:.+]] = arith.cmpi sle, %{{.+}}, %c8
// CHECK:           scf.if %[[FEW]] {
// CHECK:             %[[GX:.+]] = arith.ceildivui %{{.+}}, %c256
// CHECK:             %[[GY:.+]] = arith.ceildivui %{{.+}}, %c8
// CHECK:             gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %[[GX]], %{{.+}} = %[[GY]], %{{.+}} = %c1{{.*}})
// CHECK:               memref.extract_aligned_pointer_as_index %[[Z]]
// CHECK:               arith.cmpi ne, %c0_i64
// CHECK:               llvm.mlir.zero
// CHECK:               arith.select
// CHECK:               llvm.call @effc_cuda_uk_qgemv_int4_8x256(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c64_i64,
// CHECK:           } else {
// CHECK:             arith.ceildivui %{{.+}}, %c64
// CHECK:             arith.ceildivui %{{.+}}, %c32
// CHECK:             gpu.launch
// CHECK:               llvm.call @effc_cuda_uk_qgemm_int4_32x64(
// CHECK-NOT:   func.func private @effc_uk_quantized_linear_int4
// CHECK-DAG:   llvm.func @effc_cuda_uk_qgemm_int4_32x64(i64, i64, i64, !llvm.ptr, i64, i64, i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64)
module {
  func.func private @effc_uk_quantized_linear_int4(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, i64, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
  func.func @int4(%x: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, %w: memref<?xi8, strided<[?], offset: ?>>,
                  %s: memref<?xf32, strided<[?], offset: ?>>, %z: memref<?xf32, strided<[?], offset: ?>>,
                  %b: memref<?xf32, strided<[?], offset: ?>>, %y: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) {
    %group = arith.constant 64 : i64
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    call @effc_uk_quantized_linear_int4(%x, %w, %s, %z, %b, %group, %c0, %c1, %y) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, i64, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) -> ()
    return
  }
}

// -----

// Other host micro-kernels (here bf16, effc-gpu-bf16-linear-ukernels' work) are left alone.
// CHECK-LABEL: func.func @bf16
// CHECK:         call @effc_uk_quantized_linear_bf16(
// CHECK-NOT:     gpu.launch
module {
  func.func private @effc_uk_quantized_linear_bf16(memref<?x?x?xf32>, memref<?xbf16>, memref<?x?x?xf32>)
  func.func @bf16(%x: memref<?x?x?xf32>, %w: memref<?xbf16>, %y: memref<?x?x?xf32>) {
    call @effc_uk_quantized_linear_bf16(%x, %w, %y) : (memref<?x?x?xf32>, memref<?xbf16>, memref<?x?x?xf32>) -> ()
    return
  }
}

// -----

// LUT (binary coding): one launch whose grid and branch the host chooses (the GEMV shape for few rows), the sign
// bits dequantised in registers; no bias pointer without a bias.
// CHECK-LABEL: func.func @lut
// CHECK-NOT:     call @effc_uk_quantized_linear_lut
// CHECK:         %[[FEW:.+]] = arith.cmpi sle, %{{.+}}, %c8
// CHECK:         gpu.launch
// CHECK:           scf.if %[[FEW]] {
// CHECK:             %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK:             llvm.call @effc_cuda_uk_qgemv_lut_8x256(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c128_i64, %c3_i64,
// CHECK:           } else {
// CHECK:             llvm.call @effc_cuda_uk_qgemm_lut_32x64(
// CHECK:           }
// CHECK-NEXT:      gpu.terminator
// CHECK-NOT:   func.func private @effc_uk_quantized_linear_lut
// CHECK-DAG:   llvm.func @effc_cuda_uk_qgemm_lut_32x64(i64, i64, i64, !llvm.ptr, i64, i64, i64, i64, !llvm.ptr, !llvm.ptr, i64, i64, !llvm.ptr, !llvm.ptr, i64)
module {
  func.func private @effc_uk_quantized_linear_lut(memref<?x?x?xf32>, memref<?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, i64, memref<?x?x?xf32>)
  func.func @lut(%x: memref<?x?x?xf32>, %w: memref<?xi8>, %a: memref<?xf32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %g = arith.constant 128 : i64
    %bits = arith.constant 3 : i64
    %no = arith.constant 0 : i64
    call @effc_uk_quantized_linear_lut(%x, %w, %a, %b, %g, %bits, %no, %y) : (memref<?x?x?xf32>, memref<?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, i64, memref<?x?x?xf32>) -> ()
    return
  }
}
