//===- panel_gemm.c - f32 linear layer on a weight stored in column panels -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// y = activation(x · W + b) for an f32 x [M, K] and a weight stored in 16-column panels, w [N/16][K][16]
// (panel p holds the columns [16p, 16p + 16) of the [K, N] matrix, row after row). This is the layout for
// GEMMs whose M is small and only known at run time, such as one expert of eff.experts (M = the tokens routed
// to it, about T·k/E): such a GEMM reads every weight element a few times at most, so it is bound by the
// weight stream, and a panel is one contiguous stream of K cache lines that the hardware prefetcher follows.
// (A [K, N] matrix read 32 columns at a time touches a new page every row.)
//
// Up to 8 rows, tasks of the runtime's thread pool take pairs of panels (32 columns) under one register tile
// of the rows x 32 columns (16 zmm accumulators, 2 weight loads and 8 broadcasts per 16 FMAs) that
// accumulates over all of K, starts from the bias and gets the activation before it is stored
// (ukernels/epilogue.h). More rows (an expert's ~16 tokens) run on the dense kernel below, whose 6 x 64 tiles
// feed 24 FMAs with 4 weight loads and 6 broadcasts; tiles of 16 rows x 1 panel, which issued a broadcast
// per FMA, waited on their loads (Switch-MoE f32 about 5% slower).
// Summation runs over k in order, in f32, as the linalg lowering's contraction does.
//
//===----------------------------------------------------------------------===//

#include "epilogue.h"
#include "gemm_schedule.h"
#include "ukernel.h"

#include <stdint.h>

// kPrefetchRows: how many panel rows (64-byte lines) ahead of the FMAs each panel is prefetched. 32 rows
// (2 KiB per panel) cover the memory latency at the rate the tiles consume them; 16 left the FMAs waiting
// (docs/benchmarks.md). kTileRows: the most rows of a tile here.
enum { kPanel = 16, kTileRows = 8, kPrefetchRows = 32 };

typedef struct {
  const float *x, *w, *bias;
  float *y;
  int64_t m, k, panels;
  int64_t xs0, xs1, ws0, ws1, ws2, bs, ys0, ys1;
  int64_t activation;
} PanelGemmCtx;

static inline ep_v16 pg_load_panel_row(const PanelGemmCtx *c, int64_t panel, int64_t k) {
  const float *p = c->w + panel * c->ws0 + k * c->ws1;
  ep_v16 v;
  if (c->ws2 == 1) {
    __builtin_memcpy(&v, p, sizeof(v));
  } else {
    for (int j = 0; j < kPanel; ++j)
      v[j] = p[j * c->ws2];
  }
  return v;
}

static inline ep_v16 pg_load_bias(const PanelGemmCtx *c, int64_t panel) {
  ep_v16 v = ep_splat(0.0f);
  if (c->bias)
    for (int j = 0; j < kPanel; ++j)
      v[j] = c->bias[(panel * kPanel + j) * c->bs];
  return v;
}

/// One register tile: rows [m0, m0 + ROWS) x panels [p0, p0 + PANELS). ROWS and PANELS are constants at
/// every call site, so the accumulators stay in registers.
static inline __attribute__((always_inline)) void pg_tile(const PanelGemmCtx *c, int64_t m0, int64_t p0,
                                                          const int rows, const int panels) {
  ep_v16 acc[kTileRows][2];
  for (int j = 0; j < panels; ++j) {
    ep_v16 b = pg_load_bias(c, p0 + j);
    for (int i = 0; i < rows; ++i)
      acc[i][j] = b;
  }
  const float *x[kTileRows];
  for (int i = 0; i < rows; ++i)
    x[i] = c->x + (m0 + i) * c->xs0;
  const float *w[2];
  for (int j = 0; j < panels; ++j)
    w[j] = c->w + (p0 + j) * c->ws0;
  if (c->xs1 == 1 && c->ws2 == 1) { // the layout the lowering passes: contiguous rows and panel rows
    for (int64_t k = 0; k < c->k; ++k) {
      ep_v16 wk[2];
      for (int j = 0; j < panels; ++j) {
        __builtin_memcpy(&wk[j], w[j] + k * c->ws1, sizeof(ep_v16));
        __builtin_prefetch(w[j] + (k + kPrefetchRows) * c->ws1);
      }
      for (int i = 0; i < rows; ++i) {
        float a = x[i][k]; // scalar · vector: one broadcast
        for (int j = 0; j < panels; ++j)
          acc[i][j] += a * wk[j];
      }
    }
  } else {
    for (int64_t k = 0; k < c->k; ++k) {
      ep_v16 wk[2];
      for (int j = 0; j < panels; ++j)
        wk[j] = pg_load_panel_row(c, p0 + j, k);
      for (int i = 0; i < rows; ++i) {
        float a = x[i][k * c->xs1];
        for (int j = 0; j < panels; ++j)
          acc[i][j] += a * wk[j];
      }
    }
  }
  for (int i = 0; i < rows; ++i) {
    float *y = c->y + (m0 + i) * c->ys0;
    for (int j = 0; j < panels; ++j) {
      ep_v16 v = c->activation ? ep_activation(acc[i][j], c->activation) : acc[i][j];
      int64_t n0 = (p0 + j) * kPanel;
      if (c->ys1 == 1) {
        __builtin_memcpy(y + n0, &v, sizeof(v));
      } else {
        for (int l = 0; l < kPanel; ++l)
          y[(n0 + l) * c->ys1] = v[l];
      }
    }
  }
}

