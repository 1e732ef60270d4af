//===- AsyncLaunches.cpp - queue kernels on one stream ---------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-async-launches: the kernel launches (and contiguous copies) of each block of host
// code are chained on one !gpu.async.token, so that gpu-to-llvm queues them on one stream, and the host
// synchronises with that stream only before it touches memory (or returns). Deallocations while work is
// queued move after the next synchronisation. Buffers that only kernels touch are allocated and freed on
// the stream, in device memory (gpu.alloc / gpu.dealloc: the runtime's stream-ordered allocator).
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

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

/// Whether `op` is an scf.if whose branches only launch kernels (and compute their operands): a choice
/// between kernels, such as effc-gpu-gemm-ukernels' tile sizes, which can stay on the stream.
bool isStreamOnlyIf(Operation *op) {
  auto ifOp = dyn_cast<scf::IfOp>(op);
  if (!ifOp)
    return false;
  WalkResult result = ifOp->walk([&](Operation *nested) {
    if (nested == ifOp.getOperation() || isa<gpu::LaunchFuncOp, scf::YieldOp>(nested))
      return WalkResult::advance();
    if (isa<scf::IfOp>(nested))
      return isStreamOnlyIf(nested) ? WalkResult::skip() : WalkResult::interrupt();
    return nested->getNumRegions() == 0 && isMemoryEffectFree(nested) ? WalkResult::advance()
                                                                      : WalkResult::interrupt();
  });
  return !result.wasInterrupted();
}

/// Whether only kernels touch the buffer of `alloc`: every use, through views, is a kernel operand, a copy
/// that runs on the device, memref.dim or memref.extract_strided_metadata of its sizes and strides, and the buffer is deallocated in the block that allocates it.
bool isDeviceOnly(memref::AllocOp alloc) {
  MemRefType type = alloc.getType();
  if (!type.getLayout().isIdentity() || type.getMemorySpace())
    return false;
  bool freed = false;
  SmallVector<Value> worklist = {alloc.getResult()};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isa<gpu::LaunchFuncOp, memref::DimOp>(user))
        continue;
      // Sizes and strides only (effc-gpu-gemm-ukernels reads a buffer's shape on the host this way).
      if (auto metadata = dyn_cast<memref::ExtractStridedMetadataOp>(user);
          metadata && metadata.getBaseBuffer().use_empty())
        continue;
      if (auto copy = dyn_cast<memref::CopyOp>(user); copy && isContiguousCopy(copy))
        continue;
      if (isa<memref::DeallocOp>(user) && value == alloc.getResult() && user->getBlock() == alloc->getBlock()) {
        freed = true;
        continue;
      }
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == value && user->getNumResults() == 1) {
        worklist.push_back(user->getResult(0));
        continue;
      }
      return false; // the host may read or write it (or it escapes)
    }
  }
  return freed;
}

/// Threads one token through the ops of a block; see the pass description.
class BlockThreader {
public:
  BlockThreader(MLIRContext *ctx, const DenseSet<Operation *> &deviceAllocs)
      : builder(ctx), tokenType(gpu::AsyncTokenType::get(ctx)), deviceAllocs(deviceAllocs) {}

  void run(Block &block) {
    token = nullptr;
    deferredFrees.clear();
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
        makeAsync(launch);
        continue;
      }
      if (isStreamOnlyIf(&op)) {
        threadIf(cast<scf::IfOp>(op), currentToken(&op));
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
      if (deviceAllocs.contains(&op)) {
        auto alloc = cast<memref::AllocOp>(op);
        Value dependency = currentToken(alloc);
        builder.setInsertionPoint(alloc);
        auto deviceAlloc = gpu::AllocOp::create(builder, alloc.getLoc(), alloc.getType(), tokenType,
                                                ValueRange{dependency}, alloc.getDynamicSizes(),
                                                alloc.getSymbolOperands(), /*hostShared=*/false);
        alloc.getResult().replaceAllUsesWith(deviceAlloc.getMemref());
        alloc.erase();
        token = deviceAlloc.getAsyncToken();
        continue;
      }
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op);
          dealloc && dealloc.getMemref().getDefiningOp<gpu::AllocOp>()) {
        Value dependency = currentToken(dealloc);
        builder.setInsertionPoint(dealloc);
        token = gpu::DeallocOp::create(builder, dealloc.getLoc(), tokenType, ValueRange{dependency},
                                       dealloc.getMemref())
                    .getAsyncToken();
        dealloc.erase();
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

  /// Queues the launches in the branches of a stream-only scf.if behind `dependency`. Their tokens are not
  /// yielded: gpu-to-llvm turns a token into the stream it names only where it is defined in the same
  /// block (one crossing a block boundary would be taken for an event), and every launch after `dependency`
  /// is on that one stream, which runs its work in order, so what follows the scf.if stays after it.
  void threadIf(scf::IfOp ifOp, Value dependency) {
    ifOp->walk([&](gpu::LaunchFuncOp launch) {
      token = dependency;
      makeAsync(launch);
    });
    token = dependency;
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
  const DenseSet<Operation *> &deviceAllocs;
};

struct GpuAsyncLaunchesPass : public effc::impl::EffcGpuAsyncLaunchesPassBase<GpuAsyncLaunchesPass> {
  using Base::Base;
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
    // Blocks of host code; the branches of a stream-only scf.if are threaded with the block around it.
    SmallVector<Block *> blocks;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isStreamOnlyIf(op))
        return WalkResult::skip();
      for (Region &region : op->getRegions())
        for (Block &block : region)
          blocks.push_back(&block);
      return WalkResult::advance();
    });
    DenseSet<Operation *> deviceAllocs;
    if (deviceBuffers)
      func.walk([&](memref::AllocOp alloc) {
        if (isDeviceOnly(alloc))
          deviceAllocs.insert(alloc);
      });
    BlockThreader threader(&getContext(), deviceAllocs);
    for (Block *block : blocks)
      threader.run(*block);
  }
};

} // namespace
