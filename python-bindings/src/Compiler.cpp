//===- Compiler.cpp - Python bindings of the effc compiler API -------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Binds include/effc/Compiler/Compiler.h: CompileOptions (the driver's flags as attributes, compression
// flags in the order added) and compilation of a file (IR, an .onnx model or a Hugging Face folder, through
// Compiler::parseFile's importers) or of IR text (or bytecode) to an output file.
// Diagnostics are collected as text: a failure raises effc.CompileError with them; on success the text
// (warnings, and progress or timing when asked for) is returned with the compile report (what
// `effc --report` prints) as a dict.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

#include "effc/Compiler/Compiler.h"
#include "effc/InitAll.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/stl.h>

#include <mutex>

namespace py = pybind11;

namespace effc::python {
namespace {

/// Registers effc's passes (and pipelines) with MLIR's global registry, once: compression flags name passes
/// that the pipeline parser looks up there.
void registerPassesOnce() {
  static std::once_flag once;
  std::call_once(once, [] { effc::registerAllPasses(); });
}

OutputKind outputKind(const std::string &kind) {
  if (kind == "so")
    return OutputKind::SharedObject;
  if (kind == "mlir")
    return OutputKind::Mlir;
  if (kind == "llvm")
    return OutputKind::LlvmIr;
  if (kind == "asm")
    return OutputKind::Assembly;
  if (kind == "obj")
    return OutputKind::Object;
  if (kind == "eff")
    return OutputKind::Eff;
  throw PythonError{exceptionTypes().error, "unknown output kind '" + kind + "' (so, mlir, llvm, asm, obj, eff)",
                    py::dict()};
}

[[noreturn]] void compileError(std::string diagnostics) {
  while (!diagnostics.empty() && diagnostics.back() == '\n')
    diagnostics.pop_back();
  py::dict attributes;
  attributes["diagnostics"] = diagnostics;
  throw PythonError{exceptionTypes().compileError, diagnostics.empty() ? "compilation failed" : diagnostics,
                    attributes};
}

py::dict partStatistics(const PartStatistics &part) {
  py::dict result;
  result["name"] = part.name;
  result["parameters"] = part.parameters;
  result["bytes"] = part.bytes;
  result["flops_per_token"] = part.flopsPerToken;
  return result;
}

/// The report as data: {function, parts: [{name, parameters, bytes, flops_per_token}], total, output_error,
/// text}, where `output_error` is None or {function, output, max_abs, mean_abs, cosine, kl_divergence} and
/// `text` is the driver's table.
py::dict reportDict(const CompileReport &report) {
  const ModelStatistics &statistics = report.statistics;
  py::dict result;
  result["function"] = statistics.function;
  py::list parts;
  for (const PartStatistics &part : statistics.parts)
    parts.append(partStatistics(part));
  result["parts"] = parts;
  result["total"] = partStatistics(statistics.total);
  result["output_error"] = py::none();
  if (const std::optional<OutputError> &error = report.outputError) {
    py::dict measured;
    measured["function"] = error->function;
    measured["output"] = error->output;
    measured["max_abs"] = error->maxAbs;
    measured["mean_abs"] = error->meanAbs;
    measured["cosine"] = error->cosine;
    measured["kl_divergence"] = error->klDivergence;
    result["output_error"] = measured;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  printCompileReport(report, os);
  os.flush();
  result["text"] = text;
  return result;
}

/// Parses with `parse` and compiles to `output`; returns (diagnostic text, report dict or None), or raises
/// CompileError. Without `withReport` no report is made (with calibration data and compression, the report
/// compiles the model a second time, uncompressed, to measure the output error).
template <typename ParseFn>
py::tuple compileWith(const CompileOptions &options, const std::string &output, const std::string &kind,
                      bool withReport, ParseFn parse) {
  registerPassesOnce();
  OutputKind outputType = outputKind(kind);
  std::string diagnostics;
  CompileReport report;
  bool ok;
  {
    py::gil_scoped_release release;
    llvm::raw_string_ostream stream(diagnostics);
    Compiler compiler(options, stream);
    auto module = parse(compiler);
    ok = succeeded(module) && succeeded(compiler.compile(**module, outputType, output, withReport ? &report : nullptr));
    stream.flush();
  }
  if (!ok)
    compileError(std::move(diagnostics));
  return py::make_tuple(diagnostics, withReport ? py::object(reportDict(report)) : py::object(py::none()));
}

} // namespace

void bindCompiler(py::module_ &m) {
  py::class_<CompileOptions>(m, "CompileOptions", "effc::CompileOptions: the effc driver's flags.")
      .def(py::init<>())
      .def_readwrite("target", &CompileOptions::target)
      .def_readwrite("cpu", &CompileOptions::cpu)
      .def_readwrite("cuda_arch", &CompileOptions::cudaArch)
      .def_readwrite("cuda_format", &CompileOptions::cudaFormat)
      .def_readwrite("cuda_matmul_precision", &CompileOptions::cudaMatmulPrecision)
      .def_readwrite("opt_level", &CompileOptions::optLevel)
      .def_readwrite("weights", &CompileOptions::weightsFile)
      .def_readwrite("base_dir", &CompileOptions::baseDir)
      .def_readwrite("external_weights", &CompileOptions::externalWeights)
      .def_readwrite("threads", &CompileOptions::threads)
      .def_readwrite("calibration", &CompileOptions::calibration)
      .def_readwrite("verbose", &CompileOptions::verbose)
      .def_readwrite("timing", &CompileOptions::timing)
      .def_readwrite("report_raising", &CompileOptions::reportRaising,
                     "For an .onnx model: print what was raised to eff ops (and why not) with the diagnostics")
      .def_readwrite("adapters", &CompileOptions::adapterDirs,
                     "PEFT adapter folders attached, in order, to a Hugging Face model folder (--adapter)")
      .def_readwrite("bound_inputs", &CompileOptions::boundInputs,
                     "[(name, .npy file)]: graph inputs of an .onnx model bound at compile time (--bind-input)")
      .def_readwrite("report_fusions", &CompileOptions::reportFusions,
                     "'' (no report), '-' (with the diagnostics) or a file for the fusion report")
      .def_readwrite("report_fusions_format", &CompileOptions::reportFusionsFormat, "'text' or 'json'")
      .def_readwrite("layer_reuse", &CompileOptions::layerReuse)
      .def_readwrite("pack_qkv", &CompileOptions::packQkv)
      .def_readwrite("weight_panels", &CompileOptions::weightPanels)
      .def_readwrite("f32_linear_kernel", &CompileOptions::f32LinearKernel)
      .def_readonly("compression", &CompileOptions::compression,
                    "[(flag, value)] in the order added (the order the passes run in)")
      .def(
          "add_compression",
          [](CompileOptions &options, const std::string &flag, const std::string &value) {
            std::string error;
            if (failed(options.addCompression(flag, value, error)))
              throw PythonError{exceptionTypes().compileError, error, py::dict()};
          },
          py::arg("flag"), py::arg("value") = "",
          "Appends a compression flag as the driver spells it (e.g. 'quantize', 'int8').")
      .def("compression_passes", &CompileOptions::compressionPasses,
           "The textual pass specs the compression flags become.");

  m.def(
      "compression_flags",
      [] {
        py::list flags;
        for (const CompressionFlag &flag : compressionFlags()) {
          py::dict entry;
          entry["flag"] = flag.flag.str();
          entry["pass"] = flag.pass.str();
          entry["option"] = flag.option.str();
          entry["takes_calibration"] = flag.takesCalibration;
          entry["help"] = flag.help.str();
          flags.append(entry);
        }
        return flags;
      },
      "Every compression flag of the driver: [{flag, pass, option, takes_calibration, help}].");

  m.def(
      "is_pass_registered",
      [](const std::string &name) {
        registerPassesOnce();
        return mlir::PassInfo::lookup(name) != nullptr || mlir::PassPipelineInfo::lookup(name) != nullptr;
      },
      py::arg("name"), "Whether MLIR's pass registry (with effc's passes) knows the pass or pipeline `name`.");

  m.def(
      "compile_file",
      [](const CompileOptions &options, const std::string &path, const std::string &output, const std::string &kind,
         bool report) {
        return compileWith(options, output, kind, report,
                           [&](Compiler &compiler) { return compiler.parseFile(path); });
      },
      py::arg("options"), py::arg("path"), py::arg("output"), py::arg("kind") = "so", py::arg("report") = true,
      "Compiles the .mlir/.mlirbc file, .onnx model or Hugging Face model folder at `path` into `output` (kind: "
      "so, mlir, llvm, asm, obj, eff). Returns "
      "(diagnostic text: warnings, progress; the report: {function, parts, total, output_error, text}, or "
      "None without `report`); raises "
      "CompileError with the diagnostics on failure. Releases the GIL.");
  m.def(
      "compile_source",
      [](const CompileOptions &options, const py::bytes &source, const std::string &bufferName,
         const std::string &output, const std::string &kind, bool report) {
        std::string text = source;
        return compileWith(options, output, kind, report,
                           [&](Compiler &compiler) { return compiler.parseSource(text, bufferName); });
      },
      py::arg("options"), py::arg("source"), py::arg("buffer_name"), py::arg("output"), py::arg("kind") = "so",
      py::arg("report") = true,
      "Compiles IR text or bytecode (bytes); `buffer_name` names it in diagnostics. Otherwise as compile_file.");
}

} // namespace effc::python
