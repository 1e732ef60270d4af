// RUN: effc-opt %s --effc-gpu-attention-ukernels="decode-max-rows=-1" -verify-diagnostics

// expected-error @+1 {{effc-gpu-attention-ukernels: decode-max-rows must be at least 0, got -1}}
module {
}
