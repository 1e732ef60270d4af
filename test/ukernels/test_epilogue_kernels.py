"""Unit tests of the GEMM epilogue (ukernels/epilogue.h through effc_uk_quantized_linear_int8_epilogue and
_bf16_epilogue) and of the residual add + layer norm kernel (ukernels/layer_norm.c), in every variant,
called through ctypes with the MLIR memref calling convention and the stand-in host of test_quantized_gemm.py.

References are float64 numpy. Tolerances: the int8 dot products are exact, so the epilogue is compared with
the int8 model (test/e2e/quantization_model.py) followed by the float64 activation at rtol 1e-5 and atol
2e-6 of the output's scale (the activations' polynomials: exp about 1 ulp, erf below 1.5e-7 absolute); bf16
sums in f32 in another order than the float64 model of its rounded operands (rtol and atol 1e-4); layer
norm accumulates its statistics in f32 (rtol 1e-5, atol 1e-5).
"""

import ctypes
import math

import numpy as np
import pytest

from test_quantized_gemm import qm
from ukernel_build import CLANG, bf16_variants, build_kernels, memref_args

pytestmark = pytest.mark.skipif(CLANG is None, reason="clang-22 not found")

# ukernels/epilogue.h's codes.
ACTIVATIONS = {"none": 0, "relu": 1, "gelu": 2, "gelu_tanh": 3, "silu": 4, "sigmoid": 5, "tanh": 6}
RESIDUAL = 0x10

_erf = np.vectorize(math.erf, otypes=[np.float64])


def activation64(kind, x):
    x = x.astype(np.float64)
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for very negative x: 1 / inf is the right 0
        return _activation64(kind, x)


def _activation64(kind, x):
    return {
        "none": lambda: x,
        "relu": lambda: np.maximum(x, 0.0),
        "gelu": lambda: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
        "gelu_tanh": lambda: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))),
        "silu": lambda: x / (1.0 + np.exp(-x)),
        "sigmoid": lambda: 1.0 / (1.0 + np.exp(-x)),
        "tanh": lambda: np.tanh(x),
    }[kind]()


@pytest.fixture(scope="module", params=bf16_variants())
def kernels(request, tmp_path_factory):
    return build_kernels(tmp_path_factory, request.param, ["quantized_gemm.c", "layer_norm.c"], "ep")


def flatten_args(*args):
    flat = []
    for a in args:
        if isinstance(a, np.ndarray):
            flat += memref_args(a)
        elif isinstance(a, float):
            flat.append(ctypes.c_float(a))
        else:
            flat.append(ctypes.c_int64(a))
    return flat


def as3d(a):
    return a[None] if a.ndim == 2 else a


def int8_epilogue(lib, x, w, b, residual, flags):
    m_shape = x.shape[:-1]
    q, s = qm.quantize_int8(w)
    packed, colsum, scale = qm.pack_int8(q, s)
    y = np.full(m_shape + (w.shape[0],), np.nan, np.float32)
    res = residual if residual is not None else np.zeros((1, 1, 1), np.float32)
    lib.effc_uk_quantized_linear_int8_epilogue(*flatten_args(as3d(x), packed, colsum, scale, b, 1, 0.0, 0,
                                                             as3d(res), flags, as3d(y)))
    return y


def data(m, k, n, seed):
    gen = np.random.default_rng(seed)
    return (gen.standard_normal((m, k)).astype(np.float32), gen.standard_normal((n, k)).astype(np.float32),
            gen.standard_normal(n).astype(np.float32), gen.standard_normal((m, n)).astype(np.float32))


def bf16_epilogue(lib, x, w, b, residual, flags):
    y = np.full(x.shape[:-1] + (w.shape[0],), np.nan, np.float32)
    res = residual if residual is not None else np.zeros((1, 1, 1), np.float32)
    packed = qm.pack_bf16(w)  # alive until the call returns (flatten_args keeps only its address)
    lib.effc_uk_quantized_linear_bf16_epilogue(*flatten_args(as3d(x), packed, b, 1, as3d(res), flags, as3d(y)))
    return y


def check(actual, expected, rtol=1e-5, atol=2e-6):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * max(1.0, np.abs(expected).max()))


# scheme: (kernel call, float64 model of the GEMM, tolerances)
SCHEMES = {
    "int8": (int8_epilogue, qm.linear_int8, {}),
    "bf16": (bf16_epilogue, qm.linear_bf16, {"rtol": 1e-4, "atol": 1e-4}),
}


@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("kind", list(ACTIVATIONS))
@pytest.mark.parametrize("with_residual", [False, True])
def test_epilogue_combinations(kernels, scheme, kind, with_residual):
    run, model, tolerance = SCHEMES[scheme]
    x, w, b, r = data(13, 128, 200, seed=1)
    flags = ACTIVATIONS[kind] | (RESIDUAL if with_residual else 0)
    y = run(kernels, x, w, b, r if with_residual else None, flags)
    check(y, activation64(kind, model(x, w, b)) + (r if with_residual else 0.0), **tolerance)


