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

#include "effc/Compiler/Compiler.h"
#include "effc/Import/Onnx.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("effc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<input .mlir or .mlirbc>"), cl::Required, cl::cat(category));
cl::opt<std::string> outputPath("o", cl::desc("Output file (default: the input's name with the --emit extension)"),
                                cl::value_desc("file"), cl::cat(category));

enum class Emit { Mlir, Llvm, Asm, Obj, So, Eff, Ptx };
cl::opt<Emit> emit("emit", cl::desc("What to write (default: from the output's extension, else so)"),
                   cl::values(clEnumValN(Emit::Mlir, "mlir", "MLIR after the pipeline (LLVM dialect)"),
                              clEnumValN(Emit::Llvm, "llvm", "LLVM IR (.ll)"),
                              clEnumValN(Emit::Asm, "asm", "assembly (.s)"),
                              clEnumValN(Emit::Obj, "obj", "object file (.o)"),
                              clEnumValN(Emit::So, "so", "shared object for the effc runtime (.so)"),
                              clEnumValN(Emit::Eff, "eff",
                                         "eff IR after reading weights, calibration and compression (.mlir)"),
                              clEnumValN(Emit::Ptx, "ptx", "PTX of the GPU kernels (--target=cuda; .ptx)")),
                   cl::cat(category));

enum OptLevel { O0, O1, O2, O3 };
cl::opt<OptLevel> optLevel(cl::desc("Optimisation level (default -O3)"),
                           cl::values(clEnumVal(O0, "no optimisation"), clEnumVal(O1, "light"),
                                      clEnumVal(O2, "default"), clEnumVal(O3, "aggressive")),
                           cl::init(O3), cl::cat(category));
cl::opt<std::string> target("target", cl::desc("Target: cpu (default) or cuda (NVIDIA GPUs, docs/gpu.md)"),
                            cl::init("cpu"), cl::cat(category));
cl::opt<std::string> cudaArch("cuda-arch", cl::desc("GPU architecture for --target=cuda: sm_80 (default), sm_86, "
                                                    "sm_89, sm_90, sm_90a"),
                              cl::init("sm_80"), cl::cat(category));
cl::opt<std::string> cudaFormat("cuda-format",
                                cl::desc("How --target=cuda embeds kernels: auto (default: cubin + PTX when the CUDA "
                                         "toolkit is found, else PTX), isa (PTX), bin (cubin), fatbin"),
                                cl::init("auto"), cl::cat(category));
cl::opt<bool> cudaSyncLaunches("cuda-sync-launches",
                               cl::desc("--target=cuda: wait for every kernel before going on (default: queue "
                                        "kernels, synchronise only before host code touches memory)"),
                               cl::init(false), cl::cat(category));
cl::opt<std::string> cudaMatmulPrecision("cuda-matmul-precision",
                                         cl::desc("--target=cuda: f32 matrix products in f32 (default, exact), "
                                                  "bf16 or f16 (tensor cores: operands rounded to bf16 or f16, f32 "
                                                  "accumulation)"),
                                         cl::init("f32"), cl::cat(category));
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
cl::opt<std::string> calibrationPath("calibration",
                                     cl::desc("Calibration inputs: a .npz (np.savez) with one array per model input, used by --report and "
                      "the compression passes that use data"),
                                     cl::value_desc("file.npz"), cl::cat(category));
cl::opt<bool> report("report",
                     cl::desc("Print parameters, weight bytes and FLOPs per token, per layer and in total, of the "
                              "model as compiled (after compression); with --calibration, also the error of the "
                              "compressed model's output against the uncompressed one on those inputs"),
                     cl::cat(category));
cl::opt<bool> reportRaising("report-raising",
                            cl::desc("For an .onnx input: print which subgraphs were raised to eff ops and, where a "
                                     "pattern did not match, why"),
                            cl::cat(category));
cl::list<std::string> adapterDirs("adapter",
                                  cl::desc("For a Hugging Face folder: attach this PEFT adapter folder (LoRA or (IA)^3; "
                                           "folded into the base weights (--merge-adapters, the default) or kept "
                                           "live with --keep-adapters); may be given several times: the adapters "
                                           "apply in order"),
                                  cl::value_desc("dir"), cl::cat(category));
cl::list<std::string> boundInputs("bind-input",
                                  cl::desc("For an .onnx input: bind graph input NAME to the array in FILE.npy at "
                                           "compile time (it leaves the signature); needed for inputs that fix a "
                                           "result's shape (TopK's k, Squeeze/Unsqueeze/Reduce axes); may be given "
                                           "several times"),
                                  cl::value_desc("NAME=FILE.npy"), cl::cat(category));
cl::opt<std::string> reportFusions(
    "report-fusions", cl::ValueOptional,
    cl::desc("List the kernels the model became (micro-kernel calls, contractions, fused elementwise loop nests) "
             "with the eff ops they came from, and whether each expected fusion fired and, if not, why; on "
             "stderr, or in FILE with --report-fusions=FILE"),
    cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> reportFusionsFormat("report-fusions-format",
                                         cl::desc("Format of --report-fusions: text (default) or json"),
                                         cl::init("text"), cl::cat(category));
cl::opt<bool> timing("timing", cl::desc("Print the time spent in each pass and stage"), cl::cat(category));
cl::opt<bool> verbose("v", cl::desc("Print each stage as it runs"), cl::cat(category));
cl::opt<bool> noLayerReuse("no-layer-reuse",
                           cl::desc("Compile every layer separately, even those identical up to their weights "
                                    "(by default they share one compiled body)"),
                           cl::cat(category));
cl::opt<bool> noPackQkv("no-pack-qkv",
                        cl::desc("Keep the query, key and value projections as three GEMMs (by default one GEMM "
                                 "over their concatenated weights, at -O1 and up)"),
                        cl::cat(category));
cl::opt<bool> noWeightPanels("no-weight-panels",
                             cl::desc("Keep f32 GEMM weights as [K, N] rows (by default they are stored as "
                                      "contiguous panels of 32 columns, at -O1 and up)"),
                             cl::cat(category));
cl::opt<bool> noF32LinearKernel("no-f32-linear-kernel",
                                cl::desc("Compile f32 linear layers to generated GEMMs (by default they call the "
                                         "micro-kernel effc_uk_linear_f32, at -O1 and up)"),
                                cl::cat(category));

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "effc") << message << "\n";
  return 1;
}

