"""Numerics of the lowering of eff.lora, eff.prefix, eff.prompt and eff.bottleneck_adapter, and of BitFit.

Each test compiles a small eff function with `effc` (the full CPU pipeline, through
lib/Conversion/EffToLinalg/Adapters.cpp), runs it with `effc-run` and compares every output with the numpy
oracle of docs/spec/eff.md (test/reference/eff_reference.py). Tolerances: f32 rtol 1e-4 / atol 1e-5; f16
rtol/atol 4e-3 (one f16 ulp of the result on top of an f32 computation); prefix and prompt only move data,
so they must match exactly. Dynamic-shape tests run one compile_ir module on several input shapes.

Each test also checks that the effect under test is visible (the LoRA update with its alpha/rank scaling,
the prepended rows, the adapter branch and its biases, the trained BitFit bias), so that a lowering that
drops it fails.

Run with: /usr/bin/python3 -m pytest test/e2e/test_adapter_lowering.py
"""

import numpy as np
import pytest

import eff_reference as ref
from effc_testing import assert_close, compile_and_run, randn, rng, ttype

F32_TOL = dict(rtol=1e-4, atol=1e-5)
F16_TOL = dict(rtol=4e-3, atol=4e-3)
EXACT = dict(rtol=0, atol=0)


def assert_differs(actual, other, what):
    """Guards against a lowering that drops the effect under test: `actual` must be far from `other`."""
    assert actual.shape == other.shape, f"{what}: shape {actual.shape} != {other.shape}"
    assert not np.allclose(actual.astype(np.float64), other.astype(np.float64), rtol=1e-3, atol=1e-3), what


# ----------------------------------------------------------------------------------------------------------
# eff.lora


def lora_ir(base_t, x_t, a_t, b_t, rank, alpha):
    return f"""
func.func @main(%base: {base_t} {{eff.name = "base"}}, %x: {x_t} {{eff.name = "x"}}, %a: {a_t} {{eff.name = "a"}},
                %b: {b_t} {{eff.name = "b"}}) -> ({base_t} {{eff.name = "y"}}) {{
  %y = eff.lora %base, %x, %a, %b {{rank = {rank} : i64, alpha = {alpha} : f32}}
      : ({base_t}, {x_t}, {a_t}, {b_t}) -> {base_t}
  return %y : {base_t}
}}"""


@pytest.mark.parametrize("rank,alpha", [(4, 16.0), (8, 2.0), (1, 1.0)])
def test_lora_scaling_static(rank, alpha):
    k, n = 24, 20
    ir = lora_ir(ttype((2, 5, n)), ttype((2, 5, k)), ttype((rank, k)), ttype((n, rank)), rank, alpha)
    gen = rng(10 + rank)
    base, x = randn(gen, 2, 5, n), randn(gen, 2, 5, k)
    a, b = randn(gen, rank, k), randn(gen, n, rank)
    y = compile_and_run(ir, {"base": base, "x": x, "a": a, "b": b})["y"]
    assert_close(y, ref.lora(base, x, a, b, rank=rank, alpha=alpha), F32_TOL, f"rank {rank} alpha {alpha}")
    # The update is applied, and scaled by alpha / rank (not by 1 or by alpha).
    assert_differs(y, base, "LoRA update missing")
    if alpha != rank:
        assert_differs(y, ref.lora(base, x, a, b, rank=rank, alpha=float(rank)), "alpha/rank scaling missing")
    if alpha != 1.0:
        assert_differs(y, base + alpha * (x @ a.T) @ b.T, "scaled by alpha instead of alpha/rank")


def test_lora_dynamic_batch_and_sequence(compile_ir):
    rank, alpha, k, n = 4, 8.0, 16, 12
    ir = lora_ir(ttype((None, None, n)), ttype((None, None, k)), ttype((rank, k)), ttype((n, rank)), rank, alpha)
    module = compile_ir(ir)
    gen = rng(20)
    a, b = randn(gen, rank, k), randn(gen, n, rank)
    for batch, seq in ((1, 1), (3, 7), (2, 13)):
        base, x = randn(gen, batch, seq, n), randn(gen, batch, seq, k)
        y = module(base=base, x=x, a=a, b=b)["y"]
        assert_close(y, ref.lora(base, x, a, b, rank=rank, alpha=alpha), F32_TOL, f"shape {(batch, seq)}")
        assert_differs(y, base, f"LoRA update missing at {(batch, seq)}")


