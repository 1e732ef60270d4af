//===- effc-import.cpp - import models into eff IR ------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// effc-import prints the eff IR of a Hugging Face model folder (config.json + *.safetensors) or of an ONNX
// model (.onnx), the module that `effc DIR -o model.so` / `effc model.onnx -o model.so` compiles. The weights
// stay in the folder or the .onnx file: the IR names them with eff.parameter and its eff.weights attribute names
// the files, relative to the folder (or to the model's directory).
//
//   effc-import bert-base/ -o bert.mlir
//   effc-import bert.onnx --report-raising -o bert.mlir
//
//===----------------------------------------------------------------------===//

#include "effc/Import/HuggingFace.h"
#include "effc/Import/Onnx.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <vector>

namespace cl = llvm::cl;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::opt<std::string> input(cl::Positional, cl::desc("<model folder or .onnx file>"), cl::Required);
  cl::opt<std::string> output("o", cl::desc("Output file (default: stdout)"), cl::value_desc("file"),
                              cl::init("-"));
  cl::opt<bool> reportRaising("report-raising",
                              cl::desc("For an .onnx model: print to stderr which subgraphs were raised to eff ops "
                                       "and, where a pattern did not match, why"));
  cl::list<std::string> adapters("adapter", cl::desc("For a Hugging Face folder: attach this PEFT adapter folder "
                                                     "(LoRA or (IA)^3); may be given several times"),
                                 cl::value_desc("dir"));
  cl::list<std::string> boundInputs("bind-input",
                                    cl::desc("For an .onnx model: bind graph input NAME to the array in FILE.npy "
                                             "(it leaves @main's arguments); may be given several times"),
                                    cl::value_desc("NAME=FILE.npy"));
  cl::ParseCommandLineOptions(argc, argv, "effc-import: Hugging Face model folder or ONNX model -> eff IR\n");

  mlir::MLIRContext context;
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> module = mlir::failure();
  if (!boundInputs.empty() && !effc::isOnnxFile(input)) {
    llvm::errs() << "effc-import: --bind-input binds graph inputs of an .onnx model, not of " << input << "\n";
    return 1;
  }
  if (!adapters.empty() && effc::isOnnxFile(input)) {
    llvm::errs() << "effc-import: --adapter attaches to a Hugging Face model folder, not to " << input << "\n";
    return 1;
  }
  if (effc::isOnnxFile(input)) {
    effc::OnnxImportOptions options;
    options.raisingReport = reportRaising ? &llvm::errs() : nullptr;
    for (const std::string &binding : boundInputs) {
      auto parsed = effc::parseInputBinding(binding);
      if (!parsed) {
        llvm::errs() << "effc-import: --bind-input takes NAME=FILE.npy, got '" << binding << "'\n";
        return 1;
      }
      options.boundInputs.push_back(std::move(*parsed));
    }
    module = effc::importOnnx(&context, input, options);
  } else {
    module = effc::importHuggingFace(&context, input, std::vector<std::string>(adapters.begin(), adapters.end()));
  }
  if (mlir::failed(module))
    return 1;

  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> file = mlir::openOutputFile(output, &error);
  if (!file) {
    llvm::errs() << "effc-import: " << error << "\n";
    return 1;
  }
  (*module)->print(file->os());
  file->keep();
  return 0;
}
