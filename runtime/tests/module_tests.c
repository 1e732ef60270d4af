/*===- module_tests.c - module loading and invocation tests ---------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file tests effc_module_load, introspection and effc_function_invoke against the hand-written fake
 * module (fake_module.c) and its build variants: correct results, output ownership (views of inputs and
 * constants, strided and offset views, one buffer returned twice), every input and load error, external
 * weights, and the memory limit.
 *
 *===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include "effc/runtime/checksum.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static effc_module_t *load(effc_runtime_t *rt, const char *path) {
  effc_module_t *module = NULL;
  effc_status_t status = effc_module_load(rt, path, &module);
  if (status) {
    fprintf(stderr, "loading %s: %s\n", path, effc_status_message(status));
    effc_status_free(status);
  }
  return module;
}

static const effc_function_t *lookup(effc_module_t *module, const char *name) {
  const effc_function_t *fn = NULL;
  effc_status_t status = effc_module_lookup_function(module, name, &fn);
  effc_status_free(status);
  return fn;
}

static int check_values(const effc_tensor_t *t, const float *expected, int64_t n) {
  CHECK(effc_tensor_dtype(t) == EFFC_DTYPE_F32 && effc_tensor_num_elements(t) == n);
  const float *data = effc_tensor_data(t);
  for (int64_t i = 0; i < n; ++i)
    if (data[i] != expected[i]) {
      fprintf(stderr, "element %lld: %g, expected %g\n", (long long)i, data[i], expected[i]);
      return 1;
    }
  return 0;
}

/* Runs add on [rows, 4] inputs a = i, b = 100 + i and checks out. */
static int run_add(const effc_function_t *add, effc_runtime_t *rt, int64_t rows) {
  int64_t dims[] = {rows, 4};
  float a[64], b[64], sum[64];
  for (int i = 0; i < rows * 4; ++i)
    a[i] = (float)i, b[i] = 100.0f + (float)i, sum[i] = a[i] + b[i];
  effc_tensor_t *ta = make_f32(rt, 2, dims, a), *tb = make_f32(rt, 2, dims, b), *out = NULL;
  CHECK(ta && tb);
  const effc_tensor_t *inputs[] = {ta, tb};
  CHECK_OK(effc_function_invoke(add, inputs, 2, &out, 1));
  CHECK(effc_tensor_rank(out) == 2 && effc_tensor_dims(out)[0] == rows && effc_tensor_dims(out)[1] == 4);
  CHECK((uintptr_t)effc_tensor_data(out) % 64 == 0);
  CHECK_PASS(check_values(out, sum, rows * 4));
  effc_tensor_release(ta);
  effc_tensor_release(tb);
  effc_tensor_release(out);
  return 0;
}

int test_module_load_and_introspect(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  CHECK(!strcmp(effc_module_producer(module), "fake 1.0"));
  CHECK(effc_module_num_functions(module) == 10);
  const effc_function_t *add = effc_module_function(module, 0);
  CHECK(add && !strcmp(effc_function_name(add), "add"));
  CHECK(effc_function_num_inputs(add) == 2 && effc_function_num_outputs(add) == 1);
  effc_tensor_info_t a = effc_function_input(add, 0);
  CHECK(!strcmp(a.name, "a") && a.dtype == EFFC_DTYPE_F32 && a.rank == 2);
  CHECK(a.dims[0] == EFFC_DYNAMIC_DIM && a.dims[1] == 4);
  effc_tensor_info_t out = effc_function_output(add, 0);
  CHECK(!strcmp(out.name, "out") && out.rank == 2);
  CHECK(effc_function_input(add, 2).name == NULL && effc_function_output(add, 1).dtype == EFFC_DTYPE_INVALID);
  CHECK(effc_module_function(module, 10) == NULL);

  const effc_function_t *fn = NULL;
  CHECK_OK(effc_module_lookup_function(module, "embed", &fn));
  CHECK(!strcmp(effc_function_name(fn), "embed") && effc_function_input(fn, 0).dtype == EFFC_DTYPE_I64);
  CHECK_OK(effc_module_lookup_function(module, "sum", &fn));
  CHECK(effc_function_output(fn, 0).rank == 0);
  CHECK_ERROR(effc_module_lookup_function(module, "nope", &fn), EFFC_STATUS_NOT_FOUND,
              "no function 'nope' (it has: add, scale_rows, identity");
  CHECK(fn == NULL);
  effc_module_release(module);

  /* A bare file name means the current directory, not the library search path. */
  CHECK(copy_file(fake_module_path(""), test_path("bare.so")) == 0);
  char cwd[1024];
  CHECK(getcwd(cwd, sizeof(cwd)));
  CHECK(chdir(test_dir()) == 0);
  module = load(rt, "bare.so");
  CHECK(chdir(cwd) == 0);
  CHECK(module);
  CHECK_PASS(run_add(lookup(module, "add"), rt, 2));
  effc_module_release(module);
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_runtime_release(rt);
  return 0;
}

