// RUN: effc %s --quantize=int8 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s
// RUN: effc %s --quantize=int8 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefix=NOHOST
// RUN: effc %s --quantize=int8 --emit=mlir -o - | FileCheck %s --check-prefix=CPU
// RUN: effc %s --quantize=int8 --emit=eff -o - | FileCheck %s --check-prefix=EFF
// RUN: effc %s --quantize=int4 --emit=eff -o - | FileCheck %s --check-prefix=EFF4
// RUN: effc %s --quantize=int4 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefix=INT4

// --quantize=int8 with --target=cuda: the experts are quantized as on the CPU (eff.quantized_experts). Each
// expert's projections are plain int8 linears that launch the device micro-kernels (effc-gpu-quantized-linears),
// the up projection's activation an elementwise kernel after it: no CPU epilogue kernel (the CPU build's
// effc_uk_quantized_linear_int8_epilogue) and no f32 panel kernel remain, so no host micro-kernel runs.

// With --quantize=int4 every expert linear (no epilogue kernel: the activation is an elementwise op) becomes
// a launch of the device int4 kernels: no host int4 call and no f32 panel kernel remain.

// EFF: eff.quantized_experts int8
// EFF4: eff.quantized_experts int4 {{.*}} {group_size = 16 : i64, intermediate_size = 48 : i64}
// INT4-DAG: gpu.binary @effc_kernels
// INT4-DAG: gpu.launch_func
// INT4-NOT: @effc_uk_quantized_linear_int4(
// INT4-NOT: effc_uk_linear_f32_panels
// CHECK-DAG: gpu.binary @effc_kernels
// CHECK-DAG: gpu.launch_func
// CHECK-NOT: effc_uk_linear_f32_panels
// NOHOST-NOT: @effc_uk_
// CPU-DAG: llvm.func @effc_uk_quantized_linear_int8_epilogue(
// CPU-DAG: llvm.func @effc_uk_quantized_linear_int8(
func.func @main(%x: tensor<?x32xf32> {eff.name = "x"}, %rw: tensor<?x1xf32> {eff.name = "rw"},
                %ri: tensor<?x1xi64> {eff.name = "ri"}) -> (tensor<?x32xf32> {eff.name = "y"}) {
  %wu = arith.constant dense<0.5> : tensor<2x48x32xf32>
  %wd = arith.constant dense<0.25> : tensor<2x32x48xf32>
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu
      : (tensor<?x32xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x48x32xf32>, tensor<2x32x48xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
