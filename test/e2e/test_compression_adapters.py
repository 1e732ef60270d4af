"""Numerics of adapter folding and live adapters: eff-merge-adapters and eff-keep-adapters
(lib/Dialect/Eff/Transforms/{MergeAdapters,KeepAdapters}.cpp), through `effc --merge-adapters` /
`effc --keep-adapters` and `effc-run`.

- Merging is exact up to float rounding (the merged weights are computed in double and rounded once, the
  products re-associate): the merged adapter_tiny equals the unmerged build to rtol = atol = 1e-5, and on a
  small hand-built LoRA + (IA)^3 model the merged weights in the IR equal W + (alpha/rank)·B·A, row-scaled by
  the value vector and column-scaled by the FFN vector, computed here in numpy (1e-6), and the compiled
  model equals the numpy reference of the same model written with those merged weights and no adapters
  (1e-5).
- Kept adapters are inputs: the --keep-adapters build run with the model's own adapter weights equals the
  normal build, and run with other adapter weights equals a model compiled with those weights baked in
  (rtol = atol = 1e-5; the same computation with constants turned into arguments).

Run with: /usr/bin/python3 -m pytest test/e2e/test_compression_adapters.py
"""

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest


import models  # noqa: E402
from effc import ir  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, CompiledIrModule as Compiled, EffcError  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
WEIGHT_TOL = dict(rtol=1e-6, atol=1e-6)
EFFC_OPT = EFFC.parent / "effc-opt"

pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()),
                                reason=f"effc/effc-run not built ({EFFC.parent})")

# The adapter weights of adapter_tiny (everything eff-keep-adapters turns into an input).
ADAPTER_WEIGHT = re.compile(r"lora_[AB]$|\.ia3$|prefix_(key|value)$|^prompt\.|\.adapter\.")


def merged_ir(module, flags=("--eff-merge-adapters",)):
    """The eff IR after materialisation and `flags`, with its resource blobs."""
    with tempfile.TemporaryDirectory(prefix="effc-adapters-") as workdir:
        module.weights_file = "model.safetensors"
        source, _ = module.save(Path(workdir) / "model.mlir")
        result = subprocess.run([str(EFFC_OPT), str(source), f"--eff-materialize-parameters=base-dir={workdir}",
                                 *flags], capture_output=True, text=True)
        if result.returncode != 0:
            raise EffcError(f"effc-opt failed:\n{result.stderr[-4000:]}")
        return result.stdout


def blob(text, key, shape):
    """The f32 tensor of dense_resource blob `key` in printed IR (a 4-byte alignment, then the data)."""
    data = bytes.fromhex(re.search(rf"^\s*{re.escape(key)}: \"0x([0-9A-F]+)\"", text, re.M).group(1))
    return np.frombuffer(data[4:], np.float32).reshape(shape)


def adapter_inputs(seed=7):
    rng = np.random.default_rng(seed)
    return {"input_ids": rng.integers(0, models.AdapterConfig().vocab_size, (2, 7), dtype=np.int64)}


def adapter_weights():
    cfg = models.AdapterConfig()
    return cfg, models.init_adapter(cfg, np.random.default_rng(models.SEEDS["adapter_tiny"]))


# ----------------------------------------------------------------------------------------------------------
# eff-merge-adapters


def test_merged_adapter_tiny_equals_unmerged():
    cfg, weights = adapter_weights()
    module = models.build_adapter(cfg, weights)
    text = merged_ir(module, ["--eff-merge-adapters", "--mlir-elide-resource-strings-if-larger=1"])
    # LoRA and (IA)^3 are gone; prompt, prefix and the (nonlinear) bottleneck adapters stay.
    assert "eff.lora" not in text and "eff.ia3" not in text
    assert text.count("eff.bottleneck_adapter") == cfg.layers
    assert text.count("eff.prefix") == 1 and text.count("eff.prompt") == 1
    merged, plain = Compiled(module, ["--merge-adapters"]), Compiled(models.build_adapter(cfg, weights))
    try:
        inputs = adapter_inputs()
        out, expected = merged.run("main", inputs), plain.run("main", inputs)
        assert list(out) == list(expected) == ["last_hidden_state"]
        assert out["last_hidden_state"].shape == (2, cfg.prompt_tokens + 7, cfg.hidden)
        np.testing.assert_allclose(out["last_hidden_state"], expected["last_hidden_state"], **TOL)
    finally:
        merged.close()
        plain.close()


