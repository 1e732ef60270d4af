// RUN: effc %s --target=cuda --cuda-arch=sm_90 --cuda-matmul-precision=f16 -o - --emit=ptx | FileCheck %s
// RUN: effc %s --target=cuda --cuda-arch=sm_80 --cuda-matmul-precision=bf16 -o - --emit=ptx | FileCheck %s --check-prefix=BF16
// RUN: effc %s --target=cuda --cuda-arch=sm_80 --cuda-matmul-precision=bf16 -o %t.so
// RUN: effc %s --target=cuda --cuda-arch=sm_80 -o - --emit=ptx | FileCheck %s --check-prefix=F32

// Causal attention with head size 128 (256 / 2) on the tensor cores (ukernels/cuda/attention.cu, _d128 kernel):
// with --cuda-matmul-precision=f16 or bf16, Q·Kᵀ and P·V are mma.sync products (K through ldmatrix, V through
// ldmatrix.trans, the probabilities packed to the format), inlined into the launch (no call). The shared tiles
// fit the 48 KiB of static shared memory (the .so build runs ptxas when the toolkit is present). The default
// f32 keeps the SIMT kernel.
// CHECK:     .visible .entry
// CHECK-DAG: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK-DAG: cvt.rn.f16x2.f32
// CHECK-DAG: shfl.sync.bfly.b32
// CHECK-DAG: ex2.approx
// CHECK-NOT: call.uni
// BF16:      .visible .entry
// BF16-DAG:  mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// BF16-DAG:  ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// F32:       .visible .entry
// F32-NOT:   mma.sync
// F32-NOT:   ldmatrix
func.func @attention(%q: tensor<?x?x256xf32> {eff.name = "q"}, %k: tensor<?x?x256xf32> {eff.name = "k"},
                     %v: tensor<?x?x256xf32> {eff.name = "v"}) -> (tensor<?x?x256xf32> {eff.name = "out"}) {
  %out = eff.attention %q, %k, %v {num_heads = 2 : i64, causal} : (tensor<?x?x256xf32>, tensor<?x?x256xf32>, tensor<?x?x256xf32>) -> tensor<?x?x256xf32>
  return %out : tensor<?x?x256xf32>
}
