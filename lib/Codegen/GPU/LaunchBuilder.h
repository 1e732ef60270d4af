//===- LaunchBuilder.h - host-side operands of device micro-kernel launches -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Shared by the passes that replace linalg ops or CPU micro-kernel calls by gpu.launch ops calling a device
// micro-kernel (effc-gpu-gemm-ukernels, -bf16-linear-ukernels, -quantized-linears, -attention-ukernels,
// -row-reductions): the kernel's llvm.func declaration, and the index arithmetic, i64 sizes and generic
// pointers to memref elements that the host side computes for its launch.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_LIB_CODEGEN_GPU_LAUNCHBUILDER_H
#define EFFC_LIB_CODEGEN_GPU_LAUNCHBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace effc {

/// The declaration of device micro-kernel `name` taking `params` and returning nothing, added to `module` on
/// first use. An llvm.func, not a func.func, so that lowering to NVVM adds no C-interface wrapper.
inline mlir::LLVM::LLVMFuncOp getOrDeclareDeviceFunction(mlir::ModuleOp module, llvm::StringRef name,
                                                         llvm::ArrayRef<mlir::Type> params) {
  if (auto existing = module.lookupSymbol<mlir::LLVM::LLVMFuncOp>(name))
    return existing;
  auto type = mlir::LLVM::LLVMFunctionType::get(mlir::LLVM::LLVMVoidType::get(module.getContext()), params);
  auto builder = mlir::OpBuilder::atBlockEnd(module.getBody());
  return mlir::LLVM::LLVMFuncOp::create(builder, module.getLoc(), name, type);
}

/// The arithmetic of f32 matrix products on the device (the passes' `precision` option, effc's
/// --cuda-matmul-precision): exact f32 on the SIMT cores, or tensor cores with the operands rounded to bf16 or
/// f16 and f32 sums.
enum class MatmulPrecision { F32, Bf16, F16 };

/// Parses a `precision` option: "f32", "bf16" or "f16"; std::nullopt for anything else.
inline std::optional<MatmulPrecision> parseMatmulPrecision(llvm::StringRef name) {
  if (name == "f32")
    return MatmulPrecision::F32;
  if (name == "bf16")
    return MatmulPrecision::Bf16;
  if (name == "f16")
    return MatmulPrecision::F16;
  return std::nullopt;
}

/// A tile shape of a device micro-kernel (rows x columns of the output per block) and the function computing it.
struct KernelTile {
  int64_t rows, cols;
  llvm::StringLiteral function;
};

/// A memref with its offset, sizes and strides read on the host (memref.extract_strided_metadata).
struct StridedBuffer {
  mlir::Value memref, offset;
  llvm::SmallVector<mlir::Value> sizes, strides;
};

/// Scratch of effc_cuda_uk_quantize_rows_s8 (ukernels/cuda/quantized_gemm.cu): activation rows as signed bytes
/// [rows][ldq] (ldq: K rounded up to a 32-byte step), each row's scale and zero-point correction.
struct QuantizedRows {
  mlir::Value quantized, rowScales, corrections, ldq;
};

/// Builds, at one location, the host-side values a launch of a device micro-kernel takes. The launchers of
/// the GPU lowering passes derive from it.
class LaunchBuilder {
protected:
  LaunchBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::Value index(int64_t value) { return mlir::arith::ConstantIndexOp::create(b, loc, value); }
  mlir::Value cmp(mlir::arith::CmpIPredicate predicate, mlir::Value lhs, mlir::Value rhs) {
    return mlir::arith::CmpIOp::create(b, loc, predicate, lhs, rhs);
  }
  mlir::Value ceilDiv(mlir::Value value, int64_t divisor) {
    return mlir::arith::CeilDivUIOp::create(b, loc, value, index(divisor));
  }
  mlir::Value toI64(mlir::Value value) { return mlir::arith::IndexCastOp::create(b, loc, b.getI64Type(), value); }

  /// The address of element `offset` of `memref` (elements of `bytes` bytes), as a generic LLVM pointer.
  mlir::Value pointer(mlir::Value memref, mlir::Value offset, int64_t bytes) {
    mlir::Value base = mlir::memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    mlir::Value address =
        mlir::arith::AddIOp::create(b, loc, base, mlir::arith::MulIOp::create(b, loc, offset, index(bytes)));
    return mlir::LLVM::IntToPtrOp::create(b, loc, mlir::LLVM::LLVMPointerType::get(b.getContext()), toI64(address));
  }

  StridedBuffer stridedBuffer(mlir::Value memref) {
    auto metadata = mlir::memref::ExtractStridedMetadataOp::create(b, loc, memref);
    StridedBuffer buffer{memref, metadata.getOffset(), {}, {}};
    buffer.sizes.assign(metadata.getSizes().begin(), metadata.getSizes().end());
    buffer.strides.assign(metadata.getStrides().begin(), metadata.getStrides().end());
    return buffer;
  }

