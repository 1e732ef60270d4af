// RUN: effc-opt %s --split-input-file --effc-gpu-attention-ukernels -verify-diagnostics

!b3 = memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
!b2 = memref<?x?xf32, strided<[?, ?], offset: ?>>
func.func private @effc_uk_attention_f32(!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3)

// The query's width is not static, so neither is the head size.
func.func @dynamic_head(%q: memref<?x?x?xf32>, %m: !b2, %o: !b3) {
  %c2 = arith.constant 2 : i64
  %c0 = arith.constant 0 : i64
  %scale = arith.constant 2.500000e-01 : f32
  %qc = memref.cast %q : memref<?x?x?xf32> to !b3
  // expected-error @+1 {{effc-gpu-attention-ukernels: the attention's head size must be static}}
  call @effc_uk_attention_f32(%qc, %qc, %qc, %qc, %qc, %m, %c2, %c2, %scale, %c0, %c0, %c0, %o)
      : (!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3) -> ()
  return
}

// -----

!b3 = memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
!b2 = memref<?x?xf32, strided<[?, ?], offset: ?>>
func.func private @effc_uk_attention_f32(!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3)

// Head size 256 (512 / 2) is beyond the device kernel.
func.func @head_too_large(%q: memref<?x?x512xf32>, %m: !b2, %o: !b3) {
  %c2 = arith.constant 2 : i64
  %c0 = arith.constant 0 : i64
  %scale = arith.constant 2.500000e-01 : f32
  %qc = memref.cast %q : memref<?x?x512xf32> to !b3
  // expected-error @+1 {{effc-gpu-attention-ukernels: head size 256 exceeds the device kernel's 128}}
  call @effc_uk_attention_f32(%qc, %qc, %qc, %qc, %qc, %m, %c2, %c2, %scale, %c0, %c0, %c0, %o)
      : (!b3, !b3, !b3, !b3, !b3, !b2, i64, i64, f32, i64, i64, i64, !b3) -> ()
  return
}

// -----

!b3 = memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
func.func private @effc_uk_attention_f32(!b3, i64)

// Not the lowering's signature.
func.func @wrong_signature(%q: !b3) {
  %c2 = arith.constant 2 : i64
  // expected-error @+1 {{effc-gpu-attention-ukernels: expected a call of effc_uk_attention_f32 as convert-eff-to-linalg makes it}}
  call @effc_uk_attention_f32(%q, %c2) : (!b3, i64) -> ()
  return
}
