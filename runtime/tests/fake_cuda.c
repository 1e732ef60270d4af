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
 * Streams behave like the GPU's: launches, copies and memsets queue on their stream and run, in order,
 * only when the host synchronises (cuStreamSynchronize of that stream, cuCtxSynchronize). While any work
 * is queued, every device allocation is mprotect'ed: a host access to device memory that is not ordered
 * after the kernels (a missing synchronisation) faults, and the fault handler names it and exits with 86.
 * Freeing memory (except with cuMemFreeAsync, which queues the free) or destroying a stream while work
 * is queued counts as `bad`. Stream-ordered allocations (cuMemAllocAsync) are counted apart.
 *
 * Environment: FAKE_CUDA_LOG=FILE appends one line of counts at exit ("loads=1 unloads=1 launches=N
 * allocs=A frees=F bad=B streams=S stream_syncs=Y ctx_syncs=C lost=L async_allocs=D order=H": launches
 * executed, streams created, synchronisations of a stream with queued work and of the context, work never
 * executed, stream-ordered allocations among the A, and a hash of the executed kernels' names in order); FAKE_CUDA_FAIL_LAUNCH=1 makes cuLaunchKernel fail
 * (CUDA_ERROR_LAUNCH_FAILED).
 *
 *===----------------------------------------------------------------------===*/

#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, SA_SIGINFO */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cuda_driver_api.h"

#define EXPORT __attribute__((visibility("default")))

/* Declares every entry point with the type the runtime calls it through: a definition below that differs
 * does not compile (calling through a mismatched pointer type is undefined; UBSan's -fsanitize=function
 * reports it). */
#define FAKE_CUDA_DECLARE(name, symbol, params) EXPORT CUresult symbol params;
EFFC_CUDA_FUNCTIONS(FAKE_CUDA_DECLARE)
#undef FAKE_CUDA_DECLARE

enum { OK = 0, INVALID_VALUE = 1, LAUNCH_FAILED = 719, INVALID_IMAGE = 200 };

static atomic_long g_loads, g_unloads, g_launches, g_allocs, g_frees, g_bad, g_streams, g_stream_syncs,
    g_ctx_syncs, g_async_allocs;
static int g_dummy;

/*===----------------------------------------------------------------------===*
 * Device memory (mmap'ed, so that it can be protected) and queued work; all under g_mutex.
 *===----------------------------------------------------------------------===*/

typedef struct allocation_t {
  uintptr_t base;
  size_t bytes; /* mapped: a whole number of pages */
} allocation_t;

typedef enum { OP_LAUNCH, OP_COPY, OP_SET32, OP_SET16, OP_FREE } op_kind_t;

typedef struct queued_op_t {
  op_kind_t kind;
  const char *name; /* OP_LAUNCH: the kernel */
  void *dst;
  const void *src;
  size_t count;
  unsigned value;
  struct queued_op_t *next;
} queued_op_t;

struct CUstream_st {
  queued_op_t *head, *tail;
  struct CUstream_st *next_live;
};

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static allocation_t *g_allocations;
static size_t g_num_allocations, g_allocations_capacity;
static struct CUstream_st *g_live_streams;
static long g_queued; /* ops queued on all streams */
static int g_protected;
static uint64_t g_order = 1469598103934665603ull; /* FNV-1a of the executed kernels' names */

static void protect_all(int protect) {
  for (size_t i = 0; i < g_num_allocations; ++i)
    mprotect((void *)g_allocations[i].base, g_allocations[i].bytes, protect ? PROT_NONE : PROT_READ | PROT_WRITE);
  g_protected = protect;
}

static void fault_handler(int signal, siginfo_t *info, void *context) {
  (void)context;
  uintptr_t address = (uintptr_t)info->si_addr;
  for (size_t i = 0; g_protected && i < g_num_allocations; ++i)
    if (address >= g_allocations[i].base && address < g_allocations[i].base + g_allocations[i].bytes) {
      static const char message[] = "fake_cuda: the host accessed device memory while GPU work was queued "
                                    "(a missing stream synchronisation)\n";
      ssize_t ignored = write(2, message, sizeof(message) - 1);
      (void)ignored;
      _exit(86);
    }
  struct sigaction fallback = {.sa_handler = SIG_DFL};
  sigaction(signal, &fallback, NULL);
  raise(signal);
}

static void install_fault_handler(void) __attribute__((constructor));
static void install_fault_handler(void) {
  struct sigaction action = {.sa_sigaction = fault_handler, .sa_flags = SA_SIGINFO};
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, NULL);
  sigaction(SIGBUS, &action, NULL);
}

