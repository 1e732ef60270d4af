//===- Onnx.h - import ONNX models --------------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Imports an ONNX model (a ModelProto, opsets 13-17 of the default domain, with or without external data) into
// `eff` IR. The graph becomes `@main`, its inputs and outputs named with `eff.name`. Float initializers become
// `eff.parameter`s named after the initializer and the module's `eff.weights` names the .onnx file, so the
// weights stay in the (memory-mapped) model and its external data until eff-materialize-parameters reads them;
// small and integer initializers become constants.
//
// Shape computations (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as torch.onnx.export emits for dynamic
// axes) are folded while importing, symbolically where dimensions are dynamic. Common subgraphs are raised to
// eff ops: linear layers (MatMul/Gemm on an initializer, + bias), embeddings (Gather on an initializer), layer
// and RMS norms (LayerNormalization or the decomposed reductions), GELU (erf and tanh forms), SiLU and SwiGLU,
// and multi-head attention (Q/K/V -> Reshape -> Transpose [-> rotary] -> MatMul -> scale -> mask -> Softmax ->
// MatMul -> Transpose -> Reshape). Everything else maps op by op to eff, linalg, tensor and arith ops.
//
//   effc::importOnnx(context, "bert.onnx")  // -> module { func.func @main(%input_ids, %attention_mask) }
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_IMPORT_ONNX_H
#define EFFC_IMPORT_ONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace effc {

struct OnnxImportOptions {
  /// If set, receives one line per raised subgraph and, for each candidate that did not match, why.
  llvm::raw_ostream *raisingReport = nullptr;
  /// Graph inputs bound to constants at compile time: (input name, .npy file). A bound input is folded like an
  /// initializer and leaves @main's signature; the file's dtype must be the input's ONNX element type and its
  /// shape must fit the declared one. Inputs that fix a result's rank or shape (TopK's k; Squeeze, Unsqueeze and
  /// Reduce axes) must be bound: an ahead-of-time compiler needs them constant.
  std::vector<std::pair<std::string, std::string>> boundInputs;
};

/// Splits a `--bind-input` argument `NAME=FILE.npy` into (name, file); nullopt if either side is empty.
std::optional<std::pair<std::string, std::string>> parseInputBinding(llvm::StringRef binding);

/// True if `path` names an ONNX model file (`.onnx`).
bool isOnnxFile(llvm::StringRef path);

/// The ONNX operators (default domain) the importer maps.
llvm::ArrayRef<llvm::StringRef> supportedOnnxOps();

/// Imports the model at `path`. Errors (a truncated or corrupt file, an unsupported op or opset) are reported
/// to `context`'s diagnostic handler, at the failing node's location, and return failure.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> importOnnx(mlir::MLIRContext *context, llvm::StringRef path,
                                                            const OnnxImportOptions &options = {});

/// Imports the model in `buffer`; its identifier is the model's path (for locations, `eff.weights` and the
/// directory external data is resolved in).
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> importOnnx(mlir::MLIRContext *context,
                                                            std::unique_ptr<llvm::MemoryBuffer> buffer,
                                                            const OnnxImportOptions &options = {});

} // namespace effc

#endif // EFFC_IMPORT_ONNX_H
