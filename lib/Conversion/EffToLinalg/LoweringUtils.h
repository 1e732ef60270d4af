//===- LoweringUtils.h - builders shared by the eff lowerings ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Small builders of linalg/tensor IR used by every eff -> linalg pattern: sizes and empty tensors,
// matrix views of [..., K] activations, the nn.Linear contraction, scalar activations, and elementwise and
// last-dimension reduction generics. Arithmetic on f16/bf16 is carried out in f32.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_LIB_CONVERSION_EFFTOLINALG_LOWERINGUTILS_H
#define EFFC_LIB_CONVERSION_EFFTOLINALG_LOWERINGUTILS_H

#include "effc/Dialect/Eff/IR/EffOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/PatternMatch.h"

namespace effc::lowering {

using BodyBuilder = llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// Replaces the single-result `op` with `value`, cast to the op's (possibly more static) result type.
void replaceWithCast(mlir::RewriterBase &rewriter, mlir::Operation *op, mlir::Value value);

/// The static or dynamic extents of a ranked tensor.
llvm::SmallVector<mlir::OpFoldResult> getSizes(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor);

/// A `tensor.empty` of the given extents.
mlir::Value createEmpty(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<mlir::OpFoldResult> sizes,
                        mlir::Type elementType);

/// A tensor of the given extents filled with `value`.
mlir::Value createFilled(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<mlir::OpFoldResult> sizes,
                         mlir::Type elementType, double value);

/// A scalar constant of a float or integer type.
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type, double value);

/// Converts a scalar between float (and integer) types.
mlir::Value castScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value, mlir::Type type);

/// The type arithmetic on `elementType` is carried out in (f32 for f16/bf16).
mlir::Type computeType(mlir::Type elementType);

/// Views `[d0, ..., dn-2, K]` as `[M, K]` (rank 1 becomes `[1, K]`).
mlir::Value flattenToMatrix(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor);

/// Views `[M, N]` as `like`'s leading dimensions followed by `N`: the inverse of flattenToMatrix.
mlir::Value unflattenFromMatrix(mlir::OpBuilder &b, mlir::Location loc, mlir::Value matrix, mlir::Value like);

/// Views `[..., K]` as `[B, S, K]`: rank 3 as it is, lower ranks with leading unit dimensions, higher ranks
/// with their middle dimensions folded into S. Unlike flattenToMatrix, the inverse (unflattenFrom3D) never
/// needs an expand_shape with two dynamic sizes in one group, which LLVM 22 cannot lower to memrefs
/// (llvm/llvm-project#186830), so kernels that take activations as buffers use this view.
mlir::Value flattenTo3D(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor);

/// Views a `[B, S, N]` result of a `[..., K]` activation `like` as `like`'s leading dimensions followed by
/// `N`: the inverse of flattenTo3D.
mlir::Value unflattenFrom3D(mlir::OpBuilder &b, mlir::Location loc, mlir::Value result, mlir::Value like);

/// `input` with its dimensions permuted (`linalg.transpose`; `input` itself for the identity).
mlir::Value buildTranspose(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                           llvm::ArrayRef<int64_t> permutation);

/// The transpose of a matrix (`linalg.transpose`).
mlir::Value transpose2D(mlir::OpBuilder &b, mlir::Location loc, mlir::Value matrix);

/// `init[m, n] + Σ_k a[m, k] · bKN[k, n]`.
mlir::Value matmul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a, mlir::Value bKN, mlir::Value init);

/// `x · Wᵀ + bias` over the last dimension of an activation of any rank >= 1, as one contraction over x's
/// leading dimensions (no reshape to a matrix). `bias` may be null; the result has element type
/// `resultElementType` (null: the weight's), accumulated in computeType of it.
mlir::Value buildLinear(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value weight,
                        mlir::Value bias, mlir::Type resultElementType = {});

/// The EFFC_UK_ACT_* code of `kind` that micro-kernel epilogues take (ukernels/epilogue.h).
int64_t ukernelActivationCode(mlir::eff::ActivationKind kind);

/// A scalar activation function applied to `x` (computed in computeType, returned in x's type).
mlir::Value buildActivation(mlir::OpBuilder &b, mlir::Location loc, mlir::eff::ActivationKind kind,
                            mlir::Value x);

/// How an operand of an elementwise generic is indexed relative to the iteration space (the result's
/// shape): `Full` has the result's shape, `Channel` is a vector over the last dimension, `Rows` has the
/// result's shape without its last dimension.
enum class Broadcast { Full, Channel, Rows };

