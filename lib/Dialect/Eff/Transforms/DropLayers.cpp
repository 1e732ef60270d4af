//===- DropLayers.cpp - remove whole transformer layers --------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-drop-layers: removes the eff.layer ops chosen by a strategy of Sajjad et al. ("Poor man's
// BERT"), rewires the residual stream around them, removes the function results and arguments that belonged
// to them (KV cache) and renumbers what is left.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::eff {
#define GEN_PASS_DEF_EFFDROPLAYERSPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// A parsed `layers` option.
struct DropSpec {
  enum Kind { Top, Bottom, Alternate, Symmetric, List } kind;
  int64_t count = 0;            // K of top/bottom/symmetric
  SmallVector<int64_t> indices; // list: layer index attributes
};

FailureOr<DropSpec> parseSpec(StringRef text, std::string &error) {
  DropSpec spec;
  if (text.trim().empty()) {
    error = "no layer selection given; expected top:K, bottom:K, alternate, symmetric:K or list:i,j,...";
    return failure();
  }
  auto [kind, argument] = text.split(':');
  bool hasArgument = text.contains(':');
  auto parseCount = [&](StringRef s, int64_t &out) {
    if (s.trim().getAsInteger(10, out) || out < 0) {
      error = ("'" + s + "' is not a non-negative integer").str();
      return false;
    }
    return true;
  };
  if (kind == "alternate" && !hasArgument) {
    spec.kind = DropSpec::Alternate;
    return spec;
  }
  if ((kind == "top" || kind == "bottom" || kind == "symmetric") && hasArgument) {
    spec.kind = kind == "top" ? DropSpec::Top : kind == "bottom" ? DropSpec::Bottom : DropSpec::Symmetric;
    if (!parseCount(argument, spec.count))
      return failure();
    return spec;
  }
  if (kind == "list" && hasArgument) {
    spec.kind = DropSpec::List;
    SmallVector<StringRef> items;
    argument.split(items, ',');
    llvm::DenseSet<int64_t> seen;
    for (StringRef item : items) {
      int64_t index;
      if (!parseCount(item, index))
        return failure();
      if (!seen.insert(index).second) {
        error = "layer " + std::to_string(index) + " is listed twice";
        return failure();
      }
      spec.indices.push_back(index);
    }
    return spec;
  }
  error = ("unknown layer selection '" + text + "'; expected top:K, bottom:K, alternate, symmetric:K or list:i,j,...")
              .str();
  return failure();
}

/// If `name` ends in `_<from>`, the same name ending in `_<to>`; else nullopt.
std::optional<std::string> renumberName(StringRef name, int64_t from, int64_t to) {
  std::string suffix = "_" + std::to_string(from);
  if (!name.ends_with(suffix))
    return std::nullopt;
  return (name.drop_back(suffix.size()) + "_" + Twine(to)).str();
}

