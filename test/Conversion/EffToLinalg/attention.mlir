// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg="fused-attention=false" | FileCheck %s

// Lowering of eff.embedding, eff.position_ids, eff.rotary and eff.attention (lib/Conversion/EffToLinalg/
// Attention.cpp), with eff.attention on the linalg path (fused-attention=false; the fused micro-kernel call
// is checked in attention-fused.mlir). Affine maps are printed before the function of their split, so their CHECK-DAGs stand
// before the CHECK-LABEL of the function that uses them and capture global ($) variables.

// CHECK-DAG: #[[$EMB_IDS:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$EMB_OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @embedding_token(
// CHECK-SAME:      %[[TABLE:.+]]: tensor<100x16xf32>, %[[IDS:.+]]: tensor<?x8xi64>)
// CHECK:         %[[B:.+]] = tensor.dim %[[IDS]], %{{.+}} : tensor<?x8xi64>
// CHECK:         %[[INIT:.+]] = tensor.empty(%[[B]]) : tensor<?x8x16xf32>
// CHECK:         %[[G:.+]] = linalg.generic {indexing_maps = [#[[$EMB_IDS]], #[[$EMB_OUT]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[IDS]] : tensor<?x8xi64>) outs(%[[INIT]] : tensor<?x8x16xf32>)
// CHECK:         ^bb0(%[[ID:.+]]: i64, %{{.+}}: f32):
// CHECK:           %[[ROW:.+]] = arith.index_cast %[[ID]] : i64 to index
// CHECK:           %[[COL:.+]] = linalg.index 2 : index
// CHECK:           %[[E:.+]] = tensor.extract %[[TABLE]][%[[ROW]], %[[COL]]] : tensor<100x16xf32>
// CHECK:           linalg.yield %[[E]] : f32
// CHECK:         %[[CAST:.+]] = tensor.cast %[[G]] : tensor<?x8x16xf32> to tensor<?x8x16xf32>
// CHECK:         return %[[CAST]]
func.func @embedding_token(%table: tensor<100x16xf32>, %ids: tensor<?x8xi64>) -> tensor<?x8x16xf32> {
  %e = eff.embedding token %table[%ids] : (tensor<100x16xf32>, tensor<?x8xi64>) -> tensor<?x8x16xf32>
  return %e : tensor<?x8x16xf32>
}

// -----

// Rank-1 i32 indices and an f16 table: the element is copied, no arithmetic.
// CHECK-LABEL: func.func @embedding_rank1_i32(
// CHECK:         linalg.generic {{.*}} ins(%{{.+}} : tensor<8xi32>) outs(%{{.+}} : tensor<8x16xf16>)
// CHECK:           arith.index_cast %{{.+}} : i32 to index
// CHECK:           linalg.index 1 : index
// CHECK:           tensor.extract %{{.+}} : tensor<512x16xf16>
// CHECK-NOT:       arith.extf
// CHECK:         } -> tensor<8x16xf16>
func.func @embedding_rank1_i32(%table: tensor<512x16xf16>, %ids: tensor<8xi32>) -> tensor<8x16xf16> {
  %e = eff.embedding position %table[%ids] : (tensor<512x16xf16>, tensor<8xi32>) -> tensor<8x16xf16>
  return %e : tensor<8x16xf16>
}

// -----

// CHECK-LABEL: func.func @position_ids_offset(
// CHECK-SAME:      %[[IDS:.+]]: tensor<?x?xi32>, %[[PAST:.+]]: index)
// CHECK:         %[[INIT:.+]] = tensor.empty(%{{.+}}, %{{.+}}) : tensor<?x?xi32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} outs(%[[INIT]] : tensor<?x?xi32>)
// CHECK:           %[[S:.+]] = linalg.index 1 : index
// CHECK:           %[[P:.+]] = arith.addi %[[PAST]], %[[S]] : index
// CHECK:           %[[PI:.+]] = arith.index_cast %[[P]] : index to i32
// CHECK:           linalg.yield %[[PI]] : i32
func.func @position_ids_offset(%ids: tensor<?x?xi32>, %past: index) -> tensor<?x?xi32> {
  %p = eff.position_ids %ids offset %past : tensor<?x?xi32>
  return %p : tensor<?x?xi32>
}

// -----

// CHECK-LABEL: func.func @position_ids_no_offset(
// CHECK:         linalg.generic {{.*}} outs(%{{.+}} : tensor<2x8xi64>)
// CHECK:           %[[S:.+]] = linalg.index 1 : index
// CHECK-NOT:       arith.addi
// CHECK:           %[[SI:.+]] = arith.index_cast %[[S]] : index to i64
// CHECK:           linalg.yield %[[SI]] : i64
func.func @position_ids_no_offset(%ids: tensor<2x8xi64>) -> tensor<2x8xi64> {
  %p = eff.position_ids %ids : tensor<2x8xi64>
  return %p : tensor<2x8xi64>
}

