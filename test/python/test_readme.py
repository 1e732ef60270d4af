"""The README's Python example, run exactly as written, and `import effc` the ways the README describes.

The example block is taken from README.md (the ```python block after the `python-example` marker) and run
with /usr/bin/python3 in a fresh process from a directory holding a link to examples/, with PYTHONPATH set
as the README says.
"""

import os
import re
import subprocess
import sys

import numpy as np

from package_testing import BUILD, EXAMPLES, REPO


def readme_example():
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- python-example:[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md has no python-example block"
    return match.group(1)


def run_python(code, cwd, pythonpath):
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    env.pop("EFFC_BUILD_DIR", None)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)


def test_readme_example_runs(tmp_path):
    code = readme_example()
    assert len(code.strip().splitlines()) == 5
    (tmp_path / "examples").symlink_to(EXAMPLES)
    result = run_python(code, tmp_path, BUILD / "python_packages")
    assert result.returncode == 0, result.stderr
    assert "prefill(input_ids: i64[?, ?])" in result.stdout
    tokens = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\[\[\s*1\s+2\s+3(\s+\d+){5}\]\]", tokens), tokens
    # What it saved is an AOT module that effc-run lists and effc.load runs.
    listing = subprocess.run([str(BUILD / "bin" / "effc-run"), str(tmp_path / "gpt_tiny.so"), "--list"],
                             capture_output=True, text=True)
    assert listing.returncode == 0 and "decode" in listing.stdout, listing.stderr
    # Only the saved file is left behind: JIT compilation writes nothing to the working directory.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples", "gpt_tiny.so"]


def test_import_from_build_tree(tmp_path):
    """The README's PYTHONPATH: the package in build/python_packages, imported from any directory."""
    result = run_python("import effc; print(effc.compile, effc._effc.__file__)", tmp_path, BUILD / "python_packages")
    assert result.returncode == 0, result.stderr
    assert str(BUILD / "python_packages" / "effc") in result.stdout


def test_import_from_source_tree(tmp_path):
    """python-bindings/ on PYTHONPATH also works: the package finds its extension in the build tree."""
    env_build = dict(os.environ, PYTHONPATH=str(REPO / "python-bindings"), EFFC_BUILD_DIR=str(BUILD))
    result = subprocess.run([sys.executable, "-c", "import effc, numpy; print(effc.compile.__module__)"],
                            cwd=tmp_path, env=env_build, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "effc.model"


def test_readme_example_tokens_match_generate(example_model):
    """The example's greedy continuation, recomputed in this process, is deterministic."""
    gpt = example_model("gpt_tiny")
    first = gpt.generate(np.array([[1, 2, 3]]), max_new_tokens=5)
    assert first.shape == (1, 8) and first.dtype == np.int64
    np.testing.assert_array_equal(first, gpt.generate(np.array([[1, 2, 3]]), max_new_tokens=5))
