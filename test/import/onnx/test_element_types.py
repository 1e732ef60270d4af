"""Element types at the entry points of imported ONNX models, against numpy.

uint8/uint16/uint32/uint64 and int16 tensors are signless integers in the compiled code; the entry point's dtype
tag (eff.unsigned on the argument or result) says how the caller's bytes read, and the ops whose results depend
on the signedness (Div, Max/Min, Less/Greater, Cast) use arith's unsigned forms. Each model runs through effc-run
(.npy files) and the Python package (numpy arrays), exactly (integers) or bit-exactly (f64 -> f16: rounded once,
as numpy does, not through f32). bf16 inputs travel as uint16 bits. Strings and sequences are refused with an
error naming the input.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from effc_testing import EFFC, EFFC_RUN, _run, run_module  # noqa: E402

pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()), reason="effc/effc-run not built")


def make_model(nodes, inputs, outputs, opset=17):
    graph = helper.make_graph(nodes, "types", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def unsigned_model():
    """uint8 a, b and int16 c: unsigned Div/Max/Min/Less, casts between uint8, int16, uint16 and float."""
    u8, i16 = TensorProto.UINT8, TensorProto.INT16
    nodes = [
        helper.make_node("Div", ["a", "b"], ["quotient"]),
        helper.make_node("Max", ["a", "b"], ["largest"]),
        helper.make_node("Min", ["a", "b"], ["smallest"]),
        helper.make_node("Less", ["a", "b"], ["less"]),
        helper.make_node("Cast", ["a"], ["a16"], to=i16),
        helper.make_node("Add", ["a16", "c"], ["sum16"]),
        helper.make_node("Cast", ["c"], ["c_u16"], to=TensorProto.UINT16),
        helper.make_node("Cast", ["a"], ["a_float"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["f"], ["f_u8"], to=u8),
    ]
    return make_model(
        nodes, [("a", u8, [6]), ("b", u8, [6]), ("c", i16, [6]), ("f", TensorProto.FLOAT, [6])],
        [("quotient", u8, [6]), ("largest", u8, [6]), ("smallest", u8, [6]), ("less", TensorProto.BOOL, [6]),
         ("sum16", i16, [6]), ("c_u16", TensorProto.UINT16, [6]), ("a_float", TensorProto.FLOAT, [6]),
         ("f_u8", u8, [6])])


UNSIGNED_INPUTS = {
    "a": np.array([200, 255, 7, 128, 0, 129], np.uint8),
    "b": np.array([3, 130, 2, 127, 1, 255], np.uint8),
    "c": np.array([-300, 32767, -1, 1000, -32768, 5], np.int16),
    "f": np.array([0.0, 1.9, 127.0, 128.5, 200.0, 255.0], np.float32),
}


def unsigned_reference(a, b, c, f):
    return {
        "quotient": a // b, "largest": np.maximum(a, b), "smallest": np.minimum(a, b), "less": a < b,
        "sum16": (a.astype(np.int16) + c).astype(np.int16), "c_u16": c.astype(np.uint16),
        "a_float": a.astype(np.float32), "f_u8": f.astype(np.uint8),
    }


def check_exact(outputs, expected):
    assert list(outputs) == list(expected)
    for name, want in expected.items():
        got = outputs[name]
        assert got.dtype == want.dtype, f"{name}: dtype {got.dtype}, expected {want.dtype}"
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_unsigned_and_int16_effc_run(tmp_path):
    onnx.save(unsigned_model(), str(tmp_path / "types.onnx"))
    _run([EFFC, tmp_path / "types.onnx", "-o", tmp_path / "types.so"])
    listing = _run([EFFC_RUN, tmp_path / "types.so", "--list"]).stdout
    for line in ("a: u8 [6]", "c: i16 [6]", "c_u16: u16 [6]", "sum16: i16 [6]", "less: bool [6]"):
        assert line in listing, listing
    check_exact(run_module(tmp_path / "types.so", UNSIGNED_INPUTS, tmp_path), unsigned_reference(**UNSIGNED_INPUTS))


def import_effc():
    """The Python package of the build tree (as test/python/package_testing.py finds it)."""
    build = Path(os.environ.get("EFFC_BUILD_DIR", Path(__file__).resolve().parents[3] / "build"))
    if str(build / "python_packages") not in sys.path:
        sys.path.insert(0, str(build / "python_packages"))
    effc = pytest.importorskip("effc")
    if getattr(effc, "_effc", None) is None:
        pytest.skip("effc's extension is not built")
    return effc


def test_unsigned_and_int16_python(tmp_path):
    effc = import_effc()
    onnx.save(unsigned_model(), str(tmp_path / "types.onnx"))
    model = effc.compile(tmp_path / "types.onnx")
    assert [(spec.name, spec.dtype) for spec in model.signature.inputs] == [
        ("a", np.dtype(np.uint8)), ("b", np.dtype(np.uint8)), ("c", np.dtype(np.int16)), ("f", np.dtype(np.float32))]
    check_exact(model(**UNSIGNED_INPUTS), unsigned_reference(**UNSIGNED_INPUTS))
    # A signed array where the model takes uint8 is refused, not reinterpreted.
    with pytest.raises(effc.InputError, match="'a'"):
        model(**{**UNSIGNED_INPUTS, "a": UNSIGNED_INPUTS["a"].astype(np.int8)})


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64])
def test_wide_unsigned_max_div(tmp_path, dtype):
    """Values past the signed range of the width: unsigned Max and Div (a signed compare or divide would flip)."""
    onnx_type = onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]
    model = make_model([helper.make_node("Max", ["a", "b"], ["largest"]), helper.make_node("Div", ["a", "b"], ["q"])],
                       [("a", onnx_type, [4]), ("b", onnx_type, [4])], [("largest", onnx_type, [4]), ("q", onnx_type, [4])])
    onnx.save(model, str(tmp_path / "wide.onnx"))
    _run([EFFC, tmp_path / "wide.onnx", "-o", tmp_path / "wide.so"])
    top = np.iinfo(dtype).max
    a = np.array([top, top // 2 + 1, 5, 1], dtype)
    b = np.array([1, 3, top, top - 1], dtype)
    check_exact(run_module(tmp_path / "wide.so", {"a": a, "b": b}, tmp_path), {"largest": np.maximum(a, b), "q": a // b})


def test_double_to_half_rounds_once(tmp_path):
    """f64 -> f16 rounded once (to nearest even), bit for bit as numpy: 1 + 2^-11 + 2^-40 is just above the tie
    between 1 and 1 + 2^-10 and rounds up, where f64 -> f32 -> f16 would land on the tie and round to 1."""
    model = make_model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)],
                       [("x", TensorProto.DOUBLE, [None])], [("y", TensorProto.FLOAT16, [None])])
    onnx.save(model, str(tmp_path / "half.onnx"))
    _run([EFFC, tmp_path / "half.onnx", "-o", tmp_path / "half.so"])
    rng = np.random.default_rng(0)
    special = [1 + 2**-11 + 2**-40, -(1 + 2**-11 + 2**-40), 1 + 2**-11, 1 + 3 * 2**-11, 2**-25, 2**-24 + 2**-60,
               3 * 2**-26, 65504.0, 65519.99, 65520.0, 1e300, -1e300, 0.0, -0.0, np.inf, -np.inf, np.nan, 1e-320]
    # Doubles whose f32 rounding lands on an f16 tie: the f16 bits, then 2^-11 relative past them, then a nudge.
    halves = rng.uniform(-60000, 60000, 2000).astype(np.float16).astype(np.float64)
    ties = halves + np.spacing(halves.astype(np.float16)).astype(np.float64) / 2
    nudged = ties + np.sign(rng.standard_normal(2000)) * np.abs(ties) * 2.0**-35
    x = np.concatenate([special, rng.standard_normal(1000) * 100, ties, nudged]).astype(np.float64)
    y = run_module(tmp_path / "half.so", {"x": x}, tmp_path)["y"]
    with np.errstate(over="ignore"):
        expected = x.astype(np.float16)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.view(np.uint16), expected.view(np.uint16))


def test_bf16_input_as_uint16_bits(tmp_path):
    """A bf16 input given as uint16 bits (how numpy and ONNX's test data hold bf16) to effc-run."""
    model = make_model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
                       [("x", TensorProto.BFLOAT16, [5])], [("y", TensorProto.FLOAT, [5])])
    onnx.save(model, str(tmp_path / "bf16.onnx"))
    _run([EFFC, tmp_path / "bf16.onnx", "-o", tmp_path / "bf16.so"])
    values = np.array([1.0, -2.5, 0.15625, 3.0e38, -1.0e-38], np.float32)
    bits = (values.view(np.uint32) >> 16).astype(np.uint16)
    y = run_module(tmp_path / "bf16.so", {"x": bits}, tmp_path)["y"]
    np.testing.assert_array_equal(y, (bits.astype(np.uint32) << 16).view(np.float32))


@pytest.mark.parametrize("kind", ["string", "sequence"])
def test_unsupported_types_are_errors(tmp_path, kind):
    if kind == "string":
        model = make_model([helper.make_node("Identity", ["s"], ["y"])], [("s", TensorProto.STRING, [2])],
                           [("y", TensorProto.STRING, [2])])
        message = "graph input 's' has element type STRING, which effc does not support"
    else:
        graph = helper.make_graph([helper.make_node("Identity", ["s"], ["y"])], "seq",
                                  [helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, [2])],
                                  [helper.make_tensor_sequence_value_info("y", TensorProto.FLOAT, [2])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        message = "graph input 's' is a sequence; effc compiles tensors only"
    onnx.save(model, str(tmp_path / "bad.onnx"))
    result = subprocess.run([str(EFFC), str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "bad.so")],
                            capture_output=True, text=True)
    assert result.returncode != 0 and message in result.stderr, result.stderr
