//===- PruneHeads.cpp - structured attention head pruning ------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-prune-heads: removes the weakest attention heads of every eff.attention by slicing the
// constant weights of the projections that feed it (eff.linear, through eff.lora, eff.ia3, eff.rotary and
// eff.prefix) and of the output projection, and retypes what carries the heads: the attention's results, its
// KV cache, and the layer and function signatures through which the cache flows. A head bias (a constant, or
// T5's eff.relative_position_bias shared by the layers) keeps the kept heads' slices.
//
//===----------------------------------------------------------------------===//

#include "WeightUtils.h"

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/CalibrationProbes.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::eff {
#define GEN_PASS_DEF_EFFPRUNEHEADSPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// How one attention input (query, key or value) is computed from the hidden state: the ops between the
/// eff.linear and the attention, each carrying one channel per head in its last dimension.
struct Projection {
  LinearOp linear;
  SmallVector<Operation *> adapters; // eff.lora / eff.ia3 / eff.rotary / eff.prefix, from the attention back
  SmallVector<Value> values;         // every value of the chain, whose last dimension shrinks
};

/// Everything that changes when heads of one attention go; built and checked before anything changes.
struct Plan {
  AttentionOp attention;
  Projection query, key, value;
  SmallVector<OpOperand *> outputWeights; // weights [N, H·Dh] of the output projection (and LoRA A)
  // The additive bias [B|1, H, S, L]: a constant (biasWeight), or an eff.relative_position_bias of a constant
  // table (positionBias) reaching the attention through biasUse (the attention's operand, or the operand of
  // the enclosing layer whose block argument biasArgument the attention reads).
  OpOperand *biasWeight = nullptr;
  RelativePositionBiasOp positionBias;
  OpOperand *biasUse = nullptr;
  BlockArgument biasArgument;
  llvm::SetVector<Value> retyped;         // values whose last dimension becomes the kept KV width
  int64_t heads, kvHeads, headDim;
};

/// Why `value` cannot be traced to a constant eff.linear, or "" when `projection` was filled in.
std::string traceProjection(Value value, StringRef what, Projection &projection) {
  while (true) {
    projection.values.push_back(value);
    Operation *def = value.getDefiningOp();
    if (!def)
      return (what + " is a block argument, not the result of an eff.linear").str();
    if (auto linear = dyn_cast<LinearOp>(def)) {
      if (!readWeight(linear.getWeight()) || (linear.getBias() && !readWeight(linear.getBias())))
        return (what + " projection's weight or bias is not a constant").str();
      projection.linear = linear;
      return "";
    }
    projection.adapters.push_back(def);
    if (auto rotary = dyn_cast<RotaryOp>(def)) {
      value = rotary.getInput();
    } else if (auto ia3 = dyn_cast<Ia3Op>(def)) {
      if (!readWeight(ia3.getScale()))
        return (what + "'s (IA)^3 vector is not a constant").str();
      value = ia3.getInput();
    } else if (auto lora = dyn_cast<LoraOp>(def)) {
      if (!readWeight(lora.getLoraB()))
        return (what + "'s LoRA B is not a constant").str();
      value = lora.getBase();
    } else if (auto prefix = dyn_cast<PrefixOp>(def)) {
      bool isKey = value == prefix.getResultKey();
      if (!readWeight(isKey ? prefix.getPrefixKey() : prefix.getPrefixValue()))
        return (what + "'s prefix is not a constant").str();
      value = isKey ? prefix.getKey() : prefix.getValue();
    } else {
      return (what + " is computed by '" + def->getName().getStringRef() +
              "'; expected eff.linear, optionally followed by eff.lora, eff.ia3, eff.rotary or eff.prefix")
          .str();
    }
  }
}

/// Adds to `plan.retyped` the layer results and function arguments through which a KV-width `value` leaves
/// or enters the layer (the KV cache); returns why it cannot, or "".
std::string traceCache(Value value, Plan &plan) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (isa<AttentionOp, RotaryOp, Ia3Op, LoraOp, PrefixOp>(user))
      continue; // the chain itself
    auto yield = dyn_cast<YieldOp>(user);
    if (!yield)
      return ("a key/value tensor is also used by '" + user->getName().getStringRef() + "'").str();
    Value result = yield->getParentOp()->getResult(use.getOperandNumber());
    for (Operation *resultUser : result.getUsers())
      if (!isa<func::ReturnOp>(resultUser))
        return ("the layer's key/value result is used by '" + resultUser->getName().getStringRef() + "'").str();
    plan.retyped.insert(result);
  }
  return "";
}

