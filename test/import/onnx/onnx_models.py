"""Small seeded transformer models in plain PyTorch, exported with torch.onnx.export for the ONNX importer tests.

BERT-style (post-LN encoder, padding mask, exact GELU), GPT-2-style (pre-LN decoder, causal mask as a sliced
lower-triangular buffer under Where, tanh GELU written out as GPT-2 does) and Llama-style (RMSNorm, rotary
embeddings, SwiGLU, causal) models, written the way Hugging Face's modelling code writes them so that the
exporter emits the same subgraphs: heads split with view + transpose, scores scaled by a division, the padding
mask as (1 - mask) * finfo.min, shapes taken from x.shape (Shape -> Gather -> Unsqueeze -> Concat -> Reshape).
Variants: grouped-query attention (fewer key/value heads, repeated by Llama's repeat_kv) and a GPT-2-style
decoder with a KV cache (past_key_<i>/past_value_<i> [B, Hkv, P, Dh] inputs concatenated with the new keys and
values, present_* outputs, the causal mask sliced as bias[:, :, L - S : L, :L] as Hugging Face's GPT-2 does), the
same with the cache as [B, P, Hkv * Dh] concatenated before the heads split, a Llama/Mistral decoder whose
rotary tables are sliced at the cache length (and one with interpolated tables, which stay op by op), partial
rotary (GPT-NeoX/Phi), a Mixtral-style top-2 MoE and T5-style stacks with a relative position bias.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MIN = torch.finfo(torch.float32).min


def repeat_kv(x, n_rep):
    """Llama's repeat_kv: [B, Hkv, L, Dh] -> [B, Hkv * n_rep, L, Dh], each key/value head repeated n_rep times."""
    if n_rep == 1:
        return x
    batch, kv_heads, length, dh = x.shape
    x = x[:, :, None, :, :].expand(batch, kv_heads, n_rep, length, dh)
    return x.reshape(batch, kv_heads * n_rep, length, dh)


class Attention(nn.Module):
    def __init__(self, d, heads, causal=False, max_positions=64, rotary=False, kv_heads=None, rotary_dim=None,
                 rope_scale=1.0, hidden_cache=False, interleaved=False):
        super().__init__()
        self.interleaved = interleaved  # GPT-J's rotate_every_two: pairs (x[2i], x[2i+1])
        self.heads, self.dh = heads, d // heads
        self.hidden_cache = hidden_cache  # the cache as [B, P, Hkv * Dh], concatenated before the heads split
        self.rotary_dim = rotary_dim or self.dh
        self.kv_heads = kv_heads or heads
        kv = self.kv_heads * self.dh
        self.q, self.k, self.v, self.o = (nn.Linear(d, w, bias=not rotary) for w in (d, kv, kv, d))
        self.causal, self.rotary = causal, rotary
        if causal:
            tril = torch.tril(torch.ones(max_positions, max_positions, dtype=torch.bool))
            self.register_buffer("bias", tril.view(1, 1, max_positions, max_positions), persistent=False)
            self.register_buffer("masked_bias", torch.tensor(MIN), persistent=False)
        if rotary:
            r = self.rotary_dim
            inv = 1.0 / (10000.0 ** (torch.arange(0, r, 2).float() / r))
            # rope_scale != 1: linear position interpolation (positions / scale), tables that are not RoPE's at
            # integer positions, so the importer does not raise them.
            angles = (torch.arange(max_positions).float() / rope_scale)[:, None] * inv[None]
            emb = angles.repeat_interleave(2, -1) if interleaved else torch.cat([angles, angles], -1)
            self.register_buffer("cos_cached", emb.cos(), persistent=False)
            self.register_buffer("sin_cached", emb.sin(), persistent=False)

    def split(self, x, b, n, heads=None):
        return x.view(b, n, heads or self.heads, self.dh).transpose(1, 2)

    def rope(self, x, n, start=None):
        """Rotates positions start..start+n-1 (0..n-1 without a cache); with rotary_dim < Dh (GPT-NeoX's partial
        rotary) only the first rotary_dim channels of each head, the others passed through."""
        if start is None:
            cos, sin = self.cos_cached[:n], self.sin_cached[:n]
        else:
            cos, sin = self.cos_cached[start:start + n], self.sin_cached[start:start + n]
        r = self.rotary_dim
        rot, rest = (x, None) if r == self.dh else (x[..., :r], x[..., r:])
        if self.interleaved:  # GPT-J's rotate_every_two
            x1, x2 = rot[..., ::2], rot[..., 1::2]
            rot = rot * cos + torch.stack((-x2, x1), dim=-1).flatten(-2) * sin
        else:
            x1, x2 = rot[..., : r // 2], rot[..., r // 2:]
            rot = rot * cos + torch.cat([-x2, x1], -1) * sin
        return rot if rest is None else torch.cat([rot, rest], -1)

    def forward(self, x, mask=None, past=None):
        """With `past` = (past_key, past_value) ([B, Hkv, P, Dh]) returns (output, (present_key, present_value))."""
        b, n, _ = x.shape
        q = self.split(self.q(x), b, n)
        if past is not None and self.hidden_cache:
            k, v = torch.cat([past[0], self.k(x)], 1), torch.cat([past[1], self.v(x)], 1)
            present = (k, v)
            k, v = self.split(k, b, k.shape[1], self.kv_heads), self.split(v, b, v.shape[1], self.kv_heads)
        else:
            k, v = self.split(self.k(x), b, n, self.kv_heads), self.split(self.v(x), b, n, self.kv_heads)
        if self.rotary:
            start = None if past is None else past[0].shape[2]
            q, k = self.rope(q, n, start), self.rope(k, n, start)
        if past is not None and not self.hidden_cache:
            k, v = torch.cat([past[0], k], dim=-2), torch.cat([past[1], v], dim=-2)
            present = (k, v)
        k, v = repeat_kv(k, self.heads // self.kv_heads), repeat_kv(v, self.heads // self.kv_heads)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        if self.causal and past is not None:
            query_length, key_length = q.size(-2), k.size(-2)
            causal = self.bias[:, :, key_length - query_length: key_length, :key_length]
            scores = torch.where(causal, scores, self.masked_bias)
        elif self.causal:
            scores = torch.where(self.bias[:, :, :n, :n], scores, self.masked_bias)
        if mask is not None:
            scores = scores + (1.0 - mask[:, None, None, :].to(scores.dtype)) * MIN
        p = scores.softmax(-1)
        out = self.o(torch.matmul(p, v).transpose(1, 2).reshape(b, n, -1))
        return out if past is None else (out, present)


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
    def __init__(self, d, heads, positions, kv_heads=None, hidden_cache=False):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d, heads, causal=True, max_positions=positions, kv_heads=kv_heads,
                              hidden_cache=hidden_cache)
        self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x, past=None):
        present = None
        if past is None:
            x = x + self.attn(self.ln1(x))
        else:
            a, present = self.attn(self.ln1(x), past=past)
            x = x + a
        x = x + self.down(new_gelu(self.up(self.ln2(x))))
        return x if past is None else (x, present)


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


