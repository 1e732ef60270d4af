// RUN: effc-opt %s --effc-infer-dimension-groups | FileCheck %s

// effc-infer-dimension-groups (lib/Codegen/InferDimensionGroups.cpp) through calls of private functions (the
// layer bodies of eff-outline-layers): a call's operands and results share the dimensions of the callee's
// arguments and returned values, and the callee is analysed once per call, so two calls of one body do
// not tie their unrelated operands together.

// @add ties its two arguments: %a with %b (group 0), %c with %d (group 1), not all four. %e is added to
// the first call's result, which is %a's rows: group 0.
// CHECK: module attributes {effc.dimension_groups = {
// CHECK-SAME: main = [array<i32: 0, -1>, array<i32: 0, -1>, array<i32: 1, -1>, array<i32: 1, -1>, array<i32: 0, -1>]
// Private functions are not entry points and get no entry.
// CHECK-NOT: add =
#id = affine_map<(i, j) -> (i, j)>
func.func @main(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>, %c: tensor<?x4xf32>, %d: tensor<?x4xf32>,
                %e: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %r1 = call @add(%a, %b) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %r2 = call @add(%c, %d) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  %s = call @add(%r1, %e) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %s, %r2 : tensor<?x4xf32>, tensor<?x4xf32>
}
func.func private @add(%x: tensor<?x4xf32>, %y: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x4xf32>
  %init = tensor.empty(%rows) : tensor<?x4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<?x4xf32>, tensor<?x4xf32>) outs(%init : tensor<?x4xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %t = arith.addf %p, %q : f32
    linalg.yield %t : f32
  } -> tensor<?x4xf32>
  return %sum : tensor<?x4xf32>
}
