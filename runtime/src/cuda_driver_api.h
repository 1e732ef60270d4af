/*===- cuda_driver_api.h - the subset of the CUDA driver API effc uses -----===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Types and entry points as in cuda.h, which the runtime does not include: it opens the driver at run time
 * (cuda.c). The test driver runtime/tests/fake_cuda.c declares its definitions from the same list, so the
 * compiler checks that the stand-in's functions have exactly the types the runtime calls them through.
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_RUNTIME_CUDA_DRIVER_API_H
#define EFFC_RUNTIME_CUDA_DRIVER_API_H

#include <stddef.h>

typedef int CUresult; /* CUDA_SUCCESS = 0 */
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUmemPoolHandle_st *CUmemoryPool;
typedef unsigned long long CUdeviceptr;

enum {
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_MEM_ATTACH_GLOBAL = 1,
  CU_STREAM_NON_BLOCKING = 1,
  CU_EVENT_DISABLE_TIMING = 2,
  CU_JIT_OPTIMIZATION_LEVEL = 7,
  CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4,
};

/* Every driver entry point used: X(name, symbol, parameters), where symbol is the versioned name cuda.h
 * maps the name to. */
#define EFFC_CUDA_FUNCTIONS(X)                                                                                         \
  X(cuInit, cuInit, (unsigned flags))                                                                                  \
  X(cuGetErrorName, cuGetErrorName, (CUresult error, const char **name))                                               \
  X(cuGetErrorString, cuGetErrorString, (CUresult error, const char **text))                                           \
  X(cuDeviceGetCount, cuDeviceGetCount, (int *count))                                                                  \
  X(cuDeviceGet, cuDeviceGet, (CUdevice * device, int ordinal))                                                        \
  X(cuDeviceGetName, cuDeviceGetName, (char *name, int length, CUdevice device))                                       \
  X(cuDeviceGetAttribute, cuDeviceGetAttribute, (int *value, int attribute, CUdevice device))                          \
  X(cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain, (CUcontext * context, CUdevice device))                        \
  X(cuDevicePrimaryCtxRelease, cuDevicePrimaryCtxRelease_v2, (CUdevice device))                                        \
  X(cuCtxSetCurrent, cuCtxSetCurrent, (CUcontext context))                                                             \
  X(cuCtxSynchronize, cuCtxSynchronize, (void))                                                                        \
  X(cuModuleLoadData, cuModuleLoadData, (CUmodule * module, const void *image))                                        \
  X(cuModuleLoadDataEx, cuModuleLoadDataEx,                                                                            \
    (CUmodule * module, const void *image, unsigned num_options, int *options, void **values))                         \
  X(cuModuleUnload, cuModuleUnload, (CUmodule module))                                                                 \
  X(cuModuleGetFunction, cuModuleGetFunction, (CUfunction * function, CUmodule module, const char *name))              \
  X(cuLaunchKernel, cuLaunchKernel,                                                                                    \
    (CUfunction function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,                \
     unsigned shared_bytes, CUstream stream, void **params, void **extra))                                             \
  X(cuStreamCreate, cuStreamCreate, (CUstream * stream, unsigned flags))                                               \
  X(cuStreamDestroy, cuStreamDestroy_v2, (CUstream stream))                                                            \
  X(cuStreamSynchronize, cuStreamSynchronize, (CUstream stream))                                                       \
  X(cuStreamWaitEvent, cuStreamWaitEvent, (CUstream stream, CUevent event, unsigned flags))                            \
  X(cuEventCreate, cuEventCreate, (CUevent * event, unsigned flags))                                                   \
  X(cuEventDestroy, cuEventDestroy_v2, (CUevent event))                                                                \
  X(cuEventRecord, cuEventRecord, (CUevent event, CUstream stream))                                                    \
  X(cuEventSynchronize, cuEventSynchronize, (CUevent event))                                                           \
  X(cuMemAlloc, cuMemAlloc_v2, (CUdeviceptr * ptr, size_t bytes))                                                      \
  X(cuMemAllocManaged, cuMemAllocManaged, (CUdeviceptr * ptr, size_t bytes, unsigned flags))                           \
  X(cuMemFree, cuMemFree_v2, (CUdeviceptr ptr))                                                                        \
  X(cuMemcpy, cuMemcpy, (CUdeviceptr dst, CUdeviceptr src, size_t bytes))                                              \
  X(cuMemcpyAsync, cuMemcpyAsync, (CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream))                   \
  X(cuMemsetD32Async, cuMemsetD32Async, (CUdeviceptr dst, unsigned value, size_t count, CUstream stream))              \
  X(cuMemsetD16Async, cuMemsetD16Async, (CUdeviceptr dst, unsigned short value, size_t count, CUstream stream))  \
  X(cuMemAllocAsync, cuMemAllocAsync, (CUdeviceptr * ptr, size_t bytes, CUstream stream))                              \
  X(cuMemFreeAsync, cuMemFreeAsync, (CUdeviceptr ptr, CUstream stream))                                                \
  X(cuDeviceGetDefaultMemPool, cuDeviceGetDefaultMemPool, (CUmemoryPool * pool, CUdevice device))                      \
  X(cuMemPoolSetAttribute, cuMemPoolSetAttribute, (CUmemoryPool pool, int attribute, void *value))

#endif /* EFFC_RUNTIME_CUDA_DRIVER_API_H */
