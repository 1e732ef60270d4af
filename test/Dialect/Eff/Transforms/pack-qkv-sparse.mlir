// RUN: effc-opt %s -eff-sparsify=pattern=2:4 -eff-pack-qkv | FileCheck %s --check-prefix=NM
// RUN: effc-opt %s -eff-sparsify=pattern=unstructured:0.9 -eff-pack-qkv -remarks-filter=effc-fusion \
// RUN:   -remark-format=emitRemark -o /dev/null 2>&1 | FileCheck %s --check-prefix=CSR

// eff-pack-qkv after eff-sparsify: N:M projections concatenate their values and indices row by row (one
// eff.sparse_linear, sliced); CSR projections are left as they are, with the reason.

// NM:      %[[V:.*]] = arith.constant dense_resource<{{.*}}> : tensor<24x4xf32>
// NM-NEXT: %[[I:.*]] = arith.constant dense_resource<{{.*}}> : tensor<24x4xi8>
// NM-NEXT: %[[B:.*]] = arith.constant dense_resource<{{.*}}> : tensor<24xf32>
// NM-NEXT: %[[QKV:.*]] = eff.sparse_linear nm %arg0, %[[V]], %[[I]] bias(%[[B]]) {in_features = 8 : i64, m = 4 : i64, n = 2 : i64, out_features = 24 : i64} : (tensor<1x2x8xf32>, tensor<24x4xf32>, tensor<24x4xi8>, tensor<24xf32>) -> tensor<1x2x24xf32>
// NM-NEXT: %[[Q:.*]] = tensor.extract_slice %[[QKV]][0, 0, 0] [1, 2, 8] [1, 1, 1]
// NM-NEXT: %[[K:.*]] = tensor.extract_slice %[[QKV]][0, 0, 8] [1, 2, 8] [1, 1, 1]
// NM-NEXT: %[[VV:.*]] = tensor.extract_slice %[[QKV]][0, 0, 16] [1, 2, 8] [1, 1, 1]
// NM-NEXT: eff.attention %[[Q]], %[[K]], %[[VV]]
// NM-NOT:  eff.sparse_linear

// CSR: remark: [Missed] qkv-projection | Category:effc-fusion | Remark="the query projection is sparse in CSR, whose row pointers are not packed"
func.func @sparse(%x: tensor<1x2x8xf32>) -> tensor<1x2x8xf32> {
  %wq = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]]> : tensor<8x8xf32>
  %wk = arith.constant dense<[[8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]]> : tensor<8x8xf32>
  %b = arith.constant dense<0.5> : tensor<8xf32>
  %q = eff.linear %x, %wq, %b : (tensor<1x2x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<1x2x8xf32>
  %k = eff.linear %x, %wk, %b : (tensor<1x2x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<1x2x8xf32>
  %v = eff.linear %x, %wq, %b : (tensor<1x2x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<1x2x8xf32>
  %a = eff.attention %q, %k, %v {num_heads = 2 : i64} : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
  return %a : tensor<1x2x8xf32>
}
