//===- quantized_gemm.c - GEMM/GEMV micro-kernels on quantized weights ----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The kernels behind eff.quantized_linear: y[B, S, N] = x[B, S, K] · Wᵀ + bias (M = B · S rows) with W stored as the eff-quantize
// pass packed it (docs/spec/eff.md#effquantized_linear gives the layouts; the pass and these kernels are
// the two halves of one format):
//
//  * int8  (W8A8): W per output channel symmetric int8, tiled [N/16][K/4][16][4] for vpdpbusd; activations
//          quantized per row to u8 with a zero point (dynamic, or static from calibration), int32 dot
//          products, and the epilogue y = s_x · s_w · (acc − z_x · Σ_k w) + b.
//  * int4  group-wise weights: nibbles [N/16][K/2][16] (byte = w[k] | w[k+1] << 4), scales and zero
//          points [N/16][K/G][16]; y = Σ_g s_g · (Σ_k q·x − z_g · Σ_k x). With G a multiple of 8 (W4A8)
//          activations are quantized per row and group to int8 and nibbles multiplied by vpdpbusd;
//          otherwise f32 activations multiply nibbles dequantised in registers. At M < 4 (decode) W4A8 walks
//          one column block after another, one linear weight stream; the f32 path runs a row against 4
//          column blocks, each a weight stream prefetched ahead.
//  * lut   binary-coding quantization (LUT-GEMM): W ≈ Σ_i α_i · b_i, b ∈ {−1, +1}. For every 4 activations a
//          16-entry table of all ± sums is built once per row; the packed sign patterns
//          [N/16][q][K/8][16] (byte = pattern[c] | pattern[c+1] << 4) index it (vpermps: 16 lookups per
//          instruction, no multiplies on weights); y = Σ_g Σ_i α_{g,i} · Σ lookups.
//  * bf16  weights [N/16][K/2][16][2] bf16, activations rounded to bf16, products accumulated in f32 (with
//          AVX512-BF16 by vdpbf16ps, 32 products per instruction; otherwise by FMAs on widened values).
//
// Every kernel has an AVX-512 path and a portable C path computing the same sums (int8 bit-exactly).
// Activations are first copied or quantized into scratch, so `x` may have any strides; rows are walked
// through the [B, S] strides, so the lowering never reshapes a [?, ?, K] activation to a matrix.
//
//===----------------------------------------------------------------------===//

#include "epilogue.h"
#include "gemm_schedule.h"
#include "ukernel.h"

#include <stdint.h>

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#define QG_AVX512 1
#endif
#if defined(QG_AVX512) && defined(__AVX512VNNI__)
#define QG_VNNI 1
#endif
#if defined(QG_AVX512) && defined(__AVX512BF16__)
#define QG_BF16 1
#endif

#define QG_INLINE static inline __attribute__((always_inline))
// Register tiles index arrays of vectors by loop counters: unrolled fully, every index is a constant and
// the arrays live in registers (a loop left rolled would keep them in memory, a store per instruction).
#define QG_UNROLL _Pragma("clang loop unroll(full)")


// Compiled models link only libc, so no libm calls: these inline on every target.
static float abs_f32(float v) { return __builtin_fabsf(v); }
static float max_f32(float a, float b) { return a > b ? a : b; }

/// max_k |x[k · stride]| over n elements (0 for none), 16 at a time where the elements are contiguous.
static float abs_max_f32(const float *x, int64_t n, int64_t stride) {
  float amax = 0.0f;
  int64_t k = 0;
#if defined(QG_AVX512)
  if (stride == 1) {
    // Four independent maxima, so that the loop is not one chain of vmaxps latencies.
    __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
    for (; k + 64 <= n; k += 64) {
      m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(x + k)));
      m1 = _mm512_max_ps(m1, _mm512_abs_ps(_mm512_loadu_ps(x + k + 16)));
      m2 = _mm512_max_ps(m2, _mm512_abs_ps(_mm512_loadu_ps(x + k + 32)));
      m3 = _mm512_max_ps(m3, _mm512_abs_ps(_mm512_loadu_ps(x + k + 48)));
    }
    for (; k + 16 <= n; k += 16)
      m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(x + k)));
    amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
  }
#endif
  for (; k < n; ++k)
    amax = max_f32(amax, abs_f32(x[k * stride]));
  return amax;
}

/// Round to nearest, ties to even (as vcvtps2dq and numpy.rint do), for any float.
static float round_even_f32(float v) {
  const float big = 8388608.0f; // 2^23: adding and subtracting it rounds to an integer in the default mode
  if (!(abs_f32(v) < big))
    return v;
  return v >= 0.0f ? (v + big) - big : (v - big) + big;
}

//===----------------------------------------------------------------------===//
// int8 W8A8
//===----------------------------------------------------------------------===//
//
// Activations are quantized (one parallel task per panel) straight into the order the register tile reads
// them: row panels of I8_MR rows, [ceil(M/MR)][Kp/4][MR][4] u8, so a tile's broadcasts walk one contiguous
// stream (MR · 4 bytes per k step) instead of MR rows Kp apart, and each task owns whole cache lines. The
// GEMM runs on the panel schedule above: row chunks of I8_CHUNK_BYTES of packed activations, 64-column
// panels, k blocks of I8_KC, so a 16 KiB block of the panel's weights stays in L1 (int32 partial sums
// wait in y between blocks), and weight lines are prefetched a few k steps ahead.

enum {
  I8_MR = GEMM_TILE_MR,            // register tile: 6 rows x 4 blocks of 16 columns (24 zmm accumulators),
  I8_NB = GEMM_TILE_NB,            // the shapes GEMM_TILE_SWITCH dispatches
  I8_PREFETCH_STEPS = 16,          // k steps (64-byte weight lines per block) prefetched ahead
  I8_CHUNK_BYTES = 256 * 1024,     // packed activations per row chunk
  I8_KC = 256,                     // k block: 256 x 64 weight bytes (16 KiB) stay in L1
};

typedef struct {
  uint8_t *a;         // packed activations [ceil(M/MR)][kp/4][MR][4] (u8)
  float *a_scale;     // [M]
  int32_t a_zero;     // every row's zero point: 128 (dynamic) or the static one
  const int8_t *w;    // [np/16][kp/4][16][4]
  const int32_t *colsum;
  const float *w_scale;
  const float *bias;  // null: none
  float *y;
  int64_t ldy;
  GemmSchedule schedule; // also M, N and K padded to 4 (kp)
  // Quantization step inputs.
  RowView x;
  int64_t k;
  float static_scale; // > 0: static activation quantization (zero point a_zero)
  EffcUkEpilogue epilogue; // activation and residual after the bias (flags 0: none)
} Int8Ctx;

/// The quantization of activation row `i` (whose elements are `x`): dynamic (scale amax/127, zero point 128;
/// a row whose largest magnitude is below 2^-100 counts as zero, since 127/amax would overflow for the
/// smallest ones) or the static range (zero point c->a_zero either way); stores the row's scale and returns
/// its inverse.
static float int8_row_quantization(Int8Ctx *c, int64_t i, const float *x) {
  float scale, inv;
  if (c->static_scale > 0.0f) {
    scale = c->static_scale;
    inv = 1.0f / scale;
  } else {
    float amax = abs_max_f32(x, c->k, c->x.col_stride);
    if (amax < 0x1p-100f)
      amax = 0.0f;
    scale = amax > 0.0f ? amax / 127.0f : 1.0f;
    inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  }
  c->a_scale[i] = scale;
  return inv;
}

#if defined(QG_AVX512)
/// 16 elements x[0, 16) quantized to u8: round to nearest even (MXCSR default), add the zero point, saturate
/// (the scalar loop's arithmetic). x / s is first clamped to [-256, 512], which saturates alike, so that values
/// far outside a static range (or ±inf) saturate instead of converting to INT_MIN (0, where 255 was due);
/// NaN goes to -256 (vmaxps returns its second operand), as the scalar loop's comparisons send it to 0.
QG_INLINE __m128i int8_quantize16(const float *x, __m512 inv, __m512i zero) {
  __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x), inv);
  v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-256.0f)), _mm512_set1_ps(512.0f));
  __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zero);
  q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_setzero_si512()), _mm512_set1_epi32(255));
  return _mm512_cvtepi32_epi8(q);
}
#endif

/// Quantizes the elements [k0, K) of activation row `i` into its panel slot (element k lives at
/// a[(k / 4) · MR · 4 + k % 4]); padding columns up to Kp get the zero point so they add nothing.
static void int8_quantize_row_from(Int8Ctx *c, int64_t i, const float *x, float inv, int64_t k0) {
  const int64_t xs = c->x.col_stride;
  const int32_t zero = c->a_zero;
  uint8_t *a = c->a + (i / I8_MR) * c->schedule.kp * I8_MR + (i % I8_MR) * 4;
  const int64_t stride = I8_MR * 4;
#if defined(QG_AVX512)
  if (xs == 1) {
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i vzero = _mm512_set1_epi32(zero);
    for (; k0 + 16 <= c->k; k0 += 16) {
      __m128i bytes = int8_quantize16(x + k0, vinv, vzero);
      uint8_t *dst = a + (k0 / 4) * stride;
      _mm_storeu_si32(dst, bytes);
      _mm_storeu_si32(dst + stride, _mm_srli_si128(bytes, 4));
      _mm_storeu_si32(dst + 2 * stride, _mm_srli_si128(bytes, 8));
      _mm_storeu_si32(dst + 3 * stride, _mm_srli_si128(bytes, 12));
    }
  }
#endif
  for (int64_t k = k0; k < c->k; ++k) {
    float q = round_even_f32(x[k * xs] * inv) + (float)zero;
    q = q >= 0.0f ? (q <= 255.0f ? q : 255.0f) : 0.0f; // NaN: 0
    a[(k / 4) * stride + k % 4] = (uint8_t)q;
  }
  for (int64_t k = c->k; k < c->schedule.kp; ++k)
    a[(k / 4) * stride + k % 4] = (uint8_t)zero;
}

