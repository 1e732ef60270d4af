//===- Bf16LinearUkernels.cpp - bf16 linear layers on tensor cores ---------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-bf16-linear-ukernels: on the CUDA target, the call of the CPU micro-kernel
// effc_uk_quantized_linear_bf16 that eff.quantized_linear (bf16 scheme) lowers to becomes a gpu.launch of the
// tensor-core GEMM of ukernels/cuda/mma_gemm.cu, which reads eff-quantize's bf16 packing as it is. Without
// this, the layer would run on the host over managed memory.
//
//===----------------------------------------------------------------------===//

#include "effc/Codegen/Passes.h"

#include "LaunchBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUBF16LINEARUKERNELSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kCpuKernel = "effc_uk_quantized_linear_bf16";
constexpr int64_t kThreadsPerBlock = 256;

using MmaTile = effc::KernelTile;
constexpr MmaTile kLargeTile = {128, 128, "effc_cuda_uk_bf16_gemm_128x128"};
constexpr MmaTile kSmallTile = {64, 64, "effc_cuda_uk_bf16_gemm_64x64"};

/// Returns true if `type` is a memref of `rank` dimensions of `elementType`.
bool isMemRef(Type type, int64_t rank, Type elementType) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.getRank() == rank && memref.getElementType() == elementType;
}

/// The device micro-kernel's declaration: (M, N, K, A, lda, ak, W, bias, C, ldc), an llvm.func so that lowering
/// to NVVM adds no C-interface wrapper.
LLVM::LLVMFuncOp getOrDeclareUkernel(ModuleOp module, StringRef name) {
  MLIRContext *ctx = module.getContext();
  Type i64 = IntegerType::get(ctx, 64), ptr = LLVM::LLVMPointerType::get(ctx);
  return effc::getOrDeclareDeviceFunction(module, name, {i64, i64, i64, ptr, i64, i64, ptr, ptr, ptr, i64});
}

class Bf16LinearLauncher : public effc::LaunchBuilder {
public:
  Bf16LinearLauncher(OpBuilder &b, Location loc, ModuleOp module) : LaunchBuilder(b, loc), module(module) {}

  /// Replaces `call` (x [B, S, K], packed W, bias [N], has_bias, y [B, S, N]): one GEMM of S rows per B,
  /// spread over block z.
  void lower(func::CallOp call, int64_t minLargeTiles) {
    ValueRange operands = call.getOperands();
    xMemref = operands[0];
    yMemref = operands[4];
    x = memref::ExtractStridedMetadataOp::create(b, loc, operands[0]);
    w = operands[1];
    bias = operands[2];
    hasBias = operands[3];
    y = memref::ExtractStridedMetadataOp::create(b, loc, operands[4]);
    batchCount = x.getSizes()[0];
    rows = x.getSizes()[1];
    depth = x.getSizes()[2];
    cols = y.getSizes()[2];
    // Nothing to launch for an empty result (a grid of 0 blocks is invalid).
    OpBuilder::InsertionGuard guard(b);
    enterIfAllPositive({rows, cols, batchCount});
    Value largeTiles = arith::MulIOp::create(
        b, loc, arith::MulIOp::create(b, loc, ceilDiv(rows, kLargeTile.rows), ceilDiv(cols, kLargeTile.cols)),
        batchCount);
    auto choice = scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::sge, largeTiles, index(minLargeTiles)), true);
    b.setInsertionPointToStart(&choice.getThenRegion().front());
    launch(kLargeTile);
    b.setInsertionPointToStart(&choice.getElseRegion().front());
    launch(kSmallTile);
  }

private:


  void launch(const MmaTile &tile) {
    LLVM::LLVMFuncOp ukernel = getOrDeclareUkernel(module, tile.function);
    Value one = index(1);
    auto launchOp = gpu::LaunchOp::create(b, loc, ceilDiv(cols, tile.cols), ceilDiv(rows, tile.rows), batchCount,
                                          index(kThreadsPerBlock), one, one);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launchOp.getBody().front());
    Value z = launchOp.getBlockIds().z;
    auto offsetOf = [&](memref::ExtractStridedMetadataOp metadata, Value position) {
      return arith::AddIOp::create(b, loc, metadata.getOffset(),
                                   arith::MulIOp::create(b, loc, position, metadata.getStrides()[0]));
    };
    auto wMetadata = memref::ExtractStridedMetadataOp::create(b, loc, w);
    auto biasMetadata = memref::ExtractStridedMetadataOp::create(b, loc, bias);
    // The kernel adds no bias when its pointer is null.
    Value biasPointer = LLVM::SelectOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, hasBias, arith::ConstantIntOp::create(b, loc, 0, 64)),
        pointer(bias, biasMetadata.getOffset(), 4),
        LLVM::ZeroOp::create(b, loc, LLVM::LLVMPointerType::get(b.getContext())));
    // y is the result buffer the lowering allocated: rows of N contiguous values (stride 1 along n).
    LLVM::CallOp::create(b, loc, ukernel,
                         ValueRange{toI64(rows), toI64(cols), toI64(depth), pointer(xMemref, offsetOf(x, z), 4),
                                    toI64(x.getStrides()[1]), toI64(x.getStrides()[2]),
                                    pointer(w, wMetadata.getOffset(), 2), biasPointer,
                                    pointer(yMemref, offsetOf(y, z), 4), toI64(y.getStrides()[1])});
    gpu::TerminatorOp::create(b, loc);
  }

  ModuleOp module;
  memref::ExtractStridedMetadataOp x, y;
  Value xMemref, yMemref, w, bias, hasBias, rows, cols, depth, batchCount;
};

struct GpuBf16LinearUkernelsPass : public effc::impl::EffcGpuBf16LinearUkernelsPassBase<GpuBf16LinearUkernelsPass> {
  using EffcGpuBf16LinearUkernelsPassBase::EffcGpuBf16LinearUkernelsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (minLargeTiles < 1) {
      module.emitError("effc-gpu-bf16-linear-ukernels: min-large-tiles must be at least 1, got ")
          << static_cast<int64_t>(minLargeTiles);
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    Type f32 = Float32Type::get(ctx), bf16 = BFloat16Type::get(ctx);
    SmallVector<func::CallOp> calls;
    WalkResult walk = module.walk([&](func::CallOp call) {
      if (call.getCallee() != kCpuKernel)
        return WalkResult::advance();
      TypeRange types = call.getOperandTypes();
      if (types.size() != 5 || !isMemRef(types[0], 3, f32) || !isMemRef(types[1], 1, bf16) ||
          !isMemRef(types[2], 1, f32) || !types[3].isInteger(64) || !isMemRef(types[4], 3, f32) ||
          call.getNumResults() != 0) {
        call.emitError("effc-gpu-bf16-linear-ukernels: expected '")
            << kCpuKernel << "' to take (memref<?x?x?xf32>, memref<?xbf16>, memref<?xf32>, i64, "
            << "memref<?x?x?xf32>) and return nothing, got " << call.getCalleeType();
        return WalkResult::interrupt();
      }
      calls.push_back(call);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    for (func::CallOp call : calls) {
      OpBuilder builder(call);
      Bf16LinearLauncher(builder, call.getLoc(), module).lower(call, minLargeTiles);
      call.erase();
    }
    // The CPU kernel's declaration goes when nothing calls it any more.
    if (auto declaration = module.lookupSymbol<func::FuncOp>(kCpuKernel))
      if (declaration.isExternal() && SymbolTable::symbolKnownUseEmpty(declaration, module))
        declaration.erase();
  }
};

} // namespace
