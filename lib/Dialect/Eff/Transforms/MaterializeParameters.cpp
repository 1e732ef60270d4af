//===- MaterializeParameters.cpp - eff.parameter -> constants --------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-materialize-parameters: reads named weights from a safetensors file into dense_resource
// constants, checking each one's dtype and shape against the type the IR declares.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"
#include "effc/Support/Safetensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/Path.h"

namespace mlir::eff {
#define GEN_PASS_DEF_EFFMATERIALIZEPARAMETERSPASS
#include "effc/Dialect/Eff/Transforms/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// The safetensors dtype name of an MLIR element type, or "" if none.
std::string safetensorsDtype(Type type) {
  if (type.isF32())
    return "F32";
  if (type.isF16())
    return "F16";
  if (type.isBF16())
    return "BF16";
  if (type.isF64())
    return "F64";
  if (type.isInteger(64))
    return "I64";
  if (type.isInteger(32))
    return "I32";
  if (type.isSignlessInteger(8) || type.isSignedInteger(8))
    return "I8";
  if (type.isUnsignedInteger(8))
    return "U8";
  if (type.isInteger(1))
    return "BOOL";
  return "";
}

std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

struct EffMaterializeParametersPass
    : mlir::eff::impl::EffMaterializeParametersPassBase<EffMaterializeParametersPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ParameterOp> parameters;
    module.walk([&](ParameterOp op) { parameters.push_back(op); });
    if (parameters.empty())
      return;

    std::string path = weightsFile;
    if (path.empty()) {
      auto attr = module->getAttrOfType<StringAttr>("eff.weights");
      if (!attr) {
        parameters.front().emitOpError("names a parameter, but no weights file was given (module attribute "
                                       "'eff.weights' or the driver's --weights)");
        return signalPassFailure();
      }
      path = attr.getValue().str();
    }
    if (!baseDir.empty() && llvm::sys::path::is_relative(path)) {
      SmallString<256> joined(baseDir);
      llvm::sys::path::append(joined, path);
      path = std::string(joined);
    }
    auto file = effc::SafetensorsFile::open(path);
    if (!file) {
      module.emitError() << llvm::toString(file.takeError());
      return signalPassFailure();
    }

    bool failedAny = false;
    for (ParameterOp op : parameters) {
      auto type = cast<RankedTensorType>(op.getType());
      const effc::SafetensorsTensor *tensor = (*file)->lookup(op.getName());
      if (!tensor) {
        op.emitOpError("parameter '") << op.getName() << "' is not in weights file " << path;
        failedAny = true;
        continue;
      }
      std::string dtype = safetensorsDtype(type.getElementType());
      if (tensor->dtype != dtype || llvm::ArrayRef<int64_t>(tensor->shape) != type.getShape()) {
        op.emitOpError("parameter '") << op.getName() << "' is " << tensor->dtype << " " << formatShape(tensor->shape)
                                      << " in " << path << ", but the IR declares " << type;
        failedAny = true;
        continue;
      }
      AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(tensor->data, /*align=*/64);
      auto attr = DenseResourceElementsAttr::get(type, op.getName(), std::move(blob));
      OpBuilder builder(op);
      auto constant = arith::ConstantOp::create(builder, op.getLoc(), type, attr);
      op.replaceAllUsesWith(constant.getResult());
      op.erase();
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
