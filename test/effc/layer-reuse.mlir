// effc compiles layers that are identical up to their weights once (eff-outline-layers): one function,
// called per layer with that layer's weights. --no-layer-reuse compiles each layer separately; the outputs
// are the same.
// RUN: rm -rf %t && mkdir -p %t

// RUN: effc %s --emit=mlir -o - | FileCheck %s --check-prefix=SHARED
// SHARED-COUNT-2: llvm.call @layer_body_0(
// SHARED-NOT:     llvm.call @layer_body_0(
// SHARED:         llvm.func {{.*}}@layer_body_0(

// RUN: effc %s --no-layer-reuse --emit=mlir -o - | FileCheck %s --check-prefix=SEPARATE
// SEPARATE-NOT: layer_body

// -v reports the layers that share a body, at the first of them.
// RUN: effc -v %s -o %t/shared.so 2>&1 | FileCheck %s --check-prefix=REMARK
// REMARK: layer-reuse.mlir:[[# @LINE + 12]]:{{[0-9]+}}: remark: layers 0, 1 share the body @layer_body_0
// RUN: effc %s --no-layer-reuse -o %t/separate.so

// RUN: %PYTHON -c "import numpy as np; np.save('%t/x.npy', np.arange(12, dtype=np.float32).reshape(3, 4) / 7)"
// RUN: effc-run %t/shared.so --input x=%t/x.npy --output-dir %t/shared
// RUN: effc-run %t/separate.so --input x=%t/x.npy --output-dir %t/separate
// RUN: %PYTHON -c "import numpy as np; a = np.load('%t/shared/y.npy'); b = np.load('%t/separate/y.npy'); \
// RUN:   x = np.load('%t/x.npy'); w0 = np.arange(16, dtype=np.float32).reshape(4, 4) / 16; w1 = w0[::-1] - 0.5; \
// RUN:   h = np.maximum(x @ w0.T, 0) + x; y = np.maximum(h @ w1.T, 0) + h; \
// RUN:   assert np.array_equal(a, b), (a, b); np.testing.assert_allclose(a, y, rtol=1e-5, atol=1e-6)"

func.func @main(%x: tensor<?x4xf32> {eff.name = "x"}) -> (tensor<?x4xf32> {eff.name = "y"}) {
  %h0 = eff.layer 0 (%x) : (tensor<?x4xf32>) -> tensor<?x4xf32> {
  ^bb0(%in: tensor<?x4xf32>):
    %w = arith.constant dense<[[0.0, 0.0625, 0.125, 0.1875], [0.25, 0.3125, 0.375, 0.4375],
                               [0.5, 0.5625, 0.625, 0.6875], [0.75, 0.8125, 0.875, 0.9375]]> : tensor<4x4xf32>
    %y = eff.linear %in, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %a = eff.activation relu %y : tensor<?x4xf32>
    %r = eff.add %a, %in : tensor<?x4xf32>
    eff.yield %r : tensor<?x4xf32>
  }
  %h1 = eff.layer 1 (%h0) : (tensor<?x4xf32>) -> tensor<?x4xf32> {
  ^bb0(%in: tensor<?x4xf32>):
    %w = arith.constant dense<[[0.25, 0.3125, 0.375, 0.4375], [0.0, 0.0625, 0.125, 0.1875],
                               [-0.25, -0.1875, -0.125, -0.0625], [-0.5, -0.4375, -0.375, -0.3125]]> : tensor<4x4xf32>
    %y = eff.linear %in, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
    %a = eff.activation relu %y : tensor<?x4xf32>
    %r = eff.add %a, %in : tensor<?x4xf32>
    eff.yield %r : tensor<?x4xf32>
  }
  return %h1 : tensor<?x4xf32>
}
