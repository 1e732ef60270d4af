/*===- attention.c - fused scaled dot-product attention --------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * effc_uk_attention_f32: the f32 lowering of eff.attention (docs/spec/eff.md#effattention) in one pass,
 * flash-attention style. Operands stay in the hidden layout: query [B, S, H·Dh], keys and values
 * [B, L, Hkv·Dh], where L = P + S' is the KV cache (past, [B, P, Hkv·Dh]) followed by the new keys; query head
 * h reads key/value head h / (H / Hkv).
 *
 * Work is split into tasks (batch, key/value head, block of AT_QB query rows) run by effc_uk_parallel_for. A
 * task first gathers the keys its rows can see (both segments, up to the causal limit of its last row) into
 * Kᵀ [Dh, L'] and, unless they can be read where they lie (one segment of whole-vector rows), the values into
 * V [L', Dh'] (Dh' = Dh rounded up to 16, zero padded), plus one additive key bias row (0, or −inf for padded
 * keys and keys the padding mask hides). Then, for each query head of the group and each tile of AT_TQ of
 * the block's query rows (broadcast where they lie), it walks blocks of AT_KB keys:
 *
 *   s = scale · q·Kᵀ[:, block] + bias (−inf past the causal limit j > i + L − S), in tiles of AT_TK keys
 *   m' = max(m, max s);  α = exp(m − m');  p = exp(s − m');  l = α·l + Σ p;  O = α·O + p·V[block]
 *
 * and finally writes O / l (all zeros for a row that sees no key, as the reference does). Only the
 * [AT_TQ, AT_KB] block of scores ever exists, in L1; a sequence of up to AT_KB keys is one block, an exact
 * softmax without rescaling.
 *
 * A task with fewer than AT_DIRECT_ROWS query rows skips the gathering: each row's scores are dot products with
 * the keys where they lie, and its output a sum of the value rows (at_direct_rows). A step of one query row (a
 * decode step) splits the keys instead of the heads: each task takes a range of keys for every head, reading
 * whole cache rows, and the ranges' partial softmax sums are merged after (at_split_task, flash-decoding).
 *
 * effc_uk_attention_present_f32 also writes the `present` KV cache (the past followed by the new keys and
 * values) that eff.attention returns: the decode paths store the rows as they read them (a split task its
 * keys' rows; with more query rows the first task of each (batch, key/value head) that head's rows, copied
 * first on the tiled path), so a decode step reads the cache once instead of once for a separate
 * concatenation and again for the products.
 *
 * Vectors are 16-float vector types (one zmm; narrower vectors in the generic variant), so both variants run
 * the same code; results differ between CPUs only by FMA contraction. exp is a polynomial (at_exp, shared with
 * the GEMM epilogues in epilogue.h) rather than libm, which compiled models do not link.
 *
 *===----------------------------------------------------------------------===*/

#include "epilogue.h"
#include "ukernel.h"

/* Query rows per register tile and keys per score tile (6 × 4 vectors of accumulators, as in the GEMMs' tiles;
 * the products with V use 6 × 4 as well), keys per softmax block (a block's scores wait in an [AT_TQ][AT_KB]
 * buffer in L1, so that each block takes one maximum and one rescaling of O, and a sequence of up to AT_KB keys
 * one exact softmax), and query rows per task (a sequence of 128 is one block: each task gathers Kᵀ once for
 * all of its rows). Tasks with fewer than AT_DIRECT_ROWS query rows take at_direct_rows. */
#define AT_TQ 6
#define AT_TK 64
#define AT_KB 256
#define AT_QB 128
#define AT_DIRECT_ROWS 4
/* How many keys ahead of the products at_direct_rows (2 or 3 query rows) prefetches key and value rows. */
#define AT_PREFETCH_KEYS 8

typedef float at_v16 __attribute__((vector_size(64)));
typedef float at_v16u __attribute__((vector_size(64), aligned(4)));
typedef int32_t at_i16 __attribute__((vector_size(64)));

#define AT_NEG_INF (-__builtin_inff())

typedef struct {
  const float *q, *k, *v, *past_k, *past_v, *mask;
  float *out;
  float *present_k, *present_v; /* null, or the cache to write: [B, L, Hkv·Dh] */
  int64_t q_batch_stride, q_row_stride, q_col_stride;
  int64_t k_batch_stride, k_row_stride, k_col_stride;
  int64_t v_batch_stride, v_row_stride, v_col_stride;
  int64_t pk_batch_stride, pk_row_stride, pk_col_stride;
  int64_t pv_batch_stride, pv_row_stride, pv_col_stride;
  int64_t mask_batch_stride, mask_col_stride;
  int64_t out_batch_stride, out_row_stride, out_col_stride;
  int64_t prk_batch_stride, prk_row_stride, prk_col_stride;
  int64_t prv_batch_stride, prv_row_stride, prv_col_stride;
  int64_t batch, query_len, past_len, key_len; /* key_len = past_len + new keys */
  int64_t heads, kv_heads, head_dim, padded_head_dim;
  int64_t query_blocks;
  float scale;
  int causal;
} at_problem;

/*===----------------------------------------------------------------------===*
 * Vector helpers
 *===----------------------------------------------------------------------===*/

static inline at_v16 at_splat(float x) { return (at_v16){0} + x; }

/* Lanes of `x` where `select` is all ones are replaced by `y`. */
static inline at_v16 at_blend(at_v16 x, at_v16 y, at_i16 select) {
  return (at_v16)(((at_i16)x & ~select) | ((at_i16)y & select));
}

/* Horizontal maximum, as a tree of halves (a lane-by-lane chain is 15 dependent steps; ep_hsum sums so). */
typedef float at_v8 __attribute__((vector_size(32)));
typedef float at_v4 __attribute__((vector_size(16)));