#define PG_ROWS_CASE(n, panels)                                                                                \
  case n:                                                                                                      \
    pg_tile(c, m0, p0, n, panels);                                                                             \
    break;
#define PG_ROWS_CASES(panels)                                                                                  \
  switch (rows) {                                                                                              \
    PG_ROWS_CASE(8, panels) PG_ROWS_CASE(7, panels) PG_ROWS_CASE(6, panels) PG_ROWS_CASE(5, panels)            \
    PG_ROWS_CASE(4, panels) PG_ROWS_CASE(3, panels) PG_ROWS_CASE(2, panels)                                    \
  default:                                                                                                     \
    pg_tile(c, m0, p0, 1, panels);                                                                             \
    break;                                                                                                     \
  }

/// Task `pair`: the panels [2·pair, 2·pair + 2) (one when the panel count is odd and this is the last), for
/// all (at most kTileRows) rows: one tile, whose broadcasts serve both panels.
static void pg_task(void *ctx, int64_t pair) {
  const PanelGemmCtx *c = (const PanelGemmCtx *)ctx;
  int64_t p0 = 2 * pair, m0 = 0, rows = c->m;
  if (p0 + 1 < c->panels) {
    PG_ROWS_CASES(2)
  } else {
    PG_ROWS_CASES(1)
  }
}

static void pg_linear_many_rows(const PanelGemmCtx *p);

/// y [M, N] = activation(x [M, K] · W + bias) with W given as panels w [N/16][K][16]; `has_bias` says
/// whether `bias` [N] is read, `activation` is an EFFC_UK_ACT_* kind (ukernels/epilogue.h).
void effc_uk_linear_f32_panels(EFFC_UK_MEMREF2(float, x), EFFC_UK_MEMREF3(float, w), EFFC_UK_MEMREF1(float, bias),
                               int64_t has_bias, int64_t activation, EFFC_UK_MEMREF2(float, y)) {
  PanelGemmCtx c = {
      .x = x + x_offset,
      .w = w + w_offset,
      .bias = has_bias ? bias + bias_offset : 0,
      .y = y + y_offset,
      .m = x_size0,
      .k = x_size1,
      .panels = w_size0,
      .xs0 = x_stride0,
      .xs1 = x_stride1,
      .ws0 = w_stride0,
      .ws1 = w_stride1,
      .ws2 = w_stride2,
      .bs = bias_stride0,
      .ys0 = y_stride0,
      .ys1 = y_stride1,
      .activation = activation & EFFC_UK_EPILOGUE_ACTIVATION_MASK,
  };
  if (c.m <= 0 || c.panels <= 0)
    return;
  if (c.m > kTileRows) {
    pg_linear_many_rows(&c);
    return;
  }
  // K = 0 needs nothing special: every tile is its bias, activated.
  effc_uk_parallel_for(pg_task, &c, (c.panels + 1) / 2);
}

