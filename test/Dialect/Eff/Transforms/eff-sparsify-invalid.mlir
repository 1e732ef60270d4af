// RUN: effc-opt %s -split-input-file --eff-sparsify=pattern=2:4 -verify-diagnostics
// RUN: not effc-opt %s --eff-sparsify=pattern=3:2 2>&1 | FileCheck %s --check-prefix=N-GE-M
// RUN: not effc-opt %s --eff-sparsify=pattern=4:4 2>&1 | FileCheck %s --check-prefix=N-EQ-M
// RUN: not effc-opt %s --eff-sparsify=pattern=0:4 2>&1 | FileCheck %s --check-prefix=N-ZERO
// RUN: not effc-opt %s --eff-sparsify=pattern=1:256 2>&1 | FileCheck %s --check-prefix=M-LARGE
// RUN: not effc-opt %s --eff-sparsify=pattern=unstructured:1.5 2>&1 | FileCheck %s --check-prefix=FRACTION-HIGH
// RUN: not effc-opt %s --eff-sparsify=pattern=unstructured:-0.1 2>&1 | FileCheck %s --check-prefix=FRACTION-LOW
// RUN: not effc-opt %s --eff-sparsify=pattern=unstructured:half 2>&1 | FileCheck %s --check-prefix=FRACTION-MALFORMED
// RUN: not effc-opt %s --eff-sparsify=pattern=dense 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not effc-opt %s --eff-sparsify=pattern=2:x 2>&1 | FileCheck %s --check-prefix=MALFORMED-NM
// RUN: not effc-opt %s '--eff-sparsify=pattern=unstructured:0.5 scope=model' 2>&1 | FileCheck %s --check-prefix=SCOPE
// RUN: not effc-opt %s '--eff-sparsify=pattern=unstructured:0.5 csr-threshold=2' 2>&1 | FileCheck %s --check-prefix=THRESHOLD

// Every diagnostic of eff-sparsify (lib/Dialect/Eff/Transforms/Sparsify.cpp): option errors fail the pass
// with a message at the module; a layer the pattern cannot apply to is an error at that layer.

// N-GE-M: error: eff-sparsify: N:M sparsity needs 1 <= N < M <= 128 (N weights kept of every M), got 3:2
// N-EQ-M: error: eff-sparsify: N:M sparsity needs 1 <= N < M <= 128 (N weights kept of every M), got 4:4
// N-ZERO: error: eff-sparsify: N:M sparsity needs 1 <= N < M <= 128 (N weights kept of every M), got 0:4
// M-LARGE: error: eff-sparsify: N:M sparsity needs 1 <= N < M <= 128 (N weights kept of every M), got 1:256
// FRACTION-HIGH: error: eff-sparsify: sparsity fraction must be in [0, 1), got 1.5
// FRACTION-LOW: error: eff-sparsify: sparsity fraction must be in [0, 1), got -0.1
// FRACTION-MALFORMED: error: eff-sparsify: malformed sparsity 'unstructured:half': expected 'unstructured:FRACTION', e.g. unstructured:0.9
// MALFORMED: error: eff-sparsify: malformed sparsity 'dense': expected 'N:M' (e.g. 2:4) or 'unstructured:FRACTION'
// MALFORMED-NM: error: eff-sparsify: malformed sparsity '2:x': expected 'N:M' (e.g. 2:4) or 'unstructured:FRACTION'
// SCOPE: error: eff-sparsify: scope must be 'layer' or 'global', got 'model'
// THRESHOLD: error: eff-sparsify: csr-threshold must be in [0, 1], got 2

// M = 4 does not divide K = 6.
func.func @m_not_dividing_k(%x: tensor<2x6xf32>) -> tensor<2x1xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]> : tensor<1x6xf32>
  // expected-error @+1 {{'eff.linear' op cannot be made 2:4 sparse: M = 4 does not divide its in_features K = 6}}
  %y = eff.linear %x, %w : (tensor<2x6xf32>, tensor<1x6xf32>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}