struct EffDropLayersPass : mlir::eff::impl::EffDropLayersPassBase<EffDropLayersPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    FailureOr<DropSpec> spec = parseSpec(layers, error);
    if (failed(spec)) {
      module.emitError("eff-drop-layers: ") << error;
      return signalPassFailure();
    }
    for (auto func : module.getOps<func::FuncOp>())
      if (failed(dropLayers(func, *spec)))
        return signalPassFailure();
  }

  /// The positions (in index order) of the layers to drop among `n`, or failure after an error.
  FailureOr<llvm::BitVector> select(func::FuncOp func, const DropSpec &spec, ArrayRef<LayerOp> layersInOrder) {
    int64_t n = layersInOrder.size();
    llvm::BitVector drop(n);
    if (spec.kind != DropSpec::Alternate && spec.kind != DropSpec::List && spec.count > n) {
      func.emitError("eff-drop-layers: cannot drop ") << spec.count << " layers, function @" << func.getName()
                                                      << " has " << n;
      return failure();
    }
    switch (spec.kind) {
    case DropSpec::Top:
      drop.set(n - spec.count, n);
      break;
    case DropSpec::Bottom:
      drop.set(0, spec.count);
      break;
    case DropSpec::Symmetric:
      drop.set((n - spec.count) / 2, (n - spec.count) / 2 + spec.count);
      break;
    case DropSpec::Alternate:
      for (int64_t i = 1; i < n; i += 2)
        drop.set(i);
      break;
    case DropSpec::List:
      for (int64_t index : spec.indices) {
        auto it = llvm::find_if(layersInOrder, [&](LayerOp l) { return (int64_t)l.getIndex() == index; });
        if (it == layersInOrder.end()) {
          func.emitError("eff-drop-layers: function @") << func.getName() << " has no layer " << index;
          return failure();
        }
        drop.set(it - layersInOrder.begin());
      }
      break;
    }
    return drop;
  }

  LogicalResult dropLayers(func::FuncOp func, const DropSpec &spec) {
    if (func.isExternal())
      return success();
    SmallVector<LayerOp> layersInOrder(func.getBody().front().getOps<LayerOp>());
    if (layersInOrder.empty())
      return success();
    llvm::sort(layersInOrder, [](LayerOp a, LayerOp b) { return a.getIndex() < b.getIndex(); });
    FailureOr<llvm::BitVector> drop = select(func, spec, layersInOrder);
    if (failed(drop))
      return failure();
    if (drop->none())
      return success();

    SmallVector<LayerOp> dropped, kept;
    for (auto [i, layer] : llvm::enumerate(layersInOrder))
      (drop->test(i) ? dropped : kept).push_back(layer);

    // Check that every dropped layer can be rewired before changing anything. (The layer verifier guarantees
    // the residual stream: a first operand and first result of the same type.)
    for (LayerOp layer : dropped) {
      for (OpResult result : layer.getResults().drop_front())
        for (Operation *user : result.getUsers())
          if (!isa<func::ReturnOp>(user))
            return layer.emitError("eff-drop-layers: result #")
                   << result.getResultNumber() << " of layer " << layer.getIndex() << " is used by '"
                   << user->getName() << "', which cannot be rewired when the layer is dropped";
    }

    // Remove the dropped layers: the residual stream bypasses them, their other results leave the signature.
    Block &entry = func.getBody().front();
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    llvm::BitVector resultsToErase(func.getNumResults());
    SmallVector<std::pair<BlockArgument, unsigned>> candidateArgs; // (argument, operand position)
    for (LayerOp layer : dropped) {
      for (OpResult result : layer.getResults().drop_front())
        for (OpOperand &use : result.getUses())
          resultsToErase.set(use.getOperandNumber());
      for (auto [position, input] : llvm::enumerate(layer.getInputs()))
        if (auto arg = dyn_cast<BlockArgument>(input); arg && arg.getOwner() == &entry && position > 0)
          candidateArgs.push_back({arg, position});
      layer.getResult(0).replaceAllUsesWith(layer.getInputs()[0]);
    }
    ret->eraseOperands(resultsToErase);
    if (failed(func.eraseResults(resultsToErase)))
      return func.emitError("eff-drop-layers: could not update the results of @") << func.getName();
    for (LayerOp layer : dropped)
      layer.erase();

    // Arguments that only fed dropped layers go too; a shape query of one is moved to a kept layer's.
    llvm::BitVector argsToErase(func.getNumArguments());
    for (auto [arg, position] : candidateArgs) {
      if (argsToErase.test(arg.getArgNumber()))
        continue;
      bool onlyShapeQueries = llvm::all_of(arg.getUsers(), [](Operation *u) { return isa<tensor::DimOp>(u); });
      if (!onlyShapeQueries)
        continue; // still used by a kept layer or another op: the argument stays
      if (!arg.use_empty()) {
        BlockArgument replacement;
        for (LayerOp layer : kept)
          if (position < layer.getInputs().size())
            if (auto other = dyn_cast<BlockArgument>(layer.getInputs()[position]);
                other && other.getOwner() == &entry && other.getType() == arg.getType()) {
              replacement = other;
              break;
            }
        if (!replacement)
          return func.emitError("eff-drop-layers: argument #")
                 << arg.getArgNumber() << " of @" << func.getName()
                 << " fed only dropped layers but its shape is still queried, and no kept layer has an "
                    "argument of the same type in the same position to query instead";
        arg.replaceAllUsesWith(replacement);
      }
      argsToErase.set(arg.getArgNumber());
    }

    // Renumber the kept layers and the names of the arguments and results that belong to one of them.
    for (auto entryAndIndex : llvm::enumerate(kept)) {
      LayerOp layer = entryAndIndex.value();
      int64_t newIndex = entryAndIndex.index();
      int64_t oldIndex = layer.getIndex();
      if (oldIndex == newIndex)
        continue;
      layer.setIndex(newIndex);
      for (Value input : layer.getInputs().drop_front()) {
        auto arg = dyn_cast<BlockArgument>(input);
        if (!arg || arg.getOwner() != &entry ||
            !llvm::all_of(arg.getUsers(), [&](Operation *u) { return u == layer || isa<tensor::DimOp>(u); }))
          continue;
        if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "eff.name"))
          if (auto renamed = renumberName(name.getValue(), oldIndex, newIndex))
            func.setArgAttr(arg.getArgNumber(), "eff.name", StringAttr::get(&getContext(), *renamed));
      }
      for (OpResult result : layer.getResults().drop_front())
        for (OpOperand &use : result.getUses())
          if (use.getOwner() == ret.getOperation())
            if (auto name = func.getResultAttrOfType<StringAttr>(use.getOperandNumber(), "eff.name"))
              if (auto renamed = renumberName(name.getValue(), oldIndex, newIndex))
                func.setResultAttr(use.getOperandNumber(), "eff.name", StringAttr::get(&getContext(), *renamed));
    }

    if (failed(func.eraseArguments(argsToErase)))
      return func.emitError("eff-drop-layers: could not update the arguments of @") << func.getName();
    return success();
  }
};

} // namespace
