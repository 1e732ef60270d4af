//===- cuda_gemm_host.cpp - the CUDA GEMM micro-kernel emulated on the host -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs ukernels/cuda/gemm.cu's tile loop on the CPU for test_cuda_gemm.py: each block's 256 threads are host
// threads meeting at a std::barrier for __syncthreads, blocks run one after another (so the kernel's static
// shared tiles are the block's shared memory). Same source as the device build, so its indexing, guards
// and K-tile pipeline are checked without a GPU.
//
//===----------------------------------------------------------------------===//

#include "cuda_host_emulation.h"

#include "gemm.cu"

/// C += A · B with the `tile` x `tile` kernel over the whole grid, as effc-gpu-gemm-ukernels launches it.
extern "C" void effc_test_sgemm(int tile, effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                effc_index_t lda, const float *B, effc_index_t ldb, float *C, effc_index_t ldc) {
  auto kernel = tile == 128 ? effc_cuda_uk_sgemm_128x128 : effc_cuda_uk_sgemm_64x64;
  effc_cuda::runGrid((N + tile - 1) / tile, (M + tile - 1) / tile, 256,
                     [&] { kernel(M, N, K, A, lda, B, ldb, C, ldc); });
}

/// C += A · B with the few-rows kernel (32 columns x 8 rows per block) over the whole grid. Returns 1 if an access
/// would have been misaligned on the device.
extern "C" int effc_test_sgemv(effc_index_t M, effc_index_t N, effc_index_t K, const float *A, effc_index_t lda,
                               const float *B, effc_index_t ldb, float *C, effc_index_t ldc) {
  return effc_cuda::runGrid((N + 31) / 32, (M + 7) / 8, 256,
                            [&] { effc_cuda_uk_sgemv_f32(M, N, K, A, lda, B, ldb, C, ldc); })
             ? 1
             : 0;
}