static inline float at_hmax(at_v16 x) {
  at_v8 lo = __builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7);
  at_v8 hi = __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15);
  at_v8 m8 = __builtin_elementwise_max(lo, hi);
  at_v4 a = __builtin_shufflevector(m8, m8, 0, 1, 2, 3), b = __builtin_shufflevector(m8, m8, 4, 5, 6, 7);
  at_v4 m4 = __builtin_elementwise_max(a, b);
  float m0 = m4[0] > m4[2] ? m4[0] : m4[2], m1 = m4[1] > m4[3] ? m4[1] : m4[3];
  return m0 > m1 ? m0 : m1;
}

/* exp(x) for x <= 0, 0 below −87 (including −inf): the GEMM epilogues' polynomial (Cephes' expf, about 1 ulp),
 * whose value for the lanes below −87 is replaced rather than clamped first. */
static inline at_v16 at_exp(at_v16 x) {
  return at_blend(ep_exp_in_range(x), at_splat(0.0f), x < at_splat(-87.0f));
}

/* The largest of the 16 · `vectors` scores at s (64-byte aligned). */
static inline float at_scores_max(const float *s, int64_t vectors) {
  at_v16 max = at_splat(AT_NEG_INF);
  for (int64_t c = 0; c < vectors; ++c) {
    at_v16 x = *(const at_v16 *)(s + 16 * c);
    max = at_blend(max, x, x > max);
  }
  return at_hmax(max);
}

/* s = exp(s − max) in place over 16 · `vectors` scores (64-byte aligned); returns their sum by lanes. */
static inline at_v16 at_exp_scores(float *s, int64_t vectors, float max) {
  at_v16 sum = at_splat(0.0f);
  for (int64_t c = 0; c < vectors; ++c) {
    at_v16 e = at_exp(*(const at_v16 *)(s + 16 * c) - max);
    *(at_v16 *)(s + 16 * c) = e;
    sum = sum + e;
  }
  return sum;
}

/*===----------------------------------------------------------------------===*
 * One task
 *===----------------------------------------------------------------------===*/

/* Scores of the AT_TQ query rows q[r] (elements `qs` apart) against the AT_TK keys of Kᵀ's columns from kcol:
 * s[r][j] = scale · q_r·k_j + bias[j], −inf for keys past row r's last visible one (`limit[r]`, relative to the
 * tile; below 0: none), stored to s[r · AT_KB + j]. */
static inline __attribute__((always_inline)) void at_score_tile(const float *const q[AT_TQ], int64_t qs,
                                                                const float *kcol, int64_t ldkt, int64_t dh,
                                                                float scale, const float *bias,
                                                                const int64_t limit[AT_TQ], float *s) {
  at_v16 acc[AT_TQ][4];
  for (int r = 0; r < AT_TQ; ++r)
    for (int c = 0; c < 4; ++c)
      acc[r][c] = at_splat(0.0f);
  for (int64_t d = 0; d < dh; ++d) {
    at_v16 kv[4];
    for (int c = 0; c < 4; ++c)
      kv[c] = *(const at_v16 *)(kcol + d * ldkt + 16 * c);
    for (int r = 0; r < AT_TQ; ++r) {
      float qv = q[r][d * qs];
      for (int c = 0; c < 4; ++c)
        acc[r][c] = acc[r][c] + qv * kv[c];
    }
  }
  at_v16 lane;
  for (int i = 0; i < 16; ++i)
    lane[i] = (float)i;
  for (int r = 0; r < AT_TQ; ++r)
    for (int c = 0; c < 4; ++c) {
      at_v16 x = acc[r][c] * scale + *(const at_v16 *)(bias + 16 * c);
      if (limit[r] < AT_TK - 1)
        x = at_blend(x, at_splat(AT_NEG_INF), lane + (float)(16 * c) > (float)limit[r]);
      *(at_v16 *)(s + r * AT_KB + 16 * c) = x;
    }
}

/* O[r, 0:16·NV] = α[r]·O[r, ...] + Σ_j P[r, j] · V[j, ...] for the AT_TQ rows, over `keys` keys (O taken as 0
 * for the `first` key block, so that it needs no clearing): NV vectors of accumulators per row stay in
 * registers. P[r, j] is p[r · AT_KB + j]. */
static inline __attribute__((always_inline)) void at_pv_chunk(float *o, int64_t ldo, const float *p,
                                                              const float *v, int64_t ldv, int64_t keys,
                                                              const float *alpha, int first, int nv) {
  at_v16 acc[AT_TQ][4];
  for (int r = 0; r < AT_TQ; ++r)
    for (int c = 0; c < nv; ++c)
      acc[r][c] = first ? at_splat(0.0f) : *(const at_v16 *)(o + r * ldo + 16 * c) * alpha[r];
  for (int64_t j = 0; j < keys; ++j) {
    at_v16 vj[4];
    for (int c = 0; c < nv; ++c)
      vj[c] = *(const at_v16u *)(v + j * ldv + 16 * c);
    for (int r = 0; r < AT_TQ; ++r) {
      float pr = p[r * AT_KB + j];
      for (int c = 0; c < nv; ++c)
        acc[r][c] = acc[r][c] + pr * vj[c];
    }
  }
  for (int r = 0; r < AT_TQ; ++r)
    for (int c = 0; c < nv; ++c)
      *(at_v16 *)(o + r * ldo + 16 * c) = acc[r][c];
}

/* Rows [i0, i0 + rows) of query head h, rows <= AT_TQ (the tile's other rows repeat its last one and are
 * dropped). Per block of AT_KB keys: the scores by register tiles (at_score_tile) into `p`, each row's softmax
 * over the block updating its running maximum m and sum l, then O = α·O + P·V (at_pv_chunk). */
