// RUN: effc-opt %s -split-input-file -eff-pack-qkv | FileCheck %s
// RUN: effc-opt %s -split-input-file -eff-pack-qkv -remarks-filter=effc-fusion -remark-format=emitRemark \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// eff-pack-qkv (lib/Dialect/Eff/Transforms/PackQkv.cpp): the q, k and v projections of one input become one
// linear layer over the concatenated weights, sliced; each decision is an effc-fusion remark on the attention.

// Multi-head attention with biases on q only: one [12, 4] weight (q's rows, then k's, then v's), one bias
// with zeros for k and v, three slices of the last dimension; the old constants are gone.
// CHECK-LABEL: func.func @mha
// CHECK-NOT:   arith.constant dense<
// CHECK:       %[[W:.*]] = arith.constant dense_resource<weight.qkv> : tensor<12x4xf32>
// CHECK-NEXT:  %[[B:.*]] = arith.constant dense_resource<weight.qkv{{.*}}> : tensor<12xf32>
// CHECK-NEXT:  %[[QKV:.*]] = eff.linear %arg0, %[[W]], %[[B]] : (tensor<?x?x4xf32>, tensor<12x4xf32>, tensor<12xf32>) -> tensor<?x?x12xf32>
// CHECK:       %[[D0:.*]] = tensor.dim %[[QKV]], %c0
// CHECK:       %[[D1:.*]] = tensor.dim %[[QKV]], %c1
// CHECK-NEXT:  %[[Q:.*]] = tensor.extract_slice %[[QKV]][0, 0, 0] [%[[D0]], %[[D1]], 4] [1, 1, 1] : tensor<?x?x12xf32> to tensor<?x?x4xf32>
// CHECK-NEXT:  %[[K:.*]] = tensor.extract_slice %[[QKV]][0, 0, 4] [%[[D0]], %[[D1]], 4] [1, 1, 1] : tensor<?x?x12xf32> to tensor<?x?x4xf32>
// CHECK-NEXT:  %[[V:.*]] = tensor.extract_slice %[[QKV]][0, 0, 8] [%[[D0]], %[[D1]], 4] [1, 1, 1] : tensor<?x?x12xf32> to tensor<?x?x4xf32>
// CHECK-NEXT:  eff.attention %[[Q]], %[[K]], %[[V]] {num_heads = 2 : i64}
// CHECK-NOT:   eff.linear
// CHECK:       weight.qkv: "0x40000000000080
// CHECK-SAME:  0000004000000040
// CHECK-SAME:  0000404000004040
// CHECK:       weight.qkv{{.*}}: "0x400000000000803F0000004000004040000080400000000000000000
func.func @mha(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %wq = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]> : tensor<4x4xf32>
  %wk = arith.constant dense<2.0> : tensor<4x4xf32>
  %wv = arith.constant dense<3.0> : tensor<4x4xf32>
  %bq = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %q = eff.linear %x, %wq, %bq : (tensor<?x?x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %k = eff.linear %x, %wk : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %v = eff.linear %x, %wv : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  // REMARK: remark: [Passed] qkv-projection | Category:effc-fusion | Remark="query, key and value as one eff.linear over the concatenated [12, 4] weight, sliced"
  %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  return %a : tensor<?x?x4xf32>
}

// -----