/// Quantizes the rows of one panel; rows past M are zeroed (tiles read them, nothing stores them). A full
/// panel of contiguous rows is quantized 16 columns of all its rows at a time: the six rows' 4-byte groups
/// are interleaved by two permutes into the panel's 96 bytes for those columns, stored whole (storing each
/// row's groups one by one, 24 bytes apart, took most of the time of this step).
static void int8_quantize_panel(void *p, int64_t panel) {
  Int8Ctx *c = (Int8Ctx *)p;
  int64_t first = panel * I8_MR, last = min_i64(c->schedule.m, first + I8_MR);
  int64_t k0 = 0;
  const float *x[I8_MR];
  float inv[I8_MR];
  for (int64_t i = first; i < last; ++i) {
    x[i - first] = row_of(&c->x, i);
    inv[i - first] = int8_row_quantization(c, i, x[i - first]);
  }
#if defined(QG_AVX512)
  _Static_assert(I8_MR == 6, "the interleave below is written for panels of 6 rows");
  if (last - first == I8_MR && c->x.col_stride == 1) {
    // Output dword e of the 24 holds row e % 6's group e / 6: from rows 0-3 (one zmm) or rows 4-5 (another).
    const __m512i lo = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14);
    const __m512i hi = _mm512_setr_epi32(18, 22, 3, 7, 11, 15, 19, 23, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i vzero = _mm512_set1_epi32(c->a_zero);
    __m512 vinv[I8_MR];
    QG_UNROLL
    for (int r = 0; r < I8_MR; ++r)
      vinv[r] = _mm512_set1_ps(inv[r]);
    uint8_t *a = c->a + panel * c->schedule.kp * I8_MR;
    for (; k0 + 16 <= c->k; k0 += 16) {
      __m128i q[I8_MR];
      QG_UNROLL
      for (int r = 0; r < I8_MR; ++r)
        q[r] = int8_quantize16(x[r] + k0, vinv[r], vzero);
      __m512i rows03 = _mm512_inserti32x4(
          _mm512_inserti32x4(_mm512_inserti32x4(_mm512_castsi128_si512(q[0]), q[1], 1), q[2], 2), q[3], 3);
      __m512i rows45 = _mm512_inserti32x4(_mm512_castsi128_si512(q[4]), q[5], 1);
      uint8_t *dst = a + (k0 / 4) * I8_MR * 4;
      _mm512_storeu_si512((void *)dst, _mm512_permutex2var_epi32(rows03, lo, rows45));
      _mm256_storeu_si256((__m256i *)(dst + 64),
                          _mm512_castsi512_si256(_mm512_permutex2var_epi32(rows03, hi, rows45)));
    }
  }
#endif
  for (int64_t i = first; i < last; ++i)
    int8_quantize_row_from(c, i, x[i - first], inv[i - first], k0);
  if (last - first < I8_MR)
    for (int64_t k = 0; k < c->schedule.kp; k += 4)
      __builtin_memset(c->a + panel * c->schedule.kp * I8_MR + k * I8_MR + (last - first) * 4, 0,
                       (size_t)(first + I8_MR - last) * 4);
}

#if defined(QG_VNNI)
/// The tile's sums over k in [k0, k1): started from zero when k0 = 0, else from the int32 partial sums
/// that the previous k block left in y; left there as int32 when k1 < kp, else finished by the epilogue.
QG_INLINE void int8_tile(const Int8Ctx *c, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0, int64_t k1) {
  __m512i acc[I8_MR][I8_NB];
  float *yt = c->y + m0 * c->ldy + blk0 * 16;
  // Only the last block can be partial; its mask covers the columns below n.
  const __mmask16 last_mask = (__mmask16)((1u << min_i64(16, c->schedule.n - (blk0 + nb - 1) * 16)) - 1u);
  QG_UNROLL
  for (int i = 0; i < mr; ++i)
    QG_UNROLL
    for (int j = 0; j < nb; ++j)
      acc[i][j] = _mm512_setzero_si512();
  if (k0 != 0)
    QG_UNROLL
    for (int i = 0; i < mr; ++i)
      QG_UNROLL
      for (int j = 0; j < nb; ++j)
        acc[i][j] = _mm512_maskz_loadu_epi32(j == nb - 1 ? last_mask : 0xffff, yt + i * c->ldy + j * 16);
  const int64_t bstride = c->schedule.kp * 16;
  const int8_t *b = c->w + blk0 * bstride;
  const uint8_t *a = c->a + m0 * c->schedule.kp; // m0 is a panel start: (m0 / MR) * kp * MR
  for (int64_t k = k0; k < k1; k += 4) {
    __m512i w[I8_NB];
    QG_UNROLL
    for (int j = 0; j < nb; ++j) {
      const int8_t *line = b + j * bstride + k * 16;
      _mm_prefetch((const char *)(line + I8_PREFETCH_STEPS * 64), _MM_HINT_T0);
      w[j] = _mm512_loadu_si512((const void *)line);
    }
    QG_UNROLL
    for (int i = 0; i < mr; ++i) {
      int32_t word;
      __builtin_memcpy(&word, a + k * I8_MR + i * 4, 4);
      __m512i av = _mm512_set1_epi32(word);
      QG_UNROLL
      for (int j = 0; j < nb; ++j)
        acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, w[j]);
    }
  }
  if (k1 < c->schedule.kp) {
    QG_UNROLL
    for (int i = 0; i < mr; ++i)
      QG_UNROLL
      for (int j = 0; j < nb; ++j)
        _mm512_mask_storeu_epi32(yt + i * c->ldy + j * 16, j == nb - 1 ? last_mask : 0xffff, acc[i][j]);
    return;
  }
  QG_UNROLL
  for (int j = 0; j < nb; ++j) {
    int64_t n0 = (blk0 + j) * 16;
    int64_t cols = min_i64(16, c->schedule.n - n0);
    __mmask16 mask = (__mmask16)((1u << cols) - 1u);
    __m512 ws = _mm512_maskz_loadu_ps(mask, c->w_scale + n0);
    // z_x · colsum, the same for every row.
    __m512i zero_sums =
        _mm512_mullo_epi32(_mm512_set1_epi32(c->a_zero), _mm512_maskz_loadu_epi32(mask, c->colsum + n0));
    __m512 bias = c->bias ? _mm512_maskz_loadu_ps(mask, c->bias + n0) : _mm512_setzero_ps();
    QG_UNROLL
    for (int i = 0; i < mr; ++i) {
      int64_t row = m0 + i;
      __m512i corrected = _mm512_sub_epi32(acc[i][j], zero_sums);
      __m512 t = _mm512_cvtepi32_ps(corrected);
      __m512 scale = _mm512_mul_ps(_mm512_set1_ps(c->a_scale[row]), ws);
      __m512 v = c->bias ? _mm512_add_ps(_mm512_mul_ps(t, scale), bias) : _mm512_mul_ps(t, scale);
      if (c->epilogue.flags)
        v = (__m512)effc_uk_epilogue_v16(&c->epilogue, row, n0, (ep_v16)v, cols);
      _mm512_mask_storeu_ps(c->y + row * c->ldy + n0, mask, v);
    }
  }
}

static void int8_tile_dispatch(const Int8Ctx *c, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0,
                               int64_t k1) {
  GEMM_TILE_SWITCH(int8_tile, mr, nb)
}
#else
/// y = s_x · s_w · (acc − z_x · colsum) + b for one row and up to 16 columns starting at n0.
static void int8_epilogue_row(const Int8Ctx *c, int64_t row, int64_t n0, const int32_t *acc, int64_t cols) {
  float sx = c->a_scale[row];
  int32_t zx = c->a_zero;
  float *y = c->y + row * c->ldy + n0;
  for (int64_t j = 0; j < cols; ++j) {
    float t = (float)(acc[j] - zx * c->colsum[n0 + j]);
    float v = t * (sx * c->w_scale[n0 + j]);
    y[j] = c->bias ? v + c->bias[n0 + j] : v;
  }
  if (c->epilogue.flags)
    effc_uk_epilogue_apply(&c->epilogue, row, n0, y, cols);
}

/// Sums over all of K at once (the task passes one k block: k0 = 0, k1 = kp).
static void int8_tile_dispatch(const Int8Ctx *c, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0,
                               int64_t k1) {
  (void)k0, (void)k1;
  const int64_t bstride = c->schedule.kp * 16;
  const uint8_t *panel = c->a + m0 * c->schedule.kp;
  for (int i = 0; i < mr; ++i) {
    for (int j = 0; j < nb; ++j) {
      const int8_t *b = c->w + (blk0 + j) * bstride;
      int32_t acc[16] = {0};
      for (int64_t k = 0; k < c->schedule.kp; k += 4)
        for (int col = 0; col < 16; ++col)
          for (int t = 0; t < 4; ++t)
            acc[col] += (int32_t)panel[k * I8_MR + i * 4 + t] * (int32_t)b[k * 16 + col * 4 + t];
      int64_t n0 = (blk0 + j) * 16;
      int8_epilogue_row(c, m0 + i, n0, acc, min_i64(16, c->schedule.n - n0));
    }
  }
}
#endif

