"""The raised attention of make_onnx_models.py's hand-written graphs against numpy: rotary keys longer than
the queries are rotated at their own positions 0..S_k-1 (as the graph's tables say), not the queries'.
Tolerance: 1e-5 absolute (f32, values of order 1)."""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # make_onnx_models.py

import make_onnx_models  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, _run, run_module  # noqa: E402

pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()), reason="effc/effc-run not built")


def reference(q, k, v, heads=2, dh=4, q_window=None, rope_k=True):
    """The graph's semantics in numpy: heads split, rotate-half RoPE on Q and K heads, softmax(QK^T/sqrt(Dh))V."""
    def split(x):
        return x.reshape(x.shape[0], x.shape[1], heads, dh).transpose(0, 2, 1, 3)

    def rope(x, window=None):
        """Rows 0..S-1 of the tables, or the window (rows, start, end) broadcast against x as the graph does."""
        cos, sin = make_onnx_models.rope_tables(x.shape[2], dh)
        if window:
            cos, sin = (t[window[1]:window[2]] for t in make_onnx_models.rope_tables(window[0], dh))
        return x * cos + np.concatenate([-x[..., dh // 2:], x[..., : dh // 2]], -1) * sin

    keys = rope(split(k)) if rope_k else split(k)
    scores = rope(split(q), q_window) @ keys.transpose(0, 1, 3, 2) / np.sqrt(dh)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return (probs @ split(v)).transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], heads * dh)


def test_rotary_keys_longer_than_queries(tmp_path):
    model = make_onnx_models.attention("long_keys", [1, 3, 8], [1, 5, 8], [1, 5, 8], 2, 4, 4, 4, rope_q=4, rope_k=4)
    import onnx

    onnx.save(model, str(tmp_path / "long_keys.onnx"))
    _run([EFFC, tmp_path / "long_keys.onnx", "-o", tmp_path / "long_keys.so"])
    rng = np.random.default_rng(0)
    inputs = {name: rng.standard_normal(shape).astype(np.float32)
              for name, shape in (("q", (1, 3, 8)), ("k", (1, 5, 8)), ("v", (1, 5, 8)))}
    y = run_module(tmp_path / "long_keys.so", inputs, tmp_path)["y"]
    np.testing.assert_allclose(y, reference(**inputs), atol=1e-5, rtol=0)


@pytest.mark.parametrize("window", [(8, 2, 5), (8, 0, 1)])
def test_rotary_tables_window(tmp_path, window):
    """Query tables of 8 rows read at rows [2, 5) (raised: eff.rotary at positions 2..4) or at row 0 alone
    (broadcast to the 3 queries: not raised, op by op); unrotated keys."""
    import onnx

    model = make_onnx_models.attention("window", [1, 3, 8], [1, 3, 8], [1, 3, 8], 2, 4, 4, 4, rope_q=4,
                                       rope_window=window)
    onnx.save(model, str(tmp_path / "window.onnx"))
    _run([EFFC, tmp_path / "window.onnx", "-o", tmp_path / "window.so"])
    rng = np.random.default_rng(1)
    inputs = {name: rng.standard_normal((1, 3, 8)).astype(np.float32) for name in ("q", "k", "v")}
    y = run_module(tmp_path / "window.so", inputs, tmp_path)["y"]
    np.testing.assert_allclose(y, reference(**inputs, q_window=window, rope_k=False), atol=1e-5, rtol=0)


@pytest.mark.parametrize("shape", [(1, 2, 3, 3), (1, 2, 3, 1)])
def test_score_bias(tmp_path, shape):
    """A score bias [1, H, S, L] (raised: eff.attention's bias) or [1, H, S, 1] (broadcast: op by op) added to the
    scaled scores, against numpy."""
    import onnx

    model = make_onnx_models.attention("bias", [1, 3, 8], [1, 3, 8], [1, 3, 8], 2, 4, 4, 4, bias=list(shape))
    onnx.save(model, str(tmp_path / "bias.onnx"))
    _run([EFFC, tmp_path / "bias.onnx", "-o", tmp_path / "bias.so"])
    rng = np.random.default_rng(2)
    inputs = {name: rng.standard_normal((1, 3, 8)).astype(np.float32) for name in ("q", "k", "v")}
    bias = rng.standard_normal(shape).astype(np.float32)
    y = run_module(tmp_path / "bias.so", {**inputs, "bias": bias}, tmp_path)["y"]

    def split(x):
        return x.reshape(1, 3, 2, 4).transpose(0, 2, 1, 3)

    scores = split(inputs["q"]) @ split(inputs["k"]).transpose(0, 1, 3, 2) / 2.0 + bias
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    expected = (probs @ split(inputs["v"])).transpose(0, 2, 1, 3).reshape(1, 3, 8)
    np.testing.assert_allclose(y, expected, atol=1e-5, rtol=0)
