//===- cuda_quantized_gemm_device.cu - kernels around the int8 device micro-kernels -*- CUDA -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// test/ukernels/cuda_quantized_gemm_device.py compiles this file with clang to PTX (as ukernels/CMakeLists.txt
// compiles the micro-kernels) and launches these entry points with cupy on a GPU: each forwards to one device
// micro-kernel of ukernels/cuda/quantized_gemm.cu, as the kernels that effc-gpu-quantized-linears makes do.
//
//===----------------------------------------------------------------------===//

#include "quantized_gemm.cu"

#define EFFC_TEST_KERNEL extern "C" __attribute__((global))

EFFC_TEST_KERNEL void test_quantize_rows(effc_index_t K, const float *x, effc_index_t rowsPerBatch,
                                         effc_index_t batchStride, effc_index_t rowStride, effc_index_t colStride,
                                         float staticScale, effc_index_t staticZero, signed char *q,
                                         effc_index_t ldq, float *rowScale, int *correction) {
  effc_cuda_uk_quantize_rows_s8(K, x, rowsPerBatch, batchStride, rowStride, colStride, staticScale, staticZero, q,
                                ldq, rowScale, correction);
}

EFFC_TEST_KERNEL void test_qgemm(effc_index_t M, effc_index_t N, effc_index_t K, const signed char *q,
                                 effc_index_t ldq, const float *rowScale, const int *correction,
                                 const signed char *w, const int *colsum, const float *weightScale,
                                 const float *bias, float *y, effc_index_t ldy) {
  effc_cuda_uk_qgemm_s8_128x128(M, N, K, q, ldq, rowScale, correction, w, colsum, weightScale, bias, y, ldy);
}

EFFC_TEST_KERNEL void test_qgemv(effc_index_t M, effc_index_t N, effc_index_t K, const signed char *q,
                                 effc_index_t ldq, const float *rowScale, const int *correction,
                                 const signed char *w, const int *colsum, const float *weightScale,
                                 const float *bias, float *y, effc_index_t ldy) {
  effc_cuda_uk_qgemv_s8(M, N, K, q, ldq, rowScale, correction, w, colsum, weightScale, bias, y, ldy);
}

EFFC_TEST_KERNEL void test_int4(int gemv, effc_index_t M, effc_index_t N, effc_index_t K, const float *x,
                                effc_index_t rowsPerBatch, effc_index_t batchStride, effc_index_t rowStride,
                                effc_index_t colStride, const unsigned char *w, const float *scale, const float *zero,
                                effc_index_t group, const float *bias, float *y, effc_index_t ldy) {
  if (gemv)
    effc_cuda_uk_qgemv_int4_8x256(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, w, scale, zero, group,
                                  bias, y, ldy);
  else
    effc_cuda_uk_qgemm_int4_32x64(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, w, scale, zero, group,
                                  bias, y, ldy);
}
