/*===- basic_tests.c - status, dtype, tensor and thread pool tests --------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file tests the runtime pieces that need no module: status objects, dtype helpers, tensors, runtime
 * options, and the parallel_for host service (coverage, real parallelism, idle sleeping, nesting and
 * concurrent callers).
 *
 *===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L
#include "internal.h" /* EFFC_BLOCK_CACHE */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int test_status_basics(void) {
  CHECK(effc_status_code(NULL) == EFFC_STATUS_OK);
  CHECK(!strcmp(effc_status_message(NULL), "OK"));
  effc_status_free(NULL);
  effc_status_t status = effc_status_make(EFFC_STATUS_NOT_FOUND, "no %s named '%s'", "input", "x");
  CHECK(effc_status_code(status) == EFFC_STATUS_NOT_FOUND);
  CHECK(!strcmp(effc_status_message(status), "no input named 'x'"));
  status = effc_status_annotate(status, "loading %d", 7);
  CHECK(effc_status_code(status) == EFFC_STATUS_NOT_FOUND);
  CHECK(!strcmp(effc_status_message(status), "loading 7: no input named 'x'"));
  effc_status_free(status);
  CHECK(effc_status_annotate(NULL, "x") == NULL);
  /* OK is not an error code. */
  status = effc_status_make(EFFC_STATUS_OK, "oops");
  CHECK(effc_status_code(status) == EFFC_STATUS_INTERNAL);
  effc_status_free(status);
  CHECK(!strcmp(effc_status_code_name(EFFC_STATUS_DATA_LOSS), "DATA_LOSS"));
  CHECK(!strcmp(effc_status_code_name(EFFC_STATUS_INCOMPATIBLE_VERSION), "INCOMPATIBLE_VERSION"));
  return 0;
}

int test_dtype_helpers(void) {
  static const struct {
    effc_dtype_t dtype;
    const char *name;
    size_t size;
  } k_cases[] = {{EFFC_DTYPE_F32, "f32", 4}, {EFFC_DTYPE_F16, "f16", 2}, {EFFC_DTYPE_BF16, "bf16", 2},
                 {EFFC_DTYPE_F64, "f64", 8}, {EFFC_DTYPE_I64, "i64", 8}, {EFFC_DTYPE_I32, "i32", 4},
                 {EFFC_DTYPE_I8, "i8", 1},   {EFFC_DTYPE_U8, "u8", 1},   {EFFC_DTYPE_BOOL, "bool", 1},
                 {EFFC_DTYPE_I16, "i16", 2}, {EFFC_DTYPE_U16, "u16", 2}, {EFFC_DTYPE_U32, "u32", 4},
                 {EFFC_DTYPE_U64, "u64", 8}, {EFFC_DTYPE_INVALID, "invalid", 0}, {(effc_dtype_t)77, "invalid", 0}};
  for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); ++i) {
    CHECK(!strcmp(effc_dtype_name(k_cases[i].dtype), k_cases[i].name));
    CHECK(effc_dtype_size(k_cases[i].dtype) == k_cases[i].size);
  }
  return 0;
}

static void on_release(void *user, void *data) {
  (void)data;
  ++*(int *)user;
}

