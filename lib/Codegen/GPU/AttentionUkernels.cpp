//===- AttentionUkernels.cpp - fused attention as device micro-kernels -----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-attention-ukernels: the calls of the fused attention micro-kernel effc_uk_attention_f32 that
// convert-eff-to-linalg makes (f32 eff.attention without head_mask or bias; docs/spec/eff.md#effattention) become a
// gpu.launch of its device counterpart in ukernels/cuda/attention.cu (prefill on tensor cores with precision=bf16 or
// f16), so that --target=cuda never materialises the [B, H, S, L] scores. The call's operands are passed through:
// each buffer as a pointer with its strides, the KV cache read in place.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "LaunchBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUATTENTIONUKERNELSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kHostKernel = "effc_uk_attention_f32";
constexpr llvm::StringLiteral kPrefillKernel = "effc_cuda_uk_attention_f32";
constexpr llvm::StringLiteral kDecodeKernel = "effc_cuda_uk_attention_decode_f32";
/// The device kernels' limits and launch shapes (ukernels/cuda/attention.cu).
constexpr int64_t kMaxHeadDim = 128;
constexpr int64_t kPrefillThreads = 128, kPrefillRows = 16, kDecodeThreads = 256;
/// The tensor-core prefill kernels: 128 threads (kPrefillThreads), 64 query rows per block, head sizes up to
/// kMmaSmallHeadDim (the _d64 kernels) or kMaxHeadDim (_d128).
constexpr int64_t kMmaPrefillRows = 64, kMmaSmallHeadDim = 64;

/// The prefill kernel for a precision and a head size, and its query rows per block.
std::pair<StringRef, int64_t> prefillKernel(effc::MatmulPrecision precision, int64_t headDim) {
  bool small = headDim <= kMmaSmallHeadDim;
  switch (precision) {
  case effc::MatmulPrecision::F32:
    return {kPrefillKernel, kPrefillRows};
  case effc::MatmulPrecision::Bf16:
    return {small ? "effc_cuda_uk_attention_mma_bf16_d64" : "effc_cuda_uk_attention_mma_bf16_d128",
            kMmaPrefillRows};
  case effc::MatmulPrecision::F16:
    return {small ? "effc_cuda_uk_attention_mma_f16_d64" : "effc_cuda_uk_attention_mma_f16_d128",
            kMmaPrefillRows};
  }
  llvm_unreachable("unknown matmul precision");
}

/// Operand positions of effc_uk_attention_f32 (ukernels/attention.c).
enum HostOperand : unsigned {
  kQuery, kKey, kValue, kPastKey, kPastValue, kMask, kNumHeads, kNumKvHeads, kScale, kCausal, kHasMask, kHasPast,
  kOutput, kNumHostOperands
};

/// The memref that `value` casts (through any memref.cast), for its static shape.
Value stripCasts(Value value) {
  while (auto cast = value.getDefiningOp<memref::CastOp>())
    value = cast.getSource();
  return value;
}

/// The call has effc_uk_attention_f32's operands: f32 buffers q, k, v, past k, past v (rank 3), mask (rank 2),
/// i64 num_heads and num_kv_heads, f32 scale, i64 causal, has_mask and has_past, and the output (rank 3).
bool hasHostSignature(func::CallOp call) {
  if (call.getNumOperands() != kNumHostOperands || call.getNumResults() != 0)
    return false;
  auto isBuffer = [&](unsigned operand, int64_t rank) {
    auto type = dyn_cast<MemRefType>(call.getOperand(operand).getType());
    return type && type.getRank() == rank && type.getElementType().isF32();
  };
  auto isI64 = [&](unsigned operand) { return call.getOperand(operand).getType().isInteger(64); };
  return isBuffer(kQuery, 3) && isBuffer(kKey, 3) && isBuffer(kValue, 3) && isBuffer(kPastKey, 3) &&
         isBuffer(kPastValue, 3) && isBuffer(kMask, 2) && isBuffer(kOutput, 3) && isI64(kNumHeads) &&
         isI64(kNumKvHeads) && call.getOperand(kScale).getType().isF32() && isI64(kCausal) && isI64(kHasMask) &&
         isI64(kHasPast);
}

