"""Tests of the numpy reference for the `eff` dialect (eff_reference.py).

Three kinds of test per op: small cases whose expected numbers are worked out by hand, mathematical
properties of the op, and (when torch is importable) cross-checks against PyTorch's functional ops.
Tolerances: float64-vs-float64 comparisons use F64 (rtol 1e-9); float32 results use F32 (rtol 1e-5).
"""

import math

import numpy as np
import pytest

import eff_reference as ref

F64 = dict(rtol=1e-9, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-6)
LN2, LN3, LN5 = math.log(2.0), math.log(3.0), math.log(5.0)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def a64(x):
    return np.array(x, dtype=np.float64)


# --------------------------------------------------------------------------------------------------------
# dtypes and validation shared by all ops


def test_result_keeps_input_dtype():
    for dtype in (np.float16, np.float32):
        x, w = rand(2, 3).astype(dtype), rand(4, 3).astype(dtype)
        y = ref.linear(x, w)
        assert y.dtype == dtype
        expected = x.astype(np.float64) @ w.astype(np.float64).T
        np.testing.assert_allclose(y, expected, rtol=1e-2 if dtype == np.float16 else 1e-5)


def test_mixed_or_non_float_dtypes_are_rejected():
    with pytest.raises(TypeError):
        ref.add(rand(2).astype(np.float32), rand(2))
    with pytest.raises(TypeError):
        ref.add(np.arange(2), np.arange(2))
    with pytest.raises(TypeError):
        ref.embedding(rand(3, 2), a64([0, 1]))


# --------------------------------------------------------------------------------------------------------
# embedding, position_ids


def test_embedding_gathers_rows():
    table = a64([[0, 1], [10, 11], [20, 21]])
    out = ref.embedding(table, np.array([[2, 0, 2]], dtype=np.int32), kind="position")
    np.testing.assert_array_equal(out, [[[20, 21], [0, 1], [20, 21]]])
    assert out.shape == (1, 3, 2)


def test_embedding_rejects_bad_table_indices_and_kind():
    with pytest.raises(ValueError, match="eff_embedding_c1"):
        ref.embedding(rand(6), np.array([0]))
    with pytest.raises(ValueError, match="out of"):
        ref.embedding(rand(3, 2), np.array([3]))
    with pytest.raises(ValueError, match="out of"):
        ref.embedding(rand(3, 2), np.array([-1]))
    with pytest.raises(ValueError):
        ref.embedding(rand(3, 2), np.array([0]), kind="word")


def test_position_ids_counts_from_offset_with_ids_shape_and_dtype():
    ids = np.array([[7, 7, 7], [1, 2, 3]], dtype=np.int32)
    pos = ref.position_ids(ids, offset=4)
    np.testing.assert_array_equal(pos, [[4, 5, 6], [4, 5, 6]])
    assert pos.dtype == np.int32
    np.testing.assert_array_equal(ref.position_ids(np.zeros(3, dtype=np.int64)), [0, 1, 2])
    with pytest.raises(ValueError, match="eff_position_ids_c1"):
        ref.position_ids(np.array(5))


# --------------------------------------------------------------------------------------------------------
# linear, matmul


