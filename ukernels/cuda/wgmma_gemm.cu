//===- wgmma_gemm.cu - warpgroup (wgmma) GEMM micro-kernels for sm_90a -*- CUDA -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// C[M, N] += A[M, K] · B[K, N] in f32 storage with bf16 (or f16) products and f32 accumulation, on Hopper's
// warpgroup tensor-core instruction: the sm_90a form of mma_gemm.cu's effc_cuda_uk_{bf16,f16}_sgemm_128x128,
// with the same arguments, which effc-gpu-gemm-ukernels launches instead when the model is compiled for
// --cuda-arch=sm_90a (wgmma exists only there: not on sm_90, nor on the architectures after it).
//
// One block of 256 threads (two warpgroups) computes a 128 x 128 tile of C in steps of BK = 32 along k. Per
// step, every thread loads its share of A (float4s of rows) and of B (4 consecutive k of one column) into
// registers, rounds them to the product format and stores them in shared memory K-major, as 8 x 16-byte core
// matrices without swizzling: element (r, k) of an operand tile at (r / 8) · SBO + (k / 8) · LBO + (r % 8) · 16
// + (k % 8) · 2 bytes, LBO = 128 (the core matrices along k of one 8-row group are contiguous) and SBO = 512
// (4 of them per group). A shared-memory descriptor encodes that layout (start address, LBO, SBO, no swizzle);
// each warpgroup issues wgmma.mma_async.m64n128k16 twice per step, its 64 rows of A against all 128 columns
// of B, then waits for them. Two stages: the next step's values are loaded while the current one's wgmmas run
// and stored into the other stage, made visible to the tensor cores' async proxy with fence.proxy.async before
// the block barrier. Every global access is guarded, so M, N and K are arbitrary.
//
// Accumulators (64 per thread): warp w of a warpgroup owns rows 16 (w % 4) + g and + 8 (g = lane / 4); value
// 4j + e is column 8j + 2 (lane % 4) + e % 2 of row + 8 (e / 2), as the m16n8 fragments of mma.sync.
//
//===----------------------------------------------------------------------===//

#include "ptx.h"

#ifndef EFFC_CUDA_UK_HOST_EMULATION
// The instructions of this kernel, each behind a function (test/ukernels/cuda_wgmma_gemm_host.cpp defines host
// versions that decode the descriptors as the PTX ISA describes them and run the products at the wait).
namespace effc_cuda {

__device__ inline void wgmmaFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ inline void wgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ inline void wgmmaWaitAll() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
/// Keeps the compiler from moving accesses of the accumulators across a wgmma fence or wait (CUTLASS's
/// warpgroup_fence_operand): they are written asynchronously, which the asm statements of the wait do not say.
__device__ inline void fenceOperands(float (&d)[64]) {
#pragma unroll
  for (int i = 0; i < 64; ++i)
    asm volatile("" : "+f"(d[i])::"memory");
}
/// Makes this thread's shared-memory stores visible to the async proxy (the wgmma operand reads).
__device__ inline void fenceProxyAsyncShared() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

#define EFFC_WGMMA_ACC_OPERANDS                                                                                   \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),      \
      "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),       \
      "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),      \
      "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),      \
      "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),      \
      "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),      \
      "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]),      \
      "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define EFFC_WGMMA_ACC_LIST                                                                                       \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, "     \
  "%23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, " \
  "%45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"

/// d (64 x 128 of the warpgroup, f32) += A (64 x 16, descriptor a) · B (16 x 128, descriptor b; both K-major in
/// shared memory), bf16 products.
__device__ inline void wgmma64x128x16Bf16(float (&d)[64], unsigned long long a, unsigned long long b) {
  asm volatile("{\n.reg .pred accumulate;\nsetp.ne.b32 accumulate, %66, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 " EFFC_WGMMA_ACC_LIST
               ", %64, %65, accumulate, 1, 1, 0, 0;\n}\n"
               : EFFC_WGMMA_ACC_OPERANDS
               : "l"(a), "l"(b), "r"(1));
}
/// The same with f16 products.
__device__ inline void wgmma64x128x16F16(float (&d)[64], unsigned long long a, unsigned long long b) {
  asm volatile("{\n.reg .pred accumulate;\nsetp.ne.b32 accumulate, %66, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " EFFC_WGMMA_ACC_LIST
               ", %64, %65, accumulate, 1, 1, 0, 0;\n}\n"
               : EFFC_WGMMA_ACC_OPERANDS
               : "l"(a), "l"(b), "r"(1));
}
#undef EFFC_WGMMA_ACC_OPERANDS
#undef EFFC_WGMMA_ACC_LIST

} // namespace effc_cuda
#endif

