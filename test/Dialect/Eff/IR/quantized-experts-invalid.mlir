// RUN: effc-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of eff.quantized_experts' rules (lib/Dialect/Eff/IR/EffQuantizedOps.cpp,
// eff_quantized_experts_c1..c5). Each rule reports twice: its message, then "failed to infer returned types".
// The valid shapes here: E = 2, D = 8, F = 4: up [2, Np(4)·Kp(8)] = [2, 128], scales and sums [2, 16];
// down [2, Np(8)·Kp(4)] = [2, 64], scales and sums [2, 16].

func.func @case0(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op scheme lut is not supported for experts (int8 and int4 are)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts lut %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case1(%x: tensor<f32>, %rw: tensor<1xf32>, %ri: tensor<1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<f32>, tensor<1xf32>, tensor<1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<f32>
  return
}

// -----

func.func @case2(%x: tensor<?x?xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op input must have a static last dimension (the experts' hidden size)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x?xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x?xf32>
  return
}

// -----

func.func @case3(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op intermediate_size must be >= 1, got 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 0 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case4(%x: tensor<?x8xf32>, %rw: tensor<?x2xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op routing_weights [?, 2] and routing_indices [?, 1] must both be [tokens..., k] for input [?, 8]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case5(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x100xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op up_packed [2, 100] must be [2, 128]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x100xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case6(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x8xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op up_scales [2, 8] must be [2, 16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x8xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case7(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<3x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op up_column_sums [3, 16] must be [2, 16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<3x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case8(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %g: tensor<2x128xi8>, %gs: tensor<2x32xf32>, %gc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op gate_scales [2, 32] must be [2, 16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) gate(%g, %gs, %gc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x128xi8>, tensor<2x32xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case9(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x128xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op down_packed [2, 128] must be [2, 64]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case10(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x4xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op down_scales [2, 4] must be [2, 16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x4xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case11(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x8xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op down_column_sums [2, 8] must be [2, 16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x8xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case12(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %ub: tensor<2x8xf32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op up_bias [2, 8] must be [2, 4]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc, bias %ub) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x8xf32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @case13(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>, %db: tensor<2x4xf32>) {
  // expected-error @+2 {{'eff.quantized_experts' op down_bias [2, 4] must be [2, 8]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc, bias %db) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x4xf32>) -> tensor<?x8xf32>
  return
}

// -----

// The custom syntax takes the gate's packed weight and scales together; the generic form can give one alone.
func.func @case14(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %g: tensor<2x128xi8>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op gate_packed and gate_scales go together (with their column sums or zero points)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = "eff.quantized_experts"(%x, %rw, %ri, %u, %us, %uc, %g, %d, %ds, %dc) <{activation = 1 : i32, intermediate_size = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0>, scheme = 0 : i32}> : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x128xi8>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// int4 cases: E = 2, D = 8, F = 4, G = 4: up packed [2, Np(4)·8/2] = [2, 64], scales (and zero points)
// [2, 16·8/4] = [2, 32]; down packed [2, 16·4/2] = [2, 32], scales [2, 16·4/4] = [2, 16].
// -----

func.func @int8_group(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op group_size is for int4 experts only}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64, group_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int4_no_group(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>) {
  // expected-error @+2 {{'eff.quantized_experts' op int4 experts need a group_size}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us) down(%d, %ds) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xi8>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int4_group_divides(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>) {
  // expected-error @+2 {{'eff.quantized_experts' op group_size 8 must be even and divide both the hidden size 8 and intermediate_size 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us) down(%d, %ds) gelu {intermediate_size = 4 : i64, group_size = 8 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xi8>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int8_no_sums(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op up_column_sums are required for int8 experts}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int8_zero_points(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>, %dz: tensor<2x16xf32>) {
  // expected-error @+2 {{'eff.quantized_experts' op down_zero_points are for int4 experts only}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc, zero_points %dz) gelu {intermediate_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int4_sums(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>, %uc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op up_column_sums are for int8 experts only}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds) gelu {intermediate_size = 4 : i64, group_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x16xi32>, tensor<2x32xi8>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int4_zero_points_everywhere(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>, %uz: tensor<2x32xf32>) {
  // expected-error @+2 {{'eff.quantized_experts' op down_zero_points must be given for every projection or for none}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us, zero_points %uz) down(%d, %ds) gelu {intermediate_size = 4 : i64, group_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xf32>, tensor<2x32xi8>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int4_packed(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>) {
  // expected-error @+2 {{'eff.quantized_experts' op up_packed [2, 128] must be [2, 64]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us) down(%d, %ds) gelu {intermediate_size = 4 : i64, group_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x32xf32>, tensor<2x32xi8>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int4_scales(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x32xf32>) {
  // expected-error @+2 {{'eff.quantized_experts' op down_scales [2, 32] must be [2, 16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us) down(%d, %ds) gelu {intermediate_size = 4 : i64, group_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xi8>, tensor<2x32xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @int4_zero_point_shape(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>, %uz: tensor<2x16xf32>, %dz: tensor<2x16xf32>) {
  // expected-error @+2 {{'eff.quantized_experts' op up_zero_points [2, 16] must be [2, 32]}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us, zero_points %uz) down(%d, %ds, zero_points %dz) gelu {intermediate_size = 4 : i64, group_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x16xf32>, tensor<2x32xi8>, tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

// The custom syntax: each side operand at most once, in the order of the operands.
func.func @repeated_side_operand(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>, %uz: tensor<2x32xf32>) {
  // expected-error @+1 {{expected the side operands at most once each and in the order: column sums, zero_points, bias}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us, zero_points %uz, zero_points %uz) down(%d, %ds) gelu {intermediate_size = 4 : i64, group_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xf32>, tensor<2x32xi8>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @side_operands_out_of_order(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>, %uz: tensor<2x32xf32>, %ub: tensor<2x4xf32>) {
  // expected-error @+1 {{expected the side operands at most once each and in the order: column sums, zero_points, bias}}
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us, bias %ub, zero_points %uz) down(%d, %ds) gelu {intermediate_size = 4 : i64, group_size = 4 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xf32>, tensor<2x4xf32>, tensor<2x32xi8>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @huge_intermediate_size(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) {
  // expected-error @+2 {{'eff.quantized_experts' op the hidden and intermediate sizes must be at most 2^30 - 1, got 8 and 4611686018427387904}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4611686018427387904 : i64} : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return
}
