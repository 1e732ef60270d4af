/*===- gemm_schedule.h - the row-chunk / column-panel schedule of the GEMMs -===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * What the register-tiled GEMM kernels share: rows of a [B, S, K] activation walked through its strides
 * (RowView) or staged to contiguous rows (StageCtx), and the schedule that splits a GEMM into tasks of the
 * runtime's thread pool and each task into register tiles over k blocks (GemmSchedule).
 *
 *===----------------------------------------------------------------------===*/
#ifndef EFFC_UKERNELS_GEMM_SCHEDULE_H
#define EFFC_UKERNELS_GEMM_SCHEDULE_H

#include "epilogue.h"

#include <stdint.h>

static inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/// Row i = b · S + s of an activation x [B, S, K] with arbitrary strides.
typedef struct {
  const float *x;
  int64_t rows_per_batch; // S
  int64_t batch_stride, row_stride, col_stride;
} RowView;

static inline RowView row_view(const float *x, int64_t rows_per_batch, int64_t batch_stride, int64_t row_stride,
                               int64_t col_stride) {
  RowView v = {x, rows_per_batch, batch_stride, row_stride, col_stride};
  return v;
}

static inline const float *row_of(const RowView *v, int64_t i) {
  return v->x + (i / v->rows_per_batch) * v->batch_stride + (i % v->rows_per_batch) * v->row_stride;
}

//===----------------------------------------------------------------------===//
// Activation staging: rows copied to contiguous f32 (int4, LUT; f32 with strided rows)
//===----------------------------------------------------------------------===//

typedef struct {
  RowView x;
  int64_t k;
  int64_t ld;    // row length of dst (>= k; the padding is zeroed)
  float *dst;    // [M][ld]
  int64_t group; // > 0: also write per-group sums to sums[M][k / group]
  float *sums;
} StageCtx;

/// Copies row i of `x` to row i of `dst` (a parallel_for body).
static inline void stage_row(void *p, int64_t i) {
  const StageCtx *c = (const StageCtx *)p;
  float *d = c->dst + i * c->ld;
  const float *x = row_of(&c->x, i);
  if (c->x.col_stride == 1)
    __builtin_memcpy(d, x, (size_t)c->k * sizeof(float));
  else
    for (int64_t k = 0; k < c->k; ++k)
      d[k] = x[k * c->x.col_stride];
  for (int64_t k = c->k; k < c->ld; ++k)
    d[k] = 0.0f;
  if (c->group > 0) {
    int64_t groups = c->k / c->group;
    for (int64_t g = 0; g < groups; ++g) {
      float s = 0.0f;
      for (int64_t k = 0; k < c->group; ++k)
        s += d[g * c->group + k];
      c->sums[i * groups + g] = s;
    }
  }
}

/// Column blocks per parallel task: enough tasks to balance, few enough to amortise dispatch.
static inline int64_t blocks_per_task(int64_t blocks) {
  int64_t per = blocks / 64;
  return per < 1 ? 1 : per;
}

//===----------------------------------------------------------------------===//
// The schedule of the panel GEMMs (int8, bf16: quantized_gemm.c; f32: panel_gemm.c)
//===----------------------------------------------------------------------===//
//
// Their tasks are (row chunk, column panel) pairs, chunk-major: a chunk of packed activations stays in L2
// while the column panels pass over it, so weights come from L3 once per chunk rather than once per tile;
// within a task, K is split into blocks so that a block of the panel's weights stays in cache (L1 for int8's
// I8_KC and bf16's BF_KC, L2 for f32's F32_KC) while every row panel of the chunk passes over it (partial
// sums wait in y between blocks).

/// A register tile: `mr` rows from m0 (a panel start), `nb` column blocks of 16 from blk0, k in [k0, k1).
typedef void (*GemmTileFn)(const void *ctx, int64_t m0, int64_t blk0, int mr, int nb, int64_t k0, int64_t k1);

typedef struct {
  int64_t m, n, kp;
  int mr, nb;  // register tile: rows, column blocks
  int64_t kc;  // k block
  int64_t bpt; // column blocks per task
  int64_t mc;  // rows per chunk (a multiple of mr)
} GemmSchedule;

