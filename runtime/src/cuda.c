/*===- cuda.c - effc runtime: CUDA devices over the driver API ------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements effc_device_t for NVIDIA GPUs and the GPU services of abi.h (effc_abi_gpu_t) that
 * host code lowered from the MLIR gpu dialect calls.
 *
 * The CUDA driver is opened with dlopen("libcuda.so.1") on first use and never linked, so the runtime
 * builds and runs on machines without CUDA: there every device call fails with UNAVAILABLE. Only the
 * driver API's C ABI is used; its few types and constants are declared here, so no CUDA header is needed
 * to build either.
 *
 * A device holds the primary context of its GPU. Services make it current on the calling thread (compiled
 * code may call from any thread). Compiled code cannot handle errors, so a failing service records the
 * first error in the device and later services do nothing; effc_function_invoke reports it.
 *
 *===----------------------------------------------------------------------===*/

#include "cuda_driver_api.h"
#include "internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cuda_driver_t {
#define EFFC_CUDA_FIELD(name, symbol, params) CUresult(*name) params;
  EFFC_CUDA_FUNCTIONS(EFFC_CUDA_FIELD)
#undef EFFC_CUDA_FIELD
} cuda_driver_t;

/* The driver, opened once per process. g_driver_error says why it is unusable (NULL: usable). */
static pthread_once_t g_driver_once = PTHREAD_ONCE_INIT;
static cuda_driver_t g_driver;
static char g_driver_error[512];

/* Names of the errors cuInit gives on machines without a usable GPU; the stub cannot name them itself. */
static const char *init_error_name(CUresult result) {
  switch (result) {
  case 34:
    return "CUDA_ERROR_STUB_LIBRARY: this is the toolkit's stub libcuda, not a driver";
  case 35:
    return "CUDA_ERROR_INSUFFICIENT_DRIVER: the driver is older than the CUDA runtime";
  case 100:
    return "CUDA_ERROR_NO_DEVICE: no CUDA-capable device";
  }
  return "unknown error";
}

