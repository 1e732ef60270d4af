// RUN: effc-opt %s --effc-gpu-quantized-linears="max-gemv-rows=-1" -verify-diagnostics

// expected-error @+1 {{effc-gpu-quantized-linears: max-gemv-rows must not be negative, got -1}}
module {
}
