"""Numerics of the fused attention micro-kernel (ukernels/attention.c, effc_uk_attention_f32).

f32 eff.attention without head_mask is lowered to one call of the kernel (lib/Conversion/EffToLinalg/
Attention.cpp). The small cases of test_attention_lowering.py go through it too; these use shapes that exercise
its tiling: several query blocks (128 rows) cut into register tiles of 6 rows (the last one of a block partial),
key tiles (64 keys) and softmax blocks (256 keys, each rescaling the rows' running sums) with partial ones at the
ends, head sizes that are not multiples of 16 or are above 64, grouped-query and multi-query heads, a KV cache
read in place (decode, whose single query row takes the split-key path: ranges of 8 keys, a last partial one,
ranges that the mask hides entirely; and chunked prefill), and rows whose first key tiles are all masked (the
online softmax starts from −inf). Both kernel variants run: AVX-512 (`--cpu=native` on this machine) and generic
x86-64.

Oracle: test/reference/eff_reference.py (numpy, float64 softmax). Tolerance: rtol 1e-4 / atol 1e-5 as for the
linalg lowering (f32 accumulation over up to 600 keys and a polynomial exp accurate to about 1 ulp).

Run with: /usr/bin/python3 -m pytest test/e2e/test_fused_attention.py
"""

import numpy as np
import pytest

import eff_reference as ref
from effc_testing import CompiledModule, randn, rng
from test_attention_lowering import F32_TOL, attention_ir, check_attention, qkv

CPUS = ["native", "x86-64"]


@pytest.fixture
def compile_for():
    modules = []

    def compile_(ir, cpu):
        module = CompiledModule(ir, cpu=cpu)
        modules.append(module)
        return module

    yield compile_
    for module in modules:
        module.close()


@pytest.mark.parametrize("cpu", CPUS)
def test_causal_gqa_with_padding_across_tiles(compile_for, cpu):
    # Dynamic B, S, L; Dh = 64; 8 query heads on 2 key/value heads.
    attrs = "num_heads = 8 : i64, num_kv_heads = 2 : i64, causal"
    module = compile_for(attention_ir((None, None, 512), (None, None, 128), attrs, mask="i64"), cpu)
    gen = rng(100)
    for batch, seq, kv_len in ((2, 130, 130), (1, 3, 200), (3, 165, 170)):
        inputs = qkv(gen, batch, seq, kv_len, 8, 2, 64)
        mask = np.ones((batch, kv_len), np.int64)
        mask[0, : min(kv_len - 1, 70)] = 0  # left padding longer than a key tile: early rows see nothing
        mask[-1, kv_len - 5:] = 0  # right padding
        inputs["mask"] = mask
        out = module(**inputs)
        check_attention(out, inputs, F32_TOL, num_heads=8, num_kv_heads=2, causal=True)
        if seq == kv_len:  # causal rows i < 70 of batch 0 see only padding
            assert np.all(out["out"][0, : min(seq, 70)] == 0.0)


@pytest.mark.parametrize("cpu", CPUS)
def test_several_softmax_blocks_and_query_blocks(compile_for, cpu):
    # 263 query rows (three query blocks whose last 6-row tiles are partial) over 263 and 600 keys (two and
    # three softmax blocks of 256), Dh = 26 (TinyBERT's) and 64; batch 0's first 300 keys are padding, so its
    # rows see nothing in the whole first block and start their running maximum in the second.
    gen = rng(105)
    for head_dim, causal in ((26, False), (64, True)):
        attrs = "num_heads = 2 : i64, num_kv_heads = 2 : i64" + (", causal" if causal else "")
        hidden = 2 * head_dim
        module = compile_for(attention_ir((None, None, hidden), (None, None, hidden), attrs, mask="i64"), cpu)
        for seq, kv_len in ((263, 263), (263, 600)):
            inputs = qkv(gen, 2, seq, kv_len, 2, 2, head_dim)
            mask = np.ones((2, kv_len), np.int64)
            mask[0, : min(kv_len - 1, 300)] = 0
            inputs["mask"] = mask
            out = module(**inputs)
            check_attention(out, inputs, F32_TOL, num_heads=2, num_kv_heads=2, causal=causal)


