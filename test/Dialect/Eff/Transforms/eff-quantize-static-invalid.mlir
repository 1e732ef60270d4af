// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int8:static' -verify-diagnostics

// Static int8 activations need the calibration statistics effc's --calibration attaches.
func.func @static_without_calibration(%x: tensor<?x64xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x64xf32>
  // expected-error @+1 {{static activations need calibration data: pass --calibration (no 'calibration.input_absmax' attribute)}}
  %y = eff.linear %x, %w : (tensor<?x64xf32>, tensor<4x64xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

func.func @ffn_without_calibration(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %wu = arith.constant dense<0.5> : tensor<16x8xf32>
  %wd = arith.constant dense<1.5> : tensor<8x16xf32>
  // expected-error @+1 {{static activations need calibration data: pass --calibration}}
  %h = eff.ffn %x up(%wu) down(%wd) gelu : (tensor<?x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  return %h : tensor<?x8xf32>
}
