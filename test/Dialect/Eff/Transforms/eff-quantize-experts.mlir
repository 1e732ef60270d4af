// RUN: effc-opt %s -split-input-file --eff-quantize=scheme=int8 | FileCheck %s --check-prefix=INT8
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int4:g8' | FileCheck %s --check-prefix=INT4
// RUN: effc-opt %s -split-input-file --eff-quantize=scheme=int8 | effc-opt | FileCheck %s --check-prefix=INT8

// eff-quantize on eff.experts: under int8 the stacked up/gate/down weights are packed expert by expert into
// the rows of [E, Np·Kp] i8 constants, with [E, Np] scales and column sums (Np = rows rounded up to 16,
// Kp = columns rounded up to 4), and the op becomes eff.quantized_experts; biases stay f32. Other schemes
// leave the experts in f32.

// Gated experts: E = 2, F = 4, D = 8. Up/gate: Np(4) = 16, Kp(8) = 8 -> 128 bytes per expert; down [8, 4]:
// Np(8) = 16, Kp(4) = 4 -> 64 bytes per expert. Expert 1's up row 0 is all 0.5: scale 0.5/127, every weight
// 127, column sum 8 · 127 = 1016 at row 1, column 0 of the [2, 16] sums.

// INT8-LABEL: func.func @gated
// INT8-NOT:     eff.experts
// INT8-DAG:     %[[UC:.*]] = arith.constant dense<{{\[}}[{{.*}}], [1016, {{.*}}]]> : tensor<2x16xi32>
// INT8:         eff.quantized_experts int8 %{{.*}}, %{{.*}}, %{{.*}} up(%{{.*}}, %{{.*}}, %[[UC]]) gate(%{{.*}}, %{{.*}}, %{{.*}}) down(%{{.*}}, %{{.*}}, %{{.*}}) silu {intermediate_size = 4 : i64}
// INT8-SAME:      : (tensor<?x8xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>

// INT4-LABEL: func.func @gated
// INT4:         eff.experts %{{.*}} up(%{{.*}}) gate(%{{.*}}) down(%{{.*}}) silu
// INT4-NOT:     eff.quantized_experts
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
