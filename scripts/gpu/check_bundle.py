"""Runs a bundle made by make_bundle.py on a machine with an NVIDIA GPU: every case on the device against the
CPU build's outputs, then the benchmarks against PyTorch on the same GPU, in the same run.

    python3 .gpu-bundle/check_bundle.py .gpu-bundle    (from the repository's root; make_bundle.py copies it)
        [--runs 20] [--only NAME-PREFIX] [--no-bench] [--json OUT.json]

Needs numpy (and torch for the peer timings); not effc's Python package. Exit code 1 if any case fails.
Tolerances: rtol 1e-3, atol 1e-4 for f32 models (reduction order and exp/erf/tanh approximations differ); int4,
LUT, bf16 and f16 variants use rtol 1e-2, atol 1e-2 relative to each output's largest magnitude (activations are
rounded to bf16, and a last-bit difference in a sum can move one across a rounding step, so single elements can
differ by a bf16 step of the values that feed them).
"""

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

LOOSE = ("int4", "f16", "lut")  # "f16" matches bf16 and f16 alike
PEER_DEVICE = "cuda"  # where the PyTorch models run (tests of this script on a machine without a GPU: "cpu")


# The benchmark models' weights and inputs are made here and by make_bundle.py from the same formula, the same
# on every numpy version, so that only the compiled artifacts travel (and compress: see `bench_weights`).
BENCH_LEVELS = np.array([-1.5, -0.5, 0.5, 1.5]) / math.sqrt(1.25)  # mean 0, variance 1


def hashed(count, seed):
    """splitmix64 of 0..count-1 after `seed`: uint64 values that depend on nothing but the arguments."""
    z = np.arange(count, dtype=np.uint64) + np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def synthetic(shape, seed, mean=0.0, std=1.0):
    """f32 values of `shape` on four levels, mean + std * BENCH_LEVELS."""
    levels = (hashed(math.prod(shape), seed) >> np.uint64(62)).astype(np.int64)
    return (mean + std * BENCH_LEVELS[levels]).astype(np.float32).reshape(shape)


def bench_weights(spec, layers):
    """The weights of a benchmark model from `spec` ({name: [shape, mean, std]} of its tensors, layer 0's named
    with "layer.0." or "h.0."). The artifacts must compress to a few MB for the transfer, yet every layer must be
    its own memory (the weights file stores identical tensors once): a tensor's rows repeat every 64 (every 256
    for embedding tables), and layer i's are layer 0's rotated by i rows. Timings do not depend on the values."""
    weights = {}
    for seed, (name, (shape, mean, std)) in enumerate(sorted(spec.items())):
        period = 256 if "embed" in name or name.split(".")[0] in ("wte", "wpe") else 64
        array = np.resize(synthetic([min(period, shape[0]), *shape[1:]], seed + 1, mean, std), shape)
        layer = re.match(r"(.*(?:layer|h)\.)0\.(.*)", name)
        for i in range(layers if layer else 1):
            weights[f"{layer.group(1)}{i}.{layer.group(2)}" if layer else name] = np.roll(array, i, axis=0)
    return weights


def bench_inputs(model, manifest):
    """{function: {input: array}} of a benchmark model: BERT-base's batch of full sequences, GPT-2's one new token
    after a cache of manifest["bench_past"]."""
    if model == "bert_base":
        cfg, (batch, seq) = manifest["bench_bert"], manifest["bench_shape"]
        ids = (hashed(batch * seq, 11) % np.uint64(cfg["vocab_size"])).astype(np.int64).reshape(batch, seq)
        return {"main": {"input_ids": ids, "attention_mask": np.ones((batch, seq), np.int64),
                         "token_type_ids": np.zeros((batch, seq), np.int64)}}
    cfg, past = manifest["bench_gpt"], manifest["bench_past"]
    decode = {"input_ids": np.array([[int(hashed(1, 12)[0] % np.uint64(cfg["vocab_size"]))]], np.int64)}
    for i in range(cfg["layers"]):
        for j, kind in enumerate(("key", "value")):
            decode[f"past_{kind}_{i}"] = synthetic((1, past, cfg["hidden"]), 100 + 2 * i + j)
    return {"decode": decode}


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
        scale = np.abs(want.astype(np.float64))
        if any(v in case for v in LOOSE):
            scale = np.full_like(scale, scale.max() if scale.size else 0.0)
        bad = diff > atol + rtol * scale
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
    sync = torch.cuda.synchronize if PEER_DEVICE == "cuda" else (lambda: None)
    for _ in range(3):
        fn()
    sync()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def torch_bert(weights, cfg, ids, mask, types, dtype):
    import torch
    import torch.nn.functional as F
    W = {k: torch.from_numpy(v).to(PEER_DEVICE, dtype) for k, v in weights.items()}
    ids, mask, types = (torch.from_numpy(a).to(PEER_DEVICE) for a in (ids, mask, types))
    batch, seq = ids.shape
    d, heads = cfg["hidden"], cfg["heads"]
    dh = d // heads

    def ln(x, p):
        return F.layer_norm(x, (d,), W[f"{p}.weight"], W[f"{p}.bias"], cfg["epsilon"])

    def lin(x, p):
        return F.linear(x, W[f"{p}.weight"], W[f"{p}.bias"])

    def forward():
        pos = torch.arange(seq, device=PEER_DEVICE).expand(batch, seq)
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


