"""Numerics of the core eff ops (linear algebra, norms, softmax, activations, FFN, (IA)^3) compiled with
effc and run with effc-run, against the numpy reference (test/reference/eff_reference.py).

f32 tolerance: rtol 1e-4, atol 1e-5 (polynomial approximations of exp/erf/tanh are accurate to ~1e-6
relative). Shapes are chosen to exercise both the vectorised register tiles (8 x 32) and their remainders,
and dynamic dimensions are run at two sizes with one compiled module.
"""

import numpy as np
import pytest

import eff_reference as ref
from effc_testing import compile_and_run, randn, ttype

F32 = dict(rtol=1e-4, atol=1e-5)
ACTIVATIONS = ["relu", "gelu", "gelu_tanh", "silu", "sigmoid"]


@pytest.mark.parametrize("rows", [5, 37])
@pytest.mark.parametrize("bias", [False, True])
def test_linear_dynamic_rows(compile_ir, rows, bias):
    rng = np.random.default_rng(rows)
    k, n = 48, 96
    args = f"%x: {ttype([None, k])}, %w: {ttype([n, k])}" + (f", %b: {ttype([n])}" if bias else "")
    operands = "%x, %w, %b" if bias else "%x, %w"
    types = f"{ttype([None, k])}, {ttype([n, k])}" + (f", {ttype([n])}" if bias else "")
    module = compile_ir(f"""
func.func @main({args}) -> {ttype([None, n])} {{
  %y = eff.linear {operands} : ({types}) -> {ttype([None, n])}
  return %y : {ttype([None, n])}
}}""")
    for m in (rows, rows * 2 + 1):
        inputs = {"arg0": randn(rng, m, k), "arg1": randn(rng, n, k)}
        if bias:
            inputs["arg2"] = randn(rng, n)
        out = module(**inputs)["result0"]
        expected = ref.linear(inputs["arg0"], inputs["arg1"], bias=inputs.get("arg2"))
        np.testing.assert_allclose(out, expected, **F32)


def test_linear_constant_weight_rank3(compile_ir):
    """A constant weight is packed at compile time; a [?, ?, K] activation needs no reshape."""
    rng = np.random.default_rng(3)
    w = randn(rng, 40, 24)
    weight = "dense<[" + ", ".join("[" + ", ".join(f"{v:.8e}" for v in row) + "]" for row in w) + "]>"
    module = compile_ir(f"""
func.func @main(%x: {ttype([None, None, 24])}) -> {ttype([None, None, 40])} {{
  %w = arith.constant {weight} : {ttype([40, 24])}
  %y = eff.linear %x, %w : ({ttype([None, None, 24])}, {ttype([40, 24])}) -> {ttype([None, None, 40])}
  return %y : {ttype([None, None, 40])}
}}""")
    for shape in ((2, 9, 24), (3, 1, 24)):
        x = randn(rng, *shape)
        np.testing.assert_allclose(module(arg0=x)["result0"], ref.linear(x, w), **F32)


@pytest.mark.parametrize("case", ["plain", "transpose_b", "shared_rhs"])
def test_matmul(compile_ir, case):
    rng = np.random.default_rng(4)
    a = randn(rng, 2, 19, 16)
    b = {"plain": randn(rng, 2, 16, 40), "transpose_b": randn(rng, 2, 40, 16), "shared_rhs": randn(rng, 16, 40)}[case]
    attrs = " {transpose_b}" if case == "transpose_b" else ""
    module = compile_ir(f"""
func.func @main(%a: {ttype(a.shape)}, %b: {ttype(b.shape)}) -> {ttype([2, 19, 40])} {{
  %y = eff.matmul %a, %b{attrs} : ({ttype(a.shape)}, {ttype(b.shape)}) -> {ttype([2, 19, 40])}
  return %y : {ttype([2, 19, 40])}
}}""")
    out = module(arg0=a, arg1=b)["result0"]
    np.testing.assert_allclose(out, ref.matmul(a, b, transpose_b=case == "transpose_b"), **F32)


@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_activation(compile_ir, kind):
    rng = np.random.default_rng(5)
    x = randn(rng, 3, 50) * 3
    module = compile_ir(f"""
func.func @main(%x: {ttype([None, 50])}) -> {ttype([None, 50])} {{
  %y = eff.activation {kind} %x : {ttype([None, 50])}
  return %y : {ttype([None, 50])}
}}""")
    np.testing.assert_allclose(module(arg0=x)["result0"], ref.activation(kind, x), **F32)


@pytest.mark.parametrize("kind", ["silu", "gelu"])
def test_glu_and_add(compile_ir, kind):
    rng = np.random.default_rng(6)
    g, u, r = randn(rng, 4, 33), randn(rng, 4, 33), randn(rng, 4, 33)
    t = ttype([None, 33])
    module = compile_ir(f"""
func.func @main(%g: {t}, %u: {t}, %r: {t}) -> {t} {{
  %h = eff.glu {kind} %g, %u : {t}
  %y = eff.add %h, %r : {t}
  return %y : {t}
}}""")
    out = module(arg0=g, arg1=u, arg2=r)["result0"]
    np.testing.assert_allclose(out, ref.add(ref.glu(kind, g, u), r), **F32)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax(compile_ir, axis):
    rng = np.random.default_rng(7)
    x = randn(rng, 3, 5, 7) * 4
    t = ttype([3, 5, 7])
    module = compile_ir(f"""
func.func @main(%x: {t}) -> {t} {{
  %y = eff.softmax %x {{axis = {axis} : i64}} : {t}
  return %y : {t}
}}""")
    np.testing.assert_allclose(module(arg0=x)["result0"], ref.softmax(x, axis=axis), **F32)


