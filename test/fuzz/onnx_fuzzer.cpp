//===- onnx_fuzzer.cpp - fuzz the ONNX importer ----------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Feeds arbitrary bytes, as an in-memory .onnx model, to
//  - effc::OnnxWeightsFile::parse (the hand-written protobuf reader of the initializers): it must return an
//    error with a message or a file whose every tensor holds exactly product(shape) x element size bytes
//    (checked here without overflow), inside the input unless decoded from packed varints; and
//  - effc::importOnnx (protobuf graph -> eff IR) in a context with the dialects effc registers: it must
//    return a module that verifies, or fail with at least one error diagnostic.
// The model is named as if in a directory that does not exist, so external data never resolves to a real
// file. A crash, hang, or sanitizer report is a finding.
//
//===----------------------------------------------------------------------===//

#include "effc/Import/Onnx.h"
#include "effc/Dialect/Eff/IR/EffDialect.h"
#include "effc/Support/OnnxWeights.h"
#include "effc/Support/Safetensors.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <memory>

using namespace mlir;

static constexpr const char *kModelPath = "/nonexistent-effc-fuzz/model.onnx";

static MLIRContext &context() {
  static std::unique_ptr<MLIRContext> context = [] {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registry.insert<eff::EffDialect>(); // effc::registerAllDialects, without linking every pass
    auto created = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
    created->printOpOnDiagnostic(false); // as effc::Compiler does
    return created;
  }();
  return *context;
}

/// Checks what OnnxWeightsFile::parse makes of `bytes`.
static void fuzzWeights(llvm::StringRef bytes) {
  auto file = effc::OnnxWeightsFile::parse(llvm::MemoryBuffer::getMemBuffer(bytes, kModelPath, false), kModelPath);
  if (!file) {
    if (llvm::toString(file.takeError()).empty())
      abort(); // an error must say what is wrong
    return;
  }
  for (const std::string &name : (*file)->names()) {
    const effc::SafetensorsTensor *tensor = (*file)->lookup(name);
    if (!tensor)
      abort();
    uint64_t expected = effc::SafetensorsFile::elementSize(tensor->dtype);
    if (expected == 0 || llvm::is_contained(tensor->shape, 0))
      expected = 0;
    for (int64_t extent : tensor->shape)
      if (extent < 0 || __builtin_mul_overflow(expected, static_cast<uint64_t>(extent), &expected))
        abort(); // accepted a shape whose size is not representable
    if (tensor->data.size() != expected)
      abort();
  }
  // The skeleton is a protobuf the graph parser reads: it must not be larger than the model.
  if ((*file)->skeleton().size() > bytes.size())
    abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  fuzzWeights(bytes);

  MLIRContext &ctx = context();
  unsigned errors = 0;
  ScopedDiagnosticHandler count(&ctx, [&](Diagnostic &diagnostic) {
    errors += diagnostic.getSeverity() == DiagnosticSeverity::Error;
    if (getenv("EFFC_FUZZ_VERBOSE"))
      llvm::errs() << diagnostic << "\n";
    return success();
  });
  auto module = effc::importOnnx(&ctx, llvm::MemoryBuffer::getMemBufferCopy(bytes, kModelPath));
  if (failed(module)) {
    if (errors == 0)
      abort(); // a failed import must say why
    return 0;
  }
  if (failed(verify(**module)))
    abort(); // the importer returned a module that does not verify
  std::string text;
  llvm::raw_string_ostream os(text);
  (*module)->print(os);
  if (getenv("EFFC_FUZZ_VERBOSE"))
    llvm::errs() << text << "\n";
  return 0;
}
