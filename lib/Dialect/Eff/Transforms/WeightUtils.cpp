//===- WeightUtils.cpp - read, slice and rebuild constant weights ----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "WeightUtils.h"

#include "effc/Dialect/Eff/IR/EffOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>

using namespace mlir;
using namespace mlir::eff;

namespace {

/// Decodes `count` elements of float type `type` from little-endian bytes.
std::vector<double> decode(FloatType type, ArrayRef<char> bytes, int64_t count) {
  std::vector<double> out(count);
  unsigned width = type.getWidth();
  if (type.isF32()) {
    for (int64_t i = 0; i < count; ++i) {
      float f;
      std::memcpy(&f, bytes.data() + 4 * i, 4);
      out[i] = f;
    }
    return out;
  }
  for (int64_t i = 0; i < count; ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, bytes.data() + (width / 8) * i, width / 8);
    out[i] = APFloat(type.getFloatSemantics(), APInt(width, bits)).convertToDouble();
  }
  return out;
}

/// Encodes doubles as little-endian elements of float type `type` (round to nearest even).
std::vector<char> encode(FloatType type, ArrayRef<double> values) {
  unsigned bytes = type.getWidth() / 8;
  std::vector<char> out(values.size() * bytes);
  for (size_t i = 0; i < values.size(); ++i) {
    if (type.isF32()) {
      float f = static_cast<float>(values[i]);
      std::memcpy(out.data() + 4 * i, &f, 4);
      continue;
    }
    APFloat value(values[i]);
    bool lost;
    value.convert(type.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    uint64_t bits = value.bitcastToAPInt().getZExtValue();
    std::memcpy(out.data() + bytes * i, &bits, bytes);
  }
  return out;
}

} // namespace

std::optional<Weight> mlir::eff::readWeight(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!constant || !type || !type.hasStaticShape())
    return std::nullopt;
  auto element = dyn_cast<FloatType>(type.getElementType());
  if (!element || element.getWidth() % 8 != 0)
    return std::nullopt;
  Weight weight;
  weight.type = type;
  if (auto dense = dyn_cast<DenseFPElementsAttr>(constant.getValue())) {
    weight.values.reserve(type.getNumElements());
    for (const APFloat &v : dense.getValues<APFloat>())
      weight.values.push_back(v.convertToDouble());
    return weight;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != static_cast<size_t>(type.getNumElements()) * (element.getWidth() / 8))
      return std::nullopt;
    weight.values = decode(element, blob->getData(), type.getNumElements());
    weight.resourceKey = resource.getRawHandle().getKey().str();
    return weight;
  }
  return std::nullopt;
}

Weight mlir::eff::gatherWeight(const Weight &weight, int axis, ArrayRef<int64_t> keep) {
  ArrayRef<int64_t> shape = weight.type.getShape();
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  SmallVector<int64_t> newShape(shape);
  newShape[axis] = keep.size();
  Weight out;
  out.type = weight.type.clone(newShape);
  out.resourceKey = weight.resourceKey;
  out.values.reserve(outer * keep.size() * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : keep) {
      auto begin = weight.values.begin() + (o * shape[axis] + k) * inner;
      out.values.insert(out.values.end(), begin, begin + inner);
    }
  return out;
}

Value mlir::eff::createWeight(OpBuilder &builder, Location loc, const Weight &weight, StringRef suffix) {
  auto element = cast<FloatType>(weight.type.getElementType());
  std::vector<char> bytes = encode(element, weight.values);
  Attribute value;
  if (!weight.resourceKey.empty()) {
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, /*align=*/64);
    value = DenseResourceElementsAttr::get(weight.type, weight.resourceKey + suffix.str(), std::move(blob));
  } else {
    value = DenseElementsAttr::getFromRawBuffer(weight.type, bytes);
  }
  return arith::ConstantOp::create(builder, loc, weight.type, cast<TypedAttr>(value));
}

void mlir::eff::replaceWeight(OpOperand &operand, const Weight &weight, StringRef suffix) {
  Operation *owner = operand.getOwner();
  Operation *old = operand.get().getDefiningOp();
  OpBuilder builder(owner);
  operand.set(createWeight(builder, old ? old->getLoc() : owner->getLoc(), weight, suffix));
  if (old && old->use_empty())
    old->erase();
}

