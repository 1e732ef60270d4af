"""Numerics of the structural compression passes: eff-drop-layers, eff-prune-heads, eff-prune-ffn and
eff-prune-experts (lib/Dialect/Eff/Transforms/). Adapter folding and live adapters (eff-merge-adapters,
eff-keep-adapters) are tested in test_compression_adapters.py.

Each test builds a small seeded model with examples/models.py, compiles it with `effc` and a compression flag
(--drop-layers=..., --prune-heads=..., ...), runs it with `effc-run`, and compares it with

- for layer dropping (which must be exact): the same model *written without those layers* (its weights
  renamed to the kept layers), compiled without compression: equal to 1e-6 (in practice bitwise);
- for pruning: the numpy reference (Module.evaluate over test/reference/eff_reference.py) of the model built
  with weights compressed *independently here in numpy* the way each pass documents (which heads, neurons or
  experts go, and how the weights are sliced): rtol/atol 1e-4 (f32 through whole models, as
  test/e2e/test_examples.py).

Each pruning test also checks that the compressed artifact really is smaller (weight shapes in the IR after
compression) and that the pruned model differs from the dense one, so that a pass that does nothing fails.

Run with: /usr/bin/python3 -m pytest test/e2e/test_compression_structural.py
"""

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest


import models  # noqa: E402
import eff_reference as ref  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, CompiledIrModule as Compiled, EffcError, compile_and_run, ttype  # noqa: E402

EXACT_TOL = dict(rtol=0, atol=1e-6)
TOL = dict(rtol=1e-4, atol=1e-4)

pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()),
                                reason=f"effc/effc-run not built ({EFFC.parent})")


def compressed_ir(module, flags, elide=True):
    """The eff IR after materialisation and compression (effc --emit=... is the lowered IR, so use effc-opt)."""
    with tempfile.TemporaryDirectory(prefix="effc-compress-") as workdir:
        module.weights_file = "model.safetensors"
        source, _ = module.save(Path(workdir) / "model.mlir")
        args = [str(EFFC.parent / "effc-opt"), str(source), f"--eff-materialize-parameters=base-dir={workdir}",
                *flags] + (["--mlir-elide-resource-strings-if-larger=1"] if elide else [])
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            raise EffcError(f"effc-opt {' '.join(flags)} failed:\n{result.stderr[-4000:]}")
        return result.stdout


def constant_shapes(text):
    """The shapes of the dense_resource constants of compressed IR, by resource name (minus uniquing suffix)."""
    shapes = {}
    for name, shape in re.findall(r"dense_resource<([^>]+)> : tensor<([0-9x]+)xf32>", text):
        shapes.setdefault(name, tuple(int(d) for d in shape.split("x")))
    return shapes


def assert_outputs_close(actual, expected, tol, what):
    assert list(actual) == list(expected), f"{what}: outputs {list(actual)} != {list(expected)}"
    for key in expected:
        a, e = actual[key], expected[key]
        assert a.shape == e.shape, f"{what}: {key}: shape {a.shape} != {e.shape}"
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), err_msg=f"{what}: {key}", **tol)


def assert_differs(actual, other, what):
    assert actual.shape != other.shape or not np.allclose(actual, other, rtol=1e-3, atol=1e-3), what


def compile_pair(module, flags, reference_module):
    compressed, reference = Compiled(module, flags), Compiled(reference_module)
    return compressed, reference


# ----------------------------------------------------------------------------------------------------------
# eff-drop-layers: exact against the same model written without the dropped layers

DROP_SPECS = {  # spec -> positions dropped from 4 layers (see EffDropLayersPass's description)
    "top:2": [2, 3],
    "bottom:1": [0],
    "alternate": [1, 3],
    "symmetric:2": [1, 2],
    "list:0,2": [0, 2],
}


def rename_layers(weights, prefix, kept):
    """Weights of a model with only the layers `kept`, renumbered 0..len(kept)-1 (prefix: 'h.' or ...)."""
    out = {k: v for k, v in weights.items() if not k.startswith(prefix)}
    for new, old in enumerate(kept):
        for k, v in weights.items():
            if k.startswith(f"{prefix}{old}."):
                out[f"{prefix}{new}." + k[len(f"{prefix}{old}."):]] = v
    return out


