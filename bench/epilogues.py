"""Microbenchmark: GEMM epilogues and residual add + layer norm at BERT-base shapes (batch 8 x seq 128 = 1024
rows, hidden 768, FFN 3072), each case compiled by two effc builds and timed in the same run.

    /usr/bin/python3 bench/epilogues.py --before-bin /path/to/other/build/bin [--runs 20] [--rounds 3]
                                        [--threads 2] [--cases ffn_up_gelu,...]

`--before-bin` is the bin directory of the build to compare with (e.g. main before this work); without it only
this build (EFFC_BIN_DIR, default build/bin) is timed. Rounds interleave the two builds; each figure is the
median over rounds of effc-run's median of `--runs` runs. A "linear only" row times the GEMM without its
epilogue, so that (case - linear only) is what the epilogue costs.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("EFFC_BIN_DIR", REPO / "build" / "bin"))
sys.path.insert(0, str(REPO / "python-bindings"))
from effc.ir import write_safetensors  # noqa: E402

B, S, D, F = 8, 128, 768, 3072


def t(*shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def linear_case(k, n, epilogue):
    """x [B, S, k] -> linear -> epilogue ("", "gelu" or "residual")."""
    x_t, y_t = t(B, S, k), t(B, S, n)
    args = f'%x: {x_t} {{eff.name = "x"}}' + (f', %r: {y_t} {{eff.name = "r"}}' if epilogue == "residual" else "")
    body = [f'%w = eff.parameter "w" : {t(n, k)}', f'%b = eff.parameter "b" : {t(n)}',
            f"%y0 = eff.linear %x, %w, %b : ({x_t}, {t(n, k)}, {t(n)}) -> {y_t}"]
    last = "%y0"
    if epilogue == "gelu":
        body.append(f"%y1 = eff.activation gelu %y0 : {y_t}")
        last = "%y1"
    elif epilogue == "residual":
        body.append(f"%y1 = eff.add %y0, %r : {y_t}")
        last = "%y1"
    inputs = {"x": (B, S, k)} | ({"r": (B, S, n)} if epilogue == "residual" else {})
    weights = {"w": (n, k), "b": (n,)}
    return "\n    ".join(body), args, y_t, last, inputs, weights


def add_layer_norm_case():
    x_t = t(B, S, D)
    body = [f'%g = eff.parameter "g" : {t(D)}', f'%be = eff.parameter "be" : {t(D)}',
            f"%s = eff.add %x, %r : {x_t}",
            f"%y = eff.layer_norm %s, %g, %be {{epsilon = 1.0e-12 : f32}} : ({x_t}, {t(D)}, {t(D)}) -> {x_t}"]
    args = f'%x: {x_t} {{eff.name = "x"}}, %r: {x_t} {{eff.name = "r"}}'
    return "\n    ".join(body), args, x_t, "%y", {"x": (B, S, D), "r": (B, S, D)}, {"g": (D,), "be": (D,)}


def ffn_block_case():
    """BERT's FFN block: linear+bias -> GELU -> linear+bias -> +residual -> layer_norm."""
    x_t = t(B, S, D)
    body = [f'%wu = eff.parameter "wu" : {t(F, D)}', f'%bu = eff.parameter "bu" : {t(F)}',
            f'%wd = eff.parameter "wd" : {t(D, F)}', f'%bd = eff.parameter "bd" : {t(D)}',
            f'%g = eff.parameter "g" : {t(D)}', f'%be = eff.parameter "be" : {t(D)}',
            f"%h = eff.ffn %x up(%wu, %bu) down(%wd, %bd) gelu : ({x_t}, {t(F, D)}, {t(F)}, {t(D, F)}, {t(D)}) -> {x_t}",
            f"%s = eff.add %x, %h : {x_t}",
            f"%y = eff.layer_norm %s, %g, %be {{epsilon = 1.0e-12 : f32}} : ({x_t}, {t(D)}, {t(D)}) -> {x_t}"]
    weights = {"wu": (F, D), "bu": (F,), "wd": (D, F), "bd": (D,), "g": (D,), "be": (D,)}
    return "\n    ".join(body), f'%x: {x_t} {{eff.name = "x"}}', x_t, "%y", {"x": (B, S, D)}, weights


