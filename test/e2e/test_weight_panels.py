"""Numerics of f32 linear layers whose constant weight effc stores as column panels (effc-cpu-weight-panels:
W [N, K] -> Bp [N/32][K][32]; a thread block takes up to 128 rows of one panel, or of 2 panels for a deep K, or
4 panels one after the other for a decode GEMV), compiled with effc and run with effc-run, against
the numpy reference (test/reference/eff_reference.py) in float64, and against the same layer compiled with
--no-weight-panels ([K, N] rows).

Shapes: N a multiple of 32 (the panel form) and not (the rows layout stays), M = 1 (a decode step), M not a
multiple of the 8-row register tile, batched [B, S, K] activations, with the bias as the accumulator's initial
value and GELU and residual-add epilogues fused into the thread blocks.

Tolerance: rtol 1e-4, atol 1e-5 x max |expected| (K up to 160 f32 products per output; polynomial GELU accurate
to ~1e-6). Panels and rows sum each output over K in the same order, so they agree to rtol 1e-6.
"""

import tempfile

import numpy as np
import pytest

import eff_reference as ref
from effc_testing import compile_module, run_module, ttype
from test_epilogues import apply_epilogue, check, dense, linear_epilogue_ir

# (rows of x as its leading shape, K, N, activation, residual)
CASES = [
    ((128,), 64, 256, "gelu", None),         # 8 panels, full 8-row tiles
    ((1, 13), 48, 384, None, "rhs"),         # M = 13: a full and a left-over row tile; residual add
    ((1,), 64, 512, "gelu_tanh", "lhs"),     # a decode step (M = 1): single-row tiles of each panel
    ((2, 1), 160, 256, "gelu", "rhs"),       # a batch of two decode steps, K over a cache block (128)
    ((70,), 96, 1024, None, None),           # bias only, 8 panels, 70 = 8 x 8 + 6 rows
    ((130,), 40, 336, "gelu", None),         # N = 336 is no multiple of 32: stays [K, N] rows
    ((130,), 40, 320, "gelu", None),         # 10 panels of 32; 130 rows = a block of 128 and one of 2
    ((1, 1), 96, 224, "gelu", "rhs"),        # a GEMV over 7 panels: blocks of 4 and 3 panels
]


def layer_data(leading, k, n, seed):
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((*leading, k)).astype(np.float32)
    w = (gen.standard_normal((n, k)) * 0.2).astype(np.float32)
    b = gen.standard_normal(n).astype(np.float32)
    r = gen.standard_normal((*leading, n)).astype(np.float32)
    return x, w, b, r


def run_layer(ir, inputs, **flags):
    with tempfile.TemporaryDirectory(prefix="effc-test-") as workdir:
        module = compile_module(ir, workdir, **flags)
        return run_module(module, inputs, workdir)["y"]


@pytest.mark.parametrize("leading,k,n,activation,residual", CASES)
def test_panel_linear_matches_numpy_and_rows(leading, k, n, activation, residual):
    x, w, b, r = layer_data(leading, k, n, seed=k + n + len(leading))
    ir = linear_epilogue_ir(w, b, [None] * len(leading), activation, residual)
    inputs = {"x": x, "r": r} if residual else {"x": x}
    panels = run_layer(ir, inputs)
    rows = run_layer(ir, inputs, no_weight_panels="true")
    expected = apply_epilogue(ref.linear(x.astype(np.float64), w.astype(np.float64), bias=b.astype(np.float64)),
                              r, activation, residual)
    assert panels.shape == expected.shape
    check(panels.reshape(-1, n), expected.reshape(-1, n))
    np.testing.assert_allclose(panels, rows, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(rows).max()))


def test_panel_linear_static_shape_threads():
    """A statically shaped layer on 3 threads (blocks of one panel shared out unevenly)."""
    x, w, b, r = layer_data((96,), 72, 640, seed=7)
    ir = linear_epilogue_ir(w, b, [96], "gelu", "rhs")
    with tempfile.TemporaryDirectory(prefix="effc-test-") as workdir:
        module = compile_module(ir, workdir)
        y = run_module(module, {"x": x, "r": r}, workdir, threads=3)["y"]
    expected = apply_epilogue(ref.linear(x.astype(np.float64), w.astype(np.float64), bias=b.astype(np.float64)),
                              r, "gelu", True)
    check(y, expected)


@pytest.mark.parametrize("leading", [(1, 1), (2, 5)])
def test_padded_panels_lm_head(leading):
    """A bias-free layer whose N = 32 x 128 + 17 is padded with zero columns to 129 panels of 32 (like GPT-2's LM
    head, 50257 = 1570 x 32 + 17): a decode step and a short prefill."""
    k, n = 8, 32 * 128 + 17
    x, w, _, _ = layer_data(leading, k, n, seed=n)
    x_t, y_t = ttype([None] * len(leading) + [k]), ttype([None] * len(leading) + [n])
    ir = f"""func.func @main(%x: {x_t} {{eff.name = "x"}}) -> ({y_t} {{eff.name = "y"}}) {{
  %w = arith.constant {dense(w)} : {ttype([n, k])}
  %y = eff.linear %x, %w : ({x_t}, {ttype([n, k])}) -> {y_t}
  return %y : {y_t}
}}"""
    panels = run_layer(ir, {"x": x})
    rows = run_layer(ir, {"x": x}, no_weight_panels="true")
    expected = ref.linear(x.astype(np.float64), w.astype(np.float64)).astype(np.float32)
    assert panels.shape == expected.shape
    check(panels.reshape(-1, n), expected.reshape(-1, n))
    np.testing.assert_allclose(panels, rows, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(rows).max()))


@pytest.mark.parametrize("leading,k,n,activation,residual", [
    ((136,), 1032, 864, "gelu", "rhs"),  # 27 panels: 13 groups of 2 and one of 1; 128 + 8 rows; a last K block of 8
    ((2, 128), 1024, 768, None, None),   # batched, 12 groups of 2 panels
    ((2, 64), 1024, 768, None, None),    # batched, fewer rows than a block (64 < 128): one panel per block
])
def test_panel_groups_deep_k(leading, k, n, activation, residual):
    """Statically shaped layers with K >= 1024 and at least a block's 128 rows (and one with fewer), whose
    blocks take up to 2 panels and loop over K blocks outside them (effc-cpu-tile-and-vectorize's
    panels-per-block), on 3 threads.
    Weights are rounded to 2 decimals to keep the IR text small."""
    x, w, b, r = layer_data(leading, k, n, seed=k + n)
    w = np.round(w, 2).astype(np.float32)
    ir = linear_epilogue_ir(w, b, list(leading), activation, residual)
    inputs = {"x": x, "r": r} if residual else {"x": x}
    with tempfile.TemporaryDirectory(prefix="effc-test-") as workdir:
        panels = run_module(compile_module(ir, workdir), inputs, workdir, threads=3)["y"]
    rows = run_layer(ir, inputs, no_weight_panels="true")
    expected = apply_epilogue(ref.linear(x.astype(np.float64), w.astype(np.float64), bias=b.astype(np.float64)),
                              r, activation, residual)
    check(panels.reshape(-1, n), expected.reshape(-1, n))
    np.testing.assert_allclose(panels, rows, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(rows).max()))
