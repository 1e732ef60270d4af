/*===- npy_fuzzer.c - fuzz the runtime's .npy and .npz readers ------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Feeds arbitrary bytes to effc_npy_read (or, built with EFFC_FUZZ_NPZ, effc_npz_read) as a file. Every
 * input must give either tensors whose byte sizes the file holds or an error status; crashes, sanitizer
 * reports, leaks and allocations beyond the input's size are findings. The readers are built into this
 * target (runtime/src) so that they carry coverage.
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE /* memfd_create */
#include "fuzz_util.h"

#include "effc/runtime/npy.h"

static int g_fd = -1;

/* Reads what every successful result promises to hold, so that ASan checks the claimed extent. */
static void touch(const effc_tensor_t *tensor) {
  size_t size = effc_tensor_byte_size(tensor);
  const volatile unsigned char *bytes = effc_tensor_data(tensor);
  int64_t elements = effc_tensor_num_elements(tensor);
  if ((size_t)elements * effc_dtype_size(effc_tensor_dtype(tensor)) != size)
    abort();
  if (size) {
    (void)bytes[0];
    (void)bytes[size - 1];
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  fuzz_write_memfd(&g_fd, path, data, size);
  /* A runtime per input, so that its peak allocation is this input's. */
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.num_threads = 1;
  effc_runtime_t *runtime;
  if (effc_runtime_create(&options, &runtime))
    abort();
#ifdef EFFC_FUZZ_NPZ
  size_t count = 0;
  effc_npz_entry_t *entries = NULL;
  effc_status_t status = effc_npz_read(runtime, path, &count, &entries);
  if (!status)
    for (size_t i = 0; i < count; ++i)
      touch(entries[i].tensor);
  effc_npz_free(entries, count);
#else
  effc_tensor_t *tensor = NULL;
  effc_status_t status = effc_npy_read(runtime, path, &tensor);
  if (!status)
    touch(tensor);
  effc_tensor_release(tensor);
#endif
  fuzz_report("read", status ? effc_status_message(status) : NULL);
  if (status && !effc_status_message(status)[0])
    abort(); /* an error must say what is wrong */
  effc_status_free(status);
  if (effc_runtime_live_bytes(runtime) != 0)
    abort(); /* everything the reader allocated is released, on success and on error */
  if (effc_runtime_peak_bytes(runtime) > size)
    abort(); /* the reader allocated more than the file holds: it trusted the header's shape */
  effc_runtime_release(runtime);
  return 0;
}
