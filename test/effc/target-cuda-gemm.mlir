// RUN: effc %s --target=cuda --cuda-arch=sm_90 -o - --emit=ptx | FileCheck %s
// RUN: effc %s --target=cuda --cuda-arch=sm_80 -o - --emit=ptx | FileCheck %s

// A linear layer on the CUDA target launches the tiled GEMM micro-kernel (ukernels/cuda/gemm.cu), linked
// from effc's embedded NVPTX bitcode and inlined into the kernel: its shared-memory tiles (about 8 KiB per
// tile shape) read as float4s, its barriers, and no call left. The bias and the rest stay generic kernels.
// CHECK:     .visible .entry linear_kernel
// CHECK-DAG: .shared .align 16 .b8 {{.*}}SgemmTile{{.*}}Bs[4096]
// CHECK-DAG: ld.shared.v4
// CHECK-DAG: bar.sync
// CHECK-DAG: fma.rn.f32
// CHECK-NOT: call.uni
// CHECK-NOT: .extern .func
func.func @linear(%x: tensor<?x?x64xf32> {eff.name = "x"}) -> (tensor<?x?x32xf32> {eff.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<32x64xf32>
  %b = arith.constant dense<0.25> : tensor<32xf32>
  %y = eff.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}