/// The past key/value `value` of the attention: a layer argument bound to a function argument.
std::string tracePast(Value value, Plan &plan) {
  auto inner = dyn_cast<BlockArgument>(value);
  auto layer = inner ? dyn_cast<LayerOp>(inner.getOwner()->getParentOp()) : LayerOp();
  if (!layer)
    return "the past key/value is not an argument of the enclosing eff.layer";
  auto outer = dyn_cast<BlockArgument>(layer.getInputs()[inner.getArgNumber()]);
  if (!outer || !isa<func::FuncOp>(outer.getOwner()->getParentOp()))
    return "the past key/value is not a function argument";
  for (Operation *user : outer.getUsers())
    if (user != layer && !isa<tensor::DimOp>(user))
      return ("the past key/value argument is also used by '" + user->getName().getStringRef() + "'").str();
  for (Operation *user : inner.getUsers())
    if (!isa<AttentionOp>(user))
      return ("the past key/value is also used by '" + user->getName().getStringRef() + "' in the layer").str();
  plan.retyped.insert(inner);
  plan.retyped.insert(outer);
  return "";
}

/// How the attention's bias loses the pruned heads; returns why it cannot, or "".
std::string traceBias(AttentionOp attention, Plan &plan) {
  OpOperand &operand = attention.getBiasMutable()[0];
  if (readWeight(operand.get())) {
    plan.biasWeight = &operand;
    return "";
  }
  Value value = operand.get();
  plan.biasUse = &operand;
  if (auto argument = dyn_cast<BlockArgument>(value)) {
    auto layer = dyn_cast<LayerOp>(argument.getOwner()->getParentOp());
    if (!layer)
      return "the attention bias is a block argument of something other than an eff.layer";
    for (Operation *user : argument.getUsers())
      if (user != attention.getOperation())
        return ("the attention bias is also used by '" + user->getName().getStringRef() + "' in the layer").str();
    plan.biasUse = &layer.getInputsMutable()[argument.getArgNumber()];
    plan.biasArgument = argument;
    value = plan.biasUse->get();
  }
  plan.positionBias = value.getDefiningOp<RelativePositionBiasOp>();
  if (!plan.positionBias || !readWeight(plan.positionBias.getTable()))
    return "the attention bias is neither a constant nor an eff.relative_position_bias of a constant table";
  return "";
}

/// Gives the attention a bias with only the heads `keptHeads`: a sliced constant, or a copy of its
/// eff.relative_position_bias reading the kept columns of the table (the original stays for other users).
void sliceBias(Plan &plan, ArrayRef<int64_t> keptHeads) {
  if (plan.biasWeight) {
    replaceWeight(*plan.biasWeight, gatherWeight(*readWeight(plan.biasWeight->get()), 1, keptHeads), ".pruned");
    return;
  }
  if (!plan.positionBias)
    return;
  RelativePositionBiasOp original = plan.positionBias;
  OpBuilder builder(original);
  builder.setInsertionPointAfter(original);
  auto copy = cast<RelativePositionBiasOp>(builder.clone(*original));
  replaceWeight(copy.getTableMutable(), gatherWeight(*readWeight(copy.getTable()), 1, keptHeads), ".pruned");
  SmallVector<int64_t> shape(copy.getType().getShape());
  shape[1] = keptHeads.size();
  copy.getResult().setType(copy.getType().clone(shape));
  plan.biasUse->set(copy.getResult());
  if (plan.biasArgument)
    plan.biasArgument.setType(copy.getType());
  if (original->use_empty()) {
    Operation *table = original.getTable().getDefiningOp();
    original->erase();
    if (table && table->use_empty())
      table->erase();
  }
}

