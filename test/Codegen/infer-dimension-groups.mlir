// RUN: effc-opt %s --effc-infer-dimension-groups | FileCheck %s

// effc-infer-dimension-groups (lib/Codegen/InferDimensionGroups.cpp): dynamic argument dimensions indexed
// by one linalg loop (directly, or through tensor.dim / tensor.empty / casts / reshapes) share a group.

// %a and %b are added elementwise: their rows share group 0. %c is only read through tensor.dim into
// an unrelated tensor.empty, and its second (dynamic) dimension is used nowhere: own groups 1 and 2.
// Static dimensions are -1.
// CHECK: module attributes {effc.dimension_groups = {
// CHECK-SAME: add_rows = [array<i32: 0, -1>, array<i32: 0, -1>, array<i32: 1, 2>]
// The mask's length is the key length of the attention scores: it joins the keys' rows (group 1), and the
// batch of both joins group 0 through the 3-D contraction.
// CHECK-SAME: scores = [array<i32: 0, 1, -1>, array<i32: 0, 1>]
// A slice's dynamic sizes are its extents (eff-pack-qkv slices q, k and v with tensor.dim of the packed result):
// the rows of %x reach the mask's length through the slice that the loop reads.
// CHECK-SAME: slices = [array<i32: 0, -1>, array<i32: 0>]
// A micro-kernel call is opaque except for the extents it says it assumes equal (effc.equal_extents,
// quadruples of operand, dimension, operand, dimension), followed through to_buffer and casts: the query's
// and the mask's batch (group 0), the keys' and the mask's length (group 2); the query's length is its own.
// CHECK-SAME: ukernel = [array<i32: 0, 1, -1>, array<i32: 0, 2, -1>, array<i32: 0, 2>]
#id = affine_map<(i, j) -> (i, j)>
func.func @add_rows(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>, %c: tensor<?x?xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %a, %c0 : tensor<?x4xf32>
  %init = tensor.empty(%rows) : tensor<?x4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<?x4xf32>, tensor<?x4xf32>) outs(%init : tensor<?x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<?x4xf32>
  %crows = tensor.dim %c, %c0 : tensor<?x?xf32>
  %unused = tensor.empty(%crows) : tensor<?x8xf32>
  return %sum : tensor<?x4xf32>
}

#k = affine_map<(b, j, d) -> (b, j, d)>
#m = affine_map<(b, j, d) -> (b, j)>
func.func @scores(%k: tensor<?x?x8xf32>, %mask: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %k, %c0 : tensor<?x?x8xf32>
  %l = tensor.dim %k, %c1 : tensor<?x?x8xf32>
  %init = tensor.empty(%b, %l) : tensor<?x?xf32>
  %r = linalg.generic {indexing_maps = [#k, #m, #m], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%k, %mask : tensor<?x?x8xf32>, tensor<?x?xf32>) outs(%init : tensor<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

#row = affine_map<(i, j) -> (i)>
func.func @slices(%x: tensor<?x12xf32>, %m: tensor<?xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x12xf32>
  %s = tensor.extract_slice %x[0, 4] [%n, 4] [1, 1] : tensor<?x12xf32> to tensor<?x4xf32>
  %len = tensor.dim %m, %c0 : tensor<?xf32>
  %init = tensor.empty(%len) : tensor<?x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %m : tensor<?x4xf32>, tensor<?xf32>) outs(%init : tensor<?x4xf32>) {
  ^bb0(%x0: f32, %y: f32, %o: f32):
    %p = arith.mulf %x0, %y : f32
    linalg.yield %p : f32
  } -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

func.func private @effc_uk_example(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>,
    memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>)
func.func @ukernel(%q: tensor<?x?x8xf32>, %k: tensor<?x?x8xf32>, %m: tensor<?x?xf32>) {
  %qd = tensor.cast %q : tensor<?x?x8xf32> to tensor<?x?x?xf32>
  %qb = bufferization.to_buffer %qd read_only : tensor<?x?x?xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
  %kd = tensor.cast %k : tensor<?x?x8xf32> to tensor<?x?x?xf32>
  %kb = bufferization.to_buffer %kd read_only : tensor<?x?x?xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
  %mb = bufferization.to_buffer %m read_only : tensor<?x?xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
  func.call @effc_uk_example(%qb, %kb, %mb) {effc.equal_extents = array<i64: 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 1, 1>}
      : (memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>,
         memref<?x?xf32, strided<[?, ?], offset: ?>>) -> ()
  return
}