def lora_ia3_model(w):
    """x [?, ?, 8] -> q (LoRA), v (LoRA then (IA)^3 value), f (up, gelu, (IA)^3 ffn, down); or, when `w` has
    no adapter weights, the same layers without adapters."""
    m = ir.Module("model.safetensors")
    P = lambda name: m.parameter(name, w[name])  # noqa: E731
    fn = m.function("main", inputs=[("x", (None, None, 8), "f32")])
    x = fn.args[0]
    q = fn.linear(x, P("q.weight"), P("q.bias"))
    v = fn.linear(x, P("v.weight"), P("v.bias"))
    if "q.lora_A" in w:
        q = fn.lora(q, x, P("q.lora_A"), P("q.lora_B"), alpha=6.0)
        v = fn.ia3(fn.lora(v, x, P("v.lora_A"), P("v.lora_B"), alpha=6.0), P("v.ia3"), target="value")
    h = fn.activation("gelu", fn.linear(x, P("up.weight"), P("up.bias")))
    if "ffn.ia3" in w:
        h = fn.ia3(h, P("ffn.ia3"), target="ffn")
    f = fn.linear(h, P("down.weight"), P("down.bias"))
    fn.ret([q, v, f], names=["q", "v", "f"])
    return m


def test_merged_weights_equal_numpy():
    rng = np.random.default_rng(11)
    r = lambda *shape, s=1.0: (s * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
    w = {"q.weight": r(6, 8), "q.bias": r(6), "v.weight": r(6, 8), "v.bias": r(6),
         "q.lora_A": r(3, 8), "q.lora_B": r(6, 3), "v.lora_A": r(3, 8), "v.lora_B": r(6, 3),
         "v.ia3": 1 + r(6, s=0.3), "up.weight": r(16, 8), "up.bias": r(16), "ffn.ia3": 1 + r(16, s=0.3),
         "down.weight": r(8, 16), "down.bias": r(8)}
    scale = 6.0 / 3
    f64 = {k: v.astype(np.float64) for k, v in w.items()}
    expected = {
        "q.weight": f64["q.weight"] + scale * f64["q.lora_B"] @ f64["q.lora_A"],
        "v.weight": f64["v.ia3"][:, None] * (f64["v.weight"] + scale * f64["v.lora_B"] @ f64["v.lora_A"]),
        "v.bias": f64["v.ia3"] * f64["v.bias"],
        "down.weight": f64["down.weight"] * f64["ffn.ia3"][None, :],
    }
    module = lora_ia3_model(w)
    text = merged_ir(module)
    assert "eff.lora" not in text and "eff.ia3" not in text
    # v.weight takes the LoRA update, then the (IA)^3 rows: merged twice.
    keys = {"q.weight": "q.weight.merged", "v.weight": "v.weight.merged.merged", "v.bias": "v.bias.merged",
            "down.weight": "down.weight.merged"}
    for name, value in expected.items():
        np.testing.assert_allclose(blob(text, keys[name], value.shape), value, err_msg=name, **WEIGHT_TOL)

    # The compiled merged model against the numpy reference of the adapter-free model with merged weights.
    plain = {k: v for k, v in w.items() if "lora" not in k and "ia3" not in k}
    plain.update({k: v.astype(np.float32) for k, v in expected.items()})
    x = r(2, 5, 8)
    reference = lora_ia3_model(plain).evaluate("main", {"x": x})
    merged = Compiled(module, ["--merge-adapters"])
    try:
        out = merged.run("main", {"x": x})
    finally:
        merged.close()
    assert list(out) == ["q", "v", "f"]
    for key, value in reference.items():
        np.testing.assert_allclose(out[key], value, err_msg=key, **TOL)
    # And the unmerged numpy reference agrees with it (the merge is the same function).
    unmerged = module.evaluate("main", {"x": x})
    for key, value in unmerged.items():
        np.testing.assert_allclose(out[key], value, err_msg=f"unmerged {key}", **TOL)


# ----------------------------------------------------------------------------------------------------------
# eff-keep-adapters


def test_kept_adapters_are_inputs_that_select_the_adapter():
    cfg, weights = adapter_weights()
    adapter_names = [n for n in weights if ADAPTER_WEIGHT.search(n)]
    kept = Compiled(models.build_adapter(cfg, weights), ["--keep-adapters"])
    baseline = Compiled(models.build_adapter(cfg, weights))
    # Adapter B: other seeded adapter weights of the same shapes, baked into a second model.
    rng = np.random.default_rng(99)
    other = dict(weights)
    for name in adapter_names:
        other[name] = (weights[name] + 0.3 * rng.standard_normal(weights[name].shape)).astype(np.float32)
    baked = Compiled(models.build_adapter(cfg, other), name="other")
    try:
        signature = kept.input_names()
        assert signature[0] == "input_ids"
        assert sorted(signature[1:]) == sorted(adapter_names)
        # Model order: the prompt first, then layer 0's LoRA A/B of the query.
        assert signature[1:4] == ["prompt.embeddings", "encoder.layer.0.attention.query.lora_A",
                                  "encoder.layer.0.attention.query.lora_B"]
        inputs = adapter_inputs()
        own = kept.run("main", {**inputs, **{n: weights[n] for n in adapter_names}})
        np.testing.assert_allclose(own["last_hidden_state"], baseline.run("main", inputs)["last_hidden_state"], **TOL)
        swapped = kept.run("main", {**inputs, **{n: other[n] for n in adapter_names}})
        expected = baked.run("main", inputs)["last_hidden_state"]
        np.testing.assert_allclose(swapped["last_hidden_state"], expected, **TOL)
        assert not np.allclose(expected, own["last_hidden_state"], rtol=1e-3, atol=1e-3)
    finally:
        for c in (kept, baseline, baked):
            c.close()


def test_merge_then_keep_leaves_only_unfoldable_adapters():
    cfg, weights = adapter_weights()
    kept = Compiled(models.build_adapter(cfg, weights), ["--merge-adapters", "--keep-adapters"])
    try:
        names = kept.input_names()[1:]
        assert names and all("lora" not in n and "ia3" not in n for n in names), names
        assert "prompt.embeddings" in names and "encoder.layer.1.attention.prefix_key" in names
        inputs = adapter_inputs(3)
        out = kept.run("main", {**inputs, **{n: weights[n] for n in names}})
        expected = models.build_adapter(cfg, weights).evaluate("main", inputs)
        np.testing.assert_allclose(out["last_hidden_state"], expected["last_hidden_state"], rtol=1e-4, atol=1e-4)
    finally:
        kept.close()


def test_entry_points_share_adapter_argument_names():
    """Two entry points using the same adapter parameters (materialised as two blobs, the second with MLIR's
    `_1` key suffix) get arguments of the same names."""
    rng = np.random.default_rng(5)
    w = {"q.weight": rng.standard_normal((4, 4)).astype(np.float32),
         "q.lora_A": rng.standard_normal((2, 4)).astype(np.float32),
         "q.lora_B": rng.standard_normal((4, 2)).astype(np.float32)}
    m = ir.Module("model.safetensors")
    for name in ("prefill", "decode"):
        fn = m.function(name, inputs=[("x", (None, 4), "f32")])
        x = fn.args[0]
        fn.ret([fn.lora(fn.linear(x, m.parameter("q.weight", w["q.weight"])), x,
                        m.parameter("q.lora_A", w["q.lora_A"]), m.parameter("q.lora_B", w["q.lora_B"]),
                        alpha=2.0)], names=["y"])
    text = merged_ir(m, ["--eff-keep-adapters", "--mlir-elide-resource-strings-if-larger=1"])
    for name in ("prefill", "decode"):
        header = re.search(rf"func.func @{name}\((.*)\) ->", text).group(1)
        assert re.findall(r'eff.name = "([^"]+)"', header) == ["x", "q.lora_A", "q.lora_B"], header