static void at_row_tile(const at_problem *pr, int64_t b, int64_t h, int64_t i0, int64_t rows, const float *kt,
                        int64_t ldkt, const float *vc, int64_t ldv, const float *key_bias, int64_t visible,
                        float *scratch) {
  int64_t dh = pr->head_dim, dhp = pr->padded_head_dim;
  float *o = scratch;          /* [AT_TQ][Dh'] accumulators (64-byte aligned: Dh' % 16 == 0) */
  float *p = o + AT_TQ * dhp;  /* [AT_TQ][AT_KB] scores, then probabilities, of the current block */
  float m[AT_TQ], l[AT_TQ], alpha[AT_TQ];
  const float *q[AT_TQ]; /* the tile's query rows; its rows past `rows` repeat the last */
  for (int r = 0; r < AT_TQ; ++r) {
    q[r] = pr->q + b * pr->q_batch_stride + (i0 + EFFC_UK_MIN(r, rows - 1)) * pr->q_row_stride +
           h * dh * pr->q_col_stride;
    m[r] = AT_NEG_INF;
    l[r] = 0.0f;
  }

  /* Causal: row i sees keys j <= i + L − S; the tile's last row bounds the keys to visit. */
  int64_t offset = pr->key_len - pr->query_len;
  int64_t keys = visible;
  if (pr->causal)
    keys = EFFC_UK_MIN(keys, i0 + rows - 1 + offset + 1);

  if (keys <= 0) /* no key block writes O */
    for (int64_t i = 0; i < AT_TQ * dhp; ++i)
      o[i] = 0.0f;
  for (int64_t k0 = 0; k0 < keys; k0 += AT_KB) {
    int64_t block_keys = EFFC_UK_MIN(AT_KB, keys - k0);
    for (int64_t j0 = k0; j0 < k0 + block_keys; j0 += AT_TK) {
      /* Keys past the block's end are beyond this tile's causal limit or padding: −inf. */
      int64_t tile_keys = EFFC_UK_MIN(AT_TK, keys - j0), limit[AT_TQ];
      for (int r = 0; r < AT_TQ; ++r)
        limit[r] = EFFC_UK_MIN(tile_keys - 1, pr->causal ? i0 + r + offset - j0 : tile_keys - 1);
      at_score_tile(q, pr->q_col_stride, kt + j0, ldkt, dh, pr->scale, key_bias + j0, limit, p + (j0 - k0));
    }
    /* Lane r of `shift`: m − m' of row r (0 while it sees nothing), so that one exp gives every row's α. */
    int64_t vectors = (block_keys + 15) / 16;
    at_v16 shift = at_splat(0.0f);
    float row_sum[AT_TQ];
    for (int r = 0; r < AT_TQ; ++r) {
      float *pr_row = p + r * AT_KB;
      float block_max = at_scores_max(pr_row, vectors);
      float new_max = block_max > m[r] ? block_max : m[r];
      row_sum[r] = 0.0f;
      if (new_max == AT_NEG_INF) { /* nothing visible yet: O and l stay 0 (α = 1) */
        for (int64_t c = 0; c < vectors; ++c)
          *(at_v16 *)(pr_row + 16 * c) = at_splat(0.0f);
        continue;
      }
      shift[r] = m[r] - new_max;
      row_sum[r] = ep_hsum(at_exp_scores(pr_row, vectors, new_max));
      m[r] = new_max;
    }
    at_v16 alphas = at_exp(shift);
    for (int r = 0; r < AT_TQ; ++r) {
      alpha[r] = alphas[r];
      l[r] = l[r] * alpha[r] + row_sum[r];
    }
    /* O = α·O + P·V over the block, in chunks of up to 64 columns. */
    const float *vt = vc + k0 * ldv;
    for (int64_t c0 = 0; c0 < dhp; c0 += 64) {
      switch ((int)EFFC_UK_MIN(4, (dhp - c0) / 16)) {
      case 4: at_pv_chunk(o + c0, dhp, p, vt + c0, ldv, block_keys, alpha, k0 == 0, 4); break;
      case 3: at_pv_chunk(o + c0, dhp, p, vt + c0, ldv, block_keys, alpha, k0 == 0, 3); break;
      case 2: at_pv_chunk(o + c0, dhp, p, vt + c0, ldv, block_keys, alpha, k0 == 0, 2); break;
      default: at_pv_chunk(o + c0, dhp, p, vt + c0, ldv, block_keys, alpha, k0 == 0, 1); break;
      }
    }
  }

  for (int64_t r = 0; r < rows; ++r) {
    float inverse = l[r] == 0.0f ? 0.0f : 1.0f / l[r];
    float *out = pr->out + b * pr->out_batch_stride + (i0 + r) * pr->out_row_stride + h * dh * pr->out_col_stride;
    int64_t d = 0;
    if (pr->out_col_stride == 1)
      for (; d + 16 <= dh; d += 16)
        *(at_v16u *)(out + d) = *(const at_v16 *)(o + r * dhp + d) * inverse;
    for (; d < dh; ++d)
      out[d * pr->out_col_stride] = o[r * dhp + d] * inverse;
  }
}

/* Key j of (b, kv head g): the past for j < P, the new keys after. */
static inline const float *at_key(const at_problem *pr, int64_t b, int64_t g, int64_t j, int64_t *stride) {
  if (j < pr->past_len) {
    *stride = pr->pk_col_stride;
    return pr->past_k + b * pr->pk_batch_stride + j * pr->pk_row_stride + g * pr->head_dim * pr->pk_col_stride;
  }
  *stride = pr->k_col_stride;
  return pr->k + b * pr->k_batch_stride + (j - pr->past_len) * pr->k_row_stride +
         g * pr->head_dim * pr->k_col_stride;
}

static inline const float *at_value(const at_problem *pr, int64_t b, int64_t g, int64_t j, int64_t *stride) {
  if (j < pr->past_len) {
    *stride = pr->pv_col_stride;
    return pr->past_v + b * pr->pv_batch_stride + j * pr->pv_row_stride + g * pr->head_dim * pr->pv_col_stride;
  }
  *stride = pr->v_col_stride;
  return pr->v + b * pr->v_batch_stride + (j - pr->past_len) * pr->v_row_stride +
         g * pr->head_dim * pr->v_col_stride;
}

