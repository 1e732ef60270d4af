"""Independent numpy reference ("oracle") for the ops of the `eff` dialect.

Each function implements one op exactly as docs/spec/eff.md specifies it and is used to build the expected
values of compiled numerics. Positional arguments are the op's required operands in spec order (after the
activation kind for `activation` and `glu`, as in their syntax); other attributes and optional operands are
keyword arguments. Attributes that only record a role (`embedding`'s `kind`, `ia3`'s `target`) are
validated but do not change the result.

Float operands must share one numpy float dtype (float16, float32 or float64); the computation runs in
float64 and results are returned in that dtype. bf16 has no numpy dtype, so the reference covers f32 and
f16 only (float64 is accepted for tight tests). Index operands must be integer arrays. Shapes are checked
against the spec's constraints and a violation raises ValueError: nothing broadcasts implicitly.

`eff.parameter` and `eff.layer` carry no numerics and have no function here.
"""

import math
from fractions import Fraction

import numpy as np

_FLOAT_DTYPES = (np.float16, np.float32, np.float64)
_ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh")
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _check(cond, message):
    if not cond:
        raise ValueError(message)


def _floats(*arrays):
    """Checks that the given float operands (None = absent) share one float dtype.

    Returns that dtype and the operands converted to float64 (None stays None)."""
    present = [np.asarray(a) for a in arrays if a is not None]
    dtype = present[0].dtype
    for a in present:
        if a.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"float operand expected (float16/32/64), got {a.dtype}")
        if a.dtype != dtype:
            raise TypeError(f"float operands must share one dtype, got {dtype} and {a.dtype}")
    return dtype, [None if a is None else np.asarray(a, dtype=np.float64) for a in arrays]


def _indices(a, name):
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, got {a.dtype}")
    return a


def _shape(a, shape, what):
    _check(tuple(a.shape) == tuple(shape), f"{what} must have shape {tuple(shape)}, got {tuple(a.shape)}")


def _softmax64(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _act64(kind, x):
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "gelu":
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if kind == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if kind == "silu":
        return x / (1.0 + np.exp(-x))
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if kind == "tanh":
        return np.tanh(x)
    raise ValueError(f"activation kind must be one of {_ACTIVATIONS}, got {kind!r}")


def _ffn64(x, w_up, w_down, kind, b_up, w_gate, b_down):
    """eff.ffn on float64 arrays whose shapes were already checked."""
    up = x @ w_up.T + (0.0 if b_up is None else b_up)
    h = _act64(kind, up) if w_gate is None else _act64(kind, x @ w_gate.T) * up
    return h @ w_down.T + (0.0 if b_down is None else b_down)


# --------------------------------------------------------------------------------------------------------
# Transformer ops


def embedding(table, indices, *, kind="token"):
    _check(kind in ("token", "position", "segment"), f"embedding kind must be token/position/segment, got {kind!r}")
    dtype, (table,) = _floats(table)
    indices = _indices(indices, "indices")
    _check(table.ndim == 2, f"eff_embedding_c1: table must have rank 2, got shape {table.shape}")
    _check(np.all((indices >= 0) & (indices < table.shape[0])), f"indices out of [0, {table.shape[0]})")
    return table[indices].astype(dtype)


def position_ids(ids, *, offset=0):
    ids = _indices(ids, "ids")
    _check(ids.ndim >= 1, "eff_position_ids_c1: ids must have rank >= 1")
    return np.broadcast_to(offset + np.arange(ids.shape[-1]), ids.shape).astype(ids.dtype)


def linear(x, weight, *, bias=None):
    dtype, (x, weight, bias) = _floats(x, weight, bias)
    _check(x.ndim >= 1 and weight.ndim == 2,
           f"eff_linear_c1: input rank >= 1 and weight rank 2, got {x.shape}, {weight.shape}")
    _check(weight.shape[1] == x.shape[-1], f"eff_linear_c2: weight {weight.shape} does not match input K={x.shape[-1]}")
    if bias is not None:
        _shape(bias, (weight.shape[0],), "eff_linear_c3: bias")
    y = x @ weight.T + (0.0 if bias is None else bias)
    return y.astype(dtype)


def matmul(a, b, *, transpose_b=False):
    dtype, (a, b) = _floats(a, b)
    _check(a.ndim >= 2 and b.ndim >= 2, f"eff_matmul_c1: operands need rank >= 2, got {a.shape}, {b.shape}")
    _check(b.ndim == 2 or (b.ndim == a.ndim and b.shape[:-2] == a.shape[:-2]),
           f"eff_matmul_c2: b {b.shape} must be rank 2 or have a's batch dimensions {a.shape[:-2]}")
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    _check(a.shape[-1] == b.shape[-2], f"eff_matmul_c3: contraction dimensions differ: {a.shape}, {b.shape}")
    return (a @ b).astype(dtype)


def layer_norm(x, gamma, *, beta=None, epsilon):
    dtype, (x, gamma, beta) = _floats(x, gamma, beta)
    _shape(gamma, (x.shape[-1],), "eff_layer_norm_c1: gamma")
    if beta is not None:
        _shape(beta, (x.shape[-1],), "eff_layer_norm_c1: beta")
    _check(epsilon > 0, "eff_layer_norm_c2: epsilon must be > 0")
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + epsilon) * gamma + (0.0 if beta is None else beta)
    return y.astype(dtype)