def test_head_sizes_and_multi_query(compile_for):
    # The hidden size is dynamic, so Dh (and the default scale 1/√Dh) is computed at run time: 20 (not a
    # multiple of 16), 80 and 128 (more than one 64-column chunk of the value accumulators), one key/value
    # head for 2 query heads, an f32 mask where any nonzero value attends.
    attrs = "num_heads = 2 : i64, num_kv_heads = 1 : i64"
    module = compile_for(attention_ir((None, None, None), (None, None, None), attrs, mask="f32"), "native")
    gen = rng(101)
    for head_dim, seq, kv_len in ((20, 9, 67), (80, 70, 33), (128, 5, 129)):
        inputs = qkv(gen, 2, seq, kv_len, 2, 1, head_dim)
        mask = (gen.random((2, kv_len)) > 0.3).astype(np.float32) * np.float32(-1.5)
        mask[1, :] = 0.0  # batch 1 sees nothing: zeros, not NaN
        inputs["mask"] = mask
        out = module(**inputs)
        check_attention(out, inputs, F32_TOL, num_heads=2, num_kv_heads=1)
        assert np.all(out["out"][1] == 0.0)


@pytest.mark.parametrize("cpu", CPUS)
def test_kv_cache_decode_and_chunked_prefill(compile_for, cpu):
    # GPT-2-like decode (S = 1, P = 128) and a chunk of 5 new tokens after 60 cached ones; an explicit scale.
    attrs = "num_heads = 4 : i64, causal, scale = 0.2 : f32"
    module = compile_for(attention_ir((1, None, 256), (1, None, 256), attrs, past_shape=(1, None, 256)), cpu)
    gen = rng(102)
    # Fewer new tokens than a register tile of query rows (2, 3) take the kernel's direct path, each row with
    # its own causal limit.
    for seq, past in ((1, 128), (5, 60), (1, 0), (3, 40), (2, 17)):
        inputs = qkv(gen, 1, seq, seq, 4, 4, 64)
        inputs["past_key"], inputs["past_value"] = randn(gen, 1, past, 256), randn(gen, 1, past, 256)
        check_attention(module(**inputs), inputs, F32_TOL, num_heads=4, causal=True, scale=0.2)


@pytest.mark.parametrize("cpu", CPUS)
def test_present_cache_written_by_the_kernel(compile_for, cpu):
    # effc_uk_attention_present_f32 writes the presents as it reads the cache: exact copies whichever path
    # a task takes. 66 new rows after 10 cached ones: the first query block takes register tiles (and copies
    # the cache), the second has 2 rows, the direct path, and must leave the presents to the first; no new
    # rows at all: the presents are the past alone; a batch whose mask hides every key still copies its cache.
    attrs = "num_heads = 4 : i64, num_kv_heads = 2 : i64, causal"
    module = compile_for(attention_ir((2, None, 128), (2, None, 64), attrs, mask="i64",
                                      past_shape=(2, None, 64)), cpu)
    gen = rng(106)
    for seq, past in ((66, 10), (0, 7), (1, 40), (3, 0)):
        inputs = qkv(gen, 2, seq, seq, 4, 2, 32)
        inputs["past_key"], inputs["past_value"] = randn(gen, 2, past, 64), randn(gen, 2, past, 64)
        mask = np.ones((2, past + seq), np.int64)
        mask[1, :] = 0
        inputs["mask"] = mask
        out = module(**inputs)
        check_attention(out, inputs, F32_TOL, num_heads=4, num_kv_heads=2, causal=True)
        np.testing.assert_array_equal(out["present_key"], np.concatenate([inputs["past_key"], inputs["k"]], 1))
        np.testing.assert_array_equal(out["present_value"], np.concatenate([inputs["past_value"], inputs["v"]], 1))


@pytest.mark.parametrize("cpu", CPUS)
def test_causal_rows_beyond_the_keys(compile_for, cpu):
    # eff_attention_c9 (causal S <= L) is checked only for static lengths: with dynamic ones, 3 query rows
    # against 1 new key and no past give rows 0 and 1 no visible key (zeros, as for fully masked rows) and
    # row 2 the one value row; nothing is read or written outside the operands (this once corrupted the heap).
    attrs = "num_heads = 2 : i64, causal"
    module = compile_for(attention_ir((1, None, 64), (1, None, 64), attrs, past_shape=(1, None, 64)), cpu)
    gen = rng(107)
    inputs = qkv(gen, 1, 3, 1, 2, 2, 32)
    inputs["past_key"], inputs["past_value"] = randn(gen, 1, 0, 64), randn(gen, 1, 0, 64)
    out = module(**inputs)
    assert np.all(out["out"][0, :2] == 0.0)
    np.testing.assert_allclose(out["out"][0, 2], inputs["v"][0, 0], rtol=1e-6)
    np.testing.assert_array_equal(out["present_key"], inputs["k"])
    np.testing.assert_array_equal(out["present_value"], inputs["v"])


