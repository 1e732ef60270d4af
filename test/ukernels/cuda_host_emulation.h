//===- cuda_host_emulation.h - running CUDA micro-kernels on host threads -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// What the host harnesses of the device micro-kernels (cuda_*_host.cpp) share: a block's threads are host
// threads meeting at a std::barrier for __syncthreads, blocks run one after another (so a kernel's static
// shared arrays are the block's shared memory), and the PTX instructions of ukernels/cuda/ptx.h get host
// versions with the PTX ISA's semantics; warp-collective ones exchange values between a warp's 32 lanes through
// a table and two block barriers (every thread of a kernel reaches them in the same order). Include this, define
// the kernel's other instructions in namespace effc_cuda, then include the kernel's source (this header defines
// EFFC_CUDA_UK_HOST_EMULATION, which makes the kernels leave out their device versions of the instructions).
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_TEST_UKERNELS_CUDA_HOST_EMULATION_H
#define EFFC_TEST_UKERNELS_CUDA_HOST_EMULATION_H

#ifndef EFFC_CUDA_UK_HOST_EMULATION
#define EFFC_CUDA_UK_HOST_EMULATION 1
#endif
#include "cuda_ukernel.h"

#include <barrier>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace effc_cuda {
inline thread_local unsigned currentThread, currentBlockX, currentBlockY;
inline std::barrier<> *currentBarrier;
inline bool misaligned; // set by an access the device would fault on
inline unsigned threadIndex() { return currentThread; }
inline unsigned blockIndexX() { return currentBlockX; }
inline unsigned blockIndexY() { return currentBlockY; }
inline void barrier() { currentBarrier->arrive_and_wait(); }

inline bool aligned(const void *pointer, uintptr_t bytes) {
  if (reinterpret_cast<uintptr_t>(pointer) % bytes == 0)
    return true;
  misaligned = true;
  return false;
}

inline uint16_t toBf16(float value) { // round to nearest even, as cvt.rn.bf16x2.f32
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}
inline float fromBf16(uint16_t half) {
  uint32_t bits = static_cast<uint32_t>(half) << 16;
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}
inline unsigned packBf16(float lo, float hi) { return toBf16(lo) | static_cast<unsigned>(toBf16(hi)) << 16; }

inline uint16_t toF16(float value) { // round to nearest even, ±inf beyond ±65504, as cvt.rn.f16x2.f32
  _Float16 half = static_cast<_Float16>(value);
  uint16_t bits;
  std::memcpy(&bits, &half, 2);
  return bits;
}
inline float fromF16(uint16_t bits) {
  _Float16 half;
  std::memcpy(&half, &bits, 2);
  return static_cast<float>(half);
}
inline unsigned packF16(float lo, float hi) { return toF16(lo) | static_cast<unsigned>(toF16(hi)) << 16; }

/// The value of one 16-bit half of a packed pair in the product format P.
template <Products P>
inline float unpackHalf(unsigned word, int upper) {
  uint16_t bits = static_cast<uint16_t>(upper ? word >> 16 : word & 0xffffu);
  return P == Products::Bf16 ? fromBf16(bits) : fromF16(bits);
}

// Per warp: the row addresses of an ldmatrix.
inline const unsigned short *rowTable[32][32];

/// ldmatrix.x4 (a misaligned row reads zeros and is reported).
inline void loadMatrixX4(unsigned (&fragment)[4], const unsigned short *row) {
  unsigned warp = currentThread / 32, lane = currentThread % 32;
  rowTable[warp][lane] = aligned(row, 16) ? row : nullptr;
  barrier();
  for (int matrix = 0; matrix < 4; ++matrix) {
    const unsigned short *source = rowTable[warp][matrix * 8 + lane / 4];
    fragment[matrix] = 0;
    if (source)
      std::memcpy(&fragment[matrix], source + 2 * (lane % 4), 4);
  }
  barrier();
}

