/*===- fake_cuda.c - a CUDA driver stand-in that runs on the CPU ----------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * The subset of the CUDA driver API the runtime uses (runtime/src/cuda.c), for testing the CUDA path on
 * machines without a GPU: load it with EFFC_CUDA_DRIVER=.../effc_fake_cuda.so. It reports one device of
 * compute capability 9.0 whose memory is host memory. Kernels are accepted and counted but NOT executed,
 * so results are meaningless; what it checks is the plumbing between compiled code, the runtime and the
 * driver: module images are PTX/cubin/fatbin, launches have valid shapes, every allocation is freed.
 *
 * Environment: FAKE_CUDA_LOG=FILE appends one line of call counts at exit ("loads=1 unloads=1 launches=N
 * allocs=A frees=F bad=B"); FAKE_CUDA_FAIL_LAUNCH=1 makes cuLaunchKernel fail (CUDA_ERROR_LAUNCH_FAILED).
 *
 *===----------------------------------------------------------------------===*/

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_driver_api.h"

#define EXPORT __attribute__((visibility("default")))

/* Declares every entry point with the type the runtime calls it through: a definition below that differs
 * does not compile (calling through a mismatched pointer type is undefined; UBSan's -fsanitize=function
 * reports it). */
#define FAKE_CUDA_DECLARE(name, symbol, params) EXPORT CUresult symbol params;
EFFC_CUDA_FUNCTIONS(FAKE_CUDA_DECLARE)
#undef FAKE_CUDA_DECLARE

enum { OK = 0, INVALID_VALUE = 1, LAUNCH_FAILED = 719, INVALID_IMAGE = 200 };

static atomic_long g_loads, g_unloads, g_launches, g_allocs, g_frees, g_bad;
static int g_dummy;

static void report(void) __attribute__((destructor));
static void report(void) {
  const char *path = getenv("FAKE_CUDA_LOG");
  FILE *log = path ? fopen(path, "a") : NULL;
  if (!log)
    return;
  fprintf(log, "loads=%ld unloads=%ld launches=%ld allocs=%ld frees=%ld bad=%ld\n", atomic_load(&g_loads),
          atomic_load(&g_unloads), atomic_load(&g_launches), atomic_load(&g_allocs), atomic_load(&g_frees),
          atomic_load(&g_bad));
  fclose(log);
}

EXPORT CUresult cuInit(unsigned flags) { return flags == 0 ? OK : INVALID_VALUE; }

EXPORT CUresult cuGetErrorName(CUresult error, const char **name) {
  *name = error == LAUNCH_FAILED ? "CUDA_ERROR_LAUNCH_FAILED"
          : error == INVALID_IMAGE ? "CUDA_ERROR_INVALID_IMAGE"
                                   : "CUDA_ERROR_INVALID_VALUE";
  return OK;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char **text) {
  *text = error == LAUNCH_FAILED ? "unspecified launch failure (injected by fake_cuda)" : "fake_cuda error";
  return OK;
}

EXPORT CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return OK;
}

EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  *device = ordinal;
  return ordinal == 0 ? OK : INVALID_VALUE;
}

EXPORT CUresult cuDeviceGetName(char *name, int length, CUdevice device) {
  (void)device;
  snprintf(name, (size_t)length, "effc fake CUDA device");
  return OK;
}

EXPORT CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice device) {
  (void)device;
  *value = attribute == 75 ? 9 : 0; /* compute capability 9.0 */
  return OK;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice device) {
  (void)device;
  *context = (CUcontext)&g_dummy;
  return OK;
}
EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device) { return device == 0 ? OK : INVALID_VALUE; }
EXPORT CUresult cuCtxSetCurrent(CUcontext context) { return context == (CUcontext)&g_dummy ? OK : INVALID_VALUE; }
EXPORT CUresult cuCtxSynchronize(void) { return OK; }

static CUresult load(CUmodule *module, const void *image) {
  const unsigned char *bytes = image;
  static const unsigned char elf[] = {0x7f, 'E', 'L', 'F'}, fatbin[] = {0x50, 0xed, 0x55, 0xba};
  int ptx = strstr((const char *)image, ".version") != NULL && strstr((const char *)image, ".entry") != NULL;
  if (!ptx && memcmp(bytes, elf, 4) != 0 && memcmp(bytes, fatbin, 4) != 0) {
    atomic_fetch_add(&g_bad, 1);
    return INVALID_IMAGE;
  }
  *module = malloc(1);
  atomic_fetch_add(&g_loads, 1);
  return OK;
}

