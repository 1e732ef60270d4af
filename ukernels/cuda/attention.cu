//===- attention.cu - fused (flash-style) f32 attention on the GPU -*- CUDA -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// eff.attention (docs/spec/eff.md#effattention) in one kernel, the device counterpart of ukernels/attention.c
// and called with the same operands: query [B, S, H·Dh], keys and values [B, L', Hkv·Dh] after an optional KV
// cache [B, P, Hkv·Dh] (the keys attended to are the cache followed by the new ones, L = P + L'), an optional
// f32 padding mask [B, L] (0 = hidden), a scale, causal masking (key j is hidden from query i when
// j > i + L − S) and grouped-query heads (query head h reads key/value head h / (H / Hkv)). Every operand is
// addressed through its own strides. Dh ≤ 128 (kMaxHeadDim); the lowering (effc-gpu-attention-ukernels)
// launches the kernel only then.
//
// Scores never reach global memory. Each warp keeps, for each of its query rows, the running maximum m and
// sum l of the online softmax (in the base-2 domain: the query is multiplied by scale · log2 e, so that
// exp becomes ex2.approx) and its output row in registers (lane d owns channels d, d + 32, ...):
//
//   s = q·k_j (−inf where masked);  m' = max(m, max_j s);  α = 2^(m − m');  p_j = 2^(s_j − m');
//   l = α·l + Σ p_j;  o = α·o + Σ_j p_j·v_j;  finally out = o / l (zeros for a row that sees no key).
//
// Three entry points:
// - effc_cuda_uk_attention_f32 (prefill): 128 threads, block (x, y) = (b·H + h, block of 16 query rows); 4
//   warps of 4 rows each. Tiles of 32 keys and values are staged in shared memory by the whole block; in a
//   tile, lane j scores key j against the warp's 4 rows (keys padded in shared memory so that the lanes'
//   float4 reads do not conflict), and P·V reads the probabilities back from shared memory. Key tiles past
//   the causal limit of the block's last row are skipped.
// - effc_cuda_uk_attention_decode_f32 (few query rows, a decode step against a KV cache): 256 threads,
//   block (x, y) = (b·H + h, query row i). The 8 warps split the keys (warp w takes tiles w, w + 8, ...: flash
//   decoding within a block), read keys and values straight from global memory, and their partial (m, l, o)
//   are combined through shared memory at the end.
// - effc_cuda_uk_attention_mma_{bf16,f16}_d{64,128} (prefill on tensor cores, --cuda-matmul-precision=bf16 or f16;
//   head sizes up to 64 or 128): 128 threads, block (x, y) = (b·H + h, block of 64 query rows), each warp 16 rows,
//   flash-attention-2 style. Q (scaled), then per tile of 64 keys (32 for _d128) K and V, are rounded to the product
//   format and staged in shared memory; the warp keeps its Q fragments in registers (_d64; _d128 re-reads them from
//   shared memory), computes the 16 x 64 (16 x 32) scores with mma.sync (K read with ldmatrix), applies the masks and
//   the online softmax to the accumulator fragments (a row's 64 scores are spread over the 4 lanes of a quad: quad
//   shuffles reduce), packs the probabilities into A fragments as they are (an m16n8 accumulator pair is an m16k16 A
//   fragment) and accumulates P·V with mma.sync (V read with ldmatrix.trans). m and l stay in f32; the sums of P·V
//   use the probabilities rounded to the product format, as flash-attention does.
//
// Control flow is uniform across a block (rows past S are computed and not stored), so the unit test can run
// a block's threads as host threads and emulate the warp primitives with block barriers.
//
//===----------------------------------------------------------------------===//

#include "ptx.h"

using effc_cuda::Products;

