//===- MergeAdapters.cpp - fold adapters into the base weights ------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-merge-adapters: merges every eff.lora into the weight of the eff.linear it adapts
// (W' = W + (alpha / rank) · B · A) and folds every eff.ia3 vector into the eff.linear that produces the
// scaled tensor (its rows and bias) or, failing that, into the eff.linear ops that consume it (their
// columns). Adapters that cannot be folded stay, each with a remark that says why.
//
//===----------------------------------------------------------------------===//

#include "WeightUtils.h"

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::eff {
#define GEN_PASS_DEF_EFFMERGEADAPTERSPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// Clones `linear` just before `anchor` with its weight (and bias, when given) replaced by new constants,
/// and returns the clone. The original stays for its other users; it is erased once it has none.
LinearOp cloneLinearWith(LinearOp linear, Operation *anchor, const Weight &weight,
                         const std::optional<Weight> &bias) {
  OpBuilder builder(anchor);
  IRMapping mapping;
  mapping.map(linear.getWeight(), createWeight(builder, linear.getWeight().getLoc(), weight, ".merged"));
  if (bias)
    mapping.map(linear.getBias(), createWeight(builder, linear.getBias().getLoc(), *bias, ".merged"));
  return cast<LinearOp>(builder.clone(*linear, mapping));
}

/// Replaces `op` (one result) by `value` and erases it, then erases the constants and the eff.linear that
/// fed it when they have no use left.
void replaceAndClean(Operation *op, Value value) {
  llvm::SetVector<Operation *> producers;
  for (Value operand : op->getOperands())
    if (Operation *def = operand.getDefiningOp())
      producers.insert(def);
  op->getResult(0).replaceAllUsesWith(value);
  op->erase();
  for (size_t i = 0; i < producers.size(); ++i) {
    Operation *def = producers[i];
    if (!def->use_empty() || !(isa<arith::ConstantOp>(def) || isa<LinearOp>(def)))
      continue;
    for (Value operand : def->getOperands())
      if (Operation *inner = operand.getDefiningOp())
        producers.insert(inner);
    def->erase();
  }
}

struct EffMergeAdaptersPass : mlir::eff::impl::EffMergeAdaptersPassBase<EffMergeAdaptersPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // LoRA first: a linear -> lora -> ia3 chain becomes linear -> ia3, whose vector then folds too.
    SmallVector<LoraOp> loras;
    module.walk([&](LoraOp op) { loras.push_back(op); });
    for (LoraOp lora : loras)
      mergeLora(lora);
    SmallVector<Ia3Op> ia3s;
    module.walk([&](Ia3Op op) { ia3s.push_back(op); });
    for (Ia3Op ia3 : ia3s)
      foldIa3(ia3);
    module.walk([](BottleneckAdapterOp op) {
      op.emitRemark("eff-merge-adapters: bottleneck adapter kept: its activation between the down and up "
                    "projections makes it nonlinear, so it has no equivalent weight to fold into");
    });
  }

  void mergeLora(LoraOp lora) {
    auto linear = lora.getBase().getDefiningOp<LinearOp>();
    if (!linear) {
      lora.emitRemark("eff-merge-adapters: LoRA kept: its base is not the result of an eff.linear");
      return;
    }
    if (linear.getInput() != lora.getInput()) {
      lora.emitRemark("eff-merge-adapters: LoRA kept: its input is not the input of the eff.linear it adapts");
      return;
    }
    std::optional<Weight> weight = readWeight(linear.getWeight());
    std::optional<Weight> a = readWeight(lora.getLoraA()), b = readWeight(lora.getLoraB());
    if (!weight || !a || !b) {
      lora.emitRemark("eff-merge-adapters: LoRA kept: ")
          << (weight ? "its A or B" : "the base eff.linear's weight") << " is not a float constant";
      return;
    }
    if (lora.getType() != linear.getType()) {
      lora.emitRemark("eff-merge-adapters: LoRA kept: its result type ")
          << lora.getType() << " differs from the base eff.linear's " << linear.getType();
      return;
    }
    // W'[n, k] = W[n, k] + s · Σ_r B[n, r] · A[r, k], accumulated in double.
    int64_t n = weight->dim(0), k = weight->dim(1), rank = a->dim(0);
    double scaling = lora.getScaling();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < rank; ++r) {
        double bs = scaling * b->values[i * rank + r];
        for (int64_t j = 0; j < k; ++j)
          weight->values[i * k + j] += bs * a->values[r * k + j];
      }
    LinearOp merged = cloneLinearWith(linear, lora, *weight, std::nullopt);
    replaceAndClean(lora, merged.getResult());
  }

  void foldIa3(Ia3Op ia3) {
    std::optional<Weight> scale = readWeight(ia3.getScale());
    if (!scale) {
      ia3.emitRemark("eff-merge-adapters: (IA)^3 vector kept: it is not a float constant");
      return;
    }
    // Producer: y = (x · Wᵀ + b) ⊙ l = x · (diag(l) · W)ᵀ + l ⊙ b, so row n of W and b[n] scale by l[n].
    if (auto linear = ia3.getInput().getDefiningOp<LinearOp>()) {
      std::optional<Weight> weight = readWeight(linear.getWeight());
      std::optional<Weight> bias = linear.getBias() ? readWeight(linear.getBias()) : std::nullopt;
      if (weight && (bias || !linear.getBias()) && ia3.getType() == linear.getType()) {
        int64_t n = weight->dim(0), k = weight->dim(1);
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = 0; j < k; ++j)
            weight->values[i * k + j] *= scale->values[i];
          if (bias)
            bias->values[i] *= scale->values[i];
        }
        LinearOp folded = cloneLinearWith(linear, ia3, *weight, bias);
        replaceAndClean(ia3, folded.getResult());
        return;
      }
    }
    // Consumers: (x ⊙ l) · Wᵀ = x · (W · diag(l))ᵀ, so column k of each consumer's weight scales by l[k]. This
    // is the FFN case, where the vector rescales the activation that the down projection reads.
    bool consumersFold = !ia3->use_empty() && llvm::all_of(ia3->getUses(), [&](OpOperand &use) {
      auto consumer = dyn_cast<LinearOp>(use.getOwner());
      return consumer && use.get() == consumer.getInput() && consumer.getWeight() != ia3.getResult() &&
             consumer.getBias() != ia3.getResult() && readWeight(consumer.getWeight());
    });
    if (!consumersFold || ia3.getInput().getType() != ia3.getType()) {
      ia3.emitRemark("eff-merge-adapters: (IA)^3 vector kept: the scaled tensor is not the output of an "
                     "eff.linear with constant weights, and not only read as the input of such eff.linear ops");
      return;
    }
    for (Operation *user : llvm::to_vector(ia3->getUsers())) {
      auto consumer = cast<LinearOp>(user);
      Weight weight = *readWeight(consumer.getWeight());
      int64_t n = weight.dim(0), k = weight.dim(1);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j)
          weight.values[i * k + j] *= scale->values[j];
      replaceWeight(consumer.getWeightMutable(), weight, ".merged");
    }
    replaceAndClean(ia3, ia3.getInput());
  }
};

} // namespace
