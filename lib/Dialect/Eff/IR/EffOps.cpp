//===- EffOps.cpp - eff op verifiers and helpers ---------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// This file holds the verifiers of the eff ops whose results are not inferred (the shape rules of the others
// are in EffTypeInference.cpp) and small op helpers. Constraints cite docs/spec/eff.md.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::eff;

/// Head size of `hidden` channels split into `numHeads` heads, or kDynamic.
static int64_t headDimOf(int64_t hidden, int64_t numHeads) {
  if (ShapedType::isDynamic(hidden) || numHeads <= 0)
    return ShapedType::kDynamic;
  return hidden / numHeads;
}

//===----------------------------------------------------------------------===//
// ParameterOp
//===----------------------------------------------------------------------===//

LogicalResult ParameterOp::verify() {
  // eff_parameter_c1 (eff_parameter_c2 is the result's ODS type constraint)
  if (getName().empty())
    return emitOpError("requires a non-empty parameter name");
  // eff_parameter_c3, eff_parameter_c4
  int64_t rank = cast<RankedTensorType>(getType()).getRank() - (getStack() ? 1 : 0);
  if (getStack() && (getStack()->empty() || cast<RankedTensorType>(getType()).getDimSize(0) !=
                                                static_cast<int64_t>(getStack()->size())))
    return emitOpError("stacks ") << (getStack() ? getStack()->size() : 0)
                                  << " tensors, but its leading dimension is " << cast<RankedTensorType>(getType()).getDimSize(0);
  if (getTranspose() && rank != 2)
    return emitOpError("reads a transposed tensor, which must be 2-D, but each part has rank ") << rank;
  std::optional<int64_t> rowOffset = getRowOffset();
  if (rowOffset && (rank < 1 || *rowOffset < 0))
    return emitOpError("has row_offset ") << *rowOffset << ", which needs a non-negative offset into parts of rank >= 1";
  return success();
}

//===----------------------------------------------------------------------===//
// SoftmaxOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  // eff_softmax_c1
  int64_t rank = getInput().getType().getRank();
  int64_t axis = getAxis();
  if (axis < -rank || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for an input of rank " << rank;
  return success();
}

//===----------------------------------------------------------------------===//
// RotaryOp, AttentionOp
//===----------------------------------------------------------------------===//

int64_t RotaryOp::getHeadDim() {
  RankedTensorType type = getInput().getType();
  return headDimOf(type.getDimSize(type.getRank() - 1), getNumHeads());
}

int64_t AttentionOp::getNumKeyValueHeads() { return getNumKvHeads().value_or(getNumHeads()); }

int64_t AttentionOp::getHeadDim() { return headDimOf(getQuery().getType().getDimSize(2), getNumHeads()); }

//===----------------------------------------------------------------------===//
// LayerOp
//===----------------------------------------------------------------------===//

LogicalResult LayerOp::verifyRegions() {
  // eff_layer_c1
  if (static_cast<int64_t>(getIndex()) < 0)
    return emitOpError("index must be >= 0, got ") << static_cast<int64_t>(getIndex());
  // eff_layer_c2
  Block &body = getBody().front();
  if (body.getArgumentTypes() != getInputs().getTypes())
    return emitOpError("entry block arguments (")
           << body.getArgumentTypes() << ") must have the operand types (" << getInputs().getTypes() << ")";
  // eff_layer_c3
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end with 'eff.yield'");
  if (yield.getValues().getTypes() != getResultTypes())
    return yield.emitOpError("operand types (")
           << yield.getValues().getTypes() << ") must match the enclosing layer's result types ("
           << getResultTypes() << ")";
  // eff_layer_c4
  if (getInputs().empty() || getNumResults() == 0)
    return emitOpError("needs the residual stream as its first operand and first result");
  if (getInputs().front().getType() != getResult(0).getType())
    return emitOpError("first result type ")
           << getResult(0).getType() << " must equal the first operand type "
           << getInputs().front().getType() << " (the residual stream)";
  return success();
}

//===----------------------------------------------------------------------===//
// Custom assembly directives
//===----------------------------------------------------------------------===//

namespace {

/// eff.quantized_experts' side operands of one projection, after its scales: `, %column_sums` (int8),
/// `, zero_points %z` (asymmetric int4) and `, bias %b` (up and down only), each optional, in that order (the
/// order of the operands, and so of their types in the functional type).
ParseResult parseExpertSideOperands(OpAsmParser &parser, std::optional<OpAsmParser::UnresolvedOperand> &columnSums,
                                    std::optional<OpAsmParser::UnresolvedOperand> &zeroPoints,
                                    std::optional<OpAsmParser::UnresolvedOperand> *bias) {
  int last = -1;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc loc = parser.getCurrentLocation();
    int slot = 0;
    if (succeeded(parser.parseOptionalKeyword("zero_points")))
      slot = 1;
    else if (bias && succeeded(parser.parseOptionalKeyword("bias")))
      slot = 2;
    if (slot <= last)
      return parser.emitError(loc) << "expected the side operands at most once each and in the order: column sums, "
                                   << (bias ? "zero_points, bias" : "zero_points");
    last = slot;
    OpAsmParser::UnresolvedOperand operand;
    if (parser.parseOperand(operand))
      return failure();
    (slot == 0 ? columnSums : slot == 1 ? zeroPoints : *bias) = operand;
  }
  return success();
}

ParseResult parseExpertSideOperands(OpAsmParser &parser, std::optional<OpAsmParser::UnresolvedOperand> &columnSums,
                                    std::optional<OpAsmParser::UnresolvedOperand> &zeroPoints,
                                    std::optional<OpAsmParser::UnresolvedOperand> &bias) {
  return parseExpertSideOperands(parser, columnSums, zeroPoints, &bias);
}

ParseResult parseExpertSideOperands(OpAsmParser &parser, std::optional<OpAsmParser::UnresolvedOperand> &columnSums,
                                    std::optional<OpAsmParser::UnresolvedOperand> &zeroPoints) {
  return parseExpertSideOperands(parser, columnSums, zeroPoints, nullptr);
}

void printExpertSideOperands(OpAsmPrinter &printer, Operation *, Value columnSums, Value zeroPoints,
                             Value bias = {}) {
  if (columnSums)
    printer << ", " << columnSums;
  if (zeroPoints)
    printer << ", zero_points " << zeroPoints;
  if (bias)
    printer << ", bias " << bias;
}

} // namespace

#define GET_OP_CLASSES
#include "effc/Dialect/Eff/IR/EffOps.cpp.inc"