//===----------------------------------------------------------------------===//
// Dense f32 linear layers: any M, register tiles of 6 rows x 64 columns
//===----------------------------------------------------------------------===//
//
// y [B, S, N] = x [B, S, K] · W + bias, then the epilogue (activation, residual), for the dense linear layers
// of a model, whose weights are the same 16-column panels [ceil(N/16)][K][16] (the last one zero-padded
// when N is not a multiple of 16). It runs on the schedule of the bf16 and int8 kernels (gemm_schedule.h):
// row chunks of about 1 MiB of activations, tasks of one 64-column panel group over a chunk (two, with more
// than one row tile: F32_TASK_GROUPS), equal k blocks of at most F32_KC so that the group's block of weights
// stays in L2 while the chunk's rows pass over it. A 6 x 64 tile keeps 24 zmm accumulators: per k step 4
// weight loads and 6 broadcasts feed 24 FMAs, where the 8 x 32 tile of generated code has 16
// (docs/benchmarks.md). Summation runs over k in order.

// F32_KC: the longest k block; K is split into equal blocks of at most F32_KC rows. A block is F32_KC rows x
// 4 blocks x 64 bytes of weights (192 KiB), so that it and the next one, which the chunk's later row tiles
// prefetch meanwhile (gemm_next_block_share), both stay in L2: whole-K blocks of K = 3072 (768 KiB each) did
// not, and the prefetched block evicted the one being read (Switch-MoE's FFN-down experts, 12 to 24 rows,
// 11-19% slower; BERT's FFN down projection 1-2%). Blocks of 64 to 512 rows, in L1, were 3-15% slower at
// BERT shapes: the partial sums' round trips through y cost more than L2 reads. F32_CHUNK_BYTES:
// activations per row chunk: 1 MiB, so that a 128-token batch is one chunk and each weight streams from
// memory once (each chunk reads all the weights again; 256 KiB made 6 chunks of BERT's FFN down projection).
// F32_PREFETCH_STEPS: weight rows (64-byte lines) prefetched ahead in each block's stream.
#ifndef F32_KC
#define F32_KC 768
#endif
#ifndef F32_CHUNK_BYTES
#define F32_CHUNK_BYTES (1024 * 1024)
#endif
#ifndef F32_PREFETCH_STEPS
#define F32_PREFETCH_STEPS 16
#endif
// F32_TASK_GROUPS: 64-column groups per task when there is more than one row tile, whose later row tiles
// prefetch the next group's weights (gemm_next_block_share), so that only a task's first group waits on memory
// (Switch-MoE's experts, 6 to 48 rows, about 2% faster).
#ifndef F32_TASK_GROUPS
#define F32_TASK_GROUPS 2
#endif

typedef struct {
  RowView x;         // rows of the activation; col_stride 1 (else staged)
  const float *w;    // panels: element (p, k, c) at w[p * ws0 + k * ws1 + c * ws2]
  int64_t ws0, ws1, ws2;
  const float *bias; // null: none
  float *y;
  int64_t ldy;
  GemmSchedule schedule; // also M, N and K (kp)
  EffcUkEpilogue epilogue;
} F32GemmCtx;

#if defined(__AVX512F__)
static inline __attribute__((always_inline)) void f32_tile(const F32GemmCtx *c, int64_t m0, int64_t blk0, int mr,
                                                           int nb, int64_t k0, int64_t k1) {
  __m512 acc[GEMM_TILE_MR][GEMM_TILE_NB];
  gemm_tile_begin(acc, mr, nb, c->y + m0 * c->ldy + blk0 * 16, c->ldy, gemm_last_mask(c->schedule.n, blk0, nb), k0);
  const float *x[GEMM_TILE_MR];
  GEMM_UNROLL
  for (int i = 0; i < mr; ++i)
    x[i] = row_of(&c->x, m0 + i);
  const float *b = c->w + blk0 * c->ws0;
  int next_lo, next_hi, next_k;
  int64_t next_rows;
  gemm_next_block_share(&c->schedule, m0, blk0, nb, k1, &next_lo, &next_hi, &next_k, &next_rows);
  // Where the next block's row k lies from row k of this one: the same panel's row k + (k1 − k0), or row k − k0
  // of the next group's panel.
  const int64_t next = next_k ? (k1 - k0) * c->ws1 : GEMM_TILE_NB * c->ws0 - k0 * c->ws1;
  for (int64_t k = k0; k < k1; ++k) {
    __m512 w[GEMM_TILE_NB];
    GEMM_UNROLL
    for (int j = 0; j < nb; ++j) {
      const float *line = b + j * c->ws0 + k * c->ws1;
      _mm_prefetch((const char *)(line + F32_PREFETCH_STEPS * c->ws1), _MM_HINT_T0);
      w[j] = _mm512_loadu_ps(line);
    }
    for (int j = next_lo; j < next_hi && k - k0 < next_rows; ++j) // into L2
      _mm_prefetch((const char *)(b + next + j * c->ws0 + k * c->ws1), _MM_HINT_T1);
    GEMM_UNROLL
    for (int i = 0; i < mr; ++i) {
      __m512 a = _mm512_set1_ps(x[i][k]);
      GEMM_UNROLL
      for (int j = 0; j < nb; ++j)
        acc[i][j] = _mm512_fmadd_ps(w[j], a, acc[i][j]);
    }
  }
  gemm_tile_end(acc, mr, nb, c->y, c->ldy, m0, blk0, c->schedule.n, c->bias, &c->epilogue, k1 == c->schedule.kp);
}

