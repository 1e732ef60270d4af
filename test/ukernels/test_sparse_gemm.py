"""Unit tests of ukernels/sparse_gemm.c on their own: both variants (AVX-512 and portable C) are built with
clang-22 into a shared library with the stand-in host of test/ukernels/shim/host.c, called through ctypes with
the MLIR memref calling convention, and compared with a float64 numpy product on the dense weight that the
stored N:M entries describe (entry c of row o is the weight at column (c / n) · m + indices[o, c]).

Token counts cover the small-M path (at most 64 tokens: a few output rows at a time, up to 8 tokens sharing
the index decode; 1, 2, 3, 5, 8, 9, 17 and 64 rows) and the token-block path (65 and 130 rows). Patterns cover each
AVX-512 gather of the decode path: 2:4 and 4:8 (one vpermt2ps), 1:4 (two and a blend), 1:8 and 2:32 (a
vgatherdps, m > 16), and 3:8 (n not dividing 16: the C loop). K = m · groups with a number of stored entries per
row that is not a multiple of 16, so the masked tail runs too.

Tolerance: f32 sums of the K·n/m products in another order than float64: rtol 1e-5, atol 1e-5 · sqrt(K).
"""

import ctypes

import numpy as np
import pytest

from ukernel_build import CLANG, VARIANTS, build_kernels, memref_args

pytestmark = pytest.mark.skipif(CLANG is None, reason="clang-22 not found")


@pytest.fixture(scope="module", params=list(VARIANTS))
def kernels(request, tmp_path_factory):
    return build_kernels(tmp_path_factory, request.param, ["sparse_gemm.c"], "sg")


def random_nm(rng, rows, k, n, m):
    """Stored N:M entries of a random [rows, k] weight: values [rows, k·n/m] f32 and indices (ascending
    distinct columns within each group) [rows, k·n/m] i8."""
    groups = k // m
    picks = np.argsort(rng.random((rows, groups, m)), axis=2)[:, :, :n]
    indices = np.sort(picks, axis=2).reshape(rows, groups * n).astype(np.int8)
    values = rng.standard_normal((rows, groups * n)).astype(np.float32)
    return values, indices


def dense_weight(values, indices, k, n, m):
    rows, stored = values.shape
    w = np.zeros((rows, k), np.float64)
    columns = (np.arange(stored) // n * m)[None, :] + indices.astype(np.int64)
    np.put_along_axis(w, columns, values.astype(np.float64), axis=1)
    return w


def run_nm(lib, x, values, indices, bias, n, m):
    """Calls effc_uk_sparse_nm_linear on x [B, S, K] (any row strides) and returns y [B, S, N]."""
    y = np.full(x.shape[:2] + (values.shape[0],), np.nan, np.float32)
    args = memref_args(x) + memref_args(values) + memref_args(indices) + memref_args(bias) + \
        [ctypes.c_int64(n), ctypes.c_int64(m)] + memref_args(y)
    lib.effc_uk_sparse_nm_linear(*args)
    return y


PATTERNS = [(2, 4), (1, 4), (4, 8), (1, 8), (2, 32), (3, 8)]
TOKENS = [1, 2, 3, 5, 8, 9, 17, 64, 65, 130]


@pytest.mark.parametrize("n,m", PATTERNS, ids=[f"{n}of{m}" for n, m in PATTERNS])
@pytest.mark.parametrize("tokens", TOKENS)
def test_nm_linear_matches_numpy(kernels, tokens, n, m):
    rng = np.random.default_rng(1000 * tokens + 10 * n + m)
    k = m * (75 if m <= 8 else 9)  # stored entries per row: 150, 75, 300, 75, 18, 225 - none a multiple of 16
    out_features = 37
    values, indices = random_nm(rng, out_features, k, n, m)
    bias = rng.standard_normal(out_features).astype(np.float32)
    # Strided activations: [B, S, K] rows taken from a wider buffer.
    batch = 1 if tokens % 2 else 2
    wide = rng.standard_normal((batch, tokens // batch, k + 11)).astype(np.float32)
    x = wide[:, :, 3:3 + k]
    y = run_nm(kernels, x, values, indices, bias, n, m)
    expected = x.astype(np.float64) @ dense_weight(values, indices, k, n, m).T + bias
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.sqrt(k))


# The token-block path's tiles of 128 outputs and its 16 x 16 transposed stores of y: 300 outputs are two
# whole output blocks and one of 44 (two 16-blocks and a ragged 12); 150 tokens a whole and a ragged block.
@pytest.mark.parametrize("tokens", [80, 150])
def test_nm_linear_output_blocks(kernels, tokens):
    rng = np.random.default_rng(tokens)
    k, n, m, out_features = 96, 2, 4, 300
    values, indices = random_nm(rng, out_features, k, n, m)
    bias = rng.standard_normal(out_features).astype(np.float32)
    x = rng.standard_normal((1, tokens, k)).astype(np.float32)
    y = run_nm(kernels, x, values, indices, bias, n, m)
    expected = x.astype(np.float64) @ dense_weight(values, indices, k, n, m).T + bias
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.sqrt(k))


@pytest.mark.parametrize("tokens", [1, 4, 65])
def test_nm_linear_zero_bias_and_single_output(kernels, tokens):
    rng = np.random.default_rng(tokens)
    k, n, m = 64, 2, 4
    values, indices = random_nm(rng, 1, k, n, m)
    x = rng.standard_normal((1, tokens, k)).astype(np.float32)
    y = run_nm(kernels, x, values, indices, np.zeros(1, np.float32), n, m)
    expected = x.astype(np.float64) @ dense_weight(values, indices, k, n, m).T
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.sqrt(k))


