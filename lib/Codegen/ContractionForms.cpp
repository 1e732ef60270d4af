//===- ContractionForms.cpp - the GEMM forms the CPU schedule tiles --------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/ContractionForms.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"

using namespace mlir;

namespace {

/// Whether `op` is a pure-tensor f32 contraction of two inputs into one init, with at least `minLoops`
/// loops of which only the last reduces.
bool isF32ContractionReducingLast(linalg::GenericOp op, unsigned minLoops) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op))
    return false;
  if (op.getNumLoops() < minLoops || op.getNumReductionLoops() != 1 ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction)
    return false;
  return llvm::all_of(op->getOperands(),
                      [](Value operand) { return getElementTypeOrSelf(operand.getType()).isF32(); });
}

/// The loop dimensions `map` reads, in order, as affine expressions of `op`'s loops.
SmallVector<AffineExpr> loopDims(MLIRContext *ctx, ArrayRef<unsigned> positions) {
  return llvm::map_to_vector(positions, [&](unsigned position) { return getAffineDimExpr(position, ctx); });
}

bool readsExactly(AffineMap map, ArrayRef<AffineExpr> expected) { return map.getResults() == expected; }

} // namespace

effc::StreamingB effc::getStreamingB(linalg::GenericOp op) {
  if (!isF32ContractionReducingLast(op, /*minLoops=*/3))
    return StreamingB::None;
  unsigned numLoops = op.getNumLoops();
  unsigned k = numLoops - 1, n = numLoops - 2, m = numLoops - 3;
  SmallVector<unsigned> batch = llvm::to_vector(llvm::seq<unsigned>(0, m));
  MLIRContext *ctx = op.getContext();
  auto with = [&](ArrayRef<unsigned> tail) {
    SmallVector<unsigned> positions = batch;
    positions.append(tail.begin(), tail.end());
    return loopDims(ctx, positions);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!readsExactly(maps[0], with({m, k})) || !readsExactly(maps[2], with({m, n})))
    return StreamingB::None;
  if (readsExactly(maps[1], loopDims(ctx, {k, n})))
    return StreamingB::Shared;
  if (readsExactly(maps[1], with({k, n})))
    return StreamingB::Batched;
  return StreamingB::None;
}

bool effc::isPanelContraction(linalg::GenericOp op) {
  if (!isF32ContractionReducingLast(op, /*minLoops=*/4))
    return false;
  unsigned numLoops = op.getNumLoops();
  unsigned k = numLoops - 1, ni = numLoops - 2, nb = numLoops - 3, m = numLoops - 4;
  SmallVector<unsigned> rows = llvm::to_vector(llvm::seq<unsigned>(0, m + 1)); // batch..., m
  SmallVector<unsigned> a = rows, c = rows;
  a.push_back(k);
  c.append({nb, ni});
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  return readsExactly(maps[0], loopDims(ctx, a)) && readsExactly(maps[1], loopDims(ctx, {nb, k, ni})) &&
         readsExactly(maps[2], loopDims(ctx, c));
}
