//===- sparse_gemm.cu - sparse linear layers for the CUDA target -----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// y[t, o] = bias[o] + Σ_c values[o, c] · x[t, (c / n) · m + indices[o, c]]: the device form of
// `eff.sparse_linear nm` (effc-gpu-sparse-linears launches these; the CPU kernels are effc_uk_sparse_nm_linear,
// _i8 and _csr_linear in ukernels/sparse_gemm.c). The weights stay in eff-sparsify's layout: values
// [N, K·n/m] f32 and indices [N, K·n/m] i8 (ascending within each group of n), rows ldv and ldi apart. Token t
// of the activations is row t % rowsPerBatch of batch t / rowsPerBatch (any strides); y rows are ldy apart.
// Every kernel reads only the stored weights: n/m of the dense weight traffic and of the products.
//
//  * effc_cuda_uk_sparse_nm_gemm_f32: any N:M, exact f32 (the default). A block computes 64 tokens x 64
//    outputs. Per chunk of whole groups (at most 128 columns) the block stages x transposed in shared memory
//    ([column][token], so the 4 tokens of a thread are one float4); each thread then walks the stored entries
//    of its 4 output rows in the chunk and, per entry, does 4 FMAs per row with the column's float4.
//  * effc_cuda_uk_sparse_nm_gemv_f32: few tokens (decode), any N:M. One warp per output row: the lanes read
//    consecutive stored entries (coalesced), gather their columns of up to 8 token rows, and reduce with
//    shuffles. effc_cuda_uk_sparse_csr_f32 is the same kernel over CSR weights (eff.sparse_linear csr), for
//    any number of tokens.
//  * effc_cuda_uk_sparse24_{bf16,f16}_gemm_<BM>x<BN>: 2:4 on sparse tensor cores (--cuda-matmul-precision=bf16 or
//    f16), mma.sp.m16n8k32 bf16 x bf16 (f16 x f16) -> f32. The sparse operand of mma.sp is A, so the kernel computes
//    yᵀ = W · xᵀ: A is W [outputs, K] as stored (16 values per row and 32 columns: eff-sparsify's 2:4 compression is
//    mma.sp's), B is xᵀ, whose "col" layout is x's rows. Per step of 32 columns the block stages BM rows of values
//    (rounded to bf16 or f16), their metadata (the 2-bit indices of a row's 16 entries packed into two 16-bit words:
//    group g's pair in bits 4g..4g+3, first index low) and BN token rows of x (rounded the same); A and B fragments
//    are read with ldmatrix.x4. Values and x are rounded to nearest even, as the dense tensor-core kernels round.
//  * effc_cuda_uk_sparse_nm_i8_gemm: int8 N:4 (int8 values, 2-bit indices, per-row scales) over activations
//    that the dense int8 path's row quantizer stored as q − 128: 64 x 64 tiles with exact integer sums and the
//    CPU kernel's epilogue, so the results equal the CPU build's. effc_cuda_uk_sparse24_i8_mma_gemm is the same
//    for 2:4 on sparse tensor cores (mma.sp.m16n8k64 s8 x s8 -> s32).
//
// Guards: tokens past M and outputs past N read zeros and store nothing; K is a multiple of m (the verifier's
// eff_sparse_linear_c2). Tokens go over block y (at most 65535 blocks: 4,194,240 tokens per call for the 64-token
// tiles). y rows are ldy apart across batches: the lowering's fresh, contiguous result. Needs sm_80 or newer
// (mma.sp), which is every architecture effc targets. Plain mma.sp (PTX 7.1+) rather than
// mma.sp::ordered_metadata (PTX 8.5, which effc's +ptx80 target predates); eff-sparsify's ascending index pairs
// suit both.
//
//===----------------------------------------------------------------------===//

#include "ptx.h"

#ifndef EFFC_CUDA_UK_HOST_EMULATION
// The PTX instructions the kernels use besides ptx.h's, each behind a function; test/ukernels/cuda_sparse_gemm_host.cpp
// defines host versions of them (the warp-collective ones included) to run the kernels' indexing on the CPU.
namespace effc_cuda {

/// acc += A (16 x 32, 2:4 sparse: 16 x 16 stored values, row) · B (32 x 8, col), bf16 products, f32 sums.
/// `metadata` holds, in lanes 4g and 4g + 1 (sparsity selector 0), the indices of rows g (low 16 bits) and
/// g + 8 (high) for columns 0-15 and 16-31 respectively.
__device__ inline void mmaSparseBf16(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[4],
                                     unsigned metadata) {
  asm volatile("mma.sp.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
               "{%4, %5, %6, %7}, {%8, %9, %10, %11}, {%0, %1, %2, %3}, %12, 0x0;\n"
               : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]),
                 "r"(metadata));
}
/// acc += A (16 x 64, 2:4 sparse: 16 x 32 stored s8 values, row) · B (64 x 8 s8, col), exact s32 sums.
/// `metadata` in all four lanes of a quad (sparsity selector 0): lane 4g + i holds the index pairs of row
/// g + 8 (i % 2), columns 32 (i / 2) .. + 31 (group j of the 8 in bits 4j..4j + 3), as CUTLASS's emulation of
/// this instruction describes it (the PTX ISA gives it as a figure).
__device__ inline void mmaSparseS8(int (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[4], unsigned metadata) {
  asm volatile("mma.sp.sync.aligned.m16n8k64.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, "
               "{%4, %5, %6, %7}, {%8, %9, %10, %11}, {%0, %1, %2, %3}, %12, 0x0;\n"
               : "+r"(acc[0]), "+r"(acc[1]), "+r"(acc[2]), "+r"(acc[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]),
                 "r"(metadata));
}
/// The same in f16.
__device__ inline void mmaSparseF16(float (&acc)[4], const unsigned (&a)[4], const unsigned (&b)[4],
                                    unsigned metadata) {
  asm volatile("mma.sp.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, "
               "{%4, %5, %6, %7}, {%8, %9, %10, %11}, {%0, %1, %2, %3}, %12, 0x0;\n"
               : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]),
                 "r"(metadata));
}


