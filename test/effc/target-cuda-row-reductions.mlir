// RUN: effc %s --target=cuda --cuda-arch=sm_90 -o - --emit=ptx | FileCheck %s
// RUN: effc %s --target=cuda --cuda-arch=sm_80 -o - --emit=ptx | FileCheck %s

// On the CUDA target the row reductions of layer norm (mean, variance), RMS norm (sum of squares) and
// softmax (maximum, sum) run as one warp per row (effc-gpu-row-reductions): each reduces its row with a
// butterfly of five warp shuffles, five reductions in all.
// CHECK-COUNT-25: shfl.sync.bfly.b32
// CHECK-NOT:      shfl.sync.bfly.b32
func.func @rows(%x: tensor<?x?x64xf32> {eff.name = "x"}, %s: tensor<?x4x16x16xf32> {eff.name = "s"})
    -> (tensor<?x?x64xf32> {eff.name = "ln"}, tensor<?x?x64xf32> {eff.name = "rms"},
        tensor<?x4x16x16xf32> {eff.name = "p"}) {
  %g = arith.constant dense<1.5> : tensor<64xf32>
  %b = arith.constant dense<0.25> : tensor<64xf32>
  %ln = eff.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %rms = eff.rms_norm %x, %g {epsilon = 1.0e-06 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %p = eff.softmax %s {axis = -1 : i64} : tensor<?x4x16x16xf32>
  return %ln, %rms, %p : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x4x16x16xf32>
}
