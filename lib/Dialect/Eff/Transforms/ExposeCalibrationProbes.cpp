//===- ExposeCalibrationProbes.cpp - calibration tensors as results --------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-expose-calibration-probes and the probe order shared with the compiler's calibration.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/CalibrationProbes.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::eff {
#define GEN_PASS_DEF_EFFEXPOSECALIBRATIONPROBESPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;

namespace effc {

func::FuncOp calibrationEntryPoint(ModuleOp module, llvm::StringRef name) {
  for (auto function : module.getOps<func::FuncOp>())
    if (!function.isExternal() && (name.empty() ? function.isPublic() : function.getName() == name))
      return function;
  return nullptr;
}

SmallVector<CalibrationProbe> collectCalibrationProbes(func::FuncOp function) {
  SmallVector<CalibrationProbe> probes;
  function.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto attention = dyn_cast<eff::AttentionOp>(op))
      probes.push_back({op, attention.getOutput()});
    else if (auto router = dyn_cast<eff::RouterOp>(op))
      probes.push_back({op, router.getIndices()});
    else if (auto linear = dyn_cast<eff::LinearOp>(op))
      probes.push_back({op, linear.getInput()});
    else if (auto ffn = dyn_cast<eff::FfnOp>(op))
      probes.push_back({op, ffn.getInput()});
  });
  return probes;
}

SmallVector<Value> distinctProbeValues(ArrayRef<CalibrationProbe> probes) {
  llvm::SetVector<Value> values;
  for (const CalibrationProbe &probe : probes)
    values.insert(probe.value);
  return values.takeVector();
}

} // namespace effc

namespace {

/// Adds `values` (defined in `layer`'s body) as extra results of `layer`; returns the new layer op.
eff::LayerOp addLayerResults(eff::LayerOp layer, ArrayRef<Value> values) {
  auto yield = cast<eff::YieldOp>(layer.getBody().front().getTerminator());
  yield->insertOperands(yield->getNumOperands(), values);
  SmallVector<Type> types(layer.getResultTypes());
  for (Value value : values)
    types.push_back(value.getType());
  OpBuilder builder(layer);
  auto replacement = eff::LayerOp::create(builder, layer.getLoc(), types, layer.getIndexAttr(), layer.getInputs());
  replacement->setAttrs(layer->getAttrs());
  replacement.getBody().takeBody(layer.getBody());
  for (auto [oldResult, newResult] : llvm::zip(layer.getResults(), replacement.getResults()))
    oldResult.replaceAllUsesWith(newResult);
  layer.erase();
  return replacement;
}

struct EffExposeCalibrationProbesPass
    : mlir::eff::impl::EffExposeCalibrationProbesPassBase<EffExposeCalibrationProbesPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp entry = effc::calibrationEntryPoint(getOperation(), function);
    if (!entry) {
      getOperation().emitError("no function to instrument for calibration")
          << (function.empty() ? std::string(" (no public function with a body)") : " named '" + function + "'");
      return signalPassFailure();
    }
    SmallVector<Value> values = effc::distinctProbeValues(effc::collectCalibrationProbes(entry));

    // Values inside layers leave them as extra layer results, grouped per layer.
    llvm::MapVector<Operation *, SmallVector<Value>> perLayer;
    for (Value value : values)
      if (auto layer = dyn_cast<eff::LayerOp>(value.getParentBlock()->getParentOp()))
        perLayer[layer].push_back(value);
    llvm::DenseMap<Value, Value> outside;
    for (auto &[layerOp, inner] : perLayer) {
      auto layer = cast<eff::LayerOp>(layerOp);
      unsigned first = layer.getNumResults();
      eff::LayerOp replacement = addLayerResults(layer, inner);
      for (auto [index, value] : llvm::enumerate(inner))
        outside[value] = replacement.getResult(first + index);
    }

    auto returnOp = cast<func::ReturnOp>(entry.getBody().front().getTerminator());
    unsigned first = returnOp.getNumOperands();
    for (Value value : values)
      returnOp->insertOperands(returnOp.getNumOperands(), outside.lookup(value) ? outside.lookup(value) : value);
    entry.setType(FunctionType::get(&getContext(), entry.getArgumentTypes(), returnOp.getOperandTypes()));
    for (unsigned k = 0; k < values.size(); ++k)
      entry.setResultAttr(first + k, "eff.name",
                          StringAttr::get(&getContext(), "calibration_probe_" + std::to_string(k)));
  }
};

} // namespace
