//===- OnnxWeights.h - the initializers of an ONNX model --------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Reads the initializers of an ONNX model (ModelProto.graph.initializer) without copying them: the .onnx file
// and its external data files are memory-mapped and each tensor's bytes are located by walking the protobuf
// wire format (raw_data, packed float_data/double_data point into the mapping; varint-packed int32_data and
// int64_data, which small exporter constants use, are decoded into storage the object owns). Every length and
// offset is checked against its file, so a truncated or corrupt model gives an error, never a read past the end.
//
// `skeleton()` is the model with the top-level initializers' payloads left out, for a protobuf parser that only
// needs the graph.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_SUPPORT_ONNXWEIGHTS_H
#define EFFC_SUPPORT_ONNXWEIGHTS_H

#include "effc/Support/WeightsFile.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

namespace effc {

class OnnxWeightsFile : public WeightsFile {
public:
  /// Maps `path` (an .onnx model) and indexes its initializers; external data files are resolved relative to
  /// the model's directory and mapped once each.
  static llvm::Expected<std::unique_ptr<OnnxWeightsFile>> open(llvm::StringRef path);
  /// Indexes the model in `buffer`, which `path` names (in errors, and as the base of external data paths).
  static llvm::Expected<std::unique_ptr<OnnxWeightsFile>> parse(std::unique_ptr<llvm::MemoryBuffer> buffer,
                                                                llvm::StringRef path);

  const SafetensorsTensor *lookup(llvm::StringRef name) const override;
  llvm::ArrayRef<std::string> names() const override { return order; }
  llvm::StringRef path() const override { return filePath; }

  /// The ModelProto bytes with every graph.initializer removed (they are read through lookup()).
  llvm::StringRef skeleton() const { return skeletonBytes; }

  /// The safetensors-style dtype name ("F32", "I64", ...) of an ONNX TensorProto.DataType, or "" if effc
  /// does not read it.
  static llvm::StringRef dtypeName(int onnxDataType);

private:
  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> externalFiles;
  std::vector<std::unique_ptr<std::vector<char>>> decoded;
  llvm::StringMap<SafetensorsTensor> tensors;
  std::vector<std::string> order;
  std::string skeletonBytes;

  friend class OnnxWeightsReader;
};

} // namespace effc

#endif // EFFC_SUPPORT_ONNXWEIGHTS_H
