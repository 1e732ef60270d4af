//===- SharedObject.cpp - emit compiled modules for the runtime ------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements the CPU target's last stage. The runtime ABI is emitted directly as LLVM IR: it is a few
// constant structs and two small functions per entry point, clearer with IRBuilder than in the LLVM
// dialect. The struct layouts below mirror runtime/include/effc/runtime/abi.h field for field.
//
//===----------------------------------------------------------------------===//

#include "effc/Target/SharedObject.h"
#include "effc/Target/Cuda.h"
#include "effc/Target/Ukernels.h"

#include "effc/runtime/abi.h"
#include "effc/runtime/checksum.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ReplaceConstant.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <cstring>
#include <mutex>

using namespace mlir;

namespace effc {

//===----------------------------------------------------------------------===//
// Entry point signatures
//===----------------------------------------------------------------------===//

/// The dtype tag of an entry point's element type. Compiled code has signless integers only: `isUnsigned` (the
/// `eff.unsigned` argument or result attribute, set by the ONNX importer for uint16/32/64 and uint8 tensors)
/// says the caller's data is unsigned.
static uint32_t dtypeOf(Type type, bool isUnsigned) {
  if (type.isF32())
    return EFFC_DTYPE_F32;
  if (type.isF16())
    return EFFC_DTYPE_F16;
  if (type.isBF16())
    return EFFC_DTYPE_BF16;
  if (type.isF64())
    return EFFC_DTYPE_F64;
  if (type.isSignlessInteger(64))
    return isUnsigned ? EFFC_DTYPE_U64 : EFFC_DTYPE_I64;
  if (type.isSignlessInteger(32))
    return isUnsigned ? EFFC_DTYPE_U32 : EFFC_DTYPE_I32;
  if (type.isSignlessInteger(16))
    return isUnsigned ? EFFC_DTYPE_U16 : EFFC_DTYPE_I16;
  if (type.isSignlessInteger(8))
    return isUnsigned ? EFFC_DTYPE_U8 : EFFC_DTYPE_I8;
  if (type.isUnsignedInteger(8))
    return EFFC_DTYPE_U8;
  if (type.isSignlessInteger(1))
    return EFFC_DTYPE_BOOL;
  return EFFC_DTYPE_INVALID;
}

FailureOr<std::vector<EntryPointSignature>> collectEntryPoints(ModuleOp module) {
  std::vector<EntryPointSignature> entryPoints;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    EntryPointSignature entry;
    entry.name = func.getSymName().str();
    auto describe = [&](Type type, StringAttr nameAttr, bool isUnsigned, StringRef defaultPrefix, unsigned index,
                        std::vector<TensorSignature> &into) -> LogicalResult {
      auto tensorType = dyn_cast<RankedTensorType>(type);
      uint32_t dtype = tensorType ? dtypeOf(tensorType.getElementType(), isUnsigned) : EFFC_DTYPE_INVALID;
      if (dtype == EFFC_DTYPE_INVALID)
        return func.emitError("entry point '")
               << entry.name << "': " << defaultPrefix << " #" << index << " has type " << type
               << "; entry points take and return ranked tensors of f32, f16, bf16, f64, i64, i32, i16, i8, ui8 "
                  "or i1 (integers marked eff.unsigned: u64, u32, u16, u8)";
      if (isUnsigned && !isa<IntegerType>(tensorType.getElementType()))
        return func.emitError("entry point '") << entry.name << "': " << defaultPrefix << " #" << index
                                               << " is marked eff.unsigned but has type " << type;
      TensorSignature signature;
      signature.name = nameAttr ? nameAttr.getValue().str() : (defaultPrefix + Twine(index)).str();
      signature.dtype = dtype;
      for (int64_t dim : tensorType.getShape())
        signature.dims.push_back(ShapedType::isDynamic(dim) ? EFFC_DYNAMIC_DIM : dim);
      into.push_back(std::move(signature));
      return success();
    };
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (failed(describe(func.getArgument(i).getType(), func.getArgAttrOfType<StringAttr>(i, "eff.name"),
                          func.getArgAttr(i, "eff.unsigned") != nullptr, "arg", i,
                          entry.inputs)))
        return failure();
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      if (failed(describe(func.getResultTypes()[i], func.getResultAttrOfType<StringAttr>(i, "eff.name"),
                          func.getResultAttr(i, "eff.unsigned") != nullptr, "result", i,
                          entry.outputs)))
        return failure();
    llvm::StringSet<> seen;
    for (const auto *list : {&entry.inputs, &entry.outputs})
      for (const TensorSignature &tensor : *list)
        if (!seen.insert(tensor.name).second)
          return func.emitError("entry point '") << entry.name << "' uses the name '" << tensor.name << "' twice";
    entryPoints.push_back(std::move(entry));
  }
  if (entryPoints.empty())
    return module.emitError("the module has no public function to export as an entry point");
  return entryPoints;
}

