/*===- sparse_gemm.c - sparse linear layers: N:M and CSR weights ---------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * y[t, o] = bias[o] + Σ_k W[o, k] · x[t, k] for weights stored compressed (the lowering of
 * eff.sparse_linear, docs/spec/eff.md#effsparse_linear):
 *
 *   effc_uk_sparse_nm_linear   N:M: values [N, K·n/m] f32 and indices [N, K·n/m] i8, where entry c of row o
 *                              is the weight at column (c / n) · m + indices[o, c].
 *   effc_uk_sparse_csr_linear  CSR: values [nnz] f32, column indices [nnz] i32, row_ptr [N + 1] i32.
 *
 * Both read only the stored weights and do one multiply-add per stored weight and token. The schedule
 * vectorises over tokens, not over output channels, so that the irregular column of each weight becomes an
 * address instead of a shuffle: a block of TB tokens of x is transposed once into xt [K, TB]; then each
 * stored weight w at column k costs one broadcast of w and TB/16 FMAs with the contiguous row xt[k, :].
 * Output channels keep their TB accumulators in registers while a K chunk (KC columns, the part of xt that
 * stays in L1) is processed, and in a small [outputs, TB] scratch between chunks. The load ports do the
 * gathering, and the FMA ports do only useful work: an N:M layer runs at about the dense FMA rate on
 * n/m of the work.
 *
 * With few tokens (decode) that schedule would waste most of each vector, so up to SG_SMALL_M tokens an N:M
 * layer takes another path (see "Small M" below) that vectorises over the stored entries of an output row.
 *
 * Work is split into (token block, output block) tasks run by effc_uk_parallel_for. The accumulators are
 * 16-float vector types (see sg_v16), so one source serves both variants; results differ between CPUs only
 * by FMA contraction.
 *
 *===----------------------------------------------------------------------===*/

#include "epilogue.h"
#include "ukernel.h"

#if defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#define SG_AVX512 1
#endif



/* Tokens per block (xt's row length; 8 AVX-512 vectors), columns per K chunk (xt chunk = 32 KiB), and
 * output channels per task. */
#ifndef SG_TB
#define SG_TB 128
#endif
#ifndef SG_KC
#define SG_KC 64
#endif
#ifndef SG_OB
#define SG_OB 128
#endif
#ifndef SG_PREFETCH_ROWS
#define SG_PREFETCH_ROWS 4
#endif

typedef struct {
  const float *x; /* [batch, rows, K]: token t is row t % rows of batch t / rows */
  int64_t x_batch_stride, x_row_stride, rows_per_batch;
  int64_t tokens, in_features, out_features;
  const float *values;
  int64_t ld_values; /* N:M: row stride of values and indices */
  const int8_t *nm_indices;
  int64_t ld_indices;
  const int32_t *columns; /* CSR */
  const int32_t *row_ptr;
  const float *bias;
  float *y; /* [batch, rows, N] */
  int64_t y_batch_stride, y_row_stride;
  int64_t n, m; /* N:M pattern; m == 0 for CSR */
  int64_t out_blocks;
  float *xt; /* [token blocks][K][TB]: x transposed per token block */
} sg_problem;

static inline const float *sg_x_row(const sg_problem *p, int64_t t) {
  return p->x + (t / p->rows_per_batch) * p->x_batch_stride + (t % p->rows_per_batch) * p->x_row_stride;
}

static inline float *sg_y_row(const sg_problem *p, int64_t t) {
  return p->y + (t / p->rows_per_batch) * p->y_batch_stride + (t % p->rows_per_batch) * p->y_row_stride;
}

/*===----------------------------------------------------------------------===*
 * Inner loops: acc[0:TB] += Σ w · xt[k, 0:TB] over a list of stored weights
 *===----------------------------------------------------------------------===*/

/* 16 floats: one AVX-512 register. Written with vector types rather than intrinsics so that both variants
 * share it: lib/Target compiles the kernels for the model's CPU, which turns these into zmm FMAs where the
 * CPU has AVX-512 and into narrower vectors elsewhere; `acc + w * x` contracts to an FMA where the CPU has
 * one. */
typedef float sg_v16 __attribute__((vector_size(64)));
typedef float sg_v16_unaligned __attribute__((vector_size(64), aligned(4)));

typedef struct {
  sg_v16 v[SG_TB / 16];
} sg_acc;

static inline __attribute__((always_inline)) void sg_load(sg_acc *a, const float *p) {
  for (int i = 0; i < SG_TB / 16; ++i)
    a->v[i] = *(const sg_v16_unaligned *)(p + 16 * i);
}

static inline __attribute__((always_inline)) void sg_store(const sg_acc *a, float *p) {
  for (int i = 0; i < SG_TB / 16; ++i)
    *(sg_v16_unaligned *)(p + 16 * i) = a->v[i];
}

static inline __attribute__((always_inline)) void sg_fma(sg_acc *a, float w, const float *row) {
  for (int i = 0; i < SG_TB / 16; ++i)
    a->v[i] = a->v[i] + w * *(const sg_v16_unaligned *)(row + 16 * i);
}

/* One N:M row over groups [g0, g1): n is a compile-time constant where the caller specialises it. */
static inline __attribute__((always_inline)) void sg_nm_row(float *acc_mem, const float *xt, const float *values,
                                                            const int8_t *indices, int64_t g0, int64_t g1,
                                                            int64_t n, int64_t m) {
  sg_acc acc;
  sg_load(&acc, acc_mem);
  const float *base = xt + g0 * m * SG_TB;
  for (int64_t g = g0; g < g1; ++g, base += m * SG_TB)
    for (int64_t j = 0; j < n; ++j)
      sg_fma(&acc, values[g * n + j], base + (int64_t)indices[g * n + j] * SG_TB);
  sg_store(&acc, acc_mem);
}

