//===- MaterializeParameters.cpp - eff.parameter -> constants --------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Implements eff-materialize-parameters: reads named weights from a safetensors file (or the shards of a
// sharded checkpoint, or the initializers of an .onnx model and its external data) into dense_resource constants, checking each one's dtype and shape against the type the
// IR declares, and applying the parameter's view (transpose, row_offset, stack) if it has one.
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

#include <cstring>

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

/// A weights file as eff.weights names it: its path and the prefix of the parameter names it serves ("" for
/// all names; else a parameter "<prefix><tensor>" reads the file's "<tensor>").
struct WeightsPath {
  std::string path, prefix;
};

/// The weights files of a module: one, or the shards of a sharded checkpoint (and adapter files).
struct WeightsFiles {
  std::vector<std::unique_ptr<effc::WeightsFile>> files;
  std::vector<std::string> prefixes; ///< per file

  /// The tensor `name` and its file, or an error at `op` if it is in none or in several of the files.
  FailureOr<std::pair<const effc::SafetensorsTensor *, StringRef>> lookup(Operation *op, StringRef name) const {
    const effc::SafetensorsTensor *found = nullptr;
    StringRef foundIn;
    for (const auto &[file, prefix] : llvm::zip(files, prefixes)) {
      if (!name.starts_with(prefix))
        continue;
      const effc::SafetensorsTensor *tensor = file->lookup(name.drop_front(prefix.size()));
      if (!tensor)
        continue;
      if (found)
        return op->emitOpError("parameter '") << name << "' is in two weights files, " << foundIn << " and "
                                              << file->path();
      found = tensor;
      foundIn = file->path();
    }
    if (!found) {
      InFlightDiagnostic diag = op->emitOpError("parameter '") << name << "' is not in weights file";
      if (files.size() > 1)
        diag << "s";
      for (const auto &file : files)
        diag << " " << file->path();
      return diag;
    }
    return std::make_pair(found, foundIn);
  }
};

/// How one stored part of a parameter is read: its shape after the view (transpose, rows from row_offset).
std::string describeView(ParameterOp op) {
  std::string view;
  if (op.getTranspose())
    view += " transposed";
  if (op.getRowOffset())
    view += " from row " + std::to_string(*op.getRowOffset());
  return view;
}

/// Appends the bytes of `tensor` viewed as a part of shape `part` (see eff.parameter: optionally transposed,
/// then rows from `rowOffset`) to `out`; fails (without a diagnostic) if the stored shape cannot give `part`.
LogicalResult appendView(const effc::SafetensorsTensor &tensor, ArrayRef<int64_t> part, bool transpose,
                         int64_t rowOffset, size_t elementBytes, std::vector<char> &out) {
  SmallVector<int64_t> stored(tensor.shape.begin(), tensor.shape.end());
  if (stored.size() != part.size())
    return failure();
  if (transpose)
    std::swap(stored[0], stored[1]); // the stored tensor as seen after the transpose
  for (size_t d = 0; d < part.size(); ++d)
    if (d == 0 ? stored[0] < rowOffset + part[0] : stored[d] != part[d])
      return failure();
  if (part.empty()) {
    out.insert(out.end(), tensor.data.begin(), tensor.data.end());
    return success();
  }
  if (!transpose) {
    size_t rowBytes = elementBytes;
    for (int64_t extent : part.drop_front())
      rowBytes *= extent;
    const char *begin = tensor.data.data() + rowOffset * rowBytes;
    out.insert(out.end(), begin, begin + part[0] * rowBytes);
    return success();
  }
  // The stored tensor is [cols, totalRows]; part[r][c] = stored[c][rowOffset + r].
  int64_t rows = part[0], cols = part[1], totalRows = stored[0];
  size_t base = out.size();
  out.resize(base + rows * cols * elementBytes);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      std::memcpy(out.data() + base + (r * cols + c) * elementBytes,
                  tensor.data.data() + (c * totalRows + rowOffset + r) * elementBytes, elementBytes);
  return success();
}