// -----

// Rotate-half, Dh = 16 = R: pairs (j, j + 8), inv_freq = exp(i · (−2 ln 10000 / 16)).
// CHECK-DAG: #[[$ROT_X:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROT_POS:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @rotary_rotate_half(
// CHECK-SAME:      %[[X:.+]]: tensor<2x8x64xf32>, %[[POS:.+]]: tensor<2x8xi64>)
// CHECK-DAG:     %[[DH:.+]] = arith.constant 16 : index
// CHECK-DAG:     %[[HALF:.+]] = arith.constant 8 : index
// CHECK-DAG:     %[[COEF:.+]] = arith.constant -1.15129256 : f32
// CHECK:         linalg.generic {indexing_maps = [#[[$ROT_X]], #[[$ROT_POS]], #[[$ROT_X]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[X]], %[[POS]] : tensor<2x8x64xf32>, tensor<2x8xi64>)
// CHECK:         ^bb0(%[[IN:.+]]: f32, %[[P:.+]]: i64, %{{.+}}: f32):
// CHECK:           %[[I0:.+]] = linalg.index 0 : index
// CHECK:           %[[I1:.+]] = linalg.index 1 : index
// CHECK:           %[[C:.+]] = linalg.index 2 : index
// CHECK:           %[[J:.+]] = arith.remui %[[C]], %[[DH]] : index
// CHECK:           %[[ROTATED:.+]] = arith.cmpi ult, %[[J]], %[[DH]] : index
// CHECK:           %[[FIRST:.+]] = arith.cmpi ult, %[[J]], %[[HALF]] : index
// CHECK:           %[[AFTER:.+]] = arith.addi %[[C]], %[[HALF]] : index
// CHECK:           %[[BEFORE:.+]] = arith.subi %[[C]], %[[HALF]] : index
// CHECK:           %[[PARTNER:.+]] = arith.select %[[FIRST]], %[[AFTER]], %[[BEFORE]] : index
// CHECK:           %[[SAFE:.+]] = arith.select %[[ROTATED]], %[[PARTNER]], %[[C]] : index
// CHECK:           %[[Y:.+]] = tensor.extract %[[X]][%[[I0]], %[[I1]], %[[SAFE]]] : tensor<2x8x64xf32>
// CHECK:           %[[PF:.+]] = arith.sitofp %[[P]] : i64 to f32
// CHECK:           %[[E:.+]] = arith.mulf %{{.+}}, %[[COEF]] : f32
// CHECK:           %[[INV:.+]] = math.exp %[[E]] : f32
// CHECK:           %[[A:.+]] = arith.mulf %[[PF]], %[[INV]] : f32
// CHECK:           %[[COS:.+]] = math.cos %[[A]] : f32
// CHECK:           %[[SIN:.+]] = math.sin %[[A]] : f32
// CHECK:           %[[XC:.+]] = arith.mulf %[[IN]], %[[COS]] : f32
// CHECK:           %[[YS:.+]] = arith.mulf %[[Y]], %[[SIN]] : f32
// CHECK:           %[[MINUS:.+]] = arith.subf %[[XC]], %[[YS]] : f32
// CHECK:           %[[PLUS:.+]] = arith.addf %[[XC]], %[[YS]] : f32
// CHECK:           %[[R:.+]] = arith.select %[[FIRST]], %[[MINUS]], %[[PLUS]] : f32
// CHECK:           %[[OUT:.+]] = arith.select %[[ROTATED]], %[[R]], %[[IN]] : f32
// CHECK:           linalg.yield %[[OUT]] : f32
func.func @rotary_rotate_half(%q: tensor<2x8x64xf32>, %pos: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  %r = eff.rotary %q, %pos {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8xi64>) -> tensor<2x8x64xf32>
  return %r : tensor<2x8x64xf32>
}

// -----

