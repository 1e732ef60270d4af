//===- PackWeights.cpp - fold layout changes of constant weights -----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-pack-weights: a linalg.transpose of a constant (a matrix, or a stack of them such as the
// [E, N, K] weights of eff.experts) becomes a constant holding the permuted bytes, so weights are stored in
// the layout the kernels stream.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cstring>

namespace effc {
#define GEN_PASS_DEF_EFFCPACKWEIGHTSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// The bytes of a constant's elements and a name for derived constants, if they are readable.
struct ConstantBytes {
  ArrayRef<char> data;
  std::string name;
};

std::optional<ConstantBytes> getConstantBytes(Attribute value) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    return ConstantBytes{blob->getData(), resource.getRawHandle().getKey().str()};
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && !dense.isSplat())
    return ConstantBytes{dense.getRawData(), "weight"};
  return std::nullopt;
}

/// Transposes a row-major `rows x cols` matrix of `T` in square blocks, so that the rows read and the rows
/// written both stay in cache (an element-by-element column walk took 11 s for BERT-base's weights).
template <typename T>
void transposeBlocked(const char *source, char *destination, int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock)
      for (int64_t r = r0, rEnd = std::min(rows, r0 + kBlock); r < rEnd; ++r)
        for (int64_t c = c0, cEnd = std::min(cols, c0 + kBlock); c < cEnd; ++c)
          std::memcpy(destination + (c * rows + r) * sizeof(T), source + (r * cols + c) * sizeof(T), sizeof(T));
}

/// Whether `permutation` keeps the leading dimensions and swaps the last two (a stack of matrix transposes;
/// [1, 0] for a matrix).
bool isBatchedMatrixTranspose(ArrayRef<int64_t> permutation) {
  int64_t rank = permutation.size();
  if (rank < 2 || permutation[rank - 2] != rank - 1 || permutation[rank - 1] != rank - 2)
    return false;
  for (int64_t i = 0; i < rank - 2; ++i)
    if (permutation[i] != i)
      return false;
  return true;
}

/// Writes the row-major array `source` of `shape`, permuted (result dimension i is source dimension
/// `permutation[i]`, as linalg.transpose defines it), to `destination`.
void permuteElements(const char *source, char *destination, ArrayRef<int64_t> shape, ArrayRef<int64_t> permutation,
                     size_t elementBytes) {
  int64_t rank = shape.size();
  int64_t numElements = 1;
  for (int64_t size : shape)
    numElements *= size;
  if (numElements == 0)
    return;
  // The last dimension stays last (the [K, N/P, P] -> [N/P, K, P] column panels): rows of it move as one
  // element each.
  if (rank >= 2 && permutation.back() == rank - 1) {
    permuteElements(source, destination, shape.drop_back(), permutation.drop_back(), elementBytes * shape.back());
    return;
  }
  if (isBatchedMatrixTranspose(permutation)) {
    int64_t rows = shape[rank - 2], cols = shape[rank - 1];
    int64_t matrixBytes = rows * cols * static_cast<int64_t>(elementBytes);
    for (int64_t offset = 0, end = numElements * elementBytes; offset < end; offset += matrixBytes) {
      const char *from = source + offset;
      char *to = destination + offset;
      switch (elementBytes) {
      case 1:
        transposeBlocked<uint8_t>(from, to, rows, cols);
        break;
      case 2:
        transposeBlocked<uint16_t>(from, to, rows, cols);
        break;
      case 4:
        transposeBlocked<uint32_t>(from, to, rows, cols);
        break;
      case 8:
        transposeBlocked<uint64_t>(from, to, rows, cols);
        break;
      default:
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c)
            std::memcpy(to + (c * rows + r) * elementBytes, from + (r * cols + c) * elementBytes, elementBytes);
      }
    }
    return;
  }
  // Any other permutation: walk the result in order, stepping through the source with permuted strides.
  SmallVector<int64_t> sourceStrides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i)
    sourceStrides[i] = sourceStrides[i + 1] * shape[i + 1];
  SmallVector<int64_t> resultShape, strides;
  for (int64_t dim : permutation) {
    resultShape.push_back(shape[dim]);
    strides.push_back(sourceStrides[dim]);
  }
  SmallVector<int64_t> index(rank, 0);
  int64_t from = 0;
  for (int64_t to = 0; to < numElements; ++to) {
    std::memcpy(destination + to * elementBytes, source + from * elementBytes, elementBytes);
    for (int64_t i = rank - 1; i >= 0; --i) { // the next result index, odometer-style
      from += strides[i];
      if (++index[i] < resultShape[i])
        break;
      from -= strides[i] * resultShape[i];
      index[i] = 0;
    }
  }
}

