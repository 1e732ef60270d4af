//===- Fusion.cpp - eff op groups lowered to one fused micro-kernel call ---===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Before the per-op patterns run, convert-eff-to-linalg lowers groups of eff ops that one micro-kernel
// computes in a single pass over memory:
//
//  * GEMM epilogues: an int8 or bf16 eff.quantized_linear whose only use is an eff.activation and/or an
//    eff.add (the residual) becomes one call of effc_uk_quantized_linear_{int8,bf16}_epilogue, which applies
//    the bias, the activation and the residual to each output tile while it is in registers
//    (ukernels/epilogue.h), so the output is written once; so does an f32 eff.linear with f32-linear-kernel
//    (effc_uk_linear_f32). (Without it f32 eff.linear is generated code, its epilogues fused by
//    effc-cpu-tile-and-vectorize.)
//  * Residual add + layer norm: an f32 eff.layer_norm of an eff.add becomes one call of
//    effc_uk_add_layer_norm (ukernels/layer_norm.c), which reads both addends once and writes the normalised
//    rows, and the sum too (effc_uk_add_layer_norm_keep_sum) when the graph still uses it.
//
// An add that feeds a fusable layer norm goes to the layer norm, not to a GEMM epilogue: the traffic is the
// same and the layer norm then needs one pass instead of five. Each decision is taken in one place below
// (matchAddLayerNorm, matchEpilogue); a group that does not match is left to the per-op patterns.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "effc/Conversion/EffToLinalg/EffToLinalg.h"
#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::eff;
using namespace effc::lowering;

namespace {

// The epilogue flags of ukernels/epilogue.h.
enum : int64_t { kEpilogueResidual = 0x10 };

bool isF32Tensor(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && type.getElementType().isF32() && type.getRank() >= 1;
}

/// An add + layer norm group: the layer norm reading the add, and where the fused call goes.
struct AddLayerNorm {
  LayerNormOp norm;
  Operation *insertionPoint; // the add, or the layer norm when the sum has no other use
  bool keepSum;              // the add's result has uses besides the layer norm
};

/// The layer norm that `add` can be fused with, if any: the only layer norm reading it, everything f32, and
/// gamma and beta available where the call must go (before the add when its sum is still used).
std::optional<AddLayerNorm> matchAddLayerNorm(AddOp add, DominanceInfo &dominance) {
  if (!isF32Tensor(add.getResult()))
    return std::nullopt;
  LayerNormOp norm;
  bool otherUses = false;
  for (OpOperand &use : add.getResult().getUses()) {
    auto user = dyn_cast<LayerNormOp>(use.getOwner());
    if (user && use.getOperandNumber() == 0 && !norm)
      norm = user;
    else
      otherUses = true;
  }
  if (!norm || !isF32Tensor(norm.getResult()) || !isF32Tensor(norm.getGamma()) ||
      (norm.getBeta() && !isF32Tensor(norm.getBeta())))
    return std::nullopt;
  if (!otherUses)
    return AddLayerNorm{norm, norm, false};
  // The sum is used elsewhere too: it is produced where the add was, so gamma and beta must exist there.
  bool available = dominance.properlyDominates(norm.getGamma(), add) &&
                   (!norm.getBeta() || dominance.properlyDominates(norm.getBeta(), add));
  if (!available)
    return std::nullopt;
  return AddLayerNorm{norm, add, true};
}

/// A GEMM epilogue group: the ops after the linear layer that its kernel applies.
struct Epilogue {
  ActivationOp activation; // may be null
  AddOp residualAdd;       // may be null
  Value residual;          // the other addend of residualAdd
  Operation *last;         // the op whose result the fused call replaces
};

/// Whether the GEMM micro-kernel of `scheme` has an epilogue variant.
bool hasEpilogueKernel(QuantScheme scheme) { return scheme == QuantScheme::int8 || scheme == QuantScheme::bf16; }

/// The name of the epilogue variant of the GEMM micro-kernel of `scheme` (hasEpilogueKernel).
std::string epilogueKernelName(QuantScheme scheme) {
  return ("effc_uk_quantized_linear_" + stringifyQuantScheme(scheme) + "_epilogue").str();
}

/// The epilogue of a GEMM's `result`: its only use an activation, then (or directly) a residual add that no
/// layer norm takes (matchAddLayerNorm).
std::optional<Epilogue> matchEpilogue(Value result, DominanceInfo &dominance) {
  if (!result.hasOneUse())
    return std::nullopt;
  Epilogue epilogue{};
  Value current = result;
  Operation *user = *current.getUsers().begin();
  if (auto activation = dyn_cast<ActivationOp>(user)) {
    epilogue.activation = activation;
    epilogue.last = activation;
    current = activation.getResult();
    user = current.hasOneUse() ? *current.getUsers().begin() : nullptr;
  }
  if (auto add = dyn_cast_or_null<AddOp>(user)) {
    Value other = add.getLhs() == current ? add.getRhs() : add.getLhs();
    if (other != current && !matchAddLayerNorm(add, dominance)) {
      epilogue.residualAdd = add;
      epilogue.residual = other;
      epilogue.last = add;
    }
  }
  if (!epilogue.last)
    return std::nullopt;
  return epilogue;
}

std::optional<Epilogue> matchEpilogue(QuantizedLinearOp op, DominanceInfo &dominance) {
  if (!hasEpilogueKernel(op.getScheme()))
    return std::nullopt;
  return matchEpilogue(op.getResult(), dominance);
}

/// An f32 linear layer that runs on effc_uk_linear_f32 (canUseF32LinearKernel).
bool hasF32Kernel(LinearOp op) {
  return isF32Tensor(op.getResult()) && canUseF32LinearKernel(op.getInput(), op.getWeight());
}

Value f32Placeholder(OpBuilder &b, Location loc, ArrayRef<int64_t> shape) {
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(RankedTensorType::get(shape, b.getF32Type()), 0.0f));
}

