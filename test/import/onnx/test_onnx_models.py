"""ONNX models exported from PyTorch through effc vs PyTorch.

The seeded BERT-, GPT-2- and Llama-style models of onnx_models.py are exported with torch.onnx.export (dynamic
batch and sequence axes), compiled with `effc model.onnx -o model.so`, run with effc-run on two shapes, and
compared with the PyTorch forward pass. Tolerance: max |effc - torch| / max |torch| <= 1e-3 (f32). The imported
IR (effc-import) must show the subgraphs raised to eff ops: attention (with rotary embeddings for Llama,
grouped-query for Llama with 2 key/value heads, with a KV cache for the GPT-2 decoder), layer/RMS norm, GELU,
SwiGLU, linears and embeddings. The decoder runs a prompt and single-token steps, each fed its own presents.
"""

import re
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import onnx_models  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, _run, run_module  # noqa: E402

torch.set_num_threads(2)
EFFC_IMPORT = EFFC.parent / "effc-import"
MAX_RELATIVE_ERROR = 1e-3
pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()), reason="effc/effc-run not built")

# The eff ops each model's IR must contain after raising, with how many (2 layers each).
EXPECTED_OPS = {
    "bert": {"eff.attention": 2, "eff.layer_norm": 5, "eff.activation gelu": 2, "eff.linear": 12, "eff.embedding": 3},
    "gpt2": {"eff.attention": 2, "eff.layer_norm": 5, "eff.activation gelu_tanh": 2, "eff.linear": 13,
             "eff.embedding": 2},
    "llama": {"eff.attention": 2, "eff.rotary": 4, "eff.rms_norm": 5, "eff.glu silu": 2, "eff.linear": 15,
              "eff.embedding": 1},
    "llama_gqa": {"eff.attention": 2, "eff.rotary": 4, "eff.rms_norm": 5, "eff.glu silu": 2, "eff.linear": 15,
                  "eff.embedding": 1, "num_kv_heads = 2": 2},
    "gpt2_cache": {"eff.attention": 2, " past": 2, "num_kv_heads = 2": 2, "eff.layer_norm": 5,
                   "eff.activation gelu_tanh": 2, "eff.linear": 13, "eff.embedding": 2},
    # The cache as [B, P, Hkv * Dh], concatenated before the heads split: eff.attention's own past layout.
    "gpt2_hidden_cache": {"eff.attention": 2, " past": 2, "num_kv_heads = 2": 2, "eff.layer_norm": 5,
                          "eff.activation gelu_tanh": 2, "eff.linear": 13, "eff.embedding": 2},
    # T5's relative position bias (op by op) as eff.attention's score bias, unscaled.
    "t5_encoder": {"eff.attention": 2, "eff.rms_norm": 5, "eff.linear": 12, "eff.embedding": 3},
    "t5_decoder": {"eff.attention": 2, "causal": 2, "eff.rms_norm": 5, "eff.linear": 12, "eff.embedding": 3},
    # Partial rotary: 4 of each head's 8 channels rotated.
    "llama_partial": {"eff.attention": 2, "eff.rotary": 4, "rotary_dim = 4": 4, "eff.rms_norm": 5,
                      "eff.glu silu": 2, "eff.linear": 15, "eff.embedding": 1},
    # GPT-J's interleaved rotary (rotate_every_two), whole and partial (4 of 8 channels).
    "gptj": {"eff.attention": 2, "eff.rotary": 4, "interleaved": 4, "eff.rms_norm": 5, "eff.glu silu": 2,
             "eff.linear": 15, "eff.embedding": 1},
    "gptj_partial": {"eff.attention": 2, "eff.rotary": 4, "interleaved": 4, "rotary_dim = 4": 4, "eff.rms_norm": 5,
                     "eff.glu silu": 2, "eff.linear": 15, "eff.embedding": 1},
    # Rotary positions from the cache length, then the cached attention.
    "llama_cache": {"eff.attention": 2, " past": 2, "eff.rotary": 4, "num_kv_heads = 2": 2, "eff.rms_norm": 5,
                    "eff.glu silu": 2, "eff.linear": 15, "eff.embedding": 1},
}


