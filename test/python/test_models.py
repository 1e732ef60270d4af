"""The example models through the Python package: compiled with effc.compile (JIT), run on numpy arrays.

Numerics: every output of every example function on its committed inputs (examples/NAME.inputs) against
the numpy reference (Module.evaluate over the same graph and weights), rtol = atol = 1e-4. JIT and
ahead-of-time give the same bits: the JIT model, the same model saved and reloaded with effc.load, and the
saved file run by effc-run must agree exactly. Model.generate (greedy) must produce the tokens of a
prefill/decode loop written out over the numpy reference.
"""

import json
import subprocess
import threading

import numpy as np
import pytest

import effc
from package_testing import (BIN_DIR, EXAMPLES, TOL, assert_outputs_close, committed_module, models, sample_inputs)
from effc import ir

NAMES = list(models.EXAMPLES)


@pytest.mark.parametrize("name", NAMES)
def test_example_matches_reference(example_model, name):
    model = example_model(name)
    reference = committed_module(name)
    assert model.functions == list(reference.functions)
    for function in model.functions:
        inputs = sample_inputs(name, function, model.functions)
        expected = reference.evaluate(function, inputs)
        assert_outputs_close(model.run(inputs, function=function), expected, f"{name}.{function}")


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_the_graph(example_model, name):
    model = example_model(name)
    for function, built in committed_module(name).functions.items():
        signature = model.signature[function]
        assert signature.input_names == built.input_names
        assert signature.output_names == built.result_names
        for spec, arg in zip(signature.inputs, built.args):
            assert spec.shape == tuple(arg.type.shape) and spec.dtype == ir.numpy_dtype(arg.type.element)


def test_gpt_signature():
    model = effc.compile(EXAMPLES / "gpt_tiny.mlir", opt_level=1)
    decode = model.signature["decode"]
    assert str(decode.inputs[0]) == "input_ids: i64[?, 1]"
    past = decode.inputs[1]
    assert (past.name, past.element, past.dtype, past.shape) == ("past_key_0", "f32", np.float32, (None, None, 128))
    assert decode.output_names == ["logits"] + [f"present_{k}_{i}" for i in range(2) for k in ("key", "value")]
    with pytest.raises(AttributeError, match="2 functions"):
        model.signature.inputs  # noqa: B018
    assert "decode(input_ids" in repr(model)


def run_effc_run(path, function, inputs, workdir):
    workdir.mkdir()
    args = [str(BIN_DIR / "effc-run"), str(path), "--function", function, "--output-dir", str(workdir)]
    for key, value in inputs.items():
        np.save(workdir / f"in.{key}.npy", value)
        args += ["--input", f"{key}={workdir / f'in.{key}.npy'}"]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return workdir


@pytest.mark.parametrize("name", ["bert_tiny", "gpt_tiny"])
def test_jit_save_load_and_effc_run_agree_exactly(example_model, name, tmp_path):
    model = example_model(name)
    saved = model.save(tmp_path / f"{name}.so")
    loaded = effc.load(saved)
    assert loaded.signature == model.signature and loaded.producer.startswith("effc")
    for function in model.functions:
        inputs = sample_inputs(name, function, model.functions)
        jit = model.run(inputs, function=function)
        aot = loaded.run(inputs, function=function)
        workdir = run_effc_run(saved, function, inputs, tmp_path / function)
        for key, value in jit.items():
            np.testing.assert_array_equal(aot[key], value, err_msg=f"{name}.{function}: effc.load {key}")
            np.testing.assert_array_equal(np.load(workdir / f"{key}.npy"), value,
                                          err_msg=f"{name}.{function}: effc-run {key}")


def test_load_runs_what_the_driver_compiled(tmp_path):
    subprocess.run([str(BIN_DIR / "effc"), str(EXAMPLES / "llama_tiny.mlir"), "-o", str(tmp_path / "l.so")],
                   check=True, capture_output=True)
    model = effc.load(tmp_path / "l.so")
    inputs = sample_inputs("llama_tiny", "main", ["main"])
    assert_outputs_close(model(**inputs), committed_module("llama_tiny").evaluate("main", inputs), "llama_tiny")


