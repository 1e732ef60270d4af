/*===- test_main.c - driver and helpers for the runtime tests -------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file runs the runtime test cases: `effc_runtime_tests NAME` runs one case (CTest registers each as
 * runtime.NAME), `effc_runtime_tests` runs all. Each case gets a private temporary directory, removed
 * afterwards unless EFFC_KEEP_TEST_DIR is set.
 *
 *===----------------------------------------------------------------------===*/

#define _XOPEN_SOURCE 700
#include "test_list.h"
#include "test_util.h"

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#define DECLARE(name) int test_##name(void);
EFFC_RUNTIME_TESTS(DECLARE)
#undef DECLARE

static const struct {
  const char *name;
  int (*run)(void);
} k_tests[] = {
#define ENTRY(name) {#name, test_##name},
    EFFC_RUNTIME_TESTS(ENTRY)
#undef ENTRY
};

static char g_dir[256];

const char *fake_module_path(const char *variant) {
  static char paths[4][512];
  static int next;
  char *path = paths[next++ % 4];
  snprintf(path, sizeof(paths[0]), "%s/effc_fake_module%s%s.so", EFFC_FAKE_MODULE_DIR, variant[0] ? "_" : "",
           variant);
  return path;
}

const char *test_dir(void) {
  if (!g_dir[0]) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/effc_rt_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
      perror("mkdtemp");
      exit(2);
    }
  }
  return g_dir;
}

const char *test_path(const char *name) {
  static char paths[8][512];
  static int next;
  char *path = paths[next++ % 8];
  snprintf(path, sizeof(paths[0]), "%s/%s", test_dir(), name);
  return path;
}

int write_file(const char *path, const void *data, size_t size) {
  FILE *file = fopen(path, "wb");
  if (!file)
    return 1;
  int ok = fwrite(data, 1, size, file) == size;
  return (fclose(file) == 0 && ok) ? 0 : 1;
}

int copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  if (!in)
    return 1;
  char buffer[1 << 16];
  size_t n, size = 0;
  char *data = NULL;
  while ((n = fread(buffer, 1, sizeof(buffer), in)) > 0) {
    char *grown = realloc(data, size + n);
    if (!grown)
      break;
    data = grown;
    memcpy(data + size, buffer, n);
    size += n;
  }
  fclose(in);
  /* Write a new file and rename it over `to`: rewriting a loaded shared object in place would corrupt it. */
  char tmp[1024];
  snprintf(tmp, sizeof(tmp), "%s.tmp", to);
  int result = data ? write_file(tmp, data, size) || rename(tmp, to) : 1;
  free(data);
  return result;
}

effc_tensor_t *make_f32(effc_runtime_t *runtime, size_t rank, const int64_t *dims, const float *values) {
  effc_tensor_t *tensor = NULL;
  effc_status_t status = effc_tensor_create(runtime, EFFC_DTYPE_F32, rank, dims, &tensor);
  if (status) {
    fprintf(stderr, "make_f32: %s\n", effc_status_message(status));
    effc_status_free(status);
    return NULL;
  }
  if (values)
    memcpy(effc_tensor_data(tensor), values, effc_tensor_byte_size(tensor));
  return tensor;
}

effc_runtime_t *make_runtime(uint32_t num_threads, uint64_t memory_limit) {
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.num_threads = num_threads;
  options.memory_limit_bytes = memory_limit;
  effc_runtime_t *runtime = NULL;
  effc_status_t status = effc_runtime_create(&options, &runtime);
  if (status) {
    fprintf(stderr, "make_runtime: %s\n", effc_status_message(status));
    effc_status_free(status);
  }
  return runtime;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int run_test(size_t index) {
  printf("[ RUN  ] %s\n", k_tests[index].name);
  fflush(stdout);
  int failed = k_tests[index].run();
  printf("[ %s ] %s\n", failed ? "FAIL" : " OK ", k_tests[index].name);
  if (g_dir[0] && !getenv("EFFC_KEEP_TEST_DIR"))
    nftw(g_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  g_dir[0] = '\0';
  return failed;
}

int main(int argc, char **argv) {
  size_t count = sizeof(k_tests) / sizeof(k_tests[0]);
  if (argc > 1) {
    for (size_t i = 0; i < count; ++i)
      if (!strcmp(argv[1], k_tests[i].name))
        return run_test(i);
    fprintf(stderr, "unknown test case '%s'\n", argv[1]);
    return 2;
  }
  int failures = 0;
  for (size_t i = 0; i < count; ++i)
    failures += run_test(i);
  printf("%d of %zu test cases failed\n", failures, count);
  return failures ? 1 : 0;
}
