//===- cuda_sparse_gemm_host.cpp - the N:M sparse device kernels emulated on the host -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs ukernels/cuda/sparse_gemm.cu on the CPU for test_cuda_sparse_gemm.py, like cuda_mma_gemm_host.cpp: a
// block's 256 threads are host threads meeting at a std::barrier, blocks run one after another, and the PTX
// instructions the kernels wrap get host versions: ldmatrix.x4, mma.sp.m16n8k32 (bf16) and shfl.sync.bfly
// exchange values between the 32 lanes of a warp through tables and two block barriers (every thread of a
// kernel reaches them in the same order). mma.sp follows the PTX ISA's fragment and metadata layouts for
// m16n8k32 with 16-bit types and sparsity selector 0: A's 16 stored values per row as mma.m16n8k16's A
// fragment, B's 32 x 8 as four k-slices of 8 (b_i: k = 8i + 2 (lane % 4) + 0, 1, column lane / 4), and in lanes
// 4g and 4g + 1 the 2-bit indices of rows g (low half) and g + 8 (high half) for columns 0-15 and 16-31. A
// group's index pair that is not ascending is reported: plain mma.sp refuses equal indices only, but ascending
// pairs are what eff-sparsify stores and what mma.sp::ordered_metadata requires.
//
//===----------------------------------------------------------------------===//

#include "cuda_host_emulation.h"