/* Row j of (b, kv head g) in the present key or value cache. */
static inline float *at_present_key(const at_problem *pr, int64_t b, int64_t g, int64_t j) {
  return pr->present_k + b * pr->prk_batch_stride + j * pr->prk_row_stride + g * pr->head_dim * pr->prk_col_stride;
}

static inline float *at_present_value(const at_problem *pr, int64_t b, int64_t g, int64_t j) {
  return pr->present_v + b * pr->prv_batch_stride + j * pr->prv_row_stride + g * pr->head_dim * pr->prv_col_stride;
}

/* Stores a vector of a present row: streaming (non-temporal, no read of the line first) where aligned, as the
 * cache is not read again in this step. A task that stored so ends with at_present_fence. */
static inline void at_store_present(float *dst, at_v16 x) {
  if (((uintptr_t)dst & 63) == 0)
    __builtin_nontemporal_store(x, (at_v16 *)dst);
  else
    *(at_v16u *)dst = x;
}

/* Orders this core's streaming stores before whatever signals the task's end (the runtime's ABI promises no
 * fence of its own). */
static inline void at_present_fence(void) {
#if defined(__SSE__)
  __builtin_ia32_sfence();
#endif
}

/* Copies keys (or values) [j0, j1) of (b, kv head g) into the present cache, element by element (any
 * strides): the rows the decode path did not store on its way, and every row on the tiled path. */
static void at_copy_present(const at_problem *pr, int64_t b, int64_t g, int64_t j0, int64_t j1, int values) {
  for (int64_t j = j0; j < j1; ++j) {
    int64_t stride;
    const float *src = values ? at_value(pr, b, g, j, &stride) : at_key(pr, b, g, j, &stride);
    float *dst = values ? at_present_value(pr, b, g, j) : at_present_key(pr, b, g, j);
    int64_t dst_stride = values ? pr->prv_col_stride : pr->prk_col_stride;
    for (int64_t d = 0; d < pr->head_dim; ++d)
      dst[d * dst_stride] = src[d * stride];
  }
}

/*===----------------------------------------------------------------------===*
 * Few query rows
 *===----------------------------------------------------------------------===*/

/* Whether the task's rows take at_direct_rows: fewer than AT_DIRECT_ROWS rows (a few new tokens), head size a
 * multiple of 16 up to 256, every head's elements contiguous. */
static int at_direct(const at_problem *pr, int64_t rows) {
  return rows < AT_DIRECT_ROWS && pr->head_dim % 16 == 0 && pr->head_dim <= 256 && pr->q_col_stride == 1 &&
         pr->k_col_stride == 1 && pr->v_col_stride == 1 && pr->out_col_stride == 1 &&
         (pr->past_len == 0 || (pr->pk_col_stride == 1 && pr->pv_col_stride == 1)) &&
         (!pr->present_k || (pr->prk_col_stride == 1 && pr->prv_col_stride == 1));
}

/* Rows [i0, i1) of every query head of (b, kv head g), read straight from the keys and values: with fewer
 * query rows than AT_DIRECT_ROWS (a few new tokens), gathering Kᵀ would cost more than the products. Per row:
 * all scores (q·k_j, a tree sum per key), their maximum, p_j = exp(s_j − max) and l = Σ p_j, then
 * O = Σ p_j·v_j / l. The rows of K and V lie a row of the cache apart (H·Dh floats): too far for the
 * hardware prefetcher to follow, so each loop prefetches the row AT_PREFETCH_KEYS keys ahead. `vectors`
 * = Dh / 16 is a constant for Dh = 64 (at_direct_rows), so that q and O stay in registers. With
 * `write_present`, the first row stores each key and value row it reads into the present cache (and copies
 * any its causal limit or an all-masked row left unread). */
