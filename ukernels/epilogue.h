/*===- epilogue.h - GEMM epilogues applied to output tiles in L1 -------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * What a GEMM kernel does to a finished output tile before it leaves the cache, so that the result is
 * written to memory once: y = activation(acc + bias) + residual. The kernel adds the bias itself (it is part
 * of its own epilogue); this header adds the activation and the residual. A kernel calls
 * effc_uk_epilogue_apply on a row segment it has just stored (still in L1).
 *
 * The lowering passes the epilogue as one `flags` argument: the activation kind in the low four bits (the
 * EFFC_UK_ACT_* values) and EFFC_UK_EPILOGUE_RESIDUAL when a residual [B, S, N] operand is to be added after
 * the activation. Activations are computed with polynomials (no libm: compiled models link only libc):
 * exp is Cephes' expf (about 1 ulp), erf a rational function of x² (Eigen's and XLA's fast erf: absolute error
 * below 5e-7, no exp, about two thirds of the time of Abramowitz & Stegun 7.1.26 with exp), tanh and the sigmoid
 * are built from exp.
 *
 *===----------------------------------------------------------------------===*/
#ifndef EFFC_UKERNELS_EPILOGUE_H
#define EFFC_UKERNELS_EPILOGUE_H

#include "ukernel.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

enum {
  EFFC_UK_ACT_NONE = 0,
  EFFC_UK_ACT_RELU = 1,
  EFFC_UK_ACT_GELU = 2,      /* exact (erf) form */
  EFFC_UK_ACT_GELU_TANH = 3, /* tanh approximation */
  EFFC_UK_ACT_SILU = 4,
  EFFC_UK_ACT_SIGMOID = 5,
  EFFC_UK_ACT_TANH = 6,
  EFFC_UK_EPILOGUE_ACTIVATION_MASK = 0xf,
  EFFC_UK_EPILOGUE_RESIDUAL = 0x10,
};

typedef struct {
  int64_t flags;          /* 0: nothing to do */
  const float *residual;  /* element (b, s, n) at residual[b · rs0 + s · rs1 + n · rs2] */
  int64_t rows_per_batch; /* S: row i of the GEMM is (i / S, i % S) */
  int64_t rs0, rs1, rs2;
} EffcUkEpilogue;

typedef float ep_v16 __attribute__((vector_size(64)));
typedef int32_t ep_i16 __attribute__((vector_size(64)));

static inline ep_v16 ep_splat(float x) { return (ep_v16){0} + x; }

static inline ep_v16 ep_select(ep_i16 mask, ep_v16 a, ep_v16 b) {
  return (ep_v16)(((ep_i16)a & mask) | ((ep_i16)b & ~mask));
}

/* Lanes below n (0 <= n <= 16) all ones, the others 0. */
static inline ep_i16 ep_lanes_below(int64_t n) {
  const ep_i16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return lane < (int32_t)n;
}

/* Σ of the 16 lanes, as a tree of halves (a lane-by-lane chain is 15 dependent additions). */
static inline float ep_hsum(ep_v16 x) {
  typedef float v8 __attribute__((vector_size(32)));
  typedef float v4 __attribute__((vector_size(16)));
  v8 h8 = __builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7) +
          __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15);
  v4 h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3) + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
  return (h4[0] + h4[2]) + (h4[1] + h4[3]);
}

/* Transposes the 16 x 16 block held as 16 row vectors in place (t[c][i] becomes the old t[i][c]): unpacks of
 * floats, then of pairs, then two rounds of 128-bit lane moves. For tiles computed with rows and columns
 * swapped (the sparse kernels' token-major accumulators, attention's Kᵀ). */
