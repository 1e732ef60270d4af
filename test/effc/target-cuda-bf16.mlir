// RUN: effc %s --quantize=bf16 --target=cuda --cuda-arch=sm_90 -o - --emit=ptx | FileCheck %s
// RUN: effc %s --quantize=bf16 --target=cuda --cuda-arch=sm_80 -o - --emit=ptx | FileCheck %s
// RUN: effc %s --quantize=bf16 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefix=HOST

// A bf16 linear layer (eff.quantized_linear) on the CUDA target launches the tensor-core GEMM of
// ukernels/cuda/mma_gemm.cu, inlined into the kernel: bf16 mma with f32 accumulation, A fragments through
// ldmatrix, the weight tiles copied with cp.async into two shared stages, activations rounded to bf16 pairs.
// CHECK:     .visible .entry linear_kernel
// CHECK-DAG: .shared .align 16 .b8 {{.*}}MmaTile{{.*}}As[20480]
// CHECK-DAG: .shared .align 16 .b8 {{.*}}MmaTile{{.*}}Bs[17408]
// CHECK-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-DAG: cp.async.cg.shared.global
// CHECK-DAG: cp.async.commit_group
// CHECK-DAG: cp.async.wait_group 0
// CHECK-DAG: cvt.rn.bf16x2.f32
// CHECK-DAG: bar.sync
// CHECK-NOT: call.uni
// CHECK-NOT: .extern .func

// The host calls no CPU micro-kernel: the layer is two launches (the tile shape chosen at run time).
// HOST-NOT: effc_uk_quantized_linear_bf16
// HOST:     gpu.binary @effc_kernels
// HOST-NOT: effc_uk_quantized_linear_bf16
func.func @linear(%x: tensor<?x?x64xf32> {eff.name = "x"}) -> (tensor<?x?x32xf32> {eff.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<32x64xf32>
  %b = arith.constant dense<0.25> : tensor<32xf32>
  %y = eff.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}
