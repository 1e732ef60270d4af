// RUN: rm -rf %t && mkdir -p %t
// RUN: effc %s -o %t/model.so
// RUN: %PYTHON -c "import numpy as np; d = '%t'; \
// RUN:   np.save(d + '/x.npy', np.ones((2, 3), np.float32)); \
// RUN:   np.save(d + '/x_f64.npy', np.ones((2, 3), np.float64)); \
// RUN:   np.save(d + '/x_rank3.npy', np.ones((1, 2, 3), np.float32)); \
// RUN:   np.save(d + '/x_k4.npy', np.ones((2, 4), np.float32)); \
// RUN:   np.save(d + '/v5.npy', np.ones((5,), np.float32)); \
// RUN:   np.save(d + '/complex.npy', np.ones((2, 3), np.complex64)); \
// RUN:   np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), np.float32))); \
// RUN:   open(d + '/not_npy.npy', 'wb').write(b'not a .npy file'); \
// RUN:   raw = open(d + '/x.npy', 'rb').read(); \
// RUN:   open(d + '/truncated_data.npy', 'wb').write(raw[:-4]); \
// RUN:   open(d + '/truncated_header.npy', 'wb').write(raw[:12])"

// effc-run's errors (tools/effc-run/effc-run.c and the runtime it calls): each is one line on stderr,
// "effc-run: error: ...", with exit code 1. The module has two functions, mlp(x: f32 [?, 3]) and
// double(arg0: f32 [4]).

// The happy path, for reference.
// RUN: effc-run %t/model.so --function mlp --input x=%t/x.npy --output-dir %t/out | FileCheck %s --check-prefix=OK
// OK: y: f32 [2, 2]

//===----------------------------------------------------------------------===//
// Inputs that do not match the signature
//===----------------------------------------------------------------------===//

// RUN: not effc-run %t/model.so --function mlp --input x=%t/x_f64.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: effc-run: error: running 'mlp': input 'x': expected dtype f32, got f64

// RUN: not effc-run %t/model.so --function mlp --input x=%t/x_rank3.npy 2>&1 | FileCheck %s --check-prefix=RANK
// RANK: effc-run: error: running 'mlp': input 'x': expected rank 2, got 3

// A static dimension must match; the dynamic one may be anything.
// RUN: not effc-run %t/model.so --function mlp --input x=%t/x_k4.npy 2>&1 | FileCheck %s --check-prefix=STATIC-DIM
// STATIC-DIM: effc-run: error: running 'mlp': input 'x' dimension 1: expected 3, got 4
// RUN: not effc-run %t/model.so --function double --input arg0=%t/v5.npy 2>&1 | FileCheck %s --check-prefix=STATIC-DIM0
// STATIC-DIM0: effc-run: error: running 'double': input 'arg0' dimension 0: expected 4, got 5

// RUN: not effc-run %t/model.so --function mlp 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: effc-run: error: missing input 'x' of function 'mlp' (give --input x=FILE.npy; inputs: x)

// RUN: not effc-run %t/model.so --function mlp --input x=%t/x.npy --input z=%t/x.npy 2>&1 | FileCheck %s --check-prefix=UNKNOWN-INPUT
// UNKNOWN-INPUT: effc-run: error: function 'mlp' has no input 'z' (inputs: x)

// RUN: not effc-run %t/model.so --function mlp --input x=%t/x.npy --input x=%t/x.npy 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: effc-run: error: input 'x' is given twice

//===----------------------------------------------------------------------===//
// Bad .npy files
//===----------------------------------------------------------------------===//

// RUN: not effc-run %t/model.so --function mlp --input x=%t/not_npy.npy 2>&1 | FileCheck %s --check-prefix=MAGIC
// MAGIC: effc-run: error: input 'x': {{.*}}not_npy.npy is not a .npy file (bad magic)

// RUN: not effc-run %t/model.so --function mlp --input x=%t/truncated_header.npy 2>&1 | FileCheck %s --check-prefix=TRUNCATED-HEADER
// TRUNCATED-HEADER: effc-run: error: input 'x': {{.*}}truncated_header.npy: truncated .npy header

// RUN: not effc-run %t/model.so --function mlp --input x=%t/truncated_data.npy 2>&1 | FileCheck %s --check-prefix=TRUNCATED-DATA
// TRUNCATED-DATA: effc-run: error: input 'x': {{.*}}truncated_data.npy is truncated: 20 bytes of data, expected 24

// RUN: not effc-run %t/model.so --function mlp --input x=%t/complex.npy 2>&1 | FileCheck %s --check-prefix=NPY-DTYPE
// NPY-DTYPE: effc-run: error: input 'x': {{.*}}complex.npy: unsupported dtype '<c8' (supported: {{.+}})

// RUN: not effc-run %t/model.so --function mlp --input x=%t/fortran.npy 2>&1 | FileCheck %s --check-prefix=FORTRAN
// FORTRAN: effc-run: error: input 'x': {{.*}}fortran.npy: Fortran-order arrays are not supported; save np.ascontiguousarray(arr)

// RUN: not effc-run %t/model.so --function mlp --input x=%t/absent.npy 2>&1 | FileCheck %s --check-prefix=NPY-MISSING
// NPY-MISSING: effc-run: error: input 'x': cannot open {{.*}}absent.npy: No such file or directory

//===----------------------------------------------------------------------===//
// Functions, modules and options
//===----------------------------------------------------------------------===//

// RUN: not effc-run %t/model.so --function nope 2>&1 | FileCheck %s --check-prefix=FUNCTION
// FUNCTION: effc-run: error: module has no function 'nope' (it has: mlp, double)

// RUN: not effc-run %t/model.so --input x=%t/x.npy 2>&1 | FileCheck %s --check-prefix=NO-MAIN
// NO-MAIN: effc-run: error: the module has 2 functions and none is 'main'; choose one with --function (mlp, double)

// RUN: not effc-run %t/absent.so --list 2>&1 | FileCheck %s --check-prefix=NO-MODULE
// NO-MODULE: effc-run: error: cannot open module '{{.*}}absent.so': No such file or directory

// RUN: not effc-run %t/x.npy --list 2>&1 | FileCheck %s --check-prefix=NOT-SO
// NOT-SO: effc-run: error: cannot load '{{.*}}x.npy' as a shared object:

// RUN: not effc-run 2>&1 | FileCheck %s --check-prefix=NO-MODEL
// NO-MODEL: effc-run: error: no model given (usage: effc-run MODEL.so [options]; see --help)

// RUN: not effc-run %t/model.so --input x 2>&1 | FileCheck %s --check-prefix=INPUT-SYNTAX
// INPUT-SYNTAX: effc-run: error: --input expects NAME=FILE.npy, got 'x'

// RUN: not effc-run %t/model.so --frobnicate 2>&1 | FileCheck %s --check-prefix=OPTION
// OPTION: effc-run: error: unknown option '--frobnicate'; see --help

// RUN: not effc-run %t/model.so --bench 0 2>&1 | FileCheck %s --check-prefix=BENCH
// BENCH: effc-run: error: --bench expects a run count between 1 and 1000000, got '0'

// RUN: effc-run --help | FileCheck %s --check-prefix=HELP
// HELP: usage: effc-run MODEL.so [options]

func.func @mlp(%x: tensor<?x3xf32> {eff.name = "x"}) -> (tensor<?x2xf32> {eff.name = "y"}) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %y = eff.linear %x, %w : (tensor<?x3xf32>, tensor<2x3xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

func.func @double(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = eff.add %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
