//===- SparseLinears.cpp - N:M sparse linear layers as device micro-kernels -===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-sparse-linears: calls of the CPU's N:M sparse-linear micro-kernel
// (effc_uk_sparse_nm_linear, which --target=cuda would otherwise run on the host over managed memory) become
// a launch of the device micro-kernels of ukernels/cuda/sparse_gemm.cu on the same operands: the f32 GEMV for
// few tokens, else the f32 tile, or with precision=bf16 (f16) and a 2:4 pattern the sparse tensor-core tiles
// (mma.sp); int8 N:4 and CSR layers likewise. The compressed weights are read as eff-sparsify stores them.
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
#include "mlir/IR/Matchers.h"

namespace effc {
#define GEN_PASS_DEF_EFFCGPUSPARSELINEARSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kCpuKernel = "effc_uk_sparse_nm_linear";
constexpr llvm::StringLiteral kCpuInt8Kernel = "effc_uk_sparse_nm_linear_i8";
constexpr llvm::StringLiteral kCpuCsrKernel = "effc_uk_sparse_csr_linear";
constexpr llvm::StringLiteral kCsr = "effc_cuda_uk_sparse_csr_f32";
constexpr llvm::StringLiteral kGemv = "effc_cuda_uk_sparse_nm_gemv_f32";
constexpr effc::KernelTile kInt8Tile = {64, 64, "effc_cuda_uk_sparse_nm_i8_gemm"};
// int8 2:4 on sparse tensor cores (mma.sp s8, exact): kInt8Tile's operands and grid.
constexpr effc::KernelTile kInt8MmaTile = {64, 64, "effc_cuda_uk_sparse24_i8_mma_gemm"};
constexpr int64_t kGemvOutputs = 8, kGemvTokens = 8; // a warp per output, 8 warps per block
constexpr effc::KernelTile kF32Tile = {64, 64, "effc_cuda_uk_sparse_nm_gemm_f32"};
// The tensor-core tiles are outputs x tokens (the kernel computes yᵀ = W · xᵀ), large and small per format.
constexpr effc::KernelTile kBf16MmaTiles[] = {{128, 128, "effc_cuda_uk_sparse24_bf16_gemm_128x128"},
                                              {64, 64, "effc_cuda_uk_sparse24_bf16_gemm_64x64"}};
constexpr effc::KernelTile kF16MmaTiles[] = {{128, 128, "effc_cuda_uk_sparse24_f16_gemm_128x128"},
                                             {64, 64, "effc_cuda_uk_sparse24_f16_gemm_64x64"}};

/// The operands of a call of effc_uk_sparse_nm_linear or effc_uk_sparse_nm_linear_i8 (ukernels/sparse_gemm.c):
/// x [B, S, K], values [N, K·n/m] (f32, or i8 with 2-bit indices [N, ceil(K·n/16)] and per-row scales [N]),
/// indices [N, K·n/m] (i8), bias [N], n, m, y [B, S, N].
struct SparseCall {
  Value x, values, indices, scales, bias, n, m, y;
};

/// True if `v` is a memref of `rank` dimensions of `element`.
bool isMemRef(Value v, int64_t rank, Type element) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getRank() == rank && type.getElementType() == element;
}

FailureOr<SparseCall> matchCall(func::CallOp call, bool int8) {
  ValueRange operands = call.getOperands();
  Builder b(call.getContext());
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), i8 = b.getI8Type();
  size_t count = int8 ? 8 : 7;
  bool matches = operands.size() == count && call.getNumResults() == 0;
  if (matches) {
    size_t s = int8 ? 1 : 0; // the scales' slot shifts bias, n, m and y
    matches = isMemRef(operands[0], 3, f32) && isMemRef(operands[1], 2, int8 ? i8 : f32) &&
              isMemRef(operands[2], 2, i8) && (!int8 || isMemRef(operands[3], 1, f32)) &&
              isMemRef(operands[3 + s], 1, f32) && operands[4 + s].getType() == i64 &&
              operands[5 + s].getType() == i64 && isMemRef(operands[6 + s], 3, f32);
  }
  if (!matches)
    return call.emitError("effc-gpu-sparse-linears: expected '")
           << call.getCallee() << "' to take "
           << (int8 ? "(x: 3-D f32, values: 2-D i8, indices: 2-D i8, scales: 1-D f32, bias: 1-D f32, n: i64, "
                    : "(x: 3-D f32, values: 2-D f32, indices: 2-D i8, bias: 1-D f32, n: i64, ")
           << "m: i64, y: 3-D f32) and return nothing, got " << call.getCalleeType();
  if (int8)
    return SparseCall{operands[0], operands[1], operands[2], operands[3], operands[4], operands[5], operands[6],
                      operands[7]};
  return SparseCall{operands[0], operands[1], operands[2], Value(), operands[3], operands[4], operands[5],
                    operands[6]};
}

