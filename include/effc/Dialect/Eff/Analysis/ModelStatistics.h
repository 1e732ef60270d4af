//===- ModelStatistics.h - size and cost of an eff model ---------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Parameters, weight bytes and FLOPs per token of an eff model whose weights are constants (after
// eff-materialize-parameters and any compression), per eff.layer and in total: what `effc --report` prints.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_DIALECT_EFF_ANALYSIS_MODELSTATISTICS_H
#define EFFC_DIALECT_EFF_ANALYSIS_MODELSTATISTICS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace effc {

struct PartStatistics {
  std::string name;          ///< "layer 3", or "outside layers" (embeddings, final norm, head)
  int64_t parameters = 0;    ///< logical weights (a pruned or sparse weight counts what it keeps)
  int64_t bytes = 0;         ///< bytes the weights take as stored (packed, quantized, with their scales)
  int64_t flopsPerToken = 0; ///< 2 x weight multiply-adds per token; attention scores, norms and
                             ///< activations are not counted (they depend on the context length)
};

struct ModelStatistics {
  std::string function;             ///< the entry point analysed
  std::vector<PartStatistics> parts; ///< one per eff.layer in order, then "outside layers"
  PartStatistics total;
};

/// Statistics of `function` (default: the module's first public function). Each constant is counted once
/// per part even if several ops use it (tied embeddings).
ModelStatistics computeModelStatistics(mlir::ModuleOp module, llvm::StringRef function = "");

/// Prints `statistics` as a table.
void printModelStatistics(const ModelStatistics &statistics, llvm::raw_ostream &os);

} // namespace effc

#endif // EFFC_DIALECT_EFF_ANALYSIS_MODELSTATISTICS_H
