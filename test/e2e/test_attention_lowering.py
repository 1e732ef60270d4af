"""Numerics of the lowering of eff.embedding, eff.position_ids, eff.rotary and eff.attention.

Each test compiles a small eff function with `effc` (the full CPU pipeline, through
lib/Conversion/EffToLinalg/Attention.cpp), runs it with `effc-run` and compares every output with the numpy
oracle of docs/spec/eff.md (test/reference/eff_reference.py). Tolerances: f32 rtol 1e-4 / atol 1e-5
(rotary included: positions stay below 50 so that the f32 angles pos·θ^(−2i/R) stay accurate to that);
f16 rtol/atol 4e-3 (about one f16 ulp of the result on top of an f32 computation). Dynamic-shape tests run
one compile_ir module on two different input shapes.

Run with: /usr/bin/python3 -m pytest test/e2e/test_attention_lowering.py
"""

import numpy as np
import pytest

import eff_reference as ref
from effc_testing import assert_close, compile_and_run, randn, rng, ttype

F32_TOL = dict(rtol=1e-4, atol=1e-5)
F16_TOL = dict(rtol=4e-3, atol=4e-3)

_ELEMENT = {np.float32: "f32", np.float16: "f16", np.int64: "i64", np.int32: "i32", np.bool_: "i1"}


# ----------------------------------------------------------------------------------------------------------
# eff.embedding


def test_embedding_token_dynamic_batch(compile_ir):
    ir = f"""
func.func @main(%table: tensor<50x16xf32> {{eff.name = "table"}}, %ids: tensor<?x7xi64> {{eff.name = "ids"}})
    -> (tensor<?x7x16xf32> {{eff.name = "out"}}) {{
  %e = eff.embedding token %table[%ids] : (tensor<50x16xf32>, tensor<?x7xi64>) -> tensor<?x7x16xf32>
  return %e : tensor<?x7x16xf32>
}}"""
    module = compile_ir(ir)
    gen = rng(0)
    table = randn(gen, 50, 16)
    for batch in (2, 3):
        ids = gen.integers(0, 50, (batch, 7)).astype(np.int64)
        ids[0, 0], ids[-1, -1] = 0, 49  # first and last rows of the table
        out = module(table=table, ids=ids)["out"]
        assert_close(out, ref.embedding(table, ids), F32_TOL, f"batch {batch}")


def test_embedding_rank1_i32_ids():
    ir = """
func.func @main(%table: tensor<8x5xf32>, %ids: tensor<?xi32>) -> tensor<?x5xf32> {
  %e = eff.embedding segment %table[%ids] : (tensor<8x5xf32>, tensor<?xi32>) -> tensor<?x5xf32>
  return %e : tensor<?x5xf32>
}"""
    gen = rng(1)
    table = randn(gen, 8, 5)
    ids = np.array([3, 0, 7, 3, 1], np.int32)
    out = compile_and_run(ir, {"arg0": table, "arg1": ids})["result0"]
    assert_close(out, ref.embedding(table, ids, kind="segment"), F32_TOL)


# ----------------------------------------------------------------------------------------------------------
# eff.position_ids


def test_position_ids_offset_from_cache_length(compile_ir):
    # The offset is the KV cache's length, read from the shape of a dynamic `past` tensor.
    ir = """
func.func @main(%ids: tensor<?x?xi64> {eff.name = "ids"}, %past: tensor<?x?x4xf32> {eff.name = "past"})
    -> (tensor<?x?xi64> {eff.name = "pos"}) {
  %c1 = arith.constant 1 : index
  %len = tensor.dim %past, %c1 : tensor<?x?x4xf32>
  %p = eff.position_ids %ids offset %len : tensor<?x?xi64>
  return %p : tensor<?x?xi64>
}"""
    module = compile_ir(ir)
    for batch, seq, past_len in ((2, 5, 3), (1, 1, 17)):
        ids = np.zeros((batch, seq), np.int64)
        past = np.zeros((batch, past_len, 4), np.float32)
        pos = module(ids=ids, past=past)["pos"]
        assert_close(pos, ref.position_ids(ids, offset=past_len), dict(rtol=0, atol=0), f"offset {past_len}")


def test_position_ids_i32_constant_offset_and_none():
    ir = """
func.func @main(%ids: tensor<3x4xi32>) -> (tensor<3x4xi32>, tensor<3x4xi32>) {
  %c7 = arith.constant 7 : index
  %p = eff.position_ids %ids offset %c7 : tensor<3x4xi32>
  %q = eff.position_ids %ids : tensor<3x4xi32>
  return %p, %q : tensor<3x4xi32>, tensor<3x4xi32>
}"""
    ids = np.full((3, 4), 42, np.int32)
    out = compile_and_run(ir, {"arg0": ids})
    assert_close(out["result0"], ref.position_ids(ids, offset=7), dict(rtol=0, atol=0), "offset 7")
    assert_close(out["result1"], ref.position_ids(ids), dict(rtol=0, atol=0), "no offset")


