// RUN: effc-opt %s -split-input-file --eff-quantize="scheme=int8" | FileCheck %s
// RUN: effc-opt %s -split-input-file --eff-quantize="scheme=int4" | FileCheck %s --check-prefix=INT4

// eff-quantize on N:M eff.sparse_linear (docs/spec/eff.md#effsparse_linear): under int8, M = 4 layers get
// int8 values (per row, scale max|v| / 127, round half to even), 2-bit indices four to a byte (entry c in
// bits 2·(c % 4) of byte c / 4) and f32 scales; other patterns and other schemes leave them f32.
// Row 0: 1 / (4/127) = 31.75 -> 32, -2 / (4/127) = -63.5 -> -64 (half to even), 0.5 -> 15.875 -> 16, 4 -> 127;
// indices 0, 3, 1, 2 -> 0 | 3 << 2 | 1 << 4 | 2 << 6 = 156 = -100 as i8. Row 1 is zero: scale 1;
// indices 0, 1, 2, 3 -> 228 = -28.

// CHECK-LABEL: func.func @nm24
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, -1.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[Q:.*]] = arith.constant dense<{{\[\[}}32, -64, 16, 127], [0, 0, 0, 0]]> : tensor<2x4xi8>
// CHECK-DAG: %[[I:.*]] = arith.constant dense<{{\[\[}}-100], [-28]]> : tensor<2x1xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[0.0314960629, 1.000000e+00]> : tensor<2xf32>
// CHECK: eff.sparse_linear nm %arg0, %[[Q]], %[[I]] bias(%[[B]]) scales(%[[S]]) {in_features = 8 : i64, m = 4 : i64, n = 2 : i64, out_features = 2 : i64} : (tensor<?x8xf32>, tensor<2x4xi8>, tensor<2x1xi8>, tensor<2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
// INT4-LABEL: func.func @nm24
// INT4: eff.sparse_linear nm %arg0, %{{.*}}, %{{.*}} bias(%{{.*}}) {{{.*}}} : (tensor<?x8xf32>, tensor<2x4xf32>, tensor<2x4xi8>, tensor<2xf32>) -> tensor<?x2xf32>
func.func @nm24(%x: tensor<?x8xf32>) -> tensor<?x2xf32> {
  %v = arith.constant dense<[[1.0, -2.0, 0.5, 4.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %i = arith.constant dense<[[0, 3, 1, 2], [0, 1, 2, 3]]> : tensor<2x4xi8>
  %b = arith.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %y = eff.sparse_linear nm %x, %v, %i bias(%b) {in_features = 8 : i64, out_features = 2 : i64, n = 2 : i64, m = 4 : i64}
      : (tensor<?x8xf32>, tensor<2x4xf32>, tensor<2x4xi8>, tensor<2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// 1:4 with K = 20: five entries per row take two index bytes, the last with one entry (3 = 3).
// Scale 2/127: 2 -> 127, -1 -> -63.5 -> -64, 0.25 -> 15.875 -> 16, 0.5 -> 31.75 -> 32, -2 -> -127.
// Indices 1, 2, 0, 3, 3 -> 1 | 2 << 2 | 0 << 4 | 3 << 6 = 201 = -55, then 3.
// CHECK-LABEL: func.func @nm14_partial_index_byte
// CHECK-DAG: arith.constant dense<{{\[\[}}127, -64, 16, 32, -127]]> : tensor<1x5xi8>
// CHECK-DAG: arith.constant dense<{{\[\[}}-55, 3]]> : tensor<1x2xi8>
// CHECK-DAG: arith.constant dense<0.0157480314> : tensor<1xf32>
// CHECK: eff.sparse_linear nm %arg0, %{{.*}}, %{{.*}} scales(%{{.*}}) {{{.*}}n = 1 : i64{{.*}}} : (tensor<3x20xf32>, tensor<1x5xi8>, tensor<1x2xi8>, tensor<1xf32>) -> tensor<3x1xf32>
func.func @nm14_partial_index_byte(%x: tensor<3x20xf32>) -> tensor<3x1xf32> {
  %v = arith.constant dense<[[2.0, -1.0, 0.25, 0.5, -2.0]]> : tensor<1x5xf32>
  %i = arith.constant dense<[[1, 2, 0, 3, 3]]> : tensor<1x5xi8>
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 20 : i64, out_features = 1 : i64, n = 1 : i64, m = 4 : i64}
      : (tensor<3x20xf32>, tensor<1x5xf32>, tensor<1x5xi8>) -> tensor<3x1xf32>
  return %y : tensor<3x1xf32>
}

// -----

// 4:8 has no int8 form (its indices need 3 bits): it stays f32.
// CHECK-LABEL: func.func @nm48_stays_f32
// CHECK: eff.sparse_linear nm %arg0, %{{.*}}, %{{.*}} {{{.*}}} : (tensor<2x8xf32>, tensor<1x4xf32>, tensor<1x4xi8>) -> tensor<2x1xf32>
// CHECK-NOT: scales(
func.func @nm48_stays_f32(%x: tensor<2x8xf32>) -> tensor<2x1xf32> {
  %v = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %i = arith.constant dense<[[0, 2, 5, 7]]> : tensor<1x4xi8>
  %y = eff.sparse_linear nm %x, %v, %i {in_features = 8 : i64, out_features = 1 : i64, n = 4 : i64, m = 8 : i64}
      : (tensor<2x8xf32>, tensor<1x4xf32>, tensor<1x4xi8>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}
