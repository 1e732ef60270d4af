// effc --report-fusions: the kernels each function became, with the eff ops they came from, and whether the
// fusions expected on each op fired (lib/Compiler/FusionReport.cpp; the reasons come from the decision
// points, effc::recordFusion).

// RUN: rm -rf %t && split-file --leading-lines %s %t

// bert_tiny (examples/): both attentions on the fused micro-kernel, biases in the GEMMs, weights packed;
// QKV packing, GEMM epilogues and residual + layer norm are not implemented.
// RUN: effc %S/../../examples/bert_tiny.mlir --report-fusions --emit=mlir -o %t/bert.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BERT

// The same to a file, and as JSON.
// RUN: effc %S/../../examples/bert_tiny.mlir --report-fusions=%t/bert.txt --emit=mlir -o %t/bert.mlir
// RUN: FileCheck %s --check-prefix=BERT < %t/bert.txt
// RUN: effc %S/../../examples/bert_tiny.mlir --report-fusions --report-fusions-format=json --emit=mlir \
// RUN:   -o %t/bert.mlir 2>&1 | FileCheck %s --check-prefix=JSON

// Attention the fused kernel cannot take, a weight that is not a constant, an elementwise chain.
// RUN: effc %t/model.mlir --report-fusions --emit=mlir -o %t/model.llvm.mlir 2>&1 | FileCheck %s

// int8: the quantized GEMM micro-kernels add the bias themselves.
// RUN: effc %S/../../examples/bert_tiny.mlir --quantize=int8 --report-fusions --emit=mlir -o %t/int8.mlir 2>&1 \
// RUN:   | FileCheck %s --check-prefix=INT8

// An unknown format is refused.
// RUN: not effc %t/model.mlir --report-fusions --report-fusions-format=xml -o %t/bad.so 2>&1 \
// RUN:   | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: unknown fusion report format 'xml' (expected text or json)

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
