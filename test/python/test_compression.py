"""Every compression flag of the effc driver is reachable from Python: `effc.compile(..., flag=value)`.

The flags come from the compiler itself (`effc._effc.compression_flags()`, the table the driver builds its
options from), so a flag added there without a case here fails test_every_flag_has_a_case.

- Mapping (no pass needed): keyword options become the driver's flags and pass specs, in keyword order;
  `calibration` becomes the driver's --calibration.
- Compiling: each flag on an example it applies to, checked to run its pass (the compile log under
  verbose=True names it) and to give a model that runs on the example's inputs with finite outputs of the
  uncompressed shapes. merge_adapters folds adapters exactly, so its outputs must match the unmerged numpy
  reference (rtol = atol = 1e-3, f32 after re-associating the folded products). A case is skipped, with
  the reason, only while its pass is not registered (the passes are written separately from the package).
"""

import numpy as np
import pytest

import effc
from package_testing import EXAMPLES, committed_module, sample_inputs
from effc import _effc
from effc.model import _compile_options

FLAGS = {flag["flag"].replace("-", "_"): flag for flag in _effc.compression_flags()}

# keyword -> (example it applies to, value)
CASES = {
    "drop_layers": ("bert_tiny", "top:1"),
    "prune_heads": ("bert_tiny", 0.25),
    "prune_ffn": ("bert_tiny", 0.5),
    "prune_experts": ("moe_switch_tiny", 1),
    "sparsity": ("bert_tiny", "2:4"),
    "quantize": ("bert_tiny", "int8"),
    "merge_adapters": ("adapter_tiny", True),
    "keep_adapters": ("adapter_tiny", True),
}


def spec(keyword, value):
    flag = FLAGS[keyword]
    return flag["pass"] + (f"{{{flag['option']}={value}}}" if flag["option"] else "")


@pytest.mark.parametrize("keyword", FLAGS)
def test_every_flag_has_a_case(keyword):
    assert keyword in CASES, f"compression flag --{FLAGS[keyword]['flag']} has no test case here"
    assert keyword in effc.compression_options()


@pytest.mark.parametrize("keyword", FLAGS)
def test_keyword_maps_to_the_pass(keyword):
    value = CASES[keyword][1]
    options = _compile_options("cpu", {keyword: value, "calibration": "/data/calib.npz"})
    assert options.compression_passes() == [spec(keyword, value)]
    assert options.calibration == "/data/calib.npz" and options.compression == [(FLAGS[keyword]["flag"],
                                                                                 "" if value is True else str(value))]


def test_keyword_order_is_pass_order():
    options = _compile_options("cpu", dict(prune_heads=0.25, quantize="int8", merge_adapters=True,
                                           keep_adapters=False, drop_layers="top:4"))
    assert options.compression_passes() == ["eff-prune-heads{fraction=0.25}", "eff-quantize{scheme=int8}",
                                            "eff-merge-adapters", "eff-drop-layers{layers=top:4}"]


_uncompressed = {}


@pytest.mark.parametrize("keyword", FLAGS)
def test_compile_with_flag(example_model, keyword):
    name, value = CASES[keyword]
    flag = FLAGS[keyword]
    if not _effc.is_pass_registered(flag["pass"]):
        pytest.skip(f"pass {flag['pass']} (--{flag['flag']}) is not registered in this build")
    model = effc.compile(EXAMPLES / f"{name}.mlir", verbose=True, **{keyword: value})
    assert spec(keyword, value) in model.compile_log
    baseline = example_model(name)
    inputs = sample_inputs(name, "main", ["main"])
    if set(model.signature["main"].input_names) != set(inputs):
        # keep_adapters turns adapter weights into inputs; what is left must still be the model's inputs.
        assert keyword == "keep_adapters", f"{keyword} changed the inputs: {model.signature}"
        assert set(inputs) <= set(model.signature["main"].input_names)
        return
    out = model(**inputs)
    expected = baseline(**inputs)
    for key, value in expected.items():
        assert out[key].shape == value.shape and out[key].dtype == value.dtype
        assert np.isfinite(out[key]).all()
    if keyword == "merge_adapters":
        reference = committed_module(name).evaluate("main", inputs)
        for key, value in reference.items():
            np.testing.assert_allclose(out[key], value, rtol=1e-3, atol=1e-3, err_msg=f"merged {key}")


def test_bad_compression_value_is_a_compile_error():
    with pytest.raises(effc.CompileError, match="quantize|eff-quantize"):
        effc.compile(EXAMPLES / "bert_tiny.mlir", quantize="int3-nonsense")


def test_report_measures_output_error_with_calibration(example_model, tmp_path):
    """report() of a compressed model compiled with calibration data: the output error against the
    uncompressed model, recomputed here from both models' outputs (rel 1e-3)."""
    if not _effc.is_pass_registered("eff-drop-layers"):
        pytest.skip("pass eff-drop-layers (--drop-layers) is not registered in this build")
    inputs = {"input_ids": np.random.default_rng(3).integers(0, 1000, (2, 9), dtype=np.int64),
              "attention_mask": np.ones((2, 9), np.int64), "token_type_ids": np.zeros((2, 9), np.int64)}
    np.savez(tmp_path / "calibration.npz", **inputs)
    model = effc.compile(EXAMPLES / "bert_tiny.mlir", drop_layers="top:1", calibration=tmp_path / "calibration.npz")
    report = model.report()
    assert [p.name for p in report.parts] == ["layer 0", "outside layers"]
    error = report.output_error
    assert (error.function, error.output) == ("main", "last_hidden_state")
    reference = example_model("bert_tiny")(**inputs)["last_hidden_state"].astype(np.float64)
    dropped = model(**inputs)["last_hidden_state"].astype(np.float64)
    diff = np.abs(reference - dropped)
    assert error.max_abs == pytest.approx(diff.max(), rel=1e-3)
    assert error.mean_abs == pytest.approx(diff.mean(), rel=1e-3)
    assert error.cosine == pytest.approx(reference.ravel() @ dropped.ravel() / np.linalg.norm(reference)
                                         / np.linalg.norm(dropped), abs=1e-5)
    assert "output error on the calibration data" in str(report)
    assert effc.compile(EXAMPLES / "bert_tiny.mlir", drop_layers="top:1").report().output_error is None


def test_compile_without_report():
    model = effc.compile(EXAMPLES / "adapter_tiny.mlir", opt_level=0, report=False)
    with pytest.raises(effc.Error, match="report=False"):
        model.report()