// Interleaved, partial (R = 8 of Dh = 16), positions per sequence position ([S]): pairs (2i, 2i+1).
// CHECK-DAG: #[[$ROT_X:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$ROT_S:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @rotary_interleaved_per_position(
// CHECK-DAG:     %[[DH:.+]] = arith.constant 16 : index
// CHECK-DAG:     %[[R:.+]] = arith.constant 8 : index
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG:     arith.constant -3.28059077 : f32
// CHECK:         linalg.generic {indexing_maps = [#[[$ROT_X]], #[[$ROT_S]], #[[$ROT_X]]]
// CHECK-SAME:        ins(%{{.+}}, %{{.+}} : tensor<?x?x64xf32>, tensor<?xi32>)
// CHECK:           %[[C:.+]] = linalg.index 2 : index
// CHECK:           %[[J:.+]] = arith.remui %[[C]], %[[DH]] : index
// CHECK:           arith.cmpi ult, %[[J]], %[[R]] : index
// CHECK:           %[[PARITY:.+]] = arith.remui %[[J]], %[[C2]] : index
// CHECK:           arith.cmpi eq, %[[PARITY]], %[[C0]] : index
// CHECK:           arith.divui %[[J]], %[[C2]] : index
// CHECK:           arith.addi %[[C]], %[[C1]] : index
// CHECK:           arith.subi %[[C]], %[[C1]] : index
// CHECK:           tensor.extract
// CHECK:           arith.sitofp %{{.+}} : i32 to f32
// CHECK:           math.cos
// CHECK:           math.sin
// CHECK:         } -> tensor<?x?x64xf32>
func.func @rotary_interleaved_per_position(%q: tensor<?x?x64xf32>, %pos: tensor<?xi32>) -> tensor<?x?x64xf32> {
  %r = eff.rotary %q, %pos {num_heads = 4 : i64, rotary_dim = 8 : i64, interleaved, theta = 5.0e+05 : f32} : (tensor<?x?x64xf32>, tensor<?xi32>) -> tensor<?x?x64xf32>
  return %r : tensor<?x?x64xf32>
}

// -----

// bf16 with a dynamic hidden size: Dh = hidden / 4 at run time, arithmetic in f32.
// CHECK-LABEL: func.func @rotary_bf16_dynamic_hidden(
// CHECK-SAME:      %[[X:.+]]: tensor<?x?x?xbf16>
// CHECK:         %[[HIDDEN:.+]] = tensor.dim %[[X]], %{{.+}} : tensor<?x?x?xbf16>
// CHECK:         %[[DH:.+]] = arith.divui %[[HIDDEN]], %{{.+}} : index
// CHECK:         %[[RF:.+]] = arith.sitofp %{{.+}} : i64 to f32
// CHECK:         %[[COEF:.+]] = arith.divf %{{.+}}, %[[RF]] : f32
// CHECK:         linalg.generic
// CHECK:           arith.remui %{{.+}}, %[[DH]] : index
// CHECK:           arith.extf %{{.+}} : bf16 to f32
// CHECK:           arith.mulf %{{.+}}, %[[COEF]] : f32
// CHECK:           arith.truncf %{{.+}} : f32 to bf16
// CHECK:         } -> tensor<?x?x?xbf16>
func.func @rotary_bf16_dynamic_hidden(%q: tensor<?x?x?xbf16>, %pos: tensor<?x?xi64>) -> tensor<?x?x?xbf16> {
  %r = eff.rotary %q, %pos {num_heads = 4 : i64} : (tensor<?x?x?xbf16>, tensor<?x?xi64>) -> tensor<?x?x?xbf16>
  return %r : tensor<?x?x?xbf16>
}

// -----

