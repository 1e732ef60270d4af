"""Benchmark: GFLOP/s (f32) and GOP/s (int8) of effc-compiled linear layers at BERT-base shapes, on both cores.

Each layer y = x·Wᵀ + b (x [M, K], W [N, K] constant, embedded in the module) is compiled with effc (the int8
variant with --quantize=int8: int8 weights per channel, activations quantized per row at run time) and run
with effc-run --bench. PyTorch's F.linear (f32) or its dynamically quantized int8 Linear
(torch.ao.quantization.quantize_dynamic, the int8 peer) is timed on the same data and threads in the same
run, so only the same-run ratio is meaningful on a shared machine. (numpy is no peer here: Debian's numpy
links the reference BLAS.) "% peak" is of the FMA (f32) or VNNI (int8) peak that bench/ukernel_peaks.c
measures on the same threads, first, in the same run; "rel err" is against the f32 product in float64.

    /usr/bin/python3 bench/linear_layers.py [--runs 50] [--threads 2] [--variants f32,int8]
    /usr/bin/python3 bench/linear_layers.py --variants f32,f32-generated --shapes 1x768x3072,128x768x3072

Variants: f32 (the f32 micro-kernel, effc's default), f32-generated (the same layer as generated code:
effc --no-f32-linear-kernel), int8, int4 (W4A8, group 128) and 2:4 (--sparsity=2:4, f32 values). The rates
of int4 and 2:4 are effective (dense products per second; int4 against the VNNI peak, 2:4 against FMA); their
"rel err" includes the compression's own error, and PyTorch runs the dense layer.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("EFFC_BIN_DIR", REPO / "build" / "bin"))
sys.path.insert(0, str(REPO / "python-bindings"))
from effc.ir import write_safetensors  # noqa: E402
SHAPES = [(128, 768, 768), (128, 768, 3072), (128, 3072, 768)]  # (M, K, N): QKV/output, FFN up, FFN down
VARIANT_FLAGS = {"f32": [], "f32-generated": ["--no-f32-linear-kernel"], "int8": ["--quantize=int8"],
                 "int4": ["--quantize=int4"], "2:4": ["--sparsity=2:4"]}


def linear_module(m, k, n):
    return f"""module attributes {{eff.weights = "weights.safetensors"}} {{
  func.func @main(%x: tensor<{m}x{k}xf32> {{eff.name = "x"}}) -> (tensor<{m}x{n}xf32> {{eff.name = "y"}}) {{
    %w = eff.parameter "w" : tensor<{n}x{k}xf32>
    %b = eff.parameter "b" : tensor<{n}xf32>
    %y = eff.linear %x, %w, %b : (tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<{m}x{n}xf32>
    return %y : tensor<{m}x{n}xf32>
  }}
}}
"""


def effc_latency_ms(workdir, m, k, n, x, runs, threads, flags=()):
    import numpy as np

    rng = np.random.default_rng(0)
    w = rng.standard_normal((n, k), dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    write_safetensors(workdir / "weights.safetensors", {"w": w, "b": b})
    (workdir / "linear.mlir").write_text(linear_module(m, k, n))
    subprocess.run([BIN / "effc", workdir / "linear.mlir", "-o", workdir / "linear.so", *flags], check=True)
    np.save(workdir / "x.npy", x)
    out = subprocess.run([BIN / "effc-run", workdir / "linear.so", "--input", f"x={workdir / 'x.npy'}",
                          "--output-dir", workdir, "--bench", str(runs), "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    y = np.load(workdir / "y.npy")
    expected = x.astype(np.float64) @ w.T.astype(np.float64) + b
    error = np.abs(y - expected).max() / np.abs(expected).max()
    stats = re.search(r"min ([\d.]+) median ([\d.]+) max ([\d.]+)", out)
    return float(stats.group(1)), float(stats.group(2)), (w, b), error


def torch_latency_ms(x, w, b, runs, threads, int8=False):
    import torch

    torch.set_num_threads(threads)
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
    layer = torch.nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        layer.weight.copy_(tw)
        layer.bias.copy_(tb)
    if int8:
        layer = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(layer), {torch.nn.Linear},
                                                       dtype=torch.qint8)
    times = []
    with torch.inference_mode():
        for _ in range(3):
            layer(tx)
        for _ in range(runs):
            start = time.perf_counter()
            layer(tx)
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[0], times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", default="f32,int8", help="comma-separated: " + ", ".join(VARIANT_FLAGS))
    parser.add_argument("--shapes", default=",".join("x".join(map(str, shape)) for shape in SHAPES),
                        help="comma-separated MxKxN (default: BERT-base's at 128 tokens)")
    args = parser.parse_args()
    variants = args.variants.split(",")
    if any(v not in VARIANT_FLAGS for v in variants):
        parser.error(f"--variants: expected some of {', '.join(VARIANT_FLAGS)}, got {args.variants}")
    try:
        shapes = [tuple(int(d) for d in shape.split("x")) for shape in args.shapes.split(",")]
        if any(len(shape) != 3 or min(shape) < 1 for shape in shapes):
            raise ValueError
    except ValueError:
        parser.error(f"--shapes: expected positive MxKxN, got {args.shapes}")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numpy as np

    sys.path.insert(0, str(REPO / "bench"))
    from ukernel_peaks import measure_peaks

    with tempfile.TemporaryDirectory() as tmp:
        peaks = measure_peaks(Path(tmp), args.threads)[args.threads]
        print(f"effc linear layers, {args.threads} threads, median of {args.runs} runs (peaks measured now, best "
              f"of 5: FMA {peaks['fma_gflops']:.0f} GFLOP/s, VNNI {peaks['vnni_gops']:.0f} GOP/s)")
        print(f"{'variant':>13} {'M x K x N':>18} {'effc ms':>8} {'G(FL)OP/s':>9} {'% peak':>7} {'PyTorch ms':>11} "
              f"{'speedup':>8} {'rel err':>8}")
        for variant in variants:
            int8 = variant == "int8"
            peak_int8 = variant in ("int8", "int4")
            peak = peaks["vnni_gops" if peak_int8 else "fma_gflops"]
            for m, k, n in shapes:
                x = np.random.default_rng(1).standard_normal((m, k), dtype=np.float32)
                _, median, (w, b), error = effc_latency_ms(Path(tmp), m, k, n, x, args.runs, args.threads,
                                                           VARIANT_FLAGS[variant])
                _, torch_median = torch_latency_ms(x, w, b, args.runs, args.threads, int8=int8)
                rate = 2 * m * k * n / median / 1e6
                print(f"{variant:>13} {f'{m} x {k} x {n}':>18} {median:8.3f} {rate:9.1f} {100 * rate / peak:6.1f}% "
                      f"{torch_median:11.3f} {torch_median / median:7.2f}x {error:8.1e}")


if __name__ == "__main__":
    sys.exit(main())
