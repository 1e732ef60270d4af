// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg | FileCheck %s

// Lowering of the Mixture-of-Experts ops (docs/spec/eff.md#mixture-of-experts-ops): eff.router,
// eff.experts and eff.residual_moe. Numerics are checked against the reference in
// test/e2e/test_moe_lowering.py; these tests pin the structure.

// Mixtral-style routing with capacity on a [B, S, D] input: f32 logits contraction, softmax (max, sum,
// normalise), top-k by k rounds of an argmax scan (token, rank, expert loops), normalisation by the sum of
// the k weights, then capacity C = ceil(c·T·k/E) = ceil(5·T·2 / (4·8)) computed at run time and admission
// with rank outer, token inner, per-expert loads in a tensor<8xindex>. The [?, ?, 2] results are written by
// generics reading the [T, 2] matrices at the linearised row (no expand_shape with two dynamic sizes in one
// group, which LLVM 22's expand-strided-metadata cannot lower).

// CHECK-LABEL: func.func @router$top2_capacity(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x32xf32>, %[[W:.*]]: tensor<8x32xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
// CHECK:         %[[XM:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<?x?x32xf32> into tensor<?x32xf32>
// CHECK:         %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<8x32xf32>)
// CHECK:         %[[LOGITS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:        ins(%[[XM]], %[[WT]] : tensor<?x32xf32>, tensor<32x8xf32>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK:         %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[LOGITS]] : tensor<?x8xf32>)
// CHECK:           arith.maximumf
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[LOGITS]], %[[MAX]] : tensor<?x8xf32>, tensor<?xf32>)
// CHECK:           math.exp
// CHECK:         %[[SCORES:.*]] = linalg.generic {{.*}} ins(%[[LOGITS]], %[[MAX]], %[[SUM]] : tensor<?x8xf32>, tensor<?xf32>, tensor<?xf32>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK:           math.exp
// CHECK:           arith.divf
// CHECK:         %[[TOPK:.*]]:2 = scf.for %[[T:[a-zA-Z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?x2xf32>, tensor<?x2xi64>)
// CHECK:           %{{.*}}:4 = scf.for %[[J:[a-zA-Z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (tensor<?x2xf32>, tensor<?x2xi64>, f32, i64)
// CHECK:             %{{.*}}:2 = scf.for %{{.*}} iter_args({{.*}}) -> (f32, i64)
// CHECK:               tensor.extract %[[SCORES]][%[[T]], %{{.*}}] : tensor<?x8xf32>
// CHECK-DAG:           arith.cmpf olt
// CHECK-DAG:           arith.cmpf oeq
// CHECK-DAG:           arith.cmpi sgt
// CHECK-DAG:           arith.cmpf ogt
// CHECK:               scf.yield %{{.*}}, %{{.*}} : f32, i64
// CHECK:             tensor.insert %{{.*}} into %{{.*}}[%[[T]], %[[J]]] : tensor<?x2xf32>
// CHECK:             tensor.insert %{{.*}} into %{{.*}}[%[[T]], %[[J]]] : tensor<?x2xi64>
// CHECK:         %[[KSUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[TOPK]]#0 : tensor<?x2xf32>)
// CHECK:         %[[NORM:.*]] = linalg.generic {{.*}} ins(%[[TOPK]]#0, %[[KSUM]] : tensor<?x2xf32>, tensor<?xf32>)
// CHECK:           arith.divf
// CHECK:         %[[NUM:.*]] = arith.muli %{{.*}}, %{{.*}} : i64
// CHECK:         %[[DEN:.*]] = arith.muli %{{.*}}, %{{.*}} : i64
// CHECK:         %[[CAP64:.*]] = arith.ceildivsi %[[NUM]], %[[DEN]] : i64
// CHECK:         %[[CAP:.*]] = arith.index_cast %[[CAP64]] : i64 to index
// CHECK:         %[[LOADS:.*]] = linalg.fill ins(%{{.*}} : index) outs(%{{.*}} : tensor<8xindex>)
// CHECK:         %[[ADMIT:.*]]:2 = scf.for %[[R:[a-zA-Z0-9_]+]] = %{{.*}} iter_args(%{{.*}} = %[[NORM]], %{{.*}} = %[[LOADS]]) -> (tensor<?x2xf32>, tensor<8xindex>)
// CHECK:           scf.for %[[T2:[a-zA-Z0-9_]+]] = %{{.*}} -> (tensor<?x2xf32>, tensor<8xindex>)
// CHECK:             tensor.extract %[[TOPK]]#1[%[[T2]], %[[R]]] : tensor<?x2xi64>
// CHECK:             arith.cmpi slt, %{{.*}}, %[[CAP]] : index
// CHECK:             tensor.insert %{{.*}} : tensor<8xindex>
// CHECK:             tensor.insert %{{.*}}[%[[T2]], %[[R]]] : tensor<?x2xf32>
// CHECK-NOT:     tensor.expand_shape
// CHECK:         tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x2xf32>
// CHECK:         %[[WOUT:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} outs(%{{.*}} : tensor<?x?x2xf32>)
// CHECK:           %[[I0:.*]] = linalg.index 0 : index
// CHECK:           %[[I0S:.*]] = arith.muli %[[I0]], %{{.*}} : index
// CHECK:           %[[I1:.*]] = linalg.index 1 : index
// CHECK:           %[[ROW:.*]] = arith.addi %[[I0S]], %[[I1]] : index
// CHECK:           %[[I2:.*]] = linalg.index 2 : index
// CHECK:           tensor.extract %[[ADMIT]]#0[%[[ROW]], %[[I2]]] : tensor<?x2xf32>
// CHECK:         %[[IOUT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x2xi64>)
// CHECK:           tensor.extract %[[TOPK]]#1[%{{.*}}, %{{.*}}] : tensor<?x2xi64>
// CHECK:         %[[WC:.*]] = tensor.cast %[[WOUT]] : tensor<?x?x2xf32> to tensor<?x?x2xf32>
// CHECK:         %[[IC:.*]] = tensor.cast %[[IOUT]] : tensor<?x?x2xi64> to tensor<?x?x2xi64>
// CHECK:         return %[[WC]], %[[IC]]
func.func @router$top2_capacity(%x: tensor<?x?x32xf32>, %w: tensor<8x32xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>) {
  %rw, %ri = eff.router softmax %x, %w {top_k = 2 : i64, normalize, capacity_factor = 1.25 : f32} : (tensor<?x?x32xf32>, tensor<8x32xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xi64>)
  return %rw, %ri : tensor<?x?x2xf32>, tensor<?x?x2xi64>
}