/// An elementwise `linalg.generic` over the shape of `shapeLike` (a tensor), whose scalar body receives the
/// elements of `inputs` (indexed as `broadcasts` says) and returns the result element.
mlir::Value buildElementwise(mlir::OpBuilder &b, mlir::Location loc, mlir::Value shapeLike,
                             mlir::ValueRange inputs, llvm::ArrayRef<Broadcast> broadcasts,
                             mlir::Type resultElementType, BodyBuilder body);

/// The activation `kind` of every element of the tensor `x`, as one elementwise generic whose result has x's
/// shape and `resultElementType` (null: x's element type).
mlir::Value buildActivationElementwise(mlir::OpBuilder &b, mlir::Location loc, mlir::eff::ActivationKind kind,
                                       mlir::Value x, mlir::Type resultElementType = {});

/// Reduces the last dimension of `input` into a tensor of its leading shape (type `accType`), starting
/// from `init`: `body(element, accumulator)` returns the new accumulator. `extra` operands are indexed as
/// `Rows` (e.g. a mean subtracted before squaring) and passed after the element.
mlir::Value buildLastDimReduction(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input, mlir::Type accType,
                                  double init, mlir::ValueRange extra, BodyBuilder body);

/// The number of elements of a tensor's last dimension as a scalar of `type`.
mlir::Value lastDimAsScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor, mlir::Type type);

/// A result of a micro-kernel call: its type and the extents of its dynamic dimensions, in order.
struct UkernelResult {
  mlir::RankedTensorType type;
  llvm::SmallVector<mlir::Value> dynamicSizes;
};

/// Two operand dimensions of a micro-kernel call that must have the same extent: operand `lhs`'s dimension
/// `lhsDim` and operand `rhs`'s dimension `rhsDim` (indices into the call's `operands`).
struct UkernelEqualExtents {
  unsigned lhs;
  int64_t lhsDim;
  unsigned rhs;
  int64_t rhsDim;
};

/// The attribute of a micro-kernel call listing its UkernelEqualExtents as flattened quadruples; the call is
/// opaque otherwise, and effc-infer-dimension-groups reads it to tie the entry point's input dimensions.
inline constexpr llvm::StringLiteral kUkernelEqualExtentsAttr = "effc.equal_extents";

/// Calls the micro-kernel `name` (see ukernels/ukernel.h), declaring it in the enclosing module on first use.
/// The kernel's arguments are `operands` (ranked tensors are passed as read-only buffers, scalars as they
/// are), then one fresh 64-byte-aligned buffer per entry of `results`, which the kernel must fill entirely.
/// Buffers use MLIR's expanded memref calling convention with fully dynamic shapes and strides, so one
/// declaration serves every shape. Returns the filled results as tensors of the requested types; fails (with
/// a diagnostic) if `name` is already declared with another type. `equalExtents` records which operand
/// extents the kernel assumes equal (kUkernelEqualExtentsAttr); `attributes` are set on the call.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildUkernelCall(mlir::OpBuilder &b, mlir::Location loc, llvm::StringRef name, mlir::ValueRange operands,
                 llvm::ArrayRef<UkernelResult> results, llvm::ArrayRef<UkernelEqualExtents> equalExtents = {},
                 llvm::ArrayRef<mlir::NamedAttribute> attributes = {});

/// The fewest static rows (the product of x's leading dimensions) that effc_uk_linear_f32 takes. One row (a
/// decode step's GEMV) stays generated code, which streams the weights faster (docs/benchmarks.md); from two
/// rows on the kernel is faster.
constexpr int64_t kF32LinearKernelMinRows = 2;

/// Whether an f32 linear layer of `x` [..., K] and `weight` [N, K] can run on effc_uk_linear_f32
/// (ukernels/panel_gemm.c): both f32, x of rank 2 or more with a dynamic or at least kF32LinearKernelMinRows
/// rows, the weight statically shaped and a compile-time value.
bool canUseF32LinearKernel(mlir::Value x, mlir::Value weight);

/// The f32 linear layer epilogue(x · weightᵀ + bias) by one call of effc_uk_linear_f32, with the [N, K] weight
/// laid out as 16-column panels [ceil(N/16), K, 16] (zero columns pad the last one): a pad, a reshape and a
/// transpose that effc-pack-weights folds into the constant. `bias` [N] may be null; `flags` are
/// ukernels/epilogue.h's (activation code, EFFC_UK_EPILOGUE_RESIDUAL with `residual` like the result, else
/// null). Returns x's leading dimensions followed by N.
mlir::FailureOr<mlir::Value> buildF32LinearKernelCall(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                                                      mlir::Value weight, mlir::Value bias, int64_t flags,
                                                      mlir::Value residual);

} // namespace effc::lowering

#endif // EFFC_LIB_CONVERSION_EFFTOLINALG_LOWERINGUTILS_H
