/*===- internal.h - shared internals of the effc runtime ------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file declares what the runtime's source files share but do not export: the tracked allocator,
 * per-invocation error recording, and tensor construction around an existing allocation.
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_RUNTIME_INTERNAL_H
#define EFFC_RUNTIME_INTERNAL_H

#include "effc/runtime/api.h"

#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>

/// Alignment of every buffer the runtime hands out.
#define EFFC_ALIGNMENT 64

/// 1 where the allocator keeps freed blocks for reuse (runtime.c); sanitizer builds free them at once, so
/// that a use after free stays visible.
#if defined(__SANITIZE_ADDRESS__)
#define EFFC_BLOCK_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define EFFC_BLOCK_CACHE 0
#endif
#endif
#ifndef EFFC_BLOCK_CACHE
#define EFFC_BLOCK_CACHE 1
#endif

/// One effc_function_invoke, as the host services see it (through a thread-local pointer that parallel_for
/// carries to the workers). Compiled code never sees a failed allocation: when `unwind` is set, a refused
/// allocation records itself here and longjmps out of the compiled code (see runtime.c), and the invoke
/// frees every block the call still holds (they carry its `id`) and reports the error.
typedef struct effc_invoke_context_t {
  atomic_uint_fast64_t failed_allocs;   ///< allocations refused (memory limit or malloc failure)
  atomic_uint_fast64_t first_failed_size; ///< size of the first refused allocation
  atomic_uint_fast64_t live_at_failure; ///< the runtime's live bytes when it was refused
  atomic_uint_fast64_t bad_requests;    ///< bad alignment, or free of a pointer alloc did not return
  uint64_t id;                          ///< tags the blocks allocated during the call (never 0)
  jmp_buf *unwind;                      ///< where the invoking thread resumes after a refusal; NULL: none
} effc_invoke_context_t;

/// Initializes `context` for a new call with a fresh id and no unwind target.
void effc_invoke_context_init(effc_invoke_context_t *context);

/// Makes `context` the calling thread's current invocation and returns the previous one.
effc_invoke_context_t *effc_invoke_context_exchange(effc_invoke_context_t *context);

/// Allocates `size` bytes (64-byte aligned, zero-filled) counted against the memory limit. The block is
/// marked as claimed (owned by a tensor), so it is never mistaken for a compiled-code output.
effc_status_t effc_runtime_allocate(effc_runtime_t *runtime, uint64_t size, void **out_ptr);
/// Releases a block from effc_runtime_allocate or from the host alloc service.
void effc_runtime_deallocate(effc_runtime_t *runtime, void *ptr);
/// If `ptr` is a live block from the host alloc service that nothing owns yet, marks it owned, stores its
/// size and returns 1; otherwise (a weight, an input, unknown memory, already owned) returns 0.
int effc_runtime_claim(effc_runtime_t *runtime, const void *ptr, uint64_t *out_size);
/// Frees every unclaimed block the host alloc service handed out during the call `context` (after an
/// unwind, those are the call's activations and its half-built outputs). Returns the bytes freed.
uint64_t effc_runtime_free_invoke_blocks(effc_runtime_t *runtime, const effc_invoke_context_t *context);
uint64_t effc_runtime_memory_limit(const effc_runtime_t *runtime);
int effc_runtime_verify_weights(const effc_runtime_t *runtime);

/// Creates a tensor owning `allocation` (a claimed runtime block) whose first element is at `data`.
/// Takes ownership of `allocation` even on failure.
effc_status_t effc_tensor_adopt(effc_runtime_t *runtime, effc_dtype_t dtype, size_t rank, const int64_t *dims,
                                void *allocation, void *data, effc_tensor_t **out_tensor);

/// Validates dims and computes element count and byte size (overflow-checked). `what` names the tensor in
/// messages.
effc_status_t effc_shape_byte_size(const char *what, effc_dtype_t dtype, size_t rank, const int64_t *dims,
                                   int64_t *out_num_elements, size_t *out_byte_size);

/* CUDA devices (cuda.c). */

/// Managed memory (host- and device-addressable) for the runtime's allocator; NULL on failure.
void *effc_device_alloc_shared(effc_device_t *device, uint64_t bytes);
void effc_device_free_shared(effc_device_t *device, void *ptr);
/// Waits for the device's work; a failure means a kernel faulted.
effc_status_t effc_device_synchronize(effc_device_t *device);
/// The first error GPU services recorded since the last call (NULL: none), and clears it.
effc_status_t effc_device_take_error(effc_device_t *device);
/// Whether a module compiled for `target` (its EFFC_MODULE_TARGET_SYMBOL string) can run on `device`
/// (NULL: a CPU-only runtime).
effc_status_t effc_device_check_module_target(const effc_device_t *device, const char *path, const char *target);
/// Whether `ptr` is a live block of the runtime's allocator.
int effc_runtime_owns(effc_runtime_t *runtime, const void *ptr);

#endif /* EFFC_RUNTIME_INTERNAL_H */