// -----

// Sigmoid gating on f16: logits accumulate in f32 (extf in the contraction), the routing runs in f32 and
// the weights are truncated to f16 at the end. No normalisation, no capacity.

// CHECK-LABEL: func.func @router$sigmoid_f16(
// CHECK-SAME:    %[[X:.*]]: tensor<16x32xf16>, %[[W:.*]]: tensor<4x32xf16>) -> (tensor<16x1xf16>, tensor<16x1xi64>)
// CHECK:         %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<4x32xf16>)
// CHECK:         %[[LOGITS:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[WT]] : tensor<16x32xf16>, tensor<32x4xf16>) outs(%{{.*}} : tensor<16x4xf32>)
// CHECK:           arith.extf
// CHECK:         %[[SCORES:.*]] = linalg.generic {{.*}} ins(%[[LOGITS]] : tensor<16x4xf32>) outs(%{{.*}} : tensor<16x4xf32>)
// CHECK:           arith.negf
// CHECK:           math.exp
// CHECK:           arith.divf
// CHECK:         %[[TOPK:.*]]:2 = scf.for {{.*}} -> (tensor<16x1xf32>, tensor<16x1xi64>)
// CHECK-NOT:     arith.ceildivsi
// CHECK:         %[[WH:.*]] = linalg.generic {{.*}} ins(%[[TOPK]]#0 : tensor<16x1xf32>) outs(%{{.*}} : tensor<16x1xf16>)
// CHECK:           arith.truncf
// CHECK:         %[[WC:.*]] = tensor.cast %[[WH]] : tensor<16x1xf16> to tensor<16x1xf16>
// CHECK:         %[[IC:.*]] = tensor.cast %[[TOPK]]#1 : tensor<16x1xi64> to tensor<16x1xi64>
// CHECK:         return %[[WC]], %[[IC]]
func.func @router$sigmoid_f16(%x: tensor<16x32xf16>, %w: tensor<4x32xf16>) -> (tensor<16x1xf16>, tensor<16x1xi64>) {
  %rw, %ri = eff.router sigmoid %x, %w {top_k = 1 : i64} : (tensor<16x32xf16>, tensor<4x32xf16>) -> (tensor<16x1xf16>, tensor<16x1xi64>)
  return %rw, %ri : tensor<16x1xf16>, tensor<16x1xi64>
}

