// RUN: effc-opt %s -split-input-file --eff-sparsify=pattern=2:4 | FileCheck %s --check-prefix=NM24
// RUN: effc-opt %s -split-input-file --eff-sparsify=pattern=1:4 | FileCheck %s --check-prefix=NM14
// RUN: effc-opt %s -split-input-file --eff-sparsify=pattern=4:8 | FileCheck %s --check-prefix=NM48
// RUN: effc-opt %s -split-input-file '--eff-sparsify=pattern=unstructured:0.5 csr-threshold=0.5' | FileCheck %s --check-prefix=CSR
// RUN: effc-opt %s -split-input-file '--eff-sparsify=pattern=unstructured:0.5 scope=global' 2>&1 | FileCheck %s --check-prefix=GLOBAL
// RUN: effc-opt %s -split-input-file '--eff-sparsify=pattern=unstructured:0.25 csr-threshold=0.5' 2>&1 | FileCheck %s --check-prefix=DENSE

// eff-sparsify (lib/Dialect/Eff/Transforms/Sparsify.cpp) on small inline weights. Numerics: test/e2e/test_sparsity.py.

// Row 0 = [1, -3, 0.5, 2 | 0.1, 0.2, -0.3, 0], row 1 = [4, 1, -1, 0.25 | 5, 6, -7, 8].
// NM24-LABEL: func @linear
// NM24-DAG: %[[B:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// NM24-DAG: %[[V:.*]] = arith.constant dense<{{\[}}[-3.000000e+00, 2.000000e+00, 2.000000e-01, -3.000000e-01], [4.000000e+00, 1.000000e+00, -7.000000e+00, 8.000000e+00]]> : tensor<2x4xf32>
// NM24-DAG: %[[I:.*]] = arith.constant dense<{{\[}}[1, 3, 1, 2], [0, 1, 2, 3]]> : tensor<2x4xi8>
// NM24: eff.sparse_linear nm %{{.*}}, %[[V]], %[[I]] bias(%[[B]]) {in_features = 8 : i64, m = 4 : i64, n = 2 : i64, out_features = 2 : i64}
// NM24-NOT: eff.linear

// NM14-LABEL: func @linear
// NM14-DAG: arith.constant dense<{{\[}}[-3.000000e+00, -3.000000e-01], [4.000000e+00, 8.000000e+00]]> : tensor<2x2xf32>
// NM14-DAG: arith.constant dense<{{\[}}[1, 2], [0, 3]]> : tensor<2x2xi8>
// NM14: eff.sparse_linear nm {{.*}} {in_features = 8 : i64, m = 4 : i64, n = 1 : i64, out_features = 2 : i64}

// NM48-LABEL: func @linear
// NM48-DAG: arith.constant dense<{{\[}}[1.000000e+00, -3.000000e+00, 5.000000e-01, 2.000000e+00], [5.000000e+00, 6.000000e+00, -7.000000e+00, 8.000000e+00]]> : tensor<2x4xf32>
// NM48-DAG: arith.constant dense<{{\[}}[0, 1, 2, 3], [4, 5, 6, 7]]> : tensor<2x4xi8>
// NM48: eff.sparse_linear nm {{.*}} {in_features = 8 : i64, m = 8 : i64, n = 4 : i64, out_features = 2 : i64}

// The 8 smallest of 16 magnitudes go (ties: lower index first; the 0 of row 0 is among them).
// CSR-LABEL: func @linear
// CSR-DAG: %[[V:.*]] = arith.constant dense<[-3.000000e+00, 2.000000e+00, 4.000000e+00, -1.000000e+00, 5.000000e+00, 6.000000e+00, -7.000000e+00, 8.000000e+00]> : tensor<8xf32>
// CSR-DAG: %[[C:.*]] = arith.constant dense<[1, 3, 0, 2, 4, 5, 6, 7]> : tensor<8xi32>
// CSR-DAG: %[[P:.*]] = arith.constant dense<[0, 2, 8]> : tensor<3xi32>
// CSR: eff.sparse_linear csr %{{.*}}, %[[V]], %[[C]] row_ptr(%[[P]]) bias(%{{.*}}) {in_features = 8 : i64, out_features = 2 : i64}

