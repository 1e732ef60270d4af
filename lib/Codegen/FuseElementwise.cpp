//===- FuseElementwise.cpp - elementwise fusion that spares contractions ---===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace effc {
#define GEN_PASS_DEF_EFFCFUSEELEMENTWISEPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// Why the pass does not fuse the producer of `operand` into its consumer, or nothing if it does.
std::optional<llvm::StringLiteral> whyNotFused(OpOperand *operand) {
  auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
  Operation *producer = operand->get().getDefiningOp();
  if (!consumer || !producer)
    return llvm::StringLiteral("it is not a linalg producer and consumer");
  if (consumer.getNumLoops() != consumer.getNumParallelLoops())
    return llvm::StringLiteral("not fused into a consumer with reduction loops (a norm's or softmax's statistics): "
                               "it would be recomputed for every reduced element");
  if (!producer->hasOneUse())
    return llvm::StringLiteral("its result has several uses: fusing would recompute it in each consumer");
  return std::nullopt;
}

/// Records (effc::recordFusion) why elementwise loop nests of different eff ops are still separate once the
/// pass is done: an elementwise producer read by an elementwise or reduction consumer (not a contraction:
/// fusing into one is no fusion anyone expects), with the reason the pass or upstream's fusion gave.
void recordUnfused(Operation *root) {
  root->walk([](linalg::GenericOp producer) {
    if (producer.getNumLoops() != producer.getNumParallelLoops() || !producer.hasPureTensorSemantics())
      return;
    for (OpOperand &use : producer->getUses()) {
      auto consumer = dyn_cast<linalg::GenericOp>(use.getOwner());
      if (!consumer || !consumer.isDpsInput(&use) || consumer->getLoc() == producer->getLoc() ||
          linalg::isaContractionOpInterface(consumer))
        continue;
      std::optional<llvm::StringLiteral> reason = whyNotFused(&use);
      if (!reason && !linalg::areElementwiseOpsFusable(&use))
        reason = llvm::StringLiteral("linalg's elementwise fusion does not apply (the consumer does not read it "
                                     "through a permutation of its loops)");
      if (reason)
        effc::recordFusion(producer->getLoc(), effc::fusion::kElementwise, false, *reason);
    }
  });
}

struct EffcFuseElementwisePass : effc::impl::EffcFuseElementwisePassBase<EffcFuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns,
                                                 [](OpOperand *fusedOperand) { return !whyNotFused(fusedOperand); });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    if (getContext().getRemarkEngine())
      recordUnfused(getOperation());
  }
};

} // namespace