namespace {

constexpr int kMaxHeadDim = 128;
constexpr int kWarpSize = 32;
constexpr int kKeyTile = 32;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kNegInf = -__builtin_huge_valf();

#ifndef EFFC_CUDA_UK_HOST_EMULATION
// Warp primitives (the host emulation in test/ukernels/cuda_attention_host.cpp defines the same names).
__device__ inline float warpMax(float x) {
  for (int offset = 16; offset > 0; offset /= 2)
    x = __builtin_fmaxf(x, __nvvm_shfl_sync_bfly_f32(0xffffffffu, x, offset, 0x1f));
  return x;
}
__device__ inline float warpSum(float x) {
  for (int offset = 16; offset > 0; offset /= 2)
    x += __nvvm_shfl_sync_bfly_f32(0xffffffffu, x, offset, 0x1f);
  return x;
}
__device__ inline void warpSync() { __nvvm_bar_warp_sync(0xffffffffu); }
/// Maximum and sum over the 4 lanes of a quad (lanes 4q..4q+3: the lanes holding one row of an mma fragment).
__device__ inline float quadMax(float x) {
  for (int offset = 1; offset < 4; offset *= 2)
    x = __builtin_fmaxf(x, __nvvm_shfl_sync_bfly_f32(0xffffffffu, x, offset, 0x1f));
  return x;
}
__device__ inline float quadSum(float x) {
  for (int offset = 1; offset < 4; offset *= 2)
    x += __nvvm_shfl_sync_bfly_f32(0xffffffffu, x, offset, 0x1f);
  return x;
}
/// 2^x (ex2.approx: relative error about 2^-22; 2^-inf = 0).
__device__ inline float exp2Approx(float x) { return __nvvm_ex2_approx_f(x); }
#endif

/// An operand in the hidden layout, [batch, row, channel], with element strides.
struct Operand3 {
  const float *data;
  effc_index_t batchStride, rowStride, colStride;
  __device__ const float &at(effc_index_t b, effc_index_t row, effc_index_t col) const {
    return data[b * batchStride + row * rowStride + col * colStride];
  }
};

/// What both entry points share: shapes, operands and the masks.
struct Problem {
  effc_index_t queryLen, newKeyLen, pastLen, keyLen, heads, kvHeads, headDim;
  Operand3 q, k, v, pastK, pastV;
  const float *mask;
  effc_index_t maskBatchStride, maskColStride;
  float *out;
  effc_index_t outBatchStride, outRowStride, outColStride;
  float scale; // scale · log2 e
  bool causal, hasMask;

