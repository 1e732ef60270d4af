//===- Compiler.cpp - effc's compiler API ----------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Parse -> pipeline of the target -> LLVM IR with the runtime ABI -> machine code -> shared object.
//
//===----------------------------------------------------------------------===//

#include "effc/Compiler/Compiler.h"

#include "Calibration.h"

#include "effc/Compiler/FusionReport.h"
#include "effc/Dialect/Eff/Analysis/ModelStatistics.h"
#include "effc/Dialect/Eff/Transforms/CalibrationProbes.h"
#include "effc/Dialect/Eff/Transforms/Passes.h"
#include "effc/Import/HuggingFace.h"
#include "effc/Import/Onnx.h"
#include "effc/InitAll.h"
#include "effc/Pipelines/Pipelines.h"
#include "effc/Target/Cuda.h"
#include "effc/Target/SharedObject.h"
#include "effc/Support/ResourceBlobs.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;

namespace effc {

llvm::ArrayRef<CompressionFlag> compressionFlags() {
  static const CompressionFlag flags[] = {
      {"drop-layers", "eff-drop-layers", "layers", false,
       "Drop layers: top:K, bottom:K, alternate, symmetric:K or list:i,j,..."},
      {"prune-heads", "eff-prune-heads", "fraction", true, "Prune this fraction of attention heads per layer"},
      {"prune-ffn", "eff-prune-ffn", "fraction", true, "Prune this fraction of FFN neurons per layer"},
      {"prune-experts", "eff-prune-experts", "experts", true,
       "Prune N experts per MoE layer (least used), or list:i,j,..."},
      {"sparsity", "eff-sparsify", "pattern", false, "Sparsify weights: N:M (e.g. 2:4) or unstructured:FRACTION"},
      {"quantize", "eff-quantize", "scheme", true, "Quantize weights: int8[:static], int4[:gGROUP][:asym], lut:BITS[:gGROUP] or bf16"},
      {"merge-adapters", "eff-merge-adapters", "", false, "Fold LoRA, (IA)^3 and prefix/prompt adapters into the base"},
      {"keep-adapters", "eff-keep-adapters", "", false,
       "Keep adapter weights as run-time inputs (one base, many adapters)"},
  };
  return flags;
}

static const CompressionFlag *lookupCompressionFlag(llvm::StringRef flag) {
  for (const CompressionFlag &candidate : compressionFlags())
    if (candidate.flag == flag)
      return &candidate;
  return nullptr;
}

LogicalResult CompileOptions::addCompression(llvm::StringRef flag, llvm::StringRef value, std::string &error) {
  const CompressionFlag *known = lookupCompressionFlag(flag);
  if (!known) {
    error = ("unknown compression flag '" + flag + "'").str();
    return failure();
  }
  if (!known->option.empty() && value.empty()) {
    error = ("--" + flag + " needs a value").str();
    return failure();
  }
  compression.emplace_back(flag.str(), known->option.empty() ? "" : value.str());
  return success();
}

std::vector<std::string> CompileOptions::compressionPasses() const {
  std::vector<std::string> passes;
  for (const auto &[flag, value] : compression) {
    const CompressionFlag *known = lookupCompressionFlag(flag);
    if (!known)
      continue; // addCompression admits only known flags
    llvm::SmallVector<std::string> passOptions;
    if (!known->option.empty())
      passOptions.push_back((known->option + "=" + value).str());
    std::string spec = known->pass.str();
    if (!passOptions.empty())
      spec += "{" + llvm::join(passOptions, " ") + "}";
    passes.push_back(std::move(spec));
  }
  return passes;
}

void printCompileReport(const CompileReport &report, llvm::raw_ostream &os) {
  printModelStatistics(report.statistics, os);
  if (const std::optional<OutputError> &error = report.outputError)
    os << llvm::format("output error on the calibration data ('%s' of '%s', against the uncompressed model):\n"
                       "  max abs %.4g, mean abs %.4g, cosine %.6f, KL(softmax) %.4g\n",
                       error->output.c_str(), error->function.c_str(), error->maxAbs, error->meanAbs,
                       error->cosine, error->klDivergence);
}

OutputKind outputKindForPath(llvm::StringRef path) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  if (ext == ".mlir")
    return OutputKind::Mlir;
  if (ext == ".ll")
    return OutputKind::LlvmIr;
  if (ext == ".s")
    return OutputKind::Assembly;
  if (ext == ".o")
    return OutputKind::Object;
  if (ext == ".ptx")
    return OutputKind::Ptx;
  return OutputKind::SharedObject;
}

