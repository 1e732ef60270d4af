// effc --report: parameters, weight bytes and FLOPs per token, per eff.layer and in total.
// RUN: effc %s --report -o %t.so | FileCheck %s
// RUN: effc %s --quantize=int8 --report -o %t.int8.so | FileCheck %s --check-prefix=INT8
// RUN: effc %s --sparsity=2:4 --report -o %t.sparse.so | FileCheck %s --check-prefix=SPARSE

// CHECK: effc report: function 'forward'
// CHECK-NEXT: part parameters bytes FLOPs/token
// Layer 0: W [8, 8] and b [8] in f32: 72 parameters, 288 bytes, 2 * 64 FLOPs.
// CHECK-NEXT: layer 0 72 288 B 128
// Layer 1: W_up [16, 8] applied twice counts once as storage and twice as work; W_down [8, 16] once.
// CHECK-NEXT: layer 1 256 1.02 kB 768
// Outside layers: the [10, 8] embedding table is a lookup (no FLOPs); the head [4, 8] costs 2 * 32.
// CHECK-NEXT: outside layers 112 448 B 64
// CHECK-NEXT: total 440 1.76 kB 960

// int8: the same logical weights and work; bytes are the packed weights ([Np/16][Kp/4][16][4] i8 with N and K
// padded to 16 and 4), per-channel scales and column sums (Np each, 4 bytes) and f32 biases. W_up, used by
// two linears, is quantized for each.
// INT8: layer 0 72 288 B 128
// INT8-NEXT: layer 1 384 896 B 768

// 2:4: half the weights and half the work; bytes are the kept f32 values, their i8 indices and the biases.
// SPARSE: layer 0 40 192 B 64
// SPARSE-NEXT: layer 1 192 960 B 384
module {
  func.func @forward(%ids: tensor<?x?xi64>) -> tensor<?x?x4xf32> {
    %table = arith.constant dense<0.5> : tensor<10x8xf32>
    %x = eff.embedding token %table[%ids] : (tensor<10x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32>
    %h = eff.layer 0 (%x) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    ^bb0(%in: tensor<?x?x8xf32>):
      %w = arith.constant dense<0.25> : tensor<8x8xf32>
      %b = arith.constant dense<0.0> : tensor<8xf32>
      %y = eff.linear %in, %w, %b : (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
      eff.yield %y : tensor<?x?x8xf32>
    }
    %g = eff.layer 1 (%h) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    ^bb0(%in: tensor<?x?x8xf32>):
      %up = arith.constant dense<0.125> : tensor<16x8xf32>
      %down = arith.constant dense<0.125> : tensor<8x16xf32>
      %u = eff.linear %in, %up : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
      %u2 = eff.linear %in, %up : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
      %s = eff.add %u, %u2 : tensor<?x?x16xf32>
      %d = eff.linear %s, %down : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
      eff.yield %d : tensor<?x?x8xf32>
    }
    %head = arith.constant dense<1.0> : tensor<4x8xf32>
    %logits = eff.linear %g, %head : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
    return %logits : tensor<?x?x4xf32>
  }
}