def test_compile_ir_text_and_builder_module():
    rng = np.random.default_rng(5)
    m = ir.Module()
    fn = m.function("main", inputs=[("x", (None, 16), "f32")])
    w = m.parameter("proj.weight", rng.standard_normal((8, 16)).astype(np.float32))
    b = m.parameter("proj.bias", rng.standard_normal(8).astype(np.float32))
    fn.ret([fn.activation("gelu", fn.linear(fn.args[0], w, b))], names=["y"])
    x = rng.standard_normal((3, 16)).astype(np.float32)
    expected = m.evaluate("main", {"x": x})
    assert_outputs_close(effc.compile(m)(x=x), expected, "builder module")

    text = """
module {
  func.func @main(%x: tensor<?x4xf32> {eff.name = "x"}, %y: tensor<?x4xf32> {eff.name = "y"})
      -> (tensor<?x4xf32> {eff.name = "sum"}) {
    %s = eff.add %x, %y : tensor<?x4xf32>
    return %s : tensor<?x4xf32>
  }
}
"""
    model = effc.compile(text)
    x, y = rng.standard_normal((2, 5, 4)).astype(np.float32)
    np.testing.assert_array_equal(model(x=x, y=y)["sum"], x + y)
    np.testing.assert_array_equal(effc.compile(text.encode())(x=x, y=y)["sum"], x + y)


def test_inputs_zero_copy_and_conversions(example_model):
    model = example_model("llama_tiny")
    ids = np.random.default_rng(2).integers(0, 1000, (2, 24))
    expected = model(input_ids=ids[:, ::2].copy())["logits"]
    out = model(input_ids=ids[:, ::2])  # a strided view: copied to a contiguous array first
    np.testing.assert_array_equal(out["logits"], expected)
    np.testing.assert_array_equal(model(input_ids=ids[:, ::2].tolist())["logits"], expected)  # lists convert
    assert not out["logits"].flags.owndata  # outputs view the runtime's buffers


