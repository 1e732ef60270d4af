//===- cuda_ukernel.h - what every effc CUDA micro-kernel sees -*- CUDA -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Device micro-kernels are CUDA C++ functions that compiled models call from their GPU kernels for work that
// generic codegen does poorly (GEMMs). clang compiles them to NVPTX LLVM bitcode when effc is built
// (ukernels/CMakeLists.txt); effc embeds the bitcode and links it into a model's gpu.module when the module
// is serialised (effc-gpu-module-to-binary, docs/gpu.md), so they are compiled for the model's architecture
// together with its kernels.
//
// Freestanding: no CUDA headers and no libdevice (-nocudainc -nocudalib). The few CUDA keywords are spelled
// here as clang's attributes; thread and block indices come from clang's __nvvm_* builtins.
//
// Calling convention: exported functions are `extern "C" __device__`, named effc_cuda_uk_<name>, and called
// by every thread of a launch that the lowering made for them; they read the block and thread indices
// themselves. Pointers are generic (address space 0); sizes and strides are 64-bit. The build strips the
// functions' target attributes (StripTargetAttributes.cmake) so that they take the model's architecture.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_UKERNELS_CUDA_CUDA_UKERNEL_H
#define EFFC_UKERNELS_CUDA_CUDA_UKERNEL_H

typedef long long effc_index_t;

#ifdef EFFC_CUDA_UK_HOST_EMULATION
// Compiled as host C++ by the unit tests (test/ukernels/test_cuda_gemm.py), which run every thread of a block
// as a host thread and define effc_cuda::threadIndex, blockIndexX/Y and barrier before including a kernel.
// A block's shared memory is a static local: one copy that all its threads see.
#define __device__
#define __shared__ static
#define EFFC_CUDA_UK extern "C"
namespace effc_cuda {
inline void barrier(); // defined by the harness (test/ukernels/cuda_host_emulation.h)
} // namespace effc_cuda
#else
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
// Exported kernels are inlined into the calling kernel (no call ABI: parameters stay in registers).
#define EFFC_CUDA_UK extern "C" __device__ __attribute__((always_inline))

namespace effc_cuda {

__device__ inline unsigned threadIndex() { return __nvvm_read_ptx_sreg_tid_x(); }
__device__ inline unsigned blockIndexX() { return __nvvm_read_ptx_sreg_ctaid_x(); }
__device__ inline unsigned blockIndexY() { return __nvvm_read_ptx_sreg_ctaid_y(); }
__device__ inline void barrier() { __syncthreads(); }

} // namespace effc_cuda
#endif

namespace effc_cuda {

typedef float float4_t __attribute__((ext_vector_type(4)));
typedef unsigned uint2_t __attribute__((ext_vector_type(2)));
typedef unsigned uint4_t __attribute__((ext_vector_type(4)));

/// Elements first .. first + 3 of a row (stride apart), zero past `limit` or when the row is outside: one 16-byte
/// load when `vector` (unit stride and row + first 16-byte aligned) and all four are inside.
__device__ __attribute__((always_inline)) inline float4_t loadFour(const float *row, effc_index_t first,
                                                                   effc_index_t limit, effc_index_t stride,
                                                                   bool inside, bool vector) {
  if (vector && inside && first + 4 <= limit)
    return *static_cast<const float4_t *>(__builtin_assume_aligned(row + first, 16));
  float4_t four;
#pragma unroll
  for (int c = 0; c < 4; ++c)
    four[c] = inside && first + c < limit ? row[(first + c) * stride] : 0.0f;
  return four;
}

/// The 16-bit format a tensor-core kernel rounds its operands to (--cuda-matmul-precision=bf16 or f16); the
/// products are summed in f32 either way.
enum class Products { Bf16, F16 };

/// The two-stage pipeline of the tensor-core tiles over K in steps of `step` columns: `load(k0)` brings a step's
/// operands into registers, `store(stage)` writes them to one of two shared-memory stages, and
/// `compute(stage, storeNext)` multiplies a stage, calling `storeNext()` where the next step's operands may go
/// into the other stage (after its products are issued). A block barrier follows each step.
template <typename Load, typename Store, typename Compute>
__device__ __attribute__((always_inline)) inline void runTwoStages(effc_index_t K, effc_index_t step, Load load,
                                                                   Store store, Compute compute) {
  const effc_index_t steps = (K + step - 1) / step;
  if (steps > 0) {
    load(0);
    store(0);
    barrier();
  }
  for (effc_index_t s = 0; s < steps; ++s) {
    const int stage = s % 2;
    const bool more = s + 1 < steps;
    if (more)
      load((s + 1) * step);
    compute(stage, [&] {
      if (more)
        store(stage ^ 1);
    });
    barrier();
  }
}

/// Activations [B, S, K] with any strides, seen as rows: row t is row t % rowsPerBatch of batch t / rowsPerBatch,
/// its elements colStride apart.
struct ActivationRows {
  const float *x;
  effc_index_t rowsPerBatch, batchStride, rowStride, colStride;

  __device__ const float *row(effc_index_t t) const {
    return x + (t / rowsPerBatch) * batchStride + (t % rowsPerBatch) * rowStride;
  }
};

} // namespace effc_cuda

#endif // EFFC_UKERNELS_CUDA_CUDA_UKERNEL_H
