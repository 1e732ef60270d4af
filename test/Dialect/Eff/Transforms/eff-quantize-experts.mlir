// RUN: effc-opt %s -split-input-file --eff-quantize=scheme=int8 | FileCheck %s --check-prefix=INT8
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int4:g2' --mlir-print-elementsattrs-with-hex-if-larger=1000 \
// RUN:   | FileCheck %s --check-prefix=INT4
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int4:g2:asym' | FileCheck %s --check-prefix=ASYM
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=bf16' | FileCheck %s --check-prefix=BF16
// RUN: effc-opt %s -split-input-file --eff-quantize=scheme=int8 | effc-opt | FileCheck %s --check-prefix=INT8
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int4:g2:asym' | effc-opt | FileCheck %s --check-prefix=ASYM

// eff-quantize on eff.experts: the stacked up/gate/down weights are packed expert by expert into the rows of
// [E, ·] constants as the scheme packs a linear layer, and the op becomes eff.quantized_experts; biases stay
// f32. int8: [E, Np·Kp] i8 with [E, Np] scales and column sums (Np = rows rounded up to 16, Kp = columns
// rounded up to 4). int4 with group G: [E, Np·K/2] i8 (two weights a byte) with [E, Np·K/G] scales, and zero
// points of that shape when asymmetric. Other schemes (bf16, lut) leave the experts in f32.

// Gated experts: E = 2, F = 4, D = 8. Up/gate: Np(4) = 16, Kp(8) = 8 -> 128 bytes per expert; down [8, 4]:
// Np(8) = 16, Kp(4) = 4 -> 64 bytes per expert. Expert 1's up row 0 is all 0.5: scale 0.5/127, every weight
// 127, column sum 8 · 127 = 1016 at row 1, column 0 of the [2, 16] sums.

// INT8-LABEL: func.func @gated
// INT8-NOT:     eff.experts
// INT8-DAG:     %[[UC:.*]] = arith.constant dense<{{\[}}[{{.*}}], [1016, {{.*}}]]> : tensor<2x16xi32>
// INT8:         eff.quantized_experts int8 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}, %[[UC]]) gate(%{{.*}}, %{{.*}}, %{{.*}}) down(%{{.*}}, %{{.*}}, %{{.*}}) silu {intermediate_size = 4 : i64}
// INT8-SAME:      : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>

