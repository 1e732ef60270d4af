//===- layer_norm.c - residual add fused with layer norm ------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The kernel behind `eff.layer_norm(eff.add(x, r))` in f32: per row of D channels,
//
//   s = x + r;  mean = Σ s / D;  var = Σ (s − mean)² / D;  y = (s − mean) · rsqrt(var + eps) · γ (+ β)
//
// in one pass over the inputs: x and r are read once, s goes to the row of y (or of the kept sum, when the
// graph still needs x + r) and is read back from L1 for the variance and the normalisation, which is
// written once. Rows go in groups of up to 16 KiB, each pass over the whole group before the next, so that
// one row's wait for its statistics overlaps the next row's work. The statistics are accumulated in f32 in
// 16 lanes, a partial last vector masked (the linalg lowering accumulates in f32 sequentially; the two differ
// by rounding only). Rows are split over the runtime's thread pool.
//
//===----------------------------------------------------------------------===//

#include "epilogue.h"
#include "ukernel.h"

#include <stdint.h>

typedef struct {
  const float *x, *r, *gamma, *beta;
  float *y, *sum; // sum: null unless kept
  int64_t rows_per_batch, d;
  int64_t xs0, xs1, xs2, rs0, rs1, rs2, ys0, ys1, ss0, ss1, gs, bs;
  int64_t rows, rows_per_task;
  float epsilon;
} AddLayerNormCtx;

/// Lanes [0, n) of a vector from a[0, n), 1 <= n <= 16; the others 0. Whole vectors take plain loads and
/// stores (Zen 4 does not forward a masked store to a later load).
static inline ep_v16 ln_load(const float *a, int64_t n) {
  ep_v16 v = ep_splat(0.0f);
  if (n == 16)
    __builtin_memcpy(&v, a, sizeof(v));
  else
#if defined(__AVX512F__)
    v = (ep_v16)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), a);
#else
    for (int64_t j = 0; j < n; ++j)
      v[j] = a[j];
#endif
  return v;
}

/// Stores lanes [0, n) of v to a[0, n), 1 <= n <= 16.
static inline void ln_store(float *a, ep_v16 v, int64_t n) {
  if (n == 16)
    __builtin_memcpy(a, &v, sizeof(v));
  else
#if defined(__AVX512F__)
    _mm512_mask_storeu_ps(a, (__mmask16)((1u << n) - 1u), (__m512)v);
#else
    for (int64_t j = 0; j < n; ++j)
      a[j] = v[j];
#endif
}

/// Rows normalised together (at most; LN_GROUP_FLOATS of them stay in L1), each pass over all of them before the
/// next: a row's next pass waits on its statistics (a horizontal sum, a division, a square root), and the
/// next row's work fills that wait.
#define LN_ROWS 16
#define LN_GROUP_FLOATS 4096

/// Where row i of s = x + r goes: the kept sum or, as scratch, y.
static inline float *ln_sum_row(const AddLayerNormCtx *c, int64_t i) {
  int64_t b = i / c->rows_per_batch, s = i % c->rows_per_batch;
  return c->sum ? c->sum + b * c->ss0 + s * c->ss1 : c->y + b * c->ys0 + s * c->ys1;
}

/// Writes s = x + r for row i and returns its mean. Vectors of 16 channels, the last one partial (masked, its
/// lanes past D 0), in two accumulators (vectors 2t and 2t + 1).
static float ln_add_row(const AddLayerNormCtx *c, int64_t i) {
  int64_t b = i / c->rows_per_batch, s = i % c->rows_per_batch, d = c->d;
  const float *x = c->x + b * c->xs0 + s * c->xs1;
  const float *r = c->r + b * c->rs0 + s * c->rs1;
  float *sum = ln_sum_row(c, i);
  const int contiguous = c->xs2 == 1 && c->rs2 == 1;
  if (!contiguous)
    for (int64_t j = 0; j < d; ++j)
      sum[j] = x[j * c->xs2] + r[j * c->rs2];
  ep_v16 acc0 = ep_splat(0.0f), acc1 = ep_splat(0.0f);
  for (int64_t j = 0; j < d; j += 16) {
    int64_t n = EFFC_UK_MIN(16, d - j);
    ep_v16 u;
    if (contiguous) {
      u = ln_load(x + j, n) + ln_load(r + j, n);
      ln_store(sum + j, u, n);
    } else {
      u = ln_load(sum + j, n);
    }
    if (j & 16)
      acc1 += u;
    else
      acc0 += u;
  }
  return ep_hsum(acc0 + acc1) / (float)d;
}

