"""The CUDA target (--target=cuda, docs/gpu.md) on machines with and without a GPU.

Without a GPU (CI): every example model, plain and with each compression variant, compiles to PTX that the
CUDA toolkit's ptxas accepts, for sm_80 and sm_90; a module compiled for CUDA is refused by a CPU runtime
and by a CUDA runtime without a driver, with a clear message and a non-zero exit code (effc-run and Python).
The ptxas tests skip when /usr/local/cuda (or $CUDA_HOME) has no ptxas.

With a GPU (pytest marker `gpu`, skipped when no CUDA device answers): the examples run on the device and
match the CPU build of the same model within rtol 1e-3, atol 1e-4 (different reduction order and
approximations of exp/erf/tanh in f32).

Run with: /usr/bin/python3 -m pytest test/e2e/test_cuda.py     (add -m gpu for the GPU tests only)
"""

import ctypes
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLES = REPO / "examples"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(EXAMPLES))

import models  # noqa: E402
from effc_testing import EFFC, EFFC_RUN  # noqa: E402

NAMES = list(models.EXAMPLES)
# Every compression flag family the examples support, as effc flags.
VARIANTS = {"plain": [], "int8": ["--quantize=int8"], "int4": ["--quantize=int4"], "bf16": ["--quantize=bf16"],
            "sparse24": ["--sparsity=2:4"], "drop1": ["--drop-layers=top:1"],
            "sparse24-bf16mm": ["--sparsity=2:4", "--cuda-matmul-precision=bf16"],
            "sparse24-f16mm": ["--sparsity=2:4", "--cuda-matmul-precision=f16"],
            "sparse24-int8": ["--sparsity=2:4", "--quantize=int8"], "lut3": ["--quantize=lut:3"],
            "csr": ["--sparsity=unstructured:0.5"]}
ARCHS = ["sm_80", "sm_90"]


def _toolkit():
    for candidate in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if candidate and (Path(candidate) / "bin" / "ptxas").exists():
            return Path(candidate)
    return None


TOOLKIT = _toolkit()
needs_tools = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()),
                                 reason=f"effc/effc-run not built ({EFFC.parent})")
needs_ptxas = pytest.mark.skipif(TOOLKIT is None, reason="no CUDA toolkit: ptxas not found in $CUDA_HOME/bin or "
                                                         "/usr/local/cuda/bin (the PTX is still generated)")


