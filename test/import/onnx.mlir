// RUN: rm -rf %t && %PYTHON %S/make_onnx_models.py %t
// RUN: effc-import %t/tiny.onnx --report-raising 2>%t/report.txt | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t/report.txt
// RUN: effc-import %t/tiny13.onnx | FileCheck %s
// The initializers are read from the .onnx itself, or from its external data file.
// RUN: effc-import %t/tiny.onnx | effc-opt --eff-materialize-parameters=base-dir=%t | FileCheck %s --check-prefix=READ
// RUN: effc-import %t/external.onnx | effc-opt --eff-materialize-parameters=base-dir=%t | FileCheck %s --check-prefix=READ
// RUN: effc %t/external.onnx -o %t/external.so
// RUN: effc-import %t/attention_ok.onnx | FileCheck %s --check-prefix=ATTENTION
// RUN: effc-import %t/rotary_long_keys.onnx | FileCheck %s --check-prefix=LONG-KEYS
// RUN: effc-import %t/topk.onnx | FileCheck %s --check-prefix=TOPK
// RUN: effc-import %t/topk_input.onnx --bind-input k=%t/k.npy | FileCheck %s --check-prefix=TOPK
// RUN: effc-import %t/unsigned.onnx | FileCheck %s --check-prefix=UNSIGNED
// RUN: effc-import %t/not_opset1.onnx | FileCheck %s --check-prefix=NOT-OPSET1
// RUN: effc-import %t/slice_inputs.onnx | FileCheck %s --check-prefix=SLICE-INPUTS

// The ONNX importer (lib/Import/Onnx.cpp) on the tiny model of make_onnx_models.py: MatMul + Add on
// initializers becomes eff.linear reading the [K, N] weight transposed, the erf GELU becomes eff.activation, the
// batch read through Shape -> Gather -> Unsqueeze -> Concat is folded into a tensor.dim, and no Shape, Gather or
// Concat of the shape computation is left.

// CHECK:      module attributes {eff.weights = "tiny{{(13)?}}.onnx"}
// CHECK:      func.func @main(%[[X:.*]]: tensor<?x8xf32> {eff.name = "x"}) -> (tensor<?x2x3xf32> {eff.name = "y"})
// CHECK-DAG:    %[[B:.*]] = eff.parameter "dense.bias" : tensor<6xf32>
// CHECK-DAG:    %[[W:.*]] = eff.parameter "dense.weight" {transpose} : tensor<6x8xf32>
// CHECK:        %[[H:.*]] = eff.linear %[[X]], %[[W]], %[[B]] : (tensor<?x8xf32>, tensor<6x8xf32>, tensor<6xf32>) -> tensor<?x6xf32>
// CHECK:        %[[G:.*]] = eff.activation gelu %[[H]] : tensor<?x6xf32>
// CHECK:        %[[DIM:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x8xf32>
// CHECK:        %[[SHAPE:.*]] = tensor.from_elements %[[DIM]], %{{.*}}, %{{.*}} : tensor<3xindex>
// CHECK:        %[[R:.*]] = tensor.reshape %[[G]](%[[SHAPE]]) : (tensor<?x6xf32>, tensor<3xindex>) -> tensor<?x2x3xf32>
// CHECK:        %[[Y:.*]] = eff.softmax %[[R]] {axis = 2 : i64} : tensor<?x2x3xf32>
// CHECK:        return %[[Y]]
// CHECK-NOT:  math.erf
// CHECK-NOT:  tensor.concat

// REPORT: raised linear at node 'dense/Add' (Add) -> eff.linear (MatMul 'dense.weight' + bias 'dense.bias')
// REPORT: raised gelu at node 'gelu/Mul_1' (Mul) -> eff.activation (erf form)
// REPORT: raised 2 subgraphs to eff ops

// READ:     arith.constant dense_resource<dense.bias> : tensor<6xf32>
// READ:     arith.constant dense_resource<dense.weight> : tensor<6x8xf32>
// READ-NOT: eff.parameter

// The hand-written attention subgraph of make_onnx_models.py (the shapes agree): rotary on both heads, a
// padding mask, the default scale.
// ATTENTION:      func.func @main(%[[Q:.*]]: tensor<1x3x8xf32> {eff.name = "q"}, %[[K:.*]]: tensor<1x3x8xf32> {eff.name = "k"}, %[[V:.*]]: tensor<1x3x8xf32> {eff.name = "v"}, %[[M:.*]]: tensor<1x3xf32> {eff.name = "mask"})
// ATTENTION-DAG:    %[[RQ:.*]] = eff.rotary %[[Q]], %{{.*}} {num_heads = 2 : i64} : (tensor<1x3x8xf32>, tensor<?xi64>) -> tensor<1x3x8xf32>
// ATTENTION-DAG:    %[[RK:.*]] = eff.rotary %[[K]], %{{.*}} {num_heads = 2 : i64} : (tensor<1x3x8xf32>, tensor<?xi64>) -> tensor<1x3x8xf32>
// ATTENTION:        %[[Y:.*]] = eff.attention %[[RQ]], %[[RK]], %[[V]] mask(%[[M]]) {num_heads = 2 : i64}
// ATTENTION:        return %[[Y]]

