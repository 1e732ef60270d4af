//===- FusionReport.cpp - what a model became, and which fusions fired ----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Three sources meet here:
//  - before lowering, the eff IR: each op gets an origin tag in its location (lowerings build their ops at
//    `op.getLoc()`, so the linalg ops and micro-kernel calls inherit it) and the fusions expected on it are
//    noted (the candidate table below);
//  - during lowering, the `effc-fusion` remarks of the decision points (effc::recordFusion);
//  - after effc-pack-weights, the lowered functions: each micro-kernel call and linalg op is a kernel,
//    attributed to the origins its location and body carry.
//
//===----------------------------------------------------------------------===//

#include "effc/Compiler/FusionReport.h"

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <mutex>

using namespace mlir;

namespace effc {

namespace {

/// A fusion the report knows: whether effc implements it, and what to say for a candidate that no decision
/// point reported on (for a fusion that is not implemented: why nothing happens).
struct FusionKind {
  llvm::StringLiteral name;
  bool implemented;
  llvm::StringLiteral otherwise;
};

/// Flip `implemented` when a fusion lands, and call recordFusion where its lowering decides.
constexpr FusionKind kFusionKinds[] = {
    {fusion::kAttention, true, "no decision recorded"},
    {fusion::kQkvProjection, true,
     "no decision reached it: eff-pack-qkv runs on the CPU target at -O1 and up, unless --no-pack-qkv"},
    {fusion::kGemmBias, true, "no decision recorded"},
    {fusion::kGemmActivation, true,
     "no decision reached it: epilogues are fused into f32 GEMMs when they are tiled (-O1 and up, CPU) and into "
     "int8 GEMM kernels"},
    {fusion::kGemmResidual, true,
     "no decision reached it: epilogues are fused into f32 GEMMs when they are tiled (-O1 and up, CPU) and into "
     "int8 GEMM kernels"},
    {fusion::kResidualNorm, true, "no decision reached it: the add + norm kernel takes f32 layer norms (not RMS norms)"},
    {fusion::kWeightPacking, true, "no decision recorded"},
};

const FusionKind *lookupFusionKind(llvm::StringRef name) {
  for (const FusionKind &kind : kFusionKinds)
    if (kind.name == name)
      return &kind;
  return nullptr;
}

constexpr llvm::StringLiteral kOriginPrefix = "effc.origin#";

/// What the report says about an eff op.
struct Origin {
  std::string function;
  std::string text; ///< "eff.linear @ model.mlir:12:5 [layer 0]"
  std::string shape;
  std::optional<int64_t> layer; ///< index of the eff.layer it is in
  std::optional<FusionReportCount> flops;
  llvm::SmallVector<llvm::StringRef, 2> candidates; ///< fusion names expected on it
};

/// A recorded decision.
struct Recorded {
  std::string fusion;
  bool fired;
  std::string detail;
};

/// "model.mlir:12:5" for the first file location inside `loc`, else a NameLoc's name, else "?".
std::string describeLocation(Location loc) {
  std::string text;
  loc->walk([&](Location nested) {
    if (auto file = dyn_cast<FileLineColLoc>(nested)) {
      text = (llvm::sys::path::filename(file.getFilename().getValue()) + ":" + llvm::Twine(file.getLine()) + ":" +
              llvm::Twine(file.getColumn()))
                 .str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (!text.empty())
    return text;
  loc->walk([&](Location nested) {
    if (auto name = dyn_cast<NameLoc>(nested)) {
      text = name.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return text.empty() ? "?" : text;
}

/// The origin ids tagged anywhere inside `loc`, in order.
void collectOriginIds(Location loc, llvm::SetVector<unsigned> &ids) {
  loc->walk([&](Location nested) {
    if (auto name = dyn_cast<NameLoc>(nested)) {
      llvm::StringRef text = name.getName().getValue();
      unsigned id;
      if (text.consume_front(kOriginPrefix) && !text.getAsInteger(10, id))
        ids.insert(id);
    }
    return WalkResult::advance();
  });
}

/// "4x?x64" ("?" for a dynamic extent).
std::string formatDims(llvm::ArrayRef<int64_t> dims) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      dims, os, [&](int64_t dim) { ShapedType::isDynamic(dim) ? os << "?" : os << dim; }, "x");
  return text;
}

std::string dimsOf(Type type) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasRank() || shaped.getRank() == 0)
    return "scalar";
  return formatDims(shaped.getShape());
}

/// Multiplies `count` by the extents `dims` of a shape (unknown ones become dynamic factors).
void multiplyBy(FusionReportCount &count, llvm::ArrayRef<int64_t> dims) {
  for (int64_t dim : dims) {
    if (ShapedType::isDynamic(dim))
      ++count.dynamicFactors;
    else
      count.known *= static_cast<double>(dim);
  }
}

int64_t storageBytes(RankedTensorType type) {
  if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat())
    return 0;
  return (type.getNumElements() * type.getElementType().getIntOrFloatBitWidth() + 7) / 8;
}

/// The constant tensor a value is, looking through casts and the buffer views of a micro-kernel call.
arith::ConstantOp constantSource(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (auto constant = dyn_cast<arith::ConstantOp>(def))
      return isa<RankedTensorType>(constant.getType()) ? constant : nullptr;
    if (isa<tensor::CastOp, memref::CastOp, bufferization::ToBufferOp>(def)) {
      value = def->getOperand(0);
      continue;
    }
    return nullptr;
  }
  return nullptr;
}

/// Bytes of the distinct compile-time constants among `values`.
int64_t constantBytes(llvm::ArrayRef<Value> values) {
  llvm::SmallPtrSet<Operation *, 4> seen;
  int64_t bytes = 0;
  for (Value value : values)
    if (arith::ConstantOp constant = constantSource(value); constant && seen.insert(constant).second)
      bytes += storageBytes(cast<RankedTensorType>(constant.getType()));
  return bytes;
}

/// The value's producer among the linear layers (whose output a GEMM epilogue would write).
bool isGemm(Value value) {
  Operation *def = value.getDefiningOp();
  return def && isa<eff::LinearOp, eff::QuantizedLinearOp, eff::SparseLinearOp, eff::FfnOp>(def);
}

/// The type of the tensor that a micro-kernel call's buffer operand was made from (through to_buffer and
/// casts), if it is a ranked tensor.
RankedTensorType tensorTypeOf(Value buffer) {
  Value value = buffer;
  while (auto cast = value.getDefiningOp<memref::CastOp>())
    value = cast.getSource();
  if (auto toBuffer = value.getDefiningOp<bufferization::ToBufferOp>())
    value = toBuffer.getTensor();
  while (auto cast = value.getDefiningOp<tensor::CastOp>())
    value = cast.getSource();
  if (auto type = dyn_cast<RankedTensorType>(value.getType()))
    return type;
  auto memref = dyn_cast<MemRefType>(value.getType());
  return memref ? RankedTensorType::get(memref.getShape(), memref.getElementType()) : nullptr;
}

/// Per token FLOPs of a linear layer with an [N, K] weight of `weightElements` logical elements, times the
/// input's leading extents.
FusionReportCount gemmFlops(Value input, int64_t weightElements) {
  FusionReportCount count{2.0 * static_cast<double>(weightElements), 0};
  auto type = cast<RankedTensorType>(input.getType());
  multiplyBy(count, type.getShape().drop_back());
  return count;
}

/// Shapes, FLOPs and the fusions expected on `op`.
void describeEffOp(Operation *op, Origin &origin) {
  if (op->getNumOperands() && op->getNumResults())
    origin.shape = dimsOf(op->getOperand(0).getType()) + " -> " + dimsOf(op->getResult(0).getType());
  auto weightElements = [](Value weight) {
    return static_cast<int64_t>(cast<RankedTensorType>(weight.getType()).getNumElements());
  };
  if (auto linear = dyn_cast<eff::LinearOp>(op)) {
    origin.flops = gemmFlops(linear.getInput(), weightElements(linear.getWeight()));
    if (linear.getBias())
      origin.candidates.push_back(fusion::kGemmBias);
    origin.candidates.push_back(fusion::kWeightPacking);
  } else if (auto ffn = dyn_cast<eff::FfnOp>(op)) {
    int64_t elements = weightElements(ffn.getUpWeight()) + weightElements(ffn.getDownWeight());
    if (ffn.getGateWeight())
      elements += weightElements(ffn.getGateWeight());
    origin.flops = gemmFlops(ffn.getInput(), elements);
    if (ffn.getUpBias() || ffn.getDownBias())
      origin.candidates.push_back(fusion::kGemmBias);
    origin.candidates.append({fusion::kGemmActivation, fusion::kWeightPacking});
  } else if (auto quantized = dyn_cast<eff::QuantizedLinearOp>(op)) {
    origin.flops = gemmFlops(quantized.getInput(),
                             static_cast<int64_t>(quantized.getInFeatures() * quantized.getOutFeatures()));
    if (quantized.getBias())
      origin.candidates.push_back(fusion::kGemmBias);
  } else if (auto sparse = dyn_cast<eff::SparseLinearOp>(op)) {
    origin.flops = gemmFlops(sparse.getInput(), sparse.getValues().getType().getNumElements());
    if (sparse.getBias())
      origin.candidates.push_back(fusion::kGemmBias);
  } else if (auto attention = dyn_cast<eff::AttentionOp>(op)) {
    // Q·Kᵀ and P·V: 2 · 2 · B · S · L · hidden.
    auto query = cast<RankedTensorType>(attention.getQuery().getType());
    auto key = cast<RankedTensorType>(attention.getKey().getType());
    FusionReportCount count{4.0, 0};
    multiplyBy(count, query.getShape());
    if (Value pastKey = attention.getPastKey()) {
      int64_t past = cast<RankedTensorType>(pastKey.getType()).getDimSize(1), now = key.getDimSize(1);
      multiplyBy(count, {ShapedType::isDynamic(past) || ShapedType::isDynamic(now) ? ShapedType::kDynamic
                                                                                   : past + now});
    } else {
      multiplyBy(count, {key.getDimSize(1)});
    }
    origin.flops = count;
    origin.candidates.push_back(fusion::kAttention);
    // Q, K and V computed here (eff-pack-qkv says whether they were packed into one GEMM, or why not).
    auto computed = [](Value value) {
      while (auto rotary = value.getDefiningOp<eff::RotaryOp>())
        value = rotary.getInput();
      return value.getDefiningOp() != nullptr;
    };
    if (computed(attention.getQuery()) && computed(attention.getKey()) && computed(attention.getValue()))
      origin.candidates.push_back(fusion::kQkvProjection);
  } else if (auto activation = dyn_cast<eff::ActivationOp>(op)) {
    if (isGemm(activation.getInput()))
      origin.candidates.push_back(fusion::kGemmActivation);
  } else if (auto add = dyn_cast<eff::AddOp>(op)) {
    if (isGemm(add.getLhs()) || isGemm(add.getRhs()))
      origin.candidates.push_back(fusion::kGemmResidual);
  } else if (isa<eff::LayerNormOp, eff::RmsNormOp>(op)) {
    if (op->getOperand(0).getDefiningOp<eff::AddOp>())
      origin.candidates.push_back(fusion::kResidualNorm);
  }
}

/// The kind of a linalg op as the report names it.
std::string linalgKind(linalg::LinalgOp op, size_t numOrigins) {
  if (isa<linalg::FillOp>(op))
    return "fill";
  if (isa<linalg::TransposeOp>(op))
    return "transpose";
  if (op.getNumReductionLoops() > 0)
    return linalg::isaContractionOpInterface(op) ? "contraction" : "reduction";
  if (op.getNumLoops() == op.getNumParallelLoops())
    return numOrigins > 1 ? "fused elementwise" : "elementwise";
  return "other";
}

/// Whether `op` only initialises the accumulator of contractions (tiled together with them).
bool onlyInitialisesContractions(linalg::LinalgOp op) {
  if (op->getNumResults() != 1 || op->getResult(0).use_empty() || op.getNumLoops() != op.getNumParallelLoops())
    return false;
  return llvm::all_of(op->getResult(0).getUses(), [](OpOperand &use) {
    auto consumer = dyn_cast<linalg::LinalgOp>(use.getOwner());
    return consumer && consumer.isDpsInit(&use) && consumer.getNumReductionLoops() > 0;
  });
}

std::string formatCount(double value) {
  const char *suffixes[] = {"", "K", "M", "G", "T", "P"};
  int index = 0;
  while (value >= 1000 && index < 5) {
    value /= 1000;
    ++index;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  if (index == 0)
    os << llvm::format("%.0f", value);
  else
    os << llvm::format(value < 10 ? "%.2f%s" : value < 100 ? "%.1f%s" : "%.0f%s", value, suffixes[index]);
  return text;
}

std::string formatFlops(const std::optional<FusionReportCount> &flops) {
  if (!flops)
    return "-";
  std::string text = formatCount(flops->known);
  if (flops->dynamicFactors == 1)
    text += "·?";
  else if (flops->dynamicFactors > 1)
    text += "·?^" + std::to_string(flops->dynamicFactors);
  return text;
}

std::string formatBytes(int64_t bytes) {
  if (bytes == 0)
    return "-";
  return formatCount(static_cast<double>(bytes)) + "B";
}

} // namespace

struct FusionReportCollector::State {
  State(MLIRContext &context, bool initsFusedByTiling) : context(context), initsFusedByTiling(initsFusedByTiling) {}

