"""Calibration: effc runs the model on the --calibration inputs and attaches statistics to the ops that
data-driven compression reads (head importance, expert usage, input RMS and range). The statistics are
recomputed here with the numpy reference on the same inputs; --emit=eff shows them.
"""

import re
import subprocess

import numpy as np
import pytest

import eff_reference as ref
from effc_testing import EFFC, compile_and_run, rng, ttype


def constant(name, array):
    """arith.constant of `array` as nested dense literal."""
    body = np.array2string(array, separator=", ", threshold=1 << 30, floatmode="unique").replace("\n", "")
    return f"%{name} = arith.constant dense<{body}> : {ttype(array.shape)}"


def attributes(ir_text, name):
    """Values of every `name = array<...: ...>` attribute in order."""
    return [np.array([float(v) for v in body.split(",")])
            for body in re.findall(rf"{re.escape(name)} = array<\w+: ([^>]*)>", ir_text)]


def emit_eff(tmp_path, ir, **inputs):
    (tmp_path / "model.mlir").write_text(ir)
    np.savez(tmp_path / "calibration.npz", **inputs)
    result = subprocess.run([str(EFFC), str(tmp_path / "model.mlir"), "--emit=eff", "-o", "-",
                             f"--calibration={tmp_path / 'calibration.npz'}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_attention_and_linear_statistics(tmp_path):
    gen = rng(5)
    x = gen.standard_normal((2, 5, 8)).astype(np.float32)
    wq = gen.standard_normal((8, 8)).astype(np.float32)
    ir = f"""
module {{
  func.func @main(%x: tensor<?x?x8xf32> {{eff.name = "x"}}) -> tensor<?x?x8xf32> {{
    {constant("wq", wq)}
    %q = eff.linear %x, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %a = eff.attention %q, %q, %x {{num_heads = 4 : i64, causal}} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    return %a : tensor<?x?x8xf32>
  }}
}}"""
    out = emit_eff(tmp_path, ir, x=x)
    q = ref.linear(x, wq)
    a = ref.attention(q, q, x, num_heads=4, causal=True).reshape(-1, 4, 2)
    expected_importance = np.linalg.norm(a, axis=-1).mean(axis=0)
    [importance] = attributes(out, "calibration.head_importance")
    np.testing.assert_allclose(importance, expected_importance, rtol=1e-4)
    [rms] = attributes(out, "calibration.input_rms")
    np.testing.assert_allclose(rms, np.sqrt((x.reshape(-1, 8).astype(np.float64) ** 2).mean(axis=0)), rtol=1e-5)
    absmax = float(re.search(r"calibration.input_absmax = ([-\d.e+]+)", out).group(1))
    assert absmax == pytest.approx(np.abs(x).max(), rel=1e-6)


def test_router_expert_usage(tmp_path):
    gen = rng(6)
    x = gen.standard_normal((3, 7, 8)).astype(np.float32)
    wr = gen.standard_normal((4, 8)).astype(np.float32)
    ir = f"""
module {{
  func.func @main(%x: tensor<?x?x8xf32> {{eff.name = "x"}}) -> tensor<?x?x2xf32> {{
    {constant("wr", wr)}
    %w, %i = eff.router softmax %x, %wr {{top_k = 2 : i64}} : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
    return %w : tensor<?x?x2xf32>
  }}
}}"""
    out = emit_eff(tmp_path, ir, x=x)
    _, indices = ref.router(x, wr, top_k=2)
    [usage] = attributes(out, "calibration.expert_usage")
    np.testing.assert_array_equal(usage, np.bincount(indices.ravel(), minlength=4))
    assert usage.sum() == 3 * 7 * 2


def test_inside_layers_and_identity_yields(tmp_path):
    # A layer that yields its own argument (an identity path) next to a probed linear.
    gen = rng(7)
    x = gen.standard_normal((1, 4, 8)).astype(np.float32)
    w = gen.standard_normal((8, 8)).astype(np.float32)
    ir = f"""
module {{
  func.func @main(%x: tensor<?x?x8xf32> {{eff.name = "x"}}) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {{
    %h, %same = eff.layer 0 (%x) : (tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {{
    ^bb0(%in: tensor<?x?x8xf32>):
      {constant("w", w)}
      %y = eff.linear %in, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
      eff.yield %y, %in : tensor<?x?x8xf32>, tensor<?x?x8xf32>
    }}
    return %h, %same : tensor<?x?x8xf32>, tensor<?x?x8xf32>
  }}
}}"""
    out = emit_eff(tmp_path, ir, x=x)
    [rms] = attributes(out, "calibration.input_rms")
    np.testing.assert_allclose(rms, np.sqrt((x.reshape(-1, 8).astype(np.float64) ** 2).mean(axis=0)), rtol=1e-5)
    # The model itself compiles and runs, its identity output being its input.
    outputs = compile_and_run(ir, {"x": x})
    np.testing.assert_array_equal(list(outputs.values())[1], x)
    np.testing.assert_allclose(list(outputs.values())[0], ref.linear(x, w), rtol=1e-5, atol=1e-5)
