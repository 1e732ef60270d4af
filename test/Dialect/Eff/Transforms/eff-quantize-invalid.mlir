// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int4:g64' -verify-diagnostics
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=lut:2:g64' -verify-diagnostics

// A group size that does not divide a layer's input features is an error at that layer.
func.func @group_does_not_divide(%x: tensor<?x96xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x96xf32>
  // expected-error @+1 {{group size 64 does not divide the layer's 96 input features}}
  %y = eff.linear %x, %w : (tensor<?x96xf32>, tensor<4x96xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