  /// Notes a remark of the `effc-fusion` category.
  void record(const remark::detail::Remark &remark) {
    std::string detail;
    for (const remark::detail::Remark::Arg &arg : remark.getArgs())
      if (arg.key == "Remark")
        detail += arg.val;
    llvm::SetVector<unsigned> ids;
    collectOriginIds(remark.getLocation(), ids);
    std::lock_guard<std::mutex> lock(mutex);
    Recorded recorded{remark.getRemarkName().str(), remark.getRemarkType() == llvm::remarks::Type::Passed,
                      std::move(detail)};
    if (ids.empty()) {
      unattributed.push_back(std::move(recorded));
      return;
    }
    for (unsigned id : ids)
      decisions[id].push_back(recorded);
  }

  void snapshot(ModuleOp module);
  FusionReport finish();

  MLIRContext &context;
  bool initsFusedByTiling;
  std::mutex mutex;
  std::vector<Origin> origins;
  llvm::DenseMap<unsigned, std::vector<Recorded>> decisions;
  std::vector<Recorded> unattributed;
  std::vector<std::string> functionOrder;
  std::map<std::string, std::vector<FusionReportKernel>> kernels;
  std::map<std::string, std::vector<int64_t>> sharedBodies; ///< body function -> the layers sharing it
  bool snapshotTaken = false;
};

namespace {

/// Streams the remarks of the collector's context to it.
class FusionRemarkStreamer : public remark::detail::MLIRRemarkStreamerBase {
public:
  explicit FusionRemarkStreamer(FusionReportCollector::State &state) : state(state) {}
  void streamOptimizationRemark(const remark::detail::Remark &remark) override { state.record(remark); }

private:
  FusionReportCollector::State &state;
};

/// Lists the kernels once effc-pack-weights has run.
class SnapshotInstrumentation : public PassInstrumentation {
public:
  explicit SnapshotInstrumentation(std::shared_ptr<FusionReportCollector::State> state) : state(std::move(state)) {}
  void runAfterPass(Pass *pass, Operation *op) override {
    if (pass->getArgument() == "effc-pack-weights")
      if (auto module = dyn_cast<ModuleOp>(op))
        state->snapshot(module);
  }

private:
  std::shared_ptr<FusionReportCollector::State> state;
};

} // namespace

void FusionReportCollector::State::snapshot(ModuleOp module) {
  snapshotTaken = true;
  kernels.clear();
  for (auto function : module.getOps<func::FuncOp>()) {
    if (function.isExternal())
      continue;
    std::vector<FusionReportKernel> &list = kernels[function.getName().str()];
    if (!llvm::is_contained(functionOrder, function.getName().str()))
      functionOrder.push_back(function.getName().str());
    // A body shared by several layers carries the origins of all of them (eff-outline-layers fuses their
    // locations); its kernels are listed once, under the first layer's ops.
    std::optional<int64_t> firstLayer;
    if (auto layers = function->getAttrOfType<DenseI64ArrayAttr>("effc.layers"); layers && !layers.empty()) {
      sharedBodies[function.getName().str()].assign(layers.asArrayRef().begin(), layers.asArrayRef().end());
      firstLayer = layers[0];
    }
    auto collectKernelOrigins = [&](Location loc, llvm::SetVector<unsigned> &ids) {
      llvm::SetVector<unsigned> all;
      collectOriginIds(loc, all);
      for (unsigned id : all)
        if (!firstLayer || id >= origins.size() || !origins[id].layer || origins[id].layer == firstLayer)
          ids.insert(id);
    };
    auto originTexts = [&](const llvm::SetVector<unsigned> &ids) {
      std::vector<std::string> texts;
      for (unsigned id : ids)
        if (id < origins.size())
          texts.push_back(origins[id].text);
      return texts;
    };
    function->walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (auto call = dyn_cast<func::CallOp>(op)) {
        if (!call.getCallee().starts_with("effc_uk_"))
          return WalkResult::advance();
        FusionReportKernel kernel;
        kernel.kind = "micro-kernel";
        kernel.name = call.getCallee().str();
        llvm::SetVector<unsigned> ids;
        collectKernelOrigins(call.getLoc(), ids);
        kernel.origins = originTexts(ids);
        if (!ids.empty() && ids[0] < origins.size()) {
          kernel.shape = origins[ids[0]].shape;
          kernel.flops = origins[ids[0]].flops;
        }
        // One kernel for several GEMMs (eff-pack-qkv's packed projections) does all their FLOPs.
        for (unsigned id : ids.getArrayRef().drop_front()) {
          const std::optional<FusionReportCount> &more = id < origins.size() ? origins[id].flops : std::nullopt;
          if (kernel.flops && more && more->dynamicFactors == kernel.flops->dynamicFactors)
            kernel.flops->known += more->known;
        }
        // One GEMM of an op that became several calls (an FFN): its own [N, K] against the rows of its input.
        auto extents = call->getAttrOfType<DenseI64ArrayAttr>(fusion::kGemmExtentsAttr);
        if (RankedTensorType input = call.getNumOperands() ? tensorTypeOf(call.getOperand(0)) : nullptr;
            extents && extents.size() == 2 && input && input.getRank() >= 1) {
          SmallVector<int64_t> output(input.getShape());
          output.back() = extents[0];
          kernel.shape = formatDims(input.getShape()) + " -> " + formatDims(output);
          FusionReportCount count{2.0 * static_cast<double>(extents[0]) * static_cast<double>(extents[1]), 0};
          multiplyBy(count, input.getShape().drop_back());
          kernel.flops = count;
        }
        kernel.weightBytes = constantBytes(llvm::to_vector(call.getOperands()));
        list.push_back(std::move(kernel));
        return WalkResult::advance();
      }
      auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
      if (!linalgOp)
        return WalkResult::advance();
      if (initsFusedByTiling && onlyInitialisesContractions(linalgOp))
        return WalkResult::skip();
      // Origins: the op's own, then those of the (fused) body.
      llvm::SetVector<unsigned> ids;
      collectKernelOrigins(op->getLoc(), ids);
      op->walk([&](Operation *nested) { collectKernelOrigins(nested->getLoc(), ids); });
      FusionReportKernel kernel;
      kernel.kind = linalgKind(linalgOp, ids.size());
      kernel.name = op->getName().getStringRef().str();
      kernel.origins = originTexts(ids);
      SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
      kernel.shape = "loops " + formatDims(ranges);
      if (kernel.kind == "contraction") {
        FusionReportCount count{2.0, 0};
        multiplyBy(count, ranges);
        kernel.flops = count;
      }
      // Constants it reads: operands, and tables captured by its body (gathers).
      llvm::SetVector<Value> used(op->getOperands().begin(), op->getOperands().end());
      getUsedValuesDefinedAbove(op->getRegions(), used);
      kernel.weightBytes = constantBytes(used.getArrayRef());
      list.push_back(std::move(kernel));
      return WalkResult::skip();
    });
  }
}

