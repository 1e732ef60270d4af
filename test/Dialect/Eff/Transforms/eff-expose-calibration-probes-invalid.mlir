// RUN: effc-opt %s --eff-expose-calibration-probes=function=absent -verify-diagnostics

// expected-error@+1 {{no function to instrument for calibration named 'absent'}}
module {
  func.func @f(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    return %x : tensor<?x8xf32>
  }
}