// IEEE operations as the CPU kernel performs them (clang would contract a · b + c into an FMA in CUDA code).
__device__ inline float sparseMulRn(float a, float b) { return __nvvm_mul_rn_f(a, b); }
__device__ inline float sparseAddRn(float a, float b) { return __nvvm_add_rn_f(a, b); }

} // namespace effc_cuda
#endif

using namespace effc_cuda;

namespace {

constexpr int kSparseThreads = 256;

// One shared-memory pool for all the kernels below: effc-gpu-sparse-linears makes a single launch whose body
// picks a kernel at run time, so all of them are inlined into one GPU kernel, where separate arrays would add
// up (past the 48 KB of static shared memory). Sized for the largest user, SparseNmTile.
constexpr int kSparsePoolBytes = 128 * 68 * 4;
__shared__ float4_t sparseSharedPool[kSparsePoolBytes / 16];

/// A range of stored entries [first, second).
struct Pair {
  effc_index_t first, second;
};

/// Stores a thread's 4 outputs (o0..) x 4 tokens (t0..) of y, y[t][o] = value(r, c, o, t), those inside M x N.
template <typename Value>
__device__ __attribute__((always_inline)) inline void storeTile(effc_index_t M, effc_index_t N, effc_index_t o0,
                                                                effc_index_t t0, float *y, effc_index_t ldy,
                                                                Value value) {
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    if (o0 + r >= N)
      continue;
#pragma unroll
    for (int c = 0; c < 4; ++c)
      if (t0 + c < M)
        y[(t0 + c) * ldy + o0 + r] = value(r, c, o0 + r, t0 + c);
  }
}

//===----------------------------------------------------------------------===//
// f32, any N:M: tiles of 64 tokens x 64 outputs
//===----------------------------------------------------------------------===//

struct SparseNmTile {
  static constexpr int kTokens = 64, kOutputs = 64, kColumns = 128;
  // [column][token] rows of 68 floats: float4 reads stay aligned, and the transposing stores of 32 consecutive
  // columns hit 8 banks (4-way conflicts) instead of one.
  static constexpr int kPitch = kTokens + 4;

  __device__ __attribute__((always_inline)) static void run(effc_index_t M, effc_index_t N, effc_index_t K,
                                                            const ActivationRows &act, const float *values,
                                                            effc_index_t ldv, const signed char *indices,
                                                            effc_index_t ldi, effc_index_t n, effc_index_t m,
                                                            const float *bias, float *y, effc_index_t ldy) {
    static_assert(kColumns * kPitch * 4 <= kSparsePoolBytes, "the x tile fits the pool");
    float *xs = reinterpret_cast<float *>(sparseSharedPool);
    const int tid = threadIndex(), tx = tid % 16, ty = tid / 16; // tokens 4 tx.., outputs 4 ty..
    const effc_index_t o0 = (effc_index_t)blockIndexX() * kOutputs, t0 = (effc_index_t)blockIndexY() * kTokens;
    const effc_index_t groups = K / m, groupsPerChunk = kColumns / m;

    float acc[4][4] = {};

    for (effc_index_t g0 = 0; g0 < groups; g0 += groupsPerChunk) {
      const effc_index_t chunkGroups = groups - g0 < groupsPerChunk ? groups - g0 : groupsPerChunk;
      const int columns = (int)(chunkGroups * m);
      barrier(); // the previous chunk's readers are done
      // Consecutive threads read consecutive columns of one token row (coalesced).
      for (int idx = tid; idx < kTokens * kColumns; idx += kSparseThreads) {
        int token = idx / kColumns, column = idx % kColumns;
        if (column >= columns)
          continue;
        effc_index_t t = t0 + token;
        xs[column * kPitch + token] = t < M ? act.row(t)[(g0 * m + column) * act.colStride] : 0.0f;
      }
      barrier();
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        effc_index_t o = o0 + 4 * ty + r;
        if (o >= N)
          continue;
        const float *v = values + o * ldv + g0 * n;
        const signed char *ix = indices + o * ldi + g0 * n;
        for (int g = 0; g < chunkGroups; ++g)
          for (int j = 0; j < n; ++j) {
            float w = v[g * n + j];
            int column = g * (int)m + ix[g * n + j];
            float4_t xv = *static_cast<const float4_t *>(__builtin_assume_aligned(&xs[column * kPitch + 4 * tx], 16));
#pragma unroll
            for (int c = 0; c < 4; ++c)
              acc[r][c] += w * xv[c];
          }
      }
    }

