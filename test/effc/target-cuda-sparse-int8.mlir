// RUN: effc %s --sparsity=2:4 --quantize=int8 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s
// RUN: effc %s --sparsity=2:4 --quantize=int8 --emit=eff -o - | FileCheck %s --check-prefix=EFF
// RUN: effc %s --sparsity=2:4 --quantize=int8 --target=cuda --cuda-arch=sm_80 -o - --emit=ptx | FileCheck %s --check-prefix=PTX

// --sparsity=2:4 --quantize=int8 with --target=cuda: the layer becomes int8 sparse as on the CPU and runs on the
// device (effc-gpu-sparse-linears, docs/gpu.md): the activation rows are quantized by the dense int8 path's
// device quantizer, then the 2:4 int8 tile multiplies them with the stored weights on the sparse tensor cores
// (mma.sp m16n8k64 s8), with exact integer sums.

// EFF: eff.sparse_linear nm {{.*}} scales(
// EFF-SAME: tensor<48x16xi8>, tensor<48x4xi8>
// No host micro-kernel is called, and the host waits for the device once, before returning.
// CHECK-NOT: @effc_uk_sparse_nm_linear
// CHECK-COUNT-2: gpu.launch_func
// CHECK-COUNT-1: llvm.call @mgpuStreamSynchronize
// CHECK-NOT: @effc_uk_sparse_nm_linear
// PTX:     .visible .entry
// PTX-DAG: .shared .align 16 .b8 {{.*}}sparseSharedPool
// PTX-DAG: mul.rn.f32
// PTX-DAG: mma.sp.sync.aligned.m16n8k64.row.col.s32.s8.s8.s32
// PTX-NOT: call.uni
// PTX-NOT: .extern .func
func.func @main(%x: tensor<?x32xf32> {eff.name = "x"}) -> (tensor<?x48xf32> {eff.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<48x32xf32>
  %y = eff.linear %x, %w : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}
