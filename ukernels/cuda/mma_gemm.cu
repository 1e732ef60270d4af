//===- mma_gemm.cu - bf16 / f16 tensor-core GEMM micro-kernels for the CUDA target ===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// C[M, N] = A[M, K] · Wᵀ (+ bias[N]) with f32 activations A (element (m, k) at m · lda + k · ak), bf16 weights W
// [N, K] in eff-quantize's bf16 packing, and an f32 result C (leading dimension ldc): the device form of
// `eff.quantized_linear` with the bf16 scheme (effc-gpu-bf16-linear-ukernels launches it; the CPU kernel is
// effc_uk_quantized_linear_bf16 in ukernels/quantized_gemm.c).
//
// The packing is [ceil(N / 16)][ceil(K / 2)][16][2] (zero padded): for each group of 16 output features, the
// pairs of consecutive k of each feature, 16 features per pair. A 32-bit word is the pair (k, k + 1) of one
// feature, which is exactly what mma.m16n8k16's "col" B fragment holds per register, and the 16 pairs of one
// group of features are 64 contiguous bytes, so the kernel reads the CPU's layout as it is.
//
// One block of 256 threads (8 warps, WarpsM x WarpsN) computes a BM x BN tile of C in steps of BK = 32 along
// k. Per step, the A tile is read as float4s (guarded scalars at the edges), rounded to bf16 (round to nearest
// even, as the CPU kernel rounds its activations) and stored in shared memory; the W tile is copied to shared
// memory with cp.async (zero-filled past the packing's end). Two stages: the next step's copies are in flight
// while the current one is multiplied. Each warp reads its A fragments with ldmatrix.x4 and its B fragments
// as 32-bit words (both conflict-free thanks to padded rows) and issues mma.sync.m16n8k16 bf16 x bf16 -> f32.
// The epilogue adds the bias and stores C, guarded, so M, N and K are arbitrary.
//
// The f32-operand form (C += A · B, both f32, for --cuda-matmul-precision=bf16 or f16) rounds both operands
// while staging them and multiplies in the chosen format: effc_cuda_uk_{bf16,f16}_sgemm_*. f16 keeps 3 more
// mantissa bits than bf16 (as PyTorch's f16 models do), with the range of ±65504.
//
// Needs sm_80 or newer (cp.async, bf16 mma), which is every architecture effc targets.
//
//===----------------------------------------------------------------------===//

#include "ptx.h"

#ifndef EFFC_CUDA_UK_HOST_EMULATION
// The PTX instructions the kernel uses besides ptx.h's, each behind a function (test/ukernels/cuda_mma_gemm_host.cpp
// defines host versions of them, warp-collective ones included, to run the kernel's indexing on the CPU). Pointers
// to shared memory are generic pointers here and become shared-window addresses inside.
namespace effc_cuda {

/// Copies `bytes` (16, or 0 to zero-fill the 16) from global to shared memory asynchronously.
__device__ inline void copyAsync16(void *sharedDst, const void *globalSrc, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sharedAddress(sharedDst)), "l"(globalSrc),
               "r"(bytes)
               : "memory");
}
/// The same for 4 bytes (or 0).
__device__ inline void copyAsync4(void *sharedDst, const void *globalSrc, int bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(sharedAddress(sharedDst)), "l"(globalSrc),
               "r"(bytes)
               : "memory");
}
__device__ inline void commitCopies() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ inline void waitCopies() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }

} // namespace effc_cuda
#endif

using namespace effc_cuda;