static void f32_gemm_tile(const void *ctx, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0, int64_t k1) {
  const F32GemmCtx *c = (const F32GemmCtx *)ctx;
  GEMM_TILE_SWITCH(f32_tile, mr, nb)
}
#else
/// Sums over all of K at once (the task passes one k block: k0 = 0, k1 = k).
static void f32_gemm_tile(const void *ctx, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0, int64_t k1) {
  const F32GemmCtx *c = (const F32GemmCtx *)ctx;
  (void)k0, (void)k1;
  for (int i = 0; i < mr; ++i) {
    const float *x = row_of(&c->x, m0 + i);
    for (int j = 0; j < nb; ++j) {
      const float *b = c->w + (blk0 + j) * c->ws0;
      int64_t n0 = (blk0 + j) * 16, cols = min_i64(16, c->schedule.n - n0);
      float *row = c->y + (m0 + i) * c->ldy + n0;
      for (int64_t col = 0; col < cols; ++col) {
        float acc = 0.0f;
        for (int64_t k = 0; k < c->schedule.kp; ++k)
          acc = b[k * c->ws1 + col * c->ws2] * x[k] + acc;
        row[col] = acc + (c->bias ? c->bias[n0 + col] : 0.0f);
      }
      if (c->epilogue.flags)
        effc_uk_epilogue_apply(&c->epilogue, m0 + i, n0, row, cols);
    }
  }
}
#endif

static void f32_gemm_task(void *p, int64_t task) {
  const F32GemmCtx *c = (const F32GemmCtx *)p;
  gemm_run_task(&c->schedule, task, f32_gemm_tile, c);
}

/// Runs the dense f32 GEMM [m, k] x [k, n] set up in `c` (weights as `panels` panels with any strides, rows
/// with any column stride, bias with stride `bias_stride`): what effc_uk_linear_f32 and the many-row calls of
/// effc_uk_linear_f32_panels share.
static void f32_linear_run(F32GemmCtx c, int64_t m, int64_t n, int64_t k, int64_t panels, int64_t bias_stride) {
  float *bias_copy = 0; // the tiles read the bias as contiguous columns
  if (c.bias && bias_stride != 1) {
    bias_copy = (float *)effc_uk_alloc((uint64_t)n * sizeof(float));
    for (int64_t col = 0; col < n; ++col)
      bias_copy[col] = c.bias[col * bias_stride];
    c.bias = bias_copy;
  }
  if (k == 0) { // no products: each row is the bias, through the epilogue
    for (int64_t i = 0; i < m; ++i) {
      float *row = c.y + i * c.ldy;
      for (int64_t col = 0; col < n; ++col)
        row[col] = c.bias ? c.bias[col] : 0.0f;
      if (c.epilogue.flags)
        effc_uk_epilogue_apply(&c.epilogue, i, 0, row, n);
    }
    if (bias_copy)
      effc_uk_free(bias_copy);
    return;
  }
  float *staged = 0;
#if defined(__AVX512F__)
  // The tiles load 16 columns of a panel row at once: strided panels (never passed by the lowering, which
  // packs them) or rows are staged contiguously first.
  if (c.ws2 != 1) {
    float *packed = (float *)effc_uk_alloc((uint64_t)(panels * k * 16) * sizeof(float));
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t col = 0; col < 16; ++col)
          packed[(p * k + kk) * 16 + col] = c.w[p * c.ws0 + kk * c.ws1 + col * c.ws2];
    c.w = packed, c.ws0 = k * 16, c.ws1 = 16, c.ws2 = 1;
    staged = packed;
  }