def test_norms(compile_ir):
    rng = np.random.default_rng(8)
    x, g, b = randn(rng, 2, 6, 40) * 2 + 1, randn(rng, 40), randn(rng, 40)
    t, v = ttype([None, None, 40]), ttype([40])
    module = compile_ir(f"""
func.func @main(%x: {t}, %g: {v}, %b: {v}) -> ({t}, {t}, {t}) {{
  %ln = eff.layer_norm %x, %g, %b {{epsilon = 1.0e-5 : f32}} : ({t}, {v}, {v}) -> {t}
  %ln0 = eff.layer_norm %x, %g {{epsilon = 1.0e-3 : f32}} : ({t}, {v}) -> {t}
  %rms = eff.rms_norm %x, %g {{epsilon = 1.0e-6 : f32}} : ({t}, {v}) -> {t}
  return %ln, %ln0, %rms : {t}, {t}, {t}
}}""")
    out = module(arg0=x, arg1=g, arg2=b)
    np.testing.assert_allclose(out["result0"], ref.layer_norm(x, g, beta=b, epsilon=1e-5), **F32)
    np.testing.assert_allclose(out["result1"], ref.layer_norm(x, g, epsilon=1e-3), **F32)
    np.testing.assert_allclose(out["result2"], ref.rms_norm(x, g, epsilon=1e-6), **F32)


@pytest.mark.parametrize("gated", [False, True])
def test_ffn(compile_ir, gated):
    rng = np.random.default_rng(9)
    d, f = 32, 80
    x, wu, wg, wd = randn(rng, 2, 9, d), randn(rng, f, d) * 0.2, randn(rng, f, d) * 0.2, randn(rng, d, f) * 0.2
    bu, bd = randn(rng, f), randn(rng, d)
    t = ttype([None, None, d])
    if gated:
        body = f"%y = eff.ffn %x up(%wu) gate(%wg) down(%wd) silu : ({t}, {ttype([f, d])}, {ttype([f, d])}, {ttype([d, f])}) -> {t}"
        args = f"%x: {t}, %wu: {ttype([f, d])}, %wg: {ttype([f, d])}, %wd: {ttype([d, f])}"
        inputs = {"arg0": x, "arg1": wu, "arg2": wg, "arg3": wd}
        expected = ref.ffn(x, wu, wd, kind="silu", w_gate=wg)
    else:
        body = (f"%y = eff.ffn %x up(%wu, %bu) down(%wd, %bd) gelu : ({t}, {ttype([f, d])}, {ttype([f])}, "
                f"{ttype([d, f])}, {ttype([d])}) -> {t}")
        args = f"%x: {t}, %wu: {ttype([f, d])}, %bu: {ttype([f])}, %wd: {ttype([d, f])}, %bd: {ttype([d])}"
        inputs = {"arg0": x, "arg1": wu, "arg2": bu, "arg3": wd, "arg4": bd}
        expected = ref.ffn(x, wu, wd, kind="gelu", b_up=bu, b_down=bd)
    module = compile_ir(f"""
func.func @main({args}) -> {t} {{
  {body}
  return %y : {t}
}}""")
    np.testing.assert_allclose(module(**inputs)["result0"], expected, **F32)


@pytest.mark.parametrize("target", ["key", "value", "ffn"])
def test_ia3(target):
    rng = np.random.default_rng(10)
    x, s = randn(rng, 2, 5, 24), randn(rng, 24)
    t, v = ttype([2, 5, 24]), ttype([24])
    out = compile_and_run(f"""
func.func @main(%x: {t}, %s: {v}) -> {t} {{
  %y = eff.ia3 {target} %x, %s : ({t}, {v}) -> {t}
  return %y : {t}
}}""", {"arg0": x, "arg1": s})["result0"]
    np.testing.assert_allclose(out, ref.ia3(x, s, target=target), **F32)


def test_optimisation_levels_agree(compile_ir):
    """-O0 (scalar loops, no tiling) and -O3 (tiled, vectorised, threaded) compute the same layer."""
    rng = np.random.default_rng(11)
    x, w, b = randn(rng, 21, 64), randn(rng, 72, 64), randn(rng, 72)
    ir = f"""
func.func @main(%x: {ttype([None, 64])}, %w: {ttype([72, 64])}, %b: {ttype([72])}) -> {ttype([None, 72])} {{
  %y = eff.linear %x, %w, %b : ({ttype([None, 64])}, {ttype([72, 64])}, {ttype([72])}) -> {ttype([None, 72])}
  %a = eff.activation gelu %y : {ttype([None, 72])}
  return %a : {ttype([None, 72])}
}}"""
    inputs = {"arg0": x, "arg1": w, "arg2": b}
    o0 = compile_and_run(ir, inputs, opt_level=0)["result0"]
    o3 = compile_and_run(ir, inputs, opt_level=3)["result0"]
    np.testing.assert_allclose(o0, ref.activation("gelu", ref.linear(x, w, bias=b)), **F32)
    np.testing.assert_allclose(o3, o0, **F32)
