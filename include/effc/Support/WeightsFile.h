//===- WeightsFile.h - named tensors in a mapped file -----------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The interface eff-materialize-parameters reads weights through: a memory-mapped file of named tensors,
// either a safetensors file (Safetensors.h) or the initializers of an ONNX model with its external data
// files (OnnxWeights.h). `WeightsFile::open` picks the reader from the file name (`.onnx`, else
// safetensors).
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_SUPPORT_WEIGHTSFILE_H
#define EFFC_SUPPORT_WEIGHTSFILE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace effc {

/// One named tensor; `data` points into a mapped file (or storage its WeightsFile owns).
struct SafetensorsTensor {
  std::string dtype; ///< "F32", "F16", "BF16", "I64", "I32", "I8", "U8", "BOOL", ...
  std::vector<int64_t> shape;
  llvm::ArrayRef<char> data;
};

/// A file of named tensors, valid as long as the object lives.
class WeightsFile {
public:
  virtual ~WeightsFile();

  /// Maps and validates `path`: an ONNX model's initializers if it ends in `.onnx`, else a safetensors file.
  static llvm::Expected<std::unique_ptr<WeightsFile>> open(llvm::StringRef path);

  /// The tensor named `name`, or null.
  virtual const SafetensorsTensor *lookup(llvm::StringRef name) const = 0;
  /// Tensor names in file order.
  virtual llvm::ArrayRef<std::string> names() const = 0;
  virtual llvm::StringRef path() const = 0;
};

} // namespace effc

#endif // EFFC_SUPPORT_WEIGHTSFILE_H
