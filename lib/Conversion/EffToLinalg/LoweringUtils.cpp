//===- LoweringUtils.cpp - builders shared by the eff lowerings ------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "effc/Support/FusionRemarks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;

namespace effc::lowering {

void replaceWithCast(RewriterBase &rewriter, Operation *op, Value value) {
  rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op->getResult(0).getType(), value);
}

SmallVector<OpFoldResult> getSizes(OpBuilder &b, Location loc, Value tensor) {
  return tensor::getMixedSizes(b, loc, tensor);
}

Value createEmpty(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(floatType, value));
  if (type.isIndex())
    return arith::ConstantIndexOp::create(b, loc, static_cast<int64_t>(value));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value createFilled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, Type elementType, double value) {
  Value empty = createEmpty(b, loc, sizes, elementType);
  Value scalar = scalarConstant(b, loc, elementType, value);
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{empty}).getResult(0);
}

Type computeType(Type elementType) {
  if (elementType.isF16() || elementType.isBF16())
    return Float32Type::get(elementType.getContext());
  return elementType;
}

Value castScalar(OpBuilder &b, Location loc, Value value, Type type) {
  Type from = value.getType();
  if (from == type)
    return value;
  auto fromFloat = dyn_cast<FloatType>(from), toFloat = dyn_cast<FloatType>(type);
  if (fromFloat && toFloat)
    return fromFloat.getWidth() < toFloat.getWidth() ? Value(arith::ExtFOp::create(b, loc, type, value))
                                                     : Value(arith::TruncFOp::create(b, loc, type, value));
  if (from.isIndex() || type.isIndex()) {
    if (toFloat) {
      Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), value);
      return arith::SIToFPOp::create(b, loc, type, i64);
    }
    return arith::IndexCastOp::create(b, loc, type, value);
  }
  if (toFloat) {
    if (from.isInteger(1))
      return arith::UIToFPOp::create(b, loc, type, value);
    return arith::SIToFPOp::create(b, loc, type, value);
  }
  if (fromFloat)
    return arith::FPToSIOp::create(b, loc, type, value);
  unsigned fromWidth = from.getIntOrFloatBitWidth(), toWidth = type.getIntOrFloatBitWidth();
  if (fromWidth < toWidth)
    return arith::ExtSIOp::create(b, loc, type, value);
  return arith::TruncIOp::create(b, loc, type, value);
}

Value flattenToMatrix(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return tensor;
  if (rank == 1) {
    auto matrixType = RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType());
    return tensor::ExpandShapeOp::create(b, loc, matrixType, tensor, ArrayRef<ReassociationIndices>{{0, 1}});
  }
  ReassociationIndices leading;
  for (int64_t i = 0; i < rank - 1; ++i)
    leading.push_back(i);
  return tensor::CollapseShapeOp::create(b, loc, tensor, ArrayRef<ReassociationIndices>{leading, {rank - 1}});
}

Value unflattenFromMatrix(OpBuilder &b, Location loc, Value matrix, Value like) {
  auto likeType = cast<RankedTensorType>(like.getType());
  auto matrixType = cast<RankedTensorType>(matrix.getType());
  int64_t rank = likeType.getRank();
  if (rank == 2)
    return matrix;
  SmallVector<int64_t> shape(likeType.getShape().drop_back());
  shape.push_back(matrixType.getDimSize(1));
  auto resultType = RankedTensorType::get(shape, matrixType.getElementType());
  if (rank == 1)
    return tensor::CollapseShapeOp::create(b, loc, resultType, matrix, ArrayRef<ReassociationIndices>{{0, 1}});
  SmallVector<OpFoldResult> outputShape = getSizes(b, loc, like);
  outputShape.back() = tensor::getMixedSize(b, loc, matrix, 1);
  ReassociationIndices leading;
  for (int64_t i = 0; i < rank - 1; ++i)
    leading.push_back(i);
  return tensor::ExpandShapeOp::create(b, loc, resultType, matrix,
                                       ArrayRef<ReassociationIndices>{leading, {rank - 1}}, outputShape);
}

