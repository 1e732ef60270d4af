"""The int8/int4 device micro-kernels (ukernels/cuda/quantized_gemm.cu) and their test entry points
(cuda_quantized_gemm_device.cu) compile to PTX that ptxas accepts for every supported architecture, without
spills in the GEMM kernels; on a machine with a GPU and cupy, cuda_quantized_gemm_device.py checks their
numerics against the numpy model of the CPU kernels (int8 bit-exact, int4 rtol 1e-4).

The kernels use mma.sync, dp4a and warp shuffles, which cannot run on the host: without a GPU this file
checks only that they assemble (the examples' PTX is checked end to end by test/e2e/test_cuda.py).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "cuda_quantized_gemm_device.py"
TOOLKIT = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))
PTXAS = TOOLKIT / "bin" / "ptxas"

needs_clang = pytest.mark.skipif(shutil.which("clang++-22") is None, reason="clang++-22 not found")
needs_ptxas = pytest.mark.skipif(not PTXAS.exists(), reason=f"no CUDA toolkit ptxas at {PTXAS}")


@pytest.fixture(scope="module")
def ptx(tmp_path_factory):
    out = tmp_path_factory.mktemp("cuda_quantized_gemm") / "kernels.ptx"
    subprocess.run([sys.executable, SCRIPT, "build", out], check=True)
    return out


@needs_clang
def test_entry_points_in_ptx(ptx):
    text = ptx.read_text()
    for entry in ("test_quantize_rows", "test_qgemm", "test_qgemv", "test_int4"):
        assert f".entry {entry}(" in text
    assert "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32" in text
    assert "dp4a.s32.s32" in text


@needs_clang
@needs_ptxas
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_ptxas_accepts_without_spills(ptx, arch):
    result = subprocess.run([PTXAS, f"-arch={arch}", "-v", ptx, "-o", os.devnull], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    spills = [line for line in result.stderr.splitlines() if "spill" in line]
    assert len(spills) == 4, result.stderr  # one line per entry point
    assert all(" 0 bytes spill stores, 0 bytes spill loads" in line for line in spills), "\n".join(spills)


@needs_clang
def test_numerics_on_gpu(ptx):
    pytest.importorskip("cupy")
    result = subprocess.run([sys.executable, SCRIPT, "run", ptx], capture_output=True, text=True)
    if "CUDA" in result.stderr and "no CUDA-capable device" in result.stderr:
        pytest.skip("no CUDA device")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
