// RUN: effc %s --quantize=int8 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s
// RUN: effc %s --quantize=int8 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefix=NOHOST
// RUN: effc %s --quantize=int8 --emit=eff -o - | FileCheck %s --check-prefix=EFF

// --quantize=int8 with --target=cuda: the experts are quantized as on the CPU (eff.quantized_experts). Each
// expert's up projection (with its activation: the int8 epilogue kernel) still runs on the host over the managed
// memory the runtime hands out on a CUDA device; its down projection (a plain int8 linear) launches the device
// micro-kernels (effc-gpu-quantized-linears). No f32 panel kernel remains.

// EFF: eff.quantized_experts int8
// CHECK-DAG: llvm.func @effc_uk_quantized_linear_int8_epilogue(
// CHECK-DAG: gpu.binary @effc_kernels
// CHECK-NOT: effc_uk_linear_f32_panels
// NOHOST-NOT: @effc_uk_quantized_linear_int8(
func.func @main(%x: tensor<?x32xf32> {eff.name = "x"}, %rw: tensor<?x1xf32> {eff.name = "rw"},
                %ri: tensor<?x1xi64> {eff.name = "ri"}) -> (tensor<?x32xf32> {eff.name = "y"}) {
  %wu = arith.constant dense<0.5> : tensor<2x48x32xf32>
  %wd = arith.constant dense<0.25> : tensor<2x32x48xf32>
  %y = eff.experts %x, %rw, %ri up(%wu) down(%wd) gelu
      : (tensor<?x32xf32>, tensor<?x1xf32>, tensor<?x1xi64>, tensor<2x48x32xf32>, tensor<2x32x48xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
