/*===- npy.h - reading and writing NumPy .npy files -----------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file declares .npy support for effc tensors, so that tools and tests can exchange data with NumPy.
 * Supported: format versions 1.0, 2.0 and 3.0; C order; little-endian (or byte-sized) dtypes
 * '<f4' f32, '<f2' f16, '<f8' f64, '<i8' i64, '<i4' i32, '|i1' i8, '|u1' u8, '|b1' bool.
 * bf16 has no NumPy dtype: writing a bf16 tensor fails with UNIMPLEMENTED (convert it to f32 first).
 *
 * Thread-safety: reentrant.
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_RUNTIME_NPY_H
#define EFFC_RUNTIME_NPY_H

#include "effc/runtime/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Reads the .npy file at `path` into a new owning tensor allocated through `runtime`.
/// Errors: NOT_FOUND (no such file), INVALID_ARGUMENT (not a valid .npy file), UNIMPLEMENTED (Fortran
/// order, big-endian or unsupported dtype), DATA_LOSS (truncated data or trailing bytes).
EFFC_API effc_status_t effc_npy_read(effc_runtime_t *runtime, const char *path, effc_tensor_t **out_tensor);

/// One array of a .npz archive.
typedef struct effc_npz_entry_t {
  char *name;            /* the array's name (the entry's name without ".npy") */
  effc_tensor_t *tensor; /* owning */
} effc_npz_entry_t;

/// Reads every array of the .npz archive at `path` (as np.savez writes it: entries stored uncompressed; not
/// zip64). On success the caller owns `*out_entries` and releases it with effc_npz_free. Errors: as
/// effc_npy_read, plus UNIMPLEMENTED for compressed entries or zip64 archives.
EFFC_API effc_status_t effc_npz_read(effc_runtime_t *runtime, const char *path, size_t *out_count,
                                     effc_npz_entry_t **out_entries);

/// Releases what effc_npz_read returned.
EFFC_API void effc_npz_free(effc_npz_entry_t *entries, size_t count);

/// Writes `tensor` to `path` as a version 1.0 .npy file (replacing it).
EFFC_API effc_status_t effc_npy_write(const effc_tensor_t *tensor, const char *path);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EFFC_RUNTIME_NPY_H */