struct Compiler::Impl {
  Impl(CompileOptions options, llvm::raw_ostream &diagnostics)
      : options(std::move(options)), diagnostics(diagnostics), context(makeRegistry(), contextThreading()),
        diagnosticHandler(sourceMgr, &context, diagnostics) {
    context.printOpOnDiagnostic(false); // a diagnostic points at the op's location; never dump a whole model
    if (this->options.threads > 1) {
      threadPool = std::make_unique<llvm::DefaultThreadPool>(llvm::hardware_concurrency(this->options.threads));
      context.setThreadPool(*threadPool);
    }
  }

  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    mlir::registerAllDialects(registry);
    registerAllExtensions(registry);
    effc::registerAllDialects(registry);
    registerBuiltinDialectTranslation(registry);
    registerLLVMDialectTranslation(registry);
    // --target=cuda: kernels (NVVM) and their launches (gpu.binary, gpu.launch_func) to LLVM IR.
    registerGPUDialectTranslation(registry);
    gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
    registerNVVMDialectTranslation(registry);
    return registry;
  }

  MLIRContext::Threading contextThreading() const {
    return options.threads == 1 ? MLIRContext::Threading::DISABLED : MLIRContext::Threading::ENABLED;
  }

  /// Prints "effc: <stage>" progress lines when verbose.
  void stage(const llvm::Twine &what) {
    if (options.verbose)
      diagnostics << "effc: " << what << "\n";
  }

  /// Compiles `module`; with `calibrationData`, annotates it with calibration statistics before compressing.
  LogicalResult compile(ModuleOp module, OutputKind kind, llvm::StringRef outputPath, ModelStatistics *statistics,
                        const std::vector<std::string> &compressionPasses, CalibrationData *calibrationData);

  /// Compiles a copy of `module` (weights read, uncompressed) instrumented with calibration probes, runs it on
  /// the data and attaches the statistics to `module`'s ops.
  LogicalResult calibrate(ModuleOp module, CalibrationData &data);

  /// Prints `module` to `path`.
  LogicalResult writeModule(ModuleOp module, llvm::StringRef path) {
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> output = openOutputFile(path, &error);
    if (!output)
      return fail(error);
    module->print(output->os());
    output->keep();
    return success();
  }

  LogicalResult fail(const llvm::Twine &message) {
    llvm::WithColor::error(diagnostics, "effc") << message << "\n";
    return failure();
  }

  FailureOr<OwningOpRef<ModuleOp>> parse(std::unique_ptr<llvm::MemoryBuffer> buffer) {
    unsigned id = sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    // Parse this buffer only (the manager keeps earlier ones so their diagnostics stay printable).
    llvm::SourceMgr single;
    single.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBuffer(sourceMgr.getMemoryBuffer(id)->getMemBufferRef()),
                              llvm::SMLoc());
    SourceMgrDiagnosticHandler handler(single, &context, diagnostics);
    const llvm::MemoryBuffer *text = single.getMemoryBuffer(1);
    if (std::optional<SourceProblem> problem = findZeroAlignedResourceBlob(text->getBuffer())) {
      auto [line, column] = single.getLineAndColumn(llvm::SMLoc::getFromPointer(text->getBufferStart() +
                                                                                problem->offset));
      emitError(FileLineColLoc::get(&context, text->getBufferIdentifier(), line, column)) << problem->message;
      return failure();
    }
    OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(single, ParserConfig(&context));
    if (!module)
      return failure();
    return module;
  }

  /// Writes fusionReport where options.reportFusions says.
  LogicalResult writeFusionReport();

  CompileOptions options;
  llvm::raw_ostream &diagnostics;
  /// Set by Compiler::compile for its model only (not the calibration or baseline compiles it makes).
  bool collectFusions = false;
  std::optional<FusionReport> fusionReport;
  MLIRContext context;
  std::unique_ptr<llvm::DefaultThreadPool> threadPool;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnosticHandler;
};