int test_tensor_create_and_wrap(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  CHECK(rt);
  effc_tensor_t *t = NULL;
  int64_t dims[] = {2, 3};
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_I32, 2, dims, &t));
  CHECK(effc_tensor_dtype(t) == EFFC_DTYPE_I32 && effc_tensor_rank(t) == 2);
  CHECK(effc_tensor_dims(t)[0] == 2 && effc_tensor_dims(t)[1] == 3);
  CHECK(effc_tensor_num_elements(t) == 6 && effc_tensor_byte_size(t) == 24);
  CHECK((uintptr_t)effc_tensor_data(t) % 64 == 0);
  for (int i = 0; i < 6; ++i)
    CHECK(((int32_t *)effc_tensor_data(t))[i] == 0); /* zero-filled */
  CHECK(effc_runtime_live_bytes(rt) == 24);
  effc_tensor_retain(t);
  effc_tensor_release(t);
  CHECK(effc_runtime_live_bytes(rt) == 24);
  effc_tensor_release(t);
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_tensor_release(NULL);

  /* Rank 0 and empty tensors. */
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_F64, 0, NULL, &t));
  CHECK(effc_tensor_num_elements(t) == 1 && effc_tensor_byte_size(t) == 8);
  effc_tensor_release(t);
  int64_t empty[] = {0, 5};
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_F32, 2, empty, &t));
  CHECK(effc_tensor_num_elements(t) == 0 && effc_tensor_byte_size(t) == 0 && effc_tensor_data(t));
  effc_tensor_release(t);

  /* Bad shapes. */
  int64_t negative[] = {2, -1};
  CHECK_ERROR(effc_tensor_create(rt, EFFC_DTYPE_F32, 2, negative, &t), EFFC_STATUS_INVALID_ARGUMENT,
              "dimension 1: extent -1 is negative");
  CHECK(t == NULL);
  int64_t huge[] = {INT64_C(1) << 40, INT64_C(1) << 40};
  CHECK_ERROR(effc_tensor_create(rt, EFFC_DTYPE_F32, 2, huge, &t), EFFC_STATUS_INVALID_ARGUMENT, "overflows");
  CHECK_ERROR(effc_tensor_create(rt, (effc_dtype_t)99, 2, dims, &t), EFFC_STATUS_INVALID_ARGUMENT,
              "invalid dtype");
  int64_t many[EFFC_MAX_RANK + 1];
  for (int i = 0; i <= EFFC_MAX_RANK; ++i)
    many[i] = 1;
  CHECK_ERROR(effc_tensor_create(rt, EFFC_DTYPE_F32, EFFC_MAX_RANK + 1, many, &t), EFFC_STATUS_INVALID_ARGUMENT,
              "exceeds the maximum");

  /* Wrapping borrows the memory and calls the release callback once. */
  _Alignas(8) float buffer[6] = {1, 2, 3, 4, 5, 6};
  int released = 0;
  CHECK_OK(effc_tensor_wrap(EFFC_DTYPE_F32, 2, dims, buffer, sizeof(buffer), on_release, &released, &t));
  CHECK(effc_tensor_data(t) == buffer && effc_runtime_live_bytes(rt) == 0);
  effc_tensor_release(t);
  CHECK(released == 1);
  CHECK_ERROR(effc_tensor_wrap(EFFC_DTYPE_F32, 2, dims, buffer, 20, NULL, NULL, &t), EFFC_STATUS_INVALID_ARGUMENT,
              "needs 24 bytes, the buffer has 20");
  CHECK_ERROR(effc_tensor_wrap(EFFC_DTYPE_F32, 1, dims, (char *)buffer + 1, 20, NULL, NULL, &t),
              EFFC_STATUS_INVALID_ARGUMENT, "not aligned");
  CHECK_ERROR(effc_tensor_wrap(EFFC_DTYPE_F32, 1, dims, NULL, 0, NULL, NULL, &t), EFFC_STATUS_INVALID_ARGUMENT,
              "needs 8 bytes");
  effc_runtime_release(rt);
  return 0;
}

/* Freed blocks of 64 KiB and more are reused (runtime.c's block cache), zero-filled where the API promises
 * it, within the memory limit; sanitizer builds cache nothing (EFFC_BLOCK_CACHE). */

int test_runtime_reuses_freed_blocks(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  CHECK(rt);
  const effc_abi_host_t *host = effc_runtime_host(rt);
  enum { kMiB = 1 << 20 };
  float *first = host->alloc(host->host_ctx, kMiB, 64);
  CHECK(first && effc_runtime_live_bytes(rt) == kMiB);
  for (int i = 0; i < kMiB / 4; ++i)
    first[i] = 1.0f;
  host->free(host->host_ctx, first);
  CHECK(effc_runtime_live_bytes(rt) == 0);

  /* A request up to a quarter smaller takes the cached block; live bytes count what was requested. */
  void *again = host->alloc(host->host_ctx, kMiB - kMiB / 8, 64);
  CHECK(again && effc_runtime_live_bytes(rt) == kMiB - kMiB / 8);
  CHECK(EFFC_BLOCK_CACHE ? again == (void *)first : 1);
  host->free(host->host_ctx, again);
  /* A much smaller one does not (it would waste most of the block), nor does a larger one. */
  void *small = host->alloc(host->host_ctx, kMiB / 2, 64);
  void *large = host->alloc(host->host_ctx, 2 * kMiB, 64);
  CHECK(small && large && small != (void *)first && large != (void *)first);
  host->free(host->host_ctx, small);
  host->free(host->host_ctx, large);

  /* Tensors from a reused block are zero-filled all the same. */
  effc_tensor_t *t = NULL;
  int64_t dims[] = {kMiB / 4};
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_F32, 1, dims, &t));
  const float *data = effc_tensor_data(t);
  for (int i = 0; i < kMiB / 4; ++i)
    CHECK(data[i] == 0.0f);
  effc_tensor_release(t);
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_runtime_release(rt);

  /* Under a memory limit of 3 MiB, cached blocks make room for a request that needs their bytes. */
  rt = make_runtime(1, 3 * kMiB);
  CHECK(rt);
  host = effc_runtime_host(rt);
  void *block = host->alloc(host->host_ctx, kMiB, 64);
  CHECK(block);
  host->free(host->host_ctx, block);
  void *big = host->alloc(host->host_ctx, 2 * kMiB + kMiB / 2, 64);
  CHECK(big && effc_runtime_live_bytes(rt) == 2 * kMiB + kMiB / 2);
  CHECK(host->alloc(host->host_ctx, kMiB, 64) == NULL); /* live bytes stay capped */
  host->free(host->host_ctx, big);
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_runtime_release(rt);
  return 0;
}

