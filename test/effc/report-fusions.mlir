// effc --report-fusions: the kernels each function became, with the eff ops they came from, and whether the
// fusions expected on each op fired (lib/Compiler/FusionReport.cpp; the reasons come from the decision
// points, effc::recordFusion).

// RUN: rm -rf %t && split-file --leading-lines %s %t

// bert_tiny (examples/): both attentions on the fused micro-kernel, biases in the GEMMs, weights packed, GELU
// in the up projection's epilogue, residual adds in the add + layer norm kernel, the query, key and value projections
// as one GEMM (eff-pack-qkv). Layers compiled separately
// (--no-layer-reuse), so that each layer's decisions are listed under it.
// RUN: effc %S/../../examples/bert_tiny.mlir --no-layer-reuse --report-fusions --emit=mlir -o %t/bert.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BERT

// The same to a file, and as JSON.
// RUN: effc %S/../../examples/bert_tiny.mlir --no-layer-reuse --report-fusions=%t/bert.txt --emit=mlir -o %t/bert.mlir
// RUN: FileCheck %s --check-prefix=BERT < %t/bert.txt
// RUN: effc %S/../../examples/bert_tiny.mlir --no-layer-reuse --report-fusions --report-fusions-format=json --emit=mlir \
// RUN:   -o %t/bert.mlir 2>&1 | FileCheck %s --check-prefix=JSON

// Attention the fused kernel cannot take, a weight that is not a constant, an elementwise chain.
// RUN: effc %t/model.mlir --report-fusions --emit=mlir -o %t/model.llvm.mlir 2>&1 | FileCheck %s
// RUN: effc %t/model.mlir --report-fusions --no-f32-linear-kernel --emit=mlir -o %t/model.gen.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=GEN

// int8: the quantized GEMM micro-kernels add the bias themselves.
// RUN: effc %S/../../examples/bert_tiny.mlir --no-layer-reuse --quantize=int8 --report-fusions --emit=mlir -o %t/int8.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=INT8

// With layer reuse (the default), both layers run one shared body: every layer's decisions are still
// listed (the body's ops carry the locations of the same op in each layer), the packing of each layer's
// weights at its call included, and the body's kernels name the first layer's ops once.
// RUN: effc %S/../../examples/bert_tiny.mlir --report-fusions --emit=mlir -o %t/reuse.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REUSE
// RUN: effc %S/../../examples/bert_tiny.mlir --report-fusions --report-fusions-format=json --emit=mlir \
// RUN:   -o %t/reuse.mlir 2>&1 | FileCheck %s --check-prefix=REUSE-JSON

// gpt_tiny (examples/): prefill attention has no cache; decode's attention writes the presents it returns
// while it reads the cache (effc_uk_attention_present_f32).
// RUN: effc %S/../../examples/gpt_tiny.mlir --report-fusions --emit=mlir -o %t/gpt.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=GPT
// GPT:      fired attention eff.attention @ gpt_tiny.mlir:29:15 [layer 0] one call of effc_uk_attention_f32
// GPT:      fired attention eff.attention @ gpt_tiny.mlir:105:45 [layer 0] one call of effc_uk_attention_present_f32, which also writes the present KV cache
// GPT:      micro-kernel effc_uk_attention_present_f32 ?x1x128 -> ?x1x128 {{.*}} eff.attention @ gpt_tiny.mlir:105:45 [layer 0]

// An unknown format is refused.
// RUN: not effc %t/model.mlir --report-fusions --report-fusions-format=xml -o %t/bad.so 2>&1 \
// RUN:   | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: unknown fusion report format 'xml' (expected text or json)

// A report file that cannot be written is an error.
// RUN: not effc %t/model.mlir --report-fusions=%t/missing/report.txt --emit=mlir -o %t/m.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=FILE
// FILE: error: cannot open output file '{{.*}}missing/report.txt'