// Grouped-query attention with rotary embeddings and a KV cache (Llama): the narrower k and v (one KV head)
// pack with q; rotary still reads q's and k's slices.
// CHECK-LABEL: func.func @gqa_rotary
// CHECK:       %[[QKV:.*]] = eff.linear %arg0, %{{.*}} : (tensor<1x3x8xf32>, tensor<16x8xf32>) -> tensor<1x3x16xf32>
// CHECK-NEXT:  %[[Q:.*]] = tensor.extract_slice %[[QKV]][0, 0, 0] [1, 3, 8] [1, 1, 1] : tensor<1x3x16xf32> to tensor<1x3x8xf32>
// CHECK-NEXT:  %[[K:.*]] = tensor.extract_slice %[[QKV]][0, 0, 8] [1, 3, 4] [1, 1, 1] : tensor<1x3x16xf32> to tensor<1x3x4xf32>
// CHECK-NEXT:  %[[V:.*]] = tensor.extract_slice %[[QKV]][0, 0, 12] [1, 3, 4] [1, 1, 1] : tensor<1x3x16xf32> to tensor<1x3x4xf32>
// CHECK-NEXT:  %[[QR:.*]] = eff.rotary %[[Q]], %arg1
// CHECK-NEXT:  %[[KR:.*]] = eff.rotary %[[K]], %arg1
// CHECK-NEXT:  eff.attention %[[QR]], %[[KR]], %[[V]] past(%arg2, %arg3)
func.func @gqa_rotary(%x: tensor<1x3x8xf32>, %pos: tensor<1x3xi64>, %pk: tensor<1x?x4xf32>, %pv: tensor<1x?x4xf32>) -> (tensor<1x3x8xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) {
  %wq = arith.constant dense<1.0> : tensor<8x8xf32>
  %wk = arith.constant dense<2.0> : tensor<4x8xf32>
  %wv = arith.constant dense<3.0> : tensor<4x8xf32>
  %q = eff.linear %x, %wq : (tensor<1x3x8xf32>, tensor<8x8xf32>) -> tensor<1x3x8xf32>
  %qr = eff.rotary %q, %pos {num_heads = 2 : i64} : (tensor<1x3x8xf32>, tensor<1x3xi64>) -> tensor<1x3x8xf32>
  %k = eff.linear %x, %wk : (tensor<1x3x8xf32>, tensor<4x8xf32>) -> tensor<1x3x4xf32>
  %kr = eff.rotary %k, %pos {num_heads = 1 : i64} : (tensor<1x3x4xf32>, tensor<1x3xi64>) -> tensor<1x3x4xf32>
  %v = eff.linear %x, %wv : (tensor<1x3x8xf32>, tensor<4x8xf32>) -> tensor<1x3x4xf32>
  // REMARK: query, key and value as one eff.linear over the concatenated [16, 8] weight, sliced
  %a, %k2, %v2 = eff.attention %qr, %kr, %v past(%pk, %pv) {num_heads = 2 : i64, num_kv_heads = 1 : i64} : (tensor<1x3x8xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> (tensor<1x3x8xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>)
  return %a, %k2, %v2 : tensor<1x3x8xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>
}

// -----

// Cross-attention: the query reads the decoder state, the key and value the encoder output; k and v pack.
// CHECK-LABEL: func.func @cross
// CHECK:       %[[Q:.*]] = eff.linear %arg0, %{{.*}} : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32>
// CHECK:       %[[KV:.*]] = eff.linear %arg1, %{{.*}} : (tensor<2x5x4xf32>, tensor<8x4xf32>) -> tensor<2x5x8xf32>
// CHECK-NEXT:  %[[K:.*]] = tensor.extract_slice %[[KV]][0, 0, 0] [2, 5, 4]
// CHECK-NEXT:  %[[V:.*]] = tensor.extract_slice %[[KV]][0, 0, 4] [2, 5, 4]
// CHECK-NEXT:  eff.attention %[[Q]], %[[K]], %[[V]]
func.func @cross(%dec: tensor<2x3x4xf32>, %enc: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %wv = arith.constant dense<2.0> : tensor<4x4xf32>
  %q = eff.linear %dec, %w : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32>
  %k = eff.linear %enc, %w : (tensor<2x5x4xf32>, tensor<4x4xf32>) -> tensor<2x5x4xf32>
  %v = eff.linear %enc, %wv : (tensor<2x5x4xf32>, tensor<4x4xf32>) -> tensor<2x5x4xf32>
  // REMARK: key and value as one eff.linear over the concatenated [8, 4] weight, sliced (the query reads another input: cross-attention)
  %a = eff.attention %q, %k, %v {num_heads = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<2x3x4xf32>
  return %a : tensor<2x3x4xf32>
}

// -----

// Quantized projections (int8, as eff-quantize packs them) of 16 output features each concatenate.
// CHECK-LABEL: func.func @int8
// CHECK:       eff.quantized_linear int8 %arg0, %{{.*}} scales(%{{.*}}) column_sums(%{{.*}}) {in_features = 4 : i64, out_features = 48 : i64} : (tensor<1x2x4xf32>, tensor<192xi8>, tensor<48xf32>, tensor<48xi32>) -> tensor<1x2x48xf32>
// CHECK-COUNT-3: tensor.extract_slice
// CHECK-NOT:   eff.quantized_linear
func.func @int8(%x: tensor<1x2x4xf32>) -> tensor<1x2x16xf32> {
  %p = arith.constant dense<1> : tensor<64xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %c = arith.constant dense<4> : tensor<16xi32>
  %q = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%c) {in_features = 4 : i64, out_features = 16 : i64} : (tensor<1x2x4xf32>, tensor<64xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<1x2x16xf32>
  %k = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%c) {in_features = 4 : i64, out_features = 16 : i64} : (tensor<1x2x4xf32>, tensor<64xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<1x2x16xf32>
  %v = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%c) {in_features = 4 : i64, out_features = 16 : i64} : (tensor<1x2x4xf32>, tensor<64xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<1x2x16xf32>
  // REMARK: query, key and value as one eff.quantized_linear over the concatenated [48, 4] weight, sliced
  %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (tensor<1x2x16xf32>, tensor<1x2x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16xf32>
  return %a : tensor<1x2x16xf32>
}

// -----

// Left as they are, each with the reason: LoRA on the query.
// CHECK-LABEL: func.func @lora_query
// CHECK-COUNT-3: eff.linear
// CHECK-NOT:   tensor.extract_slice
func.func @lora_query(%x: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %la = arith.constant dense<1.0> : tensor<1x4xf32>
  %lb = arith.constant dense<1.0> : tensor<4x1xf32>
  %q = eff.linear %x, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  %ql = eff.lora %q, %x, %la, %lb {rank = 1 : i64, alpha = 1.0 : f32} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x4xf32>, tensor<4x1xf32>) -> tensor<1x2x4xf32>
  %k = eff.linear %x, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  %v = eff.linear %x, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  // REMARK: remark: [Missed] qkv-projection | Category:effc-fusion | Remark="the query projection has a LoRA adapter (eff.lora)"
  %a = eff.attention %ql, %k, %v {num_heads = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %a : tensor<1x2x4xf32>
}

// -----

// The key and value read different inputs.
// CHECK-LABEL: func.func @different_inputs
// CHECK-COUNT-3: eff.linear
// CHECK-NOT:   tensor.extract_slice
func.func @different_inputs(%x: tensor<1x2x4xf32>, %y: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = eff.linear %x, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  %k = eff.linear %x, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  %v = eff.linear %y, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  // REMARK: the key and value projections read different inputs
  %a = eff.attention %q, %k, %v {num_heads = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %a : tensor<1x2x4xf32>
}

// -----

// A weight that is a run-time input.
// CHECK-LABEL: func.func @runtime_weight
// CHECK-COUNT-3: eff.linear
func.func @runtime_weight(%x: tensor<1x2x4xf32>, %wq: tensor<4x4xf32>) -> tensor<1x2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %q = eff.linear %x, %wq : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  %k = eff.linear %x, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  %v = eff.linear %x, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  // REMARK: a projection's weights are not compile-time constants
  %a = eff.attention %q, %k, %v {num_heads = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %a : tensor<1x2x4xf32>
}

// -----

// One projection feeding q, k and v (there is nothing to concatenate).
// CHECK-LABEL: func.func @shared_projection
// CHECK-COUNT-1: eff.linear
func.func @shared_projection(%x: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %p = eff.linear %x, %w : (tensor<1x2x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4xf32>
  // REMARK: two of the query, key and value are the same projection
  %a = eff.attention %p, %p, %p {num_heads = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %a : tensor<1x2x4xf32>
}

// -----

// Quantized with 8 output features: the packed 16-row blocks do not concatenate.
// CHECK-LABEL: func.func @int8_partial_block
// CHECK-COUNT-3: eff.quantized_linear
func.func @int8_partial_block(%x: tensor<1x2x4xf32>) -> tensor<1x2x8xf32> {
  %p = arith.constant dense<1> : tensor<64xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %c = arith.constant dense<4> : tensor<16xi32>
  %q = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%c) {in_features = 4 : i64, out_features = 8 : i64} : (tensor<1x2x4xf32>, tensor<64xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<1x2x8xf32>
  %k = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%c) {in_features = 4 : i64, out_features = 8 : i64} : (tensor<1x2x4xf32>, tensor<64xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<1x2x8xf32>
  %v = eff.quantized_linear int8 %x, %p scales(%s) column_sums(%c) {in_features = 4 : i64, out_features = 8 : i64} : (tensor<1x2x4xf32>, tensor<64xi8>, tensor<16xf32>, tensor<16xi32>) -> tensor<1x2x8xf32>
  // REMARK: a quantized projection's out_features is not a multiple of 16, so the packed 16-row blocks do not concatenate
  %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
  return %a : tensor<1x2x8xf32>
}

// -----

// Attention on function arguments is no candidate: no remark.
// REMARK-NOT: remark
// CHECK-LABEL: func.func @arguments
func.func @arguments(%q: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %a = eff.attention %q, %q, %q {num_heads = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %a : tensor<1x2x4xf32>
}