static void int8_gemm_tile(const void *c, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0, int64_t k1) {
  int8_tile_dispatch((const Int8Ctx *)c, m0, blk0, mr, nb, k0, k1);
}

static void int8_gemm_task(void *p, int64_t task) {
  const Int8Ctx *c = (const Int8Ctx *)p;
  gemm_run_task(&c->schedule, task, int8_gemm_tile, c);
}

static void int8_linear(RowView x, int64_t m, int64_t k, const int8_t *w,
                        const int32_t *colsum, const float *w_scale, const float *bias, float *y, int64_t ldy,
                        int64_t n, float static_scale, int32_t static_zero, const EffcUkEpilogue *epilogue) {
  if (m == 0 || n == 0)
    return;
  int64_t kp = round_up(k, 4);
  int64_t row_panels = (m + I8_MR - 1) / I8_MR;
  Int8Ctx c;
  __builtin_memset(&c, 0, sizeof(c));
  c.a = (uint8_t *)effc_uk_alloc((uint64_t)(row_panels * I8_MR * kp));
  c.a_scale = (float *)effc_uk_alloc((uint64_t)m * sizeof(float));
  c.w = w, c.colsum = colsum, c.w_scale = w_scale;
  c.bias = bias, c.y = y, c.ldy = ldy;
  c.x = x, c.k = k;
  c.static_scale = static_scale;
  c.a_zero = static_scale > 0.0f ? static_zero : 128;
  if (epilogue)
    c.epilogue = *epilogue;
#if defined(QG_VNNI)
  // One row panel reads each weight block once: no k blocks then (a GEMV streams W once either way).
  const int64_t kc = m <= I8_MR ? kp : I8_KC;
#else
  const int64_t kc = kp; // the portable tile sums over all of K at once
#endif
  c.schedule = gemm_schedule(m, n, kp, I8_MR, I8_NB, kc, kp, I8_CHUNK_BYTES);
  effc_uk_parallel_for(int8_quantize_panel, &c, row_panels);
  effc_uk_parallel_for(int8_gemm_task, &c, gemm_task_count(&c.schedule));
  effc_uk_free(c.a);
  effc_uk_free(c.a_scale);
}

//===----------------------------------------------------------------------===//
// int4 weight-only, group-wise
//===----------------------------------------------------------------------===//

// Row tiles of 8 rows x 1 block; for M < 4, 1 row x 4 blocks (f32 activations) or 1 row x 1 block, the
// blocks in order (W4A8). W4A8 takes groups of up to 65536 (below).
enum { I4_MR = 8, I4_NB = 4, I4_A8_MAX_GROUP = 65536 };
// How many bytes ahead of the loads the M < 4 tile prefetches each of its weight streams. A block's stream
// is short (K/2 · 16 bytes: 6 KiB at K = 768), too short for the hardware prefetcher to ramp up on.
#ifndef I4_PREFETCH
#define I4_PREFETCH 512
#endif
// The same for the W4A8 decode path's single linear stream (int4_a8_row_block).
#ifndef I4_LINEAR_PREFETCH
#define I4_LINEAR_PREFETCH 1024
#endif

typedef struct {
  // f32 activations (groups not a multiple of 8)
  const float *x;    // staged [M][K]
  const float *xsum; // [M][K/G]
  // int8 activations (W4A8, groups a multiple of 8)
  RowView rows;       // the activations as passed
  int8_t *xq;         // [M][K/8][2][4]: of every 8 k, the 4 even then the 4 odd
  float *xa;          // [M][K/G]: s_x / 16
  float *xb;          // [M][K/G]: s_x · Σ q_x
  const uint8_t *w;  // [np/16][K/2][16]
  const float *scale, *zero; // [np/16][K/G][16]; zero null: symmetric (8)
  const float *bias;
  float *y;
  int64_t ldy, m, n, k, group, bpt;
} Int4Ctx;

#if defined(QG_AVX512)
/// Column block `blk`'s scales and zero points of group `g` (the zero point 8 when symmetric).
QG_INLINE void int4_group_scales(const Int4Ctx *c, int64_t blk, int64_t g, __m512 *s, __m512 *z) {
  const int64_t at = (blk * (c->k / c->group) + g) * 16;
  *s = _mm512_loadu_ps(c->scale + at);
  *z = c->zero ? _mm512_loadu_ps(c->zero + at) : _mm512_set1_ps(8.0f);
}

/// Rows [m0, m0 + mr) of y over column block `blk`: `total[r]` plus the bias, in the columns below n.
QG_INLINE void int4_store_rows(const Int4Ctx *c, int64_t m0, int mr, int64_t blk, const __m512 *total) {
  const int64_t n0 = blk * 16, cols = min_i64(16, c->n - n0);
  const __mmask16 mask = (__mmask16)((1u << cols) - 1u);
  const __m512 bias = c->bias ? _mm512_maskz_loadu_ps(mask, c->bias + n0) : _mm512_setzero_ps();
  QG_UNROLL
  for (int r = 0; r < mr; ++r)
    _mm512_mask_storeu_ps(c->y + (m0 + r) * c->ldy + n0, mask, _mm512_add_ps(total[r], bias));
}

QG_INLINE void int4_tile(const Int4Ctx *c, int64_t m0, int64_t blk, int mr) {
  const int64_t groups = c->k / c->group;
  const uint8_t *w = c->w + blk * (c->k / 2) * 16;
  const __m512i low = _mm512_set1_epi32(15);
  __m512 total[I4_MR];
  for (int r = 0; r < mr; ++r)
    total[r] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512 acc[I4_MR];
    for (int r = 0; r < mr; ++r)
      acc[r] = _mm512_setzero_ps();
    const int64_t k0 = g * c->group;
    for (int64_t k = k0; k < k0 + c->group; k += 2) {
      __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + (k / 2) * 16)));
      __m512 lo = _mm512_cvtepi32_ps(_mm512_and_si512(v, low));
      __m512 hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4));
      for (int r = 0; r < mr; ++r) {
        const float *xr = c->x + (m0 + r) * c->k + k;
        acc[r] = _mm512_fmadd_ps(lo, _mm512_set1_ps(xr[0]), acc[r]);
        acc[r] = _mm512_fmadd_ps(hi, _mm512_set1_ps(xr[1]), acc[r]);
      }
    }
    __m512 s, z;
    int4_group_scales(c, blk, g, &s, &z);
    for (int r = 0; r < mr; ++r) {
      __m512 xs = _mm512_set1_ps(c->xsum[(m0 + r) * groups + g]);
      total[r] = _mm512_fmadd_ps(s, _mm512_fnmadd_ps(z, xs, acc[r]), total[r]);
    }
  }
  int4_store_rows(c, m0, mr, blk, total);
}

/// One row against `nb` column blocks (the M < 4 path: decode). Each block's nibbles are one weight stream
/// and its low and high nibbles feed separate accumulators, so 2 · nb FMA chains are in flight where the
/// row tile above would have one: at M = 1 that tile waits on FMA latency, this one on memory.
/// The row comes transformed (int4_decode_transform): for a byte b = lo | hi << 4 against (x0, x1),
/// lo · x0 + hi · x1 = lo · (x0 − x1/16) + b · (x1/16), so the high nibble needs no shift: the byte
/// converted to float stands for it, and a byte costs 5 vector instructions (vpmovzxbd, vpermps, vcvtdq2ps,
/// 2 FMAs) instead of 6. At decode the tile is bound by them, not by memory.
QG_INLINE void int4_row_tile(const Int4Ctx *c, int64_t row, int64_t blk0, int nb) {
  const int64_t groups = c->k / c->group;
  const int64_t bstride = (c->k / 2) * 16;
  const __m512 nibbles = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const float *xr = c->x + row * c->k;
  __m512 total[I4_NB];
  QG_UNROLL
  for (int j = 0; j < nb; ++j)
    total[j] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512 acc_lo[I4_NB], acc_hi[I4_NB];
    QG_UNROLL
    for (int j = 0; j < nb; ++j)
      acc_lo[j] = acc_hi[j] = _mm512_setzero_ps();
    const int64_t k0 = g * c->group;
    for (int64_t k = k0; k < k0 + c->group; k += 2) {
      __m512 x0 = _mm512_set1_ps(xr[k]), x1 = _mm512_set1_ps(xr[k + 1]);
      if (((k / 2) & 3) == 0) { // a new 64-byte line of every stream: prefetch the one I4_PREFETCH ahead
        QG_UNROLL
        for (int j = 0; j < nb; ++j)
          _mm_prefetch((const char *)(c->w + (blk0 + j) * bstride + (k / 2) * 16 + I4_PREFETCH), _MM_HINT_T0);
      }
      QG_UNROLL
      for (int j = 0; j < nb; ++j) {
        const uint8_t *w = c->w + (blk0 + j) * bstride + (k / 2) * 16;
        __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)w));
        // vpermps reads the index's low 4 bits: one lookup in {0, ..., 15} dequantizes the low nibble.
        acc_lo[j] = _mm512_fmadd_ps(_mm512_permutexvar_ps(v, nibbles), x0, acc_lo[j]);
        acc_hi[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), x1, acc_hi[j]);
      }
    }
    __m512 xs = _mm512_set1_ps(c->xsum[row * groups + g]);
    QG_UNROLL
    for (int j = 0; j < nb; ++j) {
      __m512 s, z;
      int4_group_scales(c, blk0 + j, g, &s, &z);
      total[j] = _mm512_fmadd_ps(s, _mm512_fnmadd_ps(z, xs, _mm512_add_ps(acc_lo[j], acc_hi[j])), total[j]);
    }
  }
  QG_UNROLL
  for (int j = 0; j < nb; ++j)
    int4_store_rows(c, row, 1, blk0 + j, &total[j]);
}