//===----------------------------------------------------------------------===//
// Target machine
//===----------------------------------------------------------------------===//

static std::unique_ptr<llvm::TargetMachine> createTargetMachine(const TargetOptions &options, std::string &error) {
  static std::once_flag initialized;
  std::call_once(initialized, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpu = options.cpu, features;
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    SmallVector<std::string> enabled;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      enabled.push_back((feature.second ? "+" : "-") + feature.first().str());
    features = llvm::join(enabled, ",");
  }
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(target->createMCSubtargetInfo(triple, "", ""));
  if (cpu != "generic" && (!subtarget || !subtarget->isCPUStringValid(cpu))) {
    error = "unknown CPU '" + options.cpu + "' (try native, x86-64, x86-64-v3 or x86-64-v4)";
    return nullptr;
  }
  llvm::TargetOptions targetOptions;
  auto level = options.optLevel == 0 ? llvm::CodeGenOptLevel::None : llvm::CodeGenOptLevel::Aggressive;
  return std::unique_ptr<llvm::TargetMachine>(
      target->createTargetMachine(triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt, level));
}

LogicalResult checkTargetOptions(const TargetOptions &options, std::string &error) {
  return success(createTargetMachine(options, error) != nullptr);
}

//===----------------------------------------------------------------------===//
// Runtime ABI in LLVM IR
//===----------------------------------------------------------------------===//