/// The [B, S, N] f32 result of a kernel called on the [B, S, K] activation `x`.
UkernelResult resultLike(OpBuilder &b, Location loc, Value x, int64_t n) {
  auto xType = cast<RankedTensorType>(x.getType());
  UkernelResult result{RankedTensorType::get({xType.getDimSize(0), xType.getDimSize(1), n}, b.getF32Type()), {}};
  for (int64_t dim : {0, 1})
    if (xType.isDynamicDim(dim))
      result.dynamicSizes.push_back(tensor::DimOp::create(b, loc, x, dim));
  return result;
}

/// The epilogue flags of ukernels/epilogue.h for `epilogue`.
int64_t epilogueFlags(Epilogue epilogue) {
  int64_t flags = epilogue.activation ? ukernelActivationCode(epilogue.activation.getKind()) : 0;
  return epilogue.residualAdd ? flags | kEpilogueResidual : flags;
}

LogicalResult lowerEpilogue(IRRewriter &rewriter, QuantizedLinearOp op, Epilogue epilogue) {
  rewriter.setInsertionPoint(epilogue.last);
  Location loc = op.getLoc();
  auto i64 = [&](int64_t v) { return Value(arith::ConstantIntOp::create(rewriter, loc, v, 64)); };
  Value x = flattenTo3D(rewriter, loc, op.getInput());
  Value bias = op.getBias();
  int64_t flags = epilogueFlags(epilogue);
  Value residual = epilogue.residualAdd ? flattenTo3D(rewriter, loc, epilogue.residual)
                                        : f32Placeholder(rewriter, loc, {1, 1, 1});
  // The operands of ukernels/quantized_gemm.c's signatures: int8 (x, packed, column sums, scales, bias,
  // has_bias, static scale, static zero point, residual, flags), bf16 (x, packed, bias, has_bias, residual,
  // flags).
  SmallVector<Value> operands{x, op.getPacked()};
  if (op.getScheme() == QuantScheme::int8)
    operands.append({op.getColumnSums(), op.getScales()});
  operands.append({bias ? bias : f32Placeholder(rewriter, loc, {1}), i64(bias ? 1 : 0)});
  if (op.getScheme() == QuantScheme::int8) {
    float scale = op.getInputScale() ? op.getInputScale()->convertToFloat() : 0.0f;
    operands.append({arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(scale)),
                     i64(op.getInputZeroPoint().value_or(0))});
  }
  unsigned residualIndex = operands.size();
  operands.append({residual, i64(flags)});
  SmallVector<UkernelEqualExtents> ties;
  if (epilogue.residualAdd)
    ties = {{0, 0, residualIndex, 0}, {0, 1, residualIndex, 1}};
  FailureOr<SmallVector<Value>> y =
      buildUkernelCall(rewriter, loc, epilogueKernelName(op.getScheme()), operands,
                       {resultLike(rewriter, loc, x, static_cast<int64_t>(op.getOutFeatures()))}, ties);
  if (failed(y))
    return failure();
  replaceWithCast(rewriter, epilogue.last, unflattenFrom3D(rewriter, loc, (*y)[0], op.getInput()));
  if (epilogue.residualAdd && epilogue.activation)
    rewriter.eraseOp(epilogue.activation);
  rewriter.eraseOp(op);
  return success();
}

