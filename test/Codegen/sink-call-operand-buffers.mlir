// RUN: effc-opt %s --split-input-file --effc-sink-call-operand-buffers | FileCheck %s

// Two micro-kernel calls read %x through one to_buffer (CSE merged theirs): the second call gets its own
// to_buffer (and cast) right before it, so that bufferization sees %x read there, after the generic that
// could otherwise write in place over %x's buffer.
// CHECK-LABEL: func.func @shared
// CHECK:         %[[B1:.+]] = bufferization.to_buffer %[[X:.+]] read_only
// CHECK-NEXT:    %[[C1:.+]] = memref.cast %[[B1]]
// CHECK-NEXT:    call @kernel(%[[C1]])
// CHECK:         linalg.generic
// CHECK:         %[[B2:.+]] = bufferization.to_buffer %[[X]] read_only
// CHECK-NEXT:    %[[C2:.+]] = memref.cast %[[B2]]
// CHECK-NEXT:    call @kernel(%[[C2]])
func.func private @kernel(memref<?x?xf32, strided<[?, ?], offset: ?>>)
func.func @shared(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %b = bufferization.to_buffer %x read_only : tensor<4x8xf32> to memref<4x8xf32, strided<[?, ?], offset: ?>>
  %c = memref.cast %b : memref<4x8xf32, strided<[?, ?], offset: ?>> to memref<?x?xf32, strided<[?, ?], offset: ?>>
  call @kernel(%c) : (memref<?x?xf32, strided<[?, ?], offset: ?>>) -> ()
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  call @kernel(%c) : (memref<?x?xf32, strided<[?, ?], offset: ?>>) -> ()
  return %y : tensor<4x8xf32>
}

// -----

// A to_buffer used by one call moves right before it (the tensor is read there, not at the to_buffer).
// CHECK-LABEL: func.func @private_read
// CHECK:         linalg.fill
// CHECK-NEXT:    %[[B:.+]] = bufferization.to_buffer %{{.+}} read_only
// CHECK-NEXT:    call @kernel2(%[[B]])
// CHECK-NOT:     bufferization.to_buffer
func.func private @kernel2(memref<4x8xf32, strided<[?, ?], offset: ?>>)
func.func @private_read(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %b = bufferization.to_buffer %x read_only : tensor<4x8xf32> to memref<4x8xf32, strided<[?, ?], offset: ?>>
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%x : tensor<4x8xf32>) -> tensor<4x8xf32>
  call @kernel2(%b) : (memref<4x8xf32, strided<[?, ?], offset: ?>>) -> ()
  return %f : tensor<4x8xf32>
}