FusionReport FusionReportCollector::State::finish() {
  FusionReport report;
  report.complete = snapshotTaken;
  std::map<std::string, FusionReportFunction> byName;
  auto functionNamed = [&](const std::string &name) -> FusionReportFunction & {
    FusionReportFunction &function = byName[name];
    function.name = name;
    if (!llvm::is_contained(functionOrder, name))
      functionOrder.push_back(name);
    return function;
  };
  for (auto &[name, list] : kernels)
    functionNamed(name).kernels = list;
  for (auto &[name, layers] : sharedBodies)
    functionNamed(name).sharedByLayers = layers;

  std::lock_guard<std::mutex> lock(mutex);
  for (unsigned id = 0; id < origins.size(); ++id) {
    const Origin &origin = origins[id];
    std::vector<FusionReportDecision> found;
    auto add = [&](FusionReportDecision decision) {
      for (const FusionReportDecision &existing : found)
        if (existing.fusion == decision.fusion && existing.status == decision.status &&
            existing.detail == decision.detail)
          return;
      found.push_back(std::move(decision));
    };
    auto recorded = decisions.find(id);
    llvm::SmallVector<llvm::StringRef> decided;
    if (recorded != decisions.end()) {
      for (const Recorded &decision : recorded->second) {
        // A GEMM epilogue is the activation or residual-add fusion this op was expected to get.
        llvm::SmallVector<llvm::StringRef, 2> fusions;
        if (decision.fusion == fusion::kGemmEpilogue) {
          for (llvm::StringRef candidate : origin.candidates)
            if (candidate == fusion::kGemmActivation || candidate == fusion::kGemmResidual)
              fusions.push_back(candidate);
        } else {
          fusions.push_back(decision.fusion);
        }
        for (llvm::StringRef name : fusions) {
          add({name.str(), origin.text,
               decision.fired ? FusionReportDecision::Status::Fired : FusionReportDecision::Status::NotFired,
               decision.detail});
          decided.push_back(name);
        }
      }
    }
    for (llvm::StringRef candidate : origin.candidates) {
      if (llvm::is_contained(decided, candidate))
        continue;
      const FusionKind *kind = lookupFusionKind(candidate);
      add({candidate.str(), origin.text,
           kind && !kind->implemented ? FusionReportDecision::Status::NotImplemented
                                      : FusionReportDecision::Status::NoDecision,
           kind ? kind->otherwise.str() : "no decision recorded"});
    }
    if (found.empty())
      continue;
    std::vector<FusionReportDecision> &into = functionNamed(origin.function).decisions;
    into.insert(into.end(), found.begin(), found.end());
  }
  for (const std::string &name : functionOrder)
    if (byName.count(name))
      report.functions.push_back(std::move(byName[name]));
  // Decisions whose location carries no eff op (an op built without the location of the op it lowers).
  if (!unattributed.empty()) {
    FusionReportFunction other;
    other.name = "(decisions not attributed to an eff op)";
    for (const Recorded &decision : unattributed)
      other.decisions.push_back({decision.fusion, "?",
                                 decision.fired ? FusionReportDecision::Status::Fired
                                                : FusionReportDecision::Status::NotFired,
                                 decision.detail});
    report.functions.push_back(std::move(other));
  }
  return report;
}

