/*===- api.h - effc runtime C API -----------------------------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file declares the effc runtime: it loads a module compiled by effc (a shared object implementing
 * abi.h), introspects its functions and runs them on tensors. Typical use:
 *
 *   effc_runtime_options_t options;
 *   effc_runtime_options_initialize(&options);
 *   effc_runtime_t *runtime; effc_module_t *module; const effc_function_t *fn;
 *   EFFC_RETURN_IF_ERROR(effc_runtime_create(&options, &runtime));
 *   EFFC_RETURN_IF_ERROR(effc_module_load(runtime, "model.so", &module));
 *   EFFC_RETURN_IF_ERROR(effc_module_lookup_function(module, "main", &fn));
 *   EFFC_RETURN_IF_ERROR(effc_function_invoke(fn, inputs, 2, outputs, 1));
 *
 * Ownership follows IREE (and CoreFoundation): objects returned through `out_` parameters of _create,
 * _load, _wrap and _invoke are owned by the caller and released with the matching _release; pointers
 * returned by accessors are borrowed and live as long as the object they came from. Objects are reference
 * counted: _retain adds a reference. A module keeps its runtime alive, and a tensor keeps the runtime that
 * allocated it alive, so handles may be released in any order.
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_RUNTIME_API_H
#define EFFC_RUNTIME_API_H

#include <stddef.h>
#include <stdint.h>

#include "effc/runtime/abi.h"
#include "effc/runtime/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===*
 * Element types
 *===----------------------------------------------------------------------===*/

/// The element type's short name ("f32", "bf16", "i64", "bool", ...); "invalid" for unknown values.
EFFC_API const char *effc_dtype_name(effc_dtype_t dtype);

/// Bytes per element; 0 for unknown values.
EFFC_API size_t effc_dtype_size(effc_dtype_t dtype);

/// Highest rank the runtime accepts, in tensors and in module signatures.
#define EFFC_MAX_RANK 32

/*===----------------------------------------------------------------------===*
 * Runtime
 *===----------------------------------------------------------------------===*/

/// Where compiled code runs. Values are stable.
typedef enum effc_device_kind_e {
  EFFC_DEVICE_CPU = 0,  ///< the host CPU (every runtime has it)
  EFFC_DEVICE_CUDA = 1, ///< an NVIDIA GPU through the CUDA driver (libcuda.so.1, loaded at run time)
} effc_device_kind_t;

/// A runtime owns a thread pool and an allocator and lends both to the modules it loads.
/// Thread-safety: thread-safe. Any number of threads may load modules, create tensors and invoke functions
/// concurrently. parallel_for calls from compiled code run on the pool one at a time; a call made while
/// the pool is busy (or from inside a parallel body) runs serially on the calling thread.
typedef struct effc_runtime_t effc_runtime_t;

typedef struct effc_runtime_options_t {
  /// Threads that run parallel loops, counting the calling thread. 0 = all online cores.
  uint32_t num_threads;
  /// Cap on live bytes allocated through the runtime (activations, outputs, tensors). 0 = no limit.
  /// Freed blocks the runtime keeps for reuse count against it too (it lets them go before refusing).
  /// Loading also checks it against a module's weights and each call's minimum (effc_module_load).
  uint64_t memory_limit_bytes;
  /// Verify an module file's and external weights file's checksums when loading (reads every byte). Default 1.
  int verify_weights;
  /// Device that runs modules compiled for a GPU (EFFC_DEVICE_CPU: none). With EFFC_DEVICE_CUDA the
  /// runtime opens the CUDA driver and the device at creation (UNAVAILABLE without them), and its
  /// allocator hands out CUDA managed memory, which the host and the device both address.
  effc_device_kind_t device;
  /// Which device of that kind (CUDA device ordinal). Default 0.
  int32_t device_ordinal;
  /// How long, in microseconds, pool threads spin waiting for the next parallel loop (and a caller for the
  /// last chunks of one) before they sleep. Default 100: a model's loops follow each other within
  /// microseconds, and waking a sleeping thread takes about as long. 0 sleeps at once, which suits a
  /// machine whose cores other busy processes share (spinning then takes CPU time from them and from the
  /// caller). Ignored (no spinning) when num_threads exceeds the online cores.
  uint32_t spin_micros;
} effc_runtime_options_t;

/// Fills `out_options` with the defaults.
EFFC_API void effc_runtime_options_initialize(effc_runtime_options_t *out_options);

/// Creates a runtime and starts its worker threads (which sleep while idle). `options` may be NULL.
EFFC_API effc_status_t effc_runtime_create(const effc_runtime_options_t *options,
                                           effc_runtime_t **out_runtime);
EFFC_API void effc_runtime_retain(effc_runtime_t *runtime);
/// Drops a reference; the last one joins the worker threads. Accepts NULL.
EFFC_API void effc_runtime_release(effc_runtime_t *runtime);