def test_lora_dynamic_rows_rank2(compile_ir):
    # A rank-2 [M, K] activation with a dynamic row count (no reshape on the way).
    rank, alpha, k, n = 2, 3.0, 8, 8
    ir = lora_ir(ttype((None, n)), ttype((None, k)), ttype((rank, k)), ttype((n, rank)), rank, alpha)
    module = compile_ir(ir)
    gen = rng(21)
    a, b = randn(gen, rank, k), randn(gen, n, rank)
    for rows in (1, 6):
        base, x = randn(gen, rows, n), randn(gen, rows, k)
        y = module(base=base, x=x, a=a, b=b)["y"]
        assert_close(y, ref.lora(base, x, a, b, rank=rank, alpha=alpha), F32_TOL, f"rows {rows}")


def test_lora_on_linear_output():
    # LoRA as used in a model: base is the frozen eff.linear's output on the same input.
    rank, alpha, k, n = 4, 8.0, 16, 16
    ir = f"""
func.func @main(%x: tensor<?x6x{k}xf32> {{eff.name = "x"}}, %w: tensor<{n}x{k}xf32> {{eff.name = "w"}},
                %a: tensor<{rank}x{k}xf32> {{eff.name = "a"}}, %b: tensor<{n}x{rank}xf32> {{eff.name = "b"}})
    -> (tensor<?x6x{n}xf32> {{eff.name = "y"}}) {{
  %base = eff.linear %x, %w : (tensor<?x6x{k}xf32>, tensor<{n}x{k}xf32>) -> tensor<?x6x{n}xf32>
  %y = eff.lora %base, %x, %a, %b {{rank = {rank} : i64, alpha = {alpha} : f32}}
      : (tensor<?x6x{n}xf32>, tensor<?x6x{k}xf32>, tensor<{rank}x{k}xf32>, tensor<{n}x{rank}xf32>) -> tensor<?x6x{n}xf32>
  return %y : tensor<?x6x{n}xf32>
}}"""
    gen = rng(22)
    x, w = randn(gen, 3, 6, k), randn(gen, n, k)
    a, b = randn(gen, rank, k), randn(gen, n, rank)
    y = compile_and_run(ir, {"x": x, "w": w, "a": a, "b": b})["y"]
    expected = ref.lora(ref.linear(x, w), x, a, b, rank=rank, alpha=alpha)
    assert_close(y, expected, F32_TOL)
    # Equivalent to the merged weight W + (alpha / rank) · B · A (what adapter folding produces).
    merged = ref.linear(x, (w.astype(np.float64) + (alpha / rank) * b.astype(np.float64) @ a).astype(np.float32))
    assert_close(y, merged, dict(rtol=1e-4, atol=1e-4), "merged weight")


def test_lora_f16():
    rank, alpha, k, n = 4, 8.0, 16, 12
    ir = lora_ir(ttype((2, 3, n), "f16"), ttype((2, 3, k), "f16"), ttype((rank, k), "f16"),
                 ttype((n, rank), "f16"), rank, alpha)
    gen = rng(23)
    base, x = randn(gen, 2, 3, n, dtype=np.float16), randn(gen, 2, 3, k, dtype=np.float16)
    a = (0.25 * randn(gen, rank, k)).astype(np.float16)
    b = (0.25 * randn(gen, n, rank)).astype(np.float16)
    y = compile_and_run(ir, {"base": base, "x": x, "a": a, "b": b})["y"]
    assert_close(y, ref.lora(base, x, a, b, rank=rank, alpha=alpha), F16_TOL)
    assert_differs(y, base, "LoRA update missing")


# ----------------------------------------------------------------------------------------------------------
# eff.prefix