Compiler::Compiler(CompileOptions options, llvm::raw_ostream &diagnostics)
    : impl(std::make_unique<Impl>(std::move(options), diagnostics)) {}

Compiler::~Compiler() = default;

const CompileOptions &Compiler::options() const { return impl->options; }

FailureOr<OwningOpRef<ModuleOp>> Compiler::parseFile(llvm::StringRef path) {
  if (llvm::sys::fs::is_directory(path)) {
    // A Hugging Face model folder: its weights files are named relative to it.
    impl->stage("importing " + path);
    if (impl->options.baseDir.empty())
      impl->options.baseDir = path.str();
    // Attached adapters are folded into the base weights unless the user chose what to do with them.
    std::vector<std::pair<std::string, std::string>> &compression = impl->options.compression;
    if (!impl->options.adapterDirs.empty() && llvm::none_of(compression, [](const auto &flag) {
          return flag.first == "merge-adapters" || flag.first == "keep-adapters";
        }))
      compression.insert(compression.begin(), {"merge-adapters", ""});
    return effc::importHuggingFace(&impl->context, path, impl->options.adapterDirs);
  }
  if (!impl->options.adapterDirs.empty()) {
    (void)impl->fail("an adapter (--adapter " + impl->options.adapterDirs.front() +
                     ") attaches to a Hugging Face model folder, not to " + path.str());
    return failure();
  }
  if (effc::isOnnxFile(path)) {
    // An ONNX model: its initializers (eff.weights) are named relative to it.
    impl->stage("importing " + path);
    if (impl->options.baseDir.empty()) {
      llvm::SmallString<256> baseDir(path);
      llvm::sys::path::remove_filename(baseDir);
      impl->options.baseDir = std::string(baseDir);
    }
    effc::OnnxImportOptions onnxOptions;
    onnxOptions.raisingReport = impl->options.reportRaising ? &impl->diagnostics : nullptr;
    onnxOptions.boundInputs = impl->options.boundInputs;
    return effc::importOnnx(&impl->context, path, onnxOptions);
  }
  if (!impl->options.boundInputs.empty()) {
    (void)impl->fail("--bind-input " + impl->options.boundInputs.front().first + " binds a graph input of an .onnx "
                     "model, not of " + path.str());
    return failure();
  }
  impl->stage("parsing " + path);
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file = openInputFile(path, &error);
  if (!file) {
    (void)impl->fail(error);
    return failure();
  }
  if (impl->options.baseDir.empty()) {
    llvm::SmallString<256> baseDir(path);
    llvm::sys::path::remove_filename(baseDir);
    impl->options.baseDir = std::string(baseDir);
  }
  return impl->parse(std::move(file));
}

FailureOr<OwningOpRef<ModuleOp>> Compiler::parseSource(llvm::StringRef source, llvm::StringRef bufferName) {
  if (!impl->options.adapterDirs.empty()) {
    (void)impl->fail("an adapter (--adapter " + impl->options.adapterDirs.front() +
                     ") attaches to a Hugging Face model folder, not to IR " + bufferName);
    return failure();
  }
  if (!impl->options.boundInputs.empty()) {
    (void)impl->fail("--bind-input " + impl->options.boundInputs.front().first + " binds a graph input of an .onnx "
                     "model, not of IR " + bufferName);
    return failure();
  }
  return impl->parse(llvm::MemoryBuffer::getMemBufferCopy(source, bufferName));
}