/* One CSR row: stored weights [*cursor, end) whose column is below k_end; advances *cursor. */
static inline void sg_csr_row(float *acc_mem, const float *xt, const float *values, const int32_t *columns,
                              int32_t *cursor, int32_t end, int64_t k_end) {
  int32_t c = *cursor;
  if (c >= end || columns[c] >= k_end)
    return;
  sg_acc acc;
  sg_load(&acc, acc_mem);
  for (; c < end && columns[c] < k_end; ++c)
    sg_fma(&acc, values[c], xt + (int64_t)columns[c] * SG_TB);
  sg_store(&acc, acc_mem);
  *cursor = c;
}

/*===----------------------------------------------------------------------===*
 * Tasks
 *===----------------------------------------------------------------------===*/

/* Phase 1, one task per (token block, SG_KC columns): xt[block][k, r] = x[block·TB + r, k], zero for tokens
 * past the end. */
static void sg_transpose_task(void *ctx, int64_t task) {
  const sg_problem *p = (const sg_problem *)ctx;
  int64_t k_total = p->in_features, chunks = (k_total + SG_KC - 1) / SG_KC;
  int64_t block = task / chunks, k0 = (task % chunks) * SG_KC;
  int64_t k1 = k0 + SG_KC < k_total ? k0 + SG_KC : k_total;
  int64_t t0 = block * SG_TB;
  int64_t rows = p->tokens - t0 < SG_TB ? p->tokens - t0 : SG_TB;
  float *xt = p->xt + block * k_total * SG_TB;
  for (int64_t r = 0; r < SG_TB; ++r) {
    const float *x = r < rows ? sg_x_row(p, t0 + r) : 0;
    for (int64_t k = k0; k < k1; ++k)
      xt[k * SG_TB + r] = x ? x[k] : 0.0f;
  }
}