static void int4_row_tile_dispatch(const Int4Ctx *c, int64_t row, int64_t blk0, int nb) {
  switch (nb) {
  case 1: int4_row_tile(c, row, blk0, 1); break;
  case 2: int4_row_tile(c, row, blk0, 2); break;
  case 3: int4_row_tile(c, row, blk0, 3); break;
  default: int4_row_tile(c, row, blk0, I4_NB); break;
  }
}

#define I4_CASE(MR)                                                                                            \
  case MR:                                                                                                     \
    int4_tile(c, m0, blk, MR);                                                                                 \
    break;
static void int4_tile_dispatch(const Int4Ctx *c, int64_t m0, int64_t blk, int mr) {
  switch (mr) {
    I4_CASE(1) I4_CASE(2) I4_CASE(3) I4_CASE(4) I4_CASE(5) I4_CASE(6) I4_CASE(7) I4_CASE(8)
  default:
    break;
  }
}
#else
static void int4_tile_dispatch(const Int4Ctx *c, int64_t m0, int64_t blk, int mr) {
  const int64_t groups = c->k / c->group;
  const uint8_t *w = c->w + blk * (c->k / 2) * 16;
  int64_t n0 = blk * 16, cols = min_i64(16, c->n - n0);
  for (int r = 0; r < mr; ++r) {
    const float *xr = c->x + (m0 + r) * c->k;
    for (int64_t col = 0; col < cols; ++col) {
      float total = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        float acc = 0.0f;
        for (int64_t k = g * c->group; k < (g + 1) * c->group; k += 2) {
          uint8_t byte = w[(k / 2) * 16 + col];
          acc = (float)(byte & 15) * xr[k] + acc;
          acc = (float)(byte >> 4) * xr[k + 1] + acc;
        }
        float s = c->scale[(blk * groups + g) * 16 + col];
        float z = c->zero ? c->zero[(blk * groups + g) * 16 + col] : 8.0f;
        total += s * (acc - z * c->xsum[(m0 + r) * groups + g]);
      }
      c->y[(m0 + r) * c->ldy + n0 + col] = total + (c->bias ? c->bias[n0 + col] : 0.0f);
    }
  }
}

static void int4_row_tile_dispatch(const Int4Ctx *c, int64_t row, int64_t blk0, int nb) {
  for (int j = 0; j < nb; ++j)
    int4_tile_dispatch(c, row, blk0 + j, 1);
}
#endif

/// Rewrites the staged rows of the M < 4 path (after their group sums are taken) into the pairs
/// (x0 − x1/16, x1/16) that int4_row_tile multiplies the low nibble and the whole byte by.
static void int4_decode_transform(float *x, int64_t m, int64_t k) {
#if defined(QG_AVX512)
  for (int64_t i = 0; i < m * k; i += 2) {
    float x1 = x[i + 1] * 0.0625f;
    x[i] -= x1;
    x[i + 1] = x1;
  }
#else
  (void)x, (void)m, (void)k; // the portable tile multiplies nibbles by the rows as they are
#endif
}

//===----------------------------------------------------------------------===//
// int4 with int8 activations (W4A8): groups that are a multiple of 8
//===----------------------------------------------------------------------===//
//
// As llama.cpp's Q4 x Q8 and ONNX Runtime's MatMulNBits at accuracy level 4: each activation row is quantized
// per group to int8 (symmetric, scale s_x = amax / 127), and nibbles multiply it by vpdpbusd, 64 products per
// instruction, where the f32 path above spends 5 instructions on 16 weights. A 64-byte line of a block's
// weights (4 k pairs x 16 columns) is transposed in registers (vpermd, vpshufb) so that each 32-bit lane holds
// one column's 8 nibbles; the low nibbles (byte << 4 & 0xF0, the even k of those 8) and the high ones
// (byte & 0xF0, the odd k) enter the dot products as 16 · q, against the row's even and odd k (xq's layout
// [K/8][2][4]). A group whose largest magnitude is below 2^-100 counts as zero (127 / amax would overflow
// for the smallest ones, where the vector and scalar conversions disagree). Per group:
// y += s_g · (Σ 16 q · q_x · s_x/16 − z_g · s_x · Σ q_x), so both scales and the zero point stay in f32.
// Sums are exact in int32 for groups up to I4_A8_MAX_GROUP (|16 q · q_x| ≤ 240 · 127 < 2^31 / 70000).

/// Quantizes row i of the activations to xq (even then odd k of every 8) and its per-group xa = s_x / 16 and
/// xb = s_x · Σ q_x (a parallel_for body).
static void int4_a8_quantize_row(void *p, int64_t i) {
  const Int4Ctx *c = (const Int4Ctx *)p;
  const float *x = row_of(&c->rows, i);
  const int64_t xs = c->rows.col_stride, groups = c->k / c->group;
  int8_t *q = c->xq + i * c->k;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t k0 = g * c->group;
    float amax = abs_max_f32(x + k0 * xs, c->group, xs);
    if (!(amax >= 0x1p-100f))
      amax = 0.0f;
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    int32_t sum = 0;
    int64_t k = k0;
#if defined(QG_AVX512)
    if (xs == 1) {
      // Same arithmetic as the scalar loop (vcvtps2dq rounds to nearest even); bytes reordered to even, odd.
      const __m512 vinv = _mm512_set1_ps(inv);
      const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
      const __m128i order = _mm_setr_epi8(0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15);
      __m512i vsum = _mm512_setzero_si512();
      for (; k + 16 <= k0 + c->group; k += 16) {
        __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), vinv));
        v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
        vsum = _mm512_add_epi32(vsum, v);
        _mm_storeu_si128((__m128i *)(q + k), _mm_shuffle_epi8(_mm512_cvtepi32_epi8(v), order));
      }
      sum = _mm512_reduce_add_epi32(vsum);
    }
#endif
    for (; k < k0 + c->group; ++k) {
      float v = round_even_f32(x[k * xs] * inv);
      int32_t qk = (int32_t)(v >= -127.0f ? (v <= 127.0f ? v : 127.0f) : -127.0f); // NaN: -127, as vcvtps2dq
      q[(k & ~(int64_t)7) + ((k & 1) << 2) + ((k & 7) >> 1)] = (int8_t)qk;
      sum += qk;
    }
    const float scale = amax / 127.0f;
    c->xa[i * groups + g] = scale * 0.0625f;
    c->xb[i * groups + g] = scale * (float)sum;
  }
}

#if defined(QG_VNNI)
/// The 64-byte line at `w` (4 k pairs x 16 columns) transposed (vpermd, vpshufb) to one column's 8 nibbles per
/// 32-bit lane: `lo` the even k, `hi` the odd k, each nibble times 16.
QG_INLINE void int4_a8_line(const uint8_t *w, __m512i *lo, __m512i *hi) {
  const __m512i to_columns = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i to_lanes =
      _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  const __m512i high = _mm512_set1_epi8((char)0xF0);
  __m512i v = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(to_columns, _mm512_loadu_si512(w)), to_lanes);
  *hi = _mm512_and_si512(v, high);
  *lo = _mm512_and_si512(_mm512_slli_epi16(v, 4), high);
}

/// Prefill: `mr` rows from m0 against the column block `blk`, mr int32 dot products per group, each folded into
/// an f32 total with the group's scales; one transpose of a weight line serves 2 · mr vpdpbusd.
QG_INLINE void int4_a8_tile(const Int4Ctx *c, int64_t m0, int mr, int64_t blk) {
  const int64_t groups = c->k / c->group;
  const uint8_t *wb = c->w + blk * (c->k / 2) * 16;
  __m512 total[I4_MR];
  QG_UNROLL
  for (int r = 0; r < mr; ++r)
    total[r] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512i acc[I4_MR];
    QG_UNROLL
    for (int r = 0; r < mr; ++r)
      acc[r] = _mm512_setzero_si512();
    for (int64_t k = g * c->group; k < (g + 1) * c->group; k += 8) {
      __m512i lo, hi;
      int4_a8_line(wb + (k / 2) * 16, &lo, &hi);
      QG_UNROLL
      for (int r = 0; r < mr; ++r) {
        int32_t pair[2];
        __builtin_memcpy(pair, c->xq + (m0 + r) * c->k + k, sizeof(pair));
        acc[r] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc[r], lo, _mm512_set1_epi32(pair[0])), hi,
                                     _mm512_set1_epi32(pair[1]));
      }
    }
    __m512 s, z;
    int4_group_scales(c, blk, g, &s, &z);
    QG_UNROLL
    for (int r = 0; r < mr; ++r) {
      __m512 a = _mm512_set1_ps(c->xa[(m0 + r) * groups + g]), b = _mm512_set1_ps(c->xb[(m0 + r) * groups + g]);
      __m512 dot = _mm512_fnmadd_ps(z, b, _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r]), a));
      total[r] = _mm512_fmadd_ps(s, dot, total[r]);
    }
  }
  int4_store_rows(c, m0, mr, blk, total);
}

