// RUN: effc-opt %s --effc-gpu-module-to-binary="format=ptx" -verify-diagnostics

// expected-error @+1 {{effc-gpu-module-to-binary: unknown format 'ptx' (expected isa, bin or fatbin)}}
module attributes {gpu.container_module} {
}