namespace {

constexpr int kMmaThreads = 256;

/// kF32B = false: B is the bf16 packing W (C = A · Wᵀ + bias; P is bf16). kF32B = true: B is f32 [K, N]
/// row-major (leading dimension ldb), rounded to P while staged, and C is accumulated (C += A · B), as
/// effc-gpu-gemm-ukernels launches its f32 GEMM (with --cuda-matmul-precision=bf16 or f16).
template <int BM, int BN, int WarpsM, int WarpsN, bool kF32B, Products P = Products::Bf16>
struct MmaTile {
  static_assert(kF32B || P == Products::Bf16, "packed weights are bf16");
  static constexpr int BK = 32;
  static_assert(WarpsM * WarpsN * 32 == kMmaThreads, "8 warps per block");
  static constexpr int WM = BM / WarpsM, WN = BN / WarpsN; // a warp's tile of C
  static constexpr int MT = WM / 16, NT = WN / 8;           // its mma tiles
  static_assert(WM % 16 == 0 && WN % 8 == 0 && BN % 16 == 0, "warp tiles are whole mma tiles");
  // A rows of BK 16-bit values padded to 80 bytes: the 8 row addresses of an ldmatrix phase hit distinct banks.
  static constexpr int APitch = BK + 8;
  // W rows (one pair of k for BN features, 32-bit words) padded by 8 words: a fragment read is conflict-free.
  static constexpr int BPitch = BN + 8;
  static constexpr int AVectors = BM * BK / 4 / kMmaThreads; // float4s of A per thread and step
  static constexpr int BChunks = BN * BK * 2 / 16 / kMmaThreads; // 16-byte chunks of W per thread and step
  static_assert(AVectors >= 1 && BChunks >= 1, "tiles must split evenly over the block");
  // f32 B: pairs of k per thread and step (each two loads), one column per thread.
  static constexpr int BPairs = (BK / 2) * BN / kMmaThreads;
  static_assert(kMmaThreads % BN == 0, "an f32 B column per thread");