#ifndef GEMM_MIN_TASKS
#define GEMM_MIN_TASKS 32
#endif
#ifndef GEMM_MIN_CHUNK_PANELS
#define GEMM_MIN_CHUNK_PANELS 4
#endif

/// Chunks of at most `chunk_bytes` of packed activations (`row_bytes` per row), of equal size (whole
/// panels); tasks of one panel of `nb` blocks over a chunk, or for small M (weight streaming dominates) of
/// several panels, to dispatch less. A GEMM of few panels (N = 768: 12) gets smaller chunks, down to
/// GEMM_MIN_CHUNK_PANELS row panels, until it has GEMM_MIN_TASKS tasks: the pool's threads take tasks as
/// they come free, and a dozen tasks left one thread idle for the last of them.
static inline GemmSchedule gemm_schedule(int64_t m, int64_t n, int64_t kp, int mr, int nb, int64_t kc,
                                         int64_t row_bytes, int64_t chunk_bytes) {
  GemmSchedule s = {m, n, kp, mr, nb, kc, nb, 0};
  int64_t row_panels = (m + mr - 1) / mr;
  int64_t max_panels = chunk_bytes / (row_bytes * mr);
  max_panels = max_panels < 1 ? 1 : max_panels;
  int64_t chunks = (row_panels + max_panels - 1) / max_panels;
  int64_t blocks = (n + 15) / 16;
  if (m < 16 && (blocks + nb - 1) / nb > 16)
    s.bpt = round_up(blocks_per_task(blocks), nb);
  int64_t col_tasks = (blocks + s.bpt - 1) / s.bpt;
  if (chunks * col_tasks < GEMM_MIN_TASKS) {
    int64_t wanted = (GEMM_MIN_TASKS + col_tasks - 1) / col_tasks;
    int64_t most = row_panels / GEMM_MIN_CHUNK_PANELS;
    wanted = wanted < most ? wanted : most;
    chunks = chunks > wanted ? chunks : wanted;
  }
  s.mc = (row_panels + chunks - 1) / chunks * mr;
  return s;
}

static inline int64_t gemm_task_count(const GemmSchedule *s) {
  int64_t blocks = (s->n + 15) / 16;
  return (s->m + s->mc - 1) / s->mc * ((blocks + s->bpt - 1) / s->bpt);
}

/// Runs task `task`: `bpt` column blocks for one chunk of `mc` rows.
static inline void gemm_run_task(const GemmSchedule *s, int64_t task, GemmTileFn tile, const void *ctx) {
  int64_t blocks = (s->n + 15) / 16;
  int64_t col_tasks = (blocks + s->bpt - 1) / s->bpt;
  int64_t chunk = task / col_tasks, col_task = task % col_tasks;
  int64_t first = col_task * s->bpt, last = min_i64(blocks, first + s->bpt);
  int64_t row_end = min_i64(s->m, (chunk + 1) * s->mc);
  for (int64_t blk = first; blk < last; blk += s->nb) {
    int nb = (int)min_i64(s->nb, last - blk);
    for (int64_t k0 = 0; k0 < s->kp; k0 += s->kc) {
      int64_t k1 = min_i64(s->kp, k0 + s->kc);
      for (int64_t m0 = chunk * s->mc; m0 < row_end; m0 += s->mr)
        tile(ctx, m0, blk, (int)min_i64(s->mr, row_end - m0), nb, k0, k1);
    }
  }
}

