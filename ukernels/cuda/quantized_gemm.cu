//===- quantized_gemm.cu - int8 linear layers on the GPU -------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The device half of eff.quantized_linear's int8 scheme (W8A8; docs/spec/eff.md#effquantized_linear):
// y[M, N] = s_x · s_w · (acc − z_x · Σ_k w) + b, with the weights exactly as eff-quantize packed them for the
// CPU ([Np/16][Kp/4][16][4] int8: for each block of 16 output channels and each group of 4 k, the 4 bytes of
// every channel), so the CPU and GPU builds share one weight format. effc-gpu-quantized-linears launches:
//
//  * effc_cuda_uk_quantize_rows_s8: one block per activation row. The row is quantized exactly as
//    ukernels/quantized_gemm.c does it (dynamic: scale amax / 127, inverse 127 / amax, zero point 128; static:
//    the calibrated scale and zero point; round to nearest even, saturate to u8), every operation rounded as
//    on the CPU (no contraction into FMAs). The u8 value q is stored as the signed byte q − 128, which the
//    tensor cores multiply; since Σ_k q·w = Σ_k (q − 128)·w + 128 · Σ_k w, the GEMM's epilogue corrects by
//    (128 − z_x) · colsum instead of − z_x · colsum: the same int32 value, so the GPU's outputs equal the
//    CPU's bit for bit.
//  * effc_cuda_uk_qgemm_s8_128x128: a 128 x 128 tile per block of 256 threads (8 warps of 64 x 32), K in
//    steps of 32 staged in shared memory, mma.sync.m16n8k32 s8 x s8 -> s32, the next K step loaded into
//    registers while the current one is multiplied; the scale/bias epilogue on the accumulators.
//  * effc_cuda_uk_qgemv_s8: few rows (decode): each warp streams one 16-column block of the packed weights
//    (512 contiguous bytes per warp load) and multiplies with dp4a, up to 4 rows per pass over the weights.
//
// The packed weights are read as 16-byte words, so they must be 16-byte aligned: they start a device copy of a
// weight (or a whole number of 16-channel blocks into one, as a fused QKV or an expert's rows), always a
// multiple of 64 bytes in.
// Quantized activations are [M][ldq] signed bytes with lda a multiple of 32 (zero padding past K), so the
// GEMM reads whole 32-byte steps without guards in k; weight groups past Kp/4 and blocks past Np/16 read as
// zero; every store is guarded by M and N.
//
//===----------------------------------------------------------------------===//

#include "dequant_tile.h"

using namespace effc_cuda;

