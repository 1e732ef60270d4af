"""Numerics of the structural compression passes: eff-drop-layers, eff-prune-heads, eff-prune-ffn,
eff-prune-experts, eff-merge-adapters and eff-keep-adapters (lib/Dialect/Eff/Transforms/).

Each test builds a small seeded model with examples/models.py, compiles it with `effc` and a compression flag
(--drop-layers=..., --prune-heads=..., ...), runs it with `effc-run`, and compares it with

- for layer dropping (which must be exact): the same model *written without those layers* (its weights
  renamed to the kept layers), compiled without compression: equal to 1e-6 (in practice bitwise);
- for pruning: the numpy reference (Module.evaluate over test/reference/eff_reference.py) of the model built
  with weights compressed *independently here in numpy* the way each pass documents (which heads, neurons or
  experts go, and how the weights are sliced): rtol/atol 1e-4 (f32 through whole models, as
  test/e2e/test_examples.py);
- for adapter folding: the uncompressed model's compiled outputs: rtol/atol 1e-4 (folding is exact up to
  float rounding).

Each pruning test also checks that the compressed artifact really is smaller (weight shapes in the IR after
compression) and that the pruned model differs from the dense one, so that a pass that does nothing fails.

Run with: /usr/bin/python3 -m pytest test/e2e/test_compression_structural.py
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "examples"))
sys.path.insert(0, str(REPO / "python-bindings"))

import models  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, EffcError, run_module  # noqa: E402

EXACT_TOL = dict(rtol=0, atol=1e-6)
TOL = dict(rtol=1e-4, atol=1e-4)

pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()),
                                reason=f"effc/effc-run not built ({EFFC.parent})")


class Compiled:
    """A models.py Module saved with its weights, compiled by effc with `flags` (e.g. ["--drop-layers=top:1"])."""

    def __init__(self, module, flags=(), name="model"):
        self._dir = tempfile.TemporaryDirectory(prefix="effc-compress-")
        self.dir = Path(self._dir.name)
        module.weights_file = f"{name}.safetensors"
        source, _ = module.save(self.dir / f"{name}.mlir")
        self.path = self.dir / f"{name}.so"
        result = subprocess.run([str(EFFC), str(source), "-o", str(self.path), *flags], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise EffcError(f"effc {' '.join(flags)} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")

    def run(self, function, inputs):
        workdir = self.dir / f"run-{function}"
        workdir.mkdir(exist_ok=True)
        return run_module(self.path, inputs, workdir, function=function)

    def close(self):
        self._dir.cleanup()


def compressed_ir(module, flags):
    """The eff IR after materialisation and compression (effc --emit=... is the lowered IR, so use effc-opt)."""
    with tempfile.TemporaryDirectory(prefix="effc-compress-") as workdir:
        module.weights_file = "model.safetensors"
        source, _ = module.save(Path(workdir) / "model.mlir")
        args = [str(EFFC.parent / "effc-opt"), str(source), f"--eff-materialize-parameters=base-dir={workdir}",
                *flags, "--mlir-elide-resource-strings-if-larger=1"]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            raise EffcError(f"effc-opt {' '.join(flags)} failed:\n{result.stderr[-4000:]}")
        return result.stdout


def constant_shapes(text):
    """The shapes of the dense_resource constants of compressed IR, by resource name (minus uniquing suffix)."""
    shapes = {}
    for name, shape in re.findall(r"dense_resource<([^>]+)> : tensor<([0-9x]+)xf32>", text):
        shapes.setdefault(name, tuple(int(d) for d in shape.split("x")))
    return shapes


def assert_outputs_close(actual, expected, tol, what):
    assert list(actual) == list(expected), f"{what}: outputs {list(actual)} != {list(expected)}"
    for key in expected:
        a, e = actual[key], expected[key]
        assert a.shape == e.shape, f"{what}: {key}: shape {a.shape} != {e.shape}"
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), err_msg=f"{what}: {key}", **tol)


def assert_differs(actual, other, what):
    assert actual.shape != other.shape or not np.allclose(actual, other, rtol=1e-3, atol=1e-3), what


def compile_pair(module, flags, reference_module):
    compressed, reference = Compiled(module, flags), Compiled(reference_module)
    return compressed, reference


# ----------------------------------------------------------------------------------------------------------
# eff-drop-layers: exact against the same model written without the dropped layers

DROP_SPECS = {  # spec -> positions dropped from 4 layers (see EffDropLayersPass's description)
    "top:2": [2, 3],
    "bottom:1": [0],
    "alternate": [1, 3],
    "symmetric:2": [1, 2],
    "list:0,2": [0, 2],
}


def rename_layers(weights, prefix, kept):
    """Weights of a model with only the layers `kept`, renumbered 0..len(kept)-1 (prefix: 'h.' or ...)."""
    out = {k: v for k, v in weights.items() if not k.startswith(prefix)}
    for new, old in enumerate(kept):
        for k, v in weights.items():
            if k.startswith(f"{prefix}{old}."):
                out[f"{prefix}{new}." + k[len(f"{prefix}{old}."):]] = v
    return out


@pytest.mark.parametrize("spec", ["top:2", "alternate", "list:0,2"])
def test_drop_layers_bert_exact(spec):
    cfg = models.BertConfig(layers=4)
    weights = models.init_bert(cfg, np.random.default_rng(41))
    kept = [i for i in range(cfg.layers) if i not in DROP_SPECS[spec]]
    small_cfg = models.BertConfig(layers=len(kept))
    small = models.build_bert(small_cfg, rename_layers(weights, "encoder.layer.", kept))
    dropped = Compiled(models.build_bert(cfg, weights), [f"--drop-layers={spec}"])
    reference = Compiled(small)
    full = Compiled(models.build_bert(cfg, weights), ["-O0"])
    try:
        inputs = models.sample_inputs("bert_tiny", np.random.default_rng(5), batch=2, seq=9)["main"]
        actual = dropped.run("main", inputs)
        assert_outputs_close(actual, reference.run("main", inputs), EXACT_TOL, f"bert {spec}")
        assert_outputs_close(actual, small.evaluate("main", inputs), TOL, f"bert {spec} vs numpy")
        assert_differs(actual["last_hidden_state"], full.run("main", inputs)["last_hidden_state"],
                       f"bert {spec}: dropping changed nothing")
    finally:
        for c in (dropped, reference, full):
            c.close()


@pytest.mark.parametrize("spec", ["bottom:2", "symmetric:2"])
def test_drop_layers_gpt_prefill_and_decode_exact(spec):
    """Prefill and decode with the KV cache: the dropped model has the signature of a model with fewer layers
    (present_*/past_* renumbered), and equals that model compiled directly."""
    cfg = models.GptConfig(layers=4, hidden=64, ffn=128)
    weights = models.init_gpt(cfg, np.random.default_rng(42))
    positions = {"top:1": [3], "bottom:2": [0, 1], "alternate": [1, 3], "symmetric:2": [1, 2], "list:1": [1]}[spec]
    kept = [i for i in range(cfg.layers) if i not in positions]
    small_cfg = models.GptConfig(layers=len(kept), hidden=64, ffn=128)
    small = models.build_gpt(small_cfg, rename_layers(weights, "h.", kept))
    dropped = Compiled(models.build_gpt(cfg, weights), [f"--drop-layers={spec}"])
    reference = Compiled(small)
    try:
        gen = np.random.default_rng(6)
        ids = gen.integers(0, cfg.vocab_size, (2, 7), dtype=np.int64)
        prefill = dropped.run("prefill", {"input_ids": ids})
        expected = reference.run("prefill", {"input_ids": ids})
        assert list(prefill) == ["logits"] + [f"present_{k}_{i}" for i in range(len(kept)) for k in ("key", "value")]
        assert_outputs_close(prefill, expected, EXACT_TOL, f"gpt {spec} prefill")
        assert_outputs_close(prefill, small.evaluate("prefill", {"input_ids": ids}), TOL, f"gpt {spec} vs numpy")

        # A decode step fed with the prefill's cache, as a generation loop would.
        step = {"input_ids": gen.integers(0, cfg.vocab_size, (2, 1), dtype=np.int64)}
        step.update({name.replace("present", "past"): value for name, value in prefill.items() if name != "logits"})
        decoded = dropped.run("decode", step)
        assert_outputs_close(decoded, reference.run("decode", step), EXACT_TOL, f"gpt {spec} decode")
        # The decode step continues the prefill: its logits equal a prefill of the 8 tokens at the last position.
        longer = reference.run("prefill", {"input_ids": np.concatenate([ids, step["input_ids"]], axis=1)})
        np.testing.assert_allclose(decoded["logits"][:, 0], longer["logits"][:, -1], **TOL)
    finally:
        dropped.close()
        reference.close()


def test_drop_layers_too_many_is_an_error():
    cfg = models.BertConfig(layers=2)
    module = models.build_bert(cfg, models.init_bert(cfg, np.random.default_rng(1)))
    with pytest.raises(EffcError, match="cannot drop 3 layers, function @main has 2"):
        Compiled(module, ["--drop-layers=top:3"])
