#!/usr/bin/env python3
"""Writes the example models: NAME.mlir, NAME.safetensors and sample inputs NAME.inputs/*.npy.

The graphs are in examples/models.py; weights and inputs are drawn from seeded generators
(np.random.default_rng), so the output is the same on every run and every machine.

    /usr/bin/python3 examples/generate.py              # all examples, into examples/
    /usr/bin/python3 examples/generate.py gpt_tiny     # one of them
    /usr/bin/python3 examples/generate.py --out /tmp/x # elsewhere
"""

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import models  # noqa: E402

INPUT_SEED = 100  # sample inputs
SAMPLE_BATCH, SAMPLE_SEQ = 2, 12


def generate(name, out):
    module = models.example_module(name)
    ir_path, weights_path = module.save(out / f"{name}.mlir")
    inputs_dir = out / f"{name}.inputs"
    if inputs_dir.exists():
        shutil.rmtree(inputs_dir)
    rng = np.random.default_rng(INPUT_SEED + models.SEEDS[name])
    samples = models.sample_inputs(name, rng, SAMPLE_BATCH, SAMPLE_SEQ)
    for function, inputs in samples.items():
        # One function: NAME.inputs/INPUT.npy; several (gpt_tiny): NAME.inputs/FUNCTION/INPUT.npy.
        directory = inputs_dir / function if len(samples) > 1 else inputs_dir
        directory.mkdir(parents=True, exist_ok=True)
        for input_name, array in inputs.items():
            np.save(directory / f"{input_name}.npy", array)
    size = weights_path.stat().st_size
    print(f"{name}: {ir_path.name} ({ir_path.stat().st_size} bytes), {weights_path.name} ({size / 1e6:.2f} MB, "
          f"{sum(p.array.size for p in module.parameters.values())} weights)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"examples to write (default: all of {list(models.EXAMPLES)})")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory (default: examples/)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or models.EXAMPLES:
        if name not in models.EXAMPLES:
            parser.error(f"unknown example {name!r}; choose from {list(models.EXAMPLES)}")
        generate(name, args.out)


if __name__ == "__main__":
    main()
