//===- FusionReport.h - what a model became, and which fusions fired -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// `effc --report-fusions`: after the eff -> linalg lowering (at effc-pack-weights, before tiling), the
// kernels each function became (micro-kernel calls, contractions, fused elementwise loop nests, reductions,
// ...) with the eff ops they came from, their loops, FLOPs and weight bytes; and, for every fusion the
// compiler is expected to make on an eff op, whether it fired and, if not, why.
//
// The reasons come from the decision points themselves (effc::recordFusion, Support/FusionRemarks.h, an
// MLIR optimisation remark); the collector only attributes them to eff ops. Fusions that effc does not
// implement yet are listed as such for every op they would apply to.
//
//   effc::FusionReportCollector collector(context, /*initsFusedByTiling=*/true);
//   collector.prepare(module);       // eff IR: tag each op's location, note the candidates
//   collector.instrument(pm);        // snapshot the kernels after effc-pack-weights
//   pm.run(module);
//   effc::printFusionReport(collector.finish(), llvm::errs());
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_COMPILER_FUSIONREPORT_H
#define EFFC_COMPILER_FUSIONREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mlir {
class PassManager;
} // namespace mlir

namespace effc {

/// A count with dynamic factors: `known` times the product of `dynamicFactors` extents unknown at compile time.
struct FusionReportCount {
  double known = 0;
  unsigned dynamicFactors = 0;
};

/// One loop nest or micro-kernel call of a lowered function.
struct FusionReportKernel {
  /// "micro-kernel", "contraction", "reduction", "elementwise", "fused elementwise", "transpose", "fill" or
  /// "other".
  std::string kind;
  std::string name;                 ///< the micro-kernel (effc_uk_...) or the linalg op's name
  std::vector<std::string> origins; ///< the eff ops it came from: "eff.linear @ model.mlir:12:5 [layer 0]"
  std::string shape;                ///< linalg: "loops 4x?x64"; a micro-kernel: its origin's "in -> out" shapes
  std::optional<FusionReportCount> flops; ///< where known (contractions, micro-kernels)
  int64_t weightBytes = 0;                ///< bytes of the compile-time constants it reads
};

/// A fusion expected on an eff op and what became of it.
struct FusionReportDecision {
  enum class Status { Fired, NotFired, NotImplemented, NoDecision };
  std::string fusion; ///< a name from effc::fusion (Support/FusionRemarks.h)
  std::string origin; ///< the eff op
  Status status = Status::NoDecision;
  std::string detail; ///< how it fired, or why not
};

struct FusionReportFunction {
  std::string name;
  /// For the body that structurally identical layers share (eff-outline-layers): their indices. Its kernels
  /// name the first layer's ops; the decisions of every layer are listed with the calling function.
  std::vector<int64_t> sharedByLayers;
  std::vector<FusionReportKernel> kernels;
  std::vector<FusionReportDecision> decisions;
};

struct FusionReport {
  std::vector<FusionReportFunction> functions;
  /// False when the lowering stopped before the kernels could be listed (it failed).
  bool complete = false;
};

/// The status as the report prints it ("fired", "not fired", "not implemented", "no decision recorded").
llvm::StringRef fusionStatusName(FusionReportDecision::Status status);

/// A table per function on `os`, then totals: kernels per kind, fusions per status.
void printFusionReport(const FusionReport &report, llvm::raw_ostream &os);
/// The same as one JSON object: {"functions": [{"name", "kernels": [...], "fusions": [...]}], "totals"}.
void printFusionReportJson(const FusionReport &report, llvm::raw_ostream &os);

/// The report formats ("text", "json").
llvm::ArrayRef<llvm::StringRef> fusionReportFormats();

/// Collects a FusionReport while one module is lowered. While it lives, the context's remark engine routes
/// the `effc-fusion` remarks to it (and is removed again when it is destroyed).
class FusionReportCollector {
public:
  /// `initsFusedByTiling`: the pipeline tiles contractions with their accumulator initialisation fused in
  /// (effc-cpu-tile-and-vectorize), so an initialisation is part of its contraction, not a kernel of its own.
  FusionReportCollector(mlir::MLIRContext &context, bool initsFusedByTiling);
  ~FusionReportCollector();
  FusionReportCollector(const FusionReportCollector &) = delete;
  FusionReportCollector &operator=(const FusionReportCollector &) = delete;

  /// On eff IR, before lowering: tags each eff op's location with its origin (a NameLoc `effc.origin#N`
  /// around the original location) and notes the fusions expected on it.
  void prepare(mlir::ModuleOp module);
  /// Makes `pm` list the kernels after its effc-pack-weights pass.
  void instrument(mlir::PassManager &pm);
  /// The report; call after the lowering ran.
  FusionReport finish();

  struct State;

private:
  std::shared_ptr<State> state;
};

} // namespace effc

#endif // EFFC_COMPILER_FUSIONREPORT_H
