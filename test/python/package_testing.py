"""Shared helpers of the Python package tests: import `effc` from the build tree, find the examples.

The package is taken from $EFFC_BUILD_DIR/python_packages (check-effc sets it), else build/python_packages
of this checkout. Without its compiled extension (a build configured with -DEFFC_ENABLE_PYTHON=OFF) every
test here is skipped with that reason.
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("EFFC_BUILD_DIR", REPO / "build"))
EXAMPLES = REPO / "examples"
BIN_DIR = Path(os.environ.get("EFFC_BIN_DIR", BUILD / "bin"))

os.environ.setdefault("EFFC_BUILD_DIR", str(BUILD))
for path in (EXAMPLES, BUILD / "python_packages"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import effc  # noqa: E402

if getattr(effc, "_effc", None) is None:
    pytest.skip(f"effc's extension is not built in {BUILD}/python_packages ({effc._extension_error})",
                allow_module_level=True)

import models  # noqa: E402  (examples/models.py: the example graphs, for the numpy reference)
from effc import ir  # noqa: E402

TOL = dict(rtol=1e-4, atol=1e-4)  # compiled f32 vs the numpy reference through whole 2-layer models


def committed_module(name):
    """The example's graph over its committed weights: what examples/NAME.mlir + .safetensors hold."""
    return models.example_module(name, ir.read_safetensors(EXAMPLES / f"{name}.safetensors"))


def sample_inputs(name, function, functions):
    """The committed inputs examples/NAME.inputs[/FUNCTION]/*.npy."""
    folder = EXAMPLES / f"{name}.inputs"
    if len(functions) > 1:
        folder = folder / function
    return {path.stem: np.load(path) for path in sorted(folder.glob("*.npy"))}


def assert_outputs_close(actual, expected, what, tol=TOL):
    assert list(actual) == list(expected), f"{what}: outputs {list(actual)} != {list(expected)}"
    for key, value in expected.items():
        assert actual[key].shape == value.shape, f"{what}: {key} shape {actual[key].shape} != {value.shape}"
        assert actual[key].dtype == value.dtype, f"{what}: {key} dtype {actual[key].dtype} != {value.dtype}"
        np.testing.assert_allclose(actual[key], value, err_msg=f"{what}: {key}", **tol)
