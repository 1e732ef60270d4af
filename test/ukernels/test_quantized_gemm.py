"""Unit tests of ukernels/quantized_gemm.c on their own: both variants (AVX-512 and portable C) are built with
clang-22 into a shared library with a stand-in host (test/ukernels/shim/host.c: parallel_for on 2 threads,
aligned allocation), called through ctypes with the MLIR memref calling convention, and compared with the
numpy model of each scheme (test/e2e/quantization_model.py) on packed weights produced by that model.

Tolerances: int8 does exact integer dot products, so only the f32 epilogue rounds (rtol 1e-5); int4 (its
W4A8 path's integer sums are exact too, folded in f32 per group), LUT and bf16 accumulate in f32 in a
different order than the float64 model (rtol 1e-4 of the output's scale).
"""

import ctypes
import sys

import numpy as np
import pytest

from ukernel_build import CLANG, REPO, bf16_variants, build_kernels, memref_args

sys.path.insert(0, str(REPO / "test" / "e2e"))

import quantization_model as qm  # noqa: E402

pytestmark = pytest.mark.skipif(CLANG is None, reason="clang-22 not found")


@pytest.fixture(scope="module", params=bf16_variants())
def kernels(request, tmp_path_factory):
    return build_kernels(tmp_path_factory, request.param, ["quantized_gemm.c"], "qg")


def call(lib, name, x, *args):
    """Calls a kernel on x [M, K] or [B, S, K]; the last argument is the result y [M, N] or [B, S, N]. The
    kernels take both as rank 3, so matrices are passed as [1, M, ...] views."""
    args = (x,) + args
    args = tuple(a[None] if isinstance(a, np.ndarray) and i in (0, len(args) - 1) and a.ndim == 2 else a
                 for i, a in enumerate(args))
    flat = []
    for a in args:
        if isinstance(a, np.ndarray):
            flat += memref_args(a)
        elif isinstance(a, float):
            flat.append(ctypes.c_float(a))
        else:
            flat.append(ctypes.c_int64(a))
    getattr(lib, f"effc_uk_quantized_linear_{name}")(*flat)


SHAPES = [(1, 64, 16), (3, 40, 50), (7, 256, 96), (13, 128, 200), (64, 384, 80)]  # (M, K, N)


def _data(m, k, n, seed=0):
    gen = np.random.default_rng(seed)
    return (gen.standard_normal((m, k)).astype(np.float32), gen.standard_normal((n, k)).astype(np.float32),
            gen.standard_normal(n).astype(np.float32))


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_int8_dynamic(kernels, m, k, n, with_bias):
    x, w, b = _data(m, k, n)
    q, s = qm.quantize_int8(w)
    packed, colsum, scale = qm.pack_int8(q, s)
    y = np.zeros((m, n), np.float32)
    call(kernels, "int8", x, packed, colsum, scale, b, int(with_bias), 0.0, 0, y)
    expected = qm.linear_int8(x, w, b if with_bias else None)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_int8_static_and_strided_input(kernels):
    x, w, b = _data(9, 100, 33, seed=1)
    wide = np.zeros((9, 2 * 100), np.float32)
    wide[:, ::2] = x
    view = wide[:, ::2]  # inner stride 2
    q, s = qm.quantize_int8(w)
    packed, colsum, scale = qm.pack_int8(q, s)
    static = (float(np.float32(np.abs(x).max() / 120)), 121)
    y = np.zeros((9, 33), np.float32)
    call(kernels, "int8", view, packed, colsum, scale, b, 1, static[0], static[1], y)
    expected = qm.linear_int8(x, w, b, static=static)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


