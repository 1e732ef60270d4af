//===- gemm.cu - tiled GEMM micro-kernels for the CUDA target -------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// C[M, N] += A[M, K] · B[K, N] in f32, row-major with leading dimensions lda, ldb, ldc (the innermost
// dimension of every operand is contiguous). effc-gpu-gemm-ukernels launches one block of 256 threads per
// BM x BN tile of C: block x walks the N tiles, block y the M tiles (batched contractions offset the pointers
// per block z before the call).
//
// Each block stages BM x BK of A and BK x BN of B in shared memory (A transposed, so that the inner loop
// reads both tiles along their contiguous dimension) and each thread accumulates a TM x TN register block
// of C, made of groups of 4 consecutive rows (columns) 64 apart: per step of k a thread reads its A and B
// values as float4s (one shared-memory instruction per 4 values, 4 FMAs per value); the reads of a quarter
// warp are broadcasts (A) or consecutive 16-byte words (B), without bank conflicts, and the final stores of
// C coalesce. The next K tile is loaded into registers while the current one is computed.
// Every global access is guarded, so M, N and K are arbitrary (out-of-range elements read as zero).
//
// Two tile shapes: 128 x 128 (8 x 8 per thread, BK = 8) for large products and 64 x 64 (4 x 4 per thread,
// BK = 16) where the large tiles would leave most of the GPU idle; the lowering picks one at run time.
//
// For at most 8 rows of A (a decode step) a tile would leave all but 8 of its rows idle and N / 64 blocks
// stream all of B: effc_cuda_uk_sgemv_f32 gives each block 32 columns of C and all of K instead (N / 32
// blocks). Its 256 threads are 8 column groups of 4 (one float4 of a B row each) x 32 rows of B per step, 4
// steps in flight; every B element is read once, A's elements come from the cache; the 32 partial sums of a
// column are reduced with shuffles within each warp and through shared memory across the 8 warps.
//
//===----------------------------------------------------------------------===//

#include "ptx.h"

using namespace effc_cuda;

namespace {

constexpr int kThreads = 256;
constexpr int kThreadsPerRow = 16; // 16 x 16 threads over the tile

template <int BM, int BN, int BK>
struct SgemmTile {
  static constexpr int TM = BM / kThreadsPerRow, TN = BN / kThreadsPerRow;
  // A thread's TM rows (TN columns) are TM / 4 groups of 4 consecutive ones, BM / (TM / 4) apart.
  static constexpr int RowGroups = TM / 4, ColGroups = TN / 4;
  static constexpr int RowGroupStride = BM / RowGroups, ColGroupStride = BN / ColGroups;
  static constexpr int kPad = 4;
  static_assert(TM % 4 == 0 && TN % 4 == 0, "register blocks are made of float4 reads");
  static constexpr int ALoads = BM * BK / kThreads, BLoads = BK * BN / kThreads;
  static_assert(BM * BK % kThreads == 0 && BK * BN % kThreads == 0, "tiles must split evenly over the block");