static inline __attribute__((always_inline)) void at_direct_rows_of(const at_problem *pr, int64_t b, int64_t g,
                                                                    int64_t i0, int64_t i1, int write_present,
                                                                    const int64_t vectors) {
  int64_t dh = pr->head_dim, group = pr->heads / pr->kv_heads;
  int64_t padded = (pr->key_len + 15) / 16 * 16, offset = pr->key_len - pr->query_len;
  float *scores = (float *)effc_uk_alloc((uint64_t)(padded > 0 ? padded : 16) * sizeof(float));
  for (int64_t r = 0; r < group; ++r) {
    int64_t h = g * group + r;
    for (int64_t i = i0; i < i1; ++i) {
      const float *q = pr->q + b * pr->q_batch_stride + i * pr->q_row_stride + h * dh;
      float *out = pr->out + b * pr->out_batch_stride + i * pr->out_row_stride + h * dh;
      /* At least 0: with a dynamic S > L (which eff.attention forbids) early causal rows see no key. */
      int64_t keys = pr->causal ? EFFC_UK_MAX(EFFC_UK_MIN(pr->key_len, i + offset + 1), 0) : pr->key_len;
      int store = write_present && r == 0 && i == i0;
      at_v16 qv[16];
      for (int64_t c = 0; c < vectors; ++c)
        qv[c] = *(const at_v16u *)(q + 16 * c);
      for (int64_t j = 0; j < keys; ++j) {
        int64_t stride;
        if (j + AT_PREFETCH_KEYS < keys) {
          const float *ahead = at_key(pr, b, g, j + AT_PREFETCH_KEYS, &stride);
          for (int64_t c = 0; c < vectors; ++c)
            __builtin_prefetch(ahead + 16 * c);
        }
        const float *kj = at_key(pr, b, g, j, &stride);
        at_v16 acc = at_splat(0.0f);
        for (int64_t c = 0; c < vectors; ++c) {
          at_v16 kc = *(const at_v16u *)(kj + 16 * c);
          acc = acc + qv[c] * kc;
          if (store)
            at_store_present(at_present_key(pr, b, g, j) + 16 * c, kc);
        }
        int hidden = pr->mask && pr->mask[b * pr->mask_batch_stride + j * pr->mask_col_stride] == 0.0f;
        scores[j] = hidden ? AT_NEG_INF : ep_hsum(acc) * pr->scale;
      }
      if (store)
        at_copy_present(pr, b, g, keys, pr->key_len, 0);
      int64_t rounded = (keys + 15) / 16 * 16;
      for (int64_t j = keys; j < rounded; ++j)
        scores[j] = AT_NEG_INF;
      float max = at_scores_max(scores, rounded / 16);
      at_v16 o[16];
      for (int64_t c = 0; c < vectors; ++c)
        o[c] = at_splat(0.0f);
      if (max == AT_NEG_INF) { /* the row sees no key: zeros, as the reference gives */
        for (int64_t c = 0; c < vectors; ++c)
          *(at_v16u *)(out + 16 * c) = o[c];
        if (store)
          at_copy_present(pr, b, g, 0, pr->key_len, 1);
        continue;
      }
      at_v16 sum_v = at_exp_scores(scores, rounded / 16, max);
      for (int64_t j = 0; j < keys; ++j) {
        float p = scores[j];
        if (p == 0.0f && !store)
          continue;
        int64_t stride;
        if (j + AT_PREFETCH_KEYS < keys) {
          const float *ahead = at_value(pr, b, g, j + AT_PREFETCH_KEYS, &stride);
          for (int64_t c = 0; c < vectors; ++c)
            __builtin_prefetch(ahead + 16 * c);
        }
        const float *vj = at_value(pr, b, g, j, &stride);
        if (store)
          for (int64_t c = 0; c < vectors; ++c)
            at_store_present(at_present_value(pr, b, g, j) + 16 * c, *(const at_v16u *)(vj + 16 * c));
        if (p == 0.0f) /* a masked key: its value row is only stored */
          continue;
        for (int64_t c = 0; c < vectors; ++c)
          o[c] = o[c] + p * *(const at_v16u *)(vj + 16 * c);
      }
      if (store)
        at_copy_present(pr, b, g, keys, pr->key_len, 1);
      float inverse = 1.0f / ep_hsum(sum_v);
      for (int64_t c = 0; c < vectors; ++c)
        *(at_v16u *)(out + 16 * c) = o[c] * inverse;
    }
  }
  if (write_present)
    at_present_fence();
  effc_uk_free(scores);
}

static void at_direct_rows(const at_problem *pr, int64_t b, int64_t g, int64_t i0, int64_t i1, int write_present) {
  if (pr->head_dim == 64)
    at_direct_rows_of(pr, b, g, i0, i1, write_present, 4);
  else
    at_direct_rows_of(pr, b, g, i0, i1, write_present, pr->head_dim / 16);
}

/*===----------------------------------------------------------------------===*
 * One query row (a decode step): the keys split into ranges (flash-decoding)
 *===----------------------------------------------------------------------===*/

/* With one query row per head, a task per key/value head reads that head's Dh floats of every cache row, rows
 * H·Dh floats apart: short strided reads that memory served at about 60% of its streaming rate. Here a task
 * takes a range of keys for all heads instead, so that it reads whole cache rows (one linear stream through the
 * past keys, another through the values) and writes whole present rows. Per head it leaves the range's largest
 * score m, Σ exp(s − m) = l and the unnormalised Σ exp(s − m) · v; at_split_merge then rescales the ranges to
 * their common maximum: O = Σ_t e^(m_t − M) o_t / Σ_t e^(m_t − M) l_t. Ranges are AT_SPLIT_MIN_KEYS keys, or
 * longer for long caches, so that there are at most about AT_SPLIT_TASKS per batch row: the partial sums (H·Dh
 * floats per range) stay small beside the cache a range reads, even when many query heads share a key head. */
#define AT_SPLIT_MIN_KEYS 8
#define AT_SPLIT_TASKS 32

typedef struct {
  const at_problem *pr;
  float *partial; /* [B][ranges][H][keys + 2 + Dh]: scores (then probabilities), m, l, o */
  int64_t keys;   /* per range */
  int64_t ranges;
} at_split;

/* Floats of one head's partial sums for one range. */
static inline int64_t at_split_floats(const at_split *sp) { return sp->keys + 2 + sp->pr->head_dim; }

