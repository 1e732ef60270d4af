"""eff-quantize end to end: `effc --quantize=...` compiles quantized linears to the micro-kernels of
ukernels/quantized_gemm.c, run with effc-run.

(a) A compiled quantized linear matches the numpy model of exactly that quantisation
    (test/e2e/quantization_model.py): rtol 1e-4 of the output's largest magnitude (int8's integer dot products
    are exact; int4/LUT/bf16 differ from the float64 model only by f32 accumulation order).
(b) Whole example models (bert_tiny: plain FFNs and attention projections; llama_tiny: gated FFNs; gpt_tiny
    prefill: a tied LM head) quantized with each scheme's defaults stay close to their f32 build (relative
    mean error bounds per scheme, printed with -s).
(c) Invalid options are clean errors of effc.
"""

from pathlib import Path

import numpy as np
import pytest

from effc_testing import EffcError, compile_and_run, compile_module, rng, run_module, ttype

import quantization_model as qm

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def dense(a):
    return "dense<" + np.array2string(a, separator=",", threshold=10**9, floatmode="unique").replace("\n", "") + ">"


def linear_ir(w, b, leading):
    n, k = w.shape
    x_t, y_t = ttype(leading + [k]), ttype(leading + [n])
    bias = f", %b" if b is not None else ""
    bias_t = f", {ttype([n])}" if b is not None else ""
    bias_def = f"%b = arith.constant {dense(b)} : {ttype([n])}" if b is not None else ""
    return f"""func.func @main(%x: {x_t} {{eff.name = "x"}}) -> ({y_t} {{eff.name = "y"}}) {{
  %w = arith.constant {dense(w)} : {ttype([n, k])}
  {bias_def}
  %y = eff.linear %x, %w{bias} : ({x_t}, {ttype([n, k])}{bias_t}) -> {y_t}
  return %y : {y_t}
}}"""


MODELS = {
    "int8": lambda x, w, b: qm.linear_int8(x, w, b),
    "int4": lambda x, w, b: qm.linear_int4(x, w, b, 128),
    "int4:g32": lambda x, w, b: qm.linear_int4(x, w, b, 32),
    "int4:g64:asym": lambda x, w, b: qm.linear_int4(x, w, b, 64, symmetric=False),
    "lut:1:g64": lambda x, w, b: qm.linear_lut(x, w, b, 1, 64),
    "lut:3": lambda x, w, b: qm.linear_lut(x, w, b, 3, 128),
    "lut:4:g32": lambda x, w, b: qm.linear_lut(x, w, b, 4, 32),
    "bf16": lambda x, w, b: qm.linear_bf16(x, w, b),
}


@pytest.mark.parametrize("scheme", list(MODELS))
@pytest.mark.parametrize("m,k,n,with_bias", [(1, 256, 40, True), (7, 128, 33, False), (37, 256, 96, True)])
def test_quantized_linear_matches_model(scheme, m, k, n, with_bias):
    gen = rng(m * 1000 + n)
    x = gen.standard_normal((m, k)).astype(np.float32)
    w = gen.standard_normal((n, k)).astype(np.float32)
    b = gen.standard_normal(n).astype(np.float32) if with_bias else None
    y = compile_and_run(linear_ir(w, b, [None]), {"x": x}, quantize=scheme)["y"]
    expected = MODELS[scheme](x, w, b)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


# [?, ?, K] is how models are written (the kernels walk B · S rows through the strides); rank 1 and rank 4
# go through the unit-dimension and folded-middle views.
@pytest.mark.parametrize("scheme", ["int8", "int4", "lut:3", "bf16"])
@pytest.mark.parametrize("shape,leading", [((2, 3, 128), [None, 3]), ((2, 5, 128), [None, None]),
                                           ((128,), []), ((2, 3, 2, 128), [None, None, 2])])
