"""Errors through the Python package: each one an effc.Error subclass (or the Python exception a caller
expects, e.g. TypeError for an unknown keyword) with a message that names what is wrong.

- InputError (also a ValueError): missing/unknown inputs, wrong dtype, rank, static extent, extents that
  must be equal across inputs (the runtime's check), values that do not convert, ambiguous function.
- CompileError: the compiler's diagnostics with file:line:col locations (parser and verifier errors, bad
  option values); `diagnostics` holds the same text.
- RuntimeError (also a builtins.RuntimeError): the runtime's status, with `code`.
"""

import builtins

import numpy as np
import pytest

import effc
from package_testing import EXAMPLES, sample_inputs


@pytest.fixture(scope="module")
def bert(example_model):
    return example_model("bert_tiny")


@pytest.fixture(scope="module")
def gpt(example_model):
    return example_model("gpt_tiny")


def bert_inputs():
    return sample_inputs("bert_tiny", "main", ["main"])


def test_error_classes():
    assert issubclass(effc.CompileError, effc.Error) and issubclass(effc.InputError, ValueError)
    assert issubclass(effc.RuntimeError, effc.Error) and issubclass(effc.RuntimeError, builtins.RuntimeError)


def test_missing_and_unknown_inputs(bert):
    inputs = bert_inputs()
    del inputs["token_type_ids"]
    with pytest.raises(effc.InputError, match=r"main: missing input 'token_type_ids' \(the function takes "
                                              r"input_ids, attention_mask, token_type_ids\)"):
        bert(**inputs)
    with pytest.raises(effc.InputError, match="unknown input 'position_ids'"):
        bert(**bert_inputs(), position_ids=np.zeros((2, 12), np.int64))


def test_wrong_dtype(bert):
    inputs = bert_inputs()
    inputs["input_ids"] = inputs["input_ids"].astype(np.int32)
    with pytest.raises(effc.InputError, match=r"input 'input_ids' has dtype int32, expected int64 "
                                              r"\(input_ids: i64\[\?, \?\]\)"):
        bert(**inputs)
    with pytest.raises(effc.InputError, match="input 'input_ids' cannot be converted to int64"):
        bert(**dict(bert_inputs(), input_ids="hello"))


def test_wrong_shape(bert, gpt):
    with pytest.raises(effc.InputError, match=r"input 'attention_mask' has shape \[2, 12, 1\], expected "
                                              r"attention_mask: i64\[\?, \?\]"):
        bert(**dict(bert_inputs(), attention_mask=np.ones((2, 12, 1), np.int64)))
    decode = sample_inputs("gpt_tiny", "decode", gpt.functions)
    decode["past_value_1"] = np.zeros((2, 11, 127), np.float32)
    with pytest.raises(effc.InputError, match=r"past_value_1' has shape \[2, 11, 127\], expected "
                                              r"past_value_1: f32\[\?, \?, 128\]"):
        gpt.run(decode, function="decode")


def test_extents_that_must_agree(bert):
    """The runtime's dimension groups: attention_mask's length must be input_ids' length."""
    inputs = dict(bert_inputs(), attention_mask=np.ones((2, 10), np.int64))
    with pytest.raises(effc.InputError, match="attention_mask.*dimension 1 is 10.*input_ids.*12") as info:
        bert(**inputs)
    assert info.value.code == "INVALID_ARGUMENT"


def test_function_choice(gpt):
    with pytest.raises(effc.InputError, match="no function 'generate'"):
        gpt.run({"input_ids": np.zeros((1, 3), np.int64)}, function="generate")
    with pytest.raises(effc.InputError, match="the model has functions prefill, decode: pass function=NAME"):
        gpt(attention_mask=np.zeros((1, 3), np.int64))
    # The inputs given pick the function when they match exactly one.
    assert "present_key_0" in gpt(input_ids=np.zeros((1, 3), np.int64))


def test_bad_ir_text_has_locations():
    with pytest.raises(effc.CompileError) as info:
        effc.compile("module {\n  func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n    %y = eff.nonsense %x\n"
                     "  }\n}\n")
    assert str(info.value).startswith("<source>:3:10: error: custom op 'eff.nonsense' is unknown")
    assert info.value.diagnostics == str(info.value)


def test_verifier_error_has_locations(tmp_path):
    source = tmp_path / "bad.mlir"
    source.write_text("""module {
  func.func @main(%x: tensor<?x8xf32> {eff.name = "x"}, %w: tensor<4x6xf32> {eff.name = "w"})
      -> (tensor<?x4xf32> {eff.name = "y"}) {
    %y = eff.linear %x, %w : (tensor<?x8xf32>, tensor<4x6xf32>) -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}
""")
    with pytest.raises(effc.CompileError, match=rf"{source}:4:10: error: 'eff.linear' op"):
        effc.compile(source)


def test_bad_options():
    path = EXAMPLES / "bert_tiny.mlir"
    with pytest.raises(TypeError, match="unknown option 'quantise'.*quantize"):
        effc.compile(path, quantise="int8")
    with pytest.raises(TypeError, match="option opt_level takes a int"):
        effc.compile(path, opt_level="3")
    with pytest.raises(TypeError, match="merge_adapters is a switch"):
        effc.compile(path, merge_adapters="yes")
    with pytest.raises(TypeError, match="external_weights writes the weights to a file"):
        effc.compile(path, external_weights=True)
    with pytest.raises(effc.CompileError, match="optimisation level must be 0 to 3, not 7"):
        effc.compile(path, opt_level=7)
    with pytest.raises(effc.CompileError, match="unknown target 'gpu'"):
        effc.compile(path, target="gpu")
    with pytest.raises(effc.CompileError, match="unknown CPU 'no-such-cpu'"):
        effc.compile(path, cpu="no-such-cpu")
    with pytest.raises(effc.CompileError, match="--quantize needs a value"):
        effc.compile(path, quantize="")


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder: missing.mlir"):
        effc.compile("missing.mlir")
    with pytest.raises(FileNotFoundError, match="no such file or folder: module.mlir"):  # a path, though it starts like IR
        effc.compile("module.mlir")
    with pytest.raises(TypeError, match="cannot compile a int"):
        effc.compile(42)
    with pytest.raises(effc.CompileError, match="a Hugging Face model folder needs config.json"):
        effc.compile(tmp_path)  # a folder is imported as a Hugging Face model (test_import.py)
    with pytest.raises(effc.CompileError, match=r"bert_tiny.mlir:4:1: error: .*none.safetensors: cannot open "
                                                r"weights file"):
        effc.compile(EXAMPLES / "bert_tiny.mlir", weights=tmp_path / "none.safetensors")


def test_load_errors(tmp_path):
    with pytest.raises(effc.RuntimeError, match="cannot open module") as info:
        effc.load(tmp_path / "missing.so")
    assert info.value.code == "NOT_FOUND"
    (tmp_path / "junk.so").write_bytes(b"not a shared object")
    with pytest.raises(effc.RuntimeError, match="cannot load .* as a shared object") as info:
        effc.load(tmp_path / "junk.so")
    assert info.value.code == "INVALID_ARGUMENT"


def test_report_of_a_loaded_model(tmp_path, gpt):
    with pytest.raises(effc.Error, match="loaded from a file"):
        effc.load(gpt.save(tmp_path / "g.so")).report()