namespace {

constexpr int kThreads = 256;

// IEEE operations as the CPU kernel performs them: clang contracts a · b + c into an FMA in CUDA code.
__device__ inline float mulRn(float a, float b) { return __nvvm_mul_rn_f(a, b); }
__device__ inline float addRn(float a, float b) { return __nvvm_add_rn_f(a, b); }
__device__ inline float divRn(float a, float b) { return __nvvm_div_rn_f(a, b); }

__device__ inline int dp4a(unsigned a, unsigned b, int c) {
  int d;
  asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}

__device__ inline int shuffleXor(int v, int laneMask) {
  int r;
  asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=r"(r) : "r"(v), "r"(laneMask));
  return r;
}

/// c += a · b for one m16n8k32 tile: a row-major 16 x 32 s8 (4 registers), b column-major 32 x 8 (2).
__device__ inline void mmaS8(int (&c)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
               "{%8, %9}, {%0, %1, %2, %3};"
               : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/// The epilogue of one output element (the CPU's int8_epilogue_row, operation for operation).
__device__ inline float dequantize(int acc, int correction, int colsum, float rowScale, float weightScale,
                                   const float *bias, effc_index_t col) {
  float t = (float)(acc + correction * colsum);
  float v = mulRn(t, mulRn(rowScale, weightScale));
  return bias ? addRn(v, bias[col]) : v;
}

} // namespace

/// Quantizes row blockIdx.x of x (row i = b · S + s at x + b · batchStride + s · rowStride, elements
/// colStride apart) to q[i][0, K) as q_u8 − 128, zero-filling q[i][K, ldq); rowScale[i] = the row's scale and
/// correction[i] = 128 − its zero point. staticScale > 0 selects static quantization with staticZero.
EFFC_CUDA_UK void effc_cuda_uk_quantize_rows_s8(effc_index_t K, const float *x, effc_index_t rowsPerBatch,
                                                effc_index_t batchStride, effc_index_t rowStride,
                                                effc_index_t colStride, float staticScale, effc_index_t staticZero,
                                                signed char *q, effc_index_t ldq, float *rowScale,
                                                int *correction) {
  __shared__ float partial[kThreads];
  const int tid = threadIndex();
  const effc_index_t i = blockIndexX();
  const float *row = x + (i / rowsPerBatch) * batchStride + (i % rowsPerBatch) * rowStride;
  float scale, inv;
  int zero;
  if (staticScale > 0.0f) {
    scale = staticScale;
    zero = (int)staticZero;
    inv = divRn(1.0f, scale);
  } else {
    float amax = 0.0f;
    for (effc_index_t k = tid; k < K; k += kThreads) {
      float v = __builtin_fabsf(row[k * colStride]);
      amax = amax > v ? amax : v;
    }
    partial[tid] = amax;
    barrier();
    for (int half = kThreads / 2; half > 0; half /= 2) {
      if (tid < half)
        partial[tid] = partial[tid] > partial[tid + half] ? partial[tid] : partial[tid + half];
      barrier();
    }
    amax = partial[0] < 0x1p-100f ? 0.0f : partial[0]; // as the CPU kernel: 127 / amax would overflow
    scale = amax > 0.0f ? divRn(amax, 127.0f) : 1.0f;
    inv = amax > 0.0f ? divRn(127.0f, amax) : 0.0f;
    zero = 128;
  }
  signed char *out = q + i * ldq;
  for (effc_index_t k = tid; k < ldq; k += kThreads) {
    int value = 0;
    if (k < K) {
      float v = addRn(__builtin_rintf(mulRn(row[k * colStride], inv)), (float)zero);
      v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
      value = (int)v - 128;
    }
    out[k] = (signed char)value;
  }
  if (tid == 0) {
    rowScale[i] = scale;
    correction[i] = 128 - zero;
  }
}

/// y[M, N] (row stride ldy) from the quantized activations q [M][ldq] and the packed weights w
/// ([ceil(N/16)][Kp/4][16][4]; Kp = K rounded up to 4), by 128 x 128 tiles: block x walks N, block y M.
EFFC_CUDA_UK void effc_cuda_uk_qgemm_s8_128x128(effc_index_t M, effc_index_t N, effc_index_t K,
                                                const signed char *q, effc_index_t ldq, const float *rowScale,
                                                const int *correction, const signed char *w, const int *colsum,
                                                const float *weightScale, const float *bias, float *y,
                                                effc_index_t ldy) {
  constexpr int BM = 128, BN = 128, BK = 32;
  // Rows of 32 bytes padded to 48 (12 words): a fragment read (8 rows x 4 words) hits 32 distinct banks.
  constexpr int kRowWords = 12;
  __shared__ unsigned As[BM * kRowWords] __attribute__((aligned(16)));
  __shared__ unsigned Bs[BN * kRowWords] __attribute__((aligned(16)));
  const int tid = threadIndex(), lane = tid % 32, warp = tid / 32;
  const int group = lane / 4, inGroup = lane % 4;
  const int warpRow = (warp / 4) * 64, warpCol = (warp % 4) * 32;
  const effc_index_t m0 = (effc_index_t)blockIndexY() * BM, n0 = (effc_index_t)blockIndexX() * BN;
  const effc_index_t kGroups = (K + 3) / 4, nBlocks = (N + 15) / 16;

  // This thread's share of a K step: 16 bytes of A (row tid / 2, half tid % 2) and 16 bytes of the packed B
  // (column block tid / 32, k group (tid / 4) % 8, columns 4 · (tid % 4) .. + 3).
  const int aRow = tid / 2, aHalf = tid % 2;
  const bool aInside = m0 + aRow < M;
  const uint4_t *aPointer = (const uint4_t *)(q + (aInside ? m0 + aRow : 0) * ldq + aHalf * 16);
  const int bBlock = tid / 32, bGroup = (tid / 4) % 8, bQuad = tid % 4;
  const effc_index_t block = n0 / 16 + bBlock;
  const bool bBlockInside = block < nBlocks;
  const signed char *bBase = w + (bBlockInside ? block : 0) * kGroups * 64 + bQuad * 16;
  const uint4_t zero4 = {0, 0, 0, 0};
  auto loadA = [&](effc_index_t k0) { return aInside ? aPointer[k0 / 16] : zero4; };
  auto loadB = [&](effc_index_t k0) {
    effc_index_t g = k0 / 4 + bGroup;
    return bBlockInside && g < kGroups ? *(const uint4_t *)(bBase + g * 64) : zero4;
  };

  int acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r)
        acc[i][j][r] = 0;