@pytest.mark.parametrize("spec", ["top:2", "alternate", "list:0,2"])
def test_drop_layers_bert_exact(spec):
    cfg = models.BertConfig(layers=4)
    weights = models.init_bert(cfg, np.random.default_rng(41))
    kept = [i for i in range(cfg.layers) if i not in DROP_SPECS[spec]]
    small_cfg = models.BertConfig(layers=len(kept))
    small = models.build_bert(small_cfg, rename_layers(weights, "encoder.layer.", kept))
    dropped = Compiled(models.build_bert(cfg, weights), [f"--drop-layers={spec}"])
    reference = Compiled(small)
    full = Compiled(models.build_bert(cfg, weights), ["-O0"])
    try:
        inputs = models.sample_inputs("bert_tiny", np.random.default_rng(5), batch=2, seq=9)["main"]
        actual = dropped.run("main", inputs)
        assert_outputs_close(actual, reference.run("main", inputs), EXACT_TOL, f"bert {spec}")
        assert_outputs_close(actual, small.evaluate("main", inputs), TOL, f"bert {spec} vs numpy")
        assert_differs(actual["last_hidden_state"], full.run("main", inputs)["last_hidden_state"],
                       f"bert {spec}: dropping changed nothing")
    finally:
        for c in (dropped, reference, full):
            c.close()


@pytest.mark.parametrize("spec", ["bottom:2", "symmetric:2"])
def test_drop_layers_gpt_prefill_and_decode_exact(spec):
    """Prefill and decode with the KV cache: the dropped model has the signature of a model with fewer layers
    (present_*/past_* renumbered), and equals that model compiled directly."""
    cfg = models.GptConfig(layers=4, hidden=64, ffn=128)
    weights = models.init_gpt(cfg, np.random.default_rng(42))
    positions = {"top:1": [3], "bottom:2": [0, 1], "alternate": [1, 3], "symmetric:2": [1, 2], "list:1": [1]}[spec]
    kept = [i for i in range(cfg.layers) if i not in positions]
    small_cfg = models.GptConfig(layers=len(kept), hidden=64, ffn=128)
    small = models.build_gpt(small_cfg, rename_layers(weights, "h.", kept))
    dropped = Compiled(models.build_gpt(cfg, weights), [f"--drop-layers={spec}"])
    reference = Compiled(small)
    try:
        gen = np.random.default_rng(6)
        ids = gen.integers(0, cfg.vocab_size, (2, 7), dtype=np.int64)
        prefill = dropped.run("prefill", {"input_ids": ids})
        expected = reference.run("prefill", {"input_ids": ids})
        assert list(prefill) == ["logits"] + [f"present_{k}_{i}" for i in range(len(kept)) for k in ("key", "value")]
        assert_outputs_close(prefill, expected, EXACT_TOL, f"gpt {spec} prefill")
        assert_outputs_close(prefill, small.evaluate("prefill", {"input_ids": ids}), TOL, f"gpt {spec} vs numpy")

        # A decode step fed with the prefill's cache, as a generation loop would.
        step = {"input_ids": gen.integers(0, cfg.vocab_size, (2, 1), dtype=np.int64)}
        step.update({name.replace("present", "past"): value for name, value in prefill.items() if name != "logits"})
        decoded = dropped.run("decode", step)
        assert_outputs_close(decoded, reference.run("decode", step), EXACT_TOL, f"gpt {spec} decode")
        # The decode step continues the prefill: its logits equal a prefill of the 8 tokens at the last position.
        longer = reference.run("prefill", {"input_ids": np.concatenate([ids, step["input_ids"]], axis=1)})
        np.testing.assert_allclose(decoded["logits"][:, 0], longer["logits"][:, -1], **TOL)
    finally:
        dropped.close()
        reference.close()


def test_drop_layers_too_many_is_an_error():
    cfg = models.BertConfig(layers=2)
    module = models.build_bert(cfg, models.init_bert(cfg, np.random.default_rng(1)))
    with pytest.raises(EffcError, match="cannot drop 3 layers, function @main has 2"):
        Compiled(module, ["--drop-layers=top:3"])


