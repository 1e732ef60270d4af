"""Whole models against PyTorch: a BERT-style encoder and a Llama-style decoder.

Both are written here in plain PyTorch (nn.Embedding, nn.Linear, nn.LayerNorm and a few lines of attention;
no transformers library), initialised from a fixed seed. Their state dicts are exported to eff with the IR
builder (the graphs of examples/models.py, which take Hugging Face-style weight names), compiled with effc
and run with effc-run; the outputs must match the PyTorch forward pass. The numpy reference of the same eff
graph (`Module.evaluate`) is checked against PyTorch as well, so a mismatch points at either the graph or
the compiler.

Tolerance: rtol 1e-4, atol 1e-4 (f32 PyTorch vs f32 compiled code).

Run with: /usr/bin/python3 -m pytest test/e2e/test_models_vs_torch.py
"""

import math
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its thread pool

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "examples"))
sys.path.insert(0, str(REPO / "python-bindings"))

import models  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, compile_module, run_module  # noqa: E402

torch.set_num_threads(2)

TOL = dict(rtol=1e-4, atol=1e-4)
SHAPES = [(2, 9), (3, 16)]

needs_tools = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()),
                                 reason=f"effc/effc-run not built ({EFFC.parent})")


# ----------------------------------------------------------------------------------------------------------
# PyTorch models (parameter names = the weight names examples/models.py reads)


class Module(nn.Module):
    """An nn.Module container with named children (to shape the state dict's names)."""

    def __init__(this, **children):  # noqa: N805 (BERT has a child named "self")
        super().__init__()
        for key, child in children.items():
            setattr(this, key, child)


