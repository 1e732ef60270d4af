//===- Npz.h - read numpy .npz archives -------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// A reader of the archives written by numpy's `np.savez`: a ZIP file (ZIP64 extensions included) whose
// members are uncompressed `.npy` arrays. Only what calibration data needs is supported: little-endian
// numeric dtypes (f2, f4, f8, i1..i8, u1..u8, b1) in C order. Compressed members (`np.savez_compressed`)
// are rejected with a message that says so; every offset is validated against the file.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_SUPPORT_NPZ_H
#define EFFC_SUPPORT_NPZ_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace effc {

/// One array of an .npz archive; `data` points into the mapped file.
struct NpzArray {
  std::string descr; ///< numpy dtype string, e.g. "<f4"
  std::vector<int64_t> shape;
  llvm::ArrayRef<char> data;

  /// Number of elements (the product of the shape).
  int64_t numElements() const;
  /// The elements converted to double, or an error for an unsupported dtype.
  llvm::Expected<std::vector<double>> toDoubles() const;
};

/// A memory-mapped .npz archive.
class NpzFile {
public:
  /// Maps and indexes `path`.
  static llvm::Expected<std::unique_ptr<NpzFile>> open(llvm::StringRef path);

  /// The array named `name` (without the ".npy" suffix), or null.
  const NpzArray *lookup(llvm::StringRef name) const;
  /// Array names in archive order.
  llvm::ArrayRef<std::string> names() const { return order; }
  llvm::StringRef path() const { return filePath; }

private:
  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<NpzArray> arrays;
  std::vector<std::string> order;
};

} // namespace effc

#endif // EFFC_SUPPORT_NPZ_H
