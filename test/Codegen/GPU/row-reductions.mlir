// RUN: effc-opt %s --effc-gpu-row-reductions -cse | FileCheck %s
// RUN: effc-opt %s --effc-gpu-row-reductions=warps-per-block=4 -cse | FileCheck %s --check-prefix=WARPS

// A sum over the innermost dimension of [?, 768] (layer norm's mean): one warp per row, lanes striding over
// the row, a butterfly of shuffles, lane 0 adding the total to the output.
// CHECK-LABEL: func.func @row_sum
// CHECK-SAME:    (%[[X:.*]]: memref<?x768xf32>, %[[OUT:.*]]: memref<?xf32>)
// CHECK:         %[[ROWS:.*]] = memref.dim %[[X]]
// CHECK:         %[[C768:.*]] = arith.constant 768 : index
// CHECK:         scf.if
// CHECK:           %[[C8:.*]] = arith.constant 8 : index
// CHECK:           %[[BLOCKS:.*]] = arith.ceildivui %{{.*}}, %[[C8]]
// CHECK:           %[[C32:.*]] = arith.constant 32 : index
// CHECK:           gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BLOCKS]], {{.*}}) threads(%[[LANE:.*]], %[[WARP:.*]], %{{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C8]],
// CHECK:             %[[ROW:.*]] = arith.addi %{{.*}}, %[[WARP]]
// CHECK:             scf.if
// CHECK:               %[[R:.*]] = arith.remui %[[ROW]], %[[ROWS]]
// CHECK:               %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:               %[[PART:.*]] = scf.for %[[K:.*]] = %[[LANE]] to %[[C768]] step %[[C32]] iter_args(%[[P:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:                 %[[V:.*]] = memref.load %[[X]][%[[R]], %[[K]]]
// CHECK:                 %[[S:.*]] = arith.addf %[[P]], %[[V]] : f32
// CHECK:                 scf.yield %[[S]]
// CHECK:               gpu.shuffle  xor %[[PART]], %{{.*}}, %{{.*}} : f32
// CHECK-COUNT-4:       gpu.shuffle  xor
// CHECK:               scf.if
// CHECK:                 %[[PREV:.*]] = memref.load %[[OUT]][%[[R]]]
// CHECK:                 %[[NEW:.*]] = arith.addf %[[PREV]], %{{.*}} : f32
// CHECK:                 memref.store %[[NEW]], %[[OUT]][%[[R]]]
// CHECK-NOT:     linalg.generic
// WARPS-LABEL: func.func @row_sum
// WARPS:         arith.ceildivui %{{.*}}, %c4
func.func @row_sum(%x: memref<?x768xf32>, %out: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x768xf32>) outs(%out : memref<?xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
  }
  return
}

// Layer norm's variance: the element is computed from two inputs (the mean broadcast over the row) before it
// is added; the row index is split into the two parallel dimensions.
// CHECK-LABEL: func.func @variance
// CHECK:         gpu.launch
// CHECK:           arith.remui
// CHECK:           arith.divui
// CHECK:           scf.for
// CHECK:             memref.load %{{.*}} : memref<?x?x64xf32>
// CHECK:             memref.load %{{.*}} : memref<?x?xf32>
// CHECK:             arith.subf
// CHECK:             arith.mulf
// CHECK:             arith.addf
func.func @variance(%x: memref<?x?x64xf32>, %mean: memref<?x?xf32>, %out: memref<?x?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %mean : memref<?x?x64xf32>, memref<?x?xf32>) outs(%out : memref<?x?xf32>) {
    ^bb0(%in: f32, %m: f32, %acc: f32):
      %d = arith.subf %in, %m : f32
      %sq = arith.mulf %d, %d : f32
      %s = arith.addf %acc, %sq : f32
      linalg.yield %s : f32
  }
  return
}

// Softmax's maximum starts from -inf.
// CHECK-LABEL: func.func @row_max
// CHECK:         arith.constant 0xFF800000 : f32
// CHECK:         arith.maximumf
// CHECK:         gpu.shuffle  xor
// CHECK-NOT:     linalg.generic
func.func @row_max(%x: memref<4x12x128xf32>, %out: memref<4x12xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<4x12x128xf32>) outs(%out : memref<4x12xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %s = arith.maximumf %acc, %in : f32
      linalg.yield %s : f32
  }
  return
}

// The element may be a value from outside the body (here a count of the row's elements).
// CHECK-LABEL: func.func @outside_value
// CHECK-SAME:    (%{{.*}}: memref<?x32xf32>, %{{.*}}: memref<?xf32>, %[[ONE:.*]]: f32)
// CHECK:         scf.for %{{.*}} iter_args(%[[P:.*]] = %{{.*}}) -> (f32) {
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[P]], %[[ONE]] : f32
// CHECK-NEXT:      scf.yield %[[S]]
func.func @outside_value(%x: memref<?x32xf32>, %out: memref<?xf32>, %one: f32) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x32xf32>) outs(%out : memref<?xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %s = arith.addf %acc, %one : f32
      linalg.yield %s : f32
  }
  return
}

// linalg.index of the reduction loop is the lane's position in the row, of a parallel loop the row's index.
// CHECK-LABEL: func.func @loop_index
// CHECK:         %[[ROW:.*]] = arith.remui
// CHECK:         scf.for %[[K:.*]] = %{{.*}} iter_args(%[[P:.*]] = %{{.*}}) -> (f32) {
// CHECK-DAG:       arith.index_cast %[[K]] : index to i32
// CHECK-DAG:       arith.index_cast %[[ROW]] : index to i32
func.func @loop_index(%x: memref<?x32xf32>, %out: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x32xf32>) outs(%out : memref<?xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %i = linalg.index 0 : index
      %k = linalg.index 1 : index
      %ii = arith.index_cast %i : index to i32
      %ki = arith.index_cast %k : index to i32
      %sum = arith.addi %ii, %ki : i32
      %f = arith.uitofp %sum : i32 to f32
      %e = arith.mulf %f, %in : f32
      %s = arith.addf %acc, %e : f32
      linalg.yield %s : f32
  }
  return
}

// Left alone: a product (no neutral value this pass knows), an accumulator read twice, an i32 sum and a
// reduction over an outer loop.
// CHECK-LABEL: func.func @not_rows
// CHECK-NOT:     gpu.launch
// CHECK-COUNT-4: linalg.generic
func.func @not_rows(%x: memref<8x16xf32>, %col: memref<16xf32>, %row: memref<8xf32>, %xi: memref<8x16xi32>,
                    %rowi: memref<8xi32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<8x16xf32>) outs(%col : memref<16xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%row : memref<8xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %s = arith.mulf %in, %acc : f32
      linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%row : memref<8xf32>) {
    ^bb0(%in: f32, %acc: f32):
      %d = arith.subf %in, %acc : f32
      %s = arith.addf %d, %acc : f32
      linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%xi : memref<8x16xi32>) outs(%rowi : memref<8xi32>) {
    ^bb0(%in: i32, %acc: i32):
      %s = arith.addi %in, %acc : i32
      linalg.yield %s : i32
  }
  return
}