def test_prefix_dynamic_batch_and_length(compile_ir):
    p, d = 3, 8
    kv_t, pre_t = ttype((None, None, d)), ttype((p, d))
    ir = f"""
func.func @main(%k: {kv_t} {{eff.name = "k"}}, %v: {kv_t} {{eff.name = "v"}}, %pk: {pre_t} {{eff.name = "pk"}},
                %pv: {pre_t} {{eff.name = "pv"}}) -> ({kv_t} {{eff.name = "k2"}}, {kv_t} {{eff.name = "v2"}}) {{
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : ({kv_t}, {kv_t}, {pre_t}, {pre_t}) -> ({kv_t}, {kv_t})
  return %k2, %v2 : {kv_t}, {kv_t}
}}"""
    module = compile_ir(ir)
    gen = rng(30)
    pk, pv = randn(gen, p, d), randn(gen, p, d)
    for batch, length in ((1, 1), (2, 5), (4, 9)):
        k, v = randn(gen, batch, length, d), randn(gen, batch, length, d)
        out = module(k=k, v=v, pk=pk, pv=pv)
        ek, ev = ref.prefix(k, v, pk, pv)
        assert_close(out["k2"], ek, EXACT, f"key {(batch, length)}")
        assert_close(out["v2"], ev, EXACT, f"value {(batch, length)}")
        # Key and value prefixes are not swapped (they differ, so the exact comparison above would catch it
        # too; this states the intent).
        assert np.array_equal(out["k2"][:, :p], np.broadcast_to(pk, (batch, p, d)))
        assert np.array_equal(out["v2"][:, :p], np.broadcast_to(pv, (batch, p, d)))


def test_prefix_static_feeding_attention():
    # The prefixed key/value feed an attention; the attention sees P + L positions.
    p, l, s, d, heads = 2, 4, 3, 8, 2
    ir = f"""
func.func @main(%q: tensor<2x{s}x{d}xf32> {{eff.name = "q"}}, %k: tensor<2x{l}x{d}xf32> {{eff.name = "k"}},
                %v: tensor<2x{l}x{d}xf32> {{eff.name = "v"}}, %pk: tensor<{p}x{d}xf32> {{eff.name = "pk"}},
                %pv: tensor<{p}x{d}xf32> {{eff.name = "pv"}}) -> (tensor<2x{s}x{d}xf32> {{eff.name = "o"}}) {{
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<2x{l}x{d}xf32>, tensor<2x{l}x{d}xf32>, tensor<{p}x{d}xf32>,
      tensor<{p}x{d}xf32>) -> (tensor<2x{p + l}x{d}xf32>, tensor<2x{p + l}x{d}xf32>)
  %o = eff.attention %q, %k2, %v2 {{num_heads = {heads} : i64}}
      : (tensor<2x{s}x{d}xf32>, tensor<2x{p + l}x{d}xf32>, tensor<2x{p + l}x{d}xf32>) -> tensor<2x{s}x{d}xf32>
  return %o : tensor<2x{s}x{d}xf32>
}}"""
    gen = rng(31)
    q, k, v = randn(gen, 2, s, d), randn(gen, 2, l, d), randn(gen, 2, l, d)
    pk, pv = randn(gen, p, d), randn(gen, p, d)
    try:
        o = compile_and_run(ir, {"q": q, "k": k, "v": v, "pk": pk, "pv": pv})["o"]
    except Exception as error:  # eff.attention is lowered elsewhere; skip only if that part is missing.
        if "attention" in str(error):
            pytest.skip(f"eff.attention not lowered yet: {str(error).splitlines()[-1]}")
        raise
    k2, v2 = ref.prefix(k, v, pk, pv)
    expected = ref.attention(q, k2, v2, num_heads=heads)
    assert_close(o, expected, F32_TOL)
    assert_differs(o, ref.attention(q, k, v, num_heads=heads), "prefix has no effect on attention")


# ----------------------------------------------------------------------------------------------------------
# eff.prompt


