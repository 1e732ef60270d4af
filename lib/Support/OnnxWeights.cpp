//===- OnnxWeights.cpp - the initializers of an ONNX model ------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A minimal reader of the protobuf wire format (varints, length-delimited fields, fixed32/64) over the mapped
// model: just enough of ModelProto -> GraphProto -> TensorProto to find each initializer's bytes.
//
//===----------------------------------------------------------------------===//

#include "effc/Support/OnnxWeights.h"
#include "effc/Support/Safetensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace llvm;

namespace effc {

WeightsFile::~WeightsFile() = default;

Expected<std::unique_ptr<WeightsFile>> WeightsFile::open(StringRef path) {
  if (path.ends_with_insensitive(".onnx")) {
    auto file = OnnxWeightsFile::open(path);
    if (!file)
      return file.takeError();
    return std::unique_ptr<WeightsFile>(std::move(*file));
  }
  auto file = SafetensorsFile::open(path);
  if (!file)
    return file.takeError();
  return std::unique_ptr<WeightsFile>(std::move(*file));
}

StringRef OnnxWeightsFile::dtypeName(int onnxDataType) {
  switch (onnxDataType) {
  case 1: return "F32";
  case 2: return "U8";
  case 3: return "I8";
  case 4: return "U16";
  case 5: return "I16";
  case 6: return "I32";
  case 7: return "I64";
  case 9: return "BOOL";
  case 10: return "F16";
  case 11: return "F64";
  case 12: return "U32";
  case 13: return "U64";
  case 16: return "BF16";
  default: return "";
  }
}

namespace {

enum WireType { Varint = 0, Fixed64 = 1, Length = 2, Fixed32 = 5 };

/// A cursor over protobuf bytes; every read is bounds-checked and a failure sets `error`.
struct Wire {
  const char *pos, *end;
  std::string *error;

  bool atEnd() const { return pos >= end; }
  bool fail(const Twine &message) {
    if (error->empty())
      *error = message.str();
    pos = end;
    return false;
  }
  bool varint(uint64_t &value) {
    value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (pos >= end)
        return fail("truncated varint");
      uint8_t byte = *pos++;
      value |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return true;
    }
    return fail("malformed varint");
  }
  /// Reads a field key; false at the end or on error.
  bool key(uint32_t &field, WireType &type) {
    if (atEnd())
      return false;
    uint64_t k;
    if (!varint(k))
      return false;
    field = k >> 3;
    type = WireType(k & 7);
    return field != 0 || fail("field number 0");
  }
  bool bytes(StringRef &out) {
    uint64_t size;
    if (!varint(size))
      return false;
    if (size > uint64_t(end - pos))
      return fail("a field of " + Twine(size) + " bytes runs past the end of its message");
    out = StringRef(pos, size);
    pos += size;
    return true;
  }
  bool skip(WireType type) {
    uint64_t ignored;
    StringRef ignoredBytes;
    switch (int(type)) { // any wire type may come from a corrupt file
    case Varint: return varint(ignored);
    case Length: return bytes(ignoredBytes);
    case Fixed64:
      if (end - pos < 8) return fail("truncated fixed64");
      pos += 8;
      return true;
    case Fixed32:
      if (end - pos < 4) return fail("truncated fixed32");
      pos += 4;
      return true;
    default: return fail("unsupported wire type " + Twine(int(type)));
    }
  }
};

} // namespace

/// Fills an OnnxWeightsFile from its mapped buffer.
class OnnxWeightsReader {
public:
  OnnxWeightsReader(OnnxWeightsFile &file) : file(file) {}

  Error read() {
    StringRef model = file.buffer->getBuffer();
    Wire wire{model.begin(), model.end(), &error};
    uint32_t field;
    WireType type;
    bool sawGraph = false;
    const char *fieldStart = wire.pos;
    while (wire.key(field, type)) {
      if (field == 7 && type == Length) { // ModelProto.graph
        StringRef graph;
        if (!wire.bytes(graph))
          break;
        std::string graphSkeleton;
        if (!readGraph(graph, graphSkeleton))
          break;
        appendKey(file.skeletonBytes, 7, Length);
        appendVarint(file.skeletonBytes, graphSkeleton.size());
        file.skeletonBytes += graphSkeleton;
        sawGraph = true;
      } else {
        if (!wire.skip(type))
          break;
        file.skeletonBytes.append(fieldStart, wire.pos);
      }
      fieldStart = wire.pos;
    }
    if (!error.empty())
      return fail(semantic ? error : "not a valid ONNX model (truncated or corrupt protobuf: " + error + ")");
    if (!sawGraph)
      return fail("not a valid ONNX model (no graph)");
    return Error::success();
  }

private:
  Error fail(const Twine &message) {
    return createStringError(inconvertibleErrorCode(), file.filePath + ": " + message);
  }

