// RUN: effc-opt %s --effc-gpu-gemm-ukernels=precision=bf16 | FileCheck %s
// RUN: effc-opt %s --effc-gpu-gemm-ukernels=precision=f16 | FileCheck %s --check-prefix=F16
// RUN: effc-opt %s --effc-gpu-gemm-ukernels="precision=bf16 wgmma=true" | FileCheck %s --check-prefix=WGMMA
// RUN: effc-opt %s --effc-gpu-gemm-ukernels="precision=f32 wgmma=true" | FileCheck %s --check-prefix=F32WGMMA

// precision=bf16 (--cuda-matmul-precision=bf16): the same launches as for f32, calling the tensor-core GEMM
// of ukernels/cuda/mma_gemm.cu, which takes the f32 GEMM's arguments.
// CHECK-LABEL: func.func @matmul
// CHECK:         gpu.launch
// CHECK:           llvm.call @effc_cuda_uk_bf16_sgemm_128x128(
// CHECK:         } else {
// CHECK:         gpu.launch
// CHECK:           llvm.call @effc_cuda_uk_bf16_sgemm_64x64(
// CHECK-NOT:     linalg.generic
// CHECK-NOT:   @effc_cuda_uk_sgemm_
// CHECK-DAG:   llvm.func @effc_cuda_uk_bf16_sgemm_128x128(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64)
// CHECK-DAG:   llvm.func @effc_cuda_uk_bf16_sgemm_64x64(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64)
// precision=f16: the f16 forms of the same kernel.
// F16-LABEL: func.func @matmul
// F16:         llvm.call @effc_cuda_uk_f16_sgemm_128x128(
// F16:         llvm.call @effc_cuda_uk_f16_sgemm_64x64(
// F16-NOT:   @effc_cuda_uk_bf16_sgemm_
// F16-NOT:   @effc_cuda_uk_sgemm_
// wgmma (sm_90a): the warpgroup GEMM is the large tile; the small one stays mma.sync. In f32 it changes nothing.
// WGMMA-LABEL: func.func @matmul
// WGMMA:         llvm.call @effc_cuda_uk_bf16_sgemm_wgmma_128x128(
// WGMMA:         llvm.call @effc_cuda_uk_bf16_sgemm_64x64(
// WGMMA-NOT:   @effc_cuda_uk_bf16_sgemm_128x128
// F32WGMMA-LABEL: func.func @matmul
// F32WGMMA:         llvm.call @effc_cuda_uk_sgemm_128x128(
// F32WGMMA-NOT:   wgmma
func.func @matmul(%a: memref<?x64xf32>, %b: memref<64x32xf32>, %c: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
