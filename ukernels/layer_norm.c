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
// written once. The statistics are accumulated in f32 in 16 lanes (the linalg lowering accumulates in f32
// sequentially; the two differ by rounding only). Rows are split over the runtime's thread pool.
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

static float ln_hsum(ep_v16 v) {
  float s = 0.0f;
  for (int i = 0; i < 16; ++i)
    s += v[i];
  return s;
}

/// Σ over a[0, n) in 16 lanes (then across them).
static float ln_sum(const float *a, int64_t n) {
  ep_v16 acc = ep_splat(0.0f), acc2 = ep_splat(0.0f);
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    ep_v16 u, v;
    __builtin_memcpy(&u, a + j, sizeof(u));
    __builtin_memcpy(&v, a + j + 16, sizeof(v));
    acc = acc + u;
    acc2 = acc2 + v;
  }
  float s = ln_hsum(acc + acc2);
  for (; j < n; ++j)
    s += a[j];
  return s;
}

/// Σ (a − mean)² over a[0, n).
static float ln_squares(const float *a, int64_t n, float mean) {
  ep_v16 acc = ep_splat(0.0f), acc2 = ep_splat(0.0f);
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    ep_v16 u, v;
    __builtin_memcpy(&u, a + j, sizeof(u));
    __builtin_memcpy(&v, a + j + 16, sizeof(v));
    u = u - mean, v = v - mean;
    acc = acc + u * u;
    acc2 = acc2 + v * v;
  }
  float s = ln_hsum(acc + acc2);
  for (; j < n; ++j) {
    float t = a[j] - mean;
    s += t * t;
  }
  return s;
}

static void add_layer_norm_row(const AddLayerNormCtx *c, int64_t i) {
  int64_t b = i / c->rows_per_batch, s = i % c->rows_per_batch, d = c->d;
  const float *x = c->x + b * c->xs0 + s * c->xs1;
  const float *r = c->r + b * c->rs0 + s * c->rs1;
  float *y = c->y + b * c->ys0 + s * c->ys1;
  // s = x + r, into the kept sum or (as scratch) into y.
  float *sum = c->sum ? c->sum + b * c->ss0 + s * c->ss1 : y;
  if (c->xs2 == 1 && c->rs2 == 1) {
    int64_t j = 0;
    for (; j + 16 <= d; j += 16) {
      ep_v16 u, v;
      __builtin_memcpy(&u, x + j, sizeof(u));
      __builtin_memcpy(&v, r + j, sizeof(v));
      u = u + v;
      __builtin_memcpy(sum + j, &u, sizeof(u));
    }
    for (; j < d; ++j)
      sum[j] = x[j] + r[j];
  } else {
    for (int64_t j = 0; j < d; ++j)
      sum[j] = x[j * c->xs2] + r[j * c->rs2];
  }
  float mean = ln_sum(sum, d) / (float)d;
  float variance = ln_squares(sum, d, mean) / (float)d;
  float rstd = 1.0f / __builtin_elementwise_sqrt(variance + c->epsilon);
  const float *gamma = c->gamma, *beta = c->beta;
  if (c->gs == 1 && (!beta || c->bs == 1)) {
    // Explicit vectors: y is often the very buffer that holds the sum, and the compiler's overlap check
    // then sends its own vectorisation to the scalar loop.
    int64_t j = 0;
    for (; j + 16 <= d; j += 16) {
      ep_v16 v, g, o = ep_splat(0.0f);
      __builtin_memcpy(&v, sum + j, sizeof(v));
      __builtin_memcpy(&g, gamma + j, sizeof(g));
      if (beta)
        __builtin_memcpy(&o, beta + j, sizeof(o));
      v = (v - mean) * rstd * g + o;
      __builtin_memcpy(y + j, &v, sizeof(v));
    }
    for (; j < d; ++j)
      y[j] = (sum[j] - mean) * rstd * gamma[j] + (beta ? beta[j] : 0.0f);
  } else {
    for (int64_t j = 0; j < d; ++j)
      y[j] = (sum[j] - mean) * rstd * gamma[j * c->gs] + (beta ? beta[j * c->bs] : 0.0f);
  }
}

static void add_layer_norm_task(void *p, int64_t task) {
  const AddLayerNormCtx *c = (const AddLayerNormCtx *)p;
  int64_t end = EFFC_UK_MIN(c->rows, (task + 1) * c->rows_per_task);
  for (int64_t i = task * c->rows_per_task; i < end; ++i)
    add_layer_norm_row(c, i);
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
