// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg | FileCheck %s

// Lowering of eff.sparse_linear to the micro-kernels of ukernels/sparse_gemm.c: the activation viewed as
// [B, S, K] (a [B, S, K] activation as it is, [M, K] as [1, M, K]), every operand and the result passed with
// dynamic shapes by buildUkernelCall (one declaration serves all layers), a zero bias when there is none.
// Numerics: test/e2e/test_sparsity.py.

// CHECK-LABEL: func.func private @effc_uk_sparse_nm_linear(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-LABEL: func.func @nm
// CHECK-DAG: %[[N:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[M:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[XD:.*]] = tensor.cast %arg0 : tensor<?x5x8xf32> to tensor<?x?x?xf32>
// CHECK-DAG: %[[XB:.*]] = bufferization.to_buffer %[[XD]] read_only
// CHECK-DAG: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x5x3xf32>
// CHECK-DAG: %[[OUTD:.*]] = memref.cast %[[OUT]] : memref<?x5x3xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK: call @effc_uk_sparse_nm_linear(%[[XB]], %{{.*}}, %{{.*}}, %{{.*}}, %[[N]], %[[M]], %[[OUTD]])
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable : memref<?x5x3xf32> to tensor<?x5x3xf32>
func.func @nm(%x: tensor<?x5x8xf32>, %v: tensor<3x4xf32>, %i: tensor<3x4xi8>, %b: tensor<3xf32>) -> tensor<?x5x3xf32> {
  %y = eff.sparse_linear nm %x, %v, %i bias(%b) {in_features = 8 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64}
      : (tensor<?x5x8xf32>, tensor<3x4xf32>, tensor<3x4xi8>, tensor<3xf32>) -> tensor<?x5x3xf32>
  return %y : tensor<?x5x3xf32>
}

// -----

// CHECK-LABEL: func.func private @effc_uk_sparse_csr_linear(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xi32, strided<[?], offset: ?>>, memref<?xi32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-LABEL: func.func @csr_without_bias
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0, 1], [2]] output_shape [1, 4, 8] : tensor<4x8xf32> into tensor<1x4x8xf32>
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK: %[[ZD:.*]] = tensor.cast %[[ZERO]] : tensor<3xf32> to tensor<?xf32>
// CHECK: %[[ZB:.*]] = bufferization.to_buffer %[[ZD]] read_only
// CHECK: call @effc_uk_sparse_csr_linear(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ZB]], %{{.*}})
// CHECK: %[[Y:.*]] = bufferization.to_tensor %{{.*}} restrict writable : memref<1x4x3xf32> to tensor<1x4x3xf32>
// CHECK: tensor.collapse_shape %[[Y]] {{\[\[}}0, 1], [2]] : tensor<1x4x3xf32> into tensor<4x3xf32>
func.func @csr_without_bias(%x: tensor<4x8xf32>, %v: tensor<5xf32>, %c: tensor<5xi32>, %p: tensor<4xi32>) -> tensor<4x3xf32> {
  %y = eff.sparse_linear csr %x, %v, %c row_ptr(%p) {in_features = 8 : i64, out_features = 3 : i64}
      : (tensor<4x8xf32>, tensor<5xf32>, tensor<5xi32>, tensor<4xi32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// int8 N:M: the int8 kernel, with the scales between the indices and the bias.
// CHECK-LABEL: func.func private @effc_uk_sparse_nm_linear_i8(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?x?xi8, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-LABEL: func.func @nm_int8
// CHECK-DAG: %[[N:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[M:.*]] = arith.constant 4 : i64
// CHECK: call @effc_uk_sparse_nm_linear_i8(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[N]], %[[M]], %{{.*}})
// CHECK-NOT: call @effc_uk_sparse_nm_linear(
func.func @nm_int8(%x: tensor<?x5x40xf32>, %v: tensor<3x20xi8>, %i: tensor<3x5xi8>, %b: tensor<3xf32>, %s: tensor<3xf32>) -> tensor<?x5x3xf32> {
  %y = eff.sparse_linear nm %x, %v, %i bias(%b) scales(%s) {in_features = 40 : i64, out_features = 3 : i64, n = 2 : i64, m = 4 : i64}
      : (tensor<?x5x40xf32>, tensor<3x20xi8>, tensor<3x5xi8>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x5x3xf32>
  return %y : tensor<?x5x3xf32>
}