// Multi-head attention (G = 1): Q·Kᵀ and P·V as batched matmuls over (b, g) in the streaming form (rows
// (r, i) flattened, right-hand side read [K, N] after a transpose), scale 1/√16, softmax over j.
// CHECK-DAG: #[[$MM_A:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[$MM_B:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
// CHECK-DAG: #[[$MM_C:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$ID5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @attention_mha(
// CHECK-SAME:      %[[Q:.+]]: tensor<2x8x64xf32>, %[[K:.+]]: tensor<2x8x64xf32>, %[[V:.+]]: tensor<2x8x64xf32>)
// CHECK-DAG:     %[[Q5:.+]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1], [2, 3, 4]] output_shape [2, 8, 4, 1, 16] : tensor<2x8x64xf32> into tensor<2x8x4x1x16xf32>
// CHECK-DAG:     %[[K4:.+]] = tensor.expand_shape %[[K]] {{\[}}[0], [1], [2, 3]] output_shape [2, 8, 4, 16] : tensor<2x8x64xf32> into tensor<2x8x4x16xf32>
// CHECK-DAG:     %[[V4:.+]] = tensor.expand_shape %[[V]] {{\[}}[0], [1], [2, 3]] output_shape [2, 8, 4, 16] : tensor<2x8x64xf32> into tensor<2x8x4x16xf32>
// CHECK:         %[[QT:.+]] = linalg.transpose ins(%[[Q5]] : tensor<2x8x4x1x16xf32>) {{.*}} permutation = [0, 2, 3, 1, 4]
// CHECK:         %[[QROWS:.+]] = tensor.collapse_shape %[[QT]] {{\[}}[0], [1], [2, 3], [4]] : tensor<2x4x1x8x16xf32> into tensor<2x4x8x16xf32>
// CHECK:         %[[KT:.+]] = linalg.transpose ins(%[[K4]] : tensor<2x8x4x16xf32>) {{.*}} permutation = [0, 2, 3, 1]
// CHECK:         %[[QK:.+]] = linalg.generic {indexing_maps = [#[[$MM_A]], #[[$MM_B]], #[[$MM_C]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[QROWS]], %[[KT]] : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>) outs(%{{.+}} : tensor<2x4x8x8xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         %[[QK5:.+]] = tensor.expand_shape %[[QK]] {{\[}}[0], [1], [2, 3], [4]] output_shape [2, 4, 1, 8, 8] : tensor<2x4x8x8xf32> into tensor<2x4x1x8x8xf32>
// CHECK:         %[[SCALE:.+]] = arith.constant 2.500000e-01 : f32
// CHECK:         %[[SCORES:.+]] = linalg.generic {indexing_maps = [#[[$ID5]], #[[$ID5]]], {{.*}} ins(%[[QK5]]
// CHECK:           arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK-NOT:       arith.select
// CHECK:         %[[MAX:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[SCORES]]
// CHECK:           arith.maximumf
// CHECK:         %[[SUM:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[SCORES]], %[[MAX]]
// CHECK:           math.exp
// CHECK:           arith.addf
// CHECK:         %[[PROB:.+]] = linalg.generic {{.*}} ins(%[[SCORES]], %[[MAX]], %[[SUM]]
// CHECK:           math.exp
// CHECK:           arith.divf
// CHECK:         %[[PROWS:.+]] = tensor.collapse_shape %[[PROB]] {{\[}}[0], [1], [2, 3], [4]] : tensor<2x4x1x8x8xf32> into tensor<2x4x8x8xf32>
// CHECK:         %[[VT:.+]] = linalg.transpose ins(%[[V4]] : tensor<2x8x4x16xf32>) {{.*}} permutation = [0, 2, 1, 3]
// CHECK:         %[[PV:.+]] = linalg.generic {indexing_maps = [#[[$MM_A]], #[[$MM_B]], #[[$MM_C]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[PROWS]], %[[VT]] : tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) outs(%{{.+}} : tensor<2x4x8x16xf32>)
// CHECK:         %[[PV5:.+]] = tensor.expand_shape %[[PV]] {{\[}}[0], [1], [2, 3], [4]] output_shape [2, 4, 1, 8, 16]
// CHECK:         %[[HEADS:.+]] = linalg.transpose ins(%[[PV5]] : tensor<2x4x1x8x16xf32>) {{.*}} permutation = [0, 3, 1, 2, 4]
// CHECK:         %[[OUT:.+]] = tensor.collapse_shape %[[HEADS]] {{\[}}[0], [1], [2, 3, 4]] : tensor<2x8x4x1x16xf32> into tensor<2x8x64xf32>
// CHECK:         %[[CAST:.+]] = tensor.cast %[[OUT]] : tensor<2x8x64xf32> to tensor<2x8x64xf32>
// CHECK:         return %[[CAST]]
func.func @attention_mha(%q: tensor<2x8x64xf32>, %k: tensor<2x8x64xf32>, %v: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<2x8x64xf32>) -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}

// -----

