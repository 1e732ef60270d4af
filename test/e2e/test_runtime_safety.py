"""The runtime on real compiled models: concurrency, leaks, memory limits and artifact checks.

Compiles examples/bert_tiny.mlir (encoder) and examples/gpt_tiny.mlir (decoder with prefill and decode) once,
with external weights, and drives them with effc_model_stress (runtime/tests/model_stress.c), effc-run and
the Python package. See docs/reliability.md.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from effc_testing import BIN_DIR, EFFC, EFFC_RUN, REPO

STRESS = BIN_DIR / "effc_model_stress"
EXAMPLES = REPO / "examples"


# Under scripts/sanitize.sh the tools are ASan builds, and the ASan runtime is preloaded into every process.
UNDER_ASAN = "asan" in os.environ.get("LD_PRELOAD", "")


def _tool(args, check=True, env=None, timeout=300):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{Path(str(args[0])).name} failed (exit {result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{name: path of the compiled .so} for bert_tiny and gpt_tiny, weights in NAME.so.weights beside."""
    if not STRESS.exists():
        pytest.skip(f"{STRESS} is not built")
    workdir = tmp_path_factory.mktemp("runtime-safety")
    compiled = {}
    for name in ("bert_tiny", "gpt_tiny"):
        compiled[name] = workdir / f"{name}.so"
        _tool([EFFC, EXAMPLES / f"{name}.mlir", "--external-weights", "-o", compiled[name]])
    return compiled


def _copy_model(models, name, directory):
    """A private copy of a compiled model and its weights file in `directory` (the .so records the weights
    file's name, and a file loaded by one runtime cannot be loaded by another: copies can)."""
    directory.mkdir(parents=True, exist_ok=True)
    model = directory / models[name].name
    shutil.copy(models[name], model)
    shutil.copy(str(models[name]) + ".weights", str(model) + ".weights")
    return model


