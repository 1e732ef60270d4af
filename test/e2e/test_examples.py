"""The example models of examples/: compiled with effc and run with effc-run, against the numpy reference.

For each example the committed examples/NAME.mlir is compiled exactly as the README says
(`effc examples/NAME.mlir -o NAME.so`, weights from the committed NAME.safetensors) and run on random inputs
of two different (batch, seq) shapes and on the committed sample inputs. The expected values come from
`Module.evaluate` (python-bindings/effc/ir.py), which interprets the same graph with the same weights using
test/reference/eff_reference.py.

Tolerance: every float output, rtol 1e-4 and atol 1e-4 (f32 through whole 2-layer models). For gpt_tiny,
prefill of the first n tokens followed by single-token decode steps must reproduce the logits of one prefill
of all the tokens at each position (same tolerance).

Run with: /usr/bin/python3 -m pytest test/e2e/test_examples.py
"""

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

TOL = dict(rtol=1e-4, atol=1e-4)
SHAPES = [(2, 8), (3, 13)]  # (batch, seq): two shapes per compiled module
NAMES = list(models.EXAMPLES)

needs_tools = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()),
                                 reason=f"effc/effc-run not built ({EFFC.parent})")


def committed_module(name):
    """The example's graph over the committed weights (what the committed .mlir + .safetensors hold)."""
    return models.example_module(name, ir.read_safetensors(EXAMPLES / f"{name}.safetensors"))


def assert_close(actual, expected, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_allclose(actual, expected, err_msg=what, **TOL)


def assert_outputs_close(actual, expected, what):
    assert list(actual) == list(expected), f"{what}: outputs {list(actual)} != {list(expected)}"
    for key in expected:
        assert_close(actual[key], expected[key], f"{what}: {key}")


class Compiled:
    """An example compiled once (from the committed files) and run several times."""

    def __init__(self, name):
        self.name = name
        self._dir = tempfile.TemporaryDirectory(prefix=f"effc-example-{name}-")
        self.path = Path(self._dir.name) / f"{name}.so"
        result = subprocess.run([str(EFFC), str(EXAMPLES / f"{name}.mlir"), "-o", str(self.path)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise EffcError(f"effc failed on examples/{name}.mlir (exit {result.returncode}):\n{result.stderr[-4000:]}")
        self.module = committed_module(name)

    def run(self, function, inputs):
        workdir = Path(self._dir.name) / f"run-{function}"
        workdir.mkdir(exist_ok=True)
        return run_module(self.path, inputs, workdir, function=function)

    def close(self):
        self._dir.cleanup()


_compiled = {}


@pytest.fixture(scope="module")
def compiled():
    def get(name):
        if name not in _compiled:
            _compiled[name] = Compiled(name)
        return _compiled[name]

    yield get
    for module in _compiled.values():
        module.close()
    _compiled.clear()


# ----------------------------------------------------------------------------------------------------------
# The committed files are what generate.py writes


@pytest.mark.parametrize("name", NAMES)
def test_committed_files_are_generated(name):
    module = models.example_module(name)
    assert (EXAMPLES / f"{name}.mlir").read_text() == module.to_mlir(), \
        f"examples/{name}.mlir is stale: run examples/generate.py"
    weights = ir.read_safetensors(EXAMPLES / f"{name}.safetensors")
    assert list(weights) == list(module.parameters), f"examples/{name}.safetensors holds other weights"
    for key, param in module.parameters.items():
        np.testing.assert_array_equal(weights[key], param.array, err_msg=f"{name}: weight {key}")
    assert (EXAMPLES / f"{name}.safetensors").stat().st_size < 3_000_000


def test_safetensors_round_trip(tmp_path):
    tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, -2], np.int64),
               "c": np.ones((1, 2, 2), np.float16)}
    ir.write_safetensors(tmp_path / "t.safetensors", tensors)
    raw = (tmp_path / "t.safetensors").read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    assert (8 + header_len) % 8 == 0
    back = ir.read_safetensors(tmp_path / "t.safetensors")
    for key, value in tensors.items():
        assert back[key].dtype == value.dtype
        np.testing.assert_array_equal(back[key], value)


# ----------------------------------------------------------------------------------------------------------
# Compiled vs reference


@needs_tools
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"b{s[0]}s{s[1]}")
@pytest.mark.parametrize("name", NAMES)
def test_example_matches_reference(compiled, name, shape):
    batch, seq = shape
    module = compiled(name)
    rng = np.random.default_rng(1000 * batch + seq)
    for function, inputs in models.sample_inputs(name, rng, batch, seq).items():
        expected = module.module.evaluate(function, inputs)
        actual = module.run(function, inputs)
        assert_outputs_close(actual, expected, f"{name}.{function} {shape}")


@needs_tools
@pytest.mark.parametrize("name", NAMES)
def test_example_sample_inputs(compiled, name):
    """The committed NAME.inputs/*.npy run as the README shows."""
    module = compiled(name)
    directory = EXAMPLES / f"{name}.inputs"
    functions = list(module.module.functions)
    for function in functions:
        folder = directory / function if len(functions) > 1 else directory
        inputs = {path.stem: np.load(path) for path in sorted(folder.glob("*.npy"))}
        assert set(inputs) == set(module.module.functions[function].input_names)
        expected = module.module.evaluate(function, inputs)
        assert_outputs_close(module.run(function, inputs), expected, f"{name}.{function} sample inputs")


