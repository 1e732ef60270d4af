// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int8:static' | FileCheck %s
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int8 activations=static' | FileCheck %s
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int8' | FileCheck %s --check-prefix=DYNAMIC

// Static int8 activations take their range from the calibration.input_absmax attribute that effc's
// --calibration attaches: scale max|x| / 127 = 2.54 / 127 = 0.02, zero point 128 (symmetric u8 form).

// CHECK-LABEL: func.func @linear
// CHECK: eff.quantized_linear int8 {{.*}} {in_features = 8 : i64, input_scale = 2.000000e-02 : f32, input_zero_point = 128 : i64, out_features = 4 : i64}
// DYNAMIC-LABEL: func.func @linear
// DYNAMIC-NOT: input_scale
// DYNAMIC: eff.quantized_linear int8 {{.*}} {in_features = 8 : i64, out_features = 4 : i64}
func.func @linear(%x: tensor<?x?x8xf32>) -> tensor<?x?x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x8xf32>
  %y = eff.linear %x, %w {calibration.input_absmax = 2.54 : f32, calibration.input_rms = array<f32: 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0>}
      : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// An FFN's range applies to its up and gate projections; the hidden activation has no statistic, so the
// down projection keeps dynamic quantization.

// CHECK-LABEL: func.func @gated_ffn
// CHECK: eff.quantized_linear int8 %arg0, {{.*}} {in_features = 8 : i64, input_scale = 0.00999999977 : f32, input_zero_point = 128 : i64, out_features = 16 : i64}
// CHECK: eff.quantized_linear int8 %arg0, {{.*}} {in_features = 8 : i64, input_scale = 0.00999999977 : f32, input_zero_point = 128 : i64, out_features = 16 : i64}
// CHECK: eff.glu
// CHECK: eff.quantized_linear int8 {{.*}} {in_features = 16 : i64, out_features = 8 : i64}
func.func @gated_ffn(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %wu = arith.constant dense<0.5> : tensor<16x8xf32>
  %wg = arith.constant dense<-0.25> : tensor<16x8xf32>
  %wd = arith.constant dense<1.5> : tensor<8x16xf32>
  %h = eff.ffn %x up(%wu) gate(%wg) down(%wd) silu {calibration.input_absmax = 1.27 : f32}
      : (tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  return %h : tensor<?x8xf32>
}
