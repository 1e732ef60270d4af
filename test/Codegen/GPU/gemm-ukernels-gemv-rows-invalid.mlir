// RUN: effc-opt %s --effc-gpu-gemm-ukernels="max-gemv-rows=9" -verify-diagnostics

// The GEMV's blocks hold 8 rows of A; more belong to the tiles.
// expected-error @+1 {{effc-gpu-gemm-ukernels: max-gemv-rows must be between 0 and 8, got 9}}
module {
}
