// RUN: effc-opt %s --effc-gpu-gemm-ukernels="precision=tf32" -verify-diagnostics

// expected-error @+1 {{effc-gpu-gemm-ukernels: precision must be f32, bf16 or f16, got 'tf32'}}
module {
}
