"""Shared fixtures of the end-to-end tests."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "reference"))
sys.path.insert(0, str(HERE.parents[1] / "examples"))  # models.py: the example model builders
sys.path.insert(0, str(HERE.parents[1] / "python-bindings"))  # effc.ir, the IR builder

from effc_testing import CompiledModule  # noqa: E402


@pytest.fixture
def compile_ir():
    """Compiles IR text once for several runs (e.g. dynamic shapes); the modules are removed after the test."""
    modules = []

    def compile_(ir):
        module = CompiledModule(ir)
        modules.append(module)
        return module

    yield compile_
    for module in modules:
        module.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU and driver (skipped without one); run with -m gpu")