// Grouped-query (Hkv = 4, G = 2), dynamic B/S/L, explicit scale, causal and an i64 padding mask; the
// softmax guards fully masked rows (max = −inf → subtract 0; sum = 0 → divide by 1).
// CHECK-DAG: #[[$ID5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[$MASK:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d4)>
// CHECK-LABEL: func.func @attention_gqa_causal_mask(
// CHECK-SAME:      %[[Q:.+]]: tensor<?x?x64xf32>, %[[K:.+]]: tensor<?x?x32xf32>, %[[V:.+]]: tensor<?x?x32xf32>, %[[M:.+]]: tensor<?x?xi64>)
// CHECK:         tensor.expand_shape %[[Q]] {{\[}}[0], [1], [2, 3, 4]] output_shape [%{{.+}}, %{{.+}}, 4, 2, 8] : tensor<?x?x64xf32> into tensor<?x?x4x2x8xf32>
// CHECK:         tensor.expand_shape %[[K]] {{\[}}[0], [1], [2, 3]] output_shape [%{{.+}}, %{{.+}}, 4, 8] : tensor<?x?x32xf32> into tensor<?x?x4x8xf32>
// CHECK:         tensor.expand_shape %[[V]] {{\[}}[0], [1], [2, 3]] output_shape [%{{.+}}, %{{.+}}, 4, 8] : tensor<?x?x32xf32> into tensor<?x?x4x8xf32>
// CHECK:         %[[QKF:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<?x4x?x?xf32>)
// CHECK:         %[[QK:.+]] = tensor.expand_shape %[[QKF]] {{\[}}[0], [1], [2, 3], [4]] output_shape [%{{.+}}, 4, 2, %[[S:[a-z0-9_]+]], %[[L:[a-z0-9_]+]]] : tensor<?x4x?x?xf32> into tensor<?x4x2x?x?xf32>
// CHECK:         %[[SCALE:.+]] = arith.constant 5.000000e-01 : f32
// CHECK:         %[[SHIFT:.+]] = arith.subi %[[L]], %[[S]] : index
// CHECK:         %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[MZERO:.+]] = arith.constant 0 : i64
// CHECK:         %[[SCORES:.+]] = linalg.generic {indexing_maps = [#[[$ID5]], #[[$MASK]], #[[$ID5]]], {{.*}} ins(%[[QK]], %[[M]] : tensor<?x4x2x?x?xf32>, tensor<?x?xi64>)
// CHECK:           ^bb0(%[[SC:.+]]: f32, %[[MV:.+]]: i64, %{{.+}}: f32):
// CHECK:           %[[SCALED:.+]] = arith.mulf %[[SC]], %[[SCALE]] : f32
// CHECK:           %[[I:.+]] = linalg.index 3 : index
// CHECK:           %[[J:.+]] = linalg.index 4 : index
// CHECK:           %[[LIMIT:.+]] = arith.addi %[[I]], %[[SHIFT]] : index
// CHECK:           %[[FUTURE:.+]] = arith.cmpi sgt, %[[J]], %[[LIMIT]] : index
// CHECK:           %[[PAD:.+]] = arith.cmpi eq, %[[MV]], %[[MZERO]] : i64
// CHECK:           %[[MASKED:.+]] = arith.ori %[[FUTURE]], %[[PAD]] : i1
// CHECK:           %[[SEL:.+]] = arith.select %[[MASKED]], %[[NEGINF]], %[[SCALED]] : f32
// CHECK:           linalg.yield %[[SEL]] : f32
// CHECK:         %[[MAX:.+]] = linalg.generic {{.*}} ins(%[[SCORES]] : tensor<?x4x2x?x?xf32>)
// CHECK:         %[[SUM:.+]] = linalg.generic {{.*}} ins(%[[SCORES]], %[[MAX]] : tensor<?x4x2x?x?xf32>, tensor<?x4x2x?xf32>)
// CHECK:           %[[ISINF:.+]] = arith.cmpf oeq, %{{.+}}, %[[NEGINF]] : f32
// CHECK:           arith.select %[[ISINF]]
// CHECK:         linalg.generic {{.*}} ins(%[[SCORES]], %[[MAX]], %[[SUM]] :
// CHECK:           arith.cmpf oeq, %{{.+}}, %[[NEGINF]] : f32
// CHECK:           math.exp
// CHECK:           %[[EMPTYROW:.+]] = arith.cmpf oeq, %{{.+}}, %{{.+}} : f32
// CHECK:           %[[DEN:.+]] = arith.select %[[EMPTYROW]], %{{.+}}, %{{.+}} : f32
// CHECK:           arith.divf %{{.+}}, %[[DEN]] : f32
// CHECK:         linalg.transpose {{.*}} outs(%{{.+}} : tensor<?x?x4x2x8xf32>)
// CHECK:         tensor.collapse_shape %{{.+}} {{\[}}[0], [1], [2, 3, 4]] : tensor<?x?x4x2x8xf32> into tensor<?x?x64xf32>
func.func @attention_gqa_causal_mask(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>, %m: tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  %o = eff.attention %q, %k, %v mask(%m) {num_heads = 8 : i64, num_kv_heads = 4 : i64, causal, scale = 0.5 : f32} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
  return %o : tensor<?x?x64xf32>
}

// -----

