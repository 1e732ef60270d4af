#!/usr/bin/env python3
# ===- effc_run_test.py - end-to-end test of effc-run ---------------------=== #
#
# SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
#
# ===----------------------------------------------------------------------=== #
#
# This file runs effc-run on the runtime's fake module (runtime/tests/fake_module.c) with inputs made by
# NumPy, and checks its printed lines, the .npy files it writes, and that every bad invocation fails with
# exit code 1 and a clear message instead of crashing.
#
# usage: effc_run_test.py EFFC_RUN FAKE_MODULE.so NOT_AN_EFFC_MODULE.so
#
# ===----------------------------------------------------------------------=== #

import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

EFFC_RUN, MODULE, NO_QUERY = sys.argv[1:4]
failures = []


def run(*args):
    proc = subprocess.run([EFFC_RUN, *args], capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name)
    if not condition:
        print("     " + detail.replace("\n", "\n     "))
        failures.append(name)


def expect_ok(name, args, stdout=None, pattern=None):
    code, out, err = run(*args)
    good = code == 0 and (stdout is None or out == stdout) and (pattern is None or re.search(pattern, out))
    check(name, good, f"exit {code}\nstdout: {out}\nstderr: {err}")
    return out


def expect_error(name, args, text):
    code, out, err = run(*args)
    check(name, code == 1 and text in err and err.startswith("effc-run: error: "),
          f"exit {code} (want 1), stderr should contain {text!r}\nstdout: {out}\nstderr: {err}")


WORKDIR = tempfile.mkdtemp(prefix="effc_run_test_")
os.chdir(WORKDIR)
rng = np.random.default_rng(0)
a = rng.standard_normal((3, 4), dtype=np.float32)
b = rng.standard_normal((3, 4), dtype=np.float32)
np.save("a.npy", a)
np.save("b.npy", b)
np.save("a64.npy", a.astype(np.float64))
np.save("wide.npy", rng.standard_normal((3, 5), dtype=np.float32))
np.save("flat.npy", a.reshape(-1))
np.save("fortran.npy", np.asfortranarray(a))
np.save("ids.npy", np.array([4, -1, 9], dtype=np.int64))
np.save("v.npy", np.arange(5, dtype=np.float32))
np.save("x8.npy", rng.standard_normal((40, 8), dtype=np.float32))
np.save("s8.npy", rng.standard_normal((40,), dtype=np.float32))
np.save("big8.npy", rng.standard_normal((64, 8), dtype=np.float32))
with open("junk.npy", "w") as f:
    f.write("this is not numpy\n")

# Help and listing.
expect_ok("help", ["--help"], pattern=r"^usage: effc-run MODEL.so")
listing = expect_ok("list", [MODULE, "--list"])
check("list shows add", "add(a: f32 [?, 4], b: f32 [?, 4]) -> (out: f32 [?, 4])\n" in listing, listing)
check("list shows rank 0", "sum(x: f32 [?]) -> (s: f32 [])\n" in listing, listing)
check("list shows i64", "embed(ids: i64 [?]) -> (out: f32 [?, 2])\n" in listing, listing)

# Runs, checked against NumPy.
expect_ok("add", [MODULE, "--function", "add", "--input", "a=a.npy", "--input=b=b.npy", "--output-dir", "out"],
          stdout="out: f32 [3, 4]\n")
result = np.load("out/out.npy")
check("add result", result.dtype == np.float32 and result.shape == (3, 4) and np.array_equal(result, a + b),
      repr(result))

expect_ok("scale_rows", [MODULE, "--function=scale_rows", "--threads", "2", "--input", "x=x8.npy", "--input",
                         "s=s8.npy"], stdout="out: f32 [40, 8]\n")
check("scale_rows result", np.array_equal(np.load("out.npy"), np.load("x8.npy") * np.load("s8.npy")[:, None]))

expect_ok("two outputs", [MODULE, "--function", "same_twice", "--input", "x=v.npy"], stdout="y1: f32 [5]\ny2: f32 [5]\n")
check("two outputs result", np.array_equal(np.load("y1.npy"), 2 * np.arange(5, dtype=np.float32))
      and np.array_equal(np.load("y2.npy"), np.load("y1.npy")))

expect_ok("rank 0 output", [MODULE, "--function", "sum", "--input", "x=v.npy"], stdout="s: f32 []\n")
s = np.load("s.npy")
check("rank 0 result", s.shape == () and s == 10.0, repr(s))

