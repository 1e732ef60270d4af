//===- Compiler.h - effc's compiler API --------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// One entry point for compiling eff IR into an artifact: the effc driver and the Python package are thin
// faces over it, so both compile the same way. A Compiler owns its MLIR context; diagnostics (with source
// locations) go to the stream it was given.
//
//   effc::CompileOptions options;
//   options.addCompression("quantize", "int8");
//   effc::Compiler compiler(options, llvm::errs());
//   auto module = compiler.parseFile("model.mlir");
//   if (succeeded(module) && succeeded(compiler.compile(**module, effc::OutputKind::SharedObject, "model.so")))
//     ...
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_COMPILER_COMPILER_H
#define EFFC_COMPILER_COMPILER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace effc {

struct ModelStatistics;

/// What Compiler::compile writes.
enum class OutputKind {
  Mlir,        ///< MLIR after the pipeline (LLVM dialect)
  LlvmIr,      ///< LLVM IR with the runtime ABI (.ll)
  Assembly,    ///< target assembly (.s)
  Object,      ///< object file (.o)
  SharedObject ///< shared object for the effc runtime (.so)
};

/// The output kind a file name suggests (.mlir, .ll, .s, .o; anything else: a shared object).
OutputKind outputKindForPath(llvm::StringRef path);

/// A compression method as the driver spells it: `--<flag>=<value>` becomes the pass `pass{<option>=<value>}`.
struct CompressionFlag {
  llvm::StringRef flag;   ///< e.g. "quantize"
  llvm::StringRef pass;   ///< e.g. "eff-quantize"
  llvm::StringRef option; ///< the pass option the value goes to; empty for flags without a value
  bool takesCalibration;  ///< the pass reads --calibration data (its `calibration` option)
  llvm::StringRef help;   ///< one line for --help
};

/// Every compression flag, in the order --help lists them.
llvm::ArrayRef<CompressionFlag> compressionFlags();

struct CompileOptions {
  std::string target = "cpu";
  std::string cpu = "native"; ///< "native", "x86-64", "x86-64-v4", or an LLVM CPU name
  unsigned optLevel = 3;
  /// Safetensors file for eff.parameter ops (default: the module's eff.weights attribute, relative to baseDir).
  std::string weightsFile;
  /// Directory a relative eff.weights path is resolved against (parseFile sets it to the file's directory).
  std::string baseDir;
  /// Write weights to `<output>.weights` beside a shared object instead of embedding them.
  bool externalWeights = false;
  /// Compiler threads: 0 uses every core, 1 disables threading.
  unsigned threads = 0;
  /// Calibration data (.npz) given to the compression passes that use it.
  std::string calibration;
  /// Compression flags (see compressionFlags()) with their values, in the order the user gave them.
  std::vector<std::pair<std::string, std::string>> compression;
  /// Print "effc: <stage>" progress lines and per-pass timing to the diagnostic stream.
  bool verbose = false;
  bool timing = false;

  /// Appends a compression flag (see compressionFlags()); `value` is ignored by value-less flags. Fails with a
  /// message naming the flag if it is unknown or needs a value it was not given.
  mlir::LogicalResult addCompression(llvm::StringRef flag, llvm::StringRef value, std::string &error);

  /// The textual pass specs of `compression`, with `calibration` added where a pass uses it.
  std::vector<std::string> compressionPasses() const;
};

class Compiler {
public:
  /// Diagnostics and progress go to `diagnostics`.
  Compiler(CompileOptions options, llvm::raw_ostream &diagnostics);
  ~Compiler();

  const CompileOptions &options() const;

  /// Parses a .mlir or .mlirbc file; sets options().baseDir to its directory if none was given.
  mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> parseFile(llvm::StringRef path);
  /// Parses IR text; `bufferName` names it in diagnostics.
  mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> parseSource(llvm::StringRef source,
                                                                 llvm::StringRef bufferName = "<source>");

  /// Runs the pipeline of options().target on `module` (modified in place), then writes `kind` to
  /// `outputPath`. Errors are reported to the diagnostic stream. With `statistics`, fills it with the
  /// model's size and cost once its weights are read and compressed (what `effc --report` prints).
  mlir::LogicalResult compile(mlir::ModuleOp module, OutputKind kind, llvm::StringRef outputPath,
                              ModelStatistics *statistics = nullptr);

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace effc

#endif // EFFC_COMPILER_COMPILER_H
