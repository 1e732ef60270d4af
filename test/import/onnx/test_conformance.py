"""A sample of the ONNX operator conformance node tests (Debian's libonnx-testdata) through effc.

conformance.py runs every case of every op the importer claims (docs/onnx.md has the table); this runs a few
cases per family in CI: compile the case's model.onnx with effc, run each data set with effc-run, compare with
the expected outputs (rtol 1e-3, atol 1e-7; exact for integers). Cases whose structural inputs (k, axes) are
graph inputs run with them bound at compile time, as conformance.py runs them.
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
    # Element types at the entry points, run-time Slice bounds and Split sizes.
    "test_div_uint8", "test_max_uint64", "test_min_int16", "test_cast_DOUBLE_to_FLOAT16", "test_cast_BFLOAT16_to_FLOAT",
    "test_slice_neg_steps", "test_slice_negative_axes", "test_split_variable_parts_2d",
    # Opset 1 (Not is unchanged since), a zero-sized reshape.
    "test_not_2d", "test_reshape_allowzero_reordered",
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


@pytest.mark.parametrize("name, bound", [("test_top_k", ["k"]), ("test_top_k_smallest", ["k"]),
                                         ("test_unsqueeze_two_axes", ["axes"]),
                                         ("test_reduce_sum_keepdims_random", ["axes"])])
def test_case_with_structural_inputs_bound(name, bound):
    """Cases whose k or axes are graph inputs: effc refuses them naming the input, and compiles them with the
    input bound to each data set's value (--bind-input), as conformance.py does."""
    case = conformance.DATA / name
    if not case.exists():
        pytest.skip(f"{name} is not in this libonnx-testdata")
    model = onnx.load(str(case / "model.onnx"))
    assert conformance.run_case(case, model, bind=False).startswith("compile: ")
    info = {}
    error = conformance.run_case(case, model, info=info)
    assert error is None, error
    assert info["bound"] == bound