using namespace effc_cuda;

namespace {

constexpr int kWgmmaThreads = 256;

/// A wgmma shared-memory matrix descriptor: start address, leading (k) and stride (rows) byte offsets, each in
/// units of 16 bytes (bits 0-13, 16-29, 32-45), no swizzle (bits 62-63 zero), base offset 0.
__device__ inline unsigned long long matrixDescriptor(unsigned sharedAddr, unsigned leadingBytes,
                                                      unsigned strideBytes) {
  auto field = [](unsigned bytes) { return (unsigned long long)((bytes >> 4) & 0x3fffu); };
  return field(sharedAddr) | field(leadingBytes) << 16 | field(strideBytes) << 32;
}

template <Products P>
__device__ __attribute__((always_inline)) inline void wgmma64x128x16(float (&d)[64], unsigned long long a,
                                                                     unsigned long long b) {
  if constexpr (P == Products::Bf16)
    wgmma64x128x16Bf16(d, a, b);
  else
    wgmma64x128x16F16(d, a, b);
}

template <Products P>
struct WgmmaTile {
  static constexpr int BM = 128, BN = 128, BK = 32;
  static constexpr int LBO = 128, SBO = (BK / 8) * 128;          // bytes, see the file comment
  static constexpr int TileBytes = (BM / 8) * SBO;                 // one operand tile of one stage (BN = BM)
  static constexpr int AVectors = BM * BK / 4 / kWgmmaThreads;     // float4s of A per thread and step
  static constexpr int BGroups = BN * BK / 4 / kWgmmaThreads;      // groups of 4 k of one B column per thread
  static_assert(BM == BN && AVectors == 4 && BGroups == 4 && kWgmmaThreads % BN == 0, "the staging below");

  /// Byte offset of element (row, k) of an operand tile.
  __device__ static int offset(int row, int k) {
    return (row / 8) * SBO + (k / 8) * LBO + (row % 8) * 16 + (k % 8) * 2;
  }

