//===- Sparsify.cpp - magnitude pruning to N:M or unstructured sparsity ----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-sparsify: prunes the constant weights of eff.linear (and of eff.ffn, split into linears)
// by magnitude, and stores them as eff.sparse_linear (N:M values + in-group indices, or CSR) when the
// compressed kernels beat dense; otherwise the pruned weight stays dense and a remark says why.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace mlir::eff {
#define GEN_PASS_DEF_EFFSPARSIFYPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// A parsed `pattern` option: N:M, or unstructured with a fraction of zeros.
struct SparsityPattern {
  bool structured = false;
  int64_t n = 0, m = 0;
  double fraction = 0.0;
};

FailureOr<SparsityPattern> parsePattern(StringRef spec, std::string &error) {
  SparsityPattern pattern;
  StringRef head, tail;
  std::tie(head, tail) = spec.trim().split(':');
  if (head == "unstructured") {
    if (tail.empty() || tail.trim().getAsDouble(pattern.fraction)) {
      error = ("malformed sparsity '" + spec + "': expected 'unstructured:FRACTION', e.g. unstructured:0.9").str();
      return failure();
    }
    if (!(pattern.fraction >= 0.0 && pattern.fraction < 1.0)) {
      error = ("sparsity fraction must be in [0, 1), got " + tail.trim()).str();
      return failure();
    }
    return pattern;
  }
  if (tail.empty() || head.trim().getAsInteger(10, pattern.n) || tail.trim().getAsInteger(10, pattern.m)) {
    error = ("malformed sparsity '" + spec + "': expected 'N:M' (e.g. 2:4) or 'unstructured:FRACTION'").str();
    return failure();
  }
  if (pattern.n < 1 || pattern.n >= pattern.m || pattern.m > 128) {
    error = ("N:M sparsity needs 1 <= N < M <= 128 (N weights kept of every M), got " + Twine(pattern.n) + ":" +
             Twine(pattern.m))
                .str();
    return failure();
  }
  pattern.structured = true;
  return pattern;
}

/// The f32 contents of a constant weight, or nullopt if `value` is not one.
std::optional<std::vector<float>> readF32Constant(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!constant || !type || !type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    auto range = dense.getValues<float>();
    return std::vector<float>(range.begin(), range.end());
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> bytes = blob->getData();
    if (bytes.size() != size_t(type.getNumElements()) * sizeof(float))
      return std::nullopt;
    std::vector<float> data(type.getNumElements());
    std::memcpy(data.data(), bytes.data(), bytes.size());
    return data;
  }
  return std::nullopt;
}

/// Whether readF32Constant can read `value`.
bool isF32Constant(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!constant || !type || !type.getElementType().isF32() || !type.hasStaticShape())
    return false;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
    return resource.getRawHandle().getBlob() &&
           resource.getRawHandle().getBlob()->getData().size() == size_t(type.getNumElements()) * sizeof(float);
  return isa<DenseElementsAttr>(constant.getValue());
}

/// A constant holding `data`: inline if `asResource` is false, else a dense_resource blob named `name`.
template <typename T>
Value buildConstant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elementType, ArrayRef<T> data,
                    bool asResource, StringRef name) {
  auto type = RankedTensorType::get(shape, elementType);
  ElementsAttr attr;
  if (asResource)
    attr = DenseResourceElementsAttr::get(type, name,
                                          HeapAsmResourceBlob::allocateAndCopyWithAlign(
                                              ArrayRef<char>(reinterpret_cast<const char *>(data.data()),
                                                             data.size() * sizeof(T)),
                                              /*align=*/64));
  else
    attr = DenseElementsAttr::get(type, data);
  return arith::ConstantOp::create(b, loc, type, cast<TypedAttr>(attr));
}

bool isResourceConstant(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  return constant && isa<DenseResourceElementsAttr>(constant.getValue());
}

/// Zeroes the `count` entries of smallest magnitude across `weights` (viewed as one flat array in order;
/// ties: lower flat index first), in place.
void pruneSmallest(ArrayRef<std::vector<float> *> weights, int64_t count) {
  if (count <= 0)
    return;
  std::vector<float> magnitudes;
  for (std::vector<float> *w : weights)
    for (float v : *w)
      magnitudes.push_back(std::fabs(v));
  // The count-th smallest magnitude: everything below it goes, then ties at it in flat order.
  std::vector<float> sorted(magnitudes);
  std::nth_element(sorted.begin(), sorted.begin() + (count - 1), sorted.end());
  float threshold = sorted[count - 1];
  int64_t below = llvm::count_if(magnitudes, [&](float v) { return v < threshold; });
  int64_t tiesToZero = count - below;
  int64_t flat = 0;
  for (std::vector<float> *w : weights)
    for (float &v : *w) {
      float magnitude = magnitudes[flat++];
      if (magnitude < threshold || (magnitude == threshold && tiesToZero-- > 0))
        v = 0.0f;
    }
}

