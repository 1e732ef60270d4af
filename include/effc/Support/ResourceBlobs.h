//===- ResourceBlobs.h - checks on MLIR text's resource blobs ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// MLIR 22's parser hands the alignment encoded in a `dialect_resources` hex blob (its first 4 bytes) to an
// aligned allocation without rejecting 0, which aborts the process ("LLVM ERROR: out of memory"; upstream
// llvm/llvm-project#181266). effc reads untrusted model files, so it scans the file metadata (`{-# ... #-}`)
// first and reports such a blob as an error at its location.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_SUPPORT_RESOURCEBLOBS_H
#define EFFC_SUPPORT_RESOURCEBLOBS_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <optional>
#include <string>

namespace effc {

/// A problem in MLIR source text: the byte offset it is at and what is wrong.
struct SourceProblem {
  size_t offset;
  std::string message;
};

/// Scans `text` (MLIR assembly) for hex blobs in its file metadata whose encoded alignment is 0. Strings and
/// comments outside the metadata are skipped; malformed metadata is left to the parser to report. Returns the
/// first such blob, or nothing.
std::optional<SourceProblem> findZeroAlignedResourceBlob(llvm::StringRef text);

} // namespace effc

#endif // EFFC_SUPPORT_RESOURCEBLOBS_H
