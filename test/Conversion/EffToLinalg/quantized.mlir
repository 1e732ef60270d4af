// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg | FileCheck %s

// Lowering of eff.quantized_linear (docs/spec/eff.md#effquantized_linear) to a call of its scheme's
// micro-kernel. Activations and results are passed as [B, S, K] / [B, S, N] buffers: a [?, ?, K] activation
// as it is (no reshape, so no expand_shape of two dynamic sizes, which LLVM 22 cannot lower to memrefs), a
// matrix with a leading unit dimension.

// CHECK: func.func private @effc_uk_quantized_linear_bf16(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xbf16, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>)
// CHECK-LABEL: func.func @hidden_layout
// CHECK-NOT: expand_shape
// CHECK-NOT: collapse_shape
// CHECK: %[[B:.*]] = tensor.dim %arg0, %c0 : tensor<?x?x8xf32>
// CHECK: %[[S:.*]] = tensor.dim %arg0, %c1 : tensor<?x?x8xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%[[B]], %[[S]]) {alignment = 64 : i64} : memref<?x?x4xf32>
// CHECK: call @effc_uk_quantized_linear_bf16(
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK-NOT: expand_shape
// CHECK: return
func.func @hidden_layout(%x: tensor<?x?x8xf32>) -> tensor<?x?x4xf32> {
  %w = arith.constant dense<1.0> : tensor<128xbf16>
  %y = eff.quantized_linear bf16 %x, %w {in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x?x8xf32>, tensor<128xbf16>) -> tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @matrix
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0, 1], [2]] output_shape [1, %{{.*}}, 8] : tensor<?x8xf32> into tensor<1x?x8xf32>
// CHECK: call @effc_uk_quantized_linear_int8({{.*}}) : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?xi8, strided<[?], offset: ?>>, memref<?xi32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, i64, f32, i64, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) -> ()
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<1x?x4xf32> into tensor<?x4xf32>
func.func @matrix(%x: tensor<?x8xf32>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<1> : tensor<128xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %cs = arith.constant dense<8> : tensor<16xi32>
  %y = eff.quantized_linear int8 %x, %w scales(%s) column_sums(%cs) bias(%b) {in_features = 8 : i64, out_features = 4 : i64}
      : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