int test_invoke_add(void) {
  effc_runtime_t *rt = make_runtime(2, 0);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  const effc_function_t *add = lookup(module, "add");
  CHECK(add);
  for (int64_t rows = 0; rows <= 16; rows += 3)
    CHECK_PASS(run_add(add, rt, rows));
  /* Handles may be released in any order: the module keeps the runtime alive. */
  effc_runtime_release(rt);
  CHECK_PASS(run_add(add, rt, 1));
  effc_module_release(module);
  return 0;
}

/* x[i, j] = i + j / 8, s[i] = i % 3 - 1. */
static int run_scale_rows(const effc_function_t *fn, effc_runtime_t *rt, int64_t rows) {
  int64_t xdims[] = {rows, 8}, sdims[] = {rows};
  effc_tensor_t *x = make_f32(rt, 2, xdims, NULL), *s = make_f32(rt, 1, sdims, NULL), *out = NULL;
  CHECK(x && s);
  float *xd = effc_tensor_data(x), *sd = effc_tensor_data(s);
  for (int64_t i = 0; i < rows; ++i) {
    sd[i] = (float)(i % 3 - 1);
    for (int j = 0; j < 8; ++j)
      xd[i * 8 + j] = (float)i + (float)j / 8;
  }
  const effc_tensor_t *inputs[] = {x, s};
  CHECK_OK(effc_function_invoke(fn, inputs, 2, &out, 1));
  CHECK(effc_tensor_dims(out)[0] == rows && effc_tensor_dims(out)[1] == 8);
  const float *od = effc_tensor_data(out);
  for (int64_t i = 0; i < rows * 8; ++i)
    CHECK(od[i] == xd[i] * sd[i / 8]);
  effc_tensor_release(x);
  effc_tensor_release(s);
  effc_tensor_release(out);
  return 0;
}

