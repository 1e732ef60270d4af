//===- OutputError.cpp - compressed vs uncompressed outputs ----------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs the uncompressed and the compressed build of a model on the calibration inputs (a .npz holding one
// array per input, named after the inputs) with the effc runtime, and compares their first outputs.
//
//===----------------------------------------------------------------------===//

#include "OutputError.h"

#include "effc/runtime/api.h"
#include "effc/runtime/npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <memory>

using namespace mlir;

namespace effc {
namespace {

/// Owns a runtime status; converts it to a message.
bool failedWith(effc_status_t status, const llvm::Twine &context, std::string &error) {
  if (!status)
    return false;
  error = (context + ": " + effc_status_message(status)).str();
  effc_status_free(status);
  return true;
}

struct RuntimeDeleter {
  void operator()(effc_runtime_t *runtime) const { effc_runtime_release(runtime); }
};
struct ModuleDeleter {
  void operator()(effc_module_t *module) const { effc_module_release(module); }
};
struct TensorDeleter {
  void operator()(effc_tensor_t *tensor) const { effc_tensor_release(tensor); }
};
using TensorPtr = std::unique_ptr<effc_tensor_t, TensorDeleter>;

/// Runs `function` of the module at `path` on `inputs`; returns its first output.
FailureOr<TensorPtr> runFirstOutput(effc_runtime_t *runtime, llvm::StringRef path, llvm::StringRef function,
                                    effc_npz_entry_t *entries, size_t count, std::string &error) {
  effc_module_t *rawModule = nullptr;
  if (failedWith(effc_module_load(runtime, path.str().c_str(), &rawModule), "loading " + path, error))
    return failure();
  std::unique_ptr<effc_module_t, ModuleDeleter> module(rawModule);
  const effc_function_t *fn = nullptr;
  if (failedWith(effc_module_lookup_function(module.get(), function.str().c_str(), &fn), path, error))
    return failure();
  std::vector<const effc_tensor_t *> inputs;
  for (size_t i = 0; i < effc_function_num_inputs(fn); ++i) {
    llvm::StringRef name = effc_function_input(fn, i).name;
    auto *entry = llvm::find_if(llvm::make_range(entries, entries + count),
                                [&](const effc_npz_entry_t &e) { return name == e.name; });
    if (entry == entries + count) {
      std::vector<std::string> names;
      for (size_t k = 0; k < count; ++k)
        names.push_back(entries[k].name);
      error = ("the calibration data has no array '" + name + "' for input '" + name + "' of '" + function +
               "' (it has: " + llvm::join(names, ", ") + ")")
                  .str();
      return failure();
    }
    inputs.push_back(entry->tensor);
  }
  std::vector<effc_tensor_t *> outputs(effc_function_num_outputs(fn), nullptr);
  if (failedWith(effc_function_invoke(fn, inputs.data(), inputs.size(), outputs.data(), outputs.size()),
                 "running '" + function + "' on the calibration data", error))
    return failure();
  for (size_t i = 1; i < outputs.size(); ++i)
    effc_tensor_release(outputs[i]);
  if (outputs.empty()) {
    error = ("'" + function + "' has no outputs to compare").str();
    return failure();
  }
  return TensorPtr(outputs[0]);
}

} // namespace

FailureOr<OutputError> measureOutputError(llvm::StringRef baselinePath, llvm::StringRef compressedPath,
                                          llvm::StringRef calibrationPath, llvm::StringRef function,
                                          std::string &error) {
  effc_runtime_t *rawRuntime = nullptr;
  if (failedWith(effc_runtime_create(nullptr, &rawRuntime), "creating the runtime", error))
    return failure();
  std::unique_ptr<effc_runtime_t, RuntimeDeleter> runtime(rawRuntime);
  size_t count = 0;
  effc_npz_entry_t *entries = nullptr;
  if (failedWith(effc_npz_read(runtime.get(), calibrationPath.str().c_str(), &count, &entries),
                 "reading the calibration data", error))
    return failure();
  auto freeEntries = llvm::make_scope_exit([&] { effc_npz_free(entries, count); });

  FailureOr<TensorPtr> reference = runFirstOutput(runtime.get(), baselinePath, function, entries, count, error);
  if (failed(reference))
    return failure();
  FailureOr<TensorPtr> compressed = runFirstOutput(runtime.get(), compressedPath, function, entries, count, error);
  if (failed(compressed))
    return failure();
  effc_tensor_t *a = reference->get(), *b = compressed->get();
  llvm::ArrayRef<int64_t> shapeA(effc_tensor_dims(a), effc_tensor_rank(a));
  llvm::ArrayRef<int64_t> shapeB(effc_tensor_dims(b), effc_tensor_rank(b));
  if (effc_tensor_dtype(a) != EFFC_DTYPE_F32 || effc_tensor_dtype(b) != EFFC_DTYPE_F32 || shapeA != shapeB ||
      shapeA.empty()) {
    error = "the first outputs of the compressed and uncompressed models are not f32 tensors of one shape";
    return failure();
  }

  OutputError result;
  result.function = function.str();
  const float *x = static_cast<const float *>(effc_tensor_data(a));
  const float *y = static_cast<const float *>(effc_tensor_data(b));
  int64_t n = effc_tensor_num_elements(a), rowLength = shapeA.back();
  double dot = 0, normX = 0, normY = 0, sumAbs = 0;
  for (int64_t i = 0; i < n; ++i) {
    double diff = std::fabs(double(x[i]) - double(y[i]));
    result.maxAbs = std::max(result.maxAbs, diff);
    sumAbs += diff;
    dot += double(x[i]) * y[i];
    normX += double(x[i]) * x[i];
    normY += double(y[i]) * y[i];
  }
  result.meanAbs = n ? sumAbs / n : 0;
  result.cosine = normX > 0 && normY > 0 ? dot / std::sqrt(normX * normY) : 1.0;
  // KL(p || q) of the softmaxes of each row of the last dimension, averaged over rows.
  int64_t rows = rowLength ? n / rowLength : 0;
  double kl = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * rowLength, *yr = y + r * rowLength;
    double maxX = *std::max_element(xr, xr + rowLength), maxY = *std::max_element(yr, yr + rowLength);
    double sumX = 0, sumY = 0;
    for (int64_t j = 0; j < rowLength; ++j) {
      sumX += std::exp(xr[j] - maxX);
      sumY += std::exp(yr[j] - maxY);
    }
    double logZx = maxX + std::log(sumX), logZy = maxY + std::log(sumY);
    for (int64_t j = 0; j < rowLength; ++j) {
      double logP = xr[j] - logZx, logQ = yr[j] - logZy;
      kl += std::exp(logP) * (logP - logQ);
    }
  }
  result.klDivergence = rows ? kl / rows : 0;
  return result;
}

} // namespace effc
