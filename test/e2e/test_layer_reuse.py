"""Layer reuse (eff-outline-layers, issue 7): layers identical up to their weights are compiled once, as one
private function called with each layer's weights. The outputs must not change: every model here is compiled
with and without `--no-layer-reuse` and the outputs compared bit for bit (the shared body is the same code as
each inlined layer, with the same tiling, vectorisation and accumulation order, so there is no tolerance),
and once against the numpy reference (rtol/atol 1e-4, as test/e2e/test_examples.py), so that a change made
to both compilations cannot hide. Compressed variants: int8 (W8A8) and 2:4 sparsity, which pack every
layer's weights into operands of their own; dropped layers; pruned heads (the same number per layer, so the
layers still share a body) and a per-layer mix that keeps them apart.

`effc -v` prints a remark per shared body; the tests read it to check that reuse happened (or not).

Run with: /usr/bin/python3 -m pytest test/e2e/test_layer_reuse.py
"""

import re

import numpy as np
import pytest

import models  # noqa: E402
from effc_testing import EFFC, EFFC_RUN, CompiledIrModule as Compiled  # noqa: E402

TOL = dict(rtol=1e-4, atol=1e-4)

pytestmark = pytest.mark.skipif(not (EFFC.exists() and EFFC_RUN.exists()),
                                reason=f"effc/effc-run not built ({EFFC.parent})")


def shared_bodies(log):
    """{body name: [layer indices]} from effc -v's remarks."""
    return {name: [int(i) for i in layers.split(", ")]
            for layers, name in re.findall(r"remark: layers ([0-9, ]+) share the body @(\w+)", log)}


def assert_bit_exact(actual, expected, what):
    assert list(actual) == list(expected), f"{what}: outputs {list(actual)} != {list(expected)}"
    for key in expected:
        assert actual[key].shape == expected[key].shape, f"{what}: {key}"
        assert np.array_equal(actual[key], expected[key]), \
            f"{what}: {key}: max abs diff {np.abs(actual[key] - expected[key]).max()}"


def compile_both(module, flags):
    shared = Compiled(module, ["-v", *flags], name="shared")
    separate = Compiled(module, ["-v", "--no-layer-reuse", *flags], name="separate")
    assert not shared_bodies(separate.log), separate.log
    return shared, separate


BERT_VARIANTS = {  # flags -> layer indices expected to share one body (4-layer BERT)
    "": [0, 1, 2, 3],
    "--quantize=int8": [0, 1, 2, 3],
    "--sparsity=2:4": [0, 1, 2, 3],
    "--drop-layers=top:1": [0, 1, 2],
    "--prune-heads=0.25": [0, 1, 2, 3],
    "--external-weights": [0, 1, 2, 3],
}


@pytest.mark.parametrize("flags", list(BERT_VARIANTS))
def test_bert_variants_bit_exact(flags):
    cfg = models.BertConfig(layers=4)
    weights = models.init_bert(cfg, np.random.default_rng(71))
    module = models.build_bert(cfg, weights)
    flag_list = flags.split() if flags else []
    shared, separate = compile_both(module, flag_list)
    try:
        assert list(shared_bodies(shared.log).values()) == [BERT_VARIANTS[flags]], shared.log
        inputs = models.sample_inputs("bert_tiny", np.random.default_rng(8), batch=2, seq=11)["main"]
        actual = shared.run("main", inputs)
        assert_bit_exact(actual, separate.run("main", inputs), f"bert {flags or 'dense'}")
        if not flags or flags == "--external-weights":
            expected = module.evaluate("main", inputs)
            for key in expected:
                np.testing.assert_allclose(actual[key], expected[key], err_msg=key, **TOL)
        # A second shape (dynamic batch and sequence) through the same shared body.
        other = models.sample_inputs("bert_tiny", np.random.default_rng(9), batch=3, seq=5)["main"]
        assert_bit_exact(shared.run("main", other), separate.run("main", other), f"bert {flags} (3x5)")
    finally:
        shared.close()
        separate.close()


