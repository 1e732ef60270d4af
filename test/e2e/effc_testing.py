"""Compile eff IR with `effc` and run it with `effc-run`, for numeric tests against the numpy reference.

The tools are taken from $EFFC_BIN_DIR, else from build/bin of this checkout. Everything goes through the
real command-line tools, so these tests exercise the driver, the compiled module and the runtime together.
"""

import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("EFFC_BIN_DIR", REPO / "build" / "bin"))
EFFC = BIN_DIR / "effc"
EFFC_RUN = BIN_DIR / "effc-run"

_OUTPUT_LINE = re.compile(r"^(\S+): (\w+) \[([^\]]*)\]$")


class EffcError(RuntimeError):
    """A tool exited with an error; the message is its stderr."""


def _run(args, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise EffcError(f"{Path(args[0]).name} failed (exit {result.returncode}):\n{result.stderr.strip()}")
    return result


def compile_module(ir, workdir, name="module", **flags):
    """Writes `ir` (text) to workdir and compiles it to a shared object; returns its path.

    Flags map to effc options: opt_level=0 -> -O0, weights="w.safetensors" -> --weights=...
    """
    workdir = Path(workdir)
    source = workdir / f"{name}.mlir"
    source.write_text(ir)
    output = workdir / f"{name}.so"
    args = [EFFC, source, "-o", output]
    for key, value in flags.items():
        if key == "opt_level":
            args.append(f"-O{value}")
        else:
            args.append(f"--{key.replace('_', '-')}={value}")
    _run(args)
    return output


def run_module(module, inputs, workdir, function=None, threads=None):
    """Runs a compiled module on numpy inputs; returns {output name: array} in signature order."""
    workdir = Path(workdir)
    args = [EFFC_RUN, module, "--output-dir", workdir]
    if function:
        args += ["--function", function]
    if threads:
        args += ["--threads", threads]
    for name, array in inputs.items():
        path = workdir / f"input.{name}.npy"
        np.save(path, np.ascontiguousarray(array))
        args += ["--input", f"{name}={path}"]
    result = _run(args)
    outputs = {}
    for line in result.stdout.splitlines():
        match = _OUTPUT_LINE.match(line.strip())
        if match:
            outputs[match.group(1)] = np.load(workdir / f"{match.group(1)}.npy")
    return outputs


def compile_and_run(ir, inputs, **flags):
    """Compiles `ir` and runs its entry point once on `inputs` (a dict of numpy arrays)."""
    with tempfile.TemporaryDirectory(prefix="effc-test-") as workdir:
        module = compile_module(ir, workdir, **flags)
        return run_module(module, inputs, workdir)


class CompiledModule:
    """A module compiled once and run on several inputs (e.g. different dynamic shapes)."""

    def __init__(self, ir, **flags):
        self._dir = tempfile.TemporaryDirectory(prefix="effc-test-")
        self.path = compile_module(ir, self._dir.name, **flags)

    def __call__(self, function=None, **inputs):
        return run_module(self.path, inputs, self._dir.name, function=function)

    def close(self):
        self._dir.cleanup()


def ttype(shape, element="f32"):
    """`tensor<...>` text; None in `shape` is a dynamic dimension."""
    dims = "".join(("?" if d is None else str(d)) + "x" for d in shape)
    return f"tensor<{dims}{element}>"


def rng(seed):
    return np.random.default_rng(seed)


def randn(gen, *shape, dtype=np.float32):
    return gen.standard_normal(shape).astype(dtype)


def assert_close(actual, expected, tol, what=""):
    """Shapes and dtypes equal, values within `tol` (allclose arguments), compared in float64."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), err_msg=what, **tol)


class CompiledIrModule:
    """An effc.ir Module saved with its weights and compiled by effc with `flags` (e.g. ["--drop-layers=top:1"]).
    `log` holds effc's stderr (remarks); remove the files with close()."""

    def __init__(self, module, flags=(), name="model"):
        self._dir = tempfile.TemporaryDirectory(prefix="effc-test-")
        self.dir = Path(self._dir.name)
        module.weights_file = f"{name}.safetensors"
        source, _ = module.save(self.dir / f"{name}.mlir")
        self.path = self.dir / f"{name}.so"
        result = subprocess.run([str(EFFC), str(source), "-o", str(self.path), *flags], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise EffcError(f"effc {' '.join(flags)} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
        self.log = result.stderr

    def run(self, function, inputs):
        workdir = self.dir / f"run-{function}"
        workdir.mkdir(exist_ok=True)
        return run_module(self.path, inputs, workdir, function=function)

    def input_names(self, function="main"):
        listing = _run([EFFC_RUN, self.path, "--list"]).stdout
        arguments = re.search(rf"^{function}\((.*)\) ->", listing, re.M).group(1)
        return re.findall(r"([^\s,]+): \w+ \[", arguments)

    def close(self):
        self._dir.cleanup()