def test_prompt_static():
    p, s, d = 5, 4, 6
    ir = f"""
func.func @main(%e: tensor<3x{s}x{d}xf32> {{eff.name = "e"}}, %p: tensor<{p}x{d}xf32> {{eff.name = "p"}})
    -> (tensor<3x{p + s}x{d}xf32> {{eff.name = "out"}}) {{
  %r = eff.prompt %e, %p : (tensor<3x{s}x{d}xf32>, tensor<{p}x{d}xf32>) -> tensor<3x{p + s}x{d}xf32>
  return %r : tensor<3x{p + s}x{d}xf32>
}}"""
    gen = rng(40)
    e, soft = randn(gen, 3, s, d), randn(gen, p, d)
    out = compile_and_run(ir, {"e": e, "p": soft})["out"]
    assert_close(out, ref.prompt(e, soft), EXACT)


def test_prompt_dynamic_batch_and_sequence(compile_ir):
    p, d = 4, 16
    ir = f"""
func.func @main(%e: tensor<?x?x{d}xf32> {{eff.name = "e"}}, %p: tensor<{p}x{d}xf32> {{eff.name = "p"}})
    -> (tensor<?x?x{d}xf32> {{eff.name = "out"}}) {{
  %r = eff.prompt %e, %p : (tensor<?x?x{d}xf32>, tensor<{p}x{d}xf32>) -> tensor<?x?x{d}xf32>
  return %r : tensor<?x?x{d}xf32>
}}"""
    module = compile_ir(ir)
    gen = rng(41)
    soft = randn(gen, p, d)
    for batch, seq in ((1, 1), (2, 7), (5, 3)):
        e = randn(gen, batch, seq, d)
        out = module(e=e, p=soft)["out"]
        assert_close(out, ref.prompt(e, soft), EXACT, f"shape {(batch, seq)}")


def test_prompt_f16_after_embedding():
    # Prompt tuning as used in a model: soft prompt prepended to the token embeddings.
    p, d, vocab = 3, 8, 20
    ir = f"""
func.func @main(%table: tensor<{vocab}x{d}xf16> {{eff.name = "table"}}, %ids: tensor<?x?xi64> {{eff.name = "ids"}},
                %p: tensor<{p}x{d}xf16> {{eff.name = "p"}}) -> (tensor<?x?x{d}xf16> {{eff.name = "out"}}) {{
  %e = eff.embedding token %table[%ids] : (tensor<{vocab}x{d}xf16>, tensor<?x?xi64>) -> tensor<?x?x{d}xf16>
  %r = eff.prompt %e, %p : (tensor<?x?x{d}xf16>, tensor<{p}x{d}xf16>) -> tensor<?x?x{d}xf16>
  return %r : tensor<?x?x{d}xf16>
}}"""
    gen = rng(42)
    table, soft = randn(gen, vocab, d, dtype=np.float16), randn(gen, p, d, dtype=np.float16)
    ids = gen.integers(0, vocab, (2, 5)).astype(np.int64)
    try:
        out = compile_and_run(ir, {"table": table, "ids": ids, "p": soft})["out"]
    except Exception as error:  # eff.embedding is lowered elsewhere; skip only if that part is missing.
        if "embedding" in str(error):
            pytest.skip(f"eff.embedding not lowered yet: {str(error).splitlines()[-1]}")
        raise
    assert_close(out, ref.prompt(ref.embedding(table, ids), soft), EXACT)


# ----------------------------------------------------------------------------------------------------------
# eff.bottleneck_adapter