class Gpt2Decoder(nn.Module):
    """One decoding step with a KV cache: input_ids [B, S], past_key_<i>/past_value_<i> [B, Hkv, P, Dh] ->
    logits [B, S, vocab], present_key_<i>/present_value_<i> [B, Hkv, P + S, Dh]. Positions start at P."""

    def __init__(self, vocab=50, d=32, heads=4, layers=2, positions=64, kv_heads=2, hidden_cache=False):
        super().__init__()
        self.hidden_cache = hidden_cache
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(positions, d)
        self.blocks = nn.ModuleList(Gpt2Block(d, heads, positions, kv_heads, hidden_cache) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, input_ids, *past):
        past_length = past[0].shape[1 if self.hidden_cache else 2]
        positions = torch.arange(past_length, past_length + input_ids.shape[1], dtype=torch.long)
        h = self.wte(input_ids) + self.wpe(positions)[None]
        presents = []
        for i, block in enumerate(self.blocks):
            h, present = block(h, past=(past[2 * i], past[2 * i + 1]))
            presents += present
        return (F.linear(self.ln_f(h), self.wte.weight), *presents)


class RmsNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, ffn, positions, kv_heads=None, rotary_dim=None, rope_scale=1.0, interleaved=False):
        super().__init__()
        self.n1, self.n2 = RmsNorm(d), RmsNorm(d)
        self.attn = Attention(d, heads, causal=True, max_positions=positions, rotary=True, kv_heads=kv_heads,
                              rotary_dim=rotary_dim, rope_scale=rope_scale, interleaved=interleaved)
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x, past=None):
        present = None
        if past is None:
            x = x + self.attn(self.n1(x))
        else:
            a, present = self.attn(self.n1(x), past=past)
            x = x + a
        h = self.n2(x)
        x = x + self.down(F.silu(self.gate(h)) * self.up(h))
        return x if past is None else (x, present)


class Llama(nn.Module):
    """input_ids -> logits."""

    def __init__(self, vocab=50, d=32, heads=4, layers=2, ffn=48, positions=64, kv_heads=None, rotary_dim=None,
                 rope_scale=1.0, interleaved=False):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(LlamaBlock(d, heads, ffn, positions, kv_heads, rotary_dim, rope_scale, interleaved)
                                    for _ in range(layers))
        self.norm, self.head = RmsNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, input_ids):
        h = self.embed(input_ids)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))