namespace {

/// The module header's producer string; also recorded in external weights files.
constexpr llvm::StringLiteral kProducer = "effc 0.1.0";

/// Weights moved out of the module into a file beside it (--external-weights).
struct ExternalWeights {
  std::string fileName;             ///< as recorded in the module header (relative to the .so)
  llvm::GlobalVariable *baseSlot;   ///< where the runtime stores the mapped file's address
  uint64_t size = 0, checksum = 0;
  uint64_t compileId = 0;           ///< shared by the module header and the file's header
};

/// A streaming checksum (runtime/include/effc/runtime/checksum.h, the one the runtime verifies).
class Checksum {
public:
  Checksum() { effc_checksum_init(&state); }
  Checksum &add(llvm::StringRef bytes) {
    effc_checksum_update(&state, bytes.data(), bytes.size());
    return *this;
  }
  /// Adds the bytes of an integer (little-endian, as the runtime reads them).
  Checksum &add(uint64_t value) {
    char bytes[8];
    for (int i = 0; i < 8; ++i)
      bytes[i] = static_cast<char>(value >> (8 * i));
    return add(llvm::StringRef(bytes, 8));
  }
  uint64_t value() const { return effc_checksum_final(&state); }

private:
  effc_checksum_t state;
};

/// Appends the in-memory bytes of a constant array (possibly nested, possibly all zeros) to `out`;
/// returns false for any other constant.
bool appendConstantBytes(llvm::Constant *constant, const llvm::DataLayout &layout, std::string &out) {
  if (auto *data = dyn_cast<llvm::ConstantDataSequential>(constant)) {
    out += data->getRawDataValues();
    return true;
  }
  if (isa<llvm::ConstantAggregateZero>(constant)) {
    out.append(layout.getTypeAllocSize(constant->getType()), '\0');
    return true;
  }
  if (auto *array = dyn_cast<llvm::ConstantArray>(constant)) {
    for (llvm::Use &element : array->operands())
      if (!appendConstantBytes(cast<llvm::Constant>(element.get()), layout, out))
        return false;
    return true;
  }
  return false;
}

/// Whether appendConstantBytes accepts `constant` (without copying its bytes).
bool isConstantData(llvm::Constant *constant) {
  if (isa<llvm::ConstantDataSequential, llvm::ConstantAggregateZero>(constant))
    return true;
  if (auto *array = dyn_cast<llvm::ConstantArray>(constant))
    return llvm::all_of(array->operands(), [](llvm::Use &element) {
      return isConstantData(cast<llvm::Constant>(element.get()));
    });
  return false;
}

/// The bytes of the constants that externalizeWeights would move out with `threshold`: what the weights
/// take when they stay embedded (the module header's weights_size, which the runtime checks against its
/// memory limit).
uint64_t embeddedWeightsSize(llvm::Module &module, uint64_t threshold) {
  const llvm::DataLayout &layout = module.getDataLayout();
  uint64_t size = 0;
  for (llvm::GlobalVariable &global : module.globals()) {
    uint64_t bytes = global.hasInitializer() ? layout.getTypeAllocSize(global.getValueType()).getFixedValue() : 0;
    if (global.isConstant() && bytes >= threshold && isConstantData(global.getInitializer()))
      size += bytes;
  }
  return size;
}

/// Moves every constant global of at least `threshold` bytes into `path` (64-byte aligned, after the
/// file's header, effc_abi_weights_header_t) and rewrites its uses as offsets from a base pointer that the
/// runtime fills in when it maps the file. The compile id hashes the producer, the ABI version and every
/// moved weight's name, offset and size, then the data's size and checksum: a module accepts exactly the
/// weights file written with it (or a byte-identical one).
FailureOr<ExternalWeights> externalizeWeights(llvm::Module &module, llvm::StringRef path, uint64_t threshold,
                                              std::string &error) {
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptrTy = llvm::PointerType::getUnqual(ctx);
  ExternalWeights weights;
  weights.fileName = llvm::sys::path::filename(path).str();
  weights.baseSlot = new llvm::GlobalVariable(module, ptrTy, /*isConstant=*/false, llvm::GlobalValue::InternalLinkage,
                                              llvm::ConstantPointerNull::get(ptrTy), "effc_weights_base");
  std::error_code ec;
  llvm::raw_fd_ostream file(path, ec);
  if (ec) {
    error = "cannot write weights file " + path.str() + ": " + ec.message();
    return failure();
  }
  const llvm::DataLayout &layout = module.getDataLayout();
  SmallVector<llvm::GlobalVariable *> moved;
  llvm::DenseMap<llvm::Function *, llvm::Value *> baseByFunction;
  Checksum checksum, compileId;
  compileId.add(kProducer).add(uint64_t{EFFC_ABI_VERSION});
  effc_abi_weights_header_t header = {};
  file.write(reinterpret_cast<const char *>(&header), sizeof(header)); // the real one is written last
  for (llvm::GlobalVariable &global : module.globals()) {
    if (!global.isConstant() || !global.hasInitializer() ||
        layout.getTypeAllocSize(global.getValueType()) < threshold)
      continue;
    std::string bytes;
    if (!appendConstantBytes(global.getInitializer(), layout, bytes))
      continue;
    uint64_t offset = llvm::alignTo(weights.size, 64);
    static const char zeros[64] = {};
    llvm::ArrayRef<char> padding(zeros, offset - weights.size);
    file << llvm::StringRef(padding.data(), padding.size()) << bytes;
    checksum.add(llvm::StringRef(padding.data(), padding.size())).add(bytes);
    weights.size = offset + bytes.size();
    compileId.add(global.getName()).add(offset).add(uint64_t{bytes.size()});

    // Uses become `base + offset`, computed where they are used.
    llvm::convertUsersOfConstantsToInstructions({&global});
    for (llvm::Use &use : llvm::make_early_inc_range(global.uses())) {
      auto *user = dyn_cast<llvm::Instruction>(use.getUser());
      if (!user) {
        error = "internal error: a weight is used outside a function";
        return failure();
      }
      llvm::Instruction *insertBefore = user;
      if (auto *phi = dyn_cast<llvm::PHINode>(user))
        insertBefore = phi->getIncomingBlock(use)->getTerminator();
      // The base is loaded once, at the function's entry: loaded at each use, a loop reloaded it for every
      // element (any store in the loop might alias the slot), which kept an embedding gather scalar.
      llvm::Function *function = user->getFunction();
      llvm::Value *&base = baseByFunction[function];
      if (!base) {
        llvm::IRBuilder<> entry(&*function->getEntryBlock().getFirstInsertionPt());
        base = entry.CreateLoad(ptrTy, weights.baseSlot, "weights_base");
      }
      llvm::IRBuilder<> builder(insertBefore);
      use.set(builder.CreateConstInBoundsGEP1_64(builder.getInt8Ty(), base, offset));
    }
    moved.push_back(&global);
  }
  for (llvm::GlobalVariable *global : moved)
    global->eraseFromParent();
  weights.checksum = checksum.value();
  weights.compileId = compileId.add(weights.size).add(weights.checksum).value();

  std::memcpy(header.magic, EFFC_WEIGHTS_MAGIC, sizeof(EFFC_WEIGHTS_MAGIC));
  header.abi_version = EFFC_ABI_VERSION;
  header.header_size = sizeof(header);
  header.compile_id = weights.compileId;
  header.data_size = weights.size;
  header.checksum = weights.checksum;
  static_assert(kProducer.size() < sizeof(header.producer), "the producer must fit the weights header");
  std::memcpy(header.producer, kProducer.data(), kProducer.size());
  file.pwrite(reinterpret_cast<const char *>(&header), sizeof(header), 0);
  file.close();
  if (file.has_error()) {
    error = "cannot write weights file " + path.str() + ": " + file.error().message();
    file.clear_error();
    return failure();
  }
  return weights;
}

/// Builds the ABI's globals and functions into one llvm::Module.
class RuntimeInterfaceEmitter {
public:
  explicit RuntimeInterfaceEmitter(llvm::Module &module)
      : module(module), ctx(module.getContext()), builder(ctx), ptrTy(llvm::PointerType::getUnqual(ctx)),
        i32Ty(llvm::Type::getInt32Ty(ctx)), i64Ty(llvm::Type::getInt64Ty(ctx)) {
    // effc_abi_host_t: {u32 version, parallel_for, alloc, free, host_ctx, gpu}
    hostTy = llvm::StructType::get(ctx, {i32Ty, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy});
    // effc_abi_tensor_info_t: {name, u32 dtype, u32 rank, dims, dim_groups}
    tensorInfoTy = llvm::StructType::get(ctx, {ptrTy, i32Ty, i32Ty, ptrTy, ptrTy});
    // effc_abi_function_t: {name, invoke, u32 num_inputs, u32 num_outputs, inputs, outputs, u64 min_call_bytes}
    functionTy = llvm::StructType::get(ctx, {ptrTy, ptrTy, i32Ty, i32Ty, ptrTy, ptrTy, i64Ty});
    // effc_abi_module_t: {u32 version, u32 num_functions, functions, producer, host_slot, weights_file,
    //                     weights_base_slot, u64 weights_size, u64 weights_checksum, u64 compile_id}
    moduleTy = llvm::StructType::get(ctx, {i32Ty, i32Ty, ptrTy, ptrTy, ptrTy, ptrTy, ptrTy, i64Ty, i64Ty, i64Ty});
  }

