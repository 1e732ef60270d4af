// RUN: effc-opt %s --effc-strided-copies-to-linalg | FileCheck %s

// A copy into a strided view (one part of a concatenation) becomes linalg.copy; a contiguous copy stays a
// memref.copy (a memcpy), and a copy of a view onto itself is erased.
// CHECK-LABEL: func.func @copies
// CHECK-SAME:    (%[[A:.*]]: memref<2x3xf32>, %[[B:.*]]: memref<2x8xf32>, %[[C:.*]]: memref<2x3xf32>)
// CHECK:         %[[V:.*]] = memref.subview %[[B]][0, 5] [2, 3] [1, 1]
// CHECK-NEXT:    linalg.copy ins(%[[A]] : memref<2x3xf32>) outs(%[[V]] : memref<2x3xf32, strided<[8, 1], offset: 5>>)
// CHECK-NEXT:    memref.copy %[[A]], %[[C]] : memref<2x3xf32> to memref<2x3xf32>
// CHECK-NEXT:    return
func.func @copies(%a: memref<2x3xf32>, %b: memref<2x8xf32>, %c: memref<2x3xf32>) {
  %view = memref.subview %b[0, 5] [2, 3] [1, 1] : memref<2x8xf32> to memref<2x3xf32, strided<[8, 1], offset: 5>>
  memref.copy %a, %view : memref<2x3xf32> to memref<2x3xf32, strided<[8, 1], offset: 5>>
  memref.copy %a, %c : memref<2x3xf32> to memref<2x3xf32>
  memref.copy %c, %c : memref<2x3xf32> to memref<2x3xf32>
  return
}
