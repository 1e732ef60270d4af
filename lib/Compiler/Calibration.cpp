//===- Calibration.cpp - running models on calibration data ---------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Runs compiled models on the calibration inputs with the effc runtime: an instrumented copy, whose probe
// outputs become `calibration.*` attributes, and the uncompressed and compressed builds, whose first outputs
// are compared.
//
//===----------------------------------------------------------------------===//

#include "Calibration.h"

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Dialect/Eff/Transforms/CalibrationProbes.h"

#include "effc/runtime/api.h"
#include "effc/runtime/npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <optional>
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

/// Runs `function` of the module at `path` on the calibration arrays; returns every output.
FailureOr<std::vector<TensorPtr>> runModule(effc_runtime_t *runtime, llvm::StringRef path, llvm::StringRef function,
                                            effc_npz_entry_t *entries, size_t count, std::string &error,
                                            std::string *firstOutputName = nullptr) {
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
  if (firstOutputName && effc_function_num_outputs(fn) > 0)
    *firstOutputName = effc_function_output(fn, 0).name;
  std::vector<effc_tensor_t *> raw(effc_function_num_outputs(fn), nullptr);
  if (failedWith(effc_function_invoke(fn, inputs.data(), inputs.size(), raw.data(), raw.size()),
                 "running '" + function + "' on the calibration data", error))
    return failure();
  std::vector<TensorPtr> outputs;
  for (effc_tensor_t *output : raw)
    outputs.emplace_back(output);
  return outputs;
}

/// A tensor's f32 data viewed as rows of its last dimension.
struct F32Rows {
  const float *data;
  int64_t rows, width;
};

std::optional<F32Rows> asRows(effc_tensor_t *tensor) {
  size_t rank = effc_tensor_rank(tensor);
  if (effc_tensor_dtype(tensor) != EFFC_DTYPE_F32 || rank == 0)
    return std::nullopt;
  int64_t width = effc_tensor_dims(tensor)[rank - 1];
  int64_t n = effc_tensor_num_elements(tensor);
  return F32Rows{static_cast<const float *>(effc_tensor_data(tensor)), width ? n / width : 0, width};
}

/// Per head: the mean over tokens of the L2 norm of the head's slice of the attention output.
Attribute headImportance(eff::AttentionOp attention, effc_tensor_t *output) {
  std::optional<F32Rows> rows = asRows(output);
  int64_t heads = attention.getNumHeads();
  if (!rows || heads <= 0 || rows->width % heads)
    return nullptr;
  int64_t headDim = rows->width / heads;
  std::vector<float> importance(heads, 0.0f);
  for (int64_t r = 0; r < rows->rows; ++r)
    for (int64_t h = 0; h < heads; ++h) {
      double sum = 0;
      for (int64_t d = 0; d < headDim; ++d) {
        double v = rows->data[r * rows->width + h * headDim + d];
        sum += v * v;
      }
      importance[h] += float(std::sqrt(sum) / std::max<int64_t>(rows->rows, 1));
    }
  return DenseF32ArrayAttr::get(attention.getContext(), importance);
}

/// Per expert: how many (token, choice) assignments the router made to it.
Attribute expertUsage(eff::RouterOp router, effc_tensor_t *indices) {
  if (effc_tensor_dtype(indices) != EFFC_DTYPE_I64)
    return nullptr;
  std::vector<int64_t> usage(router.getNumExperts(), 0);
  const int64_t *data = static_cast<const int64_t *>(effc_tensor_data(indices));
  for (int64_t i = 0, n = effc_tensor_num_elements(indices); i < n; ++i)
    if (data[i] >= 0 && data[i] < int64_t(usage.size()))
      ++usage[data[i]];
  return DenseI64ArrayAttr::get(router.getContext(), usage);
}

/// Per input channel: the root mean square over tokens; and the largest magnitude overall.
void inputStatistics(Operation *op, effc_tensor_t *input) {
  std::optional<F32Rows> rows = asRows(input);
  if (!rows)
    return;
  std::vector<double> squares(rows->width, 0.0);
  float absMax = 0;
  for (int64_t r = 0; r < rows->rows; ++r)
    for (int64_t c = 0; c < rows->width; ++c) {
      float v = rows->data[r * rows->width + c];
      squares[c] += double(v) * v;
      absMax = std::max(absMax, std::fabs(v));
    }
  std::vector<float> rms(rows->width);
  for (int64_t c = 0; c < rows->width; ++c)
    rms[c] = float(std::sqrt(squares[c] / std::max<int64_t>(rows->rows, 1)));
  Builder builder(op->getContext());
  op->setAttr(calibration::kInputRms, builder.getDenseF32ArrayAttr(rms));
  op->setAttr(calibration::kInputAbsMax, builder.getF32FloatAttr(absMax));
}

} // namespace