  /// Element d of key (or value, with `values`) j of kv head g: the cache first, then the new keys.
  __device__ float keyValue(bool values, effc_index_t b, effc_index_t j, effc_index_t g, effc_index_t d) const {
    effc_index_t col = g * headDim + d;
    if (j < pastLen)
      return (values ? pastV : pastK).at(b, j, col);
    return (values ? v : k).at(b, j - pastLen, col);
  }
  /// Whether query row i may attend to key j (j < keyLen).
  __device__ bool visible(effc_index_t b, effc_index_t i, effc_index_t j) const {
    if (causal && j > i + keyLen - queryLen)
      return false;
    return !hasMask || mask[b * maskBatchStride + j * maskColStride] != 0.0f;
  }
  /// One past the last key that query row i can see.
  __device__ effc_index_t keyLimit(effc_index_t i) const {
    if (!causal)
      return keyLen;
    effc_index_t limit = i + keyLen - queryLen + 1;
    return limit < 0 ? 0 : (limit > keyLen ? keyLen : limit);
  }
};

/// Online softmax update of one row with this lane's score `s` (already −inf where masked): returns p_j and
/// rescales the row's maximum `m`, the lane's partial sum `l` and the output registers by α.
template <int kOutputs>
__device__ inline float onlineSoftmaxStep(float s, float &m, float &l, float (&o)[kOutputs]) {
  float tileMax = warpMax(s);
  float next = __builtin_fmaxf(m, tileMax);
  float shift = next == kNegInf ? 0.0f : next; // nothing visible yet: every p is 0, keep o and l at 0
  float alpha = exp2Approx(m - shift);
  float p = exp2Approx(s - shift);
  l = l * alpha + p;
  for (int t = 0; t < kOutputs; ++t)
    o[t] *= alpha;
  m = next;
  return p;
}

__device__ inline Problem makeProblem(effc_index_t queryLen, effc_index_t newKeyLen, effc_index_t pastLen,
                                      effc_index_t heads, effc_index_t kvHeads, effc_index_t headDim, const float *q,
                                      effc_index_t qs0, effc_index_t qs1, effc_index_t qs2, const float *k,
                                      effc_index_t ks0, effc_index_t ks1, effc_index_t ks2, const float *v,
                                      effc_index_t vs0, effc_index_t vs1, effc_index_t vs2, const float *pastK,
                                      effc_index_t pks0, effc_index_t pks1, effc_index_t pks2, const float *pastV,
                                      effc_index_t pvs0, effc_index_t pvs1, effc_index_t pvs2, const float *mask,
                                      effc_index_t ms0, effc_index_t ms1, float *out, effc_index_t os0,
                                      effc_index_t os1, effc_index_t os2, float scale, effc_index_t causal,
                                      effc_index_t hasMask) {
  Problem p;
  p.queryLen = queryLen, p.newKeyLen = newKeyLen, p.pastLen = pastLen, p.keyLen = pastLen + newKeyLen;
  p.heads = heads, p.kvHeads = kvHeads, p.headDim = headDim;
  p.q = {q, qs0, qs1, qs2};
  p.k = {k, ks0, ks1, ks2};
  p.v = {v, vs0, vs1, vs2};
  p.pastK = {pastK, pks0, pks1, pks2};
  p.pastV = {pastV, pvs0, pvs1, pvs2};
  p.mask = mask, p.maskBatchStride = ms0, p.maskColStride = ms1;
  p.out = out, p.outBatchStride = os0, p.outRowStride = os1, p.outColStride = os2;
  p.scale = scale * kLog2e;
  p.causal = causal != 0, p.hasMask = hasMask != 0;
  return p;
}

constexpr int kPrefillWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kPrefillRows = kPrefillWarps * kRowsPerWarp;
constexpr int kKeyPitch = kMaxHeadDim + 4; // floats per staged key row: 16-byte aligned, conflict-free float4
constexpr int kOutputsPerLane = kMaxHeadDim / kWarpSize;

constexpr int kDecodeWarps = 8;

constexpr int kMmaWarps = 4;
constexpr int kMmaRows = kMmaWarps * 16; // query rows per block: 16 per warp (mma's M)
// 16-bit elements per staged row: 272 bytes, so the 8 rows of an ldmatrix phase fall in distinct banks.
constexpr int kMmaPitch = kMaxHeadDim + 8;
constexpr int kMmaStagedRows = 128; // key and value rows of a tile, and the queries where they are kept

/// Shared memory of either kernel: one allocation, so that a model's kernel that may call both (the lowering
/// picks one at run time) stays within the 48 KiB of static shared memory.
union SharedTiles {
  struct {
    float queries[kPrefillRows * kKeyPitch];
    float keys[kKeyTile * kKeyPitch];
    float values[kKeyTile * kMaxHeadDim];
    float probabilities[kPrefillWarps][kRowsPerWarp][kKeyTile];
  } prefill;
  struct {
    float query[kMaxHeadDim];
    float probabilities[kDecodeWarps][kKeyTile];
    float partialMax[kDecodeWarps], partialSum[kDecodeWarps];
    float partialOut[kDecodeWarps][kMaxHeadDim];
  } decode;
  struct {
    unsigned short rows[kMmaStagedRows * kMmaPitch]; // keys, values (and queries): see MmaPrefill
  } mma;
};
__shared__ __attribute__((aligned(16))) SharedTiles sharedTiles;

using effc_cuda::float4_t;
using effc_cuda::uint2_t;

/// Elements col .. col + 3 of row (b, row) of x, zero from element `end` of the row on (end = col: all zero):
/// cuda_ukernel.h's loadFour, with the 16-byte load when the row is contiguous and the four aligned.
__device__ __attribute__((always_inline)) inline float4_t loadFour(const Operand3 &x, effc_index_t b, effc_index_t row,
                                                                   effc_index_t col, effc_index_t end) {
  const float *rowStart = x.data + b * x.batchStride + row * x.rowStride;
  const bool vector = x.colStride == 1 && (reinterpret_cast<unsigned long long>(rowStart + col) & 15) == 0;
  return effc_cuda::loadFour(rowStart, col, end, x.colStride, /*inside=*/true, vector);
}

/// Four floats rounded to the product format P, stored as 16-bit values at an 8-byte aligned address.
template <Products P>
__device__ __attribute__((always_inline)) inline void storeRounded(unsigned short *destination, float4_t four) {
  uint2_t words = {effc_cuda::packPair<P>(four[0], four[1]), effc_cuda::packPair<P>(four[2], four[3])};
  *static_cast<uint2_t *>(__builtin_assume_aligned(destination, 8)) = words;
}

/// Prefill on tensor cores for head sizes up to MaxDh (a multiple of 16), products in P: 4 warps of 16 query rows
/// per block. Up to 64 channels, tiles of 64 keys, and each warp keeps its Q fragments in registers (the queries
/// pass through the key rows first). Up to 128 channels, the output fragments alone take 64 registers: tiles of
/// 32 keys, and Q stays in shared memory after the tile's keys and values (re-read per tile), which keeps the
/// kernel within 255 registers.
template <Products P, int MaxDh>
struct MmaPrefill {
  static_assert(MaxDh % 16 == 0 && MaxDh <= kMaxHeadDim, "whole k steps within the staged rows");
  static constexpr bool QInRegisters = MaxDh <= 64;
  static constexpr int KeyTile = QInRegisters ? 64 : 32;
  static_assert(2 * KeyTile + (QInRegisters ? 0 : kMmaRows) <= kMmaStagedRows &&
                    (!QInRegisters || kMmaRows <= 2 * KeyTile),
                "keys, values and queries fit the staged rows");
  static constexpr int DSteps = MaxDh / 16;      // k steps of Q·Kᵀ
  static constexpr int DTiles = MaxDh / 8;       // n tiles of P·V (output channels)
  static constexpr int KeyTiles = KeyTile / 8;   // n tiles of Q·Kᵀ (keys)
  static constexpr int KeySteps = KeyTile / 16;  // k steps of P·V
  static constexpr int Quads = MaxDh / 4;        // groups of 4 channels per staged row
  static constexpr int Threads = kMmaWarps * kWarpSize;