class LlamaDecoder(Llama):
    """Llama/Mistral decoding with a KV cache: input_ids [B, S], past_key_<i>/past_value_<i> [B, Hkv, P, Dh] ->
    logits, present_key_<i>/present_value_<i> [B, Hkv, P + S, Dh]. The rotary tables are read at rows P..P+S-1
    (a Slice at the run-time offset P = past_key_<i>.shape[2])."""

    def __init__(self, kv_heads=2, **kwargs):
        super().__init__(kv_heads=kv_heads, **kwargs)

    def forward(self, input_ids, *past):
        h = self.embed(input_ids)
        presents = []
        for i, block in enumerate(self.blocks):
            h, present = block(h, past=(past[2 * i], past[2 * i + 1]))
            presents += present
        return (self.head(self.norm(h)), *presents)


class Expert(nn.Module):
    def __init__(self, d, ffn):
        super().__init__()
        self.w1, self.w3 = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.w2 = nn.Linear(ffn, d, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class MoeBlock(nn.Module):
    """Mixtral-style sparse MoE, top-2 of 4 SwiGLU experts, written densely so that it exports without
    data-dependent shapes: softmax router, TopK, the two weights renormalised, each expert's weight per token
    gathered with Equal(indices, e) (0 for tokens that did not choose it), experts summed."""

    def __init__(self, d, ffn, experts=4, top_k=2):
        super().__init__()
        self.top_k = top_k
        self.gate = nn.Linear(d, experts, bias=False)
        self.experts = nn.ModuleList(Expert(d, ffn) for _ in range(experts))

    def forward(self, x):
        probs = F.softmax(self.gate(x), dim=-1)
        weights, chosen = torch.topk(probs, self.top_k, dim=-1)
        weights = weights / weights.sum(-1, keepdim=True)
        out = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            weight = (weights * (chosen == e).to(weights.dtype)).sum(-1, keepdim=True)
            out = out + weight * expert(x)
        return out


class MixtralBlock(nn.Module):
    def __init__(self, d, heads, ffn, positions, kv_heads):
        super().__init__()
        self.n1, self.n2 = RmsNorm(d), RmsNorm(d)
        self.attn = Attention(d, heads, causal=True, max_positions=positions, rotary=True, kv_heads=kv_heads)
        self.moe = MoeBlock(d, ffn)

    def forward(self, x):
        x = x + self.attn(self.n1(x))
        return x + self.moe(self.n2(x))


class Mixtral(nn.Module):
    """input_ids -> logits: Llama-style attention blocks with a top-2 MoE instead of the SwiGLU MLP."""

    def __init__(self, vocab=50, d=32, heads=4, layers=2, ffn=24, positions=64, kv_heads=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(MixtralBlock(d, heads, ffn, positions, kv_heads) for _ in range(layers))
        self.norm, self.head = RmsNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, input_ids):
        h = self.embed(input_ids)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))


def relative_position_bucket(relative_position, bidirectional, num_buckets=32, max_distance=128):
    """T5's bucketing of key - query offsets: exact below num_buckets / 4 (/ 2 one-directional), logarithmic up
    to max_distance, as Hugging Face's T5Attention._relative_position_bucket writes it."""
    buckets = 0
    if bidirectional:
        num_buckets //= 2
        buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    if_large = max_exact + (torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
                            * (num_buckets - max_exact)).to(torch.long)
    if_large = torch.min(if_large, torch.full_like(if_large, num_buckets - 1))
    return buckets + torch.where(is_small, relative_position, if_large)


class T5Attention(nn.Module):
    """Unscaled attention with a learned relative position bias [H] per bucket, added to the scores."""

    def __init__(self, d, heads, bidirectional=True, num_buckets=16):
        super().__init__()
        self.heads, self.dh, self.bidirectional, self.num_buckets = heads, d // heads, bidirectional, num_buckets
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.relative_attention_bias = nn.Embedding(num_buckets, heads)

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = (t(x).view(b, n, self.heads, self.dh).transpose(1, 2) for t in (self.q, self.k, self.v))
        context = torch.arange(n, dtype=torch.long)[:, None]
        memory = torch.arange(n, dtype=torch.long)[None, :]
        buckets = relative_position_bucket(memory - context, self.bidirectional, self.num_buckets)
        bias = self.relative_attention_bias(buckets).permute(2, 0, 1)[None]  # [1, H, n, n]
        scores = torch.matmul(q, k.transpose(-1, -2)) + bias
        if not self.bidirectional:
            scores = scores + torch.triu(torch.full((n, n), MIN), 1)
        p = scores.softmax(-1)
        return self.o(torch.matmul(p, v).transpose(1, 2).reshape(b, n, -1))