/* Phase 2: one (token block, output block) tile of y. */
static void sg_task(void *ctx, int64_t task) {
  const sg_problem *p = (const sg_problem *)ctx;
  int64_t block = task / p->out_blocks;
  int64_t t0 = block * SG_TB;
  int64_t o0 = (task % p->out_blocks) * SG_OB;
  int64_t rows = p->tokens - t0 < SG_TB ? p->tokens - t0 : SG_TB;
  int64_t outs = p->out_features - o0 < SG_OB ? p->out_features - o0 : SG_OB;
  int64_t k_total = p->in_features;
  const float *xt = p->xt + block * k_total * SG_TB;

  float *yt = (float *)effc_uk_alloc((uint64_t)(SG_OB * SG_TB) * sizeof(float) + (uint64_t)SG_OB * sizeof(int32_t));
  int32_t *cursor = (int32_t *)(yt + SG_OB * SG_TB);
  for (int64_t i = 0; i < outs * SG_TB; ++i)
    yt[i] = 0.0f;

  if (p->m > 0) {
    int64_t n = p->n, m = p->m;
    int64_t groups = k_total / m;
    int64_t chunk_groups = SG_KC / m > 0 ? SG_KC / m : 1;
    for (int64_t g0 = 0; g0 < groups; g0 += chunk_groups) {
      int64_t g1 = g0 + chunk_groups < groups ? g0 + chunk_groups : groups;
      for (int64_t o = 0; o < outs; ++o) {
        const float *vr = p->values + (o0 + o) * p->ld_values;
        const int8_t *ir = p->nm_indices + (o0 + o) * p->ld_indices;
        /* Rows SG_PREFETCH_ROWS ahead: the chunk-major walk jumps a row stride between output rows, a
         * pattern the hardware prefetchers do not follow, and each row's chunk is only (KC/m)·n entries. */
        if (o + SG_PREFETCH_ROWS < outs) {
          const float *vn = vr + SG_PREFETCH_ROWS * p->ld_values + g0 * n;
          for (int64_t e = 0; e < (g1 - g0) * n; e += 16)
            __builtin_prefetch(vn + e);
          __builtin_prefetch(ir + SG_PREFETCH_ROWS * p->ld_indices + g0 * n);
        }
        float *acc = yt + o * SG_TB;
        /* Specialised for the common n so that the inner loop unrolls. */
        switch (n) {
        case 1: sg_nm_row(acc, xt, vr, ir, g0, g1, 1, m); break;
        case 2: sg_nm_row(acc, xt, vr, ir, g0, g1, 2, m); break;
        case 4: sg_nm_row(acc, xt, vr, ir, g0, g1, 4, m); break;
        default: sg_nm_row(acc, xt, vr, ir, g0, g1, n, m); break;
        }
      }
    }
  } else {
    for (int64_t o = 0; o < outs; ++o)
      cursor[o] = p->row_ptr[o0 + o];
    for (int64_t k0 = 0; k0 < k_total; k0 += SG_KC) {
      int64_t k1 = k0 + SG_KC < k_total ? k0 + SG_KC : k_total;
      for (int64_t o = 0; o < outs; ++o)
        sg_csr_row(yt + o * SG_TB, xt, p->values, p->columns, &cursor[o], p->row_ptr[o0 + o + 1], k1);
    }
  }

  /* y[t0 + r, o0 + o] = yt[o, r] + bias[o0 + o]: 16 x 16 blocks transposed in registers (epilogue.h), the
   * edges in C. */
  int64_t outs16 = outs / 16 * 16, rows16 = rows / 16 * 16;
  for (int64_t ob = 0; ob < outs16; ob += 16) {
    sg_v16 bias = *(const sg_v16_unaligned *)(p->bias + o0 + ob);
    for (int64_t rb = 0; rb < rows16; rb += 16) {
      sg_v16 t[16];
      for (int i = 0; i < 16; ++i)
        t[i] = *(const sg_v16 *)(yt + (ob + i) * SG_TB + rb);
      ep_transpose16(t);
      for (int i = 0; i < 16; ++i)
        *(sg_v16_unaligned *)(sg_y_row(p, t0 + rb + i) + o0 + ob) = t[i] + bias;
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    float *yr = sg_y_row(p, t0 + r) + o0;
    for (int64_t o = r < rows16 ? outs16 : 0; o < outs; ++o)
      yr[o] = yt[o * SG_TB + r] + p->bias[o0 + o];
  }
  effc_uk_free(yt);
}

/*===----------------------------------------------------------------------===*
 * Small M (decode): one output row at a time, vectorised over its stored entries
 *===----------------------------------------------------------------------===*
 *
 * With at most SG_SMALL_M tokens the token-block schedule above wastes most of each vector (a decode step
 * has one token in a 128-token block), while the layer is bound by the weight stream anyway. So each output
 * row's stored entries are read once, 16 at a time, for up to SG_ROWS tokens that share the index decode:
 * entry c of a chunk starting at c0 (n divides 16, so chunks start on group boundaries) sits at column
 * base + (c − c0) / n · m + indices[c] with base = c0 / n · m, and the chunk spans W = 16 / n · m columns of
 * x. With AVX-512 the 16 activations are gathered in registers: W <= 32 (2:4, 4:8) takes one vpermt2ps over
 * two zmm of x, W <= 64 (1:4, 2:8) two and a blend, and wider windows (m/n > 4, m > 16 with n < m/4)
 * a vgatherdps. Other n, and the portable variant, loop over the entries in C; all paths compute the same
 * sums up to f32 summation order. Work is split into blocks of SG_SMALL_OB output rows. */

#ifndef SG_SMALL_M
#define SG_SMALL_M 64 /* measured: at 64 tokens this path takes 0.8x the time of the token blocks, at 96 1.3-1.5x */
#endif
#define SG_ROWS 8
#define SG_SMALL_OB 32
#define SG_SMALL_OUTS 4

/* out[j·SG_ROWS + r] = Σ_c values[j·ld_values + c] · x[r][column(j·ld_indices + c)] over the `stored`
 * entries of `outs` consecutive output rows j, for `rows` tokens r (both compile-time constants where the
 * caller specialises them). The output rows share the loads of x (their chunks cover the same columns) and
 * give the FMAs independent chains. */
static inline __attribute__((always_inline)) void
sg_small_dot(const float *const *x, int rows, int outs, const float *values, int64_t ld_values,
             const int8_t *indices, int64_t ld_indices, int64_t stored, int64_t n, int64_t m, float *out) {
#if defined(SG_AVX512)
  if (16 % n == 0) {
    const int64_t span = 16 / n * m; /* columns of x covered by 16 entries */
    int32_t lanes[16];
    for (int j = 0; j < 16; ++j)
      lanes[j] = (int32_t)(j / n * m);
    const __m512i pattern = _mm512_loadu_si512(lanes);
    __m512 acc[SG_SMALL_OUTS][SG_ROWS];
    for (int j = 0; j < outs; ++j)
      for (int r = 0; r < rows; ++r)
        acc[j][r] = _mm512_setzero_ps();
    for (int64_t c0 = 0; c0 < stored; c0 += 16) {
      int64_t left = stored - c0;
      __mmask16 live = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
      int64_t width = left >= 16 ? span : left / n * m; /* columns this chunk may read */
      int64_t base = c0 / n * m;
      __m512 v[SG_SMALL_OUTS];
      __m512i id[SG_SMALL_OUTS];
      /* The next `outs` output rows, at the same entries: each row is a short stream (K·n/m entries) that
       * the hardware prefetchers cannot ramp up on, so they are fetched one group of rows ahead. */
      for (int j = 0; j < outs; ++j) {
        _mm_prefetch((const char *)(values + (outs + j) * ld_values + c0), _MM_HINT_T0);
        if ((c0 & 63) == 0)
          _mm_prefetch((const char *)(indices + (outs + j) * ld_indices + c0), _MM_HINT_T0);
      }
      for (int j = 0; j < outs; ++j) {
        v[j] = _mm512_maskz_loadu_ps(live, values + j * ld_values + c0);
        id[j] = _mm512_add_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(live, indices + j * ld_indices + c0)),
                                 pattern);
      }
      if (span <= 64) {
        /* Masks of the (up to four) 16-column parts of the window that lie before column base + width. */
        __mmask16 part[4];
        for (int i = 0; i < 4; ++i) {
          int64_t in = width - 16 * i;
          part[i] = in >= 16 ? (__mmask16)0xFFFF : in <= 0 ? (__mmask16)0 : (__mmask16)((1u << in) - 1u);
        }
        for (int r = 0; r < rows; ++r) {
          const float *xb = x[r] + base;
          __m512 x0 = _mm512_maskz_loadu_ps(part[0], xb), x1 = _mm512_maskz_loadu_ps(part[1], xb + 16);
          if (span <= 32) {
            for (int j = 0; j < outs; ++j)
              acc[j][r] = _mm512_fmadd_ps(v[j], _mm512_permutex2var_ps(x0, id[j], x1), acc[j][r]);
          } else {
            __m512 x2 = _mm512_maskz_loadu_ps(part[2], xb + 32), x3 = _mm512_maskz_loadu_ps(part[3], xb + 48);
            for (int j = 0; j < outs; ++j) {
              __mmask16 high = _mm512_test_epi32_mask(id[j], _mm512_set1_epi32(32));
              __m512 g = _mm512_mask_blend_ps(high, _mm512_permutex2var_ps(x0, id[j], x1),
                                              _mm512_permutex2var_ps(x2, id[j], x3));
              acc[j][r] = _mm512_fmadd_ps(v[j], g, acc[j][r]);
            }
          }
        }
      } else {
        for (int r = 0; r < rows; ++r)
          for (int j = 0; j < outs; ++j)
            acc[j][r] = _mm512_fmadd_ps(
                v[j], _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, id[j], x[r] + base, 4), acc[j][r]);
      }
    }
    for (int j = 0; j < outs; ++j)
      for (int r = 0; r < rows; ++r)
        out[j * SG_ROWS + r] = _mm512_reduce_add_ps(acc[j][r]);
    return;
  }