  static void appendVarint(std::string &out, uint64_t value) {
    do {
      uint8_t byte = value & 0x7f;
      value >>= 7;
      out.push_back(char(byte | (value ? 0x80 : 0)));
    } while (value);
  }
  static void appendKey(std::string &out, uint32_t field, WireType type) {
    appendVarint(out, (uint64_t(field) << 3) | type);
  }

  bool readGraph(StringRef graph, std::string &skeleton) {
    Wire wire{graph.begin(), graph.end(), &error};
    uint32_t field;
    WireType type;
    const char *fieldStart = wire.pos;
    while (wire.key(field, type)) {
      if (field == 5 && type == Length) { // GraphProto.initializer
        StringRef tensor;
        if (!wire.bytes(tensor) || !readTensor(tensor))
          return false;
      } else {
        if (!wire.skip(type))
          return false;
        skeleton.append(fieldStart, wire.pos);
      }
      fieldStart = wire.pos;
    }
    return error.empty();
  }

  /// Decodes a packed repeated varint field into little-endian 64-bit elements.
  bool decodeVarints(StringRef packed, std::vector<char> &out) {
    Wire wire{packed.begin(), packed.end(), &error};
    while (!wire.atEnd()) {
      uint64_t value;
      if (!wire.varint(value))
        return false;
      char bytes[8];
      support::endian::write64le(bytes, value);
      out.insert(out.end(), bytes, bytes + 8);
    }
    return true;
  }