  /// Creates an `scf.if` on every one of `sizes` being positive (no else) and moves the insertion point into its
  /// body, so that the launches built there are skipped for an empty product (a grid of 0 blocks is invalid).
  void enterIfAllPositive(llvm::ArrayRef<mlir::Value> sizes) {
    mlir::Value zero = index(0), all;
    for (mlir::Value size : sizes) {
      mlir::Value positive = cmp(mlir::arith::CmpIPredicate::sgt, size, zero);
      all = all ? mlir::arith::AndIOp::create(b, loc, all, positive).getResult() : positive;
    }
    auto ifOp = mlir::scf::IfOp::create(b, loc, all, /*withElseRegion=*/false);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  }

  /// Creates a launch of (gridX, gridY) blocks of 256 threads and moves the insertion point into its body.
  void startLaunch(mlir::Value gridX, mlir::Value gridY) {
    mlir::Value one = index(1);
    auto launch = mlir::gpu::LaunchOp::create(b, loc, gridX, gridY, one, index(256), one, one);
    b.setInsertionPointToStart(&launch.getBody().front());
  }

  /// Allocates the row quantizer's scratch for `rows` rows of `depth` values (at least one row and one 32-byte
  /// step, so never empty) with its deallocations after it, and leaves the insertion point before those: code
  /// built there (an `scf.if` holding only launches) sits between allocation and deallocation, which
  /// effc-gpu-async-launches turns into stream-ordered device memory.
  QuantizedRows allocateQuantizedRows(mlir::Value rows, mlir::Value depth) {
    using namespace mlir;
    constexpr int64_t kStep = 32; // the int8 GEMM's K step, in bytes
    Value ldq = arith::MulIOp::create(b, loc, ceilDiv(depth, kStep), index(kStep));
    Value allocRows = arith::MaxUIOp::create(b, loc, rows, index(1));
    Value allocLdq = arith::MaxUIOp::create(b, loc, ldq, index(kStep));
    auto dynamic = [](Type element, int64_t rank) {
      return MemRefType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic), element);
    };
    QuantizedRows scratch;
    scratch.ldq = ldq;
    scratch.quantized = memref::AllocOp::create(b, loc, dynamic(b.getI8Type(), 2), ValueRange{allocRows, allocLdq},
                                                b.getI64IntegerAttr(64));
    scratch.rowScales = memref::AllocOp::create(b, loc, dynamic(b.getF32Type(), 1), ValueRange{allocRows},
                                                b.getI64IntegerAttr(64));
    scratch.corrections = memref::AllocOp::create(b, loc, dynamic(b.getI32Type(), 1), ValueRange{allocRows},
                                                  b.getI64IntegerAttr(64));
    auto firstDealloc = memref::DeallocOp::create(b, loc, scratch.quantized);
    memref::DeallocOp::create(b, loc, scratch.rowScales);
    memref::DeallocOp::create(b, loc, scratch.corrections);
    b.setInsertionPoint(firstDealloc);
    return scratch;
  }

  /// Launches effc_cuda_uk_quantize_rows_s8, one block per row of x ([B, S, K], rows = B · S), into `scratch`;
  /// `staticScale` (f32) > 0 selects static quantization with `staticZero` (i64). The insertion point stays
  /// after the launch.
  void launchQuantizeRows(mlir::ModuleOp module, const StridedBuffer &x, mlir::Value rows,
                          const QuantizedRows &scratch, mlir::Value staticScale, mlir::Value staticZero) {
    using namespace mlir;
    Type i64 = b.getI64Type(), f32 = b.getF32Type(), ptr = LLVM::LLVMPointerType::get(b.getContext());
    LLVM::LLVMFuncOp quantize = getOrDeclareDeviceFunction(
        module, "effc_cuda_uk_quantize_rows_s8", {i64, ptr, i64, i64, i64, i64, f32, i64, ptr, i64, ptr, ptr});
    OpBuilder::InsertionGuard guard(b);
    startLaunch(rows, index(1));
    Value zero = index(0);
    LLVM::CallOp::create(b, loc, quantize,
                         ValueRange{toI64(x.sizes[2]), pointer(x.memref, x.offset, 4), toI64(x.sizes[1]),
                                    toI64(x.strides[0]), toI64(x.strides[1]), toI64(x.strides[2]), staticScale,
                                    staticZero, pointer(scratch.quantized, zero, 1), toI64(scratch.ldq),
                                    pointer(scratch.rowScales, zero, 4), pointer(scratch.corrections, zero, 4)});
    gpu::TerminatorOp::create(b, loc);
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace effc

#endif // EFFC_LIB_CODEGEN_GPU_LAUNCHBUILDER_H
