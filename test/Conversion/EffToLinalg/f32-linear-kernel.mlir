// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg="f32-linear-kernel=true" | FileCheck %s
// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg | FileCheck %s --check-prefix=GENERATED

// With f32-linear-kernel, f32 linear layers with compile-time weights call effc_uk_linear_f32
// (ukernels/panel_gemm.c): x as [B, S, K], the [N, K] weight as 16-column panels [ceil(N/16), K, 16] (a zero
// pad to a multiple of 16, a reshape and a transpose, which effc-pack-weights folds into the constant), the
// bias, has_bias, a residual ([1, 1, 1] placeholder when none) and the epilogue flags (activation code of
// ukernels/epilogue.h, plus 16 for the residual). Without the option they are linalg contractions.

// N = 40: padded to 48, 3 panels. GELU (code 2) is the epilogue; the call records the GEMM's [N, K].
// CHECK-LABEL: func.func @gelu(
// CHECK:         %[[W:.+]] = arith.constant dense<5.000000e-01> : tensor<40x8xf32>
// CHECK:         %[[PAD:.+]] = tensor.pad %[[W]] low[0, 0] high[8, 0]
// CHECK:         tensor<40x8xf32> to tensor<48x8xf32>
// CHECK:         %[[SPLIT:.+]] = tensor.expand_shape %[[PAD]] {{\[\[}}0, 1], [2]] output_shape [3, 16, 8] : tensor<48x8xf32> into tensor<3x16x8xf32>
// CHECK:         %[[PANELS:.+]] = linalg.transpose ins(%[[SPLIT]] : tensor<3x16x8xf32>) outs(%{{.+}} : tensor<3x8x16xf32>) permutation = [0, 2, 1]
// CHECK-DAG:     %[[FLAGS:.+]] = arith.constant 2 : i64
// CHECK-DAG:     %[[HAS_BIAS:.+]] = arith.constant 1 : i64
// CHECK:         call @effc_uk_linear_f32(%{{.+}}, %{{.+}}, %{{.+}}, %[[HAS_BIAS]], %{{.+}}, %[[FLAGS]], %{{.+}}) {effc.equal_extents = array<i64: 0, 2, 1, 1>, effc.gemm_extents = array<i64: 40, 8>}
// CHECK-NOT:     linalg.generic
// CHECK:         return
// GENERATED-LABEL: func.func @gelu(
// GENERATED-NOT:     call
// GENERATED:         linalg.generic
// GENERATED:           math.erf
func.func @gelu(%x: tensor<?x?x8xf32>, %b: tensor<40xf32>) -> tensor<?x?x40xf32> {
  %w = arith.constant dense<0.5> : tensor<40x8xf32>
  %y = eff.linear %x, %w, %b : (tensor<?x?x8xf32>, tensor<40x8xf32>, tensor<40xf32>) -> tensor<?x?x40xf32>
  %a = eff.activation gelu %y : tensor<?x?x40xf32>
  return %a : tensor<?x?x40xf32>
}

// -----

// SiLU (4) then the residual (16); the residual's rows are tied to x's. No bias: has_bias 0.
// CHECK-LABEL: func.func @silu_residual(
// CHECK-DAG:     %[[FLAGS:.+]] = arith.constant 20 : i64
// CHECK-DAG:     %[[NO_BIAS:.+]] = arith.constant 0 : i64
// CHECK:         call @effc_uk_linear_f32(%{{.+}}, %{{.+}}, %{{.+}}, %[[NO_BIAS]], %{{.+}}, %[[FLAGS]], %{{.+}}) {effc.equal_extents = array<i64: 0, 2, 1, 1, 0, 0, 4, 0, 0, 1, 4, 1>
// CHECK-NOT:     linalg.generic
func.func @silu_residual(%x: tensor<?x?x16xf32>, %r: tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
  %w = arith.constant dense<0.25> : tensor<16x16xf32>
  %y = eff.linear %x, %w : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
  %a = eff.activation silu %y : tensor<?x?x16xf32>
  %s = eff.add %r, %a : tensor<?x?x16xf32>
  return %s : tensor<?x?x16xf32>
}

// -----

// An FFN: the up projection applies GELU in its kernel, the down projection has none (no pad: N = 16, 32).
// CHECK-LABEL: func.func @ffn(
// CHECK:         call @effc_uk_linear_f32({{.+}}) {effc.equal_extents = array<i64: 0, 2, 1, 1>, effc.gemm_extents = array<i64: 32, 16>}
// CHECK:         call @effc_uk_linear_f32({{.+}}) {effc.equal_extents = array<i64: 0, 2, 1, 1>, effc.gemm_extents = array<i64: 16, 32>}
// CHECK-NOT:     tensor.pad
// CHECK-NOT:     linalg.generic
func.func @ffn(%x: tensor<2x5x16xf32>) -> tensor<2x5x16xf32> {
  %up = arith.constant dense<0.1> : tensor<32x16xf32>
  %down = arith.constant dense<0.2> : tensor<16x32xf32>
  %y = eff.ffn %x up(%up) down(%down) gelu : (tensor<2x5x16xf32>, tensor<32x16xf32>, tensor<16x32xf32>) -> tensor<2x5x16xf32>
  return %y : tensor<2x5x16xf32>
}

// -----

// A weight that is a public function's argument is not known at compile time: it stays [N, K], read by a
// linalg contraction, with no kernel call and no run-time repacking.
// CHECK-LABEL: func.func @runtime_weight(
// CHECK-NOT:     call @effc_uk_linear_f32
// CHECK:         linalg.transpose
// CHECK:         linalg.generic
func.func @runtime_weight(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %y = eff.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// One static row (a decode step's GEMV) stays generated code, which streams the weights faster; two rows
// already call the kernel.
// CHECK-LABEL: func.func @one_row(
// CHECK-NOT:     call @effc_uk_linear_f32
// CHECK:         linalg.generic
// CHECK-LABEL: func.func @two_rows(
// CHECK:         call @effc_uk_linear_f32
func.func @one_row(%x: tensor<1x1x8xf32>) -> tensor<1x1x16xf32> {
  %w = arith.constant dense<0.5> : tensor<16x8xf32>
  %y = eff.linear %x, %w : (tensor<1x1x8xf32>, tensor<16x8xf32>) -> tensor<1x1x16xf32>
  return %y : tensor<1x1x16xf32>
}
func.func @two_rows(%x: tensor<2x1x8xf32>) -> tensor<2x1x16xf32> {
  %w = arith.constant dense<0.5> : tensor<16x8xf32>
  %y = eff.linear %x, %w : (tensor<2x1x8xf32>, tensor<16x8xf32>) -> tensor<2x1x16xf32>
  return %y : tensor<2x1x16xf32>
}
