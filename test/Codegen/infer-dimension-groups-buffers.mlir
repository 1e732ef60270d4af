// RUN: effc-opt %s --effc-infer-dimension-groups | FileCheck %s

// effc-infer-dimension-groups through a micro-kernel's result: the kernel writes a buffer allocated with the
// extents of its input (memref.alloc), which is read back as a tensor (bufferization.to_tensor). The
// tensor has the allocation's extents, so %mask, tied to that tensor by the second call, joins %x's group.
// Without this, a layer body called on such a tensor lost the tie, and a mask of the wrong length was
// accepted (test/python/test_errors.py::test_extents_that_must_agree).

// CHECK: module attributes {effc.dimension_groups = {
// CHECK-SAME: main = [array<i32: 0, 1>, array<i32: 0, 1>]
func.func @main(%x: tensor<?x?xf32>, %mask: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = tensor.dim %x, %c0 : tensor<?x?xf32>
  %cols = tensor.dim %x, %c1 : tensor<?x?xf32>
  %in = bufferization.to_buffer %x read_only : tensor<?x?xf32> to memref<?x?xf32>
  %buffer = memref.alloc(%rows, %cols) : memref<?x?xf32>
  call @kernel(%in, %buffer) : (memref<?x?xf32>, memref<?x?xf32>) -> ()
  %y = bufferization.to_tensor %buffer restrict writable : memref<?x?xf32> to tensor<?x?xf32>
  %m = bufferization.to_buffer %mask read_only : tensor<?x?xf32> to memref<?x?xf32>
  %ybuf = bufferization.to_buffer %y read_only : tensor<?x?xf32> to memref<?x?xf32>
  %out = memref.alloc(%rows, %cols) : memref<?x?xf32>
  call @kernel2(%ybuf, %m, %out) {effc.equal_extents = array<i64: 0, 0, 1, 0, 0, 1, 1, 1>}
      : (memref<?x?xf32>, memref<?x?xf32>, memref<?x?xf32>) -> ()
  %r = bufferization.to_tensor %out restrict writable : memref<?x?xf32> to tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func private @kernel(memref<?x?xf32>, memref<?x?xf32>)
func.func private @kernel2(memref<?x?xf32>, memref<?x?xf32>, memref<?x?xf32>)
