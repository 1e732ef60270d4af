"""The load-time memory check: a module whose weights plus the bytes a call needs at least exceed the
memory limit is refused when it loads, through effc-run and the Python package (docs/reliability.md).

effc-record-min-call-bytes records, per function, a lower bound of the bytes one call holds at once
(`min_call_bytes`); the runtime compares it, plus the weights, with the limit. The tests check the figure
against what a call really allocates (the runtime's peak bytes), then load at, just under and above it.
"""

import re
import shutil
import subprocess

import numpy as np
import pytest

from effc_testing import EFFC, EFFC_RUN, randn, ttype

ROWS, K, HIDDEN, N = 8, 24, 40, 16


def _model_ir(rows):
    """Two linear layers with a GELU between them; the weights go to the weights file, as the 16-column panels
    of effc_uk_linear_f32: W1's 40 columns padded to 48 (48 x 24 floats, 4608 bytes) and W2 (2560 bytes)."""
    gen = np.random.default_rng(11)

    def dense(w):
        return "dense<[" + ", ".join("[" + ", ".join(f"{v:.8e}" for v in row) + "]" for row in w) + "]>"

    w1, w2 = randn(gen, HIDDEN, K), randn(gen, N, HIDDEN)
    x, h, y = ttype([rows, K]), ttype([rows, HIDDEN]), ttype([rows, N])
    return f"""
func.func @main(%x: {x}) -> {y} {{
  %w1 = arith.constant {dense(w1)} : {ttype([HIDDEN, K])}
  %w2 = arith.constant {dense(w2)} : {ttype([N, HIDDEN])}
  %h = eff.linear %x, %w1 : ({x}, {ttype([HIDDEN, K])}) -> {h}
  %a = eff.activation gelu %h : {h}
  %y = eff.linear %a, %w2 : ({h}, {ttype([N, HIDDEN])}) -> {y}
  return %y : {y}
}}"""


def _tool(args, check=True):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{"static": path, "dynamic": path} of the model compiled with external weights, rows 8 or dynamic."""
    workdir = tmp_path_factory.mktemp("load-limits")
    compiled = {}
    for name, rows in (("static", ROWS), ("dynamic", None)):
        source = workdir / f"{name}.mlir"
        source.write_text(_model_ir(rows))
        compiled[name] = workdir / f"{name}.so"
        _tool([EFFC, source, "--external-weights", "-o", compiled[name]])
    return compiled


def _copy(path, directory):
    """A private copy of a module and its weights (a file is loaded by one runtime at a time)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, directory / path.name)
    shutil.copy(str(path) + ".weights", str(directory / path.name) + ".weights")
    return directory / path.name


def _weights_bytes(path):
    return (path.parent / (path.name + ".weights")).stat().st_size - 64  # after the 64-byte header


def _min_call_bytes(path):
    """The figure effc-run --list prints (no line when it is 0)."""
    listing = _tool([EFFC_RUN, path, "--list"]).stdout
    match = re.search(r"^main\(.*\n  needs at least (\d+) bytes per call$", listing, re.M)
    return int(match.group(1)) if match else 0


def test_min_call_bytes_is_a_lower_bound(models, tmp_path):
    import effc

    for name, rows in (("static", ROWS), ("dynamic", 1)):
        runtime = effc.Runtime(num_threads=1)
        model = effc.load(_copy(models[name], tmp_path / name), runtime=runtime)
        figure = model.signature["main"].min_call_bytes
        assert figure == _min_call_bytes(models[name])
        if name == "static":
            # The hidden state and the output: the first GEMM's kernel applies GELU in registers before its
            # one store (effc_uk_linear_f32).
            assert figure == ROWS * HIDDEN * 4 + ROWS * N * 4
        else:
            assert figure == 0  # every buffer has the dynamic row count, which may be 0
        x = randn(np.random.default_rng(1), rows, K)
        out = model.run({"arg0": x})["result0"]
        assert out.shape == (rows, N)
        assert runtime.peak_bytes >= figure, (runtime.peak_bytes, figure)


def test_effc_run_refuses_at_load(models, tmp_path):
    path = _copy(models["static"], tmp_path)
    weights, figure = _weights_bytes(path), _min_call_bytes(path)
    assert weights == 4608 + 2560 and figure > 0
    need = weights + figure
    for limit in (need, need + 1):
        _tool([EFFC_RUN, path, "--list", f"--memory-limit={limit}"])
    refused = _tool([EFFC_RUN, path, "--list", f"--memory-limit={need - 1}"], check=False)
    assert refused.returncode == 1
    assert (f"'{path}': function 'main' needs at least {figure} bytes of activations per call and the weights "
            f"take {weights}; the memory limit is {need - 1} bytes") in refused.stderr
    # The weights alone are checked first.
    refused = _tool([EFFC_RUN, path, "--list", f"--memory-limit={weights - 1}"], check=False)
    assert refused.returncode == 1
    assert f"has {weights} bytes of weights, more than the memory limit of {weights - 1} bytes" in refused.stderr


def test_python_refuses_at_load(models, tmp_path):
    import effc

    path = _copy(models["static"], tmp_path / "refused")
    weights, figure = _weights_bytes(path), _min_call_bytes(path)
    need = weights + figure
    with pytest.raises(effc.RuntimeError, match=re.escape(
            f"function 'main' needs at least {figure} bytes of activations per call and the weights take "
            f"{weights}; the memory limit is {need - 1} bytes")) as info:
        effc.load(path, memory_limit=need - 1)
    assert info.value.code == "RESOURCE_EXHAUSTED"
    model = effc.load(_copy(models["static"], tmp_path / "at"), memory_limit=need)
    assert model.signature["main"].min_call_bytes == figure
