"""GEMM epilogues and residual add + layer norm, end to end (compiled by effc, run by effc-run).

(a) f32: the activation or residual add after eff.linear is fused into the GEMM's thread blocks
    (effc-cpu-tile-and-vectorize); every activation kind, residual on either side, odd shapes (M = 1, N and K
    not multiples of the 8 x 32 register tile or the 64 x 128 thread block), static and dynamic leading
    dimensions, 1 and 3 threads.
(b) int8 (--quantize=int8): eff.quantized_linear + activation and/or residual add is one call of
    effc_uk_quantized_linear_int8_epilogue; checked against the numpy model of the int8 quantisation
    (test/e2e/quantization_model.py) followed by the float64 activation and residual.
(c) f32 eff.add + eff.layer_norm is one call of effc_uk_add_layer_norm (or _keep_sum when the sum is also
    returned); with and without beta, odd widths.
(d) The BERT FFN block (linear+bias -> GELU -> linear+bias -> +residual -> layer_norm) in f32 and int8.

References are float64 numpy (test/reference/eff_reference.py). Tolerances: f32 rtol 1e-4 and atol 1e-5 of
the output's largest magnitude (f32 accumulation order and the activations' polynomials, whose errors are
below 1.5e-6 absolute: test_activation_accuracy_over_the_range); int8 the same against the int8 model, whose
integer dot products the kernel matches exactly.
"""

import tempfile

import numpy as np
import pytest

import eff_reference as ref
import quantization_model as qm
from effc_testing import compile_module, rng, run_module, ttype

ACTIVATIONS = ["relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh"]


def dense(a):
    return "dense<" + np.array2string(a, separator=",", threshold=10**9, floatmode="unique").replace("\n", "") + ">"


def run(ir, inputs, threads=None, **flags):
    with tempfile.TemporaryDirectory(prefix="effc-test-") as workdir:
        module = compile_module(ir, workdir, **flags)
        return run_module(module, inputs, workdir, threads=threads)


def check(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(expected).max()))


def linear_epilogue_ir(w, b, leading, activation=None, residual=None):
    """x [leading..., K] -> linear(w, b) [-> activation] [-> + r (residual = "lhs" or "rhs": which addend)]."""
    n, k = w.shape
    x_t, y_t = ttype(leading + [k]), ttype(leading + [n])
    args = f"%x: {x_t} {{eff.name = \"x\"}}"
    if residual:
        args += f", %r: {y_t} {{eff.name = \"r\"}}"
    lines = [f"%w = arith.constant {dense(w)} : {ttype([n, k])}",
             f"%b = arith.constant {dense(b)} : {ttype([n])}",
             f"%y0 = eff.linear %x, %w, %b : ({x_t}, {ttype([n, k])}, {ttype([n])}) -> {y_t}"]
    last = "%y0"
    if activation:
        lines.append(f"%y1 = eff.activation {activation} {last} : {y_t}")
        last = "%y1"
    if residual:
        operands = f"{last}, %r" if residual == "rhs" else f"%r, {last}"
        lines.append(f"%y2 = eff.add {operands} : {y_t}")
        last = "%y2"
    body = "\n  ".join(lines)
    return f"""func.func @main({args}) -> ({y_t} {{eff.name = "y"}}) {{
  {body}
  return {last} : {y_t}
}}"""


def data(m, k, n, seed):
    gen = rng(seed)
    return (gen.standard_normal((m, k)).astype(np.float32), (gen.standard_normal((n, k)) * 0.2).astype(np.float32),
            gen.standard_normal(n).astype(np.float32), gen.standard_normal((m, n)).astype(np.float32))


def apply_epilogue(y, r, activation, residual):
    """The epilogue on a float64 GEMM result: activation, then the residual add; as float32."""
    if activation:
        y = ref.activation(activation, y)
    if residual:
        y = y + r
    return y.astype(np.float32)


def expected_f32(x, w, b, r, activation, residual):
    y = ref.linear(x.astype(np.float64), w.astype(np.float64), bias=b.astype(np.float64))
    return apply_epilogue(y, r, activation, residual)


# --- (a) f32 ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_f32_linear_activation(activation):
    x, w, b, _ = data(70, 96, 200, seed=1)
    y = run(linear_epilogue_ir(w, b, [None], activation), {"x": x})["y"]
    check(y, expected_f32(x, w, b, None, activation, None))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_accuracy_over_the_range(activation):
    # An identity linear layer (exact in f32), so that y is the activation alone, at 4096 points of [-10, 10]:
    # across erf's clamp at ±4·√2 and exp's ranges. Bound: 1.5e-6 absolute, relative to |y| above 1 (erf's
    # rational form is within 5e-7, which GELU's x·(1 + erf)/2 scales by |x|/2: 1.04e-6 at x = -5.5, where
    # GELU itself is -1e-7; exp, tanh and the sigmoid are within about 1e-7).
    x = np.linspace(-10.0, 10.0, 4096, dtype=np.float32).reshape(256, 16)
    y = run(linear_epilogue_ir(np.eye(16, dtype=np.float32), np.zeros(16, np.float32), [None], activation),
            {"x": x})["y"]
    expected = ref.activation(activation, x.astype(np.float64))
    error = np.abs(y - expected) / np.maximum(1.0, np.abs(expected))
    assert error.max() <= 1.5e-6, f"{activation}: largest error {error.max():.3g} at x = {x.flat[error.argmax()]}"


