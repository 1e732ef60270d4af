//===- AsyncLaunches.cpp - queue kernels on one stream ---------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-async-launches: the kernel launches (and contiguous copies) of each block of host
// code are chained on one !gpu.async.token, so that gpu-to-llvm queues them on one stream, and the host
// synchronises with that stream only before it touches memory (or returns). Deallocations while work is
// queued move after the next synchronisation.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUASYNCLAUNCHESPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

/// Whether `op`'s only memory effects are allocations (memref.alloc): it touches no existing memory.
bool onlyAllocates(Operation *op) {
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects || op->getNumRegions() != 0)
    return false;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  return llvm::all_of(instances, [](const MemoryEffects::EffectInstance &instance) {
    return isa<MemoryEffects::Allocate>(instance.getEffect());
  });
}

/// Whether `copy` can run on the device as one contiguous gpu.memcpy (what gpu-to-llvm lowers).
bool isContiguousCopy(memref::CopyOp copy) {
  auto source = dyn_cast<MemRefType>(copy.getSource().getType());
  auto target = dyn_cast<MemRefType>(copy.getTarget().getType());
  return source && target && source == target && source.getLayout().isIdentity() &&
         source.getMemorySpace() == nullptr;
}

bool isToken(Type type) { return isa<gpu::AsyncTokenType>(type); }

/// Threads one token through the ops of a block; see the pass description.
class BlockThreader {
public:
  explicit BlockThreader(MLIRContext *ctx) : builder(ctx), tokenType(gpu::AsyncTokenType::get(ctx)) {}

  void run(Block &block) {
    token = nullptr;
    deferredFrees.clear();
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
        makeAsync(launch);
        continue;
      }
      if (auto copy = dyn_cast<memref::CopyOp>(op); copy && isContiguousCopy(copy)) {
        Value dependency = currentToken(copy);
        builder.setInsertionPoint(copy);
        token = gpu::MemcpyOp::create(builder, copy.getLoc(), tokenType, ValueRange{dependency}, copy.getTarget(),
                                      copy.getSource())
                    .getAsyncToken();
        copy.erase();
        continue;
      }
      if (!token)
        continue;
      if (isa<memref::DeallocOp>(op)) {
        deferredFrees.push_back(&op);
        continue;
      }
      if (op.hasTrait<OpTrait::IsTerminator>() || (!isMemoryEffectFree(&op) && !onlyAllocates(&op)))
        synchronise(&op);
    }
  }

private:
  /// The token that work queued before `op` produced, or a new stream's.
  Value currentToken(Operation *op) {
    if (!token) {
      builder.setInsertionPoint(op);
      token = gpu::WaitOp::create(builder, op->getLoc(), tokenType, ValueRange{}).getAsyncToken();
    }
    return token;
  }

  void makeAsync(gpu::LaunchFuncOp launch) {
    Value dependency = currentToken(launch);
    builder.setInsertionPoint(launch);
    std::optional<gpu::KernelDim3> cluster;
    if (launch.hasClusterSize())
      cluster = launch.getClusterSizeOperandValues();
    auto async = gpu::LaunchFuncOp::create(builder, launch.getLoc(), launch.getKernel(),
                                           launch.getGridSizeOperandValues(), launch.getBlockSizeOperandValues(),
                                           launch.getDynamicSharedMemorySize(), launch.getKernelOperands(),
                                           tokenType, ValueRange{dependency}, cluster);
    async->setDiscardableAttrs(launch->getDiscardableAttrDictionary());
    launch.erase();
    token = async.getAsyncToken();
  }

  /// Waits for the queued work before `op`; the deallocations deferred so far follow the wait.
  void synchronise(Operation *op) {
    builder.setInsertionPoint(op);
    Operation *last = gpu::WaitOp::create(builder, op->getLoc(), Type(), ValueRange{token});
    for (Operation *dealloc : deferredFrees) {
      dealloc->moveAfter(last);
      last = dealloc;
    }
    deferredFrees.clear();
    token = nullptr;
  }

  OpBuilder builder;
  Type tokenType;
  Value token;
  SmallVector<Operation *> deferredFrees;
};

struct GpuAsyncLaunchesPass : public effc::impl::EffcGpuAsyncLaunchesPassBase<GpuAsyncLaunchesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    WalkResult inlineKernels = func.walk([](gpu::LaunchOp launch) {
      launch.emitOpError("effc-gpu-async-launches: outline kernels (gpu-kernel-outlining) before making launches "
                         "asynchronous");
      return WalkResult::interrupt();
    });
    if (inlineKernels.wasInterrupted())
      return signalPassFailure();
    bool usesTokens = func.walk([](Operation *op) {
                            return llvm::any_of(op->getResultTypes(), isToken) ||
                                           llvm::any_of(op->getOperandTypes(), isToken)
                                       ? WalkResult::interrupt()
                                       : WalkResult::advance();
                          })
                          .wasInterrupted();
    if (usesTokens)
      return;
    SmallVector<Block *> blocks;
    func.walk([&](Block *block) { blocks.push_back(block); });
    BlockThreader threader(&getContext());
    for (Block *block : blocks)
      threader.run(*block);
  }
};

} // namespace
