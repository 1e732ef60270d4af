"""Numerics of the CUDA GEMM micro-kernels (ukernels/cuda/gemm.cu: the tiles and the few-rows GEMV) without a GPU: the
same source compiled as host C++ (test/ukernels/cuda_gemm_host.cpp runs each block's 256 threads as host threads with
a barrier), over the whole grid that effc-gpu-gemm-ukernels launches, against float64 numpy.

Shapes cover partial tiles in M, N and K for both tile sizes, K smaller than one K tile, K = 0, and leading
dimensions wider than the matrices (views into larger buffers). The kernel accumulates into C (C += A · B), so
C starts non-zero. Tolerance: f32 accumulation over K <= 300 of unit-scale products, rtol 1e-5, atol 1e-4.
The GEMV (at most 8 rows per block) is checked for 1 to 8 rows and more (several row blocks), K around its
128-row step, N that is not a multiple of 4 or of 32 (scalar loads), B rows that are not 16-byte aligned, and
operands inside wider buffers; with K up to 3072, atol 1e-4 · sqrt(K).
"""

import ctypes

import numpy as np
import pytest
from ukernel_build import CLANGXX, build_cuda_host_harness

pytestmark = pytest.mark.skipif(CLANGXX is None, reason="clang++-22 not found")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    lib = build_cuda_host_harness(tmp_path_factory, "cuda_gemm_host")
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib.effc_test_sgemm.argtypes = [ctypes.c_int, i64, i64, i64, ptr, i64, ptr, i64, ptr, i64]
    lib.effc_test_sgemm.restype = None
    lib.effc_test_sgemv.argtypes = [i64, i64, i64, ptr, i64, ptr, i64, ptr, i64]
    lib.effc_test_sgemv.restype = ctypes.c_int
    return lib


def run(kernel, tile, a, b, c):
    """C += A · B through the kernel; a, b, c are row-major views (innermost stride 1)."""
    for x in (a, b, c):
        assert x.dtype == np.float32 and (x.size == 0 or x.strides[1] == 4)
    kernel.effc_test_sgemm(tile, c.shape[0], c.shape[1], a.shape[1], a.ctypes.data, a.strides[0] // 4,
                           b.ctypes.data, b.strides[0] // 4, c.ctypes.data, c.strides[0] // 4)


@pytest.mark.parametrize("tile", [64, 128])
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (64, 64, 16), (130, 70, 37), (200, 129, 300), (5, 260, 8),
                                     (129, 3, 9), (70, 65, 0)])
def test_sgemm_matches_numpy(kernel, tile, m, n, k):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = rng.standard_normal((m, n)).astype(np.float32)
    expected = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    run(kernel, tile, a, b, c)
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("tile", [64, 128])
def test_sgemm_leading_dimensions(kernel, tile):
    """Operands that are column blocks of wider buffers: the kernel must use lda/ldb/ldc and touch nothing else."""
    rng = np.random.default_rng(3)
    m, n, k = 90, 75, 41
    abuf = rng.standard_normal((m, k + 7)).astype(np.float32)
    bbuf = rng.standard_normal((k, n + 5)).astype(np.float32)
    cbuf = rng.standard_normal((m, n + 11)).astype(np.float32)
    a, b, c = abuf[:, 3:3 + k], bbuf[:, 2:2 + n], cbuf[:, 4:4 + n]
    before = cbuf.copy()
    expected = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    run(kernel, tile, a, b, c)
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-4)
    outside = np.ones(cbuf.shape, bool)
    outside[:, 4:4 + n] = False
    np.testing.assert_array_equal(cbuf[outside], before[outside])


@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (1, 768, 768), (3, 100, 129), (8, 33, 300), (5, 64, 0),
                                     (1, 3072, 96), (13, 70, 257), (2, 50, 3072)])
@pytest.mark.parametrize("offsets", [(0, 0, 0), (3, 1, 2)])
def test_sgemv_matches_numpy(kernel, m, n, k, offsets):
    """C += A · B for few rows; with offsets, the operands are column blocks of wider buffers starting past the
    first columns (B rows no longer 16-byte aligned: the scalar path)."""
    rng = np.random.default_rng(m * 1000 + n * 10 + k + sum(offsets))
    oa, ob, oc = offsets
    abuf = rng.standard_normal((m, k + oa + 5)).astype(np.float32)
    bbuf = rng.standard_normal((k, n + ob + 4)).astype(np.float32)
    cbuf = rng.standard_normal((m, n + oc + 3)).astype(np.float32)
    a, b, c = abuf[:, oa:oa + k], bbuf[:, ob:ob + n], cbuf[:, oc:oc + n]
    before = cbuf.copy()
    expected = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    bad = kernel.effc_test_sgemv(m, n, k, a.ctypes.data, abuf.shape[1], b.ctypes.data, bbuf.shape[1],
                                 c.ctypes.data, cbuf.shape[1])
    assert bad == 0, "an access would have been misaligned on the device"
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-4 * np.sqrt(max(k, 1)))
    untouched = np.ones(cbuf.shape, bool)
    untouched[:, oc:oc + n] = False
    np.testing.assert_array_equal(cbuf[untouched], before[untouched])
