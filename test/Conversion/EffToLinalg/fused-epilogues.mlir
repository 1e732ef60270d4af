// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg | FileCheck %s
// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg="fuse-epilogues=false" | FileCheck %s --check-prefix=UNFUSED

// Op groups lowered to one fused micro-kernel call (lib/Conversion/EffToLinalg/Fusion.cpp): an int8 or bf16
// eff.quantized_linear with its activation and/or residual add (effc_uk_quantized_linear_*_epilogue; the
// flags operand before the result is the activation code of ukernels/epilogue.h, plus 16 for the residual),
// and f32 eff.add + eff.layer_norm (effc_uk_add_layer_norm, or _keep_sum when the sum has other uses). With
// fuse-epilogues=false every op takes its own lowering.

// GELU (code 2); no residual: a 1x1x1 placeholder.
// CHECK: func.func private @effc_uk_quantized_linear_int8_epilogue(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?xi32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, f32, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-LABEL: func.func @int8_gelu(
// CHECK-DAG:     %[[FLAGS:.+]] = arith.constant 2 : i64
// CHECK-DAG:     %[[NONE:.+]] = arith.constant dense<0.000000e+00> : tensor<1x1x1xf32>
// CHECK:         call @effc_uk_quantized_linear_int8_epilogue({{.*}}, %[[FLAGS]], %{{.+}})
// CHECK-NOT:     linalg.generic
// CHECK:         return
// UNFUSED-LABEL: func.func @int8_gelu(
// UNFUSED:         call @effc_uk_quantized_linear_int8(
// UNFUSED:         linalg.generic
// UNFUSED:           math.erf
func.func @int8_gelu(%x: tensor<?x?x8xf32>, %b: tensor<4xf32>) -> tensor<?x?x4xf32> {
  %w = arith.constant dense<1> : tensor<128xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %cs = arith.constant dense<8> : tensor<16xi32>
  %y = eff.quantized_linear int8 %x, %w scales(%s) column_sums(%cs) bias(%b) {in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %a = eff.activation gelu %y : tensor<?x?x4xf32>
  return %a : tensor<?x?x4xf32>
}

// -----

// ReLU (1) then the residual (16), the residual as the add's first operand; its rows are tied to x's.
// CHECK-LABEL: func.func @int8_relu_residual(
// CHECK-SAME:      %[[X:.+]]: tensor<?x?x8xf32>, %[[R:.+]]: tensor<?x?x4xf32>)
// CHECK-DAG:     %[[FLAGS:.+]] = arith.constant 17 : i64
// CHECK:         %[[RC:.+]] = tensor.cast %[[R]] : tensor<?x?x4xf32> to tensor<?x?x?xf32>
// CHECK:         %[[RB:.+]] = bufferization.to_buffer %[[RC]] read_only
// CHECK:         call @effc_uk_quantized_linear_int8_epilogue({{.*}}, %[[RB]], %[[FLAGS]], %{{.+}}) {effc.equal_extents = array<i64: 0, 0, 8, 0, 0, 1, 8, 1>}
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @int8_relu_residual(%x: tensor<?x?x8xf32>, %r: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %w = arith.constant dense<1> : tensor<128xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %cs = arith.constant dense<8> : tensor<16xi32>
  %y = eff.quantized_linear int8 %x, %w scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x?x4xf32>
  %a = eff.activation relu %y : tensor<?x?x4xf32>
  %z = eff.add %r, %a : tensor<?x?x4xf32>
  return %z : tensor<?x?x4xf32>
}

// -----

// A residual add alone (16) on a matrix: both views gain a unit batch dimension.
// CHECK-LABEL: func.func @int8_residual_matrix(
// CHECK-DAG:     %[[FLAGS:.+]] = arith.constant 16 : i64
// CHECK:         call @effc_uk_quantized_linear_int8_epilogue({{.*}}, %[[FLAGS]], %{{.+}})
// CHECK:         tensor.collapse_shape
func.func @int8_residual_matrix(%x: tensor<?x8xf32>, %r: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<1> : tensor<128xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %cs = arith.constant dense<8> : tensor<16xi32>
  %y = eff.quantized_linear int8 %x, %w scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  %z = eff.add %y, %r : tensor<?x4xf32>
  return %z : tensor<?x4xf32>
}

// -----

// Not fused: the linear's result has a second use (it is returned), so the plain kernel runs and the
// activation is a linalg.generic.
// CHECK-LABEL: func.func @int8_two_uses(
// CHECK-NOT:     call @effc_uk_quantized_linear_int8_epilogue
// CHECK:         call @effc_uk_quantized_linear_int8(
// CHECK:         linalg.generic
// CHECK:           arith.maximumf
func.func @int8_two_uses(%x: tensor<?x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %w = arith.constant dense<1> : tensor<128xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %cs = arith.constant dense<8> : tensor<16xi32>
  %y = eff.quantized_linear int8 %x, %w scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  %a = eff.activation relu %y : tensor<?x4xf32>
  return %y, %a : tensor<?x4xf32>, tensor<?x4xf32>
}

// -----

// bf16: SiLU (4) then the residual (16); operands x, packed, bias, has_bias, residual, flags, then the
// result, so the residual's rows are tied to x's as operand 4.
// CHECK: func.func private @effc_uk_quantized_linear_bf16_epilogue(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xbf16, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-LABEL: func.func @bf16_silu_residual(
// CHECK-DAG:     %[[FLAGS:.+]] = arith.constant 20 : i64
// CHECK:         call @effc_uk_quantized_linear_bf16_epilogue({{.*}}, %[[FLAGS]], %{{.+}}) {effc.equal_extents = array<i64: 0, 0, 4, 0, 0, 1, 4, 1>}
// CHECK-NOT:     linalg.generic
// CHECK:         return
// UNFUSED-LABEL: func.func @bf16_silu_residual(
// UNFUSED:         call @effc_uk_quantized_linear_bf16(
// UNFUSED:         linalg.generic
func.func @bf16_silu_residual(%x: tensor<?x?x8xf32>, %r: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %w = arith.constant dense<1.0> : tensor<128xbf16>
  %y = eff.quantized_linear bf16 %x, %w {in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x?x8xf32>, tensor<128xbf16>) -> tensor<?x?x4xf32>
  %a = eff.activation silu %y : tensor<?x?x4xf32>
  %z = eff.add %a, %r : tensor<?x?x4xf32>
  return %z : tensor<?x?x4xf32>
}

// -----

// Not fused: the int4 kernel has no epilogue; it keeps its plain kernel and a generic.
// CHECK-LABEL: func.func @int4_not_fused(
// CHECK:         call @effc_uk_quantized_linear_int4(
// CHECK:         linalg.generic
func.func @int4_not_fused(%x: tensor<?x?x64xf32>) -> tensor<?x?x16xf32> {
  %w = arith.constant dense<17> : tensor<512xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %y = eff.quantized_linear int4 %x, %w scales(%s) {in_features = 64 : i64, out_features = 16 : i64, group_size = 64 : i64}
      : (tensor<?x?x64xf32>, tensor<512xi8>, tensor<16xf32>) -> tensor<?x?x16xf32>
  %a = eff.activation silu %y : tensor<?x?x16xf32>
  return %a : tensor<?x?x16xf32>
}

// -----

// Add + layer norm: operands x, r, gamma, beta, has_beta, epsilon, then the result.
// CHECK: func.func private @effc_uk_add_layer_norm(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, f32, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-LABEL: func.func @add_layer_norm(
// CHECK-DAG:     %[[EPS:.+]] = arith.constant 9.99999996E-13 : f32
// CHECK-DAG:     %[[HAS_BETA:.+]] = arith.constant 1 : i64
// CHECK:         %[[OUT:.+]] = memref.alloc(%{{.+}}, %{{.+}}) {alignment = 64 : i64} : memref<?x?x32xf32>
// CHECK:         call @effc_uk_add_layer_norm(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[HAS_BETA]], %[[EPS]], %{{.+}}) {effc.equal_extents = array<i64: 0, 0, 1, 0, 0, 1, 1, 1, 0, 2, 1, 2, 0, 2, 2, 0>}
// CHECK-NOT:     linalg.generic
// CHECK:         return
// UNFUSED-LABEL: func.func @add_layer_norm(
// UNFUSED-NOT:     call @effc_uk_add_layer_norm
// UNFUSED:         math.rsqrt
func.func @add_layer_norm(%x: tensor<?x?x32xf32>, %r: tensor<?x?x32xf32>, %g: tensor<32xf32>, %b: tensor<32xf32>) -> tensor<?x?x32xf32> {
  %s = eff.add %x, %r : tensor<?x?x32xf32>
  %y = eff.layer_norm %s, %g, %b {epsilon = 1.0e-12 : f32} : (tensor<?x?x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// The sum is returned too: the kernel writes it as a second result; no beta (placeholder, has_beta 0).
// CHECK-LABEL: func.func @add_layer_norm_keep_sum(
// CHECK-DAG:     %[[NO_BETA:.+]] = arith.constant 0 : i64
// CHECK:         %[[Y:.+]] = memref.alloc() {alignment = 64 : i64} : memref<1x5x32xf32>
// CHECK:         %[[SUM:.+]] = memref.alloc() {alignment = 64 : i64} : memref<1x5x32xf32>
// CHECK:         call @effc_uk_add_layer_norm_keep_sum(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[NO_BETA]], %{{.+}}, %{{.+}}, %{{.+}})
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @add_layer_norm_keep_sum(%x: tensor<5x32xf32>, %r: tensor<5x32xf32>, %g: tensor<32xf32>) -> (tensor<5x32xf32>, tensor<5x32xf32>) {
  %s = eff.add %x, %r : tensor<5x32xf32>
  %y = eff.layer_norm %s, %g : (tensor<5x32xf32>, tensor<32xf32>) -> tensor<5x32xf32>
  return %y, %s : tensor<5x32xf32>, tensor<5x32xf32>
}

// -----

// The int8 linear's residual add feeds a layer norm: the add goes to the layer norm's kernel (same traffic,
// and the norm becomes one pass), the linear keeps its plain kernel.
// CHECK-LABEL: func.func @int8_residual_then_layer_norm(
// CHECK:         call @effc_uk_quantized_linear_int8(
// CHECK:         call @effc_uk_add_layer_norm(
// CHECK-NOT:     linalg.generic
func.func @int8_residual_then_layer_norm(%x: tensor<?x?x8xf32>, %g: tensor<8xf32>) -> tensor<?x?x8xf32> {
  %w = arith.constant dense<1> : tensor<128xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %cs = arith.constant dense<8> : tensor<16xi32>
  %y = eff.quantized_linear int8 %x, %w scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 8 : i64}
      : (tensor<?x?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x?x8xf32>
  %sum = eff.add %x, %y : tensor<?x?x8xf32>
  %n = eff.layer_norm %sum, %g : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  return %n : tensor<?x?x8xf32>
}

// -----

// Not fused: f16 keeps the linalg lowering (the kernel is f32).
// CHECK-LABEL: func.func @add_layer_norm_f16(
// CHECK-NOT:     call @effc_uk_add_layer_norm
// CHECK:         math.rsqrt
func.func @add_layer_norm_f16(%x: tensor<4x32xf16>, %r: tensor<4x32xf16>, %g: tensor<32xf16>) -> tensor<4x32xf16> {
  %s = eff.add %x, %r : tensor<4x32xf16>
  %y = eff.layer_norm %s, %g : (tensor<4x32xf16>, tensor<32xf16>) -> tensor<4x32xf16>
  return %y : tensor<4x32xf16>
}

// -----

// Not fused: the sum has another use and gamma is computed after the add, so no single call point has both.
// CHECK-LABEL: func.func @gamma_after_add(
// CHECK-NOT:     call @effc_uk_add_layer_norm
// CHECK:         math.rsqrt
func.func @gamma_after_add(%x: tensor<4x32xf32>, %r: tensor<4x32xf32>, %g0: tensor<32xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  %s = eff.add %x, %r : tensor<4x32xf32>
  %g = eff.activation sigmoid %g0 : tensor<32xf32>
  %y = eff.layer_norm %s, %g : (tensor<4x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  return %y, %s : tensor<4x32xf32>, tensor<4x32xf32>
}