  __device__ static void run(effc_index_t M, effc_index_t N, effc_index_t K, const float *A, effc_index_t lda,
                             const float *B, effc_index_t ldb, float *C, effc_index_t ldc) {
    // A transposed (As[k][m]); its rows padded by 4 floats so that the transposing stores hit distinct banks.
    __shared__ float As[BK][BM + kPad] __attribute__((aligned(16)));
    __shared__ float Bs[BK][BN] __attribute__((aligned(16)));
    const int tid = threadIndex();
    const int tx = tid % kThreadsPerRow, ty = tid / kThreadsPerRow;
    const effc_index_t m0 = (effc_index_t)blockIndexY() * BM, n0 = (effc_index_t)blockIndexX() * BN;

    float aNext[ALoads], bNext[BLoads];
    // Element l of this thread's share of the A tile is (row, k) = (idx / BK, idx % BK), idx = tid + l·256;
    // of the B tile (k, col) = (idx / BN, idx % BN): consecutive threads read consecutive addresses. The
    // pointers and the row/column guards are computed once and the pointers advance by one K tile per step
    // (64-bit index arithmetic per element would cost registers that the accumulators need).
    const float *aPointer[ALoads], *bPointer[BLoads];
    bool aRowInside[ALoads], bColInside[BLoads];
    int aColumn[ALoads], bRow[BLoads];
#pragma unroll
    for (int l = 0; l < ALoads; ++l) {
      int idx = tid + l * kThreads;
      effc_index_t row = m0 + idx / BK;
      aColumn[l] = idx % BK;
      aRowInside[l] = row < M;
      aPointer[l] = A + (aRowInside[l] ? row : 0) * lda + aColumn[l];
    }
#pragma unroll
    for (int l = 0; l < BLoads; ++l) {
      int idx = tid + l * kThreads;
      effc_index_t col = n0 + idx % BN;
      bRow[l] = idx / BN;
      bColInside[l] = col < N;
      bPointer[l] = B + (effc_index_t)bRow[l] * ldb + (bColInside[l] ? col : 0);
    }
    const effc_index_t bStep = BK * ldb;
    auto loadTiles = [&](effc_index_t k0) {
#pragma unroll
      for (int l = 0; l < ALoads; ++l) {
        aNext[l] = aRowInside[l] && k0 + aColumn[l] < K ? *aPointer[l] : 0.0f;
        aPointer[l] += BK;
      }
#pragma unroll
      for (int l = 0; l < BLoads; ++l) {
        bNext[l] = bColInside[l] && k0 + bRow[l] < K ? *bPointer[l] : 0.0f;
        bPointer[l] += bStep;
      }
    };
    auto storeTiles = [&]() {
#pragma unroll
      for (int l = 0; l < ALoads; ++l) {
        int idx = tid + l * kThreads;
        As[idx % BK][idx / BK] = aNext[l];
      }
#pragma unroll
      for (int l = 0; l < BLoads; ++l) {
        int idx = tid + l * kThreads;
        Bs[idx / BN][idx % BN] = bNext[l];
      }
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j)
        acc[i][j] = 0.0f;

    loadTiles(0);
    storeTiles();
    barrier();
    for (effc_index_t k0 = 0; k0 < K; k0 += BK) {
      bool more = k0 + BK < K;
      if (more)
        loadTiles(k0 + BK);
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        float4_t a[RowGroups], b[ColGroups];
#pragma unroll
        for (int g = 0; g < RowGroups; ++g)
          a[g] = *static_cast<const float4_t *>(__builtin_assume_aligned(&As[kk][g * RowGroupStride + ty * 4], 16));
#pragma unroll
        for (int g = 0; g < ColGroups; ++g)
          b[g] = *static_cast<const float4_t *>(__builtin_assume_aligned(&Bs[kk][g * ColGroupStride + tx * 4], 16));
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j)
            acc[i][j] = __builtin_fmaf(a[i / 4][i % 4], b[j / 4][j % 4], acc[i][j]);
      }
      barrier();
      if (more) {
        storeTiles();
        barrier();
      }
    }

#pragma unroll
    for (int i = 0; i < TM; ++i) {
      effc_index_t row = m0 + (i / 4) * RowGroupStride + ty * 4 + i % 4;
      if (row >= M)
        continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        effc_index_t col = n0 + (j / 4) * ColGroupStride + tx * 4 + j % 4;
        if (col < N)
          C[row * ldc + col] += acc[i][j];
      }
    }
  }
};

constexpr int kGemvRows = 8;                         // rows of A (and C) per block
constexpr int kGemvColumns = 32;                     // columns of C per block
constexpr int kGemvGroups = kGemvColumns / 4;        // float4 column groups
constexpr int kGemvDepth = kThreads / kGemvGroups;   // rows of B per step
constexpr int kGemvSteps = 4;                        // steps whose loads are in flight together
constexpr int kWarps = kThreads / 32;
static_assert(kGemvRows * kGemvColumns == kThreads, "one output per thread in the final sum");