LogicalResult Compiler::compile(ModuleOp module, OutputKind kind, llvm::StringRef outputPath, CompileReport *report) {
  const CompileOptions &options = impl->options;
  bool dataDriven = llvm::any_of(options.compression, [](const auto &flag) {
    const CompressionFlag *known = lookupCompressionFlag(flag.first);
    return known && known->takesCalibration;
  });
  // --emit=eff shows the statistics even without a data-driven pass.
  dataDriven |= kind == OutputKind::Eff;
  bool measureError = report && !options.compression.empty();
  std::unique_ptr<CalibrationData> data;
  if (!options.calibration.empty() && (dataDriven || measureError)) {
    std::string error;
    FailureOr<std::unique_ptr<CalibrationData>> read = CalibrationData::read(options.calibration, error);
    if (failed(read))
      return impl->fail(error);
    data = std::move(*read);
  }
  impl->collectFusions = !options.reportFusions.empty();
  if (!data || !measureError)
    return impl->compile(module, kind, outputPath, report ? &report->statistics : nullptr,
                         options.compressionPasses(), dataDriven ? data.get() : nullptr);
  if (kind != OutputKind::SharedObject)
    return impl->fail("measuring the output error on calibration data (--report with --calibration) needs a "
                      "shared object output");
  // The same model uncompressed, as the reference.
  OwningOpRef<ModuleOp> baseline = module.clone();
  llvm::SmallString<128> baselinePath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("effc-baseline", "so", baselinePath))
    return impl->fail("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeBaseline(baselinePath);
  llvm::FileRemover removeBaselineWeights(baselinePath + ".weights");
  if (failed(impl->compile(module, kind, outputPath, &report->statistics, options.compressionPasses(),
                           dataDriven ? data.get() : nullptr)))
    return failure();
  impl->stage("compiling the uncompressed model to measure the compression error");
  if (failed(impl->compile(*baseline, kind, baselinePath, nullptr, {}, nullptr)))
    return failure();
  std::string error;
  FailureOr<OutputError> measured =
      data->measureOutputError(baselinePath, outputPath, report->statistics.function, error);
  if (failed(measured))
    return impl->fail(error);
  report->outputError = *measured;
  return success();
}

