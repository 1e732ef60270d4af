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
// Tasks of the runtime's thread pool take pairs of panels (32 columns); within a task, register tiles
// accumulate over all of K, start from the bias and get the activation before they are stored
// (ukernels/epilogue.h): up to 8 rows, one tile of the rows x 32 columns (16 zmm accumulators, 2 weight
// loads and 8 broadcasts per 16 FMAs); more rows (an expert's ~16 tokens), each panel under tiles of up
// to 16 rows x 16 columns (16 accumulators, 1 weight load and 16 broadcasts per 16 FMAs), so that every
// weight line comes from memory once, into a tile that computes all (or half) the rows while the next
// lines stream in. (With 8-row tiles over 16 rows, the first tile waited on memory and the second
// read the panel again from L2 after it: the two did not overlap.)
// Summation runs over k in order, in f32, as the linalg lowering's contraction does.
//
//===----------------------------------------------------------------------===//

#include "epilogue.h"
#include "ukernel.h"

#include <stdint.h>

// kPrefetchRows: how many panel rows (64-byte lines) ahead of the FMAs each panel is prefetched. 32 rows
// (2 KiB per panel) cover the memory latency at the rate the tiles consume them; 16 left the FMAs waiting
// (docs/benchmarks.md). kTallRows: the most rows of a one-panel tile.
enum { kPanel = 16, kTileRows = 8, kTallRows = 16, kPrefetchRows = 32 };

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
  ep_v16 acc[kTallRows][2];
  for (int j = 0; j < panels; ++j) {
    ep_v16 b = pg_load_bias(c, p0 + j);
    for (int i = 0; i < rows; ++i)
      acc[i][j] = b;
  }
  const float *x[kTallRows];
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

/// Rows [m0, m0 + rows) x the one panel p0, for 1 <= rows <= kTallRows.
static void pg_tall_tile(const PanelGemmCtx *c, int64_t m0, int64_t p0, int64_t rows) {
  switch (rows) {
    PG_ROWS_CASE(16, 1) PG_ROWS_CASE(15, 1) PG_ROWS_CASE(14, 1) PG_ROWS_CASE(13, 1) PG_ROWS_CASE(12, 1)
    PG_ROWS_CASE(11, 1) PG_ROWS_CASE(10, 1) PG_ROWS_CASE(9, 1)
  default:
    PG_ROWS_CASES(1)
  }
}

/// Task `pair`: the panels [2·pair, 2·pair + 2) (one when the panel count is odd and this is the last), for
/// all rows. Up to kTileRows rows, one tile of those rows x both panels (the broadcasts serve both). More
/// rows (an expert's tokens: about 16): each panel in turn under tiles of balanced heights up to kTallRows
/// x 1 panel (M = 16: one tile; M = 22: two of 11), so that a panel streams from memory through a tile of
/// all (or half) the rows while it computes, rather than through a first 8-row tile and then from L2
/// through the others.
static void pg_task(void *ctx, int64_t pair) {
  const PanelGemmCtx *c = (const PanelGemmCtx *)ctx;
  int64_t p0 = 2 * pair;
  int two = p0 + 1 < c->panels;
  if (c->m <= kTileRows) {
    int64_t m0 = 0, rows = c->m;
    if (two) {
      PG_ROWS_CASES(2)
    } else {
      PG_ROWS_CASES(1)
    }
    return;
  }
  int64_t tiles = (c->m + kTallRows - 1) / kTallRows;
  for (int64_t p = p0; p < p0 + 1 + two; ++p)
    for (int64_t m0 = 0, t = 0; t < tiles; ++t) {
      int64_t rows = (c->m - m0 + (tiles - t) - 1) / (tiles - t);
      pg_tall_tile(c, m0, p, rows);
      m0 += rows;
    }
}

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
  // K = 0 needs nothing special: every tile is its bias, activated.
  effc_uk_parallel_for(pg_task, &c, (c.panels + 1) / 2);
}