/// One linear layer to rewrite, with its weight read out.
struct Target {
  LinearOp op;
  std::vector<float> weight; // [N, K] row-major
  int64_t n, k;
};

struct EffSparsifyPass : mlir::eff::impl::EffSparsifyPassBase<EffSparsifyPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    FailureOr<SparsityPattern> parsed = parsePattern(pattern, error);
    if (failed(parsed)) {
      module.emitError("eff-sparsify: ") << error;
      return signalPassFailure();
    }
    if (scope != "layer" && scope != "global") {
      module.emitError("eff-sparsify: scope must be 'layer' or 'global', got '") << scope << "'";
      return signalPassFailure();
    }
    if (!(csrThreshold >= 0.0 && csrThreshold <= 1.0)) {
      module.emitError("eff-sparsify: csr-threshold must be in [0, 1], got ") << csrThreshold;
      return signalPassFailure();
    }

    splitFfns(module);
    std::vector<Target> targets;
    module.walk([&](LinearOp op) {
      if (!cast<RankedTensorType>(op.getInput().getType()).getElementType().isF32())
        return;
      if (!isF32Constant(op.getWeight()))
        return;
      auto type = cast<RankedTensorType>(op.getWeight().getType());
      targets.push_back({op, {}, type.getDimSize(0), type.getDimSize(1)});
    });
    // Weights are read when needed (all at once only for a global threshold), so that a large model's
    // weights are not all copied at once.
    auto load = [](Target &target) {
      if (target.weight.empty())
        target.weight = *readF32Constant(target.op.getWeight());
    };

    // Layer by layer, each weight copy is released once its layer is rewritten.
    if (parsed->structured) {
      bool ok = true;
      for (Target &target : targets) {
        load(target);
        ok &= succeeded(rewriteNM(target, parsed->n, parsed->m));
        std::vector<float>().swap(target.weight);
      }
      if (!ok)
        signalPassFailure();
      return;
    }

    if (scope == "global") {
      SmallVector<std::vector<float> *> all;
      int64_t total = 0;
      for (Target &target : targets) {
        load(target);
        all.push_back(&target.weight);
        total += target.weight.size();
      }
      pruneSmallest(all, int64_t(std::floor(parsed->fraction * double(total))));
    }
    for (Target &target : targets) {
      load(target);
      if (scope == "layer")
        pruneSmallest({&target.weight}, int64_t(std::floor(parsed->fraction * double(target.weight.size()))));
      rewriteUnstructured(target);
      std::vector<float>().swap(target.weight);
    }
  }

  /// Splits each eff.ffn whose weights are all f32 constants into eff.linear ops (and its activation or
  /// gated product), so that its linears can be sparsified.
  void splitFfns(ModuleOp module) {
    SmallVector<FfnOp> ffns;
    module.walk([&](FfnOp op) {
      auto isWeight = [](Value v) { return !v || isF32Constant(v); };
      if (isWeight(op.getUpWeight()) && isWeight(op.getGateWeight()) && isWeight(op.getDownWeight()) &&
          cast<RankedTensorType>(op.getInput().getType()).getElementType().isF32())
        ffns.push_back(op);
    });
    for (FfnOp op : ffns) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value up = LinearOp::create(b, loc, op.getInput(), op.getUpWeight(), op.getUpBias());
      Value hidden;
      if (Value gateWeight = op.getGateWeight()) {
        Value gate = LinearOp::create(b, loc, op.getInput(), gateWeight, Value());
        hidden = GluOp::create(b, loc, up.getType(), op.getActivation(), gate, up);
      } else {
        hidden = ActivationOp::create(b, loc, up.getType(), op.getActivation(), up);
      }
      Value down = LinearOp::create(b, loc, hidden, op.getDownWeight(), op.getDownBias());
      op.replaceAllUsesWith(down);
      op.erase();
    }
  }

  /// Replaces `target.op` by an N:M eff.sparse_linear.
  LogicalResult rewriteNM(Target &target, int64_t n, int64_t m) {
    LinearOp op = target.op;
    if (target.k % m != 0)
      return op.emitOpError("cannot be made ") << n << ":" << m << " sparse: M = " << m
                                                << " does not divide its in_features K = " << target.k;
    int64_t kept = target.k / m * n;
    std::vector<float> values(target.n * kept);
    std::vector<int8_t> indices(target.n * kept);
    SmallVector<int64_t> order(m);
    for (int64_t row = 0; row < target.n; ++row)
      for (int64_t group = 0; group < target.k / m; ++group) {
        const float *w = target.weight.data() + row * target.k + group * m;
        for (int64_t j = 0; j < m; ++j)
          order[j] = j;
        // The n largest magnitudes (ties: lower index), then back in ascending index order.
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          float ma = std::fabs(w[a]), mb = std::fabs(w[b]);
          return ma > mb || (ma == mb && a < b);
        });
        std::sort(order.begin(), order.begin() + n);
        for (int64_t j = 0; j < n; ++j) {
          values[row * kept + group * n + j] = w[order[j]];
          indices[row * kept + group * n + j] = int8_t(order[j]);
        }
      }
    OpBuilder b(op);
    Location loc = op.getLoc();
    bool asResource = isResourceConstant(op.getWeight());
    std::string name = weightName(op);
    Value valuesConst = buildConstant<float>(b, loc, {target.n, kept}, b.getF32Type(), values, asResource,
                                             name + ".nm_values");
    Value indicesConst = buildConstant<int8_t>(b, loc, {target.n, kept}, b.getIntegerType(8), indices,
                                               asResource, name + ".nm_indices");
    auto sparse = SparseLinearOp::create(b, loc, op.getType(), op.getInput(), valuesConst, indicesConst,
                                         /*row_ptr=*/Value(), op.getBias(), /*scales=*/Value(), SparseFormat::nm,
                                         target.k, target.n,
                                         b.getI64IntegerAttr(n), b.getI64IntegerAttr(m));
    replace(op, sparse);
    return success();
  }

  /// Replaces `target.op` by a CSR eff.sparse_linear, or keeps its pruned weight dense (with a remark)
  /// when it has fewer than csr-threshold zeros.
  void rewriteUnstructured(Target &target) {
    LinearOp op = target.op;
    OpBuilder b(op);
    Location loc = op.getLoc();
    bool asResource = isResourceConstant(op.getWeight());
    std::string name = weightName(op);
    int64_t nonzeros = llvm::count_if(target.weight, [](float v) { return v != 0.0f; });
    double sparsity = 1.0 - double(nonzeros) / double(target.weight.size());
    if (sparsity < csrThreshold) {
      Value dense = buildConstant<float>(b, loc, {target.n, target.k}, b.getF32Type(), target.weight, asResource,
                                         name + ".pruned");
      Value oldWeight = op.getWeight();
      op.getWeightMutable().assign(dense);
      eraseIfUnused(oldWeight);
      op.emitRemark() << llvm::formatv("{0:F1}% of the weight pruned to zero but kept dense: below csr-threshold "
                                       "{1:F1}%, the sparse kernel would not be faster",
                                       100.0 * sparsity, 100.0 * csrThreshold)
                             .str();
      return;
    }
    std::vector<float> values;
    std::vector<int32_t> columns, rowPtr{0};
    values.reserve(nonzeros);
    columns.reserve(nonzeros);
    for (int64_t row = 0; row < target.n; ++row) {
      for (int64_t col = 0; col < target.k; ++col)
        if (float v = target.weight[row * target.k + col]; v != 0.0f) {
          values.push_back(v);
          columns.push_back(int32_t(col));
        }
      rowPtr.push_back(int32_t(values.size()));
    }
    Value valuesConst = buildConstant<float>(b, loc, {nonzeros}, b.getF32Type(), values, asResource,
                                             name + ".csr_values");
    Value columnsConst = buildConstant<int32_t>(b, loc, {nonzeros}, b.getI32Type(), columns, asResource,
                                                name + ".csr_columns");
    Value rowPtrConst = buildConstant<int32_t>(b, loc, {target.n + 1}, b.getI32Type(), rowPtr, asResource,
                                               name + ".csr_row_ptr");
    auto sparse = SparseLinearOp::create(b, loc, op.getType(), op.getInput(), valuesConst, columnsConst,
                                         rowPtrConst, op.getBias(), /*scales=*/Value(), SparseFormat::csr,
                                         target.k, target.n,
                                         /*n=*/IntegerAttr(), /*m=*/IntegerAttr());
    replace(op, sparse);
  }

  /// The blob name of a linear's weight, as a prefix for the compressed blobs.
  static std::string weightName(LinearOp op) {
    auto constant = op.getWeight().getDefiningOp<arith::ConstantOp>();
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
      return resource.getRawHandle().getKey().str();
    return "weight";
  }

  static void eraseIfUnused(Value value) {
    if (Operation *def = value.getDefiningOp(); def && def->use_empty())
      def->erase();
  }

  static void replace(LinearOp op, SparseLinearOp sparse) {
    Value oldWeight = op.getWeight();
    op.replaceAllUsesWith(sparse.getResult());
    op.erase();
    eraseIfUnused(oldWeight);
  }
};

} // namespace
