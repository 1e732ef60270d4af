/*===- test_util.h - a minimal test harness for the runtime tests ---------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file provides the checks the runtime tests use. A failed check prints its location and returns 1
 * from the test function; tests are `int name(void)` functions listed in a table (see test_main.c).
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_RUNTIME_TEST_UTIL_H
#define EFFC_RUNTIME_TEST_UTIL_H

#include "effc/runtime/api.h"
#include "effc/runtime/npy.h"

#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                                                    \
  do {                                                                                                 \
    if (!(cond)) {                                                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                         \
      return 1;                                                                                        \
    }                                                                                                  \
  } while (0)

/* Checks that `expr` succeeds; on failure prints the status message. */
#define CHECK_OK(expr)                                                                                 \
  do {                                                                                                 \
    effc_status_t s_ = (expr);                                                                         \
    if (s_) {                                                                                          \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #expr,                         \
              effc_status_code_name(effc_status_code(s_)), effc_status_message(s_));                   \
      effc_status_free(s_);                                                                            \
      return 1;                                                                                        \
    }                                                                                                  \
  } while (0)

/* Checks that `expr` fails with `code` and a message containing `text`. */
#define CHECK_ERROR(expr, code, text)                                                                  \
  do {                                                                                                 \
    effc_status_t s_ = (expr);                                                                         \
    int ok_ = s_ && effc_status_code(s_) == (code) && strstr(effc_status_message(s_), (text));         \
    if (!ok_) {                                                                                        \
      fprintf(stderr, "%s:%d: %s: expected %s containing \"%s\", got %s: %s\n", __FILE__, __LINE__,    \
              #expr, effc_status_code_name(code), (text), effc_status_code_name(effc_status_code(s_)), \
              effc_status_message(s_));                                                                \
      effc_status_free(s_);                                                                            \
      return 1;                                                                                        \
    }                                                                                                  \
    printf("  expected error: %s\n", effc_status_message(s_));                                         \
    effc_status_free(s_);                                                                              \
  } while (0)

/* Runs a sub-check function (returning int) and propagates its failure. */
#define CHECK_PASS(expr)                                                                               \
  do {                                                                                                 \
    if ((expr) != 0) {                                                                                 \
      fprintf(stderr, "%s:%d: from here\n", __FILE__, __LINE__);                                       \
      return 1;                                                                                        \
    }                                                                                                  \
  } while (0)

/* Shared helpers (test_main.c). */
/* Directory holding the fake modules (set by CMake). */
const char *fake_module_path(const char *variant);
/* A fresh private directory for the current test, and a path inside it (static buffer rotation). */
const char *test_dir(void);
const char *test_path(const char *name);
/* Copies a file (replacing `to` by rename, never in place); returns 0 on success. */
int copy_file(const char *from, const char *to);
/* Writes `size` bytes to `path`; returns 0 on success. */
int write_file(const char *path, const void *data, size_t size);
/* Creates an f32 tensor filled from `values` (may be NULL for zeros). */
effc_tensor_t *make_f32(effc_runtime_t *runtime, size_t rank, const int64_t *dims, const float *values);
effc_runtime_t *make_runtime(uint32_t num_threads, uint64_t memory_limit);

#endif /* EFFC_RUNTIME_TEST_UTIL_H */
