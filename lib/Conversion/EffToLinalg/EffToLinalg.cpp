//===- EffToLinalg.cpp - the convert-eff-to-linalg pass --------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// This file only wires the pass: it inlines eff.layer bodies, then runs the per-family patterns (one file
// per op family in this directory) in a partial conversion that reports any eff op left unlowered.
//
//===----------------------------------------------------------------------===//

#include "effc/Conversion/EffToLinalg/EffToLinalg.h"
#include "effc/Conversion/Passes.h"
#include "effc/Dialect/Eff/IR/EffOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace effc {
#define GEN_PASS_DEF_CONVERTEFFTOLINALGPASS
#include "effc/Conversion/Passes.h.inc"
} // namespace effc

using namespace mlir;

void effc::populateEffToLinalgPatterns(RewritePatternSet &patterns, bool fusedAttention, bool cpuOpGroups,
                                       int64_t fusedAttentionMaxHeadDim, bool f32LinearKernel) {
  populateLinearAlgebraLoweringPatterns(patterns, f32LinearKernel);
  populateElementwiseLoweringPatterns(patterns);
  populateAttentionLoweringPatterns(patterns, fusedAttention, fusedAttentionMaxHeadDim, /*fusedKvCache=*/cpuOpGroups);
  populateAdapterLoweringPatterns(patterns);
  populateMoELoweringPatterns(patterns, /*expertPanels=*/cpuOpGroups);
  populateQuantizedLoweringPatterns(patterns);
  populateSparseLoweringPatterns(patterns);
}

namespace {

/// Replaces each eff.layer by its body: operands for block arguments, yielded values for results.
void inlineLayers(ModuleOp module) {
  IRRewriter rewriter(module.getContext());
  SmallVector<eff::LayerOp> layers;
  module.walk([&](eff::LayerOp layer) { layers.push_back(layer); });
  for (eff::LayerOp layer : layers) {
    Block &body = layer.getBody().front();
    auto yield = cast<eff::YieldOp>(body.getTerminator());
    // A layer may yield its own arguments (an identity path); those become the layer's inputs.
    SmallVector<Value> yielded;
    for (Value value : yield.getValues()) {
      auto argument = dyn_cast<BlockArgument>(value);
      yielded.push_back(argument && argument.getOwner() == &body ? layer.getInputs()[argument.getArgNumber()]
                                                                 : value);
    }
    rewriter.inlineBlockBefore(&body, layer, layer.getInputs());
    rewriter.replaceOp(layer, yielded);
    rewriter.eraseOp(yield);
  }
}

struct ConvertEffToLinalgPass : effc::impl::ConvertEffToLinalgPassBase<ConvertEffToLinalgPass> {
  using ConvertEffToLinalgPassBase::ConvertEffToLinalgPassBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (fusedAttentionMaxHeadDim < 0) {
      module.emitError("convert-eff-to-linalg: fused-attention-max-head-dim must be at least 0, got ")
          << static_cast<int64_t>(fusedAttentionMaxHeadDim);
      return signalPassFailure();
    }
    inlineLayers(module);
    if (fuseEpilogues && failed(effc::lowerFusedGroups(module, f32LinearKernel)))
      return signalPassFailure();

    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<eff::EffDialect>();
    target.addLegalDialect<arith::ArithDialect, bufferization::BufferizationDialect, func::FuncDialect,
                           linalg::LinalgDialect, math::MathDialect, memref::MemRefDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    RewritePatternSet patterns(ctx);
    // The experts' panel kernel (each expert linear layer with its activation) and the attention kernel that
    // writes the KV cache it reads are CPU micro-kernels for op groups like those above: the same option.
    effc::populateEffToLinalgPatterns(patterns, fusedAttention, /*cpuOpGroups=*/fuseEpilogues,
                                      fusedAttentionMaxHeadDim, f32LinearKernel);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
