"""Numerics of the CUDA attention micro-kernels (ukernels/cuda/attention.cu) without a GPU: the same source compiled
as host C++ (test/ukernels/cuda_attention_host.cpp runs each block's threads as host threads, the warp shuffles
emulated through a barrier), over the grid that effc-gpu-attention-ukernels launches, against a float64 numpy
implementation of eff.attention (docs/spec/eff.md#effattention).

Cases: the f32 entry points (prefill: 16-row blocks, 32-key tiles; decode: 8 warps splitting the keys), ragged
query and key lengths, head sizes 16, 26, 64 and 128 (the kernels' limit), grouped-query heads, causal masking
(queries are the last S positions), a padding mask that hides every key of one batch row (zeros out), a KV cache
read in place, and operands that are column blocks of wider buffers (strides). Tolerance: f32 accumulation of
unit-scale dot products over Dh <= 128 and softmax sums over L <= 300: rtol 1e-4, atol 2e-5.

The tensor-core prefill kernels (bf16 and f16 products; 64-row blocks, 64-key tiles with Q in registers up to
head size 64, 32-key tiles with Q in shared memory up to 128) run every prefill case and a few of their own,
with ldmatrix (plain and transposed) and mma.sync emulated from the PTX ISA's fragment layouts, against the
float64 reference on operands rounded to the format (tolerances below).
"""

import ctypes

import numpy as np
import pytest
from product_formats import bf16_round, f16_round
from ukernel_build import CLANGXX, build_cuda_host_harness

pytestmark = pytest.mark.skipif(CLANGXX is None, reason="clang++-22 not found")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    lib = build_cuda_host_harness(tmp_path_factory, "cuda_attention_host")
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    operand3 = [ptr, i64, i64, i64]
    lib.effc_test_attention.argtypes = ([ctypes.c_int, i64] + [i64] * 6 + operand3 * 5 + [ptr, i64, i64] + operand3
                                        + [ctypes.c_float, i64, i64])
    lib.effc_test_attention.restype = ctypes.c_int
    return lib


