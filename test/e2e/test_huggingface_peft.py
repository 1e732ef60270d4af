"""PEFT adapters attached to Hugging Face folders (`effc DIR --adapter ADAPTER`) vs PyTorch.

Tiny seeded models (test_huggingface_import.py's folders and PyTorch forwards) get a PEFT adapter folder
(adapter_config.json + adapter_model.safetensors with PEFT's tensor names): LoRA on BERT's query and value,
LoRA on GPT-2's fused c_attn (fan_in_fan_out), and (IA)^3 on Llama's k_proj, v_proj and down_proj (a
feed-forward module: its vector scales the input). Each is compiled live (imported with effc-import, the
adapters staying eff.lora / eff.ia3 ops, then compiled), merged (`effc DIR --adapter A`: merging is the default)
and with --merge-adapters (folded into the base weights; the emitted eff IR has no adapter op left), and
compared with the PyTorch forward of the adapted model. Tolerance: max |effc - torch| / max |torch| <= 1e-3 (f32).
"""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "import"))
import make_hf_folder  # noqa: E402
import test_huggingface_import as hf  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, _run, run_module  # noqa: E402

pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()), reason="effc/effc-run not built")
LAYERS, D, FFN = 2, 32, 48


def adapter_weights(shapes, seed):
    """Seeded adapter tensors; LoRA B and (IA)^3 vectors nonzero (PEFT initialises them to 0 and 1)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in shapes.items():
        if "ia3_l" in name:
            out[name] = 1 + 0.5 * torch.randn(shape, generator=g)
        else:
            out[name] = 0.3 * torch.randn(shape, generator=g)
    return out


def patched_linear(adapter, config):
    """F.linear replacement applying the adapter to the modules it targets (by their weight's identity)."""
    def make(weights, module_of):
        plain = F.linear

        def linear(x, weight, bias=None):
            module = module_of.get(id(weight))
            y = plain(x, weight, bias)
            if module is None:
                return y
            key = f"base_model.model.{module}"
            if config["peft_type"] == "LORA":
                s = config["lora_alpha"] / config["r"]
                return y + s * (x @ adapter[key + ".lora_A.weight"].T) @ adapter[key + ".lora_B.weight"].T
            l = adapter[key + ".ia3_l"]
            if module.split(".")[-1] in config["feedforward_modules"]:
                return plain(x * l[0], weight, bias)
            return y * l[:, 0]
        return linear
    return make


def assert_adapter_matters(adapted, plain):
    """The reference with the adapter differs clearly from the base model's (the test would notice a no-op)."""
    change = (adapted - plain).abs().max() / plain.abs().max()
    assert change > 0.05, f"the adapter changes the output by only {change:.2e}"


def compile_and_compare(tmp_path, name, config, weights, adapter_config, adapter, run_and_check):
    folder = tmp_path
    make_hf_folder.write_folder(folder / "model", config, {k: v.numpy() for k, v in weights.items()})
    make_hf_folder.write_adapter(folder / "adapter", adapter_config, {k: v.numpy() for k, v in adapter.items()})
    live = folder / "model" / "live.mlir"  # beside model.safetensors, which its eff.weights names
    _run([EFFC.parent / "effc-import", folder / "model", "--adapter", folder / "adapter", "-o", live])
    _run([EFFC, live, "-o", folder / "live.so"])
    assert "eff.lora" in live.read_text() or "eff.ia3" in live.read_text()
    run_and_check(folder / "live.so", folder, ["live"])
    for flags in ([], ["--merge-adapters"]):
        so = folder / f"model{'-'.join(flags)}.so"
        _run([EFFC, folder / "model", "--adapter", folder / "adapter", *flags, "-o", so])
        run_and_check(so, folder, flags)
    eff = folder / "merged.mlir"
    _run([EFFC, folder / "model", "--adapter", folder / "adapter", "--merge-adapters", "--emit=eff", "-o", eff])
    text = eff.read_text()
    assert "eff.lora" not in text and "eff.ia3" not in text, "--merge-adapters left an adapter op"


def test_bert_lora_query_value(tmp_path, monkeypatch):
    config, shapes = make_hf_folder.bert(layers=LAYERS, d=D, heads=4, ffn=64, vocab=120, positions=40)
    weights = hf.randomized(shapes, seed=3)
    modules = {f"encoder.layer.{i}.attention.self.{m}": (D, D) for i in range(LAYERS) for m in ("query", "value")}
    adapter_config, adapter_shapes = make_hf_folder.lora_adapter(modules, r=4, alpha=8)
    assert adapter_config["target_modules"] == ["query", "value"]
    adapter = adapter_weights(adapter_shapes, seed=4)
    module_of = {id(weights[m + ".weight"]): m for m in modules}
    monkeypatch.setattr(hf.F, "linear", patched_linear(adapter, adapter_config)(weights, module_of))
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 120, (2, 9), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 6:] = 0
    types = (np.arange(9) >= 4).astype(np.int64)[None].repeat(2, 0)
    expected = hf.bert_forward(weights, config, *(torch.from_numpy(a) for a in (ids, mask, types)))
    monkeypatch.undo()
    assert_adapter_matters(expected, hf.bert_forward(weights, config, *(torch.from_numpy(a) for a in (ids, mask, types))))

    def run_and_check(so, folder, flags):
        out = run_module(so, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, folder)
        hf.check(out["last_hidden_state"], expected, f"BERT + LoRA {flags}")

    compile_and_compare(tmp_path, "bert", config, weights, adapter_config, adapter, run_and_check)


