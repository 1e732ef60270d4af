"""Benchmark: a BERT-base encoder (12 x 768, 12 heads, FFN 3072, vocab 30522; seeded random weights) at batch 1,
sequence 128, compiled by effc (external weights) versus PyTorch eager on the same weights, in the same run.

    /usr/bin/python3 bench/bert_base.py [--runs 20] [--threads 2] [--workdir /tmp/effc-bert-base]
                                        [--pack-qkv-ablation [--rounds 3]]

Prints the compile time, the median latencies, the speed-up and the largest difference between the outputs.
With --pack-qkv-ablation it also compiles the encoder with --no-pack-qkv (the q, k and v projections as three
GEMMs instead of one over their concatenated weights) and times both artifacts in alternating rounds, printing
each one's best median and their ratio.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default="/tmp/effc-bert-base")
    parser.add_argument("--pack-qkv-ablation", action="store_true",
                        help="also time the encoder compiled with --no-pack-qkv, interleaved with the default")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of --pack-qkv-ablation")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    import numpy as np
    import torch

    sys.path[:0] = [str(REPO / "examples"), str(REPO / "python-bindings"), str(REPO / "test" / "e2e")]
    import models
    from test_models_vs_torch import TorchBert

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    cfg = models.BertConfig(vocab_size=30522, hidden=768, heads=12, ffn=3072, layers=12, max_positions=512)
    weights = models.init_bert(cfg, np.random.default_rng(0))
    models.build_bert(cfg, weights, weights_file="bert_base.safetensors").save(work / "bert_base.mlir")

    start = time.perf_counter()
    subprocess.run([BIN / "effc", work / "bert_base.mlir", "-o", work / "bert_base.so", "--external-weights"], check=True)
    compile_s = time.perf_counter() - start

    rng = np.random.default_rng(1)
    inputs = {"input_ids": rng.integers(0, cfg.vocab_size, (1, 128), dtype=np.int64),
              "attention_mask": np.ones((1, 128), np.int64), "token_type_ids": np.zeros((1, 128), np.int64)}
    command = [BIN / "effc-run", work / "bert_base.so", "--output-dir", work, "--bench", str(args.runs),
               "--threads", str(args.threads)]
    for name, array in inputs.items():
        np.save(work / f"{name}.npy", array)
        command += ["--input", f"{name}={work / (name + '.npy')}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    effc_ms = float(re.search(r"median ([\d.]+)", out).group(1))

    if args.pack_qkv_ablation:
        unpacked = work / "bert_base_unpacked.so"
        subprocess.run([BIN / "effc", work / "bert_base.mlir", "-o", unpacked, "--external-weights", "--no-pack-qkv"],
                       check=True)
        (work / "unpacked").mkdir(exist_ok=True)
        medians = {"packed": [], "unpacked": []}
        for _ in range(args.rounds):
            for label, so in (("packed", work / "bert_base.so"), ("unpacked", unpacked)):
                ran = subprocess.run([command[0], so, "--output-dir", work / label, *command[4:]], check=True,
                                     capture_output=True, text=True).stdout
                medians[label].append(float(re.search(r"median ([\d.]+)", ran).group(1)))
        packed_ms, unpacked_ms = min(medians["packed"]), min(medians["unpacked"])
        difference = np.abs(np.load(work / "packed" / "last_hidden_state.npy") -
                            np.load(work / "unpacked" / "last_hidden_state.npy")).max()
        print(f"q/k/v packed {packed_ms:.1f} ms, three GEMMs (--no-pack-qkv) {unpacked_ms:.1f} ms: "
              f"{unpacked_ms / packed_ms:.3f}x (best median of {args.rounds} alternating rounds of {args.runs} runs; "
              f"max |packed - unpacked| {difference:.1e})", flush=True)

    torch.set_num_threads(args.threads)
    model = TorchBert(cfg).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=False)
    tensors = [torch.from_numpy(inputs[k]) for k in ("input_ids", "attention_mask", "token_type_ids")]
    with torch.inference_mode():
        expected = model(*tensors).numpy()
        for _ in range(3):
            model(*tensors)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            model(*tensors)
            times.append((time.perf_counter() - start) * 1e3)
    torch_ms = sorted(times)[len(times) // 2]
    error = np.abs(np.load(work / "last_hidden_state.npy") - expected).max()
    print(f"BERT-base, batch 1, seq 128, {args.threads} threads: compile {compile_s:.1f} s; effc {effc_ms:.1f} ms, "
          f"PyTorch eager {torch_ms:.1f} ms ({torch_ms / effc_ms:.2f}x); max |effc - torch| {error:.1e}")


if __name__ == "__main__":
    sys.exit(main())