# Full 6-row panels of contiguous rows are quantized 16 columns of the six rows at a time (then the K % 16
# tail per row): dynamic and static, K with and without a tail, and rows too small to quantize (amax below
# 2^-100, where 127/amax overflows f32 for the smallest: they count as zero, so y is the bias there).
@pytest.mark.parametrize("k", [16, 100, 768])
@pytest.mark.parametrize("static", [False, True])
def test_int8_full_panels(kernels, k, static):
    x, w, b = _data(12, k, 40, seed=3)
    x[2] *= np.float32(1e-38)  # amax about 4e-38: 127 / amax is inf in f32
    x[7] *= np.float32(1e-32)
    if static:  # far outside the static range: x / s above 2^31 saturates to 255 (it converted to INT_MIN: 0)
        x[4, 5], x[9, 1] = np.float32(1e12), np.float32(-1e12)
    q, s = qm.quantize_int8(w)
    packed, colsum, scale = qm.pack_int8(q, s)
    quantization = (float(np.float32(np.abs(x[:4]).max() / 120)), 121) if static else None
    y = np.zeros((12, 40), np.float32)
    call(kernels, "int8", x, packed, colsum, scale, b, 1, *(quantization or (0.0, 0)), y)
    expected = qm.linear_int8(x, w, b, static=quantization)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    assert np.isfinite(y).all()
    if not static:
        np.testing.assert_array_equal(y[[2, 7]], np.broadcast_to(b, (2, 40)))


def check_int4(kernels, x, w, b, group, symmetric):
    """The int4 kernel on x against the numpy model (W4A8 for groups that are a multiple of 8 up to 65536)."""
    q, s, z = qm.quantize_int4(w, group, symmetric)
    packed, scale, zero = qm.pack_int4(q, s, z)
    y = np.zeros((x.shape[0], w.shape[0]), np.float32)
    call(kernels, "int4", x, packed, scale, zero, b, group, int(not symmetric), 1, y)
    expected = qm.linear_int4(x, w, b, group, symmetric)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("m,k,n", [(1, 256, 16), (3, 128, 50), (9, 512, 100), (20, 256, 33)])
@pytest.mark.parametrize("group,symmetric", [(128, True), (64, False), (32, True), (8, False)])
def test_int4(kernels, m, k, n, group, symmetric):
    check_int4(kernels, *_data(m, k, n, seed=2), group, symmetric)


# W4A8 quantizes activations 16 at a time: a group of 24 leaves a tail of 8 to the scalar loop.
@pytest.mark.parametrize("m", [1, 5])
def test_int4_group_not_a_multiple_of_16(kernels, m):
    check_int4(kernels, *_data(m, 192, 40, seed=12), 24, False)


# Groups that are not a multiple of 8 keep f32 activations (the decode tile at M < 4, the row tile above).
@pytest.mark.parametrize("m,k,n", [(1, 120, 40), (3, 60, 70), (9, 180, 33)])
@pytest.mark.parametrize("group,symmetric", [(12, True), (6, False), (2, True)])
def test_int4_f32_activations(kernels, m, k, n, group, symmetric):
    check_int4(kernels, *_data(m, k, n, seed=10), group, symmetric)


# The largest group whose int32 sums W4A8 takes (65536), and one beyond it, which keeps f32 activations.
@pytest.mark.parametrize("group", [65536, 131072])
def test_int4_largest_groups(kernels, group):
    check_int4(kernels, *_data(2, 131072, 16, seed=13), group, True)


def test_int4_tiny_activations(kernels):
    """Groups whose largest magnitude is below 2^-100 count as zero (127 / amax would overflow); others as small
    as 1e-30 are quantized as usual."""
    x, w, b = _data(2, 64, 16, seed=14)
    x[0] *= np.float32(1e-38)
    x[1] *= np.float32(1e-30)
    check_int4(kernels, x, w, b, 32, True)