    storeTile(M, N, o0 + 4 * ty, t0 + 4 * tx, y, ldy,
              [&](int r, int c, effc_index_t o, effc_index_t) { return bias[o] + acc[r][c]; });
  }
};

//===----------------------------------------------------------------------===//
// f32, any N:M, at most 8 tokens: a warp per output row
//===----------------------------------------------------------------------===//

/// A warp per output row of y (8 per block, block x), up to 8 tokens per block (block y): the lanes take the
/// row's stored entries [begin, end) in turn (coalesced), `columnOf(o, e)` gives entry e's column, and shuffles
/// reduce. Serves N:M (decode) and CSR (every size) weights.
struct SparseRowsGemv {
  static constexpr int kRows = 8, kWarps = kSparseThreads / 32;

  /// `rowEntries(o)` gives output row o's entries as a pair [begin, end) of indices into `values`.
  template <typename RowEntries, typename ColumnOf>
  __device__ __attribute__((always_inline)) static void run(effc_index_t M, effc_index_t N,
                                                            const ActivationRows &act, const float *values,
                                                            RowEntries rowEntries, ColumnOf columnOf,
                                                            const float *bias, float *y, effc_index_t ldy) {
    const int tid = threadIndex(), lane = tid % 32, warp = tid / 32;
    const effc_index_t o = (effc_index_t)blockIndexX() * kWarps + warp;
    const effc_index_t t0 = (effc_index_t)blockIndexY() * kRows;
    const bool inside = o < N; // every lane takes part in the shuffles below
    effc_index_t begin = 0, end = 0;
    if (inside) {
      auto entries = rowEntries(o);
      begin = entries.first;
      end = entries.second;
    }
    const float *x[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
      x[r] = t0 + r < M ? act.row(t0 + r) : nullptr;
    float acc[kRows] = {};
    for (effc_index_t e = begin + lane; e < end; e += 32) {
      float w = values[e];
      effc_index_t column = columnOf(o, e);
#pragma unroll
      for (int r = 0; r < kRows; ++r)
        if (x[r])
          acc[r] += w * x[r][column * act.colStride];
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
      for (int mask = 16; mask > 0; mask /= 2)
        acc[r] += shuffleXorF32(acc[r], mask);
    if (lane == 0 && inside)
#pragma unroll
      for (int r = 0; r < kRows; ++r)
        if (x[r])
          y[(t0 + r) * ldy + o] = bias[o] + acc[r];
  }
};

//===----------------------------------------------------------------------===//
// int8 N:4 (exact int32 sums, the CPU kernel's epilogue): tiles of 64 tokens x 64 outputs
//===----------------------------------------------------------------------===//

struct SparseNmInt8Tile {
  static constexpr int kTokens = 64, kOutputs = 64, kColumns = 128;

  /// q [M][ldq]: the activations quantized by effc_cuda_uk_quantize_rows_s8 (q_u8 − 128, ldq a multiple of 4
  /// and at least K, zero padded). values [N][ldv] int8 and indices [N][ldi] (2 bits per entry: entry c in bits
  /// 2 (c % 4) of byte c / 4), n of every 4 columns. Σ_c (q_u8 − 128) · w = Σ_c q_u8 · w − 128 Σ_c w is the CPU's
  /// corrected sum, exactly; the epilogue is the CPU's: (float)sum · (s_x · scales[o]) + bias[o].
  __device__ __attribute__((always_inline)) static void run(effc_index_t M, effc_index_t N, effc_index_t K,
                                                            const signed char *q, effc_index_t ldq,
                                                            const float *rowScale, const signed char *values,
                                                            effc_index_t ldv, const unsigned char *indices,
                                                            effc_index_t ldi, effc_index_t n,
                                                            const float *scales, const float *bias, float *y,
                                                            effc_index_t ldy) {
    static_assert(kColumns * kTokens <= kSparsePoolBytes, "the activation tile fits the pool");
    // [column][token] bytes: a thread's 4 tokens at one column are one 32-bit word.
    unsigned *qs = reinterpret_cast<unsigned *>(sparseSharedPool);
    unsigned char *qsBytes = reinterpret_cast<unsigned char *>(sparseSharedPool);
    const int tid = threadIndex(), tx = tid % 16, ty = tid / 16; // tokens 4 tx.., outputs 4 ty..
    const effc_index_t o0 = (effc_index_t)blockIndexX() * kOutputs, t0 = (effc_index_t)blockIndexY() * kTokens;
    const effc_index_t groups = K / 4, groupsPerChunk = kColumns / 4;

    int acc[4][4] = {};

    for (effc_index_t g0 = 0; g0 < groups; g0 += groupsPerChunk) {
      const int chunkGroups = (int)(groups - g0 < groupsPerChunk ? groups - g0 : groupsPerChunk);
      barrier(); // the previous chunk's readers are done
      // Each thread copies 4-byte words of token rows (consecutive threads: consecutive words of a row) and
      // scatters their bytes to the column rows.
      for (int idx = tid; idx < kTokens * kColumns / 4; idx += kSparseThreads) {
        int token = idx / (kColumns / 4), word = idx % (kColumns / 4);
        effc_index_t t = t0 + token, column = g0 * 4 + 4 * word;
        unsigned bytes = 0;
        if (t < M && column < ldq)
          bytes = *reinterpret_cast<const unsigned *>(q + t * ldq + column);
#pragma unroll
        for (int e = 0; e < 4; ++e)
          qsBytes[(4 * word + e) * kTokens + token] = (unsigned char)(bytes >> (8 * e));
      }
      barrier();
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        effc_index_t o = o0 + 4 * ty + r;
        if (o >= N)
          continue;
        const signed char *v = values + o * ldv;
        const unsigned char *ix = indices + o * ldi;
        const effc_index_t e0 = g0 * n;
        for (int e = 0; e < chunkGroups * (int)n; ++e) {
          effc_index_t entry = e0 + e;
          int w = v[entry];
          int column = 4 * (e / (int)n) + (int)((ix[entry / 4] >> (2 * (entry % 4))) & 3u);
          unsigned word = qs[column * (kTokens / 4) + tx];
#pragma unroll
          for (int c = 0; c < 4; ++c)
            acc[r][c] += w * (int)(signed char)(word >> (8 * c));
        }
      }
    }

    storeTile(M, N, o0 + 4 * ty, t0 + 4 * tx, y, ldy, [&](int r, int c, effc_index_t o, effc_index_t t) {
      return sparseAddRn(sparseMulRn((float)acc[r][c], sparseMulRn(rowScale[t], scales[o])), bias[o]);
    });
  }
};

//===----------------------------------------------------------------------===//
// int8 2:4 on sparse tensor cores
//===----------------------------------------------------------------------===//

/// int8 2:4 (n = 2 of every 4 columns) with mma.sp.m16n8k64 s8: 64 outputs x 64 tokens per block, 8 warps of 32 x
/// 16, steps of 64 columns. The operands are SparseNmInt8Tile's; eff-sparsify's int8 index packing (entry c in
/// bits 2 (c % 4) of byte c / 4) is mma.sp's metadata as it is: a group's pair in 4 bits, first index low, so
/// the 16 groups of a row's step are 8 bytes of its index row. The sums are exact, the epilogue the CPU's.
struct Sparse24Int8MmaTile {
  static constexpr int BM = 64, BN = 64, BK = 64;
  static constexpr int WarpsN = 4, WM = 32, WN = 16, MT = WM / 16, NT = WN / 8;
  // Words per staged row: values 32 bytes + 16 of padding, activations 64 + 16: fragment reads are conflict-free.
  static constexpr int APitch = 12, BPitch = 20, EPitch = 4; // EPitch: 16-bit metadata words per row
  static constexpr int StageWords = BM * APitch + BN * BPitch + BM * EPitch / 2;
  static_assert(2 * StageWords * 4 <= kSparsePoolBytes, "two stages fit the pool");

