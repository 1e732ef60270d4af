"""Small seeded transformer models in plain PyTorch, exported with torch.onnx.export for the ONNX importer tests.

BERT-style (post-LN encoder, padding mask, exact GELU), GPT-2-style (pre-LN decoder, causal mask as a sliced
lower-triangular buffer under Where, tanh GELU written out as GPT-2 does) and Llama-style (RMSNorm, rotary
embeddings, SwiGLU, causal) models, written the way Hugging Face's modelling code writes them so that the
exporter emits the same subgraphs: heads split with view + transpose, scores scaled by a division, the padding
mask as (1 - mask) * finfo.min, shapes taken from x.shape (Shape -> Gather -> Unsqueeze -> Concat -> Reshape).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MIN = torch.finfo(torch.float32).min


class Attention(nn.Module):
    def __init__(self, d, heads, causal=False, max_positions=64, rotary=False):
        super().__init__()
        self.heads, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=not rotary) for _ in range(4))
        self.causal, self.rotary = causal, rotary
        if causal:
            tril = torch.tril(torch.ones(max_positions, max_positions, dtype=torch.bool))
            self.register_buffer("bias", tril.view(1, 1, max_positions, max_positions), persistent=False)
            self.register_buffer("masked_bias", torch.tensor(MIN), persistent=False)
        if rotary:
            inv = 1.0 / (10000.0 ** (torch.arange(0, self.dh, 2).float() / self.dh))
            angles = torch.arange(max_positions).float()[:, None] * inv[None]
            emb = torch.cat([angles, angles], -1)
            self.register_buffer("cos_cached", emb.cos(), persistent=False)
            self.register_buffer("sin_cached", emb.sin(), persistent=False)

    def split(self, x, b, n):
        return x.view(b, n, self.heads, self.dh).transpose(1, 2)

    def rope(self, x, n):
        cos, sin = self.cos_cached[:n], self.sin_cached[:n]
        x1, x2 = x[..., : self.dh // 2], x[..., self.dh // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward(self, x, mask=None):
        b, n, _ = x.shape
        q, k, v = self.split(self.q(x), b, n), self.split(self.k(x), b, n), self.split(self.v(x), b, n)
        if self.rotary:
            q, k = self.rope(q, n), self.rope(k, n)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        if self.causal:
            scores = torch.where(self.bias[:, :, :n, :n], scores, self.masked_bias)
        if mask is not None:
            scores = scores + (1.0 - mask[:, None, None, :].to(scores.dtype)) * MIN
        p = scores.softmax(-1)
        return self.o(torch.matmul(p, v).transpose(1, 2).reshape(b, n, -1))


class BertLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.attn = Attention(d, heads)
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-12), nn.LayerNorm(d, eps=1e-12)
        self.up, self.down = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x, mask):
        x = self.ln1(x + self.attn(x, mask))
        return self.ln2(x + self.down(F.gelu(self.up(x))))


class Bert(nn.Module):
    """input_ids, attention_mask, token_type_ids -> last_hidden_state."""

    def __init__(self, vocab=50, d=32, heads=4, layers=2, ffn=64, positions=64):
        super().__init__()
        self.word, self.position, self.segment = nn.Embedding(vocab, d), nn.Embedding(positions, d), nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer(d, heads, ffn) for _ in range(layers))

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1], dtype=torch.long)
        h = self.word(input_ids) + self.position(positions)[None] + self.segment(token_type_ids)
        h = self.ln(h)
        for layer in self.layers:
            h = layer(h, attention_mask)
        return h


def new_gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Gpt2Block(nn.Module):
    def __init__(self, d, heads, positions):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d, heads, causal=True, max_positions=positions)
        self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.down(new_gelu(self.up(self.ln2(x))))


class Gpt2(nn.Module):
    """input_ids -> logits (tied LM head)."""

    def __init__(self, vocab=50, d=32, heads=4, layers=2, positions=64):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(positions, d)
        self.blocks = nn.ModuleList(Gpt2Block(d, heads, positions) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1], dtype=torch.long)
        h = self.wte(input_ids) + self.wpe(positions)[None]
        for block in self.blocks:
            h = block(h)
        return F.linear(self.ln_f(h), self.wte.weight)


class RmsNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, ffn, positions):
        super().__init__()
        self.n1, self.n2 = RmsNorm(d), RmsNorm(d)
        self.attn = Attention(d, heads, causal=True, max_positions=positions, rotary=True)
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x):
        x = x + self.attn(self.n1(x))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    """input_ids -> logits."""

    def __init__(self, vocab=50, d=32, heads=4, layers=2, ffn=48, positions=64):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(LlamaBlock(d, heads, ffn, positions) for _ in range(layers))
        self.norm, self.head = RmsNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, input_ids):
        h = self.embed(input_ids)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))


def randomize(model, seed):
    """Seeded weights: norms around 1, everything else O(1/sqrt(fan-in))."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name or name.startswith("n") or ".n" in name or "norm" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[-1] if p.dim() > 1 else 10
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
    return model.eval()


MODELS = {
    # name: (constructor, input names)
    "bert": (Bert, ["input_ids", "attention_mask", "token_type_ids"]),
    "gpt2": (Gpt2, ["input_ids"]),
    "llama": (Llama, ["input_ids"]),
}


def example_inputs(name, batch=2, seq=7, vocab=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, seq), generator=g)
    if name == "bert":
        mask = torch.ones(batch, seq, dtype=torch.long)
        mask[-1, seq - 2:] = 0  # padding at the end of the last sequence
        types = torch.zeros(batch, seq, dtype=torch.long)
        types[:, seq // 2:] = 1
        return (ids, mask, types)
    return (ids,)


def export(name, path, opset=17, seed=0, external_data=False):
    """Exports the seeded model `name` to `path` with dynamic batch and sequence axes; returns the model."""
    constructor, input_names = MODELS[name]
    model = randomize(constructor(), seed)
    dynamic = {n: {0: "batch", 1: "sequence"} for n in input_names}
    dynamic["output"] = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, example_inputs(name), str(path), opset_version=opset, input_names=input_names,
                      output_names=["output"], dynamic_axes=dynamic, do_constant_folding=True)
    if external_data:
        import onnx

        proto = onnx.load(str(path))
        onnx.save_model(proto, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=0)
    return model
