//===- Cuda.cpp - the CUDA target's part of a compiled module --------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Host code lowered from the gpu dialect calls MLIR's CUDA runtime wrappers (mgpuLaunchKernel, ...), which
// effc does not link: a compiled module reaches the runtime only through its host table. This file gives
// each declared mgpu* function a body that forwards to the runtime's GPU services (abi.h effc_abi_gpu_t),
// with the device context first. It also
//  - loads the kernels on the first invocation instead of at dlopen time (MLIR emits global constructors,
//    which would run before the runtime installs its host table): the constructors become one function
//    run once through the `call_once` service, and the destructors are dropped (the runtime unloads a
//    device's modules itself);
//  - serves the weights that kernels read (globals named effc_gpu_weight.* by effc-gpu-mark-device-weights)
//    through the `constant` service, which copies each one to device-visible memory once;
//  - exports the module's target string (EFFC_MODULE_TARGET_SYMBOL), which the runtime checks.
//
//===----------------------------------------------------------------------===//

#include "effc/Target/Cuda.h"

#include "effc/runtime/abi.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ReplaceConstant.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"

#include <cstddef>

using namespace mlir;

namespace effc {

namespace {

/// Index of each service in effc_abi_gpu_t (pointer-sized fields), by the mgpu* function it implements.
unsigned gpuField(size_t offset) { return offset / sizeof(void *); }

const llvm::StringMap<unsigned> &mgpuServices() {
  static const llvm::StringMap<unsigned> services = {
      {"mgpuModuleLoad", gpuField(offsetof(effc_abi_gpu_t, module_load))},
      {"mgpuModuleLoadJIT", gpuField(offsetof(effc_abi_gpu_t, module_load_jit))},
      {"mgpuModuleUnload", gpuField(offsetof(effc_abi_gpu_t, module_unload))},
      {"mgpuModuleGetFunction", gpuField(offsetof(effc_abi_gpu_t, module_get_function))},
      {"mgpuLaunchKernel", gpuField(offsetof(effc_abi_gpu_t, launch_kernel))},
      {"mgpuStreamCreate", gpuField(offsetof(effc_abi_gpu_t, stream_create))},
      {"mgpuStreamDestroy", gpuField(offsetof(effc_abi_gpu_t, stream_destroy))},
      {"mgpuStreamSynchronize", gpuField(offsetof(effc_abi_gpu_t, stream_synchronize))},
      {"mgpuStreamWaitEvent", gpuField(offsetof(effc_abi_gpu_t, stream_wait_event))},
      {"mgpuEventCreate", gpuField(offsetof(effc_abi_gpu_t, event_create))},
      {"mgpuEventDestroy", gpuField(offsetof(effc_abi_gpu_t, event_destroy))},
      {"mgpuEventRecord", gpuField(offsetof(effc_abi_gpu_t, event_record))},
      {"mgpuEventSynchronize", gpuField(offsetof(effc_abi_gpu_t, event_synchronize))},
      {"mgpuMemAlloc", gpuField(offsetof(effc_abi_gpu_t, mem_alloc))},
      {"mgpuMemFree", gpuField(offsetof(effc_abi_gpu_t, mem_free))},
      {"mgpuMemcpy", gpuField(offsetof(effc_abi_gpu_t, memcpy))},
      {"mgpuMemset32", gpuField(offsetof(effc_abi_gpu_t, memset32))},
      {"mgpuMemset16", gpuField(offsetof(effc_abi_gpu_t, memset16))},
  };
  return services;
}

constexpr llvm::StringLiteral kWeightPrefix = "effc_gpu_weight.";

class CudaServicesEmitter {
public:
  CudaServicesEmitter(llvm::Module &module, llvm::GlobalVariable *hostSlot)
      : module(module), ctx(module.getContext()), builder(ctx), hostSlot(hostSlot),
        ptrTy(llvm::PointerType::getUnqual(ctx)), i32Ty(builder.getInt32Ty()), i64Ty(builder.getInt64Ty()) {}