@pytest.mark.parametrize("m,k,n,leading", [(1, 64, 40, [None]), (37, 100, 33, [None]), (128, 128, 256, [128]),
                                           (130, 72, 160, [130])])
@pytest.mark.parametrize("residual", ["lhs", "rhs"])
def test_f32_linear_residual_shapes(m, k, n, leading, residual):
    x, w, b, r = data(m, k, n, seed=m + n)
    y = run(linear_epilogue_ir(w, b, leading, None, residual), {"x": x, "r": r})["y"]
    check(y, expected_f32(x, w, b, r, None, True))


@pytest.mark.parametrize("threads", [1, 3])
def test_f32_linear_gelu_residual_batched(threads):
    """[B, S, K] with both leading dimensions dynamic; GELU then residual (one fused elementwise epilogue)."""
    x, w, b, r = data(2 * 67, 128, 192, seed=3)
    ir = linear_epilogue_ir(w, b, [None, None], "gelu", "rhs")
    y = run(ir, {"x": x.reshape(2, 67, 128), "r": r.reshape(2, 67, 192)}, threads=threads)["y"]
    check(y.reshape(-1, 192), expected_f32(x, w, b, r, "gelu", True))


# --- (b) int8 ---------------------------------------------------------------------------------------------------

def expected_int8(x, w, b, r, activation, residual):
    return apply_epilogue(qm.linear_int8(x, w, b).astype(np.float64), r, activation, residual)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("residual", [None, "rhs"])
def test_int8_epilogue_kinds(activation, residual):
    x, w, b, r = data(37, 128, 80, seed=4)
    inputs = {"x": x, "r": r} if residual else {"x": x}
    y = run(linear_epilogue_ir(w, b, [None], activation, residual), inputs, quantize="int8")["y"]
    check(y, expected_int8(x, w, b, r, activation, residual))


@pytest.mark.parametrize("m,k,n", [(1, 45, 200), (7, 250, 33), (97, 768, 64)])
@pytest.mark.parametrize("threads", [1, 3])
def test_int8_residual_shapes_and_threads(m, k, n, threads):
    x, w, b, r = data(m, k, n, seed=m * k)
    y = run(linear_epilogue_ir(w, b, [None], None, "lhs"), {"x": x, "r": r}, threads=threads, quantize="int8")["y"]
    check(y, expected_int8(x, w, b, r, None, True))


def test_int8_batched_gelu_residual():
    x, w, b, r = data(2 * 9, 64, 48, seed=6)
    ir = linear_epilogue_ir(w, b, [None, None], "gelu", "rhs")
    y = run(ir, {"x": x.reshape(2, 9, 64), "r": r.reshape(2, 9, 48)}, quantize="int8")["y"]
    check(y.reshape(-1, 48), expected_int8(x, w, b, r, "gelu", True))


def test_int8_linear_with_two_uses_stays_unfused():
    """The linear's result is both activated and returned: no epilogue (the plain kernel), same numbers."""
    x, w, b, _ = data(11, 64, 24, seed=7)
    x_t, y_t = ttype([None, 64]), ttype([None, 24])
    ir = f"""func.func @main(%x: {x_t} {{eff.name = "x"}}) -> ({y_t} {{eff.name = "y"}}, {y_t} {{eff.name = "a"}}) {{
  %w = arith.constant {dense(w)} : {ttype([24, 64])}
  %b = arith.constant {dense(b)} : {ttype([24])}
  %y = eff.linear %x, %w, %b : ({x_t}, {ttype([24, 64])}, {ttype([24])}) -> {y_t}
  %a = eff.activation silu %y : {y_t}
  return %y, %a : {y_t}, {y_t}
}}"""
    out = run(ir, {"x": x}, quantize="int8")
    check(out["y"], expected_int8(x, w, b, None, None, None))
    check(out["a"], expected_int8(x, w, b, None, "silu", None))


# --- (c) add + layer norm ---------------------------------------------------------------------------------------

