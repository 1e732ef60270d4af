//===- EffToLinalg.h - eff to linalg patterns -------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Entry points of the eff -> linalg lowering, one populate function per op family.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_CONVERSION_EFFTOLINALG_EFFTOLINALG_H
#define EFFC_CONVERSION_EFFTOLINALG_EFFTOLINALG_H

#include "mlir/Support/LogicalResult.h"
#include <cstdint>

namespace mlir {
class ModuleOp;
class RewritePatternSet;
} // namespace mlir

namespace effc {
/// eff.linear, eff.matmul, eff.ffn. With `f32LinearKernel`, f32 linear layers with static weights become calls
/// of the CPU micro-kernel effc_uk_linear_f32 (weights in 16-column panels).
void populateLinearAlgebraLoweringPatterns(mlir::RewritePatternSet &patterns, bool f32LinearKernel = false);
/// eff.activation, eff.glu, eff.add, eff.softmax, eff.layer_norm, eff.rms_norm, eff.ia3.
void populateElementwiseLoweringPatterns(mlir::RewritePatternSet &patterns);
/// eff.embedding, eff.position_ids, eff.rotary, eff.attention. With `fusedAttention`, f32 attention without
/// head_mask becomes a call of the fused micro-kernel effc_uk_attention_f32; a `fusedAttentionMaxHeadDim` > 0
/// also requires a static head size of at most that (the limit of the GPU's kernel, ukernels/cuda/attention.cu).
/// With `fusedKvCache` as well, attention with a KV cache whose `present` results are used becomes one call of
/// effc_uk_attention_present_f32, which writes them while it reads the cache (a CPU kernel for an op group,
/// like the fused epilogues); without it they are separate concatenations.
void populateAttentionLoweringPatterns(mlir::RewritePatternSet &patterns, bool fusedAttention = true,
                                       int64_t fusedAttentionMaxHeadDim = 0, bool fusedKvCache = false);
/// eff.lora, eff.prefix, eff.prompt, eff.bottleneck_adapter.
void populateAdapterLoweringPatterns(mlir::RewritePatternSet &patterns);
/// eff.router, eff.experts, eff.quantized_experts, eff.residual_moe. With `expertPanels` (CPU op groups), f32
/// experts run their linear layers on the CPU micro-kernel effc_uk_linear_f32_panels (weights in 16-column
/// panels) and int8 experts apply their activation in effc_uk_quantized_linear_int8_epilogue; without it
/// (the CUDA target) the activation is an elementwise op after the plain int8 call.
void populateMoELoweringPatterns(mlir::RewritePatternSet &patterns, bool expertPanels = true);
/// eff.quantized_linear (micro-kernel calls).
void populateQuantizedLoweringPatterns(mlir::RewritePatternSet &patterns);
/// eff.sparse_linear (Sparse.cpp).
void populateSparseLoweringPatterns(mlir::RewritePatternSet &patterns);
/// Lowers the eff op groups that one fused micro-kernel computes (Fusion.cpp): int8 and bf16
/// eff.quantized_linear (and f32 eff.linear, with `f32LinearKernel`) with its activation and residual-add
/// epilogue, and f32 eff.add + eff.layer_norm. Run before the patterns; ops outside such groups are left to
/// them. Fails (with a diagnostic) only on an internal error.
mlir::LogicalResult lowerFusedGroups(mlir::ModuleOp module, bool f32LinearKernel = false);
/// All of the above; `cpuOpGroups` stands for `expertPanels` and `fusedKvCache` (the CPU micro-kernels for op
/// groups, convert-eff-to-linalg's fuse-epilogues). (eff.layer bodies are inlined by the pass itself before
/// these patterns run.)
void populateEffToLinalgPatterns(mlir::RewritePatternSet &patterns, bool fusedAttention = true,
                                 bool cpuOpGroups = true, int64_t fusedAttentionMaxHeadDim = 0,
                                 bool f32LinearKernel = false);
} // namespace effc

#endif // EFFC_CONVERSION_EFFTOLINALG_EFFTOLINALG_H
