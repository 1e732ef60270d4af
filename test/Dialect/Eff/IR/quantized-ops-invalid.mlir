// RUN: effc-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of eff.quantized_linear's rules (lib/Dialect/Eff/IR/EffQuantizedOps.cpp). Each rule
// reports twice: its message, then "failed to infer returned types".

func.func @case0(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op in_features and out_features must be >= 1, got 0 and 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 0 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

// Extents whose packed lengths would overflow int64 are refused.
func.func @case0_huge(%x: tensor<?x?xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op in_features and out_features must be at most 2^30 - 1, got 4611686018427387904 and 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 4611686018427387904 : i64, out_features = 4 : i64} : (tensor<?x?xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case1(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op input has 8 features, but in_features is 12}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 12 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case2(%x: tensor<f32>, %p: tensor<128xbf16>) {
  // expected-error @+2 {{'eff.quantized_linear' op input must have rank >= 1, got a rank-0 tensor}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear bf16 %x, %p {in_features = 8 : i64, out_features = 4 : i64} : (tensor<f32>, tensor<128xbf16>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case3(%x: tensor<?x8xf32>, %p: tensor<64xi8>, %s: tensor<16xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op scheme int4 requires attribute 'group_size'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int4 %x, %p scales(%s) {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<64xi8>, tensor<16xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case4(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op scheme int8 takes no attribute 'group_size'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {group_size = 8 : i64, in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case5(%x: tensor<?x8xf32>, %p: tensor<32xi8>, %s: tensor<32xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op scheme lut requires attribute 'bits'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear lut %x, %p scales(%s) {group_size = 8 : i64, in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<32xi8>, tensor<32xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case6(%x: tensor<?x8xf32>, %p: tensor<64xi8>, %s: tensor<16xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op only scheme lut takes attribute 'bits'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int4 %x, %p scales(%s) {bits = 2 : i64, group_size = 8 : i64, in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<64xi8>, tensor<16xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case7(%x: tensor<?x8xf32>, %p: tensor<128xbf16>) {
  // expected-error @+2 {{'eff.quantized_linear' op only scheme int8 takes static activation attributes 'input_scale' and 'input_zero_point'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear bf16 %x, %p {in_features = 8 : i64, out_features = 4 : i64, input_scale = 1.0 : f32, input_zero_point = 0 : i64} : (tensor<?x8xf32>, tensor<128xbf16>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case8(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op 'input_scale' and 'input_zero_point' go together}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64, input_scale = 1.0 : f32} : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case9(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op input_scale must be > 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64, input_scale = 0.0 : f32, input_zero_point = 0 : i64} : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case10(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op input_zero_point must be in [0, 255], got 300}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64, input_scale = 1.0 : f32, input_zero_point = 300 : i64} : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case11(%x: tensor<?x8xf32>, %p: tensor<32xi8>, %s: tensor<64xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op group_size must be a positive multiple of 8 for scheme lut, got 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear lut %x, %p scales(%s) {bits = 2 : i64, group_size = 4 : i64, in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<32xi8>, tensor<64xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case12(%x: tensor<?x8xf32>, %p: tensor<64xi8>, %s: tensor<16xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op group_size 6 does not divide in_features 8}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int4 %x, %p scales(%s) {group_size = 6 : i64, in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<64xi8>, tensor<16xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case13(%x: tensor<?x8xf32>, %p: tensor<80xi8>, %s: tensor<80xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op bits must be in [1, 4], got 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear lut %x, %p scales(%s) {bits = 5 : i64, group_size = 8 : i64, in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<80xi8>, tensor<80xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case14(%x: tensor<?x8xf32>, %p: tensor<128xi8>) {
  // expected-error @+2 {{'eff.quantized_linear' op packed weight of scheme bf16 must have element type 'bf16', got 'i8'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear bf16 %x, %p {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xi8>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case15(%x: tensor<?x8xf32>, %p: tensor<100xi8>, %s: tensor<16xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op packed has 100 elements, but scheme int8 with these features needs 128}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<100xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case16(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<16xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op scheme int8 requires operand 'column_sums'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case17(%x: tensor<?x8xf32>, %p: tensor<128xbf16>, %s: tensor<16xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op scheme bf16 takes no operand 'scales'}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear bf16 %x, %p scales(%s) {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xbf16>, tensor<16xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case18(%x: tensor<?x8xf32>, %p: tensor<128xi8>, %s: tensor<4xf32>, %cs: tensor<16xi32>) {
  // expected-error @+2 {{'eff.quantized_linear' op scales has 4 elements, but scheme int8 with these features needs 16}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%cs) {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xi8>, tensor<4xf32>, tensor<16xi32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @case19(%x: tensor<?x8xf32>, %p: tensor<128xbf16>, %b: tensor<5xf32>) {
  // expected-error @+2 {{'eff.quantized_linear' op bias has 5 elements, but out_features is 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = eff.quantized_linear bf16 %x, %p bias(%b) {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xbf16>, tensor<5xf32>) -> tensor<?x4xf32>
  return
}
