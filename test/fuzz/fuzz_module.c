/*===- fuzz_module.c - a module whose header the fuzzer writes ------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * module_header_fuzzer loads this shared object through effc_module_load. Its effc_module_query returns
 * whatever header the fuzzer stored in effc_fuzz_header, so mutated headers reach the runtime's real
 * loading path (version check, header validation, weights mapping) without dlopen'ing untrusted code.
 *
 *===----------------------------------------------------------------------===*/

#include "effc/runtime/abi.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT const effc_abi_module_t *effc_fuzz_header;
EXPORT uint32_t effc_fuzz_max_version; /* what the runtime asked for, for the fuzzer to check */

EXPORT const effc_abi_module_t *effc_module_query(uint32_t max_version) {
  effc_fuzz_max_version = max_version;
  return effc_fuzz_header;
}
