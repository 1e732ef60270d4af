"""Numerics of f32 linear layers whose N is not a multiple of the register or thread tile (GPT-2's vocabulary
of 50257, TinyBERT's 312 and 1200), compiled with effc and run with effc-run, against the numpy reference
(test/reference/eff_reference.py).

effc-cpu-tile-and-vectorize splits the last thread block of such an N into parts of 32-, 16-, 8- and
1-column register tiles, and the rows left over from the 8-row tiles (all of a decode step's rows) into
single rows; the fused epilogue rows of a narrower block are vectorised with masks. Each width below
lands in another mix of those parts, and each row count in another mix of full and left-over rows.

f32 tolerance: rtol 1e-4, atol 1e-5 (K up to 96 products per output; polynomial GELU accurate to ~1e-6).
"""

import numpy as np
import pytest

import eff_reference as ref
from effc_testing import randn, ttype

F32 = dict(rtol=1e-4, atol=1e-5)

# N: narrower than one register tile, between the register and thread tiles, one column over a thread
# block, 17 columns past full blocks (50257 = 392 x 128 + 81 = ... + 64 + 17 like GPT-2's LM head),
# TinyBERT's 312 (2 x 128 + 56 = 32 + 16 + 8) and a 128-multiple (no split).
WIDTHS = [3, 17, 100, 129, 312, 1041, 256]


@pytest.mark.parametrize("n", WIDTHS)
def test_linear_ragged_columns(compile_ir, n):
    """A [?, ?, K] activation against a run-time [N, K] weight, one module run at several row counts."""
    rng = np.random.default_rng(n)
    k = 40
    module = compile_ir(f"""
func.func @main(%x: {ttype([None, None, k])}, %w: {ttype([n, k])}, %b: {ttype([n])}) -> {ttype([None, None, n])} {{
  %y = eff.linear %x, %w, %b : ({ttype([None, None, k])}, {ttype([n, k])}, {ttype([n])}) -> {ttype([None, None, n])}
  return %y : {ttype([None, None, n])}
}}""")
    w, b = randn(rng, n, k), randn(rng, n)
    for shape in ((1, 1, k), (1, 5, k), (2, 8, k), (1, 70, k), (1, 131, k)):
        x = randn(rng, *shape)
        np.testing.assert_allclose(module(arg0=x, arg1=w, arg2=b)["result0"], ref.linear(x, w, bias=b), **F32)


@pytest.mark.parametrize("n", [17, 312])
def test_linear_ragged_constant_weight(compile_ir, n):
    """A constant weight (packed to [K, N] at compile time) with a ragged N, like a tied LM head."""
    rng = np.random.default_rng(100 + n)
    k = 24
    w = randn(rng, n, k)
    weight = "dense<[" + ", ".join("[" + ", ".join(f"{v:.8e}" for v in row) + "]" for row in w) + "]>"
    module = compile_ir(f"""
func.func @main(%x: {ttype([None, None, k])}) -> {ttype([None, None, n])} {{
  %w = arith.constant {weight} : {ttype([n, k])}
  %y = eff.linear %x, %w : ({ttype([None, None, k])}, {ttype([n, k])}) -> {ttype([None, None, n])}
  return %y : {ttype([None, None, n])}
}}""")
    for shape in ((1, 1, k), (1, 67, k)):
        x = randn(rng, *shape)
        np.testing.assert_allclose(module(arg0=x)["result0"], ref.linear(x, w), **F32)


@pytest.mark.parametrize("n", [100, 312])
def test_linear_ragged_fused_epilogues(compile_ir, n):
    """GELU and a residual add fused into the thread blocks of a ragged N (their rows in the last block
    are narrower than the thread tile and vectorised with masks)."""
    rng = np.random.default_rng(200 + n)
    k = 96
    module = compile_ir(f"""
func.func @main(%x: {ttype([None, k])}, %w: {ttype([n, k])}, %b: {ttype([n])}, %w2: {ttype([n, n])}, %r: {ttype([None, n])}) -> {ttype([None, n])} {{
  %y = eff.linear %x, %w, %b : ({ttype([None, k])}, {ttype([n, k])}, {ttype([n])}) -> {ttype([None, n])}
  %g = eff.activation gelu %y : {ttype([None, n])}
  %z = eff.linear %g, %w2 : ({ttype([None, n])}, {ttype([n, n])}) -> {ttype([None, n])}
  %s = eff.add %z, %r : {ttype([None, n])}
  return %s : {ttype([None, n])}
}}""")
    w, b, w2 = randn(rng, n, k), randn(rng, n), randn(rng, n, n) / np.float32(np.sqrt(n))
    for m in (3, 77):
        x, r = randn(rng, m, k), randn(rng, m, n)
        expected = ref.linear(ref.activation("gelu", ref.linear(x, w, bias=b)), w2) + r
        np.testing.assert_allclose(module(arg0=x, arg1=w, arg2=b, arg3=w2, arg4=r)["result0"], expected,
                                   rtol=1e-4, atol=1e-4)
