//===- Npz.cpp - read numpy .npz archives ----------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Support/Npz.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"

#include <cstring>

using namespace llvm;
using support::endian::read16le;
using support::endian::read32le;
using support::endian::read64le;

namespace effc {

static Error fail(StringRef path, const Twine &message) {
  return createStringError(inconvertibleErrorCode(), path + ": " + message);
}

int64_t NpzArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Expected<std::vector<double>> NpzArray::toDoubles() const {
  if (descr.size() < 3 || (descr[0] != '<' && descr[0] != '|'))
    return createStringError(inconvertibleErrorCode(), "unsupported dtype '" + descr + "' (need little-endian)");
  char kind = descr[1];
  unsigned size = 0;
  if (StringRef(descr).drop_front(2).getAsInteger(10, size) || size * numElements() != static_cast<int64_t>(data.size()))
    return createStringError(inconvertibleErrorCode(), "malformed array of dtype '" + descr + "'");
  std::vector<double> out(numElements());
  const char *p = data.data();
  for (size_t i = 0; i < out.size(); ++i, p += size) {
    if (kind == 'f' && size == 4) {
      float f;
      std::memcpy(&f, p, 4);
      out[i] = f;
    } else if (kind == 'f' && size == 8) {
      std::memcpy(&out[i], p, 8);
    } else if (kind == 'f' && size == 2) {
      APFloat h(APFloat::IEEEhalf(), APInt(16, read16le(p)));
      out[i] = h.convertToFloat();
    } else if (kind == 'i' || kind == 'u' || kind == 'b') {
      uint64_t raw = 0;
      std::memcpy(&raw, p, size); // little-endian host, as effc's targets are
      if (kind == 'i' && size < 8 && (raw >> (size * 8 - 1)) & 1)
        raw |= ~uint64_t(0) << (size * 8);
      out[i] = kind == 'i' ? static_cast<double>(static_cast<int64_t>(raw)) : static_cast<double>(raw);
    } else {
      return createStringError(inconvertibleErrorCode(), "unsupported dtype '" + descr + "'");
    }
  }
  return out;
}

/// Parses the header of one .npy member: dtype, order and shape.
static Error parseNpy(StringRef path, StringRef member, StringRef bytes, NpzArray &array) {
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY"))
    return fail(path, "member '" + member + "' is not a .npy array");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLength = major == 1 ? read16le(bytes.data() + 8) : read32le(bytes.data() + 8);
  size_t headerStart = major == 1 ? 10 : 12;
  if (headerStart + headerLength > bytes.size())
    return fail(path, "member '" + member + "' has a truncated .npy header");
  StringRef header = bytes.substr(headerStart, headerLength);
  auto field = [&](StringRef key) -> StringRef {
    size_t at = header.find(("'" + key + "'").str());
    if (at == StringRef::npos)
      return {};
    StringRef rest = header.drop_front(at + key.size() + 2).ltrim(" :");
    return rest;
  };
  StringRef descr = field("descr");
  if (!descr.consume_front("'"))
    return fail(path, "member '" + member + "': no dtype in the .npy header");
  array.descr = descr.take_until([](char c) { return c == '\''; }).str();
  if (field("fortran_order").starts_with("True"))
    return fail(path, "member '" + member + "' is in Fortran order; save a C-order array");
  StringRef shape = field("shape");
  if (!shape.consume_front("("))
    return fail(path, "member '" + member + "': no shape in the .npy header");
  shape = shape.take_until([](char c) { return c == ')'; });
  SmallVector<StringRef> dims;
  shape.split(dims, ',', -1, /*KeepEmpty=*/false);
  for (StringRef dim : dims) {
    int64_t d;
    if (dim.trim().getAsInteger(10, d) || d < 0)
      return fail(path, "member '" + member + "': malformed shape in the .npy header");
    array.shape.push_back(d);
  }
  array.data = ArrayRef<char>(bytes.data() + headerStart + headerLength, bytes.size() - headerStart - headerLength);
  unsigned size = 0;
  if (array.descr.size() >= 3)
    (void)StringRef(array.descr).drop_front(2).getAsInteger(10, size);
  if (size == 0 || static_cast<uint64_t>(array.numElements()) * size > array.data.size())
    return fail(path, "member '" + member + "' is truncated or has an unsupported dtype '" + array.descr + "'");
  array.data = array.data.take_front(array.numElements() * size);
  return Error::success();
}

Expected<std::unique_ptr<NpzFile>> NpzFile::open(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot open .npz file: " + buffer.getError().message());
  auto file = std::make_unique<NpzFile>();
  file->filePath = path.str();
  file->buffer = std::move(*buffer);
  StringRef bytes = file->buffer->getBuffer();

  // End of central directory: the last 0x06054b50 record (followed by at most a 64 KiB comment).
  if (bytes.size() < 22)
    return fail(path, "not a .npz (ZIP) file");
  size_t eocd = StringRef::npos;
  for (size_t at = bytes.size() - 22 + 1; at-- > 0 && bytes.size() - at <= 22 + 65535;)
    if (read32le(bytes.data() + at) == 0x06054b50) {
      eocd = at;
      break;
    }
  if (eocd == StringRef::npos)
    return fail(path, "not a .npz (ZIP) file: no end of central directory");
  uint64_t entries = read16le(bytes.data() + eocd + 10);
  uint64_t directory = read32le(bytes.data() + eocd + 16);
  if (entries == 0xffff || directory == 0xffffffff) {
    // ZIP64: the locator just before the record points at the ZIP64 end of central directory.
    if (eocd < 20 || read32le(bytes.data() + eocd - 20) != 0x07064b50)
      return fail(path, "malformed ZIP64 archive: no locator");
    uint64_t record = read64le(bytes.data() + eocd - 20 + 8);
    if (record + 56 > bytes.size() || read32le(bytes.data() + record) != 0x06064b50)
      return fail(path, "malformed ZIP64 archive: bad end of central directory");
    entries = read64le(bytes.data() + record + 32);
    directory = read64le(bytes.data() + record + 48);
  }

  uint64_t at = directory;
  for (uint64_t i = 0; i < entries; ++i) {
    if (at + 46 > bytes.size() || read32le(bytes.data() + at) != 0x02014b50)
      return fail(path, "malformed central directory entry " + Twine(i));
    const char *entry = bytes.data() + at;
    unsigned method = read16le(entry + 10);
    uint64_t compressed = read32le(entry + 20), uncompressed = read32le(entry + 24);
    unsigned nameLength = read16le(entry + 28), extraLength = read16le(entry + 30),
             commentLength = read16le(entry + 32);
    uint64_t local = read32le(entry + 42);
    if (at + 46 + nameLength + extraLength > bytes.size())
      return fail(path, "truncated central directory entry " + Twine(i));
    StringRef name = bytes.substr(at + 46, nameLength);
    // The ZIP64 extra field holds, in this order, those of the three values that are 0xffffffff.
    StringRef extra = bytes.substr(at + 46 + nameLength, extraLength);
    while (extra.size() >= 4) {
      unsigned id = read16le(extra.data()), size = read16le(extra.data() + 2);
      StringRef body = extra.substr(4, size);
      if (id == 0x0001) {
        size_t field = 0;
        for (uint64_t *value : {&uncompressed, &compressed, &local})
          if (*value == 0xffffffff && field + 8 <= body.size()) {
            *value = read64le(body.data() + field);
            field += 8;
          }
      }
      extra = extra.drop_front(std::min<size_t>(extra.size(), 4 + size));
    }
    at += 46 + nameLength + extraLength + commentLength;

    if (method != 0)
      return fail(path, "member '" + name + "' is compressed; write calibration data with np.savez, not "
                                            "np.savez_compressed");
    if (local + 30 > bytes.size() || read32le(bytes.data() + local) != 0x04034b50)
      return fail(path, "malformed local header of member '" + name + "'");
    uint64_t data = local + 30 + read16le(bytes.data() + local + 26) + read16le(bytes.data() + local + 28);
    if (data + uncompressed > bytes.size())
      return fail(path, "member '" + name + "' runs past the end of the file");
    NpzArray array;
    StringRef key = name;
    key.consume_back(".npy");
    if (Error error = parseNpy(path, key, bytes.substr(data, uncompressed), array))
      return std::move(error);
    if (!file->arrays.count(key))
      file->order.push_back(key.str());
    file->arrays[key] = std::move(array);
  }
  return file;
}

const NpzArray *NpzFile::lookup(StringRef name) const {
  auto it = arrays.find(name);
  return it == arrays.end() ? nullptr : &it->second;
}

} // namespace effc