def torch_gpt_decode(weights, cfg, inputs, dtype):
    """GPT-2 decoding one token after the cache `inputs` (past_key_i / past_value_i), as build_gpt's decode."""
    import torch
    import torch.nn.functional as F
    W = {k: torch.from_numpy(v).to(PEER_DEVICE, dtype) for k, v in weights.items()}
    ids = torch.from_numpy(inputs["input_ids"]).to(PEER_DEVICE)
    past = [torch.from_numpy(inputs[f"past_{kind}_{i}"]).to(PEER_DEVICE, dtype)
            for i in range(cfg["layers"]) for kind in ("key", "value")]
    batch, position = ids.shape[0], past[0].shape[1]
    d, heads, eps = cfg["hidden"], cfg["heads"], cfg["epsilon"]

    def ln(x, p):
        return F.layer_norm(x, (d,), W[f"{p}.weight"], W[f"{p}.bias"], eps)

    def lin(x, p):
        return F.linear(x, W[f"{p}.weight"], W[f"{p}.bias"])

    def split(x):
        return x.view(batch, x.shape[1], heads, d // heads).transpose(1, 2)

    def forward():
        h = F.embedding(ids, W["wte.weight"]) + W["wpe.weight"][position]
        for i in range(cfg["layers"]):
            p = f"h.{i}"
            n = ln(h, f"{p}.ln_1")
            q, k, v = (lin(n, f"{p}.attn.{t}_proj") for t in "qkv")
            k, v = torch.cat([past[2 * i], k], 1), torch.cat([past[2 * i + 1], v], 1)
            a = F.scaled_dot_product_attention(split(q), split(k), split(v)).transpose(1, 2).reshape(batch, 1, d)
            h = h + lin(a, f"{p}.attn.out_proj")
            n = ln(h, f"{p}.ln_2")
            h = h + lin(F.gelu(lin(n, f"{p}.mlp.fc_in"), approximate="tanh"), f"{p}.mlp.fc_out")
        return F.linear(ln(h, "ln_f"), W["wte.weight"])
    return forward


def benchmarks(bundle, manifest, runs, tmp, rows):
    """Each benchmark case through effc-run --bench, and the same model in PyTorch eager (f32, f16, bf16) on the
    same GPU in the same run; the effc output of the timed runs against PyTorch f32's."""
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    peer_cache = {}
    for case in manifest["bench"]:
        model = "bert_base" if ".bert_base." in case else "gpt2" if ".gpt2_decode." in case else None
        if model and not any((bundle / case / "inputs").rglob("*.npy")):
            for function, arrays in bench_inputs(model, manifest).items():
                folder = bundle / case / "inputs" / ("" if function == "main" else function)
                folder.mkdir(parents=True, exist_ok=True)
                for name, array in arrays.items():
                    np.save(folder / f"{name}.npy", array)
        if case.startswith("bench.gemm_") and not (bundle / case / "inputs" / "x.npy").exists():
            m, k, _ = map(int, re.findall(r"\d+", case.split("gemm_")[1]))
            np.save(bundle / case / "inputs" / "x.npy", np.random.default_rng(m + k).standard_normal((m, k), np.float32))
        (tmp / ("bench-" + case)).mkdir(parents=True, exist_ok=True)
        function = "decode" if ".gpt2_decode." in case else "main"
        result, _ = effc_run(bundle, case, tmp / ("bench-" + case), bench=runs, function=function)
        effc_ms = median_ms(result.stdout) if result.returncode == 0 else math.nan
        folder = bundle / case / "inputs"
        inputs = {p.stem: np.load(p) for p in (folder / function if (folder / function).is_dir() else folder).glob("*.npy")}
        peers, flops = {}, None
        if case.startswith("bench.gemm_"):
            m, k, n = map(int, re.findall(r"\d+", case.split("gemm_")[1]))
            x = torch.from_numpy(inputs["x"]).cuda()
            w, b = torch.randn(n, k, device="cuda"), torch.randn(n, device="cuda")
            peers["torch f32"] = torch_time(lambda: torch.nn.functional.linear(x, w, b), runs)
            xh, wh, bh = x.half(), w.half(), b.half()
            peers["torch f16"] = torch_time(lambda: torch.nn.functional.linear(xh, wh, bh), runs)
            flops = 2.0 * m * k * n
        else:
            if model not in peer_cache:
                config = manifest["bench_bert" if model == "bert_base" else "bench_gpt"]
                weights = bench_weights(manifest["bench_specs"][model], config["layers"])
                timings, reference = {}, None
                with torch.no_grad():
                    for label, dtype in (("torch f32", torch.float32), ("torch f16", torch.float16),
                                         ("torch bf16", torch.bfloat16)):
                        if model == "bert_base":
                            forward = torch_bert(weights, manifest["bench_bert"], inputs["input_ids"],
                                                 inputs["attention_mask"], inputs["token_type_ids"], dtype)
                        else:
                            forward = torch_gpt_decode(weights, manifest["bench_gpt"], inputs, dtype)
                        if reference is None:
                            reference = forward().float().cpu().numpy()
                        timings[label] = torch_time(forward, runs)
                        del forward
                        torch.cuda.empty_cache()
                peer_cache[model] = (timings, reference)
            timings, reference = peer_cache[model]
            peers.update(timings)
            ours = tmp / ("bench-" + case) / ("last_hidden_state.npy" if model == "bert_base" else "logits.npy")
            if ours.exists():  # written by the timed runs
                peers["max|effc - torch f32|"] = float(np.abs(np.load(ours) - reference).max())
            if model == "bert_base":
                cfg = manifest["bench_bert"]
                d, f, tokens, seq = cfg["hidden"], cfg["ffn"], inputs["input_ids"].size, inputs["input_ids"].shape[1]
                flops = cfg["layers"] * (tokens * 2 * d * (4 * d + 2 * f) + 4 * tokens * seq * d)
        rows.append({"case": case, "effc_ms": effc_ms,
                     "effc_tflops": flops / effc_ms / 1e9 if flops and effc_ms == effc_ms else None,
                     "peers_ms": peers, "error": None if result.returncode == 0 else result.stderr[-800:]})


def unpack(bundle, archive):
    """Extracts the benchmarks' zstd-compressed tar (with this machine's zstd, or the one the bundle carries)."""
    import os
    zstd, env = shutil.which("zstd"), None
    if not zstd:
        zstd = str(bundle / "bin" / "zstd")
        env = {**os.environ, "LD_LIBRARY_PATH": str(bundle / "bin" / "zstd-libs")}
    start = time.perf_counter()
    with subprocess.Popen([zstd, "-d", "-q", "--long=30", "-c", str(archive)], stdout=subprocess.PIPE, env=env) as proc:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                if member.name.startswith(("/", "..")) or ".." in Path(member.name).parts:
                    raise SystemExit(f"{archive}: unsafe member {member.name}")
                tar.extract(member, bundle)
    if proc.returncode:
        raise SystemExit(f"{zstd} could not decompress {archive}")
    archive.unlink()
    print(f"unpacked {archive.name} in {time.perf_counter() - start:.1f} s", flush=True)


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
    if manifest.get("archive") and (bundle / manifest["archive"]).exists():  # the cases, packed for transfer
        unpack(bundle, bundle / manifest["archive"])
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
            rate = f" ({row['effc_tflops']:.2f} TFLOP/s)" if row["effc_tflops"] else ""
            print(f"BENCH {row['case']:28s} effc {row['effc_ms']:.3f} ms{rate}; "
                  f"{peers}" + (f"; error {row['error']}" if row["error"] else ""), flush=True)
    print(f"{len(results) - failed}/{len(results)} cases match the CPU build")
    if args.json:
        Path(args.json).write_text(json.dumps({"checks": results, "bench": bench}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
