//===- MapParallelLoops.cpp - tile scf.parallel into GPU blocks and threads -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-map-parallel-loops: every outermost scf.parallel becomes a loop over tiles mapped to
// blocks and a loop inside a tile mapped to threads, ready for convert-parallel-loops-to-gpu.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/MathExtras.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUMAPPARALLELLOOPSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// The loop's trip count in dimension `dim` if its bounds and step are constants.
std::optional<int64_t> staticTripCount(scf::ParallelOp loop, unsigned dim) {
  APInt lb, ub, step;
  if (!matchPattern(loop.getLowerBound()[dim], m_ConstantInt(&lb)) ||
      !matchPattern(loop.getUpperBound()[dim], m_ConstantInt(&ub)) ||
      !matchPattern(loop.getStep()[dim], m_ConstantInt(&step)) || step.getSExtValue() <= 0)
    return std::nullopt;
  return llvm::divideCeil(std::max<int64_t>(ub.getSExtValue() - lb.getSExtValue(), 0), step.getSExtValue());
}

/// Threads per tile in each dimension: the innermost gets up to `blockSize` (no more than its trip count,
/// rounded up to a power of two), the next one what is left; the others 1.
SmallVector<int64_t> chooseTileSizes(scf::ParallelOp loop, int64_t blockSize) {
  unsigned rank = loop.getNumLoops();
  SmallVector<int64_t> tiles(rank, 1);
  int64_t left = blockSize;
  for (unsigned k = 0; k < std::min(rank, 2u); ++k) {
    unsigned dim = rank - 1 - k;
    int64_t tile = left;
    if (std::optional<int64_t> trips = staticTripCount(loop, dim))
      tile = std::min<int64_t>(tile, llvm::PowerOf2Ceil(std::max<int64_t>(*trips, 1)));
    tiles[dim] = tile;
    left /= tile;
  }
  return tiles;
}

/// Maps the innermost dimensions of `loop` to `processors` (innermost first); the rest run sequentially.
LogicalResult mapDimensions(scf::ParallelOp loop, ArrayRef<gpu::Processor> processors) {
  MLIRContext *ctx = loop.getContext();
  unsigned rank = loop.getNumLoops();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping;
  for (unsigned dim = 0; dim < rank; ++dim) {
    unsigned fromInnermost = rank - 1 - dim;
    gpu::Processor processor =
        fromInnermost < processors.size() ? processors[fromInnermost] : gpu::Processor::Sequential;
    mapping.push_back(gpu::ParallelLoopDimMappingAttr::get(ctx, processor, identity, identity));
  }
  return gpu::setMappingAttr(loop, mapping);
}

struct GpuMapParallelLoopsPass
    : public effc::impl::EffcGpuMapParallelLoopsPassBase<GpuMapParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (blockSize < 32 || blockSize > 1024 || !llvm::isPowerOf2_32(blockSize)) {
      func.emitError("effc-gpu-map-parallel-loops: block-size must be a power of two from 32 to 1024, not ")
          << static_cast<unsigned>(blockSize);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    func.walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() && !loop->getParentOfType<gpu::LaunchOp>() &&
          !loop->hasAttr(gpu::getMappingAttrName()))
        outermost.push_back(loop);
    });
    SmallVector<std::pair<scf::ParallelOp, scf::ParallelOp>> nests;
    for (scf::ParallelOp loop : outermost) {
      if (loop.getNumReductions() != 0) {
        // A parallel reduction has no thread mapping here; it stays a (sequential) host loop.
        continue;
      }
      nests.push_back(scf::tileParallelLoop(loop, chooseTileSizes(loop, blockSize), /*noMinMaxBounds=*/false));
    }
    // The tiled bounds are `affine.min(tile, ub - iv)` over `arith.muli` of constants: fold them so that
    // convert-parallel-loops-to-gpu sees a constant block size. Only arith and affine patterns run here:
    // scf.parallel's own canonicalisation would merge the two loops of a nest back together.
    RewritePatternSet patterns(&getContext());
    arith::MulIOp::getCanonicalizationPatterns(patterns, &getContext());
    affine::AffineMinOp::getCanonicalizationPatterns(patterns, &getContext());
    SmallVector<Operation *> boundOps;
    for (auto &[outer, inner] : nests)
      outer.walk([&](Operation *op) {
        if (isa<arith::MulIOp, affine::AffineMinOp>(op))
          boundOps.push_back(op);
      });
    for (auto &[outer, inner] : nests)
      for (Value step : outer.getStep())
        if (Operation *def = step.getDefiningOp<arith::MulIOp>())
          boundOps.push_back(def);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    (void)applyOpPatternsGreedily(boundOps, std::move(patterns), config);

    using P = gpu::Processor;
    for (auto &[outer, inner] : nests) {
      if (failed(mapDimensions(outer, {P::BlockX, P::BlockY, P::BlockZ})) ||
          failed(mapDimensions(inner, {P::ThreadX, P::ThreadY}))) {
        outer.emitError("internal error: cannot map the tiled loop nest to the GPU");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
