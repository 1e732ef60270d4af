// RUN: effc-opt %s --effc-gpu-attention-ukernels="precision=tf32" -verify-diagnostics

// expected-error @+1 {{effc-gpu-attention-ukernels: precision must be f32, bf16 or f16, got 'tf32'}}
module {
}
