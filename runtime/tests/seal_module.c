/*===- seal_module.c - append effc's module trailer to a shared object ----===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * `effc_seal_module FILE.so` appends the trailer of abi.h (size, checksum, ABI version) that effc
 * writes after linking a module, so that the hand-written fake modules load like compiled ones. The tests
 * also use it to re-seal files they tamper with on purpose.
 *
 *===----------------------------------------------------------------------===*/

#include "effc/runtime/abi.h"
#include "effc/runtime/checksum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: effc_seal_module FILE.so\n");
    return 1;
  }
  FILE *file = fopen(argv[1], "r+b");
  if (!file) {
    perror(argv[1]);
    return 1;
  }
  effc_abi_module_trailer_t trailer;
  memset(&trailer, 0, sizeof(trailer));
  effc_checksum_t checksum;
  effc_checksum_init(&checksum);
  unsigned char chunk[1 << 16];
  size_t read;
  while ((read = fread(chunk, 1, sizeof(chunk), file)) > 0) {
    effc_checksum_update(&checksum, chunk, read);
    trailer.payload_size += read;
  }
  trailer.checksum = effc_checksum_final(&checksum);
  trailer.abi_version = EFFC_ABI_VERSION;
  trailer.trailer_size = sizeof(trailer);
  memcpy(trailer.magic, EFFC_TRAILER_MAGIC, sizeof(EFFC_TRAILER_MAGIC));
  int failed = fseek(file, 0, SEEK_END) != 0 || fwrite(&trailer, sizeof(trailer), 1, file) != 1;
  failed |= fclose(file) != 0;
  if (failed)
    fprintf(stderr, "effc_seal_module: cannot write %s\n", argv[1]);
  return failed;
}
