//===- Passes.td - effc conversion passes ------------------*- tablegen -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_CONVERSION_PASSES_TD
#define EFFC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertEffToLinalgPass : Pass<"convert-eff-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower eff ops to linalg, tensor, arith, math and scf on tensors";
  let description = [{
    Rewrites every eff op into destination-passing linalg ops on tensors (contractions and elementwise
    `linalg.generic`s), `tensor` reshapes and slices, and `scf` loops for routing. `eff.layer` bodies are
    inlined. The semantics implemented are those of docs/spec/eff.md.

    #### Input invariant
    `eff.parameter` ops have been materialised (`eff-materialize-parameters`).

    #### Output IR
    No eff ops remain; any op that cannot be lowered is reported with its location. Compressed linear
    layers become calls of micro-kernels (`func.call @effc_uk_*` on buffers, see ukernels/ukernel.h).

    With `fused-attention` (the default), f32 `eff.attention` without `head_mask` becomes one call of the
    fused attention micro-kernel instead of linalg contractions and a softmax over a materialised score
    tensor:
    ```mlir
    %o = eff.attention %q, %k, %v mask(%m) {num_heads = 12 : i64}
        : (tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<?x?xf32>) -> tensor<?x?x768xf32>
    // becomes
    %buf = memref.alloc(%b, %s) {alignment = 64 : i64} : memref<?x?x768xf32>
    func.call @effc_uk_attention_f32(%qb, %kb, %vb, %kb, %vb, %mb, %c12, %c12, %scale, %false, %true,
                                     %false, %bufcast) : (...) -> ()
    %o = bufferization.to_tensor %buf restrict writable : memref<?x?x768xf32> to tensor<?x?x768xf32>
    ```

    With `fuse-epilogues` (the default), op groups that one micro-kernel computes in a single pass are
    lowered together first (lib/Conversion/EffToLinalg/Fusion.cpp): an int8 `eff.quantized_linear` whose
    only use is an `eff.activation` and/or a residual `eff.add` becomes one call of
    `effc_uk_quantized_linear_int8_epilogue` (bias, activation and residual applied to each output tile in
    L1), and an f32 `eff.layer_norm` of an `eff.add` becomes one call of `effc_uk_add_layer_norm` (or
    `effc_uk_add_layer_norm_keep_sum` when the sum has other uses):
    ```mlir
    %s = eff.add %x, %r : tensor<?x?x768xf32>
    %y = eff.layer_norm %s, %gamma, %beta : (...) -> tensor<?x?x768xf32>
    // becomes
    func.call @effc_uk_add_layer_norm(%xb, %rb, %gb, %bb, %c1, %eps, %ybuf) : (...) -> ()
    ```
    With `f32-linear-kernel` (set by the CPU pipeline), f32 `eff.linear` layers and the linear layers of
    `eff.ffn` whose weights are statically shaped become calls of `effc_uk_linear_f32`
    (ukernels/panel_gemm.c: 6 x 64 register tiles on weights laid out as 16-column panels, the FFN's
    activation applied in the kernel), and with `fuse-epilogues` an f32 `eff.linear` takes its activation and
    residual add like the int8 one; without it they are linalg contractions (tiled by
    effc-cpu-tile-and-vectorize).
    Under `fuse-epilogues`, the linear layers of f32 `eff.experts` whose output widths are multiples of 16
    become calls of `effc_uk_linear_f32_panels` (each expert's small, dynamic M against weights laid out
    in 16-column panels, the activation applied in the kernel); without it they are linalg contractions.
    Under `fuse-epilogues` and `fused-attention`, an attention with a KV cache whose `present` results are
    used becomes one call of `effc_uk_attention_present_f32`, which writes the presents (past followed by the
    new keys and values) as it reads the cache, instead of two separate concatenations (a decode step then
    reads the cache once).
  }];
  let options = [
    Option<"fusedAttention", "fused-attention", "bool", /*default=*/"true",
           "Lower f32 eff.attention without head_mask to the fused micro-kernel effc_uk_attention_f32">,
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"true",
           "Lower int8 linear layers with their activation/residual epilogue, f32 residual add + layer "
           "norm, f32 expert linear layers with their activation, and attention with the KV cache it "
           "returns, to fused micro-kernels">,
    Option<"f32LinearKernel", "f32-linear-kernel", "bool", /*default=*/"false",
           "Lower f32 linear layers with static weights to the CPU micro-kernel effc_uk_linear_f32">,
    Option<"fusedAttentionMaxHeadDim", "fused-attention-max-head-dim", "int64_t", /*default=*/"0",
           "With fused-attention, take the fused kernel only for a static head size of at most this (0: any); "
           "--target=cuda sets the GPU kernel's limit, 128">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // EFFC_CONVERSION_PASSES_TD