  bool readTensor(StringRef bytes) {
    Wire wire{bytes.begin(), bytes.end(), &error};
    uint32_t field;
    WireType type;
    SafetensorsTensor tensor;
    std::string name;
    int64_t dataType = 0;
    bool external = false, hasData = false;
    std::string location;
    uint64_t offset = 0;
    std::optional<uint64_t> length;
    StringRef fixedData;                // raw_data, float_data or double_data: read in place
    std::vector<char> varintData;       // int32_data or int64_data: decoded
    bool varintField = false;
    while (wire.key(field, type)) {
      uint64_t value;
      StringRef payload;
      if (field == 1 && type == Varint) { // dims
        if (!wire.varint(value))
          return false;
        tensor.shape.push_back(int64_t(value));
      } else if (field == 1 && type == Length) { // packed dims
        if (!wire.bytes(payload))
          return false;
        Wire dims{payload.begin(), payload.end(), &error};
        while (!dims.atEnd()) {
          if (!dims.varint(value))
            return false;
          tensor.shape.push_back(int64_t(value));
        }
      } else if (field == 2 && type == Varint) {
        if (!wire.varint(value))
          return false;
        dataType = int64_t(value);
      } else if (field == 8 && type == Length) {
        if (!wire.bytes(payload))
          return false;
        name = payload.str();
      } else if ((field == 9 || field == 4 || field == 10) && type == Length) { // raw, float, double data
        if (!wire.bytes(fixedData))
          return false;
        hasData = true;
      } else if ((field == 5 || field == 7 || field == 11) && type == Length) { // int32, int64, uint64 data (packed)
        if (!wire.bytes(payload))
          return false;
        varintField = true;
        hasData = true;
        if (!decodeVarints(payload, varintData)) // 64-bit values, narrowed to the dtype below
          return false;
      } else if (field == 13 && type == Length) { // external_data: StringStringEntryProto
        if (!wire.bytes(payload))
          return false;
        Wire entry{payload.begin(), payload.end(), &error};
        StringRef key, val;
        uint32_t f;
        WireType t;
        while (entry.key(f, t)) {
          StringRef s;
          if (t != Length ? !entry.skip(t) : !entry.bytes(s))
            return false;
          (f == 1 ? key : val) = s;
        }
        if (key == "location")
          location = val.str();
        else if (key == "offset" && val.getAsInteger(10, offset))
          return failTensor(name, "has a malformed external data offset '" + val + "'");
        else if (key == "length") {
          uint64_t l;
          if (val.getAsInteger(10, l))
            return failTensor(name, "has a malformed external data length '" + val + "'");
          length = l;
        }
      } else if (field == 14 && type == Varint) {
        if (!wire.varint(value))
          return false;
        external = value == 1;
      } else if (!wire.skip(type)) {
        return false;
      }
    }
    if (!error.empty())
      return false;
    if (name.empty())
      return failTensor(name, "has no name");
    tensor.dtype = OnnxWeightsFile::dtypeName(dataType).str();
    if (tensor.dtype.empty())
      return failTensor(name, "has unsupported data type " + Twine(dataType));
    uint64_t elementBytes = SafetensorsFile::elementSize(tensor.dtype);
    // The byte size, overflow-checked (a zero extent makes any other extent valid).
    bool empty = llvm::is_contained(tensor.shape, 0);
    uint64_t numElements = empty ? 0 : 1, expected;
    for (int64_t extent : tensor.shape) {
      if (extent < 0)
        return failTensor(name, "has a negative dimension");
      if (!empty && __builtin_mul_overflow(numElements, uint64_t(extent), &numElements))
        return failTensor(name, "has a shape too large to address");
    }
    if (__builtin_mul_overflow(numElements, elementBytes, &expected) || expected > uint64_t(INT64_MAX))
      return failTensor(name, "has a shape too large to address");
    if (external) {
      if (location.empty())
        return failTensor(name, "is stored externally but names no location");
      // As the ONNX spec and ONNX Runtime require: a path relative to the model's directory that stays inside
      // it, naming a regular file (not a device or a FIFO, which could block the import).
      if (sys::path::is_absolute(location) ||
          llvm::is_contained(llvm::make_range(sys::path::begin(location), sys::path::end(location)), ".."))
        return failTensor(name, "names external data location '" + location +
                                    "', which is not a relative path inside the model's directory");
      SmallString<256> path(file.filePath);
      sys::path::remove_filename(path);
      sys::path::append(path, location);
      auto [it, inserted] = file.externalFiles.try_emplace(path.str());
      if (inserted) {
        sys::fs::file_status status;
        if (!sys::fs::status(path, status) && !sys::fs::is_regular_file(status))
          return failTensor(name, "is in external data location " + path + ", which is not a regular file");
        auto mapped = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
        if (!mapped)
          return failTensor(name, "is in external data file " + path + ", which cannot be opened: " +
                                      mapped.getError().message());
        it->second = std::move(*mapped);
      }
      StringRef data = it->second->getBuffer();
      uint64_t size = length.value_or(expected);
      if (size != expected)
        return failTensor(name, "has external data length " + Twine(size) + ", its shape needs " + Twine(expected));
      if (offset > data.size() || size > data.size() - offset)
        return failTensor(name, "ends at byte " + Twine(offset + size) + " of external data file " + path +
                                    " (" + Twine(data.size()) + " bytes): truncated");
      tensor.data = ArrayRef<char>(data.data() + offset, size);
    } else if (varintField) {
      // Narrow the decoded 64-bit values to the element width (little-endian: the low bytes come first).
      auto owned = std::make_unique<std::vector<char>>();
      for (size_t i = 0; i + 8 <= varintData.size(); i += 8)
        owned->insert(owned->end(), varintData.begin() + i, varintData.begin() + i + elementBytes);
      if (owned->size() != expected)
        return failTensor(name, "has " + Twine(varintData.size() / 8) + " elements, its shape needs " +
                                    Twine(numElements));
      tensor.data = ArrayRef<char>(owned->data(), owned->size());
      file.decoded.push_back(std::move(owned));
    } else {
      if (!hasData && expected != 0)
        return failTensor(name, "has no data");
      if (fixedData.size() != expected)
        return failTensor(name, "has " + Twine(fixedData.size()) + " bytes of data, its shape needs " +
                                    Twine(expected));
      tensor.data = ArrayRef<char>(fixedData.data(), fixedData.size());
    }
    auto [it, inserted] = file.tensors.try_emplace(name, std::move(tensor));
    if (!inserted)
      return failTensor(name, "is defined twice");
    file.order.push_back(name);
    return true;
  }

  bool failTensor(StringRef name, const Twine &message) {
    if (error.empty()) {
      error = ("initializer '" + name + "' " + message).str();
      semantic = true;
    }
    return false;
  }

  OnnxWeightsFile &file;
  std::string error;
  bool semantic = false; ///< the error is about a tensor's contents, not the wire format
};

Expected<std::unique_ptr<OnnxWeightsFile>> OnnxWeightsFile::open(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return createStringError(inconvertibleErrorCode(),
                             path + ": cannot open ONNX model: " + buffer.getError().message());
  return parse(std::move(*buffer), path);
}

Expected<std::unique_ptr<OnnxWeightsFile>> OnnxWeightsFile::parse(std::unique_ptr<MemoryBuffer> buffer,
                                                                  StringRef path) {
  auto file = std::make_unique<OnnxWeightsFile>();
  file->filePath = path.str();
  file->buffer = std::move(buffer);
  OnnxWeightsReader reader(*file);
  if (Error error = reader.read())
    return std::move(error);
  return std::move(file);
}

const SafetensorsTensor *OnnxWeightsFile::lookup(StringRef name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

} // namespace effc
