//===- cuda_attention_host.cpp - the CUDA attention kernels emulated on the host -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs ukernels/cuda/attention.cu on the CPU for test_cuda_attention.py: each block's threads are host threads
// meeting at a std::barrier for __syncthreads; the warp primitives (shuffle reductions, __syncwarp) are
// emulated with the block barrier and a scratch array, which is exact because the kernels' control flow is
// uniform across a block. Blocks run one after another, so the kernels' static shared arrays are the block's
// shared memory.
//
//===----------------------------------------------------------------------===//

#include <barrier>
#include <cmath>
#include <thread>
#include <vector>

namespace effc_cuda {
thread_local unsigned currentThread, currentBlockX, currentBlockY;
std::barrier<> *currentBarrier;
float scratch[1024];
inline unsigned threadIndex() { return currentThread; }
inline unsigned blockIndexX() { return currentBlockX; }
inline unsigned blockIndexY() { return currentBlockY; }
inline void barrier() { currentBarrier->arrive_and_wait(); }
} // namespace effc_cuda

namespace {
template <typename Combine> float warpReduce(float x, Combine combine) {
  unsigned thread = effc_cuda::currentThread, first = thread / 32 * 32;
  effc_cuda::scratch[thread] = x;
  effc_cuda::barrier();
  float result = effc_cuda::scratch[first];
  for (unsigned lane = 1; lane < 32; ++lane)
    result = combine(result, effc_cuda::scratch[first + lane]);
  effc_cuda::barrier();
  return result;
}
float warpMax(float x) { return warpReduce(x, [](float a, float b) { return std::fmax(a, b); }); }
float warpSum(float x) { return warpReduce(x, [](float a, float b) { return a + b; }); }
void warpSync() { effc_cuda::barrier(); }
float exp2Approx(float x) { return std::exp2(x); }
} // namespace

#define EFFC_CUDA_UK_HOST_EMULATION 1
#include "attention.cu"

/// The whole grid of one entry point, as effc-gpu-attention-ukernels launches it: `decode` picks
/// effc_cuda_uk_attention_decode_f32 (256 threads, one block per query row), else the prefill kernel (128
/// threads, 16 rows per block).
extern "C" void effc_test_attention(int decode, effc_index_t batch, EFFC_ATTENTION_PARAMS) {
  auto kernel = decode ? effc_cuda_uk_attention_decode_f32 : effc_cuda_uk_attention_f32;
  unsigned threads = decode ? 256 : 128;
  effc_index_t rowBlocks = decode ? queryLen : (queryLen + 15) / 16;
  for (effc_index_t bx = 0; bx < batch * heads; ++bx)
    for (effc_index_t by = 0; by < rowBlocks; ++by) {
      std::barrier<> block(threads);
      effc_cuda::currentBarrier = &block;
      std::vector<std::thread> pool;
      for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          effc_cuda::currentThread = t;
          effc_cuda::currentBlockX = bx;
          effc_cuda::currentBlockY = by;
          kernel(EFFC_ATTENTION_ARGS);
        });
      for (std::thread &thread : pool)
        thread.join();
    }
}
