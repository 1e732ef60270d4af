//===- PackQkv.cpp - one GEMM for the query, key and value projections -----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-pack-qkv: the q, k and v projections of an eff.attention that read the same input become one
// linear layer over their weights concatenated along the output features (one GEMM that streams the input
// once, with N = Nq + Nk + Nv instead of three narrower ones), whose result is sliced back into q, k and v.
// f32 weights and N:M sparse values and indices concatenate row by row; the packed layouts of
// eff.quantized_linear are 16-row blocks, so their operands concatenate as flat byte strings when every layer
// but the last fills whole blocks.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::eff {
#define GEN_PASS_DEF_EFFPACKQKVPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// Rows of the packed quantized layouts.
constexpr int64_t kQuantizedBlockRows = 16;

/// The bytes of a compile-time constant (a splat expanded), and the name a derived constant is given.
struct ConstantBytes {
  std::vector<char> data;
  std::string name;
};

std::optional<ConstantBytes> readConstantBytes(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!constant || !type || !type.hasStaticShape() || !type.getElementType().isIntOrFloat() ||
      type.getElementTypeBitWidth() % 8 != 0)
    return std::nullopt;
  size_t size = static_cast<size_t>(type.getNumElements()) * (type.getElementTypeBitWidth() / 8);
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != size)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    return ConstantBytes{std::vector<char>(data.begin(), data.end()), resource.getRawHandle().getKey().str()};
  }
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense)
    return std::nullopt;
  ArrayRef<char> raw = dense.getRawData();
  ConstantBytes bytes{{}, "weight"};
  if (dense.isSplat()) {
    bytes.data.reserve(size);
    for (int64_t i = 0; i < type.getNumElements(); ++i)
      bytes.data.insert(bytes.data.end(), raw.begin(), raw.end());
  } else {
    bytes.data.assign(raw.begin(), raw.end());
  }
  if (bytes.data.size() != size)
    return std::nullopt;
  return bytes;
}

/// "query", "key" or "value".
constexpr StringLiteral kRoles[] = {"query", "key", "value"};

/// The linear layer that computes an attention operand, looking through eff.rotary; null with `why` set.
Operation *findProjection(Value value, StringRef role, std::string &why) {
  while (auto rotary = value.getDefiningOp<RotaryOp>())
    value = rotary.getInput();
  Operation *def = value.getDefiningOp();
  if (isa_and_present<LinearOp, QuantizedLinearOp>(def))
    return def;
  if (auto sparse = dyn_cast_if_present<SparseLinearOp>(def)) {
    if (sparse.getFormat() == SparseFormat::nm)
      return def;
    why = ("the " + role + " projection is sparse in CSR, whose row pointers are not packed").str();
    return nullptr;
  }
  if (isa_and_present<LoraOp>(def))
    why = ("the " + role + " projection has a LoRA adapter (eff.lora)").str();
  else if (isa_and_present<Ia3Op>(def))
    why = ("the " + role + " projection has an (IA)^3 scale (eff.ia3)").str();
  else if (def)
    why = ("the " + role + " is not a linear layer's output but " + def->getName().getStringRef() + "'s").str();
  else
    why = ("the " + role + " is an argument, not a projection computed here").str();
  return nullptr;
}

