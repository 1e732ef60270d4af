"""A sample of the ONNX operator conformance node tests (Debian's libonnx-testdata) through effc.

conformance.py runs every case of every op the importer claims (docs/onnx.md has the table); this runs a few
cases per family in CI: compile the case's model.onnx with effc, run each data set with effc-run, compare with
the expected outputs (rtol 1e-3, atol 1e-7; exact for integers).
"""

import pytest

onnx = pytest.importorskip("onnx")

import conformance  # noqa: E402

CASES = [
    "test_add_bcast", "test_matmul_4d", "test_gemm_all_attributes", "test_softmax_axis_1",
    "test_layer_normalization_4d_axis1", "test_reduce_mean_keepdims_random", "test_transpose_all_permutations_3", "test_reshape_negative_dim",
    "test_gather_1", "test_concat_3d_axis_negative_2", "test_gather_negative_indices", "test_where_example",
    "test_cast_FLOAT_to_DOUBLE", "test_expand_dim_changed", "test_pow_bcast_array", "test_erf", "test_triu_neg",
    "test_split_equal_parts_2d", "test_gather_elements_negative_indices",
]
pytestmark = pytest.mark.skipif(not (conformance.DATA.exists() and (conformance.BIN_DIR / "effc").exists()),
                                reason="libonnx-testdata or effc missing")


@pytest.mark.parametrize("name", CASES)
def test_case(name):
    case = conformance.DATA / name
    if not case.exists():
        pytest.skip(f"{name} is not in this libonnx-testdata")
    error = conformance.run_case(case, onnx.load(str(case / "model.onnx")))
    assert error is None, error


@pytest.mark.parametrize("name", ["test_top_k", "test_top_k_negative_axis", "test_top_k_smallest"])
def test_top_k_with_constant_k(name, tmp_path):
    """TopK's cases give k as a graph input, which effc needs constant (it fixes the result's shape): the same
    cases with k made an initializer (the value of the data set's input), values and indices compared."""
    import shutil

    from onnx import numpy_helper

    case = conformance.DATA / name
    if not case.exists():
        pytest.skip(f"{name} is not in this libonnx-testdata")
    model = onnx.load(str(case / "model.onnx"))
    k_name = model.graph.node[-1].input[1]
    for data_set in sorted(case.glob("test_data_set_*")):
        k = conformance.load_tensor(data_set / "input_1.pb")
        folded = onnx.ModelProto()
        folded.CopyFrom(model)
        inputs = [i for i in folded.graph.input if i.name != k_name]
        del folded.graph.input[:]
        folded.graph.input.extend(inputs)
        folded.graph.initializer.append(numpy_helper.from_array(k, k_name))
        target = tmp_path / data_set.name
        (target / data_set.name).mkdir(parents=True)
        onnx.save(folded, str(target / "model.onnx"))
        shutil.copy(data_set / "input_0.pb", target / data_set.name / "input_0.pb")
        for output in data_set.glob("output_*.pb"):
            shutil.copy(output, target / data_set.name / output.name)
        error = conformance.run_case(target, folded)
        assert error is None, error