/// The operands of a call of effc_uk_sparse_csr_linear: x [B, S, K], values [nnz], columns [nnz] (i32), row_ptr
/// [N + 1] (i32), bias [N], y [B, S, N].
struct CsrCall {
  Value x, values, columns, rowPtr, bias, y;
};

FailureOr<CsrCall> matchCsrCall(func::CallOp call) {
  ValueRange operands = call.getOperands();
  Builder b(call.getContext());
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  if (operands.size() != 6 || call.getNumResults() != 0 || !isMemRef(operands[0], 3, f32) ||
      !isMemRef(operands[1], 1, f32) || !isMemRef(operands[2], 1, i32) || !isMemRef(operands[3], 1, i32) ||
      !isMemRef(operands[4], 1, f32) || !isMemRef(operands[5], 3, f32))
    return call.emitError("effc-gpu-sparse-linears: expected '")
           << kCpuCsrKernel << "' to take (x: 3-D f32, values: 1-D f32, columns: 1-D i32, row_ptr: 1-D i32, "
           << "bias: 1-D f32, y: 3-D f32) and return nothing, got " << call.getCalleeType();
  return CsrCall{operands[0], operands[1], operands[2], operands[3], operands[4], operands[5]};
}

/// True if `value` is the constant `expected`.
bool isConstant(Value value, int64_t expected) {
  APInt constant;
  return matchPattern(value, m_ConstantInt(&constant)) && constant.getSExtValue() == expected;
}

class SparseLauncher : public effc::LaunchBuilder {
public:
  SparseLauncher(OpBuilder &b, Location loc, ModuleOp module) : LaunchBuilder(b, loc), module(module) {}

  /// One launch whose body calls the kernel chosen on the host: its grid is the chosen kernel's, and the body
  /// branches on the same (uniform) conditions. A single launch, rather than launches under a host `scf.if`,
  /// keeps the layer on the stream wherever it stands (effc-gpu-async-launches, docs/gpu.md). Grids have at
  /// least one block; the kernels guard every token and output, so an empty product writes nothing.
  /// `mmaTiles` (large, small) are the tensor-core tiles to use, or null for the f32 tile.
  void lower(const SparseCall &call, const effc::KernelTile *mmaTiles, int64_t maxGemvRows, int64_t minLargeTiles) {
    const bool tensorCores = mmaTiles != nullptr;
    operands = call;
    x = stridedBuffer(call.x);
    y = stridedBuffer(call.y);
    rows = arith::MulIOp::create(b, loc, x.sizes[0], x.sizes[1]);
    cols = y.sizes[2];
    Value fewRows = cmp(arith::CmpIPredicate::sle, rows, index(maxGemvRows));
    // Grids are outputs x tokens.
    auto grid = [&](const effc::KernelTile &tile) {
      return std::make_pair(ceilDiv(cols, tile.rows), ceilDiv(rows, tile.cols));
    };
    auto [gemvX, gemvY] = grid({kGemvOutputs, kGemvTokens, kGemv});
    auto [tileX, tileY] = grid(tensorCores ? mmaTiles[0] : kF32Tile);
    Value useLarge;
    if (tensorCores) {
      useLarge = cmp(arith::CmpIPredicate::sge, arith::MulIOp::create(b, loc, tileX, tileY), index(minLargeTiles));
      auto [smallX, smallY] = grid(mmaTiles[1]);
      tileX = arith::SelectOp::create(b, loc, useLarge, tileX, smallX);
      tileY = arith::SelectOp::create(b, loc, useLarge, tileY, smallY);
    }
    Value one = index(1);
    Value gridX = arith::MaxUIOp::create(b, loc, arith::SelectOp::create(b, loc, fewRows, gemvX, tileX), one);
    Value gridY = arith::MaxUIOp::create(b, loc, arith::SelectOp::create(b, loc, fewRows, gemvY, tileY), one);
    OpBuilder::InsertionGuard guard(b);
    startLaunch(gridX, gridY);
    auto branch = scf::IfOp::create(b, loc, fewRows, /*withElseRegion=*/true);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    callKernel(kGemv, /*withPattern=*/true);
    b.setInsertionPointToStart(&branch.getElseRegion().front());
    if (!tensorCores) {
      callKernel(kF32Tile.function, /*withPattern=*/true);
    } else {
      auto size = scf::IfOp::create(b, loc, useLarge, /*withElseRegion=*/true);
      b.setInsertionPointToStart(&size.getThenRegion().front());
      callKernel(mmaTiles[0].function, /*withPattern=*/false);
      b.setInsertionPointToStart(&size.getElseRegion().front());
      callKernel(mmaTiles[1].function, /*withPattern=*/false);
    }
    b.setInsertionPointAfter(branch);
    gpu::TerminatorOp::create(b, loc);
  }