int test_invoke_scale_rows_parallel(void) {
  effc_runtime_t *rt = make_runtime(2, 0);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  const effc_function_t *fn = lookup(module, "scale_rows");
  CHECK(fn);
  for (int64_t rows = 0; rows < 300; rows += 37)
    CHECK_PASS(run_scale_rows(fn, rt, rows));
  CHECK(effc_runtime_live_bytes(rt) == 0); /* the temporary and every output were freed */
  CHECK(effc_runtime_peak_bytes(rt) > 0);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

/* Invokes a one-input function on a 1-d f32 tensor of n elements x[i] = i + 1. */
static effc_status_t invoke_1d(const effc_function_t *fn, effc_runtime_t *rt, int64_t n, effc_tensor_t **outputs,
                               size_t num_outputs, effc_tensor_t **out_input) {
  float values[16];
  for (int i = 0; i < n; ++i)
    values[i] = (float)(i + 1);
  effc_tensor_t *x = make_f32(rt, 1, &n, values);
  const effc_tensor_t *inputs[] = {x};
  effc_status_t status = effc_function_invoke(fn, inputs, 1, outputs, num_outputs);
  *out_input = x;
  return status;
}

int test_invoke_output_views(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  effc_tensor_t *x, *y, *ys[2];
  const float ones_to_five[] = {1, 2, 3, 4, 5};

  /* identity returns a view of its input: the runtime copies it and frees nothing it does not own. */
  CHECK_OK(invoke_1d(lookup(module, "identity"), rt, 5, &y, 1, &x));
  CHECK(effc_tensor_data(y) != effc_tensor_data(x));
  effc_tensor_release(x);
  CHECK_PASS(check_values(y, ones_to_five, 5));
  effc_tensor_release(y);
  CHECK(effc_runtime_live_bytes(rt) == 0);

  /* const_view returns a view of a constant. */
  const float constant[] = {1, 2, 3, 4, 5, 6};
  CHECK_OK(effc_function_invoke(lookup(module, "const_view"), NULL, 0, &y, 1));
  CHECK(effc_tensor_dims(y)[0] == 2 && effc_tensor_dims(y)[1] == 3);
  CHECK_PASS(check_values(y, constant, 6));
  effc_tensor_release(y);

  /* strided_view returns a transposed view of a new buffer: copied to row-major, the buffer freed. */
  int64_t dims[] = {4, 3};
  float xv[12], expected[12];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      xv[i * 3 + j] = (float)(10 * i + j), expected[j * 4 + i] = (float)(10 * i + j);
  x = make_f32(rt, 2, dims, xv);
  const effc_tensor_t *inputs[] = {x};
  CHECK_OK(effc_function_invoke(lookup(module, "strided_view"), inputs, 1, &y, 1));
  CHECK(effc_tensor_dims(y)[0] == 3 && effc_tensor_dims(y)[1] == 4);
  CHECK_PASS(check_values(y, expected, 12));
  CHECK(effc_runtime_live_bytes(rt) == 48 + 48);
  effc_tensor_release(x);
  effc_tensor_release(y);
  CHECK(effc_runtime_live_bytes(rt) == 0);

  /* offset_view: a contiguous view at an offset is adopted without a copy (live = input + 9 floats). */
  CHECK_OK(invoke_1d(lookup(module, "offset_view"), rt, 5, &y, 1, &x));
  const float plus_one[] = {2, 3, 4, 5, 6};
  CHECK_PASS(check_values(y, plus_one, 5));
  CHECK(effc_runtime_live_bytes(rt) == 20 + 36);
  effc_tensor_release(x);
  effc_tensor_release(y);
  CHECK(effc_runtime_live_bytes(rt) == 0);

  /* same_twice: one buffer, two outputs; the first adopts it and the second gets a copy. */
  CHECK_OK(invoke_1d(lookup(module, "same_twice"), rt, 3, ys, 2, &x));
  const float doubled[] = {2, 4, 6};
  CHECK(effc_tensor_data(ys[0]) != effc_tensor_data(ys[1]));
  effc_tensor_release(ys[0]);
  CHECK_PASS(check_values(ys[1], doubled, 3));
  effc_tensor_release(ys[1]);
  effc_tensor_release(x);

  /* sum has a rank-0 output. */
  CHECK_OK(invoke_1d(lookup(module, "sum"), rt, 4, &y, 1, &x));
  const float ten[] = {10};
  CHECK(effc_tensor_rank(y) == 0);
  CHECK_PASS(check_values(y, ten, 1));
  effc_tensor_release(y);
  effc_tensor_release(x);

  /* embed takes i64. */
  int64_t ids[] = {7, -3};
  int64_t n = 2;
  effc_tensor_t *tids;
  CHECK_OK(effc_tensor_wrap(EFFC_DTYPE_I64, 1, &n, ids, sizeof(ids), NULL, NULL, &tids));
  const effc_tensor_t *embed_inputs[] = {tids};
  CHECK_OK(effc_function_invoke(lookup(module, "embed"), embed_inputs, 1, &y, 1));
  const float embedded[] = {7, 7, -3, -3};
  CHECK_PASS(check_values(y, embedded, 4));
  effc_tensor_release(y);
  effc_tensor_release(tids);

  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

int test_invoke_input_errors(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  const effc_function_t *add = lookup(module, "add"), *embed = lookup(module, "embed");
  int64_t ok_dims[] = {3, 4}, wide_dims[] = {3, 5}, flat_dims[] = {12};
  effc_tensor_t *a = make_f32(rt, 2, ok_dims, NULL), *wide = make_f32(rt, 2, wide_dims, NULL),
                *flat = make_f32(rt, 1, flat_dims, NULL), *ints = NULL;
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_I64, 2, ok_dims, &ints));
  effc_tensor_t *out = (effc_tensor_t *)(uintptr_t)1, *outs[2];

  const effc_tensor_t *one[] = {a};
  CHECK_ERROR(effc_function_invoke(add, one, 1, &out, 1), EFFC_STATUS_INVALID_ARGUMENT,
              "function 'add' takes 2 inputs, got 1");
  CHECK(out == NULL);
  const effc_tensor_t *three[] = {a, a, a};
  CHECK_ERROR(effc_function_invoke(add, three, 3, &out, 1), EFFC_STATUS_INVALID_ARGUMENT, "takes 2 inputs, got 3");
  const effc_tensor_t *bad_dtype[] = {ints, a};
  CHECK_ERROR(effc_function_invoke(add, bad_dtype, 2, &out, 1), EFFC_STATUS_INVALID_ARGUMENT,
              "input 'a': expected dtype f32, got i64");
  const effc_tensor_t *f32_ids[] = {flat};
  CHECK_ERROR(effc_function_invoke(embed, f32_ids, 1, &out, 1), EFFC_STATUS_INVALID_ARGUMENT,
              "input 'ids': expected dtype i64, got f32");
  const effc_tensor_t *bad_rank[] = {a, flat};
  CHECK_ERROR(effc_function_invoke(add, bad_rank, 2, &out, 1), EFFC_STATUS_INVALID_ARGUMENT,
              "input 'b': expected rank 2, got 1");
  const effc_tensor_t *bad_dim[] = {a, wide};
  CHECK_ERROR(effc_function_invoke(add, bad_dim, 2, &out, 1), EFFC_STATUS_INVALID_ARGUMENT,
              "input 'b' dimension 1: expected 4, got 5");
  const effc_tensor_t *null_input[] = {a, NULL};
  CHECK_ERROR(effc_function_invoke(add, null_input, 2, &out, 1), EFFC_STATUS_INVALID_ARGUMENT,
              "input 'b' is NULL");
  const effc_tensor_t *good[] = {a, a};
  CHECK_ERROR(effc_function_invoke(add, good, 2, outs, 2), EFFC_STATUS_INVALID_ARGUMENT,
              "function 'add' has 1 outputs, got room for 2");
  CHECK_ERROR(effc_function_invoke(NULL, good, 2, &out, 1), EFFC_STATUS_INVALID_ARGUMENT, "function is NULL");
  CHECK_OK(effc_function_invoke(add, good, 2, &out, 1));
  effc_tensor_release(out);

  effc_tensor_release(a);
  effc_tensor_release(wide);
  effc_tensor_release(flat);
  effc_tensor_release(ints);
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

int test_invoke_compiled_code_failure(void) {
  /* add with different row counts: the fake module produces nothing, which the runtime reports. */
  effc_runtime_t *rt = make_runtime(1, 0);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  int64_t d3[] = {3, 4}, d2[] = {2, 4};
  effc_tensor_t *a = make_f32(rt, 2, d3, NULL), *b = make_f32(rt, 2, d2, NULL), *out = NULL;
  const effc_tensor_t *inputs[] = {a, b};
  CHECK_ERROR(effc_function_invoke(lookup(module, "add"), inputs, 2, &out, 1), EFFC_STATUS_INTERNAL,
              "function 'add' did not produce output 'out'");
  CHECK(out == NULL);
  effc_tensor_release(a);
  effc_tensor_release(b);
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

typedef struct concurrent_ctx_t {
  const effc_function_t *fn;
  effc_runtime_t *rt;
  int failed;
} concurrent_ctx_t;

static void *concurrent_main(void *arg) {
  concurrent_ctx_t *c = arg;
  for (int round = 0; round < 40 && !c->failed; ++round)
    c->failed = run_scale_rows(c->fn, c->rt, 17 + round);
  return NULL;
}

int test_invoke_concurrently(void) {
  effc_runtime_t *rt = make_runtime(2, 0);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  concurrent_ctx_t ctx[4];
  pthread_t threads[4];
  for (int t = 0; t < 4; ++t) {
    ctx[t] = (concurrent_ctx_t){lookup(module, "scale_rows"), rt, 0};
    CHECK(pthread_create(&threads[t], NULL, concurrent_main, &ctx[t]) == 0);
  }
  for (int t = 0; t < 4; ++t)
    pthread_join(threads[t], NULL);
  for (int t = 0; t < 4; ++t)
    CHECK(!ctx[t].failed);
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

/*===----------------------------------------------------------------------===*
 * Load errors
 *===----------------------------------------------------------------------===*/

/* Loads `path` on a runtime with memory limit `limit` (0: none), expecting an error. */
static int expect_load_error_with_limit(const char *path, uint64_t limit, effc_status_code_t code, const char *text) {
  effc_runtime_t *rt = make_runtime(1, limit);
  effc_module_t *module = (effc_module_t *)(uintptr_t)1;
  CHECK_ERROR(effc_module_load(rt, path, &module), code, text);
  CHECK(module == NULL);
  effc_runtime_release(rt);
  return 0;
}

static int expect_load_error(const char *path, effc_status_code_t code, const char *text) {
  return expect_load_error_with_limit(path, 0, code, text);
}

int test_load_missing_file(void) {
  CHECK_PASS(expect_load_error(test_path("missing.so"), EFFC_STATUS_NOT_FOUND, "No such file or directory"));
  CHECK_PASS(expect_load_error(test_dir(), EFFC_STATUS_INVALID_ARGUMENT, "is a directory"));
  return 0;
}

int test_load_not_a_shared_object(void) {
  const char *path = test_path("text.so");
  CHECK(write_file(path, "this is not an ELF file\n", 24) == 0);
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_INVALID_ARGUMENT, "as a shared object: not an ELF file"));
  return 0;
}

int test_load_no_query_symbol(void) {
  return expect_load_error(fake_module_path("noquery"), EFFC_STATUS_INVALID_ARGUMENT,
                           "is not an effc module: it does not export effc_module_query");
}

int test_load_old_abi_version(void) {
  return expect_load_error(fake_module_path("abi0"), EFFC_STATUS_INCOMPATIBLE_VERSION,
                           "was compiled for ABI v0, this runtime supports v5; recompile with a matching effc");
}

int test_load_new_abi_version(void) {
  return expect_load_error(fake_module_path("abinext"), EFFC_STATUS_INCOMPATIBLE_VERSION,
                           "compiled for a newer ABI than v5");
}

int test_load_bad_header(void) {
  return expect_load_error(fake_module_path("badheader"), EFFC_STATUS_INVALID_ARGUMENT,
                           "malformed module header: function 'add' input 0: tensor 'a' has invalid dtype 42");
}

int test_load_same_module_twice(void) {
  effc_runtime_t *rt = make_runtime(2, 0), *other = make_runtime(1, 0);
  const char *path = fake_module_path("");
  effc_module_t *first = load(rt, path), *second = load(rt, path), *third = NULL;
  CHECK(first && second);
  CHECK_PASS(run_add(lookup(first, "add"), rt, 3));
  /* Another runtime cannot share the process-global host slot. */
  CHECK_ERROR(effc_module_load(other, path, &third), EFFC_STATUS_FAILED_PRECONDITION, "another runtime");
  /* The second handle keeps working after the first is released. */
  effc_module_release(first);
  CHECK_PASS(run_scale_rows(lookup(second, "scale_rows"), rt, 20));
  effc_module_release(second);
  /* Once nobody holds it, another runtime may load it. */
  third = load(other, path);
  CHECK(third);
  CHECK_PASS(run_scale_rows(lookup(third, "scale_rows"), other, 20));
  effc_module_release(third);
  effc_runtime_release(rt);
  effc_runtime_release(other);
  return 0;
}

/*===----------------------------------------------------------------------===*
 * External weights
 *===----------------------------------------------------------------------===*/

/* The header fake_weights.bin needs (abi.h): what the weights variant of the fake module expects. */
static effc_abi_weights_header_t fake_weights_header(void) {
  effc_abi_weights_header_t header;
  memset(&header, 0, sizeof(header));
  memcpy(header.magic, EFFC_WEIGHTS_MAGIC, sizeof(EFFC_WEIGHTS_MAGIC));
  header.abi_version = EFFC_ABI_VERSION;
  header.header_size = sizeof(header);
  header.compile_id = UINT64_C(0x0123456789abcdef);
  header.data_size = 16 * sizeof(float);
  float weights[16];
  for (int i = 0; i < 16; ++i)
    weights[i] = 0.25f * (float)i;
  header.checksum = effc_checksum(weights, sizeof(weights));
  strcpy(header.producer, "fake 1.0");
  return header;
}

/* Copies the weights variant to the test directory as model.so and writes fake_weights.bin beside it:
 * `header` (NULL: fake_weights_header()), then w[i] = 0.25 i with byte `corrupt` flipped (when >= 0), `size`
 * bytes of the whole file. Returns the module path. */
static const char *setup_weights_of(const char *variant, size_t size, int corrupt,
                                    const effc_abi_weights_header_t *header) {
  effc_abi_weights_header_t fallback = fake_weights_header();
  unsigned char file[sizeof(effc_abi_weights_header_t) + 17 * sizeof(float)];
  memcpy(file, header ? header : &fallback, sizeof(effc_abi_weights_header_t));
  for (int i = 0; i < 17; ++i) {
    float w = 0.25f * (float)i;
    memcpy(file + sizeof(effc_abi_weights_header_t) + (size_t)i * sizeof(float), &w, sizeof(w));
  }
  if (corrupt >= 0)
    file[sizeof(effc_abi_weights_header_t) + (size_t)corrupt] ^= 0x40;
  const char *module = test_path("model.so");
  if (copy_file(fake_module_path(variant), module) ||
      (size != (size_t)-1 && write_file(test_path("fake_weights.bin"), file, size)))
    return NULL;
  return module;
}

static const char *setup_weights_with(size_t size, int corrupt, const effc_abi_weights_header_t *header) {
  return setup_weights_of("weights", size, corrupt, header);
}

static const char *setup_weights(size_t size, int corrupt) {
  return setup_weights_with(size == (size_t)-1 ? size : sizeof(effc_abi_weights_header_t) + size, corrupt, NULL);
}

int test_weights_external_ok(void) {
  const char *path = setup_weights(64, -1);
  CHECK(path);
  effc_runtime_t *rt = make_runtime(1, 0);
  effc_module_t *module = load(rt, path);
  CHECK(module);
  effc_tensor_t *y;
  float x[16], expected[16];
  for (int i = 0; i < 16; ++i)
    x[i] = (float)i, expected[i] = (float)i + 0.25f * (float)i;
  int64_t n = 16;
  effc_tensor_t *tx = make_f32(rt, 1, &n, x);
  const effc_tensor_t *inputs[] = {tx};
  CHECK_OK(effc_function_invoke(lookup(module, "add_weights"), inputs, 1, &y, 1));
  CHECK_PASS(check_values(y, expected, 16));
  effc_tensor_release(y);
  effc_tensor_release(tx);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

int test_weights_truncated(void) {
  const char *path = setup_weights(60, -1);
  CHECK(path);
  CHECK_PASS(
      expect_load_error(path, EFFC_STATUS_DATA_LOSS, "fake_weights.bin is truncated: 124 bytes, expected 128"));
  CHECK(setup_weights(68, -1));
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_DATA_LOSS, "fake_weights.bin has 132 bytes, expected 128"));
  /* Cut inside the header. */
  CHECK(setup_weights_with(40, -1, NULL));
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_DATA_LOSS, "fake_weights.bin is not an effc weights file"));
  return 0;
}

