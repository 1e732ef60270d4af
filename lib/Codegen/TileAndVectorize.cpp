//===- TileAndVectorize.cpp - CPU tiling and vectorisation of contractions -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-cpu-tile-and-vectorize. A streaming contraction C[.., m, n] += A[.., m, k] * B[.., k, n]
// is tiled into thread blocks (scf.forall, its accumulator initialisation fused in), then into 8x32x1
// register tiles that are vectorised; the accumulator is hoisted out of the K loop. This is the schedule
// that reaches the machine's FMA peak in ../shared/notes/toolchain.md. The edges of a ragged N and the rows
// left over from 8-row tiles get narrower static tiles (8x16, 8x8, 8x1, 1x32, ...), never scalar loops. A
// panel contraction C[.., m, nb, ni] += A[.., m, k] * Bp[nb, k, ni] (effc-cpu-weight-panels) takes one panel
// per thread block and is then tiled like the others; with a deep K, a block takes panels-per-block panels and
// loops over its K blocks outside them, so that each slice of A it reads serves all of its panels.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/ContractionForms.h"
#include "effc/Codegen/Passes.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
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
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace effc {
#define GEN_PASS_DEF_EFFCCPUTILEANDVECTORIZEPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;
using effc::isPanelContraction;
using effc::isStreamingContraction;

namespace {

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
    for (auto [name, value] : {std::pair<StringRef, int64_t>{"cache-tile-k", cacheTileK},
                               {"max-masked-tile-elements", maxMaskedTileElements},
                               {"group-panels-min-k", groupPanelsMinK},
                               {"wide-column-blocks", wideColumnBlocks}})
      if (value < 0) {
        func.emitError() << "effc-cpu-tile-and-vectorize: " << name << " must be >= 0, got " << value;
        return signalPassFailure();
      }
    for (auto [name, value] : {std::pair<StringRef, int64_t>{"register-tile-m", registerTileM},
                               {"register-tile-n", registerTileN}, {"row-tile-n", rowTileN},
                               {"thread-tile-m", threadTileM}, {"panel-thread-tile-m", panelThreadTileM},
                               {"wide-thread-tile-m", wideThreadTileM},
                               {"thread-tile-n", threadTileN}, {"panels-per-block", panelsPerBlock},
                               {"gemv-panels-per-block", gemvPanelsPerBlock}})
      if (value <= 0) {
        func.emitError() << "effc-cpu-tile-and-vectorize: " << name << " must be > 0, got " << value;
        return signalPassFailure();
      }
    SmallVector<linalg::GenericOp> contractions;
    func.walk([&](linalg::GenericOp op) {
      if (isStreamingContraction(op) || isPanelContraction(op))
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
    // A panel contraction has one more loop, nb, before n (its ni): its thread blocks take one panel each,
    // and are then computed as ordinary (batch..., m, n, k) blocks.
    bool panels = isPanelContraction(op);
    unsigned numLoops = op.getNumLoops();
    unsigned numBatch = numLoops - (panels ? 4 : 3);
    auto sizes = [&](int64_t batch, int64_t m, int64_t n, int64_t k) {
      SmallVector<OpFoldResult> tileSizes(numBatch, rewriter.getIndexAttr(batch));
      for (int64_t size : {m, n, k})
        tileSizes.push_back(rewriter.getIndexAttr(size));
      return tileSizes;
    };

    // The columns of the whole contraction, when static: they say whether a block's width is a multiple of
    // the register tile, before canonicalisation could show it.
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t columns = ranges[numBatch + 1];
    int64_t panelWidth = panels ? ranges[numBatch + 2] : 0;
    if (panels)
      columns = ShapedType::isDynamic(columns) || ShapedType::isDynamic(panelWidth) ? ShapedType::kDynamic
                                                                                       : columns * panelWidth;

    // Thread blocks, with the accumulator's initialisation (fill or bias broadcast) fused in.
    scf::SCFTilingOptions threadTiling;
    // A wide N (an LM head over a vocabulary) has plenty of column blocks to share out: its blocks take
    // more rows, so that its weight, far larger than the caches, is streamed from memory fewer times.
    bool wide = !ShapedType::isDynamic(columns) && columns >= wideColumnBlocks * threadTileN && wideColumnBlocks > 0;
    // A panel contraction's block takes more rows (panel-thread-tile-m): its panel is read once per block,
    // so a weight that streams from memory is streamed once for M <= panel-thread-tile-m.
    int64_t blockRows = wide ? wideThreadTileM : panels ? panelThreadTileM : threadTileM;
    // No more rows than the contraction has: a block taller than a static M gains nothing, and MLIR's
    // canonicalisation of the batched tiles it leaves crashes (LLVM 22).
    int64_t tileRows = blockRows;
    if (int64_t rows = ranges[numBatch]; !ShapedType::isDynamic(rows) && rows > 0)
      tileRows = std::min(blockRows, rows);
    SmallVector<OpFoldResult> blockSizes = sizes(1, tileRows, threadTileN, 0);
    // A panel contraction with a deep K: each block takes several panels and loops over its K blocks
    // outside them, so that the block's A rows [blockRows x K] are read once per group rather than once
    // per panel (GotoBLAS's order: the A slice [blockRows x cache-tile-k] stays in cache while the
    // panels' [cache-tile-k x P] slices stream past).
    // Contractions with fewer rows than a block, or a dynamic number, are not grouped so: their A is small,
    // and they need column blocks as tasks to use all threads. (GEMVs take a few panels, below.)
    int64_t panelsInBlock = 1;
    bool gemvGroup = false;
    if (panels) {
      int64_t rows = ranges[numBatch], depth = ranges.back(), numPanels = ranges[numBatch + 1];
      auto atMostAllPanels = [&](int64_t count) {
        return ShapedType::isDynamic(numPanels) ? count : std::min(count, numPanels);
      };
      if (groupPanelsMinK > 0 && cacheTileK > 0 && !ShapedType::isDynamic(depth) && depth >= groupPanelsMinK &&
          !ShapedType::isDynamic(rows) && rows >= blockRows)
        panelsInBlock = atMostAllPanels(panelsPerBlock);
      // A GEMV (a static M of fewer rows than a register tile: a decode step) takes gemv-panels-per-block
      // panels one after the other, so that a weight of many narrow panels (an LM head) is not cut into as
      // many tasks.
      bool gemv = !ShapedType::isDynamic(rows) && rows < registerTileM;
      if (panelsInBlock == 1 && gemv && gemvPanelsPerBlock > 1) {
        panelsInBlock = atMostAllPanels(gemvPanelsPerBlock);
        gemvGroup = panelsInBlock > 1;
      }
      // panelsInBlock panels (nb), all of each one's columns (ni), per block.
      blockSizes[numBatch + 1] = rewriter.getIndexAttr(panelsInBlock);
      blockSizes.insert(blockSizes.begin() + numBatch + 2, rewriter.getIndexAttr(0));
    }
    threadTiling.setTileSizes(blockSizes).setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
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

    // A block of several panels: its K blocks, then one panel at a time inside each K block.
    // A GEMV's group of panels: one panel after another, each blocked along K like a single panel below.
    if (panels && gemvGroup) {
      SmallVector<OpFoldResult> onePanel(numLoops, rewriter.getIndexAttr(0));
      onePanel[numBatch + 1] = rewriter.getIndexAttr(1);
      FailureOr<scf::SCFTilingResult> panelLoop = tile(rewriter, cast<TilingInterface>(blockContraction), onePanel);
      if (failed(panelLoop))
        return blockContraction->emitError("failed to split a thread block into its panels");
      blockContraction = panelLoop->tiledOps.front();
    } else if (panels && panelsInBlock > 1) {
      SmallVector<OpFoldResult> depthBlocks(numLoops, rewriter.getIndexAttr(0));
      depthBlocks.back() = rewriter.getIndexAttr(cacheTileK);
      FailureOr<scf::SCFTilingResult> cacheBlocks = tile(rewriter, cast<TilingInterface>(blockContraction), depthBlocks);
      if (failed(cacheBlocks))
        return blockContraction->emitError("failed to tile a contraction into cache blocks");
      SmallVector<OpFoldResult> onePanel(numLoops, rewriter.getIndexAttr(0));
      onePanel[numBatch + 1] = rewriter.getIndexAttr(1);
      FailureOr<scf::SCFTilingResult> panelLoop =
          tile(rewriter, cast<TilingInterface>(cacheBlocks->tiledOps.front()), onePanel);
      if (failed(panelLoop))
        return blockContraction->emitError("failed to split a thread block into its panels");
      blockContraction = panelLoop->tiledOps.front();
    }

    // A panel block: drop its unit nb loop (rank-reducing slices of Bp[nb] and of the accumulator), which
    // leaves C[batch..., m, ni] += A[batch..., m, k] * Bp[nb][k, ni], tiled below like any other block.
    if (panels) {
      unsigned nbLoop = numBatch + 1;
      linalg::ControlDropUnitDims control;
      control.rankReductionStrategy = linalg::ControlDropUnitDims::RankReductionStrategy::ExtractInsertSlice;
      control.controlFn = [nbLoop](Operation *) { return SmallVector<unsigned>{nbLoop}; };
      rewriter.setInsertionPoint(blockContraction);
      FailureOr<linalg::DropUnitDimsResult> reduced =
          linalg::dropUnitDims(rewriter, cast<linalg::GenericOp>(blockContraction), control);
      if (failed(reduced))
        return blockContraction->emitError("failed to reduce a panel GEMM's thread block to one panel");
      rewriter.replaceOp(blockContraction, reduced->replacements);
      blockContraction = reduced->resultOp;
    }

    // Cache blocks of K, so that the B panel of a register column (cacheTileK x 32) stays in L1 while the
    // register rows of the block sweep over it.
    if (cacheTileK > 0 && (panelsInBlock == 1 || gemvGroup)) {
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

    // Register tiles. A block whose width is not a multiple of the register tile (the last block of a
    // ragged N such as 50257 or 312) is first split along N into parts of widths that are multiples of
    // 32, 16, 8 and 1 columns, each tiled with register tiles of its own width: every column is computed
    // by a static vector tile, none by scalar loops.
    SmallVector<std::pair<TilingInterface, int64_t>> parts;
    if (panels && panelWidth % registerTileN == 0)
      parts.push_back({cast<TilingInterface>(blockContraction), registerTileN});
    else
      parts = splitColumns(rewriter, cast<TilingInterface>(blockContraction), numBatch + 1,
                           panels ? panelWidth : columns);
    for (auto [part, width] : parts)
      if (failed(tileRegisters(rewriter, part, numBatch, width)))
        return failure();
    return success();
  }

  /// Splits `op`, a thread block of a contraction with `columns` columns (dynamic: ShapedType::kDynamic),
  /// along its loop `nDim` into parts with the register tile width of each. Blocks that are all as wide
  /// as a multiple of registerTileN are not split. A contraction narrower than a thread block is split
  /// statically: a multiple of registerTileN, then the rest as one static tile. Otherwise (the last block
  /// of a ragged or dynamic N) the split points are computed at run time: a multiple of registerTileN, of
  /// registerTileN / 2, ..., of 8, and the last columns one at a time.
  SmallVector<std::pair<TilingInterface, int64_t>> splitColumns(RewriterBase &rewriter, TilingInterface op,
                                                                 unsigned nDim, int64_t columns) {
    bool isStatic = !ShapedType::isDynamic(columns);
    if (isStatic && columns % threadTileN == 0 && threadTileN % registerTileN == 0)
      return {{op, registerTileN}};
    if (isStatic && columns <= threadTileN) {
      int64_t head = columns / registerTileN * registerTileN, tail = columns - head;
      if (tail == 0 || head == 0)
        return {{op, head == 0 ? std::max<int64_t>(tail, 1) : static_cast<int64_t>(registerTileN)}};
      rewriter.setInsertionPoint(op);
      auto [full, rest] = linalg::splitOp(rewriter, op, nDim, rewriter.getIndexAttr(head));
      SmallVector<std::pair<TilingInterface, int64_t>> parts;
      if (full)
        parts.push_back({full, registerTileN});
      if (rest)
        parts.push_back({rest, tail});
      return parts;
    }
    SmallVector<int64_t> widths;
    for (int64_t width = registerTileN; width >= 8; width /= 2)
      widths.push_back(width);
    SmallVector<std::pair<TilingInterface, int64_t>> parts;
    TilingInterface rest = op;
    for (int64_t width : widths) {
      rewriter.setInsertionPoint(rest);
      OpFoldResult size = rest.getIterationDomain(rewriter)[nDim].size;
      AffineExpr s0 = rewriter.getAffineSymbolExpr(0);
      OpFoldResult splitPoint =
          affine::makeComposedFoldedAffineApply(rewriter, rest.getLoc(), s0.floorDiv(width) * width, {size});
      auto [head, tail] = linalg::splitOp(rewriter, rest, nDim, splitPoint);
      if (head)
        parts.push_back({head, width});
      if (!tail)
        return parts;
      rest = tail;
    }
    parts.push_back({rest, 1});
    return parts;
  }

  /// Tiles `op` (a thread block's part of a contraction) into register tiles of registerTileM x `width` x 1:
  /// first the rows, in steps of registerTileM, peeled so that the main loop has static full tiles; then
  /// the columns and K of the full rows, and those of the rows left over (fewer than registerTileM: all
  /// of them in a single-token decode step) one row at a time. The column loops are peeled too, so every
  /// tile is static (registerTileM x width or 1 x width) and vectorised after canonicalisation.
  LogicalResult tileRegisters(RewriterBase &rewriter, TilingInterface op, unsigned numBatch, int64_t width) {
    auto tileSizes = [&](int64_t batch, int64_t m, int64_t n, int64_t k) {
      SmallVector<OpFoldResult> sizes(numBatch, rewriter.getIndexAttr(batch));
      for (int64_t size : {m, n, k})
        sizes.push_back(rewriter.getIndexAttr(size));
      return sizes;
    };
    // Tiles of one row span row-tile-n columns where the part's static width allows: a GEMV streams whole
    // rows of its (panel of) weights and keeps row-tile-n / 16 FMA chains in flight instead of 2.
    int64_t rowWidth = width, rowCount = ShapedType::kDynamic;
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op.getOperation())) {
      SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
      int64_t columns = ranges[numBatch + 1];
      rowCount = ranges[numBatch];
      if (!ShapedType::isDynamic(columns) && rowTileN % width == 0 && columns % rowTileN == 0)
        rowWidth = rowTileN;
    }
    FailureOr<scf::SCFTilingResult> rows = tile(rewriter, op, tileSizes(1, registerTileM, 0, 0));
    if (failed(rows))
      return op->emitError("failed to tile a contraction into register rows");
    scf::ForOp rowRemainder;
    if (auto rowLoop = dyn_cast<scf::ForOp>(rows->loops.back().getOperation()))
      if (failed(scf::peelForLoopAndSimplifyBounds(rewriter, rowLoop, rowRemainder)))
        rowRemainder = {};
    bool singleRow = rowCount == 1; // a block of one row (decode with a static batch of 1)
    if (failed(tileColumns(rewriter, cast<TilingInterface>(rows->tiledOps.front()),
                           tileSizes(0, 0, singleRow ? rowWidth : width, 1))))
      return failure();
    if (!rowRemainder)
      return success();
    SmallVector<TilingInterface> remainderOps;
    rowRemainder.walk([&](linalg::GenericOp generic) { remainderOps.push_back(cast<TilingInterface>(*generic)); });
    for (TilingInterface remainder : remainderOps)
      if (failed(tileColumns(rewriter, remainder, tileSizes(0, 1, rowWidth, 1))))
        return failure();
    return success();
  }

  /// Tiles `op` with `sizes` and peels its column loop (the second to last loop), so that the column tiles
  /// of the main loop are static. splitColumns made `op`'s width a multiple of the column tile, so the
  /// peeled last iteration never runs (MLIR cannot tell: the width is an affine.min): it is dropped.
  LogicalResult tileColumns(RewriterBase &rewriter, TilingInterface op, ArrayRef<OpFoldResult> sizes) {
    FailureOr<scf::SCFTilingResult> tiles = tile(rewriter, op, sizes);
    if (failed(tiles))
      return op->emitError("failed to tile a contraction into register tiles");
    // One loop per non-zero tile size, in loop order; the columns are the second to last loop of `op`.
    unsigned columnLoopIndex = llvm::count_if(sizes.drop_back(2), [](OpFoldResult size) { return !isZeroInteger(size); });
    if (isZeroInteger(sizes[sizes.size() - 2]) || columnLoopIndex >= tiles->loops.size())
      return success();
    auto columnLoop = dyn_cast<scf::ForOp>(tiles->loops[columnLoopIndex].getOperation());
    if (!columnLoop || getConstantIntValue(columnLoop.getStep()) != getConstantIntValue(sizes[sizes.size() - 2]))
      return success();
    scf::ForOp partial;
    if (succeeded(scf::peelForLoopAndSimplifyBounds(rewriter, columnLoop, partial)) && partial)
      rewriter.replaceOp(partial, partial.getInitArgs());
    return success();
  }

  /// Tiles `op` with `sizes` into scf.for loops and replaces it.
  FailureOr<scf::SCFTilingResult> tile(RewriterBase &rewriter, TilingInterface op, ArrayRef<OpFoldResult> sizes) {
    scf::SCFTilingOptions options;
    options.setTileSizes(sizes);
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(rewriter, op, options);
    if (succeeded(tiled))
      rewriter.replaceOp(op, tiled->replacements);
    return tiled;
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

  /// Vectorises the linalg ops inside tiled loops: statically shaped ones (the register tiles, and the tiles
  /// of the fused accumulator initialisation) as they are, and single rows of dynamic width (the rows of a
  /// fused epilogue in a block narrower than the thread tile) with masks, at the constant upper bound of
  /// the width. (A thread block loop of one iteration folds away, so the register loops alone also count.)
  void vectorizeStaticTiles(func::FuncOp func) {
    SmallVector<std::pair<linalg::LinalgOp, SmallVector<int64_t>>> candidates;
    func.walk([&](linalg::LinalgOp op) {
      bool inTiledLoops = op->getParentOfType<scf::ForallOp>() || op->getParentOfType<scf::ForOp>();
      if (!inTiledLoops || !op.hasPureTensorSemantics())
        return;
      if (!op.hasDynamicShape() && llvm::none_of(op.getStaticLoopRanges(), ShapedType::isDynamic)) {
        candidates.push_back({op, {}});
        return;
      }
      if (std::optional<SmallVector<int64_t>> sizes = maskedVectorSizes(op))
        candidates.push_back({op, std::move(*sizes)});
    });
    IRRewriter rewriter(func.getContext());
    for (auto &[op, vectorSizes] : candidates) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(rewriter, op, vectorSizes);
      if (succeeded(vectorized))
        rewriter.replaceOp(op, vectorized->replacements);
    }
  }

  /// The vector shape of a masked tile for `op`, an elementwise linalg.generic over one row of dynamic
  /// width inside tiled loops (a row of a fused epilogue in a block narrower than the thread tile): the
  /// constant upper bound of that width, if it is small. Larger or unbounded ops stay scalar loops.
  /// (Contractions are not masked: their edges are split into static tiles, see splitColumns.)
  std::optional<SmallVector<int64_t>> maskedVectorSizes(linalg::LinalgOp op) {
    if (!isa<linalg::GenericOp>(op) || maxMaskedTileElements <= 0 || op.getNumLoops() != op.getNumParallelLoops() ||
        !llvm::all_of(op.getIndexingMapsArray(), [](AffineMap map) { return map.isIdentity(); }))
      return std::nullopt;
    // One row: every loop but the last is a single iteration, so that the mask is one vector's (the
    // LLVM lowering of n-D masks is not relied on).
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (ranges.empty() || llvm::any_of(ArrayRef(ranges).drop_back(), [](int64_t range) { return range != 1; }))
      return std::nullopt;
    SmallVector<int64_t> sizes;
    int64_t elements = 1;
    for (auto [dim, range] : llvm::enumerate(ranges)) {
      int64_t size = range;
      if (ShapedType::isDynamic(size)) {
        Value operand;
        unsigned operandDim;
        if (failed(op.mapIterationSpaceDimToOperandDim(dim, operand, operandDim)))
          return std::nullopt;
        FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
            presburger::BoundType::UB, {operand, static_cast<int64_t>(operandDim)}, /*stopCondition=*/nullptr,
            /*closedUB=*/true);
        if (failed(bound) || *bound <= 0)
          return std::nullopt;
        // Whole AVX-512 registers: a 17-column edge takes a 32-wide masked tile, a 128-wide block 128.
        size = *bound > 8 ? llvm::alignTo(*bound, 16) : *bound;
      }
      elements *= size;
      if (elements > maxMaskedTileElements)
        return std::nullopt;
      sizes.push_back(size);
    }
    return sizes;
  }
};

} // namespace
