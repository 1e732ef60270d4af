//===- WeightPanels.cpp - panel-major weights for f32 GEMMs ----------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-cpu-weight-panels: the weight B[K, N] of a streaming f32 contraction is read as panels
// Bp[N/P][K][P], so that a thread block of P columns streams one contiguous K x P panel from memory. The
// layout change is a transpose of an expand_shape of the weight, which effc-pack-weights folds into the
// constant; the accumulator's initialisation and the GEMM's elementwise epilogue are reshaped with the
// contraction so that effc-cpu-tile-and-vectorize still fuses them into its thread blocks.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/ContractionForms.h"
#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace effc {
#define GEN_PASS_DEF_EFFCCPUWEIGHTPANELSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// Marks the reshapes this pass creates around a panel contraction: only they are folded into the
/// accumulator's producer and the epilogue, no other reshape of the function.
constexpr StringLiteral kPanelReshape = "effc.weight_panel_reshape";

/// Whether `value` is a compile-time weight whose layout change effc-pack-weights folds: a constant, or an
/// argument of a private function (a shared layer body) that every call passes a constant and that has no
/// use but `onlyUser` (its call sites then pass one packed constant each).
bool isFoldableWeight(Value value, Operation *onlyUser) {
  if (matchPattern(value, m_Constant()))
    return true;
  auto argument = dyn_cast<BlockArgument>(value);
  if (!argument || !argument.hasOneUse() || *argument.getUsers().begin() != onlyUser)
    return false;
  auto func = dyn_cast<func::FuncOp>(argument.getOwner()->getParentOp());
  if (!func || !func.isPrivate() || argument.getOwner() != &func.getBody().front())
    return false;
  auto module = func->getParentOfType<ModuleOp>();
  std::optional<SymbolTable::UseRange> uses = SymbolTable::getSymbolUses(func, module);
  if (!uses || uses->empty())
    return false;
  for (const SymbolTable::SymbolUse &use : *uses) {
    auto call = dyn_cast<func::CallOp>(use.getUser());
    if (!call || call.getCallee() != func.getSymName() ||
        !matchPattern(call.getOperand(argument.getArgNumber()), m_Constant()))
      return false;
  }
  return true;
}

/// The weight under a contraction's B operand and whether B is its transpose: B itself ([K, N]) or the
/// input ([N, K]) of a matrix transpose that only the contraction reads. Null if it is not a foldable
/// weight.
std::pair<Value, bool> weightOf(linalg::GenericOp contraction) {
  Value b = contraction.getDpsInputs()[1];
  if (auto transpose = b.getDefiningOp<linalg::TransposeOp>();
      transpose && transpose.hasPureTensorSemantics() && transpose.getPermutation() == ArrayRef<int64_t>{1, 0} &&
      transpose->getResult(0).hasOneUse() && isFoldableWeight(transpose.getInput(), transpose))
    return {transpose.getInput(), true};
  if (isFoldableWeight(b, contraction))
    return {b, false};
  return {Value(), false};
}

/// Whether the GEMM `op`, whose N is no multiple of the panel width, is read as panels of its weight padded
/// with zero columns: a constant weight (a layer body's argument would need the padding at its call sites), an
/// accumulator that starts as a fill (recreated at the padded width), and a result that is no elementwise
/// op's only input (an epilogue that a [.., N] slice of the panels' result would keep out of the GEMM).
bool padsToPanels(linalg::GenericOp op, Value weight) {
  if (!matchPattern(weight, m_Constant()) || !op.getDpsInits()[0].getDefiningOp<linalg::FillOp>())
    return false;
  Value result = op.getResult(0);
  if (!result.hasOneUse())
    return true;
  auto consumer = dyn_cast<linalg::GenericOp>(*result.getUsers().begin());
  return !consumer || consumer.getNumLoops() != consumer.getNumParallelLoops();
}