int test_weights_corrupt(void) {
  const char *path = setup_weights(64, 37);
  CHECK(path);
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_DATA_LOSS, "fake_weights.bin is corrupt: checksum"));
  /* Verification can be turned off. */
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.verify_weights = 0;
  effc_runtime_t *rt;
  effc_module_t *module;
  CHECK_OK(effc_runtime_create(&options, &rt));
  CHECK_OK(effc_module_load(rt, path, &module));
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

int test_weights_missing(void) {
  const char *path = setup_weights((size_t)-1, -1);
  CHECK(path);
  return expect_load_error(path, EFFC_STATUS_NOT_FOUND, "cannot open weights file");
}

int test_weights_from_another_compile(void) {
  /* Another model's weights (another compile id), and one of the same size and checksum: the id decides. */
  effc_abi_weights_header_t header = fake_weights_header();
  header.compile_id ^= 1;
  const char *path = setup_weights_with(sizeof(header) + 64, -1, &header);
  CHECK(path);
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_FAILED_PRECONDITION,
                               "fake_weights.bin belongs to another compile (weights id 0123456789abcdee, 64 bytes; "
                               "the module expects id 0123456789abcdef, 64 bytes)"));
  /* Written by another effc version, or for another ABI. */
  header = fake_weights_header();
  strcpy(header.producer, "fake 2.0");
  CHECK(setup_weights_with(sizeof(header) + 64, -1, &header));
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_INCOMPATIBLE_VERSION,
                               "fake_weights.bin was written by 'fake 2.0' for ABI v5, but the module by 'fake 1.0'"));
  header = fake_weights_header();
  header.abi_version = 2;
  CHECK(setup_weights_with(sizeof(header) + 64, -1, &header));
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_INCOMPATIBLE_VERSION, "written by 'fake 1.0' for ABI v2"));
  /* A raw weights file without a header (what effc wrote before ABI v3). */
  float raw[16];
  for (int i = 0; i < 16; ++i)
    raw[i] = 0.25f * (float)i;
  CHECK(write_file(test_path("fake_weights.bin"), raw, sizeof(raw)) == 0);
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_DATA_LOSS, "is not an effc weights file (no valid header)"));
  return 0;
}

