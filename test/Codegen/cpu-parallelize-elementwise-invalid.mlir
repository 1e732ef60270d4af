// RUN: not effc-opt %s --effc-cpu-parallelize-elementwise=rows-per-task=0 2>&1 | FileCheck %s --check-prefix=ROWS
// RUN: not effc-opt %s --effc-cpu-parallelize-elementwise=min-elements=-1 2>&1 | FileCheck %s --check-prefix=MIN

// ROWS: error: effc-cpu-parallelize-elementwise: rows-per-task must be > 0, got 0
// MIN: error: effc-cpu-parallelize-elementwise: min-elements must be > 0, got -1
func.func @f(%a: tensor<8x8xf32>) -> tensor<8x8xf32> {
  return %a : tensor<8x8xf32>
}
