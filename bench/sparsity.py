"""Benchmark: sparse linear layers and a sparse BERT-base encoder next to dense f32, measured in one run.

    /usr/bin/python3 bench/sparsity.py [--runs 20] [--rounds 3] [--threads 2] [--tokens 128,512] [--skip-encoder]
                                       [--workdir /tmp/effc-sparsity]

Variants (all f32): dense; 2:4 (`--sparsity=2:4`); unstructured 50% and 90% magnitude pruning. The unstructured
layers are forced to CSR storage (`csr-threshold=0`) so that the table shows where CSR beats dense; the pass's
default threshold (csr-threshold=0.5) keeps a layer dense below it. Seeded random weights, built here.

Every variant runs `effc-run --bench RUNS` in turn, ROUNDS times; a variant's latency is its best median
(the machine is shared, so a round can be disturbed).

Part 1, linear layers y = x·Wᵀ + b at BERT-base shapes (M tokens, K in, N out): latency, effective GFLOP/s (the dense 2·M·K·N over the time, so sparse variants can exceed the
machine's peak), speed-up against dense in the same run, weight bytes on disk (`--external-weights`), and the
largest error against numpy on the pruned weights, relative to the output's largest magnitude.
Part 2, a BERT-base encoder (12 x 768, FFN 3072) at batch 1, sequence 128: latency, speed-up, weight bytes,
error against the numpy reference on the same pruned weights, and how far pruning moved the output from the
dense model's (random weights: this says nothing about accuracy on a task).
"""

import argparse
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("EFFC_BIN_DIR", REPO / "build" / "bin"))

from linear_layers import linear_module, write_safetensors  # noqa: E402  (bench/ is the script's directory)
SHAPES = [(768, 768), (768, 3072), (3072, 768)]  # (K, N): attention projections, FFN up, FFN down
VARIANTS = {
    "dense": None,
    "2:4": "2:4",
    "unstructured 50%": "unstructured:0.5 csr-threshold=0",
    "unstructured 90%": "unstructured:0.9 csr-threshold=0",
}


def prune(w, spec):
    """numpy reference of eff-sparsify's rule (Passes.td) for one matrix."""
    import numpy as np

    if spec is None:
        return w
    if spec.startswith("unstructured:"):
        fraction = float(spec.split()[0].split(":")[1])
        flat = w.ravel().copy()
        flat[np.argsort(np.abs(flat), kind="stable")[:int(math.floor(fraction * flat.size))]] = 0
        return flat.reshape(w.shape)
    n, m = map(int, spec.split(":"))
    groups = w.reshape(w.shape[0], -1, m)
    keep = np.argsort(-np.abs(groups), axis=2, kind="stable")[:, :, :n]
    mask = np.zeros(groups.shape, bool)
    np.put_along_axis(mask, keep, True, axis=2)
    return np.where(mask, groups, 0).reshape(w.shape)


def compile_model(source, output, spec):
    command = [BIN / "effc", source, "-o", output, "--external-weights"]
    if spec:
        command.append(f"--sparsity={spec}")
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def weight_bytes(so_path):
    """Bytes of the external weights files effc wrote beside the module."""
    return sum(p.stat().st_size for p in so_path.parent.glob(so_path.stem + "*") if p.suffix not in (".so", ".mlir"))


