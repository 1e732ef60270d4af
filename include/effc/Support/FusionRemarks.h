//===- FusionRemarks.h - record why a fusion fired or did not ----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Lowerings and codegen passes record each fusion decision where they take it, as an MLIR optimisation
// remark (mlir/IR/Remarks.h) of the category `effc-fusion`:
//
//   recordFusion(op.getLoc(), fusion::kAttention, /*fired=*/false, "head_mask is not supported by the kernel");
//
// The location must be the one of the eff op the decision is about (the lowering's `op.getLoc()`, or the loc
// of a linalg op built from it): `effc --report-fusions` (lib/Compiler/FusionReport.cpp) tags every eff op's
// location before lowering and attaches each remark to the op whose tag it carries. Without a remark engine
// on the context (the default) recording costs one pointer test; the detail text is not even built.
//
// A new fusion: add its name below and its candidate (which eff ops it applies to, and whether effc
// implements it) to the table in FusionReport.cpp, then call recordFusion at the decision point.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_SUPPORT_FUSIONREMARKS_H
#define EFFC_SUPPORT_FUSIONREMARKS_H

#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Remarks.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"

namespace effc {

/// The remark category of fusion decisions.
inline constexpr llvm::StringLiteral kFusionRemarkCategory = "effc-fusion";

/// The fusions the report knows (its candidate table describes each).
namespace fusion {
/// eff.attention as one call of the fused micro-kernel effc_uk_attention_f32.
inline constexpr llvm::StringLiteral kAttention = "attention";
/// The bias of a linear layer applied by the GEMM itself (initial accumulator or kernel epilogue).
inline constexpr llvm::StringLiteral kGemmBias = "gemm-bias";
/// The activation after a linear layer applied in the GEMM's epilogue.
inline constexpr llvm::StringLiteral kGemmActivation = "gemm-activation";
/// A residual add after a linear layer applied in the GEMM's epilogue.
inline constexpr llvm::StringLiteral kGemmResidual = "gemm-residual";
/// An elementwise consumer of a GEMM (possibly several eff ops fused) computed in the GEMM's epilogue: the
/// report counts it as the gemm-activation or gemm-residual fusion expected on each eff op it came from.
inline constexpr llvm::StringLiteral kGemmEpilogue = "gemm-epilogue";
/// A residual add and the layer/RMS norm that reads it as one kernel.
inline constexpr llvm::StringLiteral kResidualNorm = "residual-norm";
/// The query, key and value projections of one input as one GEMM with concatenated weights.
inline constexpr llvm::StringLiteral kQkvProjection = "qkv-projection";
/// A weight stored in the layout the kernel streams, so that no transpose runs at run time.
inline constexpr llvm::StringLiteral kWeightPacking = "weight-packing";
/// An elementwise loop nest fused into its consumer (effc-fuse-elementwise).
inline constexpr llvm::StringLiteral kElementwise = "elementwise";

/// An attribute of a micro-kernel call that computes one GEMM of an op that became several calls (the linear
/// layers of an eff.ffn): the GEMM's [N, K], from which the fusion report counts that call's shape and FLOPs.
inline constexpr llvm::StringLiteral kGemmExtentsAttr = "effc.gemm_extents";
} // namespace fusion

/// Records that `fusion` fired at `loc` (`detail` says how) or did not (`detail` says why).
inline void recordFusion(mlir::Location loc, llvm::StringRef fusion, bool fired, const llvm::Twine &detail) {
  if (LLVM_LIKELY(!loc->getContext()->getRemarkEngine()))
    return;
  auto options = mlir::remark::RemarkOpts::name(fusion).category(kFusionRemarkCategory);
  std::string text = detail.str();
  if (fired)
    mlir::remark::passed(loc, options) << llvm::StringRef(text);
  else
    mlir::remark::missed(loc, options) << llvm::StringRef(text);
}

} // namespace effc

#endif // EFFC_SUPPORT_FUSIONREMARKS_H