LogicalResult Compiler::Impl::compile(ModuleOp module, OutputKind kind, llvm::StringRef outputPath,
                                      ModelStatistics *statistics, const std::vector<std::string> &compressionPasses,
                                      CalibrationData *calibrationData) {
  std::string error;
  bool collectFusionReport = collectFusions;
  collectFusions = false;
  if (!llvm::is_contained(fusionReportFormats(), llvm::StringRef(options.reportFusionsFormat)))
    return fail("unknown fusion report format '" + options.reportFusionsFormat + "' (expected " +
                llvm::join(fusionReportFormats(), " or ") + ")");
  if (!llvm::is_contained(supportedTargets(), llvm::StringRef(options.target)))
    return fail("unknown target '" + options.target + "' (supported: " + llvm::join(supportedTargets(), ", ") +
                      ")");
  if (options.optLevel > 3)
    return fail("optimisation level must be 0 to 3, not " + llvm::Twine(options.optLevel));
  TargetOptions targetOptions;
  targetOptions.cpu = options.cpu;
  targetOptions.optLevel = options.optLevel;
  if (failed(checkTargetOptions(targetOptions, error)))
    return fail(error);
  if (options.externalWeights && kind != OutputKind::SharedObject)
    return fail("external weights need a shared object output");
  bool cuda = options.target == "cuda";
  if (kind == OutputKind::Ptx && !cuda)
    return fail("PTX output needs --target=cuda");
  if (cuda && options.externalWeights)
    return fail("--external-weights is not supported with --target=cuda (kernels read weights from device memory)");
  if (!llvm::is_contained({"f32", "bf16", "f16"}, options.cudaMatmulPrecision))
    return fail("unknown CUDA matmul precision '" + options.cudaMatmulPrecision + "' (expected f32, bf16 or f16)");
  std::string cudaFormat = options.cudaFormat, cudaToolkit;
  if (cuda) {
    if (!llvm::is_contained({"auto", "isa", "bin", "fatbin"}, cudaFormat))
      return fail("unknown CUDA binary format '" + cudaFormat + "' (expected auto, isa, bin or fatbin)");
    cudaToolkit = findCudaToolkit();
    if (kind == OutputKind::Ptx)
      cudaFormat = "isa";
    else if (cudaFormat == "auto")
      cudaFormat = cudaToolkit.empty() ? "isa" : "fatbin";
    else if (cudaFormat != "isa" && cudaToolkit.empty())
      return fail("--cuda-format=" + cudaFormat + " needs the CUDA toolkit's ptxas (set CUDA_HOME)");
    targetOptions.deviceTarget = "cuda:" + options.cudaArch;
  }

  DefaultTimingManager timingManager;
  timingManager.setEnabled(options.timing);
  TimingScope rootTiming = timingManager.getRootScope();

  // Weights and compression, then the signatures (compression may change them), then lowering.
  PipelineOptions pipelineOptions;
  pipelineOptions.target = options.target;
  pipelineOptions.optLevel = options.optLevel;
  pipelineOptions.weightsFile = options.weightsFile;
  pipelineOptions.baseDir = options.baseDir;
  pipelineOptions.compression = compressionPasses;
  pipelineOptions.cudaArch = options.cudaArch;
  pipelineOptions.cudaFormat = cudaFormat;
  pipelineOptions.cudaToolkit = cudaToolkit;
  pipelineOptions.cudaAsyncLaunches = options.cudaAsyncLaunches;
  pipelineOptions.cudaMatmulPrecision = options.cudaMatmulPrecision;
  pipelineOptions.layerReuse = options.layerReuse;
  pipelineOptions.packQkv = options.packQkv;
  pipelineOptions.weightPanels = options.weightPanels;
  pipelineOptions.f32LinearKernel = options.f32LinearKernel;
  pipelineOptions.layerReuseRemarks = options.verbose;
  PassManager weights(&context), compression(&context), lowering(&context);
  PipelineOptions weightsOnly;
  weightsOnly.weightsFile = options.weightsFile;
  weightsOnly.baseDir = options.baseDir;
  if (failed(buildCompressionPipeline(weights, weightsOnly, error)) ||
      failed(addCompressionPasses(compression, pipelineOptions, error)) ||
      failed(buildTargetPipeline(lowering, pipelineOptions, error)))
    return fail(error);
  weights.enableTiming(rootTiming);
  compression.enableTiming(rootTiming);
  lowering.enableTiming(rootTiming);
  stage("reading weights");
  if (failed(weights.run(module)))
    return failure();
  if (calibrationData) {
    stage("calibrating: running the model on " + options.calibration);
    if (failed(calibrate(module, *calibrationData)))
      return failure();
  }
  if (!compressionPasses.empty()) {
    stage("compressing: " + llvm::join(compressionPasses, ", "));
    if (failed(compression.run(module)))
      return failure();
  }
  if (statistics)
    *statistics = computeModelStatistics(module);
  if (kind == OutputKind::Eff)
    return writeModule(module, outputPath);
  FailureOr<std::vector<EntryPointSignature>> entryPoints = collectEntryPoints(module);
  if (failed(entryPoints))
    return failure();
  // `eff.unsigned` (the ONNX importer's mark of unsigned integer arguments and results) is recorded in the
  // entry points' dtype tags; LLVM has no use for it.
  for (auto func : module.getOps<func::FuncOp>()) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      func.removeArgAttr(i, "eff.unsigned");
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      func.removeResultAttr(i, StringAttr::get(module.getContext(), "eff.unsigned"));
  }
  stage("lowering eff to the LLVM dialect (-O" + llvm::Twine(options.optLevel) + ")");
  if (collectFusionReport) {
    FusionReportCollector collector(context, /*initsFusedByTiling=*/!cuda && options.optLevel > 0);
    collector.prepare(module);
    collector.instrument(lowering);
    LogicalResult lowered = lowering.run(module);
    fusionReport = collector.finish();
    if (failed(writeFusionReport()) || failed(lowered))
      return failure();
  } else if (failed(lowering.run(module))) {
    return failure();
  }

  std::string outputError;
  std::unique_ptr<llvm::ToolOutputFile> output = openOutputFile(outputPath, &outputError);
  if (!output)
    return fail(outputError);
  if (kind == OutputKind::Mlir) {
    module->print(output->os());
    output->keep();
    return success();
  }
  if (kind == OutputKind::Ptx) {
    // effc-gpu-merge-kernel-modules leaves one gpu.binary; a model without kernels has none.
    for (auto binary : module.getOps<gpu::BinaryOp>())
      for (Attribute object : binary.getObjects())
        output->os() << cast<gpu::ObjectAttr>(object).getObject().getValue();
    output->keep();
    return success();
  }

  // LLVM IR with the runtime ABI, optimised for the target CPU.
  stage("translating to LLVM IR and optimising for --cpu=" + options.cpu);
  TimingScope llvmTiming = rootTiming.nest("LLVM IR + optimisation");
  llvm::LLVMContext llvmContext;
  if (options.externalWeights)
    targetOptions.externalWeightsPath = (outputPath + ".weights").str();
  FailureOr<std::unique_ptr<llvm::Module>> llvmModule =
      translateToRuntimeModule(module, *entryPoints, llvmContext, targetOptions);
  if (failed(llvmModule))
    return failure();
  llvmTiming.stop();
  if (kind == OutputKind::LlvmIr) {
    (*llvmModule)->print(output->os(), nullptr);
    output->keep();
    return success();
  }

  // Machine code.
  stage("generating machine code");
  TimingScope codegenTiming = rootTiming.nest("Machine code");
  if (kind == OutputKind::Assembly || kind == OutputKind::Object) {
    if (failed(emitMachineCode(**llvmModule, targetOptions, kind == OutputKind::Assembly, output->os(), error)))
      return fail(error);
    output->keep();
    return success();
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
    if (failed(emitMachineCode(**llvmModule, targetOptions, /*assembly=*/false, object, error)))
      return fail(error);
  }
  codegenTiming.stop();
  stage("linking " + outputPath);
  TimingScope linkTiming = rootTiming.nest("Link");
  if (failed(linkSharedObject(objectPath, outputPath, error)))
    return fail(error);
  output->keep();
  return success();
}