#endif
  for (int j = 0; j < outs; ++j) {
    const float *vj = values + j * ld_values;
    const int8_t *ij = indices + j * ld_indices;
    float acc[SG_ROWS];
    for (int r = 0; r < rows; ++r)
      acc[r] = 0.0f;
    for (int64_t c = 0; c < stored; ++c) {
      int64_t column = c / n * m + ij[c];
      float w = vj[c];
      for (int r = 0; r < rows; ++r)
        acc[r] += w * x[r][column];
    }
    for (int r = 0; r < rows; ++r)
      out[j * SG_ROWS + r] = acc[r];
  }
}

/* sg_small_dot with n:m fixed to 2:4 where it is (the common case: constant window and index pattern). */
static inline __attribute__((always_inline)) void
sg_small_dot_nm(const float *const *x, int rows, int outs, const float *values, int64_t ld_values,
                const int8_t *indices, int64_t ld_indices, int64_t stored, int64_t n, int64_t m, float *out) {
  if (n == 2 && m == 4)
    sg_small_dot(x, rows, outs, values, ld_values, indices, ld_indices, stored, 2, 4, out);
  else
    sg_small_dot(x, rows, outs, values, ld_values, indices, ld_indices, stored, n, m, out);
}

/* One block of SG_SMALL_OB output rows for all (at most SG_SMALL_M) tokens. */
static void sg_small_task(void *ctx, int64_t task) {
  const sg_problem *p = (const sg_problem *)ctx;
  int64_t o0 = task * SG_SMALL_OB;
  int64_t o1 = o0 + SG_SMALL_OB < p->out_features ? o0 + SG_SMALL_OB : p->out_features;
  int64_t stored = p->in_features / p->m * p->n;
  for (int64_t t0 = 0; t0 < p->tokens; t0 += SG_ROWS) {
    int rows = p->tokens - t0 < SG_ROWS ? (int)(p->tokens - t0) : SG_ROWS;
    const float *x[SG_ROWS];
    float *y[SG_ROWS];
    for (int r = 0; r < rows; ++r) {
      x[r] = sg_x_row(p, t0 + r);
      y[r] = sg_y_row(p, t0 + r);
    }
    /* Output rows per step: 4 for one or two tokens (enough independent FMA chains), else 2. */
    int step = rows <= 2 ? 4 : 2;
    for (int64_t o = o0; o < o1; o += step) {
      int outs = o1 - o < step ? (int)(o1 - o) : step;
      const float *values = p->values + o * p->ld_values;
      const int8_t *indices = p->nm_indices + o * p->ld_indices;
      float out[SG_SMALL_OUTS * SG_ROWS];
      /* Specialised for the row and output counts so that the accumulators stay in registers. */
#define SG_DOT(R, J)                                                                                                   \
  sg_small_dot_nm(x, R, J, values, p->ld_values, indices, p->ld_indices, stored, p->n, p->m, out)
#define SG_ROWS_CASE(R)                                                                                                \
  case R:                                                                                                              \
    if (outs == step)                                                                                                  \
      (R) <= 2 ? SG_DOT(R, 4) : SG_DOT(R, 2);                                                                          \
    else                                                                                                               \
      for (int j = 0; j < outs; ++j)                                                                                   \
        sg_small_dot_nm(x, R, 1, values + j * p->ld_values, p->ld_values, indices + j * p->ld_indices,                 \
                        p->ld_indices, stored, p->n, p->m, out + j * SG_ROWS);                                         \
    break;
      switch (rows) {
        SG_ROWS_CASE(1) SG_ROWS_CASE(2) SG_ROWS_CASE(3) SG_ROWS_CASE(4)
        SG_ROWS_CASE(5) SG_ROWS_CASE(6) SG_ROWS_CASE(7) SG_ROWS_CASE(8)
      }
#undef SG_ROWS_CASE
#undef SG_DOT
      for (int j = 0; j < outs; ++j)
        for (int r = 0; r < rows; ++r)
          y[r][o + j] = out[j * SG_ROWS + r] + p->bias[o + j];
    }
  }
}

static void sg_run(sg_problem *p) {
  if (p->tokens <= 0 || p->out_features <= 0)
    return;
  if (p->m > 0 && p->tokens <= SG_SMALL_M) {
    effc_uk_parallel_for(sg_small_task, p, (p->out_features + SG_SMALL_OB - 1) / SG_SMALL_OB);
    return;
  }
  int64_t token_blocks = (p->tokens + SG_TB - 1) / SG_TB;
  p->out_blocks = (p->out_features + SG_OB - 1) / SG_OB;
  p->xt = (float *)effc_uk_alloc((uint64_t)(token_blocks * p->in_features * SG_TB) * sizeof(float));
  effc_uk_parallel_for(sg_transpose_task, p, token_blocks * ((p->in_features + SG_KC - 1) / SG_KC));
  effc_uk_parallel_for(sg_task, p, token_blocks * p->out_blocks);
  effc_uk_free(p->xt);
}

/*===----------------------------------------------------------------------===*
 * Exported kernels (memref operands in MLIR's default calling convention)
 *===----------------------------------------------------------------------===*/

/* The [B, S, K] activation and the [B, S, N] result of a problem, from their memref descriptors. */
static void sg_set_activations(sg_problem *p, const float *x, int64_t batch, int64_t rows, int64_t in_features,
                               int64_t batch_stride, int64_t row_stride, int64_t out_features) {
  p->x = x;
  p->x_batch_stride = batch_stride;
  p->x_row_stride = row_stride;
  p->rows_per_batch = rows;
  p->tokens = batch * rows;
  p->in_features = in_features;
  p->out_features = out_features;
}

