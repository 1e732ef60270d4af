// RUN: rm -rf %t && split-file --leading-lines %s %t

// effc end to end (tools/effc/effc.cpp, lib/Target/SharedObject.cpp): eff IR in, a shared object for the
// runtime out, inspected with effc-run --list, run on .npy inputs, and emitted at every --emit stage.

// The shared object exports only the versioned query function and needs no other library symbol.
// RUN: effc %t/model.mlir -o %t/model.so
// RUN: llvm-nm -D --defined-only %t/model.so | FileCheck %s --check-prefix=EXPORTS
// RUN: llvm-nm -D --undefined-only %t/model.so | count 0
// EXPORTS:     T effc_module_query
// EXPORTS-NOT: T

// --list shows each entry point with its eff.name names, or argN / resultN without them.
// RUN: effc-run %t/model.so --list | FileCheck %s --check-prefix=LIST
// LIST:      module {{.*}}model.so: 2 functions (producer: effc {{.+}})
// LIST-DAG:  mlp(x: f32 [?, 3]) -> (y: f32 [?, 2])
// LIST-DAG:  double(arg0: f32 [4]) -> (result0: f32 [4])

// Running it: y = relu(x W^T + b) with W = [[1, 2, 3], [4, 5, 6]], b = [0.5, -16].
// RUN: %PYTHON -c "import numpy as np; np.save('%t/x.npy', np.array([[1, 1, 1], [0, 1, 2]], dtype=np.float32))"
// RUN: effc-run %t/model.so --function mlp --input x=%t/x.npy --output-dir %t/out | FileCheck %s --check-prefix=EXEC
// RUN: %PYTHON -c "import numpy as np; y = np.load('%t/out/y.npy'); assert y.dtype == np.float32 and y.tolist() == [[6.5, 0.0], [8.5, 1.0]], y"
// EXEC: y: f32 [2, 2]

// -O0 skips tiling and vectorisation; the result is the same.
// RUN: effc -O0 %t/model.mlir -o %t/model_O0.so
// RUN: effc-run %t/model_O0.so --function mlp --input x=%t/x.npy --output-dir %t/out_O0 | FileCheck %s --check-prefix=EXEC
// RUN: %PYTHON -c "import numpy as np; y = np.load('%t/out_O0/y.npy'); assert y.tolist() == [[6.5, 0.0], [8.5, 1.0]], y"

// --emit=llvm (also chosen by a .ll output): the runtime ABI in LLVM IR.
// RUN: effc %t/model.mlir --emit=llvm -o - | FileCheck %s --check-prefix=LLVM
// RUN: effc %t/model.mlir -o %t/model.ll && FileCheck %s --check-prefix=LLVM < %t/model.ll
// LLVM-DAG: define {{.*}}ptr @effc_module_query(
// LLVM-DAG: define internal void @effc_invoke_mlp(
// LLVM-DAG: define internal void @effc_invoke_double(
// LLVM-DAG: c"effc 0.1.0\00"

// --emit=mlir: the LLVM dialect after the pipeline, with the C interface of each entry point.
// RUN: effc %t/model.mlir --emit=mlir -o - | FileCheck %s --check-prefix=MLIR
// MLIR-DAG: llvm.func @_mlir_ciface_mlp(
// MLIR-DAG: llvm.func @_mlir_ciface_double(
// MLIR-NOT: func.func

// --emit=obj: a relocatable object with the same single global symbol.
// RUN: effc %t/model.mlir --emit=obj -o %t/model.o
// RUN: llvm-nm --defined-only --extern-only %t/model.o | FileCheck %s --check-prefix=EXPORTS

// --threads is taken out of the arguments before option parsing.
// RUN: effc --threads=1 %t/model.mlir -o %t/model_t1.so
// RUN: effc %t/model.mlir --threads 2 -o %t/model_t2.so

// --help lists effc's options, --threads included.
// RUN: effc --help | FileCheck %s --check-prefix=HELP
// HELP-DAG: USAGE: effc [options] <input .mlir or .mlirbc>
// HELP-DAG: --emit=<value>
// HELP-DAG: --cpu=<string>
// HELP-DAG: --weights=<file>
// HELP-DAG: --threads=<N>
// HELP-DAG: --target=<string>
// HELP-DAG: compression options (applied in the order given):
// HELP-DAG: --quantize=<scheme>
// HELP-DAG: --drop-layers=<layers>
// HELP-DAG: --calibration=<file.npz>

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

// Checks that carry a line number sit in the input they describe (split-file --leading-lines keeps lines).

// RUN: not effc --target=gpu %t/model.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: effc: error: unknown target 'gpu' (supported: cpu, cuda)

