"""Benchmark: this machine's ceilings, and the compressed linear layers of effc against them.

1. Peaks, measured (bench/ukernel_peaks.c, compiled with clang-22): f32 FMA GFLOP/s, int8 VNNI (vpdpbusd)
   GOP/s and, with AVX512-BF16, bf16 (vdpbf16ps) GFLOP/s from register-only loops, and streaming-read bandwidth (GB/s) from a 1 GiB buffer, on 1 and on
   `--threads` threads.
2. Compute-bound shapes: one linear layer y = x·Wᵀ + b at BERT-base shapes (M = 1024 = batch 8 x seq 128,
   and M = 128; K x N in 768 x 768, 768 x 3072, 3072 x 768), compiled with effc for each scheme and timed
   with effc-run --bench; GOP/s (2·M·K·N / median) as a percentage of the VNNI peak (int8), of the bf16
   peak (bf16, where measured) or of the FMA peak (f32 and the weight-only schemes, which compute in f32).
3. Decode shapes (M = 1): a module of `L` independent layers of one shape, L chosen so that the f32 weights
   total about --decode-mbytes (each layer's weights are touched once per run, as in a decoder); GB/s of
   weights (and scales) streamed per run, as a percentage of the measured streaming bandwidth. A
   percentage above 100 means that the compressed weights stayed in the last-level cache between runs.

    /usr/bin/python3 bench/ukernel_peaks.py [--runs 30] [--threads 2] [--schemes f32,int8,int4,lut:3,bf16]

The machine is shared: each layer is reported by its median and by its best of --runs runs, the peaks by
their best of 5 (on a loaded machine the best-to-best ratio tracks what the kernel can do), and only
figures from one run of this script should be compared with each other.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from linear_layers import write_safetensors  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("EFFC_BIN_DIR", REPO / "build" / "bin"))
KN = [(768, 768), (768, 3072), (3072, 768)]  # QKV/output projection, FFN up, FFN down
COMPUTE_M = [1024, 128]


def measure_peaks(workdir, threads):
    """Compiles and runs bench/ukernel_peaks.c; returns {threads: {name: value}}."""
    clang = shutil.which("clang-22") or shutil.which("clang")
    exe = workdir / "ukernel_peaks"
    subprocess.run([clang, "-O2", "-march=x86-64-v4", "-mavx512vnni", "-pthread",
                    REPO / "bench" / "ukernel_peaks.c", "-o", exe], check=True)
    peaks = {}
    for t in sorted({1, threads}):
        out = subprocess.run([exe, str(t)], check=True, capture_output=True, text=True).stdout
        peaks[t] = {name: float(value) for name, value in re.findall(r"(\w+) ([\d.]+)", out)}
    return peaks


def module(m, k, n, layers):
    """`layers` independent linear layers of x [m, k], each with its own weights w<i> [n, k] and b<i>."""
    results = ", ".join(f"tensor<{m}x{n}xf32> {{eff.name = \"y{i}\"}}" for i in range(layers))
    body = []
    for i in range(layers):
        body.append(f"""    %w{i} = eff.parameter "w{i}" : tensor<{n}x{k}xf32>
    %b{i} = eff.parameter "b{i}" : tensor<{n}xf32>
    %y{i} = eff.linear %x, %w{i}, %b{i} : (tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<{m}x{n}xf32>""")
    values = ", ".join(f"%y{i}" for i in range(layers))
    types = ", ".join(f"tensor<{m}x{n}xf32>" for _ in range(layers))
    return f"""module attributes {{eff.weights = "weights.safetensors"}} {{
  func.func @main(%x: tensor<{m}x{k}xf32> {{eff.name = "x"}}) -> ({results}) {{
{chr(10).join(body)}
    return {values} : {types}
  }}
}}
"""


def weight_bytes(scheme, k, n):
    """Bytes of packed weights, scales and column sums one layer streams (eff-quantize's layouts)."""
    np_, groups = (n + 15) // 16 * 16, k // 128
    if scheme == "f32":
        return 4 * n * k
    if scheme == "int8":
        return np_ * ((k + 3) // 4 * 4) + 8 * np_
    if scheme.startswith("int4"):
        return np_ * k // 2 + 4 * np_ * groups * (2 if "asym" in scheme else 1)
    if scheme.startswith("lut"):
        bits = int(scheme.split(":")[1])
        return np_ * bits * k // 8 + 4 * np_ * groups * bits
    if scheme == "bf16":
        return 2 * np_ * ((k + 1) // 2 * 2)
    raise ValueError(scheme)


def time_layers(workdir, scheme, m, k, n, layers, runs, threads):
    """(min, median) ms of one run of `layers` layers of shape (m, k, n) compiled with `scheme`."""
    import numpy as np

    rng = np.random.default_rng(0)
    tensors = {}
    for i in range(layers):
        tensors[f"w{i}"] = rng.standard_normal((n, k), dtype=np.float32)
        tensors[f"b{i}"] = rng.standard_normal(n, dtype=np.float32)
    write_safetensors(workdir / "weights.safetensors", tensors)
    (workdir / "layers.mlir").write_text(module(m, k, n, layers))
    np.save(workdir / "x.npy", rng.standard_normal((m, k), dtype=np.float32))
    flags = [] if scheme == "f32" else [f"--quantize={scheme}"]
    subprocess.run([BIN / "effc", workdir / "layers.mlir", "-o", workdir / "layers.so", *flags], check=True)
    out = subprocess.run([BIN / "effc-run", workdir / "layers.so", "--input", f"x={workdir / 'x.npy'}",
                          "--output-dir", workdir, "--bench", str(runs), "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    stats = re.search(r"min ([\d.]+) median ([\d.]+)", out)
    return float(stats.group(1)), float(stats.group(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--schemes", default="f32,int8,int4,lut:3,bf16")
    parser.add_argument("--decode-schemes", default="f32,int8,int4,lut:3")
    parser.add_argument("--decode-mbytes", type=float, default=128.0,
                        help="f32 weight megabytes per decode module (sets the number of layers)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        peaks = measure_peaks(work, args.threads)
        print("Peaks (best of 5):")
        print(f"{'threads':>8} {'f32 FMA GFLOP/s':>16} {'int8 VNNI GOP/s':>16} {'bf16 GFLOP/s':>13} {'stream GB/s':>12}")
        for t, p in peaks.items():
            bf16 = f"{p['bf16_gflops']:>13.1f}" if "bf16_gflops" in p else f"{'-':>13}"
            print(f"{t:>8} {p['fma_gflops']:>16.1f} {p['vnni_gops']:>16.1f} {bf16} {p['stream_gbs']:>12.1f}")
        peak = peaks[args.threads]

        print(f"\nCompute-bound linear layers, {args.threads} threads, median of {args.runs} runs")
        print(f"{'scheme':<8} {'M x K x N':>17} {'median ms':>10} {'GOP/s':>8} {'% of peak':>10} "
              f"{'best: GOP/s':>12} {'% of peak':>10}  peak")
        for scheme in args.schemes.split(","):
            ceiling, ceiling_name = ((peak["vnni_gops"], "VNNI") if scheme.startswith("int8")
                                     else (peak["bf16_gflops"], "BF16") if scheme == "bf16" and "bf16_gflops" in peak
                                     else (peak["fma_gflops"], "FMA"))
            for m in COMPUTE_M:
                for k, n in KN:
                    best, ms = time_layers(work, scheme, m, k, n, 1, args.runs, args.threads)
                    gops, best_gops = 2 * m * k * n / ms / 1e6, 2 * m * k * n / best / 1e6
                    print(f"{scheme:<8} {f'{m} x {k} x {n}':>17} {ms:10.3f} {gops:8.1f} {100 * gops / ceiling:9.1f}% "
                          f"{best_gops:12.1f} {100 * best_gops / ceiling:9.1f}%  {ceiling_name}", flush=True)

        print(f"\nDecode (M = 1), {args.threads} threads, median of {args.runs} runs; "
              f"layers per module: f32 weights of about {args.decode_mbytes:.0f} MB")
        print(f"{'scheme':<8} {'K x N':>11} {'layers':>7} {'median ms':>10} {'GB/s':>7} {'% of stream':>12} "
              f"{'best: GB/s':>11} {'% of stream':>12}")
        for scheme in args.decode_schemes.split(","):
            for k, n in KN:
                layers = max(1, round(args.decode_mbytes * 1e6 / (4 * k * n)))
                best, ms = time_layers(work, scheme, 1, k, n, layers, args.runs, args.threads)
                gbs, best_gbs = (layers * weight_bytes(scheme, k, n) / t / 1e6 for t in (ms, best))
                print(f"{scheme:<8} {f'{k} x {n}':>11} {layers:>7} {ms:10.3f} {gbs:7.1f} "
                      f"{100 * gbs / peak['stream_gbs']:11.1f}% {best_gbs:11.1f} "
                      f"{100 * best_gbs / peak['stream_gbs']:11.1f}%", flush=True)


if __name__ == "__main__":
    sys.exit(main())
