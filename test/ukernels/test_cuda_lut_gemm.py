"""Numerics of the LUT (binary-coding) device micro-kernel (ukernels/cuda/lut_gemm.cu) without a GPU: the source
compiled as host C++ (cuda_lut_gemm_host.cpp, each block's 256 threads as host threads), over the grid that
effc-gpu-quantized-linears launches, against float64 numpy on the weight the packing encodes.

Weights are packed as docs/spec/eff.md lays out `eff.quantized_linear lut`: sign bits [Np/16][B][K/8][16] (bit j of
byte (n, i, c) is b_i[n, 8c + j], set: +1) and α [Np/16][K/G][B][16]. Shapes cover 1 to 4 bit planes, one and
several groups per 32-column step, groups longer than a step, partial tiles in M and N (N not a multiple of 16),
batched and strided activations and no bias. Tolerance: f32 summation order only (rtol 1e-5, atol 1e-5 · sqrt(K)
· max |Ŵ|).
"""

import ctypes

import numpy as np
import pytest
from ukernel_build import CLANGXX, build_cuda_host_harness

pytestmark = pytest.mark.skipif(CLANGXX is None, reason="clang++-22 not found")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    lib = build_cuda_host_harness(tmp_path_factory, "cuda_lut_gemm_host")
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib.effc_test_lut.argtypes = [ctypes.c_int, i64, i64, i64, ptr, i64, i64, i64, i64, ptr, ptr, i64, i64, ptr,
                                  ptr, i64]
    lib.effc_test_lut.restype = None
    return lib


def pack(signs, alpha, group):
    """signs [B, N, K] in {0, 1} (1: +1), alpha [N, K/G, B] -> eff-quantize's (packed bytes, α) with N padded
    to 16 (padding rows: all signs 0, α 0)."""
    bits, n, k = signs.shape
    np_ = -(-n // 16) * 16
    s = np.zeros((bits, np_, k), np.uint8)
    s[:, :n] = signs
    weights = (1 << np.arange(8, dtype=np.uint32))
    bytes_ = (s.reshape(bits, np_, k // 8, 8).astype(np.uint32) * weights).sum(axis=3).astype(np.uint8)
    packed = bytes_.reshape(bits, np_ // 16, 16, k // 8).transpose(1, 0, 3, 2).copy()  # [Np/16][B][K/8][16]
    a = np.zeros((np_, k // group, bits), np.float32)
    a[:n] = alpha
    alphas = a.reshape(np_ // 16, 16, k // group, bits).transpose(0, 2, 3, 1).copy()  # [Np/16][K/G][B][16]
    return packed.reshape(-1), alphas.reshape(-1)


@pytest.mark.parametrize("few_rows", [0, 1])
@pytest.mark.parametrize("m, n, k, group, bits", [
    (1, 1, 8, 8, 1),
    (33, 70, 96, 8, 2),       # several groups per step
    (70, 20, 256, 128, 3),    # groups longer than a step
    (9, 300, 64, 32, 4),
    (40, 16, 40, 40, 2),      # K not a multiple of the step
])
def test_lut_matches_numpy(kernel, few_rows, m, n, k, group, bits):
    rng = np.random.default_rng(m * 7 + n + k + bits)
    signs = rng.integers(0, 2, (bits, n, k)).astype(np.uint8)
    alpha = rng.uniform(0.01, 1.0, (n, k // group, bits)).astype(np.float32)
    packed, alphas = pack(signs, alpha, group)
    batch = 2 if m % 2 == 0 else 1
    seq = m // batch
    xbuf = rng.standard_normal((batch, seq, 2 * k + 3)).astype(np.float32)
    x = xbuf[:, :, 1:1 + 2 * k:2]  # a strided column
    bias = rng.standard_normal(n).astype(np.float32) if m % 3 else None
    ldy = n + 3
    y = np.full((m, ldy), np.nan, np.float32)
    kernel.effc_test_lut(few_rows, m, n, k, xbuf[:, :, 1:].ctypes.data, seq, xbuf.shape[1] * xbuf.shape[2],
                         xbuf.shape[2], 2, packed.ctypes.data, alphas.ctypes.data, group, bits,
                         None if bias is None else bias.ctypes.data, y.ctypes.data, ldy)
    pm = 2.0 * signs.astype(np.float64) - 1.0                                  # [B, N, K]
    a = np.repeat(alpha.astype(np.float64), group, axis=1).transpose(2, 0, 1)  # [B, N, K]
    w = (a * pm).sum(axis=0)
    expected = x.reshape(m, k).astype(np.float64) @ w.T + (0 if bias is None else bias)
    np.testing.assert_allclose(y[:, :n], expected, rtol=1e-5, atol=1e-5 * np.sqrt(k) * np.abs(w).max())
    assert np.isnan(y[:, n:]).all(), "the kernel wrote past N"