  /// int8 N:4: the activation rows quantized into scratch by the dense int8 path's device quantizer (as the CPU
  /// kernel quantizes them), then the int8 tile (with a constant n = 2, the 2:4 tensor-core tile). The scratch
  /// buffers are allocated around an `scf.if` that holds only the two launches (effc-gpu-async-launches then
  /// keeps them on the stream, in device memory).
  void lowerInt8(const SparseCall &call) {
    const effc::KernelTile &tileKernel = isConstant(call.n, 2) ? kInt8MmaTile : kInt8Tile;
    operands = call;
    x = stridedBuffer(call.x);
    y = stridedBuffer(call.y);
    rows = arith::MulIOp::create(b, loc, x.sizes[0], x.sizes[1]);
    cols = y.sizes[2];
    Value depth = x.sizes[2], zero = index(0);
    effc::QuantizedRows scratch = allocateQuantizedRows(rows, depth);
    OpBuilder::InsertionGuard guard(b);
    enterIfAllPositive({rows, cols});
    // Dynamic quantization (static scale 0), as the CPU's sparse int8 kernel does.
    launchQuantizeRows(module, x, rows, scratch, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f)),
                       arith::ConstantIntOp::create(b, loc, 0, 64));
    Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(b.getContext());
    Value quantized = scratch.quantized, rowScales = scratch.rowScales, ldq = scratch.ldq;
    LLVM::LLVMFuncOp tile = effc::getOrDeclareDeviceFunction(
        module, tileKernel.function, {i64, i64, i64, ptr, i64, ptr, ptr, i64, ptr, i64, i64, ptr, ptr, ptr, i64});
    startLaunch(ceilDiv(cols, tileKernel.rows), ceilDiv(rows, tileKernel.cols));
    effc::StridedBuffer values = stridedBuffer(call.values), indices = stridedBuffer(call.indices);
    effc::StridedBuffer scales = stridedBuffer(call.scales), bias = stridedBuffer(call.bias);
    LLVM::CallOp::create(b, loc, tile,
                         ValueRange{toI64(rows), toI64(cols), toI64(depth), pointer(quantized, zero, 1), toI64(ldq),
                                    pointer(rowScales, zero, 4), pointer(call.values, values.offset, 1),
                                    toI64(values.strides[0]), pointer(call.indices, indices.offset, 1),
                                    toI64(indices.strides[0]), call.n, pointer(call.scales, scales.offset, 4),
                                    pointer(call.bias, bias.offset, 4), pointer(call.y, y.offset, 4),
                                    toI64(y.strides[1])});
    gpu::TerminatorOp::create(b, loc);
  }

  /// CSR: one launch of the warp-per-row kernel, 8 outputs x 8 tokens per block (at least one block: the kernel
  /// guards every output and token).
  void lowerCsr(const CsrCall &call) {
    effc::StridedBuffer x = stridedBuffer(call.x), y = stridedBuffer(call.y);
    Value rows = arith::MulIOp::create(b, loc, x.sizes[0], x.sizes[1]), one = index(1);
    Value gridX = arith::MaxUIOp::create(b, loc, ceilDiv(y.sizes[2], kGemvOutputs), one);
    Value gridY = arith::MaxUIOp::create(b, loc, ceilDiv(rows, kGemvTokens), one);
    OpBuilder::InsertionGuard guard(b);
    startLaunch(gridX, gridY);
    Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(b.getContext());
    LLVM::LLVMFuncOp function = effc::getOrDeclareDeviceFunction(
        module, kCsr, {i64, i64, ptr, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr, i64});
    effc::StridedBuffer values = stridedBuffer(call.values), columns = stridedBuffer(call.columns);
    effc::StridedBuffer rowPtr = stridedBuffer(call.rowPtr), bias = stridedBuffer(call.bias);
    LLVM::CallOp::create(b, loc, function,
                         ValueRange{toI64(rows), toI64(y.sizes[2]), pointer(call.x, x.offset, 4), toI64(x.sizes[1]),
                                    toI64(x.strides[0]), toI64(x.strides[1]), toI64(x.strides[2]),
                                    pointer(call.values, values.offset, 4), pointer(call.columns, columns.offset, 4),
                                    pointer(call.rowPtr, rowPtr.offset, 4), pointer(call.bias, bias.offset, 4),
                                    pointer(call.y, y.offset, 4), toI64(y.strides[1])});
    gpu::TerminatorOp::create(b, loc);
  }