def _cuda_device_count():
    """CUDA devices the driver reports; 0 without a driver (or with the toolkit's stub)."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return count.value
    except OSError:
        return 0


needs_gpu = pytest.mark.skipif(_cuda_device_count() == 0, reason="no CUDA device (no driver libcuda.so.1 or no GPU)")


def _run(args, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)


def _compile(name, out, arch, flags, fmt=None):
    args = [EFFC, EXAMPLES / f"{name}.mlir", "--target=cuda", f"--cuda-arch={arch}", *flags, "-o", out]
    if fmt:
        args.append(f"--cuda-format={fmt}")
    result = _run(args)
    assert result.returncode == 0, f"effc {' '.join(map(str, args[1:]))} failed:\n{result.stderr[-3000:]}"


def _ptxas(ptx, arch):
    result = _run([TOOLKIT / "bin" / "ptxas", f"-arch={arch}", ptx, "-o", os.devnull])
    assert result.returncode == 0, f"ptxas -arch={arch} rejected {ptx.name}:\n{result.stderr[-3000:]}"


# ----------------------------------------------------------------------------------------------------------
# PTX accepted by ptxas (no GPU needed)


@needs_tools
@needs_ptxas
@pytest.mark.parametrize("name", NAMES)
def test_example_ptx_assembles(name, tmp_path):
    """The model in every variant for sm_80, and plain for sm_90, compile to PTX that ptxas accepts (every
    variant for both with EFFC_CUDA_FULL_MATRIX=1); with bf16 products also for sm_90a, whose f32 GEMMs take the
    warpgroup (wgmma) tile. Two jobs at a time: about two minutes on the 2-core CI machine."""
    full = os.environ.get("EFFC_CUDA_FULL_MATRIX") == "1"
    jobs = [(variant, arch) for arch in ARCHS for variant in VARIANTS if arch == "sm_80" or full or variant == "plain"]
    jobs.append(("sparse24-bf16mm", "sm_90a"))

    def job(variant_arch):
        variant, arch = variant_arch
        ptx = tmp_path / f"{name}.{variant}.{arch}.ptx"
        _compile(name, ptx, arch, VARIANTS[variant])
        text = ptx.read_text()
        assert f".target {arch}" in text and ".entry " in text, f"{ptx.name} holds no kernel for {arch}"
        _ptxas(ptx, arch)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(job, jobs))


@needs_tools
@needs_ptxas
def test_fatbin_embeds_cubin_and_ptx(tmp_path):
    """With the toolkit, the default format is a fatbin: cubin for the architecture plus PTX for newer GPUs."""
    so = tmp_path / "bert.so"
    _compile("bert_tiny", so, "sm_90", [])
    data = so.read_bytes()
    assert b"\x50\xed\x55\xba" in data, "no fatbin header (magic 0xba55ed50) in the shared object"
    # The embedded PTX may be compressed inside the fatbin; the cubin's ELF header is not.
    assert b"\x7fELF" in data[64:], "no embedded cubin"


# ----------------------------------------------------------------------------------------------------------
# No GPU: clear errors, no crash


@needs_tools
def test_effc_run_without_driver(tmp_path):
    so = tmp_path / "gpt.so"
    _compile("gpt_tiny", so, "sm_80", [], fmt="isa")
    env = dict(os.environ, EFFC_CUDA_DRIVER=str(tmp_path / "missing" / "libcuda.so.1"))
    result = _run([EFFC_RUN, so, "--device=cuda", "--list"], env=env)
    assert result.returncode == 1, result
    assert "effc-run: error: CUDA driver" in result.stderr and "not found" in result.stderr, result.stderr
    result = _run([EFFC_RUN, so, "--list"])
    assert result.returncode == 1, result
    assert "was compiled for CUDA (sm_80); create the runtime with the cuda device" in result.stderr, result.stderr


@needs_tools
def test_python_compile_cuda_without_driver(tmp_path):
    """effc.compile(target="cuda") compiles, then loading needs a CUDA runtime: without a driver that is
    effc.RuntimeError with code UNAVAILABLE. Run in a subprocess: the driver is probed once per process."""
    package = EFFC.parent.parent / "python_packages"
    if not (package / "effc").exists():
        pytest.skip(f"the Python package is not built ({package})")
    script = (
        "import effc, sys\n"
        "try:\n"
        f"    effc.compile({str(EXAMPLES / 'bert_tiny.mlir')!r}, target='cuda', cuda_arch='sm_90', cuda_format='isa')\n"
        "except effc.RuntimeError as e:\n"
        "    print(e.code, e)\n"
        "    sys.exit(0)\n"
        "sys.exit('no error')\n")
    env = dict(os.environ, PYTHONPATH=str(package), EFFC_CUDA_DRIVER=str(tmp_path / "missing" / "libcuda.so.1"))
    result = _run([sys.executable, "-c", script], env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("UNAVAILABLE CUDA driver"), result.stdout


# ----------------------------------------------------------------------------------------------------------
# A stand-in driver (runtime/tests/fake_cuda.c): the plumbing between compiled code, runtime and driver

FAKE_CUDA = EFFC.parent.parent / "runtime" / "tests" / "effc_fake_cuda.so"
needs_fake_cuda = pytest.mark.skipif(not FAKE_CUDA.exists(), reason=f"{FAKE_CUDA} not built")


def _fake_run(so, tmp_path, name, *extra, **env):
    log = tmp_path / "fake_cuda.log"
    log.unlink(missing_ok=True)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    args = [EFFC_RUN, so, "--device=cuda", "--output-dir", out, *extra]
    for npy in sorted((EXAMPLES / f"{name}.inputs").glob("*.npy")):
        args += ["--input", f"{npy.stem}={npy}"]
    result = _run(args, env=dict(os.environ, EFFC_CUDA_DRIVER=str(FAKE_CUDA), FAKE_CUDA_LOG=str(log), **env))
    counts = dict(item.split("=") for item in log.read_text().split()) if log.exists() else {}
    return result, {key: int(value) for key, value in counts.items()}


@needs_tools
@needs_fake_cuda
@pytest.mark.parametrize("fmt", ["isa", "fatbin"] if TOOLKIT else ["isa"])
def test_fake_driver_plumbing(tmp_path, fmt):
    """bert_tiny on the stand-in driver (kernels are not executed, so values are not checked): three
    invocations load the kernels once, launch the same number of valid kernels each time, and free every
    device allocation; the module image is one the driver accepts."""
    so = tmp_path / "bert.so"
    _compile("bert_tiny", so, "sm_90", [], fmt=fmt)
    result, counts = _fake_run(so, tmp_path, "bert_tiny", "--bench", "2", "--warmup", "0")
    assert result.returncode == 0, result.stderr
    assert counts["bad"] == 0, counts
    assert counts["loads"] == 1 and counts["unloads"] == 1, counts
    assert counts["launches"] > 0 and counts["launches"] % 3 == 0, counts
    assert counts["allocs"] == counts["frees"] > 0, counts
    single, one = _fake_run(so, tmp_path, "bert_tiny")
    assert single.returncode == 0, single.stderr
    assert counts["launches"] == 3 * one["launches"], (counts, one)
    assert counts["lost"] == 0 and counts["streams"] == 1, counts


@needs_tools
@needs_fake_cuda
def test_fake_driver_async_launches(tmp_path):
    """Kernels queue on one stream and the host waits once per invocation (before returning the output),
    instead of once per launch (--cuda-sync-launches); the stand-in runs the same kernels in the same order
    either way, intermediates are stream-ordered device allocations, and no host access to device memory happens while kernels are queued (the stand-in
    protects device memory then: a fault exits with 86)."""
    runs = {}
    for mode, flags in (("async", []), ("sync", ["--cuda-sync-launches"])):
        so = tmp_path / f"bert_{mode}.so"
        _compile("bert_tiny", so, "sm_90", flags, fmt="isa")
        result, counts = _fake_run(so, tmp_path, "bert_tiny", "--bench", "2", "--warmup", "0")
        assert result.returncode == 0, result.stderr
        assert counts["bad"] == 0 and counts["lost"] == 0 and counts["allocs"] == counts["frees"], counts
        runs[mode] = counts
    async_, sync = runs["async"], runs["sync"]
    assert async_["launches"] == sync["launches"] > 0 and async_["order"] == sync["order"], runs
    assert sync["stream_syncs"] == sync["launches"], sync
    assert async_["stream_syncs"] == 3, async_  # one per invocation
    assert async_["streams"] == 1, async_  # the runtime reuses the stream
    # Intermediates that only kernels touch live in device memory, allocated and freed on the stream.
    assert async_["async_allocs"] > 0 and sync["async_allocs"] == 0, runs


# Models whose host code reads what kernels wrote: MoE routing loops, CPU micro-kernels of compressed layers.
HOST_CODE_CASES = [("llama_tiny", []), ("moe_switch_tiny", []), ("bert_tiny", ["--quantize=int8"]),
                   ("moe_switch_tiny", ["--quantize=int4"]), ("moe_switch_tiny", ["--quantize=int8"])]


@needs_tools
@needs_fake_cuda
@pytest.mark.parametrize("name,flags", HOST_CODE_CASES, ids=["-".join([n, *f]) for n, f in HOST_CODE_CASES])
def test_fake_driver_host_code_waits(tmp_path, name, flags):
    """Host code between kernels (routing loops, CPU micro-kernels on managed memory) runs only after the
    kernels before it: the stand-in faults (exit 86) on a host access while work is queued."""
    so = tmp_path / "model.so"
    _compile(name, so, "sm_90", flags, fmt="isa")
    result, counts = _fake_run(so, tmp_path, name)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert counts["bad"] == 0 and counts["lost"] == 0 and counts["allocs"] == counts["frees"], counts
    assert 1 <= counts["stream_syncs"] < counts["launches"], counts


@needs_fake_cuda
def test_fake_driver_catches_unsynchronised_host_access(tmp_path):
    """The stand-in's check itself: reading device memory after a launch without synchronising faults with
    exit code 86; after cuStreamSynchronize the read is fine."""
    script = f"""
