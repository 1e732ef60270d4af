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
#include "effc/Dialect/Eff/Transforms/CalibrationProbes.h"
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
    shareCalibrationAcrossFunctions(module, FfnOp::getOperationName(), effc::calibration::kInputRms);
    SmallVector<FfnOp> ffns;
    module.walk([&](FfnOp op) { ffns.push_back(op); });
    for (FfnOp ffn : ffns)
      if (failed(prune(ffn)))
        return signalPassFailure();
  }

  LogicalResult prune(FfnOp ffn) {
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

    // Magnitude: ||up_f|| · ||down[:, f]|| (· ||gate_f|| when gated), the neuron's largest possible
    // contribution. With calibration (Wanda, Sun et al. 2023): the input rows are weighted by the RMS of the
    // input channel they read, ||up_f ⊙ rms||, so that neurons reading quiet channels score low.
    std::vector<double> inputScale(ffn.getUpWeight().getType().getDimSize(1), 1.0);
    if (ffn->hasAttr(effc::calibration::kInputRms)) {
      std::optional<std::vector<double>> rms = readCalibrationArray(ffn, effc::calibration::kInputRms);
      if (!rms || rms->size() != inputScale.size())
        return ffn.emitError("eff-prune-ffn: ")
               << effc::calibration::kInputRms << " must be an array<f32> of " << inputScale.size()
               << " input channel RMS values, got " << ffn->getAttr(effc::calibration::kInputRms);
      inputScale = std::move(*rms);
    }
    auto scaledRowNorms = [&](Value weightValue) {
      Weight weight = *readWeight(weightValue);
      int64_t rows = weight.dim(0), columns = weight.dim(1);
      std::vector<double> norms(rows, 0.0);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < columns; ++c) {
          double v = weight.values[r * columns + c] * inputScale[c];
          norms[r] += v * v;
        }
      return norms;
    };
    std::vector<double> scores = scaledRowNorms(ffn.getUpWeight());
    std::vector<double> downNorms = squaredNormsAlong(*readWeight(down.get()), 1);
    std::vector<double> gateNorms =
        ffn.getGateWeight() ? scaledRowNorms(ffn.getGateWeight()) : std::vector<double>(width, 1.0);
    for (int64_t f = 0; f < width; ++f)
      scores[f] = std::sqrt(scores[f] * downNorms[f] * gateNorms[f]);
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