def test_int4_activations_quantized_per_group(kernels):
    """W4A8 scales each group of a row on its own: beside a group of large activations, the small ones keep
    their precision. With one scale per row they would round to a few levels, off by more than the tolerance."""
    m, k, n, group = 2, 256, 48, 64
    x, w, _ = _data(m, k, n, seed=11)
    x[:, :group] *= 10.0
    x[:, group:] *= 0.1
    q, s, z = qm.quantize_int4(w, group, True)
    packed, scale, zero = qm.pack_int4(q, s, z)
    y = np.zeros((m, n), np.float32)
    call(kernels, "int4", x, packed, scale, zero, np.zeros(n, np.float32), group, 0, 0, y)
    expected = qm.linear_int4(x, w, None, group, True)
    atol = 1e-4 * np.abs(expected).max()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=atol)
    xq, xs = qm.quantize_activations_int4(x, k)  # one scale per row
    per_row = (xq[:, 0] * xs[:, :1].astype(np.float64)) @ qm.dequantize_int4(q, s, z, group).T
    assert np.abs(per_row - expected).max() > 50 * atol


@pytest.mark.parametrize("m,k,n", [(1, 256, 16), (2, 128, 50), (6, 256, 70)])
@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_lut(kernels, m, k, n, bits):
    x, w, b = _data(m, k, n, seed=3)
    group = 64
    signs, alpha = qm.fit_binary_coding(w, bits, group)
    packed, alpha_packed = qm.pack_lut(signs, alpha)
    y = np.zeros((m, n), np.float32)
    call(kernels, "lut", x, packed, alpha_packed, b, group, bits, 1, y)
    expected = (x.astype(np.float64) @ qm.dequantize_lut(signs, alpha).T + b).astype(np.float32)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_lut_fit_improves_with_bits():
    _, w, _ = _data(1, 256, 32, seed=4)
    errors = [np.abs(qm.dequantize_lut(*qm.fit_binary_coding(w, q, 64)) - w).mean() for q in (1, 2, 3, 4)]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors


@pytest.mark.parametrize("m,k,n", [(1, 64, 16), (5, 41, 30), (13, 128, 100)])
def test_bf16(kernels, m, k, n):
    x, w, b = _data(m, k, n, seed=5)
    y = np.zeros((m, n), np.float32)
    call(kernels, "bf16", x, qm.pack_bf16(w), b, 1, y)
    expected = qm.linear_bf16(x, w, b)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("scheme", ["int8", "int4", "lut", "bf16"])
