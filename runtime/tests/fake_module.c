/*===- fake_module.c - a hand-written stand-in for an effc-compiled module -===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements the abi.h contract by hand, the way effc-generated code does, so that the runtime
 * can be tested without the compiler. Functions (all f32):
 *   add(a[?,4], b[?,4]) -> out[?,4]          out = a + b (produces nothing if the row counts differ)
 *   scale_rows(x[?,8], s[?]) -> out[?,8]     out[i,:] = x[i,:] * s[i], rows in host->parallel_for,
 *                                            buffers from host->alloc (plus a temporary it frees)
 *   identity(x[?]) -> y[?]                   returns a view of its input
 *   const_view() -> c[2,3]                   returns a view of a constant (not host memory)
 *   strided_view(x[?,3]) -> y[3,?]           returns a transposed (non-contiguous) view of a new buffer
 *   offset_view(x[?]) -> y[?]                returns a contiguous view at offset 4 of a new buffer
 *   same_twice(x[?]) -> y1[?], y2[?]         returns one new buffer twice
 *   embed(ids: i64[?]) -> out[?,2]           out[i,:] = ids[i]
 *   sum(x[?]) -> s[]                         rank-0 output
 *   unchecked(x[?,8]) -> out[?,8]            out = 2 * x like effc-generated code: it never checks an
 *                                            allocation (out, a whole-call temporary, and a scratch row
 *                                            allocated and freed inside each parallel_for iteration)
 * Build variants (-D): FAKE_ABI_VERSION=N (header version; N > EFFC_ABI_VERSION makes the query return NULL),
 * FAKE_NO_QUERY (exports no query symbol), FAKE_BAD_HEADER (an invalid dtype), FAKE_EXTERNAL_WEIGHTS
 * (adds add_weights(x[16]) -> y[16], y = x + w, with w read from fake_weights.bin: w[i] = 0.25 * i, after
 * the file's header with compile id FAKE_COMPILE_ID). CMake appends effc's trailer to every variant,
 * FAKE_GPU_TARGET (exports effc_module_target = "cuda:sm_80", as modules compiled for a GPU do),
 * FAKE_MIN_CALL_BYTES=N (scale_rows claims min_call_bytes N, add N / 2; others 0).
 *
 *===----------------------------------------------------------------------===*/

#include "effc/runtime/abi.h"
#include "effc/runtime/checksum.h"

#include <string.h>

#ifndef FAKE_ABI_VERSION
#define FAKE_ABI_VERSION EFFC_ABI_VERSION
#endif

#define EXPORT __attribute__((visibility("default")))

/* The weights identity the external-weights variant expects in fake_weights.bin's header. */
#define FAKE_COMPILE_ID UINT64_C(0x0123456789abcdef)

typedef struct memref0_t {
  float *allocated, *aligned;
  int64_t offset;
} memref0_t;
typedef struct memref1_t {
  float *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} memref1_t;
typedef struct memref2_t {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} memref2_t;
typedef struct memref1_i64_t {
  int64_t *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} memref1_i64_t;

static const effc_abi_host_t *g_host;
static void *g_weights;

static float *alloc_floats(int64_t n) { return g_host->alloc(g_host->host_ctx, (uint64_t)n * 4, 64); }

static float at1(const memref1_t *m, int64_t i) { return m->aligned[m->offset + i * m->strides[0]]; }
static float at2(const memref2_t *m, int64_t i, int64_t j) {
  return m->aligned[m->offset + i * m->strides[0] + j * m->strides[1]];
}
static void set1(memref1_t *m, float *buffer, int64_t n) {
  *m = (memref1_t){buffer, buffer, 0, {n}, {1}};
}
static void set2(memref2_t *m, float *buffer, int64_t rows, int64_t cols) {
  *m = (memref2_t){buffer, buffer, 0, {rows, cols}, {cols, 1}};
}

