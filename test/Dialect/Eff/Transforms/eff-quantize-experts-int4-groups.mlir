// RUN: not effc-opt %s -split-input-file --eff-quantize=scheme=int4 2>/dev/null | FileCheck %s
// RUN: not effc-opt %s -split-input-file --eff-quantize=scheme=int4 2>&1 >/dev/null | FileCheck %s --check-prefix=ERR
// RUN: not effc-opt %s -split-input-file '--eff-quantize=scheme=int4:g16' 2>&1 >/dev/null | FileCheck %s --check-prefix=G16

// The group of int4 experts: one for all projections, dividing the hidden size D and the intermediate size F.
// By default the largest multiple of 8 up to 128 that divides both (gcd(48, 16) = 16 here); none is an error,
// as is an explicit group that does not divide both.

// CHECK-LABEL: func.func @default_group
// CHECK:         eff.quantized_experts int4 {{.*}} {group_size = 16 : i64, intermediate_size = 48 : i64}
func.func @default_group(%x: tensor<?x16xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>) -> tensor<?x16xf32> {
  %wu = arith.constant dense<0.5> : tensor<2x48x16xf32>
  %wd = arith.constant dense<0.25> : tensor<2x16x48xf32>
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) relu
      : (tensor<?x16xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x48x16xf32>, tensor<2x16x48xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// D = 12, F = 20: gcd 4, no multiple of 8 divides both.
// ERR: :[[@LINE+6]]:8: error: int4 has no default group size for experts of hidden size 12 and intermediate size 20 (no multiple of 8 up to 128 divides both); give one with :gGROUP
// G16-NOT: error
// G16: :[[@LINE+4]]:8: error: int4 group size 16 does not divide the experts' hidden size 12 and intermediate size 20
func.func @no_group(%x: tensor<?x12xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>) -> tensor<?x12xf32> {
  %wu = arith.constant dense<0.5> : tensor<2x20x12xf32>
  %wd = arith.constant dense<0.25> : tensor<2x12x20xf32>
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) relu
      : (tensor<?x12xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x20x12xf32>, tensor<2x12x20xf32>) -> tensor<?x12xf32>
  return %y : tensor<?x12xf32>
}