def test_quantized_linear_any_rank_input(scheme, shape, leading):
    gen = rng(5)
    x = gen.standard_normal(shape).astype(np.float32)
    w = gen.standard_normal((24, 128)).astype(np.float32)
    b = gen.standard_normal(24).astype(np.float32)
    y = compile_and_run(linear_ir(w, b, leading), {"x": x}, quantize=scheme)["y"]
    expected = MODELS[scheme](x.reshape(-1, 128), w, b).reshape(shape[:-1] + (24,))
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_static_activations_from_calibration(tmp_path):
    """--quantize=int8:static --calibration=FILE: effc runs the model on the calibration inputs, attaches
    calibration.input_absmax to the linear, and eff-quantize fixes the activation scale to absmax / 127 (zero
    point 128). Run on other inputs (some beyond the calibrated range, which saturate), the result matches the
    numpy model with that static range."""
    gen = rng(6)
    calib = gen.standard_normal((16, 64)).astype(np.float32)
    x = np.concatenate([0.5 * calib[:4], 1.5 * calib[4:6]])
    w = gen.standard_normal((16, 64)).astype(np.float32)
    b = gen.standard_normal(16).astype(np.float32)
    np.savez(tmp_path / "calib.npz", x=calib)
    module = compile_module(linear_ir(w, b, [None]), tmp_path, quantize="int8:static",
                            calibration=str(tmp_path / "calib.npz"))
    y = run_module(module, {"x": x}, tmp_path)["y"]
    static = (float(np.float32(np.abs(calib).max()) / np.float32(127)), 128)
    expected = qm.linear_int8(x, w, b, static=static)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    # Static and dynamic differ (the rows scaled by 0.5 use half the dynamic range).
    assert np.abs(expected - qm.linear_int8(x, w, b)).max() > 1e-3


def test_static_activations_need_calibration():
    w = np.ones((8, 64), np.float32)
    with pytest.raises(EffcError, match="static activations need calibration data: pass --calibration"):
        compile_and_run(linear_ir(w, None, [None]), {"x": np.ones((1, 64), np.float32)}, quantize="int8:static")


# Whole example models (random, untrained weights scaled so that every op matters) on their sample inputs,
# quantized with each scheme's defaults, against their f32 build: bounds on the relative mean error
# mean|y − y_f32| / mean|y_f32|, about 1.5x the measured values (printed with -s). Weight-only int4 and
# 3-bit LUT lose far more on random weights than on trained ones; per-layer exactness is checked above.
EXAMPLE_MODELS = {"bert_tiny": (None, "last_hidden_state"), "llama_tiny": (None, "logits"),
                  "gpt_tiny": ("prefill", "logits")}
MODEL_BOUNDS = {"int8": 0.04, "int4": 0.3, "lut:3": 0.5, "bf16": 0.01}


def run_example(name, workdir, **flags):
    function, output = EXAMPLE_MODELS[name]
    inputs_dir = EXAMPLES / f"{name}.inputs" / (function or "")
    inputs = {p.stem: np.load(p) for p in sorted(inputs_dir.glob("*.npy"))}
    module = compile_module((EXAMPLES / f"{name}.mlir").read_text(), workdir, name=f"{name}_{len(flags)}",
                            weights=str(EXAMPLES / f"{name}.safetensors"), **flags)
    return run_module(module, inputs, workdir, function=function)[output]


@pytest.fixture(scope="module")
def f32_outputs(tmp_path_factory):
    return {name: run_example(name, tmp_path_factory.mktemp(name)) for name in EXAMPLE_MODELS}


@pytest.mark.parametrize("scheme", list(MODEL_BOUNDS))
@pytest.mark.parametrize("name", list(EXAMPLE_MODELS))
def test_example_models_stay_close(f32_outputs, tmp_path, scheme, name):
    y32 = f32_outputs[name].astype(np.float64)
    yq = run_example(name, tmp_path, quantize=scheme).astype(np.float64)
    error = np.abs(yq - y32).mean() / np.abs(y32).mean()
    cosine = (yq.ravel() @ y32.ravel()) / (np.linalg.norm(yq) * np.linalg.norm(y32))
    print(f"{name} {scheme}: relative mean error {error:.4f}, cosine {cosine:.5f}")
    assert error < MODEL_BOUNDS[scheme]


@pytest.mark.parametrize("scheme,message", [
    ("int4:g100", "does not divide the layer's 256 input features"),
    ("lut:0", "lut needs a number of bits in [1, 4]"),
    ("lut:9", "lut needs a number of bits in [1, 4]"),
    ("int5", "unknown quantization scheme 'int5'"),
    ("int4:g7", "int4 group size must be even, got 7"),
])
def test_invalid_options_are_errors(scheme, message):
    w = np.ones((8, 256), np.float32)
    with pytest.raises(EffcError, match=message.replace("[", r"\[").replace("]", r"\]")):
        compile_and_run(linear_ir(w, None, [None]), {"x": np.ones((1, 256), np.float32)}, quantize=scheme)
