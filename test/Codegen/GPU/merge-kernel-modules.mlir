// RUN: effc-opt %s --split-input-file --effc-gpu-merge-kernel-modules | FileCheck %s

// Two outlined modules become one, each kernel named after its module; launches follow.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:         gpu.module @effc_kernels [#nvvm.target<chip = "sm_90">] {
// CHECK:           gpu.func @main_kernel(%{{.*}}: memref<4xf32>) kernel
// CHECK:           gpu.func @main_kernel_0(%{{.*}}: memref<4xf32>) kernel
// CHECK-NOT:     gpu.module
// CHECK:         func.func @main
// CHECK:           gpu.launch_func @effc_kernels::@main_kernel blocks
// CHECK:           gpu.launch_func @effc_kernels::@main_kernel_0 blocks
module attributes {gpu.container_module} {
  gpu.module @main_kernel [#nvvm.target<chip = "sm_90">] {
    gpu.func @main_kernel(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @main_kernel_0 [#nvvm.target<chip = "sm_90">] {
    gpu.func @main_kernel(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @main(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @main_kernel::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @main_kernel_0::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
}

// -----

// A module without kernels is left as it is.
// CHECK-LABEL: func.func @no_kernels
// CHECK-NOT:     gpu.module
func.func @no_kernels() {
  return
}

// -----

// A device micro-kernel that two kernels call (gpu-kernel-outlining copied the host's declaration into both
// modules) is declared once in the merged module; the host's unused declaration goes.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:         gpu.module @effc_kernels {
// CHECK-COUNT-1:   llvm.func @effc_cuda_uk_f(i64)
// CHECK-NOT:       llvm.func @effc_cuda_uk_f
// CHECK:           gpu.func @main_kernel
// CHECK:           gpu.func @main_kernel_0
// CHECK:         }
// CHECK-NOT:     llvm.func @effc_cuda_uk_f
// CHECK:         func.func @calls
module attributes {gpu.container_module} {
  gpu.module @main_kernel {
    llvm.func @effc_cuda_uk_f(i64)
    gpu.func @main_kernel(%n: i64) kernel {
      llvm.call @effc_cuda_uk_f(%n) : (i64) -> ()
      gpu.return
    }
  }
  gpu.module @main_kernel_0 {
    llvm.func @effc_cuda_uk_f(i64)
    gpu.func @main_kernel(%n: i64) kernel {
      llvm.call @effc_cuda_uk_f(%n) : (i64) -> ()
      gpu.return
    }
  }
  llvm.func @effc_cuda_uk_f(i64)
  func.func @calls(%n: i64) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @main_kernel::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%n : i64)
    gpu.launch_func @main_kernel_0::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%n : i64)
    return
  }
}
