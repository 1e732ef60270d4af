"""Unit tests of the f32 panel GEMM (ukernels/panel_gemm.c, effc_uk_linear_f32_panels: the expert linear layers
of eff.experts), in both variants (AVX-512 and portable C), called through ctypes with the MLIR memref calling
convention and the stand-in host of test_quantized_gemm.py (parallel_for on 2 threads).

y [M, N] = activation(x [M, K] · W + bias) with W [K, N] given as 16-column panels w [N/16][K][16]. Shapes cover
8-row tiles of 2 panels (M = 1, 5, 8), the taller one-panel tiles of more rows (M = 9..40: one, two and three
of balanced heights, as experts see them), one, two and three panels (a pair and a single), K = 0 and odd K,
with and without bias, every activation, and strided views (x with a column stride, panels with an
element stride, y with a column stride: the kernel's general paths). References are float64 numpy;
tolerances: f32 accumulation over K <= 200 of unit-scale products (rtol 1e-5, atol 1e-5), plus the
activations' polynomials (ukernels/epilogue.h: erf below 1.5e-7 absolute, exp about 1 ulp).
"""

import ctypes
import math

import numpy as np
import pytest

from ukernel_build import VARIANTS, build_kernels, memref_args

ACTIVATIONS = {  # EFFC_UK_ACT_* code -> float64 reference
    "none": (0, lambda v: v),
    "relu": (1, lambda v: np.maximum(v, 0.0)),
    "gelu": (2, lambda v: 0.5 * v * (1.0 + np.vectorize(math.erf)(v / math.sqrt(2.0)))),
    "gelu_tanh": (3, lambda v: 0.5 * v * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v ** 3)))),
    "silu": (4, lambda v: v / (1.0 + np.exp(-v))),
    "sigmoid": (5, lambda v: 1.0 / (1.0 + np.exp(-v))),
    "tanh": (6, np.tanh),
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def lib(request, tmp_path_factory):
    return build_kernels(tmp_path_factory, request.param, ["panel_gemm.c"], "panels")


def to_panels(w_kn):
    """[K, N] -> [N/16, K, 16]."""
    k, n = w_kn.shape
    return np.ascontiguousarray(w_kn.reshape(k, n // 16, 16).transpose(1, 0, 2))


def run(lib, x, panels, bias, activation, y):
    has_bias = bias is not None
    if bias is None:
        bias = np.zeros(1, np.float32)
    args = memref_args(x) + memref_args(panels) + memref_args(bias) + [ctypes.c_int64(int(has_bias)), ctypes.c_int64(activation)]
    args += memref_args(y)
    lib.effc_uk_linear_f32_panels(*args)


def reference(x, w_kn, bias, kind):
    v = x.astype(np.float64) @ w_kn.astype(np.float64)
    if bias is not None:
        v = v + bias.astype(np.float64)
    return ACTIVATIONS[kind][1](v)


@pytest.mark.parametrize("m, k, n", [(1, 33, 16), (8, 64, 32), (13, 7, 48), (37, 200, 96), (5, 0, 32)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_shapes(lib, m, k, n, with_bias):
    rng = np.random.default_rng(m * 1000 + k + n)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = (rng.standard_normal((k, n)) / max(1.0, math.sqrt(k))).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32) if with_bias else None
    y = np.full((m, n), np.nan, np.float32)
    run(lib, x, to_panels(w), bias, 0, y)
    np.testing.assert_allclose(y, reference(x, w, bias, "none"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("m", [5, 8, 9, 12, 16, 17, 22, 31, 40])
def test_expert_sized_rows(lib, m):
    """The row counts an expert sees (about T·k/E tokens): one 8-row tile x 2 panels up to 8 rows, else
    tiles of balanced heights up to 16 rows x 1 panel (9..16: one; 17..32: two; 40: three); N = 48 is a
    pair of panels and a single one, K = 130 is not a multiple of anything the kernel steps by."""
    rng = np.random.default_rng(m)
    k, n = 130, 48
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = (rng.standard_normal((k, n)) / math.sqrt(k)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    y = np.full((m, n), np.nan, np.float32)
    run(lib, x, to_panels(w), bias, 2, y)
    np.testing.assert_allclose(y, reference(x, w, bias, "gelu"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", list(ACTIVATIONS))
def test_activations(lib, kind):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((11, 40)).astype(np.float32)
    w = (rng.standard_normal((40, 48)) / math.sqrt(40)).astype(np.float32)
    bias = rng.standard_normal(48).astype(np.float32)
    y = np.zeros((11, 48), np.float32)
    run(lib, x, to_panels(w), bias, ACTIVATIONS[kind][0], y)
    np.testing.assert_allclose(y, reference(x, w, bias, kind), rtol=1e-5, atol=1e-5, err_msg=kind)


def test_strided_views(lib):
    """x read with a column stride of 2, the panels with an element stride of 2, y written with a column
    stride of 3: the kernel's general (non-contiguous) paths; the gaps of y stay untouched."""
    rng = np.random.default_rng(5)
    m, k, n = 10, 24, 32
    x_wide = rng.standard_normal((m, 2 * k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    panels_wide = np.zeros((n // 16, k, 32), np.float32)
    panels_wide[:, :, ::2] = to_panels(w)
    bias = rng.standard_normal(n).astype(np.float32)
    y_wide = np.full((m, 3 * n), -7.0, np.float32)
    run(lib, x_wide[:, ::2], panels_wide[:, :, ::2], bias, 1, y_wide[:, ::3])
    np.testing.assert_allclose(y_wide[:, ::3], reference(x_wide[:, ::2], w, bias, "relu"), rtol=1e-5, atol=1e-5)
    untouched = np.ones(3 * n, bool)
    untouched[::3] = False
    assert np.all(y_wide[:, untouched] == -7.0)