struct FoldConstantTranspose : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::TransposeOp op, PatternRewriter &rewriter) const override {
    auto inputType = dyn_cast<RankedTensorType>(op.getInput().getType());
    if (!inputType || !op.hasPureTensorSemantics() || !inputType.hasStaticShape())
      return failure();
    Attribute value;
    if (!matchPattern(op.getInput(), m_Constant(&value))) {
      // A matrix transpose of a non-constant is reported (a linear layer's weight that stays a run-time
      // transpose); other permutations of run-time values are activation layouts, not weights.
      if (op.getPermutation() != ArrayRef<int64_t>{1, 0})
        return failure();
      return notPacked(op, "the matrix is not a compile-time constant: it is transposed at run time");
    }
    auto resultType = cast<RankedTensorType>(op.getResult()[0].getType());
    if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat()) {
      Location loc = op.getLoc(); // op is erased by the replacement
      std::string layout = layoutOf(op);
      rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType, dense.resizeSplat(resultType));
      return packed(loc, layout);
    }
    std::optional<ConstantBytes> bytes = getConstantBytes(value);
    unsigned bits = inputType.getElementTypeBitWidth();
    if (!bytes)
      return notPacked(op, "the constant's bytes cannot be read (an unloaded resource)");
    if (bits % 8 != 0)
      return notPacked(op, "its elements are not whole bytes: it is transposed at run time");
    size_t elementBytes = bits / 8;
    if (bytes->data.size() != static_cast<size_t>(inputType.getNumElements()) * elementBytes)
      return notPacked(op, "the constant's storage does not match its type: it is transposed at run time");
    std::vector<char> transposed(bytes->data.size());
    permuteElements(bytes->data.data(), transposed.data(), inputType.getShape(), op.getPermutation(), elementBytes);
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(transposed, /*align=*/64);
    auto attr = DenseResourceElementsAttr::get(resultType, bytes->name + ".packed", std::move(blob));
    Location loc = op.getLoc(); // op is erased by the replacement
    std::string layout = layoutOf(op);
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType, attr);
    return packed(loc, layout);
  }

  /// The layout `op` stores, for the fusion report: a matrix transpose is [K, N]; other permutations (the
  /// column panels of effc-cpu-weight-panels, stacked expert weights) are named by their shape.
  static std::string layoutOf(linalg::TransposeOp op) {
    if (op.getPermutation() == ArrayRef<int64_t>{1, 0})
      return "transposed ([K, N])";
    std::string shape;
    llvm::raw_string_ostream os(shape);
    llvm::interleave(cast<RankedTensorType>(op.getResult()[0].getType()).getShape(), os, "x");
    return "permuted to " + shape;
  }

  static LogicalResult packed(Location loc, StringRef layout) {
    effc::recordFusion(loc, effc::fusion::kWeightPacking, true, "stored " + layout.str() + " at compile time");
    return success();
  }

  static LogicalResult notPacked(linalg::TransposeOp op, const Twine &reason) {
    effc::recordFusion(op.getLoc(), effc::fusion::kWeightPacking, false, reason);
    return failure();
  }
};

/// `type` with its dimensions permuted as linalg.transpose does (result dimension i is dimension
/// `permutation[i]`).
RankedTensorType permutedType(RankedTensorType type, ArrayRef<int64_t> permutation) {
  SmallVector<int64_t> shape;
  for (int64_t dim : permutation)
    shape.push_back(type.getDimSize(dim));
  return RankedTensorType::get(shape, type.getElementType());
}

