"""Benchmark: f32 GFLOP/s of effc-compiled linear layers at BERT-base shapes, on both cores.

Each layer y = x·Wᵀ + b (x [M, K], W [N, K] constant, embedded in the module) is compiled with effc and run
with effc-run --bench; PyTorch's F.linear (inference mode, same data, same number of threads) is timed in
the same run, so only the same-run ratio is meaningful on a shared machine. (numpy is no peer here:
Debian's numpy links the reference BLAS.) "% peak" is of the FMA peak that bench/ukernel_peaks.c measures on
the same threads, first, in the same run.

    /usr/bin/python3 bench/linear_layers.py [--runs 50] [--threads 2]
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


def effc_latency_ms(workdir, m, k, n, x, runs, threads):
    import numpy as np

    rng = np.random.default_rng(0)
    w = rng.standard_normal((n, k), dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    write_safetensors(workdir / "weights.safetensors", {"w": w, "b": b})
    (workdir / "linear.mlir").write_text(linear_module(m, k, n))
    subprocess.run([BIN / "effc", workdir / "linear.mlir", "-o", workdir / "linear.so"], check=True)
    np.save(workdir / "x.npy", x)
    out = subprocess.run([BIN / "effc-run", workdir / "linear.so", "--input", f"x={workdir / 'x.npy'}",
                          "--output-dir", workdir, "--bench", str(runs), "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    y = np.load(workdir / "y.npy")
    error = np.abs(y - (x @ w.T + b)).max() / np.abs(x @ w.T + b).max()
    stats = re.search(r"min ([\d.]+) median ([\d.]+) max ([\d.]+)", out)
    return float(stats.group(1)), float(stats.group(2)), (w, b), error


def torch_latency_ms(x, w, b, runs, threads):
    import torch

    torch.set_num_threads(threads)
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
    times = []
    with torch.inference_mode():
        for _ in range(3):
            torch.nn.functional.linear(tx, tw, tb)
        for _ in range(runs):
            start = time.perf_counter()
            torch.nn.functional.linear(tx, tw, tb)
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[0], times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numpy as np

    sys.path.insert(0, str(REPO / "bench"))
    from ukernel_peaks import measure_peaks

    with tempfile.TemporaryDirectory() as tmp:
        peak = measure_peaks(Path(tmp), args.threads)[args.threads]["fma_gflops"]
        print(f"effc linear layers, f32, {args.threads} threads, median of {args.runs} runs "
              f"(FMA peak measured now, best of 5: {peak:.0f} GFLOP/s)")
        print(f"{'M x K x N':>18} {'effc ms':>8} {'GFLOP/s':>8} {'% peak':>7} {'PyTorch ms':>11} {'speedup':>8} "
              f"{'rel err':>8}")
        for m, k, n in SHAPES:
            x = np.random.default_rng(1).standard_normal((m, k), dtype=np.float32)
            _, median, (w, b), error = effc_latency_ms(Path(tmp), m, k, n, x, args.runs, args.threads)
            _, torch_median = torch_latency_ms(x, w, b, args.runs, args.threads)
            gflops = 2 * m * k * n / median / 1e6
            print(f"{f'{m} x {k} x {n}':>18} {median:8.3f} {gflops:8.1f} {100 * gflops / peak:6.1f}% "
                  f"{torch_median:11.3f} {torch_median / median:7.2f}x {error:8.1e}")


if __name__ == "__main__":
    sys.exit(main())
