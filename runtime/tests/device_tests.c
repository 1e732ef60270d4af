/*===- device_tests.c - tests of devices without a GPU --------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The CUDA side of the runtime as every machine can test it: without a driver (or with the toolkit's stub
 * driver, which refuses to initialise) every GPU request fails with UNAVAILABLE and a message saying why,
 * and a module compiled for a GPU is refused by a CPU runtime. The driver is probed once per process, and
 * CTest runs each case in its own process, so each case picks its driver with EFFC_CUDA_DRIVER.
 *
 *===----------------------------------------------------------------------===*/

#include "test_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int test_device_kind_names(void) {
  effc_device_kind_t kind = EFFC_DEVICE_CPU;
  CHECK(!strcmp(effc_device_kind_name(EFFC_DEVICE_CPU), "cpu"));
  CHECK(!strcmp(effc_device_kind_name(EFFC_DEVICE_CUDA), "cuda"));
  CHECK(!strcmp(effc_device_kind_name((effc_device_kind_t)42), "invalid"));
  CHECK_OK(effc_device_kind_parse("cuda", &kind));
  CHECK(kind == EFFC_DEVICE_CUDA);
  CHECK_OK(effc_device_kind_parse("cpu", &kind));
  CHECK(kind == EFFC_DEVICE_CPU);
  CHECK_ERROR(effc_device_kind_parse("tpu", &kind), EFFC_STATUS_INVALID_ARGUMENT,
              "unknown device 'tpu' (expected cpu or cuda)");
  effc_device_t *device = (effc_device_t *)(uintptr_t)1;
  CHECK_ERROR(effc_device_create(EFFC_DEVICE_CPU, 0, &device), EFFC_STATUS_INVALID_ARGUMENT,
              "device kind 'cpu' has no devices to create");
  CHECK(device == NULL);
  /* A CPU runtime has no device and lends no GPU services. */
  effc_runtime_t *rt = make_runtime(1, 0);
  CHECK(effc_runtime_device(rt) == NULL);
  CHECK(effc_runtime_host(rt)->gpu == NULL);
  effc_runtime_release(rt);
  return 0;
}

int test_cuda_without_driver(void) {
  const char *missing = test_path("no-such-dir/libcuda.so.1");
  CHECK(setenv("EFFC_CUDA_DRIVER", missing, 1) == 0);
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  CHECK(options.device == EFFC_DEVICE_CPU && options.device_ordinal == 0);
  options.device = EFFC_DEVICE_CUDA;
  options.num_threads = 2;
  effc_runtime_t *rt = (effc_runtime_t *)(uintptr_t)1;
  CHECK_ERROR(effc_runtime_create(&options, &rt), EFFC_STATUS_UNAVAILABLE, "CUDA driver ");
  CHECK(rt == NULL);
  effc_device_t *device = (effc_device_t *)(uintptr_t)1;
  CHECK_ERROR(effc_device_create(EFFC_DEVICE_CUDA, 0, &device), EFFC_STATUS_UNAVAILABLE, "not found: ");
  CHECK(device == NULL);
  /* The failure is sticky and repeatable: no crash on a second attempt. */
  CHECK_ERROR(effc_device_create(EFFC_DEVICE_CUDA, 3, &device), EFFC_STATUS_UNAVAILABLE, missing);
  return 0;
}

int test_cuda_stub_driver(void) {
  static const char stub[] = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (access(stub, R_OK) != 0) {
    printf("skipped: no CUDA toolkit stub driver at %s\n", stub);
    return 77;
  }
  CHECK(setenv("EFFC_CUDA_DRIVER", stub, 1) == 0);
  effc_device_t *device = NULL;
  CHECK_ERROR(effc_device_create(EFFC_DEVICE_CUDA, 0, &device), EFFC_STATUS_UNAVAILABLE,
              "failed to initialise: cuInit returned ");
  CHECK(device == NULL);
  return 0;
}

int test_gpu_module_needs_cuda_runtime(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  effc_module_t *module = (effc_module_t *)(uintptr_t)1;
  CHECK_ERROR(effc_module_load(rt, fake_module_path("gpu"), &module), EFFC_STATUS_FAILED_PRECONDITION,
              "was compiled for CUDA (sm_80); create the runtime with the cuda device (effc-run --device=cuda");
  CHECK(module == NULL);
  effc_runtime_release(rt);
  return 0;
}