#endif
  float *rows = 0;
  if (c.x.col_stride != 1) {
    rows = (float *)effc_uk_alloc((uint64_t)(m * k) * sizeof(float));
    StageCtx stage = {c.x, k, k, rows, 0, 0};
    effc_uk_parallel_for(stage_row, &stage, m);
    c.x = row_view(rows, m, 0, k, 1);
  }
#if defined(__AVX512F__)
  // One panel of rows reads each weight block once: no k blocks then (a GEMV streams W once either way);
  // otherwise K in equal blocks of at most F32_KC.
  const int64_t k_blocks = (k + F32_KC - 1) / F32_KC;
  const int64_t kc = m <= GEMM_TILE_MR ? k : (k + k_blocks - 1) / k_blocks;
#else
  const int64_t kc = k; // the portable tile sums over all of K at once
#endif
#if defined(__AVX512F__)
  const int groups = m > GEMM_TILE_MR ? F32_TASK_GROUPS : 1; // one row tile: nothing to prefetch during
#else
  const int groups = 1;
#endif
  c.schedule = gemm_schedule(m, n, k, GEMM_TILE_MR, GEMM_TILE_NB * groups, kc, k * (int64_t)sizeof(float),
                             F32_CHUNK_BYTES);
  c.schedule.nb = GEMM_TILE_NB; // tasks of `groups` groups of register tiles
  effc_uk_parallel_for(f32_gemm_task, &c, gemm_task_count(&c.schedule));
  if (rows)
    effc_uk_free(rows);
  if (staged)
    effc_uk_free(staged);
  if (bias_copy)
    effc_uk_free(bias_copy);
}

/// effc_uk_linear_f32_panels with more than kTileRows rows (an expert's tokens) on the dense kernel; a
/// strided y gets the result through a contiguous scratch.
static void pg_linear_many_rows(const PanelGemmCtx *p) {
  const int64_t n = p->panels * kPanel;
  float *scratch = p->ys1 == 1 ? 0 : (float *)effc_uk_alloc((uint64_t)(p->m * n) * sizeof(float));
  F32GemmCtx c = {
      .x = row_view(p->x, p->m, 0, p->xs0, p->xs1),
      .w = p->w,
      .ws0 = p->ws0,
      .ws1 = p->ws1,
      .ws2 = p->ws2,
      .bias = p->bias,
      .y = scratch ? scratch : p->y,
      .ldy = scratch ? n : p->ys0,
      .epilogue = {p->activation, 0, 1, 0, 0, 0},
  };
  f32_linear_run(c, p->m, n, p->k, p->panels, p->bs);
  if (scratch) {
    for (int64_t i = 0; i < p->m; ++i)
      for (int64_t col = 0; col < n; ++col)
        p->y[i * p->ys0 + col * p->ys1] = scratch[i * n + col];
    effc_uk_free(scratch);
  }
}

/// y [B, S, N] = epilogue(x [B, S, K] · W + bias) with W given as panels w [ceil(N/16)][K][16]; `has_bias`
/// says whether `bias` [N] is read; `epilogue` is the flags of ukernels/epilogue.h (activation, and
/// EFFC_UK_EPILOGUE_RESIDUAL to add `residual` [B, S, N] after it).
void effc_uk_linear_f32(EFFC_UK_MEMREF3(float, x), EFFC_UK_MEMREF3(float, w), EFFC_UK_MEMREF1(float, bias),
                        int64_t has_bias, EFFC_UK_MEMREF3(float, residual), int64_t epilogue,
                        EFFC_UK_MEMREF3(float, y)) {
  int64_t m = x_size0 * x_size1, k = x_size2, n = y_size2;
  if (m == 0 || n == 0)
    return;
  F32GemmCtx c = {
      .x = row_view(x + x_offset, x_size1, x_stride0, x_stride1, x_stride2),
      .w = w + w_offset,
      .ws0 = w_stride0,
      .ws1 = w_stride1,
      .ws2 = w_stride2,
      .bias = has_bias ? bias + bias_offset : 0,
      .y = y + y_offset,
      .ldy = y_stride1,
      .epilogue = {epilogue, residual + residual_offset, residual_size1 > 0 ? residual_size1 : 1, residual_stride0,
                   residual_stride1, residual_stride2},
  };
  f32_linear_run(c, m, n, k, w_size0, bias_stride0);
}