namespace effc_cuda {
bool badMetadata; // an index pair that is not ascending

// Per warp: the operands of an mma.sp.
unsigned aTable[8][32][4], bTable[8][32][4], metaTable[8][32];

template <Products P>
inline void mmaSparseHost(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[4], unsigned metadata) {
  unsigned warp = currentThread / 32, lane = currentThread % 32;
  std::memcpy(aTable[warp][lane], a, sizeof(a));
  std::memcpy(bTable[warp][lane], b, sizeof(b));
  metaTable[warp][lane] = metadata;
  barrier();
  auto half = [](unsigned word, int upper) { return unpackHalf<P>(word, upper); };
  // Stored value c (0..15) of row r: A fragment word (row % 8, pair (c % 8) / 2), register row / 8 + 2 (c / 8).
  auto aAt = [&](int row, int c) {
    return half(aTable[warp][(row % 8) * 4 + (c % 8) / 2][row / 8 + 2 * (c / 8)], c % 2);
  };
  auto bAt = [&](int k, int col) { return half(bTable[warp][col * 4 + (k % 8) / 2][k / 8], k % 2); };
  // The column of stored value c of row r: group c / 2, index (c % 2) of the group's pair.
  auto columnOf = [&](int row, int c) {
    int group = c / 2;
    unsigned word = metaTable[warp][4 * (row % 8) + group / 4] >> (16 * (row / 8));
    unsigned pair = (word >> (4 * (group % 4))) & 15u;
    if ((pair & 3u) >= (pair >> 2))
      badMetadata = true;
    return 4 * group + static_cast<int>((pair >> (2 * (c % 2))) & 3u);
  };
  for (int e = 0; e < 4; ++e) {
    int row = lane / 4 + 8 * (e / 2), col = 2 * (lane % 4) + e % 2;
    float sum = acc[e];
    for (int c = 0; c < 16; ++c)
      sum += aAt(row, c) * bAt(columnOf(row, c), col);
    acc[e] = sum;
  }
  barrier();
}
inline void mmaSparseBf16(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[4], unsigned metadata) {
  mmaSparseHost<Products::Bf16>(acc, a, b, metadata);
}

/// mma.sp.m16n8k64 s8 x s8 -> s32. A: 16 x 32 stored bytes, lane (row % 8) · 4 + (c % 16) / 4 holding stored
/// entry c of row `row` in register row / 8 + 2 (c / 16), byte c % 4 (the dense m16n8k32 s8 layout of the
/// stored values). B: 64 x 8, lane col · 4 + (k % 16) / 4, register k / 16, byte k % 4. Metadata (all four
/// lanes, sparsity selector 0): lane 4g + 2 h + r holds the pairs of row g + 8 r, groups 8h..8h + 7 (columns
/// 32h..32h + 31), group j % 8 in bits 4 (j % 8).. (CUTLASS's SM89 emulation of this instruction, convert_E).
inline void mmaSparseS8(int (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[4], unsigned metadata) {
  unsigned warp = currentThread / 32, lane = currentThread % 32;
  std::memcpy(aTable[warp][lane], a, sizeof(a));
  std::memcpy(bTable[warp][lane], b, sizeof(b));
  metaTable[warp][lane] = metadata;
  barrier();
  auto byteOf = [](unsigned word, int index) {
    return static_cast<int>(static_cast<signed char>(word >> (8 * index)));
  };
  auto aAt = [&](int row, int c) {
    return byteOf(aTable[warp][(row % 8) * 4 + (c % 16) / 4][row / 8 + 2 * (c / 16)], c % 4);
  };
  auto bAt = [&](int k, int col) { return byteOf(bTable[warp][col * 4 + (k % 16) / 4][k / 16], k % 4); };
  auto columnOf = [&](int row, int c) {
    int group = c / 2;
    unsigned word = metaTable[warp][4 * (row % 8) + 2 * (group / 8) + row / 8];
    unsigned pair = (word >> (4 * (group % 8))) & 15u;
    if ((pair & 3u) >= (pair >> 2))
      badMetadata = true;
    return 4 * group + static_cast<int>((pair >> (2 * (c % 2))) & 3u);
  };
  for (int e = 0; e < 4; ++e) {
    int row = lane / 4 + 8 * (e / 2), col = 2 * (lane % 4) + e % 2;
    int sum = acc[e];
    for (int c = 0; c < 32; ++c)
      sum += aAt(row, c) * bAt(columnOf(row, c), col);
    acc[e] = sum;
  }
  barrier();
}
inline void mmaSparseF16(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[4], unsigned metadata) {
  mmaSparseHost<Products::F16>(acc, a, b, metadata);
}

// Separate functions, so that the host compiler does not contract them into an FMA either.
__attribute__((noinline)) float sparseMulRn(float a, float b) { return a * b; }
__attribute__((noinline)) float sparseAddRn(float a, float b) { return a + b; }


} // namespace effc_cuda

#include "sparse_gemm.cu"

namespace {

effc_index_t ceilDiv(effc_index_t a, effc_index_t b) { return (a + b - 1) / b; }

/// runGrid over 256-thread blocks, with the checks as status bits: 1 misaligned, 2 bad metadata.
template <typename Body>
int runBlocks(effc_index_t gridX, effc_index_t gridY, Body body) {
  effc_cuda::badMetadata = false;
  bool misaligned = effc_cuda::runGrid(gridX, gridY, 256, body);
  return (misaligned ? 1 : 0) | (effc_cuda::badMetadata ? 2 : 0);
}

} // namespace

/// The grid effc-gpu-sparse-linears launches for `kernel`: 0 the f32 tile (64 x 64), 1 the f32 GEMV (8 outputs x
/// 8 tokens per block), 2 / 3 the 2:4 tensor-core tiles 64 x 64 / 128 x 128 (outputs x tokens) with bf16
/// products, 4 / 5 the same with f16 products. Returns 1 if an
/// access would have been misaligned on the device, 2 if mma.sp met an index pair it does not accept.
extern "C" int effc_test_sparse_nm(int kernel, effc_index_t M, effc_index_t N, effc_index_t K, const float *x,
                                   effc_index_t rowsPerBatch, effc_index_t batchStride, effc_index_t rowStride,
                                   effc_index_t colStride, const float *values, effc_index_t ldv,
                                   const signed char *indices, effc_index_t ldi, effc_index_t n, effc_index_t m,
                                   const float *bias, float *y, effc_index_t ldy) {
  switch (kernel) {
  case 0:
    return runBlocks(ceilDiv(N, 64), ceilDiv(M, 64), [&] {
      effc_cuda_uk_sparse_nm_gemm_f32(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, values, ldv,
                                      indices, ldi, n, m, bias, y, ldy);
    });
  case 1:
    return runBlocks(ceilDiv(N, 8), ceilDiv(M, 8), [&] {
      effc_cuda_uk_sparse_nm_gemv_f32(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, values, ldv,
                                      indices, ldi, n, m, bias, y, ldy);
    });
  case 2:
    return runBlocks(ceilDiv(N, 64), ceilDiv(M, 64), [&] {
      effc_cuda_uk_sparse24_bf16_gemm_64x64(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, values,
                                            ldv, indices, ldi, bias, y, ldy);
    });
  case 3:
    return runBlocks(ceilDiv(N, 128), ceilDiv(M, 128), [&] {
      effc_cuda_uk_sparse24_bf16_gemm_128x128(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, values,
                                              ldv, indices, ldi, bias, y, ldy);
    });
  case 4:
    return runBlocks(ceilDiv(N, 64), ceilDiv(M, 64), [&] {
      effc_cuda_uk_sparse24_f16_gemm_64x64(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, values,
                                           ldv, indices, ldi, bias, y, ldy);
    });
  default:
    return runBlocks(ceilDiv(N, 128), ceilDiv(M, 128), [&] {
      effc_cuda_uk_sparse24_f16_gemm_128x128(M, N, K, x, rowsPerBatch, batchStride, rowStride, colStride, values,
                                             ldv, indices, ldi, bias, y, ldy);
    });
  }
}

/// The int8 N:4 tile (or with `mma` the int8 2:4 tensor-core tile) over the grid effc-gpu-sparse-linears launches
/// (64 outputs x 64 tokens per block), on activations already quantized as effc_cuda_uk_quantize_rows_s8 stores
/// them. Returns 1 on a misaligned access, 2 if mma.sp met an index pair it does not accept.
extern "C" int effc_test_sparse_nm_i8(int mma, effc_index_t M, effc_index_t N, effc_index_t K, const signed char *q,
                                      effc_index_t ldq, const float *rowScale, const signed char *values,
                                      effc_index_t ldv, const unsigned char *indices, effc_index_t ldi,
                                      effc_index_t n, const float *scales, const float *bias, float *y,
                                      effc_index_t ldy) {
  if (reinterpret_cast<uintptr_t>(q) % 4 != 0 || ldq % 4 != 0)
    return 1;
  auto kernel = mma ? effc_cuda_uk_sparse24_i8_mma_gemm : effc_cuda_uk_sparse_nm_i8_gemm;
  return runBlocks(ceilDiv(N, 64), ceilDiv(M, 64), [&] {
    kernel(M, N, K, q, ldq, rowScale, values, ldv, indices, ldi, n, scales, bias, y, ldy);
  });
}

/// The CSR kernel over the grid effc-gpu-sparse-linears launches (8 outputs x 8 tokens per block).
extern "C" int effc_test_sparse_csr(effc_index_t M, effc_index_t N, const float *x, effc_index_t rowsPerBatch,
                                    effc_index_t batchStride, effc_index_t rowStride, effc_index_t colStride,
                                    const float *values, const int *columns, const int *rowPtr, const float *bias,
                                    float *y, effc_index_t ldy) {
  return runBlocks(ceilDiv(N, 8), ceilDiv(M, 8), [&] {
    effc_cuda_uk_sparse_csr_f32(M, N, x, rowsPerBatch, batchStride, rowStride, colStride, values, columns, rowPtr,
                                bias, y, ldy);
  });
}
