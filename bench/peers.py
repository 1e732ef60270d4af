"""Benchmark: the peer table in one command (effc's compression variants, ONNX Runtime, PyTorch; one run).

effc, ONNX Runtime and PyTorch run the same models, weights and inputs on the same machine, in one run.

    /usr/bin/python3 bench/peers.py [--cases bert-b1,bert-b8,tinybert-b1,gpt2-prefill,gpt2-decode,switch-b1]
        [--variants f32,bf16,int8,int4,2:4,2:4+int8,drop40] [--peers torch,ort,ort-int8] [--runs 20]
        [--rounds 4] [--threads 2] [--layers N] [--no-peaks] [--workdir /tmp/effc-peers]

    quick check:  bench/peers.py --cases tinybert-b1,gpt2-decode --variants f32,int8 --runs 4 --rounds 2 --layers 2

Cases (sequence 128, seeded random weights built here with examples/models.py; --layers N shrinks every model
to N layers for a quick check):
  bert-b1, bert-b8   BERT-base (12 x 768, 12 heads, FFN 3072), batch 1 and 8
  tinybert-b1        TinyBERT 4 x 312 (12 heads, FFN 1200), batch 1
  gpt2-prefill       GPT-2 small (12 x 768, vocab 50257, tied head): 128 tokens, logits for every position
  gpt2-decode        GPT-2 small: one new token after a 128-token KV cache (logits and the 12 x 2 presents)
  switch-b1          Switch-MoE encoder (4 x 768, 12 heads, 8 experts of FFN 3072, top-1; odd layers are residual
                     MoE as examples/models.py builds them; capacity factor 8, so that no token is dropped)
Variants (effc flags on the f32 graph): f32, bf16 (--quantize=bf16), int8, int4, 2:4 (--sparsity=2:4), 2:4+int8,
drop40 (--drop-layers=top:K, K = 40% of the layers, rounded); run only when named: f32-rows (--no-weight-panels,
the f32 GEMMs reading their weights as [K, N] rows: an A/B check of the weight panels).
Peers: PyTorch eager (inference mode, THREADS threads, OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS=THREADS);
ONNX Runtime through npm's onnxruntime-node (bench/peers/ort_bench.js: CPU provider, graph optimisation "all",
THREADS intra-op threads) on the model torch.onnx.export writes (ort), and on its dynamic int8 form (ort-int8:
each MatMul with a constant [K, N] weight becomes DynamicQuantizeLinear -> MatMulInteger with an int8 weight
quantized per output column (symmetric) -> Cast -> Mul by the input scale times the column scales, the graph
onnxruntime.quantization.quantize_dynamic(per_channel=True) writes).

Each row: ms of --runs runs split into --rounds rounds (each runtime of a case runs ceil(runs / rounds) times
after 3 warm-up runs in every round, the runtimes taking turns, so that a slow spell of a shared machine, which
can last seconds, falls on all of them rather than on one): the median of the rounds' medians, with the
smallest and largest single run; the speed-up of effc's row over ORT f32
(and ORT int8 for int8 rows) and over PyTorch; GFLOP/s (the model's matmul FLOPs: linear layers, attention,
the routed expert per token; the kept layers for drop40, the dense products for 2:4, so its figure is an
effective rate) as a % of the FMA peak measured in this run (int8 and int4 rows: of the VNNI peak, int4 being
W4A8; bf16 rows: of the vdpbf16ps peak where the CPU has AVX512-BF16), and,
for effc, weight GB/s as a % of the streaming bandwidth measured beside it (a read at the start of every round,
shown as a "streaming read" row per case; each round's median run against its round's read, the median of
those: a shared host's bandwidth drifts by half within minutes; the bytes of the weights file a run streams: all
but the embedding tables, of which it gathers a few rows; decode is bandwidth-bound, and 100% is its
bound, so "within 1.1x of the bound" reads >= 91%; above 100%, part of the weights came from the L3); for decode,
%BW+KV counts the KV cache as well, which every step must read (past) and write back (present, past + 1 rows):
the bound of the bytes a step moves, not only its weights; the
largest |output - PyTorch f32| relative to the largest |PyTorch f32| output (the f32 reference). The peaks
come from bench/ukernel_peaks.c (best of 5, same threads), measured first, as do the rounds' streaming reads.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("EFFC_BIN_DIR", REPO / "build" / "bin"))
PEERS = REPO / "bench" / "peers"
SEQ = 128

# case -> (model, batch, function)
CASES = {
    "bert-b1": ("bert", 1, "main"),
    "bert-b8": ("bert", 8, "main"),
    "tinybert-b1": ("tinybert", 1, "main"),
    "gpt2-prefill": ("gpt2", 1, "prefill"),
    "gpt2-decode": ("gpt2", 1, "decode"),
    "switch-b1": ("switch", 1, "main"),
}
VARIANTS = {"f32": [], "bf16": ["--quantize=bf16"], "int8": ["--quantize=int8"], "int4": ["--quantize=int4"],
            "2:4": ["--sparsity=2:4"], "2:4+int8": ["--sparsity=2:4", "--quantize=int8"], "drop40": None,
            "f32-rows": ["--no-f32-linear-kernel", "--no-weight-panels"],
            "f32-generated": ["--no-f32-linear-kernel"]}
# Variants for A/B checks of the compiler itself, run only when named: f32-generated is f32 with generated
# GEMMs instead of the effc_uk_linear_f32 micro-kernel, f32-rows that with the GEMM weights as [K, N] rows
# instead of column panels.
AB_VARIANTS = {"f32-rows", "f32-generated"}


def model_config(models, model, layers):
    """(config, init, build, layer count) of `model`; `layers` overrides the layer count when given."""
    if model in ("bert", "tinybert"):
        shape = dict(hidden=768, heads=12, ffn=3072, layers=12) if model == "bert" else \
            dict(hidden=312, heads=12, ffn=1200, layers=4)
        if layers:
            shape["layers"] = layers
        return models.BertConfig(vocab_size=30522, max_positions=512, **shape), models.init_bert, models.build_bert
    if model == "gpt2":
        return (models.GptConfig(vocab_size=50257, hidden=768, heads=12, ffn=3072, layers=layers or 12,
                                 max_positions=1024), models.init_gpt, models.build_gpt)
    return (models.MoeConfig(vocab_size=30522, hidden=768, heads=12, experts=8, expert_ffn=3072, dense_ffn=3072,
                             layers=layers or 4, max_positions=512, capacity_factor=8.0),
            models.init_moe, models.build_moe)


def matmul_flops(model, cfg, batch, function, layers=None):
    """FLOPs of the model's matrix products for one run (2 per multiply-add), of its first `layers` layers
    (all by default) and its head."""
    d, layers = cfg.hidden, cfg.layers if layers is None else layers
    if model == "gpt2" and function == "decode":
        tokens, keys = batch, SEQ + 1
    else:
        tokens, keys = batch * SEQ, SEQ
    attention = 4 * tokens * keys * d  # Q·Kᵀ and P·V over all heads
    if model in ("bert", "tinybert", "gpt2"):
        per_layer = 2 * tokens * (4 * d * d + 2 * d * cfg.ffn) + attention
        head = 2 * tokens * d * cfg.vocab_size if model == "gpt2" else 0
        return layers * per_layer + head
    total = 0
    for i in range(layers):  # Switch: the routed expert; residual MoE layers also run the dense MLP
        ffn = 2 * d * cfg.expert_ffn + (2 * d * cfg.dense_ffn if i % 2 else 0)
        total += 2 * tokens * (4 * d * d + ffn) + attention + 2 * tokens * d * cfg.experts
    return total


def gathered_bytes(weights):
    """Bytes of the embedding tables, which stay f32 in every variant and of which a run reads only the rows
    it gathers: the weights file less these is what a run streams (GPT-2's tied LM head is a separate,
    packed copy in the file)."""
    return sum(array.nbytes for name, array in weights.items()
               if "embed" in name or name.split(".")[0] in ("wte", "wpe"))


def make_inputs(model, cfg, batch, function, rng):
    import numpy as np
    ids = rng.integers(0, cfg.vocab_size, (batch, 1 if function == "decode" else SEQ), dtype=np.int64)
    if model in ("bert", "tinybert"):
        return {"input_ids": ids, "attention_mask": np.ones((batch, SEQ), np.int64),
                "token_type_ids": np.zeros((batch, SEQ), np.int64)}
    if model == "switch":
        return {"input_ids": ids, "attention_mask": np.ones((batch, SEQ), np.int64)}
    inputs = {"input_ids": ids}
    if function == "decode":
        for i in range(cfg.layers):
            for kind in ("key", "value"):
                inputs[f"past_{kind}_{i}"] = rng.standard_normal((batch, SEQ, cfg.hidden)).astype(np.float32)
    return inputs


def torch_peer(model, cfg, weights, function):
    """(nn.Module whose forward takes the inputs in order, name of its first output)."""
    import torch
    from test_models_vs_torch import TorchBert
    from torch_models import GptFunction, TorchGpt, TorchSwitch

    if model in ("bert", "tinybert"):
        peer = TorchBert(cfg).eval()
        peer.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=False)
        return peer, "last_hidden_state"
    if model == "gpt2":
        return GptFunction(TorchGpt(cfg, weights), function).eval(), "logits"
    return TorchSwitch(cfg, weights).eval(), "last_hidden_state"


def latency(text):
    match = re.search(r"min ([\d.]+) median ([\d.]+) max ([\d.]+)", text)
    return tuple(float(match.group(i)) for i in (1, 2, 3))


def time_torch(peer, tensors, runs):
    import torch

    with torch.inference_mode():
        for _ in range(3):
            peer(*tensors)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            peer(*tensors)
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[0], times[len(times) // 2], times[-1]


def quantize_onnx_int8(source, destination):
    """The dynamic int8 form of an ONNX model (see the module docstring): MatMul with a constant 2-D weight ->
    DynamicQuantizeLinear + MatMulInteger (int8 weight, per-column scales) + Cast + Mul."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    nodes, quantized = [], 0
    for node in graph.node:
        weight = initializers.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight).astype(np.float32)  # [K, N]
        scale = np.maximum(np.abs(w).max(0), 1e-12) / 127.0
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        base = f"{node.name or node.output[0]}_int8_{quantized}"
        graph.initializer.extend([numpy_helper.from_array(q, f"{base}_w"),
                                  numpy_helper.from_array(np.zeros((), np.int8), f"{base}_wzp"),
                                  numpy_helper.from_array(scale.astype(np.float32), f"{base}_ws")])
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [node.input[0]], [f"{base}_x", f"{base}_xs", f"{base}_xzp"]),
            helper.make_node("MatMulInteger", [f"{base}_x", f"{base}_w", f"{base}_xzp", f"{base}_wzp"], [f"{base}_i32"]),
            helper.make_node("Cast", [f"{base}_i32"], [f"{base}_f32"], to=onnx.TensorProto.FLOAT),
            helper.make_node("Mul", [f"{base}_xs", f"{base}_ws"], [f"{base}_scale"]),
            helper.make_node("Mul", [f"{base}_f32", f"{base}_scale"], list(node.output)),
        ]
        quantized += 1
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.save(model, str(destination), save_as_external_data=True, location=destination.name + ".data")
    return quantized


