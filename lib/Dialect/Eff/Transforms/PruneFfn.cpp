//===- PruneFfn.cpp - structured FFN neuron pruning ------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-prune-ffn: removes the weakest intermediate neurons of every eff.ffn (plain or gated) by
// slicing its constant up/gate rows, up bias and down columns.
//
//===----------------------------------------------------------------------===//

#include "WeightUtils.h"

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir::eff {
#define GEN_PASS_DEF_EFFPRUNEFFNPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

struct EffPruneFfnPass : mlir::eff::impl::EffPruneFfnPassBase<EffPruneFfnPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!(fraction >= 0.0 && fraction <= 1.0)) {
      module.emitError("eff-prune-ffn: fraction ") << llvm::formatv("{0}", fraction.getValue()).str() << " is not in [0, 1]";
      return signalPassFailure();
    }
    std::optional<CalibrationData> calibrationData;
    if (!calibration.empty()) {
      auto loaded = CalibrationData::load(calibration);
      if (!loaded) {
        module.emitError("eff-prune-ffn: ") << llvm::toString(loaded.takeError());
        return signalPassFailure();
      }
      calibrationData = std::move(*loaded);
    }
    SmallVector<FfnOp> ffns;
    module.walk([&](FfnOp op) { ffns.push_back(op); });
    for (FfnOp ffn : ffns)
      if (failed(prune(ffn, calibrationData ? &*calibrationData : nullptr)))
        return signalPassFailure();
  }

  LogicalResult prune(FfnOp ffn, const CalibrationData *data) {
    SmallVector<OpOperand *> rows{&ffn.getUpWeightMutable()}; // [F, ...] operands, sliced along axis 0
    if (ffn.getUpBias())
      rows.push_back(&ffn.getUpBiasMutable()[0]);
    if (ffn.getGateWeight())
      rows.push_back(&ffn.getGateWeightMutable()[0]);
    OpOperand &down = ffn.getDownWeightMutable();
    if (!readWeight(down.get()) || llvm::any_of(rows, [](OpOperand *o) { return !readWeight(o->get()); })) {
      ffn.emitWarning("eff-prune-ffn: FFN left unpruned: its weights are not constants");
      return success();
    }
    int64_t width = ffn.getUpWeight().getType().getDimSize(0);

    std::vector<double> scores;
    if (data) {
      auto layer = ffn->getParentOfType<LayerOp>();
      std::string key = "layer" + std::to_string(layer ? (int64_t)layer.getIndex() : -1) + ".ffn_importance";
      const std::vector<double> *values = layer ? data->lookup(key) : nullptr;
      if (!values || static_cast<int64_t>(values->size()) != width)
        return ffn.emitError("eff-prune-ffn: calibration file ")
               << data->path() << " has no array '" << key << "' of " << width << " neuron scores";
      scores = *values;
    } else {
      // ||up_f|| · ||down[:, f]|| (· ||gate_f|| when gated): the neuron's largest possible contribution.
      scores = squaredNormsAlong(*readWeight(ffn.getUpWeight()), 0);
      std::vector<double> downNorms = squaredNormsAlong(*readWeight(down.get()), 1);
      std::vector<double> gateNorms = ffn.getGateWeight() ? squaredNormsAlong(*readWeight(ffn.getGateWeight()), 0)
                                                          : std::vector<double>(width, 1.0);
      for (int64_t f = 0; f < width; ++f)
        scores[f] = std::sqrt(scores[f] * downNorms[f] * gateNorms[f]);
    }
    SmallVector<int64_t> keep = keepStrongest(scores, pruneCount(fraction, width));
    if (static_cast<int64_t>(keep.size()) == width)
      return success();
    for (OpOperand *operand : rows)
      replaceWeight(*operand, gatherWeight(*readWeight(operand->get()), 0, keep), ".pruned");
    replaceWeight(down, gatherWeight(*readWeight(down.get()), 1, keep), ".pruned");
    return success();
  }
};

} // namespace