  uint4_t aNext = loadA(0), bNext = loadB(0);
  for (effc_index_t k0 = 0; k0 < K; k0 += BK) {
    *(uint4_t *)&As[aRow * kRowWords + aHalf * 4] = aNext;
#pragma unroll
    for (int c = 0; c < 4; ++c)
      Bs[(bBlock * 16 + bQuad * 4 + c) * kRowWords + bGroup] = bNext[c];
    barrier();
    if (k0 + BK < K) {
      aNext = loadA(k0 + BK);
      bNext = loadB(k0 + BK);
    }
    unsigned a[4][4], b[4][2];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int r = warpRow + i * 16 + group;
      a[i][0] = As[r * kRowWords + inGroup];
      a[i][1] = As[(r + 8) * kRowWords + inGroup];
      a[i][2] = As[r * kRowWords + inGroup + 4];
      a[i][3] = As[(r + 8) * kRowWords + inGroup + 4];
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = warpCol + j * 8 + group;
      b[j][0] = Bs[c * kRowWords + inGroup];
      b[j][1] = Bs[c * kRowWords + inGroup + 4];
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
        mmaS8(acc[i][j], a[i], b[j]);
    barrier();
  }

  // Accumulator r of tile (i, j): row group (+8 for r >= 2), column 2 · inGroup + r % 2.
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const effc_index_t row = m0 + warpRow + i * 16 + group + half * 8;
      if (row >= M)
        continue;
      const float scale = rowScale[row];
      const int corr = correction[row];
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const effc_index_t col = n0 + warpCol + j * 8 + inGroup * 2 + e;
          if (col < N)
            y[row * ldy + col] =
                dequantize(acc[i][j][half * 2 + e], corr, colsum[col], scale, weightScale[col], bias, col);
        }
    }
}

