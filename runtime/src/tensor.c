/*===- tensor.c - effc runtime tensors and element types ------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements effc_tensor_t (an owning or borrowing dense row-major array) and the dtype helpers.
 * Owning tensors hold a block of their runtime's tracked allocator and a reference to the runtime.
 *
 *===----------------------------------------------------------------------===*/

#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct effc_tensor_t {
  atomic_size_t refcount;
  effc_dtype_t dtype;
  size_t rank;
  int64_t num_elements;
  size_t byte_size;
  void *data;
  /* Owning: the runtime block to free (allocation may precede data). */
  effc_runtime_t *runtime;
  void *allocation;
  /* Borrowing: how to tell the owner. */
  effc_tensor_release_fn_t release_fn;
  void *release_user_data;
  int64_t dims[]; /* rank extents */
};

const char *effc_dtype_name(effc_dtype_t dtype) {
  switch (dtype) {
  case EFFC_DTYPE_F32: return "f32";
  case EFFC_DTYPE_F16: return "f16";
  case EFFC_DTYPE_BF16: return "bf16";
  case EFFC_DTYPE_F64: return "f64";
  case EFFC_DTYPE_I64: return "i64";
  case EFFC_DTYPE_I32: return "i32";
  case EFFC_DTYPE_I8: return "i8";
  case EFFC_DTYPE_U8: return "u8";
  case EFFC_DTYPE_BOOL: return "bool";
  case EFFC_DTYPE_I16: return "i16";
  case EFFC_DTYPE_U16: return "u16";
  case EFFC_DTYPE_U32: return "u32";
  case EFFC_DTYPE_U64: return "u64";
  case EFFC_DTYPE_INVALID: break;
  }
  return "invalid";
}

size_t effc_dtype_size(effc_dtype_t dtype) {
  switch (dtype) {
  case EFFC_DTYPE_F64:
  case EFFC_DTYPE_I64:
  case EFFC_DTYPE_U64: return 8;
  case EFFC_DTYPE_F32:
  case EFFC_DTYPE_I32:
  case EFFC_DTYPE_U32: return 4;
  case EFFC_DTYPE_F16:
  case EFFC_DTYPE_BF16:
  case EFFC_DTYPE_I16:
  case EFFC_DTYPE_U16: return 2;
  case EFFC_DTYPE_I8:
  case EFFC_DTYPE_U8:
  case EFFC_DTYPE_BOOL: return 1;
  case EFFC_DTYPE_INVALID: break;
  }
  return 0;
}

effc_status_t effc_shape_byte_size(const char *what, effc_dtype_t dtype, size_t rank, const int64_t *dims,
                                   int64_t *out_num_elements, size_t *out_byte_size) {
  size_t element_size = effc_dtype_size(dtype);
  if (!element_size)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s: invalid dtype %d", what, (int)dtype);
  if (rank > EFFC_MAX_RANK)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s: rank %zu exceeds the maximum of %d", what, rank,
                            EFFC_MAX_RANK);
  if (rank && !dims)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s: dims is NULL", what);
  int empty = 0;
  for (size_t i = 0; i < rank; ++i) {
    if (dims[i] < 0)
      return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s dimension %zu: extent %lld is negative", what, i,
                              (long long)dims[i]);
    empty |= dims[i] == 0;
  }
  uint64_t count = empty ? 0 : 1;
  for (size_t i = 0; i < rank && count; ++i) { /* bytes stay below INT64_MAX for any element size <= 8 */
    if ((uint64_t)dims[i] > (uint64_t)(INT64_MAX / 8) / count)
      return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s: the number of elements overflows", what);
    count *= (uint64_t)dims[i];
  }
  *out_num_elements = (int64_t)count;
  *out_byte_size = (size_t)(count * element_size);
  return NULL;
}

/* Allocates the tensor object for a validated shape. */
static effc_status_t new_tensor(const char *what, effc_dtype_t dtype, size_t rank, const int64_t *dims,
                                effc_tensor_t **out_tensor) {
  *out_tensor = NULL;
  int64_t num_elements;
  size_t byte_size;
  EFFC_RETURN_IF_ERROR(effc_shape_byte_size(what, dtype, rank, dims, &num_elements, &byte_size));
  effc_tensor_t *tensor = calloc(1, sizeof(*tensor) + rank * sizeof(int64_t));
  if (!tensor)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  atomic_init(&tensor->refcount, 1);
  tensor->dtype = dtype;
  tensor->rank = rank;
  tensor->num_elements = num_elements;
  tensor->byte_size = byte_size;
  if (rank)
    memcpy(tensor->dims, dims, rank * sizeof(int64_t));
  *out_tensor = tensor;
  return NULL;
}