  /// `weights`: the external weights, or NULL when they are embedded and take `embeddedWeights` bytes.
  LogicalResult emit(llvm::ArrayRef<EntryPointSignature> entryPoints, const ExternalWeights *weights,
                     uint64_t embeddedWeights, std::string &error) {
    hostSlot = new llvm::GlobalVariable(module, ptrTy, /*isConstant=*/false, llvm::GlobalValue::InternalLinkage,
                                        llvm::ConstantPointerNull::get(ptrTy), "effc_host");
    defineAllocationFunctions();
    defineUkernelServices();
    if (failed(defineParallelDispatchers(error)))
      return failure();
    SmallVector<llvm::Constant *> functions;
    for (const EntryPointSignature &entry : entryPoints) {
      llvm::Function *trampoline = emitTrampoline(entry, error);
      if (!trampoline)
        return failure();
      functions.push_back(llvm::ConstantStruct::get(
          functionTy, {string(entry.name), trampoline, llvm::ConstantInt::get(i32Ty, entry.inputs.size()),
                       llvm::ConstantInt::get(i32Ty, entry.outputs.size()), tensorInfos(entry.inputs),
                       tensorInfos(entry.outputs), llvm::ConstantInt::get(i64Ty, entry.minCallBytes)}));
    }
    llvm::Constant *functionArray =
        constantGlobal(llvm::ConstantArray::get(llvm::ArrayType::get(functionTy, functions.size()), functions),
                       "effc_functions");
    llvm::Constant *header = constantGlobal(
        llvm::ConstantStruct::get(
            moduleTy, {llvm::ConstantInt::get(i32Ty, EFFC_ABI_VERSION), llvm::ConstantInt::get(i32Ty, functions.size()),
                       functionArray, string(kProducer), hostSlot,
                       weights ? string(weights->fileName) : llvm::ConstantPointerNull::get(ptrTy),
                       weights ? static_cast<llvm::Constant *>(weights->baseSlot)
                               : llvm::ConstantPointerNull::get(ptrTy),
                       llvm::ConstantInt::get(i64Ty, weights ? weights->size : embeddedWeights),
                       llvm::ConstantInt::get(i64Ty, weights ? weights->checksum : 0),
                       llvm::ConstantInt::get(i64Ty, weights ? weights->compileId : 0)}),
        "effc_module_header");
    emitQueryFunction(header);
    internalizeAllBut(EFFC_MODULE_QUERY_SYMBOL);
    return success();
  }

private:
  llvm::Constant *constantGlobal(llvm::Constant *init, const llvm::Twine &name) {
    return new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
                                    init, name);
  }

  llvm::Constant *string(llvm::StringRef text) {
    return constantGlobal(llvm::ConstantDataArray::getString(ctx, text), "effc_str");
  }