  __device__ __attribute__((always_inline)) static void run(effc_index_t M, effc_index_t N, effc_index_t K,
                                                            const signed char *q, effc_index_t ldq,
                                                            const float *rowScale, const signed char *values,
                                                            effc_index_t ldv, const unsigned char *indices,
                                                            effc_index_t ldi, const float *scales,
                                                            const float *bias, float *y, effc_index_t ldy) {
    unsigned *pool = reinterpret_cast<unsigned *>(sparseSharedPool);
    auto As = [&](int stage) { return pool + stage * StageWords; };
    auto Bs = [&](int stage) { return pool + stage * StageWords + BM * APitch; };
    auto Es = [&](int stage) {
      return reinterpret_cast<unsigned short *>(pool + stage * StageWords + BM * APitch + BN * BPitch);
    };
    const int tid = threadIndex(), lane = tid % 32, warp = tid / 32, g = lane / 4, tig = lane % 4;
    const int warpM = warp / WarpsN, warpN = warp % WarpsN;
    const effc_index_t o0 = (effc_index_t)blockIndexX() * BM, t0 = (effc_index_t)blockIndexY() * BN;
    const effc_index_t entries = K / 2, groups = K / 4;

    // Loads for one step, into registers: threads 0-127 a 16-byte half row of values (row tid / 2), threads
    // 128-191 a row's 16 metadata nibbles, every thread 16 bytes of one token's activations (token tid / 4).
    const bool valueThread = tid < 2 * BM, metaThread = tid >= 2 * BM && tid < 3 * BM;
    const effc_index_t valueRow = o0 + (tid % (2 * BM)) / 2, metaRow = o0 + (tid - 2 * BM);
    const bool valueInside = valueThread && valueRow < N, metaInside = metaThread && metaRow < N;
    const signed char *valueSource = values + (valueInside ? valueRow : 0) * ldv + 16 * (tid % 2);
    const unsigned char *indexSource = indices + (metaInside ? metaRow : 0) * ldi;
    const effc_index_t token = t0 + tid / 4;
    const bool tokenInside = token < M;
    const signed char *tokenSource = q + (tokenInside ? token : 0) * ldq + 16 * (tid % 4);
    const bool vectorValues = ldv % 16 == 0 && (reinterpret_cast<unsigned long long>(values) & 15) == 0;
    const bool vectorTokens = ldq % 16 == 0 && (reinterpret_cast<unsigned long long>(q) & 15) == 0;
    uint4_t valueNext = {0, 0, 0, 0}, tokenNext = {0, 0, 0, 0};
    unsigned long long metaNext = 0;
    auto load = [&](effc_index_t k0) {
      const effc_index_t e = k0 / 2 + 16 * (tid % 2);
      if (valueThread) {
        if (valueInside && vectorValues && e + 16 <= entries) {
          valueNext = *reinterpret_cast<const uint4_t *>(valueSource + k0 / 2);
        } else {
#pragma unroll
          for (int w = 0; w < 4; ++w) {
            unsigned word = 0;
#pragma unroll
            for (int c = 0; c < 4; ++c)
              if (valueInside && e + 4 * w + c < entries)
                word |= (unsigned)(unsigned char)valueSource[k0 / 2 + 4 * w + c] << (8 * c);
            valueNext[w] = word;
          }
        }
      }
      if (metaThread) {
        // Groups past K get the pair (0, 1) over zero values, a pattern mma.sp accepts.
        unsigned long long meta = 0;
#pragma unroll
        for (int j = 0; j < 16; ++j) {
          effc_index_t group = k0 / 4 + j;
          unsigned nibble = metaInside && group < groups ? (indexSource[group / 2] >> (4 * (group % 2))) & 15u : 4u;
          meta |= (unsigned long long)nibble << (4 * j);
        }
        metaNext = meta;
      }
      const effc_index_t column = k0 + 16 * (tid % 4);
      if (tokenInside && vectorTokens && column + 16 <= ldq) {
        tokenNext = *reinterpret_cast<const uint4_t *>(tokenSource + k0);
      } else {
#pragma unroll
        for (int w = 0; w < 4; ++w)
          tokenNext[w] = tokenInside && column + 4 * w + 4 <= ldq
                             ? *reinterpret_cast<const unsigned *>(tokenSource + k0 + 4 * w)
                             : 0u;
      }
    };
    auto store = [&](int stage) {
      if (valueThread) {
        unsigned *row = As(stage) + ((tid % (2 * BM)) / 2) * APitch + 4 * (tid % 2);
#pragma unroll
        for (int w = 0; w < 4; ++w)
          row[w] = valueNext[w];
      }
      if (metaThread) {
        unsigned short *row = Es(stage) + (tid - 2 * BM) * EPitch;
#pragma unroll
        for (int w = 0; w < 4; ++w)
          row[w] = (unsigned short)(metaNext >> (16 * w));
      }
      unsigned *row = Bs(stage) + (tid / 4) * BPitch + 4 * (tid % 4);
#pragma unroll
      for (int w = 0; w < 4; ++w)
        row[w] = tokenNext[w];
    };

    int acc[MT][NT][4] = {};
    runTwoStages(K, BK, load, store, [&](int stage, auto storeNext) {
      const unsigned *as = As(stage), *bs = Bs(stage);
      const unsigned short *es = Es(stage);
      unsigned a[MT][4], meta[MT], b[NT][4];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        // Stored entries 4 tig.. of rows g, g + 8 (a0, a1), then entries 16 + 4 tig.. (a2, a3).
        int row = warpM * WM + i * 16 + g;
        a[i][0] = as[row * APitch + tig];
        a[i][1] = as[(row + 8) * APitch + tig];
        a[i][2] = as[row * APitch + 4 + tig];
        a[i][3] = as[(row + 8) * APitch + 4 + tig];
        // Lane 4g + tig: row g (+ 8 for odd tig), groups 8 (tig / 2) .. + 7 (16-bit words 2 (tig / 2), + 1).
        const int metaRow = row + 8 * (tig & 1), word = 2 * (tig >> 1);
        meta[i] = es[metaRow * EPitch + word] | (unsigned)es[metaRow * EPitch + word + 1] << 16;
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        // Columns 16 r + 4 tig.. of token g: b_r.
        int tokenRow = warpN * WN + j * 8 + g;
#pragma unroll
        for (int r = 0; r < 4; ++r)
          b[j][r] = bs[tokenRow * BPitch + 4 * r + tig];
      }
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
          mmaSparseS8(acc[i][j], a[i], b[j], meta[i]);
      storeNext();
    });