/// ldmatrix.x4.trans: each 8 x 8 matrix transposed on the way (lane l receives elements (2 (l % 4), l / 4) and
/// (2 (l % 4) + 1, l / 4) of each).
inline void loadMatrixX4Trans(unsigned (&fragment)[4], const unsigned short *row) {
  unsigned warp = currentThread / 32, lane = currentThread % 32;
  rowTable[warp][lane] = aligned(row, 16) ? row : nullptr;
  barrier();
  for (int matrix = 0; matrix < 4; ++matrix) {
    uint16_t halves[2] = {0, 0};
    for (int e = 0; e < 2; ++e)
      if (const unsigned short *source = rowTable[warp][matrix * 8 + 2 * (lane % 4) + e])
        halves[e] = source[lane / 4];
    fragment[matrix] = halves[0] | static_cast<unsigned>(halves[1]) << 16;
  }
  barrier();
}

// Per warp: the values of a shuffle.
inline float shuffleTable[32][32];

/// shfl.sync.bfly.b32 over the whole warp.
inline float shuffleXorF32(float v, int laneMask) {
  unsigned warp = currentThread / 32, lane = currentThread % 32;
  shuffleTable[warp][lane] = v;
  barrier();
  float r = shuffleTable[warp][lane ^ static_cast<unsigned>(laneMask)];
  barrier();
  return r;
}

// Per warp: the fragments of an mma.
inline unsigned mmaATable[32][32][4], mmaBTable[32][32][2];

/// mma.sync.m16n8k16 with f32 accumulation in the product format P: lane l holds A (row l / 4 (+8 for a1, a3),
/// k pair l % 4 (+4 for a2, a3)) and B (k pair l % 4 (+4 for b1), column l / 4) and accumulates C (row l / 4
/// (+8), columns 2 (l % 4) + 0, 1). The host sums in f32 in k order (the tensor cores' order differs).
template <Products P>
inline void mma16816Host(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  unsigned warp = currentThread / 32, lane = currentThread % 32;
  std::memcpy(mmaATable[warp][lane], a, sizeof(a));
  std::memcpy(mmaBTable[warp][lane], b, sizeof(b));
  barrier();
  auto aAt = [&](int row, int k) {
    return unpackHalf<P>(mmaATable[warp][(row % 8) * 4 + (k % 8) / 2][(row / 8) + 2 * (k / 8)], k % 2);
  };
  auto bAt = [&](int k, int col) { return unpackHalf<P>(mmaBTable[warp][col * 4 + (k % 8) / 2][k / 8], k % 2); };
  for (int e = 0; e < 4; ++e) {
    int row = lane / 4 + 8 * (e / 2), col = 2 * (lane % 4) + e % 2;
    float sum = acc[e];
    for (int k = 0; k < 16; ++k)
      sum += aAt(row, k) * bAt(k, col);
    acc[e] = sum;
  }
  barrier();
}
inline void mmaBf16(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  mma16816Host<Products::Bf16>(acc, a, b);
}
inline void mmaF16(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
  mma16816Host<Products::F16>(acc, a, b);
}

/// Runs `body` as every thread of every block of a (gridX, gridY) grid of `threads` threads; returns true if an
/// access would have been misaligned on the device.
template <typename Body>
bool runGrid(int64_t gridX, int64_t gridY, unsigned threads, Body body) {
  misaligned = false;
  for (int64_t by = 0; by < gridY; ++by)
    for (int64_t bx = 0; bx < gridX; ++bx) {
      std::barrier<> block(threads);
      currentBarrier = &block;
      std::vector<std::thread> pool;
      for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          currentThread = t;
          currentBlockX = static_cast<unsigned>(bx);
          currentBlockY = static_cast<unsigned>(by);
          body();
        });
      for (std::thread &thread : pool)
        thread.join();
    }
  return misaligned;
}

} // namespace effc_cuda

#endif // EFFC_TEST_UKERNELS_CUDA_HOST_EMULATION_H
