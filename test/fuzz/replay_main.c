/*===- replay_main.c - run fuzz targets on saved inputs without libFuzzer -===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * In builds without EFFC_ENABLE_FUZZERS each fuzz target links this driver instead of libFuzzer, so the
 * normal test suite replays the checked-in regression inputs and seed corpora. It takes the arguments a
 * libFuzzer binary takes for `-runs=0`: flags (ignored), files and directories (read recursively), and
 * calls LLVMFuzzerTestOneInput once per file. A crash or sanitizer report fails the test as it would
 * under libFuzzer.
 *
 *===----------------------------------------------------------------------===*/

#define _DEFAULT_SOURCE /* DT_DIR */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static size_t g_replayed;

static int replay_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  /* Exactly `size` bytes on the heap, as libFuzzer passes them, so that overreads are caught. */
  uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
  if (!data || (size > 0 && fread(data, 1, (size_t)size, file) != (size_t)size)) {
    fprintf(stderr, "replay: cannot read %s\n", path);
    fclose(file);
    free(data);
    return 1;
  }
  fclose(file);
  LLVMFuzzerTestOneInput(data, (size_t)size);
  free(data);
  ++g_replayed;
  return 0;
}

static int replay(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: no such file or directory: %s\n", path);
    return 1;
  }
  if (!S_ISDIR(st.st_mode))
    return replay_file(path);
  struct dirent **entries;
  int count = scandir(path, &entries, NULL, alphasort);
  if (count < 0) {
    fprintf(stderr, "replay: cannot list %s\n", path);
    return 1;
  }
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    const char *name = entries[i]->d_name;
    if (name[0] != '.' && !failed) {
      char *child = malloc(strlen(path) + strlen(name) + 2);
      sprintf(child, "%s/%s", path, name);
      failed = replay(child);
      free(child);
    }
    free(entries[i]);
  }
  free(entries);
  return failed;
}

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] != '-' && replay(argv[i]))
      return 1;
  printf("replayed %zu inputs\n", g_replayed);
  return 0;
}
