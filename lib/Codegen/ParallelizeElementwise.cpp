//===- ParallelizeElementwise.cpp - thread tiles for elementwise linalg ops -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-cpu-parallelize-elementwise. Contractions get thread blocks from
// effc-cpu-tile-and-vectorize; everything else between them (bias and residual adds, activations, the row
// reductions and normalisation of layer norm, gathers) would otherwise run on one thread. Each such generic
// is tiled into an scf.forall over its leading parallel loops, which effc-outline-parallel-loops turns into
// a parallel_for of the runtime. Tiles keep whole rows (the last loop, or everything from the first
// reduction loop on), so a row reduction is never split and each task streams contiguous memory, which
// LLVM's loop vectoriser then handles.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace effc {
#define GEN_PASS_DEF_EFFCCPUPARALLELIZEELEMENTWISEPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// The tile sizes of `op`'s thread tiles (0: a loop kept whole), or none when the op is not worth
/// parallelising: its leading parallel loops, except the last loop of an all-parallel op, are tiled; the
/// innermost of them by `rowsPerTask`, the others by 1.
std::optional<SmallVector<int64_t>> threadTileSizes(linalg::GenericOp op, int64_t rowsPerTask,
                                                    int64_t minElements) {
  if (!op.hasPureTensorSemantics() || op.getNumLoops() < 2)
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned leading = 0;
  while (leading < iterators.size() && iterators[leading] == utils::IteratorType::parallel)
    ++leading;
  if (leading == iterators.size())
    --leading; // keep the channels of an elementwise op whole
  if (leading == 0)
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::none_of(ranges, ShapedType::isDynamic)) {
    int64_t elements = 1;
    for (int64_t range : ranges)
      elements *= range;
    if (elements < minElements)
      return std::nullopt;
  }
  SmallVector<int64_t> sizes(iterators.size(), 0);
  for (unsigned loop = 0; loop < leading; ++loop)
    sizes[loop] = 1;
  sizes[leading - 1] = rowsPerTask;
  return sizes;
}

struct EffcCpuParallelizeElementwisePass
    : effc::impl::EffcCpuParallelizeElementwisePassBase<EffcCpuParallelizeElementwisePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    for (auto [name, value] : {std::pair<StringRef, int64_t>{"rows-per-task", rowsPerTask},
                               {"min-elements", minElements}})
      if (value <= 0) {
        func.emitError() << "effc-cpu-parallelize-elementwise: " << name << " must be > 0, got " << value;
        return signalPassFailure();
      }
    if (func.isExternal())
      return;
    // Only ops of the function's own block: ops already inside thread tiles or routing loops stay put.
    SmallVector<std::pair<linalg::GenericOp, SmallVector<int64_t>>> candidates;
    for (Operation &op : func.getBody().front())
      if (auto generic = dyn_cast<linalg::GenericOp>(&op))
        if (auto sizes = threadTileSizes(generic, rowsPerTask, minElements))
          candidates.emplace_back(generic, *sizes);

    IRRewriter rewriter(&getContext());
    for (auto &[op, sizes] : candidates) {
      scf::SCFTilingOptions tiling;
      tiling.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes))
          .setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), tiling);
      if (failed(tiled)) {
        op.emitError("failed to tile an elementwise op into thread tiles");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};

} // namespace
