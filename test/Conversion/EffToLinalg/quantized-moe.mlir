// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg | FileCheck %s
// RUN: effc-opt %s -split-input-file --convert-eff-to-linalg="fuse-epilogues=false" | FileCheck %s --check-prefix=NOFUSE

// Lowering of eff.quantized_experts: the routed-experts computation of eff.experts (counting sort by expert,
// then per expert with tokens: gather, FFN, scatter-add; see moe.mlir), with each expert's linear layers on
// the int8 GEMM micro-kernel of eff.quantized_linear. The kernel reads the expert's row of each stacked
// packed operand in place (a rank-reducing slice, no copy) and the gathered rows [n, D] as [1, n, D]; the
// up projection applies the activation in its epilogue (gelu: code 2), the down projection has none.

// CHECK-LABEL: func.func @experts(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x8xf32>, %{{.*}}: tensor<?x1xf32>, %{{.*}}: tensor<?x1xi64>, %[[U:[^:]*]]: tensor<2x128xi8>, %[[US:[^:]*]]: tensor<2x16xf32>, %[[UC:[^:]*]]: tensor<2x16xi32>, %[[D:[^:]*]]: tensor<2x64xi8>, %[[DS:[^:]*]]: tensor<2x16xf32>, %[[DC:[^:]*]]: tensor<2x16xi32>)
// CHECK:         scf.for %[[E:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?x8xf32>, index)
// CHECK:           scf.if
// CHECK:             %[[UP:.*]] = tensor.extract_slice %[[U]][%[[E]], 0] [1, 128] [1, 1] : tensor<2x128xi8> to tensor<128xi8>
// CHECK:             %[[UPS:.*]] = tensor.extract_slice %[[US]][%[[E]], 0] [1, 16] [1, 1] : tensor<2x16xf32> to tensor<16xf32>
// CHECK:             %[[UPC:.*]] = tensor.extract_slice %[[UC]][%[[E]], 0] [1, 16] [1, 1] : tensor<2x16xi32> to tensor<16xi32>
// CHECK-DAG:         tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] output_shape [1, %{{.*}}, 8] : tensor<?x8xf32> into tensor<1x?x8xf32>
// CHECK-DAG:         %[[GELU:.*]] = arith.constant 2 : i64
// CHECK:             func.call @effc_uk_quantized_linear_int8_epilogue({{.*}}, %[[GELU]], %{{.*}})
// CHECK:             tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<1x?x4xf32> into tensor<?x4xf32>
// CHECK:             tensor.extract_slice %[[D]][%[[E]], 0] [1, 64] [1, 1] : tensor<2x64xi8> to tensor<64xi8>
// CHECK:             tensor.extract_slice %[[DS]][%[[E]], 0] [1, 16] [1, 1] : tensor<2x16xf32> to tensor<16xf32>
// CHECK:             tensor.extract_slice %[[DC]][%[[E]], 0] [1, 16] [1, 1] : tensor<2x16xi32> to tensor<16xi32>
// CHECK:             func.call @effc_uk_quantized_linear_int8(
// CHECK:             tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<1x?x8xf32> into tensor<?x8xf32>
// CHECK:             scf.for
// CHECK-NOT:     eff.quantized_experts
// Without CPU op groups (the CUDA target, where int8 linears become device kernels) the up projection is a plain
// int8 call and its activation (GELU: erf) an elementwise op after it.
// NOFUSE-LABEL: func.func @experts(
// NOFUSE-NOT:     effc_uk_quantized_linear_int8_epilogue
// NOFUSE:         func.call @effc_uk_quantized_linear_int8(
// NOFUSE:         linalg.generic
// NOFUSE:           math.erf
// NOFUSE:         func.call @effc_uk_quantized_linear_int8(
func.func @experts(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x128xi8>, %us: tensor<2x16xf32>, %uc: tensor<2x16xi32>, %d: tensor<2x64xi8>, %ds: tensor<2x16xf32>, %dc: tensor<2x16xi32>) -> tensor<?x8xf32> {
  %y = eff.quantized_experts int8 %x, %rw, %ri up(%u, %us, %uc) down(%d, %ds, %dc) gelu {intermediate_size = 4 : i64}
      : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x128xi8>, tensor<2x16xf32>, tensor<2x16xi32>, tensor<2x64xi8>, tensor<2x16xf32>, tensor<2x16xi32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// int4 experts (G = 4, asymmetric, an up bias): each linear is one call of effc_uk_quantized_linear_int4 on
// the expert's rows of the packed weights, scales and zero points (group 4, has_zero 1, has_bias 1 for up and
// 0 for down); the int4 kernel has no epilogue, so the activation (relu) follows the up projection as an
// elementwise generic.
// CHECK-LABEL: func.func @int4_experts(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x8xf32>, %{{.*}}: tensor<?x1xf32>, %{{.*}}: tensor<?x1xi64>, %[[U:[^:]*]]: tensor<2x64xi8>, %[[US:[^:]*]]: tensor<2x32xf32>, %[[UZ:[^:]*]]: tensor<2x32xf32>, %[[UB:[^:]*]]: tensor<2x4xf32>, %[[D:[^:]*]]: tensor<2x32xi8>, %[[DS:[^:]*]]: tensor<2x16xf32>, %[[DZ:[^:]*]]: tensor<2x16xf32>)
// CHECK:         scf.for %[[E:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?x8xf32>, index)
// CHECK:           scf.if
// CHECK:             tensor.extract_slice %[[U]][%[[E]], 0] [1, 64] [1, 1] : tensor<2x64xi8> to tensor<64xi8>
// CHECK:             tensor.extract_slice %[[US]][%[[E]], 0] [1, 32] [1, 1] : tensor<2x32xf32> to tensor<32xf32>
// CHECK:             tensor.extract_slice %[[UZ]][%[[E]], 0] [1, 32] [1, 1] : tensor<2x32xf32> to tensor<32xf32>
// CHECK:             tensor.extract_slice %[[UB]][%[[E]], 0] [1, 4] [1, 1] : tensor<2x4xf32> to tensor<4xf32>
// CHECK:             %[[G:.*]] = arith.constant 4 : i64
// CHECK:             %[[HASZ:.*]] = arith.constant 1 : i64
// CHECK:             %[[HASB:.*]] = arith.constant 1 : i64
// CHECK:             func.call @effc_uk_quantized_linear_int4(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[G]], %[[HASZ]], %[[HASB]], %{{.*}})
// CHECK:             tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<1x?x4xf32> into tensor<?x4xf32>
// CHECK:             linalg.generic
// CHECK:               arith.maximumf
// CHECK:             tensor.extract_slice %[[D]][%[[E]], 0] [1, 32] [1, 1] : tensor<2x32xi8> to tensor<32xi8>
// CHECK:             tensor.extract_slice %[[DS]][%[[E]], 0] [1, 16] [1, 1] : tensor<2x16xf32> to tensor<16xf32>
// CHECK:             tensor.extract_slice %[[DZ]][%[[E]], 0] [1, 16] [1, 1] : tensor<2x16xf32> to tensor<16xf32>
// CHECK:             %[[NOB:.*]] = arith.constant 0 : i64
// CHECK:             func.call @effc_uk_quantized_linear_int4(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NOB]], %{{.*}})
// CHECK:             tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<1x?x8xf32> into tensor<?x8xf32>
// CHECK-NOT:     eff.quantized_experts
func.func @int4_experts(%x: tensor<?x8xf32>, %rw: tensor<?x1xf32>, %ri: tensor<?x1xi64>, %u: tensor<2x64xi8>, %us: tensor<2x32xf32>, %uz: tensor<2x32xf32>, %ub: tensor<2x4xf32>, %d: tensor<2x32xi8>, %ds: tensor<2x16xf32>, %dz: tensor<2x16xf32>) -> tensor<?x8xf32> {
  %y = eff.quantized_experts int4 %x, %rw, %ri up(%u, %us, zero_points %uz, bias %ub) down(%d, %ds, zero_points %dz) relu {intermediate_size = 4 : i64, group_size = 4 : i64}
      : (tensor<?x8xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x64xi8>, tensor<2x32xf32>, tensor<2x32xf32>, tensor<2x4xf32>, tensor<2x32xi8>, tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