static void sg_set_result(sg_problem *p, float *y, int64_t batch_stride, int64_t row_stride) {
  p->y = y;
  p->y_batch_stride = batch_stride;
  p->y_row_stride = row_stride;
}

/* x [B, S, K], values [N, K·n/m], indices [N, K·n/m] (i8, 0 <= index < m), bias [N], the pattern n:m, and the
 * result y [B, S, N] (operands first, then results: buildUkernelCall's order). Activations are 3-D so that
 * [batch, seq, hidden] needs no reshape; unit stride in the last dimension of every operand. */
void effc_uk_sparse_nm_linear(EFFC_UK_MEMREF3(const float, x), EFFC_UK_MEMREF2(const float, values),
                              EFFC_UK_MEMREF2(const int8_t, indices), EFFC_UK_MEMREF1(const float, bias),
                              int64_t n, int64_t m, EFFC_UK_MEMREF3(float, y)) {
  sg_problem p = {0};
  sg_set_activations(&p, x + x_offset, x_size0, x_size1, x_size2, x_stride0, x_stride1, y_size2);
  p.values = values + values_offset;
  p.ld_values = values_stride0;
  p.nm_indices = indices + indices_offset;
  p.ld_indices = indices_stride0;
  p.bias = bias + bias_offset;
  sg_set_result(&p, y + y_offset, y_stride0, y_stride1);
  p.n = n;
  p.m = m;
  sg_run(&p);
}

/* x [B, S, K], values [nnz], columns [nnz] (i32, ascending within a row), row_ptr [N + 1], bias [N],
 * y [B, S, N]. */
void effc_uk_sparse_csr_linear(EFFC_UK_MEMREF3(const float, x), EFFC_UK_MEMREF1(const float, values),
                               EFFC_UK_MEMREF1(const int32_t, columns), EFFC_UK_MEMREF1(const int32_t, row_ptr),
                               EFFC_UK_MEMREF1(const float, bias), EFFC_UK_MEMREF3(float, y)) {
  sg_problem p = {0};
  sg_set_activations(&p, x + x_offset, x_size0, x_size1, x_size2, x_stride0, x_stride1, y_size2);
  p.values = values + values_offset;
  p.columns = columns + columns_offset;
  p.row_ptr = row_ptr + row_ptr_offset;
  p.bias = bias + bias_offset;
  sg_set_result(&p, y + y_offset, y_stride0, y_stride1);
  sg_run(&p);
}

/*===----------------------------------------------------------------------===*
 * int8 N:M with m = 4: int8 values, 2-bit indices, u8 activations (VNNI)
 *===----------------------------------------------------------------------===*
 *
 * y[t, o] = s_x[t] · scales[o] · (Σ_c q_x[t, column(c)] · w[o, c] − z_x · Σ_c w[o, c]) + bias[o], with the
 * activations quantized per row as the dense int8 kernel does (ukernels/quantized_gemm.c): s_x = max|x| / 127,
 * z_x = 128, q_x = clamp(rint(x / s_x) + 128, 0, 255). The int32 sums are exact, so the AVX-512 and C paths
 * give the same bits.
 *
 * Activation rows are stored in blocks of 128 columns (64 stored 2:4 entries) laid out for vpshufb, which
 * gathers within 16-byte lanes: lane L of the block's first 64 bytes holds columns 32L .. 32L+15, lane L of
 * the second 64 bytes columns 32L+16 .. 32L+31. Entries 16L .. 16L+15 of a 64-entry chunk read only columns
 * 32L .. 32L+31, so two vpshufb and a byte blend (on bit 4 of the column) gather the 64 activations of a
 * chunk, and one vpdpbusd multiplies them by the chunk's 64 int8 weights: 16 lanes × 4 useful products.
 * Work: blocks of SG_SMALL_OB output rows, each row's entries read once per 8 tokens. From SG_TABLE_M
 * tokens, 2:4 with 8 | K takes the quad-table path further below instead. Patterns other than 2:4 (1:4, 3:4),
 * and the portable variant, run the same sums in a C loop. */

/* Quad-table path: tokens per block, 8-column chunks per K step (the step's table: 8 · 36 · SG_QT dwords
 * = 36 KiB, in L1), outputs per task, and the token count from which it is taken (measured: 1.3-3x the
 * vpshufb path from 32 tokens on, equal below). */
#ifndef SG_QT
#define SG_QT 32
#endif
#ifndef SG_QKC
#define SG_QKC 8
#endif
#define SG_QOB 384
#ifndef SG_TABLE_M
#define SG_TABLE_M 32
#endif

typedef struct {
  const float *x;
  int64_t x_batch_stride, x_row_stride, rows_per_batch;
  int64_t tokens, in_features, out_features, padded; /* padded: in_features rounded up to 128 */
  const int8_t *values;
  int64_t ld_values;
  const uint8_t *indices; /* 2 bits per entry: entry c in bits 2·(c % 4) of byte c / 4 */
  int64_t ld_indices;
  const float *scales, *bias;
  float *y;
  int64_t y_batch_stride, y_row_stride;
  int64_t n;
  uint8_t *xq;    /* [tokens][padded] quantized activations, laid out as above */
  float *x_scale; /* [tokens] */
  /* The quad-table path (many tokens, see below): xq holds [token blocks][K][SG_QT] instead, and pattern
   * maps an index byte to its quad's row in a chunk's table. */
  int table_path;
  uint8_t pattern[256];
} sg_i8_problem;

/* Offset of column k in a quantized activation row (the vpshufb layout above). */
static inline int64_t sg_i8_offset(int64_t k) {
  int64_t r = k % 128;
  return k - r + ((r % 32) / 16) * 64 + (r / 32) * 16 + r % 16;
}