// -----

// Gated experts, dynamic token count: counting sort of the taken assignments (nonzero weight, expert in
// range) by expert, exclusive prefix sum, bucketing under scf.if; the stacked f32 weights, whose output widths
// (64, 64, 32) are multiples of 16, are laid out once as 16-column panels [E, N/16, K, 16] (expand_shape +
// transpose, both folded into the constants by effc-pack-weights); then for each expert with tokens (scf.if)
// a gather of its rows, the gated FFN on [n_e, D] as three effc_uk_linear_f32_panels calls on the expert's
// panels (up: no activation, gate: silu = 4 in the kernel's epilogue, down: none), the gate · up product, and
// a scatter-add of weight · output rows.

// CHECK-LABEL: func.func @experts$gated(
// CHECK-SAME:    %[[X:.*]]: tensor<?x32xf32>, %[[RW:.*]]: tensor<?x2xf32>, %[[RI:.*]]: tensor<?x2xi64>, %[[WU:.*]]: tensor<4x64x32xf32>, %[[WG:.*]]: tensor<4x64x32xf32>, %[[WD:.*]]: tensor<4x32x64xf32>) -> tensor<?x32xf32>
// CHECK:         %[[C0:.*]] = linalg.fill ins(%{{.*}} : index) outs(%{{.*}} : tensor<4xindex>)
// CHECK:         %[[COUNTS:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[C0]]) -> (tensor<4xindex>)
// CHECK:           scf.for
// CHECK:             %[[WGT:.*]] = tensor.extract %[[RW]]
// CHECK:             tensor.extract %[[RI]]
// CHECK:             arith.cmpf une, %[[WGT]]
// CHECK:             tensor.insert {{.*}} : tensor<4xindex>
// CHECK:         %[[CURSORS:.*]]:2 = scf.for {{.*}} -> (tensor<4xindex>, index)
// CHECK:         %[[BUCKETS:.*]]:3 = scf.for {{.*}} iter_args(%{{.*}} = %[[CURSORS]]#0, {{.*}}) -> (tensor<4xindex>, tensor<?xindex>, tensor<?xf32>)
// CHECK:           scf.for
// CHECK:             scf.if %{{.*}} -> (tensor<4xindex>, tensor<?xindex>, tensor<?xf32>)
// CHECK:         %[[WUS:.*]] = tensor.expand_shape %[[WU]] {{\[}}[0], [1, 2], [3]] output_shape [4, 4, 16, 32] : tensor<4x64x32xf32> into tensor<4x4x16x32xf32>
// CHECK:         %[[WUP:.*]] = linalg.transpose ins(%[[WUS]] : tensor<4x4x16x32xf32>) outs(%{{.*}} : tensor<4x4x32x16xf32>) permutation = [0, 1, 3, 2]
// CHECK:         %[[WGS:.*]] = tensor.expand_shape %[[WG]] {{\[}}[0], [1, 2], [3]] output_shape [4, 4, 16, 32] : tensor<4x64x32xf32> into tensor<4x4x16x32xf32>
// CHECK:         %[[WGP:.*]] = linalg.transpose ins(%[[WGS]] : tensor<4x4x16x32xf32>) outs(%{{.*}} : tensor<4x4x32x16xf32>) permutation = [0, 1, 3, 2]
// CHECK:         %[[WDS:.*]] = tensor.expand_shape %[[WD]] {{\[}}[0], [1, 2], [3]] output_shape [4, 2, 16, 64] : tensor<4x32x64xf32> into tensor<4x2x16x64xf32>
// CHECK:         %[[WDP:.*]] = linalg.transpose ins(%[[WDS]] : tensor<4x2x16x64xf32>) outs(%{{.*}} : tensor<4x2x64x16xf32>) permutation = [0, 1, 3, 2]
// CHECK:         %[[ACC0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK:         %[[LOOP:.*]]:2 = scf.for %[[E:[a-zA-Z0-9_]+]] = %{{.*}} iter_args(%[[ACCIN:[a-zA-Z0-9_]+]] = %[[ACC0]], %[[OFF:[a-zA-Z0-9_]+]] = %{{.*}}) -> (tensor<?x32xf32>, index)
// CHECK:           %[[N:.*]] = tensor.extract %[[COUNTS]][%[[E]]] : tensor<4xindex>
// CHECK:           %[[ROUTED:.*]] = arith.cmpi ugt, %[[N]], %{{.*}} : index
// CHECK:           %[[IF:.*]] = scf.if %[[ROUTED]] -> (tensor<?x32xf32>) {
// CHECK:           %[[ROWS:.*]] = tensor.extract_slice %[[BUCKETS]]#1[%[[OFF]]] [%[[N]]] [1] : tensor<?xindex> to tensor<?xindex>
// CHECK:           %[[GATES:.*]] = tensor.extract_slice %[[BUCKETS]]#2[%[[OFF]]] [%[[N]]] [1] : tensor<?xf32> to tensor<?xf32>
// CHECK:           %[[XE:.*]] = linalg.generic {{.*}} ins(%[[ROWS]] : tensor<?xindex>) outs(%{{.*}} : tensor<?x32xf32>)
// CHECK:           ^bb0(%[[ROW:.*]]: index, %{{.*}}: f32):
// CHECK:             %[[COL:.*]] = linalg.index 1 : index
// CHECK:             tensor.extract %[[X]][%[[ROW]], %[[COL]]] : tensor<?x32xf32>
// CHECK-DAG:       %[[WUE:.*]] = tensor.extract_slice %[[WUP]][%[[E]], 0, 0, 0] [1, 4, 32, 16] [1, 1, 1, 1] : tensor<4x4x32x16xf32> to tensor<4x32x16xf32>
// CHECK-DAG:       %[[WGE:.*]] = tensor.extract_slice %[[WGP]][%[[E]], 0, 0, 0] [1, 4, 32, 16] [1, 1, 1, 1] : tensor<4x4x32x16xf32> to tensor<4x32x16xf32>
// CHECK-DAG:       %[[WDE:.*]] = tensor.extract_slice %[[WDP]][%[[E]], 0, 0, 0] [1, 2, 64, 16] [1, 1, 1, 1] : tensor<4x2x64x16xf32> to tensor<2x64x16xf32>
// CHECK:           %[[XEC:.*]] = tensor.cast %[[XE]] : tensor<?x32xf32> to tensor<?x?xf32>
// CHECK:           %[[XEB:.*]] = bufferization.to_buffer %[[XEC]] read_only
// CHECK:           %[[WUEC:.*]] = tensor.cast %[[WUE]] : tensor<4x32x16xf32> to tensor<?x?x?xf32>
// CHECK:           %[[WUEB:.*]] = bufferization.to_buffer %[[WUEC]] read_only
// CHECK:           %[[UPB:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x64xf32>
// CHECK:           func.call @effc_uk_linear_f32_panels(%[[XEB]], %[[WUEB]], %{{.*}}, %c0_i64, %c0_i64{{.*}}, %{{.*}}) {effc.equal_extents = array<i64: 0, 1, 1, 1>}
// CHECK:           %[[UP:.*]] = bufferization.to_tensor %[[UPB]] restrict writable : memref<?x64xf32> to tensor<?x64xf32>
// CHECK:           %[[SILU:.*]] = arith.constant 4 : i64
// CHECK:           tensor.cast %[[WGE]]
// CHECK:           %[[GATEB:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x64xf32>
// CHECK:           func.call @effc_uk_linear_f32_panels(%{{.*}}, %{{.*}}, %{{.*}}, %c0_i64{{.*}}, %[[SILU]], %{{.*}})
// CHECK:           %[[GATE:.*]] = bufferization.to_tensor %[[GATEB]]
// CHECK:           %[[H:.*]] = linalg.generic {{.*}} ins(%[[GATE]], %[[UP]] : tensor<?x64xf32>, tensor<?x64xf32>)
// CHECK:             arith.mulf
// CHECK:           %[[HC:.*]] = tensor.cast %[[H]] : tensor<?x64xf32> to tensor<?x?xf32>
// CHECK:           tensor.cast %[[WDE]]
// CHECK:           %[[OUTB:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x32xf32>
// CHECK:           func.call @effc_uk_linear_f32_panels
// CHECK:           %[[OUT:.*]] = bufferization.to_tensor %[[OUTB]]
// CHECK:           %[[SCATTER:.*]] = scf.for %[[I:[a-zA-Z0-9_]+]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[ACC:[a-zA-Z0-9_]+]] = %[[ACCIN]]) -> (tensor<?x32xf32>)
// CHECK:             %[[R:.*]] = tensor.extract %[[ROWS]][%[[I]]] : tensor<?xindex>
// CHECK:             %[[G:.*]] = tensor.extract %[[GATES]][%[[I]]] : tensor<?xf32>
// CHECK:             %[[OROW:.*]] = tensor.extract_slice %[[OUT]][%[[I]], 0] [1, 32] [1, 1] : tensor<?x32xf32> to tensor<32xf32>
// CHECK:             %[[AROW:.*]] = tensor.extract_slice %[[ACC]][%[[R]], 0] [1, 32] [1, 1] : tensor<?x32xf32> to tensor<32xf32>
// CHECK:             %[[UPD:.*]] = linalg.generic {{.*}} ins(%[[OROW]] : tensor<32xf32>) outs(%[[AROW]] : tensor<32xf32>)
// CHECK:               arith.mulf %{{.*}}, %[[G]] : f32
// CHECK:             %[[INS:.*]] = tensor.insert_slice %[[UPD]] into %[[ACC]][%[[R]], 0] [1, 32] [1, 1] : tensor<32xf32> into tensor<?x32xf32>
// CHECK:             scf.yield %[[INS]] : tensor<?x32xf32>
// CHECK:             scf.yield %[[SCATTER]] : tensor<?x32xf32>
// CHECK:           } else {
// CHECK:             scf.yield %[[ACCIN]] : tensor<?x32xf32>
// CHECK:           %[[NEXT:.*]] = arith.addi %[[OFF]], %[[N]] : index
// CHECK:           scf.yield %[[IF]], %[[NEXT]] : tensor<?x32xf32>, index
// CHECK:         %[[Y:.*]] = tensor.cast %[[LOOP]]#0 : tensor<?x32xf32> to tensor<?x32xf32>
// CHECK:         return %[[Y]]
func.func @experts$gated(%x: tensor<?x32xf32>, %rw: tensor<?x2xf32>, %ri: tensor<?x2xi64>, %wu: tensor<4x64x32xf32>, %wg: tensor<4x64x32xf32>, %wd: tensor<4x32x64xf32>) -> tensor<?x32xf32> {
  %y = eff.experts %x, %rw, %ri up(%wu) gate(%wg) down(%wd) silu : (tensor<?x32xf32>, tensor<?x2xf32>, tensor<?x2xi64>, tensor<4x64x32xf32>, tensor<4x64x32xf32>, tensor<4x32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// Plain experts with biases, i32 indices and a static [B, S, D] input, and an expert width (40) that is not a
// multiple of the 16-column panels: the stacked weights are transposed to [E, K, N] for the tiled
// contractions (linalg.generic) instead; the bias slices drop the expert dimension too, and the result is
// expanded back to [2, 8, 32] (a static reshape).

// CHECK-LABEL: func.func @experts$bias_i32(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x32xf32>, %[[RW:.*]]: tensor<2x8x1xf32>, %[[RI:.*]]: tensor<2x8x1xi32>, %[[WU:.*]]: tensor<4x40x32xf32>, %[[BU:.*]]: tensor<4x40xf32>, %[[WD:.*]]: tensor<4x32x40xf32>, %[[BD:.*]]: tensor<4x32xf32>) -> tensor<2x8x32xf32>
// CHECK-DAG:     %[[XM:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x8x32xf32> into tensor<16x32xf32>
// CHECK-DAG:     %[[IM:.*]] = tensor.collapse_shape %[[RI]] {{\[}}[0, 1], [2]] : tensor<2x8x1xi32> into tensor<16x1xi32>
// CHECK:         %[[RAW:.*]] = tensor.extract %[[IM]]
// CHECK:         arith.index_cast %[[RAW]] : i32 to index
// CHECK:         %[[WUT:.*]] = linalg.transpose ins(%[[WU]] : tensor<4x40x32xf32>)
// CHECK:         %[[WDT:.*]] = linalg.transpose ins(%[[WD]] : tensor<4x32x40xf32>)
// CHECK:         %[[LOOP:.*]]:2 = scf.for %[[E:[a-zA-Z0-9_]+]] = {{.*}} -> (tensor<16x32xf32>, index)
// CHECK:           scf.if
// CHECK-DAG:         tensor.extract_slice %[[WUT]][%[[E]], 0, 0] [1, 32, 40] [1, 1, 1] : tensor<4x32x40xf32> to tensor<32x40xf32>
// CHECK-DAG:         tensor.extract_slice %[[BU]][%[[E]], 0] [1, 40] [1, 1] : tensor<4x40xf32> to tensor<40xf32>
// CHECK-DAG:         tensor.extract_slice %[[WDT]][%[[E]], 0, 0] [1, 40, 32] [1, 1, 1] : tensor<4x40x32xf32> to tensor<40x32xf32>
// CHECK-DAG:         tensor.extract_slice %[[BD]][%[[E]], 0] [1, 32] [1, 1] : tensor<4x32xf32> to tensor<32xf32>
// CHECK-NOT:         effc_uk_linear_f32_panels
// CHECK:             linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:             math.erf
// CHECK:             tensor.insert_slice %{{.*}} : tensor<32xf32> into tensor<16x32xf32>
// CHECK:         %[[Y:.*]] = tensor.expand_shape %[[LOOP]]#0 {{\[}}[0, 1], [2]] output_shape [2, 8, 32] : tensor<16x32xf32> into tensor<2x8x32xf32>
// CHECK:         return
func.func @experts$bias_i32(%x: tensor<2x8x32xf32>, %rw: tensor<2x8x1xf32>, %ri: tensor<2x8x1xi32>, %wu: tensor<4x40x32xf32>, %bu: tensor<4x40xf32>, %wd: tensor<4x32x40xf32>, %bd: tensor<4x32xf32>) -> tensor<2x8x32xf32> {
  %y = eff.experts %x, %rw, %ri up(%wu, %bu) down(%wd, %bd) gelu : (tensor<2x8x32xf32>, tensor<2x8x1xf32>, tensor<2x8x1xi32>, tensor<4x40x32xf32>, tensor<4x40xf32>, tensor<4x32x40xf32>, tensor<4x32xf32>) -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// Residual MoE on [?, ?, D] without any reshape: f32 coefficient logits [?, ?, 2] from a bias-initialised
// contraction over the last dimension, a softmax over the 2 coefficients, then one generic
// y = dense · c[..., 0] + moe · c[..., 1].

// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$C0:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
// CHECK-DAG:   #[[$C1:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, 1)>
// CHECK-LABEL: func.func @residual_moe(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x32xf32>, %[[D:.*]]: tensor<?x?x32xf32>, %[[M:.*]]: tensor<?x?x32xf32>, %[[WC:.*]]: tensor<2x32xf32>, %[[BC:.*]]: tensor<2xf32>) -> tensor<?x?x32xf32>
// CHECK-NOT:     tensor.collapse_shape
// CHECK:         %[[BIAS:.*]] = linalg.generic {{.*}} ins(%[[BC]] : tensor<2xf32>) outs(%{{.*}} : tensor<?x?x2xf32>)
// CHECK:         %[[WT:.*]] = linalg.transpose ins(%[[WC]] : tensor<2x32xf32>)
// CHECK:         %[[LOGITS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[X]], %[[WT]] : tensor<?x?x32xf32>, tensor<32x2xf32>) outs(%[[BIAS]] : tensor<?x?x2xf32>)
// CHECK:         %[[COEF:.*]] = linalg.generic {{.*}} ins(%[[LOGITS]], %{{.*}}, %{{.*}} : tensor<?x?x2xf32>, tensor<?x?xf32>, tensor<?x?xf32>) outs(%{{.*}} : tensor<?x?x2xf32>)
// CHECK:         %[[MIX:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ID]], #[[$C0]], #[[$C1]], #[[$ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[D]], %[[M]], %[[COEF]], %[[COEF]] : tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>) outs(%{{.*}} : tensor<?x?x32xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK-NOT:     tensor.expand_shape
// CHECK:         %[[Y:.*]] = tensor.cast %[[MIX]] : tensor<?x?x32xf32> to tensor<?x?x32xf32>
// CHECK:         return %[[Y]]
func.func @residual_moe(%x: tensor<?x?x32xf32>, %d: tensor<?x?x32xf32>, %m: tensor<?x?x32xf32>, %wc: tensor<2x32xf32>, %bc: tensor<2xf32>) -> tensor<?x?x32xf32> {
  %y = eff.residual_moe %x, %d, %m, %wc, %bc : (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<2x32xf32>, tensor<2xf32>) -> tensor<?x?x32xf32>
  return %y : tensor<?x?x32xf32>
}