LogicalResult lowerEpilogue(IRRewriter &rewriter, LinearOp op, Epilogue epilogue) {
  rewriter.setInsertionPoint(epilogue.last);
  FailureOr<Value> y = buildF32LinearKernelCall(rewriter, op.getLoc(), op.getInput(), op.getWeight(), op.getBias(),
                                                epilogueFlags(epilogue), epilogue.residual);
  if (failed(y))
    return failure();
  replaceWithCast(rewriter, epilogue.last, *y);
  if (epilogue.residualAdd && epilogue.activation)
    rewriter.eraseOp(epilogue.activation);
  rewriter.eraseOp(op);
  return success();
}

LogicalResult lowerAddLayerNorm(IRRewriter &rewriter, AddOp add, AddLayerNorm group) {
  rewriter.setInsertionPoint(group.insertionPoint);
  Location loc = group.norm.getLoc();
  Value x = flattenTo3D(rewriter, loc, add.getLhs());
  Value r = flattenTo3D(rewriter, loc, add.getRhs());
  Value beta = group.norm.getBeta();
  SmallVector<Value> operands{
      x,
      r,
      group.norm.getGamma(),
      beta ? beta : f32Placeholder(rewriter, loc, {1}),
      arith::ConstantIntOp::create(rewriter, loc, beta ? 1 : 0, 64),
      arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(group.norm.getEpsilon().convertToFloat()))};
  int64_t d = cast<RankedTensorType>(x.getType()).getDimSize(2);
  UkernelResult result = resultLike(rewriter, loc, x, d);
  if (ShapedType::isDynamic(d))
    result.dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, x, 2));
  SmallVector<UkernelResult> results{result};
  if (group.keepSum)
    results.push_back(result);
  StringRef name = group.keepSum ? "effc_uk_add_layer_norm_keep_sum" : "effc_uk_add_layer_norm";
  FailureOr<SmallVector<Value>> outputs =
      buildUkernelCall(rewriter, loc, name, operands, results, {{0, 0, 1, 0}, {0, 1, 1, 1}, {0, 2, 1, 2}, {0, 2, 2, 0}});
  if (failed(outputs))
    return failure();
  replaceWithCast(rewriter, group.norm, unflattenFrom3D(rewriter, loc, (*outputs)[0], add.getLhs()));
  if (group.keepSum)
    replaceWithCast(rewriter, add, unflattenFrom3D(rewriter, loc, (*outputs)[1], add.getLhs()));
  else
    rewriter.eraseOp(add);
  return success();
}

constexpr llvm::StringLiteral kTakenByAddLayerNorm =
    "the add + layer norm kernel takes the add (same memory traffic, and the norm becomes one pass)";

/// Records for the fusion report what became of the activation and residual add after a GEMM `op` (its
/// `bias` and `result`) whose epilogue kernel is `kernel`, or which has none for the reason `noKernel`.
void recordEpilogueDecisions(Operation *op, Value bias, Value result, std::optional<Epilogue> epilogue,
                             StringRef kernel, StringRef noKernel, DominanceInfo &dominance) {
  if (!op->getContext()->getRemarkEngine())
    return;
  std::string applied = "applied by " + kernel.str() + " to each output tile while it is in registers";
  auto explainAdd = [&](AddOp add, llvm::StringRef otherwise) {
    effc::recordFusion(add.getLoc(), effc::fusion::kGemmResidual, /*fired=*/false,
                 matchAddLayerNorm(add, dominance)
                     ? llvm::StringRef(kTakenByAddLayerNorm) : otherwise);
  };
  if (epilogue) {
    if (bias)
      effc::recordFusion(op->getLoc(), effc::fusion::kGemmBias, /*fired=*/true,
                         "the micro-kernel adds the bias to its output tile");
    if (epilogue->activation)
      effc::recordFusion(epilogue->activation.getLoc(), effc::fusion::kGemmActivation, /*fired=*/true, applied);
    if (epilogue->residualAdd)
      effc::recordFusion(epilogue->residualAdd.getLoc(), effc::fusion::kGemmResidual, /*fired=*/true, applied);
    else if (epilogue->activation && epilogue->activation.getResult().hasOneUse())
      if (auto add = dyn_cast<AddOp>(*epilogue->activation.getResult().getUsers().begin()))
        explainAdd(add, "the add reads the activation twice");
    return;
  }
  std::string why = !noKernel.empty() ? noKernel.str() : "the GEMM's result has several uses";
  for (Operation *user : result.getUsers()) {
    if (auto activation = dyn_cast<ActivationOp>(user))
      effc::recordFusion(activation.getLoc(), effc::fusion::kGemmActivation, /*fired=*/false, why);
    else if (auto add = dyn_cast<AddOp>(user))
      explainAdd(add, why);
  }
}