  llvm::Constant *tensorInfos(llvm::ArrayRef<TensorSignature> tensors) {
    if (tensors.empty())
      return llvm::ConstantPointerNull::get(ptrTy);
    SmallVector<llvm::Constant *> infos;
    for (const TensorSignature &tensor : tensors) {
      llvm::Constant *dims = tensor.dims.empty()
                                 ? static_cast<llvm::Constant *>(llvm::ConstantPointerNull::get(ptrTy))
                                 : constantGlobal(llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<uint64_t>(
                                                      reinterpret_cast<const uint64_t *>(tensor.dims.data()),
                                                      tensor.dims.size())),
                                                  "effc_dims");
      bool grouped = llvm::any_of(tensor.dimGroups, [](int32_t group) { return group >= 0; });
      llvm::Constant *groups =
          grouped ? constantGlobal(llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<uint32_t>(
                                       reinterpret_cast<const uint32_t *>(tensor.dimGroups.data()),
                                       tensor.dimGroups.size())),
                                   "effc_dim_groups")
                  : static_cast<llvm::Constant *>(llvm::ConstantPointerNull::get(ptrTy));
      infos.push_back(llvm::ConstantStruct::get(tensorInfoTy, {string(tensor.name),
                                                               llvm::ConstantInt::get(i32Ty, tensor.dtype),
                                                               llvm::ConstantInt::get(i32Ty, tensor.dims.size()), dims,
                                                               groups}));
    }
    return constantGlobal(llvm::ConstantArray::get(llvm::ArrayType::get(tensorInfoTy, infos.size()), infos),
                          "effc_tensors");
  }

  /// Loads field `index` of the host services.
  llvm::Value *hostField(unsigned index) {
    llvm::Value *host = builder.CreateLoad(ptrTy, hostSlot);
    return builder.CreateLoad(ptrTy, builder.CreateStructGEP(hostTy, host, index));
  }

  /// Gives bodies to the generic allocation functions that finalize-memref-to-llvm calls.
  void defineAllocationFunctions() {
    auto define = [&](llvm::StringRef name, llvm::FunctionType *type) -> llvm::Function * {
      llvm::Function *fn = module.getFunction(name);
      if (!fn)
        fn = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, name, module);
      if (!fn->isDeclaration())
        return nullptr;
      fn->setLinkage(llvm::GlobalValue::InternalLinkage);
      builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
      return fn;
    };
    llvm::FunctionType *allocFnTy = llvm::FunctionType::get(ptrTy, {ptrTy, i64Ty, i64Ty}, false);
    llvm::FunctionType *freeFnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, ptrTy}, false);
    if (llvm::Function *fn = define("_mlir_memref_to_llvm_aligned_alloc",
                                    llvm::FunctionType::get(ptrTy, {i64Ty, i64Ty}, false))) {
      llvm::Value *alloc = hostField(2), *hostCtx = hostField(4);
      builder.CreateRet(builder.CreateCall(allocFnTy, alloc, {hostCtx, fn->getArg(1), fn->getArg(0)}));
    }
    if (llvm::Function *fn = define("_mlir_memref_to_llvm_alloc", llvm::FunctionType::get(ptrTy, {i64Ty}, false))) {
      llvm::Value *alloc = hostField(2), *hostCtx = hostField(4);
      builder.CreateRet(
          builder.CreateCall(allocFnTy, alloc, {hostCtx, fn->getArg(0), llvm::ConstantInt::get(i64Ty, 64)}));
    }
    if (llvm::Function *fn = define("_mlir_memref_to_llvm_free",
                                    llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy}, false))) {
      llvm::Value *free = hostField(3), *hostCtx = hostField(4);
      builder.CreateCall(freeFnTy, free, {hostCtx, fn->getArg(0)});
      builder.CreateRetVoid();
    }
  }

  /// Defines the host services that linked micro-kernels declare (ukernels/ukernel.h) over the host table.
  void defineUkernelServices() {
    auto defineIfDeclared = [&](llvm::StringRef name) -> llvm::Function * {
      llvm::Function *fn = module.getFunction(name);
      if (!fn || !fn->isDeclaration())
        return nullptr;
      fn->setLinkage(llvm::GlobalValue::InternalLinkage);
      builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
      return fn;
    };
    llvm::Type *voidTy = llvm::Type::getVoidTy(ctx);
    if (llvm::Function *fn = defineIfDeclared("effc_uk_parallel_for")) {
      auto *parallelForTy = llvm::FunctionType::get(voidTy, {ptrTy, ptrTy, ptrTy, i64Ty}, false);
      llvm::Value *parallelFor = hostField(1), *hostCtx = hostField(4);
      builder.CreateCall(parallelForTy, parallelFor, {hostCtx, fn->getArg(0), fn->getArg(1), fn->getArg(2)});
      builder.CreateRetVoid();
    }
    if (llvm::Function *fn = defineIfDeclared("effc_uk_alloc")) {
      auto *allocTy = llvm::FunctionType::get(ptrTy, {ptrTy, i64Ty, i64Ty}, false);
      llvm::Value *alloc = hostField(2), *hostCtx = hostField(4);
      builder.CreateRet(
          builder.CreateCall(allocTy, alloc, {hostCtx, fn->getArg(0), llvm::ConstantInt::get(i64Ty, 64)}));
    }
    if (llvm::Function *fn = defineIfDeclared("effc_uk_free")) {
      auto *freeTy = llvm::FunctionType::get(voidTy, {ptrTy, ptrTy}, false);
      llvm::Value *free = hostField(3), *hostCtx = hostField(4);
      builder.CreateCall(freeTy, free, {hostCtx, fn->getArg(0)});
      builder.CreateRetVoid();
    }
  }

  /// Defines each `effc_parallel_dispatch.<body>(i64 count, args...)` declared by
  /// effc-outline-parallel-loops: it stores `args` in a struct and runs `<body>(i, args...)` for every
  /// i < count through the host's parallel_for, via a trampoline `void(ptr ctx, i64 i)`.
  LogicalResult defineParallelDispatchers(std::string &error) {
    static constexpr llvm::StringLiteral prefix = "effc_parallel_dispatch.";
    SmallVector<llvm::Function *> dispatchers;
    for (llvm::Function &fn : module)
      if (fn.isDeclaration() && fn.getName().starts_with(prefix))
        dispatchers.push_back(&fn);
    for (llvm::Function *dispatcher : dispatchers) {
      llvm::Function *body = module.getFunction(dispatcher->getName().drop_front(prefix.size()));
      if (!body || body->getFunctionType() != dispatcher->getFunctionType()) {
        error = ("internal error: no body for parallel dispatcher " + dispatcher->getName()).str();
        return failure();
      }
      SmallVector<llvm::Type *> fieldTypes;
      for (llvm::Argument &arg : llvm::drop_begin(dispatcher->args()))
        fieldTypes.push_back(arg.getType());
      llvm::StructType *contextTy = llvm::StructType::get(ctx, fieldTypes);

      auto *trampoline = llvm::Function::Create(
          llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, i64Ty}, false),
          llvm::GlobalValue::InternalLinkage, "effc_parallel_trampoline." + body->getName(), module);
      builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", trampoline));
      SmallVector<llvm::Value *> bodyArgs = {trampoline->getArg(1)};
      for (auto [index, type] : llvm::enumerate(fieldTypes))
        bodyArgs.push_back(builder.CreateLoad(type, builder.CreateStructGEP(contextTy, trampoline->getArg(0), index)));
      builder.CreateCall(body, bodyArgs);
      builder.CreateRetVoid();

      dispatcher->setLinkage(llvm::GlobalValue::InternalLinkage);
      builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", dispatcher));
      llvm::Value *context = builder.CreateAlloca(contextTy);
      for (auto [index, arg] : llvm::enumerate(llvm::drop_begin(dispatcher->args())))
        builder.CreateStore(&arg, builder.CreateStructGEP(contextTy, context, index));
      llvm::FunctionType *parallelForTy =
          llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, ptrTy, ptrTy, i64Ty}, false);
      llvm::Value *parallelFor = hostField(1), *hostCtx = hostField(4);
      builder.CreateCall(parallelForTy, parallelFor, {hostCtx, trampoline, context, dispatcher->getArg(0)});
      builder.CreateRetVoid();
    }
    return success();
  }

  /// Size of a ranked memref descriptor: two pointers, the offset, then sizes and strides.
  static uint64_t descriptorBytes(size_t rank) { return 8 * (3 + 2 * rank); }

  /// void effc_invoke_<name>(void **args): args = [output descriptors..., input descriptors...].
  llvm::Function *emitTrampoline(const EntryPointSignature &entry, std::string &error) {
    llvm::Function *ciface = module.getFunction("_mlir_ciface_" + entry.name);
    size_t numOutputs = entry.outputs.size(), numInputs = entry.inputs.size();
    if (!ciface || ciface->arg_size() != numInputs + (numOutputs ? 1 : 0)) {
      error = "internal error: no C interface of the expected arity for entry point '" + entry.name + "'";
      return nullptr;
    }
    auto *trampoline =
        llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy}, false),
                               llvm::GlobalValue::InternalLinkage, "effc_invoke_" + entry.name, module);
    builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", trampoline));
    llvm::Value *args = trampoline->getArg(0);
    auto argPointer = [&](size_t index) {
      return builder.CreateLoad(ptrTy, builder.CreateConstInBoundsGEP1_64(ptrTy, args, index));
    };
    uint64_t resultBytes = 0;
    for (const TensorSignature &output : entry.outputs)
      resultBytes += descriptorBytes(output.dims.size());
    SmallVector<llvm::Value *> callArgs;
    llvm::Value *results = nullptr;
    if (numOutputs) {
      results = builder.CreateAlloca(llvm::ArrayType::get(builder.getInt8Ty(), resultBytes));
      cast<llvm::AllocaInst>(results)->setAlignment(llvm::Align(8));
      callArgs.push_back(results);
    }
    for (size_t i = 0; i < numInputs; ++i)
      callArgs.push_back(argPointer(numOutputs + i));
    builder.CreateCall(ciface, callArgs);
    // A function with several results returns them as one struct of descriptors (8-byte fields, no
    // padding): copy each into the descriptor the caller provided.
    uint64_t offset = 0;
    for (size_t i = 0; i < numOutputs; ++i) {
      uint64_t bytes = descriptorBytes(entry.outputs[i].dims.size());
      builder.CreateMemCpy(argPointer(i), llvm::Align(8),
                           builder.CreateConstInBoundsGEP1_64(builder.getInt8Ty(), results, offset), llvm::Align(8),
                           bytes);
      offset += bytes;
    }
    builder.CreateRetVoid();
    return trampoline;
  }

  void emitQueryFunction(llvm::Constant *header) {
    auto *query = llvm::Function::Create(llvm::FunctionType::get(ptrTy, {i32Ty}, false),
                                         llvm::GlobalValue::ExternalLinkage, EFFC_MODULE_QUERY_SYMBOL, module);
    builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", query));
    llvm::Value *supported =
        builder.CreateICmpUGE(query->getArg(0), llvm::ConstantInt::get(i32Ty, EFFC_ABI_VERSION));
    builder.CreateRet(builder.CreateSelect(supported, header, llvm::ConstantPointerNull::get(ptrTy)));
  }

  /// Only the query function is exported; everything else may be inlined and dropped.
  void internalizeAllBut(llvm::StringRef exported) {
    for (llvm::GlobalValue &value : module.global_values()) {
      if (value.isDeclaration() || value.getName() == exported || value.getName().starts_with("llvm."))
        continue;
      if (!value.hasLocalLinkage())
        value.setLinkage(llvm::GlobalValue::InternalLinkage);
    }
  }

  llvm::Module &module;
  llvm::LLVMContext &ctx;
  llvm::IRBuilder<> builder;
  llvm::PointerType *ptrTy;
  llvm::IntegerType *i32Ty, *i64Ty;
  llvm::StructType *hostTy, *tensorInfoTy, *functionTy, *moduleTy;
  llvm::GlobalVariable *hostSlot = nullptr;
};

} // namespace