static void report(void) __attribute__((destructor));
static void report(void) {
  const char *path = getenv("FAKE_CUDA_LOG");
  FILE *log = path ? fopen(path, "a") : NULL;
  if (!log)
    return;
  pthread_mutex_lock(&g_mutex);
  long lost = g_queued;
  pthread_mutex_unlock(&g_mutex);
  fprintf(log,
          "loads=%ld unloads=%ld launches=%ld allocs=%ld frees=%ld bad=%ld streams=%ld stream_syncs=%ld "
          "ctx_syncs=%ld lost=%ld async_allocs=%ld order=%llu\n",
          atomic_load(&g_loads), atomic_load(&g_unloads), atomic_load(&g_launches), atomic_load(&g_allocs),
          atomic_load(&g_frees), atomic_load(&g_bad), atomic_load(&g_streams), atomic_load(&g_stream_syncs),
          atomic_load(&g_ctx_syncs), lost, atomic_load(&g_async_allocs), (unsigned long long)(g_order % 1000000007ull));
  fclose(log);
}

/* Queues `op` on `stream` (the legacy stream NULL runs it at once, as the synchronous API does). */
static CUresult enqueue(CUstream stream, queued_op_t op);
static void release(size_t index);

static void execute(const queued_op_t *op) {
  switch (op->kind) {
  case OP_LAUNCH:
    for (const char *c = op->name; *c; ++c)
      g_order = (g_order ^ (unsigned char)*c) * 1099511628211ull;
    g_order = (g_order ^ '\n') * 1099511628211ull;
    atomic_fetch_add(&g_launches, 1);
    break;
  case OP_COPY:
    memmove(op->dst, op->src, op->count);
    break;
  case OP_SET32:
    for (size_t i = 0; i < op->count; ++i)
      ((uint32_t *)op->dst)[i] = op->value;
    break;
  case OP_SET16:
    for (size_t i = 0; i < op->count; ++i)
      ((uint16_t *)op->dst)[i] = (uint16_t)op->value;
    break;
  case OP_FREE:
    for (size_t i = 0; i < g_num_allocations; ++i)
      if (g_allocations[i].base == (uintptr_t)op->dst) {
        release(i);
        return;
      }
    atomic_fetch_add(&g_bad, 1); /* not an allocation */
    break;
  }
}

/* Runs the work queued on `stream`, in order. Called with g_mutex held. */
static void drain(struct CUstream_st *stream) {
  if (!stream->head)
    return;
  protect_all(0);
  while (stream->head) {
    queued_op_t *op = stream->head;
    stream->head = op->next;
    execute(op);
    free(op);
    --g_queued;
  }
  stream->tail = NULL;
  if (g_queued)
    protect_all(1);
}

static CUresult enqueue(CUstream stream, queued_op_t op) {
  pthread_mutex_lock(&g_mutex);
  if (!stream) {
    int was_protected = g_protected;
    protect_all(0);
    execute(&op);
    if (was_protected)
      protect_all(1);
    pthread_mutex_unlock(&g_mutex);
    return OK;
  }
  queued_op_t *copy = malloc(sizeof(*copy));
  if (!copy) {
    pthread_mutex_unlock(&g_mutex);
    return INVALID_VALUE;
  }
  *copy = op;
  copy->next = NULL;
  if (stream->tail)
    stream->tail->next = copy;
  else
    stream->head = copy;
  stream->tail = copy;
  ++g_queued;
  protect_all(1); /* also protects memory allocated since the last synchronisation */
  pthread_mutex_unlock(&g_mutex);
  return OK;
}

/*===----------------------------------------------------------------------===*
 * Driver API
 *===----------------------------------------------------------------------===*/

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
EXPORT CUresult cuCtxSynchronize(void) {
  atomic_fetch_add(&g_ctx_syncs, 1);
  pthread_mutex_lock(&g_mutex);
  for (struct CUstream_st *stream = g_live_streams; stream; stream = stream->next_live)
    drain(stream);
  pthread_mutex_unlock(&g_mutex);
  return OK;
}

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
  (void)extra;
  if (getenv("FAKE_CUDA_FAIL_LAUNCH"))
    return LAUNCH_FAILED;
  if (!function || !params || !gx || !gy || !gz || !bx || !by || !bz || (uint64_t)bx * by * bz > 1024 ||
      bz > 64 || gy > 65535 || gz > 65535 || shared_bytes > 48 * 1024) {
    atomic_fetch_add(&g_bad, 1);
    return INVALID_VALUE;
  }
  /* The function handle is the kernel's name (cuModuleGetFunction), which lives in the module's globals. */
  return enqueue(stream, (queued_op_t){.kind = OP_LAUNCH, .name = (const char *)function});
}