@needs_tools
@pytest.mark.parametrize("batch,total,first", [(2, 10, 6), (1, 7, 1)])
def test_gpt_decode_continues_prefill(compiled, batch, total, first):
    """prefill(tokens[:first]) then decode(token) one at a time == prefill(tokens) at every later position."""
    module = compiled("gpt_tiny")
    layers = models.EXAMPLES["gpt_tiny"][0].layers
    ids = np.random.default_rng(7).integers(0, models.EXAMPLES["gpt_tiny"][0].vocab_size, (batch, total),
                                             dtype=np.int64)
    full = module.run("prefill", {"input_ids": ids})
    step = module.run("prefill", {"input_ids": ids[:, :first]})
    cache = {f"past_{kind}_{i}": step[f"present_{kind}_{i}"] for i in range(layers) for kind in ("key", "value")}
    assert_close(step["logits"], full["logits"][:, :first], "prefill prefix logits")
    for pos in range(first, total):
        step = module.run("decode", {"input_ids": ids[:, pos:pos + 1], **cache})
        assert_close(step["logits"][:, 0], full["logits"][:, pos], f"decode logits at position {pos}")
        cache = {f"past_{kind}_{i}": step[f"present_{kind}_{i}"] for i in range(layers) for kind in ("key", "value")}
        assert cache["past_key_0"].shape == (batch, pos + 1, module.module.functions["decode"].args[1].shape[2])
    for i in range(layers):
        for kind in ("key", "value"):
            assert_close(cache[f"past_{kind}_{i}"], full[f"present_{kind}_{i}"], f"present_{kind}_{i}")


def test_gpt_decode_continues_prefill_reference():
    """The same property of the graph itself, on the numpy reference (no compiler involved)."""
    module = committed_module("gpt_tiny")
    layers = models.EXAMPLES["gpt_tiny"][0].layers
    ids = np.random.default_rng(8).integers(0, 1000, (2, 7), dtype=np.int64)
    full = module.evaluate("prefill", {"input_ids": ids})
    step = module.evaluate("prefill", {"input_ids": ids[:, :4]})
    for pos in range(4, 7):
        cache = {f"past_{kind}_{i}": step[f"present_{kind}_{i}"] for i in range(layers) for kind in ("key", "value")}
        step = module.evaluate("decode", {"input_ids": ids[:, pos:pos + 1], **cache})
        np.testing.assert_allclose(step["logits"][:, 0], full["logits"][:, pos], rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# The builder's other ops (the examples use all but these)


def small_module():
    rng = np.random.default_rng(3)
    m = ir.Module()
    fn = m.function("main", inputs=[("x", (None, 6, 8), "f32"), ("y", (None, 6, 8), "f32")])
    x, y = fn.args
    w = m.parameter("w", rng.standard_normal((8, 8)).astype(np.float32))
    s = fn.matmul(x, y, transpose_b=True, name="scores")  # [B, 6, 6]
    p = fn.softmax(s, axis=1, name="probs")
    o = fn.matmul(p, fn.glu("gelu_tanh", x, fn.linear(y, w)), name="mixed")  # [B, 6, 8]
    o = fn.matmul(o, w)  # rank-2 rhs shared by the batch
    fn.ret([o, fn.activation("sigmoid", p)], names=["out", "gates"])
    return m


def test_builder_types_and_text():
    m = small_module()
    text = m.to_mlir()
    assert "eff.matmul %x, %y {transpose_b} : (tensor<?x6x8xf32>, tensor<?x6x8xf32>) -> tensor<?x6x6xf32>" in text
    assert "eff.softmax %scores {axis = 1 : i64} : tensor<?x6x6xf32>" in text
    assert "eff.glu gelu_tanh %x, %0 : tensor<?x6x8xf32>" in text
    fn = m.functions["main"]
    assert [str(v.type) for v in fn.results] == ["tensor<?x6x8xf32>", "tensor<?x6x6xf32>"]
    with pytest.raises(ValueError, match="eff_linear_c2"):
        fn2 = m.function("bad", inputs=[("x", (None, 5), "f32")])
        fn2.linear(fn2.args[0], m.parameter("w"))


@needs_tools
def test_builder_other_ops_compile(tmp_path):
    m = small_module()
    m.save(tmp_path / "small.mlir")
    subprocess.run([str(EFFC), str(tmp_path / "small.mlir"), "-o", str(tmp_path / "small.so")], check=True,
                   capture_output=True)
    rng = np.random.default_rng(4)
    for batch in (1, 3):
        inputs = {"x": rng.standard_normal((batch, 6, 8)).astype(np.float32),
                  "y": rng.standard_normal((batch, 6, 8)).astype(np.float32)}
        assert_outputs_close(run_module(tmp_path / "small.so", inputs, tmp_path), m.evaluate("main", inputs),
                             f"batch {batch}")