    // Accumulator e of tile (i, j): output g (+ 8 for e >= 2), token 2 tig + e % 2.
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        effc_index_t o = o0 + warpM * WM + i * 16 + g + 8 * half;
        if (o >= N)
          continue;
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            effc_index_t t = t0 + warpN * WN + j * 8 + 2 * tig + e;
            if (t < M)
              y[t * ldy + o] = sparseAddRn(
                  sparseMulRn((float)acc[i][j][2 * half + e], sparseMulRn(rowScale[t], scales[o])), bias[o]);
          }
      }
  }
};

//===----------------------------------------------------------------------===//
// 2:4 on sparse tensor cores (bf16 or f16 products)
//===----------------------------------------------------------------------===//

/// A thread's share of the rows a tensor-core tile stages per step: vector v is row first + (tid + v · 256) /
/// vectorsPerRow (inside when below `limit`; outside rows point at row 0 and load zeros), and `next` holds
/// the 4 floats loaded for the coming step.
template <int Vectors>
struct StagedRows {
  float4_t next[Vectors];
  const float *row[Vectors];
  bool inside[Vectors];

  template <typename RowAt>
  __device__ __attribute__((always_inline)) void bind(int tid, effc_index_t first, int vectorsPerRow,
                                                      effc_index_t limit, RowAt rowAt) {
#pragma unroll
    for (int v = 0; v < Vectors; ++v) {
      effc_index_t r = first + (tid + v * kSparseThreads) / vectorsPerRow;
      inside[v] = r < limit;
      row[v] = rowAt(inside[v] ? r : 0);
    }
  }
};