def test_linear_hand_case():
    w = a64([[1, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(ref.linear(a64([1, 2]), w, bias=a64([0.5, 0, -1])), [1.5, 2, 2])
    np.testing.assert_array_equal(ref.linear(a64([[[1, 2]]]), w), [[[1, 2, 3]]])


def test_linear_rejects_bad_shapes():
    with pytest.raises(ValueError, match="eff_linear_c2"):
        ref.linear(rand(2, 3), rand(4, 2))
    with pytest.raises(ValueError, match="eff_linear_c3"):
        ref.linear(rand(2, 3), rand(4, 3), bias=rand(1))
    with pytest.raises(ValueError, match="eff_linear_c1"):
        ref.linear(rand(2, 3), rand(4, 3, 1))


def test_matmul_hand_case_and_transpose_b():
    a, b = a64([[1, 2], [3, 4]]), a64([[5, 6], [7, 8]])
    np.testing.assert_array_equal(ref.matmul(a, b), [[19, 22], [43, 50]])
    np.testing.assert_array_equal(ref.matmul(a, b, transpose_b=True), [[17, 23], [39, 53]])


def test_matmul_batched_and_shared_rank2_b():
    a, b3, b2 = rand(2, 3, 4), rand(2, 5, 4, seed=1), rand(4, 5, seed=2)
    out = ref.matmul(a, b3, transpose_b=True)
    assert out.shape == (2, 3, 5)
    for i in range(2):
        np.testing.assert_allclose(out[i], a[i] @ b3[i].T, **F64)
        np.testing.assert_allclose(ref.matmul(a, b2)[i], a[i] @ b2, **F64)


def test_matmul_rejects_bad_shapes():
    with pytest.raises(ValueError, match="eff_matmul_c1"):
        ref.matmul(rand(3), rand(3, 2))
    with pytest.raises(ValueError, match="eff_matmul_c2"):
        ref.matmul(rand(2, 3, 4), rand(3, 4, 5))  # batch 3 != 2: no broadcasting
    with pytest.raises(ValueError, match="eff_matmul_c2"):
        ref.matmul(rand(2, 2, 3, 4), rand(2, 4, 5))
    with pytest.raises(ValueError, match="eff_matmul_c3"):
        ref.matmul(rand(3, 4), rand(5, 4))


# --------------------------------------------------------------------------------------------------------
# layer_norm, rms_norm, softmax


def test_layer_norm_hand_case():
    # x = [1, 3]: mean 2, biased var 1; epsilon 3 -> sqrt(4) = 2 -> normalized [-0.5, 0.5].
    out = ref.layer_norm(a64([1, 3]), a64([2, 1]), beta=a64([1, 0]), epsilon=3.0)
    np.testing.assert_allclose(out, [0.0, 0.5], **F64)
    np.testing.assert_allclose(ref.layer_norm(a64([1, 3]), a64([1, 1]), epsilon=3.0), [-0.5, 0.5], **F64)


def test_layer_norm_normalizes_rows_before_affine():
    x = rand(3, 4, 16) * 5 + 2
    y = ref.layer_norm(x, np.ones(16), epsilon=1e-12)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-9)
    gamma, beta = rand(16, seed=1), rand(16, seed=2)
    np.testing.assert_allclose(ref.layer_norm(x, gamma, beta=beta, epsilon=1e-12), y * gamma + beta, **F64)


def test_layer_norm_rejects_bad_shapes_and_epsilon():
    with pytest.raises(ValueError, match="eff_layer_norm_c1"):
        ref.layer_norm(rand(2, 4), rand(3), epsilon=1e-5)
    with pytest.raises(ValueError, match="eff_layer_norm_c1"):
        ref.layer_norm(rand(2, 4), rand(4), beta=rand(1), epsilon=1e-5)
    with pytest.raises(ValueError, match="eff_layer_norm_c2"):
        ref.layer_norm(rand(2, 4), rand(4), epsilon=0.0)


def test_rms_norm_hand_case():
    # x = [3, 4]: mean(x^2) = 12.5; epsilon 3.5 -> sqrt(16) = 4 -> [0.75, 1]; times gamma [2, 1].
    np.testing.assert_allclose(ref.rms_norm(a64([3, 4]), a64([2, 1]), epsilon=3.5), [1.5, 1.0], **F64)


def test_rms_norm_gives_unit_rms_and_ignores_mean():
    x = rand(5, 8) + 3
    y = ref.rms_norm(x, np.ones(8), epsilon=1e-12)
    np.testing.assert_allclose(np.sqrt((y**2).mean(-1)), 1, rtol=1e-9)
    np.testing.assert_allclose(y, x / np.sqrt((x**2).mean(-1, keepdims=True)), **F64)  # no mean subtraction
    with pytest.raises(ValueError, match="eff_rms_norm_c1"):
        ref.rms_norm(x, np.ones(7), epsilon=1e-6)
    with pytest.raises(ValueError, match="eff_rms_norm_c2"):
        ref.rms_norm(x, np.ones(8), epsilon=-1.0)


def test_softmax_hand_case_and_axis():
    np.testing.assert_allclose(ref.softmax(a64([0, LN3])), [0.25, 0.75], **F64)
    np.testing.assert_allclose(ref.softmax(a64([[0, 5], [LN3, 5]]), axis=0), [[0.25, 0.5], [0.75, 0.5]], **F64)
    np.testing.assert_allclose(ref.softmax(a64([1000, 1000, -1000])), [0.5, 0.5, 0], **F64)  # no overflow


def test_softmax_rows_sum_to_one_and_shift_invariant():
    x = rand(3, 4, 7) * 10
    for axis in (-1, 0, 1, -3):
        p = ref.softmax(x, axis=axis)
        np.testing.assert_allclose(p.sum(axis=axis), 1, rtol=1e-12)
        assert (p >= 0).all()
    np.testing.assert_allclose(ref.softmax(x + 123.0), ref.softmax(x), **F64)
    with pytest.raises(ValueError, match="eff_softmax_c1"):
        ref.softmax(x, axis=3)
    with pytest.raises(ValueError, match="eff_softmax_c1"):
        ref.softmax(x, axis=-4)


# --------------------------------------------------------------------------------------------------------
# activation, glu, add


def test_activation_hand_values():
    np.testing.assert_array_equal(ref.activation("relu", a64([-1, 0, 2])), [0, 0, 2])
    np.testing.assert_allclose(ref.activation("sigmoid", a64([0, LN3, -LN3])), [0.5, 0.75, 0.25], **F64)
    np.testing.assert_allclose(ref.activation("silu", a64([0, LN3])), [0, 0.75 * LN3], **F64)
    # gelu(1) = Phi(1), the standard normal CDF at 1; gelu(-1) = -(1 - Phi(1)).
    expected = [0, 0.8413447460685429, -0.15865525393145707]
    np.testing.assert_allclose(ref.activation("gelu", a64([0, 1, -1])), expected, **F64)
    # gelu_tanh(1) = 0.5 * (1 + tanh(sqrt(2/pi) * 1.044715)).
    np.testing.assert_allclose(ref.activation("gelu_tanh", a64([1])), [0.8411919906082768], **F64)


def test_activation_properties():
    x = np.linspace(-6, 6, 101)
    for kind in ("gelu", "gelu_tanh", "silu"):  # f(x) - f(-x) = x for x * (symmetric CDF)
        np.testing.assert_allclose(ref.activation(kind, x) - ref.activation(kind, -x), x, atol=1e-12)
    np.testing.assert_allclose(ref.activation("gelu", x), ref.activation("gelu_tanh", x), atol=1e-3)
    np.testing.assert_allclose(ref.activation("silu", x), x * ref.activation("sigmoid", x), **F64)
    np.testing.assert_allclose(ref.activation("tanh", x), np.tanh(x), **F64)
    with pytest.raises(ValueError, match="activation kind"):
        ref.activation("softplus", x)


def test_glu_hand_case():
    np.testing.assert_allclose(ref.glu("sigmoid", a64([0, LN3]), a64([4, 8])), [2, 6], **F64)
    np.testing.assert_allclose(ref.glu("silu", a64([LN3]), a64([2])), [1.5 * LN3], **F64)
    with pytest.raises(ValueError, match="glu"):
        ref.glu("silu", rand(2, 3), rand(3))


def test_add_hand_case_and_no_broadcast():
    np.testing.assert_array_equal(ref.add(a64([1, 2]), a64([3, 4])), [4, 6])
    with pytest.raises(ValueError, match="add"):
        ref.add(rand(2, 3), rand(3))


# --------------------------------------------------------------------------------------------------------
# rotary


def test_rotary_hand_case_rotate_half_and_interleaved():
    # Dh = 4, theta = 100: inv_freq = [1, 100^-0.5 = 0.1]; at position 1 the angles are 1 and 0.1.
    x = a64([[1, 2, 3, 4]])
    pos = np.array([1])
    c1, s1, c2, s2 = math.cos(1), math.sin(1), math.cos(0.1), math.sin(0.1)
    half = [1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 3 * c1 + 1 * s1, 4 * c2 + 2 * s2]  # pairs (x0, x2), (x1, x3)
    np.testing.assert_allclose(ref.rotary(x, pos, num_heads=1, theta=100.0), [half], **F64)
    inter = [1 * c1 - 2 * s1, 2 * c1 + 1 * s1, 3 * c2 - 4 * s2, 4 * c2 + 3 * s2]  # pairs (x0, x1), (x2, x3)
    np.testing.assert_allclose(ref.rotary(x, pos, num_heads=1, theta=100.0, interleaved=True), [inter], **F64)


def test_rotary_partial_dim_passes_tail_through():
    # Dh = 6, R = 4, theta = 100: inv_freq = [1, 100^(-2/4) = 0.1]; pairs (x0, x2), (x1, x3); x4, x5 pass, per head.
    x = a64([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]])
    c1, s1, c2, s2 = math.cos(1), math.sin(1), math.cos(0.1), math.sin(0.1)
    out = ref.rotary(x, np.array([1]), num_heads=2, theta=100.0, rotary_dim=4)
    expected = [1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 3 * c1 + 1 * s1, 4 * c2 + 2 * s2, 5, 6,
                7 * c1 - 9 * s1, 8 * c2 - 10 * s2, 9 * c1 + 7 * s1, 10 * c2 + 8 * s2, 11, 12]
    np.testing.assert_allclose(out, [expected], **F64)


def test_rotary_position_zero_is_identity_and_pair_norms_are_kept():
    x = rand(2, 5, 3 * 8)
    np.testing.assert_allclose(ref.rotary(x, np.zeros(5, dtype=np.int64), num_heads=3, theta=10000.0), x, **F64)
    pos = np.arange(5) * 7
    for interleaved in (False, True):
        y = ref.rotary(x, pos, num_heads=3, theta=10000.0, interleaved=interleaved).reshape(2, 5, 3, 8)
        xh = x.reshape(2, 5, 3, 8)
        u, v = (slice(0, 8, 2), slice(1, 8, 2)) if interleaved else (slice(0, 4), slice(4, 8))
        np.testing.assert_allclose(y[..., u] ** 2 + y[..., v] ** 2, xh[..., u] ** 2 + xh[..., v] ** 2, **F64)


def test_rotary_dot_product_depends_on_relative_position_only():
    q, k = rand(1, 1, 8), rand(1, 1, 8, seed=1)

    def score(m, n):
        qm = ref.rotary(q, np.array([m]), num_heads=1, theta=10000.0)
        kn = ref.rotary(k, np.array([n]), num_heads=1, theta=10000.0)
        return float((qm * kn).sum())

    assert score(5, 2) == pytest.approx(score(13, 10), rel=1e-9)
    assert score(0, 0) == pytest.approx(float((q * k).sum()), rel=1e-12)


def test_rotary_heads_are_independent_and_positions_broadcast():
    x = rand(2, 3, 12)
    pos = np.array([3, 1, 4])
    full = ref.rotary(x, np.broadcast_to(pos, (2, 3)), num_heads=2, theta=500.0)
    np.testing.assert_allclose(ref.rotary(x, pos, num_heads=2, theta=500.0), full, **F64)
    for h in range(2):
        one = ref.rotary(x[..., 6 * h:6 * h + 6], pos, num_heads=1, theta=500.0)
        np.testing.assert_allclose(full[..., 6 * h:6 * h + 6], one, **F64)


def test_rotary_rejects_bad_arguments():
    x = rand(2, 3, 8)
    with pytest.raises(ValueError, match="eff_rotary_c1"):
        ref.rotary(x, np.arange(3), num_heads=3, theta=1e4)
    with pytest.raises(ValueError, match="eff_rotary_c2"):
        ref.rotary(x, np.arange(3), num_heads=2, theta=1e4, rotary_dim=3)
    with pytest.raises(ValueError, match="eff_rotary_c2"):
        ref.rotary(x, np.arange(3), num_heads=2, theta=1e4, rotary_dim=6)
    with pytest.raises(ValueError, match="eff_rotary_c3"):
        ref.rotary(x, np.arange(4), num_heads=2, theta=1e4)
    with pytest.raises(ValueError, match="eff_rotary_c4"):
        ref.rotary(x, np.arange(3), num_heads=2, theta=0.0)


# --------------------------------------------------------------------------------------------------------
# attention


def test_attention_hand_case():
    # One head, Dh = 1, scale 1: scores [0, ln 3] -> P = [0.25, 0.75] -> out = 0.25*4 + 0.75*8 = 7.
    q, k, v = a64([[[1]]]), a64([[[0], [LN3]]]), a64([[[4], [8]]])
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads=1), [[[7]]], **F64)
    # scale 2 doubles the scores: [0, 2 ln 3] -> P = [0.1, 0.9] -> out = 0.4 + 7.2 = 7.6.
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads=1, scale=2.0), [[[7.6]]], **F64)
    # head_mask multiplies the probabilities.
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads=1, head_mask=a64([0.5])), [[[3.5]]], **F64)