static void at_split_task(void *ctx, int64_t task) {
  const at_split *sp = (const at_split *)ctx;
  const at_problem *pr = sp->pr;
  const int64_t b = task / sp->ranges, j0 = task % sp->ranges * sp->keys;
  const int64_t j1 = EFFC_UK_MIN(pr->key_len, j0 + sp->keys), keys = j1 - j0;
  const int64_t dh = pr->head_dim, vectors = dh / 16, group = pr->heads / pr->kv_heads;
  const int64_t stride_h = at_split_floats(sp);
  float *part = sp->partial + task * pr->heads * stride_h;
  const float *q = pr->q + b * pr->q_batch_stride;
  int64_t unused;
  for (int64_t j = j0; j < j1; ++j) {
    int hidden = pr->mask && pr->mask[b * pr->mask_batch_stride + j * pr->mask_col_stride] == 0.0f;
    for (int64_t g = 0; g < pr->kv_heads; ++g) {
      const float *kj = at_key(pr, b, g, j, &unused), *vj = at_value(pr, b, g, j, &unused);
      for (int64_t c = 0; c < vectors; ++c) // the value rows are read after all the keys: bring them in now
        __builtin_prefetch(vj + 16 * c, 0, 2);
      if (pr->present_k)
        for (int64_t c = 0; c < vectors; ++c)
          at_store_present(at_present_key(pr, b, g, j) + 16 * c, *(const at_v16u *)(kj + 16 * c));
      for (int64_t r = 0; r < group; ++r) {
        const int64_t h = g * group + r;
        at_v16 acc = at_splat(0.0f);
        for (int64_t c = 0; c < vectors; ++c)
          acc = acc + *(const at_v16u *)(q + h * dh + 16 * c) * *(const at_v16u *)(kj + 16 * c);
        part[h * stride_h + (j - j0)] = hidden ? AT_NEG_INF : ep_hsum(acc) * pr->scale;
      }
    }
  }
  for (int64_t h = 0; h < pr->heads; ++h) {
    float *sc = part + h * stride_h, max = AT_NEG_INF, sum = 0.0f;
    int nan = 0;
    for (int64_t j = 0; j < keys; ++j) {
      nan |= sc[j] != sc[j];
      max = sc[j] > max ? sc[j] : max;
    }
    for (int64_t j = 0; j < keys; ++j) {
      sc[j] = max == AT_NEG_INF ? 0.0f : at_exp(at_splat(sc[j] - max))[0];
      sum += sc[j];
    }
    sc[sp->keys] = nan ? __builtin_nanf("") : max; // a NaN score makes the row NaN, as in the reference
    sc[sp->keys + 1] = sum;
    for (int64_t d = 0; d < dh; ++d)
      sc[sp->keys + 2 + d] = 0.0f;
  }
  for (int64_t j = j0; j < j1; ++j)
    for (int64_t g = 0; g < pr->kv_heads; ++g) {
      const float *vj = at_value(pr, b, g, j, &unused);
      if (pr->present_v)
        for (int64_t c = 0; c < vectors; ++c)
          at_store_present(at_present_value(pr, b, g, j) + 16 * c, *(const at_v16u *)(vj + 16 * c));
      for (int64_t r = 0; r < group; ++r) {
        float *sc = part + (g * group + r) * stride_h, p = sc[j - j0];
        float *o = sc + sp->keys + 2;
        if (p != 0.0f)
          for (int64_t c = 0; c < vectors; ++c)
            *(at_v16u *)(o + 16 * c) = *(const at_v16u *)(o + 16 * c) + p * *(const at_v16u *)(vj + 16 * c);
      }
    }
  if (pr->present_k)
    at_present_fence();
}

/* Rescales every range of (b, h) to their common maximum and writes O = Σ_t e^(m_t − M) o_t / Σ_t e^(m_t − M) l_t
 * (zeros when no key is visible, as the reference gives; NaN when a range saw a NaN score). */
static void at_split_merge(const at_split *sp) {
  const at_problem *pr = sp->pr;
  const int64_t dh = pr->head_dim, vectors = dh / 16, stride_h = at_split_floats(sp);
  const int64_t range_stride = pr->heads * stride_h;
  for (int64_t b = 0; b < pr->batch; ++b)
    for (int64_t h = 0; h < pr->heads; ++h) {
      const float *first = sp->partial + (b * sp->ranges * pr->heads + h) * stride_h;
      float max = AT_NEG_INF;
      int nan = 0;
      for (int64_t t = 0; t < sp->ranges; ++t) {
        float m = first[t * range_stride + sp->keys];
        nan |= m != m;
        max = m > max ? m : max;
      }
      at_v16 o[16];
      for (int64_t c = 0; c < vectors; ++c)
        o[c] = at_splat(nan ? __builtin_nanf("") : 0.0f);
      float sum = 0.0f;
      if (max != AT_NEG_INF && !nan)
        for (int64_t t = 0; t < sp->ranges; ++t) {
          const float *range = first + t * range_stride;
          if (range[sp->keys] == AT_NEG_INF)
            continue;
          float weight = at_exp(at_splat(range[sp->keys] - max))[0];
          sum += weight * range[sp->keys + 1];
          for (int64_t c = 0; c < vectors; ++c)
            o[c] = o[c] + weight * *(const at_v16u *)(range + sp->keys + 2 + 16 * c);
        }
      float inverse = sum > 0.0f ? 1.0f / sum : nan ? 1.0f : 0.0f;
      float *out = pr->out + b * pr->out_batch_stride + h * dh;
      for (int64_t c = 0; c < vectors; ++c)
        *(at_v16u *)(out + 16 * c) = o[c] * inverse;
    }
}

/* Whether the step takes the split path: one query row, head size a multiple of 16 up to 256, every head's
 * elements contiguous (at_direct's conditions). */
static int at_split_applies(const at_problem *pr) { return pr->query_len == 1 && at_direct(pr, 1); }

/* Runs the step on the split path: B × ranges tasks, then the merge. */
static void at_split_run(const at_problem *pr) {
  at_split sp = {pr, 0, EFFC_UK_MAX(AT_SPLIT_MIN_KEYS, (pr->key_len + AT_SPLIT_TASKS - 1) / AT_SPLIT_TASKS), 0};
  sp.ranges = EFFC_UK_MAX((pr->key_len + sp.keys - 1) / sp.keys, 1); // no key: one empty range, merged to zeros
  sp.partial =
      (float *)effc_uk_alloc((uint64_t)(pr->batch * sp.ranges * pr->heads * at_split_floats(&sp)) * sizeof(float));
  effc_uk_parallel_for(at_split_task, &sp, pr->batch * sp.ranges);
  at_split_merge(&sp);
  effc_uk_free(sp.partial);
}

/*===----------------------------------------------------------------------===*
 * Tasks
 *===----------------------------------------------------------------------===*/

/* dst[(d0 + c) · ld + i] = rows[i][d0 + c] for 16 rows and 16 columns, transposed in registers: for
 * gathering Kᵀ. */
static inline void at_transpose16(const float *const rows[16], int64_t d0, float *dst, int64_t ld) {
  ep_v16 t[16];
  for (int i = 0; i < 16; ++i)
    t[i] = *(const at_v16u *)(rows[i] + d0);
  ep_transpose16(t);
  for (int c = 0; c < 16; ++c)
    *(at_v16u *)(dst + (d0 + c) * ld) = t[c];
}

