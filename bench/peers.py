"""Benchmark: effc against ONNX Runtime and PyTorch on the same encoder models, weights and machine, in one run.

    /usr/bin/python3 bench/peers.py [--cases bert-b1,bert-b8,tinybert-b1] [--variants f32,int8] [--runs 20]
                                    [--threads 2] [--workdir /tmp/effc-peers]

Peers: ONNX Runtime through npm's onnxruntime-node (CPU provider, graph optimisation "all", THREADS intra-op
threads; installed into bench/peers/node_modules on first use with ONNXRUNTIME_NODE_INSTALL=skip) running
the model exported by torch.onnx.export, and PyTorch eager (inference mode, THREADS threads,
OMP_WAIT_POLICY=PASSIVE). Models are built with seeded random weights: BERT-base (12 x 768, 12 heads,
FFN 3072) and a TinyBERT-shaped 4 x 312 encoder (12 heads, FFN 1200), sequence 128. Each effc variant is
the f32 model compiled with the given compression flags. Prints median (min-max) ms and ratios pair by pair;
every output is checked against PyTorch's.
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

CASES = {  # name -> (config overrides, batch)
    "bert-b1": (dict(hidden=768, heads=12, ffn=3072, layers=12), 1),
    "bert-b8": (dict(hidden=768, heads=12, ffn=3072, layers=12), 8),
    "tinybert-b1": (dict(hidden=312, heads=12, ffn=1200, layers=4), 1),
}
VARIANTS = {"f32": [], "bf16": ["--quantize=bf16"], "int8": ["--quantize=int8"], "2:4": ["--sparsity=2:4"]}


def ensure_onnxruntime():
    if not (PEERS / "node_modules" / "onnxruntime-node").exists():
        env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PEERS)], check=True, env=env,
                       capture_output=True)


def latency(text):
    match = re.search(r"min ([\d.]+) median ([\d.]+) max ([\d.]+)", text)
    return tuple(float(match.group(i)) for i in (1, 2, 3))


def time_torch(model, tensors, runs):
    import torch

    with torch.inference_mode():
        output = model(*tensors).numpy()
        for _ in range(3):
            model(*tensors)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(*tensors)
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return (times[0], times[len(times) // 2], times[-1]), output


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="bert-b1,bert-b8,tinybert-b1")
    parser.add_argument("--variants", default="f32")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default="/tmp/effc-peers")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import numpy as np
    import torch

    sys.path[:0] = [str(REPO / "examples"), str(REPO / "python-bindings"), str(REPO / "test" / "e2e")]
    import models
    from test_models_vs_torch import TorchBert

    ensure_onnxruntime()
    torch.set_num_threads(args.threads)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"{args.threads} threads, sequence 128, median (min-max) of {args.runs} runs after 3 warm-up runs")
    print(f"{'case':<13}{'runtime':<16}{'ms':>10}{'(min-max)':>18}{'vs ORT':>9}{'vs torch':>10}  max |out - torch|")
    built = {}
    for case in args.cases.split(","):
        overrides, batch = CASES[case]
        model_name = case.rsplit("-", 1)[0]
        cfg = models.BertConfig(vocab_size=30522, max_positions=512, **overrides)
        if model_name not in built:
            weights = models.init_bert(cfg, np.random.default_rng(0))
            models.build_bert(cfg, weights, weights_file=f"{model_name}.safetensors").save(work / f"{model_name}.mlir")
            torch_model = TorchBert(cfg).eval()
            torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=False)
            built[model_name] = torch_model
        torch_model = built[model_name]
        rng = np.random.default_rng(1)
        inputs = {"input_ids": rng.integers(0, cfg.vocab_size, (batch, 128), dtype=np.int64),
                  "attention_mask": np.ones((batch, 128), np.int64),
                  "token_type_ids": np.zeros((batch, 128), np.int64)}
        tensors = [torch.from_numpy(inputs[k]) for k in ("input_ids", "attention_mask", "token_type_ids")]
        onnx_path = work / f"{model_name}.onnx"
        if not onnx_path.exists():
            torch.onnx.export(torch_model, tuple(tensors), onnx_path, opset_version=17,
                              input_names=list(inputs), output_names=["last_hidden_state"],
                              dynamic_axes={k: {0: "batch", 1: "seq"} for k in inputs})
        specs = []
        for name, array in inputs.items():
            np.save(work / f"{case}_{name}.npy", array)
            array.tofile(work / f"{case}_{name}.bin")
            specs.append({"name": name, "dtype": "int64", "shape": list(array.shape),
                          "file": str(work / f"{case}_{name}.bin")})
        (work / f"{case}_inputs.json").write_text(json.dumps(specs))

        torch_times, expected = time_torch(torch_model, tensors, args.runs)
        ort = subprocess.run(["node", PEERS / "ort_bench.js", onnx_path, work / f"{case}_inputs.json",
                              str(args.runs), str(args.threads), work / f"{case}_ort.bin"],
                             capture_output=True, text=True, check=True, cwd=PEERS)
        ort_times = latency(ort.stdout)
        ort_output = np.fromfile(work / f"{case}_ort.bin", np.float32).reshape(expected.shape)

        def row(runtime, times, output):
            print(f"{case:<13}{runtime:<16}{times[1]:>10.2f}{f'({times[0]:.1f}-{times[2]:.1f})':>18}"
                  f"{ort_times[1] / times[1]:>8.2f}x{torch_times[1] / times[1]:>9.2f}x  "
                  f"{np.abs(output - expected).max():.1e}", flush=True)

        row("PyTorch eager", torch_times, expected)
        row("ONNX Runtime", ort_times, ort_output)
        for variant in args.variants.split(","):
            so = work / f"{model_name}_{variant.replace(':', '_')}.so"
            if not so.exists():
                subprocess.run([BIN / "effc", work / f"{model_name}.mlir", "-o", so, "--external-weights",
                                *VARIANTS[variant]], check=True)
            command = [BIN / "effc-run", so, "--output-dir", work / f"out_{case}_{variant}", "--bench",
                       str(args.runs), "--threads", str(args.threads)]
            for name in inputs:
                command += ["--input", f"{name}={work / f'{case}_{name}.npy'}"]
            ran = subprocess.run(command, capture_output=True, text=True, check=True)
            output = np.load(work / f"out_{case}_{variant}" / "last_hidden_state.npy")
            row(f"effc {variant}", latency(ran.stdout), output)


if __name__ == "__main__":
    main()
