"""effc --report with --calibration: the output error of a compressed model against the uncompressed one.

The figures effc prints are recomputed here in numpy from the two models' outputs (run with effc-run).
"""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from effc_testing import EFFC, EFFC_RUN, rng

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def effc(*args):
    return subprocess.run([str(EFFC), *map(str, args)], capture_output=True, text=True)


def run(so, inputs_dir, names, out_dir):
    command = [str(EFFC_RUN), str(so), "--output-dir", str(out_dir)]
    for name in names:
        command += ["--input", f"{name}={inputs_dir / (name + '.npy')}"]
    subprocess.run(command, check=True, capture_output=True)
    return np.load(out_dir / "last_hidden_state.npy")


@pytest.fixture
def calibration(tmp_path):
    inputs = {"input_ids": rng(3).integers(0, 1000, (2, 9), dtype=np.int64),
              "attention_mask": np.ones((2, 9), np.int64), "token_type_ids": np.zeros((2, 9), np.int64)}
    np.savez(tmp_path / "calibration.npz", **inputs)
    for name, array in inputs.items():
        np.save(tmp_path / f"{name}.npy", array)
    return tmp_path, list(inputs)


def test_report_measures_output_error(calibration):
    work, names = calibration
    compressed = effc(EXAMPLES / "bert_tiny.mlir", "--drop-layers=top:1", "--report",
                      f"--calibration={work / 'calibration.npz'}", "-o", work / "dropped.so")
    assert compressed.returncode == 0, compressed.stderr
    assert effc(EXAMPLES / "bert_tiny.mlir", "-o", work / "full.so").returncode == 0
    reference = run(work / "full.so", work, names, work / "full").astype(np.float64)
    dropped = run(work / "dropped.so", work, names, work / "dropped").astype(np.float64)

    match = re.search(r"max abs (\S+), mean abs (\S+), cosine (\S+), KL\(softmax\) (\S+)", compressed.stdout)
    assert match, compressed.stdout
    max_abs, mean_abs, cosine, kl = map(float, match.groups())
    diff = np.abs(reference - dropped)
    assert max_abs == pytest.approx(diff.max(), rel=1e-3)
    assert mean_abs == pytest.approx(diff.mean(), rel=1e-3)
    assert cosine == pytest.approx(reference.ravel() @ dropped.ravel()
                                   / np.linalg.norm(reference) / np.linalg.norm(dropped), abs=1e-5)
    log_p = reference - reference.max(-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    log_q = dropped - dropped.max(-1, keepdims=True)
    log_q -= np.log(np.exp(log_q).sum(-1, keepdims=True))
    assert kl == pytest.approx((np.exp(log_p) * (log_p - log_q)).sum(-1).mean(), rel=1e-3, abs=1e-6)
    assert kl > 0 and max_abs > 0  # dropping a layer changes the output
    # Per-layer rows: bert_tiny has 2 layers; one is left.
    assert re.search(r"^layer 0 ", compressed.stdout, re.M) and not re.search(r"^layer 1 ", compressed.stdout, re.M)


@pytest.mark.parametrize("case, message", [
    ("compressed", "compressed; save the file with np.savez, not np.savez_compressed"),
    ("missing", "the calibration data has no array 'token_type_ids'"),
    ("truncated", "not a .npz file"),
    ("absent", "cannot open"),
])
def test_bad_calibration_data_is_a_clear_error(calibration, case, message):
    work, names = calibration
    path = work / f"{case}.npz"
    arrays = {name: np.load(work / f"{name}.npy") for name in names}
    if case == "compressed":
        np.savez_compressed(path, **arrays)
    elif case == "missing":
        del arrays["token_type_ids"]
        np.savez(path, **arrays)
    elif case == "truncated":
        np.savez(path, **arrays)
        path.write_bytes(path.read_bytes()[:100])
    result = effc(EXAMPLES / "bert_tiny.mlir", "--drop-layers=top:1", "--report", f"--calibration={path}",
                  "-o", work / "x.so")
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


def test_error_measurement_needs_a_shared_object(calibration):
    work, _ = calibration
    result = effc(EXAMPLES / "bert_tiny.mlir", "--drop-layers=top:1", "--report",
                  f"--calibration={work / 'calibration.npz'}", "--emit=llvm", "-o", work / "x.ll")
    assert result.returncode == 1 and "needs a shared object output" in result.stderr