static void optimize(llvm::Module &module, llvm::TargetMachine &machine, unsigned optLevel) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder passBuilder(&machine);
  passBuilder.registerModuleAnalyses(mam);
  passBuilder.registerCGSCCAnalyses(cgam);
  passBuilder.registerFunctionAnalyses(fam);
  passBuilder.registerLoopAnalyses(lam);
  passBuilder.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager pipeline = optLevel == 0 ? passBuilder.buildO0DefaultPipeline(level)
                                                   : passBuilder.buildPerModuleDefaultPipeline(level);
  pipeline.run(module, mam);
}

FailureOr<std::unique_ptr<llvm::Module>> translateToRuntimeModule(ModuleOp module,
                                                                   llvm::ArrayRef<EntryPointSignature> entryPoints,
                                                                   llvm::LLVMContext &context,
                                                                   const TargetOptions &options) {
  std::string error;
  std::unique_ptr<llvm::TargetMachine> machine = createTargetMachine(options, error);
  if (!machine)
    return module.emitError(error);
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, context, "effc_module");
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");
  llvmModule->setTargetTriple(machine->getTargetTriple());
  llvmModule->setDataLayout(machine->createDataLayout());
  // Dimension groups of the inputs, found by effc-infer-dimension-groups before lowering.
  std::vector<EntryPointSignature> signatures(entryPoints.begin(), entryPoints.end());
  if (auto groups = module->getAttrOfType<DictionaryAttr>("effc.dimension_groups"))
    for (EntryPointSignature &entry : signatures)
      if (auto arguments = groups.getAs<ArrayAttr>(entry.name))
        for (auto [input, attr] : llvm::zip(entry.inputs, arguments))
          if (auto perDim = dyn_cast<DenseI32ArrayAttr>(attr); perDim && perDim.size() == (int64_t)input.dims.size())
            input.dimGroups.assign(perDim.asArrayRef().begin(), perDim.asArrayRef().end());
  // What each call allocates at least, found by effc-record-min-call-bytes during lowering.
  if (auto minCallBytes = module->getAttrOfType<DictionaryAttr>("effc.min_call_bytes"))
    for (EntryPointSignature &entry : signatures)
      if (auto bytes = minCallBytes.getAs<IntegerAttr>(entry.name); bytes && !bytes.getValue().isNegative())
        entry.minCallBytes = bytes.getValue().getZExtValue();
  if (failed(linkUkernels(*llvmModule, *machine, error)))
    return module.emitError(error);
  std::optional<ExternalWeights> weights;
  if (!options.externalWeightsPath.empty()) {
    FailureOr<ExternalWeights> written =
        externalizeWeights(*llvmModule, options.externalWeightsPath, options.externalWeightsThreshold, error);
    if (failed(written))
      return module.emitError(error);
    weights = *written;
  }
  uint64_t embeddedWeights = weights ? 0 : embeddedWeightsSize(*llvmModule, options.externalWeightsThreshold);
  if (failed(RuntimeInterfaceEmitter(*llvmModule).emit(signatures, weights ? &*weights : nullptr, embeddedWeights,
                                                       error)))
    return module.emitError(error);
  if (!options.deviceTarget.empty() && failed(emitCudaModuleServices(*llvmModule, options.deviceTarget, error)))
    return module.emitError(error);
  for (llvm::Function &function : *llvmModule) {
    if (function.isDeclaration())
      continue;
    function.addFnAttr("target-cpu", machine->getTargetCPU());
    if (!machine->getTargetFeatureString().empty())
      function.addFnAttr("target-features", machine->getTargetFeatureString());
  }
  std::string verifierMessage;
  llvm::raw_string_ostream verifierStream(verifierMessage);
  if (llvm::verifyModule(*llvmModule, &verifierStream))
    return module.emitError("internal error: invalid LLVM IR: ") << verifierMessage;
  optimize(*llvmModule, *machine, options.optLevel);
  return llvmModule;
}

