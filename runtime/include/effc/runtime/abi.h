/*===- abi.h - the contract between compiled modules and the runtime -------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * A module compiled by effc is a shared object that exports one symbol, `effc_module_query`. It returns a
 * header describing the module's entry points, their tensor signatures and its weights. The runtime checks
 * the header's version, installs its host services (thread pool, allocator) and calls entry points through
 * a fixed-signature trampoline. Both the compiler (lib/Target) and the runtime include this file, so the
 * layout below is the ABI: change it only together with EFFC_ABI_VERSION.
 *
 * Tensors cross the boundary as MLIR ranked memref descriptors:
 *   struct { void *allocated; void *aligned; int64_t offset; int64_t sizes[rank]; int64_t strides[rank]; }
 * Inputs are borrowed (the caller owns the memory). Each output's `allocated` pointer comes from the host's
 * `alloc` service and belongs to the caller, who releases it with the host's `free`. An output may alias
 * an embedded weight (a constant folded to a weight) or an input; the runtime then copies it out.
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_RUNTIME_ABI_H
#define EFFC_RUNTIME_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change of the structures below. */
#define EFFC_ABI_VERSION 5u

/* The symbol a compiled module exports. */
#define EFFC_MODULE_QUERY_SYMBOL "effc_module_query"

/* Element types. Values are part of the ABI. */
typedef enum effc_dtype_e {
  EFFC_DTYPE_INVALID = 0,
  EFFC_DTYPE_F32 = 1,
  EFFC_DTYPE_F16 = 2,
  EFFC_DTYPE_BF16 = 3,
  EFFC_DTYPE_F64 = 4,
  EFFC_DTYPE_I64 = 5,
  EFFC_DTYPE_I32 = 6,
  EFFC_DTYPE_I8 = 7,
  EFFC_DTYPE_U8 = 8,
  EFFC_DTYPE_BOOL = 9, /* i1 stored as one byte */
  /* Signless integers in compiled code; the tag records how the model reads them (ONNX's int16/uint*). */
  EFFC_DTYPE_I16 = 10,
  EFFC_DTYPE_U16 = 11,
  EFFC_DTYPE_U32 = 12,
  EFFC_DTYPE_U64 = 13,
} effc_dtype_t;

/* A dimension whose extent is only known at run time. */
#define EFFC_DYNAMIC_DIM INT64_C(-1)

struct effc_abi_gpu_t;

/* Services the runtime lends to compiled code. Compiled code reads them through the module's host slot. */
typedef struct effc_abi_host_t {
  uint32_t version; /* EFFC_ABI_VERSION */
  /* Runs body(ctx, i) for every i in [0, n), possibly in parallel, and returns when all are done. */
  void (*parallel_for)(void *host_ctx, void (*body)(void *ctx, int64_t i), void *ctx, int64_t n);
  /* Aligned allocation of activations and outputs; free accepts what alloc returned. */
  void *(*alloc)(void *host_ctx, uint64_t size, uint64_t alignment);
  void (*free)(void *host_ctx, void *ptr);
  void *host_ctx;
  /* GPU services (below); NULL unless the runtime drives a GPU. Only modules compiled for a GPU read it. */
  const struct effc_abi_gpu_t *gpu;
} effc_abi_host_t;

/* One input or output of an entry point. */
typedef struct effc_abi_tensor_info_t {
  const char *name;
  uint32_t dtype; /* effc_dtype_t */
  uint32_t rank;
  const int64_t *dims; /* rank extents; EFFC_DYNAMIC_DIM where dynamic */
  /* Optional (NULL: none). For each dimension, -1, or a group id: every input dimension of a function with
   * the same group id must have the same extent at run time (the compiled code assumes it). */
  const int32_t *dim_groups;
} effc_abi_tensor_info_t;

/* One entry point (a public function of the compiled IR). */
typedef struct effc_abi_function_t {
  const char *name;
  /* args[0 .. num_outputs) point to output descriptors the callee fills in, followed by
   * args[num_outputs .. num_outputs + num_inputs) pointing to the input descriptors. */
  void (*invoke)(void **args);
  uint32_t num_inputs;
  uint32_t num_outputs;
  const effc_abi_tensor_info_t *inputs;
  const effc_abi_tensor_info_t *outputs;
  /* (v5) A lower bound of the bytes one call holds at once from the host's alloc, for any input shapes:
   * the statically known part of its activation arena, other buffers and outputs (a dynamic extent counts
   * as 0). 0: nothing known. With a memory limit, the runtime refuses to load a module whose weights plus
   * its largest min_call_bytes exceed the limit (docs/reliability.md). */
  uint64_t min_call_bytes;
} effc_abi_function_t;

/* The module header returned by effc_module_query. */
typedef struct effc_abi_module_t {
  uint32_t version; /* EFFC_ABI_VERSION of the compiler that wrote it; checked first */
  uint32_t num_functions;
  const effc_abi_function_t *functions;
  const char *producer; /* e.g. "effc 0.1.0" */
  /* Where compiled code finds the host services; the runtime stores them before the first call. */
  const effc_abi_host_t **host_slot;
  /* Weights. Embedded: weights_file is NULL and the bytes are inside the shared object. External:
   * weights_file names a file beside the shared object, which the runtime maps read-only and whose base
   * address it stores in *weights_base_slot before the first call. */
  const char *weights_file;
  void **weights_base_slot;
  uint64_t weights_size;     /* bytes (of the data, after the weights file's header); (v5) embedded: the bytes of
                              * the constants in the shared object, only checked against the memory limit */
  uint64_t weights_checksum; /* checksum.h's XXH64 of the weight bytes (external weights; 0 when embedded) */
  /* (v3) Identity of the weights this code was compiled against: XXH64 over the producer, the ABI
   * version and the weights' layout, size and checksum. The external weights file records the same value;
   * 0 when the weights are embedded. */
  uint64_t compile_id;
} effc_abi_module_t;