Emit emitKind() {
  if (emit.getNumOccurrences())
    return emit;
  return static_cast<Emit>(effc::outputKindForPath(outputPath));
}

std::string defaultOutput(Emit kind) {
  llvm::SmallString<128> path(llvm::sys::path::filename(inputPath));
  const char *ext[] = {".llvm.mlir", ".ll", ".s", ".o", ".so", ".eff.mlir", ".ptx"};
  llvm::sys::path::replace_extension(path, ext[static_cast<int>(kind)]);
  return std::string(path);
}


/// One option per compression flag; their command-line positions give the order the passes run in.
struct CompressionOptions {
  CompressionOptions() {
    for (const effc::CompressionFlag &flag : effc::compressionFlags()) {
      if (flag.option.empty())
        valueless.emplace_back(flag.flag, std::make_unique<cl::opt<bool>>(flag.flag, cl::desc(flag.help),
                                                                          cl::cat(compressionCategory)));
      else
        valued.emplace_back(flag.flag, std::make_unique<cl::opt<std::string>>(
                                           flag.flag, cl::desc(flag.help), cl::value_desc(flag.option),
                                           cl::cat(compressionCategory)));
    }
  }

  /// Adds the flags given, in command-line order, to `options`.
  bool addTo(effc::CompileOptions &options) {
    std::vector<std::tuple<unsigned, llvm::StringRef, std::string>> given;
    for (auto &[name, opt] : valued)
      if (opt->getNumOccurrences())
        given.emplace_back(opt->getPosition(), name, opt->getValue());
    for (auto &[name, opt] : valueless)
      if (opt->getNumOccurrences() && opt->getValue())
        given.emplace_back(opt->getPosition(), name, "");
    llvm::sort(given, [](const auto &a, const auto &b) { return std::get<0>(a) < std::get<0>(b); });
    for (auto &[position, name, value] : given) {
      std::string error;
      if (failed(options.addCompression(name, value, error))) {
        fail(error);
        return false;
      }
    }
    return true;
  }

  cl::OptionCategory compressionCategory{"compression options (applied in the order given)"};
  std::vector<std::pair<llvm::StringRef, std::unique_ptr<cl::opt<std::string>>>> valued;
  std::vector<std::pair<llvm::StringRef, std::unique_ptr<cl::opt<bool>>>> valueless;
};

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  CompressionOptions compression;
  cl::HideUnrelatedOptions({&category, &compression.compressionCategory});
  llvm::SmallVector<const char *> args(argv, argv + argc);
  if (!extractThreads(args))
    return fail("--threads expects a number");
  cl::ParseCommandLineOptions(args.size(), args.data(),
                              "effc: compile eff IR into a shared object for the effc runtime\n\n"
                              "  effc model.mlir -o model.so               compile ahead of time\n"
                              "  effc model.mlir --quantize=int8 -o q.so   compile with compression\n"
                              "  effc-run model.so --input x=x.npy         run it\n");

  effc::CompileOptions options;
  options.target = target;
  options.cpu = cpu;
  options.cudaArch = cudaArch;
  options.cudaFormat = cudaFormat;
  options.cudaAsyncLaunches = !cudaSyncLaunches;
  options.cudaMatmulPrecision = cudaMatmulPrecision;
  options.optLevel = optLevel;
  options.weightsFile = weightsPath;
  options.externalWeights = externalWeights;
  options.threads = threads;
  options.calibration = calibrationPath;
  options.verbose = verbose;
  options.timing = timing;
  options.reportRaising = reportRaising;
  options.adapterDirs.assign(adapterDirs.begin(), adapterDirs.end());
  for (const std::string &binding : boundInputs) {
    auto parsed = effc::parseInputBinding(binding);
    if (!parsed) {
      llvm::errs() << "effc: --bind-input takes NAME=FILE.npy, got '" << binding << "'\n";
      return 1;
    }
    options.boundInputs.push_back(std::move(*parsed));
  }
  if (reportFusions.getNumOccurrences())
    options.reportFusions = reportFusions.empty() ? "-" : reportFusions.getValue();
  options.reportFusionsFormat = reportFusionsFormat;
  options.layerReuse = !noLayerReuse;
  options.packQkv = !noPackQkv;
  options.weightPanels = !noWeightPanels;
  options.f32LinearKernel = !noF32LinearKernel;
  if (!compression.addTo(options))
    return 1;
  Emit kind = emitKind();
  if (outputPath.empty())
    outputPath = defaultOutput(kind);
  if (externalWeights && kind != Emit::So)
    return fail("--external-weights needs --emit=so");

  effc::Compiler compiler(options, llvm::errs());
  auto module = compiler.parseFile(inputPath);
  if (failed(module))
    return 1;
  effc::CompileReport compileReport;
  if (failed(compiler.compile(**module, static_cast<effc::OutputKind>(kind), outputPath,
                              report ? &compileReport : nullptr)))
    return 1;
  if (report)
    effc::printCompileReport(compileReport, llvm::outs());
  return 0;
}
