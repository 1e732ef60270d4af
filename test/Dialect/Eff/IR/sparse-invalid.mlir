// RUN: effc-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of eff.sparse_linear's shape rules (lib/Dialect/Eff/IR/EffSparseOps.cpp,
// docs/spec/eff.md#effsparse_linear). A shape rule reports twice: the rule's message, then
// "failed to infer returned types".

func.func @nm_no_nm(%x: tensor<2x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format nm requires attributes 'n' and 'm'}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @nm_n_ge_m(%x: tensor<2x8xf32>, %v: tensor<3x8xf32>, %i: tensor<3x8xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op N:M pattern 4:4 must satisfy 1 <= N < M <= 128}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64, n = 4 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<3x8xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @nm_m_not_dividing_k(%x: tensor<2x8xf32>, %v: tensor<3x2xf32>, %i: tensor<3x2xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op M = 3 must divide in_features = 8}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64, n = 1 : i64, m = 3 : i64} : (tensor<2x8xf32>, tensor<3x2xf32>, tensor<3x2xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @nm_row_ptr(%x: tensor<2x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>, %p: tensor<4xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format nm takes no row_ptr}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i row_ptr(%p) {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>, tensor<4xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @nm_rank(%x: tensor<2x8xf32>, %v: tensor<12xf32>, %i: tensor<12xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format nm requires rank-2 values and indices, got [12] and [12]}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<12xf32>, tensor<12xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @nm_i32_indices(%x: tensor<2x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format nm requires i8 indices}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<3x4xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @nm_values_columns(%x: tensor<2x8xf32>, %v: tensor<3x6xf32>, %i: tensor<3x6xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op values [3, 6] must have K·n/m = 4 columns}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x6xf32>, tensor<3x6xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @nm_indices_shape(%x: tensor<2x8xf32>, %v: tensor<3x4xf32>, %i: tensor<2x4xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op indices [2, 4] must have the shape of values [3, 4]}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<2x4xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @nm_out_features(%x: tensor<2x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>) -> tensor<2x5xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op values store 3 rows, but out_features = 5}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 5 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>) -> tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

func.func @input_features(%x: tensor<2x6xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op input [2, 6] must have in_features = 8 features}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x6xf32>, tensor<3x4xf32>, tensor<3x4xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @in_features_positive(%x: tensor<2x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op in_features must be >= 1, got 0}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 0 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @out_features_positive(%x: tensor<2x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op out_features must be >= 1, got 0}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 0 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @bias_length(%x: tensor<2x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op bias [4] must have out_features = 3 elements}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i bias(%b) {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>, tensor<4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @csr_nm_attrs(%x: tensor<2x8xf32>, %v: tensor<5xf32>, %i: tensor<5xi32>, %p: tensor<4xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format csr takes no 'n' or 'm'}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear csr %x, %v, %i row_ptr(%p) {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x8xf32>, tensor<5xf32>, tensor<5xi32>, tensor<4xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @csr_no_row_ptr(%x: tensor<2x8xf32>, %v: tensor<5xf32>, %i: tensor<5xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format csr requires row_ptr}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear csr %x, %v, %i {in_features = 8 : i64, out_features = 3 : i64} : (tensor<2x8xf32>, tensor<5xf32>, tensor<5xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @csr_rank(%x: tensor<2x8xf32>, %v: tensor<5x1xf32>, %i: tensor<5xi32>, %p: tensor<4xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format csr requires rank-1 values and indices, got [5, 1] and [5]}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear csr %x, %v, %i row_ptr(%p) {in_features = 8 : i64, out_features = 3 : i64} : (tensor<2x8xf32>, tensor<5x1xf32>, tensor<5xi32>, tensor<4xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @csr_i8_indices(%x: tensor<2x8xf32>, %v: tensor<5xf32>, %i: tensor<5xi8>, %p: tensor<4xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format csr requires i32 indices}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear csr %x, %v, %i row_ptr(%p) {in_features = 8 : i64, out_features = 3 : i64} : (tensor<2x8xf32>, tensor<5xf32>, tensor<5xi8>, tensor<4xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @csr_lengths(%x: tensor<2x8xf32>, %v: tensor<5xf32>, %i: tensor<4xi32>, %p: tensor<4xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op indices [4] must have the length of values [5]}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear csr %x, %v, %i row_ptr(%p) {in_features = 8 : i64, out_features = 3 : i64} : (tensor<2x8xf32>, tensor<5xf32>, tensor<4xi32>, tensor<4xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @csr_empty_row_ptr(%x: tensor<2x8xf32>, %v: tensor<5xf32>, %i: tensor<5xi32>, %p: tensor<0xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op row_ptr must have N + 1 >= 1 elements}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear csr %x, %v, %i row_ptr(%p) {in_features = 8 : i64, out_features = 3 : i64} : (tensor<2x8xf32>, tensor<5xf32>, tensor<5xi32>, tensor<0xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @csr_rows(%x: tensor<2x8xf32>, %v: tensor<5xf32>, %i: tensor<5xi32>, %p: tensor<5xi32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op row_ptr store 4 rows, but out_features = 3}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear csr %x, %v, %i row_ptr(%p) {in_features = 8 : i64, out_features = 3 : i64} : (tensor<2x8xf32>, tensor<5xf32>, tensor<5xi32>, tensor<5xi32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// eff_sparse_linear_c5: int8 values.

func.func @int8_m_not_4(%x: tensor<2x16xf32>, %v: tensor<3x4xi8>, %i: tensor<3x1xi8>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op int8 values need M = 4 (2-bit indices), got 2:8}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i scales(%s) {in_features = 16 : i64, out_features = 3 : i64, n = 2 : i64, m = 8 : i64} : (tensor<2x16xf32>, tensor<3x4xi8>, tensor<3x1xi8>, tensor<3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @int8_unpacked_indices(%x: tensor<2x16xf32>, %v: tensor<3x8xi8>, %i: tensor<3x8xi8>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op indices [3, 8] of int8 values must be [N, ceil(K·n/16) = 2] (2 bits per entry)}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i scales(%s) {in_features = 16 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x16xf32>, tensor<3x8xi8>, tensor<3x8xi8>, tensor<3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @int8_without_scales(%x: tensor<2x16xf32>, %v: tensor<3x8xi8>, %i: tensor<3x2xi8>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op int8 values require scales}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 16 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x16xf32>, tensor<3x8xi8>, tensor<3x2xi8>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @f32_with_scales(%x: tensor<2x16xf32>, %v: tensor<3x8xf32>, %i: tensor<3x8xi8>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op scales require int8 values}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i scales(%s) {in_features = 16 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x16xf32>, tensor<3x8xf32>, tensor<3x8xi8>, tensor<3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @int8_scales_length(%x: tensor<2x16xf32>, %v: tensor<3x8xi8>, %i: tensor<3x2xi8>, %s: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op scales [4] must have out_features = 3 elements}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear nm %x, %v, %i scales(%s) {in_features = 16 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64} : (tensor<2x16xf32>, tensor<3x8xi8>, tensor<3x2xi8>, tensor<4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @csr_int8_values(%x: tensor<2x8xf32>, %v: tensor<5xi8>, %c: tensor<5xi32>, %p: tensor<4xi32>, %s: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'eff.sparse_linear' op format csr requires f32 values}}
  // expected-error @+1 {{'eff.sparse_linear' op failed to infer returned types}}
  %y = eff.sparse_linear csr %x, %v, %c row_ptr(%p) scales(%s) {in_features = 8 : i64, out_features = 3 : i64} : (tensor<2x8xf32>, tensor<5xi8>, tensor<5xi32>, tensor<4xi32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