class T5Layer(nn.Module):
    def __init__(self, d, heads, ffn, bidirectional, num_buckets):
        super().__init__()
        self.n1, self.n2 = RmsNorm(d), RmsNorm(d)
        self.attn = T5Attention(d, heads, bidirectional, num_buckets)
        self.wi, self.wo = nn.Linear(d, ffn, bias=False), nn.Linear(ffn, d, bias=False)

    def forward(self, x):
        x = x + self.attn(self.n1(x))
        return x + self.wo(F.relu(self.wi(self.n2(x))))


class T5Stack(nn.Module):
    """input_ids -> hidden states: a T5-style encoder (bidirectional buckets) or decoder self-attention stack
    (one-directional buckets, causal). Few buckets, so that the test's offsets reach the logarithmic ones."""

    def __init__(self, vocab=50, d=32, heads=4, layers=2, ffn=64, bidirectional=True, num_buckets=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(T5Layer(d, heads, ffn, bidirectional, num_buckets) for _ in range(layers))
        self.norm = RmsNorm(d)

    def forward(self, input_ids):
        h = self.embed(input_ids)
        for layer in self.layers:
            h = layer(h)
        return self.norm(h)


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
    # Grouped-query attention: 4 query heads share 2 key/value heads (Llama's repeat_kv).
    "llama_gqa": (lambda: Llama(kv_heads=2), ["input_ids"]),
    # Decoding with a KV cache (and 2 key/value heads for 4 query heads).
    "gpt2_cache": (Gpt2Decoder, ["input_ids", "past_key_0", "past_value_0", "past_key_1", "past_value_1"]),
    # GPT-NeoX/Phi partial rotary: only the first 4 of each head's 8 channels are rotated.
    "llama_partial": (lambda: Llama(rotary_dim=4), ["input_ids"]),
    # Llama/Mistral decoding: rotary positions P..P+S-1 after a cache of P, 2 key/value heads for 4 query heads.
    "llama_cache": (LlamaDecoder, ["input_ids", "past_key_0", "past_value_0", "past_key_1", "past_value_1"]),
    # The same with linearly interpolated positions (tables at positions / 2): not raised, imported op by op,
    # the tables and the causal mask sliced at run-time offsets.
    "llama_cache_scaled": (lambda: LlamaDecoder(rope_scale=2.0),
                           ["input_ids", "past_key_0", "past_value_0", "past_key_1", "past_value_1"]),
}
# GPT-J's interleaved rotary (rotate_every_two, tables repeated per pair): on all 8 channels of each head, and
# partial as in GPT-J itself (4 of 8).
MODELS["gptj"] = (lambda: Llama(interleaved=True), ["input_ids"])
MODELS["gptj_partial"] = (lambda: Llama(interleaved=True, rotary_dim=4), ["input_ids"])
# Interleaved with interpolated positions (tables not RoPE's at integer positions): not raised, op by op.
MODELS["gptj_scaled"] = (lambda: Llama(interleaved=True, rope_scale=2.0), ["input_ids"])
# The GPT-2-style decoder with its cache as [B, P, Hkv * Dh], concatenated before the heads split.
MODELS["gpt2_hidden_cache"] = (lambda: Gpt2Decoder(hidden_cache=True), MODELS["gpt2_cache"][1])
# T5-style relative position bias (buckets from Log/Min/Where on a Range), encoder and causal decoder stacks.
MODELS["t5_encoder"] = (T5Stack, ["input_ids"])
MODELS["t5_decoder"] = (lambda: T5Stack(bidirectional=False), ["input_ids"])
# Mixtral-style: top-2 of 4 experts routed with TopK.
MODELS["mixtral"] = (Mixtral, ["input_ids"])
CACHED = ("gpt2_cache", "llama_cache", "llama_cache_scaled", "gpt2_hidden_cache")
CACHE_OUTPUTS = ["present_key_0", "present_value_0", "present_key_1", "present_value_1"]


def example_inputs(name, batch=2, seq=7, vocab=50, seed=0, past=3):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, seq), generator=g)
    if name in CACHED:
        # A cache of `past` positions for each of the 2 layers' 2 key/value heads of 8.
        shape = (batch, past, 16) if name == "gpt2_hidden_cache" else (batch, 2, past, 8)
        return (ids, *(torch.randn(*shape, generator=g) for _ in CACHE_OUTPUTS))
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
    output_names = ["output"]
    if name in CACHED:
        output_names += CACHE_OUTPUTS
        axis = 1 if name == "gpt2_hidden_cache" else 2
        dynamic.update({n: {0: "batch", axis: "past"} for n in input_names[1:]})
        dynamic.update({n: {0: "batch", axis: "total"} for n in CACHE_OUTPUTS})
    torch.onnx.export(model, example_inputs(name), str(path), opset_version=opset, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic, do_constant_folding=True)
    if external_data:
        import onnx

        proto = onnx.load(str(path))
        onnx.save_model(proto, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=0)
    return model