def test_attention_causal_and_padding_hand_case():
    q, k, v = a64([[[1], [1]]]), a64([[[0], [LN3]]]), a64([[[4], [8]]])
    # causal, S = L: query 0 sees key 0 only; query 1 sees both.
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads=1, causal=True), [[[4], [7]]], **F64)
    # causal with S = 1 < L = 2: the query is the last position and sees everything.
    np.testing.assert_allclose(ref.attention(q[:, :1], k, v, num_heads=1, causal=True), [[[7]]], **F64)
    # padding mask drops key 1.
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads=1, mask=np.array([[1, 0]])), [[[4], [4]]], **F64)
    # a fully masked row gives zeros; a float mask counts nonzero as attend.
    np.testing.assert_array_equal(ref.attention(q, k, v, num_heads=1, mask=np.zeros((1, 2))), [[[0], [0]]])
    out = ref.attention(q, k, v, num_heads=1, causal=True, mask=np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(out, [[[0], [8]]], **F64)


def test_attention_causal_offset_with_queries_at_the_end():
    # S = 2, L = 4: query i may see keys j <= i + 2.
    q, k, v = rand(1, 2, 4), rand(1, 4, 4, seed=1), rand(1, 4, 4, seed=2)
    out = ref.attention(q, k, v, num_heads=2, causal=True)
    np.testing.assert_allclose(out[:, :1], ref.attention(q[:, :1], k[:, :3], v[:, :3], num_heads=2), **F64)
    np.testing.assert_allclose(out[:, 1:], ref.attention(q[:, 1:], k, v, num_heads=2), **F64)


def test_attention_heads_use_their_own_slices_and_head_mask_zeroes_a_head():
    q, k, v = rand(2, 3, 8), rand(2, 5, 8, seed=1), rand(2, 5, 8, seed=2)
    out = ref.attention(q, k, v, num_heads=2, head_mask=a64([1, 0]))
    for h in range(2):
        sl = slice(4 * h, 4 * h + 4)
        expected = ref.attention(q[..., sl], k[..., sl], v[..., sl], num_heads=1) * (1 - h)
        np.testing.assert_allclose(out[..., sl], expected, **F64)


def test_attention_causal_output_ignores_later_tokens():
    q, k, v = rand(2, 6, 8), rand(2, 6, 8, seed=1), rand(2, 6, 8, seed=2)
    out = ref.attention(q, k, v, num_heads=2, causal=True)
    q2, k2, v2 = q.copy(), k.copy(), v.copy()
    q2[:, 4:], k2[:, 4:], v2[:, 4:] = 9.0, -3.0, 7.0
    out2 = ref.attention(q2, k2, v2, num_heads=2, causal=True)
    np.testing.assert_allclose(out2[:, :4], out[:, :4], **F64)
    assert not np.allclose(out2[:, 4:], out[:, 4:])


def test_attention_bias_is_added_to_scaled_scores_before_masking():
    # One head, Dh = 1, scale 1: scores [0, 0] + bias [0, ln 3] -> P = [0.25, 0.75] -> 7.
    q, k, v = a64([[[1]]]), a64([[[0], [0]]]), a64([[[4], [8]]])
    bias = a64([0.0, LN3]).reshape(1, 1, 1, 2)
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads=1, bias=bias), [[[7]]], **F64)
    # the padding mask still wins over a large bias; a bias with batch 1 broadcasts.
    out = ref.attention(np.repeat(q, 2, 0), np.repeat(k, 2, 0), np.repeat(v, 2, 0), num_heads=1, bias=bias,
                        mask=np.array([[1, 0], [1, 1]]))
    np.testing.assert_allclose(out, [[[4]], [[7]]], **F64)
    with pytest.raises(ValueError, match="eff_attention_c10"):
        ref.attention(q, k, v, num_heads=1, bias=a64(np.zeros((1, 2, 1, 2))))


