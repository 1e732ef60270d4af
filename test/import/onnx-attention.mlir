// RUN: rm -rf %t && %PYTHON %S/make_onnx_models.py %t
// RUN: effc-import %t/gqa.onnx --report-raising 2>%t/gqa.txt | FileCheck %s --check-prefix=GQA
// RUN: FileCheck %s --check-prefix=GQA-REPORT < %t/gqa.txt
// RUN: effc-import %t/gqa_cache.onnx --report-raising 2>%t/cache.txt | FileCheck %s --check-prefix=CACHE
// RUN: FileCheck %s --check-prefix=CACHE-REPORT < %t/cache.txt
// RUN: effc-import %t/gqa_broadcast.onnx --report-raising 2>&1 >/dev/null | FileCheck %s --check-prefix=BROADCAST
// RUN: effc-import %t/gqa_window.onnx --report-raising 2>&1 >/dev/null | FileCheck %s --check-prefix=WINDOW
// RUN: effc %t/gqa_cache.onnx -o %t/gqa_cache.so
// RUN: effc-import %t/rotary_window.onnx --report-raising 2>&1 | FileCheck %s --check-prefix=ROTARY-WINDOW
// RUN: effc-import %t/rotary_one_row.onnx --report-raising 2>&1 | FileCheck %s --check-prefix=ROTARY-ONE-ROW
// RUN: effc-import %t/attention_bias.onnx --report-raising 2>&1 | FileCheck %s --check-prefix=BIAS
// RUN: effc-import %t/attention_bias_broadcast.onnx --report-raising 2>&1 | FileCheck %s --check-prefix=BIAS-BROADCAST

// Attention with grouped-query heads (make_onnx_models.py's gqa): 4 query heads of 4 share 2 key/value heads,
// repeated by Llama's repeat_kv (Unsqueeze -> Expand -> Reshape, shapes read with Shape -> Gather). The
// importer raises it to one eff.attention with num_kv_heads = 2 on the narrow [B, S, 8] projections: no Expand
// (a broadcasting linalg.generic), no transposes, no 5-D tensor are left.

// GQA:       func.func @main(%[[X:.*]]: tensor<?x?x16xf32> {eff.name = "x"}) -> (tensor<?x?x16xf32> {eff.name = "y"})
// GQA:         %[[Q:.*]] = eff.linear %[[X]], %{{.*}} : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
// GQA-NEXT:    %[[K:.*]] = eff.linear %[[X]], %{{.*}} : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
// GQA-NEXT:    %[[V:.*]] = eff.linear %[[X]], %{{.*}} : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
// GQA-NEXT:    %[[O:.*]] = eff.attention %[[Q]], %[[K]], %[[V]] {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x16xf32>
// GQA-NEXT:    %[[Y:.*]] = eff.linear %[[O]], %{{.*}} : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
// GQA-NEXT:    return %[[Y]]
// GQA-NOT:   linalg.
// GQA-NOT:   eff.attention

// GQA-REPORT: raised attention at node '/attn/hidden' (Reshape) -> eff.attention (4 heads of 4, 2 key/value heads)
// GQA-REPORT: raised 5 subgraphs to eff ops

// With a KV cache (gqa_cache): past_key/past_value [B, 2, P, 4] are concatenated with the new key/value heads
// and returned as present_key/present_value; the causal buffer is sliced at rows [L - S, L) and columns [0, L).
// The cache becomes eff.attention's past operands (transposed to [B, P, 8]), the presents are its results
// transposed back, and no concatenation is left.

