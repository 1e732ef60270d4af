"""Numerics of the sparse device micro-kernels (ukernels/cuda/sparse_gemm.cu: N:M in f32, with bf16 or f16 products
and in int8, and CSR) without a GPU: the source compiled as host C++ (cuda_sparse_gemm_host.cpp runs each block's 256
threads as host threads, with host versions of ldmatrix, mma.sp and warp shuffles that follow the PTX ISA's
layouts), over the grid effc-gpu-sparse-linears launches, against float64 numpy on the dense weight the
compressed one stands for.

Weights are compressed as eff-sparsify stores them: per group of m columns the n largest magnitudes, values
[N, K·n/m] and ascending in-group indices [N, K·n/m]. Shapes cover partial tiles in tokens and outputs, patterns
from 1:4 to 1:128 (several groups per chunk, one group per chunk, a chunk that does not fill 128 columns), 2:4
with K not a multiple of the tensor-core step (the padding's index pairs), batched activations with row and batch
strides, a strided column, and value and index rows that are not 16-byte aligned (the scalar paths). Tolerances:
f32 kernels differ from float64 by summation order only (rtol 1e-5, atol 1e-5 · sqrt(K)); the tensor-core
kernels are compared with float64 on values and activations rounded to bf16 (or f16) (rtol 1e-4, atol
1e-4 · sqrt(K), tighter than the difference between the two formats' roundings); the
int8 tile must equal the numpy model of the CPU kernel bit for bit.
"""

import ctypes

import numpy as np
import pytest
from product_formats import bf16_round, f16_round
from ukernel_build import CLANGXX, build_cuda_host_harness

pytestmark = pytest.mark.skipif(CLANGXX is None, reason="clang++-22 not found")

F32_TILE, F32_GEMV, BF16_TILE_64, BF16_TILE_128, F16_TILE_64, F16_TILE_128 = 0, 1, 2, 3, 4, 5
TENSOR_CORE_TILES = (BF16_TILE_64, BF16_TILE_128, F16_TILE_64, F16_TILE_128)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    lib = build_cuda_host_harness(tmp_path_factory, "cuda_sparse_gemm_host")
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib.effc_test_sparse_nm.argtypes = [ctypes.c_int, i64, i64, i64, ptr, i64, i64, i64, i64, ptr, i64, ptr, i64,
                                        i64, i64, ptr, ptr, i64]
    lib.effc_test_sparse_nm.restype = ctypes.c_int
    lib.effc_test_sparse_nm_i8.argtypes = [ctypes.c_int, i64, i64, i64, ptr, i64, ptr, ptr, i64, ptr, i64, i64, ptr,
                                           ptr, ptr, i64]
    lib.effc_test_sparse_nm_i8.restype = ctypes.c_int
    lib.effc_test_sparse_csr.argtypes = [i64, i64, ptr, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr, i64]
    lib.effc_test_sparse_csr.restype = ctypes.c_int
    return lib