def test_concurrent_runs_from_threads(example_model):
    """Runs release the GIL; concurrent calls on one model give the sequential results."""
    model = example_model("bert_tiny")
    rng = np.random.default_rng(3)
    batches = [models.sample_inputs("bert_tiny", rng, 2, 9)["main"] for _ in range(4)]
    expected = [model(**inputs)["last_hidden_state"] for inputs in batches]
    results = [None] * len(batches)

    def work(i):
        for _ in range(3):
            results[i] = model(**batches[i])["last_hidden_state"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_jit_leaves_no_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    model = effc.compile(EXAMPLES / "adapter_tiny.mlir", opt_level=0)
    assert list(tmp_path.iterdir()) == []
    inputs = sample_inputs("adapter_tiny", "main", ["main"])
    assert_outputs_close(model(**inputs), committed_module("adapter_tiny").evaluate("main", inputs), "adapter_tiny")


# ----------------------------------------------------------------------------------------------------------
# generate


def reference_greedy(module, ids, steps):
    """prefill then decode with argmax, written out over the numpy reference."""
    layers = models.EXAMPLES["gpt_tiny"][0].layers
    out = module.evaluate("prefill", {"input_ids": ids})
    tokens = [ids]
    for step in range(steps):
        token = out["logits"][:, -1].argmax(axis=-1)[:, None].astype(np.int64)
        tokens.append(token)
        if step + 1 < steps:
            cache = {f"past_{k}_{i}": out[f"present_{k}_{i}"] for i in range(layers) for k in ("key", "value")}
            out = module.evaluate("decode", {"input_ids": token, **cache})
    return np.concatenate(tokens, axis=1)


@pytest.mark.parametrize("batch,prompt,steps", [(1, 5, 12), (3, 7, 9)])
def test_generate_greedy_matches_reference_loop(example_model, batch, prompt, steps):
    model = example_model("gpt_tiny")
    ids = np.random.default_rng(100 + batch).integers(0, 1000, (batch, prompt), dtype=np.int64)
    expected = reference_greedy(committed_module("gpt_tiny"), ids, steps)
    np.testing.assert_array_equal(model.generate(ids, max_new_tokens=steps), expected)
    np.testing.assert_array_equal(model.generate(ids[0], max_new_tokens=steps), expected[0])  # 1-D prompt


def test_generate_sampling(example_model):
    model = example_model("gpt_tiny")
    ids = np.random.default_rng(9).integers(0, 1000, (2, 4), dtype=np.int64)
    greedy = model.generate(ids, 6)
    np.testing.assert_array_equal(model.generate(ids, 6, temperature=0.7, top_k=1, seed=1), greedy)
    a = model.generate(ids, 6, temperature=1.5, seed=42)
    np.testing.assert_array_equal(a, model.generate(ids, 6, temperature=1.5, seed=42))
    assert a.shape == (2, 10) and (a[:, :4] == ids).all() and ((0 <= a) & (a < 1000)).all()
    assert not np.array_equal(a, model.generate(ids, 6, temperature=1.5, seed=43))
    # top_k: every sampled token is among the k most likely after its prefix (checked by prefill of it).
    sampled = model.generate(ids, 4, temperature=1.0, top_k=3, seed=7)
    logits = model.run({"input_ids": sampled}, function="prefill")["logits"]
    for pos in range(4, 8):
        top = np.argsort(logits[:, pos - 1], axis=-1)[:, -3:]
        assert all(sampled[b, pos] in top[b] for b in range(2))


def test_generate_stops_at_eos(example_model):
    model = example_model("gpt_tiny")
    ids = np.array([[5, 6, 7]], dtype=np.int64)
    greedy = model.generate(ids, 8)
    eos = int(greedy[0, 5])  # the third generated token
    first = 3 + list(greedy[0, 3:]).index(eos)  # where it is generated first
    out = model.generate(ids, 8, eos_token_id=eos)
    np.testing.assert_array_equal(out, greedy[:, :first + 1])
    # In a batch, a finished sequence is padded with eos until every sequence has finished.
    two = model.generate(np.concatenate([ids, ids[:, ::-1]]), 8, eos_token_id=eos)
    np.testing.assert_array_equal(two[0, :first + 1], greedy[0, :first + 1])
    assert (two[0, first + 1:] == eos).all()


def test_generate_needs_a_decoder(example_model):
    with pytest.raises(effc.Error, match="generate needs 'prefill' and 'decode'"):
        example_model("llama_tiny").generate(np.array([[1, 2]]), 3)
    with pytest.raises(effc.InputError, match=r"input_ids must lie in \[0, 1000\).*from 1 to 1000"):
        example_model("gpt_tiny").generate(np.array([[1, 1000]]), 3)
    with pytest.raises(ValueError, match="temperature"):
        example_model("gpt_tiny").generate(np.array([[1, 2]]), 3, temperature=-1)


# ----------------------------------------------------------------------------------------------------------
# report


def test_report_is_the_drivers_table_as_data(example_model, tmp_path):
    model = example_model("bert_tiny")
    report = model.report()
    driver = subprocess.run([str(BIN_DIR / "effc"), str(EXAMPLES / "bert_tiny.mlir"), "--report", "-o",
                             str(tmp_path / "b.so")], check=True, capture_output=True, text=True)
    assert str(report) == driver.stdout
    assert report.function == "main" and [p.name for p in report.parts] == ["layer 0", "layer 1", "outside layers"]
    # Uncompressed f32: every committed weight counted once, 4 bytes each; the parts add up to the total.
    weights = ir.read_safetensors(EXAMPLES / "bert_tiny.safetensors")
    assert report.total.parameters == sum(w.size for w in weights.values())
    assert report.total.bytes == 4 * report.total.parameters
    for field in ("parameters", "bytes", "flops_per_token"):
        assert getattr(report.total, field) == sum(getattr(p, field) for p in report.parts)
    # A layer's FLOPs per token: 2 x its weight matrices' elements (q, k, v, o: 64x64; FFN: 2 x 64x256).
    assert report.parts[0].flops_per_token == 2 * (4 * 64 * 64 + 2 * 64 * 256)


def test_builder_attention_bias_matches_reference():
    """eff.attention's additive bias through the builder, compiled, against the numpy reference."""
    rng = np.random.default_rng(6)
    m = ir.Module()
    fn = m.function("main", inputs=[("q", (None, 5, 8), "f32"), ("k", (None, 7, 8), "f32"),
                                    ("bias", (1, 2, 5, 7), "f32")])
    q, k, bias = fn.args
    fn.ret([fn.attention(q, k, k, num_heads=2, scale=1.0, bias=bias)], names=["out"])
    assert "bias(%" in m.to_mlir()
    inputs = {"q": rng.standard_normal((2, 5, 8)).astype(np.float32),
              "k": rng.standard_normal((2, 7, 8)).astype(np.float32),
              "bias": 3 * rng.standard_normal((1, 2, 5, 7)).astype(np.float32)}
    expected = m.evaluate("main", inputs)
    assert_outputs_close(effc.compile(m)(**inputs), expected, "attention with bias")
    without = dict(inputs, bias=np.zeros_like(inputs["bias"]))
    assert not np.allclose(m.evaluate("main", without)["out"], expected["out"], atol=1e-3)


def test_report_fusions_is_the_drivers_report(tmp_path):
    """report_fusions= writes what `effc --report-fusions` prints: the same JSON, with bert_tiny's two attentions
    on the fused kernel, the epilogue and add + layer norm fusions fired, and the fusions effc does not implement
    listed as such."""
    path = tmp_path / "fusions.json"
    # Layers compiled separately, so that every layer's kernels are listed under main.
    effc.compile(EXAMPLES / "bert_tiny.mlir", report=False, report_fusions=path, report_fusions_format="json",
                 layer_reuse=False)
    report = json.loads(path.read_text())
    driver_path = tmp_path / "driver.json"
    subprocess.run([str(BIN_DIR / "effc"), str(EXAMPLES / "bert_tiny.mlir"), f"--report-fusions={driver_path}",
                    "--report-fusions-format=json", "--no-layer-reuse", "--emit=mlir", "-o", str(tmp_path / "b.mlir")],
                   check=True)
    assert report == json.loads(driver_path.read_text())
    (main,) = report["functions"]
    assert main["name"] == "main" and report["complete"]
    attention = [k for k in main["kernels"] if k["name"] == "effc_uk_attention_f32"]
    assert len(attention) == 2
    assert all(k["kind"] == "micro-kernel" and k["from"][0].startswith("eff.attention @ bert_tiny.mlir:")
               for k in attention)
    statuses = {(f["fusion"], f["status"]) for f in main["fusions"]}
    assert {("attention", "fired"), ("gemm-bias", "fired"), ("weight-packing", "fired"),
            ("qkv-projection", "fired"), ("residual-norm", "fired"), ("gemm-activation", "fired")} <= statuses
    kinds = main["totals"]["kernels"]
    # Two attentions, five residual adds with their layer norms (the embeddings' and two per layer) and the
    # eight f32 linear layers (per layer: packed q/k/v, output, FFN up and down).
    assert kinds["micro-kernel"] == 15 and sum(kinds.values()) == len(main["kernels"])


def test_report_fusions_format_is_checked(tmp_path):
    with pytest.raises(effc.CompileError, match="unknown fusion report format 'xml' \\(expected text or json\\)"):
        effc.compile(EXAMPLES / "bert_tiny.mlir", report=False, report_fusions=tmp_path / "f.txt",
                     report_fusions_format="xml")


def test_weight_panels_option(tmp_path):
    """weight_panels=False (`effc --no-weight-panels`) keeps the FFN-up weight of bert_tiny's generated GEMMs
    (f32_linear_kernel=False) as [K, N] rows: its GEMM has loops (b, s, n, k) instead of (b, s, nb, ni, k) over
    8 panels of 32; both compute the same outputs."""
    shapes = {}
    for panels in (True, False):
        path = tmp_path / f"fusions_{panels}.json"
        effc.compile(EXAMPLES / "bert_tiny.mlir", report=False, report_fusions=path, report_fusions_format="json",
                     layer_reuse=False, weight_panels=panels, f32_linear_kernel=False)
        (main,) = json.loads(path.read_text())["functions"]
        shapes[panels] = {k["shape"] for k in main["kernels"] if k["kind"] == "contraction"}
    assert "loops ?x?x8x32x64" in shapes[True] and "loops ?x?x256x64" not in shapes[True]
    assert "loops ?x?x256x64" in shapes[False] and "loops ?x?x8x32x64" not in shapes[False]
    inputs = sample_inputs("bert_tiny", "main", ["main"])
    assert_outputs_close(effc.compile(EXAMPLES / "bert_tiny.mlir", weight_panels=False, f32_linear_kernel=False)(**inputs),
                         effc.compile(EXAMPLES / "bert_tiny.mlir")(**inputs), "bert_tiny without weight panels")


def test_f32_linear_kernel_option(tmp_path):
    """By default bert_tiny's f32 linear layers are calls of effc_uk_linear_f32 (no contraction is left);
    f32_linear_kernel=False (`effc --no-f32-linear-kernel`) compiles them to generated contractions. Both compute
    the same outputs (assert_outputs_close's tolerance)."""
    kernels = {}
    for use_kernel in (True, False):
        path = tmp_path / f"fusions_{use_kernel}.json"
        effc.compile(EXAMPLES / "bert_tiny.mlir", report=False, report_fusions=path, report_fusions_format="json",
                     layer_reuse=False, f32_linear_kernel=use_kernel)
        (main,) = json.loads(path.read_text())["functions"]
        kernels[use_kernel] = [k["kind"] if k["kind"] != "micro-kernel" else k["name"] for k in main["kernels"]]
    assert kernels[True].count("effc_uk_linear_f32") == 8 and "contraction" not in kernels[True]
    assert "effc_uk_linear_f32" not in kernels[False] and kernels[False].count("contraction") == 8
    inputs = sample_inputs("bert_tiny", "main", ["main"])
    generated = effc.compile(EXAMPLES / "bert_tiny.mlir", f32_linear_kernel=False)(**inputs)
    assert_outputs_close(effc.compile(EXAMPLES / "bert_tiny.mlir")(**inputs), generated, "bert_tiny on the kernel")