std::string buildPlan(AttentionOp attention, Plan &plan) {
  plan.attention = attention;
  plan.heads = attention.getNumHeads();
  plan.kvHeads = attention.getNumKeyValueHeads();
  plan.headDim = attention.getHeadDim();
  if (ShapedType::isDynamic(plan.headDim))
    return "the query's hidden size is dynamic";
  if (attention.getHeadMask() && !readWeight(attention.getHeadMask()))
    return "the head mask is not a constant";
  if (attention.getBias())
    if (std::string why = traceBias(attention, plan); !why.empty())
      return why;
  if (std::string why = traceProjection(attention.getQuery(), "the query", plan.query); !why.empty())
    return why;
  for (Value q : plan.query.values)
    if (!q.hasOneUse())
      return "a query tensor has more than one use";
  for (OpOperand &use : attention.getOutput().getUses()) {
    if (auto linear = dyn_cast<LinearOp>(use.getOwner()); linear && use.get() == linear.getInput() &&
                                                          readWeight(linear.getWeight())) {
      plan.outputWeights.push_back(&linear.getWeightMutable());
      continue;
    }
    if (auto lora = dyn_cast<LoraOp>(use.getOwner()); lora && use.get() == lora.getInput() &&
                                                      readWeight(lora.getLoraA())) {
      plan.outputWeights.push_back(&lora.getLoraAMutable());
      continue;
    }
    return ("the attention output is used by '" + use.getOwner()->getName().getStringRef() +
            "' instead of an output projection (eff.linear with a constant weight)")
        .str();
  }
  if (plan.outputWeights.empty())
    return "the attention output has no output projection";
  if (plan.kvHeads != plan.heads)
    return ""; // grouped-query: keys and values keep their heads
  for (auto [projection, operand, what] :
       {std::tuple{&plan.key, attention.getKey(), "the key"}, {&plan.value, attention.getValue(), "the value"}}) {
    if (std::string why = traceProjection(operand, what, *projection); !why.empty())
      return why;
    for (Value v : projection->values)
      if (std::string why = traceCache(v, plan); !why.empty())
        return why;
  }
  for (Value present : attention.getPresent())
    if (std::string why = traceCache(present, plan); !why.empty())
      return why;
  if (attention.getPastKey())
    for (Value past : {attention.getPastKey(), attention.getPastValue()})
      if (std::string why = tracePast(past, plan); !why.empty())
        return why;
  return "";
}

/// Channel indices of the kept heads.
SmallVector<int64_t> channelsOf(ArrayRef<int64_t> heads, int64_t headDim) {
  SmallVector<int64_t> channels;
  for (int64_t h : heads)
    for (int64_t d = 0; d < headDim; ++d)
      channels.push_back(h * headDim + d);
  return channels;
}

/// Slices one projection chain to `channels` and sets `heads` on its rotary ops.
void sliceProjection(Projection &projection, ArrayRef<int64_t> channels, int64_t heads) {
  auto slice = [&](OpOperand &operand, int axis) {
    replaceWeight(operand, gatherWeight(*readWeight(operand.get()), axis, channels), ".pruned");
  };
  slice(projection.linear.getWeightMutable(), 0);
  if (projection.linear.getBias())
    slice(projection.linear.getBiasMutable()[0], 0);
  for (Operation *op : projection.adapters) {
    if (auto rotary = dyn_cast<RotaryOp>(op))
      rotary.setNumHeads(heads);
    else if (auto ia3 = dyn_cast<Ia3Op>(op))
      slice(ia3.getScaleMutable(), 0);
    else if (auto lora = dyn_cast<LoraOp>(op))
      slice(lora.getLoraBMutable(), 0);
    else if (auto prefix = dyn_cast<PrefixOp>(op))
      for (Value v : projection.values) {
        if (v == prefix.getResultKey())
          slice(prefix.getPrefixKeyMutable(), 1);
        else if (v == prefix.getResultValue())
          slice(prefix.getPrefixValueMutable(), 1);
      }
  }
  for (Value v : projection.values)
    setLastDim(v, channels.size());
}

