// RUN: effc-opt %s --effc-gpu-row-reductions=warps-per-block=0 -verify-diagnostics
// RUN: not effc-opt %s --effc-gpu-row-reductions=warps-per-block=33 2>&1 | FileCheck %s --check-prefix=MANY

// MANY: error: effc-gpu-row-reductions: warps-per-block must be between 1 and 32, got 33
// expected-error @below {{effc-gpu-row-reductions: warps-per-block must be between 1 and 32, got 0}}
module {
}