// Multi-query (Hkv = 1), i1 padding mask, head mask viewed as [Hkv, G] = [1, 4].
// CHECK-DAG: #[[$HEADS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
// CHECK-LABEL: func.func @attention_mqa_bool_mask_head_mask(
// CHECK-SAME:      %[[HM:[^:]+]]: tensor<4xf32>)
// CHECK:         tensor.expand_shape %{{.+}} {{\[}}[0], [1], [2, 3, 4]] output_shape [1, 4, 1, 4, 16] : tensor<1x4x64xf32> into tensor<1x4x1x4x16xf32>
// CHECK:         tensor.expand_shape %{{.+}} {{\[}}[0], [1], [2, 3]] output_shape [1, 6, 1, 16] : tensor<1x6x16xf32> into tensor<1x6x1x16xf32>
// CHECK:         linalg.generic {{.*}} outs(%{{.+}} : tensor<1x1x16x6xf32>)
// CHECK:         %[[FALSE:.+]] = arith.constant false
// CHECK:         linalg.generic {{.*}} tensor<1x6xi1>
// CHECK:           arith.cmpi eq, %{{.+}}, %[[FALSE]] : i1
// CHECK-NOT:       linalg.index
// CHECK:         %[[HM2:.+]] = tensor.expand_shape %[[HM]] {{\[}}[0, 1]] output_shape [1, 4] : tensor<4xf32> into tensor<1x4xf32>
// CHECK:         linalg.generic {indexing_maps = [{{.*}}, #[[$HEADS]], {{.*}}]{{.*}} ins({{.*}}, %[[HM2]] : {{.*}}, tensor<1x4xf32>)
// CHECK:           %[[P:.+]] = arith.divf
// CHECK:           %[[PH:.+]] = arith.mulf %[[P]], %{{.+}} : f32
// CHECK:           linalg.yield %[[PH]] : f32
// CHECK:         tensor.collapse_shape %{{.+}} : tensor<1x4x1x4x16xf32> into tensor<1x4x64xf32>
func.func @attention_mqa_bool_mask_head_mask(%q: tensor<1x4x64xf32>, %k: tensor<1x6x16xf32>, %v: tensor<1x6x16xf32>, %m: tensor<1x6xi1>, %hm: tensor<4xf32>) -> tensor<1x4x64xf32> {
  %o = eff.attention %q, %k, %v mask(%m) head_mask(%hm) {num_heads = 4 : i64, num_kv_heads = 1 : i64} : (tensor<1x4x64xf32>, tensor<1x6x16xf32>, tensor<1x6x16xf32>, tensor<1x6xi1>, tensor<4xf32>) -> tensor<1x4x64xf32>
  return %o : tensor<1x4x64xf32>
}

// -----