/* Reads a whole file into a malloc'ed buffer. */
static unsigned char *read_all(const char *path, size_t *out_size) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return NULL;
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  unsigned char *data = malloc(size > 0 ? (size_t)size : 1);
  if (data && fread(data, 1, (size_t)size, file) != (size_t)size) {
    free(data);
    data = NULL;
  }
  fclose(file);
  *out_size = (size_t)size;
  return data;
}

/* Writes `path` by rename, never in place: a loaded copy of the old file may still be mapped. */
static int replace_file(const char *path, const void *data, size_t size) {
  const char *temporary = test_path("replacement.tmp");
  return write_file(temporary, data, size) || rename(temporary, path);
}

int test_module_file_tampered(void) {
  size_t size = 0;
  unsigned char *image = read_all(fake_module_path(""), &size);
  CHECK(image && size > sizeof(effc_abi_module_trailer_t));
  const char *path = test_path("tampered.so");
  /* One flipped byte: in the producer string, so that the module still loads without verification. */
  unsigned char *producer = NULL;
  for (size_t i = 0; i + 8 < size && !producer; ++i)
    if (!memcmp(image + i, "fake 1.0", 8))
      producer = image + i;
  CHECK(producer);
  producer[3] ^= 0x03; /* "fake" -> "fakf" */
  CHECK(replace_file(path, image, size) == 0);
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_DATA_LOSS, "tampered.so' is corrupt: checksum"));
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.verify_weights = 0;
  effc_runtime_t *rt;
  effc_module_t *module;
  CHECK_OK(effc_runtime_create(&options, &rt));
  CHECK_OK(effc_module_load(rt, path, &module));
  CHECK(!strcmp(effc_module_producer(module), "fakf 1.0")); /* what verification would have caught */
  effc_module_release(module);
  effc_runtime_release(rt);
  producer[3] ^= 0x03;
  /* Truncated: the trailer is gone (or, cut short by less than the trailer, no longer at the end). */
  CHECK(replace_file(path, image, size - 100) == 0);
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_DATA_LOSS, "is not an effc module, or it is truncated"));
  CHECK(replace_file(path, image, size - 3) == 0);
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_DATA_LOSS, "is not an effc module, or it is truncated"));
  /* A byte cut from the middle, trailer intact: the size no longer matches (without verification too). */
  memmove(image + 1000, image + 1001, size - 1001);
  CHECK(replace_file(path, image, size - 1) == 0);
  CHECK_PASS(expect_load_error(path, EFFC_STATUS_DATA_LOSS, "bytes before its trailer, expected"));
  free(image);
  return 0;
}

