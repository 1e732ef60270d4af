// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=thread-tile-m=-64 2>&1 | FileCheck %s --check-prefix=THREAD
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=register-tile-n=0 2>&1 | FileCheck %s --check-prefix=REGISTER
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=cache-tile-k=-1 2>&1 | FileCheck %s --check-prefix=CACHE
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=max-masked-tile-elements=-1 2>&1 | FileCheck %s --check-prefix=MASKED
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=wide-thread-tile-m=0 2>&1 | FileCheck %s --check-prefix=WIDE-M
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=wide-column-blocks=-2 2>&1 | FileCheck %s --check-prefix=WIDE-BLOCKS
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=panels-per-block=0 2>&1 | FileCheck %s --check-prefix=PANELS
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=group-panels-min-k=-1 2>&1 | FileCheck %s --check-prefix=GROUP-K
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=panel-thread-tile-m=0 2>&1 | FileCheck %s --check-prefix=PANEL-M
// RUN: not effc-opt %s --effc-cpu-tile-and-vectorize=gemv-panels-per-block=0 2>&1 | FileCheck %s --check-prefix=GEMV

// THREAD: error: effc-cpu-tile-and-vectorize: thread-tile-m must be > 0, got -64
// REGISTER: error: effc-cpu-tile-and-vectorize: register-tile-n must be > 0, got 0
// CACHE: error: effc-cpu-tile-and-vectorize: cache-tile-k must be >= 0, got -1
// MASKED: error: effc-cpu-tile-and-vectorize: max-masked-tile-elements must be >= 0, got -1
// WIDE-M: error: effc-cpu-tile-and-vectorize: wide-thread-tile-m must be > 0, got 0
// WIDE-BLOCKS: error: effc-cpu-tile-and-vectorize: wide-column-blocks must be >= 0, got -2
// PANELS: error: effc-cpu-tile-and-vectorize: panels-per-block must be > 0, got 0
// GROUP-K: error: effc-cpu-tile-and-vectorize: group-panels-min-k must be >= 0, got -1
// PANEL-M: error: effc-cpu-tile-and-vectorize: panel-thread-tile-m must be > 0, got 0
// GEMV: error: effc-cpu-tile-and-vectorize: gemv-panels-per-block must be > 0, got 0
func.func @f(%a: tensor<8x8xf32>) -> tensor<8x8xf32> {
  return %a : tensor<8x8xf32>
}