// KV cache: K and V are past ++ new along the sequence (a gather generic, not tensor.concat, whose strided
// memref.copy needs the memrefCopy library call) and are returned as `present`; f16 operands are
// accumulated in f32 and the output is truncated once; an f16 padding mask compares to 0.0.
// CHECK-LABEL: func.func @attention_past_f16(
// CHECK-SAME:      %[[Q:.+]]: tensor<1x1x64xf16>, %[[K:.+]]: tensor<1x1x32xf16>, %[[V:.+]]: tensor<1x1x32xf16>, %[[M:.+]]: tensor<1x?xf16>, %[[PK:.+]]: tensor<1x?x32xf16>, %[[PV:.+]]: tensor<1x?x32xf16>)
// CHECK:         %[[P:.+]] = tensor.dim %[[PK]], %{{.+}} : tensor<1x?x32xf16>
// CHECK:         %[[LK:.+]] = arith.addi %[[P]], %{{.+}} : index
// CHECK:         %[[KINIT:.+]] = tensor.empty(%[[LK]]) : tensor<1x?x32xf16>
// CHECK:         %[[KALL:.+]] = linalg.generic {{.*}} outs(%[[KINIT]] : tensor<1x?x32xf16>)
// CHECK:           %[[B:.+]] = linalg.index 0 : index
// CHECK:           %[[J:.+]] = linalg.index 1 : index
// CHECK:           %[[C:.+]] = linalg.index 2 : index
// CHECK:           %[[INPAST:.+]] = arith.cmpi ult, %[[J]], %[[P]] : index
// CHECK:           %[[E:.+]] = scf.if %[[INPAST]] -> (f16) {
// CHECK:             %[[EP:.+]] = tensor.extract %[[PK]][%[[B]], %[[J]], %[[C]]] : tensor<1x?x32xf16>
// CHECK:             scf.yield %[[EP]] : f16
// CHECK:           } else {
// CHECK:             %[[JN:.+]] = arith.subi %[[J]], %[[P]] : index
// CHECK:             %[[EN:.+]] = tensor.extract %[[K]][%[[B]], %[[JN]], %[[C]]] : tensor<1x1x32xf16>
// CHECK:             scf.yield %[[EN]] : f16
// CHECK:           linalg.yield %[[E]] : f16
// CHECK:         %[[VALL:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<1x?x32xf16>)
// CHECK:             tensor.extract %[[PV]]
// CHECK:             tensor.extract %[[V]]
// CHECK:         tensor.expand_shape %[[Q]] {{.*}} into tensor<1x1x2x2x16xf16>
// CHECK:         tensor.expand_shape %[[KALL]] {{.*}} into tensor<1x?x2x16xf16>
// CHECK:         tensor.expand_shape %[[VALL]] {{.*}} into tensor<1x?x2x16xf16>
// CHECK:         linalg.generic {{.*}} outs(%{{.+}} : tensor<1x2x2x?xf32>)
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:           arith.extf %{{.+}} : f16 to f32
// CHECK:         arith.constant 2.500000e-01 : f32
// CHECK:         %[[FZERO:.+]] = arith.constant 0.000000e+00 : f16
// CHECK:         linalg.generic {{.*}} ins(%{{.+}}, %[[M]] : tensor<1x2x2x1x?xf32>, tensor<1x?xf16>)
// CHECK:           arith.cmpi sgt
// CHECK:           arith.cmpf oeq, %{{.+}}, %[[FZERO]] : f16
// CHECK:         linalg.transpose {{.*}} outs(%{{.+}} : tensor<1x1x2x2x16xf32>)
// CHECK:         %[[TRUNC:.+]] = linalg.generic {{.*}} outs(%{{.+}} : tensor<1x1x2x2x16xf16>)
// CHECK:           arith.truncf %{{.+}} : f32 to f16
// CHECK:         %[[OUT:.+]] = tensor.collapse_shape %[[TRUNC]] {{.*}} into tensor<1x1x64xf16>
// CHECK:         %[[O:.+]] = tensor.cast %[[OUT]] : tensor<1x1x64xf16> to tensor<1x1x64xf16>
// CHECK:         %[[PRESK:.+]] = tensor.cast %[[KALL]] : tensor<1x?x32xf16> to tensor<1x?x32xf16>
// CHECK:         %[[PRESV:.+]] = tensor.cast %[[VALL]] : tensor<1x?x32xf16> to tensor<1x?x32xf16>
// CHECK:         return %[[O]], %[[PRESK]], %[[PRESV]]
func.func @attention_past_f16(%q: tensor<1x1x64xf16>, %k: tensor<1x1x32xf16>, %v: tensor<1x1x32xf16>, %m: tensor<1x?xf16>, %pk: tensor<1x?x32xf16>, %pv: tensor<1x?x32xf16>) -> (tensor<1x1x64xf16>, tensor<1x?x32xf16>, tensor<1x?x32xf16>) {
  %o, %kk, %vv = eff.attention %q, %k, %v mask(%m) past(%pk, %pv) {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal} : (tensor<1x1x64xf16>, tensor<1x1x32xf16>, tensor<1x1x32xf16>, tensor<1x?xf16>, tensor<1x?x32xf16>, tensor<1x?x32xf16>) -> (tensor<1x1x64xf16>, tensor<1x?x32xf16>, tensor<1x?x32xf16>)
  return %o, %kk, %vv : tensor<1x1x64xf16>, tensor<1x?x32xf16>, tensor<1x?x32xf16>
}

// -----

// Dynamic hidden sizes: Dh = hidden / H at run time and the default scale is 1 / sqrt(Dh).
// CHECK-LABEL: func.func @attention_dynamic_hidden(
// CHECK-SAME:      %[[Q:.+]]: tensor<?x?x?xf32>, %[[K:.+]]: tensor<?x?x?xf32>, %[[V:.+]]: tensor<?x?x?xf32>)
// CHECK:         %[[QH:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<?x?x?xf32>
// CHECK:         %[[QDH:.+]] = arith.divui %[[QH]], %{{.+}} : index
// CHECK:         tensor.expand_shape %[[Q]] {{\[}}[0], [1], [2, 3, 4]] output_shape [%{{.+}}, %{{.+}}, 2, 2, %[[QDH]]] : tensor<?x?x?xf32> into tensor<?x?x2x2x?xf32>
// CHECK:         tensor.expand_shape %[[K]] {{\[}}[0], [1], [2, 3]] output_shape [%{{.+}}, %{{.+}}, 2, %{{.+}}] : tensor<?x?x?xf32> into tensor<?x?x2x?xf32>
// CHECK:         %[[ROOT:.+]] = math.sqrt %{{.+}} : f32
// CHECK:         %[[SCALE:.+]] = arith.divf %{{.+}}, %[[ROOT]] : f32
// CHECK:         linalg.generic
// CHECK:           arith.mulf %{{.+}}, %[[SCALE]] : f32
// CHECK:         tensor.collapse_shape %{{.+}} : tensor<?x?x2x2x?xf32> into tensor<?x?x?xf32>
func.func @attention_dynamic_hidden(%q: tensor<?x?x?xf32>, %k: tensor<?x?x?xf32>, %v: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %o = eff.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 2 : i64} : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  return %o : tensor<?x?x?xf32>
}

