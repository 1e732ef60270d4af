"""A small builder for `eff` IR, in pure Python and numpy.

It writes the textual IR that `effc` compiles (syntax: test/Dialect/Eff/IR/ops.mlir, semantics:
docs/spec/eff.md), records the weights and writes them as safetensors, and interprets the recorded graph with
the numpy reference of every op (test/reference/eff_reference.py), so a model built here can be checked
against its compiled form.

    from effc import ir

    m = ir.Module()
    fn = m.function("main", inputs=[("x", (None, None, 16), "f32")])
    w = m.parameter("proj.weight", np.ones((32, 16), np.float32))
    y = fn.linear(fn.args[0], w)
    fn.ret([y], names=["y"])
    m.save("model.mlir")              # model.mlir + model.safetensors beside it
    out = m.evaluate("main", {"x": x})  # {"y": ...} from the numpy reference

Values are typed: each builder method infers its result type by the rules of the spec (and of the compiler's
`inferReturnTypes`), so the printed IR is exactly what the verifier expects; a dynamic dimension is `None`
here and `?` in the IR. Shape constraints that can be checked statically raise ValueError citing the spec's
constraint (`eff_linear_c2`, ...).

Weights are `Parameter`s (`Module.parameter`). Passing one to a builder method emits an `eff.parameter` op
in the block being built (once per block), so every function and every `eff.layer` region reads its own
weights. An `eff.layer` is built with a `with` block; values of the enclosing function used inside it are
captured as extra layer operands automatically (the region is isolated from above).
"""

from __future__ import annotations

import json
import os
import re
import struct
import sys
from pathlib import Path

import numpy as np

__all__ = [
    "TensorType", "IndexType", "INDEX", "Value", "Parameter", "Op", "Block", "Function", "Layer", "Module",
    "write_safetensors", "read_safetensors", "element_type", "numpy_dtype",
]

ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh")
EMBEDDING_KINDS = ("token", "position", "segment")
IA3_TARGETS = ("key", "value", "ffn")
GATINGS = ("softmax", "sigmoid")

_FLOAT_ELEMENTS = ("f32", "f16", "bf16")
_INDEX_ELEMENTS = ("i32", "i64")
_NUMPY = {"f32": np.float32, "f16": np.float16, "f64": np.float64, "i64": np.int64, "i32": np.int32,
          "i1": np.bool_}
_SAFETENSORS_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.float64): "F64",
                       np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.bool_): "BOOL"}


def element_type(dtype) -> str:
    """The eff element type (`f32`, `i64`, ...) of a numpy dtype."""
    dtype = np.dtype(dtype)
    for name, np_type in _NUMPY.items():
        if dtype == np.dtype(np_type):
            return name
    raise TypeError(f"no eff element type for numpy dtype {dtype}")


def numpy_dtype(element: str):
    """The numpy dtype of an eff element type (bf16 has none)."""
    if element not in _NUMPY:
        raise TypeError(f"no numpy dtype for element type {element!r}")
    return np.dtype(_NUMPY[element])


# ----------------------------------------------------------------------------------------------------------
# Types and values


class TensorType:
    """A ranked tensor type; `None` in `shape` is a dynamic dimension."""

    __slots__ = ("shape", "element")

    def __init__(self, shape, element):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        if any(d is not None and d < 0 for d in self.shape):
            raise ValueError(f"negative dimension in {self.shape}")
        self.element = element if isinstance(element, str) else element_type(element)

    @property
    def rank(self):
        return len(self.shape)

    @property
    def is_float(self):
        return self.element in _FLOAT_ELEMENTS

    @property
    def is_static(self):
        return all(d is not None for d in self.shape)

    def with_shape(self, shape):
        return TensorType(shape, self.element)

    def __eq__(self, other):
        return isinstance(other, TensorType) and (self.shape, self.element) == (other.shape, other.element)

    def __hash__(self):
        return hash((self.shape, self.element))

    def __str__(self):
        return "tensor<" + "".join(("?" if d is None else str(d)) + "x" for d in self.shape) + self.element + ">"

    __repr__ = __str__


class IndexType:
    """The builtin `index` type (sizes and offsets, e.g. a KV-cache length)."""

    shape = None
    element = "index"

    def __eq__(self, other):
        return isinstance(other, IndexType)

    def __hash__(self):
        return hash("index")

    def __str__(self):
        return "index"

    __repr__ = __str__


INDEX = IndexType()


class _Typed:
    """Shape accessors of anything with a TensorType `type`."""

    __slots__ = ()

    @property
    def shape(self):
        return self.type.shape

    @property
    def element(self):
        return self.type.element

    @property
    def rank(self):
        return len(self.type.shape)


class Value(_Typed):
    """An SSA value: a function or layer argument, or an op result."""

    __slots__ = ("block", "type", "hint", "owner")

    def __init__(self, block, type_, hint=None, owner=None):
        self.block = block
        self.type = type_
        self.hint = hint
        self.owner = owner

    def __repr__(self):
        return f"<Value {self.hint or ''}: {self.type}>"


class Parameter(_Typed):
    """A named weight of a Module (an `eff.parameter` wherever it is used)."""

    __slots__ = ("name", "array", "type")

    def __init__(self, name, array):
        self.name = name
        self.array = array
        self.type = TensorType(array.shape, element_type(array.dtype))

    def __repr__(self):
        return f"<Parameter {self.name!r}: {self.type}>"


class Op:
    """One recorded operation.

    `operands` maps operand roles (in syntax order) to Values, None for an absent optional operand; `attrs`
    holds the attribute dictionary (int -> i64, float -> f32, True -> unit attribute, str -> string);
    `keyword` is the enum printed before the operands (activation kind, ...) or after them (ffn activation).
    """

    __slots__ = ("name", "operands", "attrs", "keyword", "results", "body", "extra")

    def __init__(self, name, operands, attrs=None, keyword=None, extra=None):
        self.name = name
        self.operands = operands
        self.attrs = attrs or {}
        self.keyword = keyword
        self.results = []
        self.body = None
        self.extra = extra

    def present_operands(self):
        return [v for v in self.operands.values() if v is not None]


# ----------------------------------------------------------------------------------------------------------
# Shape helpers (the compiler's dimsCompatible / mergeDims / addDims)


def _compatible(a, b):
    return a is None or b is None or a == b


def _merge(a, b):
    return b if a is None else a


def _add(a, b):
    return None if a is None or b is None else a + b


def _fmt(shape):
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _check(cond, message):
    if not cond:
        raise ValueError(message)


def _shapes_compatible(a, b):
    return len(a) == len(b) and all(_compatible(x, y) for x, y in zip(a, b))


def _float_attr(x):
    text = repr(float(x))
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa and "inf" not in mantissa and "nan" not in mantissa:
        mantissa += ".0"
    return mantissa + ("e" + exponent if exponent else "")


def _f32(x):
    """The value an f32 attribute holds after parsing."""
    return float(np.float32(x))


# ----------------------------------------------------------------------------------------------------------
# Blocks: the builder methods


