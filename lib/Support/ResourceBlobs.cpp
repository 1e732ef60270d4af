//===- ResourceBlobs.cpp - checks on MLIR text's resource blobs -----------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "effc/Support/ResourceBlobs.h"

#include "llvm/ADT/StringExtras.h"

namespace effc {

namespace {

/// Reads the string literal starting at text[pos] (an opening quote); returns the offset after its closing
/// quote (or text.size() if unterminated) and stores its raw contents.
size_t skipString(llvm::StringRef text, size_t pos, llvm::StringRef &contents) {
  size_t start = pos + 1;
  for (size_t i = start; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
      continue;
    }
    if (text[i] == '"') {
      contents = text.slice(start, i);
      return i + 1;
    }
  }
  contents = text.drop_front(start);
  return text.size();
}

/// The alignment a blob's first 8 hex digits encode (a little-endian uint32), if the literal is a hex blob.
std::optional<uint32_t> blobAlignment(llvm::StringRef literal) {
  if (!literal.consume_front("0x") || literal.size() < 8)
    return std::nullopt;
  uint32_t alignment = 0;
  for (int byte = 3; byte >= 0; --byte) {
    unsigned hi = llvm::hexDigitValue(literal[2 * byte]), lo = llvm::hexDigitValue(literal[2 * byte + 1]);
    if (hi == ~0u || lo == ~0u)
      return std::nullopt;
    alignment = alignment << 8 | (hi << 4 | lo);
  }
  return alignment;
}

} // namespace

std::optional<SourceProblem> findZeroAlignedResourceBlob(llvm::StringRef text) {
  bool inMetadata = false;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '/' && text.substr(i, 2) == "//") { // comment: to the end of the line
      size_t end = text.find('\n', i);
      i = end == llvm::StringRef::npos ? text.size() : end + 1;
      continue;
    }
    if (c == '"') {
      llvm::StringRef contents;
      size_t next = skipString(text, i, contents);
      if (inMetadata) {
        std::optional<uint32_t> alignment = blobAlignment(contents);
        if (alignment && *alignment == 0)
          return SourceProblem{i, "resource blob encodes alignment 0 in its first 4 bytes (expected a power of "
                                  "two, e.g. \"0x04000000...\" for 4-byte elements)"};
      }
      i = next;
      continue;
    }
    if (!inMetadata && text.substr(i, 3) == "{-#") {
      inMetadata = true;
      i += 3;
      continue;
    }
    if (inMetadata && text.substr(i, 3) == "#-}") {
      inMetadata = false;
      i += 3;
      continue;
    }
    ++i;
  }
  return std::nullopt;
}

} // namespace effc
