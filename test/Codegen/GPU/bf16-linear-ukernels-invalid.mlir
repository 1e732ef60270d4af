// RUN: effc-opt %s --verify-diagnostics --effc-gpu-bf16-linear-ukernels

// A call of the bf16 kernel with operands the lowering does not know (here f16 weights) is refused.
func.func private @effc_uk_quantized_linear_bf16(memref<?x?x?xf32>, memref<?xf16>, memref<?xf32>, i64,
    memref<?x?x?xf32>)
func.func @wrong_weights(%x: memref<?x?x?xf32>, %w: memref<?xf16>, %b: memref<?xf32>, %y: memref<?x?x?xf32>) {
  %c0 = arith.constant 0 : i64
  // expected-error @+1 {{effc-gpu-bf16-linear-ukernels: expected 'effc_uk_quantized_linear_bf16' to take (memref<?x?x?xf32>, memref<?xbf16>, memref<?xf32>, i64, memref<?x?x?xf32>) and return nothing, got}}
  func.call @effc_uk_quantized_linear_bf16(%x, %w, %b, %c0, %y)
      : (memref<?x?x?xf32>, memref<?xf16>, memref<?xf32>, i64, memref<?x?x?xf32>) -> ()
  return
}
