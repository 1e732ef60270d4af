"""effc: compile transformer models and run them on numpy arrays, in-process.

    import effc, numpy as np
    model = effc.compile("examples/bert_tiny.mlir", quantize="int8")   # JIT: nothing written to disk
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=types)  # {"last_hidden_state": ndarray}
    model.save("bert.so")                                               # AOT: effc-run and effc.load take it
    effc.load("bert.so").signature

`effc.compile` takes a path (.mlir, .mlirbc, .onnx, or a Hugging Face model folder, with PEFT adapter
folders as `adapters=[...]`), IR text or an `effc.ir.Module` built in Python; its keyword
options mirror the `effc` driver's flags (`opt_level=3`, `cpu="native"`, `drop_layers="top:4"`,
`prune_heads=0.25`, `quantize="int8"`, `sparsity="2:4"`, ...). Errors are `effc.Error` subclasses:
`CompileError` (the compiler's diagnostics, with locations), `InputError` (inputs that do not fit the
signature) and `RuntimeError` (the runtime's status).

The compiled part is the extension `effc._effc` (pybind11), built by CMake into
build/python_packages/effc/. `effc.ir`, the IR builder, is pure Python and works without it.
"""

import os as _os
from pathlib import Path as _Path


def _import_extension():
    """Imports effc._effc: from this package's directory (build/python_packages/effc), else, when the package
    is imported from the source tree (python-bindings/), from the build tree ($EFFC_BUILD_DIR, default
    build/ of this checkout), whose package directory is then added to this package's search path."""
    try:
        from . import _effc
        return _effc, None
    except ImportError as error:
        first_error = error
    build_dirs = [_os.environ.get("EFFC_BUILD_DIR"), _Path(__file__).resolve().parents[2] / "build"]
    for build_dir in filter(None, build_dirs):
        package_dir = _Path(build_dir) / "python_packages" / "effc"
        if any(package_dir.glob("_effc*.so")) and str(package_dir) not in __path__:
            __path__.append(str(package_dir))
            try:
                from . import _effc
                return _effc, None
            except ImportError as error:
                first_error = error
    return None, first_error


_effc, _extension_error = _import_extension()

try:
    from . import ir  # noqa: F401
except ImportError:  # e.g. numpy is missing: `import effc` still works, `effc.ir` reports the error on use
    pass

if _effc is not None:
    from ._effc import CompileError, Error, InputError, Runtime, RuntimeError  # noqa: F401,A004
    from .model import (FunctionSignature, Model, OutputErrorReport, Report, ReportPart,  # noqa: F401
                        Signature, TensorSpec, compile, compression_options, default_runtime, load,  # noqa: A004
                        parse_size)

    __all__ = ["compile", "load", "Model", "Signature", "FunctionSignature", "TensorSpec", "Report", "ReportPart",
               "OutputErrorReport", "Runtime", "default_runtime", "compression_options", "Error", "CompileError",
               "InputError", "RuntimeError", "parse_size", "ir"]
else:

    def _missing(*args, **kwargs):
        raise ImportError("effc's compiled extension (effc._effc) is not built or cannot be loaded: build effc "
                          "with CMake (bash scripts/bootstrap.sh) and put build/python_packages on PYTHONPATH "
                          f"({_extension_error})")

    compile = load = default_runtime = _missing  # noqa: A001
