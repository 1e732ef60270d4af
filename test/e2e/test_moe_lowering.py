"""Compiled numerics of the Mixture-of-Experts lowering (eff.router, eff.experts, eff.residual_moe) against
the numpy reference (test/reference/eff_reference.py).

Every module has a dynamic token dimension and is compile_ir once, then run at two token counts. Routing
indices must match the reference exactly; weights and outputs to rtol 1e-4, atol 1e-5.

Run with: /usr/bin/python3 -m pytest test/e2e/test_moe_lowering.py
"""

import numpy as np
import pytest

import eff_reference as ref
from effc_testing import CompiledModule

RTOL, ATOL = 1e-4, 1e-5
TOKEN_COUNTS = (16, 7)


def assert_close(actual, expected, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def assert_routing(out, expected_weights, expected_indices, what):
    assert out["indices"].dtype == np.int64
    np.testing.assert_array_equal(out["indices"], expected_indices, err_msg=f"{what}: indices")
    assert_close(out["weights"], expected_weights, f"{what}: weights")
    # Dropped assignments are exactly 0, like the reference's.
    np.testing.assert_array_equal(out["weights"] == 0, expected_weights == 0, err_msg=f"{what}: dropped")


def f32(rng, *shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def skewed_router(rng, tokens, hidden, experts, popular=0, strength=2.0):
    """Inputs and router weights under which expert `popular` is preferred by most tokens."""
    x = f32(rng, tokens, hidden)
    x[:, 0] = np.abs(x[:, 0]) + 1.0
    w = f32(rng, experts, hidden, scale=0.5)
    w[popular, 0] = strength
    return x, w


# ---------------------------------------------------------------------------------------------------------
# eff.router
# ---------------------------------------------------------------------------------------------------------

ROUTER_IR = """
func.func @main(%x: tensor<?x{D}xf32> {{eff.name = "x"}}, %w: tensor<{E}x{D}xf32> {{eff.name = "w"}})
    -> (tensor<?x{K}xf32> {{eff.name = "weights"}}, tensor<?x{K}xi64> {{eff.name = "indices"}}) {{
  %rw, %ri = eff.router {gating} %x, %w {{{attrs}}}
      : (tensor<?x{D}xf32>, tensor<{E}x{D}xf32>) -> (tensor<?x{K}xf32>, tensor<?x{K}xi64>)
  return %rw, %ri : tensor<?x{K}xf32>, tensor<?x{K}xi64>
}}
"""


def router_ir(hidden, experts, top_k, gating="softmax", normalize=False, capacity_factor=None):
    attrs = [f"top_k = {top_k} : i64"]
    if normalize:
        attrs.append("normalize")
    if capacity_factor is not None:
        attrs.append(f"capacity_factor = {capacity_factor!r} : f32")
    return ROUTER_IR.format(D=hidden, E=experts, K=top_k, gating=gating, attrs=", ".join(attrs))


def test_router_switch_top1_capacity_drops(compile_ir):
    """Switch routing (top-1, softmax, capacity 1.25) with one popular expert: capacity drops tokens."""
    hidden, experts = 16, 4
    module = compile_ir(router_ir(hidden, experts, 1, capacity_factor=1.25))
    rng = np.random.default_rng(1)
    for tokens in TOKEN_COUNTS:
        x, w = skewed_router(rng, tokens, hidden, experts)
        expected_w, expected_i = ref.router(x, w, top_k=1, gating="softmax", capacity_factor=1.25)
        capacity = int(np.ceil(1.25 * tokens / experts))
        assert np.count_nonzero(expected_i == 0) > capacity, "test data must overflow expert 0"
        assert np.any(expected_w == 0)
        out = module(x=x, w=w)
        assert_routing(out, expected_w, expected_i, f"switch T={tokens}")


def test_router_top2_normalized(compile_ir):
    """Mixtral routing: top-2 of 8 experts, softmax, weights normalised over the two choices."""
    hidden, experts = 16, 8
    module = compile_ir(router_ir(hidden, experts, 2, normalize=True))
    rng = np.random.default_rng(2)
    for tokens in TOKEN_COUNTS:
        x, w = f32(rng, tokens, hidden), f32(rng, experts, hidden)
        expected_w, expected_i = ref.router(x, w, top_k=2, normalize=True)
        out = module(x=x, w=w)
        assert_routing(out, expected_w, expected_i, f"top-2 T={tokens}")
        np.testing.assert_allclose(out["weights"].sum(-1), 1.0, rtol=1e-5)


def test_router_top2_normalized_with_capacity(compile_ir):
    """Normalisation first, then capacity: second choices are dropped before first choices."""
    hidden, experts = 16, 4
    module = compile_ir(router_ir(hidden, experts, 2, normalize=True, capacity_factor=1.0))
    rng = np.random.default_rng(3)
    for tokens in TOKEN_COUNTS:
        x, w = skewed_router(rng, tokens, hidden, experts, popular=2)
        expected_w, expected_i = ref.router(x, w, top_k=2, normalize=True, capacity_factor=1.0)
        assert np.any(expected_w == 0)
        out = module(x=x, w=w)
        assert_routing(out, expected_w, expected_i, f"top-2 capacity T={tokens}")


def test_router_sigmoid_top3(compile_ir):
    """Sigmoid gating, top-3, raw (unnormalised) scores."""
    hidden, experts = 16, 6
    module = compile_ir(router_ir(hidden, experts, 3, gating="sigmoid"))
    rng = np.random.default_rng(4)
    for tokens in TOKEN_COUNTS:
        x, w = f32(rng, tokens, hidden, scale=0.5), f32(rng, experts, hidden, scale=0.5)
        expected_w, expected_i = ref.router(x, w, top_k=3, gating="sigmoid")
        out = module(x=x, w=w)
        assert_routing(out, expected_w, expected_i, f"sigmoid T={tokens}")


@pytest.mark.parametrize("gating", ["softmax", "sigmoid"])
def test_router_ties_go_to_lower_index(compile_ir, gating):
    """Exact ties: duplicated expert rows and all-zero tokens (all scores equal) pick lower indices first."""
    hidden, experts, top_k = 8, 6, 3
    module = compile_ir(router_ir(hidden, experts, top_k, gating=gating, normalize=True))
    rng = np.random.default_rng(5)
    for tokens in TOKEN_COUNTS:
        w = f32(rng, experts, hidden)
        w[4] = w[1]  # experts 1 and 4 always tie
        w[5] = w[0]  # experts 0 and 5 always tie
        x = f32(rng, tokens, hidden)
        x[::3] = 0.0  # every score equal: choices 0, 1, 2
        expected_w, expected_i = ref.router(x, w, top_k=top_k, gating=gating, normalize=True)
        np.testing.assert_array_equal(expected_i[0], [0, 1, 2])
        out = module(x=x, w=w)
        assert_routing(out, expected_w, expected_i, f"ties {gating} T={tokens}")
        # A tied pair, when chosen, appears lower index first.
        for row in out["indices"]:
            row = list(row)
            for low, high in ((1, 4), (0, 5)):
                if low in row and high in row:
                    assert row.index(low) < row.index(high)


def test_router_rank3_static():
    """A [B, S, D] input: outputs are [B, S, k]."""
    ir = """
func.func @main(%x: tensor<2x5x16xf32> {eff.name = "x"}, %w: tensor<4x16xf32> {eff.name = "w"})
    -> (tensor<2x5x2xf32> {eff.name = "weights"}, tensor<2x5x2xi64> {eff.name = "indices"}) {
  %rw, %ri = eff.router softmax %x, %w {top_k = 2 : i64, capacity_factor = 1.5 : f32}
      : (tensor<2x5x16xf32>, tensor<4x16xf32>) -> (tensor<2x5x2xf32>, tensor<2x5x2xi64>)
  return %rw, %ri : tensor<2x5x2xf32>, tensor<2x5x2xi64>
}
"""
    module = CompiledModule(ir)
    try:
        rng = np.random.default_rng(6)
        x, w = skewed_router(rng, 10, 16, 4, popular=1)
        x = x.reshape(2, 5, 16)
        expected_w, expected_i = ref.router(x, w, top_k=2, capacity_factor=1.5)
        assert np.any(expected_w == 0)
        assert_routing(module(x=x, w=w), expected_w, expected_i, "rank-3 router")
    finally:
        module.close()


# ---------------------------------------------------------------------------------------------------------
# eff.experts
# ---------------------------------------------------------------------------------------------------------

GATED_EXPERTS_IR = """
func.func @main(%x: tensor<?x16xf32> {eff.name = "x"}, %rw: tensor<?x2xf32> {eff.name = "rw"},
                %ri: tensor<?x2xi64> {eff.name = "ri"}, %wu: tensor<4x32x16xf32> {eff.name = "wu"},
                %wg: tensor<4x32x16xf32> {eff.name = "wg"}, %wd: tensor<4x16x32xf32> {eff.name = "wd"})
    -> (tensor<?x16xf32> {eff.name = "y"}) {
  %y = eff.experts %x, %rw, %ri up(%wu) gate(%wg) down(%wd) silu
      : (tensor<?x16xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<4x32x16xf32>, tensor<4x32x16xf32>, tensor<4x16x32xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
"""


def explicit_routing(rng, tokens, experts=4, empty=2, dropped_only=3):
    """Routing over experts with none to `empty` and only dropped (weight 0) assignments to `dropped_only`."""
    used = [e for e in range(experts) if e not in (empty, dropped_only)]
    indices = np.stack([rng.choice(used, size=2, replace=False) for _ in range(tokens)]).astype(np.int64)
    weights = rng.uniform(0.1, 1.0, size=(tokens, 2)).astype(np.float32)
    # Some dropped assignments: one on a used expert, one to an expert that otherwise gets nothing.
    weights[1, 1] = 0.0
    indices[tokens - 1, 1] = dropped_only
    weights[tokens - 1, 1] = 0.0
    return weights, indices


def test_experts_gated_silu_explicit_routing(compile_ir):
    module = compile_ir(GATED_EXPERTS_IR)
    rng = np.random.default_rng(7)
    wu, wg, wd = f32(rng, 4, 32, 16, scale=0.3), f32(rng, 4, 32, 16, scale=0.3), f32(rng, 4, 16, 32, scale=0.3)
    for tokens in TOKEN_COUNTS:
        x = f32(rng, tokens, 16)
        rw, ri = explicit_routing(rng, tokens)
        expected = ref.experts(x, rw, ri, wu, wd, kind="silu", w_gate=wg)
        out = module(x=x, rw=rw, ri=ri, wu=wu, wg=wg, wd=wd)
        assert_close(out["y"], expected, f"gated experts T={tokens}")
        # The dropped-only expert must not contribute: poisoning its weights changes nothing.
        poisoned = wd.copy()
        poisoned[3] = 1e6
        poisoned[2] = 1e6
        out = module(x=x, rw=rw, ri=ri, wu=wu, wg=wg, wd=poisoned)
        assert_close(out["y"], expected, f"gated experts, unused experts poisoned, T={tokens}")


def test_experts_all_tokens_dropped_is_zero(compile_ir):
    module = compile_ir(GATED_EXPERTS_IR)
    rng = np.random.default_rng(8)
    wu, wg, wd = f32(rng, 4, 32, 16), f32(rng, 4, 32, 16), f32(rng, 4, 16, 32)
    for tokens in TOKEN_COUNTS:
        x = f32(rng, tokens, 16)
        ri = rng.integers(0, 4, size=(tokens, 2)).astype(np.int64)
        rw = np.zeros((tokens, 2), np.float32)
        out = module(x=x, rw=rw, ri=ri, wu=wu, wg=wg, wd=wd)
        np.testing.assert_array_equal(out["y"], np.zeros((tokens, 16), np.float32))


ROUTED_GELU_IR = """
func.func @main(%x: tensor<?x16xf32> {eff.name = "x"}, %wr: tensor<4x16xf32> {eff.name = "wr"},
                %wu: tensor<4x24x16xf32> {eff.name = "wu"}, %bu: tensor<4x24xf32> {eff.name = "bu"},
                %wd: tensor<4x16x24xf32> {eff.name = "wd"}, %bd: tensor<4x16xf32> {eff.name = "bd"})
    -> (tensor<?x16xf32> {eff.name = "y"}, tensor<?x2xf32> {eff.name = "weights"},
        tensor<?x2xi64> {eff.name = "indices"}) {
  %rw, %ri = eff.router softmax %x, %wr {top_k = 2 : i64, normalize, capacity_factor = 1.0 : f32}
      : (tensor<?x16xf32>, tensor<4x16xf32>) -> (tensor<?x2xf32>, tensor<?x2xi64>)
  %y = eff.experts %x, %rw, %ri up(%wu, %bu) down(%wd, %bd) gelu
      : (tensor<?x16xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<4x24x16xf32>, tensor<4x24xf32>, tensor<4x16x24xf32>, tensor<4x16xf32>) -> tensor<?x16xf32>
  return %y, %rw, %ri : tensor<?x16xf32>, tensor<?x2xf32>, tensor<?x2xi64>
}
"""


def test_experts_gelu_biases_routed_in_function(compile_ir):
    """Router (top-2, normalised, capacity 1.0) feeding plain GELU experts with biases in one function."""
    module = compile_ir(ROUTED_GELU_IR)
    rng = np.random.default_rng(9)
    wu, bu = f32(rng, 4, 24, 16, scale=0.3), f32(rng, 4, 24, scale=0.3)
    wd, bd = f32(rng, 4, 16, 24, scale=0.3), f32(rng, 4, 16, scale=0.3)
    for tokens in TOKEN_COUNTS:
        x, wr = skewed_router(rng, tokens, 16, 4, popular=1)
        expected_w, expected_i = ref.router(x, wr, top_k=2, normalize=True, capacity_factor=1.0)
        assert np.any(expected_w == 0), "test data must drop assignments"
        expected_y = ref.experts(x, expected_w, expected_i, wu, wd, kind="gelu", b_up=bu, b_down=bd)
        out = module(x=x, wr=wr, wu=wu, bu=bu, wd=wd, bd=bd)
        assert_routing(out, expected_w, expected_i, f"routed experts T={tokens}")
        assert_close(out["y"], expected_y, f"routed experts T={tokens}")


def test_experts_rank3_i32_indices():
    """[B, S, D] activations with i32 indices, top-1, one expert unused."""
    ir = """
func.func @main(%x: tensor<2x3x8xf32> {eff.name = "x"}, %rw: tensor<2x3x1xf32> {eff.name = "rw"},
                %ri: tensor<2x3x1xi32> {eff.name = "ri"}, %wu: tensor<3x12x8xf32> {eff.name = "wu"},
                %bu: tensor<3x12xf32> {eff.name = "bu"}, %wd: tensor<3x8x12xf32> {eff.name = "wd"})
    -> (tensor<2x3x8xf32> {eff.name = "y"}) {
  %y = eff.experts %x, %rw, %ri up(%wu, %bu) down(%wd) gelu_tanh
      : (tensor<2x3x8xf32>, tensor<2x3x1xf32>, tensor<2x3x1xi32>, tensor<3x12x8xf32>, tensor<3x12xf32>, tensor<3x8x12xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}
"""
    module = CompiledModule(ir)
    try:
        rng = np.random.default_rng(10)
        x = f32(rng, 2, 3, 8)
        ri = np.array([[[0], [2], [0]], [[2], [2], [0]]], np.int32)
        rw = rng.uniform(0.2, 1.0, size=(2, 3, 1)).astype(np.float32)
        wu, bu, wd = f32(rng, 3, 12, 8), f32(rng, 3, 12), f32(rng, 3, 8, 12)
        expected = ref.experts(x, rw, ri, wu, wd, kind="gelu_tanh", b_up=bu)
        assert_close(module(x=x, rw=rw, ri=ri, wu=wu, bu=bu, wd=wd)["y"], expected, "rank-3 experts")
    finally:
        module.close()


PANEL_EXPERTS_IR = """
func.func @main(%x: tensor<?x?x32xf32> {{eff.name = "x"}}, %rw: tensor<?x?x2xf32> {{eff.name = "rw"}},
                %ri: tensor<?x?x2xi64> {{eff.name = "ri"}}, %wu: tensor<4x48x32xf32> {{eff.name = "wu"}},
                %bu: tensor<4x48xf32> {{eff.name = "bu"}}, %wd: tensor<4x32x48xf32> {{eff.name = "wd"}},
                %bd: tensor<4x32xf32> {{eff.name = "bd"}}) -> (tensor<?x?x32xf32> {{eff.name = "y"}}) {{
  %y = eff.experts %x, %rw, %ri up(%wu, %bu) down(%wd, %bd) {kind}
      : (tensor<?x?x32xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi64>, tensor<4x48x32xf32>, tensor<4x48xf32>, tensor<4x32x48xf32>, tensor<4x32xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}}
"""


@pytest.mark.parametrize("kind, cpu", [(kind, "native") for kind in
                                        ("relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh")] +
                         [("gelu", "x86-64")])
def test_experts_panel_kernel(kind, cpu):
    """f32 experts whose widths are multiples of 16 run on effc_uk_linear_f32_panels (the activation in its
    epilogue; both micro-kernel variants, AVX-512 and generic x86-64): an odd number of panels (F = 48: a
    pair and a single), a dynamic [B, S] batch, up to ~40 rows per expert (full 8-row tiles and a
    remainder), top-2 routing with capacity drops from the reference router, and an expert that gets no
    token."""
    module = CompiledModule(PANEL_EXPERTS_IR.format(kind=kind), cpu=cpu)
    try:
        rng = np.random.default_rng(21)
        wu, bu = f32(rng, 4, 48, 32, scale=0.3), f32(rng, 4, 48, scale=0.3)
        wd, bd = f32(rng, 4, 32, 48, scale=0.3), f32(rng, 4, 32, scale=0.3)
        for batch, seq in ((3, 13), (1, 5)):
            x, wr = skewed_router(rng, batch * seq, 32, 4, popular=1)
            rw, ri = ref.router(x, wr, top_k=2, capacity_factor=1.25)
            ri = np.where(ri == 3, 0, ri)  # expert 3 gets nothing
            if batch * seq > 8:
                assert np.any(rw == 0), "test data must drop assignments"
            x, rw, ri = x.reshape(batch, seq, 32), rw.reshape(batch, seq, 2), ri.reshape(batch, seq, 2)
            expected = ref.experts(x, rw, ri, wu, wd, kind=kind, b_up=bu, b_down=bd)
            out = module(x=x, rw=rw, ri=ri, wu=wu, bu=bu, wd=wd, bd=bd)
            assert_close(out["y"], expected, f"{kind} experts on panels ({cpu}), [B, S] = [{batch}, {seq}]")
    finally:
        module.close()


# ---------------------------------------------------------------------------------------------------------
# eff.residual_moe
# ---------------------------------------------------------------------------------------------------------

RESIDUAL_IR = """
func.func @main(%x: tensor<?x16xf32> {eff.name = "x"}, %d: tensor<?x16xf32> {eff.name = "dense"},
                %m: tensor<?x16xf32> {eff.name = "moe"}, %wc: tensor<2x16xf32> {eff.name = "wc"},
                %bc: tensor<2xf32> {eff.name = "bc"}) -> (tensor<?x16xf32> {eff.name = "y"}) {
  %y = eff.residual_moe %x, %d, %m, %wc, %bc
      : (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
"""


def test_residual_moe(compile_ir):
    module = compile_ir(RESIDUAL_IR)
    rng = np.random.default_rng(11)
    wc, bc = f32(rng, 2, 16), np.array([0.3, -0.7], np.float32)
    for tokens in TOKEN_COUNTS:
        x, dense, moe = f32(rng, tokens, 16), f32(rng, tokens, 16), f32(rng, tokens, 16)
        expected = ref.residual_moe(x, dense, moe, wc, bc)
        out = module(x=x, dense=dense, moe=moe, wc=wc, bc=bc)
        assert_close(out["y"], expected, f"residual_moe T={tokens}")


def test_residual_moe_pipeline(compile_ir):
    """Dense FFN, router and experts, then the residual mix, all in one function."""
    ir = """
func.func @main(%x: tensor<?x16xf32> {eff.name = "x"}, %w1: tensor<32x16xf32> {eff.name = "w1"},
                %w2: tensor<16x32xf32> {eff.name = "w2"}, %wr: tensor<4x16xf32> {eff.name = "wr"},
                %wu: tensor<4x32x16xf32> {eff.name = "wu"}, %wg: tensor<4x32x16xf32> {eff.name = "wg"},
                %wd: tensor<4x16x32xf32> {eff.name = "wd"}, %wc: tensor<2x16xf32> {eff.name = "wc"},
                %bc: tensor<2xf32> {eff.name = "bc"}) -> (tensor<?x16xf32> {eff.name = "y"}) {
  %dense = eff.ffn %x up(%w1) down(%w2) gelu : (tensor<?x16xf32>, tensor<32x16xf32>, tensor<16x32xf32>) -> tensor<?x16xf32>
  %rw, %ri = eff.router softmax %x, %wr {top_k = 1 : i64, capacity_factor = 1.25 : f32}
      : (tensor<?x16xf32>, tensor<4x16xf32>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
  %moe = eff.experts %x, %rw, %ri up(%wu) gate(%wg) down(%wd) silu
      : (tensor<?x16xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<4x32x16xf32>, tensor<4x32x16xf32>, tensor<4x16x32xf32>) -> tensor<?x16xf32>
  %y = eff.residual_moe %x, %dense, %moe, %wc, %bc
      : (tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
"""
    module = compile_ir(ir)
    rng = np.random.default_rng(12)
    w1, w2 = f32(rng, 32, 16, scale=0.3), f32(rng, 16, 32, scale=0.3)
    wu, wg, wd = f32(rng, 4, 32, 16, scale=0.3), f32(rng, 4, 32, 16, scale=0.3), f32(rng, 4, 16, 32, scale=0.3)
    wc, bc = f32(rng, 2, 16), f32(rng, 2)
    for tokens in TOKEN_COUNTS:
        x, wr = skewed_router(rng, tokens, 16, 4, popular=3)
        dense = ref.ffn(x, w1, w2, kind="gelu")
        rw, ri = ref.router(x, wr, top_k=1, capacity_factor=1.25)
        assert np.any(rw == 0)
        moe = ref.experts(x, rw, ri, wu, wd, kind="silu", w_gate=wg)
        expected = ref.residual_moe(x, dense, moe, wc, bc)
        out = module(x=x, w1=w1, w2=w2, wr=wr, wu=wu, wg=wg, wd=wd, wc=wc, bc=bc)
        assert_close(out["y"], expected, f"residual pipeline T={tokens}")


def test_moe_rank3_dynamic(compile_ir):
    """[?, ?, D] activations (two dynamic leading dimensions) through router, experts and residual mix."""
    ir = """
func.func @main(%x: tensor<?x?x16xf32> {eff.name = "x"}, %wr: tensor<4x16xf32> {eff.name = "wr"},
                %wu: tensor<4x32x16xf32> {eff.name = "wu"}, %wg: tensor<4x32x16xf32> {eff.name = "wg"},
                %wd: tensor<4x16x32xf32> {eff.name = "wd"}, %bd: tensor<4x16xf32> {eff.name = "bd"},
                %dense: tensor<?x?x16xf32> {eff.name = "dense"}, %wc: tensor<2x16xf32> {eff.name = "wc"},
                %bc: tensor<2xf32> {eff.name = "bc"})
    -> (tensor<?x?x16xf32> {eff.name = "y"}, tensor<?x?x2xf32> {eff.name = "weights"},
        tensor<?x?x2xi64> {eff.name = "indices"}) {
  %rw, %ri = eff.router softmax %x, %wr {top_k = 2 : i64, normalize, capacity_factor = 1.0 : f32}
      : (tensor<?x?x16xf32>, tensor<4x16xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  %moe = eff.experts %x, %rw, %ri up(%wu) gate(%wg) down(%wd, %bd) silu
      : (tensor<?x?x16xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi64>, tensor<4x32x16xf32>, tensor<4x32x16xf32>, tensor<4x16x32xf32>, tensor<4x16xf32>) -> tensor<?x?x16xf32>
  %y = eff.residual_moe %x, %dense, %moe, %wc, %bc
      : (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<?x?x16xf32>
  return %y, %rw, %ri : tensor<?x?x16xf32>, tensor<?x?x2xf32>, tensor<?x?x2xi64>
}
"""
    module = compile_ir(ir)
    rng = np.random.default_rng(13)
    wu, wg, wd = f32(rng, 4, 32, 16, scale=0.3), f32(rng, 4, 32, 16, scale=0.3), f32(rng, 4, 16, 32, scale=0.3)
    bd, wc, bc = f32(rng, 4, 16), f32(rng, 2, 16), f32(rng, 2)
    for batch, seq in ((2, 5), (3, 3)):
        x, wr = skewed_router(rng, batch * seq, 16, 4, popular=0)
        x = x.reshape(batch, seq, 16)
        dense = f32(rng, batch, seq, 16)
        expected_w, expected_i = ref.router(x, wr, top_k=2, normalize=True, capacity_factor=1.0)
        assert np.any(expected_w == 0)
        moe = ref.experts(x, expected_w, expected_i, wu, wd, kind="silu", w_gate=wg, b_down=bd)
        expected_y = ref.residual_moe(x, dense, moe, wc, bc)
        out = module(x=x, wr=wr, wu=wu, wg=wg, wd=wd, bd=bd, dense=dense, wc=wc, bc=bc)
        assert_routing(out, expected_w, expected_i, f"rank-3 B={batch} S={seq}")
        assert_close(out["y"], expected_y, f"rank-3 B={batch} S={seq}")


@pytest.mark.parametrize("opt_level", [0])
def test_routed_experts_unoptimised(opt_level):
    """The routed-experts module also compiles and matches at -O0 (no tiling or vectorisation)."""
    module = CompiledModule(ROUTED_GELU_IR, opt_level=opt_level)
    try:
        rng = np.random.default_rng(14)
        wu, bu = f32(rng, 4, 24, 16, scale=0.3), f32(rng, 4, 24, scale=0.3)
        wd, bd = f32(rng, 4, 16, 24, scale=0.3), f32(rng, 4, 16, scale=0.3)
        for tokens in TOKEN_COUNTS:
            x, wr = skewed_router(rng, tokens, 16, 4, popular=1)
            expected_w, expected_i = ref.router(x, wr, top_k=2, normalize=True, capacity_factor=1.0)
            expected_y = ref.experts(x, expected_w, expected_i, wu, wd, kind="gelu", b_up=bu, b_down=bd)
            out = module(x=x, wr=wr, wu=wu, bu=bu, wd=wd, bd=bd)
            assert_routing(out, expected_w, expected_i, f"-O{opt_level} T={tokens}")
            assert_close(out["y"], expected_y, f"-O{opt_level} T={tokens}")
    finally:
        module.close()


def test_single_token_rank1():
    """A rank-1 [D] token: router outputs [k], experts and residual mix [D]."""
    ir = """
func.func @main(%x: tensor<16xf32> {eff.name = "x"}, %wr: tensor<4x16xf32> {eff.name = "wr"},
                %wu: tensor<4x8x16xf32> {eff.name = "wu"}, %wd: tensor<4x16x8xf32> {eff.name = "wd"},
                %dense: tensor<16xf32> {eff.name = "dense"}, %wc: tensor<2x16xf32> {eff.name = "wc"},
                %bc: tensor<2xf32> {eff.name = "bc"})
    -> (tensor<16xf32> {eff.name = "y"}, tensor<2xf32> {eff.name = "weights"}, tensor<2xi64> {eff.name = "indices"}) {
  %rw, %ri = eff.router sigmoid %x, %wr {top_k = 2 : i64, capacity_factor = 2.0 : f32}
      : (tensor<16xf32>, tensor<4x16xf32>) -> (tensor<2xf32>, tensor<2xi64>)
  %moe = eff.experts %x, %rw, %ri up(%wu) down(%wd) relu
      : (tensor<16xf32>, tensor<2xf32>, tensor<2xi64>, tensor<4x8x16xf32>, tensor<4x16x8xf32>) -> tensor<16xf32>
  %y = eff.residual_moe %x, %dense, %moe, %wc, %bc
      : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<2x16xf32>, tensor<2xf32>) -> tensor<16xf32>
  return %y, %rw, %ri : tensor<16xf32>, tensor<2xf32>, tensor<2xi64>
}
"""
    module = CompiledModule(ir)
    try:
        rng = np.random.default_rng(15)
        x, wr, wu, wd = f32(rng, 16), f32(rng, 4, 16), f32(rng, 4, 8, 16), f32(rng, 4, 16, 8)
        dense, wc, bc = f32(rng, 16), f32(rng, 2, 16), f32(rng, 2)
        expected_w, expected_i = ref.router(x, wr, top_k=2, gating="sigmoid", capacity_factor=2.0)
        moe = ref.experts(x, expected_w, expected_i, wu, wd, kind="relu")
        expected_y = ref.residual_moe(x, dense, moe, wc, bc)
        out = module(x=x, wr=wr, wu=wu, wd=wd, dense=dense, wc=wc, bc=bc)
        assert_routing(out, expected_w, expected_i, "rank-1")
        assert_close(out["y"], expected_y, "rank-1")
    finally:
        module.close()


# ---------------------------------------------------------------------------------------------------------
# A whole Switch-MoE encoder
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer_reuse", [True, False])
def test_switch_moe_encoder(layer_reuse):
    """moe_switch_tiny with 4 layers and 4 experts of width 128 (layers 0/2 and 1/3 share a body under
    eff-outline-layers, so the stacked expert weights are arguments of the shared bodies and are packed into
    panels at the callers at compile time; with --no-layer-reuse they are constants folded in place), top-1
    routing with capacity factor 1.25 (tokens dropped), on two batch shapes of one compiled module, against
    the numpy reference evaluation of the same IR."""
    import models
    from effc_testing import CompiledIrModule

    cfg = models.MoeConfig(layers=4)
    weights = models.init_moe(cfg, np.random.default_rng(31))
    compiled = CompiledIrModule(models.build_moe(cfg, weights), [] if layer_reuse else ["--no-layer-reuse"])
    try:
        for batch, seq in ((2, 9), (1, 16)):
            inputs = models.sample_inputs("moe_switch_tiny", np.random.default_rng(batch * seq), batch=batch,
                                          seq=seq)["main"]
            expected = models.build_moe(cfg, weights).evaluate("main", inputs)["last_hidden_state"]
            actual = compiled.run("main", inputs)["last_hidden_state"]
            np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4,
                                       err_msg=f"Switch-MoE encoder [B, S] = [{batch}, {seq}]")
    finally:
        compiled.close()