/// What the register tile at rows m0.. over the blocks [blk0, blk0 + nb) and k in [k0, k1) prefetches of the
/// weights its row chunk reads next, while it computes: the first tile over a (column group, k block) brings
/// the block's weights from memory and waits on them (a tile asks for its lines faster than a core's share of
/// the memory bandwidth), the chunk's other tiles find them in cache; so those other tiles fetch the next
/// block's weights, tile t >= 1 of T the t-th of T - 1 shares of its blocks, [*lo, *hi), each for its first
/// `*rows` k rows. The next block is the same group's next k block (`*next_k` 1) or, after the last, the
/// task's next group from k = 0 (`*next_k` 0, only when that group is whole); none (an empty share) for the
/// first tile, a chunk of one tile or the task's last group.
/// The f32 tiles use it; the int8 tiles, whose 16 KiB k blocks are reread by several row chunks from L2 and L3,
/// were 3% slower with it at BERT-base batch 8.
static inline void gemm_next_block_share(const GemmSchedule *s, int64_t m0, int64_t blk0, int nb, int64_t k1,
                                         int *lo, int *hi, int *next_k, int64_t *rows) {
  *lo = *hi = 0;
  *next_k = k1 < s->kp;
  *rows = min_i64(s->kc, *next_k ? s->kp - k1 : s->kp);
  const int width = *next_k ? nb : s->nb; // the blocks of the next pass
  int64_t blocks = (s->n + 15) / 16;
  if (!*next_k && blk0 + nb + s->nb > min_i64(blocks, (blk0 / s->bpt + 1) * s->bpt))
    return;
  int64_t chunk0 = m0 / s->mc * s->mc;
  int64_t tiles = (min_i64(s->m, chunk0 + s->mc) - chunk0 + s->mr - 1) / s->mr;
  int64_t t = (m0 - chunk0) / s->mr;
  if (t == 0)
    return;
  *lo = (int)(((t - 1) * width + tiles - 2) / (tiles - 1));
  *hi = (int)((t * width + tiles - 2) / (tiles - 1));
}

/// Calls TILE(c, m0, blk0, MR, NB, k0, k1) (names of the caller's scope) for the tile shape mr x nb, 1 <= mr <=
/// 6, 1 <= nb <= 4, with MR and NB as constants, so that once the tile's loops unroll its register arrays are
/// indexed by constants.
#define GEMM_TILE_CASE(TILE, MR, NB)                                                                           \
  case (MR) * 8 + (NB):                                                                                        \
    TILE(c, m0, blk0, MR, NB, k0, k1);                                                                         \
    break;
#define GEMM_TILE_CASES(TILE, MR)                                                                              \
  GEMM_TILE_CASE(TILE, MR, 1) GEMM_TILE_CASE(TILE, MR, 2) GEMM_TILE_CASE(TILE, MR, 3) GEMM_TILE_CASE(TILE, MR, 4)
#define GEMM_TILE_SWITCH(TILE, mr, nb)                                                                         \
  switch ((mr) * 8 + (nb)) {                                                                                   \
    GEMM_TILE_CASES(TILE, 1) GEMM_TILE_CASES(TILE, 2) GEMM_TILE_CASES(TILE, 3) GEMM_TILE_CASES(TILE, 4)       \
    GEMM_TILE_CASES(TILE, 5) GEMM_TILE_CASES(TILE, 6)                                                          \
  default:                                                                                                     \
    break;                                                                                                     \
  }

/// The largest register tile: rows, blocks of 16 columns (the bounds GEMM_TILE_SWITCH covers).
enum { GEMM_TILE_MR = 6, GEMM_TILE_NB = 4 };

#if defined(__AVX512F__)
//===----------------------------------------------------------------------===//
// f32 register tiles of up to GEMM_TILE_MR x GEMM_TILE_NB blocks of 16 columns (bf16 and f32 kernels)
//===----------------------------------------------------------------------===//

#define GEMM_UNROLL _Pragma("clang loop unroll(full)")

/// The mask of the columns below n in the last of `nb` column blocks from blk0 (only it can be partial).
static inline __mmask16 gemm_last_mask(int64_t n, int64_t blk0, int nb) {
  return (__mmask16)((1u << min_i64(16, n - (blk0 + nb - 1) * 16)) - 1u);
}