/// The reassociation between a rank-`rank` tensor and its [B, S, K] view.
static SmallVector<ReassociationIndices> threeDimGroups(int64_t rank) {
  if (rank == 1)
    return {{0, 1, 2}};
  if (rank == 2)
    return {{0, 1}, {2}};
  ReassociationIndices middle;
  for (int64_t i = 1; i < rank - 1; ++i)
    middle.push_back(i);
  return {{0}, middle, {rank - 1}};
}

Value flattenTo3D(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t rank = type.getRank();
  if (rank == 3)
    return tensor;
  if (rank > 3)
    return tensor::CollapseShapeOp::create(b, loc, tensor, threeDimGroups(rank));
  // Rank 1 and 2 gain unit dimensions: one dynamic size at most per group.
  SmallVector<int64_t> shape(3 - rank, 1);
  llvm::append_range(shape, type.getShape());
  SmallVector<OpFoldResult> sizes(3 - rank, b.getIndexAttr(1));
  llvm::append_range(sizes, getSizes(b, loc, tensor));
  return tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()), tensor,
                                       threeDimGroups(rank), sizes);
}

Value unflattenFrom3D(OpBuilder &b, Location loc, Value result, Value like) {
  auto likeType = cast<RankedTensorType>(like.getType());
  auto resultType = cast<RankedTensorType>(result.getType());
  int64_t rank = likeType.getRank();
  if (rank == 3)
    return result;
  SmallVector<int64_t> shape(likeType.getShape());
  shape.back() = resultType.getDimSize(2);
  auto type = RankedTensorType::get(shape, resultType.getElementType());
  if (rank < 3)
    return tensor::CollapseShapeOp::create(b, loc, type, result, threeDimGroups(rank));
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, like);
  sizes.back() = tensor::getMixedSize(b, loc, result, 2);
  return tensor::ExpandShapeOp::create(b, loc, type, result, threeDimGroups(rank), sizes);
}

Value buildTranspose(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> permutation) {
  if (llvm::equal(permutation, llvm::seq<int64_t>(0, permutation.size())))
    return input;
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, input), permuted;
  for (int64_t p : permutation)
    permuted.push_back(sizes[p]);
  Value init = createEmpty(b, loc, permuted, getElementTypeOrSelf(input.getType()));
  return linalg::TransposeOp::create(b, loc, input, init, permutation).getResult()[0];
}

Value transpose2D(OpBuilder &b, Location loc, Value matrix) { return buildTranspose(b, loc, matrix, {1, 0}); }

Value matmul(OpBuilder &b, Location loc, Value a, Value bKN, Value init) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  auto maps = AffineMap::inferFromExprList(ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {k, n}, {m, n}}, ctx);
  Type resultType = init.getType();
  Type accType = computeType(getElementTypeOrSelf(resultType));
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, ValueRange{a, bKN}, ValueRange{init}, maps,
             {utils::IteratorType::parallel, utils::IteratorType::parallel, utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value lhs = castScalar(nb, nl, args[0], accType), rhs = castScalar(nb, nl, args[1], accType);
               Value sum = arith::AddFOp::create(nb, nl, castScalar(nb, nl, args[2], accType),
                                                 arith::MulFOp::create(nb, nl, lhs, rhs));
               linalg::YieldOp::create(nb, nl, castScalar(nb, nl, sum, args[2].getType()));
             })
      .getResult(0);
}