  LogicalResult emit(llvm::StringRef deviceTarget, std::string &error) {
    for (llvm::Function &fn : module) {
      if (!fn.isDeclaration() || !fn.getName().starts_with("mgpu"))
        continue;
      auto it = mgpuServices().find(fn.getName());
      if (it == mgpuServices().end()) {
        error = ("the compiled code calls " + fn.getName() +
                 ", which the effc runtime's GPU services do not provide")
                    .str();
        return failure();
      }
      forward(fn, it->second);
    }
    loadKernelsLazily();
    serveWeightsFromDevice();
    auto *target = llvm::ConstantDataArray::getString(ctx, deviceTarget);
    new llvm::GlobalVariable(module, target->getType(), /*isConstant=*/true, llvm::GlobalValue::ExternalLinkage,
                             target, EFFC_MODULE_TARGET_SYMBOL);
    return success();
  }

private:
  /// Loads the GPU services table and the field `index` of it, at the builder's position.
  std::pair<llvm::Value *, llvm::Value *> service(unsigned index) {
    // effc_abi_host_t: the gpu pointer follows version, parallel_for, alloc, free and host_ctx.
    llvm::Value *host = builder.CreateLoad(ptrTy, hostSlot);
    llvm::Value *gpuField = builder.CreateConstInBoundsGEP1_64(
        builder.getInt8Ty(), host, offsetof(effc_abi_host_t, gpu));
    llvm::Value *gpu = builder.CreateLoad(ptrTy, gpuField);
    llvm::Value *deviceCtx = builder.CreateLoad(ptrTy, gpu);
    llvm::Value *fn = builder.CreateLoad(ptrTy, builder.CreateConstInBoundsGEP1_64(ptrTy, gpu, index));
    return {deviceCtx, fn};
  }

  /// Gives `fn` a body calling service `index` with the device context before fn's own arguments.
  void forward(llvm::Function &fn, unsigned index) {
    fn.setLinkage(llvm::GlobalValue::InternalLinkage);
    builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", &fn));
    auto [deviceCtx, target] = service(index);
    SmallVector<llvm::Type *> params = {ptrTy};
    SmallVector<llvm::Value *> args = {deviceCtx};
    for (llvm::Argument &arg : fn.args()) {
      params.push_back(arg.getType());
      args.push_back(&arg);
    }
    auto *type = llvm::FunctionType::get(fn.getReturnType(), params, false);
    llvm::CallInst *call = builder.CreateCall(type, target, args);
    if (fn.getReturnType()->isVoidTy())
      builder.CreateRetVoid();
    else
      builder.CreateRet(call);
  }

  /// Moves the kernel-loading constructors into effc_gpu_load_kernels, run once by the first invocation.
  void loadKernelsLazily() {
    SmallVector<llvm::Function *> constructors;
    if (llvm::GlobalVariable *ctors = module.getGlobalVariable("llvm.global_ctors")) {
      if (auto *entries = dyn_cast<llvm::ConstantArray>(ctors->getInitializer()))
        for (llvm::Use &entry : entries->operands())
          if (auto *fn = dyn_cast<llvm::Function>(cast<llvm::ConstantStruct>(entry)->getOperand(1)))
            constructors.push_back(fn);
      ctors->eraseFromParent();
    }
    if (llvm::GlobalVariable *dtors = module.getGlobalVariable("llvm.global_dtors"))
      dtors->eraseFromParent();
    if (constructors.empty())
      return;
    auto *load = llvm::Function::Create(llvm::FunctionType::get(builder.getVoidTy(), false),
                                        llvm::GlobalValue::InternalLinkage, "effc_gpu_load_kernels", module);
    builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", load));
    for (llvm::Function *constructor : constructors)
      builder.CreateCall(constructor);
    builder.CreateRetVoid();
    auto *loaded = new llvm::GlobalVariable(module, i32Ty, /*isConstant=*/false, llvm::GlobalValue::InternalLinkage,
                                            builder.getInt32(0), "effc_gpu_kernels_loaded");
    loaded->setAlignment(llvm::Align(4));
    unsigned callOnce = gpuField(offsetof(effc_abi_gpu_t, call_once));
    for (llvm::Function &fn : module) {
      if (fn.isDeclaration() || !fn.getName().starts_with("effc_invoke_"))
        continue;
      // if (!atomic_load_acquire(&loaded)) gpu->call_once(ctx, &loaded, effc_gpu_load_kernels);
      llvm::BasicBlock *entry = &fn.getEntryBlock();
      llvm::BasicBlock *body = entry->splitBasicBlock(entry->getFirstNonPHIOrDbgOrAlloca(), "body");
      llvm::BasicBlock *init = llvm::BasicBlock::Create(ctx, "load_kernels", &fn, body);
      entry->getTerminator()->eraseFromParent();
      builder.SetInsertPoint(entry);
      llvm::LoadInst *flag = builder.CreateLoad(i32Ty, loaded);
      flag->setAtomic(llvm::AtomicOrdering::Acquire);
      flag->setAlignment(llvm::Align(4));
      builder.CreateCondBr(builder.CreateICmpEQ(flag, builder.getInt32(0)), init, body);
      builder.SetInsertPoint(init);
      auto [deviceCtx, target] = service(callOnce);
      builder.CreateCall(llvm::FunctionType::get(builder.getVoidTy(), {ptrTy, ptrTy, ptrTy}, false), target,
                         {deviceCtx, loaded, load});
      builder.CreateBr(body);
    }
  }

