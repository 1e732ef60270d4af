// RUN: effc %s --sparsity=2:4 --target=cuda --cuda-arch=sm_80 -o - --emit=ptx | FileCheck %s --check-prefix=F32
// RUN: effc %s --sparsity=2:4 --target=cuda --cuda-arch=sm_90 --cuda-matmul-precision=bf16 -o - --emit=ptx | FileCheck %s --check-prefix=MMA
// RUN: effc %s --sparsity=2:4 --target=cuda --cuda-arch=sm_80 --cuda-matmul-precision=f16 -o - --emit=ptx | FileCheck %s --check-prefix=F16MMA
// RUN: effc %s --sparsity=2:4 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefix=HOST
// RUN: effc %s --sparsity=unstructured:0.7 --target=cuda --cuda-arch=sm_90 -o - --emit=ptx | FileCheck %s --check-prefix=CSR
// RUN: effc %s --sparsity=unstructured:0.7 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefix=HOST

// N:M sparse linear layers on the CUDA target run on the device (effc-gpu-sparse-linears, docs/gpu.md): exact f32
// kernels that read only the stored weights and, with --cuda-matmul-precision=bf16, 2:4 on the sparse tensor
// cores (mma.sp). The micro-kernels are inlined (no call).
// F32:     .visible .entry
// F32-DAG: .shared .align 16 .b8 {{.*}}sparseSharedPool
// F32-DAG: shfl.sync.bfly.b32
// F32-NOT: mma.sp
// F32-NOT: call.uni
// F32-NOT: .extern .func
// MMA:     .visible .entry
// MMA-DAG: mma.sp.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32
// MMA-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// MMA-NOT: call.uni
// MMA-NOT: .extern .func
// F16MMA:     .visible .entry
// F16MMA-DAG: mma.sp.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32
// F16MMA-DAG: cvt.rn.f16x2.f32
// F16MMA-NOT: bf16
// Unstructured sparsity (CSR) takes the warp-per-row kernel: shuffles, no shared memory.
// CSR:     .visible .entry
// CSR:     shfl.sync.bfly.b32
// CSR-NOT: .shared
// CSR-NOT: call.uni
// No host micro-kernel is called, and the host waits for the device once, before returning.
// HOST-NOT:  @effc_uk_sparse_
// HOST-COUNT-1: gpu.launch_func
// HOST-COUNT-1: llvm.call @mgpuStreamSynchronize
// HOST-NOT:  @effc_uk_sparse_
func.func @linear(%x: tensor<?x?x64xf32> {eff.name = "x"}) -> (tensor<?x?x48xf32> {eff.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<48x64xf32>
  %b = arith.constant dense<0.25> : tensor<48xf32>
  %y = eff.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<48x64xf32>, tensor<48xf32>) -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}
