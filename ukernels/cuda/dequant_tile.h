//===- dequant_tile.h - the weight-only quantized kernels' shared tile steps -*- CUDA -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The int4 (quantized_gemm.cu) and LUT (lut_gemm.cu) kernels share one tile shape: a block of BM rows and 256 /
// RowGroups columns, thread t owning column t % BN and TM rows, K in steps whose activations wait in shared
// memory; only the dequantisation of a weight differs. These are the steps they share.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_UKERNELS_CUDA_DEQUANT_TILE_H
#define EFFC_UKERNELS_CUDA_DEQUANT_TILE_H

#include "cuda_ukernel.h"

namespace effc_cuda {

/// Stages rows m0 .. m0 + BM of the activations, columns k0 .. k0 + BK, into xs; zeros outside M x K.
/// Consecutive threads take consecutive k.
template <int BM, int BK, int Threads>
__device__ __attribute__((always_inline)) inline void stageActivationRows(float (&xs)[BM][BK + 1], effc_index_t M,
                                                                          effc_index_t K, effc_index_t m0,
                                                                          effc_index_t k0, const ActivationRows &act) {
  for (int e = threadIndex(); e < BM * BK; e += Threads) {
    const int r = e / BK, kk = e % BK;
    const effc_index_t row = m0 + r, k = k0 + kk;
    xs[r][kk] = row < M && k < K ? act.row(row)[k * act.colStride] : 0.0f;
  }
}

/// Stores column n (if inside N) of rows firstRow .. firstRow + TM (those inside M): acc + bias[n] (bias null:
/// none); rows of y ldy apart.
template <int TM>
__device__ __attribute__((always_inline)) inline void storeColumn(const float (&acc)[TM], effc_index_t M,
                                                                  effc_index_t N, effc_index_t firstRow,
                                                                  effc_index_t n, const float *bias, float *y,
                                                                  effc_index_t ldy) {
  if (n >= N)
    return;
  const float b = bias ? bias[n] : 0.0f;
#pragma unroll
  for (int r = 0; r < TM; ++r)
    if (firstRow + r < M)
      y[(firstRow + r) * ldy + n] = acc[r] + b;
}

} // namespace effc_cuda

#endif // EFFC_UKERNELS_CUDA_DEQUANT_TILE_H