  __device__ __attribute__((always_inline)) static void run(const Problem &p) {
    using effc_cuda::mma16816;
    unsigned short *keys = sharedTiles.mma.rows, *values = keys + KeyTile * kMmaPitch;
    unsigned short *queries = QInRegisters ? keys : values + KeyTile * kMmaPitch;
    const unsigned thread = effc_cuda::threadIndex(), lane = thread % kWarpSize, warp = thread / kWarpSize;
    const effc_index_t b = effc_cuda::blockIndexX() / p.heads, h = effc_cuda::blockIndexX() % p.heads;
    const effc_index_t g = h / (p.heads / p.kvHeads);
    const effc_index_t firstRow = effc_index_t(effc_cuda::blockIndexY()) * kMmaRows;
    const int dh = int(p.headDim), dSteps = (dh + 15) / 16, dTiles = (dh + 7) / 8;

    // The block's queries, scaled (scale · log2 e) and rounded, zero past Dh and past the last row. The A
    // fragment of k step ks of the warp's 16 rows:
    for (int e = thread; e < kMmaRows * Quads; e += Threads) {
      int r = e / Quads, d = 4 * (e % Quads);
      effc_index_t i = firstRow + r, col = h * dh + d;
      storeRounded<P>(&queries[r * kMmaPitch + d],
                      loadFour(p.q, b, i, col, i < p.queryLen ? h * dh + dh : col) * p.scale);
    }
    auto loadQuery = [&](unsigned (&fragment)[4], int ks) {
      effc_cuda::loadMatrixX4(fragment, &queries[(warp * 16 + lane % 16) * kMmaPitch + ks * 16 + (lane / 16) * 8]);
    };
    effc_cuda::barrier();
    unsigned qa[QInRegisters ? DSteps : 1][4];
    if constexpr (QInRegisters) {
#pragma unroll
      for (int ks = 0; ks < DSteps; ++ks)
        if (ks < dSteps)
          loadQuery(qa[ks], ks);
    }

    // Rows lane / 4 and lane / 4 + 8 of the warp's 16: their softmax state and output fragments.
    float m[2] = {kNegInf, kNegInf}, l[2] = {0.0f, 0.0f}, o[DTiles][4] = {};
    effc_index_t lastRow = firstRow + kMmaRows - 1 < p.queryLen ? firstRow + kMmaRows - 1 : p.queryLen - 1;
    // Keys up to the causal limit of the block's last row; those before the first row's are seen by all.
    const effc_index_t keyEnd = p.keyLimit(lastRow), sharedEnd = p.keyLimit(firstRow);
    for (effc_index_t tile = 0; tile < keyEnd; tile += KeyTile) {
      effc_cuda::barrier(); // the queries' fragments are loaded, or the previous tile is consumed
      for (int e = thread; e < KeyTile * Quads; e += Threads) {
        int jj = e / Quads, d = 4 * (e % Quads);
        effc_index_t j = tile + jj, col = g * dh + d, end = j < p.keyLen ? g * dh + dh : col;
        bool cached = j < p.pastLen;
        effc_index_t row = cached ? j : j - p.pastLen;
        storeRounded<P>(&keys[jj * kMmaPitch + d], loadFour(cached ? p.pastK : p.k, b, row, col, end));
        storeRounded<P>(&values[jj * kMmaPitch + d], loadFour(cached ? p.pastV : p.v, b, row, col, end));
      }
      effc_cuda::barrier();

      // S = Q·Kᵀ: B fragments of two key tiles per ldmatrix.x4 (matrices: keys 8jn.., channels 16ks + 0 / + 8,
      // then keys 8 (jn + 1)..).
      float s[KeyTiles][4] = {};
#pragma unroll
      for (int ks = 0; ks < DSteps; ++ks) {
        if (ks >= dSteps)
          continue;
        unsigned qs[4];
        if constexpr (!QInRegisters)
          loadQuery(qs, ks);
        const unsigned(&q)[4] = QInRegisters ? qa[ks] : qs;
#pragma unroll
        for (int jn = 0; jn < KeyTiles; jn += 2) {
          unsigned kb[4];
          effc_cuda::loadMatrixX4(
              kb, &keys[(jn * 8 + (lane / 16) * 8 + lane % 8) * kMmaPitch + ks * 16 + ((lane / 8) % 2) * 8]);
          const unsigned first[2] = {kb[0], kb[1]}, second[2] = {kb[2], kb[3]};
          mma16816<P>(s[jn], q, first);
          mma16816<P>(s[jn + 1], q, second);
        }
      }
      // Accumulator e of key tile jn: row lane / 4 + 8 (e / 2), key 8 jn + 2 (lane % 4) + e % 2.
      const bool allVisible = !p.hasMask && tile + KeyTile <= p.keyLen && (!p.causal || tile + KeyTile <= sharedEnd);
      if (!allVisible) {
#pragma unroll
        for (int jn = 0; jn < KeyTiles; ++jn)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            effc_index_t i = firstRow + warp * 16 + lane / 4 + 8 * (e / 2);
            effc_index_t j = tile + jn * 8 + 2 * (lane % 4) + e % 2;
            if (!(j < p.keyLen && p.visible(b, i, j)))
              s[jn][e] = kNegInf;
          }
      }
      // Online softmax of each of the thread's two rows (its 16 scores of the tile, the quad's 64 together).
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float tileMax = kNegInf;
#pragma unroll
        for (int jn = 0; jn < KeyTiles; ++jn)
          tileMax = __builtin_fmaxf(tileMax, __builtin_fmaxf(s[jn][2 * half], s[jn][2 * half + 1]));
        tileMax = quadMax(tileMax);
        float next = __builtin_fmaxf(m[half], tileMax);
        float shift = next == kNegInf ? 0.0f : next; // nothing visible yet: every p is 0, keep o and l at 0
        float alpha = exp2Approx(m[half] - shift), sum = 0.0f;
#pragma unroll
        for (int jn = 0; jn < KeyTiles; ++jn)
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            float probability = exp2Approx(s[jn][2 * half + c] - shift);
            s[jn][2 * half + c] = probability;
            sum += probability;
          }
        l[half] = l[half] * alpha + sum;
#pragma unroll
        for (int jd = 0; jd < DTiles; ++jd)
#pragma unroll
          for (int c = 0; c < 2; ++c)
            o[jd][2 * half + c] *= alpha;
        m[half] = next;
      }
      // O += P·V: key tiles 2kk and 2kk + 1 of P are the A fragment of k step kk as they are; V's B fragments
      // come transposed from its [key][channel] rows (matrices: keys 16kk + 0 / + 8, channels 8jd.., then
      // channels 8 (jd + 1)..).
#pragma unroll
      for (int kk = 0; kk < KeySteps; ++kk) {
        const unsigned pa[4] = {effc_cuda::packPair<P>(s[2 * kk][0], s[2 * kk][1]),
                                effc_cuda::packPair<P>(s[2 * kk][2], s[2 * kk][3]),
                                effc_cuda::packPair<P>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                effc_cuda::packPair<P>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
        for (int jd = 0; jd < DTiles; jd += 2) {
          if (jd >= dTiles)
            continue;
          unsigned vb[4];
          effc_cuda::loadMatrixX4Trans(
              vb, &values[(kk * 16 + ((lane / 8) % 2) * 8 + lane % 8) * kMmaPitch + jd * 8 + (lane / 16) * 8]);
          const unsigned first[2] = {vb[0], vb[1]}, second[2] = {vb[2], vb[3]};
          mma16816<P>(o[jd], pa, first);
          mma16816<P>(o[jd + 1], pa, second);
        }
      }
    }

