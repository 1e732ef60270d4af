// RUN: effc-opt %s --split-input-file --effc-gpu-module-to-binary="format=isa" | FileCheck %s

// A kernel that calls a device micro-kernel: the embedded bitcode is linked and the PTX has its body.
// CHECK-LABEL: gpu.binary @effc_kernels
// CHECK-SAME:    .visible .entry k(
// CHECK-SAME:    SgemmTile
// CHECK-NOT:     .extern .func
module attributes {gpu.container_module} {
  gpu.module @effc_kernels [#nvvm.target<chip = "sm_90", features = "+ptx80">] {
    llvm.func @effc_cuda_uk_sgemm_64x64(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64)
    llvm.func @k(%n: i64, %a: !llvm.ptr, %b: !llvm.ptr, %c: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      llvm.call @effc_cuda_uk_sgemm_64x64(%n, %n, %n, %a, %n, %b, %n, %c, %n) : (i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64) -> ()
      llvm.return
    }
  }
}

// -----

// Without micro-kernels nothing is linked: only the kernel itself.
// CHECK-LABEL: gpu.binary @plain
// CHECK-SAME:    .visible .entry k(
// CHECK-NOT:     SgemmTile
module attributes {gpu.container_module} {
  gpu.module @plain [#nvvm.target<chip = "sm_80">] {
    llvm.func @k() attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
}