/// 1 / sqrt(Σ (s − mean)² / D + eps) of row i (lanes past D masked out of the last vector).
static float ln_rstd_row(const AddLayerNormCtx *c, int64_t i, float mean) {
  const float *sum = ln_sum_row(c, i);
  int64_t d = c->d;
  ep_v16 acc0 = ep_splat(0.0f), acc1 = ep_splat(0.0f);
  for (int64_t j = 0; j < d; j += 16) {
    int64_t n = EFFC_UK_MIN(16, d - j);
    ep_v16 t = ln_load(sum + j, n) - mean;
    if (n < 16)
      t = ep_select(ep_lanes_below(n), t, ep_splat(0.0f));
    if (j & 16)
      acc1 += t * t;
    else
      acc0 += t * t;
  }
  float variance = ep_hsum(acc0 + acc1) / (float)d;
  return 1.0f / __builtin_elementwise_sqrt(variance + c->epsilon);
}

/// y = (s − mean) · rstd · γ (+ β) for row i.
static void ln_normalize_row(const AddLayerNormCtx *c, int64_t i, float mean, float rstd) {
  int64_t b = i / c->rows_per_batch, s = i % c->rows_per_batch, d = c->d;
  const float *sum = ln_sum_row(c, i);
  float *y = c->y + b * c->ys0 + s * c->ys1;
  const float *gamma = c->gamma, *beta = c->beta;
  if (c->gs == 1 && (!beta || c->bs == 1)) {
    for (int64_t j = 0; j < d; j += 16) {
      int64_t n = EFFC_UK_MIN(16, d - j);
      ep_v16 v = (ln_load(sum + j, n) - mean) * rstd * ln_load(gamma + j, n);
      if (beta)
        v = v + ln_load(beta + j, n);
      ln_store(y + j, v, n);
    }
  } else {
    for (int64_t j = 0; j < d; ++j)
      y[j] = (sum[j] - mean) * rstd * gamma[j * c->gs] + (beta ? beta[j * c->bs] : 0.0f);
  }
}

static void add_layer_norm_task(void *p, int64_t task) {
  const AddLayerNormCtx *c = (const AddLayerNormCtx *)p;
  int64_t end = EFFC_UK_MIN(c->rows, (task + 1) * c->rows_per_task);
  int64_t group = EFFC_UK_MAX(1, EFFC_UK_MIN(LN_ROWS, LN_GROUP_FLOATS / c->d));
  for (int64_t i0 = task * c->rows_per_task; i0 < end; i0 += group) {
    int64_t rows = EFFC_UK_MIN(group, end - i0);
    float mean[LN_ROWS], rstd[LN_ROWS];
    for (int64_t i = 0; i < rows; ++i)
      mean[i] = ln_add_row(c, i0 + i);
    for (int64_t i = 0; i < rows; ++i)
      rstd[i] = ln_rstd_row(c, i0 + i, mean[i]);
    for (int64_t i = 0; i < rows; ++i)
      ln_normalize_row(c, i0 + i, mean[i], rstd[i]);
  }
}

static void add_layer_norm(AddLayerNormCtx *c) {
  if (c->rows == 0 || c->d == 0)
    return;
  // About 64 KiB of each input per task, and at least as many tasks as a few threads can share.
  int64_t rows_per_task = EFFC_UK_MAX(1, (16 * 1024) / c->d);
  rows_per_task = EFFC_UK_MIN(rows_per_task, EFFC_UK_MAX(1, c->rows / 8));
  c->rows_per_task = rows_per_task;
  effc_uk_parallel_for(add_layer_norm_task, c, (c->rows + rows_per_task - 1) / rows_per_task);
}

//===----------------------------------------------------------------------===//
// Exported kernels. x and r [B, S, D] with any strides; gamma and beta [D] (beta read only when
// has_beta); y (and sum) [B, S, D], the dense buffers the lowering allocates, filled entirely.
//===----------------------------------------------------------------------===//

#define LN_CTX(c)                                                                                              \
  AddLayerNormCtx c = {x + x_offset, r + r_offset, gamma + gamma_offset, has_beta ? beta + beta_offset : 0,   \
                       y + y_offset, 0, x_size1 > 0 ? x_size1 : 1, x_size2, x_stride0, x_stride1, x_stride2, \
                       r_stride0, r_stride1, r_stride2, y_stride0, y_stride1, 0, 0, gamma_stride0,           \
                       beta_stride0, x_size0 * x_size1, 1, epsilon}

/// y = layer_norm(x + r).
void effc_uk_add_layer_norm(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF3(float, r), EFFC_UK_MEMREF1(float, gamma),
                            EFFC_UK_MEMREF1(float, beta), int64_t has_beta, float epsilon,
                            EFFC_UK_MEMREF3(float, y)) {
  LN_CTX(c);
  add_layer_norm(&c);
}

/// y = layer_norm(x + r) and sum = x + r, for graphs that still use the sum (pre-LN residual streams).
void effc_uk_add_layer_norm_keep_sum(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF3(float, r),
                                     EFFC_UK_MEMREF1(float, gamma), EFFC_UK_MEMREF1(float, beta),
                                     int64_t has_beta, float epsilon, EFFC_UK_MEMREF3(float, y),
                                     EFFC_UK_MEMREF3(float, sum)) {
  LN_CTX(c);
  c.sum = sum + sum_offset;
  c.ss0 = sum_stride0, c.ss1 = sum_stride1;
  add_layer_norm(&c);
}
