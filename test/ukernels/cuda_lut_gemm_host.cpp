//===- cuda_lut_gemm_host.cpp - the LUT device micro-kernel emulated on the host -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs ukernels/cuda/lut_gemm.cu on the CPU for test_cuda_lut_gemm.py (cuda_host_emulation.h: a block's 256
// threads as host threads, blocks one after another), so its indexing into eff-quantize's LUT packing, its
// group and plane handling and its guards are checked without a GPU.
//
//===----------------------------------------------------------------------===//

#include "cuda_host_emulation.h"

#include "lut_gemm.cu"

/// y = x · Ŵᵀ (+ bias) with the 32 x 64 tile (`few_rows` = 0) or the 8 x 256 one over the whole grid, as
/// effc-gpu-quantized-linears launches them.
extern "C" void effc_test_lut(int few_rows, effc_index_t M, effc_index_t N, effc_index_t K, const float *x,
                              effc_index_t rowsPerBatch, effc_index_t batchStride, effc_index_t rowStride,
                              effc_index_t colStride, const unsigned char *w, const float *alpha, effc_index_t group,
                              effc_index_t bits, const float *bias, float *y, effc_index_t ldy) {
  effc_index_t rows = few_rows ? 8 : 32, cols = few_rows ? 256 : 64;
  auto kernel = few_rows ? effc_cuda_uk_qgemv_lut_8x256 : effc_cuda_uk_qgemm_lut_32x64;
  effc_cuda::runGrid((N + cols - 1) / cols, (M + rows - 1) / rows, 256, [&] {
    kernel(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, w, alpha, group, bits, bias, y, ldy);
  });
}