def bottleneck_ir(x_t, d, r, kind, down_bias, up_bias, element="f32"):
    wd_t, wu_t, bd_t, bu_t = ttype((r, d), element), ttype((d, r), element), ttype((r,), element), ttype((d,), element)
    args = [f'%x: {x_t} {{eff.name = "x"}}', f'%wd: {wd_t} {{eff.name = "wd"}}']
    types = [x_t, wd_t]
    down, up = "%wd", "%wu"
    if down_bias:
        args.append(f'%bd: {bd_t} {{eff.name = "bd"}}')
        types.append(bd_t)
        down += ", %bd"
    args.append(f'%wu: {wu_t} {{eff.name = "wu"}}')
    types.append(wu_t)
    if up_bias:
        args.append(f'%bu: {bu_t} {{eff.name = "bu"}}')
        types.append(bu_t)
        up += ", %bu"
    return f"""
func.func @main({", ".join(args)}) -> ({x_t} {{eff.name = "y"}}) {{
  %y = eff.bottleneck_adapter %x down({down}) up({up}) {kind} : ({", ".join(types)}) -> {x_t}
  return %y : {x_t}
}}"""


@pytest.mark.parametrize("kind", ["relu", "gelu"])
@pytest.mark.parametrize("biases", ["both", "none", "down_only", "up_only"])
def test_bottleneck_adapter(kind, biases):
    d, r = 16, 4
    down_bias, up_bias = biases in ("both", "down_only"), biases in ("both", "up_only")
    ir = bottleneck_ir(ttype((2, 5, d)), d, r, kind, down_bias, up_bias)
    gen = rng(50)
    x, wd, wu = randn(gen, 2, 5, d), randn(gen, r, d), randn(gen, d, r)
    bd, bu = randn(gen, r), randn(gen, d)
    inputs = {"x": x, "wd": wd, "wu": wu}
    if down_bias:
        inputs["bd"] = bd
    if up_bias:
        inputs["bu"] = bu
    y = compile_and_run(ir, inputs)["y"]
    kwargs = dict(kind=kind, b_down=bd if down_bias else None, b_up=bu if up_bias else None)
    assert_close(y, ref.bottleneck_adapter(x, wd, wu, **kwargs), F32_TOL, f"{kind} {biases}")
    # The adapter branch is added to the residual, and each bias present contributes.
    assert_differs(y, x, "adapter branch missing")
    if down_bias:
        assert_differs(y, ref.bottleneck_adapter(x, wd, wu, **dict(kwargs, b_down=None)), "b_down ignored")
    if up_bias:
        assert_differs(y, ref.bottleneck_adapter(x, wd, wu, **dict(kwargs, b_up=None)), "b_up ignored")


@pytest.mark.parametrize("kind", ["silu", "gelu_tanh", "sigmoid"])
def test_bottleneck_adapter_dynamic_other_activations(kind, compile_ir):
    d, r = 12, 3
    module = compile_ir(bottleneck_ir(ttype((None, None, d)), d, r, kind, True, True))
    gen = rng(51)
    wd, wu, bd, bu = randn(gen, r, d), randn(gen, d, r), randn(gen, r), randn(gen, d)
    for batch, seq in ((1, 1), (3, 4)):
        x = randn(gen, batch, seq, d)
        y = module(x=x, wd=wd, bd=bd, wu=wu, bu=bu)["y"]
        expected = ref.bottleneck_adapter(x, wd, wu, kind=kind, b_down=bd, b_up=bu)
        assert_close(y, expected, F32_TOL, f"{kind} {(batch, seq)}")


def test_bottleneck_adapter_rank2_dynamic_rows(compile_ir):
    d, r = 8, 2
    module = compile_ir(bottleneck_ir(ttype((None, d)), d, r, "relu", False, True))
    gen = rng(52)
    wd, wu, bu = randn(gen, r, d), randn(gen, d, r), randn(gen, d)
    for rows in (1, 9):
        x = randn(gen, rows, d)
        y = module(x=x, wd=wd, wu=wu, bu=bu)["y"]
        assert_close(y, ref.bottleneck_adapter(x, wd, wu, kind="relu", b_up=bu), F32_TOL, f"rows {rows}")


def test_bottleneck_adapter_f16():
    d, r = 16, 4
    ir = bottleneck_ir(ttype((2, 3, d), "f16"), d, r, "gelu", True, True, element="f16")
    gen = rng(53)
    x = randn(gen, 2, 3, d, dtype=np.float16)
    wd = (0.5 * randn(gen, r, d)).astype(np.float16)
    wu = (0.5 * randn(gen, d, r)).astype(np.float16)
    bd, bu = randn(gen, r, dtype=np.float16), randn(gen, d, dtype=np.float16)
    y = compile_and_run(ir, {"x": x, "wd": wd, "bd": bd, "wu": wu, "bu": bu})["y"]
    assert_close(y, ref.bottleneck_adapter(x, wd, wu, kind="gelu", b_down=bd, b_up=bu), F16_TOL)


