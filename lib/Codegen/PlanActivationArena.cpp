//===- PlanActivationArena.cpp - compile-time activation memory planning ---===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-plan-activation-arena: lifetimes of a function's top-level, non-escaping buffers are
// coloured into slots at compile time; the slots are laid out in one arena allocated at the function's
// entry, and each buffer becomes a memref.view of it.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace effc {
#define GEN_PASS_DEF_EFFCPLANACTIVATIONARENAPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr int64_t kAlignment = 64;

/// A buffer placed in the arena.
struct Buffer {
  memref::AllocOp alloc;
  unsigned start, end; ///< positions of the first and last top-level ops of its lifetime
  int64_t staticBytes;  ///< bytes when every dimension is static, else the static factor of the size
};

/// The top-level op of `entry` that contains `op`.
Operation *topLevelAncestor(Operation *op, Block *entry) {
  while (op && op->getBlock() != entry)
    op = op->getParentOp();
  return op;
}

/// The last top-level position at which `alloc`, or anything that may alias it, is used; nothing if it
/// escapes the call.
std::optional<unsigned> lastUse(memref::AllocOp alloc, Block *entry, const DenseMap<Operation *, unsigned> &position) {
  unsigned last = position.lookup(alloc);
  SmallVector<Value> worklist = {alloc.getResult()};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isa<func::ReturnOp>(user) || user->hasTrait<OpTrait::IsTerminator>())
        return std::nullopt; // returned or yielded out of a region: not an activation of this call
      // Any memref an op returns may alias its operand (views, casts, loops carrying the buffer): follow it.
      for (Value result : user->getResults())
        if (isa<BaseMemRefType>(result.getType()))
          worklist.push_back(result);
      Operation *top = topLevelAncestor(user, entry);
      if (!top)
        return std::nullopt;
      last = std::max(last, position.lookup(top));
    }
  }
  return last;
}

/// Whether `value` can be recomputed at the function's entry from its arguments and constants.
bool isEntryComputable(Value value, Block *entry) {
  if (auto argument = dyn_cast<BlockArgument>(value))
    return argument.getOwner() == entry;
  Operation *def = value.getDefiningOp();
  if (!def || def->getBlock() != entry || def->getNumRegions() != 0)
    return false;
  if (!isMemoryEffectFree(def) && !isa<memref::DimOp>(def))
    return false;
  return llvm::all_of(def->getOperands(), [&](Value operand) { return isEntryComputable(operand, entry); });
}

/// Clones the computation of `value` at the builder's point (the function's entry).
Value cloneAtEntry(Value value, OpBuilder &builder, IRMapping &mapping) {
  if (isa<BlockArgument>(value) || mapping.contains(value))
    return mapping.lookupOrDefault(value);
  Operation *def = value.getDefiningOp();
  for (Value operand : def->getOperands())
    cloneAtEntry(operand, builder, mapping);
  builder.clone(*def, mapping);
  return mapping.lookup(value);
}

struct EffcPlanActivationArenaPass : effc::impl::EffcPlanActivationArenaPassBase<EffcPlanActivationArenaPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block *entry = &func.getBody().front();
    DenseMap<Operation *, unsigned> position;
    for (auto [index, op] : llvm::enumerate(*entry))
      position[&op] = index;

    // Candidates: top-level allocations with an identity layout that do not escape and whose sizes the
    // entry can compute.
    SmallVector<Buffer> buffers;
    for (auto alloc : entry->getOps<memref::AllocOp>()) {
      MemRefType type = alloc.getType();
      if (!type.getLayout().isIdentity() || type.getMemorySpace() || !type.getElementType().isIntOrFloat() ||
          type.getElementTypeBitWidth() % 8 != 0 || !alloc.getSymbolOperands().empty())
        continue;
      if (!llvm::all_of(alloc.getDynamicSizes(), [&](Value size) { return isEntryComputable(size, entry); }))
        continue;
      std::optional<unsigned> end = lastUse(alloc, entry, position);
      if (!end)
        continue;
      int64_t staticBytes = type.getElementTypeBitWidth() / 8;
      for (int64_t dim : type.getShape())
        if (!ShapedType::isDynamic(dim))
          staticBytes *= dim;
      buffers.push_back({alloc, position[alloc], *end, staticBytes});
    }
    if (buffers.size() < 2)
      return;

    // Greedy interval colouring in order of allocation: a buffer joins the first slot that is free again.
    SmallVector<SmallVector<Buffer *>> slots;
    SmallVector<unsigned> slotEnd;
    for (Buffer &buffer : buffers) {
      unsigned slot = 0;
      while (slot < slots.size() && slotEnd[slot] >= buffer.start)
        ++slot;
      if (slot == slots.size()) {
        slots.emplace_back();
        slotEnd.push_back(0);
      }
      slots[slot].push_back(&buffer);
      slotEnd[slot] = buffer.end;
    }

    // Slot sizes and offsets, computed at the entry.
    OpBuilder builder = OpBuilder::atBlockBegin(entry);
    Location loc = func.getLoc();
    IRMapping mapping;
    auto constant = [&](int64_t value) { return Value(arith::ConstantIndexOp::create(builder, loc, value)); };
    auto alignUp = [&](Value bytes) {
      Value rounded = arith::AddIOp::create(builder, loc, bytes, constant(kAlignment - 1));
      return Value(arith::MulIOp::create(builder, loc,
                                         arith::DivUIOp::create(builder, loc, rounded, constant(kAlignment)),
                                         constant(kAlignment)));
    };
    DenseMap<Buffer *, Value> offsetOf;
    Value total = constant(0);
    for (SmallVector<Buffer *> &slot : slots) {
      Value slotBytes = constant(0);
      for (Buffer *buffer : slot) {
        Value bytes = constant(buffer->staticBytes);
        for (Value size : buffer->alloc.getDynamicSizes())
          bytes = arith::MulIOp::create(builder, loc, bytes, cloneAtEntry(size, builder, mapping));
        slotBytes = arith::MaxUIOp::create(builder, loc, slotBytes, alignUp(bytes));
        offsetOf[buffer] = total;
      }
      total = arith::AddIOp::create(builder, loc, total, slotBytes);
    }
    auto arenaType = MemRefType::get({ShapedType::kDynamic}, builder.getI8Type());
    auto arena = memref::AllocOp::create(builder, loc, arenaType, ValueRange{total}, ValueRange{},
                                         builder.getI64IntegerAttr(kAlignment));

    // Each buffer becomes a view of its slot.
    for (Buffer &buffer : buffers) {
      builder.setInsertionPoint(buffer.alloc);
      auto view = memref::ViewOp::create(builder, buffer.alloc.getLoc(), buffer.alloc.getType(), arena,
                                         offsetOf[&buffer], buffer.alloc.getDynamicSizes());
      buffer.alloc.replaceAllUsesWith(view.getResult());
      buffer.alloc.erase();
    }
  }
};

} // namespace