/* Round to nearest, ties to even, without libm (as quantized_gemm.c's round_even_f32). */
static inline float sg_round_even(float v) {
  const float big = 8388608.0f; /* 2^23 */
  float a = v < 0.0f ? -v : v;
  if (!(a < big))
    return v;
  return v >= 0.0f ? (v + big) - big : (v - big) + big;
}

static void sg_i8_quantize_task(void *ctx, int64_t t) {
  const sg_i8_problem *p = (const sg_i8_problem *)ctx;
  const float *x = p->x + (t / p->rows_per_batch) * p->x_batch_stride + (t % p->rows_per_batch) * p->x_row_stride;
  uint8_t *q = p->xq + t * p->padded;
  int64_t k_total = p->in_features;
  float amax = 0.0f;
  for (int64_t k = 0; k < k_total; ++k) {
    float a = x[k] < 0.0f ? -x[k] : x[k];
    amax = a > amax ? a : amax;
  }
  if (amax < 0x1p-100f) /* as the dense kernel: 127 / amax would overflow for the smallest */
    amax = 0.0f;
  float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
  p->x_scale[t] = amax > 0.0f ? amax / 127.0f : 1.0f;
  for (int64_t k = 0; k < k_total; ++k) {
    float v = sg_round_even(x[k] * inverse) + 128.0f;
    uint8_t byte = (uint8_t)(v >= 0.0f ? (v <= 255.0f ? v : 255.0f) : 0.0f); /* NaN: 0 */
    if (p->table_path)
      p->xq[((t / SG_QT) * k_total + k) * SG_QT + t % SG_QT] = byte;
    else
      q[sg_i8_offset(k)] = byte;
  }
  if (!p->table_path)
    for (int64_t k = k_total; k < p->padded; ++k)
      q[sg_i8_offset(k)] = 0;
}

/* acc[r] = Σ_c q_x[r][column(c)] · w[c] for `rows` tokens and wsum = Σ_c w[c], over one output row. */
static inline __attribute__((always_inline)) void sg_i8_dot(const sg_i8_problem *p, const uint8_t *const *xq,
                                                            int rows, const int8_t *values,
                                                            const uint8_t *indices, int32_t *acc,
                                                            int32_t *wsum) {
  int64_t stored = p->in_features / 4 * p->n;
#if defined(SG_AVX512) && defined(__AVX512VNNI__)
  if (p->n == 2) {
    /* pattern[j] = ((j % 16) / 2) · 4: the first column of entry j's group within its lane's 32 columns. */
    const __m512i pattern = _mm512_set_epi32(
        0x1C1C1818, 0x14141010, 0x0C0C0808, 0x04040000, 0x1C1C1818, 0x14141010, 0x0C0C0808, 0x04040000,
        0x1C1C1818, 0x14141010, 0x0C0C0808, 0x04040000, 0x1C1C1818, 0x14141010, 0x0C0C0808, 0x04040000);
    const __m512i twobits = _mm512_set1_epi8(3), bit4 = _mm512_set1_epi8(16), ones = _mm512_set1_epi8(1);
    __m512i vacc[SG_ROWS], vsum = _mm512_setzero_si512();
    for (int r = 0; r < rows; ++r)
      vacc[r] = _mm512_setzero_si512();
    for (int64_t c0 = 0; c0 < stored; c0 += 64) {
      int64_t left = stored - c0;
      __mmask64 live = left >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
      int64_t index_bytes = left >= 64 ? 16 : (left + 3) / 4;
      __m512i w = _mm512_maskz_loadu_epi8(live, values + c0);
      /* Byte j of dword i = the 2-bit index of entry 4i + j. */
      __m512i id = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8((__mmask16)((1u << index_bytes) - 1), indices + c0 / 4));
      id = _mm512_or_si512(id, _mm512_slli_epi32(id, 6));
      id = _mm512_or_si512(id, _mm512_slli_epi32(id, 12));
      id = _mm512_add_epi8(_mm512_and_si512(id, twobits), pattern);
      __mmask64 high = _mm512_test_epi8_mask(id, bit4);
      vsum = _mm512_dpbusd_epi32(vsum, ones, w);
      for (int r = 0; r < rows; ++r) {
        const uint8_t *block = xq[r] + c0 * 2;
        __m512i g = _mm512_mask_blend_epi8(high, _mm512_shuffle_epi8(_mm512_loadu_si512(block), id),
                                           _mm512_shuffle_epi8(_mm512_loadu_si512(block + 64), id));
        vacc[r] = _mm512_dpbusd_epi32(vacc[r], g, w);
      }
    }
    for (int r = 0; r < rows; ++r)
      acc[r] = _mm512_reduce_add_epi32(vacc[r]);
    *wsum = _mm512_reduce_add_epi32(vsum);
    return;
  }
#endif
  int32_t s = 0;
  for (int r = 0; r < rows; ++r)
    acc[r] = 0;
  for (int64_t c = 0; c < stored; ++c) {
    int64_t column = c / p->n * 4 + ((indices[c / 4] >> (2 * (c % 4))) & 3);
    int64_t offset = sg_i8_offset(column);
    int32_t w = values[c];
    s += w;
    for (int r = 0; r < rows; ++r)
      acc[r] += (int32_t)xq[r][offset] * w;
  }
  *wsum = s;
}