// BERT-LABEL: effc fusion report: function 'main'
// BERT-NEXT:  # kind kernel shape FLOPs weights from
// The embeddings (gathers from constant tables, position ids and an add) are one loop nest.
// BERT-NEXT:  1 fused elementwise linalg.generic loops ?x?x64 - 272KB eff.add @ bert_tiny.mlir:11:10, eff.position_ids @ bert_tiny.mlir:8:18, eff.embedding @ bert_tiny.mlir:10:10, eff.embedding @ bert_tiny.mlir:7:14
// BERT-NEXT:  2 elementwise linalg.generic loops ?x?x64 - 512B eff.embedding @ bert_tiny.mlir:13:10
// The residual add and the layer norm: one micro-kernel call.
// BERT-NEXT:  3 micro-kernel effc_uk_add_layer_norm ?x?x64 -> ?x?x64 - 512B eff.layer_norm @ bert_tiny.mlir:17:19
// The q, k and v projections as one [192, 64] f32 linear on effc_uk_linear_f32 (its weight stored as 12 panels
// of 16 columns): 2 * 192 * 64 FLOPs per token, 48 KiB of weights and the bias, which the kernel adds.
// BERT-NEXT:  4 micro-kernel effc_uk_linear_f32 ?x?x64 -> ?x?x192 24.6K·?^2 49.9KB eff.linear @ bert_tiny.mlir:22:12 [layer 0], eff.linear @ bert_tiny.mlir:25:12 [layer 0], eff.linear @ bert_tiny.mlir:28:12 [layer 0]
// The padding mask (i64) turned into f32 0/1 once, then the fused attention: 4 * 64 FLOPs per (batch, query, key).
// BERT-NEXT:  5 elementwise linalg.generic loops ?x? - - eff.attention @ bert_tiny.mlir:29:15 [layer 0]
// BERT-NEXT:  6 micro-kernel effc_uk_attention_f32 ?x?x64 -> ?x?x64 256·?^3 - eff.attention @ bert_tiny.mlir:29:15 [layer 0]
// The FFN: the up projection with GELU applied in its kernel, then the down projection (each call with its
// own shape and FLOPs).
// BERT:       9 micro-kernel effc_uk_linear_f32 ?x?x64 -> ?x?x256 32.8K·?^2 66.6KB eff.ffn @ bert_tiny.mlir:41:14 [layer 0]
// BERT-NEXT:  10 micro-kernel effc_uk_linear_f32 ?x?x256 -> ?x?x64 32.8K·?^2 65.8KB eff.ffn @ bert_tiny.mlir:41:14 [layer 0]
// BERT:       13 micro-kernel effc_uk_attention_f32 {{.*}} eff.attention @ bert_tiny.mlir:59:17 [layer 1]
// BERT:       expected fusions:
// BERT-NEXT:  status fusion op detail
// BERT-NEXT:  fired residual-norm eff.layer_norm @ bert_tiny.mlir:17:19 one call of effc_uk_add_layer_norm
// BERT-NEXT:  fired gemm-bias eff.linear @ bert_tiny.mlir:22:12 [layer 0] the micro-kernel adds the bias to its output tile
// BERT-NEXT:  fired weight-packing eff.linear @ bert_tiny.mlir:22:12 [layer 0] stored permuted to 12x64x16 at compile time
// BERT:       fired qkv-projection eff.attention @ bert_tiny.mlir:29:15 [layer 0] query, key and value as one eff.linear over the concatenated [192, 64] weight, sliced
// BERT-NEXT:  fired attention eff.attention @ bert_tiny.mlir:29:15 [layer 0] one call of effc_uk_attention_f32
// The residual add after the output projection goes to the add + layer norm kernel, not to the GEMM.
// BERT:       not fired gemm-residual eff.add @ bert_tiny.mlir:33:12 [layer 0] the add + layer norm kernel takes the add
// BERT-NEXT:  fired residual-norm eff.layer_norm @ bert_tiny.mlir:36:12 [layer 0] one call of effc_uk_add_layer_norm
// BERT-NEXT:  fired gemm-activation eff.ffn @ bert_tiny.mlir:41:14 [layer 0] applied by effc_uk_linear_f32 to each output tile while it is in registers
// BERT-NEXT:  fired gemm-bias eff.ffn @ bert_tiny.mlir:41:14 [layer 0]
// BERT-NEXT:  fired weight-packing eff.ffn @ bert_tiny.mlir:41:14 [layer 0] stored permuted to 4x256x16 at compile time
// BERT-NEXT:  fired weight-packing eff.ffn @ bert_tiny.mlir:41:14 [layer 0] stored permuted to 16x64x16 at compile time
// BERT:       kernels: 18, 1 fused elementwise, 2 elementwise, 15 micro-kernel
// BERT-NEXT:  fusions: 33 fired, 4 not fired
// BERT-NOT:   all functions

