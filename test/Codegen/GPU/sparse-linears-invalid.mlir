// RUN: effc-opt %s --split-input-file --effc-gpu-sparse-linears -verify-diagnostics

// A call of the host kernel that does not have its signature is an error, not a silent host call.
module {
  func.func private @effc_uk_sparse_nm_linear(memref<?x?x?xf32>, memref<?x?xf32>, memref<?x?xi32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>)
  func.func @indices_i32(%x: memref<?x?x?xf32>, %v: memref<?x?xf32>, %i: memref<?x?xi32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %c2 = arith.constant 2 : i64
    // expected-error @+1 {{effc-gpu-sparse-linears: expected 'effc_uk_sparse_nm_linear' to take (x: 3-D f32, values: 2-D f32, indices: 2-D i8, bias: 1-D f32, n: i64, m: i64, y: 3-D f32) and return nothing}}
    call @effc_uk_sparse_nm_linear(%x, %v, %i, %b, %c2, %c2, %y) : (memref<?x?x?xf32>, memref<?x?xf32>, memref<?x?xi32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>) -> ()
    return
  }
}

// -----

module {
  func.func private @effc_uk_sparse_nm_linear(memref<?x?x?xf32>, memref<?x?xf32>)
  func.func @short(%x: memref<?x?x?xf32>, %v: memref<?x?xf32>) {
    // expected-error @+1 {{effc-gpu-sparse-linears: expected 'effc_uk_sparse_nm_linear' to take}}
    call @effc_uk_sparse_nm_linear(%x, %v) : (memref<?x?x?xf32>, memref<?x?xf32>) -> ()
    return
  }
}

// -----

module {
  func.func private @effc_uk_sparse_nm_linear_i8(memref<?x?x?xf32>, memref<?x?xf32>, memref<?x?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>)
  func.func @int8_values_f32(%x: memref<?x?x?xf32>, %v: memref<?x?xf32>, %i: memref<?x?xi8>, %s: memref<?xf32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    %c2 = arith.constant 2 : i64
    // expected-error @+1 {{effc-gpu-sparse-linears: expected 'effc_uk_sparse_nm_linear_i8' to take (x: 3-D f32, values: 2-D i8, indices: 2-D i8, scales: 1-D f32, bias: 1-D f32, n: i64, m: i64, y: 3-D f32) and return nothing}}
    call @effc_uk_sparse_nm_linear_i8(%x, %v, %i, %s, %b, %c2, %c2, %y) : (memref<?x?x?xf32>, memref<?x?xf32>, memref<?x?xi8>, memref<?xf32>, memref<?xf32>, i64, i64, memref<?x?x?xf32>) -> ()
    return
  }
}

// -----

module {
  func.func private @effc_uk_sparse_csr_linear(memref<?x?x?xf32>, memref<?xf32>, memref<?xi64>, memref<?xi32>, memref<?xf32>, memref<?x?x?xf32>)
  func.func @csr_columns_i64(%x: memref<?x?x?xf32>, %v: memref<?xf32>, %c: memref<?xi64>, %p: memref<?xi32>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
    // expected-error @+1 {{effc-gpu-sparse-linears: expected 'effc_uk_sparse_csr_linear' to take (x: 3-D f32, values: 1-D f32, columns: 1-D i32, row_ptr: 1-D i32, bias: 1-D f32, y: 3-D f32) and return nothing}}
    call @effc_uk_sparse_csr_linear(%x, %v, %c, %p, %b, %y) : (memref<?x?x?xf32>, memref<?xf32>, memref<?xi64>, memref<?xi32>, memref<?xf32>, memref<?x?x?xf32>) -> ()
    return
  }
}