static void sg_i8_task(void *ctx, int64_t task) {
  const sg_i8_problem *p = (const sg_i8_problem *)ctx;
  int64_t o0 = task * SG_SMALL_OB;
  int64_t o1 = o0 + SG_SMALL_OB < p->out_features ? o0 + SG_SMALL_OB : p->out_features;
  for (int64_t t0 = 0; t0 < p->tokens; t0 += SG_ROWS) {
    int rows = p->tokens - t0 < SG_ROWS ? (int)(p->tokens - t0) : SG_ROWS;
    const uint8_t *xq[SG_ROWS];
    float *y[SG_ROWS];
    for (int r = 0; r < rows; ++r) {
      int64_t t = t0 + r;
      xq[r] = p->xq + t * p->padded;
      y[r] = p->y + (t / p->rows_per_batch) * p->y_batch_stride + (t % p->rows_per_batch) * p->y_row_stride;
    }
    for (int64_t o = o0; o < o1; ++o) {
      int32_t acc[SG_ROWS], wsum;
      const int8_t *values = p->values + o * p->ld_values;
      const uint8_t *indices = p->indices + o * p->ld_indices;
      switch (rows) {
#define SG_I8_CASE(R)                                                                                          \
  case R:                                                                                                      \
    sg_i8_dot(p, xq, R, values, indices, acc, &wsum);                                                          \
    break;
        SG_I8_CASE(1) SG_I8_CASE(2) SG_I8_CASE(3) SG_I8_CASE(4)
        SG_I8_CASE(5) SG_I8_CASE(6) SG_I8_CASE(7) SG_I8_CASE(8)
#undef SG_I8_CASE
      }
      for (int r = 0; r < rows; ++r) {
        /* The dense int8 epilogue's arithmetic: exact int32 correction, then two roundings. */
        float corrected = (float)(acc[r] - 128 * wsum);
        float v = corrected * (p->x_scale[t0 + r] * p->scales[o]);
        y[r][o] = v + p->bias[o];
      }
    }
  }
}

#if defined(SG_AVX512) && defined(__AVX512VNNI__)
/* Quad-table path for 2:4 with many tokens (the design of the layer's issue): an index byte describes one
 * 8-column chunk (two groups), and its four stored weights are one dword. The four activations they multiply
 * are one of 6 · 6 quads (a pair of distinct positions in each group). For a block of SG_QT tokens, all 36
 * quads of each chunk are built once per task (the table, [36][SG_QT] dwords per chunk, amortised over the
 * task's SG_QOB outputs); then
 * each stored weight dword costs one broadcast and SG_QT/16 vpdpbusd on a table row: 16 tokens × 4 useful
 * products per instruction and no shuffles. Requires 8 | K and ascending indices in each group (the
 * precondition eff-sparsify establishes). */

/* table[36][SG_QT] of one 8-column chunk from a token block's transposed activations. */
static void sg_i8_build_table(const sg_i8_problem *p, int64_t block, int64_t chunk, uint32_t *table) {
  const uint8_t *xt = p->xq + (block * p->in_features + chunk * 8) * SG_QT;
  static const int first[6] = {0, 0, 0, 1, 1, 2}, second[6] = {1, 2, 3, 2, 3, 3};
  for (int h = 0; h < SG_QT / 16; ++h) {
    __m512i column[8], low[6], high[6];
    for (int k = 0; k < 8; ++k)
      column[k] = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(xt + k * SG_QT + 16 * h)));
    for (int a = 0; a < 6; ++a) {
      low[a] = _mm512_or_si512(column[first[a]], _mm512_slli_epi32(column[second[a]], 8));
      high[a] = _mm512_or_si512(_mm512_slli_epi32(column[4 + first[a]], 16),
                                _mm512_slli_epi32(column[4 + second[a]], 24));
    }
    for (int a = 0; a < 6; ++a)
      for (int b = 0; b < 6; ++b)
        _mm512_storeu_si512(table + (a * 6 + b) * SG_QT + 16 * h, _mm512_or_si512(low[a], high[b]));
  }
}

/* acc[j][0:SG_QT] += Σ over the chunks [0, count) of outputs j < OUTS (a compile-time constant). */
static inline __attribute__((always_inline)) void sg_i8_table_dot(const sg_i8_problem *p, const uint32_t *table,
                                                                  const int8_t *values, const uint8_t *indices,
                                                                  int64_t count, int outs, int32_t *acc) {
  __m512i a[4][SG_QT / 16];
  for (int j = 0; j < outs; ++j)
    for (int h = 0; h < SG_QT / 16; ++h)
      a[j][h] = _mm512_loadu_si512(acc + j * SG_QT + 16 * h);
  for (int64_t c = 0; c < count; ++c) {
    const uint32_t *rows = table + c * 36 * SG_QT;
    for (int j = 0; j < outs; ++j) {
      int32_t quad;
      __builtin_memcpy(&quad, values + j * p->ld_values + 4 * c, 4);
      const uint32_t *row = rows + p->pattern[indices[j * p->ld_indices + c]] * SG_QT;
      __m512i w = _mm512_set1_epi32(quad);
      for (int h = 0; h < SG_QT / 16; ++h)
        a[j][h] = _mm512_dpbusd_epi32(a[j][h], _mm512_loadu_si512(row + 16 * h), w);
    }
  }
  for (int j = 0; j < outs; ++j)
    for (int h = 0; h < SG_QT / 16; ++h)
      _mm512_storeu_si512(acc + j * SG_QT + 16 * h, a[j][h]);
}

/* One (token block, SG_QOB outputs) tile. Each task builds the table of each K step itself (36 KiB, in L1,
 * about a tenth of the step's work at SG_QOB outputs): a table of all of K would not stay in cache. */