CASES = {
    "ffn_up_linear_only": (lambda: linear_case(D, F, ""), []),
    "ffn_up_gelu": (lambda: linear_case(D, F, "gelu"), []),
    "ffn_down_residual": (lambda: linear_case(F, D, "residual"), []),
    "int8_ffn_up_linear_only": (lambda: linear_case(D, F, ""), ["--quantize=int8"]),
    "int8_ffn_up_gelu": (lambda: linear_case(D, F, "gelu"), ["--quantize=int8"]),
    "int8_ffn_down_residual": (lambda: linear_case(F, D, "residual"), ["--quantize=int8"]),
    "add_layer_norm": (add_layer_norm_case, []),
    "ffn_block": (ffn_block_case, []),
    "int8_ffn_block": (ffn_block_case, ["--quantize=int8"]),
}


def prepare(work, name):
    build, flags = CASES[name]
    body, args, result_t, last, inputs, weights = build()
    gen = np.random.default_rng(0)
    write_safetensors(work / "weights.safetensors",
                      {k: (gen.standard_normal(shape) * 0.05).astype(np.float32) for k, shape in weights.items()})
    (work / "case.mlir").write_text(f"""module attributes {{eff.weights = "weights.safetensors"}} {{
  func.func @main({args}) -> ({result_t} {{eff.name = "y"}}) {{
    {body}
    return {last} : {result_t}
  }}
}}
""")
    run_args = []
    for key, shape in inputs.items():
        np.save(work / f"{key}.npy", gen.standard_normal(shape).astype(np.float32))
        run_args += ["--input", f"{key}={work / f'{key}.npy'}"]
    return flags, run_args


def compile_case(bin_dir, work, flags, tag):
    so = work / f"case.{tag}.so"
    subprocess.run([bin_dir / "effc", work / "case.mlir", "-o", so, *flags], check=True)
    return so


def time_ms(bin_dir, so, run_args, work, runs, threads):
    out = subprocess.run([bin_dir / "effc-run", so, *run_args, "--output-dir", work, "--bench", str(runs),
                          "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
    median = float(re.search(r"median ([\d.]+)", out).group(1))
    return median, np.load(work / "y.npy")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before-bin", default="", help="bin directory of the build to compare with")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    builds = {"after": BIN} | ({"before": Path(args.before_bin)} if args.before_bin else {})
    print(f"B={B} S={S} D={D} F={F}, {args.threads} threads, median over {args.rounds} rounds of the median of "
          f"{args.runs} runs (ms)")
    print(f"{'case':>26} " + " ".join(f"{name:>9}" for name in builds) + ("   before/after  max|diff|" if
                                                                            len(builds) > 1 else ""))
    for name in args.cases.split(","):
        with tempfile.TemporaryDirectory(prefix="effc-epilogues-") as tmp:
            work = Path(tmp)
            flags, run_args = prepare(work, name)
            modules = {tag: compile_case(bin_dir, work, flags, tag) for tag, bin_dir in builds.items()}
            times = {tag: [] for tag in builds}
            outputs = {}
            for _ in range(args.rounds):
                for tag, bin_dir in builds.items():
                    median, outputs[tag] = time_ms(bin_dir, modules[tag], run_args, work, args.runs, args.threads)
                    times[tag].append(median)
            medians = {tag: statistics.median(values) for tag, values in times.items()}
            line = f"{name:>26} " + " ".join(f"{medians[tag]:9.3f}" for tag in builds)
            if len(builds) > 1:
                diff = np.abs(outputs["after"] - outputs["before"]).max()
                line += f"   {medians['before'] / medians['after']:11.2f}x  {diff:9.1e}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