def relative_error(actual, expected):
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(name, opset, external data) -> (model, .onnx path, workdir), exported once per module."""
    cache = {}

    def get(name, opset=17, external_data=False):
        key = (name, opset, external_data)
        if key not in cache:
            workdir = tmp_path_factory.mktemp(f"{name}{opset}")
            path = workdir / f"{name}.onnx"
            model = onnx_models.export(name, path, opset=opset, external_data=external_data)
            cache[key] = (model, path, workdir)
        return cache[key]

    return get


# BERT at opset 13 has its layer norms decomposed into reductions (LayerNormalization is opset 17) and is
# stored with external data: its initializers are read from model.onnx.data.
@pytest.mark.parametrize("name,opset,external_data", [("bert", 17, False), ("bert", 13, True), ("gpt2", 17, False),
                                                      ("llama", 17, False), ("llama_gqa", 17, False),
                                                      ("llama_partial", 17, False), ("mixtral", 17, False),
                                                      ("gptj", 17, False), ("gptj_partial", 13, False),
                                                      ("gptj_scaled", 17, False),
                                                      ("mixtral", 13, False), ("t5_encoder", 17, False),
                                                      ("t5_decoder", 17, False), ("t5_encoder", 13, False)])
def test_matches_pytorch(exported, tmp_path, name, opset, external_data):
    model, path, workdir = exported(name, opset, external_data)
    if external_data:
        assert (workdir / f"{name}.onnx.data").stat().st_size > path.stat().st_size
    module = tmp_path / f"{name}.so"
    _run([EFFC, path, "-o", module])
    for batch, seq in [(2, 7), (1, 12)]:
        inputs = onnx_models.example_inputs(name, batch=batch, seq=seq, seed=seq)
        with torch.no_grad():
            expected = model(*inputs).numpy()
        names = onnx_models.MODELS[name][1]
        outputs = run_module(module, {n: t.numpy() for n, t in zip(names, inputs)}, tmp_path)
        actual = outputs["output"]
        assert actual.shape == expected.shape
        error = relative_error(actual, expected)
        assert error <= MAX_RELATIVE_ERROR, f"{name} opset {opset} [{batch}, {seq}]: relative error {error:.2e}"


@pytest.mark.parametrize("name,opset", [("bert", 17), ("bert", 13), ("gpt2", 17), ("gpt2", 14), ("llama", 17),
                                        ("llama", 13), ("llama_gqa", 17), ("llama_gqa", 13), ("gpt2_cache", 17),
                                        ("llama_partial", 17), ("llama_partial", 13), ("llama_cache", 17),
                                        ("llama_cache", 13), ("gpt2_hidden_cache", 17), ("gptj", 17), ("gptj", 13),
                                        ("gptj_partial", 17), ("gptj_partial", 13),
                                        ("t5_encoder", 17), ("t5_decoder", 17), ("t5_encoder", 13)])
def test_subgraphs_are_raised(exported, name, opset):
    _, path, _ = exported(name, opset)
    result = subprocess.run([str(EFFC_IMPORT), str(path), "--report-raising"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ir = result.stdout
    for op, count in EXPECTED_OPS[name].items():
        found = len(re.findall(re.escape(op) + r"\b", ir))
        assert found == count, f"{name}: expected {count} x {op}, found {found}\n{result.stderr}"
    # Raised subgraphs leave nothing of themselves: no head-major reshapes around the attention, no erf/tanh,
    # no repeated key/value heads (repeat_kv expands a 5-D tensor), no concatenated cache. The cache
    # alone is transposed between the ONNX [B, Hkv, P, Dh] layout and eff.attention's [B, P, Hkv * Dh].
    # T5's bias is its bucket embeddings [S, L, H] permuted to [H, S, L].
    transposes = {"gpt2_cache": 4 * 2, "llama_cache": 4 * 2, "t5_encoder": 2, "t5_decoder": 2}.get(name, 0)
    assert len(re.findall(r"linalg\.transpose", ir)) == transposes
    assert "math.erf" not in ir and "math.tanh" not in ir and "tensor.concat" not in ir
    assert not re.search(r"tensor<([^x<>]+x){5}f32>", ir), "a 5-D tensor (repeat_kv's Expand) is left"
    assert re.search(r"raised \d+ subgraphs to eff ops", result.stderr)


def test_interleaved_rotary_with_other_tables_is_not_raised(exported):
    """GPT-J's rotate_every_two on tables that are not RoPE's (interpolated positions): imported op by op (the
    strided Slices and the stack stay), the attention itself not raised; test_matches_pytorch runs it."""
    _, path, _ = exported("gptj_scaled", 17)
    result = subprocess.run([str(EFFC_IMPORT), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "eff.rotary" not in result.stdout and "eff.attention" not in result.stdout


def test_report_names_patterns(exported):
    """--report-raising names each raised subgraph's node and what it became."""
    _, path, _ = exported("llama", 17)
    result = subprocess.run([str(EFFC_IMPORT), str(path), "--report-raising"], capture_output=True, text=True)
    assert ("raised attention at node '/blocks.0/attn/Reshape_3' (Reshape) -> eff.attention "
            "(4 heads of 8, causal, rotary theta 10000.000000)") in result.stderr
    assert "raised swiglu at node '/blocks.1/Mul_1' (Mul) -> eff.glu (silu(gate) * up)" in result.stderr