    // Output fragment e of channel tile jd: row lane / 4 + 8 (e / 2), channel 8 jd + 2 (lane % 4) + e % 2.
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float total = quadSum(l[half]);
      float inverse = total > 0.0f ? 1.0f / total : 0.0f;
      effc_index_t i = firstRow + warp * 16 + lane / 4 + 8 * half;
      if (i >= p.queryLen)
        continue;
#pragma unroll
      for (int jd = 0; jd < DTiles; ++jd)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          effc_index_t d = jd * 8 + 2 * (lane % 4) + c;
          if (d < dh)
            p.out[b * p.outBatchStride + i * p.outRowStride + (h * dh + d) * p.outColStride] =
                o[jd][2 * half + c] * inverse;
        }
    }
  }
};

} // namespace

#define EFFC_ATTENTION_PARAMS                                                                                        \
  effc_index_t queryLen, effc_index_t newKeyLen, effc_index_t pastLen, effc_index_t heads, effc_index_t kvHeads,    \
      effc_index_t headDim, const float *q, effc_index_t qs0, effc_index_t qs1, effc_index_t qs2, const float *k,  \
      effc_index_t ks0, effc_index_t ks1, effc_index_t ks2, const float *v, effc_index_t vs0, effc_index_t vs1,     \
      effc_index_t vs2, const float *pastK, effc_index_t pks0, effc_index_t pks1, effc_index_t pks2,              \
      const float *pastV, effc_index_t pvs0, effc_index_t pvs1, effc_index_t pvs2, const float *mask,              \
      effc_index_t ms0, effc_index_t ms1, float *out, effc_index_t os0, effc_index_t os1, effc_index_t os2,        \
      float scale, effc_index_t causal, effc_index_t hasMask