static void add(void **args) {
  memref2_t *out = args[0];
  const memref2_t *a = args[1], *b = args[2];
  int64_t n = a->sizes[0];
  if (b->sizes[0] != n) { /* compiled code cannot report errors: leave the output empty */
    out->sizes[0] = n;
    out->sizes[1] = 4;
    return;
  }
  float *buffer = alloc_floats(n * 4);
  if (!buffer)
    return;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 4; ++j)
      buffer[i * 4 + j] = at2(a, i, j) + at2(b, i, j);
  set2(out, buffer, n, 4);
}

typedef struct scale_ctx_t {
  const memref2_t *x;
  const memref1_t *s;
  float *tmp, *out;
} scale_ctx_t;

static void scale_row(void *ctx, int64_t i) {
  scale_ctx_t *c = ctx;
  for (int64_t j = 0; j < 8; ++j)
    c->tmp[i * 8 + j] = at2(c->x, i, j) * at1(c->s, i);
}

static void scale_rows(void **args) {
  memref2_t *out = args[0];
  const memref2_t *x = args[1];
  const memref1_t *s = args[2];
  int64_t n = x->sizes[0];
  if (s->sizes[0] != n)
    return;
  scale_ctx_t ctx = {x, s, alloc_floats(n * 8), alloc_floats(n * 8)};
  if (ctx.tmp && ctx.out) {
    g_host->parallel_for(g_host->host_ctx, scale_row, &ctx, n);
    memcpy(ctx.out, ctx.tmp, (size_t)n * 8 * sizeof(float));
    set2(out, ctx.out, n, 8);
  } else if (ctx.out) {
    g_host->free(g_host->host_ctx, ctx.out);
  }
  g_host->free(g_host->host_ctx, ctx.tmp); /* free(NULL) is allowed */
}

static void identity(void **args) { *(memref1_t *)args[0] = *(const memref1_t *)args[1]; }

static float g_constant[6] = {1, 2, 3, 4, 5, 6};
static void const_view(void **args) {
  memref2_t *out = args[0];
  set2(out, g_constant, 2, 3);
}

static void strided_view(void **args) {
  memref2_t *out = args[0];
  const memref2_t *x = args[1];
  int64_t n = x->sizes[0];
  float *buffer = alloc_floats(n * 3);
  if (!buffer)
    return;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 3; ++j)
      buffer[i * 3 + j] = at2(x, i, j);
  *out = (memref2_t){buffer, buffer, 0, {3, n}, {1, 3}}; /* y[j, i] = x[i, j] */
}

static void offset_view(void **args) {
  memref1_t *out = args[0];
  const memref1_t *x = args[1];
  int64_t n = x->sizes[0];
  float *buffer = alloc_floats(n + 4);
  if (!buffer)
    return;
  for (int64_t i = 0; i < n; ++i)
    buffer[4 + i] = at1(x, i) + 1;
  *out = (memref1_t){buffer, buffer, 4, {n}, {1}};
}

static void same_twice(void **args) {
  memref1_t *y1 = args[0], *y2 = args[1];
  const memref1_t *x = args[2];
  int64_t n = x->sizes[0];
  float *buffer = alloc_floats(n);
  if (!buffer)
    return;
  for (int64_t i = 0; i < n; ++i)
    buffer[i] = 2 * at1(x, i);
  set1(y1, buffer, n);
  set1(y2, buffer, n);
}

static void embed(void **args) {
  memref2_t *out = args[0];
  const memref1_i64_t *ids = args[1];
  int64_t n = ids->sizes[0];
  float *buffer = alloc_floats(n * 2);
  if (!buffer)
    return;
  for (int64_t i = 0; i < n; ++i)
    buffer[2 * i] = buffer[2 * i + 1] = (float)ids->aligned[ids->offset + i * ids->strides[0]];
  set2(out, buffer, n, 2);
}