static void load_driver(void) {
  const char *path = getenv("EFFC_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *error = dlerror();
    snprintf(g_driver_error, sizeof(g_driver_error), "CUDA driver %s not found: %s (install the NVIDIA driver)",
             path, error ? error : "dlopen failed");
    return;
  }
#define EFFC_CUDA_LOAD(name, symbol, params)                                                                           \
  {                                                                                                                    \
    void *address = dlsym(handle, #symbol);                                                                            \
    if (!address) {                                                                                                    \
      snprintf(g_driver_error, sizeof(g_driver_error), "CUDA driver %s lacks %s; it is too old", path,                 \
               #symbol);                                                                                               \
      return;                                                                                                          \
    }                                                                                                                  \
    memcpy(&g_driver.name, &address, sizeof(address));                                                                 \
  }
  EFFC_CUDA_FUNCTIONS(EFFC_CUDA_LOAD)
#undef EFFC_CUDA_LOAD
  CUresult result = g_driver.cuInit(0);
  if (result != 0) {
    const char *name = NULL;
    if (g_driver.cuGetErrorName(result, &name) != 0 || !name)
      name = init_error_name(result);
    snprintf(g_driver_error, sizeof(g_driver_error), "CUDA driver %s failed to initialise: cuInit returned %s (%d)",
             path, name, result);
  }
  /* The handle stays open for the process's lifetime: contexts and modules live in it. */
}

/* The driver, or NULL with *out_status set to UNAVAILABLE. */
static const cuda_driver_t *driver(effc_status_t *out_status) {
  pthread_once(&g_driver_once, load_driver);
  if (g_driver_error[0]) {
    *out_status = effc_status_make(EFFC_STATUS_UNAVAILABLE, "%s", g_driver_error);
    return NULL;
  }
  return &g_driver;
}

static effc_status_t cuda_status(CUresult result, const char *what) {
  const char *name = NULL, *text = NULL;
  if (g_driver.cuGetErrorName(result, &name) != 0 || !name)
    name = "unknown error";
  if (g_driver.cuGetErrorString(result, &text) != 0 || !text)
    text = "";
  return effc_status_make(EFFC_STATUS_INTERNAL, "%s failed: %s (%d) %s", what, name, result, text);
}

/*===----------------------------------------------------------------------===*
 * Devices
 *===----------------------------------------------------------------------===*/

/* A weight copied to the device. */
typedef struct constant_entry_t {
  const void *host;
  uint64_t bytes;
  CUdeviceptr device;
} constant_entry_t;

/* A module loaded through the services, unloaded with the device unless compiled code does it first. */
typedef struct module_entry_t {
  CUmodule module;
  struct module_entry_t *next;
} module_entry_t;

struct effc_device_t {
  effc_device_kind_t kind;
  int32_t ordinal;
  CUdevice cu_device;
  CUcontext context;
  int32_t compute_capability;
  char description[320];
  effc_abi_gpu_t services;

  pthread_mutex_t mutex; /* guards everything below */
  effc_status_t error;   /* first failure of a service, reported by the next invoke */
  constant_entry_t *constants;
  size_t num_constants, constants_capacity;
  module_entry_t *modules;
  /* Streams that compiled code destroyed, kept for the next stream_create: an invocation's host code
   * creates a stream per run of asynchronous launches, and creating CUDA streams is not free. */
  CUstream *idle_streams;
  size_t num_idle_streams, idle_streams_capacity;
};

static pthread_mutex_t g_once_mutex = PTHREAD_MUTEX_INITIALIZER;

const char *effc_device_kind_name(effc_device_kind_t kind) {
  switch (kind) {
  case EFFC_DEVICE_CPU:
    return "cpu";
  case EFFC_DEVICE_CUDA:
    return "cuda";
  }
  return "invalid";
}

effc_status_t effc_device_kind_parse(const char *name, effc_device_kind_t *out_kind) {
  if (name && strcmp(name, "cpu") == 0) {
    *out_kind = EFFC_DEVICE_CPU;
    return NULL;
  }
  if (name && strcmp(name, "cuda") == 0) {
    *out_kind = EFFC_DEVICE_CUDA;
    return NULL;
  }
  return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "unknown device '%s' (expected cpu or cuda)",
                          name ? name : "(null)");
}

/* Records `status` as the device's error unless one is recorded already. Consumes `status`. */
static void record_error(effc_device_t *device, effc_status_t status) {
  pthread_mutex_lock(&device->mutex);
  if (!device->error) {
    device->error = status;
    status = NULL;
  }
  pthread_mutex_unlock(&device->mutex);
  effc_status_free(status);
}

static int has_error(effc_device_t *device) {
  pthread_mutex_lock(&device->mutex);
  int failed = device->error != NULL;
  pthread_mutex_unlock(&device->mutex);
  return failed;
}

/* Makes the device's context current; 0 (with the error recorded) on failure or after an earlier error. */
static int enter(effc_device_t *device) {
  if (has_error(device))
    return 0;
  CUresult result = g_driver.cuCtxSetCurrent(device->context);
  if (result != 0) {
    record_error(device, cuda_status(result, "cuCtxSetCurrent"));
    return 0;
  }
  return 1;
}

/* Checks a driver call made by a service; records a failure. */
static int check(effc_device_t *device, CUresult result, const char *what) {
  if (result == 0)
    return 1;
  record_error(device, cuda_status(result, what));
  return 0;
}

effc_status_t effc_device_take_error(effc_device_t *device) {
  if (!device)
    return NULL;
  pthread_mutex_lock(&device->mutex);
  effc_status_t status = device->error;
  device->error = NULL;
  pthread_mutex_unlock(&device->mutex);
  return status;
}

void *effc_device_alloc_shared(effc_device_t *device, uint64_t bytes) {
  CUdeviceptr ptr = 0;
  if (g_driver.cuCtxSetCurrent(device->context) != 0 ||
      g_driver.cuMemAllocManaged(&ptr, (size_t)bytes, CU_MEM_ATTACH_GLOBAL) != 0)
    return NULL;
  return (void *)(uintptr_t)ptr;
}

void effc_device_free_shared(effc_device_t *device, void *ptr) {
  if (!ptr)
    return;
  g_driver.cuCtxSetCurrent(device->context);
  g_driver.cuMemFree((CUdeviceptr)(uintptr_t)ptr);
}

effc_status_t effc_device_synchronize(effc_device_t *device) {
  if (!device)
    return NULL;
  CUresult result = g_driver.cuCtxSetCurrent(device->context);
  if (result == 0)
    result = g_driver.cuCtxSynchronize();
  return result == 0 ? NULL : cuda_status(result, "cuCtxSynchronize");
}

/*===----------------------------------------------------------------------===*
 * GPU services (abi.h)
 *===----------------------------------------------------------------------===*/

static void remember_module(effc_device_t *device, CUmodule module) {
  module_entry_t *entry = malloc(sizeof(*entry));
  if (!entry) {
    record_error(device, effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory"));
    return;
  }
  pthread_mutex_lock(&device->mutex);
  entry->module = module;
  entry->next = device->modules;
  device->modules = entry;
  pthread_mutex_unlock(&device->mutex);
}

static void *gpu_module_load(void *device_ctx, const void *data, uint64_t size) {
  (void)size; /* cubins and fatbins carry their size in their headers */
  effc_device_t *device = device_ctx;
  CUmodule module = NULL;
  if (!enter(device) || !check(device, g_driver.cuModuleLoadData(&module, data), "cuModuleLoadData"))
    return NULL;
  remember_module(device, module);
  return module;
}

static void *gpu_module_load_jit(void *device_ctx, const void *ptx, int32_t opt_level) {
  effc_device_t *device = device_ctx;
  CUmodule module = NULL;
  int options[] = {CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {(void *)(intptr_t)opt_level};
  if (!enter(device) ||
      !check(device, g_driver.cuModuleLoadDataEx(&module, ptx, 1, options, values), "cuModuleLoadDataEx (PTX JIT)"))
    return NULL;
  remember_module(device, module);
  return module;
}

static void gpu_module_unload(void *device_ctx, void *module) {
  effc_device_t *device = device_ctx;
  int found = 0;
  pthread_mutex_lock(&device->mutex);
  for (module_entry_t **link = &device->modules; *link; link = &(*link)->next)
    if ((*link)->module == module) {
      module_entry_t *entry = *link;
      *link = entry->next;
      free(entry);
      found = 1;
      break;
    }
  pthread_mutex_unlock(&device->mutex);
  if (found && g_driver.cuCtxSetCurrent(device->context) == 0)
    g_driver.cuModuleUnload(module);
}

static void *gpu_module_get_function(void *device_ctx, void *module, const char *name) {
  effc_device_t *device = device_ctx;
  CUfunction function = NULL;
  if (!module || !enter(device) ||
      !check(device, g_driver.cuModuleGetFunction(&function, module, name), "cuModuleGetFunction"))
    return NULL;
  return function;
}

static void gpu_launch_kernel(void *device_ctx, void *function, int64_t grid_x, int64_t grid_y, int64_t grid_z,
                              int64_t block_x, int64_t block_y, int64_t block_z, int32_t shared_bytes,
                              void *stream, void **params, void **extra, int64_t num_params) {
  (void)num_params;
  effc_device_t *device = device_ctx;
  if (!function || !enter(device))
    return;
  int64_t extents[] = {grid_x, grid_y, grid_z, block_x, block_y, block_z};
  for (size_t i = 0; i < 6; ++i)
    if (extents[i] < 1 || extents[i] > UINT32_MAX) {
      record_error(device, effc_status_make(EFFC_STATUS_INTERNAL,
                                            "kernel launch with grid %lld x %lld x %lld, block %lld x %lld x %lld",
                                            (long long)grid_x, (long long)grid_y, (long long)grid_z,
                                            (long long)block_x, (long long)block_y, (long long)block_z));
      return;
    }
  check(device,
        g_driver.cuLaunchKernel(function, (unsigned)grid_x, (unsigned)grid_y, (unsigned)grid_z, (unsigned)block_x,
                                (unsigned)block_y, (unsigned)block_z, (unsigned)shared_bytes, stream, params, extra),
        "cuLaunchKernel");
}

static void *gpu_stream_create(void *device_ctx) {
  effc_device_t *device = device_ctx;
  if (!enter(device))
    return NULL;
  CUstream stream = NULL;
  pthread_mutex_lock(&device->mutex);
  if (device->num_idle_streams)
    stream = device->idle_streams[--device->num_idle_streams];
  pthread_mutex_unlock(&device->mutex);
  if (!stream && !check(device, g_driver.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate"))
    return NULL;
  return stream;
}

/* Compiled code destroys a stream after synchronising with it (gpu.wait): it is idle, and kept for reuse. */
static void gpu_stream_destroy(void *device_ctx, void *stream) {
  effc_device_t *device = device_ctx;
  if (!stream)
    return;
  pthread_mutex_lock(&device->mutex);
  int kept = 0;
  if (device->num_idle_streams == device->idle_streams_capacity) {
    size_t capacity = device->idle_streams_capacity ? 2 * device->idle_streams_capacity : 4;
    CUstream *grown = realloc(device->idle_streams, capacity * sizeof(*grown));
    if (grown) {
      device->idle_streams = grown;
      device->idle_streams_capacity = capacity;
    }
  }
  if (device->num_idle_streams < device->idle_streams_capacity) {
    device->idle_streams[device->num_idle_streams++] = stream;
    kept = 1;
  }
  pthread_mutex_unlock(&device->mutex);
  if (!kept && g_driver.cuCtxSetCurrent(device->context) == 0)
    g_driver.cuStreamDestroy(stream);
}

static void gpu_stream_synchronize(void *device_ctx, void *stream) {
  effc_device_t *device = device_ctx;
  if (enter(device))
    check(device, g_driver.cuStreamSynchronize(stream), "cuStreamSynchronize (a kernel failed)");
}

static void gpu_stream_wait_event(void *device_ctx, void *stream, void *event) {
  effc_device_t *device = device_ctx;
  if (event && enter(device))
    check(device, g_driver.cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
}

static void *gpu_event_create(void *device_ctx) {
  effc_device_t *device = device_ctx;
  CUevent event = NULL;
  if (!enter(device) || !check(device, g_driver.cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), "cuEventCreate"))
    return NULL;
  return event;
}

static void gpu_event_destroy(void *device_ctx, void *event) {
  effc_device_t *device = device_ctx;
  if (event && g_driver.cuCtxSetCurrent(device->context) == 0)
    g_driver.cuEventDestroy(event);
}

static void gpu_event_record(void *device_ctx, void *event, void *stream) {
  effc_device_t *device = device_ctx;
  if (event && enter(device))
    check(device, g_driver.cuEventRecord(event, stream), "cuEventRecord");
}

static void gpu_event_synchronize(void *device_ctx, void *event) {
  effc_device_t *device = device_ctx;
  if (event && enter(device))
    check(device, g_driver.cuEventSynchronize(event), "cuEventSynchronize (a kernel failed)");
}

/* Device memory (not host_shared) with a stream comes from the device's memory pool, ordered on the
 * stream (cuMemAllocAsync): compiled code allocates the buffers that only kernels touch this way, and
 * frees them on the stream too, so neither waits for the kernels queued before it. */
static void *gpu_mem_alloc(void *device_ctx, uint64_t bytes, void *stream, int8_t host_shared) {
  effc_device_t *device = device_ctx;
  CUdeviceptr ptr = 0;
  size_t size = bytes ? (size_t)bytes : 1;
  if (!enter(device))
    return NULL;
  const char *what = host_shared ? "cuMemAllocManaged" : stream ? "cuMemAllocAsync" : "cuMemAlloc";
  CUresult result = host_shared ? g_driver.cuMemAllocManaged(&ptr, size, CU_MEM_ATTACH_GLOBAL)
                    : stream    ? g_driver.cuMemAllocAsync(&ptr, size, stream)
                                : g_driver.cuMemAlloc(&ptr, size);
  if (result != 0) {
    record_error(device, effc_status_annotate(cuda_status(result, what), "allocating %llu bytes of GPU memory",
                                              (unsigned long long)bytes));
    return NULL;
  }
  return (void *)(uintptr_t)ptr;
}

static void gpu_mem_free(void *device_ctx, void *ptr, void *stream) {
  effc_device_t *device = device_ctx;
  if (!ptr || g_driver.cuCtxSetCurrent(device->context) != 0)
    return;
  if (stream)
    check(device, g_driver.cuMemFreeAsync((CUdeviceptr)(uintptr_t)ptr, stream), "cuMemFreeAsync");
  else
    g_driver.cuMemFree((CUdeviceptr)(uintptr_t)ptr);
}

static void gpu_memcpy(void *device_ctx, void *dst, const void *src, uint64_t bytes, void *stream) {
  effc_device_t *device = device_ctx;
  if (bytes && enter(device))
    check(device,
          g_driver.cuMemcpyAsync((CUdeviceptr)(uintptr_t)dst, (CUdeviceptr)(uintptr_t)src, (size_t)bytes, stream),
          "cuMemcpyAsync");
}

static void gpu_memset32(void *device_ctx, void *dst, int32_t value, uint64_t count, void *stream) {
  effc_device_t *device = device_ctx;
  if (count && enter(device))
    check(device, g_driver.cuMemsetD32Async((CUdeviceptr)(uintptr_t)dst, (unsigned)value, (size_t)count, stream),
          "cuMemsetD32Async");
}

static void gpu_memset16(void *device_ctx, void *dst, int16_t value, uint64_t count, void *stream) {
  effc_device_t *device = device_ctx;
  if (count && enter(device))
    check(device,
          g_driver.cuMemsetD16Async((CUdeviceptr)(uintptr_t)dst, (unsigned short)value, (size_t)count, stream),
          "cuMemsetD16Async");
}

static void gpu_call_once(void *device_ctx, int32_t *flag, void (*fn)(void)) {
  (void)device_ctx;
  pthread_mutex_lock(&g_once_mutex);
  if (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
    fn();
    __atomic_store_n(flag, 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&g_once_mutex);
}

static const void *gpu_constant(void *device_ctx, const void *host, uint64_t bytes) {
  effc_device_t *device = device_ctx;
  const void *found = NULL;
  pthread_mutex_lock(&device->mutex);
  for (size_t i = 0; i < device->num_constants && !found; ++i)
    if (device->constants[i].host == host && device->constants[i].bytes == bytes)
      found = (const void *)(uintptr_t)device->constants[i].device;
  pthread_mutex_unlock(&device->mutex);
  if (found || !enter(device))
    return found;
  /* Copy outside the lock; a racing thread may make a second copy, which is freed below. */
  CUdeviceptr copy = 0;
  if (!check(device, g_driver.cuMemAlloc(&copy, bytes ? (size_t)bytes : 1), "cuMemAlloc (weights)"))
    return NULL;
  /* From pageable memory, cuMemcpy may return before the copy lands, and kernels queued on the
   * (non-blocking) streams of compiled code are not ordered after the legacy stream: wait for it. */
  if (bytes && (!check(device, g_driver.cuMemcpy(copy, (CUdeviceptr)(uintptr_t)host, (size_t)bytes),
                       "cuMemcpy (weights)") ||
                !check(device, g_driver.cuStreamSynchronize(NULL), "cuStreamSynchronize (weights)"))) {
    g_driver.cuMemFree(copy);
    return NULL;
  }
  pthread_mutex_lock(&device->mutex);
  for (size_t i = 0; i < device->num_constants && !found; ++i)
    if (device->constants[i].host == host && device->constants[i].bytes == bytes)
      found = (const void *)(uintptr_t)device->constants[i].device;
  if (!found && device->num_constants == device->constants_capacity) {
    size_t capacity = device->constants_capacity ? 2 * device->constants_capacity : 64;
    constant_entry_t *grown = realloc(device->constants, capacity * sizeof(*grown));
    if (grown) {
      device->constants = grown;
      device->constants_capacity = capacity;
    }
  }
  int stored = 0;
  if (!found && device->num_constants < device->constants_capacity) {
    device->constants[device->num_constants++] = (constant_entry_t){host, bytes, copy};
    found = (const void *)(uintptr_t)copy;
    stored = 1;
  }
  pthread_mutex_unlock(&device->mutex);
  if (!stored)
    g_driver.cuMemFree(copy);
  if (!found)
    record_error(device, effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory caching weights"));
  return found;
}

/*===----------------------------------------------------------------------===*
 * Device lifetime
 *===----------------------------------------------------------------------===*/

effc_status_t effc_device_create(effc_device_kind_t kind, int32_t ordinal, effc_device_t **out_device) {
  *out_device = NULL;
  if (kind != EFFC_DEVICE_CUDA)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "device kind '%s' has no devices to create",
                            effc_device_kind_name(kind));
  effc_status_t status = NULL;
  const cuda_driver_t *cu = driver(&status);
  if (!cu)
    return status;
  int count = 0;
  CUresult result = cu->cuDeviceGetCount(&count);
  if (result != 0)
    return cuda_status(result, "cuDeviceGetCount");
  if (ordinal < 0 || ordinal >= count)
    return effc_status_make(count ? EFFC_STATUS_NOT_FOUND : EFFC_STATUS_UNAVAILABLE,
                            "CUDA device %d does not exist (the driver reports %d device%s)", (int)ordinal, count,
                            count == 1 ? "" : "s");
  effc_device_t *device = calloc(1, sizeof(*device));
  if (!device)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  device->kind = kind;
  device->ordinal = ordinal;
  pthread_mutex_init(&device->mutex, NULL);
  int major = 0, minor = 0;
  char name[256] = "";
  if ((result = cu->cuDeviceGet(&device->cu_device, ordinal)) != 0 ||
      (result = cu->cuDeviceGetName(name, (int)sizeof(name), device->cu_device)) != 0 ||
      (result = cu->cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device->cu_device)) !=
          0 ||
      (result = cu->cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device->cu_device)) !=
          0 ||
      (result = cu->cuDevicePrimaryCtxRetain(&device->context, device->cu_device)) != 0) {
    pthread_mutex_destroy(&device->mutex);
    free(device);
    return effc_status_annotate(cuda_status(result, "opening the device"), "CUDA device %d", (int)ordinal);
  }
  device->compute_capability = major * 10 + minor;
  /* Keep freed stream-ordered memory in the pool between invocations instead of returning it to the driver
   * at every synchronisation (the default threshold, 0). Best effort: without it allocation is slower. */
  CUmemoryPool pool = NULL;
  uint64_t keep = UINT64_MAX;
  if (cu->cuDeviceGetDefaultMemPool(&pool, device->cu_device) == 0)
    cu->cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep);
  snprintf(device->description, sizeof(device->description), "%s (cuda:%d, sm_%d%d)", name, (int)ordinal, major,
           minor);
  device->services = (effc_abi_gpu_t){device,
                                      gpu_module_load,
                                      gpu_module_load_jit,
                                      gpu_module_unload,
                                      gpu_module_get_function,
                                      gpu_launch_kernel,
                                      gpu_stream_create,
                                      gpu_stream_destroy,
                                      gpu_stream_synchronize,
                                      gpu_stream_wait_event,
                                      gpu_event_create,
                                      gpu_event_destroy,
                                      gpu_event_record,
                                      gpu_event_synchronize,
                                      gpu_mem_alloc,
                                      gpu_mem_free,
                                      gpu_memcpy,
                                      gpu_memset32,
                                      gpu_memset16,
                                      gpu_call_once,
                                      gpu_constant};
  *out_device = device;
  return NULL;
}

void effc_device_release(effc_device_t *device) {
  if (!device)
    return;
  g_driver.cuCtxSetCurrent(device->context);
  g_driver.cuCtxSynchronize();
  for (size_t i = 0; i < device->num_constants; ++i)
    g_driver.cuMemFree(device->constants[i].device);
  for (size_t i = 0; i < device->num_idle_streams; ++i)
    g_driver.cuStreamDestroy(device->idle_streams[i]);
  free(device->idle_streams);
  while (device->modules) {
    module_entry_t *entry = device->modules;
    device->modules = entry->next;
    g_driver.cuModuleUnload(entry->module);
    free(entry);
  }
  g_driver.cuDevicePrimaryCtxRelease(device->cu_device);
  effc_status_free(device->error);
  free(device->constants);
  pthread_mutex_destroy(&device->mutex);
  free(device);
}

effc_device_kind_t effc_device_kind(const effc_device_t *device) { return device->kind; }
const char *effc_device_description(const effc_device_t *device) { return device->description; }
int32_t effc_device_compute_capability(const effc_device_t *device) { return device->compute_capability; }
const effc_abi_gpu_t *effc_device_services(const effc_device_t *device) { return &device->services; }

effc_status_t effc_device_check_module_target(const effc_device_t *device, const char *path, const char *target) {
  unsigned arch = 0;
  if (strncmp(target, "cuda:sm_", 8) != 0 || sscanf(target + 8, "%u", &arch) != 1)
    return effc_status_make(EFFC_STATUS_UNIMPLEMENTED, "'%s' was compiled for device '%s', which this runtime does "
                            "not know", path, target);
  if (!device)
    return effc_status_make(EFFC_STATUS_FAILED_PRECONDITION,
                            "'%s' was compiled for CUDA (sm_%u); create the runtime with the cuda device "
                            "(effc-run --device=cuda, effc_runtime_options_t.device = EFFC_DEVICE_CUDA)",
                            path, arch);
  if ((int32_t)arch > device->compute_capability)
    return effc_status_make(EFFC_STATUS_FAILED_PRECONDITION,
                            "'%s' was compiled for sm_%u, which %s cannot run; recompile with --cuda-arch=sm_%d",
                            path, arch, device->description, (int)device->compute_capability);
  return NULL;
}
