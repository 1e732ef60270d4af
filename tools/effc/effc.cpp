//===- effc.cpp - the effc compiler driver ---------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// `effc model.mlir -o model.so` compiles eff IR ahead of time into a shared object for the effc runtime.
// The driver only parses options and sequences the stages; the pipeline and the target live in lib/.
//
//===----------------------------------------------------------------------===//

#include "effc/Dialect/Eff/IR/EffDialect.h"
#include "effc/InitAll.h"
#include "effc/Pipelines/Pipelines.h"
#include "effc/Target/SharedObject.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("effc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<input .mlir or .mlirbc>"), cl::Required, cl::cat(category));
cl::opt<std::string> outputPath("o", cl::desc("Output file (default: the input's name with the --emit extension)"),
                                cl::value_desc("file"), cl::cat(category));

enum class Emit { Mlir, Llvm, Asm, Obj, So };
cl::opt<Emit> emit("emit", cl::desc("What to write (default: from the output's extension, else so)"),
                   cl::values(clEnumValN(Emit::Mlir, "mlir", "MLIR after the pipeline (LLVM dialect)"),
                              clEnumValN(Emit::Llvm, "llvm", "LLVM IR (.ll)"),
                              clEnumValN(Emit::Asm, "asm", "assembly (.s)"),
                              clEnumValN(Emit::Obj, "obj", "object file (.o)"),
                              clEnumValN(Emit::So, "so", "shared object for the effc runtime (.so)")),
                   cl::cat(category));

enum OptLevel { O0, O1, O2, O3 };
cl::opt<OptLevel> optLevel(cl::desc("Optimisation level (default -O3)"),
                           cl::values(clEnumVal(O0, "no optimisation"), clEnumVal(O1, "light"),
                                      clEnumVal(O2, "default"), clEnumVal(O3, "aggressive")),
                           cl::init(O3), cl::cat(category));
cl::opt<std::string> target("target", cl::desc("Target (default cpu)"), cl::init("cpu"), cl::cat(category));
cl::opt<std::string> cpu("cpu", cl::desc("CPU to generate code for: native (default), x86-64, x86-64-v4, ..."),
                         cl::init("native"), cl::cat(category));
// libMLIR already registers an option named "threads", so --threads is taken out of argv before parsing.
unsigned threads = 0;
cl::extrahelp threadsHelp("\nMore options:\n"
                          "  --threads=<N>       Compiler threads (default: all cores; 1 disables threading)\n");

/// Removes --threads=N / --threads N from the arguments; returns false on a malformed value.
bool extractThreads(llvm::SmallVectorImpl<const char *> &args) {
  for (size_t i = 1; i < args.size(); ++i) {
    llvm::StringRef arg = args[i];
    if (!arg.consume_front("--threads") && !arg.consume_front("-threads"))
      continue;
    size_t consumed = 1;
    if (arg.consume_front("=")) {
    } else if (arg.empty() && i + 1 < args.size()) {
      arg = args[i + 1];
      consumed = 2;
    } else {
      continue;
    }
    if (arg.getAsInteger(10, threads))
      return false;
    args.erase(args.begin() + i, args.begin() + i + consumed);
    --i;
  }
  return true;
}
cl::opt<std::string> weightsPath("weights",
                                 cl::desc("Safetensors file holding the eff.parameter weights (default: the "
                                          "module's eff.weights attribute, relative to the input)"),
                                 cl::value_desc("file"), cl::cat(category));
cl::opt<bool> externalWeights("external-weights",
                              cl::desc("Write the weights to OUTPUT.weights beside the shared object instead of "
                                       "embedding them (the runtime maps the file and checks its checksum)"),
                              cl::cat(category));
cl::opt<bool> timing("timing", cl::desc("Print the time spent in each pass and stage"), cl::cat(category));
cl::opt<bool> verbose("v", cl::desc("Print each stage as it runs"), cl::cat(category));

/// Prints "effc: <stage>" progress lines under -v.
void stage(llvm::StringRef what) {
  if (verbose)
    llvm::errs() << "effc: " << what << "\n";
}

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "effc") << message << "\n";
  return 1;
}

Emit emitKind() {
  if (emit.getNumOccurrences())
    return emit;
  llvm::StringRef ext = llvm::sys::path::extension(outputPath);
  if (ext == ".mlir")
    return Emit::Mlir;
  if (ext == ".ll")
    return Emit::Llvm;
  if (ext == ".s")
    return Emit::Asm;
  if (ext == ".o")
    return Emit::Obj;
  return Emit::So;
}