def test_relative_position_buckets_match_t5_hand_values():
    # Bidirectional, 32 buckets, max_distance 128: 16 per side, 8 exact, then log-spaced up to 128.
    rel = np.array([-1, 0, 1, 7, 8, 12, 16, 32, 64, 127, 128, 1000, -8, -16, -1000])
    got = ref.relative_position_bucket(rel, num_buckets=32, max_distance=128, bidirectional=True)
    np.testing.assert_array_equal(got, [1, 0, 17, 23, 24, 25, 26, 28, 30, 31, 31, 31, 8, 10, 15])
    # Causal: later keys share bucket 0; earlier ones count their distance.
    got = ref.relative_position_bucket(np.array([3, 0, -1, -15, -16, -20, -1000]), num_buckets=32, max_distance=128,
                                       bidirectional=False)
    np.testing.assert_array_equal(got, [0, 0, 1, 15, 16, 17, 31])


def test_relative_position_bias_reads_the_table_per_head_with_queries_at_the_end():
    table = rand(32, 3)
    full = ref.relative_position_bias(table, query_length=5, key_length=5, bidirectional=False)
    assert full.shape == (1, 3, 5, 5)
    np.testing.assert_array_equal(full[0, :, 4, 1], table[3])  # key 1, query 4: distance 3
    # A query at the end of a cache sees the last row of the full bias.
    last = ref.relative_position_bias(table, query_length=1, key_length=5, bidirectional=False)
    np.testing.assert_array_equal(last, full[:, :, 4:])


def test_attention_with_past_equals_attention_over_concatenation():
    b, p, s, h, hkv, dh = 2, 5, 3, 4, 2, 4
    q, k, v = rand(b, p + s, h * dh), rand(b, p + s, hkv * dh, seed=1), rand(b, p + s, hkv * dh, seed=2)
    mask = np.ones((b, p + s), dtype=np.int64)
    mask[1, :2] = 0
    full = ref.attention(q, k, v, num_heads=h, num_kv_heads=hkv, causal=True, mask=mask)
    out, pk, pv = ref.attention(q[:, p:], k[:, p:], v[:, p:], num_heads=h, num_kv_heads=hkv, causal=True, mask=mask,
                                past_key=k[:, :p], past_value=v[:, :p])
    np.testing.assert_allclose(out, full[:, p:], **F64)
    np.testing.assert_array_equal(pk, k)
    np.testing.assert_array_equal(pv, v)


def test_attention_gqa_maps_query_head_to_kv_head_by_division():
    q, k, v = rand(1, 3, 6 * 2), rand(1, 4, 2 * 2, seed=1), rand(1, 4, 2 * 2, seed=2)
    gqa = ref.attention(q, k, v, num_heads=6, num_kv_heads=2)
    # Heads 0-2 read kv head 0, heads 3-5 kv head 1: repeat each kv head 3 times, then plain MHA.
    def expand(t):
        return np.repeat(t.reshape(1, 4, 2, 2), 3, axis=2).reshape(1, 4, 12)

    np.testing.assert_allclose(gqa, ref.attention(q, expand(k), expand(v), num_heads=6), **F64)
    # Multi-query: every query head reads the single kv head.
    k1, v1 = k[..., :2], v[..., :2]
    mqa = ref.attention(q, k1, v1, num_heads=6, num_kv_heads=1)
    expected = ref.attention(q, np.tile(k1, (1, 1, 6)), np.tile(v1, (1, 1, 6)), num_heads=6)
    np.testing.assert_allclose(mqa, expected, **F64)
    k6, v6 = rand(1, 4, 12, seed=3), rand(1, 4, 12, seed=4)
    mha = ref.attention(q, k6, v6, num_heads=6)
    np.testing.assert_array_equal(ref.attention(q, k6, v6, num_heads=6, num_kv_heads=6), mha)


def test_attention_explicit_scale():
    q, k, v = rand(1, 3, 8), rand(1, 4, 8, seed=1), rand(1, 4, 8, seed=2)
    # default scale 1/sqrt(4) = 0.5; scale s equals the default on q * 2s.
    expected = ref.attention(q * 0.6, k, v, num_heads=2)
    np.testing.assert_allclose(ref.attention(q, k, v, num_heads=2, scale=0.3), expected, **F64)