EXPORT CUresult cuModuleLoadData(CUmodule *module, const void *image) { return load(module, image); }
EXPORT CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned n, int *options,
                                  void **values) {
  (void)n, (void)options, (void)values;
  return load(module, image);
}
EXPORT CUresult cuModuleUnload(CUmodule module) {
  free(module);
  atomic_fetch_add(&g_unloads, 1);
  return OK;
}
EXPORT CUresult cuModuleGetFunction(CUfunction *function, CUmodule module, const char *name) {
  if (!module || !name || !*name)
    return INVALID_VALUE;
  *function = (CUfunction)(uintptr_t)name;
  return OK;
}

EXPORT CUresult cuLaunchKernel(CUfunction function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                               unsigned bz, unsigned shared_bytes, CUstream stream, void **params, void **extra) {
  (void)stream, (void)extra;
  if (getenv("FAKE_CUDA_FAIL_LAUNCH"))
    return LAUNCH_FAILED;
  if (!function || !params || !gx || !gy || !gz || !bx || !by || !bz || (uint64_t)bx * by * bz > 1024 ||
      bz > 64 || gy > 65535 || gz > 65535 || shared_bytes > 48 * 1024) {
    atomic_fetch_add(&g_bad, 1);
    return INVALID_VALUE;
  }
  atomic_fetch_add(&g_launches, 1);
  return OK;
}

EXPORT CUresult cuStreamCreate(CUstream *stream, unsigned flags) {
  (void)flags;
  *stream = malloc(1);
  return OK;
}
EXPORT CUresult cuStreamDestroy_v2(CUstream stream) {
  free(stream);
  return OK;
}
EXPORT CUresult cuStreamSynchronize(CUstream stream) {
  (void)stream;
  return OK;
}
EXPORT CUresult cuStreamWaitEvent(CUstream stream, CUevent event, unsigned flags) {
  (void)stream, (void)event, (void)flags;
  return OK;
}
EXPORT CUresult cuEventCreate(CUevent *event, unsigned flags) {
  (void)flags;
  *event = malloc(1);
  return OK;
}
EXPORT CUresult cuEventDestroy_v2(CUevent event) {
  free(event);
  return OK;
}
EXPORT CUresult cuEventRecord(CUevent event, CUstream stream) {
  (void)event, (void)stream;
  return OK;
}
EXPORT CUresult cuEventSynchronize(CUevent event) {
  (void)event;
  return OK;
}

static CUresult allocate(CUdeviceptr *ptr, size_t bytes) {
  size_t rounded = (bytes + 255) / 256 * 256;
  void *block = aligned_alloc(256, rounded);
  if (!block)
    return INVALID_VALUE;
  /* Kernels do not run here, so host code reading a kernel's output (MoE routing counts, say) must see
   * defined values, not whatever the allocator left: zeros. */
  memset(block, 0, rounded);
  *ptr = (CUdeviceptr)(uintptr_t)block;
  atomic_fetch_add(&g_allocs, 1);
  return OK;
}
EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) { return allocate(ptr, bytes); }
EXPORT CUresult cuMemAllocManaged(CUdeviceptr *ptr, size_t bytes, unsigned flags) {
  return flags == 1 ? allocate(ptr, bytes) : INVALID_VALUE;
}
EXPORT CUresult cuMemFree_v2(CUdeviceptr ptr) {
  free((void *)(uintptr_t)ptr);
  atomic_fetch_add(&g_frees, 1);
  return OK;
}
EXPORT CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, bytes);
  return OK;
}
EXPORT CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  (void)stream;
  return cuMemcpy(dst, src, bytes);
}
EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count, CUstream stream) {
  (void)stream;
  for (size_t i = 0; i < count; ++i)
    ((uint32_t *)(uintptr_t)dst)[i] = value;
  return OK;
}
EXPORT CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count, CUstream stream) {
  (void)stream;
  for (size_t i = 0; i < count; ++i)
    ((uint16_t *)(uintptr_t)dst)[i] = value;
  return OK;
}