/// Decode (M < 4): row `row` against the single column block `blk`, its K/2 · 16 bytes read in order, so that
/// a task's consecutive blocks (adjacent in the packing) are one linear stream. Four tiles' blocks read side by
/// side were four streams of 6 KiB at K = 768, which memory served about 15% slower than one. Two lines per
/// step into four accumulators keep the vpdpbusd chains short of their latency.
QG_INLINE void int4_a8_row_block(const Int4Ctx *c, int64_t row, int64_t blk) {
  const int64_t groups = c->k / c->group;
  const uint8_t *wb = c->w + blk * (c->k / 2) * 16;
  const int8_t *xq = c->xq + row * c->k;
  __m512 total = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
    int64_t k = g * c->group;
    const int64_t end = k + c->group;
    for (; k + 16 <= end; k += 16) {
      const uint8_t *w = wb + (k / 2) * 16;
      _mm_prefetch((const char *)(w + I4_LINEAR_PREFETCH), _MM_HINT_T0);
      _mm_prefetch((const char *)(w + 64 + I4_LINEAR_PREFETCH), _MM_HINT_T0);
      int32_t pairs[4];
      __builtin_memcpy(pairs, xq + k, sizeof(pairs));
      __m512i lo0, hi0, lo1, hi1;
      int4_a8_line(w, &lo0, &hi0);
      int4_a8_line(w + 64, &lo1, &hi1);
      acc[0] = _mm512_dpbusd_epi32(acc[0], lo0, _mm512_set1_epi32(pairs[0]));
      acc[1] = _mm512_dpbusd_epi32(acc[1], hi0, _mm512_set1_epi32(pairs[1]));
      acc[2] = _mm512_dpbusd_epi32(acc[2], lo1, _mm512_set1_epi32(pairs[2]));
      acc[3] = _mm512_dpbusd_epi32(acc[3], hi1, _mm512_set1_epi32(pairs[3]));
    }
    if (k < end) { // a group of an odd number of lines
      const uint8_t *w = wb + (k / 2) * 16;
      int32_t pairs[2];
      __builtin_memcpy(pairs, xq + k, sizeof(pairs));
      __m512i lo0, hi0;
      int4_a8_line(w, &lo0, &hi0);
      acc[0] = _mm512_dpbusd_epi32(acc[0], lo0, _mm512_set1_epi32(pairs[0]));
      acc[1] = _mm512_dpbusd_epi32(acc[1], hi0, _mm512_set1_epi32(pairs[1]));
    }
    __m512i sum = _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]), _mm512_add_epi32(acc[2], acc[3]));
    __m512 s, z;
    int4_group_scales(c, blk, g, &s, &z);
    __m512 a = _mm512_set1_ps(c->xa[row * groups + g]), b = _mm512_set1_ps(c->xb[row * groups + g]);
    total = _mm512_fmadd_ps(s, _mm512_fnmadd_ps(z, b, _mm512_mul_ps(_mm512_cvtepi32_ps(sum), a)), total);
  }
  int4_store_rows(c, row, 1, blk, &total);
}

#define I4_A8_ROWS(MR)                                                                                         \
  case MR:                                                                                                     \
    int4_a8_tile(c, m0, MR, blk);                                                                              \
    break;
static void int4_a8_tile_dispatch(const Int4Ctx *c, int64_t m0, int mr, int64_t blk) {
  switch (mr) {
    I4_A8_ROWS(1) I4_A8_ROWS(2) I4_A8_ROWS(3) I4_A8_ROWS(4) I4_A8_ROWS(5) I4_A8_ROWS(6) I4_A8_ROWS(7) I4_A8_ROWS(8)
  default:
    break;
  }
}

static void int4_a8_decode_block(const Int4Ctx *c, int64_t row, int64_t blk) { int4_a8_row_block(c, row, blk); }
#else
/// The same sums in C: per group an exact int32 dot product of 16 · q against q_x, then the f32 fold.
static void int4_a8_tile_dispatch(const Int4Ctx *c, int64_t m0, int mr, int64_t blk) {
  const int64_t groups = c->k / c->group;
  const uint8_t *w = c->w + blk * (c->k / 2) * 16;
  const int64_t n0 = blk * 16, cols = min_i64(16, c->n - n0);
  for (int r = 0; r < mr; ++r) {
    const int8_t *xr = c->xq + (m0 + r) * c->k;
    for (int64_t col = 0; col < cols; ++col) {
      float total = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        int32_t acc = 0;
        for (int64_t k = g * c->group; k < (g + 1) * c->group; k += 8)
          for (int b = 0; b < 4; ++b) {
            uint8_t byte = w[(k / 2 + b) * 16 + col];
            acc += (int32_t)((byte << 4) & 0xF0) * xr[k + b] + (int32_t)(byte & 0xF0) * xr[k + 4 + b];
          }
        int64_t at = (blk * groups + g) * 16 + col;
        float z = c->zero ? c->zero[at] : 8.0f;
        float a = c->xa[(m0 + r) * groups + g], b = c->xb[(m0 + r) * groups + g];
        total = c->scale[at] * ((float)acc * a - z * b) + total;
      }
      c->y[(m0 + r) * c->ldy + n0 + col] = total + (c->bias ? c->bias[n0 + col] : 0.0f);
    }
  }
}

static void int4_a8_decode_block(const Int4Ctx *c, int64_t row, int64_t blk) { int4_a8_tile_dispatch(c, row, 1, blk); }
#endif

/// Task: `bpt` column blocks for all rows, on the W4A8 tiles when the activations were quantized (c->xq).
static void int4_task(void *p, int64_t task) {
  const Int4Ctx *c = (const Int4Ctx *)p;
  int64_t blocks = (c->n + 15) / 16;
  int64_t last = min_i64(blocks, (task + 1) * c->bpt);
  if (c->m < 4 && c->xq) {
    for (int64_t blk = task * c->bpt; blk < last; ++blk)
      for (int64_t row = 0; row < c->m; ++row)
        int4_a8_decode_block(c, row, blk);
    return;
  }
  if (c->m < 4) {
    for (int64_t blk = task * c->bpt; blk < last; blk += I4_NB)
      for (int64_t row = 0; row < c->m; ++row)
        int4_row_tile_dispatch(c, row, blk, (int)min_i64(I4_NB, last - blk));
    return;
  }
  for (int64_t blk = task * c->bpt; blk < last; ++blk)
    for (int64_t m0 = 0; m0 < c->m; m0 += I4_MR) {
      int mr = (int)min_i64(I4_MR, c->m - m0);
      if (c->xq)
        int4_a8_tile_dispatch(c, m0, mr, blk);
      else
        int4_tile_dispatch(c, m0, blk, mr);
    }
}

//===----------------------------------------------------------------------===//
// LUT (binary-coding quantization)
//===----------------------------------------------------------------------===//

enum { LUT_MR = 4, LUT_NB = 4, LUT_MAX_BITS = 4 }; // tiles of 4 rows x 1 block; for M < 4, 1 row x 4 blocks

typedef struct {
  const float *x; // staged [M][K]
  float *tables;  // [M][K/4][16]
  const uint8_t *w;     // [np/16][q][K/8][16]
  const float *alpha;   // [np/16][K/G][q][16]
  const float *bias;
  float *y;
  int64_t ldy, m, n, k, group, bits, bpt;
} LutCtx;

/// Builds row i's tables: table[c][p] = Σ_{j<4} (bit j of p ? +x[4c+j] : −x[4c+j]), summed in j order.
static void lut_build_tables(void *p, int64_t i) {
  const LutCtx *c = (const LutCtx *)p;
  const float *x = c->x + i * c->k;
  float *t = c->tables + i * (c->k / 4) * 16;
  for (int64_t ch = 0; ch < c->k / 4; ++ch) {
    const float *xc = x + ch * 4;
#if defined(QG_AVX512)
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 sum = _mm512_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      __mmask16 plus = _mm512_test_epi32_mask(lane, _mm512_set1_epi32(1 << j));
      __m512 v = _mm512_mask_blend_ps(plus, _mm512_set1_ps(-xc[j]), _mm512_set1_ps(xc[j]));
      sum = j == 0 ? v : _mm512_add_ps(sum, v);
    }
    _mm512_store_ps(t + ch * 16, sum);
#else
    for (int p16 = 0; p16 < 16; ++p16) {
      float s = 0.0f;
      for (int j = 0; j < 4; ++j) {
        float v = (p16 >> j) & 1 ? xc[j] : -xc[j];
        s = j == 0 ? v : s + v;
      }
      t[ch * 16 + p16] = s;
    }
#endif
  }
}