#define EP_SHUFFLE(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#define EP_LANES_02 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27
#define EP_LANES_13 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31
static inline void ep_transpose16(ep_v16 t[16]) {
  ep_v16 a[16], c[16];
  for (int i = 0; i < 16; i += 2) { /* lane L of a[i]: t_i[4L], t_i+1[4L], t_i[4L+1], t_i+1[4L+1]; a[i+1]: +2 */
    a[i] = EP_SHUFFLE(t[i], t[i + 1], 0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29);
    a[i + 1] = EP_SHUFFLE(t[i], t[i + 1], 2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31);
  }
  for (int g = 0; g < 16; g += 4) { /* lane L of c[g + m]: column 4L + m of rows g..g+3 */
    c[g] = EP_SHUFFLE(a[g], a[g + 2], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    c[g + 1] = EP_SHUFFLE(a[g], a[g + 2], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    c[g + 2] = EP_SHUFFLE(a[g + 1], a[g + 3], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    c[g + 3] = EP_SHUFFLE(a[g + 1], a[g + 3], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  }
  for (int m = 0; m < 4; ++m) { /* column 4L + m: lane L of c[m], c[4 + m], c[8 + m], c[12 + m] */
    ep_v16 e0 = EP_SHUFFLE(c[m], c[4 + m], EP_LANES_02), e1 = EP_SHUFFLE(c[m], c[4 + m], EP_LANES_13);
    ep_v16 e2 = EP_SHUFFLE(c[8 + m], c[12 + m], EP_LANES_02), e3 = EP_SHUFFLE(c[8 + m], c[12 + m], EP_LANES_13);
    t[m] = EP_SHUFFLE(e0, e2, EP_LANES_02);
    t[8 + m] = EP_SHUFFLE(e0, e2, EP_LANES_13);
    t[4 + m] = EP_SHUFFLE(e1, e3, EP_LANES_02);
    t[12 + m] = EP_SHUFFLE(e1, e3, EP_LANES_13);
  }
}
#undef EP_SHUFFLE
#undef EP_LANES_02
#undef EP_LANES_13

/* exp(x) for x in [-87, 88] (outside, the result is meaningless: callers clamp or blend it away). */
static inline ep_v16 ep_exp_in_range(ep_v16 x) {
  const float magic = 12582912.0f; /* 1.5 · 2^23: adding it rounds to an integer */
  ep_v16 n = (x * 1.44269504088896341f + magic) - magic;
  ep_v16 r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  ep_v16 p = ep_splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
#if defined(__AVX512F__)
  return (ep_v16)_mm512_scalef_ps((__m512)p, (__m512)n); /* p · 2^n in one instruction, exactly */
#else
  n = ep_select(n >= ep_splat(-127.0f), n, ep_splat(-127.0f)); /* x below the range, −inf or NaN: keeps the
                                                                  conversion and the shift defined */
  ep_i16 exponent = (__builtin_convertvector(n, ep_i16) + 127) << 23;
  return p * (ep_v16)exponent;
#endif
}

/* exp(x), clamped to [-87, 88] (so 0 is about 1.6e-38 and +inf is never produced). */
static inline ep_v16 ep_exp(ep_v16 x) {
  x = ep_select(x < ep_splat(-87.0f), ep_splat(-87.0f), x);
  x = ep_select(x > ep_splat(88.0f), ep_splat(88.0f), x);
  return ep_exp_in_range(x);
}

/* 1 / d for normal finite d: with AVX-512 vrcp14ps and one Newton step (relative error about 2^-28, where a
 * vdivps would take about as long as the rest of an activation), else a division. */
static inline ep_v16 ep_reciprocal(ep_v16 d) {
#if defined(__AVX512F__)
  ep_v16 r = (ep_v16)_mm512_rcp14_ps((__m512)d);
  return r * (2.0f - d * r);
#else
  return 1.0f / d;
#endif
}

static inline ep_v16 ep_abs(ep_v16 x) { return (ep_v16)((ep_i16)x & 0x7fffffff); }

/* |x| with the sign of s. */
static inline ep_v16 ep_copysign(ep_v16 x, ep_v16 s) {
  return (ep_v16)(((ep_i16)x & 0x7fffffff) | ((ep_i16)s & (int32_t)0x80000000u));
}

/* erf(x) = x·P(x²) / Q(x²) on [−4, 4], ±1 beyond (|erf(4) − 1| < 2e-8): odd numerator of degree 13, even
 * denominator of degree 8. */
static inline ep_v16 ep_erf(ep_v16 x) {
  x = ep_select(x < ep_splat(4.0f), x, ep_splat(4.0f));
  x = ep_select(x > ep_splat(-4.0f), x, ep_splat(-4.0f));
  ep_v16 x2 = x * x;
  ep_v16 p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = p * x2 - 2.10102402082508e-06f;
  p = p * x2 - 5.69250639462346e-05f;
  p = p * x2 - 7.34990630326855e-04f;
  p = p * x2 - 2.95459980854025e-03f;
  p = p * x2 - 1.60960333262415e-02f;
  ep_v16 q = x2 * -1.45660718464996e-05f - 2.13374055278905e-04f;
  q = q * x2 - 1.68282697438203e-03f;
  q = q * x2 - 7.37332916720468e-03f;
  q = q * x2 - 1.42647390514189e-02f; /* in [−2.4, −0.014]: never 0 */
  return x * p * ep_reciprocal(q);
}

static inline ep_v16 ep_tanh(ep_v16 x) {
  ep_v16 a = ep_abs(x);
  ep_v16 y = 1.0f - 2.0f * ep_reciprocal(ep_exp(2.0f * a) + 1.0f);
  /* Near 0 the difference above cancels: use the series x − x³/3 + 2x⁵/15 (error below 1e-9 there). */
  ep_v16 a2 = a * a;
  ep_v16 series = a * (1.0f + a2 * (-1.0f / 3.0f + a2 * (2.0f / 15.0f)));
  y = ep_select(a < ep_splat(0.04f), series, y);
  return ep_copysign(y, x);
}

static inline ep_v16 ep_sigmoid(ep_v16 x) { return ep_reciprocal(1.0f + ep_exp(-x)); }

static inline ep_v16 ep_activation(ep_v16 x, int64_t kind) {
  switch (kind) {
  case EFFC_UK_ACT_RELU:
    return ep_select(x > ep_splat(0.0f), x, ep_splat(0.0f));
  case EFFC_UK_ACT_GELU:
    return 0.5f * x * (1.0f + ep_erf(x * 0.70710678118654752f));
  case EFFC_UK_ACT_GELU_TANH:
    return 0.5f * x * (1.0f + ep_tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  case EFFC_UK_ACT_SILU:
    return x * ep_sigmoid(x);
  case EFFC_UK_ACT_SIGMOID:
    return ep_sigmoid(x);
  case EFFC_UK_ACT_TANH:
    return ep_tanh(x);
  default:
    return x;
  }
}

/* The epilogue of the (up to 16) columns [n0, n0 + cols) of GEMM row `row` while they are still in a
 * register: a kernel applies it before its one store. (Storing first and applying this to memory would
 * reload what a masked store just wrote, which store forwarding does not serve on every core.) */
static inline ep_v16 effc_uk_epilogue_v16(const EffcUkEpilogue *e, int64_t row, int64_t n0, ep_v16 v,
                                          int64_t cols) {
  int64_t kind = e->flags & EFFC_UK_EPILOGUE_ACTIVATION_MASK;
  if (kind != EFFC_UK_ACT_NONE)
    v = ep_activation(v, kind);
  if (e->flags & EFFC_UK_EPILOGUE_RESIDUAL) {
    const float *res = e->residual + (row / e->rows_per_batch) * e->rs0 + (row % e->rows_per_batch) * e->rs1 +
                       n0 * e->rs2;
    ep_v16 r = ep_splat(0.0f);
    if (cols == 16 && e->rs2 == 1)
      __builtin_memcpy(&r, res, sizeof(r));
    else
      for (int64_t j = 0; j < cols; ++j)
        r[j] = res[j * e->rs2];
    v = v + r;
  }
  return v;
}

/* Applies the epilogue to y[0, cols), the columns [n0, n0 + cols) of GEMM row `row`. */
static inline void effc_uk_epilogue_apply(const EffcUkEpilogue *e, int64_t row, int64_t n0, float *y,
                                          int64_t cols) {
  for (int64_t j0 = 0; j0 < cols; j0 += 16) {
    int64_t width = EFFC_UK_MIN(16, cols - j0);
    ep_v16 v = ep_splat(0.0f);
    if (width == 16)
      __builtin_memcpy(&v, y + j0, sizeof(v));
    else
      for (int64_t j = 0; j < width; ++j)
        v[j] = y[j0 + j];
    v = effc_uk_epilogue_v16(e, row, n0 + j0, v, width);
    if (width == 16)
      __builtin_memcpy(y + j0, &v, sizeof(v));
    else
      for (int64_t j = 0; j < width; ++j)
        y[j0 + j] = v[j];
  }
}

#endif /* EFFC_UKERNELS_EPILOGUE_H */
