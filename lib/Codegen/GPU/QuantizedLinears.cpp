//===- QuantizedLinears.cpp - quantized linear layers as device micro-kernels ===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements effc-gpu-quantized-linears: calls of the CPU's int8, int4 and LUT quantized-linear micro-kernels
// (effc_uk_quantized_linear_{int8,int4,lut}, which --target=cuda would otherwise run on the host over managed
// memory) become launches of the device micro-kernels of ukernels/cuda/quantized_gemm.cu and lut_gemm.cu on the
// same operands: for int8, row quantization into a scratch buffer, then the dp4a GEMV or the int8 tensor-core
// GEMM with the epilogue; for int4 and LUT, kernels that dequantise the weights in registers.
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
#define GEN_PASS_DEF_EFFCGPUQUANTIZEDLINEARSPASS
#include "effc/Codegen/Passes.h.inc"
} // namespace effc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kCpuInt8Kernel = "effc_uk_quantized_linear_int8";
constexpr llvm::StringLiteral kGemv = "effc_cuda_uk_qgemv_s8";
constexpr llvm::StringLiteral kGemm = "effc_cuda_uk_qgemm_s8_128x128";
constexpr llvm::StringLiteral kCpuInt4Kernel = "effc_uk_quantized_linear_int4";
constexpr llvm::StringLiteral kInt4Gemm = "effc_cuda_uk_qgemm_int4_32x64";
constexpr llvm::StringLiteral kInt4Gemv = "effc_cuda_uk_qgemv_int4_8x256";
constexpr llvm::StringLiteral kCpuLutKernel = "effc_uk_quantized_linear_lut";
constexpr llvm::StringLiteral kLutGemm = "effc_cuda_uk_qgemm_lut_32x64";
constexpr llvm::StringLiteral kLutGemv = "effc_cuda_uk_qgemv_lut_8x256";
constexpr int64_t kGemmTile = 128;
constexpr int64_t kGemvColumnsPerBlock = 128; // 8 warps of 16 columns
// The int4 kernels' tiles (rows x columns per block).
constexpr int64_t kInt4GemmRows = 32, kInt4GemmCols = 64, kInt4GemvRows = 8, kInt4GemvCols = 256;

/// The operands of a call of effc_uk_quantized_linear_int8 or _int4 (ukernels/quantized_gemm.c's signatures:
/// x, packed weights, three 1-D side operands, three scalars, y).
struct QuantizedCall {
  Value x, weights, side0, side1, bias, scalar0, scalar1, scalar2, y;
};

/// Checks the call against the CPU kernel's signature; a mismatch is an error at the call. `int8`: column
/// sums (i32) and scales, bias, has_bias (i64), static scale (f32), static zero point (i64); int4: scales,
/// zero points, bias, group size, has_zero, has_bias (i64).
FailureOr<QuantizedCall> matchCall(func::CallOp call, bool int8) {
  auto fail = [&](const Twine &what) {
    return call.emitError("effc-gpu-quantized-linears: call of '") << call.getCallee() << "' " << what;
  };
  ValueRange operands = call.getOperands();
  if (operands.size() != 9 || call.getNumResults() != 0)
    return fail("must have 9 operands and no results, as ukernels/quantized_gemm.c declares it");
  auto memref = [](Value v, int64_t rank, Type element) {
    auto type = dyn_cast<MemRefType>(v.getType());
    return type && type.getRank() == rank && type.getElementType() == element;
  };
  Builder b(call.getContext());
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  bool matches = memref(operands[0], 3, f32) && memref(operands[1], 1, b.getI8Type()) &&
                 memref(operands[2], 1, int8 ? b.getI32Type() : f32) && memref(operands[3], 1, f32) &&
                 memref(operands[4], 1, f32) && operands[5].getType() == i64 &&
                 operands[6].getType() == (int8 ? f32 : i64) && operands[7].getType() == i64 &&
                 memref(operands[8], 3, f32);
  if (!matches)
    return fail(int8 ? "has unexpected operand types (expected x: 3-D f32, packed: 1-D i8, column sums: 1-D i32, "
                       "scales and bias: 1-D f32, has_bias: i64, static scale: f32, static zero point: i64, y: 3-D f32)"
                     : "has unexpected operand types (expected x: 3-D f32, packed: 1-D i8, scales, zero points and "
                       "bias: 1-D f32, group size, has_zero and has_bias: i64, y: 3-D f32)");
  return QuantizedCall{operands[0], operands[1], operands[2], operands[3], operands[4],
                       operands[5], operands[6], operands[7], operands[8]};
}