/// Whether `projections` (two or three distinct layers of one input) can become one layer; `why` if not.
bool canPack(ArrayRef<Operation *> projections, std::string &why) {
  Operation *first = projections.front();
  for (Operation *op : projections.drop_front()) {
    if (op->getName() != first->getName()) {
      why = ("the projections are different ops (" + first->getName().getStringRef() + " and " +
             op->getName().getStringRef() + ")")
                .str();
      return false;
    }
    if (op->getBlock() != first->getBlock()) {
      why = "the projections are in different blocks";
      return false;
    }
  }
  auto constantOperands = [&](Operation *op) {
    for (Value operand : op->getOperands().drop_front())
      if (!readConstantBytes(operand))
        return false;
    return true;
  };
  if (!llvm::all_of(projections, constantOperands)) {
    why = "a projection's weights are not compile-time constants";
    return false;
  }
  if (auto linear = dyn_cast<LinearOp>(first)) {
    Type weightType = linear.getWeight().getType().getElementType();
    Type biasType = weightType;
    for (Operation *op : projections) {
      auto other = cast<LinearOp>(op);
      if (other.getWeight().getType().getElementType() != weightType ||
          other.getResult().getType().getElementType() != linear.getResult().getType().getElementType()) {
        why = "the projections' weights have different element types";
        return false;
      }
      if (Value bias = other.getBias())
        biasType = cast<RankedTensorType>(bias.getType()).getElementType();
    }
    for (Operation *op : projections) {
      Value bias = cast<LinearOp>(op).getBias();
      if (bias && cast<RankedTensorType>(bias.getType()).getElementType() != biasType) {
        why = "the projections' biases have different element types";
        return false;
      }
    }
    return true;
  }
  if (auto sparse = dyn_cast<SparseLinearOp>(first)) {
    for (Operation *op : projections) {
      auto other = cast<SparseLinearOp>(op);
      if (other.getInFeatures() != sparse.getInFeatures() || other.getN() != sparse.getN() ||
          other.getM() != sparse.getM()) {
        why = "the projections are sparse with different N:M patterns";
        return false;
      }
      if (other.getValues().getType().getElementType() != sparse.getValues().getType().getElementType()) {
        why = "the projections are sparse with different value types (f32 and int8)";
        return false;
      }
    }
    return true;
  }
  auto quantized = cast<QuantizedLinearOp>(first);
  for (Operation *op : projections) {
    auto other = cast<QuantizedLinearOp>(op);
    if (other.getScheme() != quantized.getScheme() || other.getInFeatures() != quantized.getInFeatures() ||
        other.getGroupSize() != quantized.getGroupSize() || other.getBits() != quantized.getBits() ||
        other.getInputScale() != quantized.getInputScale() ||
        other.getInputZeroPoint() != quantized.getInputZeroPoint() ||
        static_cast<bool>(other.getScales()) != static_cast<bool>(quantized.getScales()) ||
        static_cast<bool>(other.getZeroPoints()) != static_cast<bool>(quantized.getZeroPoints()) ||
        static_cast<bool>(other.getColumnSums()) != static_cast<bool>(quantized.getColumnSums())) {
      why = "the projections are quantized differently (scheme, group, bits, zero points or static activation "
            "scale)";
      return false;
    }
  }
  for (Operation *op : projections.drop_back())
    if (cast<QuantizedLinearOp>(op).getOutFeatures() % kQuantizedBlockRows != 0) {
      why = "a quantized projection's out_features is not a multiple of 16, so the packed 16-row blocks do not "
            "concatenate";
      return false;
    }
  return true;
}

/// A constant holding `bytes` as a dense_resource blob of `type`.
Value createConstant(OpBuilder &builder, Location loc, RankedTensorType type, ArrayRef<char> bytes,
                     StringRef name) {
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, /*align=*/64);
  auto attr = DenseResourceElementsAttr::get(type, name, std::move(blob));
  return arith::ConstantOp::create(builder, loc, type, attr);
}

/// Concatenates the operand `operandOf` picks from each of `projections` (a weight or side tensor; an absent
/// one, a bias that only some layers have, contributes `zeroBytesIfAbsent` zero bytes) into one constant.
Value concatenateOperand(OpBuilder &builder, Location loc, ArrayRef<Operation *> projections,
                         llvm::function_ref<Value(Operation *)> operandOf, RankedTensorType type,
                         llvm::function_ref<int64_t(Operation *)> zeroBytesIfAbsent) {
  std::vector<char> bytes;
  std::string name;
  for (Operation *op : projections) {
    Value operand = operandOf(op);
    if (!operand) {
      bytes.insert(bytes.end(), zeroBytesIfAbsent(op), 0);
      continue;
    }
    std::optional<ConstantBytes> part = readConstantBytes(operand);
    if (name.empty())
      name = part->name;
    bytes.insert(bytes.end(), part->data.begin(), part->data.end());
  }
  return createConstant(builder, loc, type, bytes, name + ".qkv");
}