# ----------------------------------------------------------------------------------------------------------
# eff-prune-heads / eff-prune-ffn: against the numpy reference of weights pruned here the way the passes
# document (EffPruneHeadsPass / EffPruneFfnPass in Passes.td)


def prune_count(fraction, count, keep_at_least=1):
    return int(min(max(np.floor(fraction * count + 0.5), 0), max(count - keep_at_least, 0)))


def keep_strongest(scores, remove):
    """Indices without the `remove` lowest scores, ascending; among ties the higher index goes first."""
    order = sorted(range(len(scores)), key=lambda i: (scores[i], -i))
    return sorted(order[remove:])


def head_channels(heads, dh):
    return np.concatenate([np.arange(h * dh, (h + 1) * dh) for h in heads])


def prune_heads_mha(weights, prefix, names, heads, fraction):
    """Multi-head attention: whole heads (query, key, value rows, output columns) by summed squared norms."""
    q, k, v, o = (f"{prefix}.{n}" for n in names)
    dh = weights[f"{q}.weight"].shape[0] // heads
    sq = lambda w, axis: (w.astype(np.float64) ** 2).sum(axis=axis)  # noqa: E731
    per_channel = sq(weights[f"{q}.weight"], 1) + sq(weights[f"{k}.weight"], 1) + sq(weights[f"{v}.weight"], 1) \
        + sq(weights[f"{o}.weight"], 0)
    scores = per_channel.reshape(heads, dh).sum(axis=1)
    kept = keep_strongest(list(scores), prune_count(fraction, heads))
    ch = head_channels(kept, dh)
    out = dict(weights)
    for n in (q, k, v):
        out[f"{n}.weight"] = weights[f"{n}.weight"][ch]
        if f"{n}.bias" in weights:
            out[f"{n}.bias"] = weights[f"{n}.bias"][ch]
    out[f"{o}.weight"] = weights[f"{o}.weight"][:, ch]
    return out, len(kept)


def test_prune_heads_gpt_prefill_and_decode():
    """Multi-head attention with a KV cache: the cache gets narrower in prefill's presents and decode's pasts."""
    cfg = models.GptConfig(layers=2, hidden=64, heads=4, ffn=128)
    weights = models.init_gpt(cfg, np.random.default_rng(43))
    pruned = dict(weights)
    for i in range(cfg.layers):
        pruned, kept = prune_heads_mha(pruned, f"h.{i}.attn", ("q_proj", "k_proj", "v_proj", "out_proj"), cfg.heads,
                                       0.5)
    # build_gpt types the decode step's past_* inputs [B, P, hidden]: the pruned cache is kept·Dh wide.
    small = models.build_gpt(models.GptConfig(layers=2, hidden=kept * 16, heads=kept, ffn=128), pruned)
    compiled = Compiled(models.build_gpt(cfg, weights), ["--prune-heads=0.5"])
    try:
        ids = np.random.default_rng(7).integers(0, cfg.vocab_size, (2, 6), dtype=np.int64)
        prefill = compiled.run("prefill", {"input_ids": ids})
        assert prefill["present_key_0"].shape == (2, 6, kept * 16)
        assert_outputs_close(prefill, small.evaluate("prefill", {"input_ids": ids}), TOL, "gpt prune-heads prefill")
        # Decode with the narrower cache continues the prefill.
        step = {"input_ids": ids[:, :1]}
        step.update({n.replace("present", "past"): a[:, :5] for n, a in prefill.items() if n != "logits"})
        decoded = compiled.run("decode", {"input_ids": ids[:, 5:6], **{k: v for k, v in step.items() if k != "input_ids"}})
        np.testing.assert_allclose(decoded["logits"][:, 0], prefill["logits"][:, 5], **TOL)
        assert_differs(prefill["logits"], models.build_gpt(cfg, weights).evaluate("prefill", {"input_ids": ids})["logits"],
                       "pruning changed nothing")
    finally:
        compiled.close()