#define EFFC_ATTENTION_ARGS                                                                                          \
  queryLen, newKeyLen, pastLen, heads, kvHeads, headDim, q, qs0, qs1, qs2, k, ks0, ks1, ks2, v, vs0, vs1, vs2,     \
      pastK, pks0, pks1, pks2, pastV, pvs0, pvs1, pvs2, mask, ms0, ms1, out, os0, os1, os2, scale, causal, hasMask

/// Prefill: 128 threads; block x = b·H + h, block y = the block of 16 query rows.
EFFC_CUDA_UK void effc_cuda_uk_attention_f32(EFFC_ATTENTION_PARAMS) {
  float *queries = sharedTiles.prefill.queries, *keys = sharedTiles.prefill.keys;
  float *values = sharedTiles.prefill.values;
  auto &probabilities = sharedTiles.prefill.probabilities;

  const Problem p = makeProblem(EFFC_ATTENTION_ARGS);
  const unsigned thread = effc_cuda::threadIndex(), lane = thread % kWarpSize, warp = thread / kWarpSize;
  const effc_index_t b = effc_cuda::blockIndexX() / heads, h = effc_cuda::blockIndexX() % heads;
  const effc_index_t g = h / (heads / kvHeads);
  const effc_index_t firstRow = effc_index_t(effc_cuda::blockIndexY()) * kPrefillRows;
  // Shared-memory indices fit 32 bits (dh <= kMaxHeadDim).
  const int dh = int(p.headDim), dh4 = (dh + 3) / 4 * 4;
  const int threads = kPrefillWarps * kWarpSize;

  // The block's queries, scaled (scale · log2 e), zero past Dh and past the last row.
  for (int e = thread; e < kPrefillRows * dh4; e += threads) {
    int r = e / dh4, d = e % dh4;
    effc_index_t i = firstRow + r;
    queries[r * kKeyPitch + d] = i < p.queryLen && d < dh ? p.q.at(b, i, h * dh + d) * p.scale : 0.0f;
  }

  float m[kRowsPerWarp], l[kRowsPerWarp], o[kRowsPerWarp][kOutputsPerLane];
  for (int r = 0; r < kRowsPerWarp; ++r) {
    m[r] = kNegInf, l[r] = 0.0f;
    for (int t = 0; t < kOutputsPerLane; ++t)
      o[r][t] = 0.0f;
  }

  // Keys up to the causal limit of the block's last row.
  effc_index_t lastRow = firstRow + kPrefillRows - 1;
  effc_index_t keyEnd = p.keyLimit(lastRow < p.queryLen ? lastRow : p.queryLen - 1);
  for (effc_index_t tile = 0; tile < keyEnd; tile += kKeyTile) {
    effc_cuda::barrier(); // the previous tile is consumed (and, the first time, the queries are stored)
    for (int e = thread; e < kKeyTile * dh4; e += threads) {
      int jj = e / dh4, d = e % dh4;
      effc_index_t j = tile + jj;
      bool inside = j < p.keyLen && d < dh;
      keys[jj * kKeyPitch + d] = inside ? p.keyValue(false, b, j, g, d) : 0.0f;
      if (d < dh)
        values[jj * kMaxHeadDim + d] = inside ? p.keyValue(true, b, j, g, d) : 0.0f;
    }
    effc_cuda::barrier();

    // Scores of key `tile + lane` against the warp's rows.
    float s[kRowsPerWarp] = {};
    const float *key = &keys[lane * kKeyPitch];
    for (int d = 0; d < dh4; d += 4) {
      float k0 = key[d], k1 = key[d + 1], k2 = key[d + 2], k3 = key[d + 3];
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float *query = &queries[(warp * kRowsPerWarp + r) * kKeyPitch + d];
        s[r] += query[0] * k0 + query[1] * k1 + query[2] * k2 + query[3] * k3;
      }
    }
    effc_index_t j = tile + lane;
    for (int r = 0; r < kRowsPerWarp; ++r) {
      effc_index_t i = firstRow + warp * kRowsPerWarp + r;
      bool shown = j < p.keyLen && p.visible(b, i, j);
      probabilities[warp][r][lane] = onlineSoftmaxStep(shown ? s[r] : kNegInf, m[r], l[r], o[r]);
    }
    warpSync();

    // o += P·V over the tile: lane owns channels lane, lane + 32, ...
    for (int jj = 0; jj < kKeyTile; ++jj) {
      const float *value = &values[jj * kMaxHeadDim];
      for (int t = 0; t < kOutputsPerLane; ++t) {
        int d = lane + t * kWarpSize;
        float x = d < dh ? value[d] : 0.0f;
        for (int r = 0; r < kRowsPerWarp; ++r)
          o[r][t] += probabilities[warp][r][jj] * x;
      }
    }
    warpSync(); // the probabilities are read before the next tile overwrites them
  }

  for (int r = 0; r < kRowsPerWarp; ++r) {
    float sum = warpSum(l[r]);
    float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;
    effc_index_t i = firstRow + warp * kRowsPerWarp + r;
    if (i >= p.queryLen)
      continue;
    for (int t = 0; t < kOutputsPerLane; ++t) {
      effc_index_t d = lane + t * kWarpSize;
      if (d < dh)
        p.out[b * p.outBatchStride + i * p.outRowStride + (h * dh + d) * p.outColStride] = o[r][t] * inverse;
    }
  }
}

