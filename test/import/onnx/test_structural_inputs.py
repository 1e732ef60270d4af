"""ONNX inputs that shape a result, given as graph inputs, against numpy.

Slice's starts/ends/axes/steps and Split's sizes may be run-time values (the result's rank is fixed): one
compiled model is run on many of them, negative and out-of-range bounds and negative steps included, and must
match numpy's slicing (which clamps as ONNX does). TopK's k and Unsqueeze/ReduceSum axes fix the result's shape:
they are bound at compile time (`effc --bind-input`, `effc.compile(bind_inputs=...)`) and leave the signature.
Exact comparisons (the values are copied or summed in the same order as numpy for these small sizes: atol 1e-6).
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


def single(op, inputs, outputs, **attrs):
    node = helper.make_node(op, [n for n, _, _ in inputs], [n for n, _, _ in outputs], **attrs)
    graph = helper.make_graph([node], op, [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def compile_model(model, tmp_path, name, *flags):
    onnx.save(model, str(tmp_path / f"{name}.onnx"))
    _run([EFFC, tmp_path / f"{name}.onnx", "-o", tmp_path / f"{name}.so", *flags])
    return tmp_path / f"{name}.so"


def test_slice_run_time_bounds(tmp_path):
    """Every bound a graph input: two sliced axes of a [5, 6, 4] tensor, in either order, random starts, ends
    (beyond the extent, negative, INT64_MAX/MIN as torch exports them) and steps of both signs."""
    i64 = TensorProto.INT64
    model = single("Slice", [("x", TensorProto.FLOAT, [5, 6, 4]), ("starts", i64, [2]), ("ends", i64, [2]),
                             ("axes", i64, [2]), ("steps", i64, [2])], [("y", TensorProto.FLOAT, None)])
    module = compile_model(model, tmp_path, "slice")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6, 4)).astype(np.float32)
    big = np.iinfo(np.int64)
    for trial in range(12):
        axes = rng.choice([0, 1, 2, -1, -2, -3], 2, replace=False)
        if len({a % 3 for a in axes}) < 2:
            continue
        starts = rng.integers(-8, 8, 2)
        ends = rng.integers(-8, 8, 2)
        steps = rng.choice([-3, -2, -1, 1, 2, 3], 2)
        if trial == 0:
            starts, ends, steps = np.array([0, -1]), np.array([big.max, big.min]), np.array([1, -1])
        index = [slice(None)] * 3
        for a, s, e, st in zip(axes, starts, ends, steps):
            index[a % 3] = slice(int(s), int(e), int(st))
        inputs = {"x": x, "starts": starts.astype(np.int64), "ends": ends.astype(np.int64),
                  "axes": axes.astype(np.int64), "steps": steps.astype(np.int64)}
        y = run_module(module, inputs, tmp_path)["y"]
        np.testing.assert_array_equal(y, x[tuple(index)], err_msg=str(inputs))


def test_split_run_time_sizes(tmp_path):
    i64 = TensorProto.INT64
    model = single("Split", [("x", TensorProto.FLOAT, [3, 7]), ("sizes", i64, [3])],
                   [("a", TensorProto.FLOAT, None), ("b", TensorProto.FLOAT, None), ("c", TensorProto.FLOAT, None)],
                   axis=1)
    module = compile_model(model, tmp_path, "split")
    x = np.arange(21, dtype=np.float32).reshape(3, 7)
    for sizes in ([2, 2, 3], [0, 7, 0], [7, 0, 0], [1, 5, 1]):
        out = run_module(module, {"x": x, "sizes": np.array(sizes, np.int64)}, tmp_path)
        expected = np.split(x, np.cumsum(sizes)[:-1], axis=1)
        for got, want in zip(out.values(), expected):
            np.testing.assert_array_equal(got, want)


def test_bound_k_and_axes(tmp_path):
    """TopK's k and Unsqueeze's and ReduceSum's axes bound from .npy files: gone from the signature, the
    results numpy's."""
    i64 = TensorProto.INT64
    nodes = [helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=1),
             helper.make_node("Unsqueeze", ["values", "where"], ["expanded"]),
             helper.make_node("ReduceSum", ["expanded", "sum_axes"], ["total"], keepdims=0)]
    graph = helper.make_graph(
        nodes, "bound", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 6]),
                         helper.make_tensor_value_info("k", i64, [1]), helper.make_tensor_value_info("where", i64, [1]),
                         helper.make_tensor_value_info("sum_axes", i64, [1])],
        [helper.make_tensor_value_info("indices", i64, None), helper.make_tensor_value_info("total", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "bound.onnx"))
    for name, value in (("k", [2]), ("where", [0]), ("sum_axes", [-1])):
        np.save(tmp_path / f"{name}.npy", np.array(value, np.int64))
    unbound = subprocess.run([str(EFFC), str(tmp_path / "bound.onnx"), "-o", str(tmp_path / "x.so")],
                             capture_output=True, text=True)
    assert unbound.returncode != 0 and "(TopK): input 1 ('k') is a graph input" in unbound.stderr, unbound.stderr
    flags = [f"--bind-input={n}={tmp_path / n}.npy" for n in ("k", "where", "sum_axes")]
    module = compile_model(onnx.load(str(tmp_path / "bound.onnx")), tmp_path, "bound", *flags)
    assert "main(x: f32 [3, 6]) -> (indices: i64 [3, 2], total: f32 [1, 3])" in \
        _run([EFFC_RUN, module, "--list"]).stdout
    x = np.random.default_rng(2).standard_normal((3, 6)).astype(np.float32)
    out = run_module(module, {"x": x}, tmp_path)
    order = np.argsort(-x, axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(out["indices"], order)
    np.testing.assert_allclose(out["total"], np.take_along_axis(x, order, 1).sum(-1)[None], atol=1e-6, rtol=0)


def test_bind_inputs_python(tmp_path):
    """The same binding through the Python package: arrays or .npy paths; a bad one is a CompileError."""
    build = Path(os.environ.get("EFFC_BUILD_DIR", Path(__file__).resolve().parents[3] / "build"))
    sys.path.insert(0, str(build / "python_packages"))
    effc = pytest.importorskip("effc")
    if getattr(effc, "_effc", None) is None:
        pytest.skip("effc's extension is not built")
    i64 = TensorProto.INT64
    onnx.save(single("TopK", [("x", TensorProto.FLOAT, [2, 5]), ("k", i64, [1])],
                     [("values", TensorProto.FLOAT, None), ("indices", i64, None)], largest=0),
              str(tmp_path / "topk.onnx"))
    x = np.random.default_rng(3).standard_normal((2, 5)).astype(np.float32)
    np.save(tmp_path / "k.npy", np.array([4], np.int64))
    for bound, k in (({"k": np.array([3], np.int64)}, 3), ({"k": tmp_path / "k.npy"}, 4)):
        model = effc.compile(tmp_path / "topk.onnx", bind_inputs=bound)
        assert [spec.name for spec in model.signature.inputs] == ["x"]
        out = model(x=x)
        np.testing.assert_array_equal(out["values"], np.sort(x, axis=1)[:, :k])
    with pytest.raises(effc.CompileError, match=r"--bind-input k=.*: the file holds INT32, graph input 'k' is INT64"):
        effc.compile(tmp_path / "topk.onnx", bind_inputs={"k": np.array([3], np.int32)})
    with pytest.raises(effc.CompileError, match=r"input 1 \('k'\) is a graph input"):
        effc.compile(tmp_path / "topk.onnx")
    with pytest.raises(TypeError, match="bind_inputs takes"):
        effc.compile(tmp_path / "topk.onnx", bind_inputs=[("k", "k.npy")])
