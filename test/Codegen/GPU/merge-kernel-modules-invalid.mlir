// RUN: effc-opt %s --split-input-file --effc-gpu-merge-kernel-modules -verify-diagnostics

module attributes {gpu.container_module} {
  gpu.module @main_kernel {
    // expected-error @+1 {{effc-gpu-merge-kernel-modules: expected only gpu.func and function declarations in an outlined gpu.module, found llvm.func}}
    llvm.func @helper() {
      llvm.return
    }
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

// -----

// Two outlined modules declare the same device function with different types.
module attributes {gpu.container_module} {
  gpu.module @main_kernel {
    llvm.func @effc_cuda_uk_f(i64)
    gpu.func @main_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @main_kernel_0 {
    // expected-error @+1 {{effc-gpu-merge-kernel-modules: function effc_cuda_uk_f is declared with two types: '!llvm.func<void (i64)>' and '!llvm.func<void (i32)>'}}
    llvm.func @effc_cuda_uk_f(i32)
    gpu.func @main_kernel() kernel {
      gpu.return
    }
  }
}
