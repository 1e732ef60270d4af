//===- Safetensors.cpp - read safetensors weight files ---------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Support/Safetensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/JSON.h"

using namespace llvm;

namespace effc {

unsigned SafetensorsFile::elementSize(StringRef dtype) {
  return StringSwitch<unsigned>(dtype)
      .Cases({"F64", "I64", "U64"}, 8)
      .Cases({"F32", "I32", "U32"}, 4)
      .Cases({"F16", "BF16", "I16", "U16"}, 2)
      .Cases({"I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2"}, 1)
      .Default(0);
}

std::optional<int64_t> jsonInteger(const json::Value &value) {
  std::optional<double> number = value.getAsNumber();
  if (!number || !(*number > -0x1p62 && *number < 0x1p62))
    return std::nullopt;
  return value.getAsInteger();
}

static Error fail(StringRef path, const Twine &message) {
  return createStringError(inconvertibleErrorCode(), path + ": " + message);
}

Expected<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot open weights file: " + buffer.getError().message());
  return parse(std::move(*buffer), path);
}

Expected<std::unique_ptr<SafetensorsFile>> SafetensorsFile::parse(std::unique_ptr<MemoryBuffer> buffer,
                                                                  StringRef path) {
  auto file = std::make_unique<SafetensorsFile>();
  file->filePath = path.str();
  file->buffer = std::move(buffer);
  StringRef bytes = file->buffer->getBuffer();
  if (bytes.size() < 8)
    return fail(path, "truncated safetensors file: " + Twine(bytes.size()) + " bytes, no header");
  uint64_t headerSize = support::endian::read64le(bytes.data());
  if (headerSize > bytes.size() - 8)
    return fail(path, "truncated safetensors file: header of " + Twine(headerSize) + " bytes, file has " +
                          Twine(bytes.size()));
  StringRef headerText = bytes.substr(8, headerSize);
  uint64_t dataStart = 8 + headerSize;
  uint64_t dataSize = bytes.size() - dataStart;

  Expected<json::Value> header = json::parse(headerText);
  if (!header)
    return fail(path, "malformed safetensors header: " + toString(header.takeError()));
  const json::Object *entries = header->getAsObject();
  if (!entries)
    return fail(path, "malformed safetensors header: not a JSON object");
  for (const auto &[key, value] : *entries) {
    StringRef name = key;
    if (name == "__metadata__")
      continue;
    const json::Object *entry = value.getAsObject();
    std::optional<StringRef> dtype = entry ? entry->getString("dtype") : std::nullopt;
    const json::Array *shape = entry ? entry->getArray("shape") : nullptr;
    const json::Array *offsets = entry ? entry->getArray("data_offsets") : nullptr;
    if (!dtype || !shape || !offsets || offsets->size() != 2)
      return fail(path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
    SafetensorsTensor tensor;
    tensor.dtype = dtype->str();
    for (const json::Value &dim : *shape) {
      std::optional<int64_t> extent = jsonInteger(dim);
      if (!extent || *extent < 0)
        return fail(path, "tensor '" + name + "' has an invalid shape");
      tensor.shape.push_back(*extent);
    }
    std::optional<int64_t> begin = jsonInteger((*offsets)[0]), end = jsonInteger((*offsets)[1]);
    if (!begin || !end || *begin < 0 || *end < *begin)
      return fail(path, "tensor '" + name + "' has invalid data_offsets");
    unsigned elementBytes = elementSize(tensor.dtype);
    if (elementBytes == 0)
      return fail(path, "tensor '" + name + "' has unsupported dtype " + tensor.dtype);
    // The byte size, checked for overflow (a wrapped product could match a short byte range).
    std::optional<uint64_t> expected = is_contained(tensor.shape, 0) ? 0 : elementBytes;
    for (int64_t extent : tensor.shape)
      if (expected)
        expected = checkedMulUnsigned<uint64_t>(*expected, static_cast<uint64_t>(extent));
    if (!expected)
      return fail(path, "tensor '" + name + "' has a shape too large to address");
    if (static_cast<uint64_t>(*end - *begin) != *expected)
      return fail(path, "tensor '" + name + "' occupies " + Twine(*end - *begin) + " bytes, its shape needs " +
                            Twine(*expected));
    if (static_cast<uint64_t>(*end) > dataSize)
      return fail(path, "truncated safetensors file: tensor '" + name + "' ends at byte " + Twine(*end) +
                            " of a " + Twine(dataSize) + "-byte data section");
    tensor.data = ArrayRef<char>(bytes.data() + dataStart + *begin, *expected);
    file->order.push_back(name.str());
    file->tensors[name] = std::move(tensor);
  }
  return std::move(file);
}

const SafetensorsTensor *SafetensorsFile::lookup(StringRef name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

} // namespace effc