/* (v3) The header of an external weights file: 64 bytes, followed by weights_size bytes of data (so the
 * data stays 64-byte aligned in the mapping). */
#define EFFC_WEIGHTS_MAGIC "EFFCWTS"
typedef struct effc_abi_weights_header_t {
  char magic[8];         /* EFFC_WEIGHTS_MAGIC, NUL-terminated */
  uint32_t abi_version;  /* EFFC_ABI_VERSION of the compiler that wrote it */
  uint32_t header_size;  /* sizeof(effc_abi_weights_header_t) */
  uint64_t compile_id;   /* equal to the module header's compile_id */
  uint64_t data_size;    /* equal to the module header's weights_size */
  uint64_t checksum;     /* XXH64 of the data; equal to the module header's weights_checksum */
  char producer[24];     /* the module's producer string, NUL-padded */
} effc_abi_weights_header_t;

/* (v3) The trailer effc appends to every module file, after the ELF image (loaders ignore trailing bytes).
 * The runtime reads it before dlopen: a file without it, of another size, or whose checksum differs is
 * refused before any of its code is mapped. */
#define EFFC_TRAILER_MAGIC "EFFCMOD"
typedef struct effc_abi_module_trailer_t {
  uint64_t payload_size; /* bytes before the trailer */
  uint64_t checksum;     /* XXH64 of those bytes */
  uint32_t abi_version;  /* EFFC_ABI_VERSION */
  uint32_t trailer_size; /* sizeof(effc_abi_module_trailer_t) */
  char magic[8];         /* EFFC_TRAILER_MAGIC, NUL-terminated: the file's last 8 bytes */
} effc_abi_module_trailer_t;

/* Every checksum above is XXH64 with seed 0 (checksum.h). */

/* GPU services: the functions that host code lowered from the MLIR gpu dialect calls (MLIR's mgpu* runtime
 * API, with the device context first). `device_ctx` is passed back as the first argument of every call.
 * Compiled code cannot handle errors: a failing service records the first error in the device (which the
 * runtime reports when the invocation returns) and later services become no-ops returning NULL. Memory
 * from mem_alloc with host_shared set is CUDA managed memory, usable by the host and the device. */
typedef struct effc_abi_gpu_t {
  void *device_ctx;
  void *(*module_load)(void *device_ctx, const void *data, uint64_t size); /* cubin or fatbin */
  void *(*module_load_jit)(void *device_ctx, const void *ptx, int32_t opt_level);
  void (*module_unload)(void *device_ctx, void *module);
  void *(*module_get_function)(void *device_ctx, void *module, const char *name);
  void (*launch_kernel)(void *device_ctx, void *function, int64_t grid_x, int64_t grid_y, int64_t grid_z,
                        int64_t block_x, int64_t block_y, int64_t block_z, int32_t shared_bytes, void *stream,
                        void **params, void **extra, int64_t num_params);
  void *(*stream_create)(void *device_ctx);
  void (*stream_destroy)(void *device_ctx, void *stream);
  void (*stream_synchronize)(void *device_ctx, void *stream);
  void (*stream_wait_event)(void *device_ctx, void *stream, void *event);
  void *(*event_create)(void *device_ctx);
  void (*event_destroy)(void *device_ctx, void *event);
  void (*event_record)(void *device_ctx, void *event, void *stream);
  void (*event_synchronize)(void *device_ctx, void *event);
  void *(*mem_alloc)(void *device_ctx, uint64_t bytes, void *stream, int8_t host_shared);
  void (*mem_free)(void *device_ctx, void *ptr, void *stream);
  void (*memcpy)(void *device_ctx, void *dst, const void *src, uint64_t bytes, void *stream);
  void (*memset32)(void *device_ctx, void *dst, int32_t value, uint64_t count, void *stream);
  void (*memset16)(void *device_ctx, void *dst, int16_t value, uint64_t count, void *stream);
  /* Runs fn() exactly once per *flag (0 before, 1 after), serialised with other call_once calls: GPU
   * modules load their kernels lazily on the first invocation, once the host slot is set. */
  void (*call_once)(void *device_ctx, int32_t *flag, void (*fn)(void));
  /* A device-visible copy of `bytes` constant bytes at `host` (a weight), made on first use and cached
   * by address for the device's lifetime. */
  const void *(*constant)(void *device_ctx, const void *host, uint64_t bytes);
} effc_abi_gpu_t;

/* A module compiled for a GPU also exports this symbol: a NUL-terminated string naming the device it
 * needs, "cuda:sm_<major><minor>". The runtime refuses to load such a module without that device. */
#define EFFC_MODULE_TARGET_SYMBOL "effc_module_target"

/* Returns the module header, or NULL if the module's ABI is newer than max_version. */
typedef const effc_abi_module_t *(*effc_module_query_fn_t)(uint32_t max_version);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EFFC_RUNTIME_ABI_H */