# ----------------------------------------------------------------------------------------------------------
# BitFit: trained biases are ordinary bias operands of eff.linear (no op of its own).


@pytest.mark.parametrize("rank", [2, 3])
def test_bitfit_linear_trained_bias_operand(rank, compile_ir):
    # One compile_ir module run with the base model's bias and with the BitFit-trained bias: each run gives
    # the reference output for the bias it was given, and the trained bias changes the output. Rank 3 is
    # the [batch, seq, hidden] activation of a model, with dynamic batch and sequence.
    k, n = 12, 10
    x_t, y_t = ttype((None,) * (rank - 1) + (k,)), ttype((None,) * (rank - 1) + (n,))
    ir = f"""
func.func @main(%x: {x_t} {{eff.name = "x"}}, %w: tensor<{n}x{k}xf32> {{eff.name = "w"}},
                %bias: tensor<{n}xf32> {{eff.name = "bias"}}) -> ({y_t} {{eff.name = "y"}}) {{
  %y = eff.linear %x, %w, %bias : ({x_t}, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> {y_t}
  return %y : {y_t}
}}"""
    module = compile_ir(ir)
    gen = rng(60)
    w, base_bias = randn(gen, n, k), randn(gen, n)
    trained_bias = base_bias + 0.5 * randn(gen, n)
    for leading in ((6,), (1,)) if rank == 2 else ((2, 3), (1, 5)):
        x = randn(gen, *leading, k)
        y_base = module(x=x, w=w, bias=base_bias)["y"]
        y_trained = module(x=x, w=w, bias=trained_bias)["y"]
        assert_close(y_base, ref.linear(x, w, bias=base_bias), F32_TOL, f"base bias {leading}")
        assert_close(y_trained, ref.linear(x, w, bias=trained_bias), F32_TOL, f"trained bias {leading}")
        assert_differs(y_trained, y_base, "trained bias has no effect")
        # Only the bias changed: the difference is the bias delta on every row.
        rows = int(np.prod(leading))
        np.testing.assert_allclose((y_trained - y_base).reshape(rows, n),
                                   np.broadcast_to(trained_bias - base_bias, (rows, n)), rtol=1e-4, atol=1e-5)


def test_bitfit_linear_trained_bias_constant():
    # The frozen weight and the trained bias embedded in the IR as constants (a BitFit checkpoint applied to
    # a base model): the compile_ir output is the reference with the trained bias, not the base bias.
    k, n = 4, 3
    gen = rng(61)
    w, base_bias = randn(gen, n, k), randn(gen, n)
    trained_bias = (base_bias + np.array([1.0, -0.5, 0.25], np.float32)).astype(np.float32)

    def dense(a):
        return "dense<" + np.array2string(a, separator=", ", floatmode="unique", threshold=10**6,
                                          max_line_width=10**6) + ">"

    ir = f"""
func.func @main(%x: tensor<?x{k}xf32> {{eff.name = "x"}}) -> (tensor<?x{n}xf32> {{eff.name = "y"}}) {{
  %w = arith.constant {dense(w)} : tensor<{n}x{k}xf32>
  %bias = arith.constant {dense(trained_bias)} : tensor<{n}xf32>
  %y = eff.linear %x, %w, %bias : (tensor<?x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<?x{n}xf32>
  return %y : tensor<?x{n}xf32>
}}"""
    x = randn(gen, 5, k)
    y = compile_and_run(ir, {"x": x})["y"]
    assert_close(y, ref.linear(x, w, bias=trained_bias), F32_TOL, "trained bias")
    assert_differs(y, ref.linear(x, w, bias=base_bias), "base bias used instead of the trained one")
