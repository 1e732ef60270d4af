//===- StridedCopiesToLinalg.cpp - strided memref.copy as linalg.copy ------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// memref.copy between views that are not both contiguous lowers to a call of the memref runtime library's
// `memrefCopy`, which compiled modules cannot resolve (effc links no MLIR runtime library). As linalg.copy
// it becomes loops on the CPU and a kernel on the GPU. Used by effc-cpu-lower-vectors and, as the pass
// effc-strided-copies-to-linalg, by the CUDA pipeline.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace effc {
#define GEN_PASS_DEF_EFFCSTRIDEDCOPIESTOLINALGPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// Strided memref.copy -> linalg.copy; copies of a view onto itself are dropped.
struct StridedCopyToLinalg : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CopyOp op, PatternRewriter &rewriter) const override {
    if (op.getSource() == op.getTarget()) {
      rewriter.eraseOp(op); // bufferizing scf.forall leaves self-copies
      return success();
    }
    auto source = cast<MemRefType>(op.getSource().getType());
    auto target = cast<MemRefType>(op.getTarget().getType());
    if (source.getLayout().isIdentity() && target.getLayout().isIdentity())
      return failure(); // lowered to a plain memcpy
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(), op.getTarget());
    return success();
  }
};

struct EffcStridedCopiesToLinalgPass
    : effc::impl::EffcStridedCopiesToLinalgPassBase<EffcStridedCopiesToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    effc::populateStridedCopyToLinalgPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void effc::populateStridedCopyToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<StridedCopyToLinalg>(patterns.getContext());
}