Value buildActivation(OpBuilder &b, Location loc, eff::ActivationKind kind, Value x) {
  Type elementType = x.getType();
  Type type = computeType(elementType);
  Value v = castScalar(b, loc, x, type);
  auto cst = [&](double value) { return scalarConstant(b, loc, type, value); };
  auto sigmoid = [&](Value t) {
    Value negated = arith::NegFOp::create(b, loc, t);
    Value denominator = arith::AddFOp::create(b, loc, cst(1.0), math::ExpOp::create(b, loc, negated));
    return Value(arith::DivFOp::create(b, loc, cst(1.0), denominator));
  };
  Value result;
  switch (kind) {
  case eff::ActivationKind::relu:
    result = arith::MaximumFOp::create(b, loc, v, cst(0.0));
    break;
  case eff::ActivationKind::gelu: {
    Value scaled = arith::MulFOp::create(b, loc, v, cst(M_SQRT1_2));
    Value erf = math::ErfOp::create(b, loc, scaled);
    Value half = arith::MulFOp::create(b, loc, v, cst(0.5));
    result = arith::MulFOp::create(b, loc, half, arith::AddFOp::create(b, loc, cst(1.0), erf));
    break;
  }
  case eff::ActivationKind::gelu_tanh: {
    Value cube = arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, v, v), v);
    Value inner = arith::AddFOp::create(b, loc, v, arith::MulFOp::create(b, loc, cube, cst(0.044715)));
    Value tanh = math::TanhOp::create(b, loc, arith::MulFOp::create(b, loc, inner, cst(std::sqrt(2.0 / M_PI))));
    Value half = arith::MulFOp::create(b, loc, v, cst(0.5));
    result = arith::MulFOp::create(b, loc, half, arith::AddFOp::create(b, loc, cst(1.0), tanh));
    break;
  }
  case eff::ActivationKind::silu:
    result = arith::MulFOp::create(b, loc, v, sigmoid(v));
    break;
  case eff::ActivationKind::sigmoid:
    result = sigmoid(v);
    break;
  case eff::ActivationKind::tanh:
    result = math::TanhOp::create(b, loc, v);
    break;
  }
  return castScalar(b, loc, result, elementType);
}

/// The indexing map of an operand broadcast over an iteration space of rank `rank`.
static AffineMap broadcastMap(Broadcast broadcast, int64_t rank, MLIRContext *ctx) {
  switch (broadcast) {
  case Broadcast::Full:
    return AffineMap::getMultiDimIdentityMap(rank, ctx);
  case Broadcast::Channel:
    return AffineMap::get(rank, 0, {getAffineDimExpr(rank - 1, ctx)}, ctx);
  case Broadcast::Rows:
    return AffineMap::getMultiDimIdentityMap(rank, ctx).dropResult(rank - 1);
  }
  llvm_unreachable("unknown broadcast");
}

Value buildElementwise(OpBuilder &b, Location loc, Value shapeLike, ValueRange inputs,
                       ArrayRef<Broadcast> broadcasts, Type resultElementType, BodyBuilder body) {
  auto shapeType = cast<RankedTensorType>(shapeLike.getType());
  int64_t rank = shapeType.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Broadcast broadcast : broadcasts)
    maps.push_back(broadcastMap(broadcast, rank, ctx));
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = createEmpty(b, loc, getSizes(b, loc, shapeLike), resultElementType);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     Value result = body(nb, nl, args.drop_back());
                                     linalg::YieldOp::create(nb, nl, result);
                                   })
      .getResult(0);
}

Value buildActivationElementwise(OpBuilder &b, Location loc, eff::ActivationKind kind, Value x,
                                 Type resultElementType) {
  if (!resultElementType)
    resultElementType = getElementTypeOrSelf(x.getType());
  return buildElementwise(b, loc, x, {x}, {Broadcast::Full}, resultElementType,
                          [&](OpBuilder &nb, Location nl, ValueRange args) {
                            return buildActivation(nb, nl, kind, args[0]);
                          });
}