static void sum(void **args) {
  memref0_t *out = args[0];
  const memref1_t *x = args[1];
  float *buffer = alloc_floats(1);
  if (!buffer)
    return;
  *buffer = 0;
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    *buffer += at1(x, i);
  *out = (memref0_t){buffer, buffer, 0};
}

typedef struct unchecked_ctx_t {
  const memref2_t *x;
  float *tmp;
} unchecked_ctx_t;

static void unchecked_row(void *ctx, int64_t i) {
  unchecked_ctx_t *c = ctx;
  float *scratch = alloc_floats(8);
  for (int64_t j = 0; j < 8; ++j)
    scratch[j] = 2 * at2(c->x, i, j);
  memcpy(c->tmp + i * 8, scratch, 8 * sizeof(float));
  g_host->free(g_host->host_ctx, scratch);
}

static void unchecked(void **args) {
  memref2_t *out = args[0];
  const memref2_t *x = args[1];
  int64_t n = x->sizes[0];
  unchecked_ctx_t ctx = {x, alloc_floats(n * 8)};
  ctx.tmp[0] = 0; /* what generated code does with a NULL it was not told about: crash */
  g_host->parallel_for(g_host->host_ctx, unchecked_row, &ctx, n);
  float *buffer = alloc_floats(n * 8);
  memcpy(buffer, ctx.tmp, (size_t)n * 8 * sizeof(float));
  g_host->free(g_host->host_ctx, ctx.tmp);
  set2(out, buffer, n, 8);
}

#ifdef FAKE_EXTERNAL_WEIGHTS
static void add_weights(void **args) {
  memref1_t *out = args[0];
  const memref1_t *x = args[1];
  const float *w = g_weights;
  float *buffer = alloc_floats(16);
  if (!buffer)
    return;
  for (int64_t i = 0; i < 16; ++i)
    buffer[i] = at1(x, i) + w[i];
  set1(out, buffer, 16);
}
#endif

static const int64_t k_dyn_4[] = {EFFC_DYNAMIC_DIM, 4}, k_dyn_8[] = {EFFC_DYNAMIC_DIM, 8},
                     k_dyn_3[] = {EFFC_DYNAMIC_DIM, 3}, k_3_dyn[] = {3, EFFC_DYNAMIC_DIM},
                     k_dyn_2[] = {EFFC_DYNAMIC_DIM, 2}, k_2_3[] = {2, 3}, k_dyn[] = {EFFC_DYNAMIC_DIM};

#ifdef FAKE_BAD_HEADER
#define ADD_A_DTYPE 42u
#else
#define ADD_A_DTYPE EFFC_DTYPE_F32
#endif

static const effc_abi_tensor_info_t k_add_in[] = {{"a", ADD_A_DTYPE, 2, k_dyn_4, NULL}, {"b", EFFC_DTYPE_F32, 2, k_dyn_4, NULL}};
static const effc_abi_tensor_info_t k_add_out[] = {{"out", EFFC_DTYPE_F32, 2, k_dyn_4, NULL}};
static const effc_abi_tensor_info_t k_scale_in[] = {{"x", EFFC_DTYPE_F32, 2, k_dyn_8, NULL}, {"s", EFFC_DTYPE_F32, 1, k_dyn, NULL}};
static const effc_abi_tensor_info_t k_scale_out[] = {{"out", EFFC_DTYPE_F32, 2, k_dyn_8, NULL}};
static const effc_abi_tensor_info_t k_x1[] = {{"x", EFFC_DTYPE_F32, 1, k_dyn, NULL}};
static const effc_abi_tensor_info_t k_y1[] = {{"y", EFFC_DTYPE_F32, 1, k_dyn, NULL}};
static const effc_abi_tensor_info_t k_const_out[] = {{"c", EFFC_DTYPE_F32, 2, k_2_3, NULL}};
static const effc_abi_tensor_info_t k_strided_in[] = {{"x", EFFC_DTYPE_F32, 2, k_dyn_3, NULL}};
static const effc_abi_tensor_info_t k_strided_out[] = {{"y", EFFC_DTYPE_F32, 2, k_3_dyn, NULL}};
static const effc_abi_tensor_info_t k_twice_out[] = {{"y1", EFFC_DTYPE_F32, 1, k_dyn, NULL}, {"y2", EFFC_DTYPE_F32, 1, k_dyn, NULL}};
static const effc_abi_tensor_info_t k_embed_in[] = {{"ids", EFFC_DTYPE_I64, 1, k_dyn, NULL}};
static const effc_abi_tensor_info_t k_embed_out[] = {{"out", EFFC_DTYPE_F32, 2, k_dyn_2, NULL}};
static const effc_abi_tensor_info_t k_sum_out[] = {{"s", EFFC_DTYPE_F32, 0, NULL, NULL}};
#ifdef FAKE_EXTERNAL_WEIGHTS
static const int64_t k_16[] = {16};
static const effc_abi_tensor_info_t k_w_in[] = {{"x", EFFC_DTYPE_F32, 1, k_16, NULL}};
static const effc_abi_tensor_info_t k_w_out[] = {{"y", EFFC_DTYPE_F32, 1, k_16, NULL}};
#endif