// -----

// The bias is added to the scaled scores, before masking; a static batch of 1 broadcasts and query head
// g·G + r reads bias head g·G + r (here G = 2).
// CHECK-DAG: #[[$BIAS_MAP:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (0, d1 * 2 + d2, d3, d4)>
// CHECK-LABEL: func.func @attention_bias(
// CHECK-SAME:      %[[Q:.+]]: tensor<?x?x64xf32>, %[[K:.+]]: tensor<?x?x32xf32>, %[[BIAS:.+]]: tensor<1x4x?x?xf32>)
// CHECK:         linalg.generic {indexing_maps = [#{{.+}}, #[[$BIAS_MAP]], #{{.+}}]
// CHECK-SAME:        ins(%{{.+}}, %[[BIAS]] : tensor<?x2x2x?x?xf32>, tensor<1x4x?x?xf32>)
// CHECK:         ^bb0(%[[S:.+]]: f32, %[[B:.+]]: f32, %{{.+}}: f32):
// CHECK:           %[[SCALED:.+]] = arith.mulf %[[S]], %{{.+}} : f32
// CHECK:           %[[BIASED:.+]] = arith.addf %[[SCALED]], %[[B]] : f32
// CHECK:           arith.select %{{.+}}, %{{.+}}, %[[BIASED]] : f32
func.func @attention_bias(%q: tensor<?x?x64xf32>, %k: tensor<?x?x32xf32>, %b: tensor<1x4x?x?xf32>) -> tensor<?x?x64xf32> {
  %o = eff.attention %q, %k, %k bias(%b) {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 1.0 : f32, causal} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<1x4x?x?xf32>) -> tensor<?x?x64xf32>
  return %o : tensor<?x?x64xf32>
}

// -----

// Bidirectional, 32 buckets, max_distance 128: later keys take the upper 16 buckets; distances below 8 are
// exact, and the logarithmic buckets 9..15 start at the distances 12, 16, 23, 32, 46, 64 and 91.
// CHECK-LABEL: func.func @relative_position_bias(
// CHECK-SAME:      %[[TABLE:.+]]: tensor<32x4xf32>, %[[S:.+]]: index, %[[L:.+]]: index)
// CHECK:         %[[INIT:.+]] = tensor.empty(%[[S]], %[[L]]) : tensor<1x4x?x?xf32>
// CHECK:         %[[OFFSET:.+]] = arith.subi %[[L]], %[[S]] : index
// CHECK:         linalg.generic {{.*}} outs(%[[INIT]] : tensor<1x4x?x?xf32>)
// CHECK:           %[[H:.+]] = linalg.index 1 : index
// CHECK:           %[[REL:.+]] = arith.subi
// CHECK:           %[[LATER:.+]] = arith.cmpi sgt, %[[REL]], %{{.+}} : i64
// CHECK:           %[[HALF:.+]] = arith.select %[[LATER]], %{{.+}}, %{{.+}} : i64
// CHECK:           %[[DIST:.+]] = arith.maxsi
// CHECK-COUNT-7:   arith.cmpi sge, %[[DIST]]
// CHECK:           %[[SMALL:.+]] = arith.cmpi slt, %[[DIST]], %{{.+}} : i64
// CHECK:           %[[IN_HALF:.+]] = arith.select %[[SMALL]], %[[DIST]], %{{.+}} : i64
// CHECK:           %[[BUCKET:.+]] = arith.addi %[[HALF]], %[[IN_HALF]] : i64
// CHECK:           %[[ROW:.+]] = arith.index_cast %[[BUCKET]] : i64 to index
// CHECK:           tensor.extract %[[TABLE]][%[[ROW]], %[[H]]] : tensor<32x4xf32>
func.func @relative_position_bias(%t: tensor<32x4xf32>, %s: index, %l: index) -> tensor<1x4x?x?xf32> {
  %b = eff.relative_position_bias %t[%s, %l] {bidirectional} : tensor<32x4xf32> -> tensor<1x4x?x?xf32>
  return %b : tensor<1x4x?x?xf32>
}
