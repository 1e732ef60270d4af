//===- safetensors_fuzzer.cpp - fuzz the safetensors reader ---------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes to effc::SafetensorsFile::parse. It must return an error or a file whose every
// tensor's byte range lies inside the input and holds exactly product(shape) * element size bytes (checked
// here without overflow); anything else, or a crash or sanitizer report, is a finding.
//
//===----------------------------------------------------------------------===//

#include "effc/Support/Safetensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdlib>

using namespace llvm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto file = effc::SafetensorsFile::parse(MemoryBuffer::getMemBuffer(bytes, "fuzz", false), "fuzz");
  if (!file) {
    if (toString(file.takeError()).empty())
      abort(); // an error must say what is wrong
    return 0;
  }
  for (const std::string &name : (*file)->names()) {
    const effc::SafetensorsTensor *tensor = (*file)->lookup(name);
    if (!tensor)
      abort();
    uint64_t expected = effc::SafetensorsFile::elementSize(tensor->dtype);
    if (llvm::is_contained(tensor->shape, 0))
      expected = 0;
    for (int64_t extent : tensor->shape)
      if (extent < 0 || __builtin_mul_overflow(expected, static_cast<uint64_t>(extent), &expected))
        abort(); // accepted a shape whose size is not representable
    if (tensor->data.size() != expected)
      abort();
    if (!tensor->data.empty() &&
        (tensor->data.data() < bytes.data() || tensor->data.data() + tensor->data.size() > bytes.end()))
      abort();
  }
  return 0;
}