/// The operands of a call of effc_uk_quantized_linear_lut: x, packed sign bits, α, bias, group, bits, has_bias,
/// y.
struct LutCall {
  Value x, packed, alpha, bias, group, bits, hasBias, y;
};

FailureOr<LutCall> matchLutCall(func::CallOp call) {
  ValueRange operands = call.getOperands();
  auto memref = [](Value v, int64_t rank, Type element) {
    auto type = dyn_cast<MemRefType>(v.getType());
    return type && type.getRank() == rank && type.getElementType() == element;
  };
  Builder b(call.getContext());
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  if (operands.size() != 8 || call.getNumResults() != 0 || !memref(operands[0], 3, f32) ||
      !memref(operands[1], 1, b.getI8Type()) || !memref(operands[2], 1, f32) || !memref(operands[3], 1, f32) ||
      operands[4].getType() != i64 || operands[5].getType() != i64 || operands[6].getType() != i64 ||
      !memref(operands[7], 3, f32))
    return call.emitError("effc-gpu-quantized-linears: call of '")
           << call.getCallee() << "' must take (x: 3-D f32, packed: 1-D i8, alpha and bias: 1-D f32, group size, "
           << "bits and has_bias: i64, y: 3-D f32) and return nothing, as ukernels/quantized_gemm.c declares it";
  return LutCall{operands[0], operands[1], operands[2], operands[3],
                 operands[4], operands[5], operands[6], operands[7]};
}

class QuantizedLauncher : public effc::LaunchBuilder {
public:
  QuantizedLauncher(OpBuilder &b, Location loc, ModuleOp module) : LaunchBuilder(b, loc), module(module) {}

