//===- RowReductions.cpp - row reductions as one warp per row --------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-row-reductions: a linalg reduction over its innermost loop (layer norm's mean and
// variance, RMS norm's sum of squares, softmax's maximum and sum) becomes a gpu.launch with one warp per
// output element. The generic lowering would give each output element one thread that loops over the row
// alone, reading memory with the row length as stride between neighbouring threads, and a [tokens, hidden]
// reduction only `tokens` threads in all.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "LaunchBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUROWREDUCTIONSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr int64_t kWarpSize = 32;

/// A reduction `out[p...] = combine(out[p...], f(inputs[..., k]))` over the innermost loop k.
struct RowReduction {
  /// The body's op that folds one element into the accumulator, and its operand that is not the accumulator.
  Operation *combine;
  Value element;
};

/// The neutral value of `combine` (an f32 add, maximum or minimum), or null if it has none this pass knows.
TypedAttr neutralValue(Operation *combine) {
  auto type = combine->getNumResults() == 1 ? dyn_cast<FloatType>(combine->getResult(0).getType()) : nullptr;
  if (!type)
    return nullptr;
  const llvm::fltSemantics &semantics = type.getFloatSemantics();
  if (isa<arith::AddFOp>(combine))
    return FloatAttr::get(type, APFloat::getZero(semantics));
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combine))
    return FloatAttr::get(type, APFloat::getInf(semantics, /*Negative=*/true));
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(combine))
    return FloatAttr::get(type, APFloat::getInf(semantics, /*Negative=*/false));
  return nullptr;
}

/// Recognises a row reduction that this pass lowers, or returns std::nullopt.
std::optional<RowReduction> matchRowReduction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 1 ||
      op.getNumLoops() < 2)
    return std::nullopt;
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators.back() != utils::IteratorType::reduction)
    return std::nullopt;
  auto outType = dyn_cast<MemRefType>(op.getDpsInits()[0].getType());
  if (!outType || !outType.getElementType().isF32())
    return std::nullopt;
  // The output is indexed by the parallel loops in order; inputs by any of the loops (or constant 0).
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (outMap.getNumResults() != numLoops - 1)
    return std::nullopt;
  for (auto [position, expr] : llvm::enumerate(outMap.getResults())) {
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim || dim.getPosition() != position)
      return std::nullopt;
  }
  for (OpOperand *input : op.getDpsInputOperands()) {
    if (!isa<MemRefType>(input->get().getType()) ||
        !op.getMatchingIndexingMap(input).isProjectedPermutation(/*allowZeroInResults=*/true))
      return std::nullopt;
  }
  // yield combine(acc, element), the accumulator read nowhere else.
  Block &body = op.getRegion().front();
  BlockArgument acc = body.getArgument(body.getNumArguments() - 1);
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Operation *combine = yield.getValues()[0].getDefiningOp();
  if (!combine || combine->getBlock() != &body || combine->getNumOperands() != 2 || !acc.hasOneUse() ||
      !combine->getResult(0).hasOneUse() || !neutralValue(combine))
    return std::nullopt;
  Value element;
  if (combine->getOperand(0) == acc)
    element = combine->getOperand(1);
  else if (combine->getOperand(1) == acc)
    element = combine->getOperand(0);
  else
    return std::nullopt;
  return RowReduction{combine, element};
}

class RowReductionLauncher : public effc::LaunchBuilder {
public:
  RowReductionLauncher(OpBuilder &b, Location loc, int64_t warpsPerBlock)
      : LaunchBuilder(b, loc), warpsPerBlock(warpsPerBlock) {}

  void lower(linalg::GenericOp op, const RowReduction &reduction) {
    unsigned numLoops = op.getNumLoops();
    SmallVector<Value> extents;
    for (Range range : cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc))
      extents.push_back(getValueOrCreateConstantIndexOp(b, loc, range.size));
    Value rows = index(1);
    for (Value extent : ArrayRef<Value>(extents).drop_back())
      rows = arith::MulIOp::create(b, loc, rows, extent);
    Value rowLength = extents.back();