// Keys longer than the queries: each is rotated at its own positions 0..S-1.
// LONG-KEYS:      func.func @main(%[[Q:.*]]: tensor<1x3x8xf32> {eff.name = "q"}, %[[K:.*]]: tensor<1x5x8xf32> {eff.name = "k"}
// LONG-KEYS-DAG:    eff.rotary %[[Q]], %{{.*}} {num_heads = 2 : i64} : (tensor<1x3x8xf32>, tensor<?xi64>) -> tensor<1x3x8xf32>
// LONG-KEYS-DAG:    eff.rotary %[[K]], %{{.*}} {num_heads = 2 : i64} : (tensor<1x5x8xf32>, tensor<?xi64>) -> tensor<1x5x8xf32>
// LONG-KEYS:        eff.attention

// TopK (k = 2 as an initializer, make_onnx_models.py's topk): one arg-max reduction per choice, the second
// skipping the index the first took; values and indices inserted at positions 0 and 1 of the axis.
// TOPK:      func.func @main(%[[X:.*]]: tensor<2x4xf32> {eff.name = "x"}) -> (tensor<2x2xf32> {eff.name = "values"}, tensor<2x2xi64> {eff.name = "indices"})
// TOPK:        %[[FIRST:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<2x4xf32>)
// TOPK:          arith.cmpf ogt
// TOPK:        tensor.insert_slice %[[FIRST]]#0 into %{{.*}}[0, 0] [2, 1] [1, 1] : tensor<2xf32> into tensor<2x2xf32>
// TOPK:        tensor.insert_slice %[[FIRST]]#1 into %{{.*}}[0, 0] [2, 1] [1, 1] : tensor<2xi64> into tensor<2x2xi64>
// TOPK:        %[[SECOND:.*]]:2 = linalg.generic {{.*}} ins(%[[X]], %[[FIRST]]#1 : tensor<2x4xf32>, tensor<2xi64>)
// TOPK:          %[[I:.*]] = arith.index_cast
// TOPK:          arith.cmpi ne, %[[I]]
// TOPK:        tensor.insert_slice %[[SECOND]]#0 into %{{.*}}[0, 1] [2, 1] [1, 1]
// TOPK:        tensor.insert_slice %[[SECOND]]#1 into %{{.*}}[0, 1] [2, 1] [1, 1]

// uint8/uint16 tensors are signless integers marked eff.unsigned at the entry point (their dtype tags u8, u16),
// and the ops whose results depend on the signedness use arith's unsigned forms.
// UNSIGNED:      func.func @main(%{{.*}}: tensor<4xi8> {eff.name = "a", eff.unsigned}, %{{.*}}: tensor<4xi8> {eff.name = "b", eff.unsigned}, %{{.*}}: tensor<4xi16> {eff.name = "c", eff.unsigned}, %{{.*}}: tensor<4xi16> {eff.name = "d", eff.unsigned})
// UNSIGNED-SAME:   -> (tensor<4xi8> {eff.name = "q", eff.unsigned}, tensor<4xi16> {eff.name = "m", eff.unsigned}, tensor<4xi1> {eff.name = "lt"}, tensor<4xf32> {eff.name = "af"})
// UNSIGNED:        arith.divui
// UNSIGNED:        arith.maxui
// UNSIGNED:        arith.cmpi ult
// UNSIGNED:        arith.uitofp

// A Slice whose starts, ends, axes and steps are graph inputs: a gather of run-time extents (the rank is the
// input's), each bound normalised and clamped in IR.
// SLICE-INPUTS:      func.func @main(%[[X:.*]]: tensor<2x3xf32> {eff.name = "x"}, %{{.*}}: tensor<1xi64> {eff.name = "starts"}, %{{.*}}: tensor<1xi64> {eff.name = "ends"}, %{{.*}}: tensor<1xi64> {eff.name = "axes"}, %{{.*}}: tensor<1xi64> {eff.name = "steps"}) -> (tensor<?x?xf32> {eff.name = "y"})
// SLICE-INPUTS:        %[[INIT:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?xf32>
// SLICE-INPUTS:        linalg.generic {{.*}} outs(%[[INIT]] : tensor<?x?xf32>)
// SLICE-INPUTS:          tensor.extract %[[X]]

// Not at opset 1 (its only version): imported as at opset 7.
// NOT-OPSET1:      func.func @main(%{{.*}}: tensor<2x3xi1> {eff.name = "x"}) -> (tensor<2x3xi1> {eff.name = "y"})
// NOT-OPSET1:        arith.xori
