// RUN: effc-opt %s --split-input-file --effc-gpu-merge-kernel-modules -verify-diagnostics

module attributes {gpu.container_module} {
  gpu.module @main_kernel {
    // expected-error @+1 {{effc-gpu-merge-kernel-modules: expected only gpu.func in an outlined gpu.module, found llvm.func}}
    llvm.func @helper()
    gpu.func @main_kernel() kernel {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  // expected-error @+1 {{effc-gpu-merge-kernel-modules: the module already has a gpu.module @effc_kernels}}
  gpu.module @effc_kernels {
    gpu.func @k() kernel {
      gpu.return
    }
  }
}