def test_gpt2_lora_fused_c_attn(tmp_path):
    config, shapes = make_hf_folder.gpt2(layers=LAYERS, d=D, heads=4, vocab=120, positions=40)
    weights = hf.randomized(shapes, seed=5)
    modules = {f"transformer.h.{i}.attn.c_attn": (3 * D, D) for i in range(LAYERS)}
    adapter_config, adapter_shapes = make_hf_folder.lora_adapter(modules, r=2, alpha=4, fan_in_fan_out=True)
    adapter = adapter_weights(adapter_shapes, seed=6)
    # The forward's Conv1D is `x @ W + b`: add the LoRA update to c_attn's weight ([in, out]) for the reference.
    adapted = dict(weights)
    for m in modules:
        a, b = adapter[f"base_model.model.{m}.lora_A.weight"], adapter[f"base_model.model.{m}.lora_B.weight"]
        adapted[m + ".weight"] = weights[m + ".weight"] + (adapter_config["lora_alpha"] / 2) * (b @ a).T
    ids = np.random.default_rng(1).integers(0, 120, (2, 7), dtype=np.int64)
    logits, presents = hf.gpt2_forward(adapted, config, torch.from_numpy(ids))
    assert_adapter_matters(logits, hf.gpt2_forward(weights, config, torch.from_numpy(ids))[0])

    def run_and_check(so, folder, flags):
        out = run_module(so, {"input_ids": ids}, folder, function="prefill")
        hf.check(out["logits"], logits, f"GPT-2 + LoRA {flags}")
        hf.check(out["present_value_1"], presents[3], f"GPT-2 + LoRA present value {flags}")

    compile_and_compare(tmp_path, "gpt2", config, weights, adapter_config, adapter, run_and_check)


def test_llama_ia3(tmp_path, monkeypatch):
    config, shapes = make_hf_folder.llama(layers=LAYERS, d=D, heads=4, kv_heads=2, ffn=FFN, vocab=120)
    weights = hf.randomized(shapes, seed=7)
    kv = D // 2
    modules = {}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        modules.update({p + "self_attn.k_proj": (kv, D), p + "self_attn.v_proj": (kv, D), p + "mlp.down_proj": (D, FFN)})
    adapter_config, adapter_shapes = make_hf_folder.ia3_adapter(modules, ["down_proj"])
    adapter = adapter_weights(adapter_shapes, seed=8)
    module_of = {id(weights[m + ".weight"]): m for m in modules}
    monkeypatch.setattr(hf.F, "linear", patched_linear(adapter, adapter_config)(weights, module_of))
    ids = np.random.default_rng(2).integers(0, 120, (2, 7), dtype=np.int64)
    logits, presents = hf.llama_forward(weights, config, torch.from_numpy(ids))
    monkeypatch.undo()
    assert_adapter_matters(logits, hf.llama_forward(weights, config, torch.from_numpy(ids))[0])

    def run_and_check(so, folder, flags):
        out = run_module(so, {"input_ids": ids}, folder, function="prefill")
        hf.check(out["logits"], logits, f"Llama + (IA)^3 {flags}")
        for i, present in enumerate(presents):
            hf.check(out[f"present_{('key', 'value')[i % 2]}_{i // 2}"], present, f"present {i} {flags}")

    compile_and_compare(tmp_path, "llama", config, weights, adapter_config, adapter, run_and_check)