  // Always inlined into the exported function: its shared tiles are then the kernel's (in a separately
  // compiled function, ptxas would see a call with function-scope shared variables).
  __device__ __attribute__((always_inline)) static void run(effc_index_t M, effc_index_t N, effc_index_t K,
                                                            const float *A, effc_index_t lda, effc_index_t ak,
                                                            const unsigned short *W, const float *B,
                                                            effc_index_t ldb, const float *bias, float *C,
                                                            effc_index_t ldc) {
    __shared__ unsigned short As[2][BM * APitch] __attribute__((aligned(16)));
    __shared__ unsigned Bs[2][(BK / 2) * BPitch] __attribute__((aligned(16)));
    const int tid = threadIndex(), lane = tid % 32, warp = tid / 32;
    const int warpM = warp / WarpsN, warpN = warp % WarpsN;
    const effc_index_t m0 = (effc_index_t)blockIndexY() * BM, n0 = (effc_index_t)blockIndexX() * BN;
    const effc_index_t pairs = (K + 1) / 2, groups = (N + 15) / 16; // the packing's extents
    const unsigned *packed = reinterpret_cast<const unsigned *>(W);
    const bool vectorA = ak == 1 && lda % 4 == 0 && (reinterpret_cast<unsigned long long>(A) & 15) == 0;
    const bool vectorW = (reinterpret_cast<unsigned long long>(W) & 15) == 0;

    // This thread's share of the A tile: row idx / (BK / 4), columns 4 · (idx % (BK / 4)) + 0..3. The row
    // pointers and guards are computed once (64-bit index arithmetic per step would cost registers).
    float4_t aNext[AVectors];
    const float *aRow[AVectors];
    bool aRowInside[AVectors];
#pragma unroll
    for (int v = 0; v < AVectors; ++v) {
      int idx = tid + v * kMmaThreads;
      effc_index_t row = m0 + idx / (BK / 4);
      aRowInside[v] = row < M;
      aRow[v] = A + (aRowInside[v] ? row : 0) * lda;
    }
    auto loadA = [&](effc_index_t k0) {
#pragma unroll
      for (int v = 0; v < AVectors; ++v) {
        effc_index_t col = k0 + 4 * ((tid + v * kMmaThreads) % (BK / 4));
        aNext[v] = loadFour(aRow[v], col, K, ak, aRowInside[v], vectorA);
      }
    };
    auto storeA = [&](int stage) {
#pragma unroll
      for (int v = 0; v < AVectors; ++v) {
        int idx = tid + v * kMmaThreads;
        uint2_t words = {packPair<P>(aNext[v][0], aNext[v][1]), packPair<P>(aNext[v][2], aNext[v][3])};
        *static_cast<uint2_t *>(__builtin_assume_aligned(
            &As[stage][(idx / (BK / 4)) * APitch + 4 * (idx % (BK / 4))], 8)) = words;
      }
    };
    // W chunk idx: group idx / 64 of the tile's BN / 16, pair (idx % 64) / 4 of the step's BK / 2, features
    // 4 · (idx % 4) + 0..3 of the group; 64 consecutive chunks are 1 KiB of contiguous packing.
    auto copyW = [&](effc_index_t k0, int stage) {
      if (kF32B)
        return;
#pragma unroll
      for (int l = 0; l < BChunks; ++l) {
        int idx = tid + l * kMmaThreads;
        int groupInTile = idx / 64, pairInStep = (idx % 64) / 4, quarter = idx % 4;
        effc_index_t group = n0 / 16 + groupInTile, pair = k0 / 2 + pairInStep;
        bool inside = group < groups && pair < pairs;
        const unsigned *source = packed + (inside ? (group * pairs + pair) * 16 + quarter * 4 : 0);
        unsigned *destination = &Bs[stage][pairInStep * BPitch + groupInTile * 16 + quarter * 4];
        if (vectorW) {
          copyAsync16(destination, source, inside ? 16 : 0);
        } else { // a packing that is not 16-byte aligned: the pair words one by one
#pragma unroll
          for (int e = 0; e < 4; ++e)
            copyAsync4(destination + e, source + (inside ? e : 0), inside ? 4 : 0);
        }
      }
    };
    // f32 B: this thread's column n0 + tid % BN, pairs tid / BN + l · (256 / BN) of the step; loaded into
    // registers with the next step's A and rounded to bf16 pairs when stored.
    const effc_index_t bColumn = n0 + tid % BN;
    const bool bColumnInside = bColumn < N;
    const float *bPointer = B + (bColumnInside ? bColumn : 0);
    float bNext[BPairs][2];
    auto loadB = [&](effc_index_t k0) {
      if (!kF32B)
        return;
#pragma unroll
      for (int l = 0; l < BPairs; ++l) {
        effc_index_t k = k0 + 2 * (tid / BN + l * (kMmaThreads / BN));
#pragma unroll
        for (int e = 0; e < 2; ++e)
          bNext[l][e] = bColumnInside && k + e < K ? bPointer[(k + e) * ldb] : 0.0f;
      }
    };
    auto storeB = [&](int stage) {
      if (!kF32B)
        return;
#pragma unroll
      for (int l = 0; l < BPairs; ++l)
        Bs[stage][(tid / BN + l * (kMmaThreads / BN)) * BPitch + tid % BN] = packPair<P>(bNext[l][0], bNext[l][1]);
    };

    float acc[MT][NT][4];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          acc[i][j][e] = 0.0f;

    const effc_index_t steps = (K + BK - 1) / BK;
    if (steps > 0) {
      copyW(0, 0);
      commitCopies();
      loadA(0);
      loadB(0);
      storeA(0);
      storeB(0);
      waitCopies();
      barrier();
    }
    for (effc_index_t step = 0; step < steps; ++step) {
      const int stage = step % 2;
      const bool more = step + 1 < steps;
      if (more) {
        copyW((step + 1) * BK, stage ^ 1);
        commitCopies();
        loadA((step + 1) * BK);
        loadB((step + 1) * BK);
      }
#pragma unroll
      for (int kk = 0; kk < BK; kk += 16) {
        unsigned a[MT][4], b[NT][2];
#pragma unroll
        for (int i = 0; i < MT; ++i) {
          // Lanes 0-15 address rows 0-15 at k = kk, lanes 16-31 the same rows at kk + 8: the four 8 x 8
          // matrices come back in the order of mma's A fragment (a0..a3).
          int row = warpM * WM + i * 16 + lane % 16, col = kk + (lane / 16) * 8;
          loadMatrixX4(a[i], &As[stage][row * APitch + col]);
        }
#pragma unroll
        for (int j = 0; j < NT; ++j) {
          // B fragment: feature lane / 4 of the n8 tile, k pairs lane % 4 and lane % 4 + 4 of the k16 slice.
          int col = warpN * WN + j * 8 + lane / 4, pair = kk / 2 + lane % 4;
          b[j][0] = Bs[stage][pair * BPitch + col];
          b[j][1] = Bs[stage][(pair + 4) * BPitch + col];
        }
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
          for (int j = 0; j < NT; ++j)
            mma16816<P>(acc[i][j], a[i], b[j]);
      }
      if (more) {
        storeA(stage ^ 1);
        storeB(stage ^ 1);
        waitCopies();
      }
      barrier();
    }

    // Accumulator e of tile (i, j): row lane / 4 (+ 8 for e >= 2), column 2 · (lane % 4) + e % 2.
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      effc_index_t col0 = n0 + warpN * WN + j * 8 + 2 * (lane % 4);
      float bias0 = 0.0f, bias1 = 0.0f;
      if (bias) {
        bias0 = col0 < N ? bias[col0] : 0.0f;
        bias1 = col0 + 1 < N ? bias[col0 + 1] : 0.0f;
      }
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          effc_index_t row = m0 + warpM * WM + i * 16 + lane / 4 + 8 * half;
          if (row >= M)
            continue;
          float *out = C + row * ldc + col0;
          if (col0 < N)
            out[0] = (kF32B ? out[0] : bias0) + acc[i][j][2 * half];
          if (col0 + 1 < N)
            out[1] = (kF32B ? out[1] : bias1) + acc[i][j][2 * half + 1];
        }
    }
  }
};

} // namespace

