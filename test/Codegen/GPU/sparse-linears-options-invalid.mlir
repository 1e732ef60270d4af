// RUN: effc-opt %s --effc-gpu-sparse-linears="precision=tf32" -verify-diagnostics
// RUN: not effc-opt %s --effc-gpu-sparse-linears="max-gemv-rows=-1" 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not effc-opt %s --effc-gpu-sparse-linears="min-large-tiles=0" 2>&1 | FileCheck %s --check-prefix=TILES

// ROWS:  error: effc-gpu-sparse-linears: max-gemv-rows must not be negative and min-large-tiles must be at least 1, got -1 and 128
// TILES: error: effc-gpu-sparse-linears: max-gemv-rows must not be negative and min-large-tiles must be at least 1, got 8 and 0
// expected-error @+1 {{effc-gpu-sparse-linears: precision must be f32, bf16 or f16, got 'tf32'}}
module {
}