struct Sgemv {
  __device__ static void run(effc_index_t M, effc_index_t N, effc_index_t K, const float *A, effc_index_t lda,
                             const float *B, effc_index_t ldb, float *C, effc_index_t ldc) {
    __shared__ float partial[kWarps][kGemvRows][kGemvColumns];
    const int tid = threadIndex(), lane = tid % 32, warp = tid / 32;
    const int group = tid % kGemvGroups, depth = tid / kGemvGroups;
    const effc_index_t m0 = (effc_index_t)blockIndexY() * kGemvRows;
    const effc_index_t n0 = (effc_index_t)blockIndexX() * kGemvColumns, n = n0 + 4 * group;
    const int rows = M - m0 < kGemvRows ? int(M - m0) : kGemvRows;
    // B's rows as float4s when every row's columns n.. are 16-byte aligned (loadFour checks n + 4 <= N).
    const bool vector = ldb % 4 == 0 && (reinterpret_cast<unsigned long long>(B + n) & 15) == 0;
    const float *a = A + m0 * lda;

    float acc[kGemvRows][4] = {};
    for (effc_index_t k0 = depth; k0 < K; k0 += kGemvDepth * kGemvSteps) {
      float4_t b[kGemvSteps];
#pragma unroll
      for (int s = 0; s < kGemvSteps; ++s) {
        effc_index_t k = k0 + s * kGemvDepth;
        b[s] = loadFour(B + k * ldb, n, N, 1, k < K, vector);
      }
#pragma unroll
      for (int s = 0; s < kGemvSteps; ++s) {
        effc_index_t k = k0 + s * kGemvDepth;
        if (k >= K)
          continue;
#pragma unroll
        for (int m = 0; m < kGemvRows; ++m)
          if (m < rows) {
            float x = a[m * lda + k];
#pragma unroll
            for (int c = 0; c < 4; ++c)
              acc[m][c] += x * b[s][c];
          }
      }
    }

    // Lanes l, l + 8, l + 16, l + 24 of a warp hold the same columns: shuffles leave their sum in lanes 0-7.
#pragma unroll
    for (int m = 0; m < kGemvRows; ++m)
      if (m < rows)
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          acc[m][c] += shuffleXorF32(acc[m][c], 8);
          acc[m][c] += shuffleXorF32(acc[m][c], 16);
        }
    if (lane < kGemvGroups)
#pragma unroll
      for (int m = 0; m < kGemvRows; ++m)
#pragma unroll
        for (int c = 0; c < 4; ++c)
          partial[warp][m][4 * lane + c] = acc[m][c];
    barrier();
    const int m = tid / kGemvColumns, column = tid % kGemvColumns;
    if (m < rows && n0 + column < N) {
      float sum = 0.0f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w)
        sum += partial[w][m][column];
      C[(m0 + m) * ldc + n0 + column] += sum;
    }
  }
};

} // namespace

EFFC_CUDA_UK void effc_cuda_uk_sgemm_128x128(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                             effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                             effc_index_t ldc) {
  SgemmTile<128, 128, 8>::run(M, N, K, A, lda, B, ldb, C, ldc);
}

EFFC_CUDA_UK void effc_cuda_uk_sgemm_64x64(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                           effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                           effc_index_t ldc) {
  SgemmTile<64, 64, 16>::run(M, N, K, A, lda, B, ldb, C, ldc);
}

/// C[M, N] += A[M, K] · B[K, N] for few rows of A: block x = 32 columns, block y = 8 rows.
EFFC_CUDA_UK void effc_cuda_uk_sgemv_f32(effc_index_t M, effc_index_t N, effc_index_t K, const float *A,
                                         effc_index_t lda, const float *B, effc_index_t ldb, float *C,
                                         effc_index_t ldc) {
  Sgemv::run(M, N, K, A, lda, B, ldb, C, ldc);
}