/// Replaces `projections` by one layer over their concatenated weights and slices of its result.
void pack(ArrayRef<Operation *> projections) {
  Operation *first = projections.front();
  for (Operation *op : projections)
    if (op->isBeforeInBlock(first))
      first = op;
  OpBuilder builder(first);
  Location loc = builder.getFusedLoc(llvm::map_to_vector(projections, [](Operation *op) { return op->getLoc(); }));
  Value input = first->getOperand(0);
  SmallVector<int64_t> widths;
  int64_t total = 0;
  for (Operation *op : projections) {
    widths.push_back(cast<RankedTensorType>(op->getResult(0).getType()).getShape().back());
    total += widths.back();
  }
  auto resultType = cast<RankedTensorType>(first->getResult(0).getType());
  SmallVector<int64_t> packedShape(resultType.getShape());
  packedShape.back() = total;
  auto packedType = resultType.clone(packedShape);
  auto flat = [&](Type element, int64_t length) { return RankedTensorType::get({length}, element); };
  auto lengthOf = [](Value value) { return cast<RankedTensorType>(value.getType()).getNumElements(); };
  auto elementOf = [](Value value) { return cast<RankedTensorType>(value.getType()).getElementType(); };
  auto noBytes = [](Operation *) -> int64_t { return 0; };

  Value packed;
  if (auto linear = dyn_cast<LinearOp>(projections.front())) {
    RankedTensorType weightType = linear.getWeight().getType();
    Value weight = concatenateOperand(
        builder, loc, projections, [](Operation *op) { return cast<LinearOp>(op).getWeight(); },
        RankedTensorType::get({total, weightType.getDimSize(1)}, weightType.getElementType()), noBytes);
    Value bias;
    auto withBias = llvm::find_if(projections, [](Operation *op) { return cast<LinearOp>(op).getBias(); });
    if (withBias != projections.end()) {
      Type biasElement = elementOf(cast<LinearOp>(*withBias).getBias());
      bias = concatenateOperand(
          builder, loc, projections, [](Operation *op) { return cast<LinearOp>(op).getBias(); },
          flat(biasElement, total), [&](Operation *op) {
            return cast<RankedTensorType>(op->getResult(0).getType()).getShape().back() *
                   (biasElement.getIntOrFloatBitWidth() / 8);
          });
    }
    packed = LinearOp::create(builder, loc, packedType, input, weight, bias);
  } else if (auto sparse = dyn_cast<SparseLinearOp>(projections.front())) {
    // N:M values and indices are [N, K·n/m], row-major: the rows concatenate.
    auto rowsOf = [&](Value (*get)(SparseLinearOp)) {
      auto type = cast<RankedTensorType>(get(sparse).getType());
      return concatenateOperand(
          builder, loc, projections, [&](Operation *op) { return get(cast<SparseLinearOp>(op)); },
          RankedTensorType::get({total, type.getDimSize(1)}, type.getElementType()), noBytes);
    };
    Value values = rowsOf([](SparseLinearOp op) -> Value { return op.getValues(); });
    Value indices = rowsOf([](SparseLinearOp op) -> Value { return op.getIndices(); });
    Value bias;
    if (llvm::any_of(projections, [](Operation *op) { return cast<SparseLinearOp>(op).getBias(); }))
      bias = concatenateOperand(
          builder, loc, projections, [](Operation *op) -> Value { return cast<SparseLinearOp>(op).getBias(); },
          flat(builder.getF32Type(), total),
          [](Operation *op) { return cast<SparseLinearOp>(op).getOutFeatures() * int64_t(sizeof(float)); });
    // int8 layers: their per-row scales concatenate like the biases.
    Value scales;
    if (sparse.getScales())
      scales = concatenateOperand(
          builder, loc, projections, [](Operation *op) -> Value { return cast<SparseLinearOp>(op).getScales(); },
          flat(builder.getF32Type(), total),
          [](Operation *op) { return cast<SparseLinearOp>(op).getOutFeatures() * int64_t(sizeof(float)); });
    packed = SparseLinearOp::create(builder, loc, packedType, input, values, indices, /*row_ptr=*/Value(), bias,
                                    scales, SparseFormat::nm, sparse.getInFeatures(), total, sparse.getNAttr(),
                                    sparse.getMAttr());
  } else {
    auto quantized = cast<QuantizedLinearOp>(projections.front());
    // Every operand of a layer but the last is whole 16-row blocks, so the flat operands just concatenate.
    using Getter = Value (*)(QuantizedLinearOp);
    auto concatenate = [&](Getter get) -> Value {
      auto present = llvm::find_if(projections, [&](Operation *op) { return get(cast<QuantizedLinearOp>(op)); });
      if (present == projections.end())
        return Value();
      Type element = elementOf(get(cast<QuantizedLinearOp>(*present)));
      int64_t length = 0;
      for (Operation *op : projections) {
        auto layer = cast<QuantizedLinearOp>(op);
        length += get(layer) ? lengthOf(get(layer)) : layer.getOutFeatures();
      }
      // Only the bias may be absent on some layers (canPack checked the rest): zeros there.
      return concatenateOperand(
          builder, loc, projections, [&](Operation *op) { return get(cast<QuantizedLinearOp>(op)); },
          flat(element, length), [&](Operation *op) {
            return cast<QuantizedLinearOp>(op).getOutFeatures() * (element.getIntOrFloatBitWidth() / 8);
          });
    };
    Value packedWeight = concatenate([](QuantizedLinearOp op) -> Value { return op.getPacked(); });
    Value scales = concatenate([](QuantizedLinearOp op) -> Value { return op.getScales(); });
    Value zeroPoints = concatenate([](QuantizedLinearOp op) -> Value { return op.getZeroPoints(); });
    Value columnSums = concatenate([](QuantizedLinearOp op) -> Value { return op.getColumnSums(); });
    Value bias = concatenate([](QuantizedLinearOp op) -> Value { return op.getBias(); });
    packed = QuantizedLinearOp::create(builder, loc, packedType, input, packedWeight, scales, zeroPoints,
                                       columnSums, bias, quantized.getSchemeAttr(),
                                       builder.getI64IntegerAttr(quantized.getInFeatures()),
                                       builder.getI64IntegerAttr(total), quantized.getGroupSizeAttr(),
                                       quantized.getBitsAttr(), quantized.getInputScaleAttr(),
                                       quantized.getInputZeroPointAttr());
  }

  // q, k and v as slices of the last dimension, after the packed layer (the first projection goes).
  builder.setInsertionPointAfter(packed.getDefiningOp());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(builder, loc, packed);
  SmallVector<OpFoldResult> offsets(sizes.size(), builder.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(sizes.size(), builder.getIndexAttr(1));
  int64_t offset = 0;
  SmallVector<Value> slices;
  for (auto [op, width] : llvm::zip_equal(projections, widths)) {
    offsets.back() = builder.getIndexAttr(offset);
    sizes.back() = builder.getIndexAttr(width);
    slices.push_back(tensor::ExtractSliceOp::create(builder, op->getLoc(),
                                                    cast<RankedTensorType>(op->getResult(0).getType()), packed,
                                                    offsets, sizes, strides));
    offset += width;
  }
  // The insertion point is an iterator at the first projection: erase only once every slice exists.
  llvm::SetVector<Operation *> deadConstants;
  for (auto [op, slice] : llvm::zip_equal(projections, slices)) {
    op->getResult(0).replaceAllUsesWith(slice);
    for (Value operand : op->getOperands().drop_front())
      if (Operation *def = operand.getDefiningOp())
        deadConstants.insert(def);
    op->erase();
  }
  for (Operation *constant : deadConstants)
    if (constant->use_empty())
      constant->erase();
}

struct EffPackQkvPass : mlir::eff::impl::EffPackQkvPassBase<EffPackQkvPass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> attentions;
    getOperation()->walk([&](AttentionOp op) { attentions.push_back(op); });
    for (AttentionOp attention : attentions) {
      // Not a candidate (no remark) unless q, k and v are all computed here, as the fusion report expects.
      auto computed = [](Value value) {
        while (auto rotary = value.getDefiningOp<RotaryOp>())
          value = rotary.getInput();
        return value.getDefiningOp() != nullptr;
      };
      if (!computed(attention.getQuery()) || !computed(attention.getKey()) || !computed(attention.getValue()))
        continue;
      std::string detail;
      bool fired = packAttention(attention, detail);
      ++(fired ? numPacked : numLeft);
      effc::recordFusion(attention.getLoc(), effc::fusion::kQkvProjection, fired, detail);
    }
  }

  /// Packs what `attention`'s projections allow; says what happened in `detail`.
  static bool packAttention(AttentionOp attention, std::string &detail) {
    Value operands[] = {attention.getQuery(), attention.getKey(), attention.getValue()};
    Operation *projections[3];
    for (int i = 0; i < 3; ++i)
      if (!(projections[i] = findProjection(operands[i], kRoles[i], detail)))
        return false;
    if (projections[1] == projections[2] || projections[0] == projections[1] || projections[0] == projections[2]) {
      detail = "two of the query, key and value are the same projection";
      return false;
    }
    auto inputOf = [](Operation *op) { return op->getOperand(0); };
    if (inputOf(projections[1]) != inputOf(projections[2])) {
      detail = "the key and value projections read different inputs";
      return false;
    }
    bool crossAttention = inputOf(projections[0]) != inputOf(projections[1]);
    ArrayRef<Operation *> packed = crossAttention ? ArrayRef(projections).drop_front() : ArrayRef(projections);
    if (!canPack(packed, detail))
      return false;
    auto describe = [&] {
      int64_t rows = 0, k = 0;
      for (Operation *op : packed) {
        auto type = cast<RankedTensorType>(op->getResult(0).getType());
        rows += type.getShape().back();
        k = cast<RankedTensorType>(op->getOperand(0).getType()).getShape().back();
      }
      std::string shape = ShapedType::isDynamic(k) ? "?" : std::to_string(k);
      return std::string(crossAttention ? "key and value" : "query, key and value") + " as one " +
             packed.front()->getName().getStringRef().str() + " over the concatenated [" + std::to_string(rows) +
             ", " + shape + "] weight, sliced" +
             (crossAttention ? " (the query reads another input: cross-attention)" : "");
    };
    detail = describe();
    pack(packed);
    return true;
  }
};

} // namespace
