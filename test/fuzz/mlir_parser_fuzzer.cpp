//===- mlir_parser_fuzzer.cpp - fuzz parsing and verifying eff IR ---------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Parses arbitrary text as MLIR in a context with the dialects effc registers (eff and the upstream ones),
// which runs every op's verifier and the eff type inference; a module that verifies is printed in both the
// custom and the generic form (the eff printers) and its generic form parsed again. Diagnostics are
// expected; a crash or a sanitizer report is a finding. Debian's libMLIR is not instrumented, so coverage
// (and sanitizer checks) come from effc's own code: the eff dialect's parsers, printers, verifiers and
// type inference.
//
//===----------------------------------------------------------------------===//

#include "effc/InitAll.h"
#include "effc/Support/ResourceBlobs.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <memory>
#include <string>

using namespace mlir;

static MLIRContext &context() {
  static std::unique_ptr<MLIRContext> context = [] {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    effc::registerAllDialects(registry);
    auto created = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
    created->loadAllAvailableDialects();
    return created;
  }();
  return *context;
}

/// Prints `module` with `flags` into a string.
static std::string print(ModuleOp module, OpPrintingFlags flags) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, flags);
  return text;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &ctx = context();
  // Diagnostics are the expected outcome of most inputs: swallow them.
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  // MLIR's lexer reads up to a terminating NUL, as every buffer effc parses (a llvm::MemoryBuffer) has;
  // the fuzzer's bytes have none, so they are copied into a string that does.
  std::string source(reinterpret_cast<const char *>(data), size);
  // As effc::Compiler does: MLIR's parser aborts on a resource blob of alignment 0 (llvm-project#181266).
  if (effc::findZeroAlignedResourceBlob(source))
    return 0;
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, ParserConfig(&ctx), "fuzz");
  if (!module)
    return 0;
  // The parser verified the module; print what verified, then check that its generic form reads back.
  print(*module, OpPrintingFlags());
  std::string generic = print(*module, OpPrintingFlags().printGenericOpForm());
  if (!parseSourceString<ModuleOp>(generic, ParserConfig(&ctx), "generic"))
    abort(); // verified IR whose generic form does not parse or verify again
  return 0;
}
