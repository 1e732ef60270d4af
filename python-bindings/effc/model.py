"""Compiled models: `effc.compile`, `effc.load` and `Model` (run, signature, save, report, generate).

A Model wraps a module loaded by the effc runtime (extension `effc._effc`). `compile` is JIT: it compiles
in-process into a temporary directory, copies the shared object into memory (a memfd), loads that copy and
removes the directory, so nothing stays on disk unless `Model.save` writes it.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _effc
from ._effc import Error, InputError

__all__ = ["compile", "load", "default_runtime", "parse_size", "compression_options", "Model", "Signature", "FunctionSignature",
           "TensorSpec", "Report", "ReportPart", "OutputErrorReport"]

_SOURCE_SUFFIXES = (".mlir", ".mlirbc")

# ----------------------------------------------------------------------------------------------------------
# The runtime shared by models loaded without an explicit one

_default_runtimes = {}  # device kind -> Runtime
_runtime_lock = threading.Lock()


def default_runtime(device="cpu") -> _effc.Runtime:
    """The process-wide runtime of `device` ("cpu", or "cuda" for models compiled with target="cuda"; a
    thread pool over all cores, no memory limit) that models use by default. A module file can be loaded by
    one runtime at a time, so sharing this one is the simple choice; pass
    `runtime=effc.Runtime(num_threads=..., memory_limit_bytes=..., device=...)` to `compile`/`load` for
    another. Without a CUDA driver, the cuda runtime raises effc.RuntimeError (code UNAVAILABLE)."""
    with _runtime_lock:
        if device not in _default_runtimes:
            _default_runtimes[device] = _effc.Runtime(device=device)
        return _default_runtimes[device]


_SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(value) -> int:
    """Bytes from a non-negative int or a string with an optional K, M, G or T suffix (powers of 1024, an
    optional trailing B, as effc-run's --memory-limit): 4096, "512M", "2G", "1.5GB"."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"a size is an int or a string like '512M', not {type(value).__name__}")
    if isinstance(value, int):
        number, scale = value, 1
    else:
        text = value.strip().upper()
        text = text[:-1] if text.endswith("B") else text
        unit = text[-1:] if text[-1:] in _SIZE_SUFFIXES else ""
        try:
            number, scale = float(text[:len(text) - len(unit)]), _SIZE_SUFFIXES[unit]
        except ValueError:
            raise ValueError(f"invalid size '{value}' (expected bytes, optionally with K, M, G or T: '512M')") from None
    if not number >= 0 or number * scale >= 1 << 64:
        raise ValueError(f"invalid size '{value}': must be between 0 and 2**64 - 1 bytes")
    return int(number * scale)


def _runtime_for(runtime, memory_limit, caller, device="cpu"):
    """The runtime a model loads into: `runtime`, a new one of `device` capped at `memory_limit`, or the
    default runtime of `device`."""
    if memory_limit is None:
        return runtime or default_runtime(device)
    if runtime is not None:
        raise ValueError(f"effc.{caller}: pass either runtime= or memory_limit= (a runtime has its own limit: "
                         "effc.Runtime(memory_limit_bytes=...))")
    return _effc.Runtime(memory_limit_bytes=parse_size(memory_limit), device=device)


# ----------------------------------------------------------------------------------------------------------
# Signatures


@dataclass(frozen=True)
class TensorSpec:
    """An input or output: its name, numpy dtype, effc element type and shape (None = dynamic extent).
    bf16 tensors travel as numpy uint16 arrays holding the raw bits."""

    name: str
    dtype: np.dtype
    element: str
    shape: tuple

    def __str__(self):
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name}: {self.element}[{dims}]"


