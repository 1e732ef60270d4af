// RUN: effc-opt %s --convert-eff-to-linalg="fused-attention-max-head-dim=-1" -verify-diagnostics

// expected-error @+1 {{convert-eff-to-linalg: fused-attention-max-head-dim must be at least 0, got -1}}
module {
}
