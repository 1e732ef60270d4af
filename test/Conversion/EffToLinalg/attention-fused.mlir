// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg | FileCheck %s
// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg="fused-attention=false" | FileCheck %s --check-prefix=UNFUSED
// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg="fuse-epilogues=false" | FileCheck %s --check-prefix=SEPARATE

// eff.attention on f32 without head_mask becomes one call of the fused micro-kernel effc_uk_attention_f32
// (lib/Conversion/EffToLinalg/Attention.cpp, ukernels/attention.c). Operands: query, key, value, past key,
// past value, mask (f32), num_heads, num_kv_heads, scale, causal, has_mask, has_past, then the result buffer.
// Other cases, and every case with fused-attention=false, take the linalg lowering (attention.mlir).

// An i64 padding mask becomes f32 0/1 first; GQA heads, the causal flag and the default scale 1/√8.
// CHECK-LABEL: func.func @mask_i64_causal_gqa(
// CHECK-SAME:      %[[Q:.+]]: tensor<?x?x32xf32>, %[[K:.+]]: tensor<?x?x16xf32>, %[[V:.+]]: tensor<?x?x16xf32>, %[[M:.+]]: tensor<?x?xi64>)
// CHECK:         %[[MF:.+]] = linalg.generic {{.*}} ins(%[[M]] : tensor<?x?xi64>) outs(%{{.+}} : tensor<?x?xf32>)
// CHECK:           arith.cmpi eq
// CHECK:           arith.select
// CHECK-DAG:     %[[H:.+]] = arith.constant 4 : i64
// CHECK-DAG:     %[[HKV:.+]] = arith.constant 2 : i64
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 0.353553385 : f32
// CHECK-DAG:     %[[QB:.+]] = bufferization.to_buffer %{{.+}} read_only : tensor<?x?x?xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-DAG:     %[[MB:.+]] = bufferization.to_buffer %[[MF]] read_only
// CHECK:         %[[OUT:.+]] = memref.alloc(%{{.+}}, %{{.+}}) {alignment = 64 : i64} : memref<?x?x32xf32>
// CHECK:         %[[OUTC:.+]] = memref.cast %[[OUT]]
// CHECK:         call @effc_uk_attention_f32(%[[QB]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[MB]], %[[H]], %[[HKV]], %[[SCALE]], %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c0_i64{{[_0-9]*}}, %[[OUTC]])
// CHECK:         %[[T:.+]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK-NOT:     linalg.softmax
// UNFUSED-LABEL: func.func @mask_i64_causal_gqa(
// UNFUSED-NOT:   call @effc_uk_attention_f32
// UNFUSED:       math.exp
func.func @mask_i64_causal_gqa(%q: tensor<?x?x32xf32>, %k: tensor<?x?x16xf32>, %v: tensor<?x?x16xf32>, %m: tensor<?x?xi64>) -> tensor<?x?x32xf32> {
  %o = eff.attention %q, %k, %v mask(%m) {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal}
      : (tensor<?x?x32xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?xi64>) -> tensor<?x?x32xf32>
  return %o : tensor<?x?x32xf32>
}

// -----

// No mask: a 1x1 placeholder, all flags 0; an explicit scale.
// CHECK-LABEL: func.func @no_mask_static(
// CHECK-DAG:     %[[PLACEHOLDER:.+]] = arith.constant dense<1.000000e+00> : tensor<1x1xf32>
// CHECK-DAG:     %[[SCALE:.+]] = arith.constant 3.000000e-01 : f32
// CHECK:         %[[PCAST:.+]] = tensor.cast %[[PLACEHOLDER]] : tensor<1x1xf32> to tensor<?x?xf32>
// CHECK:         %[[MB:.+]] = bufferization.to_buffer %[[PCAST]] read_only
// CHECK:         %[[OUT:.+]] = memref.alloc() {alignment = 64 : i64} : memref<2x5x24xf32>
// CHECK:         call @effc_uk_attention_f32(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[MB]], %{{.+}}, %{{.+}}, %[[SCALE]], %c0_i64{{[_0-9]*}}, %c0_i64{{[_0-9]*}}, %c0_i64{{[_0-9]*}}, %{{.+}})
// CHECK:         bufferization.to_tensor %[[OUT]] restrict writable : memref<2x5x24xf32> to tensor<2x5x24xf32>
func.func @no_mask_static(%q: tensor<2x5x24xf32>, %k: tensor<2x7x24xf32>, %v: tensor<2x7x24xf32>) -> tensor<2x5x24xf32> {
  %o = eff.attention %q, %k, %v {num_heads = 3 : i64, scale = 0.3 : f32}
      : (tensor<2x5x24xf32>, tensor<2x7x24xf32>, tensor<2x7x24xf32>) -> tensor<2x5x24xf32>
  return %o : tensor<2x5x24xf32>
}

