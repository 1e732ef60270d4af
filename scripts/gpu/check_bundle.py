"""Runs a bundle made by make_bundle.py on a machine with an NVIDIA GPU: every case on the device against the
CPU build's outputs, then the benchmarks against PyTorch on the same GPU, in the same run.

    python3 .gpu-bundle/check_bundle.py .gpu-bundle    (from the repository's root; make_bundle.py copies it) [--runs 20] [--only NAME-PREFIX] [--json OUT.json]

Needs numpy (and torch for the peer timings); not effc's Python package. Exit code 1 if any case fails.
Tolerances: rtol 1e-3, atol 1e-4 for f32 models (reduction order and exp/erf/tanh approximations differ); int4,
LUT and bf16 variants use rtol 1e-2, atol 1e-2 (the CPU and GPU builds round activations at different points).
"""

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# The repository (for examples/models.py): the working directory, where the device tool runs commands.
REPO = Path.cwd()
LOOSE = ("int4", "bf16", "lut")


def effc_run(bundle, case, outdir, bench=0, function="main"):
    command = [str(bundle / "bin" / "effc-run"), str(bundle / case / "gpu.so"), "--device=cuda",
               "--output-dir", str(outdir)]
    inputs = bundle / case / "inputs"
    if (inputs / function).is_dir():
        inputs = inputs / function
        command += ["--function", function]
    for npy in sorted(inputs.glob("*.npy")):
        command += ["--input", f"{npy.stem}={npy}"]
    if bench:
        command += ["--bench", str(bench)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    return result, time.perf_counter() - start


def check(bundle, case, function, tmp):
    out = tmp / case / function
    out.mkdir(parents=True, exist_ok=True)
    result, seconds = effc_run(bundle, case, out, function=function)
    if result.returncode:
        return False, f"effc-run failed ({result.returncode}): {result.stderr.strip()[-1500:]}", seconds
    expected = {p.stem: np.load(p) for p in (bundle / case / "expected" / function).glob("*.npy")}
    actual = {p.stem: np.load(p) for p in out.glob("*.npy")}
    if sorted(expected) != sorted(actual):
        return False, f"outputs {sorted(actual)} != {sorted(expected)}", seconds
    rtol, atol = (1e-2, 1e-2) if any(v in case for v in LOOSE) else (1e-3, 1e-4)
    worst = []
    ok = True
    for key, want in expected.items():
        got = actual[key]
        if got.shape != want.shape:
            return False, f"{key}: shape {got.shape} != {want.shape}", seconds
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        bad = diff > atol + rtol * np.abs(want.astype(np.float64))
        worst.append(f"{key} max|d| {diff.max() if diff.size else 0:.2e}")
        if bad.any() or not np.isfinite(got).all():
            ok = False
            worst[-1] += f" ({int(bad.sum())}/{bad.size} beyond rtol {rtol} atol {atol})"
    return ok, "; ".join(worst), seconds


def median_ms(stdout):
    match = re.search(r"median ([\d.]+)", stdout)
    return float(match.group(1)) if match else math.nan


def torch_time(fn, runs):
    import torch
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def torch_bert(weights, cfg, ids, mask, types, dtype):
    import torch
    import torch.nn.functional as F
    W = {k: torch.from_numpy(v).cuda().to(dtype) for k, v in weights.items()}
    ids, mask, types = (torch.from_numpy(a).cuda() for a in (ids, mask, types))
    batch, seq = ids.shape
    d, heads = cfg["hidden"], cfg["heads"]
    dh = d // heads

    def ln(x, p):
        return F.layer_norm(x, (d,), W[f"{p}.weight"], W[f"{p}.bias"], cfg["epsilon"])

    def lin(x, p):
        return F.linear(x, W[f"{p}.weight"], W[f"{p}.bias"])

    def forward():
        pos = torch.arange(seq, device="cuda").expand(batch, seq)
        h = (F.embedding(ids, W["embeddings.word_embeddings.weight"]) +
             F.embedding(pos, W["embeddings.position_embeddings.weight"]) +
             F.embedding(types, W["embeddings.token_type_embeddings.weight"]))
        h = ln(h, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
        for i in range(cfg["layers"]):
            p = f"encoder.layer.{i}"

            def split(x):
                return x.view(batch, seq, heads, dh).transpose(1, 2)
            q, k, v = (split(lin(h, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            a = a.transpose(1, 2).reshape(batch, seq, d)
            h = ln(h + lin(a, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            f = lin(F.gelu(lin(h, f"{p}.intermediate.dense")), f"{p}.output.dense")
            h = ln(h + f, f"{p}.output.LayerNorm")
        return h
    return forward


def benchmarks(bundle, manifest, runs, tmp, rows):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    sys.path.insert(0, str(REPO / "examples"))
    import models
    for case in manifest["bench"]:
        if case.startswith("bench.gemm_") and not (bundle / case / "inputs" / "x.npy").exists():
            m, k, _ = map(int, re.findall(r"\d+", case.split("gemm_")[1]))
            np.save(bundle / case / "inputs" / "x.npy", np.random.default_rng(m + k).standard_normal((m, k), np.float32))
        (tmp / ("bench-" + case)).mkdir(parents=True, exist_ok=True)
        result, _ = effc_run(bundle, case, tmp / ("bench-" + case), bench=runs)
        effc_ms = median_ms(result.stdout) if result.returncode == 0 else math.nan
        inputs = {p.stem: np.load(p) for p in (bundle / case / "inputs").glob("*.npy")}
        peers = {}
        if case.startswith("bench.gemm_"):
            m, k, n = map(int, re.findall(r"\d+", case.split("gemm_")[1]))
            x = torch.from_numpy(inputs["x"]).cuda()
            w, b = torch.randn(n, k, device="cuda"), torch.randn(n, device="cuda")
            peers["torch f32"] = torch_time(lambda: torch.nn.functional.linear(x, w, b), runs)
            xh, wh, bh = x.half(), w.half(), b.half()
            peers["torch f16"] = torch_time(lambda: torch.nn.functional.linear(xh, wh, bh), runs)
            flops = 2.0 * m * k * n
        else:
            cfg = manifest["bench_bert"]
            weights = models.init_bert(models.BertConfig(**cfg), np.random.default_rng(0))
            args = (inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"])
            f32 = torch_bert(weights, cfg, *args, torch.float32)
            with torch.no_grad():
                reference = f32().cpu().numpy()
                peers["torch f32"] = torch_time(f32, runs)
                f16 = torch_bert(weights, cfg, *args, torch.float16)
                peers["torch f16"] = torch_time(f16, runs)
            ours = tmp / ("bench-" + case) / "last_hidden_state.npy"  # written by the timed run
            if ours.exists():
                peers["max|effc - torch f32|"] = float(np.abs(np.load(ours) - reference).max())
            d, f, tokens = cfg["hidden"], cfg["ffn"], math.prod(args[0].shape)
            flops = tokens * cfg["layers"] * (2 * d * (4 * d + 2 * f)) + 4 * tokens * args[0].shape[1] * d
        rows.append({"case": case, "effc_ms": effc_ms, "effc_tflops": flops / effc_ms / 1e9 if effc_ms else None,
                     "peers_ms": peers, "error": None if result.returncode == 0 else result.stderr[-800:]})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", default="")
    parser.add_argument("--no-bench", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    bundle = Path(args.bundle).resolve()
    manifest = json.loads((bundle / "manifest.json").read_text())
    tmp = Path("/tmp/effc-gpu-check")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(exist_ok=True)
    results, failed = [], 0
    for case in manifest["cases"]:
        name = case["name"]
        if not name.startswith(args.only) or not (bundle / name / "expected").exists():
            continue
        for function in case["functions"]:
            ok, detail, seconds = check(bundle, name, function, tmp)
            failed += not ok
            label = name if function == "main" else f"{name}:{function}"
            results.append({"case": label, "ok": ok, "detail": detail, "seconds": round(seconds, 2)})
            print(f"{'PASS' if ok else 'FAIL'} {label:40s} {seconds:6.2f} s  {detail}", flush=True)
    bench = []
    if not args.no_bench and manifest["bench"]:
        benchmarks(bundle, manifest, args.runs, tmp, bench)
        for row in bench:
            peers = ", ".join(f"{k} {v:.3g}" for k, v in row["peers_ms"].items())
            print(f"BENCH {row['case']:28s} effc {row['effc_ms']:.3f} ms ({row['effc_tflops'] or 0:.2f} TFLOP/s); "
                  f"{peers}" + (f"; error {row['error']}" if row["error"] else ""), flush=True)
    print(f"{len(results) - failed}/{len(results)} cases match the CPU build")
    if args.json:
        Path(args.json).write_text(json.dumps({"checks": results, "bench": bench}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