// RUN: not effc --quantize= %t/model.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=COMPRESSION-VALUE
// COMPRESSION-VALUE: effc: error: --quantize needs a value
// RUN: not effc --cpu=no-such-cpu %t/model.mlir --emit=llvm -o %t/x.ll 2>&1 | FileCheck %s --check-prefix=CPU
// CPU: error: unknown CPU 'no-such-cpu' (try native, x86-64, x86-64-v3 or x86-64-v4)

// RUN: not effc %t/does-not-exist.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: effc: error: cannot open input file '{{.*}}does-not-exist.mlir': No such file or directory

// RUN: not effc 2>&1 | FileCheck %s --check-prefix=NO-INPUT
// NO-INPUT: Not enough positional command line arguments specified!

// RUN: not effc --threads=many %t/model.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=THREADS
// THREADS: effc: error: --threads expects a number

// RUN: not effc %t/model.mlir -o %t/no-such-dir/x.so 2>&1 | FileCheck %s --check-prefix=OUTPUT
// OUTPUT: effc: error: cannot open output file '{{.*}}no-such-dir/x.so'

// RUN: not effc %t/scalar_arg.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=SCALAR

// RUN: not effc %t/unsigned_float.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=UNSIGNED-FLOAT
// RUN: not effc %t/unranked_result.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=UNRANKED
// UNRANKED: error: entry point 'cast': result #0 has type 'tensor<*xf32>'; entry points take and return ranked tensors

// RUN: not effc %t/private_only.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=PRIVATE
// PRIVATE: error: the module has no public function to export as an entry point

// RUN: not effc %t/duplicate_name.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=DUPLICATE
// DUPLICATE: error: entry point 'same' uses the name 'a' twice

// RUN: not effc %t/verifier.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=VERIFIER

// RUN: not effc %t/weights.mlir -o %t/x.so 2>&1 | FileCheck %s --check-prefix=WEIGHTS
// The eff.weights path is resolved next to the input file.
// WEIGHTS: weights.mlir:[[#]]:1: error: {{.*}}driver.mlir.tmp/absent.safetensors: cannot open weights file: No such file or directory
// RUN: not effc %t/weights.mlir --weights=%t/also-absent.safetensors -o %t/x.so 2>&1 | FileCheck %s --check-prefix=WEIGHTS-OPTION
// WEIGHTS-OPTION: error: {{.*}}also-absent.safetensors: cannot open weights file: No such file or directory

//--- model.mlir
func.func @mlp(%x: tensor<?x3xf32> {eff.name = "x"}) -> (tensor<?x2xf32> {eff.name = "y"}) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = arith.constant dense<[0.5, -16.0]> : tensor<2xf32>
  %h = eff.linear %x, %w, %b : (tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<?x2xf32>
  %y = eff.activation relu %h : tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
func.func @double(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = eff.add %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

//--- scalar_arg.mlir
// SCALAR: scalar_arg.mlir:[[# @LINE + 1]]:1: error: entry point 'scale': arg #1 has type 'f32'; entry points take and return ranked tensors of f32, f16, bf16, f64, i64, i32, i16, i8, ui8 or i1 (integers marked eff.unsigned: u64, u32, u16, u8)
func.func @scale(%x: tensor<4xf32>, %s: f32) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

//--- unsigned_float.mlir
// UNSIGNED-FLOAT: unsigned_float.mlir:[[# @LINE + 1]]:1: error: entry point 'id': arg #0 is marked eff.unsigned but has type 'tensor<4xf32>'
func.func @id(%x: tensor<4xf32> {eff.unsigned}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

//--- unranked_result.mlir
func.func @cast(%x: tensor<4xf32>) -> tensor<*xf32> {
  %y = tensor.cast %x : tensor<4xf32> to tensor<*xf32>
  return %y : tensor<*xf32>
}

//--- private_only.mlir
func.func private @helper(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

//--- duplicate_name.mlir
func.func @same(%x: tensor<4xf32> {eff.name = "a"}) -> (tensor<4xf32> {eff.name = "a"}) {
  return %x : tensor<4xf32>
}

//--- verifier.mlir
func.func @f() -> tensor<4xf32> {
  // VERIFIER: verifier.mlir:[[# @LINE + 1]]:8: error: 'eff.parameter' op requires a non-empty parameter name
  %w = eff.parameter "" : tensor<4xf32>
  return %w : tensor<4xf32>
}

//--- weights.mlir
module attributes {eff.weights = "absent.safetensors"} {
  func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
    %w = eff.parameter "w" : tensor<2xf32>
    %y = eff.add %x, %w : tensor<2xf32>
    return %y : tensor<2xf32>
  }
}
