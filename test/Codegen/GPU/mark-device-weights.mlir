// RUN: effc-opt %s --effc-gpu-mark-device-weights | FileCheck %s

// Constant globals (weights) get the effc_gpu_weight. prefix, and so do their uses; mutable globals do not.
// CHECK: memref.global "private" constant @effc_gpu_weight.__constant_4xf32 : memref<4xf32> = dense<1.000000e+00>
// CHECK: memref.global "private" @state : memref<4xf32>
// CHECK-LABEL: func.func @main
// CHECK:         memref.get_global @effc_gpu_weight.__constant_4xf32 : memref<4xf32>
// CHECK:         memref.get_global @state : memref<4xf32>
memref.global "private" constant @__constant_4xf32 : memref<4xf32> = dense<1.0>
memref.global "private" @state : memref<4xf32> = uninitialized
func.func @main() -> (memref<4xf32>, memref<4xf32>) {
  %w = memref.get_global @__constant_4xf32 : memref<4xf32>
  %s = memref.get_global @state : memref<4xf32>
  return %w, %s : memref<4xf32>, memref<4xf32>
}
