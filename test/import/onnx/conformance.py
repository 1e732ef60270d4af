#!/usr/bin/env python3
"""Runs the ONNX operator conformance node tests (Debian's libonnx-testdata) through effc.

Every case (data/node/test_*/model.onnx with test_data_set_*/input_*.pb and output_*.pb) whose operator the
importer claims (`--ops`, default: every op of effc's list) is compiled with `effc model.onnx -o model.so`, run
with effc-run on each data set, and compared with the expected outputs the way ONNX's backend tests do
(rtol 1e-3, atol 1e-7; exact for integers and booleans). Prints a Markdown table (op, cases passed / total) and,
with --details, why each failing case failed. Too slow for CI (about 400 compilations); test_conformance.py runs
a few cases there.

Inputs that fix a result's shape (TopK's k, Squeeze/Unsqueeze/ReduceSum axes) must be constant for an
ahead-of-time compiler: when effc refuses a case naming such an input ("bind it at compile time with
--bind-input NAME=FILE.npy"), and only then, the case is compiled once per data set with that input bound to the
data set's value (`effc --bind-input`). The table counts those passes separately ("passed with structural inputs
bound"); --no-bind turns the retry off.

    conformance.py [--data /usr/share/libonnx-testdata/data/node] [--jobs 2] [--json results.json]
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

REPO = Path(__file__).resolve().parents[3]
BIN_DIR = Path(os.environ.get("EFFC_BIN_DIR", REPO / "build" / "bin"))
DATA = Path("/usr/share/libonnx-testdata/data/node")
SUPPORTED = """Abs Add And Cast Ceil Concat Constant ConstantOfShape Cos Div Equal Erf Exp Expand Floor Gather Gemm
GatherElements Greater Identity LayerNormalization Less Log MatMul Max Min Mul Neg Not Or Pow Range Reciprocal ReduceMax ReduceMean
ReduceSum Relu Reshape Sigmoid Shape Sin Slice Softmax Split Sqrt Squeeze Sub Tanh TopK Transpose Trilu Unsqueeze
Where""".split()


def case_op(model):
    """The operator a node test exercises: its first node that is not a Constant."""
    ops = [node.op_type for node in model.graph.node]
    return next((op for op in ops if op != "Constant"), ops[0] if ops else "?")


def cases(data, ops):
    """(case, op, model) for every case of a claimed op. The `_expanded` cases test an op's function body (its
    decomposition into other ops): they are attributed to "(expanded)" and kept if every one of their ops is
    claimed."""
    for case in sorted(data.glob("test_*")):
        if not (case / "model.onnx").exists():
            continue
        model = onnx.load(str(case / "model.onnx"), load_external_data=False)
        if case.name.endswith("_expanded"):
            if all(node.op_type in ops for node in model.graph.node):
                yield case, "(expanded function bodies)", model
            continue
        op = case_op(model)
        if op in ops:
            yield case, op, model


def load_tensor(path):
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


STRUCTURAL = re.compile(r"--bind-input (\S+)=FILE\.npy")


def compile_case(case, module, bindings, timeout):
    """Compiles the case with `bindings` [(name, path)]: None, or effc's first error line."""
    args = [str(BIN_DIR / "effc"), str(case / "model.onnx"), "-o", str(module)]
    for name, path in bindings:
        args += ["--bind-input", f"{name}={path}"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        return (result.stderr.strip().splitlines() or ["(no message)"])[0]
    return None


def run_case(case, model, timeout=300, bind=True, info=None):
    """None if every data set matches, else the reason of the first failure. With `bind`, inputs effc reports as
    structural are bound to each data set's values (compiled per data set); `info["bound"]` lists them."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initializers]
    outputs = [o.name for o in model.graph.output]
    structural = []
    with tempfile.TemporaryDirectory(prefix="effc-conformance-") as workdir:
        workdir = Path(workdir)
        module = workdir / "model.so"
        error = compile_case(case, module, [], timeout)
        while error and bind and (match := STRUCTURAL.search(error)) and match.group(1) in inputs \
                and match.group(1) not in structural:
            structural.append(match.group(1))
            first = sorted(case.glob("test_data_set_*"))[0]
            bindings = [(name, workdir / f"bound_{name}.npy") for name in structural]
            for name, path in bindings:
                np.save(path, load_tensor(first / f"input_{inputs.index(name)}.pb"))
            error = compile_case(case, module, bindings, timeout)
        if error:
            return "compile: " + error
        if info is not None:
            info["bound"] = structural
        for data_set in sorted(case.glob("test_data_set_*")):
            args = [str(BIN_DIR / "effc-run"), str(module), "--output-dir", str(workdir), "--threads", "1"]
            if structural:  # compiled for this data set's values of the structural inputs
                bindings = [(name, workdir / f"bound_{name}.npy") for name in structural]
                for name, path in bindings:
                    np.save(path, load_tensor(data_set / f"input_{inputs.index(name)}.pb"))
                error = compile_case(case, module, bindings, timeout)
                if error:
                    return "compile: " + error
            for i, name in enumerate(inputs):
                if name in structural:
                    continue
                array = load_tensor(data_set / f"input_{i}.pb")
                path = workdir / f"input_{i}.npy"
                np.save(path, array)
                args += ["--input", f"{name}={path}"]
            result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
            if result.returncode != 0:
                return "run: " + (result.stderr.strip().splitlines() or ["(no message)"])[0]
            for i, name in enumerate(outputs):
                expected = load_tensor(data_set / f"output_{i}.pb")
                actual = np.load(workdir / f"{name}.npy")
                if actual.shape != expected.shape:
                    return f"output {name}: shape {actual.shape}, expected {expected.shape}"
                if expected.dtype.kind == "f":
                    if not np.allclose(actual.astype(np.float64), expected, rtol=1e-3, atol=1e-7, equal_nan=True):
                        error = np.max(np.abs(actual.astype(np.float64) - expected))
                        return f"output {name}: max abs error {error:.3g}"
                elif not np.array_equal(actual.astype(expected.dtype), expected):
                    return f"output {name}: values differ"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--ops", default=",".join(SUPPORTED))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write {case: {op, error}} here")
    parser.add_argument("--details", action="store_true", help="list each failing case and why")
    parser.add_argument("--no-bind", action="store_true", help="never bind structural inputs")
    args = parser.parse_args()
    selected = list(cases(args.data, set(args.ops.split(","))))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        infos = {case.name: {} for case, _, _ in selected}
        futures = {pool.submit(run_case, case, model, bind=not args.no_bind, info=infos[case.name]): (case, op)
                   for case, op, model in selected}
        for future in concurrent.futures.as_completed(futures):
            case, op = futures[future]
            try:
                error = future.result()
            except subprocess.TimeoutExpired:
                error = "timed out"
            bound = infos[case.name].get("bound", [])
            results[case.name] = {"op": op, "error": error, "bound": bound}
            print(f"{'PASS' if error is None else 'FAIL'} {case.name}" + (f": {error}" if error else "") +
                  (f" (bound: {', '.join(bound)})" if bound and error is None else ""), file=sys.stderr, flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, sort_keys=True))
    per_op = collections.defaultdict(lambda: [0, 0, 0])  # passed as is, passed with bound inputs, total
    for result in results.values():
        counts = per_op[result["op"]]
        counts[2] += 1
        if result["error"] is None:
            counts[1 if result.get("bound") else 0] += 1
    print("| op | passed / total | of which with structural inputs bound |\n|---|---|---|")
    for op in sorted(per_op):
        plain, bound, total = per_op[op]
        print(f"| {op} | {plain + bound} / {total} | {bound} |")
    plain = sum(c[0] for c in per_op.values())
    bound = sum(c[1] for c in per_op.values())
    print(f"| **all** | **{plain + bound} / {len(results)}** ({plain} without binding) | {bound} |")
    if args.details:
        for name in sorted(results):
            if results[name]["error"]:
                print(f"- {name}: {results[name]['error']}")


if __name__ == "__main__":
    main()