def test_attention_rejects_bad_arguments():
    q, k = rand(1, 3, 8), rand(1, 4, 8)
    cases = [
        ("eff_attention_c1", dict(q=rand(3, 8), k=k, v=k)),
        ("eff_attention_c1", dict(q=q, k=k, v=rand(1, 5, 8))),
        ("eff_attention_c1", dict(q=rand(2, 3, 8), k=k, v=k)),
        ("eff_attention_c2", dict(q=q, k=k, v=k, num_heads=3)),
        ("eff_attention_c3", dict(q=q, k=k, v=k, num_heads=4, num_kv_heads=3)),
        ("eff_attention_c4", dict(q=q, k=k, v=k, num_heads=4, num_kv_heads=2)),
        ("eff_attention_c5", dict(q=q, k=k, v=k, mask=np.ones((1, 3)))),
        ("eff_attention_c6", dict(q=q, k=k, v=k, head_mask=np.ones(3))),
        ("eff_attention_c7", dict(q=q, k=k, v=k, past_key=rand(1, 2, 8))),
        ("eff_attention_c7", dict(q=q, k=k, v=k, past_key=rand(1, 2, 8), past_value=rand(1, 2, 4))),
        ("eff_attention_c8", dict(q=q, k=k, v=k, scale=-1.0)),
        ("eff_attention_c9", dict(q=rand(1, 5, 8), k=k, v=k, causal=True)),
    ]
    for constraint, kwargs in cases:
        kwargs.setdefault("num_heads", 2)
        with pytest.raises(ValueError, match=constraint):
            ref.attention(kwargs.pop("q"), kwargs.pop("k"), kwargs.pop("v"), **kwargs)


# --------------------------------------------------------------------------------------------------------
# ffn


def test_ffn_hand_case_plain_and_gated():
    x, w_up, b_up, w_down, b_down = a64([2]), a64([[1], [-1]]), a64([0, 1]), a64([[3, 5]]), a64([1])
    # up = [2, -1], relu -> [2, 0], down = 3*2 + 1 = 7.
    np.testing.assert_allclose(ref.ffn(x, w_up, w_down, kind="relu", b_up=b_up, b_down=b_down), [7], **F64)
    # gate = relu([2, -2]) = [2, 0]; h = gate * up = [4, 0]; down = 12 + 1 = 13.
    out = ref.ffn(x, w_up, w_down, kind="relu", b_up=b_up, w_gate=a64([[1], [-1]]), b_down=b_down)
    np.testing.assert_allclose(out, [13], **F64)


def test_ffn_equals_linear_activation_linear():
    x, wu, bu, wg = rand(2, 3, 4), rand(6, 4, seed=1), rand(6, seed=2), rand(6, 4, seed=3)
    wd, bd = rand(4, 6, seed=4), rand(4, seed=5)
    plain = ref.linear(ref.activation("gelu", ref.linear(x, wu, bias=bu)), wd, bias=bd)
    np.testing.assert_allclose(ref.ffn(x, wu, wd, kind="gelu", b_up=bu, b_down=bd), plain, **F64)
    gated = ref.linear(ref.glu("silu", ref.linear(x, wg), ref.linear(x, wu, bias=bu)), wd)
    np.testing.assert_allclose(ref.ffn(x, wu, wd, kind="silu", b_up=bu, w_gate=wg), gated, **F64)


def test_ffn_rejects_bad_shapes():
    x = rand(2, 4)
    with pytest.raises(ValueError, match="eff_ffn_c1"):
        ref.ffn(x, rand(6, 3), rand(4, 6), kind="relu")
    with pytest.raises(ValueError, match="eff_ffn_c1"):
        ref.ffn(x, rand(6, 4), rand(4, 6), kind="relu", w_gate=rand(5, 4))
    with pytest.raises(ValueError, match="eff_ffn_c2"):
        ref.ffn(x, rand(6, 4), rand(4, 5), kind="relu")
    with pytest.raises(ValueError, match="eff_ffn_c3"):
        ref.ffn(x, rand(6, 4), rand(4, 6), kind="relu", b_up=rand(4))
    with pytest.raises(ValueError, match="eff_ffn_c3"):
        ref.ffn(x, rand(6, 4), rand(4, 6), kind="relu", b_down=rand(6))
    with pytest.raises(ValueError, match="activation kind"):
        ref.ffn(x, rand(6, 4), rand(4, 6), kind="swish")


# --------------------------------------------------------------------------------------------------------
# Adapters


def test_lora_hand_case():
    # y = 1 + (4 / 1) * ([1, 2] . [1, 1]) * 2 = 1 + 4 * 3 * 2 = 25.
    out = ref.lora(a64([1]), a64([1, 2]), a64([[1, 1]]), a64([[2]]), rank=1, alpha=4.0)
    np.testing.assert_allclose(out, [25], **F64)


def test_lora_zero_b_is_base_and_lora_merges_into_weight():
    x, w, a, b = rand(2, 3, 5), rand(4, 5, seed=1), rand(2, 5, seed=2), rand(4, 2, seed=3)
    base = ref.linear(x, w)
    np.testing.assert_array_equal(ref.lora(base, x, a, np.zeros((4, 2)), rank=2, alpha=16.0), base)
    merged = ref.linear(x, w + (16.0 / 2) * b @ a)
    np.testing.assert_allclose(ref.lora(base, x, a, b, rank=2, alpha=16.0), merged, **F64)


def test_lora_rejects_bad_shapes():
    base, x = rand(3, 4), rand(3, 5)
    with pytest.raises(ValueError, match="eff_lora_c1"):
        ref.lora(base, x, rand(2, 5), rand(4, 2), rank=3, alpha=1.0)
    with pytest.raises(ValueError, match="eff_lora_c2"):
        ref.lora(base, x, rand(2, 6), rand(4, 2), rank=2, alpha=1.0)
    with pytest.raises(ValueError, match="eff_lora_c2"):
        ref.lora(base, x, rand(2, 5), rand(3, 2), rank=2, alpha=1.0)
    with pytest.raises(ValueError, match="eff_lora_c3"):
        ref.lora(rand(2, 4), x, rand(2, 5), rand(4, 2), rank=2, alpha=1.0)


def test_ia3_scales_last_dimension():
    np.testing.assert_array_equal(ref.ia3(a64([[1, 2, 3]]), a64([2, 0, -1]), target="ffn"), [[2, 0, -3]])
    with pytest.raises(ValueError, match="eff_ia3_c1"):
        ref.ia3(rand(2, 3), rand(2))
    with pytest.raises(ValueError, match="target"):
        ref.ia3(rand(2, 3), rand(3), target="query")


