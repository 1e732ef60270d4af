"""Benchmark: quantized builds (`effc --quantize=...`) of a BERT-base encoder and of a GPT-2-small decoder next to
the f32 build, measured in one run: median latency, speed-up over f32, size on disk and output error against
f32, checked against the targets of the quantization work.

    /usr/bin/python3 bench/quantization.py [--runs 10] [--threads 2] [--workdir /tmp/effc-quantization]

Models and inputs are those of bench/compression.py (seeded random weights): BERT-base (12 x 768, 12 heads, FFN
3072) at batch 8, sequence 128, and GPT-2 small (12 x 768, vocab 50257, tied LM head) decoding one token with a
128-token KV cache. Attention, layer norms and embeddings stay f32 in every build; only eff.linear / eff.ffn
weights are quantized (the tied LM head is an eff.linear on the embedding table, so it is quantized too).

Targets: int8 >= 2.5x faster than f32 for BERT-base at batch 8; int4 and lut:3 >= 3x faster than f32 for
single-token decode. On a shared machine only the ratios within one run mean something.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compression  # noqa: E402  (model builders, compile-and-time, error figures)

SCHEMES = {"bert": ["f32", "int8", "int4", "lut:3", "bf16"], "gpt2": ["f32", "int4", "lut:3", "int8"]}
TARGETS = {("bert", "int8"): 2.5, ("gpt2", "int4"): 3.0, ("gpt2", "lut:3"): 3.0}
WHAT = {"bert": "BERT-base, batch 8, seq 128", "gpt2": "GPT-2 small, decode 1 token, 128-token KV cache"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bert,gpt2")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default="/tmp/effc-quantization")
    args = parser.parse_args()
    import numpy as np

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    verdicts = []
    for model, (mlir, function, inputs) in compression.build_models(work, args.models.split(",")).items():
        for name, array in inputs.items():
            np.save(work / f"{model}_{name}.npy", array)
        print(f"\n{WHAT[model]}: {args.threads} threads, median of {args.runs} runs")
        print(f"{'scheme':<8}{'size MB':>9}{'compile s':>11}{'median ms':>11}{'speed-up':>10}  error vs f32")
        baseline = None
        for scheme in SCHEMES[model]:
            flags = [] if scheme == "f32" else [f"--quantize={scheme}"]
            result = compression.run_variant(work, model, mlir, function, inputs, flags, args.runs, args.threads)
            if "error" in result:
                print(f"{scheme:<8}  failed: {result['error']}", flush=True)
                if (model, scheme) in TARGETS:
                    verdicts.append(f"{model} {scheme}: failed")
                continue
            if baseline is None:
                baseline = result
            speedup = baseline["median"] / result["median"]
            error = "-" if result is baseline else compression.error_figures(result["output"], baseline["output"])
            print(f"{scheme:<8}{result['bytes'] / 1e6:>9.1f}{result['compile_s']:>11.1f}{result['median']:>11.2f}"
                  f"{speedup:>9.2f}x  {error}", flush=True)
            target = TARGETS.get((model, scheme))
            if target is not None:
                verdicts.append(f"{model} {scheme}: {speedup:.2f}x vs target {target:.1f}x: "
                                f"{'met' if speedup >= target else 'MISSED'}")
    print("\nTargets:")
    for verdict in verdicts:
        print("  " + verdict)


if __name__ == "__main__":
    main()