expect_ok("i64 input", [MODULE, "--function", "embed", "--input", "ids=ids.npy"], stdout="out: f32 [3, 2]\n")
check("i64 result", np.array_equal(np.load("out.npy"), np.array([[4, 4], [-1, -1], [9, 9]], dtype=np.float32)))

expect_ok("no inputs", [MODULE, "--function", "const_view"], stdout="c: f32 [2, 3]\n")
check("const_view result", np.array_equal(np.load("c.npy"), np.arange(1, 7, dtype=np.float32).reshape(2, 3)))

expect_ok("bench", [MODULE, "--function", "add", "--input", "a=a.npy", "--input", "b=b.npy", "--bench", "5",
                    "--warmup", "1"],
          pattern=r"^out: f32 \[3, 4\]\nlatency ms: min \d+\.\d+ median \d+\.\d+ max \d+\.\d+ \(5 runs\)\n$")

# Errors: exit code 1 and a message, never a crash.
add = [MODULE, "--function", "add"]
expect_error("no function chosen", [MODULE, "--input", "a=a.npy"],
             "the module has 10 functions and none is 'main'; choose one with --function (add, scale_rows")
expect_error("unknown function", [MODULE, "--function", "nope"], "module has no function 'nope' (it has: add")
expect_error("missing input", add + ["--input", "a=a.npy"], "missing input 'b' of function 'add'")
expect_error("unknown input", add + ["--input", "a=a.npy", "--input", "b=b.npy", "--input", "c=a.npy"],
             "function 'add' has no input 'c' (inputs: a, b)")
expect_error("duplicate input", add + ["--input", "a=a.npy", "--input", "a=b.npy"], "input 'a' is given twice")
expect_error("wrong dtype", add + ["--input", "a=a64.npy", "--input", "b=b.npy"],
             "input 'a': expected dtype f32, got f64")
expect_error("wrong extent", add + ["--input", "a=a.npy", "--input", "b=wide.npy"],
             "input 'b' dimension 1: expected 4, got 5")
expect_error("wrong rank", add + ["--input", "a=flat.npy", "--input", "b=b.npy"], "input 'a': expected rank 2, got 1")
expect_error("not npy", add + ["--input", "a=junk.npy", "--input", "b=b.npy"],
             "input 'a': junk.npy is not a .npy file (bad magic)")
expect_error("missing npy", add + ["--input", "a=nothere.npy", "--input", "b=b.npy"],
             "input 'a': cannot open nothere.npy: No such file or directory")
expect_error("fortran npy", add + ["--input", "a=fortran.npy", "--input", "b=b.npy"],
             "Fortran-order arrays are not supported")
expect_error("mismatched rows", add + ["--input", "a=a.npy", "--input", "b=x8.npy"],
             "input 'b' dimension 1: expected 4, got 8")
expect_error("memory limit", add + ["--memory-limit", "64", "--input", "a=a.npy", "--input", "b=b.npy"],
             "memory limit is 64 bytes")
# Compiled code that never checks its allocations: a refused one is a clean error, not a crash.
expect_error("memory limit in compiled code",
             [MODULE, "--function", "unchecked", "--memory-limit=3K", "--threads", "4", "--input", "x=big8.npy"],
             "running 'unchecked': function 'unchecked' ran out of memory: an allocation of 2048 bytes failed "
             "(memory limit 3072 bytes")
expect_error("missing model", ["nothere.so", "--list"], "cannot open module 'nothere.so': No such file or directory")
expect_error("not a shared object", ["junk.npy", "--list"], "cannot load 'junk.npy' as a shared object")
expect_error("not an effc module", [NO_QUERY, "--list"], "is not an effc module")
expect_error("no model", [], "no model given")
expect_error("two models", [MODULE, MODULE], "unexpected argument")
expect_error("unknown option", [MODULE, "--frobnicate"], "unknown option '--frobnicate'")
expect_error("bad bench", add + ["--bench", "zero"], "--bench expects a non-negative integer, got 'zero'")
expect_error("zero bench", add + ["--bench", "0"], "--bench expects a run count between 1 and 1000000")
expect_error("bad input syntax", add + ["--input", "a.npy"], "--input expects NAME=FILE.npy, got 'a.npy'")
expect_error("missing value", add + ["--input"], "--input needs a value")
expect_error("bad output dir", add + ["--input", "a=a.npy", "--input", "b=b.npy", "--output-dir", "a.npy"],
             "output 'out': cannot create a.npy/out.npy")

os.chdir("/")
shutil.rmtree(WORKDIR, ignore_errors=True)
print(f"{len(failures)} failure(s)" + (": " + ", ".join(failures) if failures else ""))
sys.exit(1 if failures else 0)