def test_prefix_prepends_to_every_batch():
    k, v, pk, pv = rand(2, 3, 4), rand(2, 3, 4, seed=1), rand(5, 4, seed=2), rand(5, 4, seed=3)
    k2, v2 = ref.prefix(k, v, pk, pv)
    assert k2.shape == v2.shape == (2, 8, 4)
    for b in range(2):
        np.testing.assert_array_equal(k2[b], np.concatenate([pk, k[b]]))
        np.testing.assert_array_equal(v2[b], np.concatenate([pv, v[b]]))
    with pytest.raises(ValueError, match="eff_prefix_c1"):
        ref.prefix(k, rand(2, 4, 4), pk, pv)
    with pytest.raises(ValueError, match="eff_prefix_c1"):
        ref.prefix(k, v, pk, rand(4, 4))
    with pytest.raises(ValueError, match="eff_prefix_c2"):
        ref.prefix(k, v, rand(5, 3), rand(5, 3))


def test_prefix_then_attention_sees_prefix():
    # With a prefix key of huge score, the query attends to the prefix value only.
    q, k, v = a64([[[1]]]), a64([[[0]]]), a64([[[5]]])
    k2, v2 = ref.prefix(k, v, a64([[100]]), a64([[-2]]))
    np.testing.assert_allclose(ref.attention(q, k2, v2, num_heads=1), [[[-2]]], atol=1e-12)


def test_prompt_prepends_soft_prompt():
    e, p = rand(2, 3, 4), rand(5, 4, seed=1)
    out = ref.prompt(e, p)
    assert out.shape == (2, 8, 4)
    np.testing.assert_array_equal(out[1, :5], p)
    np.testing.assert_array_equal(out[1, 5:], e[1])
    with pytest.raises(ValueError, match="eff_prompt_c1"):
        ref.prompt(e, rand(5, 3))
    with pytest.raises(ValueError, match="eff_prompt_c1"):
        ref.prompt(e[0], p)


def test_bottleneck_adapter_hand_case_and_zero_up_is_identity():
    # down: relu(2*1 - 1) = 1; up: 3*1 + 0.5 = 3.5; y = 1 + 3.5.
    out = ref.bottleneck_adapter(a64([1]), a64([[2]]), a64([[3]]), kind="relu", b_down=a64([-1]), b_up=a64([0.5]))
    np.testing.assert_allclose(out, [4.5], **F64)
    x = rand(2, 3, 6)
    out = ref.bottleneck_adapter(x, rand(2, 6, seed=1), np.zeros((6, 2)), kind="gelu", b_down=rand(2), b_up=np.zeros(6))
    np.testing.assert_array_equal(out, x)


def test_bottleneck_adapter_rejects_bad_shapes():
    x = rand(3, 6)
    with pytest.raises(ValueError, match="eff_bottleneck_adapter_c1"):
        ref.bottleneck_adapter(x, rand(2, 5), rand(6, 2), kind="relu")
    with pytest.raises(ValueError, match="eff_bottleneck_adapter_c1"):
        ref.bottleneck_adapter(x, rand(2, 6), rand(2, 6), kind="relu")
    with pytest.raises(ValueError, match="eff_bottleneck_adapter_c2"):
        ref.bottleneck_adapter(x, rand(2, 6), rand(6, 2), kind="relu", b_down=rand(6))
    with pytest.raises(ValueError, match="eff_bottleneck_adapter_c2"):
        ref.bottleneck_adapter(x, rand(2, 6), rand(6, 2), kind="relu", b_up=rand(2))


# --------------------------------------------------------------------------------------------------------
# Mixture of experts


def one_feature_router(logits):
    """x = [[1]] and W = logits as a column: the router's logits are exactly `logits`."""
    return a64([[1]]), a64(logits)[:, None]


def test_router_softmax_top2_hand_case():
    # logits [0, ln 2, ln 5] -> softmax = [1, 2, 5] / 8.
    x, w = one_feature_router([0, LN2, LN5])
    weights, indices = ref.router(x, w, top_k=2)
    np.testing.assert_array_equal(indices, [[2, 1]])
    assert indices.dtype == np.int64
    np.testing.assert_allclose(weights, [[0.625, 0.25]], **F64)
    weights, _ = ref.router(x, w, top_k=2, normalize=True)
    np.testing.assert_allclose(weights, [[5 / 7, 2 / 7]], **F64)


def test_router_sigmoid_and_tie_breaking():
    x, w = one_feature_router([0, LN3, 0])
    weights, indices = ref.router(x, w, top_k=3, gating="sigmoid")
    np.testing.assert_array_equal(indices, [[1, 0, 2]])  # scores 0.5 tie between experts 0 and 2: lower first
    np.testing.assert_allclose(weights, [[0.75, 0.5, 0.5]], **F64)
    _, indices = ref.router(rand(4, 3), np.zeros((5, 3)), top_k=2)  # all scores equal
    np.testing.assert_array_equal(indices, [[0, 1]] * 4)


def test_router_keeps_leading_dims():
    x, w = rand(2, 3, 4), rand(6, 4, seed=1)
    weights, indices = ref.router(x, w, top_k=2, gating="softmax")
    assert weights.shape == indices.shape == (2, 3, 2)
    flat_w, flat_i = ref.router(x.reshape(6, 4), w, top_k=2)
    np.testing.assert_array_equal(weights.reshape(6, 2), flat_w)
    np.testing.assert_array_equal(indices.reshape(6, 2), flat_i)
    assert (np.diff(weights, axis=-1) <= 0).all()  # descending order of score


def test_router_capacity_drops_by_token_order_within_a_rank():
    # T = 3, k = 1, E = 2, c = 1: C = ceil(1.5) = 2. Every token prefers expert 0; token 2 is dropped.
    x = a64([[1], [2], [3]])
    w = a64([[1], [0]])
    weights, indices = ref.router(x, w, top_k=1, capacity_factor=1.0)
    np.testing.assert_array_equal(indices, [[0], [0], [0]])  # the dropped index is kept
    undropped, _ = ref.router(x, w, top_k=1)
    np.testing.assert_array_equal(weights, [[undropped[0, 0]], [undropped[1, 0]], [0]])


