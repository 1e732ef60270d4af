"""Numerics of the bf16 / f16 tensor-core GEMM micro-kernels (ukernels/cuda/mma_gemm.cu) without a GPU: the same source
compiled as host C++ (test/ukernels/cuda_mma_gemm_host.cpp runs each block's 256 threads as host threads, with
host versions of cp.async, ldmatrix and mma.sync that follow the PTX ISA's fragment layouts), over the whole grid
that effc-gpu-bf16-linear-ukernels launches, against float64 numpy on the bf16-rounded operands.

Weights are packed as eff-quantize packs them for the bf16 scheme ([N/16][K/2][16][2], zero padded). Shapes
cover partial tiles in M, N and K for both tile shapes, K = 1 and odd K, K = 0 (C = bias), leading dimensions
wider than the matrices, a strided k (activations that are not contiguous), a packing that is not 16-byte
aligned (the kernel's 4-byte copy path) and no bias; any access that would be misaligned on the device fails
the test. Tolerance: only the f32 summation order differs, rtol 1e-5, atol 1e-4 · sqrt(K).
"""

import ctypes

import numpy as np
import pytest
from product_formats import bf16_bits, bf16_round, f16_round
from ukernel_build import CLANGXX, build_cuda_host_harness

pytestmark = pytest.mark.skipif(CLANGXX is None, reason="clang++-22 not found")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    lib = build_cuda_host_harness(tmp_path_factory, "cuda_mma_gemm_host")
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib.effc_test_bf16_gemm.argtypes = [ctypes.c_int, i64, i64, i64, ptr, i64, i64, ptr, ptr, ptr, i64]
    lib.effc_test_bf16_gemm.restype = ctypes.c_int
    lib.effc_test_mma_sgemm.argtypes = [ctypes.c_int, ctypes.c_int, i64, i64, i64, ptr, i64, ptr, i64, ptr, i64]
    lib.effc_test_mma_sgemm.restype = ctypes.c_int
    return lib


def pack(w):
    """[N, K] -> eff-quantize's bf16 packing [ceil(N/16)][ceil(K/2)][16][2] (packBf16 in Quantize.cpp)."""
    n, k = w.shape
    np_, kp = -(-n // 16) * 16, -(-k // 2) * 2
    p = np.zeros((np_, kp), np.uint16)
    p[:n, :k] = bf16_bits(w)
    return p.reshape(np_ // 16, 16, kp // 2, 2).transpose(0, 2, 1, 3).copy().reshape(-1)


def aligned_copy(values, offset_bytes=0):
    """`values` in a fresh buffer whose data starts `offset_bytes` past a 64-byte boundary."""
    raw = np.zeros(values.nbytes + 64 + offset_bytes, np.uint8)
    start = (-raw.ctypes.data) % 64 + offset_bytes
    out = raw[start:start + values.nbytes].view(values.dtype)
    out[:] = values.reshape(-1)
    return out


def run(kernel, tile, m, a_data, lda, ak, w, packed, bias, c, ldc):
    k, n = w.shape[1], w.shape[0]
    bad = kernel.effc_test_bf16_gemm(tile, m, n, k, a_data.ctypes.data, lda, ak, packed.ctypes.data,
                                     None if bias is None else bias.ctypes.data, c.ctypes.data, ldc)
    assert bad == 0, "an access would have been misaligned on the device"


def check(kernel, tile, m, n, k, lda_pad=0, ak=1, w_offset=0, with_bias=True):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    lda = k * ak + lda_pad
    storage = aligned_copy(rng.standard_normal(max(m * lda, 1)).astype(np.float32))
    a = storage[:m * lda].reshape(m, lda)[:, :k * ak:ak] if k else np.zeros((m, 0), np.float32)
    w = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32) if with_bias else None
    ldc = n + 3
    cbuf = np.full((m, ldc), np.nan, np.float32)
    run(kernel, tile, m, storage, lda, ak, w, aligned_copy(pack(w), w_offset), bias, cbuf, ldc)
    expected = bf16_round(a).astype(np.float64) @ bf16_round(w).astype(np.float64).T
    if bias is not None:
        expected += bias
    np.testing.assert_allclose(cbuf[:, :n], expected, rtol=1e-5, atol=1e-4 * np.sqrt(max(k, 1)))
    assert np.isnan(cbuf[:, n:]).all(), "the kernel wrote past N"


@pytest.mark.parametrize("tile", [64, 128])
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (7, 13, 5), (130, 70, 67), (65, 129, 32), (3, 20, 100), (9, 17, 0)])
def test_bf16_gemm_matches_numpy(kernel, tile, m, n, k):
    check(kernel, tile, m, n, k)


@pytest.mark.parametrize("tile", [64, 128])
def test_bf16_gemm_operand_layouts(kernel, tile):
    """Wider leading dimensions, a strided k, a packing that is 4- but not 16-byte aligned (4-byte copies) and no bias."""
    check(kernel, tile, 37, 40, 48, lda_pad=5)
    check(kernel, tile, 20, 24, 33, ak=3)
    check(kernel, tile, 20, 50, 40, w_offset=4)
    check(kernel, tile, 20, 24, 40, with_bias=False)


@pytest.mark.parametrize("products", ["bf16", "f16"])
@pytest.mark.parametrize("tile", [64, 128])
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (130, 70, 67), (65, 129, 32), (9, 17, 0), (40, 24, 768)])
def test_sgemm_matches_numpy(kernel, products, tile, m, n, k):
    """The f32-operand forms (--cuda-matmul-precision=bf16 or f16): C += A · B with B [K, N] row-major, operands
    rounded to the product format, views into wider buffers (lda, ldb, ldc larger than the matrices). The
    tolerance is below the difference between the two formats' roundings at K = 768, so each form must round
    to its own format."""
    rng = np.random.default_rng(m * 1000 + n * 10 + k + 1)
    rounded = bf16_round if products == "bf16" else f16_round
    abuf = rng.standard_normal((m, k + 5)).astype(np.float32)
    bbuf = rng.standard_normal((k, n + 3)).astype(np.float32)
    cbuf = rng.standard_normal((m, n + 7)).astype(np.float32)
    a, b, c = abuf[:, :k], bbuf[:, :n], cbuf[:, :n]
    before = cbuf.copy()
    expected = c.astype(np.float64) + rounded(a).astype(np.float64) @ rounded(b).astype(np.float64)
    bad = kernel.effc_test_mma_sgemm(products == "f16", tile, m, n, k, abuf.ctypes.data, abuf.shape[1],
                                     bbuf.ctypes.data, bbuf.shape[1], cbuf.ctypes.data, cbuf.shape[1])
    assert bad == 0, "an access would have been misaligned on the device"
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-4 * np.sqrt(max(k, 1)))
    np.testing.assert_array_equal(cbuf[:, n:], before[:, n:])
