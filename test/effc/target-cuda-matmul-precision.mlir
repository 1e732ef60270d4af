// RUN: effc %s --target=cuda --cuda-arch=sm_90 --cuda-matmul-precision=bf16 -o - --emit=ptx | FileCheck %s
// RUN: effc %s --target=cuda --cuda-arch=sm_90 -o - --emit=ptx | FileCheck %s --check-prefix=F32
// RUN: effc %s --target=cuda --cuda-arch=sm_80 --cuda-matmul-precision=f16 -o - --emit=ptx | FileCheck %s --check-prefix=F16
// RUN: effc %s --target=cuda --cuda-arch=sm_90a --cuda-matmul-precision=bf16 -o - --emit=ptx | FileCheck %s --check-prefix=WGMMA
// RUN: effc %s --target=cuda --cuda-arch=sm_90a --cuda-matmul-precision=f16 -o %t.so
// RUN: not effc %s --target=cuda --cuda-matmul-precision=tf32 -o - --emit=ptx 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: effc %s --cuda-matmul-precision=bf16 --emit=mlir -o - | FileCheck %s --check-prefix=CPU

// --cuda-matmul-precision=bf16 (like PyTorch's set_float32_matmul_precision): an f32 linear layer runs on the
// tensor-core GEMM (operands rounded to bf16, f32 accumulation). The default f32 keeps the exact FMA GEMM.
// CHECK:     .visible .entry linear_kernel
// CHECK-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-DAG: cvt.rn.bf16x2.f32
// CHECK-NOT: call.uni
// F16:       .visible .entry linear_kernel
// F16-DAG:   mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// F16-DAG:   cvt.rn.f16x2.f32
// F16-NOT:   bf16
// On sm_90a (the only target with wgmma) the large tile is the warpgroup GEMM: K-major core matrices in shared
// memory, made visible to the async proxy, read through descriptors (the .so build runs ptxas for sm_90a).
// WGMMA:     .target sm_90a
// WGMMA-DAG: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// WGMMA-DAG: wgmma.fence.sync.aligned
// WGMMA-DAG: wgmma.commit_group.sync.aligned
// WGMMA-DAG: wgmma.wait_group.sync.aligned 0
// WGMMA-DAG: fence.proxy.async.shared::cta
// WGMMA-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// F32:       .visible .entry linear_kernel
// F32-NOT:   mma.sync
// F32:       fma.rn.f32
// UNKNOWN: effc: error: unknown CUDA matmul precision 'tf32' (expected f32, bf16 or f16)
// Other targets ignore it, like the other --cuda-* flags (so a variant's flags also build its CPU reference).
// CPU-NOT: gpu.launch
// CPU:     llvm.func @linear
func.func @linear(%x: tensor<?x?x64xf32> {eff.name = "x"}) -> (tensor<?x?x32xf32> {eff.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<32x64xf32>
  %b = arith.constant dense<0.25> : tensor<32xf32>
  %y = eff.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}
