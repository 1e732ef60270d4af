"""Writes the small ONNX models of the lit tests (onnx.mlir, onnx-errors.mlir) into a directory, with onnx.helper.

    make_onnx_models.py DIR

tiny.onnx: a linear layer (MatMul on an initializer + bias), the erf GELU, a shape computation with a dynamic
batch (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and a softmax. external.onnx: the same weights in an
external data file. The rest are broken on purpose: an unsupported operator, a truncated file, bytes that are
not a protobuf, a missing external data file, an opset effc does not import, a Transpose whose perm is not
a permutation, and a Reshape whose shape is computed from tensor data. attention_*.onnx and rotary_*.onnx: attention subgraphs for the raiser, one
consistent (plus one with keys longer than the queries) and four whose shapes disagree in ways only
eff.attention's and eff.rotary's checks catch.

gqa.onnx, gqa_cache.onnx (onnx-attention.mlir): grouped-query attention (4 query heads, 2 key/value heads of 4)
written as torch.onnx.export writes Llama's repeat_kv, without and with a KV cache (past/present in the heads
layout [B, 2, P, 4], a causal buffer sliced at rows [L - S, L) and columns [0, L)); gqa_broadcast.onnx and
gqa_window.onnx are variants that must not be raised (the Expand broadcasts the batch to 2; the causal window
is rows [0, S)).
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def constant(name, value, dtype=np.float32):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(value, dtype=dtype)))


def tiny(opset=17):
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((8, 6)).astype(np.float32), "dense.weight")
    bias = numpy_helper.from_array(rng.standard_normal(6).astype(np.float32), "dense.bias")
    nodes = [
        helper.make_node("MatMul", ["x", "dense.weight"], ["mm"], name="dense/MatMul"),
        helper.make_node("Add", ["mm", "dense.bias"], ["h"], name="dense/Add"),
        constant("sqrt2", 1.4142135),
        helper.make_node("Div", ["h", "sqrt2"], ["scaled"], name="gelu/Div"),
        helper.make_node("Erf", ["scaled"], ["erf"], name="gelu/Erf"),
        constant("one", 1.0),
        helper.make_node("Add", ["erf", "one"], ["onePlus"], name="gelu/Add"),
        helper.make_node("Mul", ["h", "onePlus"], ["prod"], name="gelu/Mul"),
        constant("half", 0.5),
        helper.make_node("Mul", ["prod", "half"], ["gelu"], name="gelu/Mul_1"),
        # [B, 6] -> [B, 2, 3] with B read from the input's shape.
        helper.make_node("Shape", ["x"], ["shape"], name="Shape"),
        constant("zero", 0, np.int64),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], name="Gather", axis=0),
        constant("axes0", [0], np.int64),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"], name="Unsqueeze"),
        constant("rest", [2, 3], np.int64),
        helper.make_node("Concat", ["batch1", "rest"], ["target"], name="Concat", axis=0),
        helper.make_node("Reshape", ["gelu", "target"], ["split"], name="Reshape"),
        helper.make_node("Softmax", ["split"], ["y"], name="Softmax", axis=-1),
    ]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2, 3])],
                              [weight, bias])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def gqa(cache=False, broadcast_batch=False, window_from_zero=False, opset=17):
    """One attention layer: x [B, S, 16] -> y [B, S, 16] (+ present_key/present_value with `cache`)."""
    rng = np.random.default_rng(1)
    init = [numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) / 4, name)
            for name, shape in (("wq", (16, 16)), ("wk", (16, 8)), ("wv", (16, 8)), ("wo", (16, 16)))]
    nodes = []

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=f"/attn/{output}", **attrs))
        return output

    def const(value, dtype=np.int64):
        name = f"c{len(nodes)}"
        nodes.append(constant(name, value, dtype))
        return name

    def dims(tensor, *axes):
        """(Gather(Shape(tensor), axis), its Unsqueeze to [1]) for each axis, as torch writes shape pieces."""
        shape = node("Shape", [tensor], f"{tensor}_shape{len(nodes)}")
        out = []
        for axis in axes:
            d = node("Gather", [shape, const(axis)], f"{shape}_{axis}", axis=0)
            out.append((d, node("Unsqueeze", [d, const([0])], f"{d}_1d")))
        return out

    (_, xb), (_, xn) = dims("x", 0, 1)

    def heads(weight, count):
        proj = node("MatMul", ["x", weight], f"{weight}_proj")
        split = node("Concat", [xb, xn, const([count, 4])], f"{weight}_split", axis=0)
        return node("Transpose", [node("Reshape", [proj, split], f"{weight}_4d")], f"{weight}_heads", perm=[0, 2, 1, 3])

    def repeat_kv(h):
        """Llama's repeat_kv: Reshape(Expand(Unsqueeze(h, 2), [B, Hkv, 2, L, Dh]), [B, Hkv * 2, L, Dh])."""
        (_, b), (hkv, hkv1), (_, length), (_, dh) = dims(h, 0, 1, 2, 3)
        if broadcast_batch:
            b = const([2])
        expand_shape = node("Concat", [b, hkv1, const([2]), length, dh], f"{h}_eshape", axis=0)
        expanded = node("Expand", [node("Unsqueeze", [h, const([2])], f"{h}_5d"), expand_shape], f"{h}_expanded")
        hq = node("Unsqueeze", [node("Mul", [hkv, const(2)], f"{h}_hq"), const([0])], f"{h}_hq1")
        merged = node("Concat", [b, hq, length, dh], f"{h}_rshape", axis=0)
        return node("Reshape", [expanded, merged], f"{h}_repeated")

    q, k, v = heads("wq", 4), heads("wk", 2), heads("wv", 2)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 16])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", 16])]
    if cache:
        k = node("Concat", ["past_key", k], "present_key", axis=2)
        v = node("Concat", ["past_value", v], "present_value", axis=2)
        for name in ("past_key", "past_value"):
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 2, "past", 4]))
        for name in ("present_key", "present_value"):
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 2, "total", 4]))
    kt = node("Transpose", [repeat_kv(k)], "kt", perm=[0, 1, 3, 2])
    scores = node("Div", [node("MatMul", [q, kt], "qk"), const(2.0, np.float32)], "scores")
    if cache:
        # Hugging Face's GPT-2: bias[:, :, L - S : L, :L] with L the key length and S the query length.
        init.append(numpy_helper.from_array(np.tril(np.ones((16, 16), dtype=bool))[None, None], "bias"))
        ((_, length),), ((_, queries),) = dims(k, 2), dims(q, 2)
        start = const([0]) if window_from_zero else node("Sub", [length, queries], "row_start")
        end = queries if window_from_zero else length
        rows = node("Slice", ["bias", start, end, const([2]), const([1])], "rows")
        window = node("Slice", [rows, const([0]), length, const([3]), const([1])], "window")
        scores = node("Where", [window, scores, const(-3.4e38, np.float32)], "masked")
    probs = node("Softmax", [scores], "probs", axis=-1)
    merged = node("Transpose", [node("MatMul", [probs, repeat_kv(v)], "pv")], "merged", perm=[0, 2, 1, 3])
    hidden = node("Reshape", [merged, node("Concat", [xb, xn, const([-1])], "oshape", axis=0)], "hidden")
    nodes.append(helper.make_node("MatMul", [hidden, "wo"], ["y"], name="/attn/out"))
    graph = helper.make_graph(nodes, "gqa", inputs, outputs, init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def single(op_type, inputs, outputs, opset=17, domain="", **attrs):
    node = helper.make_node(op_type, [i for i, _ in inputs], [o for o, _ in outputs], name=f"the_{op_type}",
                            domain=domain, **attrs)
    graph = helper.make_graph(
        [node], op_type, [helper.make_tensor_value_info(n, t, s) for n, (t, s) in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, (t, s) in outputs])
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets)