std::vector<double> mlir::eff::squaredNormsAlong(const Weight &weight, int axis) {
  ArrayRef<int64_t> shape = weight.type.getShape();
  int64_t inner = 1;
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  std::vector<double> norms(shape[axis], 0.0);
  for (size_t i = 0; i < weight.values.size(); ++i) {
    double v = weight.values[i];
    norms[(i / inner) % shape[axis]] += v * v;
  }
  return norms;
}

SmallVector<int64_t> mlir::eff::keepStrongest(ArrayRef<double> scores, int64_t remove) {
  SmallVector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  // Weakest first; among equal scores the higher index goes first, so the earlier slice is kept.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return scores[a] < scores[b] || (scores[a] == scores[b] && a > b);
  });
  SmallVector<int64_t> keep(order.begin() + remove, order.end());
  llvm::sort(keep);
  return keep;
}

int64_t mlir::eff::pruneCount(double fraction, int64_t count, int64_t keepAtLeast) {
  int64_t remove = static_cast<int64_t>(std::llround(fraction * static_cast<double>(count)));
  return std::clamp<int64_t>(remove, 0, std::max<int64_t>(0, count - keepAtLeast));
}

void mlir::eff::setLastDim(Value value, int64_t size) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = size;
  value.setType(type.clone(shape));
}

std::optional<std::vector<double>> mlir::eff::readCalibrationArray(Operation *op, StringRef name) {
  Attribute attr = op->getAttr(name);
  if (auto f32 = dyn_cast_or_null<DenseF32ArrayAttr>(attr))
    return std::vector<double>(f32.asArrayRef().begin(), f32.asArrayRef().end());
  if (auto i64 = dyn_cast_or_null<DenseI64ArrayAttr>(attr))
    return std::vector<double>(i64.asArrayRef().begin(), i64.asArrayRef().end());
  return std::nullopt;
}

void mlir::eff::sliceCalibrationArray(Operation *op, StringRef name, ArrayRef<int64_t> keep) {
  Attribute attr = op->getAttr(name);
  auto inRange = [&](size_t size) { return llvm::all_of(keep, [&](int64_t k) { return k >= 0 && size_t(k) < size; }); };
  if (auto f32 = dyn_cast_or_null<DenseF32ArrayAttr>(attr); f32 && inRange(f32.size())) {
    SmallVector<float> kept;
    for (int64_t k : keep)
      kept.push_back(f32[k]);
    op->setAttr(name, DenseF32ArrayAttr::get(op->getContext(), kept));
  } else if (auto i64 = dyn_cast_or_null<DenseI64ArrayAttr>(attr); i64 && inRange(i64.size())) {
    SmallVector<int64_t> kept;
    for (int64_t k : keep)
      kept.push_back(i64[k]);
    op->setAttr(name, DenseI64ArrayAttr::get(op->getContext(), kept));
  }
}

void mlir::eff::shareCalibrationAcrossFunctions(Operation *module, StringRef opName, StringRef name) {
  // (layer index, position among the layer's `opName` ops) -> statistic.
  std::map<std::pair<int64_t, int64_t>, Attribute> measured;
  SmallVector<std::pair<Operation *, std::pair<int64_t, int64_t>>> missing;
  module->walk([&](LayerOp layer) {
    int64_t position = 0;
    layer->walk([&](Operation *op) {
      if (op->getName().getStringRef() != opName)
        return;
      std::pair<int64_t, int64_t> place{static_cast<int64_t>(layer.getIndex()), position++};
      if (Attribute attr = op->getAttr(name))
        measured.emplace(place, attr);
      else
        missing.push_back({op, place});
    });
  });
  for (auto &[op, place] : missing)
    if (auto it = measured.find(place); it != measured.end())
      op->setAttr(name, it->second);
}

void mlir::eff::refreshFunctionType(Operation *op) {
  auto func = dyn_cast<func::FuncOp>(op);
  if (!func || func.isExternal())
    return;
  SmallVector<Type> results;
  func.walk([&](func::ReturnOp ret) { results.assign(ret.getOperandTypes().begin(), ret.getOperandTypes().end()); });
  func.setType(FunctionType::get(func.getContext(), func.getBody().getArgumentTypes(), results));
}
