// RUN: effc-opt %s --split-input-file --effc-gpu-bf16-linear-ukernels | FileCheck %s

#strided3 = strided<[?, ?, ?], offset: ?>
#strided1 = strided<[?], offset: ?>

// eff.quantized_linear's bf16 call (x [B, S, K], packed W, bias, has_bias, y [B, S, N]) becomes launches of the
// tensor-core GEMM: S rows per block row, B over block z (offsets by the outer strides), N over block x; the
// bias pointer is null when has_bias is 0. The CPU kernel's declaration goes.
// CHECK-LABEL: func.func @linear
// CHECK-SAME:    (%[[X:[^:]+]]: memref<?x?x?xf32, {{.+}}>, %[[W:[^:]+]]: memref<?xbf16, {{.+}}>, %[[B:[^:]+]]: memref<?xf32, {{.+}}>, %[[Y:[^:]+]]: memref<?x?x?xf32, {{.+}}>, %[[HAS_BIAS:[^:]+]]: i64)
// CHECK-NOT:     func.call
// CHECK-DAG:     %[[BASE_X:.+]], %[[OFF_X:.+]], %[[SIZES_X:.+]]:3, %[[STRIDES_X:.+]]:3 = memref.extract_strided_metadata %[[X]]
// CHECK-DAG:     %[[BASE_Y:.+]], %[[OFF_Y:.+]], %[[SIZES_Y:.+]]:3, %[[STRIDES_Y:.+]]:3 = memref.extract_strided_metadata %[[Y]]
// CHECK:         scf.if
// CHECK:           %[[LARGE:.+]] = arith.cmpi sge, %{{.+}}, %c128
// CHECK:           scf.if %[[LARGE]] {
// CHECK:             %[[GX:.+]] = arith.ceildivui %[[SIZES_Y]]#2, %c128
// CHECK:             %[[GY:.+]] = arith.ceildivui %[[SIZES_X]]#1, %c128
// CHECK:             gpu.launch blocks(%{{.+}}, %{{.+}}, %[[BZ:.+]]) in (%{{.+}} = %[[GX]], %{{.+}} = %[[GY]], %{{.+}} = %[[SIZES_X]]#0) threads({{.*}}) in (%{{.+}} = %c256{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}})
// CHECK:               %[[WITH_BIAS:.+]] = arith.cmpi ne, %[[HAS_BIAS]], %{{.+}} : i64
// CHECK:               memref.extract_aligned_pointer_as_index %[[B]]
// CHECK:               %[[BIAS_PTR:.+]] = llvm.inttoptr
// CHECK:               %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK:               %[[BIAS_ARG:.+]] = llvm.select %[[WITH_BIAS]], %[[BIAS_PTR]], %[[NULL]]
// CHECK:               %[[M:.+]] = arith.index_cast %[[SIZES_X]]#1 : index to i64
// CHECK:               %[[N:.+]] = arith.index_cast %[[SIZES_Y]]#2 : index to i64
// CHECK:               %[[K:.+]] = arith.index_cast %[[SIZES_X]]#2 : index to i64
// CHECK:               %[[X_Z:.+]] = arith.muli %[[BZ]], %[[STRIDES_X]]#0
// CHECK:               arith.addi %[[OFF_X]], %[[X_Z]]
// CHECK:               memref.extract_aligned_pointer_as_index %[[X]]
// CHECK:               %[[X_PTR:.+]] = llvm.inttoptr
// CHECK:               %[[LDA:.+]] = arith.index_cast %[[STRIDES_X]]#1 : index to i64
// CHECK:               %[[AK:.+]] = arith.index_cast %[[STRIDES_X]]#2 : index to i64
// CHECK:               memref.extract_aligned_pointer_as_index %[[W]]
// CHECK:               %[[W_PTR:.+]] = llvm.inttoptr
// CHECK:               %[[Y_Z:.+]] = arith.muli %[[BZ]], %[[STRIDES_Y]]#0
// CHECK:               arith.addi %[[OFF_Y]], %[[Y_Z]]
// CHECK:               memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK:               %[[Y_PTR:.+]] = llvm.inttoptr
// CHECK:               %[[LDC:.+]] = arith.index_cast %[[STRIDES_Y]]#1 : index to i64
// CHECK:               llvm.call @effc_cuda_uk_bf16_gemm_128x128(%[[M]], %[[N]], %[[K]], %[[X_PTR]], %[[LDA]], %[[AK]], %[[W_PTR]], %[[BIAS_ARG]], %[[Y_PTR]], %[[LDC]])
// CHECK:               gpu.terminator
// CHECK:           } else {
// CHECK:             gpu.launch
// CHECK:               llvm.call @effc_cuda_uk_bf16_gemm_64x64(
// CHECK:         return
// CHECK-NOT:   func.func private @effc_uk_quantized_linear_bf16
// CHECK-DAG:   llvm.func @effc_cuda_uk_bf16_gemm_128x128(i64, i64, i64, !llvm.ptr, i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
// CHECK-DAG:   llvm.func @effc_cuda_uk_bf16_gemm_64x64(i64, i64, i64, !llvm.ptr, i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64)
func.func private @effc_uk_quantized_linear_bf16(memref<?x?x?xf32, #strided3>, memref<?xbf16, #strided1>,
    memref<?xf32, #strided1>, i64, memref<?x?x?xf32, #strided3>)
func.func @linear(%x: memref<?x?x?xf32, #strided3>, %w: memref<?xbf16, #strided1>, %b: memref<?xf32, #strided1>,
                  %y: memref<?x?x?xf32, #strided3>, %has_bias: i64) {
  func.call @effc_uk_quantized_linear_bf16(%x, %w, %b, %has_bias, %y)
      : (memref<?x?x?xf32, #strided3>, memref<?xbf16, #strided1>, memref<?xf32, #strided1>, i64,
         memref<?x?x?xf32, #strided3>) -> ()
  return
}

// -----

// Calls of other micro-kernels (the int8 scheme here) stay host calls.
// CHECK-LABEL: func.func @int8_stays
// CHECK:         call @effc_uk_quantized_linear_int8(
// CHECK-NOT:     gpu.launch
func.func private @effc_uk_quantized_linear_int8(memref<?x?x?xf32>)
func.func @int8_stays(%x: memref<?x?x?xf32>) {
  func.call @effc_uk_quantized_linear_int8(%x) : (memref<?x?x?xf32>) -> ()
  return
}
