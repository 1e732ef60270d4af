// RUN: effc-opt %s --effc-gpu-bf16-linear-ukernels="min-large-tiles=0" -verify-diagnostics

// expected-error @+1 {{effc-gpu-bf16-linear-ukernels: min-large-tiles must be at least 1, got 0}}
module {
}