/// BM outputs (mma's M) x BN tokens (mma's N) per block, 8 warps of WarpsM x WarpsN; values and x rounded to P.
template <int BM, int BN, int WarpsM, int WarpsN, Products P>
struct Sparse24MmaTile {
  static constexpr int BK = 32, Entries = BK / 2; // columns and stored entries per step
  static_assert(WarpsM * WarpsN * 32 == kSparseThreads, "8 warps per block");
  static constexpr int WM = BM / WarpsM, WN = BN / WarpsN;
  static constexpr int MT = WM / 16, NT = WN / 8;
  static_assert(WM % 16 == 0 && WN % 8 == 0, "warp tiles are whole mma tiles");
  // Rows of 16 (values) and 32 (x) 16-bit values padded by 8: the 8 row addresses of an ldmatrix phase hit
  // distinct banks.
  static constexpr int APitch = Entries + 8, BPitch = BK + 8;
  static constexpr int AVectors = BM * Entries / 4 / kSparseThreads; // float4s of values per thread and step
  static constexpr int XVectors = BN * BK / 4 / kSparseThreads;      // float4s of x per thread and step
  static_assert(AVectors >= 1 && XVectors >= 1, "tiles must split evenly over the block");
  static_assert(2 * BM <= kSparseThreads, "one 8-entry half row of indices per thread at most");

