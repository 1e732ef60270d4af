//===- cuda_mma_gemm_host.cpp - the bf16 / f16 tensor-core GEMM emulated on the host -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs ukernels/cuda/mma_gemm.cu on the CPU for test_cuda_mma_gemm.py, like cuda_gemm_host.cpp does for the
// f32 GEMM: each block's 256 threads are host threads meeting at a std::barrier, blocks run one after
// another. The PTX instructions the kernel wraps get host versions with the semantics of the PTX ISA:
// cp.async copies at once (and checks the alignment the instruction requires), ldmatrix.x4 and
// mma.sync.m16n8k16 exchange fragments between the 32 lanes of a warp through a table and two block
// barriers (every thread of the kernel reaches them in the same order). So the kernel's fragment layouts,
// shared-memory indexing, guards and pipeline are checked without a GPU; only the tensor cores' own
// summation order differs (the host sums in f32 too).
//
//===----------------------------------------------------------------------===//

#include "cuda_host_emulation.h"

namespace effc_cuda {

inline void copyAsync(void *dst, const void *src, int size, int bytes) {
  if (!aligned(dst, size) || !aligned(src, size))
    return;
  std::memset(dst, 0, size);
  std::memcpy(dst, src, bytes);
}
inline void copyAsync16(void *dst, const void *src, int bytes) { copyAsync(dst, src, 16, bytes); }
inline void copyAsync4(void *dst, const void *src, int bytes) { copyAsync(dst, src, 4, bytes); }
inline void commitCopies() {}
inline void waitCopies() {}

} // namespace effc_cuda

#include "mma_gemm.cu"

/// C = A · Wᵀ (+ bias) with the `tile` x `tile` kernel over the whole grid, as effc-gpu-bf16-linear-ukernels
/// launches it for one batch element. Returns 1 if an access would have been misaligned on the device.
extern "C" int effc_test_bf16_gemm(int tile, effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                   effc_index_t lda, effc_index_t ak, const unsigned short *W, const float *bias,
                                   float *C, effc_index_t ldc) {
  auto kernel = tile == 128 ? effc_cuda_uk_bf16_gemm_128x128 : effc_cuda_uk_bf16_gemm_64x64;
  return effc_cuda::runGrid((N + tile - 1) / tile, (M + tile - 1) / tile, 256,
                            [&] { kernel(M, N, K, A, lda, ak, W, bias, C, ldc); })
             ? 1
             : 0;
}

/// C += A · B (f32 operands, bf16 products, or f16 when `f16`) with the `tile` x `tile` kernel over the whole
/// grid, as effc-gpu-gemm-ukernels launches it with precision=bf16 or f16. Returns 1 on a misaligned access.
extern "C" int effc_test_mma_sgemm(int f16, int tile, effc_index_t M, effc_index_t N, effc_index_t K,
                                   const float *A, effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                   effc_index_t ldc) {
  auto kernel = f16 ? (tile == 128 ? effc_cuda_uk_f16_sgemm_128x128 : effc_cuda_uk_f16_sgemm_64x64)
                    : (tile == 128 ? effc_cuda_uk_bf16_sgemm_128x128 : effc_cuda_uk_bf16_sgemm_64x64);
  return effc_cuda::runGrid((N + tile - 1) / tile, (M + tile - 1) / tile, 256,
                            [&] { kernel(M, N, K, A, lda, B, ldb, C, ldc); })
             ? 1
             : 0;
}
