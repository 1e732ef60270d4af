//===- ModelStatistics.cpp - size and cost of an eff model -----------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Weights are the ranked-tensor constants eff ops use. FLOPs per token: a weight matrix [N, K] used by a
// matmul-like op costs 2·N·K per token; stacked experts cost the share of the experts a token visits
// (top_k of E); lookups (embeddings, prefixes, prompts) and 1-D vectors (biases, norms, scales) cost
// nothing. Compressed linear ops count their logical weights (the ones they keep), not their packed
// storage shapes; their bytes are everything they store.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/Analysis/ModelStatistics.h"

#include "effc/Dialect/Eff/IR/EffOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace effc {
namespace {

/// The constant tensor `value` is, if any.
arith::ConstantOp weightConstant(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant || !isa<RankedTensorType>(constant.getType()))
    return nullptr;
  return constant;
}

int64_t storageBytes(RankedTensorType type) {
  int64_t bits = type.getElementType().getIntOrFloatBitWidth();
  return (type.getNumElements() * bits + 7) / 8;
}

/// Experts a token visits in the MoE layer whose routing indices are `routingIndices`: the router's top_k,
/// or 1.
int64_t expertsPerToken(Value routingIndices) {
  if (auto router = routingIndices.getDefiningOp<eff::RouterOp>())
    return router.getTopK();
  return 1;
}

bool isLookup(Operation *op) { return isa<eff::EmbeddingOp, eff::PrefixOp, eff::PromptOp>(op); }

/// A compressed linear layer keeping `weights` logical weights: they and the bias are its parameters, 2 FLOPs
/// per weight, and everything it stores (packed weights, scales, indices) its bytes.
void accumulateCompressedLinear(Operation *op, int64_t weights, Value bias, PartStatistics &part,
                                llvm::DenseSet<Operation *> &seen) {
  part.flopsPerToken += 2 * weights;
  part.parameters += weights;
  if (bias)
    if (arith::ConstantOp constant = weightConstant(bias))
      part.parameters += cast<RankedTensorType>(constant.getType()).getNumElements();
  for (Value operand : op->getOperands())
    if (arith::ConstantOp constant = weightConstant(operand); constant && seen.insert(constant).second)
      part.bytes += storageBytes(cast<RankedTensorType>(constant.getType()));
}

/// Adds what `op` costs and stores to `part`; `seen` holds the constants already counted in this part.
void accumulate(Operation *op, PartStatistics &part, llvm::DenseSet<Operation *> &seen) {
  if (auto quantized = dyn_cast<eff::QuantizedLinearOp>(op)) {
    // Logical weights [N, K]; bytes are the packed weight, its scales and the other side tensors.
    int64_t weights = quantized.getInFeatures() * quantized.getOutFeatures();
    accumulateCompressedLinear(op, weights, quantized.getBias(), part, seen);
    return;
  }

  if (auto experts = dyn_cast<eff::QuantizedExpertsOp>(op)) {
    // Logical weights per expert: [F, D] up (and gate) and [D, F] down; a token visits top_k experts.
    int64_t hidden = cast<RankedTensorType>(experts.getInput().getType()).getShape().back();
    int64_t perExpert = static_cast<int64_t>(experts.getIntermediateSize()) * hidden *
                        (experts.getGatePacked() ? 3 : 2);
    accumulateCompressedLinear(op, perExpert * experts.getNumExperts(), Value(), part, seen);
    part.flopsPerToken += 2 * perExpert * expertsPerToken(experts.getRoutingIndices()) - 2 * perExpert *
                          experts.getNumExperts();
    for (Value bias : {experts.getUpBias(), experts.getDownBias()})
      if (bias)
        if (arith::ConstantOp constant = weightConstant(bias))
          part.parameters += cast<RankedTensorType>(constant.getType()).getNumElements();
    return;
  }

  if (auto sparse = dyn_cast<eff::SparseLinearOp>(op)) {
    // The weights it keeps are its stored values (N:M: N of every M; CSR: the nonzeros).
    int64_t kept = sparse.getValues().getType().getNumElements();
    accumulateCompressedLinear(op, kept, sparse.getBias(), part, seen);
    return;
  }

  int64_t share = 1, of = 1;
  if (auto experts = dyn_cast<eff::ExpertsOp>(op)) {
    share = expertsPerToken(experts.getRoutingIndices());
    of = experts.getNumExperts();
  }
  for (Value operand : op->getOperands()) {
    arith::ConstantOp constant = weightConstant(operand);
    if (!constant)
      continue;
    auto type = cast<RankedTensorType>(constant.getType());
    if (type.getRank() >= 2 && !isLookup(op))
      part.flopsPerToken += 2 * type.getNumElements() * share / of;
    if (!seen.insert(constant).second)
      continue;
    part.parameters += type.getNumElements();
    part.bytes += storageBytes(type);
  }
}

void add(PartStatistics &into, const PartStatistics &part) {
  into.parameters += part.parameters;
  into.bytes += part.bytes;
  into.flopsPerToken += part.flopsPerToken;
}

} // namespace

ModelStatistics computeModelStatistics(ModuleOp module, llvm::StringRef function) {
  ModelStatistics statistics;
  func::FuncOp entry;
  for (auto candidate : module.getOps<func::FuncOp>())
    if (!candidate.isExternal() && (function.empty() ? candidate.isPublic() : candidate.getName() == function)) {
      entry = candidate;
      break;
    }
  statistics.total.name = "total";
  if (!entry)
    return statistics;
  statistics.function = entry.getName().str();

  PartStatistics outside{"outside layers"};
  llvm::DenseSet<Operation *> outsideSeen;
  for (Operation &op : entry.getBody().getOps()) {
    if (auto layer = dyn_cast<eff::LayerOp>(op)) {
      PartStatistics part{"layer " + std::to_string(layer.getIndex())};
      llvm::DenseSet<Operation *> seen;
      layer.getBody().walk([&](Operation *nested) {
        if (isa<eff::EffDialect>(nested->getDialect()))
          accumulate(nested, part, seen);
      });
      statistics.parts.push_back(part);
      continue;
    }
    if (isa<eff::EffDialect>(op.getDialect()))
      accumulate(&op, outside, outsideSeen);
  }
  statistics.parts.push_back(outside);
  for (const PartStatistics &part : statistics.parts)
    add(statistics.total, part);
  return statistics;
}

static std::string humanCount(int64_t value, llvm::StringRef unit) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (value >= 1000000000)
    os << llvm::format("%.2f G", value / 1e9);
  else if (value >= 1000000)
    os << llvm::format("%.2f M", value / 1e6);
  else if (value >= 1000)
    os << llvm::format("%.2f k", value / 1e3);
  else
    os << value << " ";
  os << unit;
  return text;
}

void printModelStatistics(const ModelStatistics &statistics, llvm::raw_ostream &os) {
  os << "effc report: function '" << statistics.function
     << "' (FLOPs per token count weight multiply-adds, not attention scores)\n";
  os << llvm::format("%-16s %16s %14s %16s\n", "part", "parameters", "bytes", "FLOPs/token");
  auto row = [&](const PartStatistics &part) {
    os << llvm::format("%-16s %16s %14s %16s\n", part.name.c_str(), humanCount(part.parameters, "").c_str(),
                       humanCount(part.bytes, "B").c_str(), humanCount(part.flopsPerToken, "").c_str());
  };
  for (const PartStatistics &part : statistics.parts)
    row(part);
  row(statistics.total);
}

} // namespace effc