#ifndef FAKE_MIN_CALL_BYTES
#define FAKE_MIN_CALL_BYTES 0
#endif

static const effc_abi_function_t k_functions[] = {
    {"add", add, 2, 1, k_add_in, k_add_out, FAKE_MIN_CALL_BYTES / 2},
    {"scale_rows", scale_rows, 2, 1, k_scale_in, k_scale_out, FAKE_MIN_CALL_BYTES},
    {"identity", identity, 1, 1, k_x1, k_y1, 0},
    {"const_view", const_view, 0, 1, NULL, k_const_out, 0},
    {"strided_view", strided_view, 1, 1, k_strided_in, k_strided_out, 0},
    {"offset_view", offset_view, 1, 1, k_x1, k_y1, 0},
    {"same_twice", same_twice, 1, 2, k_x1, k_twice_out, 0},
    {"embed", embed, 1, 1, k_embed_in, k_embed_out, 0},
    {"sum", sum, 1, 1, k_x1, k_sum_out, 0},
    {"unchecked", unchecked, 1, 1, k_scale_in, k_scale_out, 0},
#ifdef FAKE_EXTERNAL_WEIGHTS
    {"add_weights", add_weights, 1, 1, k_w_in, k_w_out, 0},
#endif
};

static effc_abi_module_t g_header = {
    FAKE_ABI_VERSION, sizeof(k_functions) / sizeof(k_functions[0]), k_functions, "fake 1.0", &g_host,
#ifdef FAKE_EXTERNAL_WEIGHTS
    "fake_weights.bin", &g_weights, 16 * sizeof(float), 0, FAKE_COMPILE_ID,
#else
    NULL, &g_weights, 0, 0, 0,
#endif
};

#ifndef FAKE_NO_QUERY
EXPORT const effc_abi_module_t *effc_module_query(uint32_t max_version) {
  const uint32_t version = FAKE_ABI_VERSION;
  if (version > max_version)
    return NULL;
#ifdef FAKE_EXTERNAL_WEIGHTS
  /* The checksum of the file the tests write: float w[16] = {0, 0.25, 0.5, ...}. */
  float w[16];
  for (int i = 0; i < 16; ++i)
    w[i] = 0.25f * (float)i;
  g_header.weights_checksum = effc_checksum(w, sizeof(w));
#endif
  return &g_header;
}
#else
/* Exports something else, as an unrelated shared object would. */
EXPORT const void *not_an_effc_module(void) { return &g_header; }
#endif

#ifdef FAKE_GPU_TARGET
/* A module compiled for a GPU names its device (abi.h); this one needs CUDA sm_80. */
EXPORT const char effc_module_target[] = "cuda:sm_80";
#endif