class TorchBert(nn.Module):
    def __init__(self, cfg: models.BertConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden
        self.embeddings = Module(word_embeddings=nn.Embedding(cfg.vocab_size, d),
                                 position_embeddings=nn.Embedding(cfg.max_positions, d),
                                 token_type_embeddings=nn.Embedding(cfg.type_vocab_size, d),
                                 LayerNorm=nn.LayerNorm(d, eps=cfg.epsilon))
        self.encoder = Module(layer=nn.ModuleList([
            Module(attention=Module(self=Module(query=nn.Linear(d, d), key=nn.Linear(d, d), value=nn.Linear(d, d)),
                                    output=Module(dense=nn.Linear(d, d), LayerNorm=nn.LayerNorm(d, eps=cfg.epsilon))),
                   intermediate=Module(dense=nn.Linear(d, cfg.ffn)),
                   output=Module(dense=nn.Linear(cfg.ffn, d), LayerNorm=nn.LayerNorm(d, eps=cfg.epsilon)))
            for _ in range(cfg.layers)]))

    def forward(self, input_ids, attention_mask, token_type_ids):
        cfg, e = self.cfg, self.embeddings
        batch, seq = input_ids.shape
        positions = torch.arange(seq).expand(batch, seq)
        h = e.word_embeddings(input_ids) + e.position_embeddings(positions) + e.token_type_embeddings(token_type_ids)
        h = e.LayerNorm(h)
        heads, dh = cfg.heads, cfg.hidden // cfg.heads
        bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min

        def split(x):  # [B, S, H*Dh] -> [B, H, S, Dh]
            return x.view(batch, seq, heads, dh).transpose(1, 2)

        for layer in self.encoder.layer:
            att = layer.attention
            q, k, v = split(att.self.query(h)), split(att.self.key(h)), split(att.self.value(h))
            scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + bias
            a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, seq, cfg.hidden)
            h = att.output.LayerNorm(h + att.output.dense(a))
            f = layer.output.dense(F.gelu(layer.intermediate.dense(h)))
            h = layer.output.LayerNorm(h + f)
        return h


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class TorchLlama(nn.Module):
    def __init__(self, cfg: models.LlamaConfig):
        super().__init__()
        self.cfg = cfg
        d, dh = cfg.hidden, cfg.hidden // cfg.heads
        kv = cfg.kv_heads * dh
        self.model = Module(
            embed_tokens=nn.Embedding(cfg.vocab_size, d),
            layers=nn.ModuleList([
                Module(input_layernorm=RMSNorm(d, cfg.epsilon),
                       self_attn=Module(q_proj=nn.Linear(d, d, bias=False), k_proj=nn.Linear(d, kv, bias=False),
                                        v_proj=nn.Linear(d, kv, bias=False), o_proj=nn.Linear(d, d, bias=False)),
                       post_attention_layernorm=RMSNorm(d, cfg.epsilon),
                       mlp=Module(gate_proj=nn.Linear(d, cfg.ffn, bias=False), up_proj=nn.Linear(d, cfg.ffn, bias=False),
                                  down_proj=nn.Linear(cfg.ffn, d, bias=False)))
                for _ in range(cfg.layers)]),
            norm=RMSNorm(d, cfg.epsilon))
        self.lm_head = nn.Linear(d, cfg.vocab_size, bias=False)

    def forward(self, input_ids):
        cfg = self.cfg
        batch, seq = input_ids.shape
        heads, kv_heads, dh = cfg.heads, cfg.kv_heads, cfg.hidden // cfg.heads
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
        angles = torch.arange(seq, dtype=torch.float64)[:, None] * inv_freq[None, :]  # [S, Dh/2]
        cos = torch.cat([angles.cos()] * 2, -1).float()
        sin = torch.cat([angles.sin()] * 2, -1).float()

        def rope(x):  # [B, H, S, Dh], rotate-half pairs (x[i], x[i + Dh/2])
            x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
            return x * cos + torch.cat([-x2, x1], -1) * sin

        causal = torch.full((seq, seq), float("-inf")).triu(1)
        h = self.model.embed_tokens(input_ids)
        for layer in self.model.layers:
            att = layer.self_attn
            n = layer.input_layernorm(h)
            q = rope(att.q_proj(n).view(batch, seq, heads, dh).transpose(1, 2))
            k = rope(att.k_proj(n).view(batch, seq, kv_heads, dh).transpose(1, 2))
            v = att.v_proj(n).view(batch, seq, kv_heads, dh).transpose(1, 2)
            k = k.repeat_interleave(heads // kv_heads, dim=1)  # query head h reads key/value head h // group
            v = v.repeat_interleave(heads // kv_heads, dim=1)
            scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + causal
            a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, seq, cfg.hidden)
            h = h + att.o_proj(a)
            mlp = layer.mlp
            n = layer.post_attention_layernorm(h)
            h = h + mlp.down_proj(F.silu(mlp.gate_proj(n)) * mlp.up_proj(n))
        return self.lm_head(self.model.norm(h))


def randomize_norms(model, generator):
    """Norm weights (and biases) away from their 1/0 initialisation, so that they are exercised."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.LayerNorm, RMSNorm)):
                module.weight.add_(0.1 * torch.randn(module.weight.shape, generator=generator))
                if getattr(module, "bias", None) is not None:
                    module.bias.add_(0.1 * torch.randn(module.bias.shape, generator=generator))


def exported(model):
    return {key: value.detach().numpy().astype(np.float32) for key, value in model.state_dict().items()}


# ----------------------------------------------------------------------------------------------------------
# Fixtures: each model built, exported and compiled once


BERT = models.BertConfig(vocab_size=300, hidden=48, heads=3, ffn=96, layers=2, max_positions=40)
LLAMA = models.LlamaConfig(vocab_size=300, hidden=64, heads=4, kv_heads=2, ffn=160, layers=2)


def make(torch_class, config, build):
    torch.manual_seed(0)
    model = torch_class(config).eval()
    randomize_norms(model, torch.Generator().manual_seed(1))
    weights = exported(model)
    module = build(config, weights)
    assert set(module.parameters) == set(weights), \
        f"the eff graph reads {sorted(set(module.parameters) ^ set(weights))} differently from the state dict"
    return model, module


@pytest.fixture(scope="module")
def bert():
    return make(TorchBert, BERT, models.build_bert)


@pytest.fixture(scope="module")
def llama():
    return make(TorchLlama, LLAMA, models.build_llama)


def compiled(tmp_path_factory, module, name):
    workdir = tmp_path_factory.mktemp(name)
    module.save(workdir / f"{name}.mlir")
    return compile_module(module.to_mlir(), workdir, name=name), workdir


@pytest.fixture(scope="module")
def bert_so(tmp_path_factory, bert):
    return compiled(tmp_path_factory, bert[1], "bert")


@pytest.fixture(scope="module")
def llama_so(tmp_path_factory, llama):
    return compiled(tmp_path_factory, llama[1], "llama")


def bert_inputs(batch, seq, seed):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, seq), np.int64)
    for b in range(1, batch):
        mask[b, seq - 2 * b:] = 0
    types = (np.arange(seq) >= seq // 3).astype(np.int64)[None].repeat(batch, 0)
    return {"input_ids": rng.integers(0, BERT.vocab_size, (batch, seq), dtype=np.int64), "attention_mask": mask,
            "token_type_ids": types}


def llama_inputs(batch, seq, seed):
    rng = np.random.default_rng(seed)
    return {"input_ids": rng.integers(0, LLAMA.vocab_size, (batch, seq), dtype=np.int64)}


def torch_forward(model, inputs):
    with torch.no_grad():
        return model(*(torch.from_numpy(a) for a in inputs.values())).numpy()


def check(actual, expected, what):
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, \
        f"{what}: {actual.shape} {actual.dtype} vs {expected.shape} {expected.dtype}"
    np.testing.assert_allclose(actual, expected, err_msg=what, **TOL)


# ----------------------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"b{s[0]}s{s[1]}")
def test_bert_reference_graph_matches_torch(bert, shape):
    model, module = bert
    inputs = bert_inputs(*shape, seed=shape[1])
    check(module.evaluate("main", inputs)["last_hidden_state"], torch_forward(model, inputs), "reference vs torch")


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"b{s[0]}s{s[1]}")
def test_llama_reference_graph_matches_torch(llama, shape):
    model, module = llama
    inputs = llama_inputs(*shape, seed=shape[1])
    check(module.evaluate("main", inputs)["logits"], torch_forward(model, inputs), "reference vs torch")


@needs_tools
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"b{s[0]}s{s[1]}")
def test_bert_compiled_matches_torch(bert, bert_so, shape):
    model, _ = bert
    so, workdir = bert_so
    inputs = bert_inputs(*shape, seed=shape[1])
    out = run_module(so, inputs, workdir)
    check(out["last_hidden_state"], torch_forward(model, inputs), f"effc vs torch {shape}")


@needs_tools
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"b{s[0]}s{s[1]}")
def test_llama_compiled_matches_torch(llama, llama_so, shape):
    model, _ = llama
    so, workdir = llama_so
    inputs = llama_inputs(*shape, seed=shape[1])
    out = run_module(so, inputs, workdir)
    check(out["logits"], torch_forward(model, inputs), f"effc vs torch {shape}")
