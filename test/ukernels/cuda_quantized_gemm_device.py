"""The int8 device micro-kernels (ukernels/cuda/quantized_gemm.cu) on a GPU, against a numpy model of the CPU
kernel (ukernels/quantized_gemm.c), and their speed against PyTorch.

    python3 cuda_quantized_gemm_device.py build OUT.ptx          # here: clang compiles the entry points to PTX
    python3 cuda_quantized_gemm_device.py run OUT.ptx [--time]   # on the GPU machine: cupy (+ torch for --time)

Correctness: the row quantization (dynamic and static, strided activations) and both products (tensor-core
GEMM, dp4a GEMV) over ragged M, N, K, with and without bias, must equal the CPU kernel's arithmetic
bit for bit (the int32 sums are exact and every float operation is the CPU's, in its order).
int4 (group-wise, symmetric and with zero points): against s · (Σ q·x − z · Σ x) on f32 activations in
float64, rtol 1e-4 of the output scale (f32 sums in another order). The device kernels keep f32 activations;
the CPU kernel's W4A8 path (groups a multiple of 8) quantizes them to int8 first (docs/gpu.md).
Timing: quantization + GEMM of a BERT-base FFN ([1024, 768] x [768, 3072]) and a decode GEMV ([1, 768] x
[768, 3072]) against torch.matmul in f16, medians of CUDA-event timings.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def build(out):
    subprocess.run(["clang++-22", "-x", "cuda", "--cuda-device-only", "--cuda-gpu-arch=sm_80", "-nocudainc",
                    "-nocudalib", "-std=c++17", "-O3", "-fno-exceptions", "-Wno-unknown-cuda-version", "-I",
                    str(REPO / "ukernels" / "cuda"), "-S", str(HERE / "cuda_quantized_gemm_device.cu"), "-o",
                    str(out)], check=True)


# --- numpy model of ukernels/quantized_gemm.c (int8 W8A8) -------------------------------------------------

def quantize_rows(x, static_scale=0.0, static_zero=0):
    """u8 rows, scales, zero points exactly as int8_quantize_row computes them (float32 arithmetic)."""
    x = x.astype(np.float32)
    m = x.shape[0]
    if static_scale > 0:
        scale = np.full(m, static_scale, np.float32)
        inv = np.full(m, np.float32(1.0) / np.float32(static_scale), np.float32)
        zero = np.full(m, static_zero, np.int32)
    else:
        amax = np.abs(x).max(axis=1) if x.shape[1] else np.zeros(m, np.float32)
        safe = np.where(amax > 0, amax, np.float32(1)).astype(np.float32)
        scale = np.where(amax > 0, safe / np.float32(127), np.float32(1)).astype(np.float32)
        inv = np.where(amax > 0, np.float32(127) / safe, np.float32(0)).astype(np.float32)
        zero = np.full(m, 128, np.int32)
    q = np.rint(x * inv[:, None]) + zero[:, None].astype(np.float32)
    return np.clip(q, 0, 255).astype(np.uint8), scale, zero


def pack(w):
    """[N, K] int8 -> the [Np/16][Kp/4][16][4] bytes, column sums [Np] and padded N, K."""
    n, k = w.shape
    np_, kp = -(-n // 16) * 16, -(-k // 4) * 4
    padded = np.zeros((np_, kp), np.int8)
    padded[:n, :k] = w
    packed = padded.reshape(np_ // 16, 16, kp // 4, 4).transpose(0, 2, 1, 3).ravel()
    return np.ascontiguousarray(packed), padded.astype(np.int32).sum(axis=1).astype(np.int32), np_


def reference(x, w, w_scale, bias, static_scale=0.0, static_zero=0):
    q, scale, zero = quantize_rows(x, static_scale, static_zero)
    acc = (q.astype(np.int64) @ w.astype(np.int64).T)
    colsum = w.astype(np.int64).sum(axis=1)
    t = (acc - zero[:, None].astype(np.int64) * colsum[None, :]).astype(np.int32).astype(np.float32)
    v = t * (scale[:, None] * w_scale[None, : w.shape[0]])
    return (v + bias[None, :] if bias is not None else v).astype(np.float32), q


# --- the device side ------------------------------------------------------------------------------------------

class Device:
    def __init__(self, ptx):
        import cupy as cp
        self.cp = cp
        module = cp.RawModule(path=str(ptx))
        self.quantize = module.get_function("test_quantize_rows")
        self.gemm = module.get_function("test_qgemm")
        self.gemv = module.get_function("test_qgemv")
        self.int4 = module.get_function("test_int4")

    def prepare(self, w, w_scale, bias):
        cp = self.cp
        packed, colsum, np_ = pack(w)
        scales = np.zeros(np_, np.float32)
        scales[: w.shape[0]] = w_scale[: w.shape[0]]
        return dict(w=cp.asarray(packed), colsum=cp.asarray(colsum), scales=cp.asarray(scales),
                    bias=cp.asarray(bias) if bias is not None else None, n=w.shape[0], k=w.shape[1])

    def linear(self, x3, weights, use_gemv, static_scale=0.0, static_zero=0, ldy_extra=0):
        """x3: a cupy [B, S, K] f32 view (any strides). Returns (y [M, N], q [M, K] as u8)."""
        cp = self.cp
        b, s, k = x3.shape
        m, n = b * s, weights["n"]
        ldq = -(-k // 32) * 32
        q = cp.zeros((m, max(ldq, 1)), cp.int8)
        row_scale = cp.zeros(max(m, 1), cp.float32)
        correction = cp.zeros(max(m, 1), cp.int32)
        i64 = np.int64
        strides = [st // 4 for st in x3.strides]
        if m:
            self.quantize((m,), (256,), (i64(k), x3, i64(s), i64(strides[0]), i64(strides[1]), i64(strides[2]),
                                         np.float32(static_scale), i64(static_zero), q, i64(ldq), row_scale,
                                         correction))
        ldy = n + ldy_extra
        y = cp.full((m, ldy), cp.nan, cp.float32)
        bias = weights["bias"] if weights["bias"] is not None else np.uint64(0)
        args = (i64(m), i64(n), i64(k), q, i64(ldq), row_scale, correction, weights["w"], weights["colsum"],
                weights["scales"], bias, y, i64(ldy))
        if m and n:
            if use_gemv:
                self.gemv((-(-n // 128),), (256,), args)
            else:
                self.gemm((-(-n // 128), -(-m // 128)), (256,), args)
        cp.cuda.runtime.deviceSynchronize()
        return y[:, :n].get(), (q[:, :k].get().view(np.int8).astype(np.int16) + 128).astype(np.uint8)


def check(device):
    rng = np.random.default_rng(0)
    cp = device.cp
    failures = 0
    cases = [  # (B, S, K, N, bias, gemv, static, strided)
        (1, 1, 768, 3072, True, True, False, False),
        (1, 3, 70, 40, True, True, False, False),
        (2, 4, 64, 33, False, True, False, True),
        (8, 128, 768, 768, True, False, False, False),
        (1, 130, 70, 200, True, False, False, False),
        (3, 50, 300, 129, False, False, False, True),
        (1, 17, 33, 17, True, False, True, False),
        (2, 2, 4, 16, True, True, True, False),
        (1, 5, 0, 20, True, False, False, False),
        (1, 129, 96, 257, True, False, False, False),
    ]
    for b, s, k, n, has_bias, gemv, static, strided in cases:
        w = rng.integers(-127, 128, (n, k), dtype=np.int8)
        w_scale = (rng.random(n, dtype=np.float32) * 0.02 + 1e-3).astype(np.float32)
        bias = rng.standard_normal(n, dtype=np.float32) if has_bias else None
        if strided:  # every other row of a wider [B, 2S, K + 3] buffer
            big = cp.asarray(rng.standard_normal((b, 2 * s, k + 3), dtype=np.float32) * 3)
            x3 = big[:, ::2, 1 : k + 1]
        else:
            x3 = cp.asarray(rng.standard_normal((b, s, k), dtype=np.float32) * 3)
        if k:
            x3[0, 0, 0] = 0.0
        static_scale, static_zero = (0.05, 120) if static else (0.0, 0)
        weights = device.prepare(w, w_scale, bias)
        y, q = device.linear(x3, weights, gemv, static_scale, static_zero, ldy_extra=5)
        want, want_q = reference(x3.get().reshape(b * s, k), w, w_scale, bias, static_scale, static_zero)
        ok = np.array_equal(q, want_q) and np.array_equal(y, want)
        err = float(np.max(np.abs(y - want))) if y.size else 0.0
        print(f"{'ok  ' if ok else 'FAIL'} int8 {'gemv' if gemv else 'gemm'} M={b * s} K={k} N={n} bias={has_bias} "
              f"static={static} strided={strided}: q equal={np.array_equal(q, want_q)} max|dy|={err:.3g}")
        failures += not ok
    return failures


def pack_int4(q, scale, zero, group):
    """q [N, K] in [0, 15], scale/zero [N, K/G] -> nibbles [Np/16][K/2][16], scales/zeros [Np/16][K/G][16]."""
    n, k = q.shape
    np_ = -(-n // 16) * 16
    qp = np.zeros((np_, k), np.uint8)
    qp[:n] = q
    nibbles = (qp[:, 0::2] | (qp[:, 1::2] << 4)).reshape(np_ // 16, 16, k // 2).transpose(0, 2, 1)

    def side(v):
        p = np.zeros((np_, k // group), np.float32)
        p[:n] = v
        return np.ascontiguousarray(p.reshape(np_ // 16, 16, k // group).transpose(0, 2, 1)).ravel()

    return np.ascontiguousarray(nibbles).ravel(), side(scale), side(zero)


def check_int4(device):
    rng = np.random.default_rng(2)
    cp = device.cp
    failures = 0
    for b, s, k, n, group, asym, has_bias, gemv, strided in [
            (1, 1, 256, 300, 64, False, True, True, False), (2, 3, 128, 40, 32, True, False, True, True),
            (8, 16, 768, 768, 128, False, True, False, False), (1, 77, 96, 130, 32, True, True, False, True),
            (1, 33, 64, 16, 64, False, False, False, False)]:
        q = rng.integers(0, 16, (n, k)).astype(np.uint8)
        scale = (rng.random((n, k // group)) * 0.1 + 0.01).astype(np.float32)
        zero = rng.integers(0, 16, (n, k // group)).astype(np.float32) if asym else np.full((n, k // group), 8, np.float32)
        bias = rng.standard_normal(n).astype(np.float32) if has_bias else None
        packed, scales, zeros = pack_int4(q, scale, zero, group)
        if strided:
            big = cp.asarray(rng.standard_normal((b, 2 * s, k + 3), dtype=np.float32))
            x3 = big[:, ::2, 2 : k + 2]
        else:
            x3 = cp.asarray(rng.standard_normal((b, s, k), dtype=np.float32))
        m = b * s
        y = cp.full((m, n + 3), cp.nan, cp.float32)
        st = [v // 4 for v in x3.strides]
        i64 = np.int64
        cols, rows = (256, 8) if gemv else (64, 32)
        device.int4((-(-n // cols), -(-m // rows)), (256,),
                    (np.int32(gemv), i64(m), i64(n), i64(k), x3, i64(s), i64(st[0]), i64(st[1]), i64(st[2]),
                     cp.asarray(packed), cp.asarray(scales), cp.asarray(zeros) if asym else np.uint64(0), i64(group),
                     cp.asarray(bias) if has_bias else np.uint64(0), y, i64(n + 3)))
        got = y[:, :n].get()
        x = x3.get().reshape(m, k).astype(np.float64)
        w = (np.repeat(scale, group, axis=1).astype(np.float64) * (q - np.repeat(zero, group, axis=1)))
        want = x @ w.T + (bias if has_bias else 0)
        err = float(np.max(np.abs(got - want)))
        ok = err <= 1e-4 * max(1.0, float(np.max(np.abs(want))))
        print(f"{'ok  ' if ok else 'FAIL'} int4 {'gemv' if gemv else 'gemm'} M={m} K={k} N={n} G={group} asym={asym} "
              f"bias={has_bias} strided={strided}: max|dy|={err:.3g}")
        failures += not ok
    return failures


def timing(device, runs=50):
    import torch
    cp = device.cp
    rng = np.random.default_rng(1)
    for m, k, n in [(1024, 768, 3072), (1, 768, 3072)]:
        w = rng.integers(-127, 128, (n, k), dtype=np.int8)
        weights = device.prepare(w, np.full(n, 0.01, np.float32), rng.standard_normal(n, dtype=np.float32))
        x3 = cp.asarray(rng.standard_normal((1, m, k), dtype=np.float32))
        ldq = -(-k // 32) * 32
        q = cp.zeros((m, ldq), cp.int8)
        rs, corr = cp.zeros(m, cp.float32), cp.zeros(m, cp.int32)
        y = cp.zeros((m, n), cp.float32)
        i64 = np.int64
        gemv = m <= 8

        def quantize():
            device.quantize((m,), (256,), (i64(k), x3, i64(m), i64(m * k), i64(k), i64(1), np.float32(0), i64(0), q,
                                           i64(ldq), rs, corr))

        def product():
            args = (i64(m), i64(n), i64(k), q, i64(ldq), rs, corr, weights["w"], weights["colsum"], weights["scales"],
                    weights["bias"], y, i64(n))
            if gemv:
                device.gemv((-(-n // 128),), (256,), args)
            else:
                device.gemm((-(-n // 128), -(-m // 128)), (256,), args)

        def median_ms(fn):
            start, stop = cp.cuda.Event(), cp.cuda.Event()
            times = []
            for _ in range(runs):
                start.record()
                fn()
                stop.record()
                stop.synchronize()
                times.append(cp.cuda.get_elapsed_time(start, stop))
            return float(np.median(times))

        for _ in range(5):
            quantize(), product()
        t_both = median_ms(lambda: (quantize(), product()))
        t_gemm = median_ms(product)
        a16 = torch.randn(m, k, device="cuda", dtype=torch.float16)
        b16 = torch.randn(k, n, device="cuda", dtype=torch.float16)
        a32, b32 = a16.float(), b16.float()
        torch.backends.cuda.matmul.allow_tf32 = False

        def torch_ms(a, b):
            for _ in range(5):
                torch.matmul(a, b)
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            times = []
            for _ in range(runs):
                start.record()
                torch.matmul(a, b)
                stop.record()
                stop.synchronize()
                times.append(start.elapsed_time(stop))
            return float(np.median(times))

        t16, t32 = torch_ms(a16, b16), torch_ms(a32, b32)
        ops = 2.0 * m * n * k
        print(f"[{m},{k}]x[{k},{n}] {'dp4a GEMV' if gemv else 'mma GEMM'}: quantize+product {t_both * 1e3:.1f} us "
              f"({ops / t_both / 1e9:.1f} TOPS), product {t_gemm * 1e3:.1f} us ({ops / t_gemm / 1e9:.1f} TOPS); "
              f"torch f16 {t16 * 1e3:.1f} us ({ops / t16 / 1e9:.1f} TFLOP/s), torch f32 {t32 * 1e3:.1f} us; "
              f"effc int8 / torch f16 = {t_both / t16:.2f}x the time")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["build", "run"])
    parser.add_argument("ptx", type=Path)
    parser.add_argument("--time", action="store_true", help="also time against torch.matmul")
    args = parser.parse_args()
    if args.mode == "build":
        build(args.ptx)
        return 0
    device = Device(args.ptx)
    failures = check(device) + check_int4(device)
    if args.time:
        timing(device)
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
