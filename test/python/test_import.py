"""effc.compile on what the effc driver imports: Hugging Face model folders (with PEFT adapter folders) and
.onnx models, compiled in-process through effc::Compiler's importers and run on numpy arrays.

Tiny seeded models are written by the tests (no downloads) with test/import/make_hf_folder.py (folders) and
test/import/onnx/onnx_models.py (torch.onnx.export); the references are the plain PyTorch forwards of
test/e2e/test_huggingface_import.py and test_huggingface_seq2seq.py on the same weights. Tolerance: max |effc -
torch| / max |torch| <= 1e-3 (f32), as for the driver's import tests.

Several adapters (`adapters=[a, b]`, `--adapter a --adapter b`): merged (the default) and live (keep_adapters)
against PyTorch with both LoRAs applied, and with one switched off through its inputs. Errors: a folder without
config.json, an unknown architecture, truncated safetensors, an adapter for another model shape, an adapter
target that matches nothing, adapters on a non-folder source.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import effc  # noqa: E402
from package_testing import REPO  # noqa: E402

for path in (REPO / "test" / "e2e", REPO / "test" / "import", REPO / "test" / "import" / "onnx"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
import make_hf_folder  # noqa: E402
import onnx_models  # noqa: E402
import test_huggingface_import as hf  # noqa: E402
import test_huggingface_seq2seq as seq2seq  # noqa: E402

torch.set_num_threads(2)
D = 32


def write_model(folder, name, config, shapes, seed):
    weights = hf.randomized(shapes, seed=seed)
    make_hf_folder.write_folder(folder / name, config, {k: v.numpy() for k, v in weights.items()})
    return weights


def bert_inputs(vocab, batch=2, seq=9, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, (batch, seq), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[-1, seq - 3:] = 0
    types = (np.arange(seq) >= seq // 2).astype(np.int64)[None].repeat(batch, 0)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def torch_bert(weights, config, inputs):
    return hf.bert_forward(weights, config, *(torch.from_numpy(inputs[n])
                                              for n in ("input_ids", "attention_mask", "token_type_ids")))


# ------------------------------------------------------------------------------------------------------------
# Model folders and .onnx models


def test_bert_folder(tmp_path):
    config, shapes = make_hf_folder.bert(layers=2, d=D, heads=4, ffn=64, vocab=120, positions=40)
    weights = write_model(tmp_path, "bert", config, shapes, seed=1)
    model = effc.compile(tmp_path / "bert")
    assert model.signature.inputs[0].name == "input_ids"
    inputs = bert_inputs(120)
    hf.check(model(**inputs)["last_hidden_state"], torch_bert(weights, config, inputs), "BERT folder")


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_decoder_folder_prefill_and_decode(tmp_path, name):
    config, shapes = (make_hf_folder.gpt2(layers=2, d=D, heads=4, vocab=120, positions=40) if name == "gpt2" else
                      make_hf_folder.llama(layers=2, d=D, heads=4, kv_heads=2, ffn=48, vocab=120))
    weights = write_model(tmp_path, name, config, shapes, seed=2)
    model = effc.compile(str(tmp_path / name))  # a str path works as well as a Path
    assert model.functions == ["prefill", "decode"]
    ids = np.random.default_rng(3).integers(0, 120, (2, 8), dtype=np.int64)
    forward = hf.gpt2_forward if name == "gpt2" else hf.llama_forward
    logits, _ = forward(weights, config, torch.from_numpy(ids))
    prefill = model.run({"input_ids": ids[:, :-1]}, function="prefill")
    hf.check(prefill["logits"], logits[:, :-1], f"{name} prefill")
    cache = {n.replace("present_", "past_"): v for n, v in prefill.items() if n.startswith("present_")}
    decode = model.run({"input_ids": ids[:, -1:], **cache}, function="decode")
    hf.check(decode["logits"], logits[:, -1:], f"{name} decode")


def test_t5_folder(tmp_path):
    config, shapes = make_hf_folder.t5(layers=1, decoder_layers=1, **seq2seq.T5_SIZES)
    weights = seq2seq.randomized(shapes, seed=4)
    make_hf_folder.write_folder(tmp_path / "t5", config, {k: v.numpy() for k, v in weights.items()})
    model = effc.compile(tmp_path / "t5")
    rng = np.random.default_rng(5)
    ids, decoder_ids = (rng.integers(0, config["vocab_size"], shape, dtype=np.int64) for shape in ((2, 11), (2, 7)))
    mask, decoder_mask = np.ones_like(ids), np.ones_like(decoder_ids)
    mask[1, 8:] = 0
    out = model(input_ids=ids, attention_mask=mask, decoder_input_ids=decoder_ids,
                decoder_attention_mask=decoder_mask)
    expected = seq2seq.t5_forward(weights, config, config["architectures"][0],
                                  *(torch.from_numpy(a) for a in (ids, mask, decoder_ids, decoder_mask)))
    seq2seq.check(out["logits"], expected, "T5 folder")


@pytest.mark.parametrize("name", ["bert", "llama"])
def test_onnx_model(tmp_path, name):
    path = tmp_path / f"{name}.onnx"
    torch_model = onnx_models.export(name, path)
    model = effc.compile(path, report_raising=True)
    assert "raised" in model.compile_log, model.compile_log
    inputs = onnx_models.example_inputs(name, batch=2, seq=9, seed=9)
    with torch.no_grad():
        expected = torch_model(*inputs)
    out = model(**{n: t.numpy() for n, t in zip(onnx_models.MODELS[name][1], inputs)})
    hf.check(out["output"], expected, f"{name}.onnx")


def test_compression_flags_apply_to_a_folder(tmp_path):
    config, shapes = make_hf_folder.bert(layers=2, d=D, heads=4, ffn=64, vocab=120, positions=40)
    weights = write_model(tmp_path, "bert", config, shapes, seed=1)
    plain = effc.compile(tmp_path / "bert")
    quantized = effc.compile(tmp_path / "bert", quantize="int8")
    assert quantized.report().total.bytes < 0.5 * plain.report().total.bytes
    inputs = bert_inputs(120)
    expected = torch_bert(weights, config, inputs).numpy()
    error = np.abs(quantized(**inputs)["last_hidden_state"] - expected).max() / np.abs(expected).max()
    assert error < 0.05, f"int8 BERT folder: relative error {error:.2e}"


# ------------------------------------------------------------------------------------------------------------
# Several PEFT adapters

BERT_TARGETS = {"a": ("query", "value"), "b": ("query", "key")}


@pytest.fixture(scope="module")
def bert_with_adapters(tmp_path_factory):
    """A BERT folder and two LoRA folders: a (r=4) on query and value, b (r=2) on query and key."""
    folder = tmp_path_factory.mktemp("adapters")
    config, shapes = make_hf_folder.bert(layers=2, d=D, heads=4, ffn=64, vocab=120, positions=40)
    weights = write_model(folder, "bert", config, shapes, seed=11)
    adapters = {}
    for seed, (name, targets) in enumerate(BERT_TARGETS.items()):
        modules = {f"encoder.layer.{i}.attention.self.{m}": (D, D) for i in range(2) for m in targets}
        adapter_config, adapter_shapes = make_hf_folder.lora_adapter(modules, r=4 - 2 * seed, alpha=8)
        g = torch.Generator().manual_seed(20 + seed)
        tensors = {n: 0.3 * torch.randn(s, generator=g) for n, s in adapter_shapes.items()}
        make_hf_folder.write_adapter(folder / name, adapter_config, {n: t.numpy() for n, t in tensors.items()})
        adapters[name] = (adapter_config, tensors)
    return folder, config, weights, adapters


def torch_bert_with(weights, config, adapters, inputs):
    """The PyTorch BERT with each LoRA of `adapters` [(config, tensors)] added to the layers it targets."""
    modules = {id(weights[n]): n[:-len(".weight")] for n in weights if n.endswith(".weight")}
    plain = F.linear

    def linear(x, weight, bias=None):
        y = plain(x, weight, bias)
        module = modules.get(id(weight))
        for adapter_config, tensors in adapters:
            key = f"base_model.model.{module}"
            if key + ".lora_A.weight" in tensors:
                scale = adapter_config["lora_alpha"] / adapter_config["r"]
                y = y + scale * (x @ tensors[key + ".lora_A.weight"].T) @ tensors[key + ".lora_B.weight"].T
        return y

    hf.F.linear = linear
    try:
        return torch_bert(weights, config, inputs)
    finally:
        hf.F.linear = plain


def test_two_loras_merged_match_torch(bert_with_adapters):
    folder, config, weights, adapters = bert_with_adapters
    inputs = bert_inputs(120, seed=1)
    both = torch_bert_with(weights, config, [adapters["a"], adapters["b"]], inputs)
    only_a = torch_bert_with(weights, config, [adapters["a"]], inputs)
    assert (both - only_a).abs().max() > 0.05 * both.abs().max(), "adapter b barely changes the output"
    # Merging is the default with adapters; merge_adapters=True says so explicitly. Either way every LoRA
    # is folded into the base weights: the model costs what the base model costs.
    base = effc.compile(folder / "bert")
    for options in ({}, {"merge_adapters": True}):
        model = effc.compile(folder / "bert", adapters=[folder / "a", folder / "b"], **options)
        hf.check(model(**inputs)["last_hidden_state"], both, f"BERT + LoRA a + LoRA b {options}")
        assert model.report().total.parameters == base.report().total.parameters
        assert model.signature.inputs == base.signature.inputs
    # One adapter as a single path.
    model = effc.compile(folder / "bert", adapters=folder / "a")
    hf.check(model(**inputs)["last_hidden_state"], only_a, "BERT + LoRA a")


def test_two_loras_kept_live_are_selected_by_their_inputs(bert_with_adapters):
    folder, config, weights, adapters = bert_with_adapters
    model = effc.compile(folder / "bert", adapters=[folder / "a", folder / "b"], keep_adapters=True)
    names = model.signature.inputs
    kept = {spec.name: spec for spec in names[3:]}
    a_names = {n for n in adapters["a"][1]}
    b_names = {"adapter1." + n for n in adapters["b"][1]}
    assert set(kept) == a_names | b_names, sorted(kept)
    inputs = bert_inputs(120, seed=2)
    values = {n: t.numpy() for n, t in adapters["a"][1].items()}
    values.update({"adapter1." + n: t.numpy() for n, t in adapters["b"][1].items()})
    # Both adapters on: the merged model's output.
    both = torch_bert_with(weights, config, [adapters["a"], adapters["b"]], inputs)
    hf.check(model(**inputs, **values)["last_hidden_state"], both, "live LoRA a + b")
    # Adapter b off (its lora_B zero): adapter a alone; and the other way round.
    for on, off in (("a", "b"), ("b", "a")):
        selected = {n: (np.zeros_like(v) if n.endswith("lora_B.weight") and (n.startswith("adapter1.") == (off == "b"))
                        else v) for n, v in values.items()}
        expected = torch_bert_with(weights, config, [adapters[on]], inputs)
        hf.check(model(**inputs, **selected)["last_hidden_state"], expected, f"live LoRA {on} only")


def test_adapter_errors(bert_with_adapters, tmp_path):
    folder, config, weights, adapters = bert_with_adapters
    # An adapter trained for a model with another hidden size: its tensors do not fit this one.
    modules = {f"encoder.layer.{i}.attention.self.query": (48, 48) for i in range(2)}
    adapter_config, shapes = make_hf_folder.lora_adapter(modules, r=2)
    make_hf_folder.write_adapter(tmp_path / "wide", adapter_config,
                                 {n: np.zeros(s, np.float32) for n, s in shapes.items()})
    with pytest.raises(effc.CompileError, match=r"wide/adapter_config.json.*tensor 'base_model\.model\.encoder\.layer"
                                                r"\.0\.attention\.self\.query\.lora_A\.weight' has shape \[2, 48\]"):
        effc.compile(folder / "bert", adapters=[folder / "a", tmp_path / "wide"])
    # A target module that the model lacks (GPT-2's c_attn on BERT).
    make_hf_folder.write_adapter(tmp_path / "c_attn", dict(adapters["a"][0], target_modules=["c_attn"]),
                                 {n: t.numpy() for n, t in adapters["a"][1].items()})
    with pytest.raises(effc.CompileError, match=r"c_attn/adapter_config.json.*target module 'c_attn' matches no "
                                                r"linear layer of BertModel"):
        effc.compile(folder / "bert", adapters=[folder / "a", tmp_path / "c_attn"])
    with pytest.raises(effc.CompileError, match=r"no_such_adapter is not an adapter folder"):
        effc.compile(folder / "bert", adapters=[tmp_path / "no_such_adapter"])
    # Adapters attach to model folders only.
    path = tmp_path / "bert.onnx"
    path.write_bytes(b"")  # refused before it is read
    with pytest.raises(effc.CompileError, match=r"attaches to a Hugging Face model folder, not to .*bert\.onnx"):
        effc.compile(path, adapters=[folder / "a"])
    with pytest.raises(effc.CompileError, match=r"attaches to a Hugging Face model folder, not to IR"):
        effc.compile((REPO / "examples" / "bert_tiny.mlir").read_text(), adapters=[folder / "a"])
    with pytest.raises(TypeError, match="adapters takes a PEFT adapter folder or a list"):
        effc.compile(folder / "bert", adapters=[1])


# ------------------------------------------------------------------------------------------------------------
# Errors


def test_folder_errors(tmp_path):
    config, shapes = make_hf_folder.bert(layers=1, d=16, heads=2, ffn=32, vocab=50, positions=16)
    tensors = make_hf_folder.random_tensors(shapes)
    (tmp_path / "empty").mkdir()
    with pytest.raises(effc.CompileError, match=r"empty/config.json.*cannot read .*config.json.*needs config.json"):
        effc.compile(tmp_path / "empty")
    make_hf_folder.write_folder(tmp_path / "unknown", dict(config, architectures=["FalconForCausalLM"]), tensors)
    with pytest.raises(effc.CompileError, match=r"unknown/config.json.*unsupported architecture FalconForCausalLM; "
                                                r"supported: .*BertModel"):
        effc.compile(tmp_path / "unknown")
    make_hf_folder.write_folder(tmp_path / "truncated", config, tensors)
    weights = tmp_path / "truncated" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(effc.CompileError, match=r"truncated/model\.safetensors: truncated safetensors file"):
        effc.compile(tmp_path / "truncated")
    with pytest.raises(FileNotFoundError, match="no such file or folder: .*absent"):
        effc.compile(tmp_path / "absent")
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07\x12\x05garbage")
    with pytest.raises(effc.CompileError, match=r"broken\.onnx"):
        effc.compile(tmp_path / "broken.onnx")
