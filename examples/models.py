"""Graphs of the example models, written with the eff IR builder (python-bindings/effc/ir.py).

Each model has a config (a dataclass with the sizes used by examples/generate.py as defaults), an `init_*`
function that draws seeded random weights ({name: float32 ndarray}) and a `build_*` function that turns
weights into an `ir.Module`. The builders take any weights with the right names and shapes, so the tests use
them both for the committed examples and for weights exported from PyTorch models
(test/e2e/test_models_vs_torch.py).

Weight names follow the Hugging Face layouts of the corresponding architectures where there is one
(BERT, Llama); `nn.Linear` convention throughout: a weight mapping K features to N features is [N, K].
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python-bindings"))

from effc import ir  # noqa: E402


class _Init:
    """Seeded random weights, scaled so that activations stay O(1) and every op matters numerically."""

    def __init__(self, rng):
        self.rng = rng
        self.weights = {}

    def normal(self, name, shape, std):
        self.weights[name] = (self.rng.standard_normal(shape) * std).astype(np.float32)

    def linear(self, name, n, k, bias=True):
        self.normal(f"{name}.weight", (n, k), 1.0 / np.sqrt(k))
        if bias:
            self.normal(f"{name}.bias", (n,), 0.1)

    def norm(self, name, d, bias=True):
        self.weights[f"{name}.weight"] = (1.0 + 0.1 * self.rng.standard_normal(d)).astype(np.float32)
        if bias:
            self.normal(f"{name}.bias", (d,), 0.1)


def _params(module, weights):
    """A lookup name -> Parameter that records each weight in `module` on first use."""

    def get(name):
        return module.parameter(name, weights[name])

    return get


# ----------------------------------------------------------------------------------------------------------
# BERT: post-LN encoder with token, position and segment embeddings and a padding mask


@dataclass
class BertConfig:
    vocab_size: int = 1000
    hidden: int = 64
    heads: int = 4
    ffn: int = 256
    layers: int = 2
    max_positions: int = 64
    type_vocab_size: int = 2
    epsilon: float = 1e-12


def init_bert(cfg: BertConfig, rng) -> dict:
    w = _Init(rng)
    d = cfg.hidden
    w.normal("embeddings.word_embeddings.weight", (cfg.vocab_size, d), 1.0)
    w.normal("embeddings.position_embeddings.weight", (cfg.max_positions, d), 0.5)
    w.normal("embeddings.token_type_embeddings.weight", (cfg.type_vocab_size, d), 0.5)
    w.norm("embeddings.LayerNorm", d)
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        for proj in ("query", "key", "value"):
            w.linear(f"{p}.attention.self.{proj}", d, d)
        w.linear(f"{p}.attention.output.dense", d, d)
        w.norm(f"{p}.attention.output.LayerNorm", d)
        w.linear(f"{p}.intermediate.dense", cfg.ffn, d)
        w.linear(f"{p}.output.dense", d, cfg.ffn)
        w.norm(f"{p}.output.LayerNorm", d)
    return w.weights


def build_bert(cfg: BertConfig, weights: dict, weights_file=None) -> ir.Module:
    m = ir.Module(weights_file, description=(
        f"bert_tiny: BERT-style post-LN encoder ({cfg.layers} layers, hidden {cfg.hidden}, {cfg.heads} heads, "
        f"FFN {cfg.ffn}, vocab {cfg.vocab_size}).\n"
        "input_ids, attention_mask (1 = token, 0 = padding), token_type_ids: [batch, seq] i64\n"
        "-> last_hidden_state [batch, seq, hidden] f32"))
    P = _params(m, weights)
    fn = m.function("main", inputs=[("input_ids", (None, None), "i64"), ("attention_mask", (None, None), "i64"),
                                    ("token_type_ids", (None, None), "i64")])
    ids, mask, types = fn.args
    e = fn.embedding(P("embeddings.word_embeddings.weight"), ids, name="words")
    pos = fn.position_ids(ids, name="positions")
    e = fn.add(e, fn.embedding(P("embeddings.position_embeddings.weight"), pos, kind="position"))
    e = fn.add(e, fn.embedding(P("embeddings.token_type_embeddings.weight"), types, kind="segment"))
    h = fn.layer_norm(e, P("embeddings.LayerNorm.weight"), P("embeddings.LayerNorm.bias"), epsilon=cfg.epsilon,
                      name="embeddings")
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        with fn.layer(i, h, mask) as layer:
            x, mk = layer.args
            q = layer.linear(x, P(f"{p}.attention.self.query.weight"), P(f"{p}.attention.self.query.bias"), name="q")
            k = layer.linear(x, P(f"{p}.attention.self.key.weight"), P(f"{p}.attention.self.key.bias"), name="k")
            v = layer.linear(x, P(f"{p}.attention.self.value.weight"), P(f"{p}.attention.self.value.bias"), name="v")
            a = layer.attention(q, k, v, num_heads=cfg.heads, mask=mk, name="attn")
            a = layer.linear(a, P(f"{p}.attention.output.dense.weight"), P(f"{p}.attention.output.dense.bias"))
            x = layer.layer_norm(layer.add(x, a), P(f"{p}.attention.output.LayerNorm.weight"),
                                 P(f"{p}.attention.output.LayerNorm.bias"), epsilon=cfg.epsilon)
            f = layer.ffn(x, up=(P(f"{p}.intermediate.dense.weight"), P(f"{p}.intermediate.dense.bias")),
                          down=(P(f"{p}.output.dense.weight"), P(f"{p}.output.dense.bias")), activation="gelu",
                          name="ffn")
            x = layer.layer_norm(layer.add(x, f), P(f"{p}.output.LayerNorm.weight"), P(f"{p}.output.LayerNorm.bias"),
                                 epsilon=cfg.epsilon)
            layer.yield_(x)
        h = layer.result
    fn.ret([h], names=["last_hidden_state"])
    return m


# ----------------------------------------------------------------------------------------------------------
# GPT-2 style decoder: pre-LN, learned positions, gelu_tanh, tied LM head, prefill + decode with a KV cache


@dataclass
class GptConfig:
    vocab_size: int = 1000
    hidden: int = 128
    heads: int = 4
    ffn: int = 512
    layers: int = 2
    max_positions: int = 128
    epsilon: float = 1e-5


def init_gpt(cfg: GptConfig, rng) -> dict:
    w = _Init(rng)
    d = cfg.hidden
    w.normal("wte.weight", (cfg.vocab_size, d), 0.5)
    w.normal("wpe.weight", (cfg.max_positions, d), 0.5)
    for i in range(cfg.layers):
        p = f"h.{i}"
        w.norm(f"{p}.ln_1", d)
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            w.linear(f"{p}.attn.{proj}", d, d)
        w.norm(f"{p}.ln_2", d)
        w.linear(f"{p}.mlp.fc_in", cfg.ffn, d)
        w.linear(f"{p}.mlp.fc_out", d, cfg.ffn)
    w.norm("ln_f", d)
    return w.weights


def _gpt_block(layer, P, cfg, p, x, past=None):
    """One pre-LN decoder block on the residual stream `x`; returns (x, present_key, present_value)."""
    n = layer.layer_norm(x, P(f"{p}.ln_1.weight"), P(f"{p}.ln_1.bias"), epsilon=cfg.epsilon)
    q = layer.linear(n, P(f"{p}.attn.q_proj.weight"), P(f"{p}.attn.q_proj.bias"), name="q")
    k = layer.linear(n, P(f"{p}.attn.k_proj.weight"), P(f"{p}.attn.k_proj.bias"), name="k")
    v = layer.linear(n, P(f"{p}.attn.v_proj.weight"), P(f"{p}.attn.v_proj.bias"), name="v")
    if past is None:
        a = layer.attention(q, k, v, num_heads=cfg.heads, causal=True, name="attn")
    else:
        a, k, v = layer.attention(q, k, v, num_heads=cfg.heads, causal=True, past=past,
                                  name=("attn", "present_key", "present_value"))
    x = layer.add(x, layer.linear(a, P(f"{p}.attn.out_proj.weight"), P(f"{p}.attn.out_proj.bias")))
    n = layer.layer_norm(x, P(f"{p}.ln_2.weight"), P(f"{p}.ln_2.bias"), epsilon=cfg.epsilon)
    f = layer.ffn(n, up=(P(f"{p}.mlp.fc_in.weight"), P(f"{p}.mlp.fc_in.bias")),
                  down=(P(f"{p}.mlp.fc_out.weight"), P(f"{p}.mlp.fc_out.bias")), activation="gelu_tanh", name="mlp")
    return layer.add(x, f), k, v


def build_gpt(cfg: GptConfig, weights: dict, weights_file=None) -> ir.Module:
    m = ir.Module(weights_file, description=(
        f"gpt_tiny: GPT-2 style pre-LN decoder ({cfg.layers} layers, hidden {cfg.hidden}, {cfg.heads} heads, "
        f"FFN {cfg.ffn}, vocab {cfg.vocab_size}, tied LM head).\n"
        "prefill(input_ids [batch, seq] i64) -> logits [batch, seq, vocab], present_key_<i>/present_value_<i>\n"
        "    [batch, seq, hidden] per layer (the KV cache).\n"
        "decode(input_ids [batch, 1] i64, past_key_<i>/past_value_<i> [batch, past, hidden]) -> logits\n"
        "    [batch, 1, vocab] and presents [batch, past + 1, hidden]. The position of the new token is the past\n"
        "    length, read from past_key_0 with tensor.dim."))
    P = _params(m, weights)
    kv_names = [f"{kind}_{i}" for i in range(cfg.layers) for kind in ("key", "value")]

    def embed(fn, ids, pos):
        tok = fn.embedding(P("wte.weight"), ids, name="tokens")
        return fn.add(tok, fn.embedding(P("wpe.weight"), pos, kind="position"), name="embeddings")

    def head(fn, h):
        h = fn.layer_norm(h, P("ln_f.weight"), P("ln_f.bias"), epsilon=cfg.epsilon)
        return fn.linear(h, P("wte.weight"), name="logits")  # tied with the token embedding table

    # prefill: the whole prompt at once; the keys and values of every layer are the cache.
    fn = m.function("prefill", inputs=[("input_ids", (None, None), "i64")])
    ids = fn.args[0]
    h = embed(fn, ids, fn.position_ids(ids, name="positions"))
    presents = []
    for i in range(cfg.layers):
        with fn.layer(i, h) as layer:
            layer.yield_(*_gpt_block(layer, P, cfg, f"h.{i}", layer.args[0]))
        h, k, v = layer.results
        presents += [k, v]
    fn.ret([head(fn, h)] + presents, names=["logits"] + [f"present_{n}" for n in kv_names])

    # decode: one new token per sequence, attending to the cache.
    past_type = (None, None, cfg.hidden)
    fn = m.function("decode", inputs=[("input_ids", (None, 1), "i64")]
                    + [(f"past_{n}", past_type, "f32") for n in kv_names])
    ids = fn.args[0]
    past_len = fn.dim(fn.input("past_key_0"), 1, name="past_length")
    h = embed(fn, ids, fn.position_ids(ids, offset=past_len, name="positions"))
    presents = []
    for i in range(cfg.layers):
        with fn.layer(i, h, fn.input(f"past_key_{i}"), fn.input(f"past_value_{i}")) as layer:
            x, pk, pv = layer.args
            layer.yield_(*_gpt_block(layer, P, cfg, f"h.{i}", x, past=(pk, pv)))
        h, k, v = layer.results
        presents += [k, v]
    fn.ret([head(fn, h)] + presents, names=["logits"] + [f"present_{n}" for n in kv_names])
    return m


# ----------------------------------------------------------------------------------------------------------
# Llama: RMSNorm, RoPE, grouped-query causal attention, SwiGLU, untied LM head


@dataclass
class LlamaConfig:
    vocab_size: int = 1000
    hidden: int = 64
    heads: int = 4
    kv_heads: int = 2
    ffn: int = 192
    layers: int = 2
    epsilon: float = 1e-6
    rope_theta: float = 10000.0


def init_llama(cfg: LlamaConfig, rng) -> dict:
    w = _Init(rng)
    d, kv = cfg.hidden, cfg.kv_heads * (cfg.hidden // cfg.heads)
    w.normal("model.embed_tokens.weight", (cfg.vocab_size, d), 1.0)
    for i in range(cfg.layers):
        p = f"model.layers.{i}"
        w.norm(f"{p}.input_layernorm", d, bias=False)
        w.linear(f"{p}.self_attn.q_proj", d, d, bias=False)
        w.linear(f"{p}.self_attn.k_proj", kv, d, bias=False)
        w.linear(f"{p}.self_attn.v_proj", kv, d, bias=False)
        w.linear(f"{p}.self_attn.o_proj", d, d, bias=False)
        w.norm(f"{p}.post_attention_layernorm", d, bias=False)
        w.linear(f"{p}.mlp.gate_proj", cfg.ffn, d, bias=False)
        w.linear(f"{p}.mlp.up_proj", cfg.ffn, d, bias=False)
        w.linear(f"{p}.mlp.down_proj", d, cfg.ffn, bias=False)
    w.norm("model.norm", d, bias=False)
    w.linear("lm_head", cfg.vocab_size, d, bias=False)
    return w.weights


def build_llama(cfg: LlamaConfig, weights: dict, weights_file=None) -> ir.Module:
    m = ir.Module(weights_file, description=(
        f"llama_tiny: Llama-style decoder ({cfg.layers} layers, hidden {cfg.hidden}, {cfg.heads} query heads, "
        f"{cfg.kv_heads} key/value heads, SwiGLU FFN {cfg.ffn}, vocab {cfg.vocab_size}).\n"
        "input_ids [batch, seq] i64 -> logits [batch, seq, vocab] f32 (causal)"))
    P = _params(m, weights)
    fn = m.function("main", inputs=[("input_ids", (None, None), "i64")])
    ids = fn.args[0]
    h = fn.embedding(P("model.embed_tokens.weight"), ids, name="embeddings")
    pos = fn.position_ids(ids, name="positions")
    for i in range(cfg.layers):
        p = f"model.layers.{i}"
        with fn.layer(i, h, pos) as layer:
            x, positions = layer.args
            n = layer.rms_norm(x, P(f"{p}.input_layernorm.weight"), epsilon=cfg.epsilon)
            q = layer.linear(n, P(f"{p}.self_attn.q_proj.weight"), name="q")
            k = layer.linear(n, P(f"{p}.self_attn.k_proj.weight"), name="k")
            v = layer.linear(n, P(f"{p}.self_attn.v_proj.weight"), name="v")
            q = layer.rotary(q, positions, num_heads=cfg.heads, theta=cfg.rope_theta, name="q_rot")
            k = layer.rotary(k, positions, num_heads=cfg.kv_heads, theta=cfg.rope_theta, name="k_rot")
            a = layer.attention(q, k, v, num_heads=cfg.heads, num_kv_heads=cfg.kv_heads, causal=True, name="attn")
            x = layer.add(x, layer.linear(a, P(f"{p}.self_attn.o_proj.weight")))
            n = layer.rms_norm(x, P(f"{p}.post_attention_layernorm.weight"), epsilon=cfg.epsilon)
            f = layer.ffn(n, up=P(f"{p}.mlp.up_proj.weight"), gate=P(f"{p}.mlp.gate_proj.weight"),
                          down=P(f"{p}.mlp.down_proj.weight"), activation="silu", name="mlp")
            layer.yield_(layer.add(x, f))
        h = layer.result
    h = fn.rms_norm(h, P("model.norm.weight"), epsilon=cfg.epsilon)
    fn.ret([fn.linear(h, P("lm_head.weight"), name="logits")], names=["logits"])
    return m


# ----------------------------------------------------------------------------------------------------------
# Switch-style MoE encoder: top-1 routing with capacity, and a residual-MoE (PR-MoE) layer


@dataclass
class MoeConfig:
    vocab_size: int = 1000
    hidden: int = 64
    heads: int = 4
    experts: int = 4
    expert_ffn: int = 128
    dense_ffn: int = 128
    layers: int = 2  # layer 0: Switch MoE FFN; layer 1: residual MoE (dense MLP + experts)
    max_positions: int = 64
    capacity_factor: float = 1.25
    epsilon: float = 1e-5


def init_moe(cfg: MoeConfig, rng) -> dict:
    w = _Init(rng)
    d, e, f = cfg.hidden, cfg.experts, cfg.expert_ffn
    w.normal("embed_tokens.weight", (cfg.vocab_size, d), 1.0)
    w.normal("embed_positions.weight", (cfg.max_positions, d), 0.5)
    for i in range(cfg.layers):
        p = f"layers.{i}"
        w.norm(f"{p}.attn_norm", d)
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            w.linear(f"{p}.attn.{proj}", d, d)
        w.norm(f"{p}.ffn_norm", d)
        w.normal(f"{p}.moe.router.weight", (e, d), 1.0 / np.sqrt(d))
        w.normal(f"{p}.moe.experts.up.weight", (e, f, d), 1.0 / np.sqrt(d))
        w.normal(f"{p}.moe.experts.up.bias", (e, f), 0.1)
        w.normal(f"{p}.moe.experts.down.weight", (e, d, f), 1.0 / np.sqrt(f))
        w.normal(f"{p}.moe.experts.down.bias", (e, d), 0.1)
        if i % 2 == 1:
            w.linear(f"{p}.mlp.fc_in", cfg.dense_ffn, d)
            w.linear(f"{p}.mlp.fc_out", d, cfg.dense_ffn)
            w.linear(f"{p}.coefficient", 2, d)
    w.norm("final_norm", d)
    return w.weights


def build_moe(cfg: MoeConfig, weights: dict, weights_file=None) -> ir.Module:
    m = ir.Module(weights_file, description=(
        f"moe_switch_tiny: pre-LN encoder with mixture-of-experts FFNs ({cfg.layers} layers, hidden {cfg.hidden}, "
        f"{cfg.experts} experts of width {cfg.expert_ffn}).\n"
        f"Even layers: Switch FFN (softmax top-1 routing, capacity factor {cfg.capacity_factor}; dropped tokens\n"
        "pass through the residual). Odd layers: residual MoE (PR-MoE), a dense MLP beside the routed experts mixed\n"
        "by a learned per-token coefficient.\n"
        "input_ids, attention_mask: [batch, seq] i64 -> last_hidden_state [batch, seq, hidden] f32"))
    P = _params(m, weights)
    fn = m.function("main", inputs=[("input_ids", (None, None), "i64"), ("attention_mask", (None, None), "i64")])
    ids, mask = fn.args
    h = fn.add(fn.embedding(P("embed_tokens.weight"), ids, name="tokens"),
               fn.embedding(P("embed_positions.weight"), fn.position_ids(ids, name="positions"), kind="position"),
               name="embeddings")
    for i in range(cfg.layers):
        p = f"layers.{i}"
        with fn.layer(i, h, mask) as layer:
            x, mk = layer.args
            n = layer.layer_norm(x, P(f"{p}.attn_norm.weight"), P(f"{p}.attn_norm.bias"), epsilon=cfg.epsilon)
            q, k, v = (layer.linear(n, P(f"{p}.attn.{t}_proj.weight"), P(f"{p}.attn.{t}_proj.bias"), name=t)
                       for t in ("q", "k", "v"))
            a = layer.attention(q, k, v, num_heads=cfg.heads, mask=mk, name="attn")
            x = layer.add(x, layer.linear(a, P(f"{p}.attn.o_proj.weight"), P(f"{p}.attn.o_proj.bias")))
            n = layer.layer_norm(x, P(f"{p}.ffn_norm.weight"), P(f"{p}.ffn_norm.bias"), epsilon=cfg.epsilon)
            route_w, route_i = layer.router(n, P(f"{p}.moe.router.weight"), top_k=1, gating="softmax",
                                            capacity_factor=cfg.capacity_factor, name=("route_weights", "route_experts"))
            moe = layer.experts(n, route_w, route_i,
                                up=(P(f"{p}.moe.experts.up.weight"), P(f"{p}.moe.experts.up.bias")),
                                down=(P(f"{p}.moe.experts.down.weight"), P(f"{p}.moe.experts.down.bias")),
                                activation="relu", name="experts")
            if i % 2 == 1:
                dense = layer.ffn(n, up=(P(f"{p}.mlp.fc_in.weight"), P(f"{p}.mlp.fc_in.bias")),
                                  down=(P(f"{p}.mlp.fc_out.weight"), P(f"{p}.mlp.fc_out.bias")), activation="gelu",
                                  name="dense")
                moe = layer.residual_moe(n, dense, moe, P(f"{p}.coefficient.weight"), P(f"{p}.coefficient.bias"),
                                         name="mixed")
            layer.yield_(layer.add(x, moe))
        h = layer.result
    h = fn.layer_norm(h, P("final_norm.weight"), P("final_norm.bias"), epsilon=cfg.epsilon)
    fn.ret([h], names=["last_hidden_state"])
    return m


# ----------------------------------------------------------------------------------------------------------
# Adapters on a BERT-like encoder: LoRA, (IA)^3, bottleneck adapters, a soft prompt, prefix tuning


@dataclass
class AdapterConfig:
    vocab_size: int = 1000
    hidden: int = 64
    heads: int = 4
    ffn: int = 256
    layers: int = 2
    max_positions: int = 64
    lora_rank: int = 4
    lora_alpha: float = 8.0
    bottleneck: int = 16
    prompt_tokens: int = 4
    prefix_tokens: int = 3
    prefix_layer: int = 1
    epsilon: float = 1e-12


def init_adapter(cfg: AdapterConfig, rng) -> dict:
    w = _Init(rng)
    d, r = cfg.hidden, cfg.lora_rank
    w.normal("embeddings.word_embeddings.weight", (cfg.vocab_size, d), 1.0)
    w.normal("embeddings.position_embeddings.weight", (cfg.max_positions, d), 0.5)
    w.norm("embeddings.LayerNorm", d)
    w.normal("prompt.embeddings", (cfg.prompt_tokens, d), 1.0)
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        for proj in ("query", "key", "value", "output"):
            w.linear(f"{p}.attention.{proj}", d, d)
        for proj in ("query", "value"):
            w.normal(f"{p}.attention.{proj}.lora_A", (r, d), 1.0 / np.sqrt(d))
            w.normal(f"{p}.attention.{proj}.lora_B", (d, r), 0.5 / np.sqrt(r))
        w.weights[f"{p}.attention.key.ia3"] = (1.0 + 0.2 * rng.standard_normal(d)).astype(np.float32)
        w.weights[f"{p}.attention.value.ia3"] = (1.0 + 0.2 * rng.standard_normal(d)).astype(np.float32)
        w.norm(f"{p}.attention.LayerNorm", d)
        w.linear(f"{p}.intermediate.dense", cfg.ffn, d)
        w.weights[f"{p}.intermediate.ia3"] = (1.0 + 0.2 * rng.standard_normal(cfg.ffn)).astype(np.float32)
        w.linear(f"{p}.output.dense", d, cfg.ffn)
        w.linear(f"{p}.output.adapter.down", cfg.bottleneck, d)
        w.linear(f"{p}.output.adapter.up", d, cfg.bottleneck)
        w.norm(f"{p}.output.LayerNorm", d)
        if i == cfg.prefix_layer:
            w.normal(f"{p}.attention.prefix_key", (cfg.prefix_tokens, d), 1.0)
            w.normal(f"{p}.attention.prefix_value", (cfg.prefix_tokens, d), 1.0)
    return w.weights


def build_adapter(cfg: AdapterConfig, weights: dict, weights_file=None) -> ir.Module:
    m = ir.Module(weights_file, description=(
        f"adapter_tiny: BERT-like post-LN encoder ({cfg.layers} layers, hidden {cfg.hidden}, {cfg.heads} heads) with\n"
        f"parameter-efficient fine-tuning: a soft prompt of {cfg.prompt_tokens} embeddings prepended to the embedded\n"
        f"sequence (eff.prompt), LoRA (rank {cfg.lora_rank}) on the query and value projections, (IA)^3 on keys,\n"
        f"values and the FFN activation, a bottleneck adapter (width {cfg.bottleneck}) after each FFN, and\n"
        f"{cfg.prefix_tokens} prefix key/value vectors in layer {cfg.prefix_layer} (eff.prefix). No padding mask: every\n"
        "sequence of a batch is full length.\n"
        f"input_ids [batch, seq] i64 -> last_hidden_state [batch, {cfg.prompt_tokens} + seq, hidden] f32"))
    P = _params(m, weights)
    fn = m.function("main", inputs=[("input_ids", (None, None), "i64")])
    ids = fn.args[0]
    e = fn.add(fn.embedding(P("embeddings.word_embeddings.weight"), ids, name="words"),
               fn.embedding(P("embeddings.position_embeddings.weight"), fn.position_ids(ids, name="positions"),
                            kind="position"))
    e = fn.layer_norm(e, P("embeddings.LayerNorm.weight"), P("embeddings.LayerNorm.bias"), epsilon=cfg.epsilon)
    h = fn.prompt(e, P("prompt.embeddings"), name="prompted")
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        with fn.layer(i, h) as layer:
            x = layer.args[0]

            def proj(name, lora=False, ia3=None):
                y = layer.linear(x, P(f"{p}.attention.{name}.weight"), P(f"{p}.attention.{name}.bias"))
                if lora:
                    y = layer.lora(y, x, P(f"{p}.attention.{name}.lora_A"), P(f"{p}.attention.{name}.lora_B"),
                                   alpha=cfg.lora_alpha)
                if ia3:
                    y = layer.ia3(y, P(f"{p}.attention.{name}.ia3"), target=ia3)
                return y

            q = proj("query", lora=True)
            k = proj("key", ia3="key")
            v = proj("value", lora=True, ia3="value")
            if i == cfg.prefix_layer:
                k, v = layer.prefix(k, v, P(f"{p}.attention.prefix_key"), P(f"{p}.attention.prefix_value"),
                                    name=("k_prefixed", "v_prefixed"))
            a = layer.attention(q, k, v, num_heads=cfg.heads, name="attn")
            a = layer.linear(a, P(f"{p}.attention.output.weight"), P(f"{p}.attention.output.bias"))
            x = layer.layer_norm(layer.add(x, a), P(f"{p}.attention.LayerNorm.weight"),
                                 P(f"{p}.attention.LayerNorm.bias"), epsilon=cfg.epsilon)
            f = layer.linear(x, P(f"{p}.intermediate.dense.weight"), P(f"{p}.intermediate.dense.bias"))
            f = layer.ia3(layer.activation("gelu", f), P(f"{p}.intermediate.ia3"), target="ffn")
            f = layer.linear(f, P(f"{p}.output.dense.weight"), P(f"{p}.output.dense.bias"))
            f = layer.bottleneck_adapter(f, down=(P(f"{p}.output.adapter.down.weight"),
                                                  P(f"{p}.output.adapter.down.bias")),
                                         up=(P(f"{p}.output.adapter.up.weight"), P(f"{p}.output.adapter.up.bias")),
                                         activation="relu", name="adapter")
            x = layer.layer_norm(layer.add(x, f), P(f"{p}.output.LayerNorm.weight"), P(f"{p}.output.LayerNorm.bias"),
                                 epsilon=cfg.epsilon)
            layer.yield_(x)
        h = layer.result
    fn.ret([h], names=["last_hidden_state"])
    return m


# ----------------------------------------------------------------------------------------------------------
# The examples: name -> (config, init, build)

EXAMPLES = {
    "bert_tiny": (BertConfig(), init_bert, build_bert),
    "gpt_tiny": (GptConfig(), init_gpt, build_gpt),
    "llama_tiny": (LlamaConfig(), init_llama, build_llama),
    "moe_switch_tiny": (MoeConfig(), init_moe, build_moe),
    "adapter_tiny": (AdapterConfig(), init_adapter, build_adapter),
}

# One seed per example, so that changing one model leaves the others' weights unchanged.
SEEDS = {"bert_tiny": 1, "gpt_tiny": 2, "llama_tiny": 3, "moe_switch_tiny": 4, "adapter_tiny": 5}


def example_module(name, weights=None):
    """The Module of example `name` with the given weights (default: its seeded random weights)."""
    cfg, init, build = EXAMPLES[name]
    if weights is None:
        weights = init(cfg, np.random.default_rng(SEEDS[name]))
    return build(cfg, weights, weights_file=f"{name}.safetensors")


def sample_inputs(name, rng, batch, seq, past=None):
    """Random inputs of example `name`: {function: {input: ndarray}} for a batch of `batch` sequences of
    `seq` tokens (gpt_tiny's decode: one token each, after a cache of `past` tokens, default seq - 1)."""
    cfg = EXAMPLES[name][0]
    ids = rng.integers(0, cfg.vocab_size, (batch, seq), dtype=np.int64)
    if name == "bert_tiny":
        mask = np.ones((batch, seq), np.int64)
        for b in range(1, batch):  # every sequence but the first is padded at its end
            mask[b, seq - min(b * 3, seq - 1):] = 0
        types = np.zeros((batch, seq), np.int64)
        types[:, seq // 2:] = 1
        return {"main": {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}}
    if name == "moe_switch_tiny":
        mask = np.ones((batch, seq), np.int64)
        if batch > 1:
            mask[-1, seq - seq // 3:] = 0
        return {"main": {"input_ids": ids, "attention_mask": mask}}
    if name == "gpt_tiny":
        past = seq - 1 if past is None else past
        decode = {"input_ids": ids[:, :1]}
        for i in range(cfg.layers):
            for kind in ("key", "value"):
                decode[f"past_{kind}_{i}"] = rng.standard_normal((batch, past, cfg.hidden)).astype(np.float32)
        return {"prefill": {"input_ids": ids}, "decode": decode}
    return {"main": {"input_ids": ids}}