std::string defaultOutput(Emit kind) {
  llvm::SmallString<128> path(llvm::sys::path::filename(inputPath));
  const char *ext[] = {".llvm.mlir", ".ll", ".s", ".o", ".so"};
  llvm::sys::path::replace_extension(path, ext[static_cast<int>(kind)]);
  return std::string(path);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(category);
  llvm::SmallVector<const char *> args(argv, argv + argc);
  if (!extractThreads(args))
    return fail("--threads expects a number");
  cl::ParseCommandLineOptions(args.size(), args.data(),
                              "effc: compile eff IR into a shared object for the effc runtime\n\n"
                              "  effc model.mlir -o model.so     compile ahead of time\n"
                              "  effc-run model.so --input x=x.npy   run it\n");
  if (!llvm::is_contained(effc::supportedTargets(), llvm::StringRef(target)))
    return fail("unknown --target '" + target + "' (supported: " + llvm::join(effc::supportedTargets(), ", ") + ")");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  effc::registerAllDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  MLIRContext context(registry, threads == 1 ? MLIRContext::Threading::DISABLED : MLIRContext::Threading::ENABLED);
  context.printOpOnDiagnostic(false); // a diagnostic points at the op's location; never dump a whole model
  std::unique_ptr<llvm::DefaultThreadPool> threadPool;
  if (threads > 1) {
    threadPool = std::make_unique<llvm::DefaultThreadPool>(llvm::hardware_concurrency(threads));
    context.setThreadPool(*threadPool);
  }

  DefaultTimingManager timingManager;
  timingManager.setEnabled(timing);
  TimingScope rootTiming = timingManager.getRootScope();

  // Parse.
  stage("parsing " + inputPath);
  TimingScope parseTiming = rootTiming.nest("Parse");
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  std::string error;
  auto file = openInputFile(inputPath, &error);
  if (!file)
    return fail(error);
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return 1;
  parseTiming.stop();

  effc::TargetOptions targetOptions;
  targetOptions.cpu = cpu;
  targetOptions.optLevel = optLevel;
  if (failed(effc::checkTargetOptions(targetOptions, error)))
    return fail(error);

  FailureOr<std::vector<effc::EntryPointSignature>> entryPoints = effc::collectEntryPoints(*module);
  if (failed(entryPoints))
    return 1;

  // eff -> LLVM dialect.
  Emit kind = emitKind();
  if (outputPath.empty())
    outputPath = defaultOutput(kind);
  stage("lowering eff to the LLVM dialect (-O" + std::to_string(optLevel) + ")");
  effc::PipelineOptions options;
  options.target = target;
  options.optLevel = optLevel;
  options.weightsFile = weightsPath;
  llvm::SmallString<256> baseDir(inputPath);
  llvm::sys::path::remove_filename(baseDir);
  options.baseDir = std::string(baseDir);
  PassManager pm(&context);
  pm.enableTiming(rootTiming);
  if (failed(effc::buildPipeline(pm, options)))
    return fail("no pipeline for --target " + target);
  if (failed(pm.run(*module)))
    return 1;

  std::string outputError;
  auto output = openOutputFile(outputPath, &outputError);
  if (!output)
    return fail(outputError);
  if (kind == Emit::Mlir) {
    module->print(output->os());
    output->keep();
    return 0;
  }

  // LLVM IR with the runtime ABI, optimised for the target CPU.
  stage("translating to LLVM IR and optimising for --cpu=" + cpu);
  TimingScope llvmTiming = rootTiming.nest("LLVM IR + optimisation");
  llvm::LLVMContext llvmContext;
  if (externalWeights) {
    if (kind != Emit::So)
      return fail("--external-weights needs --emit=so");
    targetOptions.externalWeightsPath = outputPath + ".weights";
  }
  auto llvmModule = effc::translateToRuntimeModule(*module, *entryPoints, llvmContext, targetOptions);
  if (failed(llvmModule))
    return 1;
  llvmTiming.stop();
  if (kind == Emit::Llvm) {
    (*llvmModule)->print(output->os(), nullptr);
    output->keep();
    return 0;
  }

  // Machine code.
  stage("generating machine code");
  TimingScope codegenTiming = rootTiming.nest("Machine code");
  if (kind == Emit::Asm || kind == Emit::Obj) {
    if (failed(effc::emitMachineCode(**llvmModule, targetOptions, kind == Emit::Asm, output->os(), error)))
      return fail(error);
    output->keep();
    return 0;
  }
  llvm::SmallString<128> objectPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("effc", "o", objectPath))
    return fail("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeObject(objectPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream object(objectPath, ec);
    if (ec)
      return fail("cannot write " + objectPath + ": " + ec.message());
    if (failed(effc::emitMachineCode(**llvmModule, targetOptions, /*assembly=*/false, object, error)))
      return fail(error);
  }
  codegenTiming.stop();
  stage("linking " + outputPath);
  TimingScope linkTiming = rootTiming.nest("Link");
  if (failed(effc::linkSharedObject(objectPath, outputPath, error)))
    return fail(error);
  output->keep();
  return 0;
}