def test_prune_heads_llama_gqa_and_ffn():
    """Grouped-query attention with RoPE (query heads pruned within each KV group) and SwiGLU FFN pruning,
    applied in one compile (--prune-heads then --prune-ffn)."""
    cfg = models.LlamaConfig(layers=2, hidden=64, heads=4, kv_heads=2, ffn=96)
    weights = models.init_llama(cfg, np.random.default_rng(44))
    dh, group = cfg.hidden // cfg.heads, cfg.heads // cfg.kv_heads
    pruned = dict(weights)
    sq = lambda w, axis: (w.astype(np.float64) ** 2).sum(axis=axis)  # noqa: E731
    for i in range(cfg.layers):
        p = f"model.layers.{i}"
        wq, wo = weights[f"{p}.self_attn.q_proj.weight"], weights[f"{p}.self_attn.o_proj.weight"]
        scores = (sq(wq, 1) + sq(wo, 0)).reshape(cfg.heads, dh).sum(axis=1)
        remove = prune_count(0.5, group)
        kept = [g * group + h for g in range(cfg.kv_heads)
                for h in keep_strongest(list(scores[g * group:(g + 1) * group]), remove)]
        ch = head_channels(kept, dh)
        pruned[f"{p}.self_attn.q_proj.weight"] = wq[ch]
        pruned[f"{p}.self_attn.o_proj.weight"] = wo[:, ch]
        up, gate, down = (weights[f"{p}.mlp.{n}_proj.weight"] for n in ("up", "gate", "down"))
        neuron_scores = np.sqrt(sq(up, 1) * sq(down, 0) * sq(gate, 1))
        keep = keep_strongest(list(neuron_scores), prune_count(0.25, cfg.ffn))
        pruned[f"{p}.mlp.up_proj.weight"], pruned[f"{p}.mlp.gate_proj.weight"] = up[keep], gate[keep]
        pruned[f"{p}.mlp.down_proj.weight"] = down[:, keep]
    small = models.build_llama(models.LlamaConfig(layers=2, hidden=64, heads=len(kept), kv_heads=2, ffn=len(keep)),
                               pruned)
    flags = ["--prune-heads=0.5", "--prune-ffn=0.25"]
    shapes = constant_shapes(compressed_ir(models.build_llama(cfg, weights),
                                           ["--eff-prune-heads=fraction=0.5", "--eff-prune-ffn=fraction=0.25"]))
    assert shapes["model.layers.0.self_attn.q_proj.weight.pruned"] == (len(kept) * dh, cfg.hidden)
    assert shapes["model.layers.0.mlp.down_proj.weight.pruned"] == (cfg.hidden, len(keep))
    compiled = Compiled(models.build_llama(cfg, weights), flags)
    try:
        ids = np.random.default_rng(8).integers(0, cfg.vocab_size, (2, 7), dtype=np.int64)
        actual = compiled.run("main", {"input_ids": ids})
        assert_outputs_close(actual, small.evaluate("main", {"input_ids": ids}), TOL, "llama prune-heads + prune-ffn")
    finally:
        compiled.close()


def dense(name, array):
    """`%name = arith.constant dense<...>` of `array` (exact decimal literal)."""
    body = np.array2string(array, separator=", ", threshold=1 << 30, floatmode="unique").replace("\n", "")
    return f"%{name} = arith.constant dense<{body}> : {ttype(array.shape)}"


def calibration_inputs(gen, shape, quiet_channels, tmp_path):
    """Inputs whose `quiet_channels` are ~100x smaller than the others, saved as a calibration .npz."""
    x = gen.standard_normal(shape).astype(np.float32)
    x[..., quiet_channels] *= 0.01
    path = tmp_path / "inputs.npz"
    np.savez(path, x=x)
    return x, path


