"""Fixtures of the Python package tests (helpers live in package_testing.py, a name no other test directory
uses, so test/python and test/e2e run in one pytest session)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from package_testing import EXAMPLES, effc  # noqa: E402

_compiled = {}


@pytest.fixture(scope="session")
def example_model():
    """examples/NAME.mlir compiled once per session with effc.compile (JIT)."""

    def get(name):
        if name not in _compiled:
            _compiled[name] = effc.compile(EXAMPLES / f"{name}.mlir")
        return _compiled[name]

    return get