/// Rewrites `op` (a shared-weight contraction) to read its weight as panels, C3[batch..., m, nb, ni] +=
/// A[batch..., m, k] * Bp[nb, k, ni], C = collapse_shape(C3). An N that is no multiple of the panel width
/// (padsToPanels) is padded with zero columns to whole panels: Bp = panels of pad(B), C3 starts as the fill of
/// `op`'s accumulator, and C is the first N columns of the collapsed result.
void rewriteToPanels(RewriterBase &rewriter, linalg::GenericOp op, Value weight, bool transposed,
                     int64_t panelWidth) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  auto bType = cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  int64_t depth = bType.getDimSize(0), columns = bType.getDimSize(1);
  int64_t panels = llvm::divideCeil(columns, panelWidth), paddedColumns = panels * panelWidth;
  Type f32 = bType.getElementType();
  if (paddedColumns != columns) {
    auto weightType = cast<RankedTensorType>(weight.getType());
    SmallVector<int64_t> paddedShape(weightType.getShape());
    paddedShape[transposed ? 0 : 1] = paddedColumns;
    Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(f32));
    weight = tensor::createPadHighOp(RankedTensorType::get(paddedShape, f32), weight, zero, /*nofold=*/false, loc,
                                     rewriter);
  }

  // Bp[nb, k, ni] from W[N, K] (expand to [nb, ni, K], swap the last two) or from B[K, N] (expand to
  // [K, nb, ni], swap the first two). The transpose a linear layer's lowering made of W is replaced.
  Operation *oldTranspose = transposed ? op.getDpsInputs()[1].getDefiningOp() : nullptr;
  Value expanded;
  SmallVector<int64_t> permutation;
  if (transposed) {
    expanded = tensor::ExpandShapeOp::create(rewriter, loc, RankedTensorType::get({panels, panelWidth, depth}, f32),
                                             weight, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    permutation = {0, 2, 1};
  } else {
    expanded = tensor::ExpandShapeOp::create(rewriter, loc, RankedTensorType::get({depth, panels, panelWidth}, f32),
                                             weight, SmallVector<ReassociationIndices>{{0}, {1, 2}});
    permutation = {1, 0, 2};
  }
  Value packedInit = tensor::EmptyOp::create(rewriter, loc, {panels, depth, panelWidth}, f32);
  Value packed = linalg::TransposeOp::create(rewriter, loc, expanded, packedInit, permutation).getResult()[0];

  // The accumulator, expanded along N (or, padded, its fill at the padded width).
  Value init = op.getDpsInits()[0];
  auto cType = cast<RankedTensorType>(init.getType());
  int64_t rank = cType.getRank();
  SmallVector<ReassociationIndices> splitN;
  for (int64_t i = 0; i < rank - 1; ++i)
    splitN.push_back({i});
  splitN.push_back({rank - 1, rank});
  SmallVector<int64_t> shape3(cType.getShape());
  shape3.back() = panels;
  shape3.push_back(panelWidth);
  // The batch and row extents, read from A (which has the same ones): a tensor.dim of the accumulator
  // would be another use of its producer, which then could not be expanded in place.
  SmallVector<OpFoldResult> outputShape = tensor::getMixedSizes(rewriter, loc, op.getDpsInputs()[0]);
  outputShape.back() = rewriter.getIndexAttr(panels);
  outputShape.push_back(rewriter.getIndexAttr(panelWidth));
  Value init3;
  if (paddedColumns != columns) {
    auto fill = init.getDefiningOp<linalg::FillOp>();
    Value empty = tensor::EmptyOp::create(rewriter, loc, outputShape, f32);
    init3 = linalg::FillOp::create(rewriter, loc, fill.getInputs(), empty).getResult(0);
  } else {
    auto expand = tensor::ExpandShapeOp::create(rewriter, loc, RankedTensorType::get(shape3, f32), init, splitN,
                                                outputShape);
    expand->setAttr(kPanelReshape, rewriter.getUnitAttr());
    init3 = expand;
  }

  // Loops (batch..., m, nb, ni, k): the old n loop becomes nb, ni.
  unsigned numLoops = op.getNumLoops() + 1;
  unsigned m = numLoops - 4, nb = numLoops - 3, ni = numLoops - 2, k = numLoops - 1;
  SmallVector<AffineExpr> aExprs, cExprs;
  for (unsigned i = 0; i <= m; ++i) {
    aExprs.push_back(getAffineDimExpr(i, ctx));
    cExprs.push_back(getAffineDimExpr(i, ctx));
  }
  aExprs.push_back(getAffineDimExpr(k, ctx));
  cExprs.append({getAffineDimExpr(nb, ctx), getAffineDimExpr(ni, ctx)});
  SmallVector<AffineExpr> bExprs = {getAffineDimExpr(nb, ctx), getAffineDimExpr(k, ctx), getAffineDimExpr(ni, ctx)};
  SmallVector<AffineMap> maps = {AffineMap::get(numLoops, 0, aExprs, ctx), AffineMap::get(numLoops, 0, bExprs, ctx),
                                 AffineMap::get(numLoops, 0, cExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(numLoops - 1, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  auto panelOp = linalg::GenericOp::create(rewriter, loc, TypeRange{init3.getType()},
                                           ValueRange{op.getDpsInputs()[0], packed}, ValueRange{init3}, maps,
                                           iterators);
  rewriter.inlineRegionBefore(op.getRegion(), panelOp.getRegion(), panelOp.getRegion().begin());
  panelOp->setDiscardableAttrs(op->getDiscardableAttrDictionary());

  SmallVector<int64_t> collapsedShape(cType.getShape());
  collapsedShape.back() = paddedColumns;
  auto collapsed = tensor::CollapseShapeOp::create(rewriter, loc, RankedTensorType::get(collapsedShape, f32),
                                                   panelOp.getResult(0), splitN);
  Value result = collapsed;
  if (paddedColumns != columns) {
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, collapsed);
    sizes.back() = rewriter.getIndexAttr(columns);
    result = tensor::ExtractSliceOp::create(rewriter, loc, cast<RankedTensorType>(op.getResult(0).getType()),
                                            collapsed, SmallVector<OpFoldResult>(rank, rewriter.getIndexAttr(0)),
                                            sizes, SmallVector<OpFoldResult>(rank, rewriter.getIndexAttr(1)));
  } else {
    collapsed->setAttr(kPanelReshape, rewriter.getUnitAttr());
  }
  rewriter.replaceOp(op, result);
  if (oldTranspose && oldTranspose->use_empty())
    rewriter.eraseOp(oldTranspose);
}

/// Whether `op` is elementwise: all loops parallel, every operand read through a projected permutation.
bool isElementwise(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  return generic && generic.hasPureTensorSemantics() && generic.getNumLoops() == generic.getNumParallelLoops() &&
         llvm::all_of(generic.getIndexingMapsArray(), [](AffineMap map) { return map.isProjectedPermutation(); });
}

/// Which reshapes around a panel contraction are folded into the op on their other side: the collapse of
/// its result into its elementwise epilogue (when that is the result's only user), and the expansion of
/// its accumulator into the elementwise op (fill or bias broadcast) producing it.
bool foldsIntoNeighbour(OpOperand *operand) {
  Operation *owner = operand->getOwner();
  if (auto collapse = operand->get().getDefiningOp<tensor::CollapseShapeOp>())
    return collapse->hasAttr(kPanelReshape) && collapse->hasOneUse() && isElementwise(owner);
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(owner))
    return expand->hasAttr(kPanelReshape) && isElementwise(operand->get().getDefiningOp());
  return false;
}

struct EffcCpuWeightPanelsPass : effc::impl::EffcCpuWeightPanelsPassBase<EffcCpuWeightPanelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t width = panelWidth, registerWidth = registerTileN;
    if (registerWidth <= 0) {
      module.emitError() << "effc-cpu-weight-panels: register-tile-n must be > 0, got " << registerWidth;
      return signalPassFailure();
    }
    if (width < 0 || width % registerWidth != 0) {
      module.emitError() << "effc-cpu-weight-panels: panel-width must be 0 (off) or a positive multiple of "
                            "register-tile-n ("
                         << registerWidth << "), got " << width;
      return signalPassFailure();
    }
    if (minPaddedPanels < 0) {
      module.emitError() << "effc-cpu-weight-panels: min-padded-panels must be >= 0, got "
                         << static_cast<int64_t>(minPaddedPanels);
      return signalPassFailure();
    }
    if (panelWidth == 0)
      return;
    SmallVector<std::tuple<linalg::GenericOp, Value, bool>> candidates;
    module.walk([&](linalg::GenericOp op) {
      if (effc::getStreamingB(op) != effc::StreamingB::Shared)
        return;
      auto bType = cast<RankedTensorType>(op.getDpsInputs()[1].getType());
      int64_t columns = bType.getDimSize(1);
      // A single panel is the [K, N] layout already.
      if (!bType.hasStaticShape() || columns <= panelWidth)
        return;
      auto [weight, transposed] = weightOf(op);
      if (!weight)
        return;
      // A ragged N is padded to whole panels when the padding is small: at least min-padded-panels panels.
      if (columns % panelWidth != 0 &&
          (minPaddedPanels <= 0 || columns / panelWidth < minPaddedPanels || !padsToPanels(op, weight)))
        return;
      candidates.push_back({op, weight, transposed});
    });
    if (candidates.empty())
      return;
    IRRewriter rewriter(&getContext());
    for (auto [op, weight, transposed] : candidates)
      rewriteToPanels(rewriter, op, weight, transposed, panelWidth);

    RewritePatternSet patterns(&getContext());
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, foldsIntoNeighbour);
    linalg::FillOp::getCanonicalizationPatterns(patterns, &getContext());
    tensor::populateFoldTensorEmptyPatterns(patterns);
    // The expanded epilogue's extents, as those of its inputs: a tensor.dim of the contraction's result
    // would be a second use, and TileAndVectorize fuses only the epilogue of a result used once.
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    tensor::DimOp::getCanonicalizationPatterns(patterns, &getContext());
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();
    module.walk([](Operation *op) { op->removeAttr(kPanelReshape); });
  }
};

} // namespace
