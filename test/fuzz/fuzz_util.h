/*===- fuzz_util.h - shared helpers of the runtime fuzz targets -----------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The runtime reads files by path, so fuzz targets hand it their input through an in-memory file
 * (memfd) named by /proc/self/fd/N: no disk traffic, and the reader sees exactly the fuzzer's bytes.
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_TEST_FUZZ_FUZZ_UTIL_H
#define EFFC_TEST_FUZZ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Replaces the contents of the in-memory file `fd` (created on first use) with data[0, size) and stores its
 * path in path[64]. Aborts on failure: the harness, not the code under test, is broken then. */
static inline void fuzz_write_memfd(int *fd, char path[64], const uint8_t *data, size_t size) {
  if (*fd < 0 && (*fd = memfd_create("effc-fuzz", MFD_CLOEXEC)) < 0) {
    perror("memfd_create");
    abort();
  }
  snprintf(path, 64, "/proc/self/fd/%d", *fd);
  size_t written = 0;
  if (ftruncate(*fd, 0) != 0)
    abort();
  while (written < size) {
    ssize_t n = pwrite(*fd, data + written, size - written, (off_t)written);
    if (n <= 0)
      abort();
    written += (size_t)n;
  }
}

/* With EFFC_FUZZ_VERBOSE set, prints what each input came to (for triage and for checking seeds). */
static inline void fuzz_report(const char *what, const char *message) {
  static int verbose = -1;
  if (verbose < 0)
    verbose = getenv("EFFC_FUZZ_VERBOSE") != NULL;
  if (verbose)
    fprintf(stderr, "%s: %s\n", what, message ? message : "ok");
}

#endif /* EFFC_TEST_FUZZ_FUZZ_UTIL_H */
