// RUN: effc %s --sparsity=2:4 --quantize=int8 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s
// RUN: effc %s --sparsity=2:4 --quantize=int8 --emit=eff -o - | FileCheck %s --check-prefix=EFF

// --sparsity=2:4 --quantize=int8 with --target=cuda: the layer becomes int8 sparse as on the CPU and, like
// the other compressed linear layers (docs/gpu.md), runs on the host: it calls the int8 sparse micro-kernel
// over the managed memory the runtime hands out on a CUDA device.

// EFF: eff.sparse_linear nm {{.*}} scales(
// EFF-SAME: tensor<48x16xi8>, tensor<48x4xi8>
// CHECK-DAG: llvm.func @effc_uk_sparse_nm_linear_i8(
// CHECK-NOT: llvm.func @effc_uk_sparse_nm_linear(
func.func @main(%x: tensor<?x32xf32> {eff.name = "x"}) -> (tensor<?x48xf32> {eff.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<48x32xf32>
  %y = eff.linear %x, %w : (tensor<?x32xf32>, tensor<48x32xf32>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}
