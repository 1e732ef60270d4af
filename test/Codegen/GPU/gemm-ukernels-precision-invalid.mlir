// RUN: effc-opt %s --effc-gpu-gemm-ukernels="precision=f16" -verify-diagnostics

// expected-error @+1 {{effc-gpu-gemm-ukernels: precision must be f32 or bf16, got 'f16'}}
module {
}
