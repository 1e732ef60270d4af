"""The CUDA attention kernels (ukernels/cuda/attention.cu) on a GPU: numerics against PyTorch and timings against
torch.nn.functional.scaled_dot_product_attention. Needs a GPU with torch and cupy; not part of CI (no GPU there:
test_cuda_attention.py runs the same source on the host).

    clang++-22 -x cuda --cuda-device-only --cuda-gpu-arch=sm_90 -nocudainc -nocudalib -std=c++17 -O3 \\
        -I ukernels/cuda -S test/ukernels/cuda_attention_kernels.cu -o attention.ptx
    ptxas -arch=sm_90 attention.ptx -o attention.cubin
    python3 cuda_attention_device.py attention.cubin

Numerics: every case against a float64 implementation of eff.attention in PyTorch (rtol 1e-4, atol 1e-5 on unit-scale
inputs); the tensor-core prefill kernels (bf16 and f16 products) on every prefill case with rtol and atol 2e-2 (bf16)
and 3e-3 (f16), their operands and probabilities being rounded to the format. Timings: CUDA events around 20 launches,
median of 7 repetitions, per launch; the kernel with the operands in eff's hidden layout [B, S, H·Dh], PyTorch with
contiguous [B, H, S, Dh] tensors.
"""

import sys

import cupy as cp
import numpy as np
import torch

torch.backends.cuda.matmul.allow_tf32 = False
module = cp.RawModule(path=sys.argv[1])
GENERIC = module.get_function("attention_prefill"), module.get_function("attention_decode")
# Specialised to 12 heads of 64 in 768-wide rows (the constants effc's launches inline): for the timings.
H12_D64 = module.get_function("attention_prefill_h12_d64"), module.get_function("attention_decode_h12_d64")
# The tensor-core prefill kernels, by format and largest head size, and specialised as above.
MMA = {(fmt, d): module.get_function(f"attention_mma_{fmt}_d{d}") for fmt in ("bf16", "f16") for d in (64, 128)}
MMA_H12_D64 = {fmt: module.get_function(f"attention_mma_{fmt}_h12_d64") for fmt in ("bf16", "f16")}
MMA_TOLERANCE = {"bf16": 2e-2, "f16": 3e-3}
MMA_ROWS = 64  # query rows per block of the tensor-core kernels
i64 = np.int64


