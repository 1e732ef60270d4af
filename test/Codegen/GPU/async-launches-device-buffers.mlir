// RUN: effc-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(effc-gpu-async-launches))' | FileCheck %s

// Buffers that only kernels and device copies touch (also through views) are allocated and freed on the
// stream, in device memory. A buffer the host reads, one that is returned, and one freed in another block
// stay managed memory (memref.alloc).
// CHECK-LABEL: func.func @buffers
// CHECK:         %[[T0:.*]] = gpu.wait async
// CHECK-NEXT:    %[[TMP:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] (%{{.*}}) : memref<?x4xf32>
// CHECK-NEXT:    memref.collapse_shape %[[TMP]]
// CHECK-NEXT:    %[[READ:.*]] = memref.alloc
// CHECK-NEXT:    %[[OUT:.*]] = memref.alloc
// CHECK-NEXT:    %[[LOOP:.*]] = memref.alloc
// CHECK-NEXT:    %[[T2:.*]] = gpu.launch_func async [%[[T1]]] @kernels::@k {{.*}} args(%[[TMP]] : memref<?x4xf32>, %[[READ]] : memref<?x4xf32>)
// CHECK-NEXT:    %[[T3:.*]] = gpu.launch_func async [%[[T2]]] @kernels::@flat {{.*}} args(%{{.*}} : memref<?xf32>)
// CHECK-NEXT:    %[[T4:.*]] = gpu.memcpy async [%[[T3]]] %[[OUT]], %[[TMP]]
// CHECK-NEXT:    %[[T5:.*]] = gpu.dealloc async [%[[T4]]] %[[TMP]]
// CHECK-NEXT:    gpu.wait [%[[T5]]]
// CHECK-NEXT:    memref.load %[[READ]]
// CHECK:         scf.if
// CHECK-NEXT:      memref.dealloc %[[LOOP]]
// CHECK:         return %[[OUT]]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<?x4xf32>, %b: memref<?x4xf32>) kernel {
      gpu.return
    }
    gpu.func @flat(%a: memref<?xf32>) kernel {
      gpu.return
    }
  }
  func.func @buffers(%n: index, %free: i1) -> (memref<?x4xf32>, f32) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %tmp = memref.alloc(%n) : memref<?x4xf32>
    %flat = memref.collapse_shape %tmp [[0, 1]] : memref<?x4xf32> into memref<?xf32>
    %read = memref.alloc(%n) : memref<?x4xf32>
    %out = memref.alloc(%n) : memref<?x4xf32>
    %loop = memref.alloc(%n) : memref<?x4xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%tmp : memref<?x4xf32>, %read : memref<?x4xf32>)
    gpu.launch_func @kernels::@flat blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%flat : memref<?xf32>)
    memref.copy %tmp, %out : memref<?x4xf32> to memref<?x4xf32>
    memref.dealloc %tmp : memref<?x4xf32>
    %v = memref.load %read[%c0, %c0] : memref<?x4xf32>
    memref.dealloc %read : memref<?x4xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%loop : memref<?x4xf32>, %loop : memref<?x4xf32>)
    scf.if %free {
      memref.dealloc %loop : memref<?x4xf32>
    }
    return %out, %v : memref<?x4xf32>, f32
  }
}

// -----

// A buffer whose shape the host reads with memref.extract_strided_metadata (effc-gpu-gemm-ukernels' launches)
// is still device memory; one whose base buffer the host takes is not.
// CHECK-LABEL: func.func @metadata_only
// CHECK:         %[[BUF:.*]], %{{.*}} = gpu.alloc async
// CHECK:         memref.extract_strided_metadata %[[BUF]]
// CHECK:         gpu.dealloc async [%{{.*}}] %[[BUF]]
// CHECK-LABEL: func.func @base_buffer_taken
// CHECK:         memref.alloc
// CHECK-NOT:     gpu.alloc
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<?x4xf32>, %n: index) kernel {
      gpu.return
    }
  }
  func.func @metadata_only(%n: index) {
    %c1 = arith.constant 1 : index
    %buf = memref.alloc(%n) : memref<?x4xf32>
    %base, %offset, %sizes:2, %strides:2 = memref.extract_strided_metadata %buf : memref<?x4xf32> -> memref<f32>, index, index, index, index, index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buf : memref<?x4xf32>, %sizes#0 : index)
    memref.dealloc %buf : memref<?x4xf32>
    return
  }
  func.func @base_buffer_taken(%n: index) -> memref<f32> {
    %c1 = arith.constant 1 : index
    %buf = memref.alloc(%n) : memref<?x4xf32>
    %base, %offset, %sizes:2, %strides:2 = memref.extract_strided_metadata %buf : memref<?x4xf32> -> memref<f32>, index, index, index, index, index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buf : memref<?x4xf32>, %sizes#0 : index)
    memref.dealloc %buf : memref<?x4xf32>
    return %base : memref<f32>
  }
}