/// The head size of a call, or a diagnostic: the query's hidden size (before the call's cast to a dynamic
/// shape) and num_heads must be static, and the head size at most kMaxHeadDim.
FailureOr<int64_t> staticHeadDim(func::CallOp call) {
  std::optional<int64_t> heads = getConstantIntValue(call.getOperand(kNumHeads));
  auto queryType = cast<MemRefType>(stripCasts(call.getOperand(kQuery)).getType());
  if (!heads || *heads < 1 || queryType.isDynamicDim(2))
    return call.emitError("effc-gpu-attention-ukernels: the attention's head size must be static (constant "
                          "num_heads and a static query width); lower it without the fused kernel "
                          "(convert-eff-to-linalg{fused-attention-max-head-dim=128})");
  int64_t headDim = queryType.getDimSize(2) / *heads;
  if (headDim > kMaxHeadDim)
    return call.emitError("effc-gpu-attention-ukernels: head size ")
           << headDim << " exceeds the device kernel's " << kMaxHeadDim
           << "; lower it without the fused kernel (convert-eff-to-linalg{fused-attention-max-head-dim=128})";
  return headDim;
}

/// The device kernels' declaration (an llvm.func, so that lowering to NVVM adds no C-interface wrapper):
/// (S, L', P, H, Hkv, Dh, then q, k, v, past k, past v as pointer and three strides, mask as pointer and two
/// strides, out as pointer and three strides, scale, causal, has_mask).
LLVM::LLVMFuncOp getOrDeclareKernel(ModuleOp module, StringRef name) {
  MLIRContext *ctx = module.getContext();
  Type i64 = IntegerType::get(ctx, 64), ptr = LLVM::LLVMPointerType::get(ctx);
  SmallVector<Type> params(6, i64);
  for (int operand = 0; operand < 5; ++operand)
    params.append({ptr, i64, i64, i64});
  params.append({ptr, i64, i64, ptr, i64, i64, i64, Float32Type::get(ctx), i64, i64});
  return effc::getOrDeclareDeviceFunction(module, name, params);
}

class AttentionLauncher : public effc::LaunchBuilder {
public:
  AttentionLauncher(OpBuilder &b, Location loc, ModuleOp module) : LaunchBuilder(b, loc), module(module) {}

  void lower(func::CallOp call, int64_t headDim, int64_t decodeMaxRows, effc::MatmulPrecision precision) {
    auto [prefill, prefillRows] = prefillKernel(precision, headDim);
    for (unsigned operand : {kQuery, kKey, kValue, kPastKey, kPastValue, kOutput})
      buffers[operand] = stridedBuffer(call.getOperand(operand));
    // Without a padding mask (a constant has_mask of 0) the kernel gets a null pointer and no placeholder.
    std::optional<int64_t> hasMask = getConstantIntValue(call.getOperand(kHasMask));
    if (!hasMask || *hasMask != 0)
      buffers[kMask] = stridedBuffer(call.getOperand(kMask));
    scalars = {call.getOperand(kScale), call.getOperand(kCausal), call.getOperand(kHasMask)};

    batch = buffers[kQuery]->sizes[0];
    rows = buffers[kQuery]->sizes[1];
    Value hasPast = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, call.getOperand(kHasPast),
                                          arith::ConstantIntOp::create(b, loc, 0, 64));
    Value pastLen = arith::SelectOp::create(b, loc, hasPast, buffers[kPastKey]->sizes[1], index(0));
    Value heads = arith::IndexCastOp::create(b, loc, b.getIndexType(), call.getOperand(kNumHeads));
    Value kvHeads = arith::IndexCastOp::create(b, loc, b.getIndexType(), call.getOperand(kNumKvHeads));
    shape = {rows, buffers[kKey]->sizes[1], pastLen, heads, kvHeads, index(headDim)};

    // One launch whose body picks the kernel (no scf.if around launches on the host, so that the launch stays on the
    // stream of the code around it): up to decodeMaxRows query rows (a decode step) take the decode kernel, 256
    // threads and a block per row; more take the prefill kernel, 128 threads and a block per 16 rows (64 on tensor
    // cores). Without queries (a grid of 0 blocks is invalid) one block runs and does nothing.
    Value decode = cmp(arith::CmpIPredicate::sle, rows, index(decodeMaxRows));
    Value nonEmpty = arith::AndIOp::create(b, loc, cmp(arith::CmpIPredicate::sgt, batch, index(0)),
                                           cmp(arith::CmpIPredicate::sgt, rows, index(0)));
    Value one = index(1);
    Value gridX = arith::SelectOp::create(b, loc, nonEmpty, arith::MulIOp::create(b, loc, batch, heads), one);
    Value gridY = arith::SelectOp::create(b, loc, decode, rows,
                                          arith::CeilDivUIOp::create(b, loc, rows, index(prefillRows)));
    gridY = arith::SelectOp::create(b, loc, nonEmpty, gridY, one);
    Value threads = arith::SelectOp::create(b, loc, decode, index(kDecodeThreads), index(kPrefillThreads));
    auto launchOp = gpu::LaunchOp::create(b, loc, gridX, gridY, one, threads, one, one);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launchOp.getBody().front());
    Value inside = arith::AndIOp::create(b, loc, cmp(arith::CmpIPredicate::sgt, batch, index(0)),
                                         cmp(arith::CmpIPredicate::sgt, rows, index(0)));
    auto ifNonEmpty = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    b.setInsertionPointToStart(&ifNonEmpty.getThenRegion().front());
    auto choice = scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::sle, rows, index(decodeMaxRows)),
                                    /*withElseRegion=*/true);
    b.setInsertionPointToStart(&choice.getThenRegion().front());
    callKernel(kDecodeKernel);
    b.setInsertionPointToStart(&choice.getElseRegion().front());
    callKernel(prefill);
    b.setInsertionPointAfter(ifNonEmpty);
    gpu::TerminatorOp::create(b, loc);
  }