struct EffPruneHeadsPass : mlir::eff::impl::EffPruneHeadsPassBase<EffPruneHeadsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!(fraction >= 0.0 && fraction <= 1.0)) {
      module.emitError("eff-prune-heads: fraction ") << llvm::formatv("{0}", fraction.getValue()).str() << " is not in [0, 1]";
      return signalPassFailure();
    }
    shareCalibrationAcrossFunctions(module, AttentionOp::getOperationName(), effc::calibration::kHeadImportance);
    SmallVector<AttentionOp> attentions;
    module.walk([&](AttentionOp op) { attentions.push_back(op); });
    for (AttentionOp attention : attentions)
      if (failed(prune(attention)))
        return signalPassFailure();
    for (auto func : module.getOps<func::FuncOp>())
      refreshFunctionType(func);
  }

  /// Importance of each query head: the calibration statistic when the attention carries one, else the
  /// weights' magnitude.
  FailureOr<std::vector<double>> scoreHeads(Plan &plan) {
    if (plan.attention->hasAttr(effc::calibration::kHeadImportance)) {
      std::optional<std::vector<double>> measured =
          readCalibrationArray(plan.attention, effc::calibration::kHeadImportance);
      if (!measured || static_cast<int64_t>(measured->size()) != plan.heads)
        return plan.attention.emitError("eff-prune-heads: ")
               << effc::calibration::kHeadImportance << " must be an array<f32> of " << plan.heads
               << " head scores, got " << plan.attention->getAttr(effc::calibration::kHeadImportance);
      return *measured;
    }
    std::vector<double> scores(plan.heads, 0.0);
    auto addRows = [&](Value weight, int axis) {
      std::vector<double> norms = squaredNormsAlong(*readWeight(weight), axis);
      for (size_t c = 0; c < norms.size(); ++c)
        scores[c / plan.headDim] += norms[c];
    };
    addRows(plan.query.linear.getWeight(), 0);
    if (plan.key.linear) {
      addRows(plan.key.linear.getWeight(), 0);
      addRows(plan.value.linear.getWeight(), 0);
    }
    for (OpOperand *weight : plan.outputWeights)
      if (isa<LinearOp>(weight->getOwner()))
        addRows(weight->get(), 1);
    return scores;
  }

  LogicalResult prune(AttentionOp attention) {
    Plan plan;
    if (std::string why = buildPlan(attention, plan); !why.empty()) {
      attention.emitWarning("eff-prune-heads: attention left unpruned: ") << why;
      return success();
    }
    FailureOr<std::vector<double>> scores = scoreHeads(plan);
    if (failed(scores))
      return failure();

    // Multi-head: the weakest heads go with their keys and values. Grouped-query: the same number of query
    // heads goes from every group, so that keys, values and the KV cache are unchanged.
    int64_t groups = plan.kvHeads, groupSize = plan.heads / plan.kvHeads;
    SmallVector<int64_t> keptHeads;
    if (groupSize == 1) {
      keptHeads = keepStrongest(*scores, pruneCount(fraction, plan.heads));
    } else {
      int64_t remove = pruneCount(fraction, groupSize);
      for (int64_t g = 0; g < groups; ++g) {
        ArrayRef<double> groupScores = ArrayRef<double>(*scores).slice(g * groupSize, groupSize);
        for (int64_t h : keepStrongest(groupScores, remove))
          keptHeads.push_back(g * groupSize + h);
      }
    }
    int64_t kept = keptHeads.size();
    if (kept == plan.heads)
      return success();

    SmallVector<int64_t> channels = channelsOf(keptHeads, plan.headDim);
    sliceProjection(plan.query, channels, kept);
    for (OpOperand *weight : plan.outputWeights)
      replaceWeight(*weight, gatherWeight(*readWeight(weight->get()), 1, channels), ".pruned");
    if (attention.getHeadMask())
      replaceWeight(attention.getHeadMaskMutable()[0], gatherWeight(*readWeight(attention.getHeadMask()), 0, keptHeads),
                    ".pruned");
    sliceBias(plan, keptHeads);
    attention.setNumHeads(kept);
    // Keep the statistics aligned with the sliced weights, for passes that run later.
    sliceCalibrationArray(attention, effc::calibration::kHeadImportance, keptHeads);
    for (OpOperand *weight : plan.outputWeights)
      sliceCalibrationArray(weight->getOwner(), effc::calibration::kInputRms, channels);
    setLastDim(attention.getOutput(), channels.size());
    if (groupSize == 1) {
      sliceProjection(plan.key, channels, kept);
      sliceProjection(plan.value, channels, kept);
      if (attention.getNumKvHeads())
        attention.setNumKvHeads(kept);
      for (Value present : attention.getPresent())
        setLastDim(present, channels.size());
      for (Value v : plan.retyped)
        setLastDim(v, channels.size());
    }
    return success();
  }
};

} // namespace
