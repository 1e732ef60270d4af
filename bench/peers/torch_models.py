"""PyTorch peers of the GPT-2 and Switch-MoE graphs of examples/models.py, over the same weight dictionaries.

Used by bench/peers.py (timed in PyTorch eager and exported to ONNX for ONNX Runtime). The weights are buffers
named as in the dictionary ('.' -> '__'), so that torch.onnx.export makes them initializers. BERT/TinyBERT's
peer is TorchBert of test/e2e/test_models_vs_torch.py.

- TorchGpt: pre-LN decoder, learned positions, gelu_tanh FFN, LM head tied to the token embeddings.
  `prefill(ids)` -> logits [B, S, vocab]; `decode(ids [B, 1], past keys..., past values...)` -> (logits, present
  keys and values [B, past + 1, hidden] per layer), as build_gpt's two functions.
- TorchSwitch: build_moe's encoder. Even layers: Switch FFN (softmax router, top-1, the expert output scaled
  by its probability); odd layers: residual MoE (a dense GELU MLP beside the experts, mixed by
  softmax(coefficient)). Every token is routed (no capacity limit): bench/peers.py compiles the eff graph with
  a capacity factor equal to the number of experts, so that no assignment is dropped there either.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class _Weights(nn.Module):
    def __init__(self, weights):
        super().__init__()
        for name, array in weights.items():
            self.register_buffer(name.replace(".", "__"), torch.from_numpy(array))

    def __call__(self, name):  # noqa: D102 (a lookup, not a forward pass)
        return getattr(self, name.replace(".", "__"))


def _attention(q, k, v, heads, bias=None):
    """Scaled dot-product attention in the hidden layout: q [B, S, D], k/v [B, L, D] -> [B, S, D]."""
    batch, seq, d = q.shape
    dh = d // heads

    def split(x):
        return x.view(batch, x.shape[1], heads, dh).transpose(1, 2)

    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(dh)
    if bias is not None:
        scores = scores + bias
    return (scores.softmax(-1) @ split(v)).transpose(1, 2).reshape(batch, seq, d)


class TorchGpt(nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        self.w = _Weights(weights)

    def _block(self, i, x, past=None, causal=None):
        w, cfg, p = self.w, self.cfg, f"h.{i}"
        n = F.layer_norm(x, (cfg.hidden,), w(f"{p}.ln_1.weight"), w(f"{p}.ln_1.bias"), cfg.epsilon)
        q, k, v = (F.linear(n, w(f"{p}.attn.{t}_proj.weight"), w(f"{p}.attn.{t}_proj.bias")) for t in "qkv")
        if past is not None:
            k, v = torch.cat([past[0], k], 1), torch.cat([past[1], v], 1)
        a = _attention(q, k, v, cfg.heads, causal)
        x = x + F.linear(a, w(f"{p}.attn.out_proj.weight"), w(f"{p}.attn.out_proj.bias"))
        n = F.layer_norm(x, (cfg.hidden,), w(f"{p}.ln_2.weight"), w(f"{p}.ln_2.bias"), cfg.epsilon)
        f = F.gelu(F.linear(n, w(f"{p}.mlp.fc_in.weight"), w(f"{p}.mlp.fc_in.bias")), approximate="tanh")
        return x + F.linear(f, w(f"{p}.mlp.fc_out.weight"), w(f"{p}.mlp.fc_out.bias")), k, v

    def _head(self, h):
        w, cfg = self.w, self.cfg
        h = F.layer_norm(h, (cfg.hidden,), w("ln_f.weight"), w("ln_f.bias"), cfg.epsilon)
        return F.linear(h, w("wte.weight"))

    def prefill(self, input_ids):
        w = self.w
        seq = input_ids.shape[1]
        h = F.embedding(input_ids, w("wte.weight")) + F.embedding(torch.arange(seq), w("wpe.weight"))
        causal = torch.full((seq, seq), float("-inf")).triu(1)
        for i in range(self.cfg.layers):
            h, _, _ = self._block(i, h, causal=causal)
        return self._head(h)

    def decode(self, input_ids, *past):
        w, layers = self.w, self.cfg.layers
        position = past[0].shape[1]
        h = F.embedding(input_ids, w("wte.weight")) + F.embedding(torch.tensor([position]), w("wpe.weight"))
        presents = []
        for i in range(layers):
            h, k, v = self._block(i, h, past=(past[2 * i], past[2 * i + 1]))
            presents += [k, v]
        return (self._head(h), *presents)


class GptFunction(nn.Module):
    """One of TorchGpt's functions as a module's forward (what torch.onnx.export traces)."""

    def __init__(self, gpt, function):
        super().__init__()
        self.gpt, self.function = gpt, function

    def forward(self, *inputs):
        return getattr(self.gpt, self.function)(*inputs)


class TorchSwitch(nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        self.w = _Weights(weights)

    def forward(self, input_ids, attention_mask):
        w, cfg, d = self.w, self.cfg, self.cfg.hidden
        batch, seq = input_ids.shape
        h = F.embedding(input_ids, w("embed_tokens.weight")) + F.embedding(torch.arange(seq),
                                                                           w("embed_positions.weight"))
        bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for i in range(cfg.layers):
            p = f"layers.{i}"
            n = F.layer_norm(h, (d,), w(f"{p}.attn_norm.weight"), w(f"{p}.attn_norm.bias"), cfg.epsilon)
            q, k, v = (F.linear(n, w(f"{p}.attn.{t}_proj.weight"), w(f"{p}.attn.{t}_proj.bias")) for t in "qkv")
            a = _attention(q, k, v, cfg.heads, bias)
            h = h + F.linear(a, w(f"{p}.attn.o_proj.weight"), w(f"{p}.attn.o_proj.bias"))
            n = F.layer_norm(h, (d,), w(f"{p}.ffn_norm.weight"), w(f"{p}.ffn_norm.bias"), cfg.epsilon)
            tokens = n.reshape(-1, d)
            probs = F.linear(tokens, w(f"{p}.moe.router.weight")).softmax(-1)
            weight, expert = probs.max(-1)
            moe = torch.zeros_like(tokens)
            up, up_b = w(f"{p}.moe.experts.up.weight"), w(f"{p}.moe.experts.up.bias")
            down, down_b = w(f"{p}.moe.experts.down.weight"), w(f"{p}.moe.experts.down.bias")
            for e in range(cfg.experts):
                rows = (expert == e).nonzero().squeeze(1)
                x = tokens.index_select(0, rows)
                y = F.linear(F.relu(F.linear(x, up[e], up_b[e])), down[e], down_b[e])
                moe = moe.index_add(0, rows, y * weight.index_select(0, rows)[:, None])
            moe = moe.view(batch, seq, d)
            if i % 2 == 1:
                dense = F.linear(F.gelu(F.linear(n, w(f"{p}.mlp.fc_in.weight"), w(f"{p}.mlp.fc_in.bias"))),
                                 w(f"{p}.mlp.fc_out.weight"), w(f"{p}.mlp.fc_out.bias"))
                c = F.linear(n, w(f"{p}.coefficient.weight"), w(f"{p}.coefficient.bias")).softmax(-1)
                moe = dense * c[..., :1] + moe * c[..., 1:]
            h = h + moe
        return F.layer_norm(h, (d,), w("final_norm.weight"), w("final_norm.bias"), cfg.epsilon)
