"""Hugging Face folders through effc vs PyTorch.

Small seeded models written in plain PyTorch with the Hugging Face parameter names and layouts (BertModel,
GPT2LMHeadModel with Conv1D weights and a fused c_attn, LlamaForCausalLM with GQA and RoPE, MixtralForCausalLM
with top-2 experts) are saved as config.json + safetensors folders, compiled with `effc DIR -o model.so`
and run with effc-run. Tolerance: max |effc - torch| / max |torch| <= 1e-3 (f32). Decoders are checked on
prefill, and on decode against the last position of a full forward pass over one more token.
"""

import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "import"))
import make_hf_folder  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, _run, run_module  # noqa: E402

torch.set_num_threads(2)
EFFC_IMPORT = EFFC.parent / "effc-import"
MAX_RELATIVE_ERROR = 1e-3
pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()), reason="effc/effc-run not built")


def randomized(shapes, seed):
    """Seeded weights for a {name: shape} layout: norms around 1, everything else O(1/sqrt(fan-in))."""
    g = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in shapes.items():
        if ("norm" in name.lower() or ".ln_" in name) and name.endswith("weight"):
            weights[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = shape[-1] if len(shape) > 1 else 10
            weights[name] = torch.randn(shape, generator=g) / math.sqrt(fan_in)
    return weights


def attention(q, k, v, heads, kv_heads, causal, mask=None):
    """[B, S, H*Dh] projections -> [B, S, H*Dh]; keys may be longer than queries (a cache before them)."""
    b, s, _ = q.shape
    t = k.shape[1]
    dh = q.shape[-1] // heads
    q = q.view(b, s, heads, dh).transpose(1, 2)
    k = k.view(b, t, kv_heads, dh).transpose(1, 2).repeat_interleave(heads // kv_heads, 1)
    v = v.view(b, t, kv_heads, dh).transpose(1, 2).repeat_interleave(heads // kv_heads, 1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    if causal:
        scores = scores + torch.full((s, t), float("-inf")).triu(t - s + 1)
    if mask is not None:
        scores = scores + (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    return (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, -1)


def rope(x, positions, heads, theta):
    b, s, n = x.shape
    dh = n // heads
    inv = 1.0 / (theta ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
    angles = positions.double()[:, None] * inv[None]
    cos, sin = torch.cat([angles.cos()] * 2, -1).float(), torch.cat([angles.sin()] * 2, -1).float()
    x = x.view(b, s, heads, dh).transpose(1, 2)
    x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
    return (x * cos + torch.cat([-x2, x1], -1) * sin).transpose(1, 2).reshape(b, s, n)


def layer_norm(x, w, p, eps):
    return F.layer_norm(x, x.shape[-1:], w[p + ".weight"], w[p + ".bias"], eps)


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def bert_forward(w, c, ids, mask, types):
    s = ids.shape[1]
    h = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][torch.arange(s)]
         + w["embeddings.token_type_embeddings.weight"][types])
    h = layer_norm(h, w, "embeddings.LayerNorm", c["layer_norm_eps"])
    lin = lambda x, p: F.linear(x, w[p + ".weight"], w[p + ".bias"])  # noqa: E731
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        a = attention(lin(h, p + "attention.self.query"), lin(h, p + "attention.self.key"),
                      lin(h, p + "attention.self.value"), c["num_attention_heads"], c["num_attention_heads"], False,
                      mask)
        h = layer_norm(h + lin(a, p + "attention.output.dense"), w, p + "attention.output.LayerNorm",
                       c["layer_norm_eps"])
        f = lin(F.gelu(lin(h, p + "intermediate.dense")), p + "output.dense")
        h = layer_norm(h + f, w, p + "output.LayerNorm", c["layer_norm_eps"])
    return h


def gpt2_forward(w, c, ids):
    """Logits of every position and the per-layer keys and values ([B, S, D])."""
    s, d = ids.shape[1], c["n_embd"]
    h = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][torch.arange(s)]
    conv = lambda x, p: x @ w[p + ".weight"] + w[p + ".bias"]  # noqa: E731  (Conv1D: weight [in, out])
    presents = []
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        q, k, v = conv(layer_norm(h, w, p + "ln_1", 1e-5), p + "attn.c_attn").split(d, -1)
        presents += [k, v]
        h = h + conv(attention(q, k, v, c["n_head"], c["n_head"], True), p + "attn.c_proj")
        n = layer_norm(h, w, p + "ln_2", 1e-5)
        h = h + conv(F.gelu(conv(n, p + "mlp.c_fc"), approximate="tanh"), p + "mlp.c_proj")
    h = layer_norm(h, w, "transformer.ln_f", 1e-5)
    return h @ w["transformer.wte.weight"].T, presents


def llama_forward(w, c, ids):
    s = ids.shape[1]
    heads, kv, eps, theta = c["num_attention_heads"], c["num_key_value_heads"], c["rms_norm_eps"], c["rope_theta"]
    pos = torch.arange(s)
    h = w["model.embed_tokens.weight"][ids]
    lin = lambda x, name: F.linear(x, w[name])  # noqa: E731
    presents = []
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        n = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        q = rope(lin(n, p + "self_attn.q_proj.weight"), pos, heads, theta)
        k = rope(lin(n, p + "self_attn.k_proj.weight"), pos, kv, theta)
        v = lin(n, p + "self_attn.v_proj.weight")
        presents += [k, v]
        h = h + lin(attention(q, k, v, heads, kv, True), p + "self_attn.o_proj.weight")
        n = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        if "num_local_experts" not in c:
            h = h + lin(F.silu(lin(n, p + "mlp.gate_proj.weight")) * lin(n, p + "mlp.up_proj.weight"),
                        p + "mlp.down_proj.weight")
            continue
        m = p + "block_sparse_moe."
        probs = lin(n, m + "gate.weight").softmax(-1)
        top, idx = probs.topk(c["num_experts_per_tok"], -1)
        top = top / top.sum(-1, keepdim=True)
        out = torch.zeros_like(n)
        for e in range(c["num_local_experts"]):
            y = lin(F.silu(lin(n, f"{m}experts.{e}.w1.weight")) * lin(n, f"{m}experts.{e}.w3.weight"),
                    f"{m}experts.{e}.w2.weight")
            out = out + y * (top * (idx == e)).sum(-1, keepdim=True)
        h = h + out
    return lin(rms_norm(h, w["model.norm.weight"], eps), "lm_head.weight"), presents


def check(actual, expected, what):
    expected = expected.detach().numpy() if hasattr(expected, "detach") else expected
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    error = np.abs(actual - expected).max() / np.abs(expected).max()
    assert error <= MAX_RELATIVE_ERROR, f"{what}: max relative error {error:.2e}"


ARCHITECTURES = {
    "bert": lambda: make_hf_folder.bert(layers=2, d=32, heads=4, ffn=64, vocab=120, positions=40),
    "gpt2": lambda: make_hf_folder.gpt2(layers=2, d=32, heads=4, vocab=120, positions=40),
    "llama": lambda: make_hf_folder.llama(layers=2, d=32, heads=4, kv_heads=2, ffn=48, vocab=120),
    "mixtral": lambda: make_hf_folder.llama(layers=2, d=32, heads=4, kv_heads=2, ffn=48, vocab=120, experts=4),
}


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def model(request, tmp_path_factory):
    """(architecture, config, torch weights, workdir, compiled .so), the folder sharded for Llama."""
    name = request.param
    config, shapes = ARCHITECTURES[name]()
    weights = randomized(shapes, seed=len(name))
    folder = tmp_path_factory.mktemp(name)
    make_hf_folder.write_folder(folder / "model", config, {k: v.numpy() for k, v in weights.items()},
                                shards=2 if name == "llama" else 1)
    so = folder / "model.so"
    _run([EFFC, folder / "model", "-o", so])
    return name, config, weights, folder, so


def test_prefill_matches_torch(model):
    name, c, w, folder, so = model
    rng = np.random.default_rng(0)
    ids = rng.integers(0, c["vocab_size"], (2, 11), dtype=np.int64)
    if name == "bert":
        mask = np.ones_like(ids)
        mask[1, 7:] = 0
        types = (np.arange(11) >= 4).astype(np.int64)[None].repeat(2, 0)
        out = run_module(so, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, folder)
        expected = bert_forward(w, c, *(torch.from_numpy(a) for a in (ids, mask, types)))
        check(out["last_hidden_state"], expected, "last_hidden_state")
        return
    forward = gpt2_forward if name == "gpt2" else llama_forward
    out = run_module(so, {"input_ids": ids}, folder, function="prefill")
    logits, presents = forward(w, c, torch.from_numpy(ids))
    check(out["logits"], logits, "logits")
    for i, present in enumerate(presents):
        check(out[f"present_{('key', 'value')[i % 2]}_{i // 2}"], present, f"present {i}")


def test_decode_matches_torch(model):
    name, c, w, folder, so = model
    if name == "bert":
        pytest.skip("encoders have no decode function")
    rng = np.random.default_rng(1)
    ids = rng.integers(0, c["vocab_size"], (2, 8), dtype=np.int64)
    prefill = run_module(so, {"input_ids": ids[:, :-1]}, folder, function="prefill")
    layers = c.get("n_layer", c.get("num_hidden_layers"))
    inputs = {"input_ids": ids[:, -1:]}
    for i in range(layers):
        for kind in ("key", "value"):
            inputs[f"past_{kind}_{i}"] = prefill[f"present_{kind}_{i}"]
    out = run_module(so, inputs, folder, function="decode")
    logits, _ = (gpt2_forward if name == "gpt2" else llama_forward)(w, c, torch.from_numpy(ids))
    check(out["logits"], logits[:, -1:], "decode logits")
    assert out["present_key_0"].shape[1] == ids.shape[1]


def test_bert_base_import_takes_seconds(tmp_path):
    """Importing a 110M-parameter BERT-base folder (seeded random weights) reads only the safetensors header:
    it takes seconds (the median of three imports)."""
    config, shapes = make_hf_folder.bert(layers=12, d=768, heads=12, ffn=3072, vocab=30522, positions=512)
    rng = np.random.default_rng(0)
    tensors = {n: rng.standard_normal(s, dtype=np.float32) * 0.02 for n, s in shapes.items()}
    assert sum(a.size for a in tensors.values()) > 108e6
    make_hf_folder.write_folder(tmp_path / "bert-base", config, tensors)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        _run([EFFC_IMPORT, tmp_path / "bert-base", "-o", tmp_path / "bert-base.mlir"])
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[1]
    print(f"effc-import of BERT-base (110M parameters): {seconds:.2f} s (median of 3)")
    assert seconds < 10
    assert (tmp_path / "bert-base.mlir").stat().st_size < 1 << 20  # weights are not in the IR text
