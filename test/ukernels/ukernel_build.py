"""Builds micro-kernel sources (ukernels/*.c) natively into a shared library for the unit tests in this
folder, in the variants compiled models link (AVX-512 with VNNI, that plus AVX512-BF16, and portable C),
with the stand-in host of shim/host.c (parallel_for on 2 threads, malloc-backed allocation), to be called
through ctypes; and the host harnesses of the CUDA micro-kernels (cuda_*_host.cpp: ukernels/cuda/*.cu compiled as host C++).

scripts/sanitize.sh sets EFFC_UKERNEL_SANITIZE (e.g. -fsanitize=address,undefined) to check the kernels
themselves under the sanitizers; numpy's buffers then come from the sanitizer's malloc.
"""

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLANG = shutil.which("clang-22")
CLANGXX = shutil.which("clang++-22")
VARIANTS = {"avx512": ["-march=x86-64-v4", "-mavx512vnni"], "generic": ["-march=x86-64"]}
# Only quantized_gemm.c has code for AVX512-BF16; its tests add this variant (bf16_variants()).
BF16_VARIANTS = {**VARIANTS, "avx512bf16": ["-march=x86-64-v4", "-mavx512vnni", "-mavx512bf16"]}


def cpu_flags():
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_has_avx512_vnni():
    flags = cpu_flags()
    return " avx512_vnni" in flags and " avx512bw" in flags


def bf16_variants():
    """The variants for tests of kernels with an AVX512-BF16 path: all three, or under the sanitizers (slow:
    CI's time) the richest AVX-512 one the CPU runs and the portable one. The avx512 and avx512bf16 builds
    differ only in the bf16 tile's arithmetic, not in the memory it touches."""
    if not os.environ.get("EFFC_UKERNEL_SANITIZE"):
        return list(BF16_VARIANTS)
    return ["avx512bf16" if " avx512_bf16" in cpu_flags() else "avx512", "generic"]


def build_kernels(tmp_path_factory, variant, sources, name):
    """The shared library of ukernels/`sources` (file names) in `variant`; skips the test without AVX-512
    VNNI (or AVX512-BF16) when `variant` needs it."""
    if variant.startswith("avx512") and not cpu_has_avx512_vnni():
        pytest.skip("CPU without AVX-512 VNNI")
    if variant == "avx512bf16" and " avx512_bf16" not in cpu_flags():
        pytest.skip("CPU without AVX512-BF16")
    out = tmp_path_factory.mktemp(name) / f"{name}_{variant}.so"
    sanitize = os.environ.get("EFFC_UKERNEL_SANITIZE", "").split()
    subprocess.run([CLANG, "-O3", *BF16_VARIANTS[variant], *sanitize, "-shared", "-fPIC", "-I", str(REPO / "ukernels"),
                    *(str(REPO / "ukernels" / source) for source in sources), str(HERE / "shim" / "host.c"),
                    "-o", str(out), "-lpthread", "-lm"], check=True)
    return ctypes.CDLL(str(out))


def memref_args(array):
    """The expanded memref arguments of a numpy array: allocated, aligned, offset, sizes..., strides..."""
    ptr = ctypes.c_void_p(array.ctypes.data)
    strides = [s // array.itemsize for s in array.strides]
    return [ptr, ptr, ctypes.c_int64(0)] + [ctypes.c_int64(d) for d in array.shape] + \
        [ctypes.c_int64(s) for s in strides]


def build_cuda_host_harness(tmp_path_factory, name):
    """The shared library of test/ukernels/`name`.cpp, a harness that includes CUDA micro-kernel sources and
    runs each block's threads as host threads."""
    out = tmp_path_factory.mktemp(name) / f"{name}.so"
    subprocess.run([CLANGXX, "-std=c++20", "-O2", "-shared", "-fPIC", "-pthread", "-I", str(REPO / "ukernels" / "cuda"),
                    str(HERE / f"{name}.cpp"), "-o", str(out)], check=True)
    return ctypes.CDLL(str(out))