// -----

// Decode with a KV cache: the kernel reads past and new keys in place and, as its used `present` results,
// writes the concatenations [B, P + S', Hkv·Dh] while reading them (effc_uk_attention_present_f32: no
// has_past flag, two more result buffers). With fuse-epilogues=false (the CUDA pipeline) the kernel only
// reads the cache (has_past = 1) and the presents are separate concatenations.
// CHECK-LABEL: func.func @decode_with_cache(
// CHECK-SAME:      %[[Q:.+]]: tensor<1x1x64xf32>, %[[K:.+]]: tensor<1x1x64xf32>, %[[V:.+]]: tensor<1x1x64xf32>, %[[PK:.+]]: tensor<1x?x64xf32>, %[[PV:.+]]: tensor<1x?x64xf32>)
// CHECK:         %[[PKLEN:.+]] = tensor.dim %[[PK]], %c1{{.*}} : tensor<1x?x64xf32>
// CHECK:         %[[KLEN:.+]] = arith.constant 1 : index
// CHECK:         %[[KEYS:.+]] = arith.addi %[[PKLEN]], %[[KLEN]] : index
// CHECK:         %[[PVLEN:.+]] = tensor.dim %[[PV]], %c1{{.*}} : tensor<1x?x64xf32>
// CHECK:         %[[VLEN:.+]] = arith.constant 1 : index
// CHECK:         %[[VALUES:.+]] = arith.addi %[[PVLEN]], %[[VLEN]] : index
// CHECK:         %[[PKC:.+]] = tensor.cast %[[PK]] : tensor<1x?x64xf32> to tensor<?x?x?xf32>
// CHECK:         %[[PKB:.+]] = bufferization.to_buffer %[[PKC]] read_only
// CHECK:         %[[PVC:.+]] = tensor.cast %[[PV]] : tensor<1x?x64xf32> to tensor<?x?x?xf32>
// CHECK:         %[[PVB:.+]] = bufferization.to_buffer %[[PVC]] read_only
// CHECK:         %[[OUT:.+]] = memref.alloc() {alignment = 64 : i64} : memref<1x1x64xf32>
// CHECK:         %[[PRK:.+]] = memref.alloc(%[[KEYS]]) {alignment = 64 : i64} : memref<1x?x64xf32>
// CHECK:         %[[PRKC:.+]] = memref.cast %[[PRK]]
// CHECK:         %[[PRV:.+]] = memref.alloc(%[[VALUES]]) {alignment = 64 : i64} : memref<1x?x64xf32>
// CHECK:         %[[PRVC:.+]] = memref.cast %[[PRV]]
// CHECK:         call @effc_uk_attention_present_f32(%{{.+}}, %{{.+}}, %{{.+}}, %[[PKB]], %[[PVB]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c1_i64{{[_0-9]*}}, %c0_i64{{[_0-9]*}}, %{{.+}}, %[[PRKC]], %[[PRVC]])
// CHECK-DAG:     %[[PKT:.+]] = bufferization.to_tensor %[[PRK]] restrict writable : memref<1x?x64xf32> to tensor<1x?x64xf32>
// CHECK-DAG:     %[[PVT:.+]] = bufferization.to_tensor %[[PRV]] restrict writable : memref<1x?x64xf32> to tensor<1x?x64xf32>
// CHECK-NOT:     linalg.generic
// CHECK:         return %{{.+}}, %[[PKT]], %[[PVT]] : tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>
// SEPARATE-LABEL: func.func @decode_with_cache(
// SEPARATE:       call @effc_uk_attention_f32(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c1_i64{{[_0-9]*}}, %c0_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %{{.+}})
// SEPARATE:       linalg.generic
// SEPARATE:         scf.if
// SEPARATE:       linalg.generic
// SEPARATE:         scf.if
// SEPARATE:       return
func.func @decode_with_cache(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>,
                             %pk: tensor<1x?x64xf32>, %pv: tensor<1x?x64xf32>)
    -> (tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>) {
  %o, %k2, %v2 = eff.attention %q, %k, %v past(%pk, %pv) {num_heads = 4 : i64, causal}
      : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
        -> (tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
  return %o, %k2, %v2 : tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>
}

// -----

// Presents declared with a static length the operands do not give statically: the kernel's buffers are sized
// from the operands (P + S' at run time), then cast to the declared type (it never writes past a buffer).
// CHECK-LABEL: func.func @declared_present_length(
// CHECK:         %[[PRK:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<1x?x64xf32>
// CHECK:         %[[PRV:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<1x?x64xf32>
// CHECK:         call @effc_uk_attention_present_f32(
// CHECK:         %[[PKT:.+]] = bufferization.to_tensor %[[PRK]] restrict writable : memref<1x?x64xf32> to tensor<1x?x64xf32>
// CHECK:         tensor.cast %[[PKT]] : tensor<1x?x64xf32> to tensor<1x10x64xf32>
func.func @declared_present_length(%q: tensor<1x1x64xf32>, %k: tensor<1x1x64xf32>, %v: tensor<1x1x64xf32>,
                                   %pk: tensor<1x?x64xf32>, %pv: tensor<1x?x64xf32>)
    -> (tensor<1x1x64xf32>, tensor<1x10x64xf32>, tensor<1x10x64xf32>) {
  %o, %k2, %v2 = eff.attention %q, %k, %v past(%pk, %pv) {num_heads = 4 : i64, causal}
      : (tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x1x64xf32>, tensor<1x?x64xf32>, tensor<1x?x64xf32>)
        -> (tensor<1x1x64xf32>, tensor<1x10x64xf32>, tensor<1x10x64xf32>)
  return %o, %k2, %v2 : tensor<1x1x64xf32>, tensor<1x10x64xf32>, tensor<1x10x64xf32>
}

// -----

// A KV cache whose presents are unused: the kernel only reads it, and nothing is concatenated.
// CHECK-LABEL: func.func @cache_without_presents(
// CHECK:         call @effc_uk_attention_f32(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %c0_i64{{[_0-9]*}}, %c0_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %{{.+}})
// CHECK-NOT:     effc_uk_attention_present_f32
func.func @cache_without_presents(%q: tensor<2x3x32xf32>, %k: tensor<2x3x32xf32>, %v: tensor<2x3x32xf32>,
                                  %pk: tensor<2x5x32xf32>, %pv: tensor<2x5x32xf32>) -> tensor<2x3x32xf32> {
  %o, %k2, %v2 = eff.attention %q, %k, %v past(%pk, %pv) {num_heads = 2 : i64}
      : (tensor<2x3x32xf32>, tensor<2x3x32xf32>, tensor<2x3x32xf32>, tensor<2x5x32xf32>, tensor<2x5x32xf32>)
        -> (tensor<2x3x32xf32>, tensor<2x8x32xf32>, tensor<2x8x32xf32>)
  return %o : tensor<2x3x32xf32>
}

// -----

// head_mask is not implemented by the kernel: linalg lowering.
// CHECK-LABEL: func.func @head_mask_falls_back(
// CHECK-NOT:     call @effc_uk_attention_f32
// CHECK:         math.exp
func.func @head_mask_falls_back(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>, %hm: tensor<2xf32>) -> tensor<2x4x16xf32> {
  %o = eff.attention %q, %k, %v head_mask(%hm) {num_heads = 2 : i64}
      : (tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// f16 operands: linalg lowering (the kernel is f32 only).
// CHECK-LABEL: func.func @f16_falls_back(
// CHECK-NOT:     call @effc_uk_attention_f32
// CHECK:         math.exp
func.func @f16_falls_back(%q: tensor<2x4x16xf16>, %k: tensor<2x4x16xf16>, %v: tensor<2x4x16xf16>) -> tensor<2x4x16xf16> {
  %o = eff.attention %q, %k, %v {num_heads = 2 : i64}
      : (tensor<2x4x16xf16>, tensor<2x4x16xf16>, tensor<2x4x16xf16>) -> tensor<2x4x16xf16>
  return %o : tensor<2x4x16xf16>
}
