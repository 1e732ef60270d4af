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
 * Work is split into (token block, output block) tasks run by effc_uk_parallel_for. The accumulators are
 * 16-float vector types (see sg_v16), so one source serves both variants; results differ between CPUs only
 * by FMA contraction.
 *
 *===----------------------------------------------------------------------===*/

#include "ukernel.h"



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

  /* y[t0 + r, o0 + o] = yt[o, r] + bias[o0 + o]. */
  for (int64_t r = 0; r < rows; ++r) {
    float *yr = sg_y_row(p, t0 + r) + o0;
    for (int64_t o = 0; o < outs; ++o)
      yr[o] = yt[o * SG_TB + r] + p->bias[o0 + o];
  }
  effc_uk_free(yt);
}

static void sg_run(sg_problem *p) {
  if (p->tokens <= 0 || p->out_features <= 0)
    return;
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