  __device__ __attribute__((always_inline)) static void run(effc_index_t M, effc_index_t N, effc_index_t K,
                                                            const ActivationRows &act, const float *values,
                                                            effc_index_t ldv, const signed char *indices,
                                                            effc_index_t ldi, const float *bias, float *y,
                                                            effc_index_t ldy) {
    // Two stages of: values [BM][APitch], x [BN][BPitch] (in P), and per row the metadata of columns 0-15 and
    // 16-31 of the step.
    static_assert((2 * BM * APitch + 2 * BN * BPitch + 2 * BM * 2) * 2 <= kSparsePoolBytes, "the tiles fit the pool");
    static_assert((BM * APitch * 2) % 16 == 0 && (BN * BPitch * 2) % 16 == 0, "16-byte aligned stages");
    auto As = reinterpret_cast<unsigned short(*)[BM * APitch]>(sparseSharedPool);
    auto Bs = reinterpret_cast<unsigned short(*)[BN * BPitch]>(&As[2][0]);
    auto Es = reinterpret_cast<unsigned short(*)[BM * 2]>(&Bs[2][0]);
    const int tid = threadIndex(), lane = tid % 32, warp = tid / 32;
    const int warpM = warp / WarpsN, warpN = warp % WarpsN;
    const effc_index_t o0 = (effc_index_t)blockIndexX() * BM, t0 = (effc_index_t)blockIndexY() * BN;
    const effc_index_t entries = K / 2;
    const bool vectorValues = ldv % 4 == 0 && (reinterpret_cast<unsigned long long>(values) & 15) == 0;
    const bool vectorX = act.colStride == 1 && act.rowStride % 4 == 0 && act.batchStride % 4 == 0 &&
                         (reinterpret_cast<unsigned long long>(act.x) & 15) == 0;

    // This thread's values: row idx / 4, entries 4 · (idx % 4) + 0..3 of the step.
    StagedRows<AVectors> valueRows;
    valueRows.bind(tid, o0, 4, N, [&](effc_index_t o) { return values + o * ldv; });
    // Its indices: the half row tid % 2 (8 entries, 4 groups) of row tid / 2, when tid < 2 · BM.
    const bool indexThread = tid < 2 * BM;
    const effc_index_t indexOutput = o0 + tid / 2;
    const bool indexInside = indexThread && indexOutput < N;
    const signed char *indexRow = indices + (indexInside ? indexOutput : 0) * ldi + 8 * (tid % 2);
    unsigned short metaNext = 0;
    // Its x: token idx / 8, columns 4 · (idx % 8) + 0..3 of the step.
    StagedRows<XVectors> tokenRows;
    tokenRows.bind(tid, t0, 8, M, [&](effc_index_t t) { return act.row(t); });

    auto load = [&](effc_index_t k0) {
      const effc_index_t e0 = k0 / 2;
#pragma unroll
      for (int v = 0; v < AVectors; ++v) {
        effc_index_t e = e0 + 4 * ((tid + v * kSparseThreads) % 4);
        valueRows.next[v] = loadFour(valueRows.row[v], e, entries, 1, valueRows.inside[v], vectorValues);
      }
      if (indexThread) {
        // Entries past the row (or past N) get the pair (0, 1), a valid pattern over zero values.
        unsigned meta = 0;
        const effc_index_t e = e0 + 8 * (tid % 2);
#pragma unroll
        for (int g = 0; g < 4; ++g) {
          bool present = indexInside && e + 2 * g + 2 <= entries;
          unsigned first = present ? (unsigned)indexRow[e0 + 2 * g] & 3u : 0u;
          unsigned second = present ? (unsigned)indexRow[e0 + 2 * g + 1] & 3u : 1u;
          meta |= (first | second << 2) << (4 * g);
        }
        metaNext = (unsigned short)meta;
      }
#pragma unroll
      for (int v = 0; v < XVectors; ++v) {
        effc_index_t k = k0 + 4 * ((tid + v * kSparseThreads) % 8);
        tokenRows.next[v] = loadFour(tokenRows.row[v], k, K, act.colStride, tokenRows.inside[v], vectorX);
      }
    };
    auto store = [&](int stage) {
#pragma unroll
      for (int v = 0; v < AVectors; ++v) {
        int idx = tid + v * kSparseThreads;
        unsigned *words = reinterpret_cast<unsigned *>(&As[stage][(idx / 4) * APitch + 4 * (idx % 4)]);
        words[0] = packPair<P>(valueRows.next[v][0], valueRows.next[v][1]);
        words[1] = packPair<P>(valueRows.next[v][2], valueRows.next[v][3]);
      }
      if (indexThread)
        Es[stage][tid] = metaNext; // row tid / 2, half tid % 2
#pragma unroll
      for (int v = 0; v < XVectors; ++v) {
        int idx = tid + v * kSparseThreads;
        unsigned *words = reinterpret_cast<unsigned *>(&Bs[stage][(idx / 8) * BPitch + 4 * (idx % 8)]);
        words[0] = packPair<P>(tokenRows.next[v][0], tokenRows.next[v][1]);
        words[1] = packPair<P>(tokenRows.next[v][2], tokenRows.next[v][3]);
      }
    };

    float acc[MT][NT][4] = {};
    runTwoStages(K, BK, load, store, [&](int stage, auto storeNext) {
      unsigned a[MT][4], meta[MT], b[NT][4];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        // Lanes 0-15 address rows 0-15 at entry 0, lanes 16-31 the same rows at entry 8: mma's a0..a3.
        int row = warpM * WM + i * 16 + lane % 16;
        loadMatrixX4(a[i], &As[stage][row * APitch + (lane / 16) * 8]);
        // Lanes 4g and 4g + 1 give rows g and g + 8, columns 0-15 and 16-31 (lanes 4g + 2, 4g + 3 are ignored).
        int metaRow = warpM * WM + i * 16 + lane / 4;
        meta[i] = Es[stage][metaRow * 2 + lane % 2] | (unsigned)Es[stage][(metaRow + 8) * 2 + lane % 2] << 16;
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        // Lane l addresses token l % 8 at column 8 · (l / 8): matrix i is columns 8i..8i+7, mma's b_i.
        int token = warpN * WN + j * 8 + lane % 8;
        loadMatrixX4(b[j], &Bs[stage][token * BPitch + (lane / 8) * 8]);
      }
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
          if constexpr (P == Products::Bf16)
            mmaSparseBf16(acc[i][j], a[i], b[j], meta[i]);
          else
            mmaSparseF16(acc[i][j], a[i], b[j], meta[i]);
      storeNext();
    });

    // Accumulator e of tile (i, j): output lane / 4 (+ 8 for e >= 2), token 2 · (lane % 4) + e % 2.
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        effc_index_t o = o0 + warpM * WM + i * 16 + lane / 4 + 8 * half;
        if (o >= N)
          continue;
        float b0 = bias[o];
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            effc_index_t t = t0 + warpN * WN + j * 8 + 2 * (lane % 4) + e;
            if (t < M)
              y[t * ldy + o] = b0 + acc[i][j][2 * half + e];
          }
      }
  }
};

} // namespace

#define EFFC_SPARSE_ARGS                                                                                            \
  effc_index_t M, effc_index_t N, effc_index_t K, const float *x, effc_index_t rowsPerBatch,                        \
      effc_index_t batchStride, effc_index_t rowStride, effc_index_t colStride, const float *values,              \
      effc_index_t ldv, const signed char *indices, effc_index_t ldi

EFFC_CUDA_UK void effc_cuda_uk_sparse_nm_gemm_f32(EFFC_SPARSE_ARGS, effc_index_t n, effc_index_t m,
                                                  const float *bias, float *y, effc_index_t ldy) {
  SparseNmTile::run(M, N, K, {x, rowsPerBatch, batchStride, rowStride, colStride}, values, ldv, indices, ldi, n, m,
                    bias, y, ldy);
}

