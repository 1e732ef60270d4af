// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg | FileCheck %s

// Lowering of the adapter ops (docs/spec/eff.md#adapter-ops): eff.lora, eff.prefix, eff.prompt and
// eff.bottleneck_adapter.

// LoRA with dynamic batch and sequence: x · Aᵀ into a rank-4 intermediate first, then · Bᵀ, then one fused
// generic base + (alpha / rank) · u with alpha / rank = 8 / 4 = 2. The contractions loop over the leading
// dimensions directly: no reshape (an expand_shape with two dynamic sizes in one group crashes LLVM 22's
// expand-strided-metadata).

// CHECK-DAG:   #[[$LHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG:   #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @lora$dynamic(
// CHECK-SAME:    %[[BASE:.*]]: tensor<?x?x32xf32>, %[[X:.*]]: tensor<?x?x16xf32>, %[[A:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<32x4xf32>) -> tensor<?x?x32xf32>
// CHECK-NOT:     tensor.collapse_shape
// CHECK-NOT:     tensor.expand_shape
// CHECK:         %[[D0:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x?x16xf32>
// CHECK:         %[[D1:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x?x16xf32>
// CHECK:         %[[TE:.*]] = tensor.empty(%[[D0]], %[[D1]]) : tensor<?x?x4xf32>
// CHECK:         %[[TZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[TE]] : tensor<?x?x4xf32>)
// CHECK:         %[[T:.*]] = linalg.generic {indexing_maps = [#[[$LHS]], #{{.*}}, #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]], %{{.*}} : tensor<?x?x16xf32>, tensor<{{4x16|16x4}}xf32>) outs(%[[TZ]] : tensor<?x?x4xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         } -> tensor<?x?x4xf32>
// CHECK:         %[[UZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x?x32xf32>)
// CHECK:         %[[U:.*]] = linalg.generic {indexing_maps = [#[[$LHS]], #{{.*}}, #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[T]], %{{.*}} : tensor<?x?x4xf32>, tensor<{{32x4|4x32}}xf32>) outs(%[[UZ]] : tensor<?x?x32xf32>)
// CHECK-NOT:     tensor.expand_shape
// CHECK:         %[[YE:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x32xf32>
// CHECK:         %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$ID3]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[BASE]], %[[U]] : tensor<?x?x32xf32>, tensor<?x?x32xf32>) outs(%[[YE]] : tensor<?x?x32xf32>)
// CHECK:         ^bb0(%[[BV:.*]]: f32, %[[UV:.*]]: f32, %{{.*}}: f32):
// CHECK:           %[[S:.*]] = arith.constant 2.000000e+00 : f32
// CHECK:           %[[SU:.*]] = arith.mulf %[[S]], %[[UV]] : f32
// CHECK:           %[[SUM:.*]] = arith.addf %[[BV]], %[[SU]] : f32
// CHECK:           linalg.yield %[[SUM]] : f32
// CHECK:         %[[R:.*]] = tensor.cast %[[Y]] : tensor<?x?x32xf32> to tensor<?x?x32xf32>
// CHECK:         return %[[R]]
// CHECK-NOT:     eff.
func.func @lora$dynamic(%base: tensor<?x?x32xf32>, %x: tensor<?x?x16xf32>, %a: tensor<4x16xf32>, %b: tensor<32x4xf32>) -> tensor<?x?x32xf32> {
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<?x?x32xf32>, tensor<?x?x16xf32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// LoRA in f16: both intermediates are f32 (inputs extended), the update is scaled (alpha / rank = 4 / 8 =
// 0.5) and added in f32, and the sum truncated once.

// CHECK-LABEL: func.func @lora$f16(
// CHECK-SAME:    %[[BASE:.*]]: tensor<8x32xf16>, %[[X:.*]]: tensor<8x16xf16>, %[[A:.*]]: tensor<8x16xf16>, %[[B:.*]]: tensor<32x8xf16>) -> tensor<8x32xf16>
// CHECK:         %[[T:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[X]], %{{.*}} : tensor<8x16xf16>, tensor<{{8x16|16x8}}xf16>) outs(%{{.*}} : tensor<8x8xf32>)
// CHECK:           arith.extf {{.*}} : f16 to f32
// CHECK:         } -> tensor<8x8xf32>
// CHECK:         %[[U:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[T]], %{{.*}} : tensor<8x8xf32>, tensor<{{32x8|8x32}}xf16>) outs(%{{.*}} : tensor<8x32xf32>)
// CHECK:         } -> tensor<8x32xf32>
// CHECK:         %[[Y:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[BASE]], %[[U]] : tensor<8x32xf16>, tensor<8x32xf32>) outs(%{{.*}} : tensor<8x32xf16>)
// CHECK:         ^bb0(%[[BV:.*]]: f16, %[[UV:.*]]: f32, %{{.*}}: f16):
// CHECK:           %[[S:.*]] = arith.constant 5.000000e-01 : f32
// CHECK:           %[[SU:.*]] = arith.mulf %[[S]], %[[UV]] : f32
// CHECK:           %[[BE:.*]] = arith.extf %[[BV]] : f16 to f32
// CHECK:           %[[SUM:.*]] = arith.addf %[[BE]], %[[SU]] : f32
// CHECK:           %[[TR:.*]] = arith.truncf %[[SUM]] : f32 to f16
// CHECK:           linalg.yield %[[TR]] : f16
// CHECK:         tensor.cast %[[Y]] : tensor<8x32xf16> to tensor<8x32xf16>
func.func @lora$f16(%base: tensor<8x32xf16>, %x: tensor<8x16xf16>, %a: tensor<8x16xf16>, %b: tensor<32x8xf16>) -> tensor<8x32xf16> {
  %y = eff.lora %base, %x, %a, %b {rank = 8 : i64, alpha = 4.0 : f32} : (tensor<8x32xf16>, tensor<8x16xf16>, tensor<8x16xf16>, tensor<32x8xf16>) -> tensor<8x32xf16>
  return %y : tensor<8x32xf16>
}

// -----

// LoRA whose base is static while the input is dynamic: the result keeps the static type.

// CHECK-LABEL: func.func @lora$mixed_static(
// CHECK-SAME:    %[[BASE:.*]]: tensor<2x8x32xf32>, %[[X:.*]]: tensor<?x?x16xf32>
// CHECK:         %[[U:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x32xf32>)
// CHECK:         %[[Y:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[BASE]], %[[U]] : tensor<2x8x32xf32>, tensor<?x?x32xf32>) outs(%{{.*}} : tensor<2x8x32xf32>)
// CHECK:         %[[R:.*]] = tensor.cast %[[Y]] : tensor<2x8x32xf32> to tensor<2x8x32xf32>
// CHECK:         return %[[R]] : tensor<2x8x32xf32>
func.func @lora$mixed_static(%base: tensor<2x8x32xf32>, %x: tensor<?x?x16xf32>, %a: tensor<4x16xf32>, %b: tensor<32x4xf32>) -> tensor<2x8x32xf32> {
  %y = eff.lora %base, %x, %a, %b {rank = 4 : i64, alpha = 8.0 : f32} : (tensor<2x8x32xf32>, tensor<?x?x16xf32>, tensor<4x16xf32>, tensor<32x4xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// Prefix tuning with dynamic batch and key length: each of key and value gets a [B, 4 + L, D] destination,
// the activation inserted at offset 4, then the broadcast prefix written in place into the leading [B, 4, D]
// slice of that partially written destination.

// CHECK-DAG:   #[[$PMAP:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG:   #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @prefix$dynamic(
// CHECK-SAME:    %[[K:.*]]: tensor<?x?x16xf32>, %[[V:.*]]: tensor<?x?x16xf32>, %[[PK:.*]]: tensor<4x16xf32>, %[[PV:.*]]: tensor<4x16xf32>)
// CHECK:         %[[B:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<?x?x16xf32>
// CHECK:         %[[L:.*]] = tensor.dim %[[K]], %{{.*}} : tensor<?x?x16xf32>
// CHECK:         %[[C4:.*]] = arith.constant 4 : index
// CHECK:         %[[PL:.*]] = arith.addi %[[C4]], %[[L]] : index
// CHECK:         %[[KE:.*]] = tensor.empty(%[[B]], %[[PL]]) : tensor<?x?x16xf32>
// CHECK:         %[[KI:.*]] = tensor.insert_slice %[[K]] into %[[KE]][0, 4, 0] [%[[B]], %[[L]], 16] [1, 1, 1] : tensor<?x?x16xf32> into tensor<?x?x16xf32>
// CHECK:         %[[KS:.*]] = tensor.extract_slice %[[KI]][0, 0, 0] [%[[B]], 4, 16] [1, 1, 1] : tensor<?x?x16xf32> to tensor<?x4x16xf32>
// CHECK:         %[[KB:.*]] = linalg.generic {indexing_maps = [#[[$PMAP]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[PK]] : tensor<4x16xf32>) outs(%[[KS]] : tensor<?x4x16xf32>)
// CHECK:         %[[K2:.*]] = tensor.insert_slice %[[KB]] into %[[KI]][0, 0, 0] [%[[B]], 4, 16] [1, 1, 1] : tensor<?x4x16xf32> into tensor<?x?x16xf32>
// CHECK:         %[[VE:.*]] = tensor.empty
// CHECK:         %[[VI:.*]] = tensor.insert_slice %[[V]] into %[[VE]][0, 4, 0]
// CHECK:         %[[VS:.*]] = tensor.extract_slice %[[VI]][0, 0, 0]
// CHECK:         %[[VB:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[PV]] : tensor<4x16xf32>) outs(%[[VS]] : tensor<?x4x16xf32>)
// CHECK:         %[[V2:.*]] = tensor.insert_slice %[[VB]] into %[[VI]][0, 0, 0]
// CHECK:         %[[KR:.*]] = tensor.cast %[[K2]]
// CHECK:         %[[VR:.*]] = tensor.cast %[[V2]]
// CHECK:         return %[[KR]], %[[VR]]
func.func @prefix$dynamic(%k: tensor<?x?x16xf32>, %v: tensor<?x?x16xf32>, %pk: tensor<4x16xf32>, %pv: tensor<4x16xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>) {
  %k2, %v2 = eff.prefix %k, %v, %pk, %pv : (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>)
  return %k2, %v2 : tensor<?x?x16xf32>, tensor<?x?x16xf32>
}

// -----

// Prompt tuning, static: the total length 20 + 8 is folded into the destination type.

// CHECK-LABEL: func.func @prompt$static(
// CHECK-SAME:    %[[E:.*]]: tensor<2x8x16xf32>, %[[P:.*]]: tensor<20x16xf32>) -> tensor<2x28x16xf32>
// CHECK:         %[[D:.*]] = tensor.empty() : tensor<2x28x16xf32>
// CHECK:         %[[I:.*]] = tensor.insert_slice %[[E]] into %[[D]][0, 20, 0] [2, 8, 16] [1, 1, 1] : tensor<2x8x16xf32> into tensor<2x28x16xf32>
// CHECK:         %[[S:.*]] = tensor.extract_slice %[[I]][0, 0, 0] [2, 20, 16] [1, 1, 1] : tensor<2x28x16xf32> to tensor<2x20x16xf32>
// CHECK:         %[[BP:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[P]] : tensor<20x16xf32>) outs(%[[S]] : tensor<2x20x16xf32>)
// CHECK:         %[[R:.*]] = tensor.insert_slice %[[BP]] into %[[I]][0, 0, 0] [2, 20, 16] [1, 1, 1] : tensor<2x20x16xf32> into tensor<2x28x16xf32>
// CHECK:         %[[C:.*]] = tensor.cast %[[R]] : tensor<2x28x16xf32> to tensor<2x28x16xf32>
// CHECK:         return %[[C]]
func.func @prompt$static(%e: tensor<2x8x16xf32>, %p: tensor<20x16xf32>) -> tensor<2x28x16xf32> {
  %e2 = eff.prompt %e, %p : (tensor<2x8x16xf32>, tensor<20x16xf32>) -> tensor<2x28x16xf32>
  return %e2 : tensor<2x28x16xf32>
}

// -----

// Prompt tuning with a dynamic hidden size in the embeddings and a static one in the prompt: the result is
// cast to the (more static) inferred type.

// CHECK-LABEL: func.func @prompt$dynamic(
// CHECK-SAME:    %[[E:.*]]: tensor<?x?x?xf16>, %[[P:.*]]: tensor<20x16xf16>) -> tensor<?x?x16xf16>
// CHECK:         %[[SUM:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK:         %[[D:.*]] = tensor.empty(%{{.*}}, %[[SUM]], %{{.*}}) : tensor<?x?x?xf16>
// CHECK:         %[[I:.*]] = tensor.insert_slice %[[E]] into %[[D]][0, 20, 0]
// CHECK:         %[[BP:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[P]] : tensor<20x16xf16>) outs(%{{.*}} : tensor<?x20x?xf16>)
// CHECK:         %[[R:.*]] = tensor.insert_slice %[[BP]] into %[[I]][0, 0, 0]
// CHECK:         %[[C:.*]] = tensor.cast %[[R]] : tensor<?x?x?xf16> to tensor<?x?x16xf16>
// CHECK:         return %[[C]]
func.func @prompt$dynamic(%e: tensor<?x?x?xf16>, %p: tensor<20x16xf16>) -> tensor<?x?x16xf16> {
  %e2 = eff.prompt %e, %p : (tensor<?x?x?xf16>, tensor<20x16xf16>) -> tensor<?x?x16xf16>
  return %e2 : tensor<?x?x16xf16>
}

// -----

// Bottleneck adapter with both biases, dynamic batch and sequence: down projection accumulated onto b_down
// (broadcast over the leading dimensions), activation on the narrow [B, S, 4] tensor, up projection from
// zero, then one generic x + u + b_up. No reshapes.

// CHECK-DAG:   #[[$LHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG:   #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$CH:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @bottleneck_adapter$biases(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x16xf32>, %[[WD:.*]]: tensor<4x16xf32>, %[[BD:.*]]: tensor<4xf32>, %[[WU:.*]]: tensor<16x4xf32>, %[[BU:.*]]: tensor<16xf32>) -> tensor<?x?x16xf32>
// CHECK-NOT:     tensor.collapse_shape
// CHECK-NOT:     tensor.expand_shape
// CHECK:         %[[BDB:.*]] = linalg.generic {indexing_maps = [#[[$CH]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[BD]] : tensor<4xf32>) outs(%{{.*}} : tensor<?x?x4xf32>)
// CHECK:         %[[DOWN:.*]] = linalg.generic {indexing_maps = [#[[$LHS]], #{{.*}}, #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[X]], %{{.*}} : tensor<?x?x16xf32>, tensor<{{4x16|16x4}}xf32>) outs(%[[BDB]] : tensor<?x?x4xf32>)
// CHECK:         %[[H:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[DOWN]] : tensor<?x?x4xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[UZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x?x16xf32>)
// CHECK:         %[[UP:.*]] = linalg.generic {indexing_maps = [#[[$LHS]], #{{.*}}, #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[H]], %{{.*}} : tensor<?x?x4xf32>, tensor<{{16x4|4x16}}xf32>) outs(%[[UZ]] : tensor<?x?x16xf32>)
// CHECK-NOT:     tensor.expand_shape
// CHECK:         %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$ID3]], #[[$CH]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[X]], %[[UP]], %[[BU]] : tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<16xf32>)
// CHECK:         ^bb0(%[[XV:.*]]: f32, %[[UV:.*]]: f32, %[[BV:.*]]: f32, %{{.*}}: f32):
// CHECK:           %[[S1:.*]] = arith.addf %[[XV]], %[[UV]] : f32
// CHECK:           %[[S2:.*]] = arith.addf %[[S1]], %[[BV]] : f32
// CHECK:           linalg.yield %[[S2]] : f32
// CHECK:         tensor.cast %[[Y]]
func.func @bottleneck_adapter$biases(%x: tensor<?x?x16xf32>, %wd: tensor<4x16xf32>, %bd: tensor<4xf32>, %wu: tensor<16x4xf32>, %bu: tensor<16xf32>) -> tensor<?x?x16xf32> {
  %y = eff.bottleneck_adapter %x down(%wd, %bd) up(%wu, %bu) relu : (tensor<?x?x16xf32>, tensor<4x16xf32>, tensor<4xf32>, tensor<16x4xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// Bottleneck adapter without biases, rank 2, gelu: both projections start from zero and the residual
// generic adds only x and u.

// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @bottleneck_adapter$no_biases(
// CHECK-SAME:    %[[X:.*]]: tensor<?x16xf32>, %[[WD:.*]]: tensor<4x16xf32>, %[[WU:.*]]: tensor<16x4xf32>) -> tensor<?x16xf32>
// CHECK:         %[[DZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK:         %[[DOWN:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[X]], %{{.*}} : tensor<?x16xf32>, tensor<{{4x16|16x4}}xf32>) outs(%[[DZ]] : tensor<?x4xf32>)
// CHECK:         %[[H:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[DOWN]] : tensor<?x4xf32>)
// CHECK:           math.erf
// CHECK:         %[[UZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x16xf32>)
// CHECK:         %[[UP:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[H]], %{{.*}} : tensor<?x4xf32>, tensor<{{16x4|4x16}}xf32>) outs(%[[UZ]] : tensor<?x16xf32>)
// CHECK:         %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:        ins(%[[X]], %[[UP]] : tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK:         ^bb0(%[[XV:.*]]: f32, %[[UV:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[XV]], %[[UV]] : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
// CHECK:         tensor.cast %[[Y]]
func.func @bottleneck_adapter$no_biases(%x: tensor<?x16xf32>, %wd: tensor<4x16xf32>, %wu: tensor<16x4xf32>) -> tensor<?x16xf32> {
  %y = eff.bottleneck_adapter %x down(%wd) up(%wu) gelu : (tensor<?x16xf32>, tensor<4x16xf32>, tensor<16x4xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Bottleneck adapter in bf16: the residual sum is computed in f32 and truncated once.

// CHECK-LABEL: func.func @bottleneck_adapter$bf16(
// CHECK:         %[[Y:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x8x16xbf16>, tensor<2x8x16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<2x8x16xbf16>)
// CHECK:           arith.extf {{.*}} : bf16 to f32
// CHECK:           arith.extf {{.*}} : bf16 to f32
// CHECK:           arith.addf {{.*}} : f32
// CHECK:           arith.extf {{.*}} : bf16 to f32
// CHECK:           arith.addf {{.*}} : f32
// CHECK:           arith.truncf {{.*}} : f32 to bf16
// CHECK:         tensor.cast %[[Y]] : tensor<2x8x16xbf16> to tensor<2x8x16xbf16>
func.func @bottleneck_adapter$bf16(%x: tensor<2x8x16xbf16>, %wd: tensor<4x16xbf16>, %bd: tensor<4xbf16>, %wu: tensor<16x4xbf16>, %bu: tensor<16xbf16>) -> tensor<2x8x16xbf16> {
  %y = eff.bottleneck_adapter %x down(%wd, %bd) up(%wu, %bu) silu : (tensor<2x8x16xbf16>, tensor<4x16xbf16>, tensor<4xbf16>, tensor<16x4xbf16>, tensor<16xbf16>) -> tensor<2x8x16xbf16>
  return %y : tensor<2x8x16xbf16>
}