LogicalResult Compiler::Impl::writeFusionReport() {
  auto print = [&](llvm::raw_ostream &os) {
    if (options.reportFusionsFormat == "json")
      printFusionReportJson(*fusionReport, os);
    else
      printFusionReport(*fusionReport, os);
  };
  if (options.reportFusions == "-") {
    print(diagnostics);
    return success();
  }
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> output = openOutputFile(options.reportFusions, &error);
  if (!output)
    return fail(error);
  print(output->os());
  output->keep();
  return success();
}

const FusionReport *Compiler::fusionReport() const {
  return impl->fusionReport ? &*impl->fusionReport : nullptr;
}

LogicalResult Compiler::Impl::calibrate(ModuleOp module, CalibrationData &data) {
  func::FuncOp entry = calibrationEntryPoint(module);
  if (!entry)
    return success();
  OwningOpRef<ModuleOp> instrumented = module.clone();
  PassManager probes(&context);
  probes.addPass(mlir::eff::createEffExposeCalibrationProbesPass());
  if (failed(probes.run(*instrumented)))
    return failure();
  llvm::SmallString<128> path;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("effc-calibration", "so", path))
    return fail("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeInstrumented(path);
  bool verbose = options.verbose;
  options.verbose = false; // one "calibrating" stage, not a second compile's worth of lines
  std::string target = options.target;
  options.target = "cpu"; // calibration runs here, on the CPU, whatever the model is compiled for
  LogicalResult compiled = compile(*instrumented, OutputKind::SharedObject, path, nullptr, {}, nullptr);
  options.verbose = verbose;
  options.target = target;
  if (failed(compiled))
    return failure();
  std::string error;
  if (failed(data.annotate(module, path, entry.getNumResults(), error)))
    return fail(error);
  return success();
}

} // namespace effc