LogicalResult emitMachineCode(llvm::Module &module, const TargetOptions &options, bool assembly,
                              llvm::raw_pwrite_stream &os, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> machine = createTargetMachine(options, error);
  if (!machine)
    return failure();
  llvm::legacy::PassManager passes;
  auto fileType = assembly ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (machine->addPassesToEmitFile(passes, os, nullptr, fileType)) {
    error = "the target cannot emit this file type";
    return failure();
  }
  passes.run(module);
  return success();
}

LogicalResult linkSharedObject(llvm::StringRef objectPath, llvm::StringRef outputPath, std::string &error) {
  auto linker = llvm::sys::findProgramByName("ld.lld", {EFFC_LLVM_TOOLS_DIR});
  if (!linker)
    linker = llvm::sys::findProgramByName("ld.lld");
  if (!linker) {
    error = "cannot find ld.lld (install lld-22, or put ld.lld on PATH)";
    return failure();
  }
  SmallString<128> log;
  llvm::sys::fs::createTemporaryFile("effc-link", "log", log);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log), llvm::StringRef(log)};
  llvm::StringRef args[] = {*linker, "-shared", "--hash-style=gnu", "-z", "noexecstack", "-z", "now", "--gc-sections",
                            "-o", outputPath, objectPath};
  int status = llvm::sys::ExecuteAndWait(*linker, args, std::nullopt, redirects, 0, 0, &error);
  if (status != 0) {
    auto buffer = llvm::MemoryBuffer::getFile(log);
    error = "linking with " + *linker + " failed" + (buffer ? ": " + (*buffer)->getBuffer().str() : "") + error;
  }
  llvm::sys::fs::remove(log);
  if (status != 0)
    return failure();
  return sealSharedObject(outputPath, error);
}

LogicalResult sealSharedObject(llvm::StringRef path, std::string &error) {
  auto image = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!image) {
    error = "cannot read " + path.str() + " to seal it: " + image.getError().message();
    return failure();
  }
  effc_abi_module_trailer_t trailer = {};
  trailer.payload_size = (*image)->getBufferSize();
  trailer.checksum = effc_checksum((*image)->getBufferStart(), (*image)->getBufferSize());
  trailer.abi_version = EFFC_ABI_VERSION;
  trailer.trailer_size = sizeof(trailer);
  std::memcpy(trailer.magic, EFFC_TRAILER_MAGIC, sizeof(EFFC_TRAILER_MAGIC));
  image->reset(); // unmap before appending
  std::error_code ec;
  llvm::raw_fd_ostream file(path, ec, llvm::sys::fs::OF_Append);
  if (!ec) {
    file.write(reinterpret_cast<const char *>(&trailer), sizeof(trailer));
    file.close();
    ec = file.error();
    file.clear_error();
  }
  if (ec) {
    error = "cannot seal " + path.str() + ": " + ec.message();
    return failure();
  }
  return success();
}

} // namespace effc
