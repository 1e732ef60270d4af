// RUN: effc-opt %s --pass-pipeline='builtin.module(func.func(effc-gpu-async-launches))' --verify-diagnostics

// Kernels must be outlined first: waits inserted into a gpu.launch body would run on the device.
func.func @inline_kernel() {
  %c1 = arith.constant 1 : index
  // expected-error @below {{effc-gpu-async-launches: outline kernels (gpu-kernel-outlining) before making launches asynchronous}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}
