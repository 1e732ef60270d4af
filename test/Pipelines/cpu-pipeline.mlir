// RUN: effc-opt %s '--effc-cpu-pipeline=f32-linear-kernel=false' | FileCheck %s
// RUN: effc-opt %s --effc-cpu-pipeline | FileCheck %s --check-prefix=KERNEL
// RUN: effc-opt %s --effc-cpu-pipeline | FileCheck %s --check-prefix=ONLY-LLVM --implicit-check-not='{{^ *(%.+ = )?"?(eff|linalg|tensor|bufferization|memref|scf|cf|affine|vector|math|arith|func)\.}}'
// RUN: effc-opt %s '--effc-cpu-pipeline=opt-level=0' | FileCheck %s --check-prefix=O0
// RUN: effc-opt %s '--effc-cpu-pipeline=opt-level=0' | FileCheck %s --check-prefix=ONLY-LLVM --implicit-check-not='{{^ *(%.+ = )?"?(eff|linalg|tensor|bufferization|memref|scf|cf|affine|vector|math|arith|func)\.}}'

// --effc-cpu-pipeline (lib/Pipelines/Pipelines.cpp) takes eff IR to the LLVM dialect. No op of another
// dialect is left (the ONLY-LLVM runs check that after the module's first line no line starts an op of
// another dialect), each public function gets its _mlir_ciface_ wrapper, weights become LLVM globals in the
// layout the kernels stream, and parallel loops call a dispatcher that the target emitter defines.

// ONLY-LLVM: module attributes {effc.dimension_groups = {mlp = [array<i32: 0, -1>]}, effc.min_call_bytes = {mlp = 0 : i64}} {

// The [N, K] = [2, 3] weight is stored as [K, N] = [3, 2] (its values: pack-weights.mlir).
// CHECK-DAG: llvm.mlir.global private constant @{{.+}} : !llvm.array<3 x array<2 x f32>>
// CHECK-DAG: llvm.func @_mlir_memref_to_llvm_aligned_alloc(i64, i64) -> !llvm.ptr
// CHECK-DAG: llvm.func @mlp(%{{.+}}) -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> attributes {llvm.emit_c_interface}
// CHECK-DAG: llvm.func @_mlir_ciface_mlp(%{{.+}}: !llvm.ptr, %{{.+}}: !llvm.ptr) attributes {llvm.emit_c_interface}
// CHECK-DAG: llvm.call @effc_parallel_dispatch.mlp_parallel0(
// CHECK-DAG: llvm.func @mlp_parallel0({{.+}}) attributes {sym_visibility = "private"}
// CHECK-DAG: llvm.func @effc_parallel_dispatch.mlp_parallel0({{.+}}) attributes {sym_visibility = "private"}
// The contraction was vectorised and lowered to FMAs.
// CHECK-DAG: llvm.intr.fmuladd({{.+}}) : (vector<2xf32>, vector<2xf32>, vector<2xf32>) -> vector<2xf32>
// eff.name attributes are dropped from the lowered signatures.
// CHECK-NOT: eff.name

// By default the f32 linear layer calls effc_uk_linear_f32 (ukernels/panel_gemm.c) with GELU as its epilogue,
// its weight stored as one zero-padded 16-column panel [1, K = 3, 16].
// KERNEL-DAG: llvm.mlir.global private constant @{{.+}}(dense_resource<{{.+}}> : tensor<1x3x16xf32>)
// KERNEL-DAG: llvm.func @effc_uk_linear_f32(
// KERNEL:     llvm.call @effc_uk_linear_f32({{.+}}) {effc.equal_extents = array<i64: 0, 2, 1, 1>, effc.gemm_extents = array<i64: 2, 3>}
// KERNEL-NOT: llvm.intr.fmuladd

// -O0 neither tiles nor vectorises (nor calls the f32 kernel): no parallel loop, no vector FMA.
// O0-DAG: llvm.func @_mlir_ciface_mlp(
// O0-NOT: effc_parallel_dispatch
// O0-NOT: vector<

func.func @mlp(%x: tensor<?x3xf32> {eff.name = "x"}) -> (tensor<?x2xf32> {eff.name = "y"}) {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %h = eff.linear %x, %w, %b : (tensor<?x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<?x2xf32>
  %y = eff.activation gelu %h : tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