/// Threads used by parallel loops, counting the caller.
EFFC_API size_t effc_runtime_num_threads(const effc_runtime_t *runtime);
/// How long pool threads spin before they sleep: the option's spin_micros, or 0 for a pool with more
/// threads than online cores.
EFFC_API uint32_t effc_runtime_spin_micros(const effc_runtime_t *runtime);
/// Bytes currently allocated through the runtime, and the high-water mark.
EFFC_API uint64_t effc_runtime_live_bytes(const effc_runtime_t *runtime);
EFFC_API uint64_t effc_runtime_peak_bytes(const effc_runtime_t *runtime);
/// Restarts the high-water mark from the bytes live now (to measure the peak of one phase or call).
EFFC_API void effc_runtime_reset_peak_bytes(effc_runtime_t *runtime);

/// The host services this runtime installs into modules (abi.h). Exposed for tests and for embedders that
/// call compiled code directly; the pointer lives as long as the runtime.
EFFC_API const effc_abi_host_t *effc_runtime_host(const effc_runtime_t *runtime);

/*===----------------------------------------------------------------------===*
 * Tensors
 *===----------------------------------------------------------------------===*/

/// A dense, row-major, contiguous n-d array. It either owns its 64-byte-aligned buffer (allocated through
/// a runtime, counted against its memory limit) or borrows memory owned by someone else.
/// Thread-safety: thread-compatible. Concurrent reads are safe; retain/release are atomic.
typedef struct effc_tensor_t effc_tensor_t;

/// Creates an owning, zero-filled tensor. `dims` holds `rank` non-negative extents.
EFFC_API effc_status_t effc_tensor_create(effc_runtime_t *runtime, effc_dtype_t dtype, size_t rank,
                                          const int64_t *dims, effc_tensor_t **out_tensor);

/// Called when a wrapped tensor is destroyed, to let the owner of the memory release it.
typedef void (*effc_tensor_release_fn_t)(void *user_data, void *data);

/// Wraps `data_size` bytes at `data` without copying. `data` must hold at least the tensor's byte size,
/// be aligned to the element size, and stay valid until the tensor is destroyed, at which point
/// `release_fn(release_user_data, data)` is called if `release_fn` is not NULL.
EFFC_API effc_status_t effc_tensor_wrap(effc_dtype_t dtype, size_t rank, const int64_t *dims, void *data,
                                        size_t data_size, effc_tensor_release_fn_t release_fn,
                                        void *release_user_data, effc_tensor_t **out_tensor);
EFFC_API void effc_tensor_retain(effc_tensor_t *tensor);
/// Drops a reference. Accepts NULL.
EFFC_API void effc_tensor_release(effc_tensor_t *tensor);

EFFC_API effc_dtype_t effc_tensor_dtype(const effc_tensor_t *tensor);
EFFC_API size_t effc_tensor_rank(const effc_tensor_t *tensor);
/// `rank` extents (borrowed; NULL-safe to read when rank is 0).
EFFC_API const int64_t *effc_tensor_dims(const effc_tensor_t *tensor);
EFFC_API int64_t effc_tensor_num_elements(const effc_tensor_t *tensor);
EFFC_API size_t effc_tensor_byte_size(const effc_tensor_t *tensor);
/// The first element. Writable unless the tensor wraps read-only memory. Owning tensors start 64-byte
/// aligned, except outputs that compiled code returned as a view at an offset into its buffer.
EFFC_API void *effc_tensor_data(const effc_tensor_t *tensor);

/*===----------------------------------------------------------------------===*
 * Modules and functions
 *===----------------------------------------------------------------------===*/

/// A loaded compiled module. Thread-safety: thread-safe (immutable after loading).
/// The shared object behind it is process-global: loading the same file twice returns two handles onto
/// one copy of its code and globals (dlopen reference counts it), so both must use the same runtime;
/// loading it with a second runtime while the first still holds it fails with FAILED_PRECONDITION.
typedef struct effc_module_t effc_module_t;

/// An entry point of a module; borrowed from the module and valid while it lives.
/// Thread-safety: thread-safe; effc-generated code is reentrant, so invocations may run concurrently.
typedef struct effc_function_t effc_function_t;

/// An input or output of a function. `dims` holds `rank` extents, EFFC_DYNAMIC_DIM where dynamic. The
/// pointers are borrowed from the module.
typedef struct effc_tensor_info_t {
  const char *name;
  effc_dtype_t dtype;
  size_t rank;
  const int64_t *dims;
} effc_tensor_info_t;

