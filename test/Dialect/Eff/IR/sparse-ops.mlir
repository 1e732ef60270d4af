// RUN: effc-opt %s -split-input-file | effc-opt -split-input-file | FileCheck %s
// RUN: effc-opt %s -split-input-file -mlir-print-op-generic | effc-opt -split-input-file | FileCheck %s

// Round trip of eff.sparse_linear in both formats, with and without bias, static and dynamic token dimensions.

// CHECK-LABEL: func @sparse_linear_nm
// CHECK: eff.sparse_linear nm %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) {in_features = 8 : i64, m = 4 : i64, n = 2 : i64, out_features = 3 : i64} : (tensor<?x5x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>, tensor<3xf32>) -> tensor<?x5x3xf32>
func.func @sparse_linear_nm(%x: tensor<?x5x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>, %b: tensor<3xf32>) -> tensor<?x5x3xf32> {
  %y = eff.sparse_linear nm %x, %v, %i bias(%b) {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64}
      : (tensor<?x5x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>, tensor<3xf32>) -> tensor<?x5x3xf32>
  return %y : tensor<?x5x3xf32>
}

// -----

// CHECK-LABEL: func @sparse_linear_nm_1_8_no_bias
// CHECK: eff.sparse_linear nm %{{.*}}, %{{.*}}, %{{.*}} {in_features = 16 : i64, m = 8 : i64, n = 1 : i64, out_features = 2 : i64} : (tensor<4x16xf32>, tensor<2x2xf32>, tensor<2x2xi8>) -> tensor<4x2xf32>
func.func @sparse_linear_nm_1_8_no_bias(%x: tensor<4x16xf32>, %v: tensor<2x2xf32>, %i: tensor<2x2xi8>) -> tensor<4x2xf32> {
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 16 : i64, out_features = 2 : i64, n = 1 : i64, m = 8 : i64}
      : (tensor<4x16xf32>, tensor<2x2xf32>, tensor<2x2xi8>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// CHECK-LABEL: func @sparse_linear_csr
// CHECK: eff.sparse_linear csr %{{.*}}, %{{.*}}, %{{.*}} row_ptr(%{{.*}}) bias(%{{.*}}) {in_features = 8 : i64, out_features = 3 : i64} : (tensor<?x8xf32>, tensor<5xf32>, tensor<5xi32>, tensor<4xi32>, tensor<3xf32>) -> tensor<?x3xf32>
func.func @sparse_linear_csr(%x: tensor<?x8xf32>, %v: tensor<5xf32>, %c: tensor<5xi32>, %p: tensor<4xi32>, %b: tensor<3xf32>) -> tensor<?x3xf32> {
  %y = eff.sparse_linear csr %x, %v, %c row_ptr(%p) bias(%b) {in_features = 8 : i64, out_features = 3 : i64}
      : (tensor<?x8xf32>, tensor<5xf32>, tensor<5xi32>, tensor<4xi32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// int8 N:M (m = 4): int8 values, 2-bit indices [N, ceil(K·n/16)], per-row scales.
// CHECK-LABEL: func @sparse_linear_nm_int8
// CHECK: eff.sparse_linear nm %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) scales(%{{.*}}) {in_features = 40 : i64, m = 4 : i64, n = 2 : i64, out_features = 3 : i64} : (tensor<?x40xf32>, tensor<3x20xi8>, tensor<3x5xi8>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
func.func @sparse_linear_nm_int8(%x: tensor<?x40xf32>, %v: tensor<3x20xi8>, %i: tensor<3x5xi8>, %b: tensor<3xf32>, %s: tensor<3xf32>) -> tensor<?x3xf32> {
  %y = eff.sparse_linear nm %x, %v, %i bias(%b) scales(%s) {in_features = 40 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64}
      : (tensor<?x40xf32>, tensor<3x20xi8>, tensor<3x5xi8>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// 1:4 without bias: 7 stored entries per row take ceil(7/4) = 2 index bytes.
// CHECK-LABEL: func @sparse_linear_nm_int8_1_4
// CHECK: eff.sparse_linear nm %{{.*}}, %{{.*}}, %{{.*}} scales(%{{.*}}) {in_features = 28 : i64, m = 4 : i64, n = 1 : i64, out_features = 2 : i64} : (tensor<5x28xf32>, tensor<2x7xi8>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<5x2xf32>
func.func @sparse_linear_nm_int8_1_4(%x: tensor<5x28xf32>, %v: tensor<2x7xi8>, %i: tensor<2x2xi8>, %s: tensor<2xf32>) -> tensor<5x2xf32> {
  %y = eff.sparse_linear nm %x, %v, %i scales(%s) {in_features = 28 : i64, out_features = 2 : i64, n = 1 : i64, m = 4 : i64}
      : (tensor<5x28xf32>, tensor<2x7xi8>, tensor<2x2xi8>, tensor<2xf32>) -> tensor<5x2xf32>
  return %y : tensor<5x2xf32>
}
