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
// LLVM's loop vectoriser then handles. Gathers (a body with tensor.extract: embeddings) are the exception:
// their address depends on an index loaded in the loop, which LLVM cannot vectorise, so each row of static
// width is vectorised here (the rows of a table become contiguous vector loads).
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseMap.h"

#include <algorithm>

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

/// Rows of a gather wider than this stay scalar loops (a row is one vector value until LLVM splits it, and
/// wider ones cost compile time).
constexpr int64_t kMaxVectorRow = 2048;
/// Narrower rows gain nothing from a vector per row.
constexpr int64_t kMinVectorRow = 8;

/// Whether `value`, in the body of `op`, is the same for every iteration of its last loop: computed by arith
/// ops and affine.apply from values defined outside, linalg.index of another loop, and inputs whose map does
/// not use the last loop. `known` holds the values already classified: a body is a DAG, which a walk without
/// it would visit once per path (exponentially often for a chain of ops that each use a value twice).
bool invariantAlongRow(linalg::GenericOp op, Value value, DenseMap<Value, bool> &known) {
  if (auto it = known.find(value); it != known.end())
    return it->second;
  auto classify = [&]() -> bool {
    unsigned last = op.getNumLoops() - 1;
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      if (arg.getOwner() != op.getBody())
        return true;
      // An input of plain loop dimensions other than the last: vectorizeGatherRows reads it before the row.
      OpOperand *operand = op.getMatchingOpOperand(arg);
      AffineMap map = op.getMatchingIndexingMap(operand);
      return op.isDpsInput(operand) && !map.isFunctionOfDim(last) &&
             llvm::all_of(map.getResults(), [](AffineExpr expr) { return isa<AffineDimExpr>(expr); });
    }
    Operation *def = value.getDefiningOp();
    if (!op->isAncestor(def))
      return true;
    if (auto index = dyn_cast<linalg::IndexOp>(def))
      return index.getDim() != last;
    // arith and affine.apply (the tiling's index offsets, expanded to arith before vectorising) only: other
    // dialects' ops on n-D vectors (math.absi in T5's position buckets) do not lower to LLVM.
    if (!(isa<arith::ArithDialect>(def->getDialect()) || isa<affine::AffineApplyOp>(def)) || !isPure(def))
      return false;
    return llvm::all_of(def->getOperands(), [&](Value operand) { return invariantAlongRow(op, operand, known); });
  };
  bool invariant = classify();
  known[value] = invariant;
  return invariant;
}

/// Gather indices computed through more paths than this stay scalar: upstream's vectoriser classifies an
/// index by walking every path from it to its leaves (a chain of ops that each use the previous value twice has
/// 2^length of them).
constexpr int64_t kMaxIndexPaths = 256;

/// The number of paths from `value` back to values defined outside `op`'s body, its arguments and its
/// linalg.index ops, through the body's ops, saturated at kMaxIndexPaths + 1.
int64_t indexPaths(linalg::GenericOp op, Value value, DenseMap<Value, int64_t> &known) {
  Operation *def = value.getDefiningOp();
  if (!def || !op->isAncestor(def) || isa<linalg::IndexOp>(def) || def->getNumOperands() == 0)
    return 1;
  if (auto it = known.find(value); it != known.end())
    return it->second;
  int64_t paths = 0;
  for (Value operand : def->getOperands())
    paths = std::min(paths + indexPaths(op, operand, known), kMaxIndexPaths + 1);
  known[value] = paths;
  return paths;
}