def add_layer_norm_ir(shape, with_beta, keep_sum):
    t, v = ttype(shape), ttype([shape[-1]])
    beta_arg = f", %beta: {v} {{eff.name = \"beta\"}}" if with_beta else ""
    beta = ", %beta" if with_beta else ""
    beta_t = f", {v}" if with_beta else ""
    results = f"{t} {{eff.name = \"y\"}}" + (f", {t} {{eff.name = \"s\"}}" if keep_sum else "")
    returned = "%y, %s : " + f"{t}, {t}" if keep_sum else f"%y : {t}"
    return f"""func.func @main(%x: {t} {{eff.name = "x"}}, %r: {t} {{eff.name = "r"}}, %gamma: {v} {{eff.name = "gamma"}}{beta_arg}) -> ({results}) {{
  %s = eff.add %x, %r : {t}
  %y = eff.layer_norm %s, %gamma{beta} {{epsilon = 1.0e-5 : f32}} : ({t}, {v}{beta_t}) -> {t}
  return {returned}
}}"""


@pytest.mark.parametrize("shape,dims", [((2, 5, 768), [None, None, 768]), ((9, 37), [None, 37]),
                                        ((1, 1, 100), [1, 1, 100]), ((3, 4, 33), [None, None, None])])
@pytest.mark.parametrize("with_beta", [True, False])
@pytest.mark.parametrize("keep_sum", [False, True])
def test_add_layer_norm(shape, dims, with_beta, keep_sum):
    gen = rng(len(shape) * 100 + shape[-1])
    x = (gen.standard_normal(shape) * 3 + 1).astype(np.float32)
    r = gen.standard_normal(shape).astype(np.float32)
    gamma = gen.standard_normal(shape[-1]).astype(np.float32)
    beta = gen.standard_normal(shape[-1]).astype(np.float32)
    inputs = {"x": x, "r": r, "gamma": gamma}
    if with_beta:
        inputs["beta"] = beta
    out = run(add_layer_norm_ir(dims, with_beta, keep_sum), inputs, threads=3)
    expected = ref.layer_norm(ref.add(x.astype(np.float64), r.astype(np.float64)), gamma.astype(np.float64),
                              beta=beta.astype(np.float64) if with_beta else None, epsilon=1e-5)
    check(out["y"], expected.astype(np.float32))
    if keep_sum:
        np.testing.assert_array_equal(out["s"], x + r)


# --- (d) the BERT FFN block -------------------------------------------------------------------------------------

@pytest.mark.parametrize("quantize", [None, "int8"])
def test_bert_ffn_block(quantize):
    gen = rng(8)
    d, f = 96, 384
    x = gen.standard_normal((2, 13, d)).astype(np.float32)
    wu, bu = (gen.standard_normal((f, d)) * 0.1).astype(np.float32), gen.standard_normal(f).astype(np.float32)
    wd, bd = (gen.standard_normal((d, f)) * 0.05).astype(np.float32), gen.standard_normal(d).astype(np.float32)
    gamma, beta = gen.standard_normal(d).astype(np.float32), gen.standard_normal(d).astype(np.float32)
    t = ttype([None, None, d])
    ir = f"""func.func @main(%x: {t} {{eff.name = "x"}}) -> ({t} {{eff.name = "y"}}) {{
  %wu = arith.constant {dense(wu)} : {ttype([f, d])}
  %bu = arith.constant {dense(bu)} : {ttype([f])}
  %wd = arith.constant {dense(wd)} : {ttype([d, f])}
  %bd = arith.constant {dense(bd)} : {ttype([d])}
  %g = arith.constant {dense(gamma)} : {ttype([d])}
  %be = arith.constant {dense(beta)} : {ttype([d])}
  %h = eff.ffn %x up(%wu, %bu) down(%wd, %bd) gelu : ({t}, {ttype([f, d])}, {ttype([f])}, {ttype([d, f])}, {ttype([d])}) -> {t}
  %s = eff.add %x, %h : {t}
  %y = eff.layer_norm %s, %g, %be {{epsilon = 1.0e-12 : f32}} : ({t}, {ttype([d])}, {ttype([d])}) -> {t}
  return %y : {t}
}}"""
    flags = {"quantize": quantize} if quantize else {}
    y = run(ir, {"x": x}, **flags)["y"]
    rows = x.reshape(-1, d)
    if quantize:
        hidden = ref.activation("gelu", qm.linear_int8(rows, wu, bu).astype(np.float64)).astype(np.float32)
        h = qm.linear_int8(hidden, wd, bd).astype(np.float64)
    else:
        f64 = [a.astype(np.float64) for a in (rows, wu, wd, bu, bd)]
        h = ref.ffn(f64[0], f64[1], f64[2], kind="gelu", b_up=f64[3], b_down=f64[4])
    expected = ref.layer_norm(rows + h, gamma.astype(np.float64), beta=beta.astype(np.float64), epsilon=1e-12)
    if quantize:
        # The second linear re-quantizes the GELU output: where the kernel's f32 GELU and the float64 one
        # fall on either side of a rounding boundary, one activation moves by a quantization step (about
        # 0.03 here), which moves outputs by about 0.03 · |w| < 1e-2.
        np.testing.assert_allclose(y.reshape(-1, d), expected, rtol=1e-3, atol=1e-2)
    else:
        check(y.reshape(-1, d), expected.astype(np.float32))