struct CalibrationData::Impl {
  ~Impl() { effc_npz_free(entries, count); }
  std::unique_ptr<effc_runtime_t, RuntimeDeleter> runtime;
  effc_npz_entry_t *entries = nullptr;
  size_t count = 0;
};

CalibrationData::CalibrationData() : impl(std::make_unique<Impl>()) {}
CalibrationData::~CalibrationData() = default;

FailureOr<std::unique_ptr<CalibrationData>> CalibrationData::read(llvm::StringRef path, std::string &error) {
  std::unique_ptr<CalibrationData> data(new CalibrationData());
  effc_runtime_t *runtime = nullptr;
  if (failedWith(effc_runtime_create(nullptr, &runtime), "creating the runtime", error))
    return failure();
  data->impl->runtime.reset(runtime);
  if (failedWith(effc_npz_read(runtime, path.str().c_str(), &data->impl->count, &data->impl->entries),
                 "reading the calibration data", error))
    return failure();
  return data;
}

LogicalResult CalibrationData::annotate(ModuleOp module, llvm::StringRef instrumentedPath, unsigned numOriginalResults,
                                        std::string &error) {
  func::FuncOp entry = calibrationEntryPoint(module);
  if (!entry)
    return success();
  SmallVector<CalibrationProbe> probes = collectCalibrationProbes(entry);
  SmallVector<Value> values = distinctProbeValues(probes);
  FailureOr<std::vector<TensorPtr>> outputs =
      runModule(impl->runtime.get(), instrumentedPath, entry.getName(), impl->entries, impl->count, error);
  if (failed(outputs))
    return failure();
  if (outputs->size() != numOriginalResults + values.size()) {
    error = "internal error: the instrumented model has " + std::to_string(outputs->size()) + " outputs, expected " +
            std::to_string(numOriginalResults + values.size());
    return failure();
  }
  llvm::DenseMap<Value, effc_tensor_t *> measured;
  for (auto [index, value] : llvm::enumerate(values))
    measured[value] = (*outputs)[numOriginalResults + index].get();
  for (const CalibrationProbe &probe : probes) {
    effc_tensor_t *tensor = measured.lookup(probe.value);
    if (auto attention = dyn_cast<eff::AttentionOp>(probe.op)) {
      if (Attribute importance = headImportance(attention, tensor))
        attention->setAttr(calibration::kHeadImportance, importance);
    } else if (auto router = dyn_cast<eff::RouterOp>(probe.op)) {
      if (Attribute usage = expertUsage(router, tensor))
        router->setAttr(calibration::kExpertUsage, usage);
    } else {
      inputStatistics(probe.op, tensor);
    }
  }
  return success();
}

FailureOr<OutputError> CalibrationData::measureOutputError(llvm::StringRef baselinePath, llvm::StringRef modulePath,
                                                           llvm::StringRef function, std::string &error) {
  effc_runtime_t *runtime = impl->runtime.get();
  std::string outputName;
  FailureOr<std::vector<TensorPtr>> referenceOutputs =
      runModule(runtime, baselinePath, function, impl->entries, impl->count, error, &outputName);
  if (failed(referenceOutputs))
    return failure();
  FailureOr<std::vector<TensorPtr>> compressedOutputs =
      runModule(runtime, modulePath, function, impl->entries, impl->count, error);
  if (failed(compressedOutputs))
    return failure();
  if (referenceOutputs->empty() || compressedOutputs->empty()) {
    error = ("'" + function + "' has no outputs to compare").str();
    return failure();
  }
  effc_tensor_t *a = referenceOutputs->front().get(), *b = compressedOutputs->front().get();
  llvm::ArrayRef<int64_t> shapeA(effc_tensor_dims(a), effc_tensor_rank(a));
  llvm::ArrayRef<int64_t> shapeB(effc_tensor_dims(b), effc_tensor_rank(b));
  if (effc_tensor_dtype(a) != EFFC_DTYPE_F32 || effc_tensor_dtype(b) != EFFC_DTYPE_F32 || shapeA != shapeB ||
      shapeA.empty()) {
    error = "the first outputs of the compressed and uncompressed models are not f32 tensors of one shape";
    return failure();
  }

  OutputError result;
  result.function = function.str();
  result.output = outputName;
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
