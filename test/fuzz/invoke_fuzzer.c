/*===- invoke_fuzzer.c - fuzz effc_function_invoke's input checking -------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Calls the functions of a real compiled module (invoke_model.mlir, compiled by effc at build time) with
 * inputs of mutated count, dtype, rank and extents (owning or wrapped tensors, NULL entries, too few or
 * too many outputs). The runtime must refuse every input its signature rules out before any compiled code
 * runs; what it accepts must compute the right values (sum = a + b, y = x + x, compared exactly) and
 * leave no runtime allocation live once the outputs are released.
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE
#include "fuzz_util.h"

#include "effc/runtime/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EFFC_FUZZ_MODEL
#error "EFFC_FUZZ_MODEL must name the compiled invoke_model.so"
#endif

#define MAX_INPUTS 4
#define MAX_OUTPUTS 3

typedef struct reader_t {
  const uint8_t *p, *end;
} reader_t;

static uint8_t u8(reader_t *r) { return r->p < r->end ? *r->p++ : 0; }

static effc_runtime_t *g_runtime;
static effc_module_t *g_module;

static void set_up(void) {
  if (g_module)
    return;
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.num_threads = 2; /* exercise the thread pool as compiled code uses it */
  effc_status_t status = effc_runtime_create(&options, &g_runtime);
  if (!status)
    status = effc_module_load(g_runtime, EFFC_FUZZ_MODEL, &g_module);
  if (status) {
    fprintf(stderr, "cannot load %s: %s\n", EFFC_FUZZ_MODEL, effc_status_message(status));
    abort();
  }
}

/* A tensor of the input's choosing: dtype, rank 0..4, extents 0..7, owning or wrapping a buffer exactly
 * its size, filled from the input. NULL when the input asks for a missing tensor. */
static effc_tensor_t *make_tensor(reader_t *r, void **wrapped) {
  uint8_t kind = u8(r);
  if (kind == 0xff)
    return NULL;
  effc_dtype_t dtype = kind < 0x80 ? EFFC_DTYPE_F32 : (effc_dtype_t)(1 + kind % 9);
  size_t rank = u8(r) % 5;
  int64_t dims[4];
  for (size_t d = 0; d < rank; ++d)
    dims[d] = u8(r) % 8;
  effc_tensor_t *tensor = NULL;
  effc_status_t status;
  if (kind & 0x40) {
    size_t count = 1;
    for (size_t d = 0; d < rank; ++d)
      count *= (size_t)dims[d];
    size_t bytes = count * effc_dtype_size(dtype);
    *wrapped = malloc(bytes ? bytes : 1); /* exactly the tensor's size: ASan sees any overread */
    if (!*wrapped)
      abort();
    status = effc_tensor_wrap(dtype, rank, dims, *wrapped, bytes, NULL, NULL, &tensor);
  } else {
    status = effc_tensor_create(g_runtime, dtype, rank, dims, &tensor);
  }
  if (status)
    abort(); /* small valid shapes always make a tensor */
  unsigned char *data = effc_tensor_data(tensor);
  size_t size = effc_tensor_byte_size(tensor);
  /* Small integers as f32 (sums are exact); raw bytes for other dtypes. */
  for (size_t i = 0; i < size; ++i)
    data[i] = dtype == EFFC_DTYPE_F32 && i % 4 != 3 ? 0 : u8(r) % 64;
  return tensor;
}

/* The values a successful call must produce. */
static void check_outputs(const char *name, effc_tensor_t *const *inputs, effc_tensor_t *const *outputs) {
  const effc_tensor_t *first = inputs[0], *second = !strcmp(name, "main") ? inputs[1] : inputs[0];
  const effc_tensor_t *out = outputs[0];
  if (!out || effc_tensor_dtype(out) != EFFC_DTYPE_F32 || effc_tensor_rank(out) != effc_tensor_rank(first) ||
      memcmp(effc_tensor_dims(out), effc_tensor_dims(first), effc_tensor_rank(first) * sizeof(int64_t)))
    abort();
  const float *a = effc_tensor_data(first), *b = effc_tensor_data(second), *y = effc_tensor_data(out);
  for (int64_t i = 0; i < effc_tensor_num_elements(out); ++i)
    if (y[i] != a[i] + b[i])
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  set_up();
  reader_t r = {data, data + size};
  const effc_function_t *function = effc_module_function(g_module, u8(&r) % effc_module_num_functions(g_module));
  size_t num_inputs = u8(&r) % (MAX_INPUTS + 1);
  uint8_t output_choice = u8(&r);
  size_t num_outputs = output_choice < 0xe0 ? effc_function_num_outputs(function) : output_choice % (MAX_OUTPUTS + 1);
  effc_tensor_t *inputs[MAX_INPUTS] = {NULL};
  void *wrapped[MAX_INPUTS] = {NULL};
  for (size_t i = 0; i < num_inputs; ++i)
    inputs[i] = make_tensor(&r, &wrapped[i]);
  effc_tensor_t *outputs[MAX_OUTPUTS];
  for (size_t i = 0; i < MAX_OUTPUTS; ++i)
    outputs[i] = (effc_tensor_t *)(uintptr_t)0x1; /* invoke must overwrite them */

  effc_status_t status = effc_function_invoke(function, (const effc_tensor_t *const *)inputs, num_inputs, outputs,
                                              num_outputs);
  fuzz_report(effc_function_name(function), status ? effc_status_message(status) : NULL);
  if (status) {
    if (!effc_status_message(status)[0])
      abort();
    for (size_t i = 0; i < num_outputs; ++i)
      if (outputs[i])
        abort(); /* outputs are NULL on failure */
    effc_status_free(status);
  } else {
    check_outputs(effc_function_name(function), inputs, outputs);
    for (size_t i = 0; i < num_outputs; ++i)
      effc_tensor_release(outputs[i]);
  }
  for (size_t i = 0; i < num_inputs; ++i) {
    effc_tensor_release(inputs[i]);
    free(wrapped[i]);
  }
  if (effc_runtime_live_bytes(g_runtime) != 0)
    abort(); /* nothing the call allocated outlives its outputs */
  return 0;
}
