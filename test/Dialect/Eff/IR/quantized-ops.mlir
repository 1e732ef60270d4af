// RUN: effc-opt %s | effc-opt | FileCheck %s

// Round trip of eff.quantized_linear in each scheme (K = 8, N = 4, so Np = 16).

// CHECK-LABEL: func.func @quantized_linear$int8
// CHECK: eff.quantized_linear int8 %{{.*}}, %{{.*}} scales(%{{.*}}) column_sums(%{{.*}}) bias(%{{.*}}) {in_features = 8 : i64, out_features = 4 : i64}
func.func @quantized_linear$int8(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) bias(%b) {in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @quantized_linear$int8_static
// CHECK: input_scale = 5.000000e-01 : f32, input_zero_point = 128 : i64
func.func @quantized_linear$int8_static(%x: tensor<2x3x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) -> tensor<2x3x4xf32> {
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64, input_scale = 0.5 : f32, input_zero_point = 128 : i64}
      : (tensor<2x3x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @quantized_linear$int4_asym
// CHECK: eff.quantized_linear int4 %{{.*}}, %{{.*}} scales(%{{.*}}) zero_points(%{{.*}}) {group_size = 4 : i64
func.func @quantized_linear$int4_asym(%x: tensor<?x8xf32>, %p: tensor<64xi8>, %s: tensor<32xf32>, %z: tensor<32xf32>) -> tensor<?x4xf32> {
  %y = eff.quantized_linear int4 %x, %p scales(%s) zero_points(%z) {group_size = 4 : i64, in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x8xf32>, tensor<64xi8>, tensor<32xf32>, tensor<32xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @quantized_linear$lut
// CHECK: eff.quantized_linear lut %{{.*}}, %{{.*}} scales(%{{.*}}) {bits = 2 : i64, group_size = 8 : i64
func.func @quantized_linear$lut(%x: tensor<8xf32>, %p: tensor<32xi8>, %a: tensor<32xf32>) -> tensor<4xf32> {
  %y = eff.quantized_linear lut %x, %p scales(%a) {bits = 2 : i64, group_size = 8 : i64, in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<8xf32>, tensor<32xi8>, tensor<32xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// CHECK-LABEL: func.func @quantized_linear$bf16
// CHECK: eff.quantized_linear bf16 %{{.*}}, %{{.*}} {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xbf16>) -> tensor<?x4xf32>
func.func @quantized_linear$bf16(%x: tensor<?x8xf32>, %p: tensor<128xbf16>) -> tensor<?x4xf32> {
  %y = eff.quantized_linear bf16 %x, %p {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xbf16>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// Round trip of eff.quantized_experts: E = 2, D = 8, F = 4 (up/gate [2, 128], down [2, 64], scales and column
// sums [2, 16]), without and with the gate and biases.

// CHECK-LABEL: func.func @quantized_experts$plain
// CHECK: eff.quantized_experts int8 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}, %{{.*}}) down(%{{.*}}, %{{.*}}, %{{.*}}) gelu {intermediate_size = 4 : i64}
func.func @quantized_experts$plain(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) -> tensor<?x8xf32> {
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64}
      : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// CHECK-LABEL: func.func @quantized_experts$gated_biased
// CHECK: eff.quantized_experts int8 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}, %{{.*}}, bias %{{.*}}) gate(%{{.*}}, %{{.*}}, %{{.*}}) down(%{{.*}}, %{{.*}}, %{{.*}}, bias %{{.*}}) silu {intermediate_size = 4 : i64}
func.func @quantized_experts$gated_biased(%x: tensor<2x3x8xf32>, %rw: tensor<2x3x2xf32>, %ri: tensor<2x3x2xi32>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %ub: tensor<2x4xf32>, %g: tensor<2x128xi8>, %gs: tensor<2x16xf32>, %gc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>, %db: tensor<2x8xf32>) -> tensor<2x3x8xf32> {
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc, bias %ub) gate(%g, %gs, %gc) down(%d, %ds, %dc, bias %db) silu {intermediate_size = 4 : i64}
      : (tensor<2x3x8xf32>, tensor<2x3x2xf32>, tensor<2x3x2xi32>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x4xf32>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}

// int4 experts, G = 4 (E = 2, D = 8, F = 4): up/gate packed [2, 64], scales [2, 32]; down packed [2, 32],
// scales [2, 16]; symmetric with a gate, then asymmetric (zero points beside every scale) with biases.

// CHECK-LABEL: func.func @quantized_experts$int4_gated
// CHECK: eff.quantized_experts int4 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}) gate(%{{.*}}, %{{.*}}) down(%{{.*}}, %{{.*}}) silu {group_size = 4 : i64, intermediate_size = 4 : i64}
func.func @quantized_experts$int4_gated(%x: tensor<?x8xf32>, %rw: tensor<?x2xf32>, %ri: tensor<?x2xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %g: tensor<2x64xi8>, %gs: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>) -> tensor<?x8xf32> {
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us) gate(%g, %gs) down(%d, %ds) silu {intermediate_size = 4 : i64, group_size = 4 : i64}
      : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xi8>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// CHECK-LABEL: func.func @quantized_experts$int4_asymmetric_biased
// CHECK: eff.quantized_experts int4 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}, zero_points %{{.*}}, bias %{{.*}}) down(%{{.*}}, %{{.*}}, zero_points %{{.*}}, bias %{{.*}}) gelu {group_size = 4 : i64, intermediate_size = 4 : i64}
func.func @quantized_experts$int4_asymmetric_biased(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %uz: tensor<2x32xf32>, %ub: tensor<2x4xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>, %dz: tensor<2x16xf32>, %db: tensor<2x8xf32>) -> tensor<?x8xf32> {
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us, zero_points %uz, bias %ub) down(%d, %ds, zero_points %dz, bias %db) gelu {intermediate_size = 4 : i64, group_size = 4 : i64}
      : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xf32>, tensor<2x4xf32>, tensor<2x32xi8>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
