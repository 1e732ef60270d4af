"""Benchmark: compile time of BERT-base with and without layer reuse (eff-outline-layers, issue 7), where it
goes (effc --timing), and the run time of both artifacts, measured in the same run.

    /usr/bin/python3 bench/compile_time.py [--layers 2,12] [--runs 10] [--rounds 2] [--run-rounds 5] [--threads 2]

For each layer count, builds the encoder of bench/bert_base.py (12 heads, 768 wide, FFN 3072, seeded random
weights), compiles it with `--external-weights` once with layer reuse (the default) and once with
`--no-layer-reuse`, alternating, `--rounds` times each, and prints the median compile time, its breakdown
(MLIR passes, LLVM IR + optimisation, machine code, link) and the median over `--run-rounds` interleaved rounds
of each artifact's median run time at batch 1, sequence 128, with the ratios.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("EFFC_BIN_DIR", REPO / "build" / "bin"))
STAGES = ("LLVM IR + optimisation", "Machine code", "Link")


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def compile_once(source, output, flags):
    start = time.perf_counter()
    result = subprocess.run([BIN / "effc", source, "-o", output, "--external-weights", "--timing", *flags],
                            check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    stages = {}
    # Rows are "<user> (<%>)  <wall> (<%>)  <name>" (one column when compiling single-threaded): take the wall time.
    row = re.compile(r"^\s*(?:[\d.]+ \(\s*[\d.]+%\)\s+)?([\d.]+) \(\s*[\d.]+%\)\s+(.+?)\s*$", re.M)
    for seconds, name in row.findall(result.stderr):
        if name in STAGES or name == "Total":
            stages[name] = float(seconds)
    stages["MLIR passes"] = stages.get("Total", wall) - sum(stages.get(s, 0.0) for s in STAGES)
    return wall, stages


def run_bench(library, work, inputs, runs, threads):
    command = [BIN / "effc-run", library, "--output-dir", work, "--bench", str(runs), "--threads", str(threads)]
    for name in inputs:
        command += ["--input", f"{name}={work / (name + '.npy')}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"median ([\d.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="2,12")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="compilations of each variant")
    parser.add_argument("--run-rounds", type=int, default=5, help="interleaved --bench rounds of each artifact")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default="/tmp/effc-compile-time")
    args = parser.parse_args()
    import numpy as np

    sys.path[:0] = [str(REPO / "examples"), str(REPO / "python-bindings")]
    import models

    print(f"load average before: {os.getloadavg()[0]:.1f}")
    for layers in (int(n) for n in args.layers.split(",")):
        work = Path(args.workdir) / f"layers{layers}"
        work.mkdir(parents=True, exist_ok=True)
        cfg = models.BertConfig(vocab_size=30522, hidden=768, heads=12, ffn=3072, layers=layers, max_positions=512)
        weights = models.init_bert(cfg, np.random.default_rng(0))
        source = work / "bert.mlir"
        models.build_bert(cfg, weights, weights_file="bert.safetensors").save(source)
        rng = np.random.default_rng(1)
        inputs = {"input_ids": rng.integers(0, cfg.vocab_size, (1, 128), dtype=np.int64),
                  "attention_mask": np.ones((1, 128), np.int64), "token_type_ids": np.zeros((1, 128), np.int64)}
        for name, array in inputs.items():
            np.save(work / f"{name}.npy", array)

        variants = {"reuse": [], "separate": ["--no-layer-reuse"]}
        walls = {v: [] for v in variants}
        stages = {v: [] for v in variants}
        latency = {v: [] for v in variants}
        outputs = {}
        for _ in range(args.rounds):
            for variant, flags in variants.items():
                wall, breakdown = compile_once(source, work / f"{variant}.so", flags)
                walls[variant].append(wall)
                stages[variant].append(breakdown)
        for _ in range(args.run_rounds):
            for variant in variants:
                latency[variant].append(run_bench(work / f"{variant}.so", work, inputs, args.runs, args.threads))
                outputs[variant] = np.load(work / "last_hidden_state.npy")
        same = np.array_equal(outputs["reuse"], outputs["separate"])
        for variant in variants:
            parts = ", ".join(f"{name} {median([s.get(name, 0.0) for s in stages[variant]]):.1f} s"
                              for name in ("MLIR passes",) + STAGES)
            print(f"BERT-base {layers} layers, {variant:8s}: compile {median(walls[variant]):6.1f} s ({parts}); "
                  f"run {median(latency[variant]):.1f} ms (batch 1, seq 128, {args.threads} threads)")
        print(f"BERT-base {layers} layers: compile time reuse/separate {median(walls['reuse']) / median(walls['separate']):.2f}, "
              f"run time reuse/separate {median(latency['reuse']) / median(latency['separate']):.3f}, "
              f"outputs bit-identical: {same}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