EXPORT CUresult cuStreamCreate(CUstream *stream, unsigned flags) {
  (void)flags;
  struct CUstream_st *created = calloc(1, sizeof(*created));
  if (!created)
    return INVALID_VALUE;
  pthread_mutex_lock(&g_mutex);
  created->next_live = g_live_streams;
  g_live_streams = created;
  pthread_mutex_unlock(&g_mutex);
  atomic_fetch_add(&g_streams, 1);
  *stream = created;
  return OK;
}
EXPORT CUresult cuStreamDestroy_v2(CUstream stream) {
  if (!stream)
    return INVALID_VALUE;
  pthread_mutex_lock(&g_mutex);
  if (stream->head) { /* work never synchronised with: the host cannot know it finished */
    atomic_fetch_add(&g_bad, 1);
    drain(stream);
  }
  for (struct CUstream_st **link = &g_live_streams; *link; link = &(*link)->next_live)
    if (*link == stream) {
      *link = stream->next_live;
      break;
    }
  pthread_mutex_unlock(&g_mutex);
  free(stream);
  return OK;
}
EXPORT CUresult cuStreamSynchronize(CUstream stream) {
  pthread_mutex_lock(&g_mutex);
  if (stream && stream->head) {
    atomic_fetch_add(&g_stream_syncs, 1);
    drain(stream);
  }
  pthread_mutex_unlock(&g_mutex);
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
  /* Anonymous mappings are zeroed: kernels do not run here, so host code reading a kernel's output (MoE
   * routing counts, say) sees defined values, not whatever an allocator left. */
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t mapped = (bytes + page - 1) / page * page;
  void *block = mmap(NULL, mapped ? mapped : page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED)
    return INVALID_VALUE;
  pthread_mutex_lock(&g_mutex);
  if (g_num_allocations == g_allocations_capacity) {
    size_t capacity = g_allocations_capacity ? 2 * g_allocations_capacity : 256;
    allocation_t *grown = realloc(g_allocations, capacity * sizeof(*grown));
    if (!grown) {
      pthread_mutex_unlock(&g_mutex);
      munmap(block, mapped ? mapped : page);
      return INVALID_VALUE;
    }
    g_allocations = grown;
    g_allocations_capacity = capacity;
  }
  g_allocations[g_num_allocations++] = (allocation_t){(uintptr_t)block, mapped ? mapped : page};
  pthread_mutex_unlock(&g_mutex);
  *ptr = (CUdeviceptr)(uintptr_t)block;
  atomic_fetch_add(&g_allocs, 1);
  return OK;
}
EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) { return allocate(ptr, bytes); }
/* Stream-ordered allocation: the memory exists at once (the host must not touch it either way). */
EXPORT CUresult cuMemAllocAsync(CUdeviceptr *ptr, size_t bytes, CUstream stream) {
  if (!stream)
    return INVALID_VALUE;
  atomic_fetch_add(&g_async_allocs, 1);
  return allocate(ptr, bytes);
}
EXPORT CUresult cuMemFreeAsync(CUdeviceptr ptr, CUstream stream) {
  if (!stream)
    return INVALID_VALUE;
  return enqueue(stream, (queued_op_t){.kind = OP_FREE, .dst = (void *)(uintptr_t)ptr});
}
EXPORT CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice device) {
  *pool = (CUmemoryPool)&g_dummy;
  return device == 0 ? OK : INVALID_VALUE;
}
EXPORT CUresult cuMemPoolSetAttribute(CUmemoryPool pool, int attribute, void *value) {
  return pool == (CUmemoryPool)&g_dummy && attribute == CU_MEMPOOL_ATTR_RELEASE_THRESHOLD && value ? OK
                                                                                                  : INVALID_VALUE;
}
EXPORT CUresult cuMemAllocManaged(CUdeviceptr *ptr, size_t bytes, unsigned flags) {
  return flags == 1 ? allocate(ptr, bytes) : INVALID_VALUE;
}
EXPORT CUresult cuMemFree_v2(CUdeviceptr ptr) {
  pthread_mutex_lock(&g_mutex);
  size_t i = 0;
  while (i < g_num_allocations && g_allocations[i].base != (uintptr_t)ptr)
    ++i;
  if (i == g_num_allocations) {
    pthread_mutex_unlock(&g_mutex);
    atomic_fetch_add(&g_bad, 1);
    return INVALID_VALUE;
  }
  if (g_queued) /* a queued kernel may still use it */
    atomic_fetch_add(&g_bad, 1);
  release(i);
  pthread_mutex_unlock(&g_mutex);
  return OK;
}

/* Unmaps allocation `index`. Called with g_mutex held. */
static void release(size_t index) {
  munmap((void *)g_allocations[index].base, g_allocations[index].bytes);
  g_allocations[index] = g_allocations[--g_num_allocations];
  atomic_fetch_add(&g_frees, 1);
}
EXPORT CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  return enqueue(NULL, (queued_op_t){.kind = OP_COPY, .dst = (void *)(uintptr_t)dst,
                                     .src = (const void *)(uintptr_t)src, .count = bytes});
}
EXPORT CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  return enqueue(stream, (queued_op_t){.kind = OP_COPY, .dst = (void *)(uintptr_t)dst,
                                       .src = (const void *)(uintptr_t)src, .count = bytes});
}
EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count, CUstream stream) {
  return enqueue(stream, (queued_op_t){.kind = OP_SET32, .dst = (void *)(uintptr_t)dst, .count = count,
                                       .value = value});
}
EXPORT CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count, CUstream stream) {
  return enqueue(stream, (queued_op_t){.kind = OP_SET16, .dst = (void *)(uintptr_t)dst, .count = count,
                                       .value = value});
}
