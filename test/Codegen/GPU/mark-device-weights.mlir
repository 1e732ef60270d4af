// RUN: effc-opt %s --split-input-file --effc-gpu-mark-device-weights | FileCheck %s

// A weight that only a kernel reads: the kernel's operand comes from the device copy, and the original,
// left without uses, is erased. Mutable globals are not weights.
// CHECK-NOT: memref.global "private" constant @kernel_only
// CHECK:     memref.global "private" constant @effc_gpu_weight.kernel_only : memref<4xf32> = dense<1.000000e+00>
// CHECK:     memref.global "private" @state : memref<4xf32>
// CHECK-LABEL: func.func @kernel_only_fn
// CHECK:         %[[S:.*]] = memref.get_global @state
// CHECK:         %[[D:.*]] = memref.get_global @effc_gpu_weight.kernel_only
// CHECK-NEXT:    gpu.launch
// CHECK:           memref.load %[[D]]
// CHECK:           memref.store {{.*}}, %[[S]]
memref.global "private" constant @kernel_only : memref<4xf32> = dense<1.0>
memref.global "private" @state : memref<4xf32> = uninitialized
func.func @kernel_only_fn() {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  %w = memref.get_global @kernel_only : memref<4xf32>
  %s = memref.get_global @state : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %w[%tx] : memref<4xf32>
    memref.store %v, %s[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// A weight that host code and a kernel both read, through a view: the kernel gets the view rebuilt on the
// device copy; the host call keeps the original.
// CHECK:       memref.global "private" constant @both : memref<2x4xf32>
// CHECK:       memref.global "private" constant @effc_gpu_weight.both : memref<2x4xf32>
// CHECK-LABEL: func.func @both_fn
// CHECK:         %[[H:.*]] = memref.get_global @both : memref<2x4xf32>
// CHECK:         %[[HV:.*]] = memref.collapse_shape %[[H]]
// CHECK:         %[[D:.*]] = memref.get_global @effc_gpu_weight.both : memref<2x4xf32>
// CHECK:         %[[DV:.*]] = memref.collapse_shape %[[D]]
// CHECK:         gpu.launch
// CHECK:           memref.load %[[DV]]
// CHECK:         call @host_reads(%[[HV]])
memref.global "private" constant @both : memref<2x4xf32> = dense<2.0>
func.func private @host_reads(memref<8xf32>)
func.func @both_fn(%out: memref<8xf32>) {
  %c1 = arith.constant 1 : index
  %w = memref.get_global @both : memref<2x4xf32>
  %flat = memref.collapse_shape %w [[0, 1]] : memref<2x4xf32> into memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %flat[%tx] : memref<8xf32>
    memref.store %v, %out[%tx] : memref<8xf32>
    gpu.terminator
  }
  call @host_reads(%flat) : (memref<8xf32>) -> ()
  return
}

// -----

// A weight that only host code reads (a CPU micro-kernel's packed operand) is left alone.
// CHECK:       memref.global "private" constant @host_only
// CHECK-NOT:   effc_gpu_weight
// CHECK-LABEL: func.func @host_only_fn
// CHECK-NOT:   effc_gpu_weight
// CHECK:         return
memref.global "private" constant @host_only : memref<4xi8> = dense<1>
func.func private @effc_uk_quantized(memref<4xi8>)
func.func @host_only_fn() {
  %w = memref.get_global @host_only : memref<4xi8>
  call @effc_uk_quantized(%w) : (memref<4xi8>) -> ()
  return
}

// -----

// gpu.launch_func operands are kernel reads too.
// CHECK-LABEL: func.func @launch_func
// CHECK:         %[[D:.*]] = memref.get_global @effc_gpu_weight.outlined
// CHECK:         gpu.launch_func @kernels::@k {{.*}} args(%[[D]] : memref<4xf32>)
module attributes {gpu.container_module} {
  memref.global "private" constant @outlined : memref<4xf32> = dense<3.0>
  gpu.module @kernels {
    gpu.func @k(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @launch_func() {
    %c1 = arith.constant 1 : index
    %w = memref.get_global @outlined : memref<4xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%w : memref<4xf32>)
    return
  }
}