private:
  using Buffer = effc::StridedBuffer;

  /// The buffer's first element as a generic LLVM pointer and its strides, as kernel arguments (a null
  /// pointer and zero strides for an absent mask).
  void appendBuffer(SmallVector<Value> &arguments, const std::optional<Buffer> &buffer, unsigned rank) {
    auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
    if (!buffer) {
      arguments.push_back(LLVM::ZeroOp::create(b, loc, ptrType));
      for (unsigned i = 0; i < rank; ++i)
        arguments.push_back(arith::ConstantIntOp::create(b, loc, 0, 64));
      return;
    }
    arguments.push_back(pointer(buffer->memref, buffer->offset, 4));
    for (Value stride : buffer->strides)
      arguments.push_back(toI64(stride));
  }

  /// The kernel's call, in the launch body.
  void callKernel(StringRef name) {
    LLVM::LLVMFuncOp kernel = getOrDeclareKernel(module, name);
    SmallVector<Value> arguments;
    for (Value size : shape)
      arguments.push_back(toI64(size));
    for (unsigned operand : {kQuery, kKey, kValue, kPastKey, kPastValue})
      appendBuffer(arguments, buffers[operand], 3);
    appendBuffer(arguments, buffers[kMask], 2);
    appendBuffer(arguments, buffers[kOutput], 3);
    arguments.append(scalars.begin(), scalars.end());
    LLVM::CallOp::create(b, loc, kernel, arguments);
  }

  ModuleOp module;
  std::optional<Buffer> buffers[kNumHostOperands];
  SmallVector<Value> shape, scalars;
  Value batch, rows;
};

struct GpuAttentionUkernelsPass : public effc::impl::EffcGpuAttentionUkernelsPassBase<GpuAttentionUkernelsPass> {
  using EffcGpuAttentionUkernelsPassBase::EffcGpuAttentionUkernelsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (decodeMaxRows < 0) {
      module.emitError("effc-gpu-attention-ukernels: decode-max-rows must be at least 0, got ")
          << static_cast<int64_t>(decodeMaxRows);
      return signalPassFailure();
    }
    std::optional<effc::MatmulPrecision> products = effc::parseMatmulPrecision(precision);
    if (!products) {
      module.emitError("effc-gpu-attention-ukernels: precision must be f32, bf16 or f16, got '") << precision << "'";
      return signalPassFailure();
    }
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      if (call.getCallee() == kHostKernel && !call->getParentOfType<gpu::LaunchOp>())
        calls.push_back(call);
    });
    bool failed = false;
    for (func::CallOp call : calls) {
      if (!hasHostSignature(call)) {
        call.emitError("effc-gpu-attention-ukernels: expected a call of ")
            << kHostKernel << " as convert-eff-to-linalg makes it (ukernels/attention.c: five rank-3 and one "
            << "rank-2 f32 buffers, i64 heads, f32 scale, i64 flags, a rank-3 f32 output)";
        failed = true;
        continue;
      }
      FailureOr<int64_t> headDim = staticHeadDim(call);
      if (::mlir::failed(headDim)) {
        failed = true;
        continue;
      }
      OpBuilder builder(call);
      AttentionLauncher(builder, call.getLoc(), module).lower(call, *headDim, decodeMaxRows, *products);
      call.erase();
    }
    if (failed)
      return signalPassFailure();
    // The host kernel's declaration goes with its last call.
    if (auto declaration = module.lookupSymbol<func::FuncOp>(kHostKernel))
      if (declaration.isDeclaration() && declaration.symbolKnownUseEmpty(module))
        declaration.erase();
  }
};

} // namespace