def test_rows_walked_through_batch_strides(kernels, scheme):
    """x [B, S, K] is a transposed view of a [S, B, K] array (batch stride < row stride, column stride 2):
    the kernels must find row (b, s) through the strides alone."""
    b_, s_, k, n = 3, 5, 128, 40
    x, w, bias = _data(b_ * s_, k, n, seed=6)
    storage = np.zeros((s_, b_, 2 * k), np.float32)
    storage[:, :, ::2] = x.reshape(b_, s_, k).transpose(1, 0, 2)
    view = storage[:, :, ::2].transpose(1, 0, 2)
    y = np.zeros((b_, s_, n), np.float32)
    if scheme == "int8":
        q, sc = qm.quantize_int8(w)
        call(kernels, "int8", view, *qm.pack_int8(q, sc), bias, 1, 0.0, 0, y)
        expected = qm.linear_int8(x, w, bias)
    elif scheme == "int4":
        q, sc, z = qm.quantize_int4(w, 64, True)
        packed, scale, zero = qm.pack_int4(q, sc, z)
        call(kernels, "int4", view, packed, scale, zero, bias, 64, 0, 1, y)
        expected = qm.linear_int4(x, w, bias, 64, True)
    elif scheme == "lut":
        signs, alpha = qm.fit_binary_coding(w, 2, 64)
        call(kernels, "lut", view, *qm.pack_lut(signs, alpha), bias, 64, 2, 1, y)
        expected = (x.astype(np.float64) @ qm.dequantize_lut(signs, alpha).T + bias).astype(np.float32)
    else:
        call(kernels, "bf16", view, qm.pack_bf16(w), bias, 1, y)
        expected = qm.linear_bf16(x, w, bias)
    np.testing.assert_allclose(y.reshape(-1, n), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


# Shapes for the paths the BERT- and decode-sized kernels take: int8 row panels with a ragged last panel
# (M = 7, 13), several row chunks (M = 200, N = 40: one column task, so chunks of 5 panels, 7 of them, for
# the schedule's minimum task count; K = 3072 alone would give chunks of 84 rows), K not a multiple
# of 4, and M < 4 against many column blocks (int4 and LUT decode tiles of 4 blocks, N with a ragged block).
@pytest.mark.parametrize("m,k,n", [(1, 45, 200), (7, 3072, 70), (200, 3072, 40), (13, 250, 129), (97, 768, 64)])
@pytest.mark.parametrize("threads", [1, 3])
def test_int8_panels_chunks_and_threads(kernels, m, k, n, threads):
    x, w, b = _data(m, k, n, seed=7)
    q, s = qm.quantize_int8(w)
    packed, colsum, scale = qm.pack_int8(q, s)
    y = np.zeros((m, n), np.float32)
    kernels.qg_set_threads(threads)
    try:
        call(kernels, "int8", x, packed, colsum, scale, b, 1, 0.0, 0, y)
    finally:
        kernels.qg_set_threads(2)
    expected = qm.linear_int8(x, w, b)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


# bf16 with the int8 kernel's structure: 6-row panels (ragged at M = 7, 13, 97), row chunks of at most 256 KiB
# of packed activations (M = 200: 7 chunks of 5 panels, for the schedule's minimum task count), k blocks of
# 128 whose partial sums wait in y (K = 3072, 768, 250; K = 45 is odd and padded), several column panels per
# task at M < 16.
@pytest.mark.parametrize("m,k,n", [(1, 45, 200), (7, 3072, 70), (200, 3072, 40), (13, 250, 129), (97, 768, 64),
                                   (2, 768, 1100)])
@pytest.mark.parametrize("threads", [1, 3])
def test_bf16_panels_chunks_and_threads(kernels, m, k, n, threads):
    x, w, b = _data(m, k, n, seed=9)
    y = np.full((m, n), np.nan, np.float32)
    kernels.qg_set_threads(threads)
    try:
        call(kernels, "bf16", x, qm.pack_bf16(w), b, 1, y)
    finally:
        kernels.qg_set_threads(2)
    expected = qm.linear_bf16(x, w, b)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_bf16_activations_round_to_nearest_even(kernels):
    """x · I returns x rounded to bf16: values exactly halfway between two bf16 numbers go to the even one, in
    the vectorised packing (first 32 columns) and in its scalar tail (K = 35)."""
    k = 35
    j = np.arange(k, dtype=np.float32)
    x = ((1.0 + 2.0**-8 + j * 2.0**-7) * np.where(j % 3 == 0, -1.0, 1.0) * 2.0 ** (j % 5)).astype(np.float32)
    y = np.zeros((1, k), np.float32)
    call(kernels, "bf16", x[None], qm.pack_bf16(np.eye(k, dtype=np.float32)), np.zeros(k, np.float32), 0, y)
    np.testing.assert_array_equal(y[0], qm.round_bf16(x))
    assert not np.array_equal(qm.round_bf16(x), x)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [16, 100, 1000])
def test_int4_and_lut_decode_tiles(kernels, m, n):
    x, w, b = _data(m, 256, n, seed=8)
    q, s, z = qm.quantize_int4(w, 64, False)
    packed, scale, zero = qm.pack_int4(q, s, z)
    y = np.zeros((m, n), np.float32)
    call(kernels, "int4", x, packed, scale, zero, b, 64, 1, 1, y)
    expected = qm.linear_int4(x, w, b, 64, False)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    signs, alpha = qm.fit_binary_coding(w, 3, 64)
    packed, alpha_packed = qm.pack_lut(signs, alpha)
    y = np.zeros((m, n), np.float32)
    call(kernels, "lut", x, packed, alpha_packed, b, 64, 3, 1, y)
    expected = (x.astype(np.float64) @ qm.dequantize_lut(signs, alpha).T + b).astype(np.float32)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
