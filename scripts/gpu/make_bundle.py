"""Builds what a GPU machine needs to check and time effc's CUDA target, on a machine that has effc.

    /usr/bin/python3 scripts/gpu/make_bundle.py [--out .gpu-bundle] [--arch sm_90] [--quick]

The GPU machine has no MLIR, so everything is compiled here: each example model in each compression variant
for --target=cuda (and for the CPU, whose outputs on the sample inputs are the reference), effc-run (static
runtime, needs only libc), and the benchmark models (BERT-base at batch 8 x 128, GPT-2 small decoding one
token after 128, each in the compression variants, and the GEMM shapes of BERT-base's linear layers).
`scripts/gpu/check_bundle.py` runs it there:

    python3 scripts/gpu/check_bundle.py .gpu-bundle

The bundle stays under 64 MiB, what the device tool carries (docs/gpu.md, "Running on a GPU").
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "examples"), str(Path(__file__).parent)]
import models  # noqa: E402
from check_bundle import bench_weights, synthetic  # noqa: E402

VARIANTS = {"plain": [], "int8": ["--quantize=int8"], "int4": ["--quantize=int4"], "bf16": ["--quantize=bf16"],
            "sparse24": ["--sparsity=2:4"], "drop1": ["--drop-layers=top:1"],
            "bf16mm": ["--cuda-matmul-precision=bf16"],  # f32 weights, products on bf16 tensor cores
            "sparse24-bf16mm": ["--sparsity=2:4", "--cuda-matmul-precision=bf16"],  # 2:4 on sparse tensor cores
            "f16mm": ["--cuda-matmul-precision=f16"],  # f32 weights, products on f16 tensor cores
            # sm_90a (H100/H200 only): the large GEMM tile on wgmma (the later --cuda-arch wins)
            "bf16mm-sm90a": ["--cuda-matmul-precision=bf16", "--cuda-arch=sm_90a"],
            "f16mm-sm90a": ["--cuda-matmul-precision=f16", "--cuda-arch=sm_90a"],
            "sparse24-f16mm": ["--sparsity=2:4", "--cuda-matmul-precision=f16"],
            "sparse24-int8": ["--sparsity=2:4", "--quantize=int8"], "lut3": ["--quantize=lut:3"],
            "csr": ["--sparsity=unstructured:0.5"]}
# The benchmark models: BERT-base (batch 8 x 128 tokens) and GPT-2 small (decoding one token after a cache of
# 128), whole, in these variants. Their weights are shaped for the 64-MiB transfer (`transferable`).
BENCH_BERT = models.BertConfig(vocab_size=30522, hidden=768, heads=12, ffn=3072, layers=12, max_positions=512)
BENCH_SHAPE = (8, 128)
BENCH_GPT = models.GptConfig(vocab_size=50257, hidden=768, heads=12, ffn=3072, layers=12, max_positions=1024)
BENCH_PAST = 128
BENCH_VARIANTS = ("plain", "bf16mm", "f16mm", "f16mm-sm90a", "bf16", "int8", "int4", "sparse24", "sparse24-bf16mm",
                  "sparse24-f16mm", "sparse24-int8", "lut3")
# [M, K] x [K, N] GEMMs of BERT-base at batch 8 x 128 tokens: QKV/output projection, FFN up.
GEMMS = [(1024, 768, 768), (1024, 768, 3072)]


def bench_spec(init, cfg):
    """{name: [shape, mean, std]} of one layer of `cfg` as `init` makes it (check_bundle.bench_weights's spec)."""
    one = init(type(cfg)(**{**cfg.__dict__, "layers": 1}), np.random.default_rng(0))
    return {name: [list(a.shape), round(float(a.mean()), 3), round(float(a.std()), 4)] for name, a in one.items()}


def run(args, **kw):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if result.returncode:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{result.stderr[-4000:]}")
    return result


def gemm_mlir(m, k, n):
    return f"""// GEMM benchmark: [{m}, {k}] x [{k}, {n}] + bias.
module attributes {{eff.weights = "gemm_{m}x{k}x{n}.safetensors"}} {{
  func.func @main(%x: tensor<{m}x{k}xf32> {{eff.name = "x"}}) -> (tensor<{m}x{n}xf32> {{eff.name = "y"}}) {{
    %w = eff.parameter "w" : tensor<{n}x{k}xf32>
    %b = eff.parameter "b" : tensor<{n}xf32>
    %y = eff.linear %x, %w, %b : (tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<{m}x{n}xf32>
    return %y : tensor<{m}x{n}xf32>
  }}
}}
"""


# Ragged GEMMs for the CUDA GEMM micro-kernel (numerics against the CPU build): a linear with >= 128 tiles of
# 128 x 128 (the large tile), one on a [B, S, K] input with a K that is not a multiple of the K tile (the
# small tile), and a batched matmul over [B, H] (block z).
GEMM_EDGES_MLIR = """// Ragged GEMM shapes for the CUDA GEMM micro-kernel.
module attributes {eff.weights = "gemm_edges.safetensors"} {
  func.func @main(%x1: tensor<1100x77xf32> {eff.name = "x1"}, %x2: tensor<2x35x33xf32> {eff.name = "x2"},
                  %a: tensor<2x3x50x40xf32> {eff.name = "a"}, %b: tensor<2x3x40x60xf32> {eff.name = "b"})
      -> (tensor<1100x1800xf32> {eff.name = "y1"}, tensor<2x35x90xf32> {eff.name = "y2"},
          tensor<2x3x50x60xf32> {eff.name = "y3"}) {
    %w1 = eff.parameter "w1" : tensor<1800x77xf32>
    %b1 = eff.parameter "b1" : tensor<1800xf32>
    %w2 = eff.parameter "w2" : tensor<90x33xf32>
    %b2 = eff.parameter "b2" : tensor<90xf32>
    %y1 = eff.linear %x1, %w1, %b1 : (tensor<1100x77xf32>, tensor<1800x77xf32>, tensor<1800xf32>) -> tensor<1100x1800xf32>
    %y2 = eff.linear %x2, %w2, %b2 : (tensor<2x35x33xf32>, tensor<90x33xf32>, tensor<90xf32>) -> tensor<2x35x90xf32>
    %y3 = eff.matmul %a, %b : (tensor<2x3x50x40xf32>, tensor<2x3x40x60xf32>) -> tensor<2x3x50x60xf32>
    return %y1, %y2, %y3 : tensor<1100x1800xf32>, tensor<2x35x90xf32>, tensor<2x3x50x60xf32>
  }
}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / ".gpu-bundle"))
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--quick", action="store_true", help="plain variants only")
    parser.add_argument("--part", choices=["all", "examples", "bench"], default="all",
                        help="the example checks, the benchmarks, or both (each part alone fits one device call)")
    parser.add_argument("--only", default="", help="only the examples whose name starts with this")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS",
                        help="compile the examples with these effc flags (space-separated) instead of the standard "
                             "variants; repeatable, e.g. --variant 'int8-noreuse=--quantize=int8 --no-layer-reuse'")
    parser.add_argument("--bin", default=str(REPO / "build" / "bin"), help="where effc and effc-run are")
    parser.add_argument("--bench-variants", default=",".join(BENCH_VARIANTS),
                        help=f"the benchmark models' variants, comma-separated (default: all of {BENCH_VARIANTS})")
    args = parser.parse_args()
    global BIN
    BIN = Path(args.bin)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    (out / "bin").mkdir(parents=True)
    shutil.copy(BIN / "effc-run", out / "bin")
    shutil.copy(Path(__file__).with_name("check_bundle.py"), out)
    work = out / "_work"
    work.mkdir()
    cases = []

    def build(name, model, inputs_dir, flags):
        expected = not name.startswith("bench.")
        case = out / name
        case.mkdir()
        run([BIN / "effc", model, "--target=cuda", f"--cuda-arch={args.arch}", *flags, "-o", case / "gpu.so"])
        # An inputs folder holds NAME.npy for `main`, or a folder of them per function (gpt_tiny: prefill, decode).
        functions = sorted(d.name for d in inputs_dir.iterdir() if d.is_dir()) or [None]
        # Keep only the inputs each function takes (--drop-layers removes the dropped layers' KV caches); the
        # benchmarks keep them all and need no CPU build.
        cpu = work / f"{name}.so"
        listing = ""
        if expected:
            run([BIN / "effc", model, *flags, "-o", cpu])
            listing = run([BIN / "effc-run", cpu, "--list"]).stdout
        for function in functions:
            folder = inputs_dir / function if function else inputs_dir
            signature = re.search(rf"^{function or 'main'}\((.*?)\) ->", listing, re.M)
            takes = set(re.findall(r"(\w+):", signature.group(1))) if signature else None
            target = case / "inputs" / (function or "")
            target.mkdir(parents=True, exist_ok=True)
            for npy in folder.glob("*.npy"):
                if takes is None or npy.stem in takes:
                    shutil.copy(npy, target)
        if expected:
            for function in functions:
                (case / "expected" / (function or "main")).mkdir(parents=True)
                command = [BIN / "effc-run", cpu, "--output-dir", case / "expected" / (function or "main")]
                if function:
                    command += ["--function", function]
                for npy in sorted((case / "inputs" / (function or "")).glob("*.npy")):
                    command += ["--input", f"{npy.stem}={npy}"]
                run(command)
        return {"name": name, "flags": flags, "functions": [f or "main" for f in functions]}

    jobs = []
    variants = {"plain": []} if args.quick else VARIANTS
    if args.variant:
        variants = {v.split("=", 1)[0]: v.split("=", 1)[1].split() for v in args.variant}
    examples = [e for e in models.EXAMPLES if e.startswith(args.only)] if args.part != "bench" else []
    for example in examples:
        for variant, flags in variants.items():
            jobs.append((f"{example}.{variant}", REPO / "examples" / f"{example}.mlir",
                         REPO / "examples" / f"{example}.inputs", flags))

    if args.part != "bench" and "gemm_edges".startswith(args.only):
        g = np.random.default_rng(7)
        models.ir.write_safetensors(work / "gemm_edges.safetensors", {
            "w1": g.standard_normal((1800, 77)).astype(np.float32), "b1": g.standard_normal(1800).astype(np.float32),
            "w2": g.standard_normal((90, 33)).astype(np.float32), "b2": g.standard_normal(90).astype(np.float32)})
        (work / "gemm_edges.mlir").write_text(GEMM_EDGES_MLIR)
        eins = work / "gemm_edges.inputs"
        eins.mkdir()
        for name, shape in {"x1": (1100, 77), "x2": (2, 35, 33), "a": (2, 3, 50, 40), "b": (2, 3, 40, 60)}.items():
            np.save(eins / f"{name}.npy", g.standard_normal(shape).astype(np.float32))
        jobs.append(("gemm_edges.plain", work / "gemm_edges.mlir", eins, []))

    bench = []
    if args.part != "examples":
        specs = {"bert_base": bench_spec(models.init_bert, BENCH_BERT), "gpt2": bench_spec(models.init_gpt, BENCH_GPT)}
        bert = bench_weights(specs["bert_base"], BENCH_BERT.layers)
        models.build_bert(BENCH_BERT, bert, weights_file="bert_base.safetensors").save(work / "bert_base.mlir")
        gpt = bench_weights(specs["gpt2"], BENCH_GPT.layers)
        models.build_gpt(BENCH_GPT, gpt, weights_file="gpt2.safetensors").save(work / "gpt2.mlir")
        ins = work / "bench.inputs"  # made on the device (check_bundle.bench_inputs)
        ins.mkdir()
        for variant in args.bench_variants.split(","):
            jobs.append((f"bench.bert_base.{variant}", work / "bert_base.mlir", ins, VARIANTS[variant]))
            jobs.append((f"bench.gpt2_decode.{variant}", work / "gpt2.mlir", ins, VARIANTS[variant]))
            bench += [f"bench.bert_base.{variant}", f"bench.gpt2_decode.{variant}"]
        for m, k, n in GEMMS:
            name = f"gemm_{m}x{k}x{n}"
            models.ir.write_safetensors(work / f"{name}.safetensors",
                                        {"w": synthetic((n, k), m + k + n, std=1 / np.sqrt(k)),
                                         "b": synthetic((n,), m + k + n + 1)})
            (work / f"{name}.mlir").write_text(gemm_mlir(m, k, n))
            gins = work / f"{name}.inputs"
            gins.mkdir()  # x is made on the device (check_bundle.py), from the shape in the manifest
            jobs.append((f"bench.{name}", work / f"{name}.mlir", gins, []))
            bench.append(f"bench.{name}")

    with ThreadPoolExecutor(2) as pool:
        cases = list(pool.map(lambda j: build(*j), jobs))
    shutil.rmtree(work)
    archive = None
    # Every case travels in one zstd-compressed tar: the benchmarks are gigabytes of artifacts whose layers
    # repeat (zstd's long-distance matching makes them megabytes), the examples' fatbins compress 2-3x.
    packed = [case["name"] for case in cases]
    if packed:
        archive = "cases.tar.zst"
        zstd_binary = shutil.which("zstd")
        if not zstd_binary:
            raise SystemExit("the cases travel zstd-compressed: install zstd (apt-get install zstd)")
        # The GPU machine may lack zstd: the bundle carries this one and the libraries it links.
        shutil.copy(zstd_binary, out / "bin" / "zstd")
        (out / "bin" / "zstd-libs").mkdir()
        for library in re.findall(r"=> (/\S+/lib(?:z|lzma|lz4)\.so\.\d+)", run(["ldd", zstd_binary]).stdout):
            shutil.copy(library, out / "bin" / "zstd-libs")
        with open(out / archive, "wb") as sink:
            zstd = subprocess.Popen([zstd_binary, "-q", "-3", "--long=30", "-T2", "-c"], stdin=subprocess.PIPE,
                                    stdout=sink)
            with tarfile.open(fileobj=zstd.stdin, mode="w|") as tar:
                for name in packed:
                    tar.add(out / name, arcname=name)
            zstd.stdin.close()
            if zstd.wait():
                raise SystemExit("zstd failed")
        for name in packed:
            shutil.rmtree(out / name)
    (out / "manifest.json").write_text(json.dumps({
        "arch": args.arch, "cases": cases, "bench": bench, "archive": archive, "bench_bert": BENCH_BERT.__dict__,
        "bench_shape": BENCH_SHAPE, "bench_gpt": BENCH_GPT.__dict__, "bench_past": BENCH_PAST,
        "bench_specs": specs if bench else {}, "gemms": GEMMS}, indent=1))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"bundle: {len(cases)} cases, {size / 2**20:.1f} MiB in {out}")


if __name__ == "__main__":
    main()
