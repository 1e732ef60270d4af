"""eff-pack-qkv: the q/k/v projections as one GEMM over concatenated weights leave the outputs unchanged.

The example models (examples/: BERT with biases, GPT-2 with a KV cache, Llama with grouped-query attention and
rotary embeddings, a Switch-MoE encoder) are compiled with packing (the default at -O3) and with
`--no-pack-qkv`, all in f32 and one each after a compression that rewrites the projections (int8, int4, bf16,
2:4 sparsity, also int8 sparse, and unstructured sparsity, head pruning). Checks:
  - f32, packed: against the numpy reference (`Module.evaluate`, test/reference/eff_reference.py), rtol/atol
    1e-4 as test_examples.py;
  - every variant: packed against unpacked, rtol 1e-5 and atol 1e-5 (the same dot products in one wider
    GEMM; quantized schemes quantize each output row alike whether or not the rows are concatenated);
  - the fusion report (`--report-fusions-format=json`) says qkv-projection fired on every attention where
    the projections could be packed (CSR sparse layers, from 90% unstructured sparsity, are not: it says why).

Run with: /usr/bin/python3 -m pytest test/e2e/test_pack_qkv.py
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLES = REPO / "examples"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(EXAMPLES))
sys.path.insert(0, str(REPO / "python-bindings"))

import models  # noqa: E402
from effc import ir  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, EffcError, run_module  # noqa: E402

REFERENCE_TOL = dict(rtol=1e-4, atol=1e-4)
PACKED_TOL = dict(rtol=1e-5, atol=1e-5)
MODELS = ["bert_tiny", "gpt_tiny", "llama_tiny", "moe_switch_tiny"]
# variant -> (effc flags, whether the projections are packed)
VARIANTS = {
    "f32": ([], True),
    "int8": (["--quantize=int8"], True),
    "int4": (["--quantize=int4"], True),
    "bf16": (["--quantize=bf16"], True),
    "2:4": (["--sparsity=2:4"], True),
    "2:4+int8": (["--sparsity=2:4", "--quantize=int8"], True),
    "unstructured": (["--sparsity=unstructured:0.9"], False),
    "prune-heads": (["--prune-heads=0.5"], True),
}

needs_tools = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()),
                                 reason=f"effc/effc-run not built ({EFFC.parent})")


def compile_example(name, flags, workdir, tag):
    so = Path(workdir) / f"{tag}.so"
    report = Path(workdir) / f"{tag}.json"
    result = subprocess.run([str(EFFC), str(EXAMPLES / f"{name}.mlir"), "-o", str(so), *flags,
                             f"--report-fusions={report}", "--report-fusions-format=json"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise EffcError(f"effc {' '.join(flags)} failed on {name} (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return so, json.loads(report.read_text())


def qkv_decisions(report):
    return [f for function in report["functions"] for f in function["fusions"] if f["fusion"] == "qkv-projection"]


def run_all(so, inputs, workdir):
    outputs = {}
    for function, args in inputs.items():
        run_dir = Path(workdir) / f"run-{so.stem}-{function}"
        run_dir.mkdir(exist_ok=True)
        outputs[function] = run_module(so, args, run_dir, function=function)
    return outputs


# Every model in f32; each compression on one model whose projections it rewrites (the quantized schemes on
# Llama's grouped-query projections), to keep the test to about a minute.
CASES = [(name, "f32") for name in MODELS] + [("llama_tiny", v) for v in ("int8", "int4", "bf16")] + \
    [("gpt_tiny", "2:4"), ("gpt_tiny", "2:4+int8"), ("llama_tiny", "unstructured"), ("bert_tiny", "prune-heads")]


@needs_tools
@pytest.mark.parametrize("name,variant", CASES, ids=[f"{n}-{v}" for n, v in CASES])
def test_packed_matches_unpacked(name, variant):
    flags, packs = VARIANTS[variant]
    inputs = models.sample_inputs(name, np.random.default_rng(7), batch=2, seq=9)
    with tempfile.TemporaryDirectory(prefix=f"effc-pack-qkv-{name}-") as workdir:
        packed_so, report = compile_example(name, flags, workdir, "packed")
        unpacked_so, unpacked_report = compile_example(name, [*flags, "--no-pack-qkv"], workdir, "unpacked")
        decisions = qkv_decisions(report)
        assert decisions, f"{name} {variant}: no qkv-projection candidate in the report"
        if packs:
            assert all(d["status"] == "fired" for d in decisions), decisions
        else:
            assert all(d["status"] == "not fired" and "CSR" in d["detail"] for d in decisions), decisions
        assert all(d["status"] != "fired" for d in qkv_decisions(unpacked_report))
        packed = run_all(packed_so, inputs, workdir)
        unpacked = run_all(unpacked_so, inputs, workdir)
        for function in inputs:
            assert list(packed[function]) == list(unpacked[function])
            for key, expected in unpacked[function].items():
                np.testing.assert_allclose(packed[function][key], expected, err_msg=f"{name} {variant} {function} {key}",
                                           **PACKED_TOL)
        if variant == "f32":
            module = models.example_module(name, ir.read_safetensors(EXAMPLES / f"{name}.safetensors"))
            for function, args in inputs.items():
                reference = module.evaluate(function, args)
                for key, expected in reference.items():
                    np.testing.assert_allclose(packed[function][key], expected,
                                               err_msg=f"{name} {function} {key} vs numpy", **REFERENCE_TOL)
