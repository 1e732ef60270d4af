// RUN: effc-opt %s --effc-gpu-map-parallel-loops="block-size=48" -verify-diagnostics

// expected-error @+1 {{effc-gpu-map-parallel-loops: block-size must be a power of two from 32 to 1024, not 48}}
func.func @bad_block_size() {
  return
}