static void sg_i8_table_gemm_task(void *ctx, int64_t task) {
  const sg_i8_problem *p = (const sg_i8_problem *)ctx;
  int64_t out_blocks = (p->out_features + SG_QOB - 1) / SG_QOB;
  int64_t block = task / out_blocks, o0 = (task % out_blocks) * SG_QOB;
  int64_t outs = p->out_features - o0 < SG_QOB ? p->out_features - o0 : SG_QOB;
  int64_t t0 = block * SG_QT, rows = p->tokens - t0 < SG_QT ? p->tokens - t0 : SG_QT;
  int64_t chunks = p->in_features / 8, stored = p->in_features / 2;
  uint32_t *table = (uint32_t *)effc_uk_alloc((uint64_t)(SG_QKC * 36 * SG_QT) * sizeof(uint32_t));
  int32_t *acc = (int32_t *)effc_uk_alloc((uint64_t)(outs * SG_QT + outs) * sizeof(int32_t));
  int32_t *wsum = acc + outs * SG_QT;
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t o = 0; o < outs; ++o) {
    const int8_t *v = p->values + (o0 + o) * p->ld_values;
    __m512i sum = _mm512_setzero_si512();
    for (int64_t c = 0; c < stored; c += 64) {
      __mmask64 live = stored - c >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (stored - c)) - 1);
      sum = _mm512_dpbusd_epi32(sum, ones, _mm512_maskz_loadu_epi8(live, v + c));
    }
    wsum[o] = _mm512_reduce_add_epi32(sum);
  }
  __builtin_memset(acc, 0, (size_t)(outs * SG_QT) * sizeof(int32_t));
  for (int64_t c0 = 0; c0 < chunks; c0 += SG_QKC) {
    int64_t count = chunks - c0 < SG_QKC ? chunks - c0 : SG_QKC;
    for (int64_t c = 0; c < count; ++c)
      sg_i8_build_table(p, block, c0 + c, table + c * 36 * SG_QT);
    int64_t o = 0;
    for (; o + 4 <= outs; o += 4)
      sg_i8_table_dot(p, table, p->values + (o0 + o) * p->ld_values + 4 * c0,
                      p->indices + (o0 + o) * p->ld_indices + c0, count, 4, acc + o * SG_QT);
    for (; o < outs; ++o)
      sg_i8_table_dot(p, table, p->values + (o0 + o) * p->ld_values + 4 * c0,
                      p->indices + (o0 + o) * p->ld_indices + c0, count, 1, acc + o * SG_QT);
  }
  for (int64_t r = 0; r < rows; ++r) {
    int64_t t = t0 + r;
    float *y = p->y + (t / p->rows_per_batch) * p->y_batch_stride + (t % p->rows_per_batch) * p->y_row_stride;
    for (int64_t o = 0; o < outs; ++o) {
      float corrected = (float)(acc[o * SG_QT + r] - 128 * wsum[o]);
      float v = corrected * (p->x_scale[t] * p->scales[o0 + o]);
      y[o0 + o] = v + p->bias[o0 + o];
    }
  }
  effc_uk_free(acc);
  effc_uk_free(table);
}
#endif

/* x [B, S, K] f32, values [N, K·n/4] i8, indices [N, ceil(K·n/16)] (2-bit, see above), scales [N], bias [N],
 * the pattern n:m (m = 4), y [B, S, N]. */
void effc_uk_sparse_nm_linear_i8(EFFC_UK_MEMREF3(const float, x), EFFC_UK_MEMREF2(const int8_t, values),
                                 EFFC_UK_MEMREF2(const int8_t, indices), EFFC_UK_MEMREF1(const float, scales),
                                 EFFC_UK_MEMREF1(const float, bias), int64_t n, int64_t m,
                                 EFFC_UK_MEMREF3(float, y)) {
  (void)m; /* 4: the verifier's eff_sparse_linear_c5 */
  sg_i8_problem p = {0};
  p.x = x + x_offset;
  p.x_batch_stride = x_stride0;
  p.x_row_stride = x_stride1;
  p.rows_per_batch = x_size1;
  p.tokens = x_size0 * x_size1;
  p.in_features = x_size2;
  p.out_features = y_size2;
  p.padded = (x_size2 + 127) / 128 * 128;
  p.values = values + values_offset;
  p.ld_values = values_stride0;
  p.indices = (const uint8_t *)(indices + indices_offset);
  p.ld_indices = indices_stride0;
  p.scales = scales + scales_offset;
  p.bias = bias + bias_offset;
  p.y = y + y_offset;
  p.y_batch_stride = y_stride0;
  p.y_row_stride = y_stride1;
  p.n = n;
  if (p.tokens <= 0 || p.out_features <= 0)
    return;
#if defined(SG_AVX512) && defined(__AVX512VNNI__)
  if (n == 2 && p.in_features % 8 == 0 && p.tokens >= SG_TABLE_M) {
    static const int rank[4][4] = {{-1, 0, 1, 2}, {-1, -1, 3, 4}, {-1, -1, -1, 5}, {-1, -1, -1, -1}};
    for (int byte = 0; byte < 256; ++byte) {
      int a = rank[byte & 3][(byte >> 2) & 3], b = rank[(byte >> 4) & 3][(byte >> 6) & 3];
      p.pattern[byte] = (uint8_t)((a < 0 ? 0 : a) * 6 + (b < 0 ? 0 : b)); /* not ascending: a precondition */
    }
    int64_t blocks = (p.tokens + SG_QT - 1) / SG_QT;
    uint64_t xt_bytes = (uint64_t)(blocks * SG_QT * p.in_features);
    p.table_path = 1;
    p.xq = (uint8_t *)effc_uk_alloc(xt_bytes + (uint64_t)p.tokens * sizeof(float));
    p.x_scale = (float *)(p.xq + xt_bytes);
    __builtin_memset(p.xq, 0, (size_t)xt_bytes); /* tokens past the end of the last block */
    effc_uk_parallel_for(sg_i8_quantize_task, &p, p.tokens);
    effc_uk_parallel_for(sg_i8_table_gemm_task, &p, blocks * ((p.out_features + SG_QOB - 1) / SG_QOB));
    effc_uk_free(p.xq);
    return;
  }
#endif
  p.xq = (uint8_t *)effc_uk_alloc((uint64_t)(p.tokens * p.padded) + (uint64_t)p.tokens * sizeof(float));
  p.x_scale = (float *)(p.xq + p.tokens * p.padded);
  effc_uk_parallel_for(sg_i8_quantize_task, &p, p.tokens);
  effc_uk_parallel_for(sg_i8_task, &p, (p.out_features + SG_SMALL_OB - 1) / SG_SMALL_OB);
  effc_uk_free(p.xq);
}