Value buildLastDimReduction(OpBuilder &b, Location loc, Value input, Type accType, double init, ValueRange extra,
                            BodyBuilder body) {
  auto inputType = cast<RankedTensorType>(input.getType());
  int64_t rank = inputType.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, input);
  sizes.pop_back();
  Value accInit = createFilled(b, loc, sizes, accType, init);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx)};
  SmallVector<Value> inputs = {input};
  for (Value value : extra) {
    maps.push_back(broadcastMap(Broadcast::Rows, rank, ctx));
    inputs.push_back(value);
  }
  maps.push_back(broadcastMap(Broadcast::Rows, rank, ctx));
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  return linalg::GenericOp::create(b, loc, TypeRange{accInit.getType()}, inputs, ValueRange{accInit}, maps,
                                   iterators,
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     linalg::YieldOp::create(nb, nl, body(nb, nl, args));
                                   })
      .getResult(0);
}

Value lastDimAsScalar(OpBuilder &b, Location loc, Value tensor, Type type) {
  auto tensorType = cast<RankedTensorType>(tensor.getType());
  Value dim = tensor::DimOp::create(b, loc, tensor, tensorType.getRank() - 1);
  return castScalar(b, loc, dim, type);
}


Value buildLinear(OpBuilder &b, Location loc, Value x, Value weight, Value bias, Type resultElementType) {
  if (!resultElementType)
    resultElementType = getElementTypeOrSelf(weight.getType());
  MLIRContext *ctx = b.getContext();
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<OpFoldResult> sizes = getSizes(b, loc, x);
  sizes.back() = tensor::getMixedSize(b, loc, weight, 0);
  Value init;
  if (bias) {
    // Start the accumulation from the bias broadcast over the leading dimensions.
    effc::recordFusion(loc, effc::fusion::kGemmBias, true, "the bias initialises the GEMM's accumulator");
    init = buildElementwise(b, loc, createEmpty(b, loc, sizes, resultElementType), {bias}, {Broadcast::Channel},
                            resultElementType, [&](OpBuilder &nb, Location nl, ValueRange args) {
                              return castScalar(nb, nl, args[0], resultElementType);
                            });
  } else {
    init = createFilled(b, loc, sizes, resultElementType, 0.0);
  }
  // Loops: x's leading dimensions, n, k. The [N, K] weight is read as [K, N] so that the kernels stream it
  // row by row; for constant weights the transpose is folded at compile time (effc-pack-weights). No
  // reshape of x to a matrix: LLVM 22 miscompiles memref.expand_shape with two dynamic sizes in one group
  // (llvm/llvm-project#186830).
  int64_t numLoops = rank + 1;
  SmallVector<AffineExpr> xExprs, outExprs;
  for (int64_t i = 0; i < rank - 1; ++i) {
    xExprs.push_back(getAffineDimExpr(i, ctx));
    outExprs.push_back(getAffineDimExpr(i, ctx));
  }
  AffineExpr n = getAffineDimExpr(rank - 1, ctx), k = getAffineDimExpr(rank, ctx);
  xExprs.push_back(k);
  outExprs.push_back(n);
  SmallVector<AffineMap> maps = {AffineMap::get(numLoops, 0, xExprs, ctx), AffineMap::get(numLoops, 0, {k, n}, ctx),
                                 AffineMap::get(numLoops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  Type accType = computeType(resultElementType);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{x, transpose2D(b, loc, weight)}, ValueRange{init}, maps,
             iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value lhs = castScalar(nb, nl, args[0], accType), rhs = castScalar(nb, nl, args[1], accType);
               Value sum = arith::AddFOp::create(nb, nl, castScalar(nb, nl, args[2], accType),
                                                 arith::MulFOp::create(nb, nl, lhs, rhs));
               linalg::YieldOp::create(nb, nl, castScalar(nb, nl, sum, args[2].getType()));
             })
      .getResult(0);
}

/// The fully dynamic type of `type`'s rank: what a micro-kernel declaration takes, so that one declaration
/// serves every shape. Tensors cast to it; buffers additionally get a fully dynamic strided layout.
static RankedTensorType dynamicTensor(RankedTensorType type) {
  return RankedTensorType::get(SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic), type.getElementType());
}

