//===- cuda_wgmma_gemm_host.cpp - the sm_90a wgmma GEMM emulated on the host -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs ukernels/cuda/wgmma_gemm.cu on the CPU for test_cuda_wgmma_gemm.py: each block's 256 threads are host
// threads meeting at a std::barrier, blocks run one after another. The instructions get host versions with the
// PTX ISA's semantics: a shared-memory address is the offset into a 256 KiB window around the kernel's tiles,
// and wgmma.mma_async is queued and carried out at wgmma.wait_group, reading its operands through the
// descriptors' fields (start address, leading and stride byte offsets in 16-byte units, no swizzle) as the
// tensor cores would, so the descriptor encoding, the K-major core-matrix layout of the staged tiles, the
// accumulator layout and the two-stage pipeline are checked without a GPU; only the summation order differs.
//
//===----------------------------------------------------------------------===//

#include "cuda_host_emulation.h"

#include <cstdlib>
#include <mutex>

namespace effc_cuda {

// The window that shared addresses are offsets into: set from the first address taken (the kernel's tiles are
// one static array), 64 KiB below it.
inline uintptr_t sharedWindow;
inline unsigned sharedAddress(const void *pointer) {
  static std::once_flag once;
  std::call_once(once, [&] { sharedWindow = reinterpret_cast<uintptr_t>(pointer) - 65536; });
  return static_cast<unsigned>(reinterpret_cast<uintptr_t>(pointer) - sharedWindow);
}

inline void wgmmaFence() {}
inline void fenceOperands(float (&)[64]) {}
inline void wgmmaCommit() {}
inline void fenceProxyAsyncShared() {}

/// A queued wgmma: the accumulators it adds to, its descriptors and its product format.
struct PendingWgmma {
  float *d;
  unsigned long long a, b;
  bool f16;
};
inline thread_local std::vector<PendingWgmma> pendingWgmma;

/// Element (row, k) of a K-major operand without swizzle, as the descriptor places it.
inline float operandAt(unsigned long long descriptor, int row, int k, bool f16) {
  uintptr_t start = sharedWindow + ((descriptor & 0x3fffu) << 4);
  uintptr_t leading = ((descriptor >> 16) & 0x3fffu) << 4, stride = ((descriptor >> 32) & 0x3fffu) << 4;
  if ((descriptor >> 62) != 0)
    std::abort(); // a swizzle mode: not what the kernel means to use
  uint16_t bits;
  std::memcpy(&bits, reinterpret_cast<const void *>(start + (row / 8) * stride + (k / 8) * leading + (row % 8) * 16 +
                                                    (k % 8) * 2),
              2);
  return f16 ? fromF16(bits) : fromBf16(bits);
}

/// wgmma.wait_group 0: the queued products, each thread its own 64 accumulators (warp w % 4 of the warpgroup:
/// rows 16 (w % 4) + lane / 4 (+ 8), columns 8j + 2 (lane % 4) + e % 2 of value 4j + e).
inline void wgmmaWaitAll() {
  unsigned warp = currentThread / 32 % 4, lane = currentThread % 32;
  for (const PendingWgmma &op : pendingWgmma)
    for (int j = 0; j < 16; ++j)
      for (int e = 0; e < 4; ++e) {
        int row = 16 * warp + lane / 4 + 8 * (e / 2), col = 8 * j + 2 * (lane % 4) + e % 2;
        float sum = 0.0f;
        for (int k = 0; k < 16; ++k)
          sum += operandAt(op.a, row, k, op.f16) * operandAt(op.b, col, k, op.f16);
        op.d[4 * j + e] += sum;
      }
  pendingWgmma.clear();
}
inline void wgmma64x128x16Bf16(float (&d)[64], unsigned long long a, unsigned long long b) {
  pendingWgmma.push_back({d, a, b, false});
}
inline void wgmma64x128x16F16(float (&d)[64], unsigned long long a, unsigned long long b) {
  pendingWgmma.push_back({d, a, b, true});
}

} // namespace effc_cuda

#include "wgmma_gemm.cu"

/// C += A · B (f32 operands, bf16 products, or f16 when `f16`) with the wgmma tile over the whole grid, as
/// effc-gpu-gemm-ukernels launches it for sm_90a. Returns 1 if an access would have been misaligned on the device.
extern "C" int effc_test_wgmma_sgemm(int f16, effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                     effc_index_t lda, const float *B, effc_index_t ldb, float *C, effc_index_t ldc) {
  auto kernel = f16 ? effc_cuda_uk_f16_sgemm_wgmma_128x128 : effc_cuda_uk_bf16_sgemm_wgmma_128x128;
  return effc_cuda::runGrid((N + 127) / 128, (M + 127) / 128, 256, [&] { kernel(M, N, K, A, lda, B, ldb, C, ldc); })
             ? 1
             : 0;
}