/// A layout change of a weight that can be done to the constant at compile time instead: an optional
/// statically shaped tensor.pad by a constant (the zero columns of effc_uk_linear_f32's last panel), an
/// optional statically shaped tensor.expand_shape (panels split a dimension), then a statically shaped
/// linalg.transpose of the result.
struct LayoutChain {
  tensor::PadOp pad;            // may be null
  tensor::ExpandShapeOp expand; // may be null
  linalg::TransposeOp transpose;

  RankedTensorType packedType() { return cast<RankedTensorType>(transpose.getResult()[0].getType()); }

  bool sameAs(LayoutChain other) {
    if (static_cast<bool>(pad) != static_cast<bool>(other.pad) ||
        static_cast<bool>(expand) != static_cast<bool>(other.expand) ||
        transpose.getPermutation() != other.transpose.getPermutation() || packedType() != other.packedType())
      return false;
    if (pad) {
      Attribute value, otherValue;
      if (pad.getResultType() != other.pad.getResultType() || pad.getStaticLow() != other.pad.getStaticLow() ||
          pad.getStaticHigh() != other.pad.getStaticHigh() ||
          !matchPattern(pad.getConstantPaddingValue(), m_Constant(&value)) ||
          !matchPattern(other.pad.getConstantPaddingValue(), m_Constant(&otherValue)) || value != otherValue)
        return false;
    }
    return !expand || (expand.getResultType() == other.expand.getResultType() &&
                       expand.getReassociationIndices() == other.expand.getReassociationIndices());
  }
};

/// The layout chain that `user` starts on `input`, if it is one.
std::optional<LayoutChain> layoutChainOf(Operation *user, Value input) {
  LayoutChain chain;
  if (auto pad = dyn_cast<tensor::PadOp>(user)) {
    Value padding = pad.getConstantPaddingValue();
    if (pad.getSource() != input || !pad.getResultType().hasStaticShape() || !pad->hasOneUse() || !padding ||
        !matchPattern(padding, m_Constant()) || !pad.getLow().empty() || !pad.getHigh().empty())
      return std::nullopt;
    chain.pad = pad;
    input = pad.getResult();
    user = *pad->getUsers().begin();
  }
  Value transposed = input;
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(user)) {
    if (expand.getSrc() != input || !expand.getResultType().hasStaticShape() || !expand->hasOneUse())
      return std::nullopt;
    chain.expand = expand;
    transposed = expand.getResult();
    user = *expand->getUsers().begin();
  }
  auto transpose = dyn_cast<linalg::TransposeOp>(user);
  if (!transpose || !transpose.hasPureTensorSemantics() || transpose.getInput() != transposed)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(transposed.getType());
  if (!type || !type.hasStaticShape() ||
      transpose.getResult()[0].getType() != permutedType(type, transpose.getPermutation()))
    return std::nullopt;
  chain.transpose = transpose;
  return chain;
}