# ----------------------------------------------------------------------------------------------------------
# eff.rotary

ROTARY_CASES = {
    # name: (attributes, reference keywords, heads, head size, positions per token?)
    "rotate_half": ("num_heads = 4 : i64", dict(num_heads=4, theta=10000.0), 4, 8, True),
    "interleaved": ("num_heads = 4 : i64, interleaved", dict(num_heads=4, theta=10000.0, interleaved=True), 4, 8, True),
    "partial_rotate_half_per_position": (
        "num_heads = 2 : i64, rotary_dim = 6 : i64, theta = 500.0 : f32",
        dict(num_heads=2, theta=500.0, rotary_dim=6), 2, 16, False),
    "partial_interleaved_per_position": (
        "num_heads = 3 : i64, rotary_dim = 4 : i64, interleaved",
        dict(num_heads=3, theta=10000.0, rotary_dim=4, interleaved=True), 3, 10, False),
}


@pytest.mark.parametrize("case", sorted(ROTARY_CASES))
def test_rotary(case, compile_ir):
    attrs, kwargs, heads, head_dim, per_token = ROTARY_CASES[case]
    hidden = heads * head_dim
    x_t = ttype((None, None, hidden), "f32")
    pos_t = ttype((None, None) if per_token else (None,), "i64" if per_token else "i32")
    ir = f"""
func.func @main(%x: {x_t} {{eff.name = "x"}}, %pos: {pos_t} {{eff.name = "pos"}}) -> ({x_t} {{eff.name = "out"}}) {{
  %r = eff.rotary %x, %pos {{{attrs}}} : ({x_t}, {pos_t}) -> {x_t}
  return %r : {x_t}
}}"""
    module = compile_ir(ir)
    gen = rng(2)
    for batch, seq in ((2, 5), (1, 9)):
        x = randn(gen, batch, seq, hidden)
        if per_token:
            pos = gen.integers(0, 40, (batch, seq)).astype(np.int64)
        else:
            pos = (np.arange(seq) + 3).astype(np.int32)
        out = module(x=x, pos=pos)["out"]
        expected = ref.rotary(x, pos, **kwargs)
        assert_close(out, expected, F32_TOL, f"{case} {x.shape}")
        # The rotation must actually happen (guards against a pass-through lowering).
        assert not np.allclose(out, x, atol=1e-3)


def test_rotary_rank2_and_rank4_inputs():
    ir = """
func.func @main(%x: tensor<6x16xf32>, %p: tensor<6xi64>, %y: tensor<2x3x4x8xf32>, %q: tensor<2x3x4xi64>)
    -> (tensor<6x16xf32>, tensor<2x3x4x8xf32>) {
  %a = eff.rotary %x, %p {num_heads = 2 : i64} : (tensor<6x16xf32>, tensor<6xi64>) -> tensor<6x16xf32>
  %b = eff.rotary %y, %q {num_heads = 1 : i64, rotary_dim = 6 : i64} : (tensor<2x3x4x8xf32>, tensor<2x3x4xi64>) -> tensor<2x3x4x8xf32>
  return %a, %b : tensor<6x16xf32>, tensor<2x3x4x8xf32>
}"""
    gen = rng(3)
    x, y = randn(gen, 6, 16), randn(gen, 2, 3, 4, 8)
    p = np.arange(6, dtype=np.int64)
    q = gen.integers(0, 30, (2, 3, 4)).astype(np.int64)
    out = compile_and_run(ir, {"arg0": x, "arg1": p, "arg2": y, "arg3": q})
    assert_close(out["result0"], ref.rotary(x, p, num_heads=2, theta=10000.0), F32_TOL, "rank 2")
    assert_close(out["result1"], ref.rotary(y, q, num_heads=1, theta=10000.0, rotary_dim=6), F32_TOL, "rank 4")


def test_rotary_f16():
    ir = """
func.func @main(%x: tensor<2x4x32xf16>, %p: tensor<2x4xi64>) -> tensor<2x4x32xf16> {
  %r = eff.rotary %x, %p {num_heads = 2 : i64} : (tensor<2x4x32xf16>, tensor<2x4xi64>) -> tensor<2x4x32xf16>
  return %r : tensor<2x4x32xf16>
}"""
    gen = rng(4)
    x = randn(gen, 2, 4, 32, dtype=np.float16)
    p = gen.integers(0, 20, (2, 4)).astype(np.int64)
    out = compile_and_run(ir, {"arg0": x, "arg1": p})["result0"]
    assert_close(out, ref.rotary(x, p, num_heads=2, theta=10000.0), F16_TOL)


