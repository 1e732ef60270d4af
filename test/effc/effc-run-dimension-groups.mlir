// Inputs whose dynamic dimensions the model indexes together must agree: effc records the groups in the
// module (effc-infer-dimension-groups) and the runtime refuses a mismatch before running any code.
// RUN: rm -rf %t && mkdir -p %t
// RUN: effc %s -o %t/model.so
// RUN: %PYTHON -c "import numpy as np; d = '%t'; \
// RUN:   np.save(d + '/a3.npy', np.ones((3, 4), np.float32)); \
// RUN:   np.save(d + '/b3.npy', np.ones((3, 4), np.float32)); \
// RUN:   np.save(d + '/b5.npy', np.ones((5, 4), np.float32))"
// RUN: effc-run %t/model.so --input a=%t/a3.npy --input b=%t/b3.npy --output-dir %t | FileCheck %s --check-prefix=OK
// RUN: not effc-run %t/model.so --input a=%t/a3.npy --input b=%t/b5.npy --output-dir %t 2>&1 | FileCheck %s

// OK: sum: f32 [3, 4]
// CHECK: error: running 'main': input 'b' dimension 0 is 5, but input 'a' dimension 0 is 3; the model needs them equal
func.func @main(%a: tensor<?x4xf32> {eff.name = "a"}, %b: tensor<?x4xf32> {eff.name = "b"}) -> (tensor<?x4xf32> {eff.name = "sum"}) {
  %s = eff.add %a, %b : tensor<?x4xf32>
  return %s : tensor<?x4xf32>
}