FusionReportCollector::FusionReportCollector(MLIRContext &context, bool initsFusedByTiling)
    : state(std::make_shared<State>(context, initsFusedByTiling)) {
  remark::RemarkCategories categories;
  std::string pattern = ("^" + kFusionRemarkCategory + "$").str();
  categories.passed = pattern;
  categories.missed = pattern;
  (void)remark::enableOptimizationRemarks(context, std::make_unique<FusionRemarkStreamer>(*state),
                                          std::make_unique<remark::RemarkEmittingPolicyAll>(), categories,
                                          /*printAsEmitRemarks=*/false);
}

FusionReportCollector::~FusionReportCollector() { state->context.setRemarkEngine(nullptr); }

void FusionReportCollector::prepare(ModuleOp module) {
  MLIRContext *context = module.getContext();
  for (auto function : module.getOps<func::FuncOp>()) {
    if (function.isExternal())
      continue;
    std::string functionName = function.getName().str();
    if (!llvm::is_contained(state->functionOrder, functionName))
      state->functionOrder.push_back(functionName);
    function.walk([&](Operation *op) {
      if (!isa<eff::EffDialect>(op->getDialect()) || isa<eff::LayerOp, eff::YieldOp>(op))
        return;
      Origin origin;
      origin.function = functionName;
      origin.text = (op->getName().getStringRef() + " @ " + describeLocation(op->getLoc())).str();
      if (auto layer = op->getParentOfType<eff::LayerOp>()) {
        origin.layer = layer.getIndex();
        origin.text += " [layer " + std::to_string(*origin.layer) + "]";
      }
      describeEffOp(op, origin);
      unsigned id = state->origins.size();
      state->origins.push_back(std::move(origin));
      op->setLoc(NameLoc::get(StringAttr::get(context, kOriginPrefix + llvm::Twine(id)), op->getLoc()));
    });
  }
}