/// Starts a tile at k0: from zero, or from the partial sums that the previous k block left in y.
static inline __attribute__((always_inline)) void gemm_tile_begin(__m512 acc[GEMM_TILE_MR][GEMM_TILE_NB], int mr,
                                                                  int nb, const float *yt, int64_t ldy,
                                                                  __mmask16 last_mask, int64_t k0) {
  GEMM_UNROLL
  for (int i = 0; i < mr; ++i)
    GEMM_UNROLL
    for (int j = 0; j < nb; ++j)
      acc[i][j] = k0 == 0 ? _mm512_setzero_ps()
                          : _mm512_maskz_loadu_ps(j == nb - 1 ? last_mask : 0xffff, yt + i * ldy + j * 16);
}

/// Applies the epilogue to the finished rows m0.. x column blocks blk0.. of a tile, staged with their bias in
/// `tile`, and stores them to y. Out of line, so that a kernel holds one copy of the activation code rather
/// than one per accumulator of every tile shape (that made each model's compile 3 s longer). The tile goes
/// through whole aligned stores and loads, which store forwarding serves (a reload of a masked store is not
/// served on Zen 4: docs/benchmarks.md).
static __attribute__((noinline)) void gemm_tile_epilogue(const EffcUkEpilogue *epilogue,
                                                         const float tile[GEMM_TILE_MR][GEMM_TILE_NB * 16], int mr,
                                                         int nb, float *y, int64_t ldy, int64_t m0, int64_t blk0,
                                                         int64_t n) {
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nb; ++j) {
      int64_t n0 = (blk0 + j) * 16;
      int64_t cols = min_i64(16, n - n0);
      ep_v16 v;
      __builtin_memcpy(&v, &tile[i][j * 16], sizeof(v));
      v = effc_uk_epilogue_v16(epilogue, m0 + i, n0, v, cols);
      _mm512_mask_storeu_ps(y + (m0 + i) * ldy + n0, (__mmask16)((1u << cols) - 1u), (__m512)v);
    }
}

/// Ends a tile: leaves its partial sums in y when k blocks follow (`last_block` false), else adds the bias,
/// applies the epilogue (gemm_tile_epilogue) and stores the rows m0.. x column blocks blk0.. of y once.
static inline __attribute__((always_inline)) void gemm_tile_end(__m512 acc[GEMM_TILE_MR][GEMM_TILE_NB], int mr,
                                                                int nb, float *y, int64_t ldy, int64_t m0,
                                                                int64_t blk0, int64_t n, const float *bias,
                                                                const EffcUkEpilogue *epilogue, int last_block) {
  const __mmask16 last_mask = gemm_last_mask(n, blk0, nb);
  if (!last_block) {
    GEMM_UNROLL
    for (int i = 0; i < mr; ++i)
      GEMM_UNROLL
      for (int j = 0; j < nb; ++j)
        _mm512_mask_storeu_ps(y + (m0 + i) * ldy + (blk0 + j) * 16, j == nb - 1 ? last_mask : 0xffff, acc[i][j]);
    return;
  }
  __m512 b[GEMM_TILE_NB];
  GEMM_UNROLL
  for (int j = 0; j < nb; ++j)
    b[j] = bias ? _mm512_maskz_loadu_ps(j == nb - 1 ? last_mask : 0xffff, bias + (blk0 + j) * 16) : _mm512_setzero_ps();
  if (epilogue->flags) {
    float tile[GEMM_TILE_MR][GEMM_TILE_NB * 16] __attribute__((aligned(64)));
    GEMM_UNROLL
    for (int i = 0; i < mr; ++i)
      GEMM_UNROLL
      for (int j = 0; j < nb; ++j)
        _mm512_store_ps(&tile[i][j * 16], _mm512_add_ps(acc[i][j], b[j]));
    gemm_tile_epilogue(epilogue, tile, mr, nb, y, ldy, m0, blk0, n);
    return;
  }
  GEMM_UNROLL
  for (int i = 0; i < mr; ++i)
    GEMM_UNROLL
    for (int j = 0; j < nb; ++j)
      _mm512_mask_storeu_ps(y + (m0 + i) * ldy + (blk0 + j) * 16, j == nb - 1 ? last_mask : 0xffff,
                            _mm512_add_ps(acc[i][j], b[j]));
}
#endif

#endif /* EFFC_UKERNELS_GEMM_SCHEDULE_H */