EFFC_CUDA_UK void effc_cuda_uk_sparse_nm_gemv_f32(EFFC_SPARSE_ARGS, effc_index_t n, effc_index_t m,
                                                  const float *bias, float *y, effc_index_t ldy) {
  // Row o's entries are values[o · ldv, o · ldv + K·n/m); entry c of the row is in column (c / n) · m + index.
  const effc_index_t perRow = K / m * n;
  SparseRowsGemv::run(
      M, N, {x, rowsPerBatch, batchStride, rowStride, colStride}, values,
      [&](effc_index_t o) { return Pair{o * ldv, o * ldv + perRow}; },
      [&](effc_index_t o, effc_index_t e) {
        effc_index_t c = e - o * ldv;
        return (c / n) * m + indices[o * ldi + c];
      },
      bias, y, ldy);
}

/// CSR weights (values [nnz] f32, columns [nnz] i32, rowPtr [N + 1] i32; eff.sparse_linear csr) for any number
/// of tokens: a warp per output row, 8 tokens per block.
EFFC_CUDA_UK void effc_cuda_uk_sparse_csr_f32(effc_index_t M, effc_index_t N, const float *x,
                                              effc_index_t rowsPerBatch, effc_index_t batchStride,
                                              effc_index_t rowStride, effc_index_t colStride, const float *values,
                                              const int *columns, const int *rowPtr, const float *bias, float *y,
                                              effc_index_t ldy) {
  SparseRowsGemv::run(
      M, N, {x, rowsPerBatch, batchStride, rowStride, colStride}, values,
      [&](effc_index_t o) { return Pair{rowPtr[o], rowPtr[o + 1]}; },
      [&](effc_index_t, effc_index_t e) { return (effc_index_t)columns[e]; }, bias, y, ldy);
}

EFFC_CUDA_UK void effc_cuda_uk_sparse24_bf16_gemm_128x128(EFFC_SPARSE_ARGS, const float *bias, float *y,
                                                          effc_index_t ldy) {
  Sparse24MmaTile<128, 128, 2, 4, Products::Bf16>::run(M, N, K, {x, rowsPerBatch, batchStride, rowStride, colStride},
                                                       values, ldv, indices, ldi, bias, y, ldy);
}

EFFC_CUDA_UK void effc_cuda_uk_sparse24_bf16_gemm_64x64(EFFC_SPARSE_ARGS, const float *bias, float *y,
                                                        effc_index_t ldy) {
  Sparse24MmaTile<64, 64, 2, 4, Products::Bf16>::run(M, N, K, {x, rowsPerBatch, batchStride, rowStride, colStride},
                                                     values, ldv, indices, ldi, bias, y, ldy);
}

EFFC_CUDA_UK void effc_cuda_uk_sparse24_f16_gemm_128x128(EFFC_SPARSE_ARGS, const float *bias, float *y,
                                                         effc_index_t ldy) {
  Sparse24MmaTile<128, 128, 2, 4, Products::F16>::run(M, N, K, {x, rowsPerBatch, batchStride, rowStride, colStride},
                                                      values, ldv, indices, ldi, bias, y, ldy);
}

EFFC_CUDA_UK void effc_cuda_uk_sparse24_f16_gemm_64x64(EFFC_SPARSE_ARGS, const float *bias, float *y,
                                                       effc_index_t ldy) {
  Sparse24MmaTile<64, 64, 2, 4, Products::F16>::run(M, N, K, {x, rowsPerBatch, batchStride, rowStride, colStride},
                                                    values, ldv, indices, ldi, bias, y, ldy);
}

/// int8 N:4 over activations quantized by effc_cuda_uk_quantize_rows_s8 (ukernels/cuda/quantized_gemm.cu).
EFFC_CUDA_UK void effc_cuda_uk_sparse_nm_i8_gemm(effc_index_t M, effc_index_t N, effc_index_t K,
                                                 const signed char *q, effc_index_t ldq, const float *rowScale,
                                                 const signed char *values, effc_index_t ldv,
                                                 const unsigned char *indices, effc_index_t ldi, effc_index_t n,
                                                 const float *scales, const float *bias, float *y,
                                                 effc_index_t ldy) {
  SparseNmInt8Tile::run(M, N, K, q, ldq, rowScale, values, ldv, indices, ldi, n, scales, bias, y, ldy);
}

/// int8 2:4 on sparse tensor cores: the operands of effc_cuda_uk_sparse_nm_i8_gemm (n must be 2), the same grid.
EFFC_CUDA_UK void effc_cuda_uk_sparse24_i8_mma_gemm(effc_index_t M, effc_index_t N, effc_index_t K,
                                                    const signed char *q, effc_index_t ldq, const float *rowScale,
                                                    const signed char *values, effc_index_t ldv,
                                                    const unsigned char *indices, effc_index_t ldi, effc_index_t n,
                                                    const float *scales, const float *bias, float *y,
                                                    effc_index_t ldy) {
  (void)n;
  Sparse24Int8MmaTile::run(M, N, K, q, ldq, rowScale, values, ldv, indices, ldi, scales, bias, y, ldy);
}

#undef EFFC_SPARSE_ARGS
