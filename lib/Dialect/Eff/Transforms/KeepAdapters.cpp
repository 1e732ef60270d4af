//===- KeepAdapters.cpp - adapter weights as entry-point arguments --------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-keep-adapters: the constant weights of the adapter ops (LoRA, (IA)^3, prefix, prompt,
// bottleneck adapters) become named arguments of the entry points, so that one compiled base model runs
// with whichever adapter the caller passes.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSet.h"

#include <map>

namespace mlir::eff {
#define GEN_PASS_DEF_EFFKEEPADAPTERSPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// An adapter weight operand and its role (the name of an inline constant).
struct AdapterOperand {
  OpOperand *operand;
  StringRef role;
};

/// The weight operands of `op` if it is an adapter op, else none.
SmallVector<AdapterOperand> adapterOperands(Operation *op) {
  SmallVector<AdapterOperand> out;
  if (auto lora = dyn_cast<LoraOp>(op)) {
    out = {{&lora.getLoraAMutable(), "lora_a"}, {&lora.getLoraBMutable(), "lora_b"}};
  } else if (auto ia3 = dyn_cast<Ia3Op>(op)) {
    out = {{&ia3.getScaleMutable(), "ia3_scale"}};
  } else if (auto prefix = dyn_cast<PrefixOp>(op)) {
    out = {{&prefix.getPrefixKeyMutable(), "prefix_key"}, {&prefix.getPrefixValueMutable(), "prefix_value"}};
  } else if (auto prompt = dyn_cast<PromptOp>(op)) {
    out = {{&prompt.getPromptMutable(), "prompt"}};
  } else if (auto adapter = dyn_cast<BottleneckAdapterOp>(op)) {
    out.push_back({&adapter.getDownWeightMutable(), "bottleneck_down_weight"});
    if (adapter.getDownBias())
      out.push_back({&adapter.getDownBiasMutable()[0], "bottleneck_down_bias"});
    out.push_back({&adapter.getUpWeightMutable(), "bottleneck_up_weight"});
    if (adapter.getUpBias())
      out.push_back({&adapter.getUpBiasMutable()[0], "bottleneck_up_bias"});
  }
  return out;
}

/// The bytes of a dense_resource constant, or nullopt when its blob is missing.
std::optional<ArrayRef<char>> blobData(DenseResourceElementsAttr attr) {
  if (AsmResourceBlob *blob = attr.getRawHandle().getBlob())
    return blob->getData();
  return std::nullopt;
}

struct EffKeepAdaptersPass : mlir::eff::impl::EffKeepAdaptersPassBase<EffKeepAdaptersPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    collectResources(module);
    // Names of the existing inputs: an adapter argument must not take one.
    for (auto func : module.getOps<func::FuncOp>())
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        if (auto name = func.getArgAttrOfType<StringAttr>(i, "eff.name"))
          takenNames.insert(name.getValue());

    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // The function's adapter weights in order of first use, each with the operands that read it.
      llvm::MapVector<std::string, SmallVector<OpOperand *>, std::map<std::string, unsigned>> weights;
      func.walk([&](Operation *op) {
        for (AdapterOperand adapter : adapterOperands(op))
          if (auto constant = adapter.operand->get().getDefiningOp<arith::ConstantOp>())
            weights[nameOf(constant, adapter.role)].push_back(adapter.operand);
      });
      for (auto &[name, operands] : weights)
        if (failed(addArgument(func, name, operands)))
          return signalPassFailure();
    }
  }

  /// Records every dense_resource constant of the module by key, to undo the keys' uniquing suffixes.
  void collectResources(ModuleOp module) {
    module.walk([&](arith::ConstantOp constant) {
      if (auto attr = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
        resources.try_emplace(attr.getRawHandle().getKey(), attr);
    });
  }

  /// The parameter name of a resource key: `key` minus a `_N` suffix when the unsuffixed key is a blob of
  /// the same type and data (the same parameter, materialised again for another function).
  std::string parameterName(DenseResourceElementsAttr attr) {
    StringRef key = attr.getRawHandle().getKey();
    auto [base, counter] = key.rsplit('_');
    unsigned n;
    if (counter.empty() || counter.getAsInteger(10, n))
      return key.str();
    auto original = resources.find(base);
    if (original == resources.end() || original->second.getType() != attr.getType())
      return key.str();
    std::optional<ArrayRef<char>> a = blobData(original->second), b = blobData(attr);
    return a && b && *a == *b ? base.str() : key.str();
  }

  /// The argument name of the adapter weight `constant` in role `role`: the same for the same weight
  /// everywhere in the module, distinct for distinct weights and from the existing inputs.
  std::string nameOf(arith::ConstantOp constant, StringRef role) {
    std::string identity, preferred;
    if (auto attr = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
      preferred = parameterName(attr);
      identity = "resource:" + preferred;
    } else {
      preferred = role.str();
      identity = "inline:" + role.str() + ":" +
                 std::to_string(reinterpret_cast<uintptr_t>(constant.getValue().getAsOpaquePointer()));
    }
    auto [it, inserted] = names.try_emplace(identity);
    if (!inserted)
      return it->second;
    std::string name = preferred;
    for (int suffix = 1; takenNames.contains(name); ++suffix)
      name = preferred + "." + std::to_string(suffix);
    takenNames.insert(name);
    return it->second = name;
  }

  /// Appends the argument `name` to `func` and makes `operands` read it, through trailing operands of the
  /// enclosing eff.layer ops. Erases the constants left without uses.
  LogicalResult addArgument(func::FuncOp func, StringRef name, ArrayRef<OpOperand *> operands) {
    Value constant = operands.front()->get();
    Type type = constant.getType();
    NamedAttribute nameAttr(StringAttr::get(&getContext(), "eff.name"), StringAttr::get(&getContext(), name));
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(index, type, DictionaryAttr::get(&getContext(), {nameAttr}),
                                   constant.getLoc())))
      return func.emitError("eff-keep-adapters: cannot add the argument '") << name << "'";
    Value argument = func.getArgument(index);
    SetVector<Operation *> constants;
    for (OpOperand *operand : operands) {
      FailureOr<Value> value = reach(argument, operand->getOwner());
      if (failed(value))
        return failure();
      if (Operation *def = operand->get().getDefiningOp())
        constants.insert(def);
      operand->set(*value);
    }
    for (Operation *def : constants)
      if (def->use_empty())
        def->erase();
    return success();
  }

  /// `argument` (of the enclosing function) as seen from `user`: threaded through each eff.layer between
  /// them as a new trailing operand and entry block argument (one per layer and argument).
  FailureOr<Value> reach(Value argument, Operation *user) {
    SmallVector<Operation *> isolated;
    for (Operation *parent = user->getParentOp(); parent && !isa<func::FuncOp>(parent);
         parent = parent->getParentOp())
      if (parent->hasTrait<OpTrait::IsIsolatedFromAbove>())
        isolated.push_back(parent);
    Value value = argument;
    for (Operation *parent : llvm::reverse(isolated)) {
      auto layer = dyn_cast<LayerOp>(parent);
      if (!layer)
        return user->emitError("eff-keep-adapters: cannot pass an adapter weight into '")
               << parent->getName() << "', which is isolated from above";
      Value &inner = threaded[{parent, value}];
      if (!inner) {
        layer.getInputsMutable().append(value);
        inner = layer.getBody().front().addArgument(value.getType(), value.getLoc());
      }
      value = inner;
    }
    return value;
  }

  llvm::StringMap<DenseResourceElementsAttr> resources;
  std::map<std::string, std::string> names;
  llvm::StringSet<> takenNames;
  DenseMap<std::pair<Operation *, Value>, Value> threaded;
};

} // namespace