/*===----------------------------------------------------------------------===*
 * Memory limit
 *===----------------------------------------------------------------------===*/

int test_memory_limit_tensors(void) {
  effc_runtime_t *rt = make_runtime(1, 1000);
  effc_tensor_t *big, *more;
  int64_t n200 = 200, n100 = 100;
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_F32, 1, &n200, &big));
  CHECK_ERROR(effc_tensor_create(rt, EFFC_DTYPE_F32, 1, &n100, &more), EFFC_STATUS_RESOURCE_EXHAUSTED,
              "cannot allocate 400 bytes: memory limit is 1000 bytes, 800 in use");
  effc_tensor_release(big);
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_F32, 1, &n100, &more));
  CHECK(effc_runtime_live_bytes(rt) == 400 && effc_runtime_peak_bytes(rt) == 800);
  effc_runtime_reset_peak_bytes(rt);
  CHECK(effc_runtime_peak_bytes(rt) == 400);
  effc_tensor_release(more);
  effc_runtime_release(rt);
  return 0;
}

int test_memory_limit_invoke(void) {
  effc_runtime_t *rt = make_runtime(2, 4096);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  const effc_function_t *fn = lookup(module, "scale_rows");
  /* Inputs take 2304 bytes; the call needs 4096 more. */
  int64_t xdims[] = {64, 8}, sdims[] = {64};
  effc_tensor_t *x = make_f32(rt, 2, xdims, NULL), *s = make_f32(rt, 1, sdims, NULL), *out = NULL;
  CHECK(x && s);
  const effc_tensor_t *inputs[] = {x, s};
  CHECK_ERROR(effc_function_invoke(fn, inputs, 2, &out, 1), EFFC_STATUS_RESOURCE_EXHAUSTED,
              "function 'scale_rows' ran out of memory: an allocation of 2048 bytes failed");
  CHECK(out == NULL && effc_runtime_live_bytes(rt) == 2304);
  effc_tensor_release(x);
  effc_tensor_release(s);
  /* A smaller call fits. */
  CHECK_PASS(run_scale_rows(fn, rt, 8));
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

int test_memory_limit_weights(void) {
  const char *path = setup_weights(64, -1);
  CHECK(path);
  effc_runtime_t *rt = make_runtime(1, 32);
  effc_module_t *module;
  CHECK_ERROR(effc_module_load(rt, path, &module), EFFC_STATUS_RESOURCE_EXHAUSTED,
              "has 64 bytes of weights, more than the memory limit of 32 bytes");
  effc_runtime_release(rt);
  return 0;
}

int test_memory_limit_min_call_bytes(void) {
  /* 64 bytes of weights; scale_rows needs at least 1000 bytes per call, add 500: together 1064. */
  const char *path = setup_weights_of("mincall", sizeof(effc_abi_weights_header_t) + 64, -1, NULL);
  CHECK(path);
  const uint64_t fits[] = {0, 1064, 1065}; /* no limit, exactly at it, above it */
  for (size_t i = 0; i < sizeof(fits) / sizeof(fits[0]); ++i) {
    effc_runtime_t *rt = make_runtime(1, fits[i]);
    effc_module_t *module = load(rt, path);
    CHECK(module);
    CHECK(effc_function_min_call_bytes(lookup(module, "scale_rows")) == 1000);
    CHECK(effc_function_min_call_bytes(lookup(module, "add")) == 500);
    CHECK(effc_function_min_call_bytes(lookup(module, "add_weights")) == 0);
    effc_module_release(module);
    effc_runtime_release(rt);
  }
  /* One byte short: the largest function is named, with the weights and the limit. */
  char expected[256];
  snprintf(expected, sizeof(expected),
           "'%s': function 'scale_rows' needs at least 1000 bytes of activations per call and the weights take "
           "64; the memory limit is 1063 bytes",
           path);
  CHECK_PASS(expect_load_error_with_limit(path, 1063, EFFC_STATUS_RESOURCE_EXHAUSTED, expected));
  /* The weights alone are checked first. */
  CHECK_PASS(expect_load_error_with_limit(path, 63, EFFC_STATUS_RESOURCE_EXHAUSTED,
                                          "has 64 bytes of weights, more than the memory limit of 63 bytes"));
  /* The fake module without the figures loads under a limit far below 1000 bytes. */
  effc_runtime_t *rt = make_runtime(1, 100);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module && effc_function_min_call_bytes(lookup(module, "scale_rows")) == 0);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}