void FusionReportCollector::instrument(PassManager &pm) {
  pm.addInstrumentation(std::make_unique<SnapshotInstrumentation>(state));
}

FusionReport FusionReportCollector::finish() { return state->finish(); }

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

llvm::StringRef fusionStatusName(FusionReportDecision::Status status) {
  switch (status) {
  case FusionReportDecision::Status::Fired:
    return "fired";
  case FusionReportDecision::Status::NotFired:
    return "not fired";
  case FusionReportDecision::Status::NotImplemented:
    return "not implemented";
  case FusionReportDecision::Status::NoDecision:
    return "no decision recorded";
  }
  llvm_unreachable("unknown fusion status");
}

llvm::ArrayRef<llvm::StringRef> fusionReportFormats() {
  static constexpr llvm::StringRef formats[] = {"text", "json"};
  return formats;
}

namespace {

/// Kernels per kind and decisions per status, in first-seen order.
struct Totals {
  llvm::MapVector<llvm::StringRef, unsigned> kernels; ///< keys point into the report
  llvm::MapVector<llvm::StringRef, unsigned> fusions;
  void add(const FusionReportFunction &function) {
    for (const FusionReportKernel &kernel : function.kernels)
      ++kernels[kernel.kind];
    for (const FusionReportDecision &decision : function.decisions)
      ++fusions[fusionStatusName(decision.status)];
  }
};

void printTotals(const Totals &totals, llvm::StringRef indent, llvm::raw_ostream &os) {
  unsigned count = 0;
  for (const auto &entry : totals.kernels)
    count += entry.second;
  os << indent << "kernels: " << count;
  for (const auto &[kind, n] : totals.kernels)
    os << ", " << n << " " << kind;
  os << "\n" << indent << "fusions:";
  if (totals.fusions.empty())
    os << " none expected";
  bool first = true;
  for (const auto &[status, n] : totals.fusions) {
    os << (first ? " " : ", ") << n << " " << status;
    first = false;
  }
  os << "\n";
}

/// Rows of cells printed with aligned columns (the last column is not padded).
void printTable(const std::vector<std::vector<std::string>> &rows, llvm::raw_ostream &os) {
  std::vector<size_t> widths;
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i)
        widths.push_back(0);
      // Column width in characters (the middle dot of "·?" is two bytes, one column).
      size_t width = row[i].size() - llvm::count(row[i], '\xc2');
      widths[i] = std::max(widths[i], width);
    }
  for (const auto &row : rows) {
    std::string line = "  ";
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(widths[i] - (row[i].size() - llvm::count(row[i], '\xc2')) + 2, ' ');
    }
    os << llvm::StringRef(line).rtrim() << "\n";
  }
}

} // namespace

