// RUN: effc %s --quantize=int8 --target=cuda --cuda-arch=sm_90 -o - --emit=ptx | FileCheck %s --check-prefix=INT8
// RUN: effc %s --quantize=int8 --target=cuda --cuda-arch=sm_80 -o - --emit=ptx | FileCheck %s --check-prefix=INT8
// RUN: effc %s --quantize=int4 --target=cuda --cuda-arch=sm_80 -o - --emit=ptx | FileCheck %s --check-prefix=INT4
// RUN: effc %s --quantize=int4:asym --target=cuda --cuda-arch=sm_90 -o - --emit=ptx | FileCheck %s --check-prefix=INT4
// RUN: effc %s --quantize=int8 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefixes=HOST,HOST8
// RUN: effc %s --quantize=int4 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefix=HOST
// RUN: effc %s --quantize=lut:3 --target=cuda --cuda-arch=sm_90 -o - --emit=ptx | FileCheck %s --check-prefix=LUT
// RUN: effc %s --quantize=lut:2 --target=cuda --cuda-format=isa --emit=mlir -o - | FileCheck %s --check-prefixes=HOST,HOSTLUT

// Quantized linear layers on the CUDA target run on the device (effc-gpu-quantized-linears, docs/gpu.md): int8
// quantizes the activation rows in one kernel and multiplies on the int8 tensor cores (mma.sync m16n8k32) or,
// for few rows, with dp4a; int4 dequantises its nibbles in registers. The micro-kernels are inlined (no call).
// INT8:     .visible .entry
// INT8-DAG: cvt.rni.f32.f32
// INT8-DAG: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32
// INT8-DAG: dp4a.s32.s32
// INT8-DAG: shfl.sync.bfly.b32
// INT8-NOT: call.uni
// INT8-NOT: .extern .func
// INT4:     .visible .entry
// INT4-DAG: .shared .align 4 .b8 {{.*}}Int4Tile{{.*}}xs
// INT4-DAG: bar.sync
// INT4-NOT: call.uni
// INT4-NOT: .extern .func
// LUT dequantises its sign bits in registers, one kernel for both row counts.
// LUT:     .visible .entry
// LUT-DAG: .shared .align 4 .b8 {{.*}}LutTile{{.*}}xs
// LUT-NOT: call.uni
// LUT-NOT: .extern .func
// HOSTLUT-COUNT-1: gpu.launch_func
// No host micro-kernel is called; int8 waits for the device once, before returning (its scratch buffers are
// stream-ordered device memory).
// HOST-NOT:  @effc_uk_quantized_linear
// HOST8-COUNT-3: gpu.launch_func
// HOST8-COUNT-1: llvm.call @mgpuStreamSynchronize
// HOST-NOT:  @effc_uk_quantized_linear
func.func @linear(%x: tensor<?x?x64xf32> {eff.name = "x"}) -> (tensor<?x?x48xf32> {eff.name = "y"}) {
  %w = arith.constant dense<0.5> : tensor<48x64xf32>
  %b = arith.constant dense<0.25> : tensor<48xf32>
  %y = eff.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<48x64xf32>, tensor<48xf32>) -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}