int test_runtime_options(void) {
  effc_runtime_options_t options;
  memset(&options, 0xff, sizeof(options));
  effc_runtime_options_initialize(&options);
  CHECK(options.num_threads == 0 && options.memory_limit_bytes == 0 && options.verify_weights == 1);
  CHECK(options.spin_micros == 100);
  effc_runtime_t *rt = NULL;
  CHECK_OK(effc_runtime_create(NULL, &rt));
  CHECK(effc_runtime_num_threads(rt) == (size_t)sysconf(_SC_NPROCESSORS_ONLN));
  CHECK(effc_runtime_spin_micros(rt) == 100);
  const effc_abi_host_t *host = effc_runtime_host(rt);
  CHECK(host->version == EFFC_ABI_VERSION && host->parallel_for && host->alloc && host->free);
  effc_runtime_retain(rt);
  effc_runtime_release(rt);
  effc_runtime_release(rt);
  effc_runtime_release(NULL);
  options.num_threads = 100000;
  CHECK_ERROR(effc_runtime_create(&options, &rt), EFFC_STATUS_INVALID_ARGUMENT, "too large");
  return 0;
}

static double cpu_seconds(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void noop(void *ctx, int64_t i) { (void)ctx, (void)i; }

int test_runtime_idle_workers_sleep(void) {
  /* Idle workers must sleep, not spin: 300 ms of idling with 4 workers costs (almost) no CPU time. */
  effc_runtime_t *rt = make_runtime(5, 0);
  CHECK(rt);
  const effc_abi_host_t *host = effc_runtime_host(rt);
  host->parallel_for(host->host_ctx, noop, NULL, 100); /* wake everyone once */
  double before = cpu_seconds();
  sleep_ms(300);
  double used = cpu_seconds() - before;
  printf("  cpu time while idle: %.4f s\n", used);
  CHECK(used < 0.05);
  effc_runtime_release(rt);
  return 0;
}

int test_runtime_oversubscribed_pool_does_not_spin(void) {
  /* With more threads than cores, spin_micros is ignored: even a 2 s spin costs no CPU time while idle. */
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  CHECK(online > 0);
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.num_threads = (uint32_t)online + 2;
  options.spin_micros = 2000000;
  effc_runtime_t *rt = NULL;
  CHECK_OK(effc_runtime_create(&options, &rt));
  CHECK(effc_runtime_spin_micros(rt) == 0);
  const effc_abi_host_t *host = effc_runtime_host(rt);
  host->parallel_for(host->host_ctx, noop, NULL, 100);
  double before = cpu_seconds();
  sleep_ms(300);
  double used = cpu_seconds() - before;
  printf("  cpu time while idle, %u threads on %ld cores: %.4f s\n", options.num_threads, online, used);
  CHECK(used < 0.05);
  effc_runtime_release(rt);
  return 0;
}

typedef struct count_ctx_t {
  atomic_int *counts;
} count_ctx_t;

static void count_body(void *ctx, int64_t i) { atomic_fetch_add(&((count_ctx_t *)ctx)->counts[i], 1); }

int test_parallel_for_covers_each_index_once(void) {
  static atomic_int counts[1000];
  for (uint32_t threads = 1; threads <= 3; ++threads) {
    effc_runtime_t *rt = make_runtime(threads, 0);
    CHECK(rt && effc_runtime_num_threads(rt) == threads);
    const effc_abi_host_t *host = effc_runtime_host(rt);
    count_ctx_t ctx = {counts};
    for (int64_t n = 0; n <= 1000; ++n) {
      for (int64_t i = 0; i < 1000; ++i)
        atomic_store(&counts[i], 0);
      host->parallel_for(host->host_ctx, count_body, &ctx, n);
      for (int64_t i = 0; i < 1000; ++i)
        if (atomic_load(&counts[i]) != (i < n ? 1 : 0)) {
          fprintf(stderr, "threads %u, n %lld: index %lld ran %d times\n", threads, (long long)n, (long long)i,
                  atomic_load(&counts[i]));
          return 1;
        }
    }
    host->parallel_for(host->host_ctx, count_body, &ctx, -5); /* negative n runs nothing */
    effc_runtime_release(rt);
  }
  return 0;
}

typedef struct threads_ctx_t {
  pthread_mutex_t mutex;
  pthread_t seen[8];
  int num_seen;
} threads_ctx_t;

static void record_thread(void *ctx, int64_t i) {
  (void)i;
  threads_ctx_t *c = ctx;
  pthread_mutex_lock(&c->mutex);
  int known = 0;
  for (int k = 0; k < c->num_seen; ++k)
    known |= pthread_equal(c->seen[k], pthread_self());
  if (!known && c->num_seen < 8)
    c->seen[c->num_seen++] = pthread_self();
  pthread_mutex_unlock(&c->mutex);
  sleep_ms(2);
}

int test_parallel_for_uses_multiple_threads(void) {
  effc_runtime_t *rt = make_runtime(2, 0);
  CHECK(rt);
  const effc_abi_host_t *host = effc_runtime_host(rt);
  threads_ctx_t ctx = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
  host->parallel_for(host->host_ctx, record_thread, &ctx, 50);
  printf("  distinct threads: %d\n", ctx.num_seen);
  CHECK(ctx.num_seen == 2);
  int caller_participated = 0;
  for (int k = 0; k < ctx.num_seen; ++k)
    caller_participated |= pthread_equal(ctx.seen[k], pthread_self());
  CHECK(caller_participated);
  effc_runtime_release(rt);
  return 0;
}

typedef struct nested_ctx_t {
  const effc_abi_host_t *host;
  atomic_int *counts; /* [10][10] */
} nested_ctx_t;

typedef struct inner_ctx_t {
  atomic_int *row;
} inner_ctx_t;

static void inner_body(void *ctx, int64_t j) { atomic_fetch_add(&((inner_ctx_t *)ctx)->row[j], 1); }

static void outer_body(void *ctx, int64_t i) {
  nested_ctx_t *c = ctx;
  inner_ctx_t inner = {c->counts + i * 10};
  c->host->parallel_for(c->host->host_ctx, inner_body, &inner, 10);
}

typedef struct caller_ctx_t {
  const effc_abi_host_t *host;
  atomic_int counts[100];
} caller_ctx_t;

static void *caller_main(void *arg) {
  caller_ctx_t *c = arg;
  count_ctx_t ctx = {c->counts};
  for (int round = 0; round < 200; ++round)
    c->host->parallel_for(c->host->host_ctx, count_body, &ctx, 100);
  return NULL;
}

int test_parallel_for_nested_and_concurrent(void) {
  effc_runtime_t *rt = make_runtime(2, 0);
  CHECK(rt);
  const effc_abi_host_t *host = effc_runtime_host(rt);
  static atomic_int counts[100];
  nested_ctx_t nested = {host, counts};
  host->parallel_for(host->host_ctx, outer_body, &nested, 10);
  for (int i = 0; i < 100; ++i)
    CHECK(atomic_load(&counts[i]) == 1);

  /* Three threads share the pool; whoever finds it busy runs serially. */
  static caller_ctx_t callers[3];
  pthread_t threads[3];
  for (int t = 0; t < 3; ++t) {
    callers[t].host = host;
    CHECK(pthread_create(&threads[t], NULL, caller_main, &callers[t]) == 0);
  }
  for (int t = 0; t < 3; ++t)
    pthread_join(threads[t], NULL);
  for (int t = 0; t < 3; ++t)
    for (int i = 0; i < 100; ++i)
      CHECK(atomic_load(&callers[t].counts[i]) == 200);
  effc_runtime_release(rt);
  return 0;
}