def test_bert_layer_made_different_stays_separate():
    """Layer 1 with a narrower FFN (as per-layer pruning leaves it) gets no shared body; the other three layers
    still share one. Against the numpy reference too."""
    cfg = models.BertConfig(layers=4)
    weights = models.init_bert(cfg, np.random.default_rng(72))
    kept = cfg.ffn - 64
    p = "encoder.layer.1"
    weights[f"{p}.intermediate.dense.weight"] = weights[f"{p}.intermediate.dense.weight"][:kept]
    weights[f"{p}.intermediate.dense.bias"] = weights[f"{p}.intermediate.dense.bias"][:kept]
    weights[f"{p}.output.dense.weight"] = weights[f"{p}.output.dense.weight"][:, :kept]
    module = models.build_bert(cfg, weights)
    shared, separate = compile_both(module, [])
    try:
        assert list(shared_bodies(shared.log).values()) == [[0, 2, 3]], shared.log
        inputs = models.sample_inputs("bert_tiny", np.random.default_rng(10), batch=2, seq=7)["main"]
        actual = shared.run("main", inputs)
        assert_bit_exact(actual, separate.run("main", inputs), "bert with a narrower layer")
        expected = module.evaluate("main", inputs)
        for key in expected:
            np.testing.assert_allclose(actual[key], expected[key], err_msg=key, **TOL)
    finally:
        shared.close()
        separate.close()


def assert_same_to_rounding(actual, expected, what):
    """Equal up to float rounding (relative 1e-5): the GEMM epilogues of a shared body and of inline layers
    are decided on different IR (a layer's output leaves a shared body through its return), so the
    floating-point operations are grouped differently, though each build computes the same function."""
    assert list(actual) == list(expected), f"{what}: outputs {list(actual)} != {list(expected)}"
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-5, atol=1e-5, err_msg=f"{what}: {key}")


@pytest.mark.parametrize("flags", ["", "--quantize=int8"])
def test_gpt_prefill_and_decode_match(flags):
    """Two entry points with a KV cache: the layers of prefill and those of decode form one group each. (Not
    bit-exact since the GEMM epilogues: see assert_same_to_rounding.)"""
    cfg = models.GptConfig(layers=3, hidden=64, ffn=128)
    module = models.build_gpt(cfg, models.init_gpt(cfg, np.random.default_rng(73)))
    shared, separate = compile_both(module, flags.split() if flags else [])
    try:
        assert sorted(shared_bodies(shared.log).values()) == [[0, 1, 2], [0, 1, 2]], shared.log
        gen = np.random.default_rng(11)
        ids = gen.integers(0, cfg.vocab_size, (2, 6), dtype=np.int64)
        prefill = shared.run("prefill", {"input_ids": ids})
        assert_same_to_rounding(prefill, separate.run("prefill", {"input_ids": ids}), f"gpt prefill {flags}")
        step = {"input_ids": gen.integers(0, cfg.vocab_size, (2, 1), dtype=np.int64)}
        step.update({name.replace("present", "past"): value for name, value in prefill.items() if name != "logits"})
        assert_same_to_rounding(shared.run("decode", step), separate.run("decode", step), f"gpt decode {flags}")
        if not flags:
            expected = module.evaluate("prefill", {"input_ids": ids})
            np.testing.assert_allclose(prefill["logits"], expected["logits"], **TOL)
    finally:
        shared.close()
        separate.close()


def test_llama_gqa_rotary_bit_exact():
    cfg = models.LlamaConfig(layers=3)
    module = models.build_llama(cfg, models.init_llama(cfg, np.random.default_rng(74)))
    shared, separate = compile_both(module, [])
    try:
        assert list(shared_bodies(shared.log).values()) == [[0, 1, 2]], shared.log
        ids = np.random.default_rng(12).integers(0, cfg.vocab_size, (2, 9), dtype=np.int64)
        actual = shared.run("main", {"input_ids": ids})
        assert_bit_exact(actual, separate.run("main", {"input_ids": ids}), "llama")
        expected = module.evaluate("main", {"input_ids": ids})
        for key in expected:
            np.testing.assert_allclose(actual[key], expected[key], err_msg=key, **TOL)
    finally:
        shared.close()
        separate.close()