def run_bench(so_path, inputs, workdir, runs, threads):
    """(median, min, max) ms of one `effc-run --bench` call."""
    import numpy as np

    command = [BIN / "effc-run", so_path, "--output-dir", workdir, "--bench", str(runs), "--threads", str(threads)]
    for name, array in inputs.items():
        np.save(workdir / f"{name}.npy", array)
        command += ["--input", f"{name}={workdir / (name + '.npy')}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    stats = re.search(r"min ([\d.]+) median ([\d.]+) max ([\d.]+)", out)
    return float(stats.group(2)), float(stats.group(1)), float(stats.group(3))


def timed_rounds(built, so_name, inputs, args):
    """{variant: best median ms} over args.rounds rounds in which every variant runs in turn."""
    best = {}
    for _ in range(args.rounds):
        for variant, vdir in built.items():
            median, _, _ = run_bench(vdir / so_name, inputs, vdir, args.runs, args.threads)
            best[variant] = min(best.get(variant, math.inf), median)
    return best


def bench_linear_layers(args, work):
    import numpy as np

    print(f"Linear layers, f32, {args.threads} threads, best of {args.rounds} medians of {args.runs} runs")
    print(f"{'M':>5} {'K':>5} {'N':>5}  {'variant':<17} {'median ms':>9} {'GFLOP/s':>8} {'speed-up':>8} "
          f"{'weights MB':>10} {'rel. error':>10}")
    for m in args.tokens:
        for k, n in SHAPES:
            gen = np.random.default_rng(0)
            w = gen.standard_normal((n, k), dtype=np.float32)
            b = gen.standard_normal(n, dtype=np.float32)
            x = gen.standard_normal((m, k), dtype=np.float32)
            folder = work / f"linear_{m}_{k}_{n}"
            folder.mkdir(parents=True, exist_ok=True)
            write_safetensors(folder / "weights.safetensors", {"w": w, "b": b})
            (folder / "linear.mlir").write_text(linear_module(m, k, n))
            built = {}
            for variant, spec in VARIANTS.items():
                vdir = folder / variant.replace(" ", "_").replace("%", "").replace(":", "_")
                vdir.mkdir(exist_ok=True)
                compile_model(folder / "linear.mlir", vdir / "linear.so", spec)
                built[variant] = vdir
            best = timed_rounds(built, "linear.so", {"x": x}, args)
            dense_ms = best["dense"]
            for variant, spec in VARIANTS.items():
                vdir, so, median = built[variant], built[variant] / "linear.so", best[variant]
                y = np.load(vdir / "y.npy")
                expected = x.astype(np.float64) @ prune(w, spec).T.astype(np.float64) + b
                error = np.abs(y - expected).max() / np.abs(expected).max()
                gflops = 2 * m * k * n / median / 1e6
                print(f"{m:>5} {k:>5} {n:>5}  {variant:<17} {median:>9.3f} {gflops:>8.1f} {dense_ms / median:>7.2f}x "
                      f"{weight_bytes(so) / 1e6:>10.2f} {error:>10.1e}", flush=True)


def bench_encoder(args, work):
    import numpy as np

    sys.path[:0] = [str(REPO / "examples"), str(REPO / "python-bindings")]
    import models

    cfg = models.BertConfig(vocab_size=30522, hidden=768, heads=12, ffn=3072, layers=12, max_positions=512)
    weights = models.init_bert(cfg, np.random.default_rng(0))
    module = models.build_bert(cfg, weights, weights_file="bert_base.safetensors")
    folder = work / "bert_base"
    folder.mkdir(parents=True, exist_ok=True)
    module.save(folder / "bert_base.mlir")
    linear_names = [k for k, v in weights.items() if v.ndim == 2 and ".layer." in k]

    gen = np.random.default_rng(1)
    inputs = {"input_ids": gen.integers(0, cfg.vocab_size, (1, 128), dtype=np.int64),
              "attention_mask": np.ones((1, 128), np.int64), "token_type_ids": np.zeros((1, 128), np.int64)}
    function = next(iter(module.functions))
    print(f"\nBERT-base encoder (12 x 768, FFN 3072), batch 1, seq 128, {args.threads} threads, "
          f"best of {args.rounds} medians of {args.runs} runs")
    print(f"{'variant':<17} {'compile s':>9} {'median ms':>9} {'speed-up':>8} {'weights MB':>10} "
          f"{'err vs ref':>10} {'diff vs dense':>13}")
    built, compile_s = {}, {}
    for variant, spec in VARIANTS.items():
        vdir = folder / variant.replace(" ", "_").replace("%", "").replace(":", "_")
        vdir.mkdir(exist_ok=True)
        compile_s[variant] = compile_model(folder / "bert_base.mlir", vdir / "bert_base.so", spec)
        built[variant] = vdir
    best = timed_rounds(built, "bert_base.so", inputs, args)
    dense_ms, dense_out = best["dense"], None
    for variant, spec in VARIANTS.items():
        vdir, so, median = built[variant], built[variant] / "bert_base.so", best[variant]
        outputs = {p.stem: np.load(p) for p in vdir.glob("*.npy") if p.stem not in inputs}
        pruned = dict(weights) | {k: prune(weights[k], spec) for k in linear_names}
        expected = models.build_bert(cfg, pruned).evaluate(function, inputs)
        key = next(iter(expected))
        scale = np.abs(expected[key]).max()
        error = np.abs(outputs[key] - expected[key]).max() / scale
        dense_out = outputs[key] if dense_out is None else dense_out
        moved = np.abs(outputs[key] - dense_out).max() / np.abs(dense_out).max()
        print(f"{variant:<17} {compile_s[variant]:>9.1f} {median:>9.2f} {dense_ms / median:>7.2f}x "
              f"{weight_bytes(so) / 1e6:>10.1f} {error:>10.1e} {moved:>13.1e}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3,
                        help="variants run in turn this many times; the best median counts (shared machine)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", default="128,512", help="comma-separated M (tokens) of the linear layers")
    parser.add_argument("--skip-encoder", action="store_true")
    parser.add_argument("--workdir", default="/tmp/effc-sparsity")
    args = parser.parse_args()
    args.tokens = [int(t) for t in args.tokens.split(",")]
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    bench_linear_layers(args, work)
    if not args.skip_encoder:
        bench_encoder(args, work)


if __name__ == "__main__":
    main()