static MemRefType dynamicBuffer(RankedTensorType type) {
  SmallVector<int64_t> dynamic(type.getRank(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic, dynamic);
  return MemRefType::get(dynamic, type.getElementType(), layout);
}

int64_t ukernelActivationCode(eff::ActivationKind kind) {
  switch (kind) {
  case eff::ActivationKind::relu:
    return 1;
  case eff::ActivationKind::gelu:
    return 2;
  case eff::ActivationKind::gelu_tanh:
    return 3;
  case eff::ActivationKind::silu:
    return 4;
  case eff::ActivationKind::sigmoid:
    return 5;
  case eff::ActivationKind::tanh:
    return 6;
  }
  llvm_unreachable("unknown activation kind");
}

FailureOr<SmallVector<Value>> buildUkernelCall(OpBuilder &b, Location loc, StringRef name, ValueRange operands,
                                               ArrayRef<UkernelResult> results,
                                               ArrayRef<UkernelEqualExtents> equalExtents,
                                               ArrayRef<NamedAttribute> attributes) {
  // One-shot bufferization sees the kernel's reads only as these to_buffer ops; CSE may merge those of two
  // calls, which effc-sink-call-operand-buffers undoes before bufferization.
  SmallVector<Value> arguments;
  for (Value operand : operands) {
    auto tensorType = dyn_cast<RankedTensorType>(operand.getType());
    if (!tensorType) {
      arguments.push_back(operand);
      continue;
    }
    if (tensorType != dynamicTensor(tensorType))
      operand = tensor::CastOp::create(b, loc, dynamicTensor(tensorType), operand);
    arguments.push_back(bufferization::ToBufferOp::create(b, loc, dynamicBuffer(tensorType), operand,
                                                          /*read_only=*/true));
  }
  SmallVector<Value> buffers;
  for (const UkernelResult &result : results) {
    auto bufferType = MemRefType::get(result.type.getShape(), result.type.getElementType());
    Value buffer = memref::AllocOp::create(b, loc, bufferType, result.dynamicSizes, b.getI64IntegerAttr(64));
    buffers.push_back(buffer);
    arguments.push_back(memref::CastOp::create(b, loc, dynamicBuffer(result.type), buffer));
  }

  auto module = b.getInsertionBlock()->getParentOp()->getParentOfType<ModuleOp>();
  auto calleeType = b.getFunctionType(ValueRange(arguments).getTypes(), {});
  auto callee = module.lookupSymbol<func::FuncOp>(name);
  if (!callee) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    callee = func::FuncOp::create(b, module.getLoc(), name, calleeType);
    callee.setPrivate();
  } else if (callee.getFunctionType() != calleeType) {
    return emitError(loc) << "internal error: micro-kernel '" << name << "' called with type " << calleeType
                          << " but declared as " << callee.getFunctionType();
  }
  auto call = func::CallOp::create(b, loc, callee, arguments);
  if (!equalExtents.empty()) {
    SmallVector<int64_t> quadruples;
    for (const UkernelEqualExtents &tie : equalExtents)
      quadruples.append({tie.lhs, tie.lhsDim, tie.rhs, tie.rhsDim});
    call->setAttr(kUkernelEqualExtentsAttr, b.getDenseI64ArrayAttr(quadruples));
  }
  for (NamedAttribute attribute : attributes)
    call->setAttr(attribute.getName(), attribute.getValue());

  SmallVector<Value> tensors;
  for (auto [result, buffer] : llvm::zip_equal(results, buffers))
    tensors.push_back(bufferization::ToTensorOp::create(b, loc, result.type, buffer, /*restrict=*/true,
                                                        /*writable=*/true));
  return tensors;
}

