//===- lut_gemm.cu - LUT (binary-coding) quantized linear layers for the CUDA target ===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// y[M, N] = x[M, K] · Ŵᵀ + bias for `eff.quantized_linear lut` (nuQmm / LUT-GEMM's binary coding): Ŵ[n, k] =
// Σ_{i<B} α[n, g, i] · b_i[n, k] with b ∈ {−1, +1} and g = k / G (docs/spec/eff.md). The device form of the CPU
// kernel effc_uk_quantized_linear_lut (ukernels/quantized_gemm.c), reading eff-quantize's packing as it is:
// sign bits [Np/16][B][K/8][16] (one byte per output and 8 consecutive k, bit j for k = 8c + j, set: +1) and
// α [Np/16][K/G][B][16]. effc-gpu-quantized-linears launches it.
//
// Each weight is dequantised in registers, Σ_i ±α_i (B ≤ 4 adds per weight, shared by a thread's 8 rows), and
// multiplied in f32 with activations staged in shared memory, like the int4 kernel (quantized_gemm.cu). The CPU
// sums activations through 16-entry tables of ± sums instead: the same value up to f32 rounding.
//
//===----------------------------------------------------------------------===//

#include "dequant_tile.h"

using namespace effc_cuda;

namespace {

constexpr int kLutThreads = 256;

/// A block of BM = 8 · RowGroups rows and BN = 256 / RowGroups columns: thread t owns column t % BN and the 8
/// rows of row group t / BN; K in steps of 32 whose activations wait in shared memory (a warp reads the same
/// element: a broadcast).
template <int RowGroups>
struct LutTile {
  static constexpr int TM = 8, BM = TM * RowGroups, BN = kLutThreads / RowGroups, BK = 32;

  __device__ __attribute__((always_inline)) static void run(effc_index_t M, effc_index_t N, effc_index_t K,
                                                            const float *x, effc_index_t rowsPerBatch,
                                                            effc_index_t batchStride, effc_index_t rowStride,
                                                            effc_index_t colStride, const unsigned char *w,
                                                            const float *alpha, effc_index_t group,
                                                            effc_index_t bits, const float *bias, float *y,
                                                            effc_index_t ldy) {
    __shared__ float xs[BM][BK + 1];
    const int tid = threadIndex();
    const int col = tid % BN, rowGroup = tid / BN;
    const effc_index_t m0 = (effc_index_t)blockIndexY() * BM, n = (effc_index_t)blockIndexX() * BN + col;
    const effc_index_t nBlocks = (N + 15) / 16, groups = K / group, chunks = K / 8;
    const bool inside = n / 16 < nBlocks;
    const effc_index_t block = inside ? n / 16 : 0, lane16 = n % 16;
    const int planes = bits < 4 ? (int)bits : 4;
    const unsigned char *wColumn = w + block * bits * chunks * 16 + lane16;   // + (i · chunks + c) · 16
    const float *alphaColumn = alpha + block * groups * bits * 16 + lane16; // + (g · bits + i) · 16
    float acc[TM] = {};
    float a[4] = {};
    effc_index_t nextGroup = 0, g = 0;
    for (effc_index_t k0 = 0; k0 < K; k0 += BK) {
      // Stage the step: BM x BK activations, consecutive threads along k.
      stageActivationRows<BM, BK, kLutThreads>(xs, M, K, m0, k0, {x, rowsPerBatch, batchStride, rowStride, colStride});
      barrier();
      const int steps = K - k0 < BK ? (int)(K - k0) : BK; // a multiple of 8: G is, and divides K
      for (int kk = 0; kk < steps; kk += 8) {
        const effc_index_t k = k0 + kk;
        if (k == nextGroup) { // G is a multiple of 8: groups start on a chunk
#pragma unroll
          for (int i = 0; i < 4; ++i)
            a[i] = inside && i < planes ? alphaColumn[(g * bits + i) * 16] : 0.0f;
          ++g;
          nextGroup += group;
        }
        unsigned signs[4];
#pragma unroll
        for (int i = 0; i < 4; ++i)
          signs[i] = inside && i < planes ? wColumn[((effc_index_t)i * chunks + k / 8) * 16] : 0u;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          float wk = 0.0f;
#pragma unroll
          for (int i = 0; i < 4; ++i)
            wk += (signs[i] >> j) & 1u ? a[i] : -a[i];
#pragma unroll
          for (int r = 0; r < TM; ++r)
            acc[r] += wk * xs[rowGroup * TM + r][kk + j];
        }
      }
      barrier();
    }
    storeColumn(acc, M, N, m0 + rowGroup * TM, n, bias, y, ldy);
  }
};

} // namespace

#define EFFC_LUT_ARGS                                                                                               \
  effc_index_t M, effc_index_t N, effc_index_t K, const float *x, effc_index_t rowsPerBatch,                        \
      effc_index_t batchStride, effc_index_t rowStride, effc_index_t colStride, const unsigned char *w,           \
      const float *alpha, effc_index_t group, effc_index_t bits, const float *bias, float *y, effc_index_t ldy

/// LUT linear, 32 rows x 64 columns per block (block x walks N, block y M). x [B, S, K] with any strides (row i =
/// b · S + s); bias null: none; rows of y ldy apart.
EFFC_CUDA_UK void effc_cuda_uk_qgemm_lut_32x64(EFFC_LUT_ARGS) {
  LutTile<4>::run(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, w, alpha, group, bits, bias, y, ldy);
}

/// The same for few rows (decode): 8 rows x 256 columns per block.
EFFC_CUDA_UK void effc_cuda_uk_qgemv_lut_8x256(EFFC_LUT_ARGS) {
  LutTile<1>::run(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, w, alpha, group, bits, bias, y, ldy);
}

#undef EFFC_LUT_ARGS