EFFC_CUDA_UK void effc_cuda_uk_bf16_gemm_128x128(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                                 effc_index_t lda, effc_index_t ak, const unsigned short *W,
                                                 const float *bias, float *C, effc_index_t ldc) {
  MmaTile<128, 128, 2, 4, false>::run(M, N, K, A, lda, ak, W, nullptr, 0, bias, C, ldc);
}

EFFC_CUDA_UK void effc_cuda_uk_bf16_gemm_64x64(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                               effc_index_t lda, effc_index_t ak, const unsigned short *W,
                                               const float *bias, float *C, effc_index_t ldc) {
  MmaTile<64, 64, 2, 4, false>::run(M, N, K, A, lda, ak, W, nullptr, 0, bias, C, ldc);
}

// C[M, N] += A[M, K] · B[K, N] in f32 storage with bf16 (or f16) products and f32 accumulation: the tensor-core
// forms of gemm.cu's effc_cuda_uk_sgemm_*, with the same arguments.
EFFC_CUDA_UK void effc_cuda_uk_bf16_sgemm_128x128(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                                  effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                                  effc_index_t ldc) {
  MmaTile<128, 128, 2, 4, true>::run(M, N, K, A, lda, 1, nullptr, B, ldb, nullptr, C, ldc);
}

EFFC_CUDA_UK void effc_cuda_uk_bf16_sgemm_64x64(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                                effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                                effc_index_t ldc) {
  MmaTile<64, 64, 2, 4, true>::run(M, N, K, A, lda, 1, nullptr, B, ldb, nullptr, C, ldc);
}

EFFC_CUDA_UK void effc_cuda_uk_f16_sgemm_128x128(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                                 effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                                 effc_index_t ldc) {
  MmaTile<128, 128, 2, 4, true, Products::F16>::run(M, N, K, A, lda, 1, nullptr, B, ldb, nullptr, C, ldc);
}

EFFC_CUDA_UK void effc_cuda_uk_f16_sgemm_64x64(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                               effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                               effc_index_t ldc) {
  MmaTile<64, 64, 2, 4, true, Products::F16>::run(M, N, K, A, lda, 1, nullptr, B, ldb, nullptr, C, ldc);
}