# ----------------------------------------------------------------------------------------------------------
# eff.attention


def attention_ir(q_shape, kv_shape, attrs, *, element="f32", mask=None, head_mask=False, past_shape=None):
    """One-function module computing eff.attention. `mask` is the mask's element type (or None); shapes may
    contain None (dynamic). Inputs are named q, k, v, mask, head_mask, past_key, past_value; outputs out,
    present_key, present_value."""
    q_t, kv_t = ttype(q_shape, element), ttype(kv_shape, element)
    args = [f'%q: {q_t} {{eff.name = "q"}}', f'%k: {kv_t} {{eff.name = "k"}}', f'%v: {kv_t} {{eff.name = "v"}}']
    operand_types = [q_t, kv_t, kv_t]
    clauses = ""
    if mask is not None:
        length = None if past_shape is not None or kv_shape[1] is None else kv_shape[1]
        mask_t = ttype((q_shape[0], length), mask)
        args.append(f'%m: {mask_t} {{eff.name = "mask"}}')
        operand_types.append(mask_t)
        clauses += " mask(%m)"
    if head_mask:
        heads = int(attrs.split("num_heads = ")[1].split(" ")[0])
        hm_t = ttype((heads,), element)
        args.append(f'%hm: {hm_t} {{eff.name = "head_mask"}}')
        operand_types.append(hm_t)
        clauses += " head_mask(%hm)"
    results = [(q_t, "out")]
    if past_shape is not None:
        past_t = ttype(past_shape, element)
        args += [f'%pk: {past_t} {{eff.name = "past_key"}}', f'%pv: {past_t} {{eff.name = "past_value"}}']
        operand_types += [past_t, past_t]
        clauses += " past(%pk, %pv)"
        present_t = ttype((kv_shape[0], None, kv_shape[2]), element)
        results += [(present_t, "present_key"), (present_t, "present_value")]
    result_types = ", ".join(t for t, _ in results)
    named_results = ", ".join(f'{t} {{eff.name = "{n}"}}' for t, n in results)
    names = ", ".join(f"%r{i}" for i in range(len(results)))
    return f"""
func.func @main({", ".join(args)}) -> ({named_results}) {{
  {names} = eff.attention %q, %k, %v{clauses} {{{attrs}}} : ({", ".join(operand_types)}) -> ({result_types})
  return {names} : {result_types}
}}"""


def check_attention(outputs, inputs, tol, **kwargs):
    expected = ref.attention(inputs["q"], inputs["k"], inputs["v"], mask=inputs.get("mask"),
                             head_mask=inputs.get("head_mask"), past_key=inputs.get("past_key"),
                             past_value=inputs.get("past_value"), **kwargs)
    if not isinstance(expected, tuple):
        expected = (expected,)
    for name, value in zip(("out", "present_key", "present_value"), expected):
        assert_close(outputs[name], value, tol, name)
    return expected


def qkv(gen, batch, seq, kv_len, heads, kv_heads, head_dim, dtype=np.float32):
    return {"q": randn(gen, batch, seq, heads * head_dim, dtype=dtype),
            "k": randn(gen, batch, kv_len, kv_heads * head_dim, dtype=dtype),
            "v": randn(gen, batch, kv_len, kv_heads * head_dim, dtype=dtype)}


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (8, 2), (4, 1)], ids=["mha", "gqa", "mqa"])
def test_attention_head_layouts(heads, kv_heads):
    head_dim = 8
    attrs = f"num_heads = {heads} : i64, num_kv_heads = {kv_heads} : i64"
    ir = attention_ir((2, 5, heads * head_dim), (2, 6, kv_heads * head_dim), attrs)
    inputs = qkv(rng(10 + heads + kv_heads), 2, 5, 6, heads, kv_heads, head_dim)
    check_attention(compile_and_run(ir, inputs), inputs, F32_TOL, num_heads=heads, num_kv_heads=kv_heads)


def test_attention_causal_fewer_queries_than_keys():
    # S = 3 queries are the last 3 of L = 7 positions: query i sees keys j <= i + 4.
    ir = attention_ir((2, 3, 32), (2, 7, 32), "num_heads = 4 : i64, causal")
    inputs = qkv(rng(20), 2, 3, 7, 4, 4, 8)
    check_attention(compile_and_run(ir, inputs), inputs, F32_TOL, num_heads=4, causal=True)


