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

#include "effc/Compiler/FusionReport.h"
#include "effc/Dialect/Eff/Analysis/ModelStatistics.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace effc {

/// What Compiler::compile writes.
enum class OutputKind {
  Mlir,        ///< MLIR after the pipeline (LLVM dialect)
  LlvmIr,      ///< LLVM IR with the runtime ABI (.ll)
  Assembly,    ///< target assembly (.s)
  Object,      ///< object file (.o)
  SharedObject, ///< shared object for the effc runtime (.so)
  Eff,         ///< eff IR with its weights read and compressed, before lowering
  Ptx          ///< the PTX of the kernels (--target=cuda only)
};

/// The output kind a file name suggests (.mlir, .ll, .s, .o, .ptx; anything else: a shared object).
OutputKind outputKindForPath(llvm::StringRef path);

/// A compression method as the driver spells it: `--<flag>=<value>` becomes the pass `pass{<option>=<value>}`.
struct CompressionFlag {
  llvm::StringRef flag;   ///< e.g. "quantize"
  llvm::StringRef pass;   ///< e.g. "eff-quantize"
  llvm::StringRef option; ///< the pass option the value goes to; empty for flags without a value
  bool takesCalibration;  ///< the pass uses calibration statistics (`calibration.*` attributes) when given data
  llvm::StringRef help;   ///< one line for --help
};

/// Every compression flag, in the order --help lists them.
llvm::ArrayRef<CompressionFlag> compressionFlags();

/// How far the compressed model's first output moves from the uncompressed model's on calibration inputs.
struct OutputError {
  std::string function, output;
  double maxAbs = 0, meanAbs = 0;
  double cosine = 0;       ///< of the flattened outputs
  double klDivergence = 0; ///< KL(softmax(uncompressed) || softmax(compressed)) over the last dimension, mean
};

/// What `effc --report` prints: size and cost after compression and, with calibration data, the error.
struct CompileReport {
  ModelStatistics statistics;
  std::optional<OutputError> outputError;
};

void printCompileReport(const CompileReport &report, llvm::raw_ostream &os);

struct CompileOptions {
  std::string target = "cpu";
  std::string cpu = "native"; ///< "native", "x86-64", "x86-64-v4", or an LLVM CPU name (host code)
  /// --target=cuda: the GPU architecture (see supportedCudaArchs()) and how the kernels are embedded:
  /// "auto" (fatbin, i.e. cubin + PTX, when the CUDA toolkit is found, else PTX), "isa" (PTX), "bin"
  /// (cubin) or "fatbin".
  std::string cudaArch = "sm_80";
  std::string cudaFormat = "auto";
  /// --target=cuda: queue kernels on one stream, synchronising only before host code touches memory
  /// (false: the host waits after every launch; for bisecting synchronisation bugs).
  bool cudaAsyncLaunches = true;
  /// --target=cuda: the f32 matrix products' arithmetic, like PyTorch's set_float32_matmul_precision: "f32"
  /// (exact f32 FMAs), "bf16" or "f16" (tensor cores: operands rounded to bf16 or f16, f32 accumulation; f16
  /// keeps 3 more mantissa bits, bf16 f32's range). Other targets ignore it.
  std::string cudaMatmulPrecision = "f32";
  unsigned optLevel = 3;
  /// Safetensors file for eff.parameter ops (default: the module's eff.weights attribute, relative to baseDir).
  std::string weightsFile;
  /// Directory a relative eff.weights path is resolved against (parseFile sets it to the file's directory).
  std::string baseDir;
  /// Write weights to `<output>.weights` beside a shared object instead of embedding them.
  bool externalWeights = false;
  /// Compiler threads: 0 uses every core, 1 disables threading.
  unsigned threads = 0;
  /// Calibration inputs: a .npz (np.savez) with one array per input of the entry point. When a data-driven
  /// compression is asked for, the model is run on them first and the statistics are attached to its ops.
  std::string calibration;
  /// Compression flags (see compressionFlags()) with their values, in the order the user gave them.
  std::vector<std::pair<std::string, std::string>> compression;
  /// Print "effc: <stage>" progress lines and per-pass timing to the diagnostic stream.
  bool verbose = false;
  bool timing = false;
  /// Compile layers that are identical up to their weights once, as one shared function (CPU target).
  bool layerReuse = true;
  /// Run the query, key and value projections of an attention as one GEMM over concatenated weights (CPU
  /// target, -O1 and up; eff-pack-qkv).
  bool packQkv = true;
  /// Store the weights of f32 GEMMs as contiguous column panels [N/32][K][32] (CPU target, -O1 and up;
  /// effc-cpu-weight-panels).
  bool weightPanels = true;
  /// Run f32 linear layers on the micro-kernel effc_uk_linear_f32 (6 x 64 register tiles on 16-column weight
  /// panels, epilogues in registers; CPU target, -O1 and up) rather than on generated GEMMs.
  bool f32LinearKernel = true;
  /// Importing an .onnx model: print what was raised to eff ops (and why candidates were not) to the diagnostic
  /// stream.
  bool reportRaising = false;
  /// PEFT adapter folders (LoRA or (IA)^3) to attach, in order, when importing a Hugging Face model folder.
  /// Unless `compression` has merge-adapters or keep-adapters, parseFile puts merge-adapters first in it.
  std::vector<std::string> adapterDirs;
  /// Importing an .onnx model: graph inputs bound to constants at compile time, (input name, .npy file); they
  /// leave the compiled signature (effc::OnnxImportOptions::boundInputs; --bind-input NAME=FILE.npy).
  std::vector<std::pair<std::string, std::string>> boundInputs;
  /// Report the kernels the model became and which expected fusions fired (Compiler/FusionReport.h): empty
  /// for no report, "-" for the diagnostic stream, else a file to write it to; in reportFusionsFormat
  /// (see fusionReportFormats(): "text" or "json").
  std::string reportFusions;
  std::string reportFusionsFormat = "text";

  /// Appends a compression flag (see compressionFlags()); `value` is ignored by value-less flags. Fails with a
  /// message naming the flag if it is unknown or needs a value it was not given.
  mlir::LogicalResult addCompression(llvm::StringRef flag, llvm::StringRef value, std::string &error);

  /// The textual pass specs of `compression`.
  std::vector<std::string> compressionPasses() const;
};

class Compiler {
public:
  /// Diagnostics and progress go to `diagnostics`.
  Compiler(CompileOptions options, llvm::raw_ostream &diagnostics);
  ~Compiler();

  const CompileOptions &options() const;

  /// Parses a .mlir or .mlirbc file, or imports an .onnx model or a Hugging Face folder; sets options().baseDir
  /// to its directory if none was given.
  mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> parseFile(llvm::StringRef path);
  /// Parses IR text; `bufferName` names it in diagnostics.
  mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> parseSource(llvm::StringRef source,
                                                                 llvm::StringRef bufferName = "<source>");

  /// Runs the pipeline of options().target on `module` (modified in place), then writes `kind` to
  /// `outputPath`. Errors are reported to the diagnostic stream. With `report`, fills in the model's size
  /// and cost once its weights are read and compressed; if options().calibration is set and the model is
  /// compressed, also compiles it uncompressed and measures the output error on the calibration inputs.
  mlir::LogicalResult compile(mlir::ModuleOp module, OutputKind kind, llvm::StringRef outputPath,
                              CompileReport *report = nullptr);

  /// The fusion report of the last compile with options().reportFusions set (null before one).
  const FusionReport *fusionReport() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace effc

#endif // EFFC_COMPILER_COMPILER_H