// CACHE:       func.func @main(%[[X:.*]]: tensor<?x?x16xf32> {eff.name = "x"}, %[[PK:.*]]: tensor<?x2x?x4xf32> {eff.name = "past_key"}, %[[PV:.*]]: tensor<?x2x?x4xf32> {eff.name = "past_value"})
// CACHE-SAME:    -> (tensor<?x?x16xf32> {eff.name = "y"}, tensor<?x2x?x4xf32> {eff.name = "present_key"}, tensor<?x2x?x4xf32> {eff.name = "present_value"})
// CACHE:         %[[Q:.*]] = eff.linear %[[X]]
// CACHE-NEXT:    %[[K:.*]] = eff.linear %[[X]]
// CACHE-NEXT:    %[[V:.*]] = eff.linear %[[X]]
// CACHE:         %[[PKT:.*]] = linalg.transpose ins(%[[PK]] : tensor<?x2x?x4xf32>) outs(%{{.*}} : tensor<?x?x2x4xf32>) permutation = [0, 2, 1, 3]
// CACHE:         %[[PKH:.*]] = tensor.reshape %[[PKT]](%{{.*}}) : (tensor<?x?x2x4xf32>, tensor<3xindex>) -> tensor<?x?x8xf32>
// CACHE:         %[[PVT:.*]] = linalg.transpose ins(%[[PV]] : tensor<?x2x?x4xf32>)
// CACHE:         %[[PVH:.*]] = tensor.reshape %[[PVT]]
// CACHE:         %[[O:.*]], %[[PRESENT:.*]]:2 = eff.attention %[[Q]], %[[K]], %[[V]] past(%[[PKH]], %[[PVH]]) {causal, num_heads = 4 : i64, num_kv_heads = 2 : i64}
// CACHE-SAME:    -> (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>)
// CACHE:         %[[SK:.*]] = tensor.reshape %[[PRESENT]]#0(%{{.*}}) : (tensor<?x?x8xf32>, tensor<4xindex>) -> tensor<?x?x2x4xf32>
// CACHE:         %[[NK:.*]] = linalg.transpose ins(%[[SK]] : tensor<?x?x2x4xf32>) outs(%{{.*}} : tensor<?x2x?x4xf32>) permutation = [0, 2, 1, 3]
// CACHE:         %[[SV:.*]] = tensor.reshape %[[PRESENT]]#1
// CACHE:         %[[NV:.*]] = linalg.transpose ins(%[[SV]]
// CACHE:         %[[Y:.*]] = eff.linear %[[O]]
// CACHE:         return %[[Y]], %[[NK]], %[[NV]]
// CACHE-NOT:   tensor.concat

// CACHE-REPORT: raised attention at node '/attn/hidden' (Reshape) -> eff.attention (4 heads of 4, 2 key/value heads, causal, KV cache 'past_key', 'past_value')

// Variants whose shapes do not prove the raised meaning are imported op by op, and the report says why: a
// repeat_kv whose Expand sets the batch to a constant 2 (it would broadcast a batch of 1), and a causal buffer
// read at rows [0, S) although the queries are the last S of P + S positions.

// BROADCAST: not raised: attention at node '/attn/hidden' (Reshape): the repeat_kv shapes assume extent 2 for dimension 0 of the key/value heads
// BROADCAST: raised 4 subgraphs to eff ops
// WINDOW:    not raised: attention at node '/attn/hidden' (Reshape): the causal mask is not provably the buffer's rows [L - S, L) and columns [0, L) for S queries and L keys
// WINDOW:    raised 4 subgraphs to eff ops

// Rotary tables of 8 rows read at rows [2, 5) by a Slice, for 3 queries: raised, eff.rotary's positions are
// start + i (start = 2 here; the cache length in a decoder), clamped to the tables' last row as the Slice reads.
// ROTARY-WINDOW:      raised attention at node 'the_attention' (Reshape) -> eff.attention (2 heads of 4, rotary theta 10000.000000 from position 'q_heads_cos_w0')
// ROTARY-WINDOW:      %[[P:.*]] = linalg.generic
// ROTARY-WINDOW:        %[[I:.*]] = linalg.index 0 : index
// ROTARY-WINDOW-NEXT:   %[[AT:.*]] = arith.addi %[[I]], %c2 : index
// ROTARY-WINDOW:        arith.minsi %[[AT]], %c7 : index
// ROTARY-WINDOW:      eff.rotary %arg0, %[[P]] {num_heads = 2 : i64} : (tensor<1x3x8xf32>, tensor<?xi64>) -> tensor<1x3x8xf32>

// Row 0 alone, broadcast to the 3 queries: not eff.rotary at positions 0..2, so imported op by op.
// ROTARY-ONE-ROW:     not raised: attention at node 'the_attention' (Reshape): the rotary embedding at node 'q_heads/Add' is not raised: the tables' rows are not provably start..start+S-1 for S rotated positions
// ROTARY-ONE-ROW:     raised 0 subgraphs to eff ops
// ROTARY-ONE-ROW-NOT: eff.rotary
// ROTARY-ONE-ROW:     tensor.extract_slice %{{.*}}[0, 0] [1, 4] [1, 1] : tensor<8x4xf32> to tensor<1x4xf32>

// A score bias added to the scaled scores (T5's relative position bias is one), [1, H, S, L]: eff.attention's
// bias operand. One of [1, H, S, 1] (broadcast over the keys) is valid ONNX but not that operand: op by op.
// BIAS:               raised attention at node 'the_attention' (Reshape) -> eff.attention (2 heads of 4, score bias 'bias')
// BIAS:               eff.attention %arg0, %arg1, %arg2 bias(%arg3) {num_heads = 2 : i64} : (tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>, tensor<1x2x3x3xf32>) -> tensor<1x3x8xf32>
// BIAS-BROADCAST:     not raised: attention at node 'the_attention' (Reshape): the score bias 'bias' is not provably [1 or batch, 2, queries, keys]
// BIAS-BROADCAST-NOT: eff.attention
