//===- OutlineParallelLoops.cpp - scf.forall -> runtime parallel_for -------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-outline-parallel-loops. An outermost scf.forall on memrefs
//
//   scf.forall (%i, %j) = (lb) to (ub) step (s) { body(%i, %j, captured...) }
//
// becomes a private function running one iteration from a linear index, and a call to a declared
// dispatcher with the iteration count:
//
//   func.func private @f_parallel0(%linear, %counts..., %lbs..., %steps..., %captured...)
//   call @effc_parallel_dispatch.f_parallel0(%total, %counts..., %lbs..., %steps..., %captured...)
//
// The target emitter (lib/Target) defines each dispatcher: it stores the trailing arguments in a struct
// and asks the runtime's thread pool to run the body for every index. Constants and global weights are
// re-created inside the body instead of being passed.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"

namespace effc {
#define GEN_PASS_DEF_EFFCOUTLINEPARALLELLOOPSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// Whether a captured value is cheaper to re-create in the outlined body than to pass.
bool isRematerializable(Value value) {
  Operation *def = value.getDefiningOp();
  return def && (def->hasTrait<OpTrait::ConstantLike>() || isa<memref::GetGlobalOp>(def));
}

struct EffcOutlineParallelLoopsPass : effc::impl::EffcOutlineParallelLoopsPassBase<EffcOutlineParallelLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<scf::ForallOp> loops;
    module.walk([&](scf::ForallOp loop) {
      if (!loop->getParentOfType<scf::ForallOp>())
        loops.push_back(loop);
    });
    llvm::StringMap<unsigned> counters;
    for (scf::ForallOp loop : loops) {
      if (loop.getNumResults() != 0) {
        loop.emitError("scf.forall with results reached outlining; bufferize first");
        return signalPassFailure();
      }
      auto parent = loop->getParentOfType<func::FuncOp>();
      if (!parent) {
        loop.emitError("scf.forall outside a func.func cannot be outlined");
        return signalPassFailure();
      }
      std::string name = (parent.getSymName() + "_parallel" + Twine(counters[parent.getSymName()]++)).str();
      outline(loop, parent, name);
    }
  }

  void outline(scf::ForallOp loop, func::FuncOp parent, StringRef name) {
    MLIRContext *ctx = loop.getContext();
    Location loc = loop.getLoc();
    OpBuilder builder(loop);
    int64_t rank = loop.getRank();

    // Iteration counts, bounds and steps, computed at the call site.
    SmallVector<Value> counts, lowerBounds, steps;
    Value total;
    for (int64_t i = 0; i < rank; ++i) {
      Value lb = getValueOrCreateConstantIndexOp(builder, loc, loop.getMixedLowerBound()[i]);
      Value ub = getValueOrCreateConstantIndexOp(builder, loc, loop.getMixedUpperBound()[i]);
      Value step = getValueOrCreateConstantIndexOp(builder, loc, loop.getMixedStep()[i]);
      Value extent = arith::SubIOp::create(builder, loc, ub, lb);
      // An empty dimension must give an empty loop even when another one is also empty.
      Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
      Value count = arith::MaxSIOp::create(builder, loc, arith::CeilDivSIOp::create(builder, loc, extent, step), zero);
      counts.push_back(count);
      lowerBounds.push_back(lb);
      steps.push_back(step);
      total = total ? Value(arith::MulIOp::create(builder, loc, total, count)) : count;
    }

    SetVector<Value> captured;
    getUsedValuesDefinedAbove(loop.getRegion(), captured);
    SmallVector<Value> passed;
    for (Value value : captured)
      if (!isRematerializable(value))
        passed.push_back(value);

    SmallVector<Type> argTypes(1 + 3 * rank, builder.getIndexType());
    for (Value value : passed)
      argTypes.push_back(value.getType());
    auto type = FunctionType::get(ctx, argTypes, {});

    // The body: one iteration from a linear index.
    OpBuilder moduleBuilder(parent);
    moduleBuilder.setInsertionPointAfter(parent);
    auto body = func::FuncOp::create(moduleBuilder, loc, name, type);
    body.setPrivate();
    Block *entry = body.addEntryBlock();
    OpBuilder bodyBuilder = OpBuilder::atBlockBegin(entry);
    IRMapping mapping;
    for (Value value : captured)
      if (isRematerializable(value))
        mapping.map(value, bodyBuilder.clone(*value.getDefiningOp())->getResult(0));
    Value remainder = entry->getArgument(0);
    for (int64_t i = rank - 1; i >= 0; --i) {
      Value count = entry->getArgument(1 + i);
      Value index = i == 0 ? remainder : Value(arith::RemUIOp::create(bodyBuilder, loc, remainder, count));
      if (i != 0)
        remainder = arith::DivUIOp::create(bodyBuilder, loc, remainder, count);
      Value scaled = arith::MulIOp::create(bodyBuilder, loc, index, entry->getArgument(1 + 2 * rank + i));
      mapping.map(loop.getInductionVars()[i],
                  arith::AddIOp::create(bodyBuilder, loc, entry->getArgument(1 + rank + i), scaled));
    }
    for (auto [value, argument] : llvm::zip(passed, entry->getArguments().drop_front(1 + 3 * rank)))
      mapping.map(value, argument);
    for (Operation &op : loop.getBody()->without_terminator())
      bodyBuilder.clone(op, mapping);
    func::ReturnOp::create(bodyBuilder, loc);

    // The dispatcher, defined by the target emitter, and the call replacing the loop.
    auto dispatcher = func::FuncOp::create(moduleBuilder, loc, ("effc_parallel_dispatch." + name).str(), type);
    dispatcher.setPrivate();
    SmallVector<Value> arguments = {total};
    llvm::append_range(arguments, counts);
    llvm::append_range(arguments, lowerBounds);
    llvm::append_range(arguments, steps);
    llvm::append_range(arguments, passed);
    func::CallOp::create(builder, loc, dispatcher, arguments);
    loop.erase();
  }
};

} // namespace
