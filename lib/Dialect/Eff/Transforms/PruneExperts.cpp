//===- PruneExperts.cpp - Mixture-of-Experts expert pruning ----------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-prune-experts: removes experts from every eff.router and the eff.experts ops it routes to,
// by slicing the router's weight rows and the experts' stacked weights and biases along the expert axis.
//
//===----------------------------------------------------------------------===//

#include "WeightUtils.h"

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/CalibrationProbes.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::eff {
#define GEN_PASS_DEF_EFFPRUNEEXPERTSPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// A parsed `experts` option: a count of experts to drop per router, or an explicit list.
struct ExpertSpec {
  int64_t count = 0;
  SmallVector<int64_t> list;
  bool isList = false;
};

FailureOr<ExpertSpec> parseSpec(StringRef text) {
  ExpertSpec spec;
  text = text.trim();
  if (text.consume_front("list:")) {
    spec.isList = true;
    SmallVector<StringRef> items;
    text.split(items, ',');
    for (StringRef item : items) {
      int64_t index;
      if (item.trim().getAsInteger(10, index) || index < 0)
        return failure();
      spec.list.push_back(index);
    }
    return spec;
  }
  if (text.getAsInteger(10, spec.count) || spec.count < 0)
    return failure();
  return spec;
}

struct EffPruneExpertsPass : mlir::eff::impl::EffPruneExpertsPassBase<EffPruneExpertsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<ExpertSpec> spec = parseSpec(experts);
    if (failed(spec)) {
      module.emitError("eff-prune-experts: experts must be a count N or list:i,j,..., got '") << experts << "'";
      return signalPassFailure();
    }
    shareCalibrationAcrossFunctions(module, RouterOp::getOperationName(), effc::calibration::kExpertUsage);
    SmallVector<RouterOp> routers;
    module.walk([&](RouterOp op) { routers.push_back(op); });
    for (RouterOp router : routers)
      if (failed(prune(router, *spec)))
        return signalPassFailure();
  }

  /// The experts to keep, ascending, or failure after a diagnostic.
  FailureOr<SmallVector<int64_t>> selectExperts(RouterOp router, const ExpertSpec &spec) {
    int64_t numExperts = router.getNumExperts(), topK = router.getTopK();
    int64_t remove = spec.isList ? static_cast<int64_t>(spec.list.size()) : spec.count;
    if (remove >= numExperts)
      return router.emitError("eff-prune-experts: cannot prune ")
             << remove << " of the router's " << numExperts << " experts: at least one must stay";
    if (numExperts - remove < topK)
      return router.emitError("eff-prune-experts: pruning ")
             << remove << " of " << numExperts << " experts leaves " << numExperts - remove
             << ", fewer than top_k = " << topK;
    if (spec.isList) {
      llvm::SmallDenseSet<int64_t> removed;
      for (int64_t index : spec.list) {
        if (index >= numExperts)
          return router.emitError("eff-prune-experts: expert ")
                 << index << " is out of range: the router has " << numExperts << " experts";
        if (!removed.insert(index).second)
          return router.emitError("eff-prune-experts: expert ") << index << " is listed twice";
      }
      SmallVector<int64_t> keep;
      for (int64_t e = 0; e < numExperts; ++e)
        if (!removed.contains(e))
          keep.push_back(e);
      return keep;
    }
    // Fewest assignments on the calibration data, else the smallest router rows (the experts the router
    // scores lowest for inputs of a given norm).
    std::vector<double> scores;
    if (router->hasAttr(effc::calibration::kExpertUsage)) {
      std::optional<std::vector<double>> usage = readCalibrationArray(router, effc::calibration::kExpertUsage);
      if (!usage || static_cast<int64_t>(usage->size()) != numExperts ||
          !isa<DenseI64ArrayAttr>(router->getAttr(effc::calibration::kExpertUsage)))
        return router.emitError("eff-prune-experts: ")
               << effc::calibration::kExpertUsage << " must be an array<i64> of " << numExperts
               << " assignment counts, got " << router->getAttr(effc::calibration::kExpertUsage);
      scores = std::move(*usage);
    } else {
      scores = squaredNormsAlong(*readWeight(router.getWeight()), 0);
    }
    return keepStrongest(scores, remove);
  }

  LogicalResult prune(RouterOp router, const ExpertSpec &spec) {
    // Everything that carries the expert axis: the router's weight and the routed eff.experts' weights.
    SmallVector<OpOperand *> expertAxis{&router.getWeightMutable()};
    SmallVector<ExpertsOp> routed;
    for (Operation *user : router.getIndices().getUsers()) {
      auto experts = dyn_cast<ExpertsOp>(user);
      if (!experts || experts.getRoutingIndices() != router.getIndices()) {
        router.emitWarning("eff-prune-experts: router left unpruned: its expert indices are used by '")
            << user->getName() << "', not only as the routing indices of eff.experts";
        return success();
      }
      routed.push_back(experts);
      expertAxis.push_back(&experts.getUpWeightMutable());
      expertAxis.push_back(&experts.getDownWeightMutable());
      if (experts.getUpBias())
        expertAxis.push_back(&experts.getUpBiasMutable()[0]);
      if (experts.getGateWeight())
        expertAxis.push_back(&experts.getGateWeightMutable()[0]);
      if (experts.getDownBias())
        expertAxis.push_back(&experts.getDownBiasMutable()[0]);
    }
    if (routed.empty()) {
      router.emitWarning("eff-prune-experts: router left unpruned: it routes to no eff.experts");
      return success();
    }
    for (OpOperand *operand : expertAxis) {
      std::optional<Weight> weight = readWeight(operand->get());
      if (!weight || weight->dim(0) != router.getNumExperts()) {
        router.emitWarning("eff-prune-experts: router left unpruned: the ")
            << (operand->getOwner() == router ? "router" : "experts")
            << " weights are not constants with one slice per expert";
        return success();
      }
    }
    FailureOr<SmallVector<int64_t>> keep = selectExperts(router, spec);
    if (failed(keep))
      return failure();
    if (static_cast<int64_t>(keep->size()) == router.getNumExperts())
      return success();
    for (OpOperand *operand : expertAxis)
      replaceWeight(*operand, gatherWeight(*readWeight(operand->get()), 0, *keep), ".pruned");
    sliceCalibrationArray(router, effc::calibration::kExpertUsage, *keep);
    return success();
  }
};

} // namespace