/// Whether every tensor.extract in `op`'s body copies a row: its last index is the last loop's linalg.index,
/// the others the same along the row (an embedding lookup), and the body is arith on whole bytes. Other gathers
/// (rotary's pair partner, index arithmetic on the channel, math ops) keep LLVM's scalar loops.
bool gathersRows(linalg::GenericOp op) {
  auto extracts = op.getBody()->getOps<tensor::ExtractOp>();
  if (extracts.empty() || op.getNumLoops() != op.getNumParallelLoops())
    return false;
  // Whole bytes only (LLVM packs a vector of i1 into bits, not the bytes memory holds), and ops that lower as
  // n-D vectors: arith, the gathers, indices.
  auto wholeBytes = [](Type type) { return !type.isIntOrFloat() || type.getIntOrFloatBitWidth() % 8 == 0; };
  for (Value arg : op.getBody()->getArguments())
    if (!wholeBytes(arg.getType()))
      return false;
  for (Operation &inner : op.getBody()->getOperations()) {
    if (!isa<arith::ArithDialect>(inner.getDialect()) &&
        !isa<tensor::ExtractOp, linalg::IndexOp, linalg::YieldOp, affine::AffineApplyOp>(inner))
      return false;
    if (!llvm::all_of(inner.getResultTypes(), wholeBytes))
      return false;
  }
  unsigned last = op.getNumLoops() - 1;
  DenseMap<Value, bool> known;
  DenseMap<Value, int64_t> paths;
  return llvm::all_of(extracts, [&](tensor::ExtractOp extract) {
    ValueRange indices = extract.getIndices();
    auto index = indices.empty() ? nullptr : indices.back().getDefiningOp<linalg::IndexOp>();
    return index && index.getDim() == last && llvm::all_of(indices.drop_back(), [&](Value other) {
             return indexPaths(op, other, paths) <= kMaxIndexPaths && invariantAlongRow(op, other, known);
           });
  });
}

/// Splits a thread tile of a row gather (gathersRows) into rows, one scf.for level per leading loop, and
/// vectorises each row when its width is static. Others are left as they are.
LogicalResult vectorizeGatherRows(RewriterBase &rewriter, linalg::GenericOp op) {
  if (!gathersRows(op))
    return success();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ShapedType::isDynamic(ranges.back()) || ranges.back() < kMinVectorRow || ranges.back() > kMaxVectorRow)
    return success();
  SmallVector<int64_t> rowSizes(ranges.size(), 1);
  rowSizes.back() = 0;
  scf::SCFTilingOptions tiling;
  tiling.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), rowSizes));
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> rows =
      scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()), tiling);
  if (failed(rows))
    return op.emitError("failed to split a gather into rows");
  rewriter.replaceOp(op, rows->replacements);
  auto row = cast<linalg::GenericOp>(rows->tiledOps.front());
  rewriter.setInsertionPoint(row);
  // An input that is one element for the whole row (the row's token id) is read once before the op, so that
  // the vectoriser sees the table row it selects as loop-invariant: a contiguous load instead of a gather.
  SmallVector<int64_t> rowRanges = row.getStaticLoopRanges();
  for (OpOperand *input : row.getDpsInputOperands()) {
    AffineMap map = row.getMatchingIndexingMap(input);
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    if (!type || !llvm::all_of(map.getResults(), [&](AffineExpr expr) {
          auto dim = dyn_cast<AffineDimExpr>(expr);
          return dim && rowRanges[dim.getPosition()] == 1;
        }))
      continue;
    Value zero = arith::ConstantIndexOp::create(rewriter, row.getLoc(), 0);
    SmallVector<Value> indices(type.getRank(), zero);
    Value element = tensor::ExtractOp::create(rewriter, row.getLoc(), input->get(), indices);
    rewriter.replaceAllUsesWith(row.getMatchingBlockArgument(input), element);
  }
  // Tiling offsets the body's linalg.index values with affine.apply, which the vectoriser does not take:
  // arith instead.
  for (auto apply : llvm::make_early_inc_range(row.getBody()->getOps<affine::AffineApplyOp>())) {
    rewriter.setInsertionPoint(apply);
    std::optional<SmallVector<Value, 8>> expanded =
        affine::expandAffineMap(rewriter, apply.getLoc(), apply.getAffineMap(), apply.getMapOperands());
    if (!expanded)
      return success();
    rewriter.replaceOp(apply, *expanded);
  }
  rewriter.setInsertionPoint(row);
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rewriter, row, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
                        /*vectorizeNDExtract=*/true);
  if (succeeded(vectorized))
    rewriter.replaceOp(row, vectorized->replacements);
  return success();
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
      if (failed(vectorizeGatherRows(rewriter, cast<linalg::GenericOp>(tiled->tiledOps.front()))))
        return signalPassFailure();
    }
  }
};

} // namespace