def reference(q, k, v, heads, kv_heads, scale, causal, mask):
    """float64 eff.attention over the full keys k, v [B, L, Hkv·Dh]; mask [B, L] (0 hides) or None."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    batch, s, hidden = q.shape
    dh, length, group = hidden // heads, k.shape[1], heads // kv_heads
    out = np.zeros((batch, s, hidden))
    for b in range(batch):
        for h in range(heads):
            g = h // group
            scores = q[b, :, h * dh:(h + 1) * dh] @ k[b, :, g * dh:(g + 1) * dh].T * scale
            hidden_keys = np.zeros((s, length), bool)
            if causal:
                hidden_keys |= np.arange(length)[None, :] > np.arange(s)[:, None] + length - s
            if mask is not None:
                hidden_keys |= (mask[b] == 0)[None, :]
            scores[hidden_keys] = -np.inf
            top = scores.max(axis=1, keepdims=True)
            top[np.isneginf(top)] = 0
            e = np.exp(scores - top)
            total = e.sum(axis=1, keepdims=True)
            p = e / np.where(total == 0, 1, total)
            out[b, :, h * dh:(h + 1) * dh] = p @ v[b, :, g * dh:(g + 1) * dh]
    return out


def view(rng, shape, pad):
    """A [B, R, C] f32 array that is a column block of a wider buffer (when pad > 0)."""
    buffer = rng.standard_normal((shape[0], shape[1], shape[2] + pad)).astype(np.float32)
    return buffer[:, :, pad // 2:pad // 2 + shape[2]]


DECODE, PREFILL_F32 = 0, 1
# The tensor-core prefill kernels: (format, largest head size) -> entry point number of cuda_attention_host.cpp.
MMA = {("bf16", 64): 2, ("bf16", 128): 3, ("f16", 64): 4, ("f16", 128): 5}


def run(kernel, which, q, k, v, past_k, past_v, mask, heads, kv_heads, scale, causal, out):
    def op(x):
        return [x.ctypes.data] + [st // 4 for st in x.strides]
    has_past = past_k is not None
    if not has_past:
        past_k, past_v = k, v
    mask_args = [mask.ctypes.data, mask.strides[0] // 4, mask.strides[1] // 4] if mask is not None else [None, 0, 0]
    status = kernel.effc_test_attention(which, q.shape[0], q.shape[1], k.shape[1],
                                        past_k.shape[1] if has_past else 0, heads, kv_heads, q.shape[2] // heads,
                                        *op(q), *op(k), *op(v), *op(past_k), *op(past_v), *mask_args, *op(out),
                                        scale,
                                        int(causal), int(mask is not None))
    assert status == 0, "an access would have been misaligned on the device"


CASES = [
    # decode, B, S, L', P, H, Hkv, Dh, causal, mask, pad
    (False, 2, 37, 37, 0, 4, 4, 16, False, True, 0),
    (False, 1, 16, 16, 0, 2, 2, 64, True, False, 3),
    (False, 2, 50, 50, 0, 4, 2, 26, True, True, 0),
    (False, 1, 20, 70, 0, 2, 1, 128, True, False, 0),   # S < L: queries are the last S positions
    (False, 1, 33, 5, 40, 2, 2, 32, True, True, 2),     # KV cache
    (True, 2, 1, 1, 300, 4, 4, 64, True, True, 0),      # decode step
    (True, 1, 3, 3, 100, 4, 2, 128, True, False, 5),
    (True, 1, 2, 40, 0, 2, 2, 26, False, True, 0),
]


def problem(batch, s, new, past, heads, kv_heads, dh, masked, pad):
    """Random operands (column blocks of wider buffers when pad > 0) and a padding mask, or None."""
    rng = np.random.default_rng(batch * 1000 + s * 7 + new + past + dh)
    q = view(rng, (batch, s, heads * dh), pad)
    k = view(rng, (batch, new, kv_heads * dh), pad)
    v = view(rng, (batch, new, kv_heads * dh), pad)
    past_k = view(rng, (batch, past, kv_heads * dh), pad) if past else None
    past_v = view(rng, (batch, past, kv_heads * dh), pad) if past else None
    length = past + new
    mask = None
    if masked:
        mask = (rng.random((batch, length)) > 0.3).astype(np.float32)
        mask[-1, :] = 0 if batch > 1 else mask[-1, :]  # a batch row that sees no key: zeros
    return q, k, v, past_k, past_v, mask


def attend(kernel, which, case, rounded=None):
    """Runs entry point `which` on `case`; returns its output and the float64 reference, computed on operands
    passed through `rounded` (the tensor-core kernels' rounding) when given."""
    batch, s, new, past, heads, kv_heads, dh, causal, masked, pad = case
    q, k, v, past_k, past_v, mask = problem(batch, s, new, past, heads, kv_heads, dh, masked, pad)
    scale = 1.0 / np.sqrt(dh)
    out_buffer = np.full((batch, s, heads * dh + pad), 7.0, np.float32)
    out = out_buffer[:, :, :heads * dh]
    run(kernel, which, q, k, v, past_k, past_v, mask, heads, kv_heads, scale, causal, out)
    assert (out_buffer[:, :, heads * dh:] == 7.0).all()  # nothing outside the output written
    full_k = np.concatenate([past_k, k], axis=1) if past else k
    full_v = np.concatenate([past_v, v], axis=1) if past else v
    if rounded is not None:
        q, full_k, full_v = rounded(q), rounded(full_k), rounded(full_v)
    return out, reference(q, full_k, full_v, heads, kv_heads, scale, causal, mask)


@pytest.mark.parametrize("decode, batch, s, new, past, heads, kv_heads, dh, causal, masked, pad", CASES)
def test_attention_matches_numpy(kernel, decode, batch, s, new, past, heads, kv_heads, dh, causal, masked, pad):
    out, expected = attend(kernel, DECODE if decode else PREFILL_F32,
                           (batch, s, new, past, heads, kv_heads, dh, causal, masked, pad))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=2e-5)


# Prefill cases for the tensor-core kernels (64-row blocks, 64-key tiles): the prefill CASES above plus whole
# and partial tiles at BERT's head size, causal prefill longer than a tile, and a KV cache that ends inside a tile.
MMA_CASES = [case[1:] for case in CASES if not case[0]] + [
    # B, S, L', P, H, Hkv, Dh, causal, mask, pad
    (2, 128, 128, 0, 2, 2, 64, False, True, 0),   # BERT: two row blocks, two key tiles
    (1, 130, 130, 0, 2, 1, 64, True, False, 4),   # a third, partial row block
    (1, 70, 10, 90, 2, 2, 48, True, True, 0),     # cache of 90 and 10 new keys: the second tile straddles them
    (2, 100, 60, 40, 2, 2, 96, True, True, 2),    # _d128 only: two row blocks, cached and new keys, strides
]
# Tolerance: the probabilities are rounded to the product format before P·V (as flash-attention does) and the
# queries after scaling, so each output may be off by a few units of the format's last place of max|v|.
MMA_TOLERANCE = {"bf16": 2e-2, "f16": 3e-3}


@pytest.mark.parametrize("products", ["bf16", "f16"])
@pytest.mark.parametrize("case", MMA_CASES)
def test_tensor_core_attention_matches_numpy(kernel, products, case):
    dh = case[6]
    for max_dh in (64, 128):
        if dh > max_dh:
            continue
        out, expected = attend(kernel, MMA[products, max_dh], case, bf16_round if products == "bf16" else f16_round)
        tolerance = MMA_TOLERANCE[products]
        np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