def compress(w, n, m):
    """eff-sparsify's N:M form of w [N, K]: the n largest magnitudes of each group of m (ties: lower index), in
    ascending index order; returns (values, indices, the dense weight they stand for)."""
    rows, k = w.shape
    groups = w.reshape(rows, k // m, m)
    order = np.argsort(-np.abs(groups), axis=2, kind="stable")[:, :, :n]
    indices = np.sort(order, axis=2)
    values = np.take_along_axis(groups, indices, axis=2)
    dense = np.zeros_like(groups)
    np.put_along_axis(dense, indices, values, axis=2)
    return (values.reshape(rows, -1).astype(np.float32), indices.reshape(rows, -1).astype(np.int8),
            dense.reshape(rows, k))


def padded_rows(a, pad, offset_elements=0):
    """`a` [R, C] as a view into a buffer with rows C + pad apart, starting `offset_elements` past 64 bytes."""
    rows, cols = a.shape
    raw = np.zeros(rows * (cols + pad) + offset_elements + 64, a.dtype)
    start = (-raw.ctypes.data % 64) // a.itemsize + offset_elements
    view = raw[start:start + rows * (cols + pad)].reshape(rows, cols + pad)
    view[:, :cols] = a
    return view


def run(kernel, which, m_tokens, k, n, m, *, batch=1, seed=0, row_pad=0, col_stride=1, weight_pad=0,
        weight_offset=0, outputs=None):
    rng = np.random.default_rng(seed)
    out = outputs if outputs is not None else 40
    seq = m_tokens // batch
    x = rng.standard_normal((batch, seq, k)).astype(np.float32)
    # Activations [batch, seq, k] inside a wider buffer: rows k · col_stride + row_pad apart, batches further.
    row_stride = k * col_stride + row_pad
    batch_stride = seq * row_stride + 7
    xbuf = np.zeros(batch * batch_stride + 16, np.float32)
    xbuf = xbuf[(-xbuf.ctypes.data % 64) // 4:]
    for b in range(batch):
        for s in range(seq):
            start = b * batch_stride + s * row_stride
            xbuf[start:start + k * col_stride:col_stride] = x[b, s]
    w = rng.standard_normal((out, k)).astype(np.float32)
    values, indices, dense = compress(w, n, m)
    vbuf = padded_rows(values, weight_pad, weight_offset)
    ibuf = padded_rows(indices, weight_pad + 3, weight_offset)
    bias = rng.standard_normal(out).astype(np.float32)
    ldy = out + 5
    y = np.full((m_tokens, ldy), np.nan, np.float32)
    status = kernel.effc_test_sparse_nm(which, m_tokens, out, k, xbuf.ctypes.data, seq, batch_stride, row_stride,
                                        col_stride, vbuf.ctypes.data, vbuf.shape[1], ibuf.ctypes.data, ibuf.shape[1],
                                        n, m, bias.ctypes.data, y.ctypes.data, ldy)
    assert status & 1 == 0, "an access would have been misaligned on the device"
    assert status & 2 == 0, "mma.sp met an index pair it does not accept"
    tokens = x.reshape(m_tokens, k)
    if which in TENSOR_CORE_TILES:
        rounded = bf16_round if which in (BF16_TILE_64, BF16_TILE_128) else f16_round
        expected = rounded(tokens).astype(np.float64) @ rounded(dense).astype(np.float64).T + bias
        rtol, atol = 1e-4, 1e-4 * np.sqrt(k)
    else:
        expected = tokens.astype(np.float64) @ dense.astype(np.float64).T + bias
        rtol, atol = 1e-5, 1e-5 * np.sqrt(k)
    np.testing.assert_allclose(y[:, :out], expected, rtol=rtol, atol=atol)
    assert np.isnan(y[:, out:]).all(), "the kernel wrote past N"


@pytest.mark.parametrize("tokens, k, n, m, outputs", [
    (1, 4, 2, 4, 1),          # one group
    (70, 200, 2, 4, 130),     # partial tiles; two chunks of 128 columns (the second 72)
    (64, 256, 1, 4, 64),      # whole tiles, 1:4
    (33, 96, 3, 8, 20),       # 3:8
    (17, 320, 4, 16, 9),      # 8 groups per chunk
    (20, 300, 7, 100, 12),    # one group per chunk (128 // 100)
    (9, 256, 1, 128, 70),     # 1:128
])
def test_f32_tile_matches_numpy(kernel, tokens, k, n, m, outputs):
    run(kernel, F32_TILE, tokens, k, n, m, outputs=outputs, seed=tokens + k)


@pytest.mark.parametrize("tokens", [1, 3, 8, 13])
@pytest.mark.parametrize("n, m", [(2, 4), (3, 8), (1, 128)])
def test_f32_gemv_matches_numpy(kernel, tokens, n, m):
    run(kernel, F32_GEMV, tokens, 256, n, m, outputs=19, seed=tokens * 7 + m)


@pytest.mark.parametrize("which", TENSOR_CORE_TILES)
@pytest.mark.parametrize("tokens, k, outputs", [
    (1, 4, 1),        # one group: the step's other 7 groups are padding
    (70, 100, 130),   # K not a multiple of 32, partial tiles
    (129, 64, 65),
    (40, 768, 200),   # BERT-base's K
])
def test_sparse24_tensor_cores_match_numpy(kernel, which, tokens, k, outputs):
    run(kernel, which, tokens, k, 2, 4, outputs=outputs, seed=tokens + k + which)


@pytest.mark.parametrize("which", [F32_TILE, F32_GEMV, BF16_TILE_64, BF16_TILE_128, F16_TILE_128])
def test_operand_layouts(kernel, which):
    """Batched activations with padded rows and batches, a strided column, weight rows that are not 16-byte
    aligned (scalar loads)."""
    tokens = 6 if which == F32_GEMV else 48
    run(kernel, which, tokens, 64, 2, 4, batch=3, row_pad=3, seed=1)
    run(kernel, which, tokens, 64, 2, 4, batch=2, col_stride=2, seed=2)
    run(kernel, which, tokens, 64, 2, 4, weight_pad=1, weight_offset=1, seed=3)


def pack_two_bit(indices):
    """[N, stored] indices in [0, 4) -> [N, ceil(stored / 4)] bytes, entry c in bits 2·(c % 4) of byte c / 4 (the
    int8 N:M form, docs/spec/eff.md)."""
    rows, stored = indices.shape
    padded = np.zeros((rows, (stored + 3) // 4 * 4), np.uint8)
    padded[:, :stored] = indices
    quads = padded.reshape(rows, -1, 4).astype(np.uint32)
    return (quads[:, :, 0] | quads[:, :, 1] << 2 | quads[:, :, 2] << 4 | quads[:, :, 3] << 6).astype(np.uint8)


INT8_CASES = [(1, 4, 2, 1), (70, 200, 2, 130), (64, 256, 1, 64), (33, 388, 3, 20), (9, 768, 2, 70),
              (130, 100, 2, 65), (20, 64, 2, 40)]


@pytest.mark.parametrize("aligned", [False, True], ids=["offset-rows", "aligned-rows"])
@pytest.mark.parametrize("mma", [False, True], ids=["tile", "mma-sp"])
@pytest.mark.parametrize("tokens, k, n, outputs", INT8_CASES)
def test_int8_tile_equals_the_cpu_kernel_bit_for_bit(kernel, mma, tokens, k, n, outputs, aligned):
    """The int8 N:4 tile, and for 2:4 the int8 tensor-core tile (mma.sp m16n8k64 s8, steps of 64 columns: K
    not a multiple of 64 pads groups with the pair (0, 1)), on activations quantized as the device quantizer
    stores them (q_u8 − 128, rows padded to a multiple of 32): exact integer sums and the CPU kernel's epilogue
    operations in its order, so the result equals the numpy model of effc_uk_sparse_nm_linear_i8
    (test_sparse_gemm.py) bit for bit. Value rows 16-byte aligned (the 16-byte loads) or one byte off (bytes)."""
    if mma and n != 2:
        pytest.skip("the tensor-core tile takes 2:4 only")
    rng = np.random.default_rng(tokens * 31 + k + n)
    x = rng.standard_normal((tokens, k)).astype(np.float32)
    x[0] *= 4
    amax = np.abs(x).max(axis=1)
    inverse = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), 0).astype(np.float32)
    x_scale = np.where(amax > 0, amax / np.float32(127), 1).astype(np.float32)
    q = np.clip(np.rint(x * inverse[:, None]) + np.float32(128), 0, 255).astype(np.int64)
    ldq = -(-k // 32) * 32
    qbuf = np.zeros((tokens, ldq), np.int8)
    qbuf[:, :k] = (q - 128).astype(np.int8)
    _, indices, _ = compress(rng.standard_normal((outputs, k)).astype(np.float32), n, 4)
    q_values = rng.integers(-127, 128, indices.shape).astype(np.int8)
    scales = rng.uniform(0.001, 0.02, outputs).astype(np.float32)
    bias = rng.standard_normal(outputs).astype(np.float32)
    packed = padded_rows(pack_two_bit(indices), 3)
    values = padded_rows(q_values, -q_values.shape[1] % 16, 0) if aligned else padded_rows(q_values, 1, 1)
    ldy = outputs + 2
    y = np.full((tokens, ldy), np.nan, np.float32)
    status = kernel.effc_test_sparse_nm_i8(int(mma), tokens, outputs, k, qbuf.ctypes.data, ldq, x_scale.ctypes.data,
                                           values.ctypes.data, values.shape[1], packed.ctypes.data, packed.shape[1],
                                           n, scales.ctypes.data, bias.ctypes.data, y.ctypes.data, ldy)
    assert status & 1 == 0, "an access would have been misaligned on the device"
    assert status & 2 == 0, "mma.sp met an index pair it does not accept"
    w = np.zeros((outputs, k // 4, 4), np.int64)
    np.put_along_axis(w, indices.astype(np.int64).reshape(outputs, k // 4, n), q_values.astype(np.int64).reshape(
        outputs, k // 4, n), axis=2)
    w = w.reshape(outputs, k)
    corrected = (q @ w.T - 128 * w.sum(axis=1)[None, :]).astype(np.float32)
    expected = corrected * (x_scale[:, None] * scales[None, :]) + bias[None, :]
    np.testing.assert_array_equal(y[:, :outputs], expected)
    assert np.isnan(y[:, outputs:]).all(), "the kernel wrote past N"


@pytest.mark.parametrize("tokens, k, outputs, density", [(1, 64, 1, 0.5), (3, 100, 70, 0.1), (37, 256, 20, 0.3),
                                                         (130, 48, 9, 0.0), (16, 768, 33, 0.05)])
def test_csr_matches_numpy(kernel, tokens, k, outputs, density):
    """CSR weights (unstructured pruning): rows of different lengths, empty rows (density 0: y = bias), batched
    and strided activations, against float64 numpy on the dense weight."""
    rng = np.random.default_rng(tokens + k + outputs)
    w = rng.standard_normal((outputs, k)).astype(np.float32)
    w[rng.random((outputs, k)) >= density] = 0.0
    w[0] = 0.0  # an empty row
    row_ptr = np.concatenate([[0], np.cumsum((w != 0).sum(axis=1))]).astype(np.int32)
    columns = np.nonzero(w)[1].astype(np.int32)
    values = w[w != 0].astype(np.float32)
    if values.size == 0:
        values, columns = np.zeros(1, np.float32), np.zeros(1, np.int32)
    batch = 2 if tokens % 2 == 0 else 1
    seq = tokens // batch
    xbuf = rng.standard_normal((batch, seq, 2 * k + 1)).astype(np.float32)
    x = xbuf[:, :, :2 * k:2]
    bias = rng.standard_normal(outputs).astype(np.float32)
    ldy = outputs + 2
    y = np.full((tokens, ldy), np.nan, np.float32)
    status = kernel.effc_test_sparse_csr(tokens, outputs, xbuf.ctypes.data, seq, xbuf.shape[1] * xbuf.shape[2],
                                         xbuf.shape[2], 2, values.ctypes.data, columns.ctypes.data,
                                         row_ptr.ctypes.data, bias.ctypes.data, y.ctypes.data, ldy)
    assert status == 0
    expected = x.reshape(tokens, k).astype(np.float64) @ w.astype(np.float64).T + bias
    np.testing.assert_allclose(y[:, :outputs], expected, rtol=1e-5, atol=1e-5 * np.sqrt(k))
    assert np.isnan(y[:, outputs:]).all(), "the kernel wrote past N"
