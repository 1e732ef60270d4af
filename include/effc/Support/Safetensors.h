//===- Safetensors.h - read safetensors weight files ------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A reader of the safetensors format (an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw bytes). The file is memory-mapped, not copied, and
// every range is validated against the file so that a truncated or corrupt file gives an error.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_SUPPORT_SAFETENSORS_H
#define EFFC_SUPPORT_SAFETENSORS_H

#include "effc/Support/WeightsFile.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm::json {
class Value;
} // namespace llvm::json

namespace effc {

/// The integer a JSON number holds, or nothing for a non-integer or one of magnitude 2^62 or more
/// (json::Value::getAsInteger casts a whole double such as 2^63 to int64_t unchecked: undefined behaviour).
std::optional<int64_t> jsonInteger(const llvm::json::Value &value);

/// A memory-mapped safetensors file.
class SafetensorsFile : public WeightsFile {
public:
  /// Maps and validates `path`.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>> open(llvm::StringRef path);
  /// Validates the safetensors bytes of `buffer`, which the result keeps; `path` names it in messages.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>> parse(std::unique_ptr<llvm::MemoryBuffer> buffer,
                                                                llvm::StringRef path);

  /// The tensor named `name`, or null.
  const SafetensorsTensor *lookup(llvm::StringRef name) const override;
  /// Tensor names in file order.
  llvm::ArrayRef<std::string> names() const override { return order; }
  llvm::StringRef path() const override { return filePath; }

  /// Bytes per element of a safetensors dtype, or 0 if unknown.
  static unsigned elementSize(llvm::StringRef dtype);

private:
  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<SafetensorsTensor> tensors;
  std::vector<std::string> order;
};

} // namespace effc

#endif // EFFC_SUPPORT_SAFETENSORS_H