/* Runs `unchecked` (which never checks an allocation) on `rows` rows under the runtime's limit. */
static effc_status_t run_unchecked(const effc_function_t *fn, int64_t rows, effc_tensor_t *x, int *values_ok) {
  effc_tensor_t *out = NULL;
  const effc_tensor_t *inputs[] = {x};
  effc_status_t status = effc_function_invoke(fn, inputs, 1, &out, 1);
  *values_ok = status ? out == NULL : 1;
  if (!status) {
    const float *xd = effc_tensor_data(x), *od = effc_tensor_data(out);
    for (int64_t i = 0; i < rows * 8; ++i)
      *values_ok &= od[i] == 2 * xd[i];
  }
  effc_tensor_release(out);
  return status;
}

int test_memory_limit_unwinds_compiled_code(void) {
  /* x takes 2048 bytes; the call allocates a 2048-byte temporary, a 32-byte scratch row per parallel
   * iteration (at most one per thread at a time) and a 2048-byte output. */
  const int64_t rows = 64, xdims[] = {64, 8};
  struct {
    uint64_t limit;
    const char *message;
  } cases[] = {
      {2048 + 1000, "an allocation of 2048 bytes failed"},          /* the temporary, on the calling thread */
      {2048 + 2048 + 16, "an allocation of 32 bytes failed"},       /* a scratch row, inside parallel_for */
      {2048 + 2048 + 4 * 32 + 1000, "an allocation of 2048 bytes failed"}, /* the output, after it */
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); ++c) {
    effc_runtime_t *rt = make_runtime(4, cases[c].limit);
    effc_module_t *module = load(rt, fake_module_path(""));
    CHECK(module);
    const effc_function_t *fn = lookup(module, "unchecked");
    effc_tensor_t *x = make_f32(rt, 2, xdims, NULL);
    CHECK(x);
    float *xd = effc_tensor_data(x);
    for (int64_t i = 0; i < rows * 8; ++i)
      xd[i] = (float)i;
    /* Repeatedly, so that the pool is shown to recover from aborted jobs. */
    for (int round = 0; round < 20; ++round) {
      int values_ok = 0;
      CHECK_ERROR(run_unchecked(fn, rows, x, &values_ok), EFFC_STATUS_RESOURCE_EXHAUSTED, cases[c].message);
      CHECK(values_ok);
      CHECK(effc_runtime_live_bytes(rt) == 2048); /* everything the call held was freed */
    }
    /* The runtime still works: a call that fits succeeds, in parallel. */
    CHECK_PASS(run_scale_rows(lookup(module, "scale_rows"), rt, 4));
    CHECK(effc_runtime_live_bytes(rt) == 2048);
    effc_tensor_release(x);
    effc_module_release(module);
    effc_runtime_release(rt);
  }
  /* Without a limit the same call succeeds. */
  effc_runtime_t *rt = make_runtime(4, 0);
  effc_module_t *module = load(rt, fake_module_path(""));
  CHECK(module);
  effc_tensor_t *x = make_f32(rt, 2, xdims, NULL);
  CHECK(x);
  int values_ok = 0;
  CHECK_OK(run_unchecked(lookup(module, "unchecked"), rows, x, &values_ok));
  CHECK(values_ok && effc_runtime_live_bytes(rt) == 2048);
  effc_tensor_release(x);
  effc_module_release(module);
  effc_runtime_release(rt);
  return 0;
}
