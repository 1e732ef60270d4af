// RUN: effc-opt %s -split-input-file --eff-quantize=scheme=int4 -verify-diagnostics | FileCheck %s
// RUN: effc-opt %s -split-input-file --eff-quantize=scheme=lut:2 -verify-diagnostics | FileCheck %s

// Without :gGROUP a layer's group is the largest multiple of 8 up to 128 dividing its input features.

// CHECK-LABEL: func.func @default_groups
// CHECK: eff.quantized_linear {{.*}}group_size = 128 : i64, in_features = 768
// CHECK: eff.quantized_linear {{.*}}group_size = 64 : i64, in_features = 64
// CHECK: eff.quantized_linear {{.*}}group_size = 120 : i64, in_features = 480
func.func @default_groups(%x: tensor<?x768xf32>, %y: tensor<?x64xf32>, %z: tensor<?x480xf32>)
    -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %w0 = arith.constant dense<0.5> : tensor<4x768xf32>
  %w1 = arith.constant dense<0.5> : tensor<4x64xf32>
  %w2 = arith.constant dense<0.5> : tensor<4x480xf32>
  %0 = eff.linear %x, %w0 : (tensor<?x768xf32>, tensor<4x768xf32>) -> tensor<?x4xf32>
  %1 = eff.linear %y, %w1 : (tensor<?x64xf32>, tensor<4x64xf32>) -> tensor<?x4xf32>
  %2 = eff.linear %z, %w2 : (tensor<?x480xf32>, tensor<4x480xf32>) -> tensor<?x4xf32>
  return %0, %1, %2 : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

func.func @no_default_group(%x: tensor<?x12xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x12xf32>
  // expected-error @+1 {{no default group size for the layer's 12 input features (no multiple of 8 up to 128 divides it); give one with :gGROUP}}
  %y = eff.linear %x, %w : (tensor<?x12xf32>, tensor<4x12xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