  void lowerInt8(const QuantizedCall &call, int64_t maxGemvRows) {
    effc::StridedBuffer x = stridedBuffer(call.x);
    auto y = memref::ExtractStridedMetadataOp::create(b, loc, call.y);
    Value rows = arith::MulIOp::create(b, loc, x.sizes[0], x.sizes[1]);
    Value depth = x.sizes[2], cols = y.getSizes()[2];
    Value zero = index(0);
    // Scratch (the quantized rows, whole 32-byte K steps, zero-padded; each row's scale and correction),
    // allocated around the launches' scf.if.
    effc::QuantizedRows scratch = allocateQuantizedRows(rows, depth);
    Value quantized = scratch.quantized, rowScales = scratch.rowScales, corrections = scratch.corrections;
    Value ldq = scratch.ldq;
    // Nothing to launch for an empty product (a grid of 0 blocks is invalid); K = 0 still writes the bias.
    OpBuilder::InsertionGuard guard(b);
    enterIfAllPositive({rows, cols});
    launchQuantizeRows(module, x, rows, scratch, call.scalar1, call.scalar2);

    Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(b.getContext());
    // Both products take (M, N, K, q, ldq, row scales, corrections, w, colsum, weight scales, bias or null,
    // y, ldy); rows of y are y.strides[1] apart (the CPU kernel's convention).
    LLVM::LLVMFuncOp gemv = effc::getOrDeclareDeviceFunction(module, kGemv, {i64, i64, i64, ptr, i64, ptr, ptr, ptr, ptr, ptr, ptr, ptr, i64});
    LLVM::LLVMFuncOp gemm = effc::getOrDeclareDeviceFunction(module, kGemm, {i64, i64, i64, ptr, i64, ptr, ptr, ptr, ptr, ptr, ptr, ptr, i64});
    auto product = [&](LLVM::LLVMFuncOp function) {
      auto weights = memref::ExtractStridedMetadataOp::create(b, loc, call.weights);
      auto sums = memref::ExtractStridedMetadataOp::create(b, loc, call.side0);
      auto scales = memref::ExtractStridedMetadataOp::create(b, loc, call.side1);
      auto bias = memref::ExtractStridedMetadataOp::create(b, loc, call.bias);
      Value biasPointer = pointerIf(call.scalar0, pointer(call.bias, bias.getOffset(), 4));
      LLVM::CallOp::create(
          b, loc, function,
          ValueRange{toI64(rows), toI64(cols), toI64(depth), pointer(quantized, zero, 1), toI64(ldq),
                     pointer(rowScales, zero, 4), pointer(corrections, zero, 4),
                     pointer(call.weights, weights.getOffset(), 1), pointer(call.side0, sums.getOffset(), 4),
                     pointer(call.side1, scales.getOffset(), 4), biasPointer, pointer(call.y, y.getOffset(), 4),
                     toI64(y.getStrides()[1])});
      gpu::TerminatorOp::create(b, loc);
    };
    auto fewRows = scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::sle, rows, index(maxGemvRows)),
                                     /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard branchGuard(b);
      b.setInsertionPointToStart(&fewRows.getThenRegion().front());
      startLaunch(ceilDiv(cols, kGemvColumnsPerBlock), index(1));
      product(gemv);
      b.setInsertionPointToStart(&fewRows.getElseRegion().front());
      startLaunch(ceilDiv(cols, kGemmTile), ceilDiv(rows, kGemmTile));
      product(gemm);
    }
  }

  /// int4: one launch of the tiled kernel (or of its few-rows shape), dequantising in registers.
  void lowerInt4(const QuantizedCall &call, int64_t maxGemvRows) {
    auto x = memref::ExtractStridedMetadataOp::create(b, loc, call.x);
    auto y = memref::ExtractStridedMetadataOp::create(b, loc, call.y);
    Value rowsPerBatch = x.getSizes()[1];
    Value rows = arith::MulIOp::create(b, loc, x.getSizes()[0], rowsPerBatch);
    Value depth = x.getSizes()[2], cols = y.getSizes()[2];
    OpBuilder::InsertionGuard guard(b);
    enterIfAllPositive({rows, cols});
    Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(b.getContext());
    SmallVector<Type> signature{i64, i64, i64, ptr, i64, i64, i64, i64, ptr, ptr, ptr, i64, ptr, ptr, i64};
    auto product = [&](StringRef name) {
      LLVM::LLVMFuncOp function = effc::getOrDeclareDeviceFunction(module, name, signature);
      auto weights = memref::ExtractStridedMetadataOp::create(b, loc, call.weights);
      auto scales = memref::ExtractStridedMetadataOp::create(b, loc, call.side0);
      auto zeros = memref::ExtractStridedMetadataOp::create(b, loc, call.side1);
      auto bias = memref::ExtractStridedMetadataOp::create(b, loc, call.bias);
      LLVM::CallOp::create(
          b, loc, function,
          ValueRange{toI64(rows), toI64(cols), toI64(depth), pointer(call.x, x.getOffset(), 4), toI64(rowsPerBatch),
                     toI64(x.getStrides()[0]), toI64(x.getStrides()[1]), toI64(x.getStrides()[2]),
                     pointer(call.weights, weights.getOffset(), 1), pointer(call.side0, scales.getOffset(), 4),
                     pointerIf(call.scalar1, pointer(call.side1, zeros.getOffset(), 4)), call.scalar0,
                     pointerIf(call.scalar2, pointer(call.bias, bias.getOffset(), 4)),
                     pointer(call.y, y.getOffset(), 4), toI64(y.getStrides()[1])});
      gpu::TerminatorOp::create(b, loc);
    };
    auto fewRows = scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::sle, rows, index(maxGemvRows)),
                                     /*withElseRegion=*/true);
    b.setInsertionPointToStart(&fewRows.getThenRegion().front());
    startLaunch(ceilDiv(cols, kInt4GemvCols), ceilDiv(rows, kInt4GemvRows));
    product(kInt4Gemv);
    b.setInsertionPointToStart(&fewRows.getElseRegion().front());
    startLaunch(ceilDiv(cols, kInt4GemmCols), ceilDiv(rows, kInt4GemmRows));
    product(kInt4Gemm);
  }

  /// LUT: one launch whose body calls the tiled kernel or, for few rows, its GEMV shape (chosen on the host, the
  /// grid with it), dequantising the sign bits in registers. The grid has at least one block; the kernel guards
  /// rows and columns.
  void lowerLut(const LutCall &call, int64_t maxGemvRows) {
    effc::StridedBuffer x = stridedBuffer(call.x), y = stridedBuffer(call.y);
    Value rows = arith::MulIOp::create(b, loc, x.sizes[0], x.sizes[1]);
    Value cols = y.sizes[2], one = index(1);
    Value fewRows = cmp(arith::CmpIPredicate::sle, rows, index(maxGemvRows));
    auto pick = [&](int64_t gemv, int64_t gemm, Value size) {
      Value blocks = arith::SelectOp::create(b, loc, fewRows, ceilDiv(size, gemv), ceilDiv(size, gemm));
      return arith::MaxUIOp::create(b, loc, blocks, one).getResult();
    };
    Value gridX = pick(kInt4GemvCols, kInt4GemmCols, cols), gridY = pick(kInt4GemvRows, kInt4GemmRows, rows);
    OpBuilder::InsertionGuard guard(b);
    startLaunch(gridX, gridY);
    Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(b.getContext());
    auto product = [&](StringRef name) {
      LLVM::LLVMFuncOp function = effc::getOrDeclareDeviceFunction(
          module, name, {i64, i64, i64, ptr, i64, i64, i64, i64, ptr, ptr, i64, i64, ptr, ptr, i64});
      effc::StridedBuffer packed = stridedBuffer(call.packed), alpha = stridedBuffer(call.alpha);
      effc::StridedBuffer bias = stridedBuffer(call.bias);
      LLVM::CallOp::create(
          b, loc, function,
          ValueRange{toI64(rows), toI64(cols), toI64(x.sizes[2]), pointer(call.x, x.offset, 4), toI64(x.sizes[1]),
                     toI64(x.strides[0]), toI64(x.strides[1]), toI64(x.strides[2]),
                     pointer(call.packed, packed.offset, 1), pointer(call.alpha, alpha.offset, 4), call.group,
                     call.bits, pointerIf(call.hasBias, pointer(call.bias, bias.offset, 4)),
                     pointer(call.y, y.offset, 4), toI64(y.strides[1])});
    };
    auto branch = scf::IfOp::create(b, loc, fewRows, /*withElseRegion=*/true);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    product(kLutGemv);
    b.setInsertionPointToStart(&branch.getElseRegion().front());
    product(kLutGemm);
    b.setInsertionPointAfter(branch);
    gpu::TerminatorOp::create(b, loc);
  }