def launch(q, k, v, past_k, past_v, mask, heads, kv_heads, causal, out, decode=None, kernels=GENERIC, mma=None):
    """The kernel as effc-gpu-attention-ukernels launches it; tensors are torch [B, rows, width] f32 (CUDA).
    `mma`: a tensor-core prefill kernel to launch instead of the f32 prefill."""
    batch, s, width = q.shape
    dh = width // heads
    decode = s <= 4 if decode is None else decode
    def op(t):
        return [np.uint64(t.data_ptr())] + [i64(x) for x in t.stride()]
    has_past = past_k is not None
    pk, pv = (past_k, past_v) if has_past else (k, v)
    mask_args = [np.uint64(mask.data_ptr()), i64(mask.stride(0)), i64(mask.stride(1))] if mask is not None else \
        [np.uint64(0), i64(0), i64(0)]
    args = [i64(s), i64(k.shape[1]), i64(pk.shape[1] if has_past else 0), i64(heads), i64(kv_heads), i64(dh),
            *op(q), *op(k), *op(v), *op(pk), *op(pv), *mask_args, *op(out), np.float32(1 / np.sqrt(dh)),
            i64(causal), i64(mask is not None)]
    prefill_kernel, decode_kernel = kernels
    if decode:
        decode_kernel((batch * heads, s, 1), (256, 1, 1), tuple(args))
    elif mma is not None:
        mma((batch * heads, (s + MMA_ROWS - 1) // MMA_ROWS, 1), (128, 1, 1), tuple(args))
    else:
        prefill_kernel((batch * heads, (s + 15) // 16, 1), (128, 1, 1), tuple(args))


def reference(q, k, v, heads, kv_heads, causal, mask):
    q, k, v = q.double(), k.double(), v.double()
    batch, s, width = q.shape
    dh, length = width // heads, k.shape[1]
    qh = q.view(batch, s, heads, dh).transpose(1, 2)
    kh = k.view(batch, length, kv_heads, dh).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
    vh = v.view(batch, length, kv_heads, dh).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
    scores = qh @ kh.transpose(-1, -2) / np.sqrt(dh)
    hidden = torch.zeros(batch, 1, s, length, dtype=torch.bool, device=q.device)
    if causal:
        j, i = torch.arange(length, device=q.device), torch.arange(s, device=q.device)
        hidden |= (j[None, :] > i[:, None] + length - s)[None, None]
    if mask is not None:
        hidden |= (mask == 0)[:, None, None, :]
    scores = scores.masked_fill(hidden, -torch.inf)
    top = scores.amax(-1, keepdim=True).nan_to_num(neginf=0.0)
    e = (scores - top).exp()
    total = e.sum(-1, keepdim=True)
    p = e / torch.where(total == 0, torch.ones_like(total), total)
    return (p @ vh).transpose(1, 2).reshape(batch, s, width)


def check(name, batch, s, new, past, heads, kv_heads, dh, causal, masked, decode=None, mma=None):
    g = torch.Generator(device="cuda").manual_seed(batch * 7 + s + new + past + dh)
    def rand(*shape):
        return torch.randn(*shape, device="cuda", generator=g)
    q, k, v = rand(batch, s, heads * dh), rand(batch, new, kv_heads * dh), rand(batch, new, kv_heads * dh)
    pk = rand(batch, past, kv_heads * dh) if past else None
    pv = rand(batch, past, kv_heads * dh) if past else None
    mask = None
    if masked:
        mask = (torch.rand(batch, past + new, device="cuda", generator=g) > 0.3).float()
        if batch > 1:
            mask[-1] = 0  # a row that sees no key: zeros
    out = torch.full((batch, s, heads * dh), 7.0, device="cuda")
    kernel = None
    if mma is not None:
        kernel = MMA[mma, 64 if dh <= 64 else 128]
    launch(q, k, v, pk, pv, mask, heads, kv_heads, causal, out, decode, mma=kernel)
    torch.cuda.synchronize()
    fk = torch.cat([pk, k], 1) if past else k
    fv = torch.cat([pv, v], 1) if past else v
    want = reference(q, fk, fv, heads, kv_heads, causal, mask)
    diff = (out.double() - want).abs()
    rtol, atol = (1e-4, 1e-5) if mma is None else (MMA_TOLERANCE[mma], MMA_TOLERANCE[mma])
    ok = bool((diff <= atol + rtol * want.abs()).all()) and bool(out.isfinite().all())
    print(f"{'ok  ' if ok else 'FAIL'} {name}{' ' + mma if mma else ''}: max|d| {diff.max().item():.2e}")
    return ok


def timed(fn, inner=20, reps=7):
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / inner)
    return float(np.median(times))


def bench_prefill(batch, heads, s, dh, masked):
    q, k, v = (torch.randn(batch, s, heads * dh, device="cuda") for _ in range(3))
    mask = torch.ones(batch, s, device="cuda") if masked else None
    out = torch.empty_like(q)
    ours = timed(lambda: launch(q, k, v, None, None, mask, heads, heads, False, out, kernels=H12_D64))
    torch.cuda.synchronize()
    want = reference(q, k, v, heads, heads, False, mask)
    assert torch.allclose(out.double(), want, rtol=1e-4, atol=1e-5), "specialised prefill kernel differs"
    tensor_cores = {}
    for fmt, kernel in MMA_H12_D64.items():
        tensor_cores[fmt] = timed(lambda: launch(q, k, v, None, None, mask, heads, heads, False, out, mma=kernel))
        torch.cuda.synchronize()
        tolerance = MMA_TOLERANCE[fmt]
        assert torch.allclose(out.double(), want, rtol=tolerance, atol=tolerance), f"specialised {fmt} kernel differs"
    t = {}
    for dtype in (torch.float32, torch.float16):
        tq, tk, tv = (torch.randn(batch, heads, s, dh, device="cuda", dtype=dtype) for _ in range(3))
        tmask = torch.ones(batch, 1, 1, s, device="cuda", dtype=torch.bool) if masked else None
        t[dtype] = timed(lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tmask))
    flops = 4 * batch * heads * s * s * dh
    print(f"prefill B{batch} H{heads} S{s} D{dh} mask={masked}: effc {ours * 1e3:.1f} us "
          f"({flops / ours / 1e9:.2f} TFLOP/s), effc bf16 {tensor_cores['bf16'] * 1e3:.1f} us, "
          f"effc f16 {tensor_cores['f16'] * 1e3:.1f} us ({flops / tensor_cores['f16'] / 1e9:.2f} TFLOP/s), "
          f"torch f32 {t[torch.float32] * 1e3:.1f} us, torch f16 {t[torch.float16] * 1e3:.1f} us")


def bench_decode(batch, heads, length, dh):
    q, k, v = (torch.randn(batch, 1, heads * dh, device="cuda") for _ in range(3))
    pk, pv = (torch.randn(batch, length - 1, heads * dh, device="cuda") for _ in range(2))
    out = torch.empty_like(q)
    ours = timed(lambda: launch(q, k, v, pk, pv, None, heads, heads, True, out, kernels=H12_D64))
    torch.cuda.synchronize()
    want = reference(q, torch.cat([pk, k], 1), torch.cat([pv, v], 1), heads, heads, True, None)
    assert torch.allclose(out.double(), want, rtol=1e-4, atol=1e-5), "specialised decode kernel differs"
    t = {}
    for dtype in (torch.float32, torch.float16):
        tq = torch.randn(batch, heads, 1, dh, device="cuda", dtype=dtype)
        tk, tv = (torch.randn(batch, heads, length, dh, device="cuda", dtype=dtype) for _ in range(2))
        t[dtype] = timed(lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv))
    gbs = 2 * batch * length * heads * dh * 4 / (ours * 1e-3) / 1e9
    print(f"decode B{batch} H{heads} L{length} D{dh}: effc {ours * 1e3:.1f} us ({gbs:.0f} GB/s of K/V), "
          f"torch f32 {t[torch.float32] * 1e3:.1f} us, torch f16 {t[torch.float16] * 1e3:.1f} us")


def main():
    print(torch.cuda.get_device_name())
    cases = [
        ("bert-base masked", 8, 128, 128, 0, 12, 12, 64, False, True),
        ("gpt2 prefill causal", 2, 200, 200, 0, 12, 12, 64, True, False),
        ("gqa causal dh128 S<L", 2, 77, 90, 0, 8, 2, 128, True, False),
        ("dh26 masked", 3, 50, 50, 0, 3, 3, 26, False, True),
        ("prefill with cache", 2, 33, 33, 40, 4, 4, 32, True, True),
        ("decode L1024", 1, 1, 1, 1023, 12, 12, 64, True, False),
        ("decode masked", 4, 1, 1, 299, 12, 12, 64, True, True),
        ("decode 3 rows gqa", 2, 3, 3, 100, 8, 2, 128, True, False),
        ("small S via prefill", 2, 3, 3, 100, 8, 2, 128, True, True, False),
        ("tiny examples shape", 2, 9, 9, 0, 4, 4, 16, True, True),
    ]
    results = [check(*case) for case in cases]
    # The tensor-core prefill kernels on every case that takes the prefill path.
    for case in cases:
        prefill = case[10] is False if len(case) > 10 else case[2] > 4
        if prefill:
            results += [check(*case[:10], False, mma=fmt) for fmt in ("bf16", "f16")]
    ok = all(results)
    bench_prefill(8, 12, 128, 64, True)
    bench_prefill(8, 12, 128, 64, False)
    for length in (128, 256, 512, 1024):
        bench_decode(1, 12, length, 64)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