@dataclass(frozen=True)
class FunctionSignature:
    """The inputs and outputs of one entry point, in call order. `min_call_bytes` is a lower bound of the
    bytes one call allocates, whatever the input shapes (the statically known part of its activations and
    outputs; 0: unknown): loading refuses a model whose weights plus this exceed the memory limit."""

    name: str
    inputs: tuple
    outputs: tuple
    min_call_bytes: int = 0

    @property
    def input_names(self):
        return [spec.name for spec in self.inputs]

    @property
    def output_names(self):
        return [spec.name for spec in self.outputs]

    def __str__(self):
        return (f"{self.name}({', '.join(map(str, self.inputs))}) -> "
                f"({', '.join(map(str, self.outputs))})")


class Signature(Mapping):
    """{function name: FunctionSignature}, in the module's order. For a model with one function,
    `inputs` and `outputs` are that function's."""

    def __init__(self, functions):
        self._functions = {fn.name: fn for fn in functions}

    def __getitem__(self, name):
        return self._functions[name]

    def __iter__(self):
        return iter(self._functions)

    def __len__(self):
        return len(self._functions)

    def _only(self):
        if len(self._functions) != 1:
            raise AttributeError(f"the model has {len(self._functions)} functions ({', '.join(self._functions)}): "
                                 "use signature[name]")
        return next(iter(self._functions.values()))

    @property
    def inputs(self):
        return self._only().inputs

    @property
    def outputs(self):
        return self._only().outputs

    def __repr__(self):
        return "Signature(\n" + "".join(f"  {fn}\n" for fn in self._functions.values()) + ")"


def _spec(entry):
    name, element, shape = entry
    return TensorSpec(name=name, dtype=_effc.dtype_of(element), element=element, shape=tuple(shape))


