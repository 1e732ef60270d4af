//===- FuseElementwise.cpp - elementwise fusion that spares contractions ---===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace effc {
#define GEN_PASS_DEF_EFFCFUSEELEMENTWISEPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {
struct EffcFuseElementwisePass : effc::impl::EffcFuseElementwisePassBase<EffcFuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, [](OpOperand *fusedOperand) {
      auto consumer = dyn_cast<linalg::LinalgOp>(fusedOperand->getOwner());
      Operation *producer = fusedOperand->get().getDefiningOp();
      return consumer && producer && consumer.getNumLoops() == consumer.getNumParallelLoops() &&
             producer->hasOneUse();
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