void printFusionReport(const FusionReport &report, llvm::raw_ostream &os) {
  Totals all;
  for (const FusionReportFunction &function : report.functions) {
    os << "effc fusion report: function '" << function.name << "'";
    if (!function.sharedByLayers.empty())
      os << " (the body of layers " << llvm::join(llvm::map_range(function.sharedByLayers,
                                                                  [](int64_t i) { return std::to_string(i); }),
                                                  ", ")
         << ")";
    os << "\n";
    std::vector<std::vector<std::string>> rows = {{"#", "kind", "kernel", "shape", "FLOPs", "weights", "from"}};
    for (auto [index, kernel] : llvm::enumerate(function.kernels))
      rows.push_back({std::to_string(index + 1), kernel.kind, kernel.name, kernel.shape, formatFlops(kernel.flops),
                      formatBytes(kernel.weightBytes),
                      kernel.origins.empty() ? "-" : llvm::join(kernel.origins, ", ")});
    printTable(rows, os);
    if (!function.decisions.empty()) {
      os << "expected fusions:\n";
      std::vector<std::vector<std::string>> decisions = {{"status", "fusion", "op", "detail"}};
      for (const FusionReportDecision &decision : function.decisions)
        decisions.push_back({fusionStatusName(decision.status).str(), decision.fusion, decision.origin,
                             decision.detail});
      printTable(decisions, os);
    }
    Totals totals;
    totals.add(function);
    all.add(function);
    printTotals(totals, "", os);
  }
  if (!report.complete)
    os << "effc fusion report: the lowering stopped before its kernels could be listed\n";
  if (report.functions.size() > 1) {
    os << "effc fusion report: all functions\n";
    printTotals(all, "", os);
  }
}