def test_gqa_report(exported):
    """The raised attention names its key/value head count."""
    _, path, _ = exported("llama_gqa", 17)
    result = subprocess.run([str(EFFC_IMPORT), str(path), "--report-raising"], capture_output=True, text=True)
    assert ("raised attention at node '/blocks.0/attn/Reshape_7' (Reshape) -> eff.attention "
            "(4 heads of 8, 2 key/value heads, causal, rotary theta 10000.000000)") in result.stderr, result.stderr


def test_rotary_from_cache_length_report(exported):
    """The cached Llama's rotary tables are read from the cache length: raised with positions P..P+S-1."""
    _, path, _ = exported("llama_cache", 17)
    result = subprocess.run([str(EFFC_IMPORT), str(path), "--report-raising"], capture_output=True, text=True)
    assert ("raised attention at node '/blocks.0/attn/Reshape_7' (Reshape) -> eff.attention (4 heads of 8, 2 key/value "
            "heads, causal, rotary theta 10000.000000 from position '/blocks.0/attn/Unsqueeze_6_output_0', KV cache "
            "'past_key_0', 'past_value_0')") in result.stderr, result.stderr


def test_unraised_cache_imports_op_by_op(exported):
    """Interpolated rotary tables (not RoPE's at integer positions) are not raised; the tables' and the causal
    mask's Slices at the run-time cache length import as tensor.extract_slice with dynamic offsets."""
    _, path, _ = exported("llama_cache_scaled", 17)
    result = subprocess.run([str(EFFC_IMPORT), str(path), "--report-raising"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "eff.attention" not in result.stdout and "eff.rotary" not in result.stdout
    assert re.search(r"tensor\.extract_slice %\S+\[%", result.stdout), "no slice at a run-time offset"


@pytest.mark.parametrize("name", ["gpt2_cache", "llama_cache", "llama_cache_scaled", "gpt2_hidden_cache"])
def test_kv_cache_decode_matches_pytorch(exported, tmp_path, name):
    """A 4-token prompt after a 3-position cache, then 3 single-token steps; effc and PyTorch each feed their own
    presents back as the next step's past. Logits and presents within 1e-3 relative error at every step. The
    Llama decoders rotate at positions P..P+S-1 (raised to eff.rotary, or op by op for interpolated tables)."""
    model, path, _ = exported(name, 17)
    module = tmp_path / f"{name}.so"
    _run([EFFC, path, "-o", module])
    names = onnx_models.MODELS[name][1]
    ids, *past = onnx_models.example_inputs(name, batch=2, seq=4, seed=1, past=3)
    expected_shape = (2, 3 + 4 + 3, 16) if name == "gpt2_hidden_cache" else (2, 2, 3 + 4 + 3, 8)
    torch_past, effc_past = list(past), [t.numpy() for t in past]
    g = torch.Generator().manual_seed(5)
    for step in range(4):
        with torch.no_grad():
            expected = [t.numpy() for t in model(ids, *torch_past)]
        outputs = run_module(module, dict(zip(names, [ids.numpy(), *effc_past])), tmp_path)
        for name, e in zip(["output"] + onnx_models.CACHE_OUTPUTS, expected):
            assert outputs[name].shape == e.shape, f"step {step}: {name} {outputs[name].shape} vs {e.shape}"
            error = relative_error(outputs[name], e)
            assert error <= MAX_RELATIVE_ERROR, f"step {step}: {name} relative error {error:.2e}"
        torch_past = [torch.from_numpy(e) for e in expected[1:]]
        effc_past = [outputs[n] for n in onnx_models.CACHE_OUTPUTS]
        ids = torch.randint(0, 50, (2, 1), generator=g)
    assert effc_past[0].shape == expected_shape


def test_mixtral_routing_imports_op_by_op(exported):
    """The Mixtral-style MoE's routing (TopK over the router's softmax, Equal against each expert) imports op by
    op: TopK as one arg-max reduction per choice; the experts' SwiGLUs and the attention are raised."""
    _, path, _ = exported("mixtral", 17)
    result = subprocess.run([str(EFFC_IMPORT), str(path), "--report-raising"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    ir = result.stdout
    assert len(re.findall(r"eff\.attention\b", ir)) == 2
    assert len(re.findall(r"eff\.glu silu\b", ir)) == 8  # 4 experts x 2 layers
    # Two reductions (value and index) per TopK choice: 2 choices x 2 layers.
    assert len(re.findall(r"linalg\.index", ir)) >= 4