/// Loads the module at `path` (dlopen), checks its ABI version and header, installs `runtime`'s host
/// services and maps its external weights file, if any (verifying size and checksum). With a memory limit,
/// a module whose weights, or weights plus the largest effc_function_min_call_bytes of its functions,
/// exceed the limit is refused (RESOURCE_EXHAUSTED): no call of it could succeed.
EFFC_API effc_status_t effc_module_load(effc_runtime_t *runtime, const char *path,
                                        effc_module_t **out_module);
EFFC_API void effc_module_retain(effc_module_t *module);
/// Drops a reference; the last one unmaps the weights and dlcloses the shared object. Accepts NULL.
EFFC_API void effc_module_release(effc_module_t *module);

/// The module's producer string (e.g. "effc 0.1.0"); "" if it has none.
EFFC_API const char *effc_module_producer(const effc_module_t *module);
EFFC_API size_t effc_module_num_functions(const effc_module_t *module);
/// The index-th function, or NULL if out of range.
EFFC_API const effc_function_t *effc_module_function(const effc_module_t *module, size_t index);
/// Finds a function by name; NOT_FOUND (listing the available names) if there is none.
EFFC_API effc_status_t effc_module_lookup_function(const effc_module_t *module, const char *name,
                                                   const effc_function_t **out_function);

EFFC_API const char *effc_function_name(const effc_function_t *function);
EFFC_API size_t effc_function_num_inputs(const effc_function_t *function);
EFFC_API size_t effc_function_num_outputs(const effc_function_t *function);
/// A lower bound of the bytes one call holds at once from the runtime's allocator, for any input shapes
/// (abi.h, effc_abi_function_t.min_call_bytes): what the compiler knows statically of its activations and
/// outputs. 0 when nothing is known (dynamic shapes, a module compiled for a GPU).
EFFC_API uint64_t effc_function_min_call_bytes(const effc_function_t *function);
/// Signature of the index-th input/output; all fields zero (name NULL) if out of range.
EFFC_API effc_tensor_info_t effc_function_input(const effc_function_t *function, size_t index);
EFFC_API effc_tensor_info_t effc_function_output(const effc_function_t *function, size_t index);

/// Runs `function`. Each input must match its signature (dtype, rank, static extents); inputs are only
/// read. On success `outputs[0 .. num_outputs)` receive new owned tensors (release each one); on failure
/// they are set to NULL. An allocation refused inside compiled code (memory limit, or malloc failing) is
/// reported as RESOURCE_EXHAUSTED: the runtime unwinds out of the compiled code (which never sees the
/// refusal) and frees every buffer the call held, so the runtime and module stay usable.
EFFC_API effc_status_t effc_function_invoke(const effc_function_t *function,
                                            const effc_tensor_t *const *inputs, size_t num_inputs,
                                            effc_tensor_t **outputs, size_t num_outputs);

/*===----------------------------------------------------------------------===*
 * Devices
 *===----------------------------------------------------------------------===*/

/// A GPU the runtime drives (the CPU needs none). Created by effc_runtime_create for
/// effc_runtime_options_t.device, owned by the runtime, and borrowed through effc_runtime_device.
/// Thread-safety: thread-safe.
typedef struct effc_device_t effc_device_t;

/// "cpu" or "cuda"; "invalid" for unknown values.
EFFC_API const char *effc_device_kind_name(effc_device_kind_t kind);
/// Parses "cpu" or "cuda"; INVALID_ARGUMENT (listing the kinds) for anything else.
EFFC_API effc_status_t effc_device_kind_parse(const char *name, effc_device_kind_t *out_kind);

/// Opens device `ordinal` of `kind` (only EFFC_DEVICE_CUDA has devices). Without the CUDA driver this
/// returns UNAVAILABLE ("CUDA driver libcuda.so.1 not found: ..."); the environment variable
/// EFFC_CUDA_DRIVER names another driver library to load instead (tests use it).
EFFC_API effc_status_t effc_device_create(effc_device_kind_t kind, int32_t ordinal, effc_device_t **out_device);
/// Unloads the device's modules and frees its cached constants. Accepts NULL.
EFFC_API void effc_device_release(effc_device_t *device);
EFFC_API effc_device_kind_t effc_device_kind(const effc_device_t *device);
/// e.g. "NVIDIA H100 80GB HBM3 (cuda:0, sm_90)".
EFFC_API const char *effc_device_description(const effc_device_t *device);
/// Compute capability as major * 10 + minor (e.g. 90).
EFFC_API int32_t effc_device_compute_capability(const effc_device_t *device);
/// The GPU services (abi.h) that this device lends to compiled code. Exposed for tests.
EFFC_API const effc_abi_gpu_t *effc_device_services(const effc_device_t *device);

/// The runtime's device, or NULL for a CPU-only runtime.
EFFC_API effc_device_t *effc_runtime_device(const effc_runtime_t *runtime);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EFFC_RUNTIME_API_H */
