//===- SinkCallOperandBuffers.cpp - one to_buffer per call, at the call ----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-sink-call-operand-buffers: every func.call operand that is a bufferization.to_buffer of a
// tensor (possibly through memref.cast) gets a copy of that chain right before the call, and the original
// goes once unused, so that one-shot bufferization sees each tensor read at the call that reads it (see the
// pass description).
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"

namespace effc {
#define GEN_PASS_DEF_EFFCSINKCALLOPERANDBUFFERSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

struct EffcSinkCallOperandBuffersPass
    : effc::impl::EffcSinkCallOperandBuffersPassBase<EffcSinkCallOperandBuffersPass> {
  void runOnOperation() override {
    SmallVector<func::CallOp> calls;
    getOperation().walk([&](func::CallOp call) { calls.push_back(call); });
    for (func::CallOp call : calls) {
      OpBuilder builder(call);
      for (OpOperand &operand : call->getOpOperands()) {
        // The chain to_buffer -> memref.cast* that feeds the call.
        SmallVector<Operation *> chain;
        Value value = operand.get();
        while (auto cast = value.getDefiningOp<memref::CastOp>()) {
          chain.push_back(cast);
          value = cast.getSource();
        }
        auto toBuffer = value.getDefiningOp<bufferization::ToBufferOp>();
        if (!toBuffer)
          continue;
        chain.push_back(toBuffer);
        // Cloned even when private to the call: it may still sit before an earlier call that used it.
        IRMapping mapping;
        Operation *last = nullptr;
        for (Operation *op : llvm::reverse(chain))
          last = builder.clone(*op, mapping);
        operand.set(last->getResult(0));
        for (Operation *op : chain)
          if (op->use_empty())
            op->erase();
      }
    }
  }
};

} // namespace