def rms_norm(x, gamma, *, epsilon):
    dtype, (x, gamma) = _floats(x, gamma)
    _shape(gamma, (x.shape[-1],), "eff_rms_norm_c1: gamma")
    _check(epsilon > 0, "eff_rms_norm_c2: epsilon must be > 0")
    y = x / np.sqrt((x**2).mean(axis=-1, keepdims=True) + epsilon) * gamma
    return y.astype(dtype)


def softmax(x, *, axis=-1):
    dtype, (x,) = _floats(x)
    _check(-x.ndim <= axis < x.ndim, f"eff_softmax_c1: axis {axis} out of range for rank {x.ndim}")
    return _softmax64(x, axis).astype(dtype)


def activation(kind, x):
    dtype, (x,) = _floats(x)
    return _act64(kind, x).astype(dtype)


def glu(kind, gate, up):
    dtype, (gate, up) = _floats(gate, up)
    _shape(up, gate.shape, "glu: up (the gate's shape)")
    return (_act64(kind, gate) * up).astype(dtype)


def add(x, y):
    dtype, (x, y) = _floats(x, y)
    _shape(y, x.shape, "add: second operand (the first's shape)")
    return (x + y).astype(dtype)


def rotary(x, positions, *, num_heads, theta, rotary_dim=None, interleaved=False):
    dtype, (x,) = _floats(x)
    positions = _indices(positions, "positions")
    _check(x.ndim >= 2 and num_heads >= 1 and x.shape[-1] % num_heads == 0,
           f"eff_rotary_c1: input rank >= 2 with num_heads={num_heads} dividing {x.shape[-1]}, got {x.shape}")
    dh = x.shape[-1] // num_heads
    r = dh if rotary_dim is None else rotary_dim
    _check(r % 2 == 0 and 2 <= r <= dh, f"eff_rotary_c2: rotary_dim={r} must be even, >= 2 and <= Dh={dh}")
    _check(positions.shape in (x.shape[:-1], x.shape[-2:-1]),
           f"eff_rotary_c3: positions {positions.shape} must be {x.shape[:-1]} or {x.shape[-2:-1]}")
    _check(theta > 0, "eff_rotary_c4: theta must be > 0")
    inv_freq = float(theta) ** (-2.0 * np.arange(r // 2) / r)
    # [..., S, 1, R/2]: broadcast over the heads of x viewed as [..., S, H, Dh].
    angle = positions.astype(np.float64)[..., None, None] * inv_freq
    cos, sin = np.cos(angle), np.sin(angle)
    heads = x.reshape(x.shape[:-1] + (num_heads, dh))
    out = heads.copy()
    u_idx, v_idx = (slice(0, r, 2), slice(1, r, 2)) if interleaved else (slice(0, r // 2), slice(r // 2, r))
    u, v = heads[..., u_idx], heads[..., v_idx]
    out[..., u_idx] = u * cos - v * sin
    out[..., v_idx] = v * cos + u * sin
    return out.reshape(x.shape).astype(dtype)


def attention(q, k, v, *, num_heads, num_kv_heads=None, scale=None, causal=False, mask=None, head_mask=None,
              past_key=None, past_value=None, bias=None):
    dtype, (q, k, v, head_mask, past_key, past_value, bias) = _floats(q, k, v, head_mask, past_key, past_value, bias)
    _check(q.ndim == 3 and k.ndim == 3 and k.shape == v.shape and q.shape[0] == k.shape[0],
           f"eff_attention_c1: query/key/value must be rank 3 with equal batch and key == value shape, "
           f"got {q.shape}, {k.shape}, {v.shape}")
    b, s, hidden = q.shape
    _check(num_heads >= 1 and hidden % num_heads == 0, f"eff_attention_c2: num_heads={num_heads} must divide {hidden}")
    dh = hidden // num_heads
    hkv = num_heads if num_kv_heads is None else num_kv_heads
    _check(hkv >= 1 and num_heads % hkv == 0, f"eff_attention_c3: num_kv_heads={hkv} must divide num_heads={num_heads}")
    _check(k.shape[2] == hkv * dh, f"eff_attention_c4: key hidden {k.shape[2]} != num_kv_heads*Dh = {hkv * dh}")
    _check((past_key is None) == (past_value is None), "eff_attention_c7: past_key and past_value go together")
    if past_key is not None:
        _check(past_key.ndim == 3 and past_key.shape == past_value.shape
               and (past_key.shape[0], past_key.shape[2]) == (b, hkv * dh),
               f"eff_attention_c7: past must be [B, P, Hkv*Dh] = [{b}, P, {hkv * dh}], "
               f"got {past_key.shape}, {past_value.shape}")
        k, v = np.concatenate([past_key, k], axis=1), np.concatenate([past_value, v], axis=1)
    l = k.shape[1]
    if mask is not None:
        mask = np.asarray(mask)
        _shape(mask, (b, l), "eff_attention_c5: mask")
    if head_mask is not None:
        _shape(head_mask, (num_heads,), "eff_attention_c6: head_mask")
    _check(scale is None or scale > 0, "eff_attention_c8: scale must be > 0")
    _check(not causal or s <= l, f"eff_attention_c9: causal needs S <= L, got S={s}, L={l}")
    if bias is not None:
        _check(bias.ndim == 4 and bias.shape[0] in (1, b) and bias.shape[1:] == (num_heads, s, l),
               f"eff_attention_c10: bias must be [{b} or 1, {num_heads}, {s}, {l}], got {bias.shape}")
    scale = 1.0 / math.sqrt(dh) if scale is None else float(scale)

    g = np.arange(num_heads) // (num_heads // hkv)  # key/value head of each query head
    qh = q.reshape(b, s, num_heads, dh).transpose(0, 2, 1, 3)  # [B, H, S, Dh]
    kh = k.reshape(b, l, hkv, dh).transpose(0, 2, 1, 3)[:, g]  # [B, H, L, Dh]
    vh = v.reshape(b, l, hkv, dh).transpose(0, 2, 1, 3)[:, g]
    scores = scale * np.einsum("bhid,bhjd->bhij", qh, kh)
    if bias is not None:
        scores = scores + bias

    allowed = np.ones((b, 1, s, l), dtype=bool)
    if causal:
        i, j = np.arange(s)[:, None], np.arange(l)[None, :]
        allowed &= ~(j > i + (l - s))
    if mask is not None:
        allowed &= (mask != 0)[:, None, None, :]
    row_max = np.where(allowed, scores, -np.inf).max(axis=-1, keepdims=True)
    e = np.where(allowed, np.exp(scores - np.where(np.isfinite(row_max), row_max, 0.0)), 0.0)
    denom = e.sum(axis=-1, keepdims=True)
    p = e / np.where(denom == 0.0, 1.0, denom)  # a fully masked row stays all zeros
    if head_mask is not None:
        p = p * head_mask[None, :, None, None]
    out = np.einsum("bhij,bhjd->bhid", p, vh).transpose(0, 2, 1, 3).reshape(b, s, hidden).astype(dtype)
    if past_key is None:
        return out
    return out, k.astype(dtype), v.astype(dtype)


def relative_position_bucket(relative, *, num_buckets, max_distance, bidirectional):
    """T5's bucket of each key − query position in `relative` (Hugging Face's _relative_position_bucket, in
    exact arithmetic: float64 plus a margin for results that are integers)."""
    relative = np.asarray(relative, dtype=np.int64)
    bucket = np.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        bucket += (relative > 0) * num_buckets
        distance = np.abs(relative)
    else:
        distance = -np.minimum(relative, 0)
    max_exact = num_buckets // 2
    with np.errstate(divide="ignore"):
        scaled = np.log(np.maximum(distance, 1) / max_exact) / math.log(max_distance / max_exact)
    large = max_exact + np.floor(scaled * (num_buckets - max_exact) + 1e-9).astype(np.int64)
    return bucket + np.where(distance < max_exact, distance, np.minimum(large, num_buckets - 1))


def relative_position_bias(table, *, query_length, key_length, max_distance=128, bidirectional=False):
    """[1, H, S, L]: table[bucket(j - (i + L - S)), h]."""
    dtype, (table,) = _floats(table)
    _check(table.ndim == 2, f"table must be [num_buckets, H], got {table.shape}")
    nb = table.shape[0]
    buckets = nb // 2 if bidirectional else nb
    _check(buckets >= 2, f"eff_relative_position_bias_c1: too few buckets ({nb}, bidirectional={bidirectional})")
    _check(max_distance > buckets // 2, f"eff_relative_position_bias_c2: max_distance={max_distance} <= {buckets // 2}")
    s, l = query_length, key_length
    relative = np.arange(l)[None, :] - (np.arange(s)[:, None] + (l - s))
    buckets_ij = relative_position_bucket(relative, num_buckets=nb, max_distance=max_distance,
                                          bidirectional=bidirectional)
    return table[buckets_ij].transpose(2, 0, 1)[None].astype(dtype)


def ffn(x, w_up, w_down, *, kind, b_up=None, w_gate=None, b_down=None):
    dtype, (x, w_up, w_down, b_up, w_gate, b_down) = _floats(x, w_up, w_down, b_up, w_gate, b_down)
    _check(w_up.ndim == 2 and w_up.shape[1] == x.shape[-1],
           f"eff_ffn_c1: W_up must be [F, D] with D={x.shape[-1]}, got {w_up.shape}")
    f = w_up.shape[0]
    if w_gate is not None:
        _shape(w_gate, w_up.shape, "eff_ffn_c1: W_gate")
    _check(w_down.ndim == 2 and w_down.shape[1] == f, f"eff_ffn_c2: W_down must be [D', {f}], got {w_down.shape}")
    if b_up is not None:
        _shape(b_up, (f,), "eff_ffn_c3: b_up")
    if b_down is not None:
        _shape(b_down, (w_down.shape[0],), "eff_ffn_c3: b_down")
    _check(kind in _ACTIVATIONS, f"activation kind must be one of {_ACTIVATIONS}, got {kind!r}")
    return _ffn64(x, w_up, w_down, kind, b_up, w_gate, b_down).astype(dtype)


# --------------------------------------------------------------------------------------------------------
# Adapter ops


def lora(base, x, a, b, *, rank, alpha):
    dtype, (base, x, a, b) = _floats(base, x, a, b)
    _check(rank >= 1 and a.ndim == 2 and b.ndim == 2 and a.shape[0] == b.shape[1] == rank,
           f"eff_lora_c1: A [r, K] and B [N, r] with r = rank = {rank}, got {a.shape}, {b.shape}")
    _check(a.shape[1] == x.shape[-1] and b.shape[0] == base.shape[-1],
           f"eff_lora_c2: A {a.shape} / B {b.shape} do not match x {x.shape} / base {base.shape}")
    _check(base.shape[:-1] == x.shape[:-1], f"eff_lora_c3: base {base.shape} and x {x.shape} leading dims differ")
    return (base + (alpha / rank) * (x @ a.T) @ b.T).astype(dtype)


def ia3(x, scale, *, target="key"):
    _check(target in ("key", "value", "ffn"), f"ia3 target must be key/value/ffn, got {target!r}")
    dtype, (x, scale) = _floats(x, scale)
    _shape(scale, (x.shape[-1],), "eff_ia3_c1: scale")
    return (x * scale).astype(dtype)


def prefix(key, value, prefix_key, prefix_value):
    dtype, (key, value, prefix_key, prefix_value) = _floats(key, value, prefix_key, prefix_value)
    _check(key.ndim == 3 and key.shape == value.shape
           and prefix_key.ndim == 2 and prefix_key.shape == prefix_value.shape,
           f"eff_prefix_c1: key/value [B, L, D] of equal shapes and prefixes [P, D] of equal shapes, got "
           f"{key.shape}, {value.shape}, {prefix_key.shape}, {prefix_value.shape}")
    _check(prefix_key.shape[1] == key.shape[2],
           f"eff_prefix_c2: prefix D {prefix_key.shape[1]} != key D {key.shape[2]}")

    def prepend(p, t):
        return np.concatenate([np.broadcast_to(p, (t.shape[0],) + p.shape), t], axis=1).astype(dtype)

    return prepend(prefix_key, key), prepend(prefix_value, value)


def prompt(embeds, soft_prompt):
    dtype, (embeds, soft_prompt) = _floats(embeds, soft_prompt)
    _check(embeds.ndim == 3 and soft_prompt.ndim == 2 and embeds.shape[2] == soft_prompt.shape[1],
           f"eff_prompt_c1: embeds [B, S, D] and prompt [P, D], got {embeds.shape}, {soft_prompt.shape}")
    batch = np.broadcast_to(soft_prompt, (embeds.shape[0],) + soft_prompt.shape)
    return np.concatenate([batch, embeds], axis=1).astype(dtype)


def bottleneck_adapter(x, w_down, w_up, *, kind, b_down=None, b_up=None):
    dtype, (x, w_down, w_up, b_down, b_up) = _floats(x, w_down, w_up, b_down, b_up)
    d = x.shape[-1]
    _check(w_down.ndim == 2 and w_down.shape[1] == d and w_up.shape == (d, w_down.shape[0]),
           f"eff_bottleneck_adapter_c1: W_down [R, {d}] and W_up [{d}, R], got {w_down.shape}, {w_up.shape}")
    if b_down is not None:
        _shape(b_down, (w_down.shape[0],), "eff_bottleneck_adapter_c2: b_down")
    if b_up is not None:
        _shape(b_up, (d,), "eff_bottleneck_adapter_c2: b_up")
    _check(kind in _ACTIVATIONS, f"activation kind must be one of {_ACTIVATIONS}, got {kind!r}")
    return (x + _ffn64(x, w_down, w_up, kind, b_down, None, b_up)).astype(dtype)


# --------------------------------------------------------------------------------------------------------
# Mixture-of-Experts ops


def router(x, weight, *, top_k, gating="softmax", normalize=False, capacity_factor=None):
    """Returns (weights [..., k] in x's dtype, indices [..., k] int64).

    With both `normalize` and `capacity_factor`, weights are normalized over the k choices first and the
    dropped assignments are then set to 0 (the kept weights are not renormalized)."""
    dtype, (x, weight) = _floats(x, weight)
    _check(weight.ndim == 2 and weight.shape[1] == x.shape[-1],
           f"eff_router_c1: weight must be [E, {x.shape[-1]}], got {weight.shape}")
    e = weight.shape[0]
    _check(1 <= top_k <= e, f"eff_router_c2: top_k={top_k} must be in [1, E={e}]")
    _check(capacity_factor is None or capacity_factor > 0, "eff_router_c3: capacity_factor must be > 0")
    _check(gating in ("softmax", "sigmoid"), f"gating must be softmax or sigmoid, got {gating!r}")
    logits = x.reshape(-1, x.shape[-1]) @ weight.T  # [T, E]
    scores = _softmax64(logits, -1) if gating == "softmax" else 1.0 / (1.0 + np.exp(-logits))
    t = scores.shape[0]
    indices = np.zeros((t, top_k), dtype=np.int64)
    weights = np.zeros((t, top_k))
    for tok in range(t):
        order = sorted(range(e), key=lambda ex: (-scores[tok, ex], ex))[:top_k]  # ties: lower index first
        indices[tok] = order
        weights[tok] = scores[tok, order]
    if normalize:
        weights /= weights.sum(axis=-1, keepdims=True)
    if capacity_factor is not None:
        capacity = math.ceil(Fraction(float(capacity_factor)) * t * top_k / e)
        load = [0] * e
        for rank in range(top_k):  # every first choice before any second choice, then token order
            for tok in range(t):
                ex = indices[tok, rank]
                if load[ex] < capacity:
                    load[ex] += 1
                else:
                    weights[tok, rank] = 0.0
    out_shape = x.shape[:-1] + (top_k,)
    return weights.reshape(out_shape).astype(dtype), indices.reshape(out_shape)


def experts(x, weights, indices, w_up, w_down, *, kind, b_up=None, w_gate=None, b_down=None):
    dtype, (x, weights, w_up, w_down, b_up, w_gate, b_down) = _floats(x, weights, w_up, w_down, b_up, w_gate, b_down)
    indices = _indices(indices, "indices")
    _check(weights.ndim == x.ndim and weights.shape[:-1] == x.shape[:-1] and indices.shape == weights.shape,
           f"eff_experts_c1: weights/indices must be {x.shape[:-1]} + [k], got {weights.shape}, {indices.shape}")
    d = x.shape[-1]
    _check(w_up.ndim == 3 and w_up.shape[2] == d, f"eff_experts_c2: W_up must be [E, F, {d}], got {w_up.shape}")
    e, f, _ = w_up.shape
    if w_gate is not None:
        _shape(w_gate, w_up.shape, "eff_experts_c2: W_gate")
    _shape(w_down, (e, d, f), "eff_experts_c3: W_down")
    if b_up is not None:
        _shape(b_up, (e, f), "eff_experts_c4: b_up")
    if b_down is not None:
        _shape(b_down, (e, d), "eff_experts_c4: b_down")
    _check(kind in _ACTIVATIONS, f"activation kind must be one of {_ACTIVATIONS}, got {kind!r}")
    _check(np.all((indices >= 0) & (indices < e)), f"expert indices out of [0, {e})")

    k = weights.shape[-1]
    xs, ws, ids = x.reshape(-1, d), weights.reshape(-1, k), indices.reshape(-1, k)
    y = np.zeros_like(xs)
    for tok in range(xs.shape[0]):
        for w, ex in zip(ws[tok], ids[tok]):
            if w != 0.0:  # dropped assignments contribute nothing
                up, gate, down, bu, bd = (None if p is None else p[ex] for p in (w_up, w_gate, w_down, b_up, b_down))
                y[tok] += w * _ffn64(xs[tok], up, down, kind, bu, gate, bd)
    return y.reshape(x.shape).astype(dtype)


def residual_moe(x, dense, moe, w_coef, b_coef):
    dtype, (x, dense, moe, w_coef, b_coef) = _floats(x, dense, moe, w_coef, b_coef)
    _shape(dense, x.shape, "eff_residual_moe_c1: dense")
    _shape(moe, x.shape, "eff_residual_moe_c1: moe")
    _shape(w_coef, (2, x.shape[-1]), "eff_residual_moe_c2: W_coef")
    _shape(b_coef, (2,), "eff_residual_moe_c2: b_coef")
    c = _softmax64(x @ w_coef.T + b_coef, -1)
    return (dense * c[..., :1] + moe * c[..., 1:]).astype(dtype)