/// The same product for few rows: block x covers 8 column blocks of 16 (one per warp); up to 4 rows at a time
/// share each pass over the weights.
EFFC_CUDA_UK void effc_cuda_uk_qgemv_s8(effc_index_t M, effc_index_t N, effc_index_t K, const signed char *q,
                                        effc_index_t ldq, const float *rowScale, const int *correction,
                                        const signed char *w, const int *colsum, const float *weightScale,
                                        const float *bias, float *y, effc_index_t ldy) {
  constexpr int kRows = 4;
  const int tid = threadIndex(), lane = tid % 32;
  const effc_index_t block = (effc_index_t)blockIndexX() * (kThreads / 32) + tid / 32;
  const effc_index_t kGroups = (K + 3) / 4;
  if (block * 16 >= N)
    return;
  // Lane: k group lane / 4 of every 8, columns 4 · (lane % 4) .. + 3 of the block.
  const int groupOffset = lane / 4, quad = lane % 4;
  const signed char *wBlock = w + block * kGroups * 64 + quad * 16;
  for (effc_index_t r0 = 0; r0 < M; r0 += kRows) {
    int acc[kRows][4];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
      for (int c = 0; c < 4; ++c)
        acc[r][c] = 0;
    for (effc_index_t g = groupOffset; g < kGroups; g += 8) {
      uint4_t weights = *(const uint4_t *)(wBlock + g * 64);
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        if (r0 + r >= M)
          break;
        unsigned activations = *(const unsigned *)(q + (r0 + r) * ldq + g * 4);
#pragma unroll
        for (int c = 0; c < 4; ++c)
          acc[r][c] = dp4a(weights[c], activations, acc[r][c]);
      }
    }
    // Lanes with the same quad hold partial sums of the same columns.
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
      for (int c = 0; c < 4; ++c)
#pragma unroll
        for (int mask = 4; mask < 32; mask *= 2)
          acc[r][c] += shuffleXor(acc[r][c], mask);
    if (groupOffset != 0)
      continue;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const effc_index_t row = r0 + r;
      if (row >= M)
        break;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const effc_index_t col = block * 16 + quad * 4 + c;
        if (col < N)
          y[row * ldy + col] =
              dequantize(acc[r][c], correction[row], colsum[col], rowScale[row], weightScale[col], bias, col);
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// int4 weight-only, group-wise
//===----------------------------------------------------------------------===//
//
// Weights as eff-quantize packed them for the CPU: nibbles [Np/16][K/2][16] (byte = q[k] | q[k+1] << 4),
// scales and zero points [Np/16][K/G][16] (no zero points: 8). Each weight is dequantised in registers,
// s · (q − z), and multiplied in f32 with activations staged in shared memory (the CPU sums Σ q · x per group
// and applies s and z to the sums: the same value up to f32 rounding).

namespace {

/// y[M, N] = x[M, K] · dequant(W)ᵀ + bias over a block of BM = 8 · RowGroups rows and BN = 256 / RowGroups
/// columns: thread t owns column t % BN and the 8 rows of row group t / BN; K in steps of 32, the step's
/// activations in shared memory (a warp reads the same element: a broadcast).
template <int RowGroups>
struct Int4Tile {
  static constexpr int TM = 8, BM = TM * RowGroups, BN = kThreads / RowGroups, BK = 32;

  __device__ static void run(effc_index_t M, effc_index_t N, effc_index_t K, const float *x,
                             effc_index_t rowsPerBatch, effc_index_t batchStride, effc_index_t rowStride,
                             effc_index_t colStride, const unsigned char *w, const float *scale, const float *zero,
                             effc_index_t group, const float *bias, float *y, effc_index_t ldy) {
    __shared__ float xs[BM][BK + 1];
    const int tid = threadIndex();
    const int col = tid % BN, rowGroup = tid / BN;
    const effc_index_t m0 = (effc_index_t)blockIndexY() * BM, n = (effc_index_t)blockIndexX() * BN + col;
    const effc_index_t nBlocks = (N + 15) / 16, groups = K / group;
    const bool inside = n / 16 < nBlocks;
    const effc_index_t block = inside ? n / 16 : 0, lane16 = n % 16;
    const unsigned char *wColumn = w + block * (K / 2) * 16 + lane16;
    const float *scaleColumn = scale + block * groups * 16 + lane16;
    const float *zeroColumn = zero ? zero + block * groups * 16 + lane16 : nullptr;
    float acc[TM];
#pragma unroll
    for (int r = 0; r < TM; ++r)
      acc[r] = 0.0f;
    float s = 0.0f, z = 8.0f;
    effc_index_t nextGroup = 0, g = 0;
    for (effc_index_t k0 = 0; k0 < K; k0 += BK) {
      // Stage the step: BM x BK activations, 256 threads, consecutive threads along k.
      stageActivationRows<BM, BK, kThreads>(xs, M, K, m0, k0, {x, rowsPerBatch, batchStride, rowStride, colStride});
      barrier();
      const int steps = K - k0 < BK ? (int)(K - k0) : BK;
      for (int kk = 0; kk < steps; kk += 2) {
        const effc_index_t k = k0 + kk;
        if (k == nextGroup) {
          s = inside ? scaleColumn[g * 16] : 0.0f;
          z = zeroColumn && inside ? zeroColumn[g * 16] : 8.0f;
          ++g;
          nextGroup += group;
        }
        const unsigned byte = inside ? wColumn[(k / 2) * 16] : 0u;
        const float w0 = s * ((float)(byte & 15u) - z), w1 = s * ((float)(byte >> 4) - z);
#pragma unroll
        for (int r = 0; r < TM; ++r)
          acc[r] = acc[r] + w0 * xs[rowGroup * TM + r][kk] + w1 * xs[rowGroup * TM + r][kk + 1];
      }
      barrier();
    }
    storeColumn(acc, M, N, m0 + rowGroup * TM, n, bias, y, ldy);
  }
};

} // namespace

/// int4 group-wise linear, 32 rows x 64 columns per block (block x walks N, block y M). x [B, S, K] with any
/// strides (row i = b · S + s); zero null: symmetric (zero point 8); bias null: none; rows of y ldy apart.
EFFC_CUDA_UK void effc_cuda_uk_qgemm_int4_32x64(effc_index_t M, effc_index_t N, effc_index_t K, const float *x,
                                                effc_index_t rowsPerBatch, effc_index_t batchStride,
                                                effc_index_t rowStride, effc_index_t colStride,
                                                const unsigned char *w, const float *scale, const float *zero,
                                                effc_index_t group, const float *bias, float *y, effc_index_t ldy) {
  Int4Tile<4>::run(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, w, scale, zero, group, bias, y, ldy);
}

/// The same for few rows (decode): 8 rows x 256 columns per block.
EFFC_CUDA_UK void effc_cuda_uk_qgemv_int4_8x256(effc_index_t M, effc_index_t N, effc_index_t K, const float *x,
                                                effc_index_t rowsPerBatch, effc_index_t batchStride,
                                                effc_index_t rowStride, effc_index_t colStride,
                                                const unsigned char *w, const float *scale, const float *zero,
                                                effc_index_t group, const float *bias, float *y, effc_index_t ldy) {
  Int4Tile<1>::run(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, w, scale, zero, group, bias, y, ldy);
}