/* All Dh elements of 16 rows (Dh >= 16) into columns of `dst` (row d at dst + d · ld) by 16 x 16 transposes;
 * when Dh is not a multiple of 16 (TinyBERT's 26) the last block starts at Dh − 16, overlapping the one before
 * it rather than reading past the head. */
static inline void at_transpose_rows(const float *const rows[16], int64_t dh, float *dst, int64_t ld) {
  for (int64_t d0 = 0; d0 + 16 <= dh; d0 += 16)
    at_transpose16(rows, d0, dst, ld);
  if (dh % 16)
    at_transpose16(rows, dh - 16, dst, ld);
}

static void at_task(void *ctx, int64_t task) {
  const at_problem *pr = (const at_problem *)ctx;
  int64_t block = task % pr->query_blocks;
  int64_t g = (task / pr->query_blocks) % pr->kv_heads;
  int64_t b = task / (pr->query_blocks * pr->kv_heads);
  int64_t i0 = block * AT_QB, i1 = EFFC_UK_MIN(pr->query_len, i0 + AT_QB);
  int64_t dh = pr->head_dim, dhp = pr->padded_head_dim;
  /* The present cache of (b, g) is written by the (b, g) task of the first query block: the decode path
   * stores the rows as it reads them, otherwise (register tiles, or no query rows) they are copied first. */
  int write_present = pr->present_k && block == 0;
  int direct = i1 > i0 && at_direct(pr, i1 - i0);
  if (write_present && !direct) {
    at_copy_present(pr, b, g, 0, pr->key_len, 0);
    at_copy_present(pr, b, g, 0, pr->key_len, 1);
  }
  if (i1 <= i0)
    return;
  if (direct) {
    at_direct_rows(pr, b, g, i0, i1, write_present);
    return;
  }

  /* Keys any row of the block can see, rounded up to whole tiles. */
  int64_t visible = pr->key_len;
  if (pr->causal)
    visible = EFFC_UK_MAX(EFFC_UK_MIN(visible, i1 - 1 + pr->key_len - pr->query_len + 1), 0);
  int64_t padded = (visible + AT_TK - 1) / AT_TK * AT_TK;
  if (padded == 0)
    padded = AT_TK;

  /* Values are read where they lie when their rows are whole vectors of one tensor (no past segment); the
   * products visit only keys below `visible`, so no padding rows are needed then. Otherwise they are copied
   * into V [padded][Dh']. */
  int values_in_place = pr->past_len == 0 && pr->v_col_stride == 1 && dh == dhp;
  int64_t v_floats = values_in_place ? 0 : padded * dhp;
  uint64_t floats = (uint64_t)(dh * padded + v_floats + padded + AT_TQ * dhp + AT_TQ * AT_KB);
  float *kt = (float *)effc_uk_alloc(floats * sizeof(float));
  float *vc = kt + dh * padded;           /* [padded][Dh'], when copied */
  float *key_bias = vc + v_floats;        /* [padded] */
  float *scratch = key_bias + padded;

  /* Kᵀ: blocks of 16 keys whose elements are contiguous by register transposes (at_transpose_rows), the
   * other keys by element. */
  int64_t transposed_keys = 0;
  if (dh >= 16 && pr->k_col_stride == 1 && (pr->past_len == 0 || pr->pk_col_stride == 1)) {
    for (; transposed_keys + 16 <= visible; transposed_keys += 16) {
      const float *rows[16];
      int64_t ks;
      for (int i = 0; i < 16; ++i)
        rows[i] = at_key(pr, b, g, transposed_keys + i, &ks);
      at_transpose_rows(rows, dh, kt + transposed_keys, padded);
    }
  }
  int64_t vs0;
  const float *values = values_in_place ? at_value(pr, b, g, 0, &vs0) : vc;
  int64_t ldv = values_in_place ? pr->v_row_stride : dhp;
  for (int64_t j = 0; j < padded; ++j) {
    int64_t ks, vs;
    const float *kj = j < visible ? at_key(pr, b, g, j, &ks) : 0;
    const float *vj = j < visible ? at_value(pr, b, g, j, &vs) : 0;
    if (j >= transposed_keys)
      for (int64_t d = 0; d < dh; ++d)
        kt[d * padded + j] = kj ? kj[d * ks] : 0.0f;
    if (!values_in_place) {
      float *vrow = vc + j * dhp;
      if (vj && vs == 1) {
        __builtin_memcpy(vrow, vj, (size_t)dh * sizeof(float));
        for (int64_t d = dh; d < dhp; ++d)
          vrow[d] = 0.0f;
      } else {
        for (int64_t d = 0; d < dhp; ++d)
          vrow[d] = vj && d < dh ? vj[d * vs] : 0.0f;
      }
    }
    int hidden = j >= visible || (pr->mask && pr->mask[b * pr->mask_batch_stride + j * pr->mask_col_stride] == 0.0f);
    key_bias[j] = hidden ? AT_NEG_INF : 0.0f;
  }

  int64_t group = pr->heads / pr->kv_heads;
  for (int64_t r = 0; r < group; ++r) {
    int64_t h = g * group + r;
    for (int64_t i = i0; i < i1; i += AT_TQ)
      at_row_tile(pr, b, h, i, EFFC_UK_MIN(AT_TQ, i1 - i), kt, padded, values, ldv, key_bias, visible, scratch);
  }
  effc_uk_free(kt);
}

/*===----------------------------------------------------------------------===*
 * Exported kernel
 *===----------------------------------------------------------------------===*/

/* The problem of a call: query [B, S, H·Dh], key and value [B, S', Hkv·Dh], past_key and past_value
 * [B, P, Hkv·Dh] (read only when `has_past`), mask [B, P + S'] (nonzero: attend; read only when `has_mask`),
 * the result out [B, S, H·Dh]. */
