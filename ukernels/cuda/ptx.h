//===- ptx.h - PTX instructions shared by the tensor-core micro-kernels -*- CUDA -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Inline-PTX wrappers that more than one device micro-kernel uses (mma_gemm.cu, sparse_gemm.cu). Each kernel's
// own instructions (its mma shape, cp.async, shuffles) stay in its file, one wrapper per product format. The host emulation of the kernels
// (test/ukernels/cuda_host_emulation.h) defines host versions of these functions instead, with the PTX ISA's
// semantics, so they are left out when EFFC_CUDA_UK_HOST_EMULATION is defined.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_UKERNELS_CUDA_PTX_H
#define EFFC_UKERNELS_CUDA_PTX_H

#include "cuda_ukernel.h"

#ifndef EFFC_CUDA_UK_HOST_EMULATION
namespace effc_cuda {

/// The shared-window address of a generic pointer to shared memory.
__device__ inline unsigned sharedAddress(const void *pointer) {
  unsigned long long address;
  asm("cvta.to.shared.u64 %0, %1;" : "=l"(address) : "l"(pointer));
  return static_cast<unsigned>(address);
}

/// Two floats as packed bf16 (round to nearest even): `lo` in the low half (the lower k).
__device__ inline unsigned packBf16(float lo, float hi) {
  unsigned packed;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(packed) : "f"(hi), "f"(lo));
  return packed;
}

/// Two floats as packed f16 (round to nearest even; beyond ±65504 they become ±inf): `lo` in the low half.
__device__ inline unsigned packF16(float lo, float hi) {
  unsigned packed;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(packed) : "f"(hi), "f"(lo));
  return packed;
}

/// ldmatrix.x4: lane l gives the address of row l % 8 of 8 x 8 matrix l / 8 (16 bytes of b16) and receives
/// word l % 4 of row l / 4 of each matrix.
__device__ inline void loadMatrixX4(unsigned (&fragment)[4], const unsigned short *sharedRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(fragment[0]), "=r"(fragment[1]), "=r"(fragment[2]), "=r"(fragment[3])
               : "r"(sharedAddress(sharedRow)));
}

} // namespace effc_cuda
#endif

namespace effc_cuda {
/// Two floats rounded to the product format P and packed, `lo` in the low half (the lower k).
template <Products P>
__device__ inline unsigned packPair(float lo, float hi) {
  return P == Products::Bf16 ? packBf16(lo, hi) : packF16(lo, hi);
}
} // namespace effc_cuda

#endif // EFFC_UKERNELS_CUDA_PTX_H