#if defined(QG_AVX512)
QG_INLINE void lut_tile(const LutCtx *c, int64_t m0, int64_t blk, int mr, int q) {
  const int64_t groups = c->k / c->group, chunks8 = c->k / 8;
  const uint8_t *w = c->w + blk * q * chunks8 * 16;
  const float *alpha = c->alpha + blk * groups * q * 16;
  const float *tables = c->tables + m0 * (c->k / 4) * 16;
  const int64_t row_tables = (c->k / 4) * 16;
  __m512 total[LUT_MR];
  for (int r = 0; r < mr; ++r)
    total[r] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512 acc[LUT_MR][LUT_MAX_BITS];
    for (int r = 0; r < mr; ++r)
      for (int i = 0; i < q; ++i)
        acc[r][i] = _mm512_setzero_ps();
    for (int64_t c8 = g * (c->group / 8); c8 < (g + 1) * (c->group / 8); ++c8) {
      __m512 t0[LUT_MR], t1[LUT_MR];
      for (int r = 0; r < mr; ++r) {
        t0[r] = _mm512_load_ps(tables + r * row_tables + (2 * c8) * 16);
        t1[r] = _mm512_load_ps(tables + r * row_tables + (2 * c8 + 1) * 16);
      }
      for (int i = 0; i < q; ++i) {
        __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + (i * chunks8 + c8) * 16)));
        __m512i hi = _mm512_srli_epi32(v, 4);
        for (int r = 0; r < mr; ++r) {
          acc[r][i] = _mm512_add_ps(acc[r][i], _mm512_permutexvar_ps(v, t0[r]));
          acc[r][i] = _mm512_add_ps(acc[r][i], _mm512_permutexvar_ps(hi, t1[r]));
        }
      }
    }
    for (int i = 0; i < q; ++i) {
      __m512 a = _mm512_loadu_ps(alpha + (g * q + i) * 16);
      for (int r = 0; r < mr; ++r)
        total[r] = _mm512_fmadd_ps(a, acc[r][i], total[r]);
    }
  }
  int64_t n0 = blk * 16, cols = min_i64(16, c->n - n0);
  __mmask16 mask = (__mmask16)((1u << cols) - 1u);
  __m512 bias = c->bias ? _mm512_maskz_loadu_ps(mask, c->bias + n0) : _mm512_setzero_ps();
  for (int r = 0; r < mr; ++r)
    _mm512_mask_storeu_ps(c->y + (m0 + r) * c->ldy + n0, mask, _mm512_add_ps(total[r], bias));
}

/// One row against `nb` column blocks (the M < LUT_MR path: decode): each pair of table loads serves nb · q
/// lookups instead of q, and the nb · q sums are independent chains, so the kernel waits on weights rather
/// than on the tables (16x the activations' size) or on add latency.
QG_INLINE void lut_row_tile(const LutCtx *c, int64_t row, int64_t blk0, int nb, int q) {
  const int64_t groups = c->k / c->group, chunks8 = c->k / 8;
  const float *tables = c->tables + row * (c->k / 4) * 16;
  __m512 total[LUT_NB];
  QG_UNROLL
  for (int j = 0; j < nb; ++j)
    total[j] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512 acc[LUT_NB][LUT_MAX_BITS];
    QG_UNROLL
    for (int j = 0; j < nb; ++j)
      QG_UNROLL
      for (int i = 0; i < q; ++i)
        acc[j][i] = _mm512_setzero_ps();
    for (int64_t c8 = g * (c->group / 8); c8 < (g + 1) * (c->group / 8); ++c8) {
      __m512 t0 = _mm512_load_ps(tables + (2 * c8) * 16), t1 = _mm512_load_ps(tables + (2 * c8 + 1) * 16);
      QG_UNROLL
      for (int j = 0; j < nb; ++j) {
        const uint8_t *w = c->w + (blk0 + j) * q * chunks8 * 16;
        QG_UNROLL
        for (int i = 0; i < q; ++i) {
          __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + (i * chunks8 + c8) * 16)));
          acc[j][i] = _mm512_add_ps(acc[j][i], _mm512_permutexvar_ps(v, t0));
          acc[j][i] = _mm512_add_ps(acc[j][i], _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), t1));
        }
      }
    }
    QG_UNROLL
    for (int j = 0; j < nb; ++j) {
      const float *alpha = c->alpha + (blk0 + j) * groups * q * 16;
      QG_UNROLL
      for (int i = 0; i < q; ++i)
        total[j] = _mm512_fmadd_ps(_mm512_loadu_ps(alpha + (g * q + i) * 16), acc[j][i], total[j]);
    }
  }
  QG_UNROLL
  for (int j = 0; j < nb; ++j) {
    int64_t n0 = (blk0 + j) * 16, cols = min_i64(16, c->n - n0);
    __mmask16 mask = (__mmask16)((1u << cols) - 1u);
    __m512 bias = c->bias ? _mm512_maskz_loadu_ps(mask, c->bias + n0) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(c->y + row * c->ldy + n0, mask, _mm512_add_ps(total[j], bias));
  }
}

#define LUT_ROW_CASE(NB, Q)                                                                                    \
  case (NB) * 8 + (Q):                                                                                         \
    lut_row_tile(c, row, blk0, NB, Q);                                                                         \
    break;
#define LUT_ROW_CASES(NB) LUT_ROW_CASE(NB, 1) LUT_ROW_CASE(NB, 2) LUT_ROW_CASE(NB, 3) LUT_ROW_CASE(NB, 4)
static void lut_row_tile_dispatch(const LutCtx *c, int64_t row, int64_t blk0, int nb) {
  switch (nb * 8 + (int)c->bits) {
    LUT_ROW_CASES(1) LUT_ROW_CASES(2) LUT_ROW_CASES(3) LUT_ROW_CASES(4)
  default:
    break;
  }
}

#define LUT_CASE(MR, Q)                                                                                        \
  case (MR) * 8 + (Q):                                                                                         \
    lut_tile(c, m0, blk, MR, Q);                                                                               \
    break;
#define LUT_CASES(MR) LUT_CASE(MR, 1) LUT_CASE(MR, 2) LUT_CASE(MR, 3) LUT_CASE(MR, 4)
static void lut_tile_dispatch(const LutCtx *c, int64_t m0, int64_t blk, int mr) {
  switch (mr * 8 + (int)c->bits) {
    LUT_CASES(1) LUT_CASES(2) LUT_CASES(3) LUT_CASES(4)
  default:
    break;
  }
}
#else
static void lut_tile_dispatch(const LutCtx *c, int64_t m0, int64_t blk, int mr) {
  const int64_t groups = c->k / c->group, chunks8 = c->k / 8, q = c->bits;
  const uint8_t *w = c->w + blk * q * chunks8 * 16;
  const float *alpha = c->alpha + blk * groups * q * 16;
  int64_t n0 = blk * 16, cols = min_i64(16, c->n - n0);
  for (int r = 0; r < mr; ++r) {
    const float *t = c->tables + (m0 + r) * (c->k / 4) * 16;
    for (int64_t col = 0; col < cols; ++col) {
      float total = 0.0f;
      for (int64_t g = 0; g < groups; ++g)
        for (int64_t i = 0; i < q; ++i) {
          float acc = 0.0f;
          for (int64_t c8 = g * (c->group / 8); c8 < (g + 1) * (c->group / 8); ++c8) {
            uint8_t byte = w[(i * chunks8 + c8) * 16 + col];
            acc += t[(2 * c8) * 16 + (byte & 15)];
            acc += t[(2 * c8 + 1) * 16 + (byte >> 4)];
          }
          total = alpha[(g * q + i) * 16 + col] * acc + total;
        }
      c->y[(m0 + r) * c->ldy + n0 + col] = total + (c->bias ? c->bias[n0 + col] : 0.0f);
    }
  }
}

static void lut_row_tile_dispatch(const LutCtx *c, int64_t row, int64_t blk0, int nb) {
  for (int j = 0; j < nb; ++j)
    lut_tile_dispatch(c, row, blk0 + j, 1);
}
#endif

static void lut_task(void *p, int64_t task) {
  const LutCtx *c = (const LutCtx *)p;
  int64_t blocks = (c->n + 15) / 16;
  int64_t last = min_i64(blocks, (task + 1) * c->bpt);
  if (c->m < LUT_MR) {
    for (int64_t blk = task * c->bpt; blk < last; blk += LUT_NB)
      for (int64_t row = 0; row < c->m; ++row)
        lut_row_tile_dispatch(c, row, blk, (int)min_i64(LUT_NB, last - blk));
    return;
  }
  for (int64_t blk = task * c->bpt; blk < last; ++blk)
    for (int64_t m0 = 0; m0 < c->m; m0 += LUT_MR)
      lut_tile_dispatch(c, m0, blk, (int)min_i64(LUT_MR, c->m - m0));
}

//===----------------------------------------------------------------------===//
// bf16
//===----------------------------------------------------------------------===//
//
// Activations are rounded to bf16 (nearest even) and packed, one task per panel, in the order the register
// tile reads them: [ceil(M/MR)][Kp/2][MR][2]. With AVX512-BF16 an element is the bf16 itself, so a row's k
// pair is the 32-bit word that vdpbf16ps broadcasts against a 64-byte line of 16 columns' k pairs
// ([N/16][Kp/2][16][2]): 32 products per instruction, twice the f32 FMA rate. Without it the elements are
// the rounded values as f32, and each k pair takes two FMAs against the weights widened in registers.
// It runs on the panel schedule (row chunks, column panels, k blocks) and prefetches as the int8 kernel.

