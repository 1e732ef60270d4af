// RUN: effc-opt %s --split-input-file --effc-gpu-quantized-linears -verify-diagnostics

// A call of the host kernel that does not have its signature is an error, not a silent host call.
module {
  func.func private @effc_uk_quantized_linear_int8(memref<?x?x?xf32>, memref<?xi8>)
  func.func @short(%x: memref<?x?x?xf32>, %w: memref<?xi8>) {
    // expected-error @+1 {{effc-gpu-quantized-linears: call of 'effc_uk_quantized_linear_int8' must have 9 operands and no results}}
    call @effc_uk_quantized_linear_int8(%x, %w) : (memref<?x?x?xf32>, memref<?xi8>) -> ()
    return
  }
}

// -----

module {
  func.func private @effc_uk_quantized_linear_int8(memref<?x?xf32>, memref<?xi8>, memref<?xi32>, memref<?xf32>, memref<?xf32>, i64, f32, i64, memref<?x?x?xf32>)
  func.func @rank(%x: memref<?x?xf32>, %w: memref<?xi8>, %cs: memref<?xi32>, %s: memref<?xf32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %c1 = arith.constant 1 : i64
    %f = arith.constant 0.0 : f32
    // expected-error @+1 {{effc-gpu-quantized-linears: call of 'effc_uk_quantized_linear_int8' has unexpected operand types}}
    call @effc_uk_quantized_linear_int8(%x, %w, %cs, %s, %b, %c1, %f, %c1, %y) : (memref<?x?xf32>, memref<?xi8>, memref<?xi32>, memref<?xf32>, memref<?xf32>, i64, f32, i64, memref<?x?x?xf32>) -> ()
    return
  }
}

// -----

module {
  func.func private @effc_uk_quantized_linear_int4(memref<?x?x?xf32>, memref<?xi8>, memref<?xf32>, memref<?xf32>, memref<?xf32>, i64, f32, i64, memref<?x?x?xf32>)
  func.func @int4_types(%x: memref<?x?x?xf32>, %w: memref<?xi8>, %s: memref<?xf32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %c1 = arith.constant 1 : i64
    %f = arith.constant 0.0 : f32
    // expected-error @+1 {{effc-gpu-quantized-linears: call of 'effc_uk_quantized_linear_int4' has unexpected operand types (expected x: 3-D f32, packed: 1-D i8, scales, zero points and bias: 1-D f32}}
    call @effc_uk_quantized_linear_int4(%x, %w, %s, %s, %b, %c1, %f, %c1, %y) : (memref<?x?x?xf32>, memref<?xi8>, memref<?xf32>, memref<?xf32>, memref<?xf32>, i64, f32, i64, memref<?x?x?xf32>) -> ()
    return
  }
}

// -----

module {
  func.func private @effc_uk_quantized_linear_lut(memref<?x?x?xf32>, memref<?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>)
  func.func @lut_short(%x: memref<?x?x?xf32>, %w: memref<?xi8>, %a: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %c1 = arith.constant 1 : i64
    // expected-error @+1 {{effc-gpu-quantized-linears: call of 'effc_uk_quantized_linear_lut' must take (x: 3-D f32, packed: 1-D i8, alpha and bias: 1-D f32, group size, bits and has_bias: i64, y: 3-D f32) and return nothing}}
    call @effc_uk_quantized_linear_lut(%x, %w, %a, %a, %c1, %c1, %y) : (memref<?x?x?xf32>, memref<?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>) -> ()
    return
  }
}
