"""Unit tests of ukernels/sparse_gemm.c on their own: both variants (AVX-512 and portable C) are built with
clang-22 into a shared library with the stand-in host of test/ukernels/shim/host.c, called through ctypes with
the MLIR memref calling convention, and compared with a float64 numpy product on the dense weight that the
stored N:M entries describe (entry c of row o is the weight at column (c / n) · m + indices[o, c]).

Token counts cover the small-M path (at most 64 tokens: a few output rows at a time, up to 8 tokens sharing
the index decode; 1, 2, 3, 5, 8, 9, 17 and 64 rows) and the token-block path (65 and 130 rows). Patterns cover each
AVX-512 gather of the decode path: 2:4 and 4:8 (one vpermt2ps), 1:4 (two and a blend), 1:8 and 2:32 (a
vgatherdps, m > 16), and 3:8 (n not dividing 16: the C loop). K = m · groups with a number of stored entries per
row that is not a multiple of 16, so the masked tail runs too.

Tolerance: f32 sums of the K·n/m products in another order than float64: rtol 1e-5, atol 1e-5 · sqrt(K).
"""

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

CLANG = shutil.which("clang-22")
VARIANTS = {"avx512": ["-march=x86-64-v4", "-mavx512vnni"], "generic": ["-march=x86-64"]}

pytestmark = pytest.mark.skipif(CLANG is None, reason="clang-22 not found")


def _cpu_has_avx512():
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_vnni" in flags and " avx512bw" in flags


@pytest.fixture(scope="module", params=list(VARIANTS))
def kernels(request, tmp_path_factory):
    if request.param == "avx512" and not _cpu_has_avx512():
        pytest.skip("CPU without AVX-512 VNNI")
    out = tmp_path_factory.mktemp("sg") / f"sg_{request.param}.so"
    sanitize = os.environ.get("EFFC_UKERNEL_SANITIZE", "").split()
    subprocess.run([CLANG, "-O3", *VARIANTS[request.param], *sanitize, "-shared", "-fPIC", "-I",
                    str(REPO / "ukernels"), str(REPO / "ukernels" / "sparse_gemm.c"), str(HERE / "shim" / "host.c"),
                    "-o", str(out), "-lpthread", "-lm"], check=True)
    return ctypes.CDLL(str(out))


def _memref(array):
    ptr = ctypes.c_void_p(array.ctypes.data)
    strides = [s // array.itemsize for s in array.strides]
    return [ptr, ptr, ctypes.c_int64(0)] + [ctypes.c_int64(d) for d in array.shape] + \
        [ctypes.c_int64(s) for s in strides]


def random_nm(rng, rows, k, n, m):
    """Stored N:M entries of a random [rows, k] weight: values [rows, k·n/m] f32 and indices (ascending
    distinct columns within each group) [rows, k·n/m] i8."""
    groups = k // m
    picks = np.argsort(rng.random((rows, groups, m)), axis=2)[:, :, :n]
    indices = np.sort(picks, axis=2).reshape(rows, groups * n).astype(np.int8)
    values = rng.standard_normal((rows, groups * n)).astype(np.float32)
    return values, indices


def dense_weight(values, indices, k, n, m):
    rows, stored = values.shape
    w = np.zeros((rows, k), np.float64)
    columns = (np.arange(stored) // n * m)[None, :] + indices.astype(np.int64)
    np.put_along_axis(w, columns, values.astype(np.float64), axis=1)
    return w


def run_nm(lib, x, values, indices, bias, n, m):
    """Calls effc_uk_sparse_nm_linear on x [B, S, K] (any row strides) and returns y [B, S, N]."""
    y = np.full(x.shape[:2] + (values.shape[0],), np.nan, np.float32)
    args = _memref(x) + _memref(values) + _memref(indices) + _memref(bias) + \
        [ctypes.c_int64(n), ctypes.c_int64(m)] + _memref(y)
    lib.effc_uk_sparse_nm_linear(*args)
    return y


PATTERNS = [(2, 4), (1, 4), (4, 8), (1, 8), (2, 32), (3, 8)]
TOKENS = [1, 2, 3, 5, 8, 9, 17, 64, 65, 130]


@pytest.mark.parametrize("n,m", PATTERNS, ids=[f"{n}of{m}" for n, m in PATTERNS])
@pytest.mark.parametrize("tokens", TOKENS)
def test_nm_linear_matches_numpy(kernels, tokens, n, m):
    rng = np.random.default_rng(1000 * tokens + 10 * n + m)
    k = m * (75 if m <= 8 else 9)  # stored entries per row: 150, 75, 300, 75, 18, 225 - none a multiple of 16
    out_features = 37
    values, indices = random_nm(rng, out_features, k, n, m)
    bias = rng.standard_normal(out_features).astype(np.float32)
    # Strided activations: [B, S, K] rows taken from a wider buffer.
    batch = 1 if tokens % 2 else 2
    wide = rng.standard_normal((batch, tokens // batch, k + 11)).astype(np.float32)
    x = wide[:, :, 3:3 + k]
    y = run_nm(kernels, x, values, indices, bias, n, m)
    expected = x.astype(np.float64) @ dense_weight(values, indices, k, n, m).T + bias
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.sqrt(k))


@pytest.mark.parametrize("tokens", [1, 4, 65])
def test_nm_linear_zero_bias_and_single_output(kernels, tokens):
    rng = np.random.default_rng(tokens)
    k, n, m = 64, 2, 4
    values, indices = random_nm(rng, 1, k, n, m)
    x = rng.standard_normal((1, tokens, k)).astype(np.float32)
    y = run_nm(kernels, x, values, indices, np.zeros(1, np.float32), n, m)
    expected = x.astype(np.float64) @ dense_weight(values, indices, k, n, m).T
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.sqrt(k))
