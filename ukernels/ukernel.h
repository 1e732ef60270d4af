/*===- ukernel.h - what every effc micro-kernel sees ------------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Micro-kernels are C functions that compiled models call for work that generic codegen does poorly
 * (quantized and sparse GEMMs). They are compiled to LLVM bitcode when effc is built, embedded in effc, and
 * linked into each model that calls them, then compiled for the model's target CPU together with it
 * (lib/Target/Ukernels.cpp). So they are part of the compiled artifact, not of the runtime.
 *
 * Three variants are built: `avx512bf16` (x86-64-v4 with VNNI and AVX512-BF16: Zen 4, Sapphire Rapids and
 * later), `avx512` (x86-64-v4 with VNNI: Ice Lake and later) and `generic` (x86-64); a model links the richest
 * one its CPU runs. Guard intrinsics with the feature macros (__AVX512F__, __AVX512VNNI__, __AVX512BF16__) and
 * keep a portable path that computes the same sums.
 *
 * Kernels are built freestanding (-ffreestanding, so -fno-builtin): call __builtin_memcpy / __builtin_memset,
 * which the compiler inlines for small sizes, never memcpy, which would be a real call into libc per use.
 *
 * Calling convention: exported kernels are named effc_uk_<name> and called from IR with func.call. Each
 * memref operand arrives as MLIR's expanded descriptor: (allocated, aligned, offset, sizes..., strides...);
 * element (i, j) of a 2-D operand `x` is x[x_offset + i * x_stride0 + j * x_stride1]. The EFFC_UK_MEMREF
 * macros spell those parameter lists.
 *
 *===----------------------------------------------------------------------===*/
#ifndef EFFC_UKERNELS_UKERNEL_H
#define EFFC_UKERNELS_UKERNEL_H

#include <stddef.h>
#include <stdint.h>

#define EFFC_UK_MEMREF1(T, name)                                                                               \
  T *name##_allocated, T *name, int64_t name##_offset, int64_t name##_size0, int64_t name##_stride0
#define EFFC_UK_MEMREF2(T, name)                                                                               \
  T *name##_allocated, T *name, int64_t name##_offset, int64_t name##_size0, int64_t name##_size1,             \
      int64_t name##_stride0, int64_t name##_stride1
#define EFFC_UK_MEMREF3(T, name)                                                                               \
  T *name##_allocated, T *name, int64_t name##_offset, int64_t name##_size0, int64_t name##_size1,             \
      int64_t name##_size2, int64_t name##_stride0, int64_t name##_stride1, int64_t name##_stride2

/* Host services, defined in each compiled module over the runtime's host table (lib/Target). */

/* Runs body(ctx, i) for every i in [0, n) on the runtime's thread pool; returns when all are done. */
void effc_uk_parallel_for(void (*body)(void *ctx, int64_t i), void *ctx, int64_t n);
/* 64-byte aligned scratch memory from the runtime's allocator; effc_uk_free releases it. */
void *effc_uk_alloc(uint64_t bytes);
void effc_uk_free(void *ptr);

#define EFFC_UK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EFFC_UK_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* EFFC_UKERNELS_UKERNEL_H */