enum {
  BF_MR = GEMM_TILE_MR, // register tile: 6 rows x 4 blocks of 16 columns (24 zmm accumulators), as int8
  BF_NB = GEMM_TILE_NB,
  BF_PREFETCH_STEPS = 16,      // k pairs (64-byte weight lines per block) prefetched ahead
  BF_CHUNK_BYTES = 256 * 1024, // packed activations per row chunk
  BF_KC = 128,                 // k block: 64 pairs x 4 blocks x 64 bytes (16 KiB) stay in L1
};

#if defined(QG_BF16)
typedef uint16_t bf_act_t; // bf16 bits
#else
typedef float bf_act_t; // the bf16 value, widened
#endif

typedef struct {
  bf_act_t *a;       // packed activations [ceil(M/MR)][kp/2][MR][2]
  const uint16_t *w; // [np/16][kp/2][16][2]
  const float *bias; // null: none
  float *y;
  int64_t ldy;
  GemmSchedule schedule; // also M, N and K padded to 2 (kp)
  RowView x;
  int64_t k;
  EffcUkEpilogue epilogue;
} Bf16Ctx;

/// The bf16 bits nearest to an f32 (ties to even; NaN and infinity keep their high half).
static uint16_t bf16_bits(float v) {
  uint32_t bits;
  __builtin_memcpy(&bits, &v, 4);
  if ((bits & 0x7f800000u) != 0x7f800000u)
    bits += 0x7fffu + ((bits >> 16) & 1u);
  return (uint16_t)(bits >> 16);
}

static bf_act_t bf16_act(float v) {
#if defined(QG_BF16)
  return bf16_bits(v);
#else
  uint32_t bits = (uint32_t)bf16_bits(v) << 16;
  float r;
  __builtin_memcpy(&r, &bits, 4);
  return r;
#endif
}

/// Rounds and packs the rows of one panel; rows past M and the padding column are zero.
static void bf16_pack_panel(void *p, int64_t panel) {
  const Bf16Ctx *c = (const Bf16Ctx *)p;
  bf_act_t *base = c->a + panel * c->schedule.kp * BF_MR;
  int64_t first = panel * BF_MR, rows = min_i64(BF_MR, c->schedule.m - first);
  for (int64_t r = 0; r < rows; ++r) {
    const float *x = row_of(&c->x, first + r);
    const int64_t xs = c->x.col_stride;
    // Element k of the row lives at dst[(k / 2) * 2 * MR + k % 2].
    bf_act_t *dst = base + r * 2;
    int64_t k0 = 0;
#if defined(QG_AVX512)
    if (xs == 1) {
      const __m512i exponent = _mm512_set1_epi32(0x7f800000), bias = _mm512_set1_epi32(0x7fff),
                    one = _mm512_set1_epi32(1);
      for (; k0 + 16 <= c->k; k0 += 16) {
        __m512i v = _mm512_castps_si512(_mm512_loadu_ps(x + k0));
        __m512i rounded = _mm512_add_epi32(v, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(v, 16), one)));
        __mmask16 special = _mm512_cmpeq_epi32_mask(_mm512_and_si512(v, exponent), exponent);
        rounded = _mm512_mask_mov_epi32(rounded, special, v);
#if defined(QG_BF16)
        uint32_t pairs[8]; // k pairs as bf16 words
        _mm256_storeu_si256((__m256i *)pairs, _mm512_cvtepi32_epi16(_mm512_srli_epi32(rounded, 16)));
        for (int t = 0; t < 8; ++t)
          __builtin_memcpy(dst + (k0 / 2 + t) * 2 * BF_MR, &pairs[t], 4);
#else
        float values[16];
        _mm512_storeu_ps(values, _mm512_castsi512_ps(_mm512_and_si512(rounded, _mm512_set1_epi32((int)0xffff0000u))));
        for (int t = 0; t < 8; ++t) {
          dst[(k0 / 2 + t) * 2 * BF_MR] = values[2 * t];
          dst[(k0 / 2 + t) * 2 * BF_MR + 1] = values[2 * t + 1];
        }
#endif
      }
    }
#endif
    for (int64_t k = k0; k < c->k; ++k)
      dst[(k / 2) * 2 * BF_MR + k % 2] = bf16_act(x[k * xs]);
    for (int64_t k = c->k; k < c->schedule.kp; ++k)
      dst[(k / 2) * 2 * BF_MR + k % 2] = 0;
  }
  for (int64_t r = rows; r < BF_MR; ++r)
    for (int64_t k = 0; k < c->schedule.kp; k += 2)
      base[(k / 2) * 2 * BF_MR + r * 2] = base[(k / 2) * 2 * BF_MR + r * 2 + 1] = 0;
}

#if defined(QG_AVX512)
/// The tile's sums over k in [k0, k1): started from zero when k0 = 0, else from the partial sums that the
/// previous k block left in y; finished with the bias and the epilogue when k1 = kp.
QG_INLINE void bf16_tile(const Bf16Ctx *c, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0, int64_t k1) {
  __m512 acc[GEMM_TILE_MR][GEMM_TILE_NB];
  gemm_tile_begin(acc, mr, nb, c->y + m0 * c->ldy + blk0 * 16, c->ldy, gemm_last_mask(c->schedule.n, blk0, nb), k0);
  const int64_t bstride = c->schedule.kp * 16;
  const uint16_t *b = c->w + blk0 * bstride;
  const bf_act_t *a = c->a + m0 * c->schedule.kp; // m0 is a panel start: (m0 / MR) * kp * MR
  for (int64_t k = k0; k < k1; k += 2) {
    __m512i w[BF_NB];
    QG_UNROLL
    for (int j = 0; j < nb; ++j) {
      const uint16_t *line = b + j * bstride + k * 16;
      _mm_prefetch((const char *)(line + BF_PREFETCH_STEPS * 32), _MM_HINT_T0);
      w[j] = _mm512_loadu_si512((const void *)line);
    }
    const bf_act_t *pair = a + k * BF_MR;
#if defined(QG_BF16)
    QG_UNROLL
    for (int i = 0; i < mr; ++i) {
      int32_t word;
      __builtin_memcpy(&word, pair + i * 2, 4);
      __m512bh av = (__m512bh)_mm512_set1_epi32(word);
      QG_UNROLL
      for (int j = 0; j < nb; ++j)
        acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, (__m512bh)w[j]);
    }
#else
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    __m512 even[BF_NB], odd[BF_NB];
    QG_UNROLL
    for (int j = 0; j < nb; ++j) {
      even[j] = _mm512_castsi512_ps(_mm512_slli_epi32(w[j], 16));
      odd[j] = _mm512_castsi512_ps(_mm512_and_si512(w[j], high));
    }
    QG_UNROLL
    for (int i = 0; i < mr; ++i) {
      __m512 x0 = _mm512_set1_ps(pair[i * 2]), x1 = _mm512_set1_ps(pair[i * 2 + 1]);
      QG_UNROLL
      for (int j = 0; j < nb; ++j)
        acc[i][j] = _mm512_fmadd_ps(odd[j], x1, _mm512_fmadd_ps(even[j], x0, acc[i][j]));
    }
#endif
  }
  gemm_tile_end(acc, mr, nb, c->y, c->ldy, m0, blk0, c->schedule.n, c->bias, &c->epilogue, k1 == c->schedule.kp);
}

static void bf16_tile_dispatch(const Bf16Ctx *c, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0,
                               int64_t k1) {
  GEMM_TILE_SWITCH(bf16_tile, mr, nb)
}
#else
/// Sums over all of K at once (the task passes one k block: k0 = 0, k1 = kp).
static void bf16_tile_dispatch(const Bf16Ctx *c, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0,
                               int64_t k1) {
  (void)k0, (void)k1;
  const int64_t bstride = c->schedule.kp * 16;
  const bf_act_t *panel = c->a + m0 * c->schedule.kp;
  for (int i = 0; i < mr; ++i) {
    for (int j = 0; j < nb; ++j) {
      const uint16_t *b = c->w + (blk0 + j) * bstride;
      int64_t n0 = (blk0 + j) * 16, cols = min_i64(16, c->schedule.n - n0);
      float *row = c->y + (m0 + i) * c->ldy + n0;
      for (int64_t col = 0; col < cols; ++col) {
        float acc = 0.0f;
        for (int64_t k = 0; k < c->schedule.kp; ++k) {
          uint32_t bits = (uint32_t)b[(k / 2) * 32 + col * 2 + (k & 1)] << 16;
          float wv;
          __builtin_memcpy(&wv, &bits, 4);
          acc = wv * panel[(k / 2) * 2 * BF_MR + i * 2 + (k & 1)] + acc;
        }
        row[col] = acc + (c->bias ? c->bias[n0 + col] : 0.0f);
      }
      if (c->epilogue.flags)
        effc_uk_epilogue_apply(&c->epilogue, m0 + i, n0, row, cols);
    }
  }
}
#endif

static void bf16_gemm_tile(const void *c, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0, int64_t k1) {
  bf16_tile_dispatch((const Bf16Ctx *)c, m0, blk0, mr, nb, k0, k1);
}

static void bf16_gemm_task(void *p, int64_t task) {
  const Bf16Ctx *c = (const Bf16Ctx *)p;
  gemm_run_task(&c->schedule, task, bf16_gemm_tile, c);
}

