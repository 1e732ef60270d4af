//===- TileAndVectorize.cpp - CPU tiling and vectorisation of contractions -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-cpu-tile-and-vectorize. A streaming contraction C[.., m, n] += A[.., m, k] * B[.., k, n]
// is tiled into thread blocks (scf.forall, its accumulator initialisation fused in), then into 8x32x1
// register tiles that are vectorised; the accumulator is hoisted out of the K loop. This is the schedule
// that reaches the machine's FMA peak in ../shared/notes/toolchain.md.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace effc {
#define GEN_PASS_DEF_EFFCCPUTILEANDVECTORIZEPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// Whether `op` is C[batch..., m, n] += A[batch..., m, k] * B[(batch...,) k, n] in f32, with k the last
/// loop: the form whose register tile streams rows of B.
bool isStreamingContraction(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op))
    return false;
  unsigned numLoops = op.getNumLoops();
  if (numLoops < 3 || op.getNumReductionLoops() != 1 ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction)
    return false;
  for (Value operand : op->getOperands())
    if (!getElementTypeOrSelf(operand.getType()).isF32())
      return false;
  auto dims = [](AffineMap map) -> std::optional<SmallVector<unsigned>> {
    SmallVector<unsigned> positions;
    for (AffineExpr expr : map.getResults()) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim)
        return std::nullopt;
      positions.push_back(dim.getPosition());
    }
    return positions;
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto a = dims(maps[0]), b = dims(maps[1]), c = dims(maps[2]);
  if (!a || !b || !c)
    return false;
  unsigned k = numLoops - 1, n = numLoops - 2, m = numLoops - 3;
  SmallVector<unsigned> expectedC, expectedA, expectedB;
  for (unsigned i = 0; i < m; ++i)
    expectedC.push_back(i);
  expectedA = expectedC;
  expectedB = expectedC;
  expectedC.append({m, n});
  expectedA.append({m, k});
  expectedB.append({k, n});
  SmallVector<unsigned> sharedB = {k, n};
  return *c == expectedC && *a == expectedA && (*b == expectedB || *b == sharedB);
}

/// The elementwise op that can be computed per thread block of a contraction, in the same task right after
/// the block's K loop (its GEMM epilogue: bias-free activation, residual add, ...): the only user of the
/// contraction's result, all loops parallel, reading that result and writing its own one result through
/// identity maps, so that a block of the contraction is exactly a block of it.
linalg::GenericOp epilogueOf(Value contractionResult) {
  if (!contractionResult.hasOneUse())
    return {};
  OpOperand &use = *contractionResult.getUses().begin();
  auto consumer = dyn_cast<linalg::GenericOp>(use.getOwner());
  if (!consumer || !consumer.hasPureTensorSemantics() || consumer.getNumDpsInits() != 1 ||
      consumer.getNumLoops() != consumer.getNumParallelLoops() || !consumer.isDpsInput(&use))
    return {};
  if (!consumer.getMatchingIndexingMap(&use).isIdentity() ||
      !consumer.getMatchingIndexingMap(consumer.getDpsInitOperand(0)).isIdentity())
    return {};
  return consumer;
}

/// Where `consumer`'s work came from, for the fusion report: its own location and those of the ops in its
/// body (effc-fuse-elementwise keeps each fused op's location on its body ops).
Location originsOf(linalg::GenericOp consumer) {
  SmallVector<Location> locations{consumer.getLoc()};
  consumer.getBody()->walk([&](Operation *inner) { locations.push_back(inner->getLoc()); });
  return FusedLoc::get(consumer.getContext(), locations);
}

/// Records for the fusion report why no elementwise consumer of `contractionResult` became its epilogue.
void explainNoEpilogue(Value contractionResult) {
  bool severalUses = !contractionResult.hasOneUse();
  for (OpOperand &use : contractionResult.getUses()) {
    auto consumer = dyn_cast<linalg::GenericOp>(use.getOwner());
    if (!consumer || consumer.getNumLoops() != consumer.getNumParallelLoops())
      continue;
    effc::recordFusion(originsOf(consumer), effc::fusion::kGemmEpilogue, /*fired=*/false,
                       severalUses ? "the GEMM's result has several uses"
                                   : "it reads the GEMM's result through a transposed or broadcast indexing map");
  }
}