def test_router_capacity_admits_first_choices_before_second_choices():
    # T = 2, k = 2, E = 2, c = 0.5: C = ceil(0.5 * 2 * 2 / 2) = 1. Token 0 prefers [0, 1], token 1 [1, 0].
    # Rank 0 admits (t0, e0) and (t1, e1); both rank-1 assignments then find their expert full.
    # (Token-first admission would instead keep both of token 0's choices.)
    x, w = a64([[1], [-1]]), a64([[1], [-1]])
    weights, indices = ref.router(x, w, top_k=2, capacity_factor=0.5)
    np.testing.assert_array_equal(indices, [[0, 1], [1, 0]])
    first = 1 / (1 + math.exp(-2))  # softmax([1, -1])[0]
    np.testing.assert_allclose(weights, [[first, 0], [first, 0]], **F64)
    # c = 1: C = 2, nothing dropped; normalization happens over the k choices before dropping.
    weights, _ = ref.router(x, w, top_k=2, capacity_factor=1.0, normalize=True)
    np.testing.assert_allclose(weights, [[first, 1 - first]] * 2, **F64)
    weights, _ = ref.router(x, w, top_k=2, capacity_factor=0.5, normalize=True)
    np.testing.assert_allclose(weights, [[first, 0]] * 2, **F64)


def test_router_rejects_bad_arguments():
    with pytest.raises(ValueError, match="eff_router_c1"):
        ref.router(rand(3, 4), rand(2, 5), top_k=1)
    with pytest.raises(ValueError, match="eff_router_c2"):
        ref.router(rand(3, 4), rand(2, 4), top_k=3)
    with pytest.raises(ValueError, match="eff_router_c2"):
        ref.router(rand(3, 4), rand(2, 4), top_k=0)
    with pytest.raises(ValueError, match="eff_router_c3"):
        ref.router(rand(3, 4), rand(2, 4), top_k=1, capacity_factor=0.0)
    with pytest.raises(ValueError, match="gating"):
        ref.router(rand(3, 4), rand(2, 4), top_k=1, gating="relu")


def expert_weights(e=3, f=5, d=4, seed=10):
    names = ("w_up", "w_gate", "w_down", "b_up", "b_down")
    shapes = ((e, f, d), (e, f, d), (e, d, f), (e, f), (e, d))
    return {n: rand(*s, seed=seed + i) for i, (n, s) in enumerate(zip(names, shapes))}


def expert_ffn(p, ex, x, kind="silu"):
    return ref.ffn(x, kind=kind, **{name: w[ex] for name, w in p.items()})


def test_experts_one_hot_routing_equals_that_experts_ffn():
    p = expert_weights()
    x = rand(2, 3, 4)
    indices = np.array([[[2], [0], [1]], [[1], [1], [2]]])
    out = ref.experts(x, np.ones((2, 3, 1)), indices, kind="silu", **p)
    for b in range(2):
        for s in range(3):
            np.testing.assert_allclose(out[b, s], expert_ffn(p, indices[b, s, 0], x[b, s]), **F64)


def test_experts_weighted_sum_and_dropped_assignments():
    p = expert_weights()
    x = rand(2, 4)
    weights, indices = a64([[0.25, 0.75], [0.5, 0.0]]), np.array([[0, 2], [1, 0]])
    out = ref.experts(x, weights, indices, kind="silu", **p)
    np.testing.assert_allclose(out[0], 0.25 * expert_ffn(p, 0, x[0]) + 0.75 * expert_ffn(p, 2, x[0]), **F64)
    np.testing.assert_allclose(out[1], 0.5 * expert_ffn(p, 1, x[1]), **F64)
    # ungated, without biases
    out = ref.experts(x, weights, indices, p["w_up"], p["w_down"], kind="relu")
    np.testing.assert_allclose(out[1], 0.5 * ref.ffn(x[1], p["w_up"][1], p["w_down"][1], kind="relu"), **F64)


def test_experts_rejects_bad_arguments():
    p = expert_weights()
    x, w, i = rand(2, 4), np.ones((2, 1)), np.zeros((2, 1), dtype=np.int64)
    with pytest.raises(ValueError, match="eff_experts_c1"):
        ref.experts(x, np.ones((3, 1)), i, p["w_up"], p["w_down"], kind="relu")
    with pytest.raises(ValueError, match="eff_experts_c1"):
        ref.experts(x, w, np.zeros((2, 2), dtype=np.int64), p["w_up"], p["w_down"], kind="relu")
    with pytest.raises(ValueError, match="eff_experts_c2"):
        ref.experts(rand(2, 3), w, i, p["w_up"], p["w_down"], kind="relu")
    with pytest.raises(ValueError, match="eff_experts_c2"):
        ref.experts(x, w, i, p["w_up"], p["w_down"], kind="relu", w_gate=p["w_down"])
    with pytest.raises(ValueError, match="eff_experts_c3"):
        ref.experts(x, w, i, p["w_up"], p["w_up"], kind="relu")
    with pytest.raises(ValueError, match="eff_experts_c4"):
        ref.experts(x, w, i, p["w_up"], p["w_down"], kind="relu", b_up=p["b_down"])
    with pytest.raises(ValueError, match="eff_experts_c4"):
        ref.experts(x, w, i, p["w_up"], p["w_down"], kind="relu", b_down=p["b_up"])
    with pytest.raises(ValueError, match="out of"):
        ref.experts(x, w, i + 3, p["w_up"], p["w_down"], kind="relu")


def test_router_then_experts_with_capacity_leaves_dropped_tokens_zero():
    p = expert_weights(e=2)
    x = np.abs(rand(3, 4)) + 0.1
    # Positive features and W = [1..., 0...]: every token prefers expert 0; C = ceil(1.0 * 3 / 2) = 2 drops token 2.
    weights, indices = ref.router(x, np.stack([np.ones(4), np.zeros(4)]), top_k=1, capacity_factor=1.0)
    np.testing.assert_array_equal(indices, [[0], [0], [0]])
    out = ref.experts(x, weights, indices, p["w_up"], p["w_down"], kind="gelu")
    np.testing.assert_array_equal(out[2], 0)
    np.testing.assert_allclose(out[0], weights[0, 0] * ref.ffn(x[0], p["w_up"][0], p["w_down"][0], kind="gelu"), **F64)


def test_residual_moe_hand_case_and_zero_coefficients():
    x, dense, moe = a64([[1, 2]]), a64([[4, 8]]), a64([[0, 4]])
    # b_coef = [0, ln 3] with W = 0: c = [0.25, 0.75] -> [1, 5].
    np.testing.assert_allclose(ref.residual_moe(x, dense, moe, np.zeros((2, 2)), a64([0, LN3])), [[1, 5]], **F64)
    # W picks x[0] for the dense side: logits [1, 0] -> c[0] = 1 / (1 + e^-1).
    c0 = 1 / (1 + math.exp(-1))
    out = ref.residual_moe(x, dense, moe, a64([[1, 0], [0, 0]]), np.zeros(2))
    np.testing.assert_allclose(out, c0 * dense + (1 - c0) * moe, **F64)