  /// Replaces every use of an effc_gpu_weight.* global by the device-visible copy that the `constant`
  /// service returns for it.
  void serveWeightsFromDevice() {
    SmallVector<llvm::GlobalVariable *> weights;
    for (llvm::GlobalVariable &global : module.globals())
      if (global.getName().starts_with(kWeightPrefix) && global.hasInitializer())
        weights.push_back(&global);
    unsigned constant = gpuField(offsetof(effc_abi_gpu_t, constant));
    const llvm::DataLayout &layout = module.getDataLayout();
    for (llvm::GlobalVariable *global : weights) {
      llvm::convertUsersOfConstantsToInstructions({global});
      uint64_t bytes = layout.getTypeAllocSize(global->getValueType());
      for (llvm::Use &use : llvm::make_early_inc_range(global->uses())) {
        auto *user = dyn_cast<llvm::Instruction>(use.getUser());
        if (!user)
          continue;
        llvm::Instruction *insertBefore = user;
        if (auto *phi = dyn_cast<llvm::PHINode>(user))
          insertBefore = phi->getIncomingBlock(use)->getTerminator();
        builder.SetInsertPoint(insertBefore);
        auto [deviceCtx, target] = service(constant);
        use.set(builder.CreateCall(llvm::FunctionType::get(ptrTy, {ptrTy, ptrTy, i64Ty}, false), target,
                                   {deviceCtx, global, builder.getInt64(bytes)}));
      }
    }
  }

  llvm::Module &module;
  llvm::LLVMContext &ctx;
  llvm::IRBuilder<> builder;
  llvm::GlobalVariable *hostSlot;
  llvm::PointerType *ptrTy;
  llvm::IntegerType *i32Ty, *i64Ty;
};

} // namespace

LogicalResult emitCudaModuleServices(llvm::Module &module, llvm::StringRef deviceTarget, std::string &error) {
  llvm::GlobalVariable *hostSlot = module.getGlobalVariable("effc_host", /*AllowInternal=*/true);
  if (!hostSlot) {
    error = "internal error: the module has no host slot";
    return failure();
  }
  return CudaServicesEmitter(module, hostSlot).emit(deviceTarget, error);
}

std::string findCudaToolkit() {
  auto hasPtxas = [](llvm::StringRef dir) {
    llvm::SmallString<256> ptxas(dir);
    llvm::sys::path::append(ptxas, "bin", "ptxas");
    return llvm::sys::fs::can_execute(ptxas);
  };
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"})
    if (std::optional<std::string> dir = llvm::sys::Process::GetEnv(variable); dir && hasPtxas(*dir))
      return *dir;
  if (hasPtxas("/usr/local/cuda"))
    return "/usr/local/cuda";
  if (llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas")) {
    llvm::SmallString<256> dir(*ptxas);
    llvm::sys::path::remove_filename(dir); // bin
    llvm::sys::path::remove_filename(dir);
    return std::string(dir);
  }
  return "";
}

} // namespace effc