class Block:
    """A list of ops with arguments; the builder methods of every op live here."""

    def __init__(self, module, parent=None):
        self.module = module
        self.parent = parent
        self.args = []
        self.ops = []
        self._params = {}
        self._open_layer = None

    # -- operand resolution ---------------------------------------------------------------------------------

    def _use(self, x):
        """The Value to use for operand `x` in this block (emitting/capturing as needed)."""
        if isinstance(x, Parameter):
            return self.parameter(x)
        if not isinstance(x, Value):
            raise TypeError(f"operand must be a Value or a Parameter, got {type(x).__name__}")
        if x.block is self:
            return x
        return self._capture(x)

    def _capture(self, x):
        raise ValueError(f"{x!r} is not visible in this block (defined in another function or layer)")

    def _capture_from_child(self, x):
        """The value `x` as seen in this block, for a nested layer that captures it."""
        if isinstance(x, Value) and x.block is self:
            return x
        return self._capture(x)

    def _append_layer(self, layer):
        if self._open_layer is not None:
            raise RuntimeError("another eff.layer of this block is still being built")
        self.ops.append(layer.op)
        self._open_layer = layer

    def _opt(self, x):
        return None if x is None else self._use(x)

    def _append(self, op, result_types, name=None):
        if self._open_layer is not None:
            raise RuntimeError("an eff.layer of this block is being built: add ops to the layer, not its parent")
        hints = name if isinstance(name, (list, tuple)) else [name] + [None] * (len(result_types) - 1)
        if isinstance(name, str) and len(result_types) > 1:
            hints = [name] + [f"{name}_{i}" for i in range(1, len(result_types))]
        op.results = [Value(self, t, h, op) for t, h in zip(result_types, hints)]
        self.ops.append(op)
        return op.results[0] if len(op.results) == 1 else tuple(op.results)

    def _float(self, value, what):
        _check(isinstance(value.type, TensorType) and value.type.is_float,
               f"{what} must be a float tensor, got {value.type}")

    def _same_element(self, op_name, *values):
        present = [v for v in values if v is not None]
        for v in present:
            if v.element != present[0].element:
                raise ValueError(f"{op_name}: float operands share one element type, got {present[0].element} "
                                 f"and {v.element}")

    # -- weights --------------------------------------------------------------------------------------------

    def parameter(self, param, name=None):
        """`eff.parameter` for a Parameter (or the name of one) of the module; emitted once per block."""
        if isinstance(param, str):
            param = self.module.parameters[param]
        if param.name in self._params:
            return self._params[param.name]
        value = self._append(Op("eff.parameter", {}, {"name": param.name}), [param.type],
                             name or param.name)
        self._params[param.name] = value
        return value

    # -- index arithmetic (arith / tensor dialect) ----------------------------------------------------------

    def constant_index(self, value, name=None):
        """`arith.constant N : index`."""
        return self._append(Op("arith.constant", {}, {"value": int(value)}), [INDEX], name or f"c{int(value)}")

    def dim(self, x, axis, name=None):
        """`tensor.dim` of `x` along `axis` (an `index`)."""
        x = self._use(x)
        axis = axis % x.rank
        c = self.constant_index(axis)
        return self._append(Op("tensor.dim", {"source": x, "index": c}), [INDEX], name)

    def _index_binary(self, opname, a, b, name):
        a = a if isinstance(a, Value) else self.constant_index(a)
        b = b if isinstance(b, Value) else self.constant_index(b)
        a, b = self._use(a), self._use(b)
        _check(a.type == INDEX and b.type == INDEX, f"{opname} takes index operands")
        return self._append(Op(opname, {"lhs": a, "rhs": b}), [INDEX], name)

    def addi(self, a, b, name=None):
        return self._index_binary("arith.addi", a, b, name)

    def subi(self, a, b, name=None):
        return self._index_binary("arith.subi", a, b, name)

    def muli(self, a, b, name=None):
        return self._index_binary("arith.muli", a, b, name)

    # -- transformer ops ------------------------------------------------------------------------------------

    def embedding(self, table, indices, kind="token", name=None):
        """`eff.embedding kind table[indices]`: rows of `table` [V, D] -> indices.shape + [D]."""
        _check(kind in EMBEDDING_KINDS, f"embedding kind must be one of {EMBEDDING_KINDS}, got {kind!r}")
        table, indices = self._use(table), self._use(indices)
        self._float(table, "table")
        _check(table.rank == 2, f"eff_embedding_c1: table must have rank 2, got {_fmt(table.shape)}")
        _check(indices.element in _INDEX_ELEMENTS, f"indices must be i32/i64, got {indices.type}")
        result = TensorType(indices.shape + (table.shape[1],), table.element)
        return self._append(Op("eff.embedding", {"table": table, "indices": indices}, keyword=kind), [result], name)

    def position_ids(self, ids, offset=None, name=None):
        """`eff.position_ids ids [offset off]`: offset + s, with the type of `ids`. `offset` is an index Value
        or an int."""
        ids = self._use(ids)
        _check(ids.element in _INDEX_ELEMENTS, f"ids must be i32/i64, got {ids.type}")
        _check(ids.rank >= 1, "eff_position_ids_c1: ids must have rank >= 1")
        if offset is not None and not isinstance(offset, Value):
            offset = self.constant_index(offset)
        if offset is not None:
            offset = self._use(offset)
            _check(offset.type == INDEX, f"offset must be an index, got {offset.type}")
        return self._append(Op("eff.position_ids", {"ids": ids, "offset": offset}), [ids.type], name)

    def linear(self, x, weight, bias=None, name=None):
        """`eff.linear x, W[, b]`: x [..., K] · Wᵀ ([N, K]) + b -> [..., N]."""
        x, weight, bias = self._use(x), self._use(weight), self._opt(bias)
        self._float(x, "input")
        self._same_element("eff.linear", x, weight, bias)
        _check(x.rank >= 1 and weight.rank == 2,
               f"eff_linear_c1: input rank >= 1 and weight rank 2, got {_fmt(x.shape)}, {_fmt(weight.shape)}")
        _check(_compatible(weight.shape[1], x.shape[-1]),
               f"eff_linear_c2: weight {_fmt(weight.shape)} does not take input {_fmt(x.shape)}")
        n = weight.shape[0]
        if bias is not None:
            _check(bias.rank == 1 and _compatible(bias.shape[0], n), f"eff_linear_c3: bias {_fmt(bias.shape)}")
            n = _merge(n, bias.shape[0])
        result = x.type.with_shape(x.shape[:-1] + (n,))
        return self._append(Op("eff.linear", {"input": x, "weight": weight, "bias": bias}), [result], name)

    def matmul(self, a, b, transpose_b=False, name=None):
        """`eff.matmul a, b [{transpose_b}]` over the last two dimensions."""
        a, b = self._use(a), self._use(b)
        self._same_element("eff.matmul", a, b)
        _check(a.rank >= 2 and b.rank >= 2, f"eff_matmul_c1: operands need rank >= 2, got {_fmt(a.shape)}, "
                                            f"{_fmt(b.shape)}")
        _check(b.rank in (2, a.rank), f"eff_matmul_c2: rhs {_fmt(b.shape)} must have rank 2 or lhs's rank")
        shape = []
        for i in range(a.rank - 2):
            d = a.shape[i]
            if b.rank != 2:
                _check(_compatible(d, b.shape[i]), f"eff_matmul_c2: batch dimension {i} differs")
                d = _merge(d, b.shape[i])
            shape.append(d)
        k = b.shape[-1] if transpose_b else b.shape[-2]
        n = b.shape[-2] if transpose_b else b.shape[-1]
        _check(_compatible(a.shape[-1], k), f"eff_matmul_c3: contraction dimensions differ: {_fmt(a.shape)}, "
                                            f"{_fmt(b.shape)}")
        result = a.type.with_shape(tuple(shape) + (a.shape[-2], n))
        return self._append(Op("eff.matmul", {"lhs": a, "rhs": b}, {"transpose_b": bool(transpose_b)}), [result],
                            name)

    def _norm(self, opname, x, gamma, beta, epsilon, name):
        x, gamma, beta = self._use(x), self._use(gamma), self._opt(beta)
        self._float(x, "input")
        self._same_element(opname, x, gamma, beta)
        _check(x.rank >= 1, f"{opname}: input must have rank >= 1")
        for vec, what in ((gamma, "gamma"), (beta, "beta")):
            if vec is not None:
                _check(vec.rank == 1 and _compatible(vec.shape[0], x.shape[-1]),
                       f"{opname.replace('eff.', 'eff_')}_c1: {what} {_fmt(vec.shape)} must be [{x.shape[-1]}]")
        _check(epsilon > 0, f"{opname.replace('eff.', 'eff_')}_c2: epsilon must be > 0")
        result = x.type.with_shape(x.shape[:-1] + (_merge(x.shape[-1], gamma.shape[0]),))
        operands = {"input": x, "gamma": gamma}
        if opname == "eff.layer_norm":
            operands["beta"] = beta
        return self._append(Op(opname, operands, {"epsilon": float(epsilon)}), [result], name)

    def layer_norm(self, x, gamma, beta=None, epsilon=1e-5, name=None):
        """`eff.layer_norm x, gamma[, beta] {epsilon}` over the last dimension."""
        return self._norm("eff.layer_norm", x, gamma, beta, epsilon, name)

    def rms_norm(self, x, gamma, epsilon=1e-6, name=None):
        """`eff.rms_norm x, gamma {epsilon}` over the last dimension."""
        return self._norm("eff.rms_norm", x, gamma, None, epsilon, name)

    def softmax(self, x, axis=-1, name=None):
        """`eff.softmax x {axis}`."""
        x = self._use(x)
        self._float(x, "input")
        _check(-x.rank <= axis < x.rank, f"eff_softmax_c1: axis {axis} out of range for rank {x.rank}")
        return self._append(Op("eff.softmax", {"input": x}, {"axis": int(axis)}), [x.type], name)

    def activation(self, kind, x, name=None):
        """`eff.activation kind x` (relu, gelu, gelu_tanh, silu, sigmoid, tanh)."""
        _check(kind in ACTIVATIONS, f"activation kind must be one of {ACTIVATIONS}, got {kind!r}")
        x = self._use(x)
        self._float(x, "input")
        return self._append(Op("eff.activation", {"input": x}, keyword=kind), [x.type], name)

    def glu(self, kind, gate, up, name=None):
        """`eff.glu kind gate, up`: activation(gate) · up."""
        _check(kind in ACTIVATIONS, f"activation kind must be one of {ACTIVATIONS}, got {kind!r}")
        gate, up = self._use(gate), self._use(up)
        _check(gate.type == up.type, f"eff.glu: gate {gate.type} and up {up.type} must have the same type")
        return self._append(Op("eff.glu", {"gate": gate, "up": up}, keyword=kind), [gate.type], name)

    def add(self, x, y, name=None):
        """`eff.add x, y` (the residual connection); both operands have one type."""
        x, y = self._use(x), self._use(y)
        _check(x.type == y.type, f"eff.add: operands must have the same type, got {x.type} and {y.type}")
        return self._append(Op("eff.add", {"lhs": x, "rhs": y}), [x.type], name)

    def rotary(self, x, positions, num_heads, theta=10000.0, rotary_dim=None, interleaved=False, name=None):
        """`eff.rotary x, positions {num_heads, theta, rotary_dim, interleaved}` (RoPE per head)."""
        x, positions = self._use(x), self._use(positions)
        self._float(x, "input")
        _check(positions.element in _INDEX_ELEMENTS, f"positions must be i32/i64, got {positions.type}")
        _check(x.rank >= 2 and num_heads >= 1, f"eff_rotary_c1: input rank >= 2, got {_fmt(x.shape)}")
        head_dim = None
        if x.shape[-1] is not None:
            _check(x.shape[-1] % num_heads == 0, f"eff_rotary_c1: num_heads={num_heads} must divide {x.shape[-1]}")
            head_dim = x.shape[-1] // num_heads
        r = rotary_dim if rotary_dim is not None else head_dim
        if r is not None:
            _check(r % 2 == 0 and r >= 2 and (head_dim is None or r <= head_dim),
                   f"eff_rotary_c2: rotary_dim={r} must be even, >= 2 and <= the head size {head_dim}")
        leading = x.shape[:-1]
        _check(_shapes_compatible(positions.shape, leading)
               or (positions.rank == 1 and _compatible(positions.shape[0], leading[-1])),
               f"eff_rotary_c3: positions {_fmt(positions.shape)} must be {_fmt(leading)} or [{leading[-1]}]")
        _check(theta > 0, "eff_rotary_c4: theta must be > 0")
        attrs = {"num_heads": int(num_heads), "theta": float(theta)}
        if rotary_dim is not None:
            attrs["rotary_dim"] = int(rotary_dim)
        attrs["interleaved"] = bool(interleaved)
        return self._append(Op("eff.rotary", {"input": x, "positions": positions}, attrs), [x.type], name)

    def attention(self, q, k, v, num_heads, num_kv_heads=None, scale=None, causal=False, mask=None,
                  head_mask=None, past=None, name=None, bias=None):
        """`eff.attention q, k, v [mask(m)] [bias(b)] [head_mask(hm)] [past(pk, pv)] {...}`.

        Returns the output, or with `past=(past_key, past_value)` the tuple (output, present_key,
        present_value)."""
        q, k, v = self._use(q), self._use(k), self._use(v)
        mask, head_mask, bias = self._opt(mask), self._opt(head_mask), self._opt(bias)
        past_key, past_value = (None, None) if past is None else (self._use(past[0]), self._use(past[1]))
        self._float(q, "query")
        self._same_element("eff.attention", q, k, v, bias, head_mask, past_key, past_value)
        _check(q.rank == 3 and k.rank == 3 and v.rank == 3, "eff_attention_c1: query, key, value must have rank 3")
        _check(_shapes_compatible(k.shape, v.shape), f"eff_attention_c1: key {_fmt(k.shape)} != value "
                                                     f"{_fmt(v.shape)}")
        _check(_compatible(q.shape[0], k.shape[0]), "eff_attention_c1: batch sizes differ")
        batch = _merge(_merge(q.shape[0], k.shape[0]), v.shape[0])
        _check(num_heads >= 1, "eff_attention_c2: num_heads must be >= 1")
        head_dim = None
        if q.shape[2] is not None:
            _check(q.shape[2] % num_heads == 0, f"eff_attention_c2: num_heads={num_heads} must divide {q.shape[2]}")
            head_dim = q.shape[2] // num_heads
        hkv = num_heads if num_kv_heads is None else num_kv_heads
        _check(hkv >= 1 and num_heads % hkv == 0, f"eff_attention_c3: num_kv_heads={hkv} must divide {num_heads}")
        kv_hidden = None if head_dim is None else hkv * head_dim
        _check(_compatible(k.shape[2], kv_hidden), f"eff_attention_c4: key {_fmt(k.shape)} must have {kv_hidden} "
                                                   f"channels")
        kv_hidden = _merge(kv_hidden, k.shape[2])
        past_len = 0
        if past_key is not None:
            _check(past_key.rank == 3 and _shapes_compatible(past_key.shape, past_value.shape)
                   and _compatible(past_key.shape[0], batch) and _compatible(past_key.shape[2], kv_hidden),
                   f"eff_attention_c7: past must be [batch, P, {kv_hidden}], got {_fmt(past_key.shape)}")
            past_len = past_key.shape[1]
        total = _add(past_len, k.shape[1])
        if mask is not None:
            _check(mask.rank == 2 and _compatible(mask.shape[0], batch) and _compatible(mask.shape[1], total),
                   f"eff_attention_c5: mask {_fmt(mask.shape)} must be [{batch}, {total}]")
        if head_mask is not None:
            _check(head_mask.rank == 1 and _compatible(head_mask.shape[0], num_heads),
                   f"eff_attention_c6: head_mask {_fmt(head_mask.shape)} must be [{num_heads}]")
        _check(scale is None or scale > 0, "eff_attention_c8: scale must be > 0")
        if causal and q.shape[1] is not None and total is not None:
            _check(q.shape[1] <= total, "eff_attention_c9: causal attention needs S <= L")
        if bias is not None:
            _check(bias.rank == 4 and (bias.shape[0] == 1 or _compatible(bias.shape[0], batch))
                   and _compatible(bias.shape[1], num_heads) and _compatible(bias.shape[2], q.shape[1])
                   and _compatible(bias.shape[3], total),
                   f"eff_attention_c10: bias {_fmt(bias.shape)} must be [{batch} or 1, {num_heads}, S, L]")
        attrs = {"num_heads": int(num_heads)}
        if num_kv_heads is not None:
            attrs["num_kv_heads"] = int(num_kv_heads)
        if scale is not None:
            attrs["scale"] = float(scale)
        attrs["causal"] = bool(causal)
        results = [TensorType((batch, q.shape[1], q.shape[2]), q.element)]
        if past_key is not None:
            results += [TensorType((batch, total, kv_hidden), k.element)] * 2
        operands = {"query": q, "key": k, "value": v, "mask": mask, "bias": bias, "head_mask": head_mask,
                    "past_key": past_key, "past_value": past_value}
        return self._append(Op("eff.attention", operands, attrs), results, name)

    @staticmethod
    def _pair(x):
        return tuple(x) + (None,) * (2 - len(x)) if isinstance(x, (tuple, list)) else (x, None)

    def ffn(self, x, up, down, activation="gelu", gate=None, name=None):
        """`eff.ffn x up(W_up[, b_up]) [gate(W_gate)] down(W_down[, b_down]) activation`.

        `up` and `down` are a weight or a (weight, bias) pair."""
        _check(activation in ACTIVATIONS, f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        w_up, b_up = self._pair(up)
        w_down, b_down = self._pair(down)
        x, w_up, b_up, w_gate = self._use(x), self._use(w_up), self._opt(b_up), self._opt(gate)
        w_down, b_down = self._use(w_down), self._opt(b_down)
        self._float(x, "input")
        self._same_element("eff.ffn", x, w_up, b_up, w_gate, w_down, b_down)
        _check(w_up.rank == 2 and _compatible(w_up.shape[1], x.shape[-1]),
               f"eff_ffn_c1: W_up {_fmt(w_up.shape)} must be [F, {x.shape[-1]}]")
        if w_gate is not None:
            _check(_shapes_compatible(w_gate.shape, w_up.shape), f"eff_ffn_c1: W_gate {_fmt(w_gate.shape)}")
        _check(w_down.rank == 2 and _compatible(w_down.shape[1], w_up.shape[0]),
               f"eff_ffn_c2: W_down {_fmt(w_down.shape)} must be [D', {w_up.shape[0]}]")
        if b_up is not None:
            _check(b_up.rank == 1 and _compatible(b_up.shape[0], w_up.shape[0]), "eff_ffn_c3: b_up")
        if b_down is not None:
            _check(b_down.rank == 1 and _compatible(b_down.shape[0], w_down.shape[0]), "eff_ffn_c3: b_down")
        result = x.type.with_shape(x.shape[:-1] + (w_down.shape[0],))
        operands = {"input": x, "up_weight": w_up, "up_bias": b_up, "gate_weight": w_gate, "down_weight": w_down,
                    "down_bias": b_down}
        return self._append(Op("eff.ffn", operands, keyword=activation), [result], name)

    def layer(self, index, *inputs):
        """An `eff.layer index (inputs...)` block, built in a `with` statement:

            with fn.layer(0, h, mask) as layer:
                x, m = layer.args
                ...
                layer.yield_(out)
            h = layer.result

        Values of this block used inside the layer are added as operands automatically."""
        return Layer(self, index, inputs)

    # -- adapter ops ----------------------------------------------------------------------------------------

    def lora(self, base, x, lora_a, lora_b, alpha, rank=None, name=None):
        """`eff.lora base, x, A, B {rank, alpha}`: base + (alpha / rank) · (x · Aᵀ) · Bᵀ."""
        base, x, a, b = self._use(base), self._use(x), self._use(lora_a), self._use(lora_b)
        self._same_element("eff.lora", base, x, a, b)
        rank = a.shape[0] if rank is None else rank
        _check(rank is not None and rank >= 1 and a.rank == 2 and b.rank == 2 and _compatible(a.shape[0], rank)
               and _compatible(b.shape[1], rank), f"eff_lora_c1: A [r, K], B [N, r] with r = rank = {rank}")
        _check(_compatible(a.shape[1], x.shape[-1]) and _compatible(b.shape[0], base.shape[-1]),
               f"eff_lora_c2: A {_fmt(a.shape)} / B {_fmt(b.shape)} do not match x {_fmt(x.shape)} / base "
               f"{_fmt(base.shape)}")
        _check(base.rank == x.rank and _shapes_compatible(base.shape[:-1], x.shape[:-1]),
               "eff_lora_c3: base and x must have the same leading dimensions")
        result = base.type.with_shape(base.shape[:-1] + (_merge(base.shape[-1], b.shape[0]),))
        return self._append(Op("eff.lora", {"base": base, "input": x, "lora_a": a, "lora_b": b},
                               {"rank": int(rank), "alpha": float(alpha)}), [result], name)

    def ia3(self, x, scale, target="key", name=None):
        """`eff.ia3 target x, scale`: x · scale over the last dimension."""
        _check(target in IA3_TARGETS, f"ia3 target must be one of {IA3_TARGETS}, got {target!r}")
        x, scale = self._use(x), self._use(scale)
        self._same_element("eff.ia3", x, scale)
        _check(scale.rank == 1 and _compatible(scale.shape[0], x.shape[-1]),
               f"eff_ia3_c1: scale {_fmt(scale.shape)} must be [{x.shape[-1]}]")
        return self._append(Op("eff.ia3", {"input": x, "scale": scale}, keyword=target), [x.type], name)

    def prefix(self, key, value, prefix_key, prefix_value, name=None):
        """`eff.prefix k, v, pk, pv` -> (key, value) with the [P, D] prefixes prepended: [B, P + L, D]."""
        key, value, pk, pv = self._use(key), self._use(value), self._use(prefix_key), self._use(prefix_value)
        self._same_element("eff.prefix", key, value, pk, pv)
        _check(key.rank == 3 and _shapes_compatible(key.shape, value.shape) and pk.rank == 2
               and _shapes_compatible(pk.shape, pv.shape), "eff_prefix_c1: key/value [B, L, D], prefixes [P, D]")
        _check(_compatible(pk.shape[1], key.shape[2]), "eff_prefix_c2: prefix D must equal the key's")
        t = TensorType((key.shape[0], _add(pk.shape[0], key.shape[1]), _merge(key.shape[2], pk.shape[1])),
                       key.element)
        return self._append(Op("eff.prefix", {"key": key, "value": value, "prefix_key": pk, "prefix_value": pv}),
                            [t, t], name)

    def prompt(self, embeds, soft_prompt, name=None):
        """`eff.prompt embeds, prompt`: prepends the [P, D] soft prompt: [B, P + S, D]."""
        embeds, soft = self._use(embeds), self._use(soft_prompt)
        self._same_element("eff.prompt", embeds, soft)
        _check(embeds.rank == 3 and soft.rank == 2 and _compatible(embeds.shape[2], soft.shape[1]),
               "eff_prompt_c1: embeds [B, S, D] and prompt [P, D]")
        t = TensorType((embeds.shape[0], _add(soft.shape[0], embeds.shape[1]), _merge(embeds.shape[2],
                                                                                       soft.shape[1])),
                       embeds.element)
        return self._append(Op("eff.prompt", {"embeds": embeds, "prompt": soft}), [t], name)

    def bottleneck_adapter(self, x, down, up, activation="relu", name=None):
        """`eff.bottleneck_adapter x down(W_down[, b_down]) up(W_up[, b_up]) activation` (with its residual)."""
        _check(activation in ACTIVATIONS, f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        w_down, b_down = self._pair(down)
        w_up, b_up = self._pair(up)
        x, w_down, b_down = self._use(x), self._use(w_down), self._opt(b_down)
        w_up, b_up = self._use(w_up), self._opt(b_up)
        self._same_element("eff.bottleneck_adapter", x, w_down, b_down, w_up, b_up)
        d, r = x.shape[-1], w_down.shape[0]
        _check(w_down.rank == 2 and _compatible(w_down.shape[1], d) and w_up.rank == 2
               and _compatible(w_up.shape[0], d) and _compatible(w_up.shape[1], r),
               f"eff_bottleneck_adapter_c1: W_down [R, {d}] and W_up [{d}, R], got {_fmt(w_down.shape)}, "
               f"{_fmt(w_up.shape)}")
        operands = {"input": x, "down_weight": w_down, "down_bias": b_down, "up_weight": w_up, "up_bias": b_up}
        return self._append(Op("eff.bottleneck_adapter", operands, keyword=activation), [x.type], name)

    # -- mixture-of-experts ops -----------------------------------------------------------------------------

    def router(self, x, weight, top_k, gating="softmax", normalize=False, capacity_factor=None, name=None):
        """`eff.router gating x, W {top_k, normalize, capacity_factor}` -> (weights [..., k], indices [..., k])."""
        _check(gating in GATINGS, f"gating must be one of {GATINGS}, got {gating!r}")
        x, weight = self._use(x), self._use(weight)
        self._same_element("eff.router", x, weight)
        _check(weight.rank == 2 and _compatible(weight.shape[1], x.shape[-1]),
               f"eff_router_c1: weight {_fmt(weight.shape)} must be [E, {x.shape[-1]}]")
        _check(top_k >= 1 and (weight.shape[0] is None or top_k <= weight.shape[0]),
               f"eff_router_c2: top_k={top_k} must be in [1, E]")
        _check(capacity_factor is None or capacity_factor > 0, "eff_router_c3: capacity_factor must be > 0")
        shape = x.shape[:-1] + (int(top_k),)
        attrs = {"top_k": int(top_k), "normalize": bool(normalize)}
        if capacity_factor is not None:
            attrs["capacity_factor"] = float(capacity_factor)
        return self._append(Op("eff.router", {"input": x, "weight": weight}, attrs, keyword=gating),
                            [TensorType(shape, x.element), TensorType(shape, "i64")], name)

    def experts(self, x, weights, indices, up, down, activation="gelu", gate=None, name=None):
        """`eff.experts x, w, i up(W_up[, b_up]) [gate(W_gate)] down(W_down[, b_down]) activation`."""
        _check(activation in ACTIVATIONS, f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        w_up, b_up = self._pair(up)
        w_down, b_down = self._pair(down)
        x, weights, indices = self._use(x), self._use(weights), self._use(indices)
        w_up, b_up, w_gate = self._use(w_up), self._opt(b_up), self._opt(gate)
        w_down, b_down = self._use(w_down), self._opt(b_down)
        self._same_element("eff.experts", x, weights, w_up, b_up, w_gate, w_down, b_down)
        _check(weights.rank == x.rank and _shapes_compatible(weights.shape[:-1], x.shape[:-1])
               and _shapes_compatible(weights.shape, indices.shape),
               "eff_experts_c1: weights and indices must be input.shape[:-1] + [k]")
        _check(w_up.rank == 3 and _compatible(w_up.shape[2], x.shape[-1]), "eff_experts_c2: W_up [E, F, D]")
        e, f = w_up.shape[0], w_up.shape[1]
        if w_gate is not None:
            _check(_shapes_compatible(w_gate.shape, w_up.shape), "eff_experts_c2: W_gate must have W_up's shape")
        _check(w_down.rank == 3 and _shapes_compatible(w_down.shape, (e, x.shape[-1], f)),
               "eff_experts_c3: W_down [E, D, F]")
        operands = {"input": x, "routing_weights": weights, "routing_indices": indices, "up_weight": w_up,
                    "up_bias": b_up, "gate_weight": w_gate, "down_weight": w_down, "down_bias": b_down}
        return self._append(Op("eff.experts", operands, keyword=activation), [x.type], name)

    def residual_moe(self, x, dense, moe, coefficient_weight, coefficient_bias=None, name=None):
        """`eff.residual_moe x, dense, moe, W_coef[, b_coef]`: dense · c0 + moe · c1, c = softmax(x · Wᵀ + b)."""
        x, dense, moe = self._use(x), self._use(dense), self._use(moe)
        wc, bc = self._use(coefficient_weight), self._opt(coefficient_bias)
        self._same_element("eff.residual_moe", x, dense, moe, wc, bc)
        _check(_shapes_compatible(dense.shape, x.shape) and _shapes_compatible(moe.shape, x.shape),
               "eff_residual_moe_c1: dense and moe must have the input's shape")
        _check(wc.rank == 2 and _shapes_compatible(wc.shape, (2, x.shape[-1])), "eff_residual_moe_c2: W_coef [2, D]")
        shape = tuple(_merge(a, _merge(b, c)) for a, b, c in zip(x.shape, dense.shape, moe.shape))
        operands = {"input": x, "dense": dense, "experts": moe, "coefficient_weight": wc, "coefficient_bias": bc}
        return self._append(Op("eff.residual_moe", operands), [x.type.with_shape(shape)], name)


class Layer(Block):
    """The region of an `eff.layer` (see Block.layer)."""

    def __init__(self, parent, index, inputs):
        super().__init__(parent.module, parent)
        _check(int(index) >= 0, "eff_layer_c1: index must be >= 0")
        self.index = int(index)
        self.op = Op("eff.layer", {}, {"index": int(index)})
        self.op.body = self
        self.op.extra = []  # the layer's operands (values of the parent block), in order
        self.results = None
        self._yielded = None
        self._captured = {}
        outer = [parent._use(x) for x in inputs]  # before the parent is locked (a Parameter emits an op)
        parent._append_layer(self)
        for x in outer:
            self._add_input(x)

    def _add_input(self, outer):
        self.op.extra.append(outer)
        arg = Value(self, outer.type, outer.hint)
        self.args.append(arg)
        self._captured[id(outer)] = arg
        return arg

    def _capture(self, x):
        outer = self.parent._capture_from_child(x)
        if id(outer) in self._captured:
            return self._captured[id(outer)]
        return self._add_input(outer)

    @property
    def operands(self):
        return list(self.op.extra)

    @property
    def result(self):
        """The first result (the residual stream)."""
        if self.results is None:
            raise RuntimeError("the layer has not yielded yet")
        return self.results[0]

    def yield_(self, *values):
        """`eff.yield values`: the layer's results; the first must have the first operand's type."""
        _check(self._yielded is None, "the layer has already yielded")
        values = [self._use(v) for v in (values[0] if len(values) == 1 and isinstance(values[0], (list, tuple))
                                         else values)]
        _check(values, "a layer yields at least its residual stream")
        if self.args:
            _check(values[0].type == self.args[0].type,
                   f"eff_layer_c4: the first result {values[0].type} must have the first operand's type "
                   f"{self.args[0].type}")
        self._yielded = values
        self.parent._open_layer = None
        hints = [f"layer{self.index}"] + [f"layer{self.index}_{i}" for i in range(1, len(values))]
        self.op.results = [Value(self.parent, v.type, h, self.op) for v, h in zip(values, hints)]
        self.results = self.op.results
        return self.results[0] if len(self.results) == 1 else tuple(self.results)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.parent._open_layer = None
        if exc_type is None and self._yielded is None:
            raise RuntimeError(f"eff.layer {self.index} was closed without yield_()")
        return False



class Function(Block):
    """A `func.func` of a Module; `args` are its inputs as Values."""

    def __init__(self, module, name, inputs):
        super().__init__(module)
        self.name = name
        self.input_names = []
        for spec in inputs:
            arg_name, shape, element = spec
            type_ = INDEX if element == "index" else TensorType(shape, element)
            self.args.append(Value(self, type_, arg_name))
            self.input_names.append(arg_name)
        self.results = None
        self.result_names = None

    def input(self, name):
        """The argument named `name`."""
        return self.args[self.input_names.index(name)]

    def __getitem__(self, name):
        return self.input(name)

    def ret(self, values, names=None):
        """`return values`, naming the results (`eff.name`) for the runtime."""
        _check(self.results is None, f"function {self.name} has already returned")
        if isinstance(values, Value):
            values = [values]
        values = [self._use(v) for v in values]
        names = list(names) if names is not None else [f"output{i}" for i in range(len(values))]
        _check(len(names) == len(values), "one name per result")
        _check(len(set(names)) == len(names), f"result names must be unique, got {names}")
        self.results = values
        self.result_names = names


# ----------------------------------------------------------------------------------------------------------
# Printing


_SSA_CHARS = re.compile(r"[^A-Za-z0-9$._-]")


class _Namer:
    def __init__(self):
        self.used = set()
        self.names = {}
        self.counter = 0

    def define(self, value):
        if value.hint:
            base = _SSA_CHARS.sub("_", value.hint)
            if not re.match(r"[A-Za-z_$.-]", base):
                base = "_" + base
            name, i = base, 0
            while name in self.used:
                i += 1
                name = f"{base}_{i}"
        else:
            while str(self.counter) in self.used:
                self.counter += 1
            name = str(self.counter)
            self.counter += 1
        self.used.add(name)
        self.names[id(value)] = "%" + name
        return self.names[id(value)]

    def __call__(self, value):
        return self.names[id(value)]


def _attr_text(key, value):
    if value is True:
        return key
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"{key} = {value} : i64"
    if isinstance(value, float):
        return f"{key} = {_float_attr(value)} : f32"
    if isinstance(value, str):
        return f"{key} = {json.dumps(value)}"
    raise TypeError(f"attribute {key}: unsupported value {value!r}")


def _attr_dict(attrs, skip=(), defaults=None):
    defaults = defaults or {}
    parts = []
    for key, value in attrs.items():
        if key in skip or (key in defaults and defaults[key] == value):
            continue
        text = _attr_text(key, value)
        if text:
            parts.append(text)
    return " {" + ", ".join(parts) + "}" if parts else ""


def _functional_type(operands, results):
    ins = ", ".join(str(v.type) for v in operands)
    outs = str(results[0].type) if len(results) == 1 else "(" + ", ".join(str(v.type) for v in results) + ")"
    return f"({ins}) -> {outs}"


def _print_op(op, n, indent):
    """The text of `op` (one or more lines)."""
    pad = " " * indent
    lhs = ", ".join(n.define(r) for r in op.results) + " = " if op.results else ""
    o = op.operands
    name = op.name
    ftype = _functional_type(op.present_operands(), op.results)
    if name == "eff.parameter":
        return f'{pad}{lhs}eff.parameter {json.dumps(op.attrs["name"])} : {op.results[0].type}'
    if name == "arith.constant":
        return f"{pad}{lhs}arith.constant {op.attrs['value']} : index"
    if name == "tensor.dim":
        return f"{pad}{lhs}tensor.dim {n(o['source'])}, {n(o['index'])} : {o['source'].type}"
    if name in ("arith.addi", "arith.subi", "arith.muli"):
        return f"{pad}{lhs}{name} {n(o['lhs'])}, {n(o['rhs'])} : index"
    if name == "eff.embedding":
        return f"{pad}{lhs}eff.embedding {op.keyword} {n(o['table'])}[{n(o['indices'])}] : {ftype}"
    if name == "eff.position_ids":
        offset = f" offset {n(o['offset'])}" if o["offset"] is not None else ""
        return f"{pad}{lhs}eff.position_ids {n(o['ids'])}{offset} : {o['ids'].type}"
    if name in ("eff.softmax",):
        return f"{pad}{lhs}{name} {n(o['input'])}{_attr_dict(op.attrs, defaults={'axis': -1})} : {o['input'].type}"
    if name in ("eff.activation",):
        return f"{pad}{lhs}{name} {op.keyword} {n(o['input'])} : {o['input'].type}"
    if name == "eff.glu":
        return f"{pad}{lhs}eff.glu {op.keyword} {n(o['gate'])}, {n(o['up'])} : {o['gate'].type}"
    if name == "eff.add":
        return f"{pad}{lhs}eff.add {n(o['lhs'])}, {n(o['rhs'])} : {o['lhs'].type}"
    if name == "eff.ia3":
        return f"{pad}{lhs}eff.ia3 {op.keyword} {n(o['input'])}, {n(o['scale'])} : {ftype}"
    if name == "eff.router":
        return (f"{pad}{lhs}eff.router {op.keyword} {n(o['input'])}, {n(o['weight'])}{_attr_dict(op.attrs)} : "
                f"{ftype}")
    if name == "eff.attention":
        text = f"{n(o['query'])}, {n(o['key'])}, {n(o['value'])}"
        if o["mask"] is not None:
            text += f" mask({n(o['mask'])})"
        if o.get("bias") is not None:
            text += f" bias({n(o['bias'])})"
        if o["head_mask"] is not None:
            text += f" head_mask({n(o['head_mask'])})"
        if o["past_key"] is not None:
            text += f" past({n(o['past_key'])}, {n(o['past_value'])})"
        return f"{pad}{lhs}eff.attention {text}{_attr_dict(op.attrs)} : {ftype}"
    if name in ("eff.ffn", "eff.experts", "eff.bottleneck_adapter"):
        def group(kw, w, b):
            return f"{kw}({n(w)}" + (f", {n(b)}" if b is not None else "") + ")"
        head = n(o["input"])
        if name == "eff.experts":
            head += f", {n(o['routing_weights'])}, {n(o['routing_indices'])}"
        if name == "eff.bottleneck_adapter":
            groups = [group("down", o["down_weight"], o["down_bias"]), group("up", o["up_weight"], o["up_bias"])]
        else:
            groups = [group("up", o["up_weight"], o["up_bias"])]
            if o["gate_weight"] is not None:
                groups.append(f"gate({n(o['gate_weight'])})")
            groups.append(group("down", o["down_weight"], o["down_bias"]))
        return f"{pad}{lhs}{name} {head} {' '.join(groups)} {op.keyword} : {ftype}"
    if name == "eff.layer":
        layer = op.body
        ins = ", ".join(n(v) for v in op.extra)
        ftype = _functional_type(op.extra, op.results)
        lines = [f"{pad}{lhs}eff.layer {op.attrs['index']} ({ins}) : {ftype} {{"]
        args = ", ".join(f"{n.define(a)}: {a.type}" for a in layer.args)
        lines.append(f"{pad}^bb0({args}):")
        lines += [_print_op(inner, n, indent + 2) for inner in layer.ops]
        yielded = layer._yielded
        lines.append(f"{pad}  eff.yield {', '.join(n(v) for v in yielded)} : "
                     f"{', '.join(str(v.type) for v in yielded)}")
        lines.append(f"{pad}}}")
        return "\n".join(lines)
    # Generic eff form: operands, attribute dictionary, functional type.
    operands = ", ".join(n(v) for v in op.present_operands())
    return f"{pad}{lhs}{name} {operands}{_attr_dict(op.attrs)} : {ftype}"


def _print_function(fn, indent=2):
    _check(fn.results is not None, f"function {fn.name} has no ret()")
    n = _Namer()
    pad = " " * indent
    args = ", ".join(f'{n.define(a)}: {a.type} {{eff.name = {json.dumps(name)}}}'
                     for a, name in zip(fn.args, fn.input_names))
    outs = ", ".join(f'{v.type} {{eff.name = {json.dumps(name)}}}' for v, name in zip(fn.results, fn.result_names))
    lines = [f"{pad}func.func @{fn.name}({args}) -> ({outs}) {{"]
    lines += [_print_op(op, n, indent + 2) for op in fn.ops]
    lines.append(f"{pad}  return {', '.join(n(v) for v in fn.results)} : "
                 f"{', '.join(str(v.type) for v in fn.results)}")
    lines.append(f"{pad}}}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Safetensors


def write_safetensors(path, tensors):
    """Writes {name: ndarray} as safetensors: 8-byte LE header length, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.asarray(array)
        if array.dtype not in _SAFETENSORS_DTYPES:
            raise TypeError(f"{name}: no safetensors dtype for {array.dtype}")
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _SAFETENSORS_DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def read_safetensors(path):
    """Reads a safetensors file into {name: ndarray}."""
    codes = {code: dtype for dtype, code in _SAFETENSORS_DTYPES.items()}
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = codes[info["dtype"]].newbyteorder("<")
        out[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"]).astype(dtype.newbyteorder("="))
    return out


# ----------------------------------------------------------------------------------------------------------
# Evaluation with the numpy reference


def _reference():
    """The numpy reference module (test/reference/eff_reference.py of this checkout, or $EFFC_REFERENCE_DIR)."""
    directory = os.environ.get("EFFC_REFERENCE_DIR") or str(Path(__file__).resolve().parents[2] / "test" / "reference")
    if directory not in sys.path:
        sys.path.insert(0, directory)
    import eff_reference  # noqa: PLC0415

    return eff_reference


def _eval_op(ref, op, args, params):
    a = {role: (None if v is None else args[id(v)]) for role, v in op.operands.items()}
    at = op.attrs
    name = op.name
    if name == "eff.parameter":
        return [params[at["name"]].array]
    if name == "arith.constant":
        return [at["value"]]
    if name == "tensor.dim":
        return [int(np.shape(a["source"])[a["index"]])]
    if name == "arith.addi":
        return [a["lhs"] + a["rhs"]]
    if name == "arith.subi":
        return [a["lhs"] - a["rhs"]]
    if name == "arith.muli":
        return [a["lhs"] * a["rhs"]]
    if name == "eff.embedding":
        return [ref.embedding(a["table"], a["indices"], kind=op.keyword)]
    if name == "eff.position_ids":
        return [ref.position_ids(a["ids"], offset=0 if a["offset"] is None else a["offset"])]
    if name == "eff.linear":
        return [ref.linear(a["input"], a["weight"], bias=a["bias"])]
    if name == "eff.matmul":
        return [ref.matmul(a["lhs"], a["rhs"], transpose_b=at["transpose_b"])]
    if name == "eff.layer_norm":
        return [ref.layer_norm(a["input"], a["gamma"], beta=a["beta"], epsilon=_f32(at["epsilon"]))]
    if name == "eff.rms_norm":
        return [ref.rms_norm(a["input"], a["gamma"], epsilon=_f32(at["epsilon"]))]
    if name == "eff.softmax":
        return [ref.softmax(a["input"], axis=at["axis"])]
    if name == "eff.activation":
        return [ref.activation(op.keyword, a["input"])]
    if name == "eff.glu":
        return [ref.glu(op.keyword, a["gate"], a["up"])]
    if name == "eff.add":
        return [ref.add(a["lhs"], a["rhs"])]
    if name == "eff.rotary":
        return [ref.rotary(a["input"], a["positions"], num_heads=at["num_heads"], theta=_f32(at["theta"]),
                           rotary_dim=at.get("rotary_dim"), interleaved=at["interleaved"])]
    if name == "eff.attention":
        out = ref.attention(a["query"], a["key"], a["value"], num_heads=at["num_heads"],
                            num_kv_heads=at.get("num_kv_heads"),
                            scale=None if "scale" not in at else _f32(at["scale"]), causal=at["causal"],
                            mask=a["mask"], head_mask=a["head_mask"], past_key=a["past_key"],
                            past_value=a["past_value"], bias=a.get("bias"))
        return list(out) if isinstance(out, tuple) else [out]
    if name == "eff.ffn":
        return [ref.ffn(a["input"], a["up_weight"], a["down_weight"], kind=op.keyword, b_up=a["up_bias"],
                        w_gate=a["gate_weight"], b_down=a["down_bias"])]
    if name == "eff.lora":
        return [ref.lora(a["base"], a["input"], a["lora_a"], a["lora_b"], rank=at["rank"], alpha=_f32(at["alpha"]))]
    if name == "eff.ia3":
        return [ref.ia3(a["input"], a["scale"], target=op.keyword)]
    if name == "eff.prefix":
        return list(ref.prefix(a["key"], a["value"], a["prefix_key"], a["prefix_value"]))
    if name == "eff.prompt":
        return [ref.prompt(a["embeds"], a["prompt"])]
    if name == "eff.bottleneck_adapter":
        return [ref.bottleneck_adapter(a["input"], a["down_weight"], a["up_weight"], kind=op.keyword,
                                       b_down=a["down_bias"], b_up=a["up_bias"])]
    if name == "eff.router":
        cf = at.get("capacity_factor")
        return list(ref.router(a["input"], a["weight"], top_k=at["top_k"], gating=op.keyword,
                               normalize=at["normalize"], capacity_factor=None if cf is None else _f32(cf)))
    if name == "eff.experts":
        return [ref.experts(a["input"], a["routing_weights"], a["routing_indices"], a["up_weight"],
                            a["down_weight"], kind=op.keyword, b_up=a["up_bias"], w_gate=a["gate_weight"],
                            b_down=a["down_bias"])]
    if name == "eff.residual_moe":
        return [ref.residual_moe(a["input"], a["dense"], a["experts"], a["coefficient_weight"],
                                 a["coefficient_bias"])]
    raise NotImplementedError(f"no evaluation for {name}")


def _eval_block(ref, block, env, params):
    for op in block.ops:
        if op.name == "eff.layer":
            inner = {id(arg): env[id(v)] for arg, v in zip(op.body.args, op.extra)}
            _eval_block(ref, op.body, inner, params)
            outs = [inner[id(v)] for v in op.body._yielded]
        else:
            outs = _eval_op(ref, op, env, params)
        _check(len(outs) == len(op.results), f"{op.name}: {len(outs)} values for {len(op.results)} results")
        for value, array in zip(op.results, outs):
            env[id(value)] = array


def _check_input(name, type_, array):
    if type_ == INDEX:
        return int(array)
    array = np.asarray(array)
    expected = numpy_dtype(type_.element)
    if array.dtype != expected:
        raise TypeError(f"input {name!r}: dtype {array.dtype}, expected {expected} ({type_})")
    if array.ndim != type_.rank or not _shapes_compatible(array.shape, type_.shape):
        raise ValueError(f"input {name!r}: shape {array.shape} does not match {type_}")
    return array


# ----------------------------------------------------------------------------------------------------------
# Modules


class Module:
    """An eff module: functions, the weights they read, and the name of the weights file."""

    def __init__(self, weights_file=None, description=None):
        self.weights_file = weights_file
        self.description = description
        self.functions = {}
        self.parameters = {}

    def parameter(self, name, array=None):
        """Records weight `name` (an ndarray) and returns its Parameter; without `array`, the one recorded."""
        if array is None:
            return self.parameters[name]
        _check(bool(name), "eff_parameter_c1: a parameter name is not empty")
        array = np.asarray(array)
        if name in self.parameters:
            existing = self.parameters[name]
            if existing.array.shape != array.shape or existing.array.dtype != array.dtype \
                    or not np.array_equal(existing.array, array):
                raise ValueError(f"parameter {name!r} is already recorded with another value")
            return existing
        param = Parameter(name, np.ascontiguousarray(array))
        self.parameters[name] = param
        return param

    def function(self, name, inputs):
        """Adds `func.func @name`; `inputs` are (name, shape, element) triples, None for a dynamic dimension
        and element one of f32, f16, bf16, i64, i32, i1 (or "index" with shape None)."""
        _check(name not in self.functions, f"function {name} already exists")
        fn = Function(self, name, inputs)
        self.functions[name] = fn
        return fn

    def to_mlir(self):
        """The module's textual IR."""
        lines = []
        if self.description:
            lines += ["// " + line if line else "//" for line in self.description.strip().splitlines()]
        if self.weights_file and self.parameters:
            lines.append(f"module attributes {{eff.weights = {json.dumps(str(self.weights_file))}}} {{")
        else:
            lines.append("module {")
        lines.append("\n\n".join(_print_function(fn) for fn in self.functions.values()))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def save(self, path):
        """Writes the IR to `path` and, if the module has weights, the safetensors file beside it (named by
        `weights_file`, default: the IR's stem + .safetensors). Returns (ir path, weights path or None)."""
        path = Path(path)
        weights = None
        if self.parameters:
            if not self.weights_file:
                self.weights_file = path.stem + ".safetensors"
            weights = path.parent / self.weights_file
            write_safetensors(weights, {name: p.array for name, p in self.parameters.items()})
        path.write_text(self.to_mlir())
        return path, weights

    def evaluate(self, fn_name, inputs):
        """Interprets function `fn_name` with the numpy reference; returns {result name: ndarray}."""
        ref = _reference()
        fn = self.functions[fn_name]
        _check(fn.results is not None, f"function {fn_name} has no ret()")
        missing = set(fn.input_names) - set(inputs)
        _check(not missing, f"missing inputs {sorted(missing)}")
        env = {id(arg): _check_input(name, arg.type, inputs[name]) for arg, name in zip(fn.args, fn.input_names)}
        _eval_block(ref, fn, env, self.parameters)
        return {name: env[id(v)] for name, v in zip(fn.result_names, fn.results)}