private:
  /// `pointer` when the i64 flag is non-zero, else null.
  Value pointerIf(Value flag, Value pointer) {
    Value set = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, flag,
                                      arith::ConstantIntOp::create(b, loc, 0, 64));
    return arith::SelectOp::create(b, loc, set, pointer, LLVM::ZeroOp::create(b, loc, pointer.getType()));
  }



  ModuleOp module;
};

struct GpuQuantizedLinearsPass : public effc::impl::EffcGpuQuantizedLinearsPassBase<GpuQuantizedLinearsPass> {
  using EffcGpuQuantizedLinearsPassBase::EffcGpuQuantizedLinearsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (maxGemvRows < 0) {
      module.emitError("effc-gpu-quantized-linears: max-gemv-rows must not be negative, got ")
          << static_cast<int64_t>(maxGemvRows);
      return signalPassFailure();
    }
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      if ((call.getCallee() == kCpuInt8Kernel || call.getCallee() == kCpuInt4Kernel ||
           call.getCallee() == kCpuLutKernel) &&
          !call->getParentOfType<gpu::LaunchOp>())
        calls.push_back(call);
    });
    bool failed = false;
    for (func::CallOp call : calls) {
      if (call.getCallee() == kCpuLutKernel) {
        FailureOr<LutCall> operands = matchLutCall(call);
        if (llvm::failed(operands)) {
          failed = true;
          continue;
        }
        OpBuilder builder(call);
        QuantizedLauncher(builder, call.getLoc(), module).lowerLut(*operands, maxGemvRows);
        call.erase();
        continue;
      }
      bool int8 = call.getCallee() == kCpuInt8Kernel;
      FailureOr<QuantizedCall> operands = matchCall(call, int8);
      if (llvm::failed(operands)) {
        failed = true;
        continue;
      }
      OpBuilder builder(call);
      QuantizedLauncher launcher(builder, call.getLoc(), module);
      if (int8)
        launcher.lowerInt8(*operands, maxGemvRows);
      else
        launcher.lowerInt4(*operands, maxGemvRows);
      call.erase();
    }
    if (failed)
      return signalPassFailure();
    // The host kernels' declarations go when nothing calls them any more.
    for (StringRef name : {kCpuInt8Kernel, kCpuInt4Kernel, kCpuLutKernel})
      if (auto declaration = module.lookupSymbol<func::FuncOp>(name))
        if (declaration.isDeclaration() && declaration.symbolKnownUseEmpty(module))
          declaration.erase();
  }
};

} // namespace