// JSON:      "complete": true,
// JSON:      "fusion": "attention",
// JSON-NEXT: "op": "eff.attention @ bert_tiny.mlir:29:15 [layer 0]",
// JSON-NEXT: "status": "fired"
// JSON:      "flops": {
// JSON-NEXT:   "dynamic_factors": 2,
// JSON-NEXT:   "known": 24576
// JSON:      "dynamic_factors": 3,
// JSON-NEXT:   "known": 256
// JSON-NEXT: },
// JSON-NEXT: "from": [
// JSON-NEXT:   "eff.attention @ bert_tiny.mlir:29:15 [layer 0]"
// JSON-NEXT: ],
// JSON-NEXT: "kind": "micro-kernel",
// JSON-NEXT: "name": "effc_uk_attention_f32",
// JSON-NEXT: "shape": "?x?x64 -> ?x?x64",
// JSON-NEXT: "weight_bytes": 0
// JSON:      "totals": {
// JSON-NEXT:   "fusions": {
// JSON-NEXT:     "fired": 33,
// JSON-NEXT:     "not fired": 4
// JSON-NEXT:   },

// The q, k and v projections as one int8 GEMM (the weights column is the three layers').
// INT8: 4 micro-kernel effc_uk_quantized_linear_int8 {{.*}} 14.6KB eff.quantized_linear @ bert_tiny.mlir:22:12 [layer 0], eff.quantized_linear @ bert_tiny.mlir:25:12 [layer 0], eff.quantized_linear @ bert_tiny.mlir:28:12 [layer 0]
// The FFN's up projection applies GELU in the kernel's epilogue.
// INT8: 9 micro-kernel effc_uk_quantized_linear_int8_epilogue ?x?x64 -> ?x?x256 32.8K·?^2 19.5KB eff.quantized_linear @ bert_tiny.mlir:41:14 [layer 0]
// INT8: fired gemm-bias eff.quantized_linear @ bert_tiny.mlir:22:12 [layer 0] the micro-kernel adds the bias to its output tile
// INT8: fired qkv-projection eff.attention @ bert_tiny.mlir:29:15 [layer 0] query, key and value as one eff.quantized_linear over the concatenated [192, 64] weight, sliced
// INT8: fired gemm-activation eff.activation @ bert_tiny.mlir:41:14 [layer 0] applied by effc_uk_quantized_linear_int8_epilogue
// INT8: kernels: 18, {{.*}} 15 micro-kernel

// Attention with a head mask, or in f16, takes the linalg lowering; the report says why.
// CHECK-LABEL: effc fusion report: function 'head_mask'
// CHECK:       3 contraction linalg.generic loops 1x2x4x4x4 256 - eff.attention @ model.mlir:{{[0-9]+}}:10
// CHECK:       not fired attention eff.attention @ model.mlir:{{[0-9]+}}:10 head_mask is not supported by the fused kernel
// CHECK-LABEL: effc fusion report: function 'half'
// CHECK:       not fired attention eff.attention @ model.mlir:{{[0-9]+}}:10 the query is f16; the fused kernel is f32 only
// A weight that is a function argument is transposed at run time.
// CHECK-LABEL: effc fusion report: function 'runtime_weight'
// CHECK-NEXT:  # kind kernel shape FLOPs weights from
// CHECK-NEXT:  1 transpose linalg.transpose loops 8x4 - - eff.linear @ model.mlir:{{[0-9]+}}:10
// CHECK-NEXT:  2 contraction linalg.generic loops 2x4x8 128 - eff.linear @ model.mlir:{{[0-9]+}}:10
// CHECK:       not fired weight-packing eff.linear @ model.mlir:{{[0-9]+}}:10 the matrix is not a compile-time constant: it is transposed at run time
// GELU and the residual add are the epilogue of the f32 GEMM kernel: one call. With generated GEMMs
// (the GEN prefix, --no-f32-linear-kernel) they become one loop nest, which tiling makes the GEMM's epilogue.
// CHECK-LABEL: effc fusion report: function 'chain'
// CHECK-NEXT:  # kind kernel shape FLOPs weights from
// CHECK-NEXT:  1 micro-kernel effc_uk_linear_f32 1x2x8 -> 1x2x8 256 544B eff.linear @ model.mlir:{{[0-9]+}}:10
// CHECK:       fired weight-packing eff.linear @ model.mlir:{{[0-9]+}}:10 stored permuted to 1x8x16 at compile time
// CHECK-NEXT:  fired gemm-activation eff.activation @ model.mlir:{{[0-9]+}}:10 applied by effc_uk_linear_f32 to each output tile while it is in registers
// CHECK-NEXT:  fired gemm-residual eff.add @ model.mlir:{{[0-9]+}}:10 applied by effc_uk_linear_f32
// CHECK-LABEL: effc fusion report: all functions
// CHECK-NEXT:  kernels: 24, 9 transpose, 5 contraction, 5 elementwise, 4 reduction, 1 micro-kernel
// CHECK-NEXT:  fusions: 3 not fired, 4 fired
// GEN-LABEL:   effc fusion report: function 'chain'
// GEN:         2 fused elementwise linalg.generic loops 2x8 - - eff.add @ model.mlir:{{[0-9]+}}:10, eff.activation @ model.mlir:{{[0-9]+}}:10
// GEN:         fired gemm-activation eff.activation @ model.mlir:{{[0-9]+}}:10 computed in the GEMM's thread blocks