    // Nothing to launch without rows (a grid of 0 blocks is invalid).
    auto ifRows = scf::IfOp::create(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, rows, index(0)),
                                    /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifRows.getThenRegion().front());
    Value blocks = arith::CeilDivUIOp::create(b, loc, rows, index(warpsPerBlock));
    Value one = index(1);
    auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one, index(kWarpSize), index(warpsPerBlock), one);
    b.setInsertionPointToStart(&launch.getBody().front());
    Value lane = launch.getThreadIds().x;
    Value row = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, index(warpsPerBlock)),
        launch.getThreadIds().y);
    // A warp's lanes share its row, so the whole warp takes the same branch and shuffles together.
    auto ifInRange =
        scf::IfOp::create(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, rows), false);
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointToStart(&ifInRange.getThenRegion().front());

    // The row's parallel indices, innermost fastest.
    SmallVector<Value> indices(numLoops);
    Value remaining = row;
    for (int64_t dim = numLoops - 2; dim >= 0; --dim) {
      indices[dim] = arith::RemUIOp::create(b, loc, remaining, extents[dim]);
      remaining = arith::DivUIOp::create(b, loc, remaining, extents[dim]);
    }

    Operation *combine = reduction.combine;
    Value neutral = arith::ConstantOp::create(b, loc, neutralValue(combine));
    auto loop = scf::ForOp::create(b, loc, lane, rowLength, index(kWarpSize), ValueRange{neutral});
    {
      OpBuilder::InsertionGuard loopGuard(b);
      b.setInsertionPointToStart(loop.getBody());
      indices.back() = loop.getInductionVar();
      Block &body = op.getRegion().front();
      IRMapping mapping;
      for (OpOperand *input : op.getDpsInputOperands()) {
        SmallVector<Value> at;
        for (AffineExpr expr : op.getMatchingIndexingMap(input).getResults())
          at.push_back(isa<AffineDimExpr>(expr) ? indices[cast<AffineDimExpr>(expr).getPosition()] : index(0));
        mapping.map(body.getArgument(input->getOperandNumber()),
                    memref::LoadOp::create(b, loc, input->get(), at).getResult());
      }
      for (Operation &bodyOp : body.without_terminator()) {
        if (&bodyOp == combine)
          continue;
        if (auto loopIndex = dyn_cast<linalg::IndexOp>(bodyOp)) {
          mapping.map(loopIndex.getResult(), indices[loopIndex.getDim()]);
          continue;
        }
        b.clone(bodyOp, mapping);
      }
      Value partial = combineValues(combine, loop.getRegionIterArgs()[0], mapping.lookupOrDefault(reduction.element));
      scf::YieldOp::create(b, loc, partial);
    }

    // Butterfly over the warp: after it every lane holds the row's total.
    Value total = loop.getResult(0);
    for (int32_t offset = kWarpSize / 2; offset >= 1; offset /= 2) {
      Value other = gpu::ShuffleOp::create(b, loc, total, offset, kWarpSize, gpu::ShuffleMode::XOR).getShuffleResult();
      total = combineValues(combine, total, other);
    }
    auto ifFirstLane = scf::IfOp::create(
        b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, index(0)), false);
    b.setInsertionPointToStart(&ifFirstLane.getThenRegion().front());
    Value out = op.getDpsInits()[0];
    ArrayRef<Value> outIndices = ArrayRef<Value>(indices).drop_back();
    Value previous = memref::LoadOp::create(b, loc, out, outIndices);
    memref::StoreOp::create(b, loc, combineValues(combine, previous, total), out, outIndices);
  }

private:

  /// `combine` (an op of the body) applied to (lhs, rhs), keeping its flags.
  Value combineValues(Operation *combine, Value lhs, Value rhs) {
    IRMapping mapping;
    Operation *copy = b.clone(*combine, mapping);
    copy->setOperands({lhs, rhs});
    return copy->getResult(0);
  }

  int64_t warpsPerBlock;
};

struct GpuRowReductionsPass : public effc::impl::EffcGpuRowReductionsPassBase<GpuRowReductionsPass> {
  using EffcGpuRowReductionsPassBase::EffcGpuRowReductionsPassBase;

  void runOnOperation() override {
    if (warpsPerBlock < 1 || warpsPerBlock > 32) {
      getOperation().emitError("effc-gpu-row-reductions: warps-per-block must be between 1 and 32, got ")
          << static_cast<int64_t>(warpsPerBlock);
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::GenericOp, RowReduction>> reductions;
    getOperation().walk([&](linalg::GenericOp op) {
      // Reductions already inside a kernel stay there.
      if (op->getParentOfType<gpu::LaunchOp>() || op->getParentOfType<gpu::GPUModuleOp>())
        return;
      if (std::optional<RowReduction> reduction = matchRowReduction(op))
        reductions.emplace_back(op, *reduction);
    });
    for (auto &[op, reduction] : reductions) {
      OpBuilder builder(op);
      RowReductionLauncher(builder, op.getLoc(), warpsPerBlock).lower(op, reduction);
      op.erase();
    }
  }
};

} // namespace
