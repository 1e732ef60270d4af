//===- cuda_attention_host.cpp - the CUDA attention kernels emulated on the host -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs ukernels/cuda/attention.cu on the CPU for test_cuda_attention.py with cuda_host_emulation.h: each
// block's threads are host threads meeting at a std::barrier for __syncthreads; the warp primitives (shuffle
// reductions over a warp or a quad, __syncwarp) are emulated with the block barrier and a scratch array, which
// is exact because the kernels' control flow is uniform across a block; ldmatrix (plain and transposed) and
// mma.sync come from the shared emulation. Blocks run one after another, so the kernels' static shared arrays
// are the block's shared memory.
//
//===----------------------------------------------------------------------===//

#include "cuda_host_emulation.h"

#include <cmath>

namespace effc_cuda {
float scratch[1024];
} // namespace effc_cuda

namespace {
/// Combines x over the `width` consecutive lanes (a warp: 32, a quad: 4) that include this thread's.
template <typename Combine> float laneReduce(float x, unsigned width, Combine combine) {
  unsigned thread = effc_cuda::currentThread, first = thread / width * width;
  effc_cuda::scratch[thread] = x;
  effc_cuda::barrier();
  float result = effc_cuda::scratch[first];
  for (unsigned lane = 1; lane < width; ++lane)
    result = combine(result, effc_cuda::scratch[first + lane]);
  effc_cuda::barrier();
  return result;
}
float maximum(float a, float b) { return std::fmax(a, b); }
float add(float a, float b) { return a + b; }
float warpMax(float x) { return laneReduce(x, 32, maximum); }
float warpSum(float x) { return laneReduce(x, 32, add); }
float quadMax(float x) { return laneReduce(x, 4, maximum); }
float quadSum(float x) { return laneReduce(x, 4, add); }
void warpSync() { effc_cuda::barrier(); }
float exp2Approx(float x) { return std::exp2(x); }
} // namespace

#include "attention.cu"

/// The whole grid of one entry point, as effc-gpu-attention-ukernels launches it: `kernel` 0 is
/// effc_cuda_uk_attention_decode_f32 (256 threads, one block per query row), 1 the f32 prefill kernel (128
/// threads, 16 rows per block), 2-5 the tensor-core prefill kernels bf16 d64, bf16 d128, f16 d64, f16 d128 (128
/// threads, 64 rows per block). Returns 1 if an access would have been misaligned on the device.
extern "C" int effc_test_attention(int kernel, effc_index_t batch, EFFC_ATTENTION_PARAMS) {
  using Entry = void (*)(EFFC_ATTENTION_PARAMS);
  const Entry entries[] = {effc_cuda_uk_attention_decode_f32,  effc_cuda_uk_attention_f32,
                           effc_cuda_uk_attention_mma_bf16_d64, effc_cuda_uk_attention_mma_bf16_d128,
                           effc_cuda_uk_attention_mma_f16_d64,  effc_cuda_uk_attention_mma_f16_d128};
  Entry entry = entries[kernel];
  unsigned threads = kernel == 0 ? 256 : 128;
  effc_index_t rowsPerBlock = kernel == 0 ? 1 : kernel == 1 ? 16 : 64;
  return effc_cuda::runGrid(batch * heads, (queryLen + rowsPerBlock - 1) / rowsPerBlock, threads,
                            [&] { entry(EFFC_ATTENTION_ARGS); })
             ? 1
             : 0;
}