// Below csr-threshold the pruned weight stays dense, with a remark.
// DENSE: remark: 25.0% of the weight pruned to zero but kept dense: below csr-threshold 50.0%, the sparse kernel would not be faster
// DENSE-LABEL: func @linear
// DENSE: arith.constant dense<{{\[}}[1.000000e+00, -3.000000e+00, 5.000000e-01, 2.000000e+00, 0.000000e+00, 0.000000e+00, -3.000000e-01, 0.000000e+00], [4.000000e+00, 1.000000e+00, -1.000000e+00, 0.000000e+00, 5.000000e+00, 6.000000e+00, -7.000000e+00, 8.000000e+00]]> : tensor<2x8xf32>
// DENSE: eff.linear
func.func @linear(%x: tensor<?x8xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[1.0, -3.0, 0.5, 2.0, 0.1, 0.2, -0.3, 0.0], [4.0, 1.0, -1.0, 0.25, 5.0, 6.0, -7.0, 8.0]]> : tensor<2x8xf32>
  %b = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = eff.linear %x, %w, %b : (tensor<?x8xf32>, tensor<2x8xf32>, tensor<2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A plain FFN is split into linear, activation, linear, and both linears are sparsified; a weight that is
// not a constant (an argument) is left alone.
// NM24-LABEL: func @ffn_and_argument_weight
// NM24: %[[UP:.*]] = eff.sparse_linear nm %arg0, {{.*}} {in_features = 8 : i64, m = 4 : i64, n = 2 : i64, out_features = 8 : i64}
// NM24: %[[H:.*]] = eff.activation gelu %[[UP]] : tensor<3x8xf32>
// NM24: %[[DOWN:.*]] = eff.sparse_linear nm %[[H]], {{.*}} {in_features = 8 : i64, m = 4 : i64, n = 2 : i64, out_features = 8 : i64}
// NM24-NOT: eff.ffn
// NM24: eff.linear %[[DOWN]], %arg1
func.func @ffn_and_argument_weight(%x: tensor<3x8xf32>, %w: tensor<8x8xf32>) -> tensor<3x8xf32> {
  %up = arith.constant dense<[[-4.0, -2.5, -1.0, 0.5, 2.0, 3.5, -3.5, -2.0], [-0.5, 1.0, 2.5, 4.0, -3.0, -1.5, 0.0, 1.5], [3.0, -4.0, -2.5, -1.0, 0.5, 2.0, 3.5, -3.5], [-2.0, -0.5, 1.0, 2.5, 4.0, -3.0, -1.5, 0.0], [1.5, 3.0, -4.0, -2.5, -1.0, 0.5, 2.0, 3.5], [-3.5, -2.0, -0.5, 1.0, 2.5, 4.0, -3.0, -1.5], [0.0, 1.5, 3.0, -4.0, -2.5, -1.0, 0.5, 2.0], [3.5, -3.5, -2.0, -0.5, 1.0, 2.5, 4.0, -3.0]]> : tensor<8x8xf32>
  %down = arith.constant dense<[[-3.0, 2.0, 0.5, -1.0, -2.5, 2.5, 1.0, -0.5], [-2.0, 3.0, 1.5, 0.0, -1.5, -3.0, 2.0, 0.5], [-1.0, -2.5, 2.5, 1.0, -0.5, -2.0, 3.0, 1.5], [0.0, -1.5, -3.0, 2.0, 0.5, -1.0, -2.5, 2.5], [1.0, -0.5, -2.0, 3.0, 1.5, 0.0, -1.5, -3.0], [2.0, 0.5, -1.0, -2.5, 2.5, 1.0, -0.5, -2.0], [3.0, 1.5, 0.0, -1.5, -3.0, 2.0, 0.5, -1.0], [-2.5, 2.5, 1.0, -0.5, -2.0, 3.0, 1.5, 0.0]]> : tensor<8x8xf32>
  %h = eff.ffn %x up(%up) down(%down) gelu : (tensor<3x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<3x8xf32>
  %y = eff.linear %h, %w : (tensor<3x8xf32>, tensor<8x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// A gated FFN becomes up and gate linears, eff.glu, and the down linear.
// NM24-LABEL: func @gated_ffn
// NM24: %[[UP:.*]] = eff.sparse_linear nm %arg0, {{.*}} bias
// NM24: %[[GATE:.*]] = eff.sparse_linear nm %arg0,
// NM24: %[[H:.*]] = eff.glu silu %[[GATE]], %[[UP]] : tensor<3x8xf32>
// NM24: eff.sparse_linear nm %[[H]],
func.func @gated_ffn(%x: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %up = arith.constant dense<[[-4.0, -2.5, -1.0, 0.5, 2.0, 3.5, -3.5, -2.0], [-0.5, 1.0, 2.5, 4.0, -3.0, -1.5, 0.0, 1.5], [3.0, -4.0, -2.5, -1.0, 0.5, 2.0, 3.5, -3.5], [-2.0, -0.5, 1.0, 2.5, 4.0, -3.0, -1.5, 0.0], [1.5, 3.0, -4.0, -2.5, -1.0, 0.5, 2.0, 3.5], [-3.5, -2.0, -0.5, 1.0, 2.5, 4.0, -3.0, -1.5], [0.0, 1.5, 3.0, -4.0, -2.5, -1.0, 0.5, 2.0], [3.5, -3.5, -2.0, -0.5, 1.0, 2.5, 4.0, -3.0]]> : tensor<8x8xf32>
  %bu = arith.constant dense<[0.5, -0.5, 0.25, 1.0, 2.0, -2.0, 0.0, 1.5]> : tensor<8xf32>
  %gate = arith.constant dense<[[-2.25, 0.25, -2.00, 0.50, -1.75, 0.75, -1.50, 1.00], [-1.25, 1.25, -1.00, 1.50, -0.75, 1.75, -0.50, 2.00], [-0.25, 2.25, 0.00, -2.25, 0.25, -2.00, 0.50, -1.75], [0.75, -1.50, 1.00, -1.25, 1.25, -1.00, 1.50, -0.75], [1.75, -0.50, 2.00, -0.25, 2.25, 0.00, -2.25, 0.25], [-2.00, 0.50, -1.75, 0.75, -1.50, 1.00, -1.25, 1.25], [-1.00, 1.50, -0.75, 1.75, -0.50, 2.00, -0.25, 2.25], [0.00, -2.25, 0.25, -2.00, 0.50, -1.75, 0.75, -1.50]]> : tensor<8x8xf32>
  %down = arith.constant dense<[[-3.0, 2.0, 0.5, -1.0, -2.5, 2.5, 1.0, -0.5], [-2.0, 3.0, 1.5, 0.0, -1.5, -3.0, 2.0, 0.5], [-1.0, -2.5, 2.5, 1.0, -0.5, -2.0, 3.0, 1.5], [0.0, -1.5, -3.0, 2.0, 0.5, -1.0, -2.5, 2.5], [1.0, -0.5, -2.0, 3.0, 1.5, 0.0, -1.5, -3.0], [2.0, 0.5, -1.0, -2.5, 2.5, 1.0, -0.5, -2.0], [3.0, 1.5, 0.0, -1.5, -3.0, 2.0, 0.5, -1.0], [-2.5, 2.5, 1.0, -0.5, -2.0, 3.0, 1.5, 0.0]]> : tensor<8x8xf32>
  %y = eff.ffn %x up(%up, %bu) gate(%gate) down(%down) silu : (tensor<3x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// -----

// Global scope ranks the magnitudes of both weights together: of the 40 smallest of 80, the small weight %a
// loses all 16 (an all-zero CSR matrix), the large %b its 24 smallest (three rows), which leaves it 37.5%
// sparse: below the default csr-threshold (60%), so it stays a dense eff.linear. Per layer each would lose half.
// GLOBAL: remark: 37.5% of the weight pruned to zero but kept dense: below csr-threshold 60.0%, the sparse kernel would not be faster
// GLOBAL-LABEL: func @global_scope
// GLOBAL: %[[PA:.*]] = arith.constant dense<0> : tensor<3xi32>
// GLOBAL: eff.sparse_linear csr %arg0, {{.*}} row_ptr(%[[PA]]) {in_features = 8 : i64, out_features = 2 : i64} : (tensor<1x8xf32>, tensor<0xf32>, tensor<0xi32>, tensor<3xi32>)
// GLOBAL: %[[B:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00,
// GLOBAL-SAME: [2.500000e+02, 2.600000e+02,
// GLOBAL: eff.linear %arg1, %[[B]]
func.func @global_scope(%x: tensor<1x8xf32>, %h: tensor<1x8xf32>) -> (tensor<1x2xf32>, tensor<1x8xf32>) {
  %a = arith.constant dense<[[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]]> : tensor<2x8xf32>
  %b = arith.constant dense<[[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0], [90.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 160.0], [170.0, 180.0, 190.0, 200.0, 210.0, 220.0, 230.0, 240.0], [250.0, 260.0, 270.0, 280.0, 290.0, 300.0, 310.0, 320.0], [330.0, 340.0, 350.0, 360.0, 370.0, 380.0, 390.0, 400.0], [410.0, 420.0, 430.0, 440.0, 450.0, 460.0, 470.0, 480.0], [490.0, 500.0, 510.0, 520.0, 530.0, 540.0, 550.0, 560.0], [570.0, 580.0, 590.0, 600.0, 610.0, 620.0, 630.0, 640.0]]> : tensor<8x8xf32>
  %y = eff.linear %x, %a : (tensor<1x8xf32>, tensor<2x8xf32>) -> tensor<1x2xf32>
  %z = eff.linear %h, %b : (tensor<1x8xf32>, tensor<8x8xf32>) -> tensor<1x8xf32>
  return %y, %z : tensor<1x2xf32>, tensor<1x8xf32>
}