  __device__ __attribute__((always_inline)) static void run(effc_index_t M, effc_index_t N, effc_index_t K,
                                                            const float *A, effc_index_t lda, const float *B,
                                                            effc_index_t ldb, float *C, effc_index_t ldc) {
    // Stage s: A at s · 2 · TileBytes, B right after it.
    __shared__ unsigned char tiles[2 * 2 * TileBytes] __attribute__((aligned(128)));
    const int tid = threadIndex(), lane = tid % 32, warp = tid / 32, warpgroup = tid / 128;
    const effc_index_t m0 = (effc_index_t)blockIndexY() * BM, n0 = (effc_index_t)blockIndexX() * BN;
    const bool vectorA = lda % 4 == 0 && (reinterpret_cast<unsigned long long>(A) & 15) == 0;

    // This thread's A: row idx / 8, columns 4 (idx % 8) .. + 3 for idx = tid + 256 v. Its B: column tid % 128,
    // k groups tid / 128 + 2 l.
    float4_t aNext[AVectors], bNext[BGroups];
    const float *aRow[AVectors];
    bool aInside[AVectors];
#pragma unroll
    for (int v = 0; v < AVectors; ++v) {
      effc_index_t row = m0 + (tid + v * kWgmmaThreads) / 8;
      aInside[v] = row < M;
      aRow[v] = A + (aInside[v] ? row : 0) * lda;
    }
    const int bColumn = tid % BN;
    const bool bInside = n0 + bColumn < N;
    const float *bPointer = B + (bInside ? n0 + bColumn : 0);
    auto load = [&](effc_index_t k0) {
#pragma unroll
      for (int v = 0; v < AVectors; ++v) {
        effc_index_t col = k0 + 4 * ((tid + v * kWgmmaThreads) % 8);
        aNext[v] = loadFour(aRow[v], col, K, 1, aInside[v], vectorA);
      }
#pragma unroll
      for (int l = 0; l < BGroups; ++l) {
        effc_index_t k = k0 + 4 * (tid / BN + 2 * l);
#pragma unroll
        for (int e = 0; e < 4; ++e)
          bNext[l][e] = bInside && k + e < K ? bPointer[(k + e) * ldb] : 0.0f;
      }
    };
    auto store = [&](int stage) {
      unsigned char *a = tiles + stage * 2 * TileBytes, *b = a + TileBytes;
#pragma unroll
      for (int v = 0; v < AVectors; ++v) {
        int idx = tid + v * kWgmmaThreads;
        uint2_t words = {packPair<P>(aNext[v][0], aNext[v][1]), packPair<P>(aNext[v][2], aNext[v][3])};
        *static_cast<uint2_t *>(__builtin_assume_aligned(a + offset(idx / 8, 4 * (idx % 8)), 8)) = words;
      }
#pragma unroll
      for (int l = 0; l < BGroups; ++l) {
        uint2_t words = {packPair<P>(bNext[l][0], bNext[l][1]), packPair<P>(bNext[l][2], bNext[l][3])};
        *static_cast<uint2_t *>(__builtin_assume_aligned(b + offset(bColumn, 4 * (tid / BN + 2 * l)), 8)) = words;
      }
      fenceProxyAsyncShared();
    };

    float acc[64];
#pragma unroll
    for (int i = 0; i < 64; ++i)
      acc[i] = 0.0f;

    runTwoStages(K, BK, load, store, [&](int stage, auto storeNext) {
      // This warpgroup's 64 rows of A, all 128 columns of B, two k16 slices (two core matrices apart in k).
      const unsigned aBase = sharedAddress(tiles + stage * 2 * TileBytes + warpgroup * (64 / 8) * SBO);
      const unsigned bBase = sharedAddress(tiles + stage * 2 * TileBytes + TileBytes);
      fenceOperands(acc);
      wgmmaFence();
#pragma unroll
      for (int kk = 0; kk < BK / 16; ++kk)
        wgmma64x128x16<P>(acc, matrixDescriptor(aBase + kk * 2 * LBO, LBO, SBO),
                          matrixDescriptor(bBase + kk * 2 * LBO, LBO, SBO));
      wgmmaCommit();
      storeNext(); // the other stage: the wgmmas in flight read this one
      wgmmaWaitAll();
      fenceOperands(acc);
    });

    // Value 4j + e: row 16 (warp % 4) + lane / 4 (+ 8 for e >= 2) of the warpgroup's 64, column 8j + 2 (lane % 4)
    // + e % 2.
#pragma unroll
    for (int j = 0; j < BN / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        effc_index_t row = m0 + warpgroup * 64 + 16 * (warp % 4) + lane / 4 + 8 * (e / 2);
        effc_index_t col = n0 + 8 * j + 2 * (lane % 4) + e % 2;
        if (row < M && col < N)
          C[row * ldc + col] += acc[4 * j + e];
      }
  }
};

} // namespace

// C[M, N] += A[M, K] · B[K, N], f32 storage, bf16 / f16 products: block x = 128 columns, block y = 128 rows, 256
// threads. sm_90a only.
EFFC_CUDA_UK void effc_cuda_uk_bf16_sgemm_wgmma_128x128(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                                        effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                                        effc_index_t ldc) {
  WgmmaTile<Products::Bf16>::run(M, N, K, A, lda, B, ldb, C, ldc);
}

EFFC_CUDA_UK void effc_cuda_uk_f16_sgemm_wgmma_128x128(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                                       effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                                       effc_index_t ldc) {
  WgmmaTile<Products::F16>::run(M, N, K, A, lda, B, ldb, C, ldc);
}
