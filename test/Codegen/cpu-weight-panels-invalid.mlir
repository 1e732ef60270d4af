// RUN: not effc-opt %s --effc-cpu-weight-panels=panel-width=48 2>&1 | FileCheck %s --check-prefix=WIDTH
// RUN: not effc-opt %s --effc-cpu-weight-panels=panel-width=-128 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not effc-opt %s --effc-cpu-weight-panels=register-tile-n=0 2>&1 | FileCheck %s --check-prefix=REGISTER
// RUN: not effc-opt %s --effc-cpu-weight-panels=min-padded-panels=-1 2>&1 | FileCheck %s --check-prefix=PADDED

// WIDTH: error: effc-cpu-weight-panels: panel-width must be 0 (off) or a positive multiple of register-tile-n (32), got 48
// NEGATIVE: error: effc-cpu-weight-panels: panel-width must be 0 (off) or a positive multiple of register-tile-n (32), got -128
// REGISTER: error: effc-cpu-weight-panels: register-tile-n must be > 0, got 0
// PADDED: error: effc-cpu-weight-panels: min-padded-panels must be >= 0, got -1
func.func @f(%a: tensor<8x8xf32>) -> tensor<8x8xf32> {
  return %a : tensor<8x8xf32>
}