def _write_jobs(workdir, jobs):
    """Writes each job ({"function": name, inputs...}) as .npy files and one line of the jobs file."""
    lines = []
    for index, job in enumerate(jobs):
        words = [job["function"]]
        for name, array in job.items():
            if name == "function":
                continue
            path = workdir / f"job{index}.{name}.npy"
            np.save(path, array)
            words.append(f"{name}={path}")
        lines.append(" ".join(words))
    path = workdir / "jobs.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def bert_jobs(rng, shapes):
    jobs = []
    for batch, seq in shapes:
        mask = np.ones((batch, seq), np.int64)
        mask[0, (seq + 1) // 2:] = 0  # some padding in the first sequence
        jobs.append({"function": "main", "input_ids": rng.integers(0, 1000, (batch, seq)).astype(np.int64),
                     "attention_mask": mask,
                     "token_type_ids": rng.integers(0, 2, (batch, seq)).astype(np.int64)})
    return jobs


def gpt_jobs(rng, prefill_shapes, decode_shapes):
    jobs = [{"function": "prefill", "input_ids": rng.integers(0, 1000, (b, s)).astype(np.int64)}
            for b, s in prefill_shapes]
    for batch, past in decode_shapes:
        job = {"function": "decode", "input_ids": rng.integers(0, 1000, (batch, 1)).astype(np.int64)}
        for layer in range(2):
            for kind in ("key", "value"):
                job[f"past_{kind}_{layer}"] = rng.standard_normal((batch, past, 128)).astype(np.float32)
        jobs.append(job)
    return jobs


def _figures(stdout):
    return {key: int(value) for key, value in re.findall(r"^([a-z_ ]+\w): (\d+)$", stdout, re.M)}


# ----------------------------------------------------------------------------------------------------------
# Concurrency: N threads x M calls with different shapes, bit-exact against serial runs


def test_concurrent_calls_are_bit_exact_encoder(models, tmp_path):
    jobs = _write_jobs(tmp_path, bert_jobs(np.random.default_rng(0), [(1, 3), (2, 12), (4, 30), (3, 7), (1, 64)]))
    result = _tool([STRESS, models["bert_tiny"], jobs, "--pool-threads", "2", "--threads", "6", "--calls", "20"])
    assert "6 threads x 20 calls, all bit-exact" in result.stdout


def test_concurrent_calls_are_bit_exact_decoder(models, tmp_path):
    jobs = _write_jobs(tmp_path, gpt_jobs(np.random.default_rng(1), [(1, 5), (2, 17), (3, 2)],
                                          [(1, 5), (2, 17), (4, 1), (3, 40)]))
    result = _tool([STRESS, models["gpt_tiny"], jobs, "--pool-threads", "3", "--threads", "4", "--calls", "20"])
    assert "4 threads x 20 calls, all bit-exact" in result.stdout


def test_python_threads_share_a_model(models, tmp_path):
    """The extension releases the GIL while invoking; threads running one model get the serial results."""
    import effc

    model = effc.load(_copy_model(models, "bert_tiny", tmp_path / "copy"), runtime=effc.Runtime(num_threads=2))
    jobs = bert_jobs(np.random.default_rng(2), [(1, 4), (2, 9), (3, 16), (2, 33)])
    inputs = [{k: v for k, v in job.items() if k != "function"} for job in jobs]
    expected = [model.run(x)["last_hidden_state"].copy() for x in inputs]
    errors = []

    def work(index):
        for call in range(15):
            job = (index + call) % len(inputs)
            if not np.array_equal(model.run(inputs[job])["last_hidden_state"], expected[job]):
                errors.append(f"thread {index} call {call} differs")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_python_runtime_spin_option(models, tmp_path):
    """Runtime(spin_micros=...) reaches the pool (none with more threads than cores), and the result does not
    depend on it."""
    import effc

    cores = os.cpu_count()
    assert effc.Runtime(num_threads=1).spin_micros == 100
    assert effc.Runtime(num_threads=1, spin_micros=250).spin_micros == 250
    assert effc.Runtime(num_threads=cores + 1, spin_micros=250).spin_micros == 0
    with pytest.raises(TypeError):
        effc.Runtime(spin_micros=-1)
    inputs = {k: v for k, v in bert_jobs(np.random.default_rng(3), [(2, 9)])[0].items() if k != "function"}
    results = []
    for spin in (0, 100):
        model = effc.load(_copy_model(models, "bert_tiny", tmp_path / f"spin{spin}"),
                          runtime=effc.Runtime(num_threads=2, spin_micros=spin))
        results.append(model.run(inputs)["last_hidden_state"].copy())
    np.testing.assert_array_equal(results[0], results[1])


# ----------------------------------------------------------------------------------------------------------
# Stress and leaks


def test_stress_10000_calls_without_growth(models, tmp_path):
    """10,000 calls over 5 shapes: live bytes back to the baseline after every call (checked by the driver),
    the runtime's peak within 1.25x the largest single call's (kernels' per-task scratch overlaps as the
    threads interleave), and resident memory flat."""
    shapes = [(1, 1), (1, 5), (2, 3), (3, 8), (2, 16)]
    jobs = _write_jobs(tmp_path, bert_jobs(np.random.default_rng(3), shapes))
    result = _tool([STRESS, models["bert_tiny"], jobs, "--pool-threads", "2", "--stress", "10000"])
    figures = _figures(result.stdout)
    print(result.stdout)
    assert figures["stress calls"] == 10000
    assert figures["largest serial peak_bytes"] <= 256 * 1024
    assert figures["stress peak_bytes"] <= 1.25 * figures["largest serial peak_bytes"]
    if not UNDER_ASAN:  # ASan's quarantine keeps up to 256 MB of freed blocks resident by design
        assert figures["rss_kib stress end"] - figures["rss_kib stress start"] <= 4096


def _leak_sanitizer():
    for compiler in ("gcc", "clang-22"):
        try:
            path = subprocess.run([compiler, "-print-file-name=liblsan.so"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            continue
        if os.path.isabs(path) and os.path.exists(path):
            return path
    return None


def test_leak_sanitizer_over_concurrent_stress_and_refusals(models, tmp_path):
    """LeakSanitizer (preloaded; in an ASan build, ASan's own) over a shorter run that also unwinds refused
    allocations."""
    if UNDER_ASAN:
        options = re.sub(r"(^|:)detect_leaks=\d", "", os.environ.get("ASAN_OPTIONS", ""))
        env = dict(os.environ, ASAN_OPTIONS=f"{options}:detect_leaks=1".lstrip(":"),
                   LSAN_OPTIONS=f"{os.environ.get('LSAN_OPTIONS', '')}:exitcode=23".lstrip(":"))
    else:
        lsan = _leak_sanitizer()
        if not lsan:
            pytest.skip("no LeakSanitizer runtime (liblsan.so) is installed")
        env = dict(os.environ, LD_PRELOAD=lsan, LSAN_OPTIONS="exitcode=23")
    copy = _copy_model(models, "bert_tiny", tmp_path / "copy")
    jobs = _write_jobs(tmp_path, bert_jobs(np.random.default_rng(4), [(1, 2), (2, 9), (8, 64)]))
    result = _tool([STRESS, models["bert_tiny"], jobs, "--threads", "3", "--calls", "5", "--stress", "200",
                    "--limited-copy", copy], check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LeakSanitizer" not in result.stderr


# ----------------------------------------------------------------------------------------------------------
# Memory limits


@pytest.mark.parametrize("name", ["bert_tiny", "gpt_tiny"])
def test_memory_limit_refuses_cleanly_and_recovers(models, tmp_path, name):
    """Under a limit between the jobs' needs, every call either matches the serial run or fails with
    RESOURCE_EXHAUSTED, and nothing stays allocated (the refusal unwinds out of compiled code)."""
    copy = _copy_model(models, name, tmp_path / "copy")
    rng = np.random.default_rng(5)
    if name == "bert_tiny":
        jobs = bert_jobs(rng, [(1, 2), (2, 12), (8, 64)])
    else:
        # The limit is halfway between the smallest and largest job; it must stay above the 5.3 MB of
        # weights, which are checked against it at load.
        jobs = gpt_jobs(rng, [(1, 3), (16, 100)], [(1, 4), (8, 100)])
    result = _tool([STRESS, models[name], _write_jobs(tmp_path, jobs), "--limited-copy", copy])
    figures = _figures(result.stdout)
    assert figures["limited ok"] > 0 and figures["limited refused"] > 0
    assert re.search(r"limited example error: function '\w+' ran out of memory: an allocation of \d+ bytes "
                     r"failed \(memory limit \d+ bytes, \d+ in use\)", result.stdout)


def _effc_run_bert(model, limit, tmp_path, batch, seq):
    inputs = bert_jobs(np.random.default_rng(6), [(batch, seq)])[0]
    args = [EFFC_RUN, model, "--output-dir", tmp_path, f"--memory-limit={limit}"]
    for name, array in inputs.items():
        if name != "function":
            np.save(tmp_path / f"{name}.npy", array)
            args += ["--input", f"{name}={tmp_path / f'{name}.npy'}"]
    return _tool(args, check=False)


def test_effc_run_memory_limit(models, tmp_path):
    model = models["bert_tiny"]
    refused = _effc_run_bert(model, "1M", tmp_path, 8, 64)
    assert refused.returncode == 1
    assert re.fullmatch(r"effc-run: error: running 'main': function 'main' ran out of memory: an allocation of "
                        r"\d+ bytes failed \(memory limit 1048576 bytes, \d+ in use\)\n", refused.stderr)
    assert _effc_run_bert(model, "1M", tmp_path, 1, 4).returncode == 0  # a smaller call fits
    assert _effc_run_bert(model, "2G", tmp_path, 8, 64).returncode == 0
    # Weights over the limit: refused at load.
    weights = _effc_run_bert(model, "512K", tmp_path, 1, 4)
    assert weights.returncode == 1
    assert "has 667648 bytes of weights, more than the memory limit of 524288 bytes" in weights.stderr
    bad = _effc_run_bert(model, "12Q", tmp_path, 1, 4)
    assert bad.returncode == 1 and "--memory-limit expects a non-negative integer, got '12Q'" in bad.stderr


def test_python_memory_limit(models, tmp_path):
    import effc

    path = _copy_model(models, "bert_tiny", tmp_path / "copy")
    model = effc.load(path, memory_limit="1M")
    big, small = (bert_jobs(np.random.default_rng(7), [shape])[0] for shape in [(8, 64), (1, 4)])
    big.pop("function"), small.pop("function")
    with pytest.raises(effc.RuntimeError, match=r"function 'main' ran out of memory: an allocation of \d+ bytes "
                                                r"failed \(memory limit 1048576 bytes") as info:
        model.run(big)
    assert info.value.code == "RESOURCE_EXHAUSTED"
    assert model.run(small)["last_hidden_state"].shape == (1, 4, 64)  # still usable
    with pytest.raises(effc.RuntimeError, match="more than the memory limit of 524288 bytes"):
        effc.load(_copy_model(models, "bert_tiny", tmp_path / "copy2"), memory_limit=512 * 1024)
    with pytest.raises(ValueError, match="pass either runtime= or memory_limit="):
        effc.load(path, runtime=effc.default_runtime(), memory_limit="1G")
    assert [effc.parse_size(v) for v in (4096, "512M", "2G", "1.5k", "3KB")] == [4096, 512 << 20, 2 << 30, 1536,
                                                                                  3072]
    for bad in ("12Q", "-1", "", "M"):
        with pytest.raises(ValueError, match="invalid size"):
            effc.parse_size(bad)


# ----------------------------------------------------------------------------------------------------------
# Artifacts: versioned, checksummed .so and weights files


def _artifact_pair(models, tmp_path):
    """A private copy of bert_tiny.so and its weights file."""
    model = _copy_model(models, "bert_tiny", tmp_path)
    return model, Path(str(model) + ".weights")


def _load_error(model, *extra):
    result = _tool([EFFC_RUN, model, "--list", *extra], check=False)
    assert result.returncode == 1, result.stdout
    assert "crashed" not in result.stderr
    return result.stderr


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def test_artifact_pair_loads(models, tmp_path):
    model, _ = _artifact_pair(models, tmp_path)
    assert _tool([EFFC_RUN, model, "--list"]).stdout.startswith(f"module {model}: 1 functions (producer: effc ")


def test_weights_from_another_model_are_refused(models, tmp_path):
    model, weights = _artifact_pair(models, tmp_path)
    shutil.copy(str(models["gpt_tiny"]) + ".weights", weights)
    assert re.search(r"weights file .*bert_tiny.so.weights belongs to another compile \(weights id [0-9a-f]{16}, "
                     r"\d+ bytes; the module expects id [0-9a-f]{16}, 667648 bytes\)", _load_error(model))


def test_weights_of_another_version_are_refused(models, tmp_path):
    model, weights = _artifact_pair(models, tmp_path)
    data = bytearray(weights.read_bytes())
    data[40:64] = b"effc 9.9.9".ljust(24, b"\0")  # the header's producer field
    weights.write_bytes(bytes(data))
    assert "was written by 'effc 9.9.9' for ABI v5, but the module by 'effc 0.1.0'" in _load_error(model)
    data[8] = 2  # abi_version
    weights.write_bytes(bytes(data))
    assert "for ABI v2" in _load_error(model)


def test_tampered_weights_are_refused(models, tmp_path):
    model, weights = _artifact_pair(models, tmp_path)
    _flip(weights, 64 + 12345)
    assert re.search(r"weights file .* is corrupt: checksum [0-9a-f]{16}, expected [0-9a-f]{16}", _load_error(model))
    # The header's checksum no longer matching the module is a mismatch, checked even without verification.
    model, weights = _artifact_pair(models, tmp_path)
    _flip(weights, 32)
    assert "belongs to another compile" in _load_error(model)


def test_truncated_weights_are_refused(models, tmp_path):
    model, weights = _artifact_pair(models, tmp_path)
    data = weights.read_bytes()
    weights.write_bytes(data[:-100])
    assert f"is truncated: {len(data) - 100} bytes, expected {len(data)}" in _load_error(model)
    weights.write_bytes(data[:30])
    assert "is not an effc weights file (no valid header)" in _load_error(model)
    weights.unlink()
    assert "cannot open weights file" in _load_error(model)


def test_tampered_or_truncated_module_is_refused(models, tmp_path):
    model, _ = _artifact_pair(models, tmp_path)
    data = model.read_bytes()
    _flip(model, len(data) // 2)
    assert re.search(r"bert_tiny.so' is corrupt: checksum [0-9a-f]{16}, expected [0-9a-f]{16}", _load_error(model))
    for cut in (7, 4096, len(data) // 2):
        model.write_bytes(data[:-cut])
        assert "is not an effc module, or it is truncated" in _load_error(model)
    model.write_bytes(data[:1000] + data[1001:])
    assert "bytes before its trailer, expected" in _load_error(model)


def test_python_reports_artifact_errors(models, tmp_path):
    import effc

    model, weights = _artifact_pair(models, tmp_path)
    _flip(weights, 64 + 999)
    with pytest.raises(effc.RuntimeError, match="is corrupt: checksum") as info:
        effc.load(model)
    assert info.value.code == "DATA_LOSS"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