/// Moves the layout changes (transposes, possibly after a reshape) of a private function's weight arguments to
/// its callers when every caller passes a constant there (the weights of a body shared by several layers,
/// eff-outline-layers) and every use is the same layout change: the function then takes the packed layout,
/// and the patterns below fold each caller's copy into a packed constant.
void packWeightArguments(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPrivate() || func.isExternal())
      continue;
    std::optional<SymbolTable::UseRange> uses = SymbolTable::getSymbolUses(func, module);
    if (!uses)
      continue;
    SmallVector<func::CallOp> calls;
    bool onlyCalls = true;
    for (const SymbolTable::SymbolUse &use : *uses) {
      auto call = dyn_cast<func::CallOp>(use.getUser());
      onlyCalls &= call && call.getCallee() == func.getSymName();
      if (call)
        calls.push_back(call);
    }
    if (!onlyCalls || calls.empty())
      continue;
    Block &entry = func.getBody().front();
    bool changed = false;
    for (BlockArgument argument : entry.getArguments()) {
      unsigned position = argument.getArgNumber();
      SmallVector<LayoutChain> chains;
      for (Operation *user : argument.getUsers()) {
        std::optional<LayoutChain> chain = layoutChainOf(user, argument);
        if (!chain || (!chains.empty() && !chain->sameAs(chains.front()))) {
          chains.clear();
          break;
        }
        chains.push_back(*chain);
      }
      if (chains.empty() || !llvm::all_of(calls, [&](func::CallOp call) {
            return matchPattern(call.getOperand(position), m_Constant());
          }))
        continue;
      LayoutChain model = chains.front();
      RankedTensorType packedType = model.packedType();
      // The callers' layout changes keep the location of the ones they replace (the layers' ops, which the
      // fusion report attributes the packing to), not the call's.
      SmallVector<Location> chainLocations;
      for (LayoutChain &chain : chains) {
        if (chain.pad)
          chainLocations.push_back(chain.pad.getLoc());
        if (chain.expand)
          chainLocations.push_back(chain.expand.getLoc());
        chainLocations.push_back(chain.transpose.getLoc());
      }
      Location loc = FusedLoc::get(func.getContext(), chainLocations);
      for (func::CallOp call : calls) {
        OpBuilder builder(call);
        Value weight = call.getOperand(position);
        if (model.pad) {
          Operation *padding = builder.clone(*model.pad.getConstantPaddingValue().getDefiningOp());
          SmallVector<OpFoldResult> low = getAsIndexOpFoldResult(func.getContext(), model.pad.getStaticLow());
          SmallVector<OpFoldResult> high = getAsIndexOpFoldResult(func.getContext(), model.pad.getStaticHigh());
          weight = tensor::PadOp::create(builder, loc, model.pad.getResultType(), weight, low, high,
                                         padding->getResult(0));
        }
        if (model.expand)
          weight = tensor::ExpandShapeOp::create(builder, loc, model.expand.getResultType(), weight,
                                                 model.expand.getReassociationIndices());
        Value init = tensor::EmptyOp::create(builder, loc, packedType.getShape(), packedType.getElementType());
        Value packed =
            linalg::TransposeOp::create(builder, loc, weight, init, model.transpose.getPermutation()).getResult()[0];
        call->setOperand(position, packed);
      }
      argument.setType(packedType);
      for (LayoutChain &chain : chains) {
        chain.transpose->getResult(0).replaceAllUsesWith(argument);
        chain.transpose->erase();
        if (chain.expand)
          chain.expand->erase();
        if (chain.pad)
          chain.pad->erase();
      }
      changed = true;
    }
    if (changed)
      func.setType(FunctionType::get(func.getContext(), entry.getArgumentTypes(), func.getResultTypes()));
  }
}

/// A reshape of a constant is the same bytes with another shape: a constant of the new type sharing the
/// blob, so that FoldConstantTranspose sees the constant under it.
template <typename ReshapeOp>
struct FoldConstantReshape : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern<ReshapeOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    RankedTensorType resultType = op.getResultType();
    Attribute value;
    if (!resultType.hasStaticShape() || !matchPattern(op.getSrc(), m_Constant(&value)))
      return failure();
    Attribute reshaped;
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
      reshaped = DenseResourceElementsAttr::get(resultType, resource.getRawHandle());
    else if (auto dense = dyn_cast<DenseElementsAttr>(value))
      reshaped = dense.reshape(resultType);
    else
      return failure();
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType, cast<TypedAttr>(reshaped));
    return success();
  }
};