import ctypes, sys
cu = ctypes.CDLL({str(FAKE_CUDA)!r})
ptr, stream, params = ctypes.c_uint64(), ctypes.c_void_p(), (ctypes.c_void_p * 1)()
assert cu.cuMemAllocManaged(ctypes.byref(ptr), 64, 1) == 0 and cu.cuStreamCreate(ctypes.byref(stream), 1) == 0
launch = lambda: cu.cuLaunchKernel(ctypes.c_char_p(b"k"), 1, 1, 1, 1, 1, 1, 0, stream, params, None)
assert launch() == 0 and cu.cuStreamSynchronize(stream) == 0
ctypes.c_float.from_address(ptr.value).value
assert launch() == 0
print("queued", flush=True)
ctypes.c_float.from_address(ptr.value).value
"""
    result = _run([sys.executable, "-c", script])
    assert result.returncode == 86 and result.stdout == "queued\n", result
    assert "the host accessed device memory while GPU work was queued" in result.stderr, result.stderr


@needs_tools
@needs_fake_cuda
@pytest.mark.parametrize("name", [n for n in NAMES if any((EXAMPLES / f"{n}.inputs").glob("*.npy"))])
def test_fake_driver_runs_example(name, tmp_path):
    """Every example with `main` inputs loads and runs on the stand-in driver: the shared object resolves every
    symbol (no call of MLIR's runtime library, such as memrefCopy for a strided copy) and every device
    allocation is freed."""
    so = tmp_path / f"{name}.so"
    _compile(name, so, "sm_80", [], fmt="isa")
    result, counts = _fake_run(so, tmp_path, name)
    assert result.returncode == 0, result.stderr
    assert counts["bad"] == 0 and counts["allocs"] == counts["frees"], counts


@needs_tools
@needs_fake_cuda
def test_fake_driver_launch_failure(tmp_path):
    """A failing launch is reported by the invocation, with the driver's error, and nothing leaks."""
    so = tmp_path / "bert.so"
    _compile("bert_tiny", so, "sm_80", [], fmt="isa")
    result, counts = _fake_run(so, tmp_path, "bert_tiny", FAKE_CUDA_FAIL_LAUNCH="1")
    assert result.returncode == 1, result
    assert "function 'main' failed on effc fake CUDA device (cuda:0, sm_90): cuLaunchKernel failed: " \
           "CUDA_ERROR_LAUNCH_FAILED (719)" in result.stderr, result.stderr
    assert counts["launches"] == 0 and counts["allocs"] == counts["frees"], counts


# ----------------------------------------------------------------------------------------------------------
# On a GPU


def _run_model(so, inputs_dir, out_dir, device, function=None):
    out_dir.mkdir(parents=True)
    args = [EFFC_RUN, so, "--output-dir", out_dir, f"--device={device}"]
    if function:
        args += ["--function", function]
    for npy in sorted(inputs_dir.glob("*.npy")):
        args += ["--input", f"{npy.stem}={npy}"]
    result = _run(args)
    assert result.returncode == 0, f"effc-run --device={device} failed:\n{result.stderr[-3000:]}"
    return {p.stem: np.load(p) for p in out_dir.glob("*.npy")}


@pytest.mark.gpu
@needs_tools
@needs_gpu
@pytest.mark.parametrize("name", NAMES)
def test_example_on_gpu_matches_cpu(name, tmp_path):
    inputs = EXAMPLES / f"{name}.inputs"
    # Inputs of the only (or main) function, or one folder per function (gpt_tiny: prefill/, decode/).
    runs = [(None, inputs)] if any(inputs.glob("*.npy")) else \
        [(d.name, d) for d in sorted(inputs.iterdir()) if d.is_dir() and any(d.glob("*.npy"))]
    if not runs:
        pytest.skip(f"no sample inputs for {name}")
    cpu_so, gpu_so = tmp_path / "cpu.so", tmp_path / "gpu.so"
    result = _run([EFFC, EXAMPLES / f"{name}.mlir", "-o", cpu_so])
    assert result.returncode == 0, result.stderr
    arch = _run(["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader"]) if shutil.which("nvidia-smi") else None
    cap = arch.stdout.strip().splitlines()[0].replace(".", "") if arch and arch.returncode == 0 else "80"
    _compile(name, gpu_so, "sm_90" if cap.startswith("9") else "sm_80", [])
    for function, folder in runs:
        label = function or "main"
        expected = _run_model(cpu_so, folder, tmp_path / "cpu" / label, "cpu", function)
        actual = _run_model(gpu_so, folder, tmp_path / "gpu" / label, "cuda", function)
        assert sorted(actual) == sorted(expected)
        for key in expected:
            np.testing.assert_allclose(actual[key], expected[key], rtol=1e-3, atol=1e-4,
                                       err_msg=f"{name} ({label}): {key}")


# ----------------------------------------------------------------------------------------------------------
# bf16 linear layers on tensor cores (effc-gpu-bf16-linear-ukernels, ukernels/cuda/mma_gemm.cu)


# Compressed linear layers whose lowering makes device kernels: bf16 (effc-gpu-bf16-linear-ukernels), N:M
# sparse in f32, with bf16 or f16 products and in int8, and CSR (effc-gpu-sparse-linears), LUT
# (effc-gpu-quantized-linears).
DEVICE_LINEAR_FLAGS = {"bf16": ["--quantize=bf16"], "sparse24": ["--sparsity=2:4"],
                       "sparse24-bf16mm": ["--sparsity=2:4", "--cuda-matmul-precision=bf16"],
                       "sparse24-f16mm": ["--sparsity=2:4", "--cuda-matmul-precision=f16"],
                       "sparse24-int8": ["--sparsity=2:4", "--quantize=int8"], "lut3": ["--quantize=lut:3"],
                       "csr": ["--sparsity=unstructured:0.5"]}


@needs_tools
@needs_fake_cuda
@pytest.mark.parametrize("variant", list(DEVICE_LINEAR_FLAGS))
def test_fake_driver_compressed_linears_stay_on_device(tmp_path, variant):
    """bert_tiny with compressed linear layers on the stand-in driver: the layers are kernel launches, not CPU
    micro-kernels on the host, so an invocation synchronises once (a host kernel would need a wait before it)."""
    so = tmp_path / "bert.so"
    _compile("bert_tiny", so, "sm_90", DEVICE_LINEAR_FLAGS[variant], fmt="isa")
    result, counts = _fake_run(so, tmp_path, "bert_tiny")
    assert result.returncode == 0, result.stderr
    assert counts["bad"] == 0 and counts["lost"] == 0 and counts["allocs"] == counts["frees"], counts
    assert counts["stream_syncs"] == 1, counts


BF16_LINEAR = """
module attributes {{eff.weights = "weights.safetensors"}} {{
  func.func @main(%x: tensor<?x?x{k}xf32> {{eff.name = "x"}}) -> (tensor<?x?x{n}xf32> {{eff.name = "y"}}) {{
    %w = eff.parameter "w" : tensor<{n}x{k}xf32>
    %b = eff.parameter "b" : tensor<{n}xf32>
    %y = eff.linear %x, %w, %b : (tensor<?x?x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<?x?x{n}xf32>
    return %y : tensor<?x?x{n}xf32>
  }}
}}
"""


def _bf16(a):
    """Rounds float32 to bf16 (nearest even) and back, as eff-quantize and the GEMM's staging do."""
    bits = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    return bits.view(np.float32)


BF16_LINEAR_SHAPES = [(1, 1, 5, 3), (2, 37, 70, 129), (3, 130, 200, 300), (8, 128, 768, 768)]


def _check_bf16_linear(batch, seq, k, n, tmp_path, device):
    sys.path.insert(0, str(EXAMPLES))
    import models
    rng = np.random.default_rng(k + n)
    w, b = rng.standard_normal((n, k)).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal((batch, seq, k)).astype(np.float32)
    models.ir.write_safetensors(tmp_path / "weights.safetensors", {"w": w, "b": b})
    source = tmp_path / "linear.mlir"
    source.write_text(BF16_LINEAR.format(k=k, n=n))
    so = tmp_path / "linear.so"
    target = ["--target=cuda"] if device == "cuda" else []
    result = _run([EFFC, source, *target, "--quantize=bf16", "-o", so])
    assert result.returncode == 0, result.stderr
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    np.save(inputs / "x.npy", x)
    y = _run_model(so, inputs, tmp_path / "out", device)["y"]
    expected = _bf16(x).astype(np.float64) @ _bf16(w).astype(np.float64).T + b
    np.testing.assert_allclose(y, expected, rtol=1e-3, atol=1e-4 * np.sqrt(k))


@needs_tools
def test_bf16_linear_reference_on_cpu(tmp_path):
    """The check below, on the CPU build's bf16 kernel (which rounds the same way): the reference is right."""
    _check_bf16_linear(*BF16_LINEAR_SHAPES[1], tmp_path, "cpu")


@pytest.mark.gpu
@needs_tools
@needs_gpu
@pytest.mark.parametrize("batch,seq,k,n", BF16_LINEAR_SHAPES)
def test_bf16_linear_on_gpu_matches_numpy(batch, seq, k, n, tmp_path):
    """A bf16 linear layer of ragged shape (both tile shapes, partial tiles, odd K) on the tensor-core GEMM
    against numpy on the bf16-rounded operands in float64: only the f32 accumulation order differs."""
    _check_bf16_linear(batch, seq, k, n, tmp_path, "cuda")


def test_python_cuda_matmul_precision(tmp_path):
    """effc.compile(..., cuda_matmul_precision="bf16") is accepted (loading then needs a driver), and
    CompileOptions carries the setting (default "f32"); unknown values are refused by the compiler
    (test/effc/target-cuda-matmul-precision.mlir)."""
    package = EFFC.parent.parent / "python_packages"
    if not (package / "effc").exists():
        pytest.skip(f"the Python package is not built ({package})")
    script = (
        "import effc, sys\n"
        "options = effc._effc.CompileOptions()\n"
        "print(options.cuda_matmul_precision)\n"
        "options.cuda_matmul_precision = 'bf16'\n"
        "print(options.cuda_matmul_precision)\n"
        "try:\n"
        f"    effc.compile({str(EXAMPLES / 'bert_tiny.mlir')!r}, target='cuda', cuda_format='isa',\n"
        "                 cuda_matmul_precision='bf16')\n"
        "except effc.RuntimeError as e:\n"
        "    print(e.code, e)\n")
    env = dict(os.environ, PYTHONPATH=str(package), EFFC_CUDA_DRIVER=str(tmp_path / "missing" / "libcuda.so.1"))
    result = _run([sys.executable, "-c", script], env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["f32", "bf16"] and lines[2].startswith("UNAVAILABLE CUDA driver"), result.stdout


@needs_tools
@needs_ptxas
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_matmul_precision_bf16_ptx_assembles(arch, tmp_path):
    """gpt_tiny (linears, attention's batched products) with --cuda-matmul-precision=bf16: every f32 product is
    the tensor-core GEMM, and ptxas accepts the PTX."""
    ptx = tmp_path / f"gpt_tiny.{arch}.ptx"
    _compile("gpt_tiny", ptx, arch, ["--cuda-matmul-precision=bf16"])
    text = ptx.read_text()
    assert "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" in text, ptx.name
    assert "SgemmTile" not in text, f"{ptx.name} still has the f32 SIMT GEMM's tiles"
    _ptxas(ptx, arch)