def test_prune_heads_calibration_overrides_magnitude(tmp_path):
    """effc --prune-heads=0.5 --calibration=inputs.npz: the head with the larger weights reads input channels
    that are quiet on the calibration inputs, so by magnitude it stays and by measured importance (mean L2
    norm of the head's slice of the attention output) it goes. Both choices are checked against the numpy
    reference of the weights sliced here."""
    gen = np.random.default_rng(47)
    d, heads, dh = 4, 2, 2
    wq, wk = (0.5 * gen.standard_normal((d, d))).astype(np.float32), (0.5 * gen.standard_normal((d, d))).astype(np.float32)
    wv = np.zeros((d, d), np.float32)
    wv[0:2, 0:2] = 10 * np.eye(2, dtype=np.float32)  # head 0 reads the quiet channels 0, 1 with large weights
    wv[2:4, 2:4] = np.eye(2, dtype=np.float32)       # head 1 reads channels 2, 3
    wo = gen.standard_normal((d, d)).astype(np.float32)
    ir = f"""
module {{
  func.func @main(%x: tensor<?x?x{d}xf32> {{eff.name = "x"}}) -> (tensor<?x?x{d}xf32> {{eff.name = "y"}}) {{
    {dense("wq", wq)}
    {dense("wk", wk)}
    {dense("wv", wv)}
    {dense("wo", wo)}
    %q = eff.linear %x, %wq : (tensor<?x?x{d}xf32>, tensor<{d}x{d}xf32>) -> tensor<?x?x{d}xf32>
    %k = eff.linear %x, %wk : (tensor<?x?x{d}xf32>, tensor<{d}x{d}xf32>) -> tensor<?x?x{d}xf32>
    %v = eff.linear %x, %wv : (tensor<?x?x{d}xf32>, tensor<{d}x{d}xf32>) -> tensor<?x?x{d}xf32>
    %a = eff.attention %q, %k, %v {{num_heads = {heads} : i64}} : (tensor<?x?x{d}xf32>, tensor<?x?x{d}xf32>, tensor<?x?x{d}xf32>) -> tensor<?x?x{d}xf32>
    %y = eff.linear %a, %wo : (tensor<?x?x{d}xf32>, tensor<{d}x{d}xf32>) -> tensor<?x?x{d}xf32>
    return %y : tensor<?x?x{d}xf32>
  }}
}}"""
    calib, path = calibration_inputs(gen, (4, 6, d), [0, 1], tmp_path)

    def attend(x, wq, wk, wv):
        return ref.attention(ref.linear(x, wq), ref.linear(x, wk), ref.linear(x, wv), num_heads=len(wq) // dh)

    a = attend(calib, wq, wk, wv).reshape(-1, heads, dh).astype(np.float64)
    importance = np.linalg.norm(a, axis=-1).mean(axis=0)
    sq = lambda w, axis: (w.astype(np.float64) ** 2).sum(axis=axis)  # noqa: E731
    magnitude = (sq(wq, 1) + sq(wk, 1) + sq(wv, 1) + sq(wo, 0)).reshape(heads, dh).sum(axis=1)
    by_calibration, by_magnitude = keep_strongest(list(importance), 1), keep_strongest(list(magnitude), 1)
    assert by_calibration == [1] and by_magnitude == [0], "the model no longer separates the two scores"

    x = gen.standard_normal((2, 5, d)).astype(np.float32)
    x[..., :2] *= 0.01
    for kept, flags in ((by_calibration, dict(calibration=path)), (by_magnitude, {})):
        ch = head_channels(kept, dh)
        expected = ref.linear(attend(x, wq[ch], wk[ch], wv[ch]), wo[:, ch])
        actual = compile_and_run(ir, {"x": x}, prune_heads=0.5, **flags)["y"]
        np.testing.assert_allclose(actual, expected, err_msg=f"heads kept {kept}", **TOL)


def test_prune_ffn_calibration_wanda(tmp_path):
    """effc --prune-ffn=0.5 --calibration=inputs.npz on a gated FFN: neurons 0-3 have large weights on input
    channels that are quiet on the calibration inputs. Wanda-style scores (EffPruneFfnPass: ||W_up[f] * rms||
    * ||W_down[:, f]|| * ||W_gate[f] * rms||, rms the per-channel RMS of the FFN input) drop them; magnitude
    keeps them. Both against the numpy reference of the weights sliced here."""
    gen = np.random.default_rng(48)
    d, f = 4, 8
    w_up = (0.1 * gen.standard_normal((f, d))).astype(np.float32)
    w_up[:4, :2] += 3.0
    w_up[4:, 2:] += 1.0
    w_gate = (0.1 * gen.standard_normal((f, d))).astype(np.float32) + 0.5
    w_down = gen.standard_normal((d, f)).astype(np.float32)
    ir = f"""
module {{
  func.func @main(%x: tensor<?x{d}xf32> {{eff.name = "x"}}) -> (tensor<?x{d}xf32> {{eff.name = "y"}}) {{
    {dense("up", w_up)}
    {dense("gate", w_gate)}
    {dense("down", w_down)}
    %y = eff.ffn %x up(%up) gate(%gate) down(%down) silu : (tensor<?x{d}xf32>, tensor<{f}x{d}xf32>, tensor<{f}x{d}xf32>, tensor<{d}x{f}xf32>) -> tensor<?x{d}xf32>
    return %y : tensor<?x{d}xf32>
  }}
}}"""
    calib, path = calibration_inputs(gen, (32, d), [0, 1], tmp_path)
    rms = np.sqrt((calib.astype(np.float64) ** 2).mean(axis=0))
    sq = lambda w, axis: (w.astype(np.float64) ** 2).sum(axis=axis)  # noqa: E731
    wanda = np.sqrt(sq(w_up * rms, 1) * sq(w_down, 0) * sq(w_gate * rms, 1))
    magnitude = np.sqrt(sq(w_up, 1) * sq(w_down, 0) * sq(w_gate, 1))
    by_calibration = keep_strongest(list(wanda), prune_count(0.5, f))
    by_magnitude = keep_strongest(list(magnitude), prune_count(0.5, f))
    assert by_calibration == [4, 5, 6, 7] and by_magnitude == [0, 1, 2, 3], "the model no longer separates them"

    x = gen.standard_normal((6, d)).astype(np.float32)
    for keep, flags in ((by_calibration, dict(calibration=path)), (by_magnitude, {})):
        expected = ref.ffn(x, w_up[keep], w_down[:, keep], kind="silu", w_gate=w_gate[keep])
        actual = compile_and_run(ir, {"x": x}, prune_ffn=0.5, **flags)["y"]
        np.testing.assert_allclose(actual, expected, err_msg=f"neurons kept {keep}", **TOL)


# ----------------------------------------------------------------------------------------------------------
# eff-prune-experts: against the numpy reference of the experts sliced here (EffPruneExpertsPass)


@pytest.mark.parametrize("spec", ["1", "list:0,3"])
def test_prune_experts_moe_switch(spec):
    """moe_switch_tiny (Switch layer + residual-MoE layer, 4 experts, capacity factor 1.25): by router-row
    norm, or an explicit list; the model with 3 or 2 experts built from weights sliced in numpy."""
    cfg = models.MoeConfig()
    weights = models.init_moe(cfg, np.random.default_rng(49))
    sliced = dict(weights)
    for i in range(cfg.layers):
        p = f"layers.{i}.moe"
        router = weights[f"{p}.router.weight"].astype(np.float64)
        if spec.startswith("list:"):
            keep = [e for e in range(cfg.experts) if e not in (0, 3)]
        else:
            keep = keep_strongest(list((router ** 2).sum(axis=1)), int(spec))
        sliced[f"{p}.router.weight"] = weights[f"{p}.router.weight"][keep]
        for n in ("up.weight", "up.bias", "down.weight", "down.bias"):
            sliced[f"{p}.experts.{n}"] = weights[f"{p}.experts.{n}"][keep]
    small = models.build_moe(models.MoeConfig(experts=len(keep)), sliced)
    shapes = constant_shapes(compressed_ir(models.build_moe(cfg, weights), [f"--eff-prune-experts=experts={spec}"]))
    assert shapes["layers.0.moe.experts.up.weight.pruned"] == (len(keep), cfg.expert_ffn, cfg.hidden)
    assert shapes["layers.1.moe.router.weight.pruned"] == (len(keep), cfg.hidden)
    compiled = Compiled(models.build_moe(cfg, weights), [f"--prune-experts={spec}"])
    try:
        inputs = models.sample_inputs("moe_switch_tiny", np.random.default_rng(12), batch=2, seq=9)["main"]
        actual = compiled.run("main", inputs)
        assert_outputs_close(actual, small.evaluate("main", inputs), TOL, f"moe prune-experts {spec}")
        assert_differs(actual["last_hidden_state"],
                       models.build_moe(cfg, weights).evaluate("main", inputs)["last_hidden_state"],
                       "pruning experts changed nothing")
    finally:
        compiled.close()


def test_prune_experts_calibration_usage(tmp_path):
    """effc --prune-experts=1 --calibration=inputs.npz: expert 0 has the largest router row but reads only a
    channel that is quiet on the calibration inputs, so it is chosen least; by router-row norm expert 1
    (the smallest row) would go instead. Usage is recomputed here with the numpy reference router."""
    gen = np.random.default_rng(50)
    d, e, f = 4, 4, 6
    router = np.zeros((e, d), np.float32)
    router[0, 0] = 5.0                      # large row on the quiet channel 0
    router[1, 1], router[2, 2], router[3, 3] = 0.5, 1.0, 1.5
    w_up = gen.standard_normal((e, f, d)).astype(np.float32)
    w_down = gen.standard_normal((e, d, f)).astype(np.float32)
    ir = f"""
module {{
  func.func @main(%x: tensor<?x{d}xf32> {{eff.name = "x"}}) -> (tensor<?x{d}xf32> {{eff.name = "y"}}) {{
    {dense("router", router)}
    {dense("up", w_up)}
    {dense("down", w_down)}
    %w, %i = eff.router softmax %x, %router {{top_k = 1 : i64}} : (tensor<?x{d}xf32>, tensor<{e}x{d}xf32>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
    %y = eff.experts %x, %w, %i up(%up) down(%down) relu : (tensor<?x{d}xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<{e}x{f}x{d}xf32>, tensor<{e}x{d}x{f}xf32>) -> tensor<?x{d}xf32>
    return %y : tensor<?x{d}xf32>
  }}
}}"""
    calib, path = calibration_inputs(gen, (64, d), [0], tmp_path)
    calib[:, 1:] = np.abs(calib[:, 1:])  # positive activity on channels 1-3, so experts 1-3 win tokens
    np.savez(path, x=calib)
    _, indices = ref.router(calib, router, top_k=1)
    usage = np.bincount(indices.reshape(-1), minlength=e)
    by_usage = keep_strongest(list(usage.astype(np.float64)), 1)
    by_norm = keep_strongest(list((router.astype(np.float64) ** 2).sum(axis=1)), 1)
    assert 0 not in by_usage and 0 in by_norm, f"the model no longer separates the two scores (usage {usage})"

    x = np.abs(gen.standard_normal((10, d))).astype(np.float32)
    for keep, flags in ((by_usage, dict(calibration=path)), (by_norm, {})):
        weights, idx = ref.router(x, router[keep], top_k=1)
        expected = ref.experts(x, weights, idx, w_up[keep], w_down[keep], kind="relu")
        actual = compile_and_run(ir, {"x": x}, prune_experts=1, **flags)["y"]
        np.testing.assert_allclose(actual, expected, err_msg=f"experts kept {keep}", **TOL)


# ----------------------------------------------------------------------------------------------------------
# Composition (issue 4 item 7): layer dropping and head pruning commute


def test_drop_layers_and_prune_heads_commute():
    cfg = models.BertConfig(layers=3)
    weights = models.init_bert(cfg, np.random.default_rng(46))
    module = lambda: models.build_bert(cfg, weights)  # noqa: E731
    orders = [["--drop-layers=top:1", "--prune-heads=0.5"], ["--prune-heads=0.5", "--drop-layers=top:1"]]
    irs = [compressed_ir(module(), [f.replace("--drop-layers=", "--eff-drop-layers=layers=")
                                    .replace("--prune-heads=", "--eff-prune-heads=fraction=") for f in o])
           for o in orders]
    assert constant_shapes(irs[0]) == constant_shapes(irs[1])
    assert constant_shapes(irs[0])["encoder.layer.0.attention.self.query.weight.pruned"] == (32, 64)
    assert "encoder.layer.2." not in irs[0]
    inputs = models.sample_inputs("bert_tiny", np.random.default_rng(11), batch=2, seq=5)["main"]
    outputs = []
    for flags in orders:
        compiled = Compiled(module(), flags)
        try:
            outputs.append(compiled.run("main", inputs))
        finally:
            compiled.close()
    assert_outputs_close(outputs[0], outputs[1], EXACT_TOL, "drop-layers/prune-heads in either order")
