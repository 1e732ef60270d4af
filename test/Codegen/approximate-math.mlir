// RUN: effc-opt %s -split-input-file --effc-approximate-math | FileCheck %s

// effc-approximate-math (lib/Codegen/ApproximateMath.cpp): f32 transcendental math ops (scalars and vectors,
// and f16 through f32) become polynomial arithmetic, so the compiled module needs no libm. Ops with an LLVM
// instruction or intrinsic (sqrt, rsqrt, fma, floor) stay, and f64 is left alone.

// CHECK-LABEL: func.func @tanh(
// CHECK-NOT:     math.tanh
// CHECK:         math.fma {{.+}} : f32
// CHECK-NOT:     math.tanh
// CHECK:         return
func.func @tanh(%x: f32) -> f32 {
  %r = math.tanh %x : f32
  return %r : f32
}

// -----

// CHECK-LABEL: func.func @exp$vector(
// CHECK-NOT:     math.exp
// CHECK:         math.fma {{.+}} : vector<16xf32>
// CHECK-NOT:     math.exp
// CHECK:         return %{{.+}} : vector<16xf32>
func.func @exp$vector(%x: vector<16xf32>) -> vector<16xf32> {
  %r = math.exp %x : vector<16xf32>
  return %r : vector<16xf32>
}

// -----

// CHECK-LABEL: func.func @erf(
// CHECK-NOT:     math.erf
// CHECK:         math.fma {{.+}} : f32
// CHECK-NOT:     math.erf
// CHECK:         return
func.func @erf(%x: f32) -> f32 {
  %r = math.erf %x : f32
  return %r : f32
}

// -----

// CHECK-LABEL: func.func @log(
// CHECK-NOT:     math.log
// CHECK:         math.fma {{.+}} : f32
// CHECK-NOT:     math.log
// CHECK:         return
func.func @log(%x: f32) -> f32 {
  %r = math.log %x : f32
  return %r : f32
}

// -----

// f16 is computed in f32 and truncated back.
// CHECK-LABEL: func.func @exp$f16(
// CHECK:         arith.extf %{{.+}} : f16 to f32
// CHECK-NOT:     math.exp
// CHECK:         math.fma {{.+}} : f32
// CHECK-NOT:     math.exp
// CHECK:         arith.truncf %{{.+}} : f32 to f16
func.func @exp$f16(%x: f16) -> f16 {
  %r = math.exp %x : f16
  return %r : f16
}

// -----

// CHECK-LABEL: func.func @sqrt_rsqrt_kept(
// CHECK:         math.sqrt %{{.+}} : f32
// CHECK:         math.rsqrt %{{.+}} : f32
func.func @sqrt_rsqrt_kept(%x: f32) -> (f32, f32) {
  %s = math.sqrt %x : f32
  %r = math.rsqrt %x : f32
  return %s, %r : f32, f32
}

// -----

// CHECK-LABEL: func.func @tanh$f64_untouched(
// CHECK:         math.tanh %{{.+}} : f64
func.func @tanh$f64_untouched(%x: f64) -> f64 {
  %r = math.tanh %x : f64
  return %r : f64
}