def _check_inputs(signature, inputs):
    """The inputs as arrays in signature order, checked: names, dtype, rank and static extents. Arrays that
    fit are passed through untouched (zero copy); non-contiguous ones are copied; lists and scalars are
    converted to the signature's dtype."""
    if not isinstance(inputs, Mapping):
        raise InputError(f"{signature.name}: inputs must be a mapping of name to array, got {type(inputs).__name__}")
    names = signature.input_names
    missing = [n for n in names if n not in inputs]
    unknown = [n for n in inputs if n not in names]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing input{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
        if unknown:
            parts.append(f"unknown input{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}")
        raise InputError(f"{signature.name}: {'; '.join(parts)} (the function takes {', '.join(names)})")
    arrays = []
    for spec in signature.inputs:
        value = inputs[spec.name]
        if isinstance(value, np.ndarray):
            if value.dtype != spec.dtype:
                raise InputError(f"{signature.name}: input '{spec.name}' has dtype {value.dtype}, expected "
                                 f"{spec.dtype} ({spec})")
        else:
            try:
                value = np.asarray(value, dtype=spec.dtype)
            except (TypeError, ValueError) as error:
                raise InputError(f"{signature.name}: input '{spec.name}' cannot be converted to {spec.dtype}: "
                                 f"{error}") from None
        if value.ndim != len(spec.shape) or any(d is not None and d != n for d, n in zip(spec.shape, value.shape)):
            raise InputError(f"{signature.name}: input '{spec.name}' has shape {list(value.shape)}, expected "
                             f"{spec}")
        if not (value.flags.c_contiguous and value.flags.aligned):
            value = np.ascontiguousarray(value)
        arrays.append(value)
    return arrays


# ----------------------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class ReportPart:
    """One row of the report: an eff.layer ("layer 3"), "outside layers" (embeddings, final norm, head) or
    "total". `parameters` counts the weights a model keeps (pruned or sparse ones count what is left),
    `bytes` what they take as stored (packed, quantized, with scales), `flops_per_token` 2 x the weight
    multiply-adds per token (attention scores, norms and activations are not counted)."""

    name: str
    parameters: int
    bytes: int
    flops_per_token: int


@dataclass(frozen=True)
class OutputErrorReport:
    """How far the compressed model's first output (`output` of `function`) moves from the uncompressed
    model's on the calibration inputs: max and mean absolute difference, cosine similarity of the flattened
    outputs, and the mean KL(softmax(uncompressed) || softmax(compressed)) over the last dimension."""

    function: str
    output: str
    max_abs: float
    mean_abs: float
    cosine: float
    kl_divergence: float


@dataclass(frozen=True)
class Report:
    """What `effc --report` prints, as data: the model's size and cost after compression, per layer and in
    total, for one entry point, and, for a compressed model compiled with `calibration=`, its
    `output_error` (else None). `str(report)` is the driver's text."""

    function: str
    parts: tuple
    total: ReportPart
    output_error: OutputErrorReport | None
    text: str

    def __str__(self):
        return self.text

    @staticmethod
    def _from_dict(data):
        error = data["output_error"]
        return Report(function=data["function"], parts=tuple(ReportPart(**part) for part in data["parts"]),
                      total=ReportPart(**data["total"]),
                      output_error=None if error is None else OutputErrorReport(**error), text=data["text"])


# ----------------------------------------------------------------------------------------------------------
# Models


class Model:
    """A compiled model loaded in this process. `model(**inputs)` and `model.run(inputs)` return
    {output name: numpy array}; outputs are views of runtime-owned buffers (no copy)."""

    def __init__(self, module, *, report=None, description="", compile_log=""):
        self._module = module
        #: What the compiler printed while compiling this model (warnings; progress and timing when asked
        #: for with verbose=True / timing=True); "" for a loaded model.
        self.compile_log = compile_log
        self._functions = {fn.name: fn for fn in module.functions}
        self._signature = Signature(
            FunctionSignature(fn.name, tuple(map(_spec, fn.inputs)), tuple(map(_spec, fn.outputs)),
                              fn.min_call_bytes)
            for fn in module.functions)
        self._report = report
        self._description = description

    # -- introspection

    @property
    def signature(self) -> Signature:
        """{function: FunctionSignature} with input/output names, dtypes and shapes (None = dynamic)."""
        return self._signature

    @property
    def functions(self):
        """The entry points' names."""
        return list(self._functions)

    @property
    def producer(self):
        """The compiler that wrote the module, e.g. "effc 0.1.0"."""
        return self._module.producer

    def __repr__(self):
        what = f" from {self._description}" if self._description else ""
        return f"<effc.Model{what}: {'; '.join(str(fn) for fn in self._signature.values())}>"

    # -- running

    def _default_function(self, names):
        if "main" in self._functions:
            return "main"
        if len(self._functions) == 1:
            return next(iter(self._functions))
        matches = [fn for fn, sig in self._signature.items() if set(sig.input_names) == set(names)]
        if len(matches) == 1:
            return matches[0]
        raise InputError(f"the model has functions {', '.join(self._functions)}: pass function=NAME "
                         f"(inputs given: {', '.join(names) or 'none'})")

    def run(self, inputs, function=None):
        """Runs `function` (default: "main", the only function, or the one whose inputs are exactly the
        names given) on `inputs` {name: array}; returns {output name: array}. The GIL is released while the
        compiled code runs."""
        if function is None:
            function = self._default_function(list(inputs) if isinstance(inputs, Mapping) else [])
        if function not in self._functions:
            raise InputError(f"no function '{function}' in the model (it has {', '.join(self._functions)})")
        signature = self._signature[function]
        outputs = self._functions[function].invoke(_check_inputs(signature, inputs))
        return dict(zip(signature.output_names, outputs))

    def __call__(self, **inputs):
        """`model(input_ids=..., ...)`: run(inputs) with the default function."""
        return self.run(inputs)

    # -- saving and reporting

    def save(self, path):
        """Writes the compiled module as a shared object that `effc-run` and `effc.load` accept; returns
        the path. A module loaded with external weights (MODEL.so.weights) has them copied beside it."""
        path = Path(path)
        shutil.copyfile(self._module.load_path, path)
        if not self._module.in_memory:
            weights = Path(self._module.load_path + ".weights")
            if weights.exists():
                shutil.copyfile(weights, path.parent / weights.name)
        return path

    def report(self) -> Report:
        """The compiler's report of this model, as data (what `effc --report` prints: parameters, weight
        bytes and FLOPs per token, per layer and in total, after compression; with calibration data, the
        compressed model's output error)."""
        if self._report is None:
            raise Error("this model has no compile report: it was loaded from a file (effc.load) or compiled "
                        "with report=False; reports come from effc.compile")
        return self._report

    # -- text generation

    def generate(self, input_ids, max_new_tokens, *, temperature=0.0, top_k=None, seed=None, eos_token_id=None,
                 prefill="prefill", decode="decode"):
        """Generates up to `max_new_tokens` tokens after `input_ids` ([batch, seq] or [seq]) with the model's
        `prefill` and `decode` functions, carrying the KV cache: each `decode` input `past_X` is fed the
        previous step's output `present_X`.

        temperature 0 (default) is greedy (argmax); temperature > 0 samples from softmax(logits /
        temperature), restricted to the `top_k` most likely tokens if given, with numpy's default_rng(seed).
        Sequences that produce `eos_token_id` are padded with it, and generation stops once all have.
        Returns input_ids followed by the new tokens, with input_ids' shape convention. Prompt plus new
        tokens must fit the model's positions (128 for examples/gpt_tiny.mlir)."""
        for name in (prefill, decode):
            if name not in self._functions:
                raise Error(f"generate needs '{prefill}' and '{decode}' functions; the model has "
                            f"{', '.join(self._functions)}")
        prefill_sig, decode_sig = self._signature[prefill], self._signature[decode]
        if prefill_sig.input_names != ["input_ids"] or "input_ids" not in decode_sig.input_names:
            raise Error(f"generate needs {prefill}(input_ids) and {decode}(input_ids, past_...); the model has "
                        f"{prefill_sig} and {decode_sig}")
        cache_inputs = [n for n in decode_sig.input_names if n != "input_ids"]
        for name in cache_inputs:
            present = "present_" + name[len("past_"):] if name.startswith("past_") else None
            if present is None or present not in prefill_sig.output_names or present not in decode_sig.output_names:
                raise Error(f"{decode} input '{name}' has no matching 'present_...' output in {prefill} and {decode}")
        for sig in (prefill_sig, decode_sig):
            if "logits" not in sig.output_names:
                raise Error(f"generate needs a 'logits' output from {sig.name}")
        if temperature < 0 or not math.isfinite(temperature):
            raise ValueError(f"temperature must be finite and >= 0, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")

        ids_dtype = prefill_sig.inputs[0].dtype
        ids = np.asarray(input_ids)
        squeeze = ids.ndim == 1
        if squeeze:
            ids = ids[None, :]
        if ids.ndim != 2 or ids.shape[1] == 0:
            raise InputError(f"input_ids must be [batch, seq] or [seq] with seq > 0, got shape {list(ids.shape)}")
        if not np.issubdtype(ids.dtype, np.integer):
            raise InputError(f"input_ids must hold integers, got dtype {ids.dtype}")
        ids = ids.astype(ids_dtype, copy=False)
        vocab = dict(zip(prefill_sig.output_names, prefill_sig.outputs))["logits"].shape[-1]
        if vocab is not None and ids.size and (ids.min() < 0 or ids.max() >= vocab):
            # An out-of-range id is undefined behaviour in compiled code (docs/spec/eff.md, eff.embedding).
            raise InputError(f"input_ids must lie in [0, {vocab}) (the vocabulary of the logits), got ids from "
                             f"{ids.min()} to {ids.max()}")
        rng = np.random.default_rng(seed)

        def pick(logits):
            logits = logits.astype(np.float64)
            if temperature == 0:
                return logits.argmax(axis=-1)
            logits = logits / temperature
            if top_k is not None and top_k < logits.shape[-1]:
                kth = np.partition(logits, -top_k, axis=-1)[:, -top_k][:, None]
                logits = np.where(logits >= kth, logits, -np.inf)
            probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
            probs /= probs.sum(axis=-1, keepdims=True)
            return np.array([rng.choice(probs.shape[-1], p=row) for row in probs])

        tokens = [ids]
        finished = np.zeros(ids.shape[0], dtype=bool)
        out = self.run({"input_ids": ids}, function=prefill)
        for step in range(max_new_tokens):
            token = pick(out["logits"][:, -1]).astype(ids_dtype)
            if eos_token_id is not None:
                token = np.where(finished, eos_token_id, token).astype(ids_dtype)
                finished |= token == eos_token_id
            tokens.append(token[:, None])
            if step + 1 == max_new_tokens or finished.all():
                break
            cache = {name: out["present_" + name[len("past_"):]] for name in cache_inputs}
            out = self.run({"input_ids": token[:, None], **cache}, function=decode)
        result = np.concatenate(tokens, axis=1)
        return result[0] if squeeze else result


# ----------------------------------------------------------------------------------------------------------
# Loading and compiling


def load(path, *, runtime=None, memory_limit=None) -> Model:
    """Loads a shared object compiled by effc (`effc model.mlir -o model.so`, or `Model.save`).

    `memory_limit` (bytes, or a string like "512M") runs the model on a runtime of its own that refuses to
    hold more: weights over it, or weights plus the bytes a function allocates in every call
    (`signature[name].min_call_bytes`), fail here; a call whose activations and outputs would exceed it
    fails when it runs. Both raise effc.RuntimeError (code RESOURCE_EXHAUSTED); the model stays usable
    after a refused call. A file can be loaded by one runtime at a time, so a path already loaded by the
    default runtime cannot be loaded again with a limit."""
    path = Path(path)
    module = _effc.load_module(_runtime_for(runtime, memory_limit, "load"), str(path))
    return Model(module, description=str(path))


# Driver flags other than compression, as keyword options: name -> (CompileOptions attribute, type).
_GENERAL_OPTIONS = {"opt_level": int, "cpu": str, "weights": str, "base_dir": str, "threads": int,
                    "calibration": str, "verbose": bool, "timing": bool, "cuda_arch": str, "cuda_format": str,
                    "cuda_matmul_precision": str, "report_fusions": str, "report_fusions_format": str, "report_raising": bool, "adapters": list,
                    "layer_reuse": bool, "pack_qkv": bool, "weight_panels": bool, "f32_linear_kernel": bool}
_JIT_EXCLUDED = {"external_weights": "external_weights writes the weights to a file beside an ahead-of-time "
                                     "shared object (`effc --external-weights`); a JIT model keeps them in memory"}


def compression_options() -> dict:
    """The compression options `compile` accepts ({keyword: description}), one per driver flag."""
    return {flag["flag"].replace("-", "_"): flag["help"] for flag in _effc.compression_flags()}


def _adapter_dirs(value):
    """`adapters=` as absolute paths: one folder (str or path) or a list of them, applied in order."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, os.PathLike)) for v in value):
        raise TypeError(f"effc.compile: option adapters takes a PEFT adapter folder or a list of them, got {value!r}")
    return [os.path.abspath(os.fspath(v)) for v in value]


def _bound_inputs(value, workdir):
    """`bind_inputs=` ({graph input: numpy array or .npy path}) as [(name, .npy path)]; arrays are saved into
    `workdir`, which must outlive the compilation."""
    if not isinstance(value, Mapping):
        raise TypeError(f"effc.compile: option bind_inputs takes {{input name: array or .npy path}}, got {value!r}")
    bound = []
    for name, array in value.items():
        if isinstance(array, (str, os.PathLike)):
            bound.append((name, os.path.abspath(os.fspath(array))))
            continue
        array = np.asarray(array)
        path = Path(workdir) / f"bound-{len(bound)}.npy"
        np.save(path, np.ascontiguousarray(array))
        bound.append((name, str(path)))
    return bound


def _compile_options(target, options, workdir=None):
    compile_options = _effc.CompileOptions()
    compile_options.target = target
    compression = {flag["flag"].replace("-", "_"): flag for flag in _effc.compression_flags()}
    for key, value in options.items():  # keyword order is the order the compression passes run in
        if key in _JIT_EXCLUDED:
            raise TypeError(f"effc.compile: {_JIT_EXCLUDED[key]}")
        if key == "adapters":
            compile_options.adapters = _adapter_dirs(value)
        elif key == "bind_inputs":
            if value is not None:
                compile_options.bound_inputs = _bound_inputs(value, workdir)
        elif key in _GENERAL_OPTIONS:
            kind = _GENERAL_OPTIONS[key]
            if value is None:
                continue
            if kind is str and isinstance(value, os.PathLike):
                value = os.fspath(value)
            if key == "report_fusions" and isinstance(value, bool):  # True: with the compile log on stderr
                if not value:
                    continue
                value = "-"
            if kind is int and (isinstance(value, bool) or not isinstance(value, int)) or \
                    kind is not int and not isinstance(value, kind):
                raise TypeError(f"effc.compile: option {key} takes a {kind.__name__}, got {value!r}")
            if key in ("weights", "calibration", "base_dir") or key == "report_fusions" and value != "-":
                value = os.path.abspath(value)
            setattr(compile_options, key, value)
        elif key in compression:
            flag = compression[key]
            if not flag["option"]:  # a switch: merge_adapters=True
                if not isinstance(value, bool):
                    raise TypeError(f"effc.compile: option {key} is a switch (True/False), got {value!r}")
                if value:
                    compile_options.add_compression(flag["flag"])
            else:
                if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
                    raise TypeError(f"effc.compile: option {key} takes a {flag['option']} (str or number), "
                                    f"got {value!r}")
                compile_options.add_compression(flag["flag"], str(value))
        else:
            known = sorted(list(_GENERAL_OPTIONS) + list(compression) + ["bind_inputs"])
            raise TypeError(f"effc.compile: unknown option {key!r} (options: {', '.join(known)})")
    return compile_options


def _looks_like_ir(text):
    """IR text rather than a path: several lines, or one line that starts like IR and names no file."""
    if "\n" in text:
        return True
    if text.endswith(_SOURCE_SUFFIXES) or text.endswith(".onnx") or os.path.exists(text):
        return False
    return text.lstrip().startswith(("module", "func.func", "//", "#", "{", "\"builtin.module\""))


def _compile_source(source, compile_options, output, report):
    """Compiles `source` to `output`; returns ((diagnostic text, report dict or None), description of the
    source)."""
    from . import ir  # noqa: PLC0415 (numpy-only module, imported when a builder module is compiled)

    def from_text(text, buffer_name, description):
        result = _effc.compile_source(compile_options, text, buffer_name, str(output), report=report)
        return result, description

    if isinstance(source, ir.Module):
        # The builder's weights go to a safetensors file next to the output, named by the weights option.
        if source.parameters and not compile_options.weights:
            weights = Path(output).with_suffix(".safetensors")
            ir.write_safetensors(weights, {name: p.array for name, p in source.parameters.items()})
            compile_options.weights = str(weights)
        return from_text(source.to_mlir().encode(), "<effc.ir.Module>", "an effc.ir.Module")
    if isinstance(source, (bytes, bytearray)):
        return from_text(bytes(source), "<source>", "IR bytes")
    if isinstance(source, str) and _looks_like_ir(source):
        return from_text(source.encode(), "<source>", "IR text")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"effc.compile: no such file or folder: {path} (a source is a .mlir/.mlirbc "
                                    "or .onnx path, a Hugging Face model folder, IR text, bytes or an "
                                    "effc.ir.Module)")
        # The compiler's parseFile imports an .onnx model or a model folder (config.json + *.safetensors).
        return _effc.compile_file(compile_options, str(path), str(output), report=report), str(path)
    raise TypeError(f"effc.compile: cannot compile a {type(source).__name__} (a source is a .mlir/.mlirbc or "
                    ".onnx path, a Hugging Face model folder, IR text, bytes or an effc.ir.Module)")


def compile(source, target="cpu", *, runtime=None, memory_limit=None, report=True,  # noqa: A001
            **options) -> Model:
    """Compiles `source` in-process and loads it (JIT): a .mlir/.mlirbc path, an .onnx model, a Hugging Face
    model folder (config.json + *.safetensors), IR text (str) or bytecode (bytes), or an `effc.ir.Module`
    built in Python. Models are imported as `effc model.onnx` / `effc DIR` import them (docs/onnx.md).
    Keyword options mirror the effc driver's flags with underscores: opt_level (0-3), cpu, weights, base_dir
    (for IR text's relative eff.weights), threads, calibration, verbose, timing, layer_reuse (False compiles
    identical layers separately, like `effc --no-layer-reuse`), pack_qkv (False keeps an attention's query, key
    and value projections as three GEMMs, like `effc --no-pack-qkv`), weight_panels (False keeps f32 GEMM
    weights as [K, N] rows, like `effc --no-weight-panels`), f32_linear_kernel (False compiles f32 linear layers
    to generated GEMMs, like `effc --no-f32-linear-kernel`), cuda_arch, cuda_format and cuda_matmul_precision
    ("f32", "bf16" or "f16", like `effc --cuda-matmul-precision`) (target="cuda"),
    report_raising (an .onnx model: what was raised, in `Model.compile_log`), bind_inputs (an .onnx model:
    {graph input: numpy array or .npy path} bound at compile time, as `effc --bind-input`; needed for inputs
    that fix a result's shape, such as TopK's k), adapters (a PEFT adapter folder
    or a list of them for a model folder, applied in order: `--adapter` given once per folder; merged into the
    base weights unless keep_adapters=True), and the compression flags in the order given
    (`compression_options()`):
    drop_layers="top:4", prune_heads=0.25, prune_ffn=0.5, prune_experts=2, sparsity="2:4",
    quantize="int8", merge_adapters=True, keep_adapters=True.
    `report_fusions=True` prints the fusion report (`effc --report-fusions`: the kernels the model became and
    why an expected fusion did not fire) with the compile log on stderr; `report_fusions="file"` writes it
    there, in `report_fusions_format` ("text" or "json").

    Nothing is left on disk: the shared object is compiled in a temporary directory, copied into memory and
    loaded from there. Raises effc.CompileError with the compiler's diagnostics (file:line:col; for a model
    folder, config.json or adapter_config.json and the reason) on failure, FileNotFoundError for a missing
    path.

    `report` (default True) makes `Model.report()` available; with `calibration=` on a compressed model it
    measures the output error, which compiles the model a second time, uncompressed (report=False skips it).
    `runtime` is the effc.Runtime that runs the model (default: `default_runtime()`, or
    `default_runtime("cuda")` for target="cuda"); `memory_limit` (bytes,
    or "512M") gives it a runtime of its own with that limit instead (see `load`)."""
    model_runtime = _runtime_for(runtime, memory_limit, "compile", device="cuda" if target == "cuda" else "cpu")
    with tempfile.TemporaryDirectory(prefix="effc-jit-") as workdir:
        compile_options = _compile_options(target, options, workdir)
        output = Path(workdir) / "model.so"
        (log, report_data), description = _compile_source(source, compile_options, output, bool(report))
        module = _effc.load_module_in_memory(model_runtime, str(output))
    if log:
        sys.stderr.write(log)
    return Model(module, report=None if report_data is None else Report._from_dict(report_data),
                 description=description, compile_log=log)
