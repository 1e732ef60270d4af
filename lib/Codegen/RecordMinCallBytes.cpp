//===- RecordMinCallBytes.cpp - a lower bound of a call's memory ----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-record-min-call-bytes: for each public function, the bytes that every call allocates
// and holds at one time, whatever its input shapes, recorded for the runtime's load-time memory check.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/Support/MathExtras.h"

namespace effc {
#define GEN_PASS_DEF_EFFCRECORDMINCALLBYTESPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// The least value an index computation can take when every extent it reads may be 0. Exact for constants;
/// monotone operations (add, mul, unsigned max and division by a constant) combine their operands' bounds;
/// anything else (a dimension, an argument, another operation) may be 0. Assumes that sizes do not wrap.
uint64_t lowerBound(Value value, DenseMap<Value, uint64_t> &memo) {
  if (auto it = memo.find(value); it != memo.end())
    return it->second;
  uint64_t bound = 0;
  Operation *def = value.getDefiningOp();
  APInt constant;
  auto operand = [&](unsigned i) { return lowerBound(def->getOperand(i), memo); };
  auto constantDivisor = [&]() -> uint64_t {
    APInt divisor;
    return matchPattern(def->getOperand(1), m_ConstantInt(&divisor)) && !divisor.isNegative()
               ? divisor.getLimitedValue()
               : 0;
  };
  if (matchPattern(value, m_ConstantInt(&constant))) {
    bound = constant.isNegative() ? 0 : constant.getLimitedValue();
  } else if (isa_and_nonnull<arith::AddIOp>(def)) {
    bound = llvm::SaturatingAdd(operand(0), operand(1));
  } else if (isa_and_nonnull<arith::MulIOp>(def)) {
    bound = llvm::SaturatingMultiply(operand(0), operand(1));
  } else if (isa_and_nonnull<arith::MaxUIOp>(def)) {
    bound = std::max(operand(0), operand(1));
  } else if (isa_and_nonnull<arith::DivUIOp, arith::CeilDivUIOp>(def)) {
    if (uint64_t divisor = constantDivisor())
      bound = isa<arith::DivUIOp>(def) ? operand(0) / divisor : llvm::divideCeil(operand(0), divisor);
  } else if (isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp>(def)) {
    bound = operand(0);
  }
  return memo[value] = bound;
}

/// The top-level op of `entry` that contains `op`.
Operation *topLevelAncestor(Operation *op, Block *entry) {
  while (op && op->getBlock() != entry)
    op = op->getParentOp();
  return op;
}

/// The last top-level position at which `buffer` or a view of it is used. Returning it is a use at the
/// return. Only views (ViewLikeOpInterface) are followed: the result is a position where the buffer is
/// certainly still allocated, possibly before its true end.
unsigned lastUse(Value buffer, Block *entry, const DenseMap<Operation *, unsigned> &position) {
  unsigned last = position.lookup(buffer.getDefiningOp());
  SmallVector<Value> worklist = {buffer};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (Operation *user : value.getUsers()) {
      if (Operation *top = topLevelAncestor(user, entry))
        last = std::max(last, position.lookup(top));
      if (auto view = dyn_cast<ViewLikeOpInterface>(user); view && view.getViewSource() == value)
        for (Value result : user->getResults())
          if (isa<BaseMemRefType>(result.getType()))
            worklist.push_back(result);
    }
  }
  return last;
}

/// Whether the canonicalizer could still erase `alloc` (it is only stored into or freed): then it may
/// never be allocated.
bool mayBeErased(memref::AllocOp alloc) {
  return llvm::all_of(alloc->getUsers(), [&](Operation *user) {
    if (auto store = dyn_cast<memref::StoreOp>(user))
      return store.getValueToStore() != alloc.getResult();
    return isa<memref::DeallocOp>(user);
  });
}

/// The largest sum of the lower bounds of top-level allocations whose lifetimes overlap.
uint64_t minCallBytes(func::FuncOp func) {
  Block *entry = &func.getBody().front();
  DenseMap<Operation *, unsigned> position;
  for (auto [index, op] : llvm::enumerate(*entry))
    position[&op] = index;
  struct Interval {
    unsigned start, end;
    uint64_t bytes;
  };
  SmallVector<Interval> intervals;
  DenseMap<Value, uint64_t> memo;
  for (auto alloc : entry->getOps<memref::AllocOp>()) {
    MemRefType type = alloc.getType();
    if (type.getMemorySpace() || !type.getElementType().isIntOrFloat() || mayBeErased(alloc))
      continue;
    uint64_t bytes = llvm::divideCeil(type.getElementTypeBitWidth(), 8);
    for (int64_t dim : type.getShape())
      if (!ShapedType::isDynamic(dim))
        bytes = llvm::SaturatingMultiply(bytes, static_cast<uint64_t>(dim));
    for (Value size : alloc.getDynamicSizes())
      bytes = llvm::SaturatingMultiply(bytes, lowerBound(size, memo));
    if (bytes)
      intervals.push_back({position[alloc], lastUse(alloc.getResult(), entry, position), bytes});
  }
  // The sum over overlapping intervals is largest at the start of one of them.
  uint64_t best = 0;
  for (const Interval &at : intervals) {
    uint64_t live = 0;
    for (const Interval &other : intervals)
      if (other.start <= at.start && at.start <= other.end)
        live = llvm::SaturatingAdd(live, other.bytes);
    best = std::max(best, live);
  }
  return best;
}

struct EffcRecordMinCallBytesPass : effc::impl::EffcRecordMinCallBytesPassBase<EffcRecordMinCallBytesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder builder(&getContext());
    SmallVector<NamedAttribute> functions;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      uint64_t bytes = std::min<uint64_t>(minCallBytes(func), INT64_MAX);
      functions.push_back(builder.getNamedAttr(func.getSymName(), builder.getI64IntegerAttr(bytes)));
    }
    module->setAttr("effc.min_call_bytes", builder.getDictionaryAttr(functions));
  }
};

} // namespace