/// Decode (few query rows against a long KV cache): 256 threads; block x = b·H + h, block y = query row.
EFFC_CUDA_UK void effc_cuda_uk_attention_decode_f32(EFFC_ATTENTION_PARAMS) {
  float *query = sharedTiles.decode.query;
  auto &probabilities = sharedTiles.decode.probabilities;
  float *partialMax = sharedTiles.decode.partialMax, *partialSum = sharedTiles.decode.partialSum;
  auto &partialOut = sharedTiles.decode.partialOut;

  const Problem p = makeProblem(EFFC_ATTENTION_ARGS);
  const unsigned thread = effc_cuda::threadIndex(), lane = thread % kWarpSize, warp = thread / kWarpSize;
  const effc_index_t b = effc_cuda::blockIndexX() / heads, h = effc_cuda::blockIndexX() % heads;
  const effc_index_t g = h / (heads / kvHeads);
  const effc_index_t i = effc_cuda::blockIndexY();
  const effc_index_t dh = p.headDim;

  for (effc_index_t d = thread; d < dh; d += kDecodeWarps * kWarpSize)
    query[d] = p.q.at(b, i, h * dh + d) * p.scale;
  effc_cuda::barrier();

  float m = kNegInf, l = 0.0f, o[kOutputsPerLane] = {};
  effc_index_t keyEnd = p.keyLimit(i);
  // Every warp runs the same number of steps (uniform control flow); tiles past keyEnd are fully masked.
  effc_index_t steps = (keyEnd + kKeyTile * kDecodeWarps - 1) / (kKeyTile * kDecodeWarps);
  for (effc_index_t step = 0; step < steps; ++step) {
    effc_index_t tile = (step * kDecodeWarps + warp) * kKeyTile, j = tile + lane;
    bool shown = j < keyEnd && p.visible(b, i, j);
    float s = 0.0f;
    if (shown)
      for (effc_index_t d = 0; d < dh; ++d)
        s += query[d] * p.keyValue(false, b, j, g, d);
    probabilities[warp][lane] = onlineSoftmaxStep(shown ? s : kNegInf, m, l, o);
    warpSync();
    effc_index_t count = keyEnd - tile < kKeyTile ? keyEnd - tile : kKeyTile;
    for (effc_index_t jj = 0; jj < count; ++jj) {
      float pj = probabilities[warp][jj];
      for (int t = 0; t < kOutputsPerLane; ++t) {
        effc_index_t d = lane + t * kWarpSize;
        if (d < dh && pj != 0.0f)
          o[t] += pj * p.keyValue(true, b, tile + jj, g, d);
      }
    }
    warpSync();
  }

  // Combine the warps' partial softmax states: out = Σ_w 2^(m_w − M)·o_w / Σ_w 2^(m_w − M)·l_w.
  float sum = warpSum(l);
  if (lane == 0)
    partialMax[warp] = m, partialSum[warp] = sum;
  for (int t = 0; t < kOutputsPerLane; ++t)
    partialOut[warp][lane + t * kWarpSize] = o[t];
  effc_cuda::barrier();
  float total = kNegInf;
  for (int w = 0; w < kDecodeWarps; ++w)
    total = __builtin_fmaxf(total, partialMax[w]);
  float shift = total == kNegInf ? 0.0f : total, denominator = 0.0f;
  float weights[kDecodeWarps];
  for (int w = 0; w < kDecodeWarps; ++w) {
    weights[w] = exp2Approx(partialMax[w] - shift);
    denominator += weights[w] * partialSum[w];
  }
  float inverse = denominator > 0.0f ? 1.0f / denominator : 0.0f;
  for (effc_index_t d = thread; d < dh; d += kDecodeWarps * kWarpSize) {
    float x = 0.0f;
    for (int w = 0; w < kDecodeWarps; ++w)
      x += weights[w] * partialOut[w][d];
    p.out[b * p.outBatchStride + i * p.outRowStride + (h * dh + d) * p.outColStride] = x * inverse;
  }
}

/// Prefill on tensor cores (--cuda-matmul-precision=bf16 or f16): 128 threads; block x = b·H + h, block y = the
/// block of 64 query rows. _d64 for head sizes up to 64, _d128 up to 128.
EFFC_CUDA_UK void effc_cuda_uk_attention_mma_bf16_d64(EFFC_ATTENTION_PARAMS) {
  MmaPrefill<Products::Bf16, 64>::run(makeProblem(EFFC_ATTENTION_ARGS));
}
EFFC_CUDA_UK void effc_cuda_uk_attention_mma_bf16_d128(EFFC_ATTENTION_PARAMS) {
  MmaPrefill<Products::Bf16, 128>::run(makeProblem(EFFC_ATTENTION_ARGS));
}
EFFC_CUDA_UK void effc_cuda_uk_attention_mma_f16_d64(EFFC_ATTENTION_PARAMS) {
  MmaPrefill<Products::F16, 64>::run(makeProblem(EFFC_ATTENTION_ARGS));
}
EFFC_CUDA_UK void effc_cuda_uk_attention_mma_f16_d128(EFFC_ATTENTION_PARAMS) {
  MmaPrefill<Products::F16, 128>::run(makeProblem(EFFC_ATTENTION_ARGS));
}
