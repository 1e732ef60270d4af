// RUN: effc-opt %s -split-input-file --eff-quantize=scheme=int8 | FileCheck %s --check-prefix=INT8
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int4:g8' | FileCheck %s --check-prefix=INT4
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=int4:g8 symmetric=false' | FileCheck %s --check-prefix=ASYM
// RUN: effc-opt %s -split-input-file '--eff-quantize=scheme=lut:3:g8' | FileCheck %s --check-prefix=LUT
// RUN: effc-opt %s -split-input-file --eff-quantize=scheme=bf16 | FileCheck %s --check-prefix=BF16
// Option errors:
// RUN: not effc-opt %s --eff-quantize=scheme=int3 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not effc-opt %s '--eff-quantize=scheme=lut:0' 2>&1 | FileCheck %s --check-prefix=LUT0
// RUN: not effc-opt %s '--eff-quantize=scheme=lut:9' 2>&1 | FileCheck %s --check-prefix=LUT9
// RUN: not effc-opt %s '--eff-quantize=scheme=lut:2:g12' 2>&1 | FileCheck %s --check-prefix=LUTGROUP
// RUN: not effc-opt %s '--eff-quantize=scheme=int4:g7' 2>&1 | FileCheck %s --check-prefix=ODD
// RUN: not effc-opt %s '--eff-quantize=scheme=int4:x64' 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: not effc-opt %s '--eff-quantize=scheme=int8:g8' 2>&1 | FileCheck %s --check-prefix=PARAMS
// RUN: not effc-opt %s '--eff-quantize=scheme=int8 activations=sometimes' 2>&1 | FileCheck %s --check-prefix=ACTIVATIONS
// RUN: not effc-opt %s '--eff-quantize=scheme=bf16 activations=static' 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not effc-opt %s '--eff-quantize=scheme=bf16:static' 2>&1 | FileCheck %s --check-prefix=BF16STATIC

// UNKNOWN: error: eff-quantize: unknown quantization scheme 'int3' (expected int8[:static], int4[:gGROUP][:asym], lut:BITS[:gGROUP] or bf16)
// LUT0: error: eff-quantize: lut needs a number of bits in [1, 4] (lut:BITS), got 'lut:0'
// LUT9: error: eff-quantize: lut needs a number of bits in [1, 4] (lut:BITS), got 'lut:9'
// LUTGROUP: error: eff-quantize: lut group size must be a multiple of 8, got 12
// ODD: error: eff-quantize: int4 group size must be even, got 7
// MALFORMED: error: eff-quantize: malformed group 'x64' in scheme 'int4:x64' (expected gGROUP, e.g. g128)
// PARAMS: error: eff-quantize: scheme int8 takes no parameters, got 'int8:g8'
// ACTIVATIONS: error: eff-quantize: activations must be dynamic or static, got 'sometimes'
// STATIC: error: eff-quantize: activations=static needs scheme int8
// BF16STATIC: error: eff-quantize: scheme bf16 takes no parameters, got 'bf16:static'

// A linear with a constant weight [4, 8] and bias: the packed operands have Np = 16 rows.

// INT8-LABEL: func.func @linear
// INT8-NOT: eff.linear
// Row 2 is all 2.0: scale 2/127, every weight 127, column sum 8 · 127.
// INT8: arith.constant dense<[{{[^,]*}}, {{[^,]*}}, 1016, {{.*}}]> : tensor<16xi32>
// INT8: eff.quantized_linear int8 %{{.*}}, %{{.*}} scales(%{{.*}}) column_sums(%{{.*}}) bias(%{{.*}}) {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xi8>, tensor<16xf32>, tensor<16xi32>, tensor<4xf32>) -> tensor<?x4xf32>

// INT4-LABEL: func.func @linear
// INT4: eff.quantized_linear int4 %{{.*}}, %{{.*}} scales(%{{.*}}) bias(%{{.*}}) {group_size = 8 : i64, in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<64xi8>, tensor<16xf32>, tensor<4xf32>)

// ASYM-LABEL: func.func @linear
// ASYM: eff.quantized_linear int4 %{{.*}}, %{{.*}} scales(%{{.*}}) zero_points(%{{.*}}) bias(%{{.*}}) {group_size = 8 : i64, {{.*}}} : (tensor<?x8xf32>, tensor<64xi8>, tensor<16xf32>, tensor<16xf32>, tensor<4xf32>)

// LUT-LABEL: func.func @linear
// LUT: eff.quantized_linear lut %{{.*}}, %{{.*}} scales(%{{.*}}) bias(%{{.*}}) {bits = 3 : i64, group_size = 8 : i64, {{.*}}} : (tensor<?x8xf32>, tensor<48xi8>, tensor<48xf32>, tensor<4xf32>)

// BF16-LABEL: func.func @linear
// BF16: eff.quantized_linear bf16 %{{.*}}, %{{.*}} bias(%{{.*}}) {in_features = 8 : i64, out_features = 4 : i64} : (tensor<?x8xf32>, tensor<128xbf16>, tensor<4xf32>)
func.func @linear(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 3.0, 4.0, 0.5, 0.25, -1.0, 2.0], [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0],
                             [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0], [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0]]> : tensor<4x8xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %y = eff.linear %x, %w, %b : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// A gated FFN becomes quantized up and gate projections, eff.glu, and a quantized down projection; a linear
// whose weight is an argument stays.

// INT8-LABEL: func.func @gated_ffn
// INT8: %[[UP:.*]] = eff.quantized_linear int8 %arg0
// INT8: %[[GATE:.*]] = eff.quantized_linear int8 %arg0
// INT8: %[[H:.*]] = eff.glu silu %[[GATE]], %[[UP]] : tensor<?x16xf32>
// INT8: %[[Y:.*]] = eff.quantized_linear int8 %[[H]], {{.*}} {in_features = 16 : i64, out_features = 8 : i64}
// INT8: eff.linear %[[Y]], %arg1
// INT8-NOT: eff.ffn
// BF16-LABEL: func.func @gated_ffn
// BF16-COUNT-3: eff.quantized_linear bf16
func.func @gated_ffn(%x: tensor<?x8xf32>, %w: tensor<8x8xf32>) -> tensor<?x8xf32> {
  %wu = arith.constant dense<0.5> : tensor<16x8xf32>
  %wg = arith.constant dense<-0.25> : tensor<16x8xf32>
  %wd = arith.constant dense<1.5> : tensor<8x16xf32>
  %h = eff.ffn %x up(%wu) gate(%wg) down(%wd) silu : (tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
  %y = eff.linear %h, %w : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
