"""Benchmark: every compression variant of a BERT-base encoder and of a GPT-2-small decoder next to the dense f32
build, measured in one run (size on disk, median latency, speed-up, output error against f32).

    /usr/bin/python3 bench/compression.py [--models bert,gpt2] [--variants f32,int8,...] [--runs 20]
                                          [--rounds 4] [--threads 2] [--workdir /tmp/effc-compression]

Models are built with seeded random weights by the benchmark itself: BERT-base (12 x 768, 12 heads, FFN 3072)
at batch 8, sequence 128; GPT-2 small (12 x 768, vocab 50257, tied LM head) decoding one token with a
128-token KV cache. A variant is a list of effc flags; one that effc rejects (a pass not available) is
reported as such, not hidden. The variants' runs are interleaved in --rounds rounds so that load on a shared
machine falls on all of them alike.
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

# name -> effc flags. 40% of 12 layers is 5 layers.
VARIANTS = {
    "f32": [],
    "bf16": ["--quantize=bf16"],
    "int8": ["--quantize=int8"],
    "int4": ["--quantize=int4"],
    "lut3": ["--quantize=lut:3"],
    "2:4": ["--sparsity=2:4"],
    "unstructured90": ["--sparsity=unstructured:0.9"],
    "drop40%": ["--drop-layers=top:5"],
}
DEFAULT_VARIANTS = {
    "bert": ["f32", "bf16", "int8", "int4", "lut3", "2:4", "unstructured90", "drop40%"],
    "gpt2": ["f32", "int8", "int4", "lut3", "bf16", "drop40%"],
}


def build_models(work, which, rebuild=True, layers=12):
    """Writes MODEL.mlir + weights (unless `rebuild` is false and they exist) and the inputs of each model;
    returns {name: (mlir, function, inputs)}."""
    import numpy as np

    sys.path[:0] = [str(REPO / "examples"), str(REPO / "python-bindings")]
    import models

    built = {}
    rng = np.random.default_rng(1)
    if "bert" in which:
        cfg = models.BertConfig(vocab_size=30522, hidden=768, heads=12, ffn=3072, layers=layers, max_positions=512)
        weights = models.init_bert(cfg, np.random.default_rng(0))
        if rebuild or not (work / "bert.mlir").exists():
            models.build_bert(cfg, weights, weights_file="bert.safetensors").save(work / "bert.mlir")
        inputs = {"input_ids": rng.integers(0, cfg.vocab_size, (8, 128), dtype=np.int64),
                  "attention_mask": np.ones((8, 128), np.int64), "token_type_ids": np.zeros((8, 128), np.int64)}
        built["bert"] = (work / "bert.mlir", None, inputs)
    if "gpt2" in which:
        cfg = models.GptConfig(vocab_size=50257, hidden=768, heads=12, ffn=3072, layers=layers, max_positions=1024)
        weights = models.init_gpt(cfg, np.random.default_rng(0))
        # Small weights keep 12 random layers numerically tame (GPT-2's initialiser uses std 0.02).
        weights = {k: (v * 0.04 if v.ndim == 2 else v) for k, v in weights.items()}
        if rebuild or not (work / "gpt2.mlir").exists():
            module = models.build_gpt(cfg, weights, weights_file="gpt2.safetensors")
            del module.functions["prefill"]  # decode is what is measured; compiling it alone halves compile time
            module.save(work / "gpt2.mlir")
        inputs = {"input_ids": rng.integers(0, cfg.vocab_size, (1, 1), dtype=np.int64)}
        for i in range(cfg.layers):
            for kind in ("key", "value"):
                inputs[f"past_{kind}_{i}"] = rng.standard_normal((1, 128, cfg.hidden)).astype(np.float32)
        built["gpt2"] = (work / "gpt2.mlir", "decode", inputs)
    return built


def artifact_bytes(so):
    weights = Path(str(so) + ".weights")
    return so.stat().st_size + (weights.stat().st_size if weights.exists() else 0)


def prepare_variant(work, model, mlir, function, inputs, flags, reuse=False):
    """Compiles one variant (unless `reuse` finds it compiled); returns a dict with its size, compile time and
    the effc-run command that times it, or {'error': message}."""
    tag = re.sub(r"[^A-Za-z0-9]+", "_", " ".join(flags)) or "f32"
    so = work / f"{model}_{tag}.so"
    compile_s = float("nan")
    if not (reuse and so.exists()):
        start = time.perf_counter()
        compiled = subprocess.run([BIN / "effc", mlir, "-o", so, "--external-weights", *flags],
                                  capture_output=True, text=True)
        compile_s = time.perf_counter() - start
        if compiled.returncode != 0:
            return {"error": compiled.stderr.strip().splitlines()[0] if compiled.stderr.strip() else "effc failed"}
    out_dir = work / f"out_{model}_{tag}"
    command = [BIN / "effc-run", so, "--output-dir", out_dir]
    if function:
        command += ["--function", function]
    # Compression may remove inputs (a dropped layer's KV cache): pass those the compiled function takes.
    listing = subprocess.run([BIN / "effc-run", so, "--list"], capture_output=True, text=True).stdout
    signature = next((line for line in listing.splitlines() if line.startswith(f"{function or ''}(")
                      or (not function and "(" in line and not line.startswith("module"))), "")
    taken = set(re.findall(r"(\w+): \w+ \[", signature.split("->")[0]))
    for name in inputs:
        if not taken or name in taken:
            command += ["--input", f"{name}={work / (model + '_' + name + '.npy')}"]
    output_name = "logits" if function == "decode" else "last_hidden_state"
    return {"compile_s": compile_s, "bytes": artifact_bytes(so), "command": command,
            "output_path": out_dir / f"{output_name}.npy", "round_medians": [], "mins": [], "maxs": []}


def time_round(variant, runs, threads):
    """Runs one round of `runs` timed calls of a prepared variant; records its median, min and max, or sets
    variant['error']."""
    ran = subprocess.run([*variant["command"], "--bench", str(runs), "--threads", str(threads)],
                         capture_output=True, text=True)
    if ran.returncode != 0:
        variant["error"] = ran.stderr.strip().splitlines()[-1] if ran.stderr.strip() else "effc-run failed"
        return
    match = re.search(r"min ([\d.]+) median ([\d.]+) max ([\d.]+)", ran.stdout)
    variant["mins"].append(float(match.group(1)))
    variant["round_medians"].append(float(match.group(2)))
    variant["maxs"].append(float(match.group(3)))


def error_figures(output, reference):
    import numpy as np

    diff = np.abs(output.astype(np.float64) - reference)
    a, b = output.ravel().astype(np.float64), reference.ravel()
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))
    return f"max {diff.max():.2e} mean {diff.mean():.2e} cos {cosine:.5f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bert,gpt2")
    parser.add_argument("--variants", default="", help="comma-separated names (default: all for each model)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default="/tmp/effc-compression")
    parser.add_argument("--layers", type=int, default=12,
                        help="layers of both models (fewer for a quick comparison of per-layer speed)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="the runs of all variants are interleaved in this many rounds, so that load on a shared "
                             "machine falls on every variant alike; a variant's median is that of its round medians")
    parser.add_argument("--reuse", action="store_true",
                        help="time the shared objects already compiled in WORKDIR instead of recompiling")
    args = parser.parse_args()
    import numpy as np

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    which = args.models.split(",")
    for model, (mlir, function, inputs) in build_models(work, which, rebuild=not args.reuse, layers=args.layers).items():
        for name, array in inputs.items():
            np.save(work / f"{model}_{name}.npy", array)
        names = args.variants.split(",") if args.variants else DEFAULT_VARIANTS[model]
        if "f32" not in names:
            names = ["f32"] + names
        what = "batch 8, seq 128" if model == "bert" else "decode 1 token, 128-token KV cache"
        print(f"\n{model} ({what}, {args.layers} layers), {args.threads} threads, median of {args.rounds} interleaved rounds "
              f"of {max(1, args.runs // max(1, args.rounds))} runs")
        print(f"{'variant':<16}{'size MB':>9}{'compile s':>11}{'median ms':>11}{'min':>9}{'max':>9}"
              f"{'speed-up':>10}  error vs f32")
        prepared = {}
        for name in names:
            prepared[name] = prepare_variant(work, model, mlir, function, inputs, VARIANTS[name], args.reuse)
        timed = [name for name in names if "error" not in prepared[name]]
        per_round = max(1, args.runs // max(1, args.rounds))
        for _ in range(max(1, args.rounds)):
            for name in timed:
                if "error" not in prepared[name]:
                    time_round(prepared[name], per_round, args.threads)
        baseline = None
        for name in names:
            result = prepared[name]
            if "error" in result:
                print(f"{name:<16}  not available: {result['error']}")
                continue
            result.update(median=float(np.median(result["round_medians"])), min=min(result["mins"]),
                          max=max(result["maxs"]), output=np.load(result["output_path"]))
            if baseline is None:
                baseline = result
            speedup = baseline["median"] / result["median"]
            error = "-" if result is baseline else error_figures(result["output"], baseline["output"])
            if result is not baseline and result["output"].shape != baseline["output"].shape:
                error = f"shape {result['output'].shape}"
            print(f"{name:<16}{result['bytes'] / 1e6:>9.1f}{result['compile_s']:>11.1f}{result['median']:>11.2f}"
                  f"{result['min']:>9.2f}{result['max']:>9.2f}{speedup:>9.2f}x  {error}", flush=True)

if __name__ == "__main__":
    main()