@pytest.mark.parametrize("mask_type", ["i64", "i32", "i1", "f32"])
def test_attention_padding_mask_with_fully_masked_row(mask_type):
    ir = attention_ir((3, 4, 32), (3, 6, 16), "num_heads = 4 : i64, num_kv_heads = 2 : i64", mask=mask_type)
    inputs = qkv(rng(30), 3, 4, 6, 4, 2, 8)
    mask = np.ones((3, 6), np.int64)
    mask[0, 4:] = 0  # right padding
    mask[1, :2] = 0  # left padding
    mask[2, :] = 0  # nothing to attend to: the output must be zeros, not NaN
    numpy_type = {"i64": np.int64, "i32": np.int32, "i1": np.bool_, "f32": np.float32}[mask_type]
    if mask_type == "f32":
        mask = mask * np.float32(2.5)  # any nonzero value attends
    inputs["mask"] = mask.astype(numpy_type)
    out = compile_and_run(ir, inputs)
    check_attention(out, inputs, F32_TOL, num_heads=4, num_kv_heads=2)
    assert np.all(out["out"][2] == 0.0)


def test_attention_causal_and_mask_fully_masked_rows():
    # Causal with S = L and a left-padded sequence: its first queries see only padding.
    ir = attention_ir((2, 5, 16), (2, 5, 16), "num_heads = 2 : i64, causal", mask="i64")
    inputs = qkv(rng(31), 2, 5, 5, 2, 2, 8)
    inputs["mask"] = np.array([[1, 1, 1, 1, 1], [0, 0, 0, 1, 1]], np.int64)
    out = compile_and_run(ir, inputs)
    check_attention(out, inputs, F32_TOL, num_heads=2, causal=True)
    assert np.all(out["out"][1, :3] == 0.0)


def test_attention_head_mask_and_explicit_scale():
    ir = attention_ir((2, 4, 48), (2, 5, 24), "num_heads = 6 : i64, num_kv_heads = 3 : i64, scale = 0.3 : f32",
                      head_mask=True)
    inputs = qkv(rng(40), 2, 4, 5, 6, 3, 8)
    inputs["head_mask"] = np.array([1.0, 0.0, 0.5, 2.0, 1.0, 0.25], np.float32)
    out = compile_and_run(ir, inputs)
    check_attention(out, inputs, F32_TOL, num_heads=6, num_kv_heads=3, scale=0.3)
    assert np.all(out["out"][:, :, 8:16] == 0.0)  # head 1 is masked out


def test_attention_past_present():
    attrs = "num_heads = 4 : i64, num_kv_heads = 2 : i64, causal"
    ir = attention_ir((2, 2, 32), (2, 2, 16), attrs, mask="i64", past_shape=(2, None, 16))
    gen = rng(50)
    inputs = qkv(gen, 2, 2, 2, 4, 2, 8)
    inputs["past_key"], inputs["past_value"] = randn(gen, 2, 3, 16), randn(gen, 2, 3, 16)
    inputs["mask"] = np.array([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]], np.int64)
    out = compile_and_run(ir, inputs)
    check_attention(out, inputs, F32_TOL, num_heads=4, num_kv_heads=2, causal=True)


def test_attention_dynamic_shapes(compile_ir):
    # Dynamic B, S, L and P: one compile_ir module, two different input shapes.
    attrs = "num_heads = 4 : i64, num_kv_heads = 2 : i64, causal"
    ir = attention_ir((None, None, 32), (None, None, 16), attrs, mask="i64", past_shape=(None, None, 16))
    module = compile_ir(ir)
    gen = rng(60)
    for batch, seq, new, past in ((1, 3, 3, 2), (3, 1, 1, 6)):
        inputs = qkv(gen, batch, seq, new, 4, 2, 8)
        inputs["past_key"], inputs["past_value"] = randn(gen, batch, past, 16), randn(gen, batch, past, 16)
        mask = np.ones((batch, past + new), np.int64)
        mask[-1, 0] = 0
        inputs["mask"] = mask
        out = module(**inputs)
        check_attention(out, inputs, F32_TOL, num_heads=4, num_kv_heads=2, causal=True)


def test_attention_dynamic_shapes_without_past(compile_ir):
    ir = attention_ir((None, None, 24), (None, None, 24), "num_heads = 3 : i64")
    module = compile_ir(ir)
    gen = rng(61)
    for batch, seq, kv_len in ((2, 3, 5), (1, 6, 2)):
        inputs = qkv(gen, batch, seq, kv_len, 3, 3, 8)
        check_attention(module(**inputs), inputs, F32_TOL, num_heads=3)


def test_attention_f16():
    ir = attention_ir((2, 3, 32), (2, 5, 16), "num_heads = 4 : i64, num_kv_heads = 2 : i64", element="f16",
                      head_mask=True)
    inputs = qkv(rng(70), 2, 3, 5, 4, 2, 8, dtype=np.float16)
    inputs["head_mask"] = np.array([1.0, 0.5, 0.0, 1.0], np.float16)
    check_attention(compile_and_run(ir, inputs), inputs, F16_TOL, num_heads=4, num_kv_heads=2)