// int4 with G = 2: up/gate Np(4)·8/2 = 64 bytes and 16·8/2 = 64 scales per expert; down 16·4/2 = 32 of each.
// Expert 1's up row 0 is all 0.5: symmetric scale 0.5/7 in its first group (row 1, column 0 of the scales);
// expert 0's row 0 starts 0.1, -0.2: 0.2/7.
// INT4-LABEL: func.func @gated
// INT4-NOT:     eff.experts
// INT4-DAG:     %[[US:.*]] = arith.constant dense<{{\[}}[0.0285714287, {{.*}}], [0.0714285746, {{.*}}]]> : tensor<2x64xf32>
// INT4:         eff.quantized_experts int4 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %[[US]]) gate(%{{.*}}, %{{.*}}) down(%{{.*}}, %{{.*}}) silu {group_size = 2 : i64, intermediate_size = 4 : i64}
// INT4-SAME:      : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<2x64xi8>, tensor<2x64xf32>, tensor<2x64xi8>, tensor<2x64xf32>, tensor<2x32xi8>, tensor<2x32xf32>) -> tensor<?x8xf32>
// ASYM-LABEL: func.func @gated
// ASYM:         eff.quantized_experts int4 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}, zero_points %{{.*}}) gate(%{{.*}}, %{{.*}}, zero_points %{{.*}}) down(%{{.*}}, %{{.*}}, zero_points %{{.*}}) silu {group_size = 2 : i64, intermediate_size = 4 : i64}
// ASYM-SAME:      : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<2x64xi8>, tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xi8>, tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x32xi8>, tensor<2x32xf32>, tensor<2x32xf32>) -> tensor<?x8xf32>
// BF16-LABEL: func.func @gated
// BF16:         eff.experts %{{.*}} up(%{{.*}}) gate(%{{.*}}) down(%{{.*}}) silu
// BF16-NOT:     eff.quantized_experts
func.func @gated(%x: tensor<?x8xf32>, %rw: tensor<?x2xf32>, %ri: tensor<?x2xi64>) -> tensor<?x8xf32> {
  %wu = arith.constant dense<[[[0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8], [0.2, 0.1, 0.0, -0.1, -0.2, 0.3, 0.4, 0.5],
                               [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0], [0.3, 0.3, 0.3, 0.3, -0.3, -0.3, -0.3, -0.3]],
                              [[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [0.2, 0.1, 0.0, -0.1, -0.2, 0.3, 0.4, 0.5],
                               [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0], [0.3, 0.3, 0.3, 0.3, -0.3, -0.3, -0.3, -0.3]]]> : tensor<2x4x8xf32>
  %wg = arith.constant dense<0.25> : tensor<2x4x8xf32>
  %wd = arith.constant dense<-0.125> : tensor<2x8x4xf32>
  %y = eff.experts %x, %rw, %ri up(%wu) gate(%wg) down(%wd) silu
      : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Switch-style experts with biases on a [B, S, D] input (E = 3, F = 20, D = 6): Np(20) = 32, Kp(6) = 8 ->
// 256 bytes per expert for up; down [6, 20]: Np(6) = 16, Kp(20) = 20 -> 320 bytes. The biases are passed on.

// INT8-LABEL: func.func @biased
// INT8:         eff.quantized_experts int8 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}, %{{.*}}, bias %[[BU:[^)]*]]) down(%{{.*}}, %{{.*}}, %{{.*}}, bias %[[BD:[^)]*]]) gelu {intermediate_size = 20 : i64}
// INT8-SAME:      : (tensor<?x?x6xf32>, tensor<?x?x1xf32>, tensor<?x?x1xi64>, tensor<3x256xi8>, tensor<3x32xf32>, tensor<3x32xi32>, tensor<3x20xf32>, tensor<3x320xi8>, tensor<3x16xf32>, tensor<3x16xi32>, tensor<3x6xf32>) -> tensor<?x?x6xf32>
// int4 (G = 2): up Np(20)·6/2 = 96 bytes and 32·6/2 = 96 scales; down 16·20/2 = 160 of each.
// INT4-LABEL: func.func @biased
// INT4:         eff.quantized_experts int4 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}, bias %{{.*}}) down(%{{.*}}, %{{.*}}, bias %{{.*}}) gelu {group_size = 2 : i64, intermediate_size = 20 : i64}
// INT4-SAME:      : (tensor<?x?x6xf32>, tensor<?x?x1xf32>, tensor<?x?x1xi64>, tensor<3x96xi8>, tensor<3x96xf32>, tensor<3x20xf32>, tensor<3x160xi8>, tensor<3x160xf32>, tensor<3x6xf32>) -> tensor<?x?x6xf32>
// ASYM-LABEL: func.func @biased
// ASYM:         up(%{{.*}}, %{{.*}}, zero_points %{{.*}}, bias %{{.*}}) down(%{{.*}}, %{{.*}}, zero_points %{{.*}}, bias %{{.*}}) gelu
func.func @biased(%x: tensor<?x?x6xf32>, %rw: tensor<?x?x1xf32>, %ri: tensor<?x?x1xi64>) -> tensor<?x?x6xf32> {
  %wu = arith.constant dense<0.5> : tensor<3x20x6xf32>
  %bu = arith.constant dense<0.1> : tensor<3x20xf32>
  %wd = arith.constant dense<0.25> : tensor<3x6x20xf32>
  %bd = arith.constant dense<0.2> : tensor<3x6xf32>
  %y = eff.experts %x, %rw, %ri up(%wu, %bu) down(%wd, %bd) gelu
      : (tensor<?x?x6xf32>, tensor<?x?x1xf32>, tensor<?x?x1xi64>, tensor<3x20x6xf32>, tensor<3x20xf32>, tensor<3x6x20xf32>, tensor<3x6xf32>) -> tensor<?x?x6xf32>
  return %y : tensor<?x?x6xf32>
}

// -----

// Experts whose weights are not constants (run-time inputs) stay f32.

// INT8-LABEL: func.func @runtime_weights
// INT8:         eff.experts
// INT8-NOT:     eff.quantized_experts
func.func @runtime_weights(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %wu: tensor<2x4x8xf32>,
                           %wd: tensor<2x8x4xf32>) -> tensor<?x8xf32> {
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) relu
      : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