/// Records for the fusion report why the layer norms reading `add` were not fused with it.
void explainUnfusedAddLayerNorm(AddOp add) {
  if (!add->getContext()->getRemarkEngine())
    return;
  unsigned norms = 0;
  for (OpOperand &use : add.getResult().getUses())
    norms += isa<LayerNormOp>(use.getOwner()) && use.getOperandNumber() == 0;
  for (OpOperand &use : add.getResult().getUses()) {
    auto norm = dyn_cast<LayerNormOp>(use.getOwner());
    if (!norm || use.getOperandNumber() != 0)
      continue;
    effc::recordFusion(norm.getLoc(), effc::fusion::kResidualNorm, /*fired=*/false,
                 !isF32Tensor(add.getResult()) || !isF32Tensor(norm.getResult())
                     ? "the add + layer norm kernel is f32 only"
                 : norms > 1 ? "several layer norms read the add"
                             : "the sum is used elsewhere too and gamma or beta is defined after the add");
  }
}

} // namespace

LogicalResult effc::lowerFusedGroups(ModuleOp module, bool f32LinearKernel) {
  IRRewriter rewriter(module.getContext());
  // Only ops are added and removed below, never blocks, so one dominance analysis serves throughout.
  DominanceInfo dominance(module);
  // GEMM epilogues first: matchEpilogue leaves the adds that a layer norm takes to the second walk.
  SmallVector<QuantizedLinearOp> linears;
  module.walk([&](QuantizedLinearOp op) { linears.push_back(op); });
  for (QuantizedLinearOp op : linears) {
    std::optional<Epilogue> epilogue = matchEpilogue(op, dominance);
    std::string noKernel;
    if (!hasEpilogueKernel(op.getScheme()))
      noKernel = "only the int8 and bf16 GEMM kernels have an epilogue; this one is " +
                 stringifyQuantScheme(op.getScheme()).str();
    recordEpilogueDecisions(op, op.getBias(), op.getResult(), epilogue, epilogueKernelName(op.getScheme()),
                            noKernel, dominance);
    if (epilogue && failed(lowerEpilogue(rewriter, op, *epilogue)))
      return failure();
  }
  // f32 linear layers on effc_uk_linear_f32; the others' epilogues are fused by effc-cpu-tile-and-vectorize.
  if (f32LinearKernel) {
    SmallVector<LinearOp> f32Linears;
    module.walk([&](LinearOp op) {
      if (hasF32Kernel(op))
        f32Linears.push_back(op);
    });
    for (LinearOp op : f32Linears) {
      std::optional<Epilogue> epilogue = matchEpilogue(op.getResult(), dominance);
      // (buildF32LinearKernelCall records the bias.)
      recordEpilogueDecisions(op, Value(), op.getResult(), epilogue, "effc_uk_linear_f32", "", dominance);
      if (!epilogue)
        continue; // the per-op pattern calls the kernel without an epilogue
      if (failed(lowerEpilogue(rewriter, op, *epilogue)))
        return failure();
    }
  }
  SmallVector<AddOp> adds;
  module.walk([&](AddOp op) { adds.push_back(op); });
  for (AddOp add : adds) {
    std::optional<AddLayerNorm> group = matchAddLayerNorm(add, dominance);
    if (!group) {
      explainUnfusedAddLayerNorm(add);
      continue;
    }
    if (isa_and_present<LinearOp, FfnOp, QuantizedLinearOp, SparseLinearOp>(add.getLhs().getDefiningOp()) ||
        isa_and_present<LinearOp, FfnOp, QuantizedLinearOp, SparseLinearOp>(add.getRhs().getDefiningOp()))
      effc::recordFusion(add.getLoc(), effc::fusion::kGemmResidual, /*fired=*/false, kTakenByAddLayerNorm);
    effc::recordFusion(group->norm.getLoc(), effc::fusion::kResidualNorm, /*fired=*/true,
                 group->keepSum ? "one call of effc_uk_add_layer_norm_keep_sum (the sum is still used)"
                                : "one call of effc_uk_add_layer_norm");
    if (failed(lowerAddLayerNorm(rewriter, add, *group)))
      return failure();
  }
  return success();
}
