// RUN: effc-opt %s -eff-keep-adapters -verify-diagnostics

// Diagnostics of eff-keep-adapters (lib/Dialect/Eff/Transforms/KeepAdapters.cpp): an adapter weight can
// only be threaded into eff.layer, not into other ops isolated from above.

func.func @isolated(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  builtin.module {
    %k = arith.constant dense<1.0> : tensor<4x2xf32>
    %l = arith.constant dense<2.0> : tensor<2xf32>
    // expected-error @+1 {{eff-keep-adapters: cannot pass an adapter weight into 'builtin.module', which is isolated from above}}
    %s = eff.ia3 key %k, %l : (tensor<4x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  }
  return %x : tensor<4x2xf32>
}