// REUSE-LABEL: effc fusion report: function 'main'
// REUSE-NOT:   no decision recorded
// REUSE:       fired weight-packing eff.linear @ bert_tiny.mlir:22:12 [layer 0] stored permuted to 12x64x16 at compile time
// REUSE-NOT:   no decision recorded
// REUSE:       fired weight-packing eff.linear @ bert_tiny.mlir:52:14 [layer 1] stored permuted to 12x64x16 at compile time
// REUSE-NOT:   no decision recorded
// REUSE:       fired attention eff.attention @ bert_tiny.mlir:59:17 [layer 1] one call of effc_uk_attention_f32
// REUSE-NOT:   no decision recorded
// REUSE:       fired gemm-activation eff.ffn @ bert_tiny.mlir:71:16 [layer 1]
// REUSE-NOT:   no decision recorded
// REUSE:       fusions: 33 fired, 4 not fired
// REUSE-LABEL: effc fusion report: function 'layer_body_0' (the body of layers 0, 1)
// REUSE-NEXT:  # kind kernel shape FLOPs weights from
// REUSE-NEXT:  1 micro-kernel effc_uk_linear_f32 ?x?x64 -> ?x?x192 24.6K·?^2 4B eff.linear @ bert_tiny.mlir:22:12 [layer 0], eff.linear @ bert_tiny.mlir:25:12 [layer 0], eff.linear @ bert_tiny.mlir:28:12 [layer 0]{{$}}
// REUSE-NEXT:  2 elementwise linalg.generic loops ?x? - - eff.attention @ bert_tiny.mlir:29:15 [layer 0]{{$}}
// REUSE-NEXT:  3 micro-kernel effc_uk_attention_f32 ?x?x64 -> ?x?x64 256·?^3 - eff.attention @ bert_tiny.mlir:29:15 [layer 0]{{$}}
// REUSE-JSON:      "name": "layer_body_0",
// REUSE-JSON-NEXT: "shared_by_layers": [
// REUSE-JSON-NEXT:   0,
// REUSE-JSON-NEXT:   1
// REUSE-JSON-NEXT: ],

//--- model.mlir
module {
  func.func @head_mask(%q: tensor<1x4x8xf32>, %hm: tensor<2xf32>) -> tensor<1x4x8xf32> {
    %a = eff.attention %q, %q, %q head_mask(%hm) {num_heads = 2 : i64} : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<2xf32>) -> tensor<1x4x8xf32>
    return %a : tensor<1x4x8xf32>
  }
  func.func @half(%q: tensor<1x4x8xf16>) -> tensor<1x4x8xf16> {
    %a = eff.attention %q, %q, %q {num_heads = 2 : i64} : (tensor<1x4x8xf16>, tensor<1x4x8xf16>, tensor<1x4x8xf16>) -> tensor<1x4x8xf16>
    return %a : tensor<1x4x8xf16>
  }
  func.func @runtime_weight(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x4xf32> {
    %y = eff.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
    return %y : tensor<2x4xf32>
  }
  func.func @chain(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    %w = arith.constant dense<0.5> : tensor<8x8xf32>
    %b = arith.constant dense<0.25> : tensor<8xf32>
    %y = eff.linear %x, %w, %b : (tensor<2x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
    %g = eff.activation gelu %y : tensor<2x8xf32>
    %r = eff.add %g, %x : tensor<2x8xf32>
    return %r : tensor<2x8xf32>
  }
}
