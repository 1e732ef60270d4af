"""numpy model of eff-quantize: the quantisation of each scheme, the packed layouts the kernels read, and the
arithmetic of the kernels (ukernels/quantized_gemm.c), written independently of the C++ pass and the C code.

Weights are nn.Linear's [N, K]. Layouts (docs/spec/eff.md#effquantized_linear), with Np = N rounded up to 16:
  int8  packed [Np/16][Kp/4][16][4] (Kp = K rounded up to 4), column sums [Np] i32, scales [Np] f32
  int4  packed [Np/16][K/2][16] bytes (w[k] | w[k+1] << 4), scales and zero points [Np/16][K/G][16] f32
  lut   packed [Np/16][q][K/8][16] bytes (pattern of 4 signs | next pattern << 4), alpha [Np/16][K/G][q][16]
  bf16  packed [Np/16][Kp/2][16][2] bf16 (Kp = K rounded up to 2)
"""

import numpy as np


def _pad_rows(w, multiple):
    n = w.shape[0]
    np_ = -(-n // multiple) * multiple
    return np.concatenate([w, np.zeros((np_ - n,) + w.shape[1:], w.dtype)]) if np_ != n else w


# --- int8 -----------------------------------------------------------------------------------------------


def quantize_int8(w):
    """Per-output-channel symmetric int8: returns (q [N, K] int8, scale [N] f32)."""
    w = w.astype(np.float32)
    amax = np.abs(w).max(axis=1)
    scale = np.where(amax > 0, amax / np.float32(127), np.float32(1)).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def pack_int8(q, scale):
    n, k = q.shape
    kp = -(-k // 4) * 4
    qp = np.zeros((n, kp), np.int8)
    qp[:, :k] = q
    qp = _pad_rows(qp, 16)
    packed = qp.reshape(-1, 16, kp // 4, 4).transpose(0, 2, 1, 3).reshape(-1)
    colsum = qp.astype(np.int32).sum(axis=1).astype(np.int32)
    return np.ascontiguousarray(packed), colsum, _pad_rows(scale, 16)


def quantize_activations_int8(x, static=None):
    """Per-row dynamic (scale amax/127, zero point 128; a row whose amax is below 2^-100 is zero) or static
    (scale, zero point) u8 activations."""
    x = x.astype(np.float32)
    if static is None:
        amax = np.abs(x).max(axis=1)
        amax = np.where(amax >= np.float32(2.0**-100), amax, np.float32(0))
        scale = np.where(amax > 0, amax / np.float32(127), np.float32(1)).astype(np.float32)
        inv = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), np.float32(0)).astype(np.float32)
        zero = np.full(x.shape[0], 128, np.int32)
    else:
        s, z = static
        scale = np.full(x.shape[0], s, np.float32)
        inv = np.full(x.shape[0], np.float32(1) / np.float32(s), np.float32)
        zero = np.full(x.shape[0], z, np.int32)
    q = np.clip(np.rint(x * inv[:, None]) + zero[:, None], 0, 255).astype(np.int64)
    return q, scale, zero


def linear_int8(x, w, b=None, static=None):
    q, ws = quantize_int8(w)
    xq, xs, xz = quantize_activations_int8(x, static)
    acc = xq @ q.astype(np.int64).T - xz[:, None] * q.astype(np.int64).sum(axis=1)[None, :]
    y = acc.astype(np.float32).astype(np.float64) * (xs[:, None] * ws[None, :]).astype(np.float64)
    if b is not None:
        y = y + b
    return y.astype(np.float32)


# --- int4 -----------------------------------------------------------------------------------------------


def quantize_int4(w, group, symmetric=True):
    """Group-wise int4 along K: returns (q [N, K] in 0..15, scale [N, K/G], zero [N, K/G]); w ≈ (q − z)·s."""
    n, k = w.shape
    g = w.astype(np.float32).reshape(n, k // group, group)
    if symmetric:
        amax = np.abs(g).max(axis=2)
        scale = np.where(amax > 0, amax / np.float32(7), np.float32(1)).astype(np.float32)
        zero = np.full(scale.shape, 8, np.float32)
        q = np.clip(np.rint(g / scale[..., None]), -8, 7) + 8
    else:
        lo, hi = g.min(axis=2), g.max(axis=2)
        scale = np.where(hi > lo, (hi - lo) / np.float32(15), np.float32(1)).astype(np.float32)
        zero = np.clip(np.rint(-lo / scale), 0, 15).astype(np.float32)
        q = np.clip(np.rint(g / scale[..., None]) + zero[..., None], 0, 15)
    return q.reshape(n, k).astype(np.uint8), scale, zero


def pack_int4(q, scale, zero):
    n, k = q.shape
    qp = _pad_rows(q, 16)
    nibbles = (qp[:, 0::2] | (qp[:, 1::2] << 4)).astype(np.uint8)  # [Np, K/2]
    packed = nibbles.reshape(-1, 16, k // 2).transpose(0, 2, 1).reshape(-1)
    lay = lambda a: _pad_rows(a, 16).reshape(-1, 16, a.shape[1]).transpose(0, 2, 1).reshape(-1)
    return np.ascontiguousarray(packed), np.ascontiguousarray(lay(scale)), np.ascontiguousarray(lay(zero))


def dequantize_int4(q, scale, zero, group):
    n, k = q.shape
    g = q.reshape(n, k // group, group).astype(np.float64)
    return ((g - zero[..., None]) * scale[..., None]).reshape(n, k)


def quantize_activations_int4(x, group):
    """W4A8's activations: per row and group symmetric int8, scale amax/127 (q in −127..127); a group whose
    amax is below 2^-100 is zero."""
    m, k = x.shape
    g = x.astype(np.float32).reshape(m, k // group, group)
    amax = np.abs(g).max(axis=2)
    amax = np.where(amax >= np.float32(2.0**-100), amax, np.float32(0))
    inv = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), np.float32(0)).astype(np.float32)
    q = np.clip(np.rint(g * inv[..., None]), -127, 127).astype(np.int64)
    return q, (amax / np.float32(127)).astype(np.float32)


def linear_int4(x, w, b=None, group=128, symmetric=True):
    """Groups that are a multiple of 8 (up to 65536) run as W4A8 (activations quantized per row and group,
    exact integer dot products per group); others multiply f32 activations by the dequantized weights."""
    q, s, z = quantize_int4(w, group, symmetric)
    if group % 8 or group > 65536:
        y = x.astype(np.float64) @ dequantize_int4(q, s, z, group).T
    else:
        xq, xs = quantize_activations_int4(x.reshape(-1, x.shape[-1]), group)
        n, k = q.shape
        wq = q.reshape(n, k // group, group).astype(np.int64)
        acc = np.einsum("mgk,ngk->mng", xq, wq)
        acc = acc - z.astype(np.float64)[None] * xq.sum(axis=2)[:, None, :]
        y = (acc * s.astype(np.float64)[None] * xs.astype(np.float64)[:, None, :]).sum(axis=2)
    return (y if b is None else y + b).astype(np.float32)


# --- LUT (binary coding) --------------------------------------------------------------------------------


def fit_binary_coding(w, bits, group, iterations=4):
    """W ≈ Σ_i α_i b_i per row and group: greedy, then alternating least squares (α by normal equations,
    then each b by the nearest of the 2^q sums). Returns (signs [q, N, K] in {−1, +1}, alpha [N, K/G, q])."""
    n, k = w.shape
    g = w.astype(np.float64).reshape(n, k // group, group)
    signs = np.empty((bits,) + g.shape)
    alpha = np.empty(g.shape[:2] + (bits,))
    r = g.copy()
    for i in range(bits):
        alpha[..., i] = np.abs(r).mean(axis=2)
        signs[i] = np.where(r >= 0, 1.0, -1.0)
        r -= alpha[..., i, None] * signs[i]
    combos = np.array([[1.0 if (c >> i) & 1 else -1.0 for i in range(bits)] for c in range(1 << bits)])
    for _ in range(iterations):
        bt = np.moveaxis(signs, 0, -1)  # [N, G', group, q]
        gram = np.einsum("ngkq,ngkp->ngqp", bt, bt)
        rhs = np.einsum("ngkq,ngk->ngq", bt, g)
        ok = np.abs(np.linalg.det(gram)) > 1e-9
        solved = np.linalg.solve(np.where(ok[..., None, None], gram, np.eye(bits)), rhs[..., None])[..., 0]
        alpha = np.where(ok[..., None], solved, alpha)
        values = alpha @ combos.T  # [N, G', 2^q]
        best = np.abs(g[..., None] - values[:, :, None, :]).argmin(axis=3)
        signs = np.moveaxis(combos[best], -1, 0)
    return signs.reshape(bits, n, k), alpha.astype(np.float32)


def pack_lut(signs, alpha):
    bits, n, k = signs.shape
    bitsset = (signs > 0).astype(np.uint8)
    pat = np.zeros((bits, n, k // 4), np.uint8)
    for j in range(4):
        pat |= bitsset[:, :, j::4] << j
    byte = (pat[:, :, 0::2] | (pat[:, :, 1::2] << 4)).astype(np.uint8)  # [q, N, K/8]
    byte = np.stack([_pad_rows(byte[i], 16) for i in range(bits)])
    packed = byte.reshape(bits, -1, 16, k // 8).transpose(1, 0, 3, 2).reshape(-1)
    a = _pad_rows(alpha, 16)  # [Np, G', q]
    alpha_packed = a.reshape(-1, 16, a.shape[1], bits).transpose(0, 2, 3, 1).reshape(-1)
    return np.ascontiguousarray(packed), np.ascontiguousarray(alpha_packed)


def dequantize_lut(signs, alpha):
    bits, n, k = signs.shape
    groups = alpha.shape[1]
    s = signs.reshape(bits, n, groups, k // groups)
    return np.einsum("ngq,qngk->ngk", alpha.astype(np.float64), s).reshape(n, k)


def linear_lut(x, w, b=None, bits=3, group=128):
    signs, alpha = fit_binary_coding(w, bits, group)
    y = x.astype(np.float64) @ dequantize_lut(signs, alpha).T
    return (y if b is None else y + b).astype(np.float32)


# --- bf16 -----------------------------------------------------------------------------------------------


def round_bf16(a):
    """Round-to-nearest-even to bf16, returned as f32."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def pack_bf16(w):
    n, k = w.shape
    kp = k + (k % 2)
    wp = np.zeros((n, kp), np.float32)
    wp[:, :k] = round_bf16(w)
    wp = _pad_rows(wp, 16)
    halves = (wp.view(np.uint32) >> 16).astype(np.uint16)
    return np.ascontiguousarray(halves.reshape(-1, 16, kp // 2, 2).transpose(0, 2, 1, 3).reshape(-1))


def linear_bf16(x, w, b=None):
    y = round_bf16(x).astype(np.float64) @ round_bf16(w).astype(np.float64).T
    return (y if b is None else y + b).astype(np.float32)