def test_residual_moe_rejects_bad_shapes():
    x = rand(3, 4)
    with pytest.raises(ValueError, match="eff_residual_moe_c1"):
        ref.residual_moe(x, rand(3, 5), x, rand(2, 4), rand(2))
    with pytest.raises(ValueError, match="eff_residual_moe_c1"):
        ref.residual_moe(x, x, rand(4), rand(2, 4), rand(2))
    with pytest.raises(ValueError, match="eff_residual_moe_c2"):
        ref.residual_moe(x, x, x, rand(3, 4), rand(2))
    with pytest.raises(ValueError, match="eff_residual_moe_c2"):
        ref.residual_moe(x, x, x, rand(2, 4), rand(3))


# --------------------------------------------------------------------------------------------------------
# Cross-checks against PyTorch (skipped when torch is not installed)


def torch_f():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


def test_torch_linear_layer_norm_softmax():
    torch, F = torch_f()
    x, w, b, g, beta = rand(2, 3, 8), rand(5, 8, seed=1), rand(5, seed=2), rand(8, seed=3), rand(8, seed=4)
    t = torch.from_numpy
    np.testing.assert_allclose(ref.linear(x, w, bias=b), F.linear(t(x), t(w), t(b)).numpy(), **F64)
    expected = F.layer_norm(t(x), (8,), t(g), t(beta), 1e-5).numpy()
    np.testing.assert_allclose(ref.layer_norm(x, g, beta=beta, epsilon=1e-5), expected, **F64)
    for axis in (-1, 1):
        np.testing.assert_allclose(ref.softmax(x * 4, axis=axis), F.softmax(t(x * 4), dim=axis).numpy(), **F64)
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    np.testing.assert_allclose(ref.linear(x32, w32), F.linear(t(x32), t(w32)).numpy(), **F32)


def test_torch_activations():
    torch, F = torch_f()
    x = np.linspace(-8, 8, 161)
    t = torch.from_numpy(x)
    expected = {"relu": F.relu(t), "gelu": F.gelu(t, approximate="none"), "gelu_tanh": F.gelu(t, approximate="tanh"),
                "silu": F.silu(t), "sigmoid": torch.sigmoid(t), "tanh": torch.tanh(t)}
    for kind, y in expected.items():
        np.testing.assert_allclose(ref.activation(kind, x), y.numpy(), err_msg=kind, **F64)
        np.testing.assert_allclose(ref.activation(kind, x.astype(np.float32)), y.float().numpy(), err_msg=kind, **F32)


def torch_sdpa(F, q, k, v, attn_mask=None, is_causal=False):
    """F.scaled_dot_product_attention on [B, H, S, Dh] tensors (torch 1.13 only has the private variant)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal)
    return F._scaled_dot_product_attention(q, k, v, attn_mask, 0.0, False, is_causal)[0]


@pytest.mark.parametrize("h,hkv,s,l,causal,padded", [
    (4, 4, 5, 5, True, False),   # MHA, is_causal
    (4, 2, 5, 5, False, True),   # GQA, padding mask
    (6, 2, 3, 7, True, True),    # GQA, decode-style S < L: causal mask aligned to the last positions
    (4, 1, 1, 6, True, False),   # MQA, one query
])
def test_torch_scaled_dot_product_attention(h, hkv, s, l, causal, padded):
    torch, F = torch_f()
    b, dh = 2, 4
    q, k, v = rand(b, s, h * dh), rand(b, l, hkv * dh, seed=1), rand(b, l, hkv * dh, seed=2)
    mask = np.ones((b, l), dtype=np.int64)
    if padded:
        mask[1, : l // 2] = 0
    out = ref.attention(q, k, v, num_heads=h, num_kv_heads=hkv, causal=causal, mask=mask if padded else None)

    def heads(x, n):  # [B, T, n*Dh] -> [B, H, T, Dh], kv heads repeated for GQA
        return torch.from_numpy(x).reshape(b, -1, n, dh).transpose(1, 2).repeat_interleave(h // n, dim=1)

    tq, tk, tv = heads(q, h), heads(k, hkv), heads(v, hkv)
    if causal and s == l and not padded:
        expected = torch_sdpa(F, tq, tk, tv, is_causal=True)
    else:
        allowed = torch.from_numpy(mask != 0)[:, None, None, :].expand(b, 1, s, l)
        if causal:
            allowed = allowed & torch.ones(s, l, dtype=torch.bool).tril(diagonal=l - s)
        expected = torch_sdpa(F, tq, tk, tv, attn_mask=allowed)
    np.testing.assert_allclose(out, expected.transpose(1, 2).reshape(b, s, h * dh).numpy(), **F64)


@pytest.mark.parametrize("rotary_dim", [None, 4])
def test_torch_llama_rotate_half_rotary(rotary_dim):
    torch, _ = torch_f()
    b, s, h, dh, theta = 2, 6, 3, 8, 10000.0
    x, pos = rand(b, s, h * dh), np.array([[0, 1, 2, 3, 4, 5], [7, 8, 9, 10, 11, 12]])
    r = dh if rotary_dim is None else rotary_dim

    def rotate_half(t):
        t1, t2 = t[..., : t.shape[-1] // 2], t[..., t.shape[-1] // 2:]
        return torch.cat((-t2, t1), dim=-1)

    inv_freq = 1.0 / (theta ** (torch.arange(0, r, 2, dtype=torch.float64) / r))
    freqs = torch.from_numpy(pos).double()[..., None] * inv_freq  # [B, S, R/2]
    emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # [B, 1, S, R]
    cos, sin = emb.cos(), emb.sin()
    th = torch.from_numpy(x).reshape(b, s, h, dh).transpose(1, 2)  # [B, H, S, Dh]
    rot, tail = th[..., :r], th[..., r:]
    expected = torch.cat((rot * cos + rotate_half(rot) * sin, tail), dim=-1).transpose(1, 2).reshape(b, s, h * dh)
    out = ref.rotary(x, pos, num_heads=h, theta=theta, rotary_dim=rotary_dim)
    np.testing.assert_allclose(out, expected.numpy(), **F64)
    out32 = ref.rotary(x.astype(np.float32), pos, num_heads=h, theta=theta, rotary_dim=rotary_dim)
    np.testing.assert_allclose(out32, expected.float().numpy(), **F32)