struct EffMaterializeParametersPass
    : mlir::eff::impl::EffMaterializeParametersPassBase<EffMaterializeParametersPass> {
  using Base::Base;

  /// The weights files: the option, or the module's eff.weights (a string or an array of strings and
  /// {file = "...", prefix = "..."} dictionaries).
  FailureOr<SmallVector<WeightsPath>> weightsPaths(ModuleOp module, ParameterOp first) {
    SmallVector<WeightsPath> paths;
    if (!weightsFile.empty()) {
      paths.push_back({weightsFile, ""});
    } else if (auto name = module->getAttrOfType<StringAttr>("eff.weights")) {
      paths.push_back({name.str(), ""});
    } else if (auto names = module->getAttrOfType<ArrayAttr>("eff.weights")) {
      for (Attribute element : names) {
        if (auto name = dyn_cast<StringAttr>(element)) {
          paths.push_back({name.str(), ""});
          continue;
        }
        StringAttr file, prefix;
        if (auto entry = dyn_cast<DictionaryAttr>(element); entry && entry.size() == 2) {
          file = entry.getAs<StringAttr>("file");
          prefix = entry.getAs<StringAttr>("prefix");
        }
        if (!file || !prefix || prefix.getValue().empty())
          return module.emitError("eff.weights must be a file name or an array of file names and {file = "
                                  "\"...\", prefix = \"...\"} entries with a non-empty prefix, but has element ")
                 << element;
        paths.push_back({file.str(), prefix.str()});
      }
      if (paths.empty())
        return module.emitError("eff.weights is an empty array of file names");
    } else if (Attribute attr = module->getAttr("eff.weights")) {
      return module.emitError("eff.weights must be a file name or an array of file names, not ") << attr;
    } else {
      return first.emitOpError("names a parameter, but no weights file was given (module attribute "
                               "'eff.weights' or the driver's --weights)");
    }
    for (WeightsPath &entry : paths) {
      if (baseDir.empty() || !llvm::sys::path::is_relative(entry.path))
        continue;
      SmallString<256> joined(baseDir);
      llvm::sys::path::append(joined, entry.path);
      entry.path = std::string(joined);
    }
    return paths;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ParameterOp> parameters;
    module.walk([&](ParameterOp op) { parameters.push_back(op); });
    if (parameters.empty())
      return;

    FailureOr<SmallVector<WeightsPath>> paths = weightsPaths(module, parameters.front());
    if (failed(paths))
      return signalPassFailure();
    WeightsFiles weights;
    for (const WeightsPath &entry : *paths) {
      auto file = effc::WeightsFile::open(entry.path);
      if (!file) {
        module.emitError() << llvm::toString(file.takeError());
        return signalPassFailure();
      }
      weights.files.push_back(std::move(*file));
      weights.prefixes.push_back(entry.prefix);
    }

    bool failedAny = false;
    for (ParameterOp op : parameters) {
      auto type = cast<RankedTensorType>(op.getType());
      std::string dtype = safetensorsDtype(type.getElementType());
      SmallVector<StringRef> parts;
      ArrayRef<int64_t> partShape = type.getShape();
      if (std::optional<ArrayAttr> stack = op.getStack()) {
        for (Attribute part : *stack)
          parts.push_back(cast<StringAttr>(part).getValue());
        partShape = partShape.drop_front();
      } else {
        parts.push_back(op.getName());
      }
      std::vector<char> bytes;
      bool plain = !op.getStack() && !op.getTranspose() && !op.getRowOffset();
      const effc::SafetensorsTensor *single = nullptr;
      bool read = true;
      for (StringRef part : parts) {
        auto found = weights.lookup(op, part);
        if (failed(found)) {
          read = false;
          break;
        }
        auto [tensor, path] = *found;
        if (tensor->dtype != dtype ||
            failed(appendView(*tensor, partShape, op.getTranspose(), op.getRowOffset().value_or(0),
                              effc::SafetensorsFile::elementSize(dtype), bytes))) {
          InFlightDiagnostic diag = op.emitOpError("parameter '")
                                    << part << "' is " << tensor->dtype << " " << formatShape(tensor->shape)
                                    << " in " << path << ", but the IR declares " << type;
          if (!plain)
            diag << " (each part " << formatShape(partShape) << describeView(op) << ")";
          read = false;
          break;
        }
        single = tensor;
      }
      if (!read) {
        failedAny = true;
        continue;
      }
      // A plain parameter is copied straight from the mapped file; a view was assembled in `bytes`.
      ArrayRef<char> data = plain ? single->data : ArrayRef<char>(bytes);
      AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(data, /*align=*/64);
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
