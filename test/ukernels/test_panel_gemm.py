"""Unit tests of the f32 panel GEMMs (ukernels/panel_gemm.c): effc_uk_linear_f32_panels (the expert linear
layers of eff.experts) and effc_uk_linear_f32 (dense linear layers; tests named test_linear_*), in both variants
(AVX-512 and portable C), called through ctypes with the MLIR memref calling convention and the stand-in host of
test_quantized_gemm.py (parallel_for on 2 threads).

y [M, N] = activation(x [M, K] · W + bias) with W [K, N] given as 16-column panels w [N/16][K][16]. Shapes cover
8-row tiles of 2 panels (M = 1, 5, 8), more rows as experts see them (M = 9..40: handed to the dense kernel's
6 x 64 tiles), one, two and three panels (a pair and a single), K = 0 and odd K,
with and without bias, every activation, and strided views (x with a column stride, panels with an
element stride, y with a column stride: the kernel's general paths). References are float64 numpy;
tolerances: f32 accumulation over K <= 200 of unit-scale products (rtol 1e-5, atol 1e-5), plus the
activations' polynomials (ukernels/epilogue.h: erf below 1.5e-7 absolute, exp about 1 ulp).

effc_uk_linear_f32 takes x [B, S, K], panels [ceil(N/16)][K][16] zero-padded, a residual and epilogue flags;
its shapes cover one row panel (M <= 6: no k blocks), several row panels and row chunks (by size, and more of
them where the schedule wants more tasks), several k blocks (even, or with a shorter last one), N not a
multiple of 16 (the masked last block) or of 64 (narrower tiles), K = 0, and strided x and panels. Its
tolerance scales with sqrt(K) (rtol 1e-5 · sqrt(K / 100)): longer f32 sums.
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
    args = memref_args(x) + memref_args(panels) + memref_args(bias)
    args += [ctypes.c_int64(int(has_bias)), ctypes.c_int64(activation)]
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
    """The row counts an expert sees (about T·k/E tokens): one 8-row tile x 2 panels up to 8 rows, else the
    dense kernel's 6 x 64 tiles (9: a ragged second row panel; 40: seven panels); N = 48 is a pair of panels
    and a single one (one ragged 64-column tile), K = 130 is not a multiple of anything the kernel steps by."""
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


@pytest.mark.parametrize("m", [5, 10])
def test_strided_views(lib, m):
    """x read with a column stride of 2, the panels with an element stride of 2, y written with a column
    stride of 3: the general (non-contiguous) paths of the 8-row tiles (M = 5) and the dense kernel's staging
    and scratch (M = 10); the gaps of y stay untouched."""
    rng = np.random.default_rng(5)
    k, n = 24, 32
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


def to_padded_panels(w_kn):
    """[K, N] -> [ceil(N/16), K, 16], the columns past N zero."""
    k, n = w_kn.shape
    padded = np.zeros((k, -(-n // 16) * 16), np.float32)
    padded[:, :n] = w_kn
    return to_panels(padded)


def run_linear(lib, x, panels, bias, flags, residual, y):
    """effc_uk_linear_f32 on x [B, S, K] into y [B, S, N]."""
    has_bias = bias is not None
    bias = bias if has_bias else np.zeros(1, np.float32)
    residual = residual if residual is not None else np.zeros((1, 1, 1), np.float32)
    args = memref_args(x) + memref_args(panels) + memref_args(bias) + [ctypes.c_int64(int(has_bias))]
    args += memref_args(residual) + [ctypes.c_int64(flags)] + memref_args(y)
    lib.effc_uk_linear_f32(*args)


def linear_case(seed, b, s, k, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((b, s, k)).astype(np.float32)
    w = (rng.standard_normal((k, n)) / max(1.0, math.sqrt(k))).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    return rng, x, w, bias


def linear_tolerance(k):
    return dict(rtol=1e-5 * max(1.0, math.sqrt(k / 100)), atol=1e-5 * max(1.0, math.sqrt(k / 100)))


@pytest.mark.parametrize("b, s, k, n", [
    (1, 1, 96, 64),     # decode: one row, all of K at once
    (1, 6, 33, 40),     # one row panel; N = 40: a 16-column tile pair and a masked block
    (1, 7, 130, 16),    # two row panels (6 + 1)
    (1, 13, 4200, 20),  # 6 k blocks of 700 (K in equal blocks of at most 768; partial sums wait in y);
                        # three row panels
    (2, 29, 256, 312),  # 58 rows, 20 blocks (TinyBERT's N): 4-block tiles, a 3-block one, a masked block
    (1, 200, 4400, 20), # 34 row panels, 1 column task: chunks of 5 panels (GEMM_MIN_TASKS; 1 MiB allows 9), the
                        # last of 4; k blocks of 734, the last of 730
    (1, 128, 64, 192),  # BERT's 128 rows, 3 column tasks: 5 chunks of 30, 30, 30, 30 and 8 rows, for more tasks
    (3, 2, 0, 24),      # K = 0: the bias through the epilogue
])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_shapes(lib, b, s, k, n, with_bias):
    _, x, w, bias = linear_case(b * 1000 + s + k + n, b, s, k, n)
    bias = bias if with_bias else None
    y = np.full((b, s, n), np.nan, np.float32)
    run_linear(lib, x, to_padded_panels(w), bias, 0, None, y)
    np.testing.assert_allclose(y, reference(x, w, bias, "none"), **linear_tolerance(k))


@pytest.mark.parametrize("kind", ["gelu", "silu", "relu"])
@pytest.mark.parametrize("with_residual", [True, False])
def test_linear_epilogue(lib, kind, with_residual):
    """Activation, then the residual (EFFC_UK_EPILOGUE_RESIDUAL = 0x10), on the finished tile; with six k
    blocks (K = 4100), so that partial sums wait in y and only the last block applies the epilogue."""
    rng, x, w, bias = linear_case(7, 2, 9, 4100, 72)
    residual = rng.standard_normal((2, 9, 72)).astype(np.float32)
    flags = ACTIVATIONS[kind][0] | (0x10 if with_residual else 0)
    y = np.full((2, 9, 72), np.nan, np.float32)
    run_linear(lib, x, to_padded_panels(w), bias, flags, residual if with_residual else None, y)
    expected = reference(x, w, bias, kind) + (residual if with_residual else 0.0)
    np.testing.assert_allclose(y, expected, **linear_tolerance(4100))


def test_linear_strided_views(lib):
    """x with a column stride of 2 (staged into rows first) and panels with an element stride of 2 (repacked),
    against a broadcast residual view (stride 0 over the batch)."""
    rng, x, w, bias = linear_case(9, 2, 5, 40, 48)
    x_wide = np.zeros((2, 5, 80), np.float32)
    x_wide[:, :, ::2] = x
    panels_wide = np.zeros((3, 40, 32), np.float32)
    panels_wide[:, :, ::2] = to_padded_panels(w)
    residual = np.broadcast_to(rng.standard_normal((1, 5, 48)).astype(np.float32), (2, 5, 48))
    y = np.zeros((2, 5, 48), np.float32)
    run_linear(lib, x_wide[:, :, ::2], panels_wide[:, :, ::2], bias, 0x10, residual, y)
    np.testing.assert_allclose(y, reference(x, w, bias, "none") + residual, **linear_tolerance(40))
