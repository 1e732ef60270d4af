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
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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

  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace effc

#endif // EFFC_LIB_CODEGEN_GPU_LAUNCHBUILDER_H