def rope_tables(rows, dh, theta=10000.0):
    """The rotate-half cos and sin tables [rows, dh] that the importer recognises as eff.rotary."""
    inv = theta ** (-np.arange(0, dh, 2, dtype=np.float64) / dh)
    angles = np.arange(rows, dtype=np.float64)[:, None] * inv[None]
    emb = np.concatenate([angles, angles], -1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def attention(name, q, k, v, heads, dq, dk, dv, mask=None, rope_q=None, rope_k=None, rope_window=None, bias=None):
    """Self-attention written in ONNX ops as exporters write it (heads split with Reshape + Transpose, scores
    divided by sqrt(Dh), a padding mask (1 - mask) * -1e9, Softmax, heads merged back by a Reshape), on graph
    inputs q, k, v of the given shapes [B, S, H * D] split into `heads` heads of dq, dk, dv channels. rope_q and
    rope_k, when given, are the head size of rotary tables applied to the query and key heads. The raiser sees
    the whole subgraph; the shapes may disagree on purpose. rope_window = (rows, start, end): the query's tables
    have `rows` rows and are read at rows [start, end) by a Slice. bias: the shape of a graph input added to
    the scaled scores (a T5-style score bias)."""
    nodes, inits = [], []

    def const(cname, value, dtype=np.int64):
        inits.append(numpy_helper.from_array(np.array(value, dtype=dtype), cname))
        return cname

    def heads_of(x, shape, d, perm):
        nodes.append(helper.make_node("Reshape", [x, const(f"{x}_shape", [shape[0], shape[1], heads, d])],
                                      [f"{x}_split"], name=f"{x}/Reshape"))
        nodes.append(helper.make_node("Transpose", [f"{x}_split"], [f"{x}_heads"], name=f"{x}/Transpose", perm=perm))
        return f"{x}_heads"

    def rope(x, dh, rows, window=None):
        cos, sin = rope_tables(window[0] if window else rows, dh)  # positions 0..rows-1: the sequence's
        big = np.iinfo(np.int64).max
        if window:
            for table, values in (("cos", cos), ("sin", sin)):
                nodes.append(helper.make_node(
                    "Slice", [const(f"{x}_{table}_all", values, np.float32), const(f"{x}_{table}_w0", [window[1]]),
                              const(f"{x}_{table}_w1", [window[2]]), const(f"{x}_{table}_wax", [0])],
                    [f"{x}_{table}"], name=f"{x}/Slice_{table}"))
        table = (lambda t, values: f"{x}_{t}") if window else (lambda t, values: const(f"{x}_{t}", values, np.float32))
        nodes.extend([
            helper.make_node("Slice", [x, const(f"{x}_h0", [dh // 2]), const(f"{x}_h1", [big]), const(f"{x}_ax", [-1])],
                             [f"{x}_x2"], name=f"{x}/Slice_x2"),
            helper.make_node("Neg", [f"{x}_x2"], [f"{x}_neg"], name=f"{x}/Neg"),
            helper.make_node("Slice", [x, const(f"{x}_z0", [0]), const(f"{x}_z1", [dh // 2]), f"{x}_ax"],
                             [f"{x}_x1"], name=f"{x}/Slice_x1"),
            helper.make_node("Concat", [f"{x}_neg", f"{x}_x1"], [f"{x}_rot"], name=f"{x}/Concat", axis=-1),
            helper.make_node("Mul", [x, table("cos", cos)], [f"{x}_xc"], name=f"{x}/Mul_cos"),
            helper.make_node("Mul", [f"{x}_rot", table("sin", sin)], [f"{x}_rs"], name=f"{x}/Mul_sin"),
            helper.make_node("Add", [f"{x}_xc", f"{x}_rs"], [f"{x}_rope"], name=f"{x}/Add"),
        ])
        return f"{x}_rope"

    qh = heads_of("q", q, dq, [0, 2, 1, 3])
    if rope_q:
        qh = rope(qh, rope_q, q[1], rope_window)
    if rope_k:
        kt = rope(heads_of("k", k, dk, [0, 2, 1, 3]), rope_k, k[1])
        nodes.append(helper.make_node("Transpose", [kt], ["k_t"], name="k/Transpose_t", perm=[0, 1, 3, 2]))
    else:
        nodes.append(helper.make_node("Reshape", ["k", const("k_shape", [k[0], k[1], heads, dk])], ["k_split"],
                                      name="k/Reshape"))
        nodes.append(helper.make_node("Transpose", ["k_split"], ["k_t"], name="k/Transpose", perm=[0, 2, 3, 1]))
    nodes.append(helper.make_node("MatMul", [qh, "k_t"], ["scores"], name="scores/MatMul"))
    nodes.append(helper.make_node("Div", ["scores", const("sqrt_dh", float(np.sqrt(dq)), np.float32)], ["scaled"],
                                  name="scores/Div"))
    scores, inputs = "scaled", [("q", q), ("k", k), ("v", v)]
    if mask is not None:
        inputs.append(("mask", mask))
        nodes.extend([
            helper.make_node("Unsqueeze", ["mask", const("mask_axes", [1, 2])], ["mask4"], name="mask/Unsqueeze"),
            helper.make_node("Sub", [const("one", 1.0, np.float32), "mask4"], ["inverted"], name="mask/Sub"),
            helper.make_node("Mul", ["inverted", const("large", -1e9, np.float32)], ["bias"], name="mask/Mul"),
            helper.make_node("Add", ["scaled", "bias"], ["masked"], name="mask/Add"),
        ])
        scores = "masked"
    if bias is not None:
        inputs.append(("bias", bias))
        nodes.append(helper.make_node("Add", [scores, "bias"], ["biased"], name="bias/Add"))
        scores = "biased"
    nodes.extend([
        helper.make_node("Softmax", [scores], ["probs"], name="Softmax", axis=-1),
        helper.make_node("MatMul", ["probs", heads_of("v", v, dv, [0, 2, 1, 3])], ["context"], name="context/MatMul"),
        helper.make_node("Transpose", ["context"], ["merged"], name="merge/Transpose", perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["merged", const("out_shape", [q[0], q[1], heads * dv])], ["y"],
                         name="the_attention"),
    ])
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [q[0], q[1], heads * dv])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(tiny(), str(out / "tiny.onnx"))
    onnx.save(tiny(opset=13), str(out / "tiny13.onnx"))
    onnx.save(gqa(), str(out / "gqa.onnx"))
    onnx.save(gqa(cache=True), str(out / "gqa_cache.onnx"))
    onnx.save(gqa(broadcast_batch=True), str(out / "gqa_broadcast.onnx"))
    onnx.save(gqa(cache=True, window_from_zero=True), str(out / "gqa_window.onnx"))
    onnx.save_model(tiny(), str(out / "external.onnx"), save_as_external_data=True, location="external.onnx.data",
                    size_threshold=0)
    f = (TensorProto.FLOAT, [2, 3])
    onnx.save(single("NonMaxSuppression", [("boxes", (TensorProto.FLOAT, [1, 4, 4])),
                                           ("scores", (TensorProto.FLOAT, [1, 1, 4]))],
                     [("selected", (TensorProto.INT64, [4, 3]))]), str(out / "unsupported.onnx"))
    onnx.save(single("Relu", [("x", f)], [("y", f)], opset=19), str(out / "opset19.onnx"))
    onnx.save(single("Custom", [("x", f)], [("y", f)], domain="com.example"), str(out / "custom_domain.onnx"))
    onnx.save(single("Reshape", [("x", f), ("shape", (TensorProto.INT64, ["n"]))], [("y", f)]),
              str(out / "data_shape.onnx"))
    # Found by test/fuzz/onnx_fuzzer: a node with too few inputs, operands the op rejects, an initializer whose
    # byte size does not fit in 64 bits.
    arity = single("Mul", [("x", f), ("y", f)], [("z", f)])
    del arity.graph.node[0].input[1]
    onnx.save(arity, str(out / "arity.onnx"))
    onnx.save(single("MatMul", [("a", (TensorProto.FLOAT, [2, 3])), ("b", (TensorProto.FLOAT, [4, 5]))],
                     [("c", (TensorProto.FLOAT, [2, 5]))]), str(out / "matmul_mismatch.onnx"))
    onnx.save(single("MatMul", [("a", (TensorProto.FLOAT, [])), ("b", (TensorProto.FLOAT, [4, 5]))],
                     [("c", (TensorProto.FLOAT, [5]))]), str(out / "matmul_scalar.onnx"))
    onnx.save(single("Transpose", [("x", (TensorProto.FLOAT, [2, 3]))], [("y", (TensorProto.FLOAT, [3, 2]))],
                     perm=[1, 5]), str(out / "transpose_perm.onnx"))
    # Unsqueeze listing an axis twice (an initializer [1, 1]): an error, not a read past the input's shape.
    model = single("Unsqueeze", [("x", (TensorProto.FLOAT, [2, 3])), ("axes", (TensorProto.INT64, [2]))],
                   [("y", (TensorProto.FLOAT, [2, 1, 1, 3]))])
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, 1], np.int64), "axes"))
    del model.graph.input[1]
    onnx.save(model, str(out / "unsqueeze_twice.onnx"))
    # TopK with k constant (an initializer): two arg-max passes; k beyond the axis and k = 100 are errors.
    for stem, k in (("topk", 2), ("topk_long", 5), ("topk_many", 100)):
        model = single("TopK", [("x", (TensorProto.FLOAT, [2, 4])), ("k", (TensorProto.INT64, [1]))],
                       [("values", (TensorProto.FLOAT, [2, None])), ("indices", (TensorProto.INT64, [2, None]))],
                       axis=-1)
        model.graph.initializer.append(numpy_helper.from_array(np.array([k], np.int64), "k"))
        del model.graph.input[1]
        onnx.save(model, str(out / f"{stem}.onnx"))
    # Attention subgraphs that pass the raiser's structural checks with shapes eff.attention or eff.rotary
    # rejects: a consistent one (raised), then K and V of different head sizes, a mask of another length than
    # the keys, rotary tables on query heads of an odd size, rotary keys whose channels the heads do not
    # split; and rotary keys longer than the queries (raised: each is rotated at its own positions).
    onnx.save(attention("attention_ok", [1, 3, 8], [1, 3, 8], [1, 3, 8], 2, 4, 4, 4, mask=[1, 3], rope_q=4,
                        rope_k=4), str(out / "attention_ok.onnx"))
    onnx.save(attention("kv_heads", [1, 3, 8], [1, 3, 8], [1, 3, 16], 2, 4, 4, 8), str(out / "attention_kv.onnx"))
    onnx.save(attention("mask_length", [1, 3, 8], [1, 3, 8], [1, 3, 8], 2, 4, 4, 4, mask=[1, 5]),
              str(out / "attention_mask.onnx"))
    onnx.save(attention("rotary_odd", [1, 3, 6], [1, 3, 6], [1, 3, 6], 2, 3, 3, 3, rope_q=4),
              str(out / "rotary_odd.onnx"))
    onnx.save(attention("rotary_keys", [1, 3, 8], [1, 3, 7], [1, 3, 8], 2, 4, 4, 4, rope_k=4),
              str(out / "rotary_keys.onnx"))
    # Rotary tables of 8 rows read at rows [2, 5) for 3 queries (raised at positions 2..4), and at row [0, 1)
    # alone (broadcast to every query: not raised, imported op by op).
    onnx.save(attention("rotary_window", [1, 3, 8], [1, 3, 8], [1, 3, 8], 2, 4, 4, 4, rope_q=4,
                        rope_window=(8, 2, 5)), str(out / "rotary_window.onnx"))
    onnx.save(attention("rotary_one_row", [1, 3, 8], [1, 3, 8], [1, 3, 8], 2, 4, 4, 4, rope_q=4,
                        rope_window=(8, 0, 1)), str(out / "rotary_one_row.onnx"))
    # A score bias [1, H, S, L] (raised as eff.attention's bias) and one [1, H, S, 1] broadcast over the keys
    # (valid ONNX, not eff.attention's bias: imported op by op).
    onnx.save(attention("bias", [1, 3, 8], [1, 3, 8], [1, 3, 8], 2, 4, 4, 4, bias=[1, 2, 3, 3]),
              str(out / "attention_bias.onnx"))
    onnx.save(attention("bias_broadcast", [1, 3, 8], [1, 3, 8], [1, 3, 8], 2, 4, 4, 4, bias=[1, 2, 3, 1]),
              str(out / "attention_bias_broadcast.onnx"))
    onnx.save(attention("rotary_long_keys", [1, 3, 8], [1, 5, 8], [1, 5, 8], 2, 4, 4, 4, rope_q=4, rope_k=4),
              str(out / "rotary_long_keys.onnx"))
    # Inputs that fix a result's shape, given as graph inputs: TopK's k (bound with --bind-input, or an error),
    # the files to bind (right, of another dtype, of another shape); a Split whose run-time sizes are not one
    # per output, a Slice whose starts have a dynamic length.
    onnx.save(single("TopK", [("x", (TensorProto.FLOAT, [2, 4])), ("k", (TensorProto.INT64, [1]))],
                     [("values", (TensorProto.FLOAT, [2, None])), ("indices", (TensorProto.INT64, [2, None]))],
                     axis=-1), str(out / "topk_input.onnx"))
    np.save(out / "k.npy", np.array([2], np.int64))
    np.save(out / "k_i32.npy", np.array([2], np.int32))
    np.save(out / "k_2d.npy", np.array([[2]], np.int64))
    np.save(out / "k_f16.npy", np.array([2], np.float16))
    (out / "k_short.npy").write_bytes((out / "k.npy").read_bytes()[:-4])
    onnx.save(single("Split", [("x", (TensorProto.FLOAT, [6])), ("sizes", (TensorProto.INT64, [3]))],
                     [("a", (TensorProto.FLOAT, [None])), ("b", (TensorProto.FLOAT, [None]))]),
              str(out / "split_sizes.onnx"))
    onnx.save(single("Slice", [("x", f), ("starts", (TensorProto.INT64, ["n"])), ("ends", (TensorProto.INT64, ["n"]))],
                     [("y", (TensorProto.FLOAT, [None, None]))]), str(out / "slice_dynamic_length.onnx"))
    # Unsigned integers: uint8 Div, uint16 Max, a uint32 comparison; a Slice of run-time bounds and steps.
    u8, u16 = TensorProto.UINT8, TensorProto.UINT16
    graph = helper.make_graph(
        [helper.make_node("Div", ["a", "b"], ["q"]), helper.make_node("Max", ["c", "d"], ["m"]),
         helper.make_node("Less", ["a", "b"], ["lt"]), helper.make_node("Cast", ["a"], ["af"], to=TensorProto.FLOAT)],
        "unsigned", [helper.make_tensor_value_info(n, t, [4]) for n, t in (("a", u8), ("b", u8), ("c", u16), ("d", u16))],
        [helper.make_tensor_value_info("q", u8, [4]), helper.make_tensor_value_info("m", u16, [4]),
         helper.make_tensor_value_info("lt", TensorProto.BOOL, [4]), helper.make_tensor_value_info("af", TensorProto.FLOAT, [4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(out / "unsigned.onnx"))
    v3 = (TensorProto.INT64, [1])
    onnx.save(single("Slice", [("x", f), ("starts", v3), ("ends", v3), ("axes", v3), ("steps", v3)],
                     [("y", (TensorProto.FLOAT, [None, None]))]), str(out / "slice_inputs.onnx"))
    # Below opset 7: Not is unchanged since opset 1 (imported), Add had legacy broadcasting (refused).
    b23 = (TensorProto.BOOL, [2, 3])
    onnx.save(single("Not", [("x", b23)], [("y", b23)], opset=1), str(out / "not_opset1.onnx"))
    onnx.save(single("Add", [("x", f), ("y", f)], [("z", f)], opset=6), str(out / "add_opset6.onnx"))
    # Types effc does not compile: a string input, a cast to strings, a sequence input.
    onnx.save(single("Identity", [("s", (TensorProto.STRING, [2]))], [("y", (TensorProto.STRING, [2]))]),
              str(out / "string_input.onnx"))
    onnx.save(single("Cast", [("x", f)], [("y", (TensorProto.STRING, [2, 3]))], to=TensorProto.STRING),
              str(out / "cast_string.onnx"))
    sequence = helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, [2])
    graph = helper.make_graph([helper.make_node("Identity", ["seq"], ["y"])], "sequence", [sequence],
                              [helper.make_tensor_sequence_value_info("y", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(out / "sequence_input.onnx"))
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 32, 1 << 32])
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "huge", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [huge])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(out / "huge_initializer.onnx"))
    data = (out / "tiny.onnx").read_bytes()
    (out / "truncated.onnx").write_bytes(data[: len(data) // 2])
    (out / "garbage.onnx").write_bytes(b"\xff\xff\xff\xff this is not a protobuf")
    missing = onnx.load(str(out / "external.onnx"), load_external_data=False)
    for tensor in missing.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "missing.data"
    onnx.save(missing, str(out / "missing_data.onnx"))
    for stem, location in (("escaping_data", "../outside.data"), ("absolute_data", "/dev/stdin"),
                           ("directory_data", ".")):
        model = onnx.load(str(out / "external.onnx"), load_external_data=False)
        for tensor in model.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
        onnx.save(model, str(out / f"{stem}.onnx"))


if __name__ == "__main__":
    main(sys.argv[1])