static void bf16_linear(RowView x, int64_t m, int64_t k, const uint16_t *w, const float *bias, float *y,
                        int64_t ldy, int64_t n, const EffcUkEpilogue *epilogue) {
  if (m == 0 || n == 0)
    return;
  int64_t kp = round_up(k, 2);
  int64_t row_panels = (m + BF_MR - 1) / BF_MR;
  Bf16Ctx c;
  __builtin_memset(&c, 0, sizeof(c));
  c.a = (bf_act_t *)effc_uk_alloc((uint64_t)(row_panels * BF_MR * kp) * sizeof(bf_act_t));
  c.w = w, c.bias = bias, c.y = y, c.ldy = ldy;
  c.x = x, c.k = k;
  if (epilogue)
    c.epilogue = *epilogue;
#if defined(QG_AVX512)
  const int64_t kc = m <= BF_MR ? kp : BF_KC; // as the int8 kernel
#else
  const int64_t kc = kp; // the portable tile sums over all of K at once
#endif
  c.schedule = gemm_schedule(m, n, kp, BF_MR, BF_NB, kc, kp * (int64_t)sizeof(bf_act_t), BF_CHUNK_BYTES);
  effc_uk_parallel_for(bf16_pack_panel, &c, row_panels);
  effc_uk_parallel_for(bf16_gemm_task, &c, gemm_task_count(&c.schedule));
  effc_uk_free(c.a);
}

//===----------------------------------------------------------------------===//
// Exported kernels (ukernel.h's calling convention). x [B, S, K] f32 with any strides; the result y
// [B, S, N] comes last, is the dense buffer the lowering allocates (rows of N contiguous, row b · S + s at
// (b · S + s) · y_stride1) and is filled entirely.
//===----------------------------------------------------------------------===//

#define QG_ROWS(x) row_view(x + x##_offset, x##_size1, x##_stride0, x##_stride1, x##_stride2)

/// int8 W8A8. w packed int8 bytes; colsum [Np] i32; w_scale [Np] f32; bias [N] f32 (read only when
/// has_bias). static_scale > 0 selects static activation quantization with static_zero (0..255); otherwise
/// per-row dynamic.
void effc_uk_quantized_linear_int8(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF1(int8_t, w),
                                   EFFC_UK_MEMREF1(int32_t, colsum), EFFC_UK_MEMREF1(float, w_scale),
                                   EFFC_UK_MEMREF1(float, bias), int64_t has_bias, float static_scale,
                                   int64_t static_zero, EFFC_UK_MEMREF3(float, y)) {
  int8_linear(QG_ROWS(x), x_size0 * x_size1, x_size2, w + w_offset, colsum + colsum_offset,
              w_scale + w_scale_offset, has_bias ? bias + bias_offset : 0, y + y_offset, y_stride1, y_size2,
              static_scale, (int32_t)static_zero, 0);
}

/// effc_uk_quantized_linear_int8 followed by an epilogue (epilogue.h) applied to each output tile while it
/// is in L1: y = activation(x · Wᵀ + b) + residual. `epilogue` holds the EFFC_UK_ACT_* kind and
/// EFFC_UK_EPILOGUE_RESIDUAL; `residual` [B, S, N] (any strides) is read only with that flag.
void effc_uk_quantized_linear_int8_epilogue(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF1(int8_t, w),
                                            EFFC_UK_MEMREF1(int32_t, colsum), EFFC_UK_MEMREF1(float, w_scale),
                                            EFFC_UK_MEMREF1(float, bias), int64_t has_bias, float static_scale,
                                            int64_t static_zero, EFFC_UK_MEMREF3(float, residual),
                                            int64_t epilogue, EFFC_UK_MEMREF3(float, y)) {
  EffcUkEpilogue e = {epilogue, residual + residual_offset, residual_size1 > 0 ? residual_size1 : 1,
                      residual_stride0, residual_stride1, residual_stride2};
  int8_linear(QG_ROWS(x), x_size0 * x_size1, x_size2, w + w_offset, colsum + colsum_offset,
              w_scale + w_scale_offset, has_bias ? bias + bias_offset : 0, y + y_offset, y_stride1, y_size2,
              static_scale, (int32_t)static_zero, &e);
}

/// int4 weights, group-wise. w packed nibbles; scale [Np · K/G]; zero [Np · K/G] (read only when has_zero;
/// else symmetric, zero point 8); bias [N] when has_bias. Groups that are a multiple of 8 quantize the
/// activations per row and group to int8 (W4A8); others (and groups beyond I4_A8_MAX_GROUP, whose int32
/// sums could overflow) multiply f32 activations.
void effc_uk_quantized_linear_int4(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF1(uint8_t, w),
                                   EFFC_UK_MEMREF1(float, scale), EFFC_UK_MEMREF1(float, zero),
                                   EFFC_UK_MEMREF1(float, bias), int64_t group, int64_t has_zero,
                                   int64_t has_bias, EFFC_UK_MEMREF3(float, y)) {
  int64_t m = x_size0 * x_size1, k = x_size2, n = y_size2;
  if (m == 0 || n == 0)
    return;
  int64_t blocks = (n + 15) / 16, groups = k / group;
  Int4Ctx c = {0};
  c.rows = QG_ROWS(x);
  c.w = w + w_offset;
  c.scale = scale + scale_offset;
  c.zero = has_zero ? zero + zero_offset : 0;
  c.bias = has_bias ? bias + bias_offset : 0;
  c.y = y + y_offset;
  c.ldy = y_stride1, c.m = m, c.n = n, c.k = k, c.group = group, c.bpt = blocks_per_task(blocks);
  if (m < 4)
    c.bpt = round_up(c.bpt, I4_NB);
  void *scratch;
  if (group % 8 == 0 && group <= I4_A8_MAX_GROUP) {
    // [M][K] int8, then xa and xb [M][K/G] f32 each (K a multiple of 8, so both stay 4-byte aligned).
    scratch = effc_uk_alloc((uint64_t)(m * k + 2 * m * groups * (int64_t)sizeof(float)));
    c.xq = (int8_t *)scratch;
    c.xa = (float *)((char *)scratch + m * k);
    c.xb = c.xa + m * groups;
    effc_uk_parallel_for(int4_a8_quantize_row, &c, m);
  } else {
    scratch = effc_uk_alloc((uint64_t)(m * k + m * groups) * sizeof(float));
    float *staged = (float *)scratch, *sums = staged + m * k;
    StageCtx stage = {c.rows, k, k, staged, group, sums};
    effc_uk_parallel_for(stage_row, &stage, m);
    if (m < 4)
      int4_decode_transform(staged, m, k);
    c.x = staged, c.xsum = sums;
  }
  effc_uk_parallel_for(int4_task, &c, (blocks + c.bpt - 1) / c.bpt);
  effc_uk_free(scratch);
}

/// LUT (binary coding), `bits` planes. w packed sign patterns; alpha [Np · K/G · bits]; bias [N] when
/// has_bias.
void effc_uk_quantized_linear_lut(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF1(uint8_t, w),
                                  EFFC_UK_MEMREF1(float, alpha), EFFC_UK_MEMREF1(float, bias),
                                  int64_t group, int64_t bits, int64_t has_bias, EFFC_UK_MEMREF3(float, y)) {
  int64_t m = x_size0 * x_size1, k = x_size2, n = y_size2;
  if (m == 0 || n == 0)
    return;
  float *staged = (float *)effc_uk_alloc((uint64_t)(m * k) * sizeof(float));
  float *tables = (float *)effc_uk_alloc((uint64_t)(m * k * 4) * sizeof(float));
  StageCtx stage = {QG_ROWS(x), k, k, staged, 0, 0};
  effc_uk_parallel_for(stage_row, &stage, m);
  int64_t blocks = (n + 15) / 16;
  LutCtx c = {staged, tables, w + w_offset, alpha + alpha_offset,
              has_bias ? bias + bias_offset : 0, y + y_offset, y_stride1, m, n, k, group, bits,
              blocks_per_task(blocks)};
  if (m < LUT_MR)
    c.bpt = round_up(c.bpt, LUT_NB);
  effc_uk_parallel_for(lut_build_tables, &c, m);
  effc_uk_parallel_for(lut_task, &c, (blocks + c.bpt - 1) / c.bpt);
  effc_uk_free(staged);
  effc_uk_free(tables);
}

/// bf16 weights and activations, f32 accumulation. w packed bf16 pairs (K padded to even); bias [N] when
/// has_bias.
void effc_uk_quantized_linear_bf16(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF1(uint16_t, w),
                                   EFFC_UK_MEMREF1(float, bias), int64_t has_bias, EFFC_UK_MEMREF3(float, y)) {
  bf16_linear(QG_ROWS(x), x_size0 * x_size1, x_size2, w + w_offset, has_bias ? bias + bias_offset : 0,
              y + y_offset, y_stride1, y_size2, 0);
}

/// effc_uk_quantized_linear_bf16 followed by an epilogue, as effc_uk_quantized_linear_int8_epilogue.
void effc_uk_quantized_linear_bf16_epilogue(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF1(uint16_t, w),
                                            EFFC_UK_MEMREF1(float, bias), int64_t has_bias,
                                            EFFC_UK_MEMREF3(float, residual), int64_t epilogue,
                                            EFFC_UK_MEMREF3(float, y)) {
  EffcUkEpilogue e = {epilogue, residual + residual_offset, residual_size1 > 0 ? residual_size1 : 1,
                      residual_stride0, residual_stride1, residual_stride2};
  bf16_linear(QG_ROWS(x), x_size0 * x_size1, x_size2, w + w_offset, has_bias ? bias + bias_offset : 0,
              y + y_offset, y_stride1, y_size2, &e);
}
