"""Hugging Face encoder-decoders and classifiers through effc vs PyTorch.

Small seeded T5 (v1.0 relu with tied embeddings, v1.1 gated-gelu with its own LM head, the bare T5Model and
T5EncoderModel), SwitchTransformersForConditionalGeneration (top-1 experts in every second block) and
BertForSequenceClassification models are written in plain PyTorch following Hugging Face's modeling code
(T5's unscaled attention, bucketed relative position bias shared by the blocks of a stack, RMS norm without
mean, d_model^-0.5 before a tied LM head; Switch's router and capacity; BERT's tanh pooler), saved as
config.json + safetensors folders with the checkpoints' tensor names, compiled with `effc DIR -o model.so`
and run with effc-run. Tolerance: max |effc - torch| / max |torch| <= 1e-3 (f32).
"""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "import"))
import make_hf_folder  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, _run, run_module  # noqa: E402

torch.set_num_threads(2)
MAX_RELATIVE_ERROR = 1e-3
NEG = torch.finfo(torch.float32).min
pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()), reason="effc/effc-run not built")


def randomized(shapes, seed):
    """Seeded weights: norms around 1, relative position tables O(1), the rest O(1/sqrt(fan-in))."""
    g = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in shapes.items():
        if "norm" in name.lower() and name.endswith("weight"):
            weights[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        elif "relative_attention_bias" in name:
            weights[name] = torch.randn(shape, generator=g)
        else:
            fan_in = shape[-1] if len(shape) > 1 else 10
            weights[name] = torch.randn(shape, generator=g) / math.sqrt(fan_in)
    return weights


# --- T5 and Switch Transformers, following transformers' modeling_t5.py / modeling_switch_transformers.py ---

def relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    large = max_exact + (torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return relative_buckets + torch.where(is_small, relative_position, large)


def position_bias(table, query_length, key_length, bidirectional, c):
    """[1, H, S, L]: the bias block 0 computes and every block of the stack reuses."""
    relative = torch.arange(key_length)[None, :] - torch.arange(query_length)[:, None]
    buckets = relative_position_bucket(relative, bidirectional, c["relative_attention_num_buckets"],
                                       c["relative_attention_max_distance"])
    return table[buckets].permute(2, 0, 1)[None]


def t5_norm(x, weight, eps=1e-6):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def t5_attention(w, p, x, memory, bias, heads):
    """Unscaled multi-head attention; `bias` holds the position bias plus the additive mask."""
    b, s, _ = x.shape
    split = lambda t: t.view(b, t.shape[1], heads, -1).transpose(1, 2)  # noqa: E731
    q, k, v = (split(F.linear(inp, w[p + n + ".weight"])) for n, inp in (("q", x), ("k", memory), ("v", memory)))
    scores = q @ k.transpose(-1, -2) + bias
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, -1)
    return F.linear(out, w[p + "o.weight"])


def t5_feed_forward(w, c, p, x, i, step):
    if "num_experts" not in c:
        if c["feed_forward_proj"] == "gated-gelu":
            h = F.gelu(F.linear(x, w[p + "DenseReluDense.wi_0.weight"]), approximate="tanh")
            h = h * F.linear(x, w[p + "DenseReluDense.wi_1.weight"])
        else:
            h = F.relu(F.linear(x, w[p + "DenseReluDense.wi.weight"]))
        return F.linear(h, w[p + "DenseReluDense.wo.weight"])
    expert = lambda t, q: F.linear(F.relu(F.linear(t, w[q + "wi.weight"])), w[q + "wo.weight"])  # noqa: E731
    if not (step > 0 and (i % step == 1 or step == 1)):
        return expert(x, p + "mlp.")
    # SwitchTransformersTop1Router + SwitchTransformersSparseMLP: top-1 by probability, tokens past an
    # expert's capacity (per sequence) keep their hidden state; the output is scaled by the probability.
    probs = F.linear(x, w[p + "mlp.router.classifier.weight"]).softmax(-1)
    index = probs.argmax(-1)
    mask = F.one_hot(index, c["num_experts"])
    mask = mask * (torch.cumsum(mask, dim=-2) <= c["expert_capacity"])
    out = x.clone()
    for e in range(c["num_experts"]):
        routed = mask[..., e].bool()
        out[routed] = expert(x[routed], f"{p}mlp.experts.expert_{e}.")
    return probs.max(-1, keepdim=True).values * out


def t5_forward(w, c, arch, ids, mask, decoder_ids=None, decoder_mask=None):
    heads, s = c["num_heads"], ids.shape[1]
    encoder_step, decoder_step = c.get("encoder_sparse_step", 0), c.get("decoder_sparse_step", 0)
    padding = (1.0 - mask[:, None, None, :].float()) * NEG
    bias = position_bias(w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], s, s, True, c)
    h = w["shared.weight"][ids]
    for i in range(c["num_layers"]):
        p = f"encoder.block.{i}.layer."
        n = t5_norm(h, w[p + "0.layer_norm.weight"])
        h = h + t5_attention(w, p + "0.SelfAttention.", n, n, bias + padding, heads)
        h = h + t5_feed_forward(w, c, p + "1.", t5_norm(h, w[p + "1.layer_norm.weight"]), i, encoder_step)
    encoded = t5_norm(h, w["encoder.final_layer_norm.weight"])
    if arch == "T5EncoderModel":
        return encoded
    t = decoder_ids.shape[1]
    causal = torch.tril(torch.ones(t, t))[None, None] * decoder_mask[:, None, None, :].float()
    self_bias = position_bias(w["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], t, t, False,
                              c) + (1.0 - causal) * NEG
    y = w["shared.weight"][decoder_ids]
    for i in range(c["num_decoder_layers"]):
        p = f"decoder.block.{i}.layer."
        n = t5_norm(y, w[p + "0.layer_norm.weight"])
        y = y + t5_attention(w, p + "0.SelfAttention.", n, n, self_bias, heads)
        n = t5_norm(y, w[p + "1.layer_norm.weight"])
        y = y + t5_attention(w, p + "1.EncDecAttention.", n, encoded, padding, heads)
        y = y + t5_feed_forward(w, c, p + "2.", t5_norm(y, w[p + "2.layer_norm.weight"]), i, decoder_step)
    y = t5_norm(y, w["decoder.final_layer_norm.weight"])
    if arch == "T5Model":
        return y
    if c["tie_word_embeddings"]:
        return (y * c["d_model"] ** -0.5) @ w["shared.weight"].T
    return y @ w["lm_head.weight"].T


# --- BertForSequenceClassification ---

def bert_classifier_forward(w, c, ids, mask, types):
    ln = lambda x, p: F.layer_norm(x, x.shape[-1:], w[p + ".weight"], w[p + ".bias"], c["layer_norm_eps"])  # noqa
    lin = lambda x, p: F.linear(x, w[p + ".weight"], w[p + ".bias"])  # noqa: E731
    heads, (b, s) = c["num_attention_heads"], ids.shape
    h = (w["bert.embeddings.word_embeddings.weight"][ids] + w["bert.embeddings.position_embeddings.weight"][:s]
         + w["bert.embeddings.token_type_embeddings.weight"][types])
    h = ln(h, "bert.embeddings.LayerNorm")
    padding = (1.0 - mask[:, None, None, :].float()) * NEG
    split = lambda t: t.view(b, s, heads, -1).transpose(1, 2)  # noqa: E731
    for i in range(c["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        q, k, v = (split(lin(h, p + "attention.self." + n)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + padding
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, -1)
        h = ln(h + lin(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = ln(h + lin(F.gelu(lin(h, p + "intermediate.dense")), p + "output.dense"), p + "output.LayerNorm")
    pooled = torch.tanh(lin(h[:, 0], "bert.pooler.dense"))
    return lin(pooled, "classifier")


def check(actual, expected, what):
    expected = expected.detach().numpy()
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    error = np.abs(actual - expected).max() / np.abs(expected).max()
    assert error <= MAX_RELATIVE_ERROR, f"{what}: max relative error {error:.2e}"


# 8 buckets and max_distance 6 with sequences of 11 and 7 tokens: exact, logarithmic and clamped buckets.
T5_SIZES = dict(d=32, d_kv=8, heads=4, ffn=48, vocab=120, buckets=8, max_distance=6)
MODELS = {
    "t5_v1_0_tied": lambda: make_hf_folder.t5(layers=2, decoder_layers=2, **T5_SIZES),
    "t5_v1_1_gated_untied": lambda: make_hf_folder.t5(layers=1, decoder_layers=1, gated=True, tied=False, **T5_SIZES),
    "t5_model": lambda: make_hf_folder.t5(layers=1, decoder_layers=1, architecture="T5Model", **T5_SIZES),
    "t5_encoder": lambda: make_hf_folder.t5(layers=1, decoder_layers=1, architecture="T5EncoderModel", **T5_SIZES),
    "switch": lambda: make_hf_folder.t5(layers=2, decoder_layers=2, experts=4, sparse_step=2,
                                        architecture="SwitchTransformersForConditionalGeneration", **T5_SIZES),
    "bert_classifier": lambda: make_hf_folder.bert_classifier(num_labels=3, layers=1, d=32, heads=4, ffn=64,
                                                              vocab=120, positions=40),
}


@pytest.fixture(scope="module", params=list(MODELS))
def model(request, tmp_path_factory):
    name = request.param
    config, shapes = MODELS[name]()
    weights = randomized(shapes, seed=len(name))
    folder = tmp_path_factory.mktemp(name)
    make_hf_folder.write_folder(folder / "model", config, {k: v.numpy() for k, v in weights.items()})
    so = folder / "model.so"
    _run([EFFC, folder / "model", "-o", so])
    return name, config, weights, folder, so


def test_matches_torch(model):
    name, c, w, folder, so = model
    arch = c["architectures"][0]
    rng = np.random.default_rng(0)
    ids = rng.integers(0, c["vocab_size"], (2, 11), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 8:] = 0  # padding at the end of the second sequence
    tensors = lambda *arrays: [torch.from_numpy(a) for a in arrays]  # noqa: E731
    if arch == "BertForSequenceClassification":
        types = (np.arange(11) >= 4).astype(np.int64)[None].repeat(2, 0)
        out = run_module(so, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, folder)
        check(out["logits"], bert_classifier_forward(w, c, *tensors(ids, mask, types)), "logits")
        assert out["logits"].shape == (2, 3)
        return
    inputs = {"input_ids": ids, "attention_mask": mask}
    expected = None
    if arch == "T5EncoderModel":
        expected = t5_forward(w, c, arch, *tensors(ids, mask))
    else:
        decoder_ids = rng.integers(0, c["vocab_size"], (2, 7), dtype=np.int64)
        decoder_mask = np.ones_like(decoder_ids)
        decoder_mask[0, 5:] = 0
        inputs.update(decoder_input_ids=decoder_ids, decoder_attention_mask=decoder_mask)
        expected = t5_forward(w, c, arch, *tensors(ids, mask, decoder_ids, decoder_mask))
    out = run_module(so, inputs, folder)
    result = "logits" if arch.endswith("ForConditionalGeneration") else "last_hidden_state"
    check(out[result], expected, result)

