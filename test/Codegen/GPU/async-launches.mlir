// RUN: effc-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(effc-gpu-async-launches{device-buffers=false}))' | FileCheck %s

// Launches and a contiguous copy queue on one token; allocations need no wait; deallocations move after the
// wait that the return needs.
// CHECK-LABEL: func.func @chain
// CHECK:         %[[A:.*]] = memref.alloc
// CHECK-NEXT:    %[[T0:.*]] = gpu.wait async
// CHECK-NEXT:    %[[T1:.*]] = gpu.launch_func async [%[[T0]]] @kernels::@k blocks
// CHECK-NEXT:    %[[B:.*]] = memref.alloc
// CHECK-NEXT:    %[[T2:.*]] = gpu.memcpy async [%[[T1]]] %[[B]], %[[A]]
// CHECK-NEXT:    %[[T3:.*]] = gpu.launch_func async [%[[T2]]] @kernels::@k blocks
// CHECK-NEXT:    gpu.wait [%[[T3]]]
// CHECK-NEXT:    memref.dealloc %[[A]]
// CHECK-NEXT:    return %[[B]]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
  func.func @chain(%n: index) -> memref<?xf32> {
    %c1 = arith.constant 1 : index
    %a = memref.alloc(%n) : memref<?xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<?xf32>)
    %b = memref.alloc(%n) : memref<?xf32>
    memref.copy %a, %b : memref<?xf32> to memref<?xf32>
    memref.dealloc %a : memref<?xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<?xf32>)
    return %b : memref<?xf32>
  }
}

// -----

// Host code that touches memory waits first: a load, a strided copy (stays on the host), a call (a CPU
// micro-kernel). A new stream starts with the next launch. Loops synchronise in their body, before the yield.
// CHECK-LABEL: func.func @host_accesses
// CHECK:         %[[T0:.*]] = gpu.wait async
// CHECK-NEXT:    %[[T1:.*]] = gpu.launch_func async [%[[T0]]]
// CHECK-NEXT:    gpu.wait [%[[T1]]]
// CHECK-NEXT:    memref.load
// CHECK-NEXT:    %[[T2:.*]] = gpu.wait async
// CHECK-NEXT:    %[[T3:.*]] = gpu.launch_func async [%[[T2]]]
// CHECK-NEXT:    gpu.wait [%[[T3]]]
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    %[[T4:.*]] = gpu.wait async
// CHECK-NEXT:    %[[T5:.*]] = gpu.launch_func async [%[[T4]]]
// CHECK-NEXT:    gpu.wait [%[[T5]]]
// CHECK-NEXT:    call @effc_uk_host
// CHECK-NEXT:    scf.for
// CHECK-NEXT:      %[[T6:.*]] = gpu.wait async
// CHECK-NEXT:      %[[T7:.*]] = gpu.launch_func async [%[[T6]]]
// CHECK-NEXT:      gpu.wait [%[[T7]]]
// CHECK-NEXT:    }
// CHECK-NEXT:    return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<4x4xf32>) kernel {
      gpu.return
    }
  }
  func.func private @effc_uk_host(memref<4x4xf32>)
  func.func @host_accesses(%a: memref<4x4xf32>, %view: memref<2x2xf32, strided<[4, 1]>>,
                           %out: memref<2x2xf32>, %n: index) -> f32 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4x4xf32>)
    %v = memref.load %a[%c0, %c0] : memref<4x4xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4x4xf32>)
    memref.copy %view, %out : memref<2x2xf32, strided<[4, 1]>> to memref<2x2xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4x4xf32>)
    call @effc_uk_host(%a) : (memref<4x4xf32>) -> ()
    scf.for %i = %c0 to %n step %c1 {
      gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4x4xf32>)
    }
    return %v : f32
  }
}

// -----

// Without launches nothing changes; a function that already uses tokens is left as it is.
// CHECK-LABEL: func.func @host_only
// CHECK-NOT:     gpu.wait
// CHECK:         memref.copy
// CHECK-LABEL: func.func @already_async
// CHECK:         %[[T0:.*]] = gpu.wait async
// CHECK-NEXT:    %[[T1:.*]] = gpu.launch_func async [%[[T0]]]
// CHECK-NEXT:    gpu.wait [%[[T1]]]
// CHECK-NEXT:    return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k() kernel {
      gpu.return
    }
  }
  func.func @host_only(%a: memref<4xf32, strided<[2]>>, %b: memref<4xf32>) {
    memref.copy %a, %b : memref<4xf32, strided<[2]>> to memref<4xf32>
    return
  }
  func.func @already_async() {
    %c1 = arith.constant 1 : index
    %t0 = gpu.wait async
    %t1 = gpu.launch_func async [%t0] @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.wait [%t1]
    return
  }
}

// -----

// An scf.if whose branches only launch kernels (effc-gpu-gemm-ukernels' choice of tile size) stays on the
// stream: its launches queue behind the token before it, and the work after it uses the same token (one
// stream, in order; no token crosses a block boundary). An scf.if that touches memory on the host waits.
// CHECK-LABEL: func.func @stream_only_if
// CHECK:         %[[T0:.*]] = gpu.wait async
// CHECK-NEXT:    %[[T1:.*]] = gpu.launch_func async [%[[T0]]]
// CHECK-NEXT:    scf.if
// CHECK-NEXT:      gpu.launch_func async [%[[T1]]]
// CHECK-NEXT:    } else {
// CHECK-NEXT:      gpu.launch_func async [%[[T1]]]
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[T2:.*]] = gpu.launch_func async [%[[T1]]]
// CHECK-NEXT:    gpu.wait [%[[T2]]]
// CHECK-NEXT:    scf.if
// CHECK-NEXT:      memref.store
// CHECK:         return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @stream_only_if(%a: memref<4xf32>, %large: i1) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %f = arith.constant 1.0 : f32
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    scf.if %large {
      gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    } else {
      gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    }
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    scf.if %large {
      memref.store %f, %a[%c0] : memref<4xf32>
    }
    return
  }
}