static at_problem at_problem_of(EFFC_UK_MEMREF3(const float, q), EFFC_UK_MEMREF3(const float, k),
                                EFFC_UK_MEMREF3(const float, v), EFFC_UK_MEMREF3(const float, past_k),
                                EFFC_UK_MEMREF3(const float, past_v), EFFC_UK_MEMREF2(const float, mask),
                                int64_t num_heads, int64_t num_kv_heads, float scale, int64_t causal,
                                int64_t has_mask, int64_t has_past, EFFC_UK_MEMREF3(float, out)) {
  at_problem p = {0};
  p.q = q + q_offset;
  p.q_batch_stride = q_stride0, p.q_row_stride = q_stride1, p.q_col_stride = q_stride2;
  p.k = k + k_offset;
  p.k_batch_stride = k_stride0, p.k_row_stride = k_stride1, p.k_col_stride = k_stride2;
  p.v = v + v_offset;
  p.v_batch_stride = v_stride0, p.v_row_stride = v_stride1, p.v_col_stride = v_stride2;
  if (has_past) {
    p.past_k = past_k + past_k_offset;
    p.pk_batch_stride = past_k_stride0, p.pk_row_stride = past_k_stride1, p.pk_col_stride = past_k_stride2;
    p.past_v = past_v + past_v_offset;
    p.pv_batch_stride = past_v_stride0, p.pv_row_stride = past_v_stride1, p.pv_col_stride = past_v_stride2;
    p.past_len = past_k_size1;
  }
  if (has_mask) {
    p.mask = mask + mask_offset;
    p.mask_batch_stride = mask_stride0, p.mask_col_stride = mask_stride1;
  }
  p.out = out + out_offset;
  p.out_batch_stride = out_stride0, p.out_row_stride = out_stride1, p.out_col_stride = out_stride2;
  p.batch = q_size0;
  p.query_len = q_size1;
  p.key_len = p.past_len + k_size1;
  p.heads = num_heads;
  p.kv_heads = num_kv_heads;
  p.head_dim = q_size2 / num_heads;
  p.padded_head_dim = (p.head_dim + 15) / 16 * 16;
  p.scale = scale;
  p.causal = causal != 0;
  return p;
}

/* A step of one query row runs on the split path (at_split_run); otherwise one task per (batch, key/value head,
 * query block), and without query rows, tasks only when the present cache is to be written (one per batch and
 * head, which copies it). */
static void at_run(at_problem *p) {
  if (p->batch <= 0 || p->head_dim <= 0 || (p->query_len <= 0 && !p->present_k))
    return;
  if (at_split_applies(p)) {
    at_split_run(p);
    return;
  }
  p->query_blocks = EFFC_UK_MAX((p->query_len + AT_QB - 1) / AT_QB, 1);
  effc_uk_parallel_for(at_task, p, p->batch * p->kv_heads * p->query_blocks);
}

#define AT_FORWARD3(name)                                                                                      \
  name##_allocated, name, name##_offset, name##_size0, name##_size1, name##_size2, name##_stride0,            \
      name##_stride1, name##_stride2

/* Operands first, then the result (buildUkernelCall's order); any strides. `causal` masks keys
 * j > i + L − S. */
void effc_uk_attention_f32(EFFC_UK_MEMREF3(const float, q), EFFC_UK_MEMREF3(const float, k),
                           EFFC_UK_MEMREF3(const float, v), EFFC_UK_MEMREF3(const float, past_k),
                           EFFC_UK_MEMREF3(const float, past_v), EFFC_UK_MEMREF2(const float, mask),
                           int64_t num_heads, int64_t num_kv_heads, float scale, int64_t causal, int64_t has_mask,
                           int64_t has_past, EFFC_UK_MEMREF3(float, out)) {
  at_problem p = at_problem_of(AT_FORWARD3(q), AT_FORWARD3(k), AT_FORWARD3(v), AT_FORWARD3(past_k),
                               AT_FORWARD3(past_v), mask_allocated, mask, mask_offset, mask_size0, mask_size1,
                               mask_stride0, mask_stride1, num_heads, num_kv_heads, scale, causal, has_mask,
                               has_past, AT_FORWARD3(out));
  at_run(&p);
}

/* effc_uk_attention_f32 with a KV cache, which also fills present_k and present_v [B, P + S', Hkv·Dh] with
 * the past keys and values followed by the new ones (eff.attention's `present` results). */
void effc_uk_attention_present_f32(EFFC_UK_MEMREF3(const float, q), EFFC_UK_MEMREF3(const float, k),
                                   EFFC_UK_MEMREF3(const float, v), EFFC_UK_MEMREF3(const float, past_k),
                                   EFFC_UK_MEMREF3(const float, past_v), EFFC_UK_MEMREF2(const float, mask),
                                   int64_t num_heads, int64_t num_kv_heads, float scale, int64_t causal,
                                   int64_t has_mask, EFFC_UK_MEMREF3(float, out),
                                   EFFC_UK_MEMREF3(float, present_k), EFFC_UK_MEMREF3(float, present_v)) {
  at_problem p = at_problem_of(AT_FORWARD3(q), AT_FORWARD3(k), AT_FORWARD3(v), AT_FORWARD3(past_k),
                               AT_FORWARD3(past_v), mask_allocated, mask, mask_offset, mask_size0, mask_size1,
                               mask_stride0, mask_stride1, num_heads, num_kv_heads, scale, causal, has_mask,
                               /*has_past=*/1, AT_FORWARD3(out));
  p.present_k = present_k + present_k_offset;
  p.prk_batch_stride = present_k_stride0, p.prk_row_stride = present_k_stride1, p.prk_col_stride = present_k_stride2;
  p.present_v = present_v + present_v_offset;
  p.prv_batch_stride = present_v_stride0, p.prv_row_stride = present_v_stride1, p.prv_col_stride = present_v_stride2;
  at_run(&p);
}