def ensure_onnxruntime():
    if not (PEERS / "node_modules" / "onnxruntime-node").exists():
        env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PEERS)], check=True, env=env,
                       capture_output=True)


def measure_peaks(work, threads):
    """The machine's peaks on `threads` threads; leaves the program in `work` for stream_rate."""
    sys.path.insert(0, str(REPO / "bench"))
    from ukernel_peaks import measure_peaks as measure

    return measure(work, threads)[threads]


def stream_rate(work, threads):
    """The streaming-read rate now (GB/s, best of 5 reads): measured in every round of a case, beside its runs,
    since a shared host's memory bandwidth changes over minutes (the same 2 threads read 36 GB/s in one hour and
    57 in the next) more than the decode rows it bounds."""
    out = subprocess.run([work / "ukernel_peaks", str(threads), "stream"], check=True, capture_output=True,
                         text=True).stdout
    return float(re.search(r"stream_gbs ([\d.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--variants", default=",".join(v for v in VARIANTS if v not in AB_VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--peers", default="torch,ort,ort-int8", help="comma-separated, of torch, ort, ort-int8")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4,
                        help="alternating rounds the runs are split into (each runtime runs in every round)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layers", type=int, default=0, help="shrink every model to this many layers (quick checks)")
    parser.add_argument("--no-peaks", action="store_true", help="skip measuring the machine's peaks")
    parser.add_argument("--workdir", default="/tmp/effc-peers")
    args = parser.parse_args()
    cases, variants, peers = args.cases.split(","), args.variants.split(","), set(args.peers.split(","))
    for name, known in ((cases, CASES), (variants, VARIANTS)):
        unknown = [n for n in name if n not in known]
        if unknown:
            parser.error(f"unknown {', '.join(unknown)} (known: {', '.join(known)})")
    if peers - {"torch", "ort", "ort-int8"}:
        parser.error(f"unknown peers {', '.join(peers - {'torch', 'ort', 'ort-int8'})}")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import numpy as np
    import torch

    sys.path[:0] = [str(REPO / "examples"), str(REPO / "python-bindings"), str(REPO / "test" / "e2e"), str(PEERS)]
    import models

    torch.set_num_threads(args.threads)
    if peers & {"ort", "ort-int8"}:
        ensure_onnxruntime()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    peaks = {} if args.no_peaks else measure_peaks(work, args.threads)
    if peaks:
        print(f"peaks on {args.threads} threads (best of 5): FMA {peaks['fma_gflops']:.0f} GFLOP/s, "
              f"VNNI {peaks['vnni_gops']:.0f} GOP/s, "
              + (f"bf16 {peaks['bf16_gflops']:.0f} GFLOP/s, " if "bf16_gflops" in peaks else "")
              + f"streaming read {peaks['stream_gbs']:.1f} GB/s")
    if args.rounds < 1 or args.runs < args.rounds:
        parser.error("--rounds must be at least 1 and at most --runs")
    print(f"{args.threads} threads, sequence {SEQ}, {args.rounds} alternating rounds of "
          f"{-(-args.runs // args.rounds)} runs after 3 warm-up runs: median of the rounds' medians (min-max); "
          "error = max |out - torch f32| / max |torch f32|")
    print(f"{'case':<14}{'runtime':<18}{'ms':>10}{'(min-max)':>20}{'vs ORT':>8}{'vs ORT8':>8}{'vs torch':>9}"
          f"{'GFLOP/s':>9}{'%peak':>7}{'GB/s':>7}{'%BW':>6}{'%BW+KV':>8}  error", flush=True)

    built = {}
    for case in cases:
        model, batch, function = CASES[case]
        cfg, init, build = model_config(models, model, args.layers)
        tag = f"{model}_l{cfg.layers}"
        if tag not in built:
            weights = init(cfg, np.random.default_rng(0))
            build(cfg, weights, weights_file=f"{tag}.safetensors").save(work / f"{tag}.mlir")
            built[tag] = weights
        weights = built[tag]
        inputs = make_inputs(model, cfg, batch, function, np.random.default_rng(1))
        flops = matmul_flops(model, cfg, batch, function)
        peer, output_name = torch_peer(model, cfg, weights, function)
        tensors = [torch.from_numpy(a) for a in inputs.values()]
        with torch.inference_mode():  # the f32 reference every row is checked against
            expected = peer(*tensors)
            expected = (expected[0] if isinstance(expected, tuple) else expected).numpy()
        torch_times = None
        scale = float(np.abs(expected).max())
        ort_ms = {}

        def row(runtime, times, output, round_ms=(), weight_bytes=None, int8=False, bf16=False, flops=flops,
                cache_bytes=0):
            ms = times[1]
            cells = [f"{case:<14}{runtime:<18}{ms:>10.2f}{f'({times[0]:.1f}-{times[2]:.1f})':>20}"]
            for key in ("ort", "ort-int8"):
                cells.append(f"{ort_ms[key] / ms:>7.2f}x" if key in ort_ms else f"{'-':>8}")
            cells.append(f"{torch_times[1] / ms:>8.2f}x" if torch_times else f"{'-':>9}")
            gflops = flops / ms / 1e6
            peak = peaks.get("vnni_gops" if int8 else "bf16_gflops" if bf16 and "bf16_gflops" in peaks
                             else "fma_gflops")
            cells.append(f"{gflops:>9.1f}" + (f"{100 * gflops / peak:>6.0f}%" if peak else f"{'-':>7}"))
            def of_stream(nbytes):  # % of the streaming rate: per round (its median run, its read), then the median
                return float(np.median([100 * nbytes / t / 1e6 / gbs for t, gbs in zip(round_ms, streams)]))

            if weight_bytes:
                cells.append(f"{weight_bytes / ms / 1e6:>7.1f}"
                             + (f"{of_stream(weight_bytes):>5.0f}%" if streams else f"{'-':>6}"))
            else:
                cells.append(f"{'-':>7}{'-':>6}")
            if weight_bytes and cache_bytes and streams:
                cells.append(f"{of_stream(weight_bytes + cache_bytes):>7.0f}%")
            else:
                cells.append(f"{'-':>8}")
            error = np.abs(output.reshape(expected.shape) - expected).max() / scale
            cells.append(f"  {error:.1e}")
            print("".join(cells), flush=True)

        # Every runtime of the case, as (label, measure(runs) -> (min, median, max), output(), row options), then
        # measured in --rounds alternating rounds (see the module docstring).
        runtimes = []
        if "torch" in peers:
            runtimes.append(("PyTorch eager", lambda runs: time_torch(peer, tensors, runs), lambda: expected, {}))

        # ONNX Runtime: f32 and dynamic int8.
        if peers & {"ort", "ort-int8"}:
            onnx_path = work / f"{tag}_{function}_b{batch}.onnx"
            if not onnx_path.exists():
                torch.onnx.export(peer, tuple(tensors), onnx_path, opset_version=17, input_names=list(inputs),
                                  output_names=[output_name])
            specs = []
            for name, array in inputs.items():
                array.tofile(work / f"{case}_{name}.bin")
                specs.append({"name": name, "dtype": "int64" if array.dtype == np.int64 else "float32",
                              "shape": list(array.shape), "file": str(work / f"{case}_{name}.bin")})
            (work / f"{case}_inputs.json").write_text(json.dumps(specs))
            for key in ("ort", "ort-int8"):
                if key not in peers:
                    continue
                path = onnx_path
                if key == "ort-int8":
                    path = onnx_path.with_name(onnx_path.stem + "_int8.onnx")
                    if not path.exists():
                        quantize_onnx_int8(onnx_path, path)

                def measure_ort(runs, path=path, key=key):
                    ran = subprocess.run(["node", PEERS / "ort_bench.js", path, work / f"{case}_inputs.json",
                                          str(runs), str(args.threads), work / f"{case}_{key}.bin"],
                                         capture_output=True, text=True, cwd=PEERS)
                    if ran.returncode != 0:
                        raise RuntimeError(ran.stderr.strip()[-300:])
                    return latency(ran.stdout)

                runtimes.append(("ONNX Runtime" + (" int8" if key == "ort-int8" else ""), measure_ort,
                                 lambda key=key: np.fromfile(work / f"{case}_{key}.bin", np.float32),
                                 {"int8": key == "ort-int8", "ort": key}))

        # effc, each variant compiled once per model (external weights: their size is what a run streams).
        for variant in variants:
            flags, run_inputs, run_flops = VARIANTS[variant], inputs, flops
            if flags is None:  # drop40: the last K layers go, and with them their KV cache inputs
                dropped = max(1, round(0.4 * cfg.layers))
                flags = [f"--drop-layers=top:{dropped}"]
                kept = cfg.layers - dropped
                run_flops = matmul_flops(model, cfg, batch, function, layers=kept)
                run_inputs = {k: v for k, v in inputs.items()
                              if not (k.startswith("past_") and int(k.rsplit("_", 1)[1]) >= kept)}
            so = work / f"{tag}_{variant.replace(':', '_').replace('+', '_')}.so"
            # Compiled once per effc build: a .so older than the effc binary (which embeds the micro-kernels)
            # is stale.
            if not so.exists() or so.stat().st_mtime < (BIN / "effc").stat().st_mtime:
                subprocess.run([BIN / "effc", work / f"{tag}.mlir", "-o", so, "--external-weights", *flags],
                               check=True)
            out_dir = work / f"out_{case}_{variant.replace(':', '_').replace('+', '_')}"
            command = [BIN / "effc-run", so, "--function", function, "--output-dir", out_dir, "--threads",
                       str(args.threads)]
            for name, array in run_inputs.items():
                np.save(work / f"{case}_{name}.npy", array)
                command += ["--input", f"{name}={work / f'{case}_{name}.npy'}"]
            weights_file = Path(str(so) + ".weights")
            # Decode reads the past keys and values and writes the presents, one row longer.
            past = [array for name, array in run_inputs.items() if name.startswith("past_")]
            cache_bytes = sum(a.nbytes + a.shape[0] * (a.shape[1] + 1) * a.shape[2] * a.itemsize for a in past)
            runtimes.append((
                f"effc {variant}",
                lambda runs, command=command: latency(
                    subprocess.run(command + ["--bench", str(runs)], capture_output=True, text=True,
                                   check=True).stdout),
                lambda out_dir=out_dir: np.load(out_dir / f"{output_name}.npy"),
                {"weight_bytes": weights_file.stat().st_size - gathered_bytes(weights) if weights_file.exists()
                 else None, "int8": "int8" in variant or variant == "int4", "bf16": variant == "bf16",
                 "flops": run_flops, "cache_bytes": cache_bytes}))

        per_round = -(-args.runs // args.rounds)
        rounds = {label: [] for label, *_ in runtimes}
        failed = {}
        streams = []
        for _ in range(args.rounds):
            if peaks:
                streams.append(stream_rate(work, args.threads))
            for label, measure, _, _ in runtimes:
                if label in failed:
                    continue
                try:
                    rounds[label].append(measure(per_round))
                except RuntimeError as error:
                    failed[label] = str(error)
        # %BW of this case's rows: each round's median run against the streaming rate read at that round's start.
        if streams:
            print(f"{case:<14}{'streaming read':<18}{float(np.median(streams)):>10.1f}"
                  f"{f'({min(streams):.1f}-{max(streams):.1f})':>20} GB/s at the start of each round", flush=True)
        for label, _, output, options in runtimes:
            if label in failed:
                print(f"{case:<14}{label:<18} failed: {failed[label]}", flush=True)
                continue
            # min of the rounds' minima, median of their medians, max of their maxima
            times = (min(t[0] for t in rounds[label]), float(np.median([t[1] for t in rounds[label]])),
                     max(t[2] for t in rounds[label]))
            ort_key = options.pop("ort", None)
            if ort_key:
                ort_ms[ort_key] = times[1]
            if label == "PyTorch eager":
                torch_times = times
            row(label, times, output(), [t[1] for t in rounds[label]], **options)

if __name__ == "__main__":
    main()