/// Runs every canonicalisation pattern of the loaded dialects on `func`.
void canonicalize(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  RewritePatternSet patterns(ctx);
  for (auto *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  (void)applyPatternsGreedily(func, std::move(patterns));
}

/// Accumulates into a hoisted register tile: folds subsets into transfers and hoists the loop-invariant
/// accumulator reads and writes out of every scf.for.
void hoistAccumulators(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  RewritePatternSet patterns(ctx);
  tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
  vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
  vector::populateVectorReductionToContractPatterns(patterns);
  vector::populateSinkVectorOpsPatterns(patterns);
  for (auto *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  (void)applyPatternsGreedily(func, std::move(patterns));
  IRRewriter rewriter(ctx);
  func.walk([&](scf::ForOp loop) { hoistLoopInvariantSubsets(rewriter, loop); });
}

struct EffcCpuTileAndVectorizePass : effc::impl::EffcCpuTileAndVectorizePassBase<EffcCpuTileAndVectorizePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (cacheTileK < 0) {
      func.emitError() << "effc-cpu-tile-and-vectorize: cache-tile-k must be >= 0, got " << static_cast<int64_t>(cacheTileK);
      return signalPassFailure();
    }
    for (auto [name, value] : {std::pair<StringRef, int64_t>{"register-tile-m", registerTileM},
                               {"register-tile-n", registerTileN}, {"thread-tile-m", threadTileM},
                               {"thread-tile-n", threadTileN}})
      if (value <= 0) {
        func.emitError() << "effc-cpu-tile-and-vectorize: " << name << " must be > 0, got " << value;
        return signalPassFailure();
      }
    SmallVector<linalg::GenericOp> contractions;
    func.walk([&](linalg::GenericOp op) {
      if (isStreamingContraction(op))
        contractions.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : contractions)
      if (failed(tileContraction(rewriter, op)))
        return signalPassFailure();
    if (contractions.empty())
      return;
    canonicalize(func);
    vectorizeStaticTiles(func);
    hoistAccumulators(func);
  }

  LogicalResult tileContraction(RewriterBase &rewriter, linalg::GenericOp op) {
    unsigned numLoops = op.getNumLoops();
    unsigned numBatch = numLoops - 3;
    auto sizes = [&](int64_t batch, int64_t m, int64_t n, int64_t k) {
      SmallVector<OpFoldResult> tileSizes(numBatch, rewriter.getIndexAttr(batch));
      for (int64_t size : {m, n, k})
        tileSizes.push_back(rewriter.getIndexAttr(size));
      return tileSizes;
    };

    // Thread blocks, with the accumulator's initialisation (fill or bias broadcast) fused in.
    scf::SCFTilingOptions threadTiling;
    threadTiling.setTileSizes(sizes(1, threadTileM, threadTileN, 0))
        .setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    scf::SCFTileAndFuseOptions fusion;
    fusion.setTilingOptions(threadTiling);
    fusion.setFusionControlFn([](tensor::ExtractSliceOp, OpResult, bool isDestinationOperand)
                                  -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
      if (!isDestinationOperand)
        return std::nullopt;
      return scf::SCFTileAndFuseOptions::ControlFnResult{};
    });
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTileAndFuseResult> blocks =
        scf::tileConsumerAndFuseProducersUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), fusion);
    if (failed(blocks))
      return op.emitError("failed to tile a contraction into thread blocks");
    linalg::GenericOp epilogue;
    for (OpResult result : op->getResults())
      if (Value replacement = blocks->replacements.lookup(result)) {
        rewriter.replaceAllUsesWith(result, replacement);
        if (fuseEpilogues && !epilogue)
          epilogue = epilogueOf(replacement);
      }
    if (fuseEpilogues && !epilogue)
      for (OpResult result : op->getResults())
        if (Value replacement = blocks->replacements.lookup(result))
          explainNoEpilogue(replacement);
    rewriter.eraseOp(op);
    if (epilogue && failed(fuseEpilogue(rewriter, epilogue, blocks->loops)))
      return failure();

    Operation *blockContraction = nullptr;
    for (Operation *tiled : blocks->tiledAndFusedOps)
      if (auto generic = dyn_cast<linalg::GenericOp>(tiled); generic && generic.getNumReductionLoops() == 1)
        blockContraction = tiled;
    if (!blockContraction)
      return success();

    // Cache blocks of K, so that the B panel of a register column (cacheTileK x 32) stays in L1 while the
    // register rows of the block sweep over it.
    if (cacheTileK > 0) {
      scf::SCFTilingOptions cacheTiling;
      cacheTiling.setTileSizes(sizes(0, 0, 0, cacheTileK));
      rewriter.setInsertionPoint(blockContraction);
      FailureOr<scf::SCFTilingResult> cacheBlocks =
          scf::tileUsingSCF(rewriter, cast<TilingInterface>(blockContraction), cacheTiling);
      if (failed(cacheBlocks))
        return blockContraction->emitError("failed to tile a contraction into cache blocks");
      rewriter.replaceOp(blockContraction, cacheBlocks->replacements);
      blockContraction = cacheBlocks->tiledOps.front();
    }

    // Register tiles. Peeling the row and column loops leaves full tiles of static size, which are
    // vectorised after canonicalisation; the remainder (fewer than 8 rows or 32 columns) stays scalar.
    scf::SCFTilingOptions registerTiling;
    registerTiling.setTileSizes(sizes(1, registerTileM, registerTileN, 1));
    rewriter.setInsertionPoint(blockContraction);
    FailureOr<scf::SCFTilingResult> registers =
        scf::tileUsingSCF(rewriter, cast<TilingInterface>(blockContraction), registerTiling);
    if (failed(registers))
      return blockContraction->emitError("failed to tile a contraction into register tiles");
    rewriter.replaceOp(blockContraction, registers->replacements);
    SmallVector<scf::ForOp> remainders;
    for (unsigned loop = numBatch; loop < numBatch + 2 && loop < registers->loops.size(); ++loop) {
      scf::ForOp partial;
      if (auto forOp = dyn_cast<scf::ForOp>(registers->loops[loop].getOperation()))
        if (succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, forOp, partial)) && partial)
          remainders.push_back(partial);
    }
    // The rows left over (fewer than registerTileM: all of them in a single-token decode step) are split
    // into single rows, whose 1 x 32 tiles are static and vectorise like the full ones.
    if (!remainders.empty())
      return splitRemainderRows(rewriter, remainders.front(), numBatch);
    return success();
  }

  /// Moves `epilogue` into the thread blocks of the contraction it reads: each task applies it to its block
  /// right after computing it, while the block is in L1/L2, instead of a separate pass over the whole result.
  /// Inside the block it is split into rows (static 1 x block-width tiles), which vectorise like the register
  /// tiles. Fusion that the tiling interface refuses leaves the epilogue as it was.
  LogicalResult fuseEpilogue(RewriterBase &rewriter, linalg::GenericOp epilogue,
                             MutableArrayRef<LoopLikeOpInterface> loops) {
    Location loc = originsOf(epilogue);
    FailureOr<scf::SCFFuseConsumerOfSliceResult> fused =
        scf::tileAndFuseConsumer(rewriter, epilogue.getOperation(), loops);
    if (failed(fused) || fused->tiledOps.empty()) {
      effc::recordFusion(loc, effc::fusion::kGemmEpilogue, /*fired=*/false, "MLIR's consumer fusion refused it");
      return success();
    }
    effc::recordFusion(loc, effc::fusion::kGemmEpilogue, /*fired=*/true,
                       "computed in the GEMM's thread blocks, row by row after the K loop (the GEMM result "
                       "never goes to memory); the kernel list above predates this tiling");
    if (epilogue->use_empty())
      rewriter.eraseOp(epilogue);
    auto tile = dyn_cast<linalg::GenericOp>(fused->tiledOps.front());
    if (!tile)
      return success();
    SmallVector<OpFoldResult> rows(tile.getNumLoops(), rewriter.getIndexAttr(1));
    rows.back() = rewriter.getIndexAttr(0);
    scf::SCFTilingOptions rowTiling;
    rowTiling.setTileSizes(rows);
    rewriter.setInsertionPoint(tile);
    FailureOr<scf::SCFTilingResult> split = scf::tileUsingSCF(rewriter, cast<TilingInterface>(tile.getOperation()), rowTiling);
    if (failed(split))
      return tile.emitError("failed to split a fused epilogue into rows");
    rewriter.replaceOp(tile, split->replacements);
    return success();
  }

  LogicalResult splitRemainderRows(RewriterBase &rewriter, scf::ForOp remainder, unsigned numBatch) {
    SmallVector<linalg::GenericOp> tails;
    remainder.walk([&](linalg::GenericOp op) {
      if (op.getNumReductionLoops() == 1)
        tails.push_back(op);
    });
    for (linalg::GenericOp tail : tails) {
      SmallVector<OpFoldResult> rowTiles(numBatch, rewriter.getIndexAttr(0));
      rowTiles.append({rewriter.getIndexAttr(1), rewriter.getIndexAttr(0), rewriter.getIndexAttr(0)});
      scf::SCFTilingOptions rows;
      rows.setTileSizes(rowTiles);
      rewriter.setInsertionPoint(tail);
      FailureOr<scf::SCFTilingResult> split = scf::tileUsingSCF(rewriter, cast<TilingInterface>(tail.getOperation()), rows);
      if (failed(split))
        return tail.emitError("failed to split a contraction's remaining rows");
      rewriter.replaceOp(tail, split->replacements);
    }
    return success();
  }

  /// Vectorises every statically shaped linalg op inside tiled loops: the register tiles, and the tiles of
  /// the fused accumulator initialisation. (A thread block loop of one iteration folds away, so the
  /// register loops alone also count.)
  void vectorizeStaticTiles(func::FuncOp func) {
    SmallVector<linalg::LinalgOp> candidates;
    func.walk([&](linalg::LinalgOp op) {
      bool inTiledLoops = op->getParentOfType<scf::ForallOp>() || op->getParentOfType<scf::ForOp>();
      if (inTiledLoops && op.hasPureTensorSemantics() && !op.hasDynamicShape() &&
          llvm::none_of(op.getStaticLoopRanges(), ShapedType::isDynamic))
        candidates.push_back(op);
    });
    IRRewriter rewriter(func.getContext());
    for (linalg::LinalgOp op : candidates) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(rewriter, op);
      if (succeeded(vectorized))
        rewriter.replaceOp(op, vectorized->replacements);
    }
  }
};

} // namespace