bool canUseF32LinearKernel(Value x, Value weight) {
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  auto weightType = dyn_cast<RankedTensorType>(weight.getType());
  if (!xType || !weightType || !xType.getElementType().isF32() || !weightType.getElementType().isF32() ||
      xType.getRank() < 2 || weightType.getRank() != 2 || !weightType.hasStaticShape())
    return false;
  // A single static row (a decode step) is a GEMV, bound by the weight stream: the generated GEMV (whole rows
  // of 32-column panels, several FMA chains per row) streams it faster than the kernel's 1 x 64 tiles.
  ArrayRef<int64_t> rows = xType.getShape().drop_back();
  if (llvm::none_of(rows, ShapedType::isDynamic) && llvm::product_of(rows) < kF32LinearKernelMinRows)
    return false;
  // The panel layout must be a compile-time change: a constant, or an argument of a private function (a body
  // shared by layers, whose callers pass constants that effc-pack-weights packs). Other weights stay [N, K].
  if (matchPattern(weight, m_Constant()))
    return true;
  auto argument = dyn_cast<BlockArgument>(weight);
  auto func = argument ? dyn_cast<func::FuncOp>(argument.getOwner()->getParentOp()) : nullptr;
  return func && func.isPrivate();
}

FailureOr<Value> buildF32LinearKernelCall(OpBuilder &b, Location loc, Value x, Value weight, Value bias,
                                          int64_t flags, Value residual) {
  constexpr int64_t kPanelWidth = 16;
  auto weightType = cast<RankedTensorType>(weight.getType());
  int64_t n = weightType.getDimSize(0), k = weightType.getDimSize(1);
  int64_t paddedN = (n + kPanelWidth - 1) / kPanelWidth * kPanelWidth;
  Type f32 = b.getF32Type();
  Value panels = weight;
  if (paddedN != n) {
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    SmallVector<OpFoldResult> low{b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> high{b.getIndexAttr(paddedN - n), b.getIndexAttr(0)};
    panels = tensor::PadOp::create(b, loc, RankedTensorType::get({paddedN, k}, f32), panels, low, high, zero);
  }
  panels = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get({paddedN / kPanelWidth, kPanelWidth, k}, f32),
                                         panels, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  Value init = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{paddedN / kPanelWidth, k, kPanelWidth}, f32);
  panels = linalg::TransposeOp::create(b, loc, panels, init, ArrayRef<int64_t>{0, 2, 1}).getResult()[0];

  Value x3D = flattenTo3D(b, loc, x);
  auto i64 = [&](int64_t v) { return Value(arith::ConstantIntOp::create(b, loc, v, 64)); };
  auto placeholder = [&](ArrayRef<int64_t> shape) {
    return Value(arith::ConstantOp::create(b, loc, DenseElementsAttr::get(RankedTensorType::get(shape, f32), 0.0f)));
  };
  Value residual3D = residual ? flattenTo3D(b, loc, residual) : placeholder({1, 1, 1});
  SmallVector<Value> operands{x3D, panels, bias ? bias : placeholder({1}), i64(bias ? 1 : 0), residual3D,
                              i64(flags)};
  auto xType = cast<RankedTensorType>(x3D.getType());
  UkernelResult result{RankedTensorType::get({xType.getDimSize(0), xType.getDimSize(1), n}, f32), {}};
  for (int64_t dim : {0, 1})
    if (xType.isDynamicDim(dim))
      result.dynamicSizes.push_back(tensor::DimOp::create(b, loc, x3D, dim));
  // x's K is the panels' K; a residual has x's leading extents.
  SmallVector<UkernelEqualExtents> ties{{0, 2, 1, 1}};
  if (residual)
    ties.append({{0, 0, 4, 0}, {0, 1, 4, 1}});
  NamedAttribute extents(b.getStringAttr(effc::fusion::kGemmExtentsAttr), b.getDenseI64ArrayAttr({n, k}));
  FailureOr<SmallVector<Value>> y =
      buildUkernelCall(b, loc, "effc_uk_linear_f32", operands, {result}, ties, {extents});
  if (failed(y))
    return failure();
  if (bias)
    effc::recordFusion(loc, effc::fusion::kGemmBias, true, "the micro-kernel adds the bias to its output tile");
  return unflattenFrom3D(b, loc, (*y)[0], x);
}

} // namespace effc::lowering