def test_int8_epilogue_extreme_inputs(kernels):
    """Activations saturate cleanly far from 0 (no inf or NaN from exp overflow) and are accurate near 0."""
    gen = np.random.default_rng(2)
    w = gen.standard_normal((48, 64)).astype(np.float32)
    x = (gen.standard_normal((6, 64)) * np.array([1e-4, 1e-2, 1, 10, 100, 1000])[:, None]).astype(np.float32)
    b = np.zeros(48, np.float32)
    for kind in ACTIVATIONS:
        y = int8_epilogue(kernels, x, w, b, None, ACTIVATIONS[kind])
        assert np.isfinite(y).all(), kind
        check(y, activation64(kind, qm.linear_int8(x, w, b)))


# M = 1, ragged register panels and column blocks, K not a multiple of 4 (bf16: odd), several row chunks
# and k blocks (the epilogue runs once per tile, after the last), threads.
@pytest.mark.parametrize("scheme", list(SCHEMES))
@pytest.mark.parametrize("m,k,n", [(1, 45, 200), (7, 3072, 70), (200, 3072, 40), (13, 250, 129)])
@pytest.mark.parametrize("threads", [1, 3])
def test_epilogue_shapes_and_threads(kernels, scheme, m, k, n, threads):
    run, model, tolerance = SCHEMES[scheme]
    x, w, b, r = data(m, k, n, seed=m + k)
    kernels.qg_set_threads(threads)
    try:
        y = run(kernels, x, w, b, r, ACTIVATIONS["gelu"] | RESIDUAL)
    finally:
        kernels.qg_set_threads(2)
    check(y, activation64("gelu", model(x, w, b)) + r, **tolerance)


def test_int8_epilogue_strided_batched_residual(kernels):
    """The residual [B, S, N] is a transposed view with a column stride of 2: rows are found by strides."""
    b_, s_, k, n = 3, 5, 64, 40
    x, w, bias, r = data(b_ * s_, k, n, seed=3)
    storage = np.zeros((s_, b_, 2 * n), np.float32)
    storage[:, :, ::2] = r.reshape(b_, s_, n).transpose(1, 0, 2)
    view = storage[:, :, ::2].transpose(1, 0, 2)
    y = int8_epilogue(kernels, x.reshape(b_, s_, k), w, bias, view, ACTIVATIONS["silu"] | RESIDUAL)
    check(y.reshape(-1, n), activation64("silu", qm.linear_int8(x, w, bias)) + r)


# --- residual add + layer norm ------------------------------------------------------------------------------------

def layer_norm64(s, gamma, beta, eps):
    s = s.astype(np.float64)
    mean = s.mean(-1, keepdims=True)
    var = ((s - mean) ** 2).mean(-1, keepdims=True)
    return (s - mean) / np.sqrt(var + eps) * gamma + (0.0 if beta is None else beta)


@pytest.mark.parametrize("shape", [(1, 1, 768), (2, 9, 37), (4, 33, 1), (3, 70, 100), (1, 5, 312)])
@pytest.mark.parametrize("with_beta", [True, False])
@pytest.mark.parametrize("keep_sum", [False, True])
@pytest.mark.parametrize("threads", [1, 3])
def test_add_layer_norm(kernels, shape, with_beta, keep_sum, threads):
    gen = np.random.default_rng(shape[-1])
    x = (gen.standard_normal(shape) * 4 + 2).astype(np.float32)
    r = gen.standard_normal(shape).astype(np.float32)
    gamma = gen.standard_normal(shape[-1]).astype(np.float32)
    beta = gen.standard_normal(shape[-1]).astype(np.float32)
    y = np.full(shape, np.nan, np.float32)
    s = np.full(shape, np.nan, np.float32)
    args = [x, r, gamma, beta, int(with_beta), 1e-5, y]
    kernels.qg_set_threads(threads)
    try:
        if keep_sum:
            kernels.effc_uk_add_layer_norm_keep_sum(*flatten_args(*args, s))
        else:
            kernels.effc_uk_add_layer_norm(*flatten_args(*args))
    finally:
        kernels.qg_set_threads(2)
    expected = layer_norm64(x.astype(np.float64) + r, gamma, beta if with_beta else None, 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    if keep_sum:
        np.testing.assert_array_equal(s, x + r)


def test_add_layer_norm_strided_inputs(kernels):
    """x is a transposed [B, S, D] view and r has a column stride of 2; gamma has a stride of 3."""
    gen = np.random.default_rng(5)
    b_, s_, d = 2, 7, 48
    x_storage = gen.standard_normal((s_, b_, d)).astype(np.float32)
    x = x_storage.transpose(1, 0, 2)
    r_storage = gen.standard_normal((b_, s_, 2 * d)).astype(np.float32)
    r = r_storage[:, :, ::2]
    gamma_storage = gen.standard_normal(3 * d).astype(np.float32)
    gamma = gamma_storage[::3]
    beta = gen.standard_normal(d).astype(np.float32)
    y = np.zeros((b_, s_, d), np.float32)
    kernels.effc_uk_add_layer_norm(*flatten_args(x, r, gamma, beta, 1, 1e-6, y))
    np.testing.assert_allclose(y, layer_norm64(x.astype(np.float64) + r, gamma, beta, 1e-6), rtol=1e-5, atol=1e-5)