private:
  /// Calls `name` with (M, N, K, x, rows per batch, x's three strides, values, ldv, indices, ldi, [n, m,] bias, y,
  /// ldy) at the insertion point (inside the launch).
  void callKernel(StringRef name, bool withPattern) {
    MLIRContext *ctx = b.getContext();
    Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(ctx);
    SmallVector<Type> signature{i64, i64, i64, ptr, i64, i64, i64, i64, ptr, i64, ptr, i64};
    if (withPattern)
      signature.append({i64, i64});
    signature.append({ptr, ptr, i64});
    LLVM::LLVMFuncOp function = effc::getOrDeclareDeviceFunction(module, name, signature);
    effc::StridedBuffer values = stridedBuffer(operands.values), indices = stridedBuffer(operands.indices);
    effc::StridedBuffer bias = stridedBuffer(operands.bias);
    SmallVector<Value> arguments{toI64(rows),
                                 toI64(cols),
                                 toI64(x.sizes[2]),
                                 pointer(operands.x, x.offset, 4),
                                 toI64(x.sizes[1]),
                                 toI64(x.strides[0]),
                                 toI64(x.strides[1]),
                                 toI64(x.strides[2]),
                                 pointer(operands.values, values.offset, 4),
                                 toI64(values.strides[0]),
                                 pointer(operands.indices, indices.offset, 1),
                                 toI64(indices.strides[0])};
    if (withPattern)
      arguments.append({operands.n, operands.m});
    // y is the result buffer the lowering allocated: token t's row starts t · ldy in.
    arguments.append({pointer(operands.bias, bias.offset, 4), pointer(operands.y, y.offset, 4), toI64(y.strides[1])});
    LLVM::CallOp::create(b, loc, function, arguments);
  }

  ModuleOp module;
  SparseCall operands;
  effc::StridedBuffer x, y;
  Value rows, cols;
};

struct GpuSparseLinearsPass : public effc::impl::EffcGpuSparseLinearsPassBase<GpuSparseLinearsPass> {
  using EffcGpuSparseLinearsPassBase::EffcGpuSparseLinearsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<effc::MatmulPrecision> products = effc::parseMatmulPrecision(precision);
    if (!products) {
      module.emitError("effc-gpu-sparse-linears: precision must be f32, bf16 or f16, got '") << precision << "'";
      return signalPassFailure();
    }
    const effc::KernelTile *mmaTiles = *products == effc::MatmulPrecision::Bf16  ? kBf16MmaTiles
                                       : *products == effc::MatmulPrecision::F16 ? kF16MmaTiles
                                                                                 : nullptr;
    if (maxGemvRows < 0 || minLargeTiles < 1) {
      module.emitError("effc-gpu-sparse-linears: max-gemv-rows must not be negative and min-large-tiles must be "
                       "at least 1, got ")
          << static_cast<int64_t>(maxGemvRows) << " and " << static_cast<int64_t>(minLargeTiles);
      return signalPassFailure();
    }
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      if ((call.getCallee() == kCpuKernel || call.getCallee() == kCpuInt8Kernel ||
           call.getCallee() == kCpuCsrKernel) &&
          !call->getParentOfType<gpu::LaunchOp>())
        calls.push_back(call);
    });
    bool failed = false;
    for (func::CallOp call : calls) {
      OpBuilder builder(call);
      SparseLauncher launcher(builder, call.getLoc(), module);
      if (call.getCallee() == kCpuCsrKernel) {
        FailureOr<CsrCall> csr = matchCsrCall(call);
        if (llvm::failed(csr)) {
          failed = true;
          continue;
        }
        launcher.lowerCsr(*csr);
      } else {
        bool int8 = call.getCallee() == kCpuInt8Kernel;
        FailureOr<SparseCall> operands = matchCall(call, int8);
        if (llvm::failed(operands)) {
          failed = true;
          continue;
        }
        if (int8) {
          launcher.lowerInt8(*operands);
        } else {
          // mma.sp takes 2:4 only; other patterns (and a pattern known only at run time) use the f32 kernels.
          bool twoFour = isConstant(operands->n, 2) && isConstant(operands->m, 4);
          launcher.lower(*operands, twoFour ? mmaTiles : nullptr, maxGemvRows, minLargeTiles);
        }
      }
      call.erase();
    }
    if (failed)
      return signalPassFailure();
    // The host kernels' declarations go when nothing calls them any more.
    for (StringRef name : {kCpuKernel, kCpuInt8Kernel, kCpuCsrKernel})
      if (auto declaration = module.lookupSymbol<func::FuncOp>(name))
        if (declaration.isDeclaration() && declaration.symbolKnownUseEmpty(module))
          declaration.erase();
  }
};

} // namespace
