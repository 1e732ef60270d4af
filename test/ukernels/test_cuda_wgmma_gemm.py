"""Numerics of the sm_90a warpgroup GEMM micro-kernels (ukernels/cuda/wgmma_gemm.cu) without a GPU: the same
source compiled as host C++ (test/ukernels/cuda_wgmma_gemm_host.cpp runs each block's 256 threads as host threads;
wgmma.mma_async is carried out at wgmma.wait_group, reading its operands through the shared-memory descriptors'
fields as the PTX ISA defines them), over the grid effc-gpu-gemm-ukernels launches for --cuda-arch=sm_90a, against
float64 numpy on operands rounded to the product format.

Shapes cover partial tiles in M, N and K (K off the 32-column step, K = 1, K = 0), several tiles in both directions,
and operands inside wider buffers (lda, ldb, ldc larger than the matrices, A rows not 16-byte aligned: the scalar
loads; otherwise float4 loads). The kernel accumulates (C += A · B). Tolerance: only the f32 summation order differs,
rtol 1e-5, atol 1e-4 · sqrt(K), below the difference between the bf16 and f16 roundings, so each form must round to
its own format.
"""

import ctypes

import numpy as np
import pytest
from product_formats import bf16_round, f16_round
from ukernel_build import CLANGXX, build_cuda_host_harness

pytestmark = pytest.mark.skipif(CLANGXX is None, reason="clang++-22 not found")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    lib = build_cuda_host_harness(tmp_path_factory, "cuda_wgmma_gemm_host")
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib.effc_test_wgmma_sgemm.argtypes = [ctypes.c_int, i64, i64, i64, ptr, i64, ptr, i64, ptr, i64]
    lib.effc_test_wgmma_sgemm.restype = ctypes.c_int
    return lib


@pytest.mark.parametrize("products", ["bf16", "f16"])
@pytest.mark.parametrize("m, n, k, offset", [(1, 1, 1, 0), (130, 70, 67, 0), (128, 256, 64, 0), (200, 129, 300, 1),
                                             (9, 17, 0, 0), (40, 24, 768, 0), (64, 130, 40, 3)])
def test_wgmma_sgemm_matches_numpy(kernel, products, m, n, k, offset):
    rng = np.random.default_rng(m * 1000 + n * 10 + k + offset)
    rounded = bf16_round if products == "bf16" else f16_round
    # Rows of A a multiple of 4 floats apart from a 64-byte aligned start (the float4 loads), unless offset.
    width = k + offset + 4 + (-(k + offset)) % 4
    raw = np.zeros(m * width + 16, np.float32)
    start = (-raw.ctypes.data % 64) // 4
    abuf = raw[start:start + m * width].reshape(m, width)
    abuf[:] = rng.standard_normal((m, width)).astype(np.float32)
    bbuf = rng.standard_normal((k, n + 3)).astype(np.float32)
    cbuf = rng.standard_normal((m, n + 7)).astype(np.float32)
    a, b, c = abuf[:, offset:offset + k], bbuf[:, :n], cbuf[:, :n]
    before = cbuf.copy()
    expected = c.astype(np.float64) + rounded(a).astype(np.float64) @ rounded(b).astype(np.float64)
    bad = kernel.effc_test_wgmma_sgemm(products == "f16", m, n, k, a.ctypes.data, abuf.shape[1], bbuf.ctypes.data,
                                       bbuf.shape[1], cbuf.ctypes.data, cbuf.shape[1])
    assert bad == 0, "an access would have been misaligned on the device"
    np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-4 * np.sqrt(max(k, 1)))
    np.testing.assert_array_equal(cbuf[:, n:], before[:, n:])
