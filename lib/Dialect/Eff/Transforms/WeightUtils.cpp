//===- WeightUtils.cpp - read, slice and rebuild constant weights ----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "WeightUtils.h"

#include "effc/Support/Npz.h"
#include "effc/Support/Safetensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

#include <algorithm>
#include <cstring>
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

llvm::Expected<CalibrationData> CalibrationData::load(StringRef path) {
  CalibrationData data;
  data.filePath = path.str();
  if (path.ends_with(".safetensors")) {
    auto file = effc::SafetensorsFile::open(path);
    if (!file)
      return file.takeError();
    for (const std::string &name : (*file)->names()) {
      const effc::SafetensorsTensor *tensor = (*file)->lookup(name);
      int64_t count = 1;
      for (int64_t d : tensor->shape)
        count *= d;
      std::vector<double> values(count);
      StringRef dtype = tensor->dtype;
      for (int64_t i = 0; i < count; ++i) {
        const char *p = tensor->data.data() + i * effc::SafetensorsFile::elementSize(dtype);
        if (dtype == "F32") {
          float f;
          std::memcpy(&f, p, 4);
          values[i] = f;
        } else if (dtype == "F64") {
          std::memcpy(&values[i], p, 8);
        } else if (dtype == "I64") {
          int64_t v;
          std::memcpy(&v, p, 8);
          values[i] = static_cast<double>(v);
        } else if (dtype == "I32") {
          int32_t v;
          std::memcpy(&v, p, 4);
          values[i] = v;
        } else {
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         path + ": tensor '" + name + "' has dtype " + dtype +
                                             "; calibration arrays must be F32, F64, I64 or I32");
        }
      }
      data.arrays[name] = std::move(values);
    }
    return data;
  }
  auto file = effc::NpzFile::open(path);
  if (!file)
    return file.takeError();
  for (const std::string &name : (*file)->names()) {
    auto values = (*file)->lookup(name)->toDoubles();
    if (!values)
      return llvm::createStringError(llvm::inconvertibleErrorCode(), path + ": array '" + name +
                                                                         "': " + llvm::toString(values.takeError()));
    data.arrays[name] = std::move(*values);
  }
  return data;
}

const std::vector<double> *CalibrationData::lookup(StringRef name) const {
  auto it = arrays.find(name);
  return it == arrays.end() ? nullptr : &it->second;
}

void mlir::eff::refreshFunctionType(Operation *op) {
  auto func = dyn_cast<func::FuncOp>(op);
  if (!func || func.isExternal())
    return;
  SmallVector<Type> results;
  func.walk([&](func::ReturnOp ret) { results.assign(ret.getOperandTypes().begin(), ret.getOperandTypes().end()); });
  func.setType(FunctionType::get(func.getContext(), func.getBody().getArgumentTypes(), results));
}