# ------------------------------------------------------------------------------------------------------------
# int8 values with 2-bit indices (m = 4): effc_uk_sparse_nm_linear_i8


def pack_two_bit(indices):
    """[N, stored] indices in [0, 4) -> [N, ceil(stored / 4)] bytes, entry c in bits 2·(c % 4) of byte c / 4."""
    rows, stored = indices.shape
    padded = np.zeros((rows, (stored + 3) // 4 * 4), np.uint8)
    padded[:, :stored] = indices
    quads = padded.reshape(rows, -1, 4).astype(np.uint32)
    return (quads[:, :, 0] | quads[:, :, 1] << 2 | quads[:, :, 2] << 4 | quads[:, :, 3] << 6).astype(np.int8)


def quantized_reference(x, q_values, indices, scales, bias, n):
    """The kernel's math in numpy: activations per row to u8 (scale max|x| / 127, zero point 128, as the dense
    int8 kernel), exact integer sums, then the dense int8 epilogue's f32 operations in the same order."""
    rows, k = x.shape[0] * x.shape[1], x.shape[2]
    xf = x.reshape(rows, k).astype(np.float32)
    amax = np.abs(xf).max(axis=1)
    inverse = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), 0).astype(np.float32)
    x_scale = np.where(amax > 0, amax / np.float32(127), 1).astype(np.float32)
    q = np.clip(np.rint(xf * inverse[:, None]) + np.float32(128), 0, 255).astype(np.int64)
    w = dense_weight(q_values.astype(np.float32), indices, k, n, 4).astype(np.int64)
    acc = q @ w.T
    corrected = (acc - 128 * w.sum(axis=1)[None, :]).astype(np.float32)
    y = corrected * (x_scale[:, None] * scales[None, :]) + bias[None, :]
    return y.reshape(x.shape[0], x.shape[1], -1)


def run_nm_i8(lib, x, q_values, packed, scales, bias, n):
    y = np.full(x.shape[:2] + (q_values.shape[0],), np.nan, np.float32)
    args = memref_args(x) + memref_args(q_values) + memref_args(packed) + memref_args(scales) + memref_args(bias) + \
        [ctypes.c_int64(n), ctypes.c_int64(4)] + memref_args(y)
    lib.effc_uk_sparse_nm_linear_i8(*args)
    return y


I8_PATTERNS = [(2, 4), (1, 4), (3, 4)]


@pytest.mark.parametrize("n", [n for n, _ in I8_PATTERNS], ids=[f"{n}of4" for n, _ in I8_PATTERNS])
@pytest.mark.parametrize("k", [100, 256, 264, 388])
@pytest.mark.parametrize("tokens", [1, 2, 3, 5, 9, 17, 31, 32, 33, 130])
def test_nm_i8_linear_matches_quantized_numpy(kernels, tokens, k, n):
    """Stored entries per row (2:4: 50, 128, 132, 194) are whole 64-entry chunks or not, and K ends inside a
    128-column activation block or not. From 32 tokens, 2:4 with 8 | K (256, 264: 32 and 33 chunks of 8
    columns, a whole and a partial K step) takes the AVX-512 quad-table path, in whole and partial 32-token
    blocks. Integer sums are exact and the reference does the f32 epilogue's operations in the same order, so
    the results must be equal bit for bit."""
    rng = np.random.default_rng(100 * tokens + k + n)
    out_features = 37
    values, indices = random_nm(rng, out_features, k, n, 4)
    q_values = rng.integers(-127, 128, values.shape).astype(np.int8)
    scales = rng.uniform(0.001, 0.02, out_features).astype(np.float32)
    bias = rng.standard_normal(out_features).astype(np.float32)
    batch = 1 if tokens % 2 else 2
    wide = rng.standard_normal((batch, tokens // batch, k + 5)).astype(np.float32)
    x = wide[:, :, 2:2 + k]
    x[0, 0, :] *= 4  # rows with different scales
    y = run_nm_i8(kernels, x, q_values, pack_two_bit(indices), scales, bias, n)
    expected = quantized_reference(x, q_values, indices, scales, bias, n)
    np.testing.assert_array_equal(y, expected)


def test_nm_i8_linear_zero_activation_row(kernels):
    """An all-zero token (max|x| = 0: scale 1, every q_x = 128) gives exactly the bias."""
    rng = np.random.default_rng(9)
    values, indices = random_nm(rng, 20, 128, 2, 4)
    q_values = rng.integers(-127, 128, values.shape).astype(np.int8)
    scales = np.full(20, 0.01, np.float32)
    bias = rng.standard_normal(20).astype(np.float32)
    x = np.zeros((1, 2, 128), np.float32)
    x[0, 1] = rng.standard_normal(128)
    y = run_nm_i8(kernels, x, q_values, pack_two_bit(indices), scales, bias, 2)
    np.testing.assert_array_equal(y[0, 0], bias)
    np.testing.assert_allclose(y, quantized_reference(x, q_values, indices, scales, bias, 2), rtol=1e-5, atol=1e-5)