void printFusionReportJson(const FusionReport &report, llvm::raw_ostream &os) {
  llvm::json::Array functions;
  Totals all;
  auto countJson = [](const std::optional<FusionReportCount> &count) -> llvm::json::Value {
    if (!count)
      return nullptr;
    return llvm::json::Object{{"known", count->known}, {"dynamic_factors", count->dynamicFactors}};
  };
  auto totalsJson = [](const Totals &totals) {
    llvm::json::Object kernels, fusions;
    for (const auto &[kind, n] : totals.kernels)
      kernels[kind] = n;
    for (const auto &[status, n] : totals.fusions)
      fusions[status] = n;
    return llvm::json::Object{{"kernels", std::move(kernels)}, {"fusions", std::move(fusions)}};
  };
  for (const FusionReportFunction &function : report.functions) {
    llvm::json::Array kernels, decisions;
    for (const FusionReportKernel &kernel : function.kernels) {
      llvm::json::Array origins;
      for (const std::string &origin : kernel.origins)
        origins.push_back(origin);
      kernels.push_back(llvm::json::Object{{"kind", kernel.kind},
                                           {"name", kernel.name},
                                           {"shape", kernel.shape},
                                           {"flops", countJson(kernel.flops)},
                                           {"weight_bytes", kernel.weightBytes},
                                           {"from", std::move(origins)}});
    }
    for (const FusionReportDecision &decision : function.decisions)
      decisions.push_back(llvm::json::Object{{"fusion", decision.fusion},
                                             {"op", decision.origin},
                                             {"status", fusionStatusName(decision.status)},
                                             {"detail", decision.detail}});
    Totals totals;
    totals.add(function);
    all.add(function);
    llvm::json::Array sharedBy;
    for (int64_t layer : function.sharedByLayers)
      sharedBy.push_back(layer);
    functions.push_back(llvm::json::Object{{"name", function.name},
                                           {"shared_by_layers", std::move(sharedBy)},
                                           {"kernels", std::move(kernels)},
                                           {"fusions", std::move(decisions)},
                                           {"totals", totalsJson(totals)}});
  }
  llvm::json::Object root{{"functions", std::move(functions)},
                          {"totals", totalsJson(all)},
                          {"complete", report.complete}};
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
}

} // namespace effc
