// RUN: effc-opt %s --convert-eff-to-linalg=fuse-epilogues=0 | FileCheck %s

// Without fused micro-kernels (as the CUDA pipeline lowers), f32 experts whose widths are multiples of 16
// keep the linalg form: weights transposed to [E, K, N], contractions per expert, no CPU micro-kernel call.

// CHECK-LABEL: func.func @experts$no_panels(
// CHECK-NOT:     effc_uk_linear_f32_panels
// CHECK-NOT:     tensor.expand_shape
// CHECK:         linalg.transpose ins(%{{.*}} : tensor<4x64x32xf32>) outs(%{{.*}} : tensor<4x32x64xf32>) permutation = [0, 2, 1]
// CHECK:         linalg.transpose ins(%{{.*}} : tensor<4x32x64xf32>) outs(%{{.*}} : tensor<4x64x32xf32>) permutation = [0, 2, 1]
// CHECK:         scf.for
// CHECK:           scf.if
// CHECK:             linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:             math.erf
// CHECK:             linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-NOT:     effc_uk_linear_f32_panels
func.func @experts$no_panels(%x: tensor<?x32xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %wu: tensor<4x64x32xf32>, %wd: tensor<4x32x64xf32>) -> tensor<?x32xf32> {
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu : (tensor<?x32xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<4x64x32xf32>, tensor<4x32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