effc_status_t effc_tensor_create(effc_runtime_t *runtime, effc_dtype_t dtype, size_t rank, const int64_t *dims,
                                 effc_tensor_t **out_tensor) {
  *out_tensor = NULL;
  if (!runtime)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "effc_tensor_create: runtime is NULL");
  effc_tensor_t *tensor;
  EFFC_RETURN_IF_ERROR(new_tensor("tensor", dtype, rank, dims, &tensor));
  effc_status_t status = effc_runtime_allocate(runtime, tensor->byte_size, &tensor->allocation);
  if (status) {
    free(tensor);
    return status;
  }
  tensor->data = tensor->allocation;
  tensor->runtime = runtime;
  effc_runtime_retain(runtime);
  *out_tensor = tensor;
  return NULL;
}

effc_status_t effc_tensor_adopt(effc_runtime_t *runtime, effc_dtype_t dtype, size_t rank, const int64_t *dims,
                                void *allocation, void *data, effc_tensor_t **out_tensor) {
  effc_tensor_t *tensor;
  effc_status_t status = new_tensor("tensor", dtype, rank, dims, &tensor);
  if (status) {
    effc_runtime_deallocate(runtime, allocation);
    return status;
  }
  tensor->allocation = allocation;
  tensor->data = data;
  tensor->runtime = runtime;
  effc_runtime_retain(runtime);
  *out_tensor = tensor;
  return NULL;
}

effc_status_t effc_tensor_wrap(effc_dtype_t dtype, size_t rank, const int64_t *dims, void *data,
                               size_t data_size, effc_tensor_release_fn_t release_fn, void *release_user_data,
                               effc_tensor_t **out_tensor) {
  effc_tensor_t *tensor;
  EFFC_RETURN_IF_ERROR(new_tensor("wrapped tensor", dtype, rank, dims, &tensor));
  effc_status_t status = NULL;
  if (data_size < tensor->byte_size)
    status = effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "wrapped tensor needs %zu bytes, the buffer has %zu",
                              tensor->byte_size, data_size);
  else if (!data && tensor->byte_size)
    status = effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "wrapped tensor: data is NULL");
  else if ((uintptr_t)data % effc_dtype_size(dtype))
    status = effc_status_make(EFFC_STATUS_INVALID_ARGUMENT,
                              "wrapped tensor: data is not aligned to its %zu-byte elements",
                              effc_dtype_size(dtype));
  if (status) {
    free(tensor);
    return status;
  }
  tensor->data = data;
  tensor->release_fn = release_fn;
  tensor->release_user_data = release_user_data;
  *out_tensor = tensor;
  return NULL;
}

void effc_tensor_retain(effc_tensor_t *tensor) {
  if (tensor)
    atomic_fetch_add(&tensor->refcount, 1);
}

void effc_tensor_release(effc_tensor_t *tensor) {
  if (!tensor || atomic_fetch_sub(&tensor->refcount, 1) != 1)
    return;
  if (tensor->runtime) {
    effc_runtime_deallocate(tensor->runtime, tensor->allocation);
    effc_runtime_release(tensor->runtime);
  } else if (tensor->release_fn) {
    tensor->release_fn(tensor->release_user_data, tensor->data);
  }
  free(tensor);
}

effc_dtype_t effc_tensor_dtype(const effc_tensor_t *tensor) { return tensor->dtype; }
size_t effc_tensor_rank(const effc_tensor_t *tensor) { return tensor->rank; }
const int64_t *effc_tensor_dims(const effc_tensor_t *tensor) { return tensor->dims; }
int64_t effc_tensor_num_elements(const effc_tensor_t *tensor) { return tensor->num_elements; }
size_t effc_tensor_byte_size(const effc_tensor_t *tensor) { return tensor->byte_size; }
void *effc_tensor_data(const effc_tensor_t *tensor) { return tensor->data; }