def test_decode_with_cache_and_padding_mask(compile_for):
    # Batched decode with GQA and left-padded prompts of different lengths.
    attrs = "num_heads = 6 : i64, num_kv_heads = 3 : i64, causal"
    module = compile_for(attention_ir((3, 1, 192), (3, 1, 96), attrs, mask="i1", past_shape=(3, None, 96)),
                         "native")
    gen = rng(103)
    inputs = qkv(gen, 3, 1, 1, 6, 3, 32)
    inputs["past_key"], inputs["past_value"] = randn(gen, 3, 90, 96), randn(gen, 3, 90, 96)
    mask = np.ones((3, 91), np.bool_)
    mask[1, :40] = False
    mask[2, :89] = False
    inputs["mask"] = mask
    check_attention(module(**inputs), inputs, F32_TOL, num_heads=6, num_kv_heads=3, causal=True)


@pytest.mark.parametrize("cpu", CPUS)
def test_few_rows_masked_and_head_sizes(compile_for, cpu):
    # The direct path for 1-3 query rows: a batch whose padding mask hides every key gives zeros (not NaN);
    # head size 48 (three vectors) takes it, 40 (not a multiple of 16) the register-tile path.
    for head_dim in (48, 40):
        hidden = 2 * head_dim
        attrs = "num_heads = 2 : i64, causal"
        module = compile_for(attention_ir((2, None, hidden), (2, None, hidden), attrs, mask="i64",
                                          past_shape=(2, None, hidden)), cpu)
        gen = rng(104 + head_dim)
        for seq, past in ((1, 33), (3, 5)):
            inputs = qkv(gen, 2, seq, seq, 2, 2, head_dim)
            inputs["past_key"], inputs["past_value"] = randn(gen, 2, past, hidden), randn(gen, 2, past, hidden)
            mask = np.ones((2, past + seq), np.int64)
            mask[1, :] = 0
            mask[0, 1::3] = 0
            inputs["mask"] = mask
            out = module(**inputs)
            check_attention(out, inputs, F32_TOL, num_heads=2, causal=True)
            assert np.all(out["out"][1] == 0.0)


@pytest.mark.parametrize("cpu", CPUS)
def test_decode_long_cache_many_heads_per_key_head(compile_for, cpu):
    # The split-key path sizes its ranges from the cache (2000 keys: 32 ranges of 63, the last of 47), so that
    # 8 query heads on one key/value head keep small partial sums; every range is merged into each head.
    attrs = "num_heads = 8 : i64, num_kv_heads = 1 : i64, causal"
    module = compile_for(attention_ir((1, 1, 512), (1, 1, 64), attrs, past_shape=(1, None, 64)), cpu)
    gen = rng(108)
    inputs = qkv(gen, 1, 1, 1, 8, 1, 64)
    inputs["past_key"], inputs["past_value"] = randn(gen, 1, 1999, 64), randn(gen, 1, 1999, 64)
    out = module(**inputs)
    check_attention(out, inputs, F32_TOL, num_heads=8, num_kv_heads=1, causal=True)


def test_decode_nan_key_reaches_only_its_heads(compile_for):
    # A NaN in key 9 of key/value head 0 makes the scores of query heads 0 and 1 NaN, and their outputs NaN (as
    # the reference's softmax gives), while heads 2 and 3 match the reference; keys 0-7, one whole range of the
    # split path, are masked out.
    attrs = "num_heads = 4 : i64, num_kv_heads = 2 : i64, causal"
    module = compile_for(attention_ir((1, 1, 128), (1, 1, 64), attrs, mask="i64", past_shape=(1, None, 64)),
                         "native")
    gen = rng(109)
    inputs = qkv(gen, 1, 1, 1, 4, 2, 32)
    inputs["past_key"], inputs["past_value"] = randn(gen, 1, 20, 64), randn(gen, 1, 20, 64)
    inputs["past_key"][0, 9, 3] = np.nan
    mask = np.ones((1, 21), np.int64)
    mask[0, :8] = 0
    inputs["mask"] = mask
    out = module(**inputs)["out"]
    assert np.isnan(out[0, 0, :64]).all()
    clean = dict(inputs, past_key=np.nan_to_num(inputs["past_key"]))
    expected = ref.attention(
        clean["q"], clean["k"], clean["v"], mask=mask, past_key=clean["past_key"], past_value=clean["past_value"],
        num_heads=4, num_kv_heads=2, causal=True)[0]
    np.testing.assert_allclose(out[0, 0, 64:], expected[0, 0, 64:], rtol=1e-4, atol=1e-5)