/// A tensor.pad of a constant with a constant value and static padding (the zero columns that
/// effc-cpu-weight-panels adds to a weight whose N is no multiple of its panel width) becomes a constant holding
/// the padded elements.
struct FoldConstantPad : OpRewritePattern<tensor::PadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::PadOp op, PatternRewriter &rewriter) const override {
    RankedTensorType sourceType = op.getSourceType(), resultType = op.getResultType();
    Attribute value, padding;
    Value paddingValue = op.getConstantPaddingValue();
    if (!sourceType.hasStaticShape() || !resultType.hasStaticShape() || !paddingValue ||
        !matchPattern(op.getSource(), m_Constant(&value)) || !matchPattern(paddingValue, m_Constant(&padding)))
      return failure();
    unsigned bits = sourceType.getElementTypeBitWidth();
    std::optional<ConstantBytes> bytes = getConstantBytes(value);
    std::vector<char> splatBytes; // a splat's elements, written out
    if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat() && bits % 8 == 0) {
      ArrayRef<char> element = dense.getRawData();
      for (int64_t i = 0; i < sourceType.getNumElements(); ++i)
        splatBytes.insert(splatBytes.end(), element.begin(), element.begin() + bits / 8);
      bytes = ConstantBytes{splatBytes, "weight"};
    }
    if (!bytes || bits % 8 != 0 || bytes->data.size() != static_cast<size_t>(sourceType.getNumElements()) * bits / 8)
      return failure();
    // The padding element's bytes, from a one-element dense attribute of it.
    auto paddingElement = DenseElementsAttr::get(RankedTensorType::get({1}, sourceType.getElementType()), padding);
    ArrayRef<char> fillBytes = paddingElement.getRawData();
    size_t elementBytes = bits / 8;
    if (fillBytes.size() != elementBytes)
      return failure();
    std::vector<char> padded(resultType.getNumElements() * elementBytes);
    for (size_t offset = 0; offset < padded.size(); offset += elementBytes)
      std::memcpy(padded.data() + offset, fillBytes.data(), elementBytes);
    // Each row of the source (its last dimension) lands at the low padding's offset in the result.
    ArrayRef<int64_t> shape = sourceType.getShape(), resultShape = resultType.getShape();
    SmallVector<int64_t> low(op.getStaticLow());
    int64_t rank = shape.size(), rowElements = rank ? shape.back() : 1;
    SmallVector<int64_t> index(std::max<int64_t>(rank - 1, 0), 0);
    for (int64_t row = 0, rows = sourceType.getNumElements() / std::max<int64_t>(rowElements, 1); row < rows; ++row) {
      int64_t to = 0;
      for (int64_t i = 0; i < rank; ++i)
        to = to * resultShape[i] + (i < rank - 1 ? index[i] : 0) + low[i];
      std::memcpy(padded.data() + to * elementBytes, bytes->data.data() + row * rowElements * elementBytes,
                  rowElements * elementBytes);
      for (int64_t i = rank - 2; i >= 0; --i) { // the next source row, odometer-style
        if (++index[i] < shape[i])
          break;
        index[i] = 0;
      }
    }
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(padded, /*align=*/64);
    auto attr = DenseResourceElementsAttr::get(resultType, bytes->name + ".padded", std::move(blob));
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, resultType, attr);
    return success();
  }
};

/// Makes constants with the same type and bytes share one attribute, so that each is stored once. Packing
/// makes such copies when several functions transpose one weight (a decoder's prefill and decode functions
/// each pack every layer's weights): they become one global, and one entry of the weights file.
void deduplicateConstants(ModuleOp module) {
  llvm::DenseMap<std::pair<Type, uint64_t>, SmallVector<DenseResourceElementsAttr, 1>> byContent;
  module.walk([&](arith::ConstantOp constant) {
    auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
    std::optional<ConstantBytes> bytes = resource ? getConstantBytes(resource) : std::nullopt;
    if (!bytes)
      return;
    ArrayRef<uint8_t> data(reinterpret_cast<const uint8_t *>(bytes->data.data()), bytes->data.size());
    SmallVector<DenseResourceElementsAttr, 1> &same = byContent[{resource.getType(), llvm::xxh3_64bits(data)}];
    for (DenseResourceElementsAttr candidate : same) {
      if (candidate == resource)
        return;
      ArrayRef<char> other = getConstantBytes(candidate)->data;
      if (other.size() == bytes->data.size() && std::memcmp(other.data(), bytes->data.data(), other.size()) == 0) {
        constant.setValueAttr(candidate);
        return;
      }
    }
    same.push_back(resource);
  });
}

struct EffcPackWeightsPass : effc::impl::EffcPackWeightsPassBase<EffcPackWeightsPass> {
  void runOnOperation() override {
    packWeightArguments(getOperation());
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldConstantTranspose, FoldConstantReshape<tensor::ExpandShapeOp>,
                 FoldConstantReshape<tensor::CollapseShapeOp>, FoldConstantPad>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    deduplicateConstants(getOperation());
  }
};

} // namespace
