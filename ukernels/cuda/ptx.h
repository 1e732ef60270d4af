//===- ptx.h - PTX instructions shared by the tensor-core micro-kernels -*- CUDA -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Inline-PTX wrappers that more than one device micro-kernel uses (gemm.cu, mma_gemm.cu, sparse_gemm.cu,
// attention.cu). Each kernel's own instructions (its mma shape, cp.async, shuffles) stay in its file, one wrapper per
// product format. The host emulation of the kernels (test/ukernels/cuda_host_emulation.h) defines host versions of
// these functions instead, with the PTX ISA's semantics, so they are left out when EFFC_CUDA_UK_HOST_EMULATION is
// defined.
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

/// The value of lane (lane ^ laneMask) of the warp (shfl.sync.bfly, all lanes taking part).
__device__ inline float shuffleXorF32(float v, int laneMask) {
  float r;
  asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=f"(r) : "f"(v), "r"(laneMask));
  return r;
}

/// ldmatrix.x4: lane l gives the address of row l % 8 of 8 x 8 matrix l / 8 (16 bytes of b16) and receives
/// word l % 4 of row l / 4 of each matrix.
__device__ inline void loadMatrixX4(unsigned (&fragment)[4], const unsigned short *sharedRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(fragment[0]), "=r"(fragment[1]), "=r"(fragment[2]), "=r"(fragment[3])
               : "r"(sharedAddress(sharedRow)));
}

/// ldmatrix.x4.trans: as loadMatrixX4, each 8 x 8 matrix transposed: lane l receives elements (2 (l % 4), l / 4)
/// and (2 (l % 4) + 1, l / 4) (row, column) of each matrix.
__device__ inline void loadMatrixX4Trans(unsigned (&fragment)[4], const unsigned short *sharedRow) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(fragment[0]), "=r"(fragment[1]), "=r"(fragment[2]), "=r"(fragment[3])
               : "r"(sharedAddress(sharedRow)));
}

/// acc += A (16 x 16, row) · B (16 x 8, col) in bf16 with f32 accumulation, over the warp's fragments.
__device__ inline void mmaBf16(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
               "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
/// The same in f16.
__device__ inline void mmaF16(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, "
               "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

} // namespace effc_cuda
#endif

namespace effc_cuda {
/// mma.sync.m16n8k16 in the product format P (f32 accumulation). Fragments (lane l, g = l / 4, c = 2 (l % 4)):
/// A a0 = (row g, k c, c + 1), a1 = row g + 8, a2 = k + 8, a3 = both; B b0 = (k c, c + 1, column g), b1 = k + 8;
/// acc e = (row g + 8 (e / 2), column c + e % 2).
template <Products P>
__device__ __attribute__((always_inline)) inline void mma16816(float (&acc)[4], const unsigned (&a)[4],
                                                               const unsigned (&b)[2]) {
  if constexpr (P == Products::Bf16)
    mmaBf16(acc, a, b);
  else
    mmaF16(acc, a, b);
}

/// Two floats rounded to the product format P and packed, `lo` in the low half (the lower k).
template <Products P>
__device__ inline unsigned packPair(float lo, float hi) {
  return P == Products::Bf16 ? packBf16(lo, hi) : packF16(lo, hi);
}
} // namespace effc_cuda

#endif // EFFC_UKERNELS_CUDA_PTX_H
