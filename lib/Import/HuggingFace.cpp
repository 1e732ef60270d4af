//===- HuggingFace.cpp - import Hugging Face model folders -----------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The importer builds the same op structure as examples/models.py (known to match PyTorch): BERT as a post-LN
// encoder, GPT-2, Llama and Mixtral as pre-norm decoders with a prefill function and a decode function that
// extends a KV cache (the layout of examples/gpt_tiny.mlir), T5 and Switch Transformers as pre-norm
// encoder-decoders with one function over encoder and decoder inputs (no KV cache), whose relative position
// bias is one eff.relative_position_bias per stack fed to every block's attention. Weights are `eff.parameter`s named as in the
// checkpoint; layouts that differ from eff's `[N, K]` (GPT-2's Conv1D `[K, N]` and fused QKV, Mixtral's
// per-expert tensors) are read through the parameter's view attributes (transpose, row_offset, stack).
//
//===----------------------------------------------------------------------===//

#include "effc/Import/HuggingFace.h"

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Support/Safetensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>

using namespace mlir;
using namespace mlir::eff;
namespace json = llvm::json;

namespace effc {

llvm::ArrayRef<llvm::StringRef> supportedHuggingFaceArchitectures() {
  static const llvm::StringRef names[] = {"BertModel",
                                          "BertForSequenceClassification",
                                          "GPT2LMHeadModel",
                                          "LlamaForCausalLM",
                                          "MixtralForCausalLM",
                                          "T5Model",
                                          "T5ForConditionalGeneration",
                                          "T5EncoderModel",
                                          "SwitchTransformersForConditionalGeneration"};
  return names;
}

bool isHuggingFaceFolder(llvm::StringRef path) {
  SmallString<256> config(path);
  llvm::sys::path::append(config, "config.json");
  return llvm::sys::fs::is_directory(path) && llvm::sys::fs::exists(config);
}

namespace {

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// A model folder: its config.json and the tensors of its safetensors files (mapped, headers parsed). A PEFT
/// adapter folder is read the same way with `configName` "adapter_config.json".
class ModelFolder {
public:
  ModelFolder(MLIRContext *context, StringRef dir, StringRef configName = "config.json")
      : context(context), dir(dir.str()), configName(configName.str()) {
    SmallString<256> config(dir);
    llvm::sys::path::append(config, configName);
    configPath = std::string(config);
    loc = FileLineColLoc::get(context, configPath, 0, 0);
  }

  /// Reads config.json and opens the weights files; reports any error.
  LogicalResult open() {
    if (!llvm::sys::fs::is_directory(dir))
      return emitError(loc) << dir << " is not " << (configName == "config.json" ? "a model" : "an adapter")
                            << " folder (a directory with " << configName << " and *.safetensors)";
    auto text = llvm::MemoryBuffer::getFile(configPath);
    if (!text)
      return emitError(loc) << "cannot read " << configPath << ": " << text.getError().message()
                            << (configName == "config.json" ? " (a Hugging Face model folder needs config.json)"
                                                            : " (a PEFT adapter folder needs adapter_config.json)");
    llvm::Expected<json::Value> parsed = json::parse((*text)->getBuffer());
    if (!parsed)
      return emitError(loc) << configName << " is not valid JSON: " << llvm::toString(parsed.takeError());
    if (!parsed->getAsObject())
      return emitError(loc) << configName << " is not a JSON object";
    config = std::move(*parsed->getAsObject());
    return openWeights();
  }

  Location location() const { return loc; }
  MLIRContext *getContext() const { return context; }
  const json::Object &getConfig() const { return config; }
  /// The weights files relative to the folder, for the module's eff.weights.
  ArrayRef<std::string> weightsFiles() const { return fileNames; }
  StringRef directory() const { return dir; }
  /// Every tensor name in the weights files.
  std::vector<std::string> tensorNames() const {
    std::vector<std::string> names;
    for (const auto &entry : tensors)
      names.push_back(entry.getKey().str());
    llvm::sort(names);
    return names;
  }
  bool hasTensor(StringRef name) const { return tensors.count(name); }

  /// The tensor `name` if its shape is `shape`; else reports which tensor is missing or mis-shaped.
  FailureOr<const SafetensorsTensor *> tensor(StringRef name, ArrayRef<int64_t> shape) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      InFlightDiagnostic diag = emitError(loc) << "tensor '" << name << "' is missing from the weights (";
      llvm::interleaveComma(fileNames, diag);
      return diag << ")";
    }
    const auto &[tensor, file] = it->second;
    if (ArrayRef<int64_t>(tensor->shape) != shape)
      return emitError(loc) << "tensor '" << name << "' has shape " << formatShape(tensor->shape) << " in "
                            << fileNames[file] << ", but "
                            << (configName == "config.json" ? "config.json implies "
                                                            : "the model and " + configName + " imply ")
                            << formatShape(shape);
    if (tensor->dtype != "F32")
      return emitError(loc) << "tensor '" << name << "' is " << tensor->dtype << " in " << fileNames[file]
                            << "; the importer reads F32 checkpoints only";
    return tensor;
  }

private:
  LogicalResult openWeights() {
    SmallString<256> index(dir);
    llvm::sys::path::append(index, "model.safetensors.index.json");
    std::vector<std::string> names;
    if (llvm::sys::fs::exists(index)) {
      // Sharded: the index's weight_map names each tensor's shard.
      auto text = llvm::MemoryBuffer::getFile(index);
      llvm::Expected<json::Value> parsed =
          text ? json::parse((*text)->getBuffer()) : llvm::Expected<json::Value>(llvm::errorCodeToError(text.getError()));
      if (!parsed)
        return emitError(loc) << "cannot read model.safetensors.index.json: " << llvm::toString(parsed.takeError());
      const json::Object *weightMap = parsed->getAsObject() ? parsed->getAsObject()->getObject("weight_map") : nullptr;
      if (!weightMap)
        return emitError(loc) << "model.safetensors.index.json has no \"weight_map\" object";
      for (const auto &[tensor, file] : *weightMap) {
        std::optional<StringRef> name = file.getAsString();
        if (!name)
          return emitError(loc) << "model.safetensors.index.json maps '" << tensor.str() << "' to a non-string";
        if (!llvm::is_contained(names, *name))
          names.push_back(name->str());
      }
      llvm::sort(names);
    } else {
      std::error_code ec;
      for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
        if (llvm::sys::path::extension(it->path()) == ".safetensors")
          names.push_back(llvm::sys::path::filename(it->path()).str());
      llvm::sort(names);
    }
    if (names.empty())
      return emitError(loc) << "no *.safetensors weights in " << dir;
    for (const std::string &name : names) {
      SmallString<256> path(dir);
      llvm::sys::path::append(path, name);
      auto file = SafetensorsFile::open(path);
      if (!file)
        return emitError(loc) << llvm::toString(file.takeError());
      unsigned fileIndex = files.size();
      for (const std::string &tensorName : (*file)->names()) {
        auto [it, inserted] = tensors.try_emplace(tensorName, (*file)->lookup(tensorName), fileIndex);
        if (!inserted)
          return emitError(loc) << "tensor '" << tensorName << "' is in two weights files, "
                                << fileNames[it->second.second] << " and " << name;
      }
      files.push_back(std::move(*file));
      fileNames.push_back(name);
    }
    return success();
  }

  MLIRContext *context;
  std::string dir, configName, configPath;
  Location loc = UnknownLoc();
  json::Object config;
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::vector<std::string> fileNames;
  llvm::StringMap<std::pair<const SafetensorsTensor *, unsigned>> tensors;
};

/// Reads config.json fields with defaults; a missing required field or a wrong type is an error.
class Config {
public:
  Config(const ModelFolder &folder) : folder(folder), object(folder.getConfig()) {}

  int64_t integer(StringRef key, std::optional<int64_t> fallback = std::nullopt) {
    const json::Value *value = object.get(key);
    if (!value || value->kind() == json::Value::Null) {
      if (!fallback)
        return fail("config.json lacks the integer \"" + key + "\"");
      return *fallback;
    }
    std::optional<int64_t> result = jsonInteger(*value);
    if (!result || *result <= 0)
      return fail("config.json's \"" + key + "\" must be a positive integer");
    return *result;
  }

  double number(StringRef key, double fallback) {
    const json::Value *value = object.get(key);
    if (!value || value->kind() == json::Value::Null)
      return fallback;
    std::optional<double> result = value->getAsNumber();
    if (!result)
      return fail("config.json's \"" + key + "\" must be a number");
    return *result;
  }

  std::string string(StringRef key, StringRef fallback) {
    const json::Value *value = object.get(key);
    if (!value || value->kind() == json::Value::Null)
      return fallback.str();
    std::optional<StringRef> result = value->getAsString();
    if (!result)
      return fail("config.json's \"" + key + "\" must be a string"), fallback.str();
    return result->str();
  }

  bool boolean(StringRef key, bool fallback) {
    const json::Value *value = object.get(key);
    if (!value || value->kind() == json::Value::Null)
      return fallback;
    std::optional<bool> result = value->getAsBoolean();
    if (!result)
      return fail("config.json's \"" + key + "\" must be true or false");
    return *result;
  }

  /// Reports an error unless the config field `key` is absent or null (an unsupported feature).
  void unsupported(StringRef key, StringRef what) {
    const json::Value *value = object.get(key);
    if (value && value->kind() != json::Value::Null)
      reject(key, what);
  }

  /// Reports that the config's `key` asks for an unsupported feature.
  void reject(StringRef key, StringRef what) { fail("config.json sets \"" + key + "\": " + what + " is not supported"); }

  /// `divisor` divides `value` (e.g. heads divide the hidden size).
  void divides(StringRef divisorKey, int64_t divisor, StringRef valueKey, int64_t value) {
    if (!failed && value % divisor != 0)
      fail("config.json's \"" + valueKey + "\" (" + Twine(value) + ") is not a multiple of \"" + divisorKey +
           "\" (" + Twine(divisor) + ")");
  }

  /// The eff activation of a Hugging Face activation name.
  ActivationKind activation(StringRef key, StringRef fallback) {
    std::string name = string(key, fallback);
    return activationNamed(key, name, name);
  }

  /// The eff activation `name`, which the config's `key` names with `value` (e.g. "gated-gelu").
  ActivationKind activationNamed(StringRef key, StringRef value, StringRef name) {
    if (name == "gelu")
      return ActivationKind::gelu;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
      return ActivationKind::gelu_tanh;
    if (name == "relu")
      return ActivationKind::relu;
    if (name == "silu" || name == "swish")
      return ActivationKind::silu;
    if (name == "tanh")
      return ActivationKind::tanh;
    fail("config.json's \"" + key + "\" is \"" + value + "\"" +
         (value != name ? " (activation \"" + name + "\")" : Twine()) +
         "; supported: gelu, gelu_new, gelu_pytorch_tanh, relu, silu, tanh");
    return ActivationKind::gelu;
  }

  bool hasFailed() const { return failed; }

private:
  int64_t fail(const Twine &message) {
    if (!failed) // the first problem is the one to fix
      emitError(folder.location()) << message;
    failed = true;
    return 1;
  }

  const ModelFolder &folder;
  const json::Object &object;
  bool failed = false;
};

/// A PEFT adapter folder (adapter_config.json + adapter_model.safetensors): LoRA or (IA)^3 on the linear layers
/// named by "target_modules". A module matches a target as in PEFT: its name equals the target or ends with
/// "." + target; a string target is a regular expression the whole name must match.
class Adapter {
public:
  enum class Kind { Lora, Ia3 };

  /// `prefix` is prepended to the names of the adapter's parameters, so that several adapters (whose tensors
  /// all start with "base_model.model.") can be attached to one model: "" for the first, "adapter<i>." for the
  /// i-th after it (0-based).
  Adapter(MLIRContext *context, StringRef dir, std::string prefix)
      : folder(context, dir, "adapter_config.json"), prefix(std::move(prefix)) {}

  /// Reads adapter_config.json and the adapter weights; reports any error.
  LogicalResult open() {
    if (failed(folder.open()))
      return failure();
    Location loc = folder.location();
    const json::Object &config = folder.getConfig();
    std::optional<StringRef> type = config.getString("peft_type");
    if (!type)
      return emitError(loc) << "adapter_config.json lacks the string \"peft_type\"";
    if (*type == "LORA") {
      kind = Kind::Lora;
      std::optional<int64_t> r = config.getInteger("r");
      if (!r || *r <= 0)
        return emitError(loc) << "adapter_config.json's \"r\" must be a positive integer";
      rank = *r;
      const json::Value *alpha = config.get("lora_alpha");
      if (alpha && !alpha->getAsNumber())
        return emitError(loc) << "adapter_config.json's \"lora_alpha\" must be a number";
      loraAlpha = alpha ? *alpha->getAsNumber() : 8.0; // PEFT's default
      // rsLoRA scales by alpha / sqrt(r): eff.lora's alpha / rank with alpha' = alpha · sqrt(r).
      if (config.getBoolean("use_rslora").value_or(false))
        loraAlpha *= std::sqrt(static_cast<double>(rank));
      if (config.getBoolean("use_dora").value_or(false))
        return unsupported("use_dora", "DoRA (weight-decomposed LoRA)");
      if (std::optional<StringRef> bias = config.getString("bias"); bias && *bias != "none")
        return unsupported("bias", "trained biases (\"bias\" other than \"none\")");
      for (StringRef key : {"rank_pattern", "alpha_pattern"})
        if (const json::Object *pattern = config.getObject(key); pattern && !pattern->empty())
          return unsupported(key, "per-module ranks or alphas");
      // "fan_in_fan_out" (GPT-2's Conv1D) only says how the base weight is laid out; lora_A and lora_B are
      // [r, in] and [out, r] either way.
    } else if (*type == "IA3") {
      kind = Kind::Ia3;
    } else {
      return emitError(loc) << "adapter_config.json's \"peft_type\" is \"" << *type
                            << "\"; supported: LORA, IA3";
    }
    for (StringRef key : {"modules_to_save", "layers_to_transform"})
      if (const json::Value *value = config.get(key); value && value->kind() != json::Value::Null)
        return unsupported(key, key == "modules_to_save" ? "fully trained modules saved with the adapter"
                                                        : "adapting only some layers");
    if (failed(readTargets("target_modules", targets, targetPattern)) ||
        failed(readTargets("feedforward_modules", feedforward, feedforwardPattern)))
      return failure();
    if (targets.empty() && !targetPattern)
      return emitError(loc) << "adapter_config.json names no \"target_modules\"";
    matchedTargets.assign(targets.size(), false);
    return success();
  }

  Kind getKind() const { return kind; }
  int64_t getRank() const { return rank; }
  double getAlpha() const { return loraAlpha; }
  ModelFolder &getFolder() { return folder; }
  /// The prefix of the adapter's parameter names (see the constructor).
  StringRef getPrefix() const { return prefix; }

  /// The adapter's weights files, absolute so that the module's eff.weights finds them from the model's folder.
  std::vector<std::string> weightsPaths() const {
    std::vector<std::string> paths;
    for (const std::string &file : folder.weightsFiles()) {
      SmallString<256> path(folder.directory());
      llvm::sys::path::append(path, file);
      (void)llvm::sys::fs::make_absolute(path);
      llvm::sys::path::remove_dots(path, /*remove_dot_dot=*/true);
      paths.push_back(std::string(path));
    }
    return paths;
  }

  /// Whether the module `name` is adapted (and records which target it matched).
  bool adapts(StringRef name) {
    if (targetPattern) {
      bool match = targetPattern->match(name);
      matchedPattern |= match;
      return match;
    }
    bool any = false;
    for (auto [i, target] : llvm::enumerate(targets))
      if (matchesTarget(name, target))
        any = matchedTargets[i] = true;
    return any;
  }

  /// Whether the (IA)^3 vector of the module `name` scales its input (a feed-forward module), not its output.
  bool isFeedforward(StringRef name) const {
    if (feedforwardPattern)
      return feedforwardPattern->match(name);
    return llvm::any_of(feedforward, [&](const std::string &target) { return matchesTarget(name, target); });
  }

  /// The checkpoint name of the adapter tensor `suffix` (e.g. "lora_A.weight") of module `name`.
  std::string tensorName(StringRef name, StringRef suffix) {
    std::string full = ("base_model.model." + name + "." + suffix).str();
    used.insert(full);
    return full;
  }

  /// After the import: every target matched a module and every adapter tensor was used.
  LogicalResult checkComplete(StringRef architecture) {
    Location loc = folder.location();
    if (targetPattern && !matchedPattern)
      return emitError(loc) << "adapter_config.json's \"target_modules\" pattern matches no linear layer of "
                            << architecture << " that adapters attach to";
    for (auto [target, matched] : llvm::zip(targets, matchedTargets))
      if (!matched)
        return emitError(loc) << "adapter_config.json's target module '" << target << "' matches no linear layer of "
                              << architecture << " that adapters attach to";
    for (const std::string &name : folder.tensorNames())
      if (!used.contains(name))
        return emitError(loc) << "tensor '" << name << "' of the adapter belongs to no adapted module";
    return success();
  }

private:
  static bool matchesTarget(StringRef name, StringRef target) {
    return name == target || (name.ends_with(target) && name.drop_back(target.size()).ends_with("."));
  }

  LogicalResult unsupported(StringRef key, StringRef what) {
    return emitError(folder.location()) << "adapter_config.json sets \"" << key << "\": " << what
                                        << " is not supported";
  }

  /// A list of module names, or a string: a regular expression matched against whole module names.
  LogicalResult readTargets(StringRef key, std::vector<std::string> &names, std::optional<llvm::Regex> &pattern) {
    const json::Value *value = folder.getConfig().get(key);
    if (!value || value->kind() == json::Value::Null)
      return success();
    if (std::optional<StringRef> regex = value->getAsString()) {
      pattern.emplace(("^(" + *regex + ")$").str());
      std::string error;
      if (!pattern->isValid(error))
        return emitError(folder.location()) << "adapter_config.json's \"" << key << "\" is not a valid regular "
                                            << "expression: " << error;
      return success();
    }
    const json::Array *array = value->getAsArray();
    if (!array)
      return emitError(folder.location()) << "adapter_config.json's \"" << key
                                          << "\" must be a list of module names or a regular expression";
    for (const json::Value &element : *array) {
      std::optional<StringRef> name = element.getAsString();
      if (!name)
        return emitError(folder.location()) << "adapter_config.json's \"" << key << "\" has a non-string entry";
      names.push_back(name->str());
    }
    return success();
  }

  ModelFolder folder;
  std::string prefix;
  Kind kind = Kind::Lora;
  int64_t rank = 0;
  double loraAlpha = 0;
  std::vector<std::string> targets, feedforward;
  std::optional<llvm::Regex> targetPattern, feedforwardPattern;
  std::vector<bool> matchedTargets;
  bool matchedPattern = false;
  llvm::StringSet<> used;
};

/// Builds eff IR with parameters checked against the folder's tensors.
class Builder {
public:
  Builder(ModelFolder &folder, ModuleOp module, ArrayRef<Adapter *> adapters)
      : folder(folder), adapters(adapters), builder(module.getBodyRegion()), loc(folder.location()) {
    builder.setInsertionPointToEnd(module.getBody());
  }

  OpBuilder &b() { return builder; }
  MLIRContext *getContext() { return builder.getContext(); }
  Location location() const { return loc; }
  bool hasFailed() const { return failed; }

  RankedTensorType f32(ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, builder.getF32Type()); }
  RankedTensorType i64(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getIntegerType(64));
  }

  /// `eff.parameter "name"` of shape `shape`, checked against the weights (an error leaves a placeholder so
  /// that building continues; the caller checks hasFailed()).
  Value param(StringRef name, ArrayRef<int64_t> shape) { return view(name, shape, shape, false, std::nullopt); }

  /// A parameter read through a view: the stored tensor has shape `stored`; transposed if `transpose`; rows
  /// from `rowOffset`.
  Value view(StringRef name, ArrayRef<int64_t> stored, ArrayRef<int64_t> shape, bool transpose,
             std::optional<int64_t> rowOffset) {
    check(folder, name, stored);
    return ParameterOp::create(builder, loc, f32(shape), name, /*stack=*/nullptr, transpose,
                               rowOffset ? builder.getI64IntegerAttr(*rowOffset) : nullptr);
  }

  /// The tensors `names` (each of shape `part`) stacked along a new leading dimension, named `name`.
  Value stack(StringRef name, ArrayRef<std::string> names, ArrayRef<int64_t> part) {
    SmallVector<Attribute> parts;
    for (const std::string &partName : names) {
      check(folder, partName, part);
      parts.push_back(builder.getStringAttr(partName));
    }
    SmallVector<int64_t> shape{static_cast<int64_t>(names.size())};
    shape.append(part.begin(), part.end());
    return ParameterOp::create(builder, loc, f32(shape), name, builder.getArrayAttr(parts), false, nullptr);
  }

  /// A parameter if the checkpoint has it, else null (optional biases).
  Value optionalParam(StringRef name, ArrayRef<int64_t> shape) {
    return folder.hasTensor(name) ? param(name, shape) : Value();
  }

  /// The vector `name` (shape [n]) multiplied by `factor`, as an inline constant: for folding a scalar
  /// scale into a norm's gamma.
  Value scaledVector(StringRef name, int64_t n, double factor) {
    FailureOr<const SafetensorsTensor *> tensor = folder.tensor(name, {n});
    if (::mlir::failed(tensor)) {
      failed = true;
      return ParameterOp::create(builder, loc, f32({n}), name, nullptr, false, nullptr);
    }
    SmallVector<float> values(n);
    std::memcpy(values.data(), (*tensor)->data.data(), n * sizeof(float));
    for (float &v : values)
      v = static_cast<float>(v * factor);
    return arith::ConstantOp::create(builder, loc, DenseElementsAttr::get(f32({n}), ArrayRef<float>(values)));
  }

  bool hasTensor(StringRef name) const { return folder.hasTensor(name); }

  /// Creates `@name(inputs) -> ...` and positions the builder in its body; results are set by `ret`.
  func::FuncOp function(StringRef name, ArrayRef<std::pair<StringRef, Type>> inputs) {
    SmallVector<Type> types;
    for (const auto &input : inputs)
      types.push_back(input.second);
    auto fn = func::FuncOp::create(builder, loc, name, builder.getFunctionType(types, {}));
    Block *entry = fn.addEntryBlock();
    for (auto [i, input] : llvm::enumerate(inputs))
      fn.setArgAttr(i, "eff.name", builder.getStringAttr(input.first));
    moduleInsertion = builder.saveInsertionPoint();
    builder.setInsertionPointToStart(entry);
    return fn;
  }

  /// Returns `values` named `names` from `fn` and leaves its body.
  void ret(func::FuncOp fn, ValueRange values, ArrayRef<std::string> names) {
    func::ReturnOp::create(builder, loc, values);
    fn.setFunctionType(builder.getFunctionType(fn.getArgumentTypes(), values.getTypes()));
    for (auto [i, name] : llvm::enumerate(names))
      fn.setResultAttr(i, "eff.name", builder.getStringAttr(name));
    builder.restoreInsertionPoint(moduleInsertion);
  }

  /// `eff.layer index (inputs)`: `body` gets the block arguments and returns the values to yield, which
  /// become the layer's results.
  SmallVector<Value> layer(int64_t index, ValueRange inputs,
                           llvm::function_ref<SmallVector<Value>(ValueRange)> body) {
    auto *bodyBlock = new Block();
    for (Value input : inputs)
      bodyBlock->addArgument(input.getType(), loc);
    SmallVector<Value> yielded;
    {
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPointToStart(bodyBlock);
      yielded = body(bodyBlock->getArguments());
      YieldOp::create(builder, loc, yielded);
    }
    auto op = LayerOp::create(builder, loc, ValueRange(yielded).getTypes(), index, inputs);
    op.getBody().push_back(bodyBlock);
    return SmallVector<Value>(op.getResults());
  }

  // Op shorthands at the importer's location.
  Value linear(Value x, Value weight, Value bias = {}) { return LinearOp::create(builder, loc, x, weight, bias); }
  Value add(Value lhs, Value rhs) { return AddOp::create(builder, loc, lhs, rhs); }
  Value layerNorm(Value x, Value gamma, Value beta, double epsilon) {
    return LayerNormOp::create(builder, loc, x, gamma, beta, builder.getF32FloatAttr(epsilon));
  }
  Value rmsNorm(Value x, Value gamma, double epsilon) {
    return RmsNormOp::create(builder, loc, x, gamma, builder.getF32FloatAttr(epsilon));
  }
  Value embedding(EmbeddingKind kind, Value table, Value ids) {
    return EmbeddingOp::create(builder, loc, kind, table, ids);
  }
  Value positionIds(Value ids, Value offset = {}) { return PositionIdsOp::create(builder, loc, ids, offset); }
  Value rotary(Value x, Value positions, int64_t heads, double theta) {
    return RotaryOp::create(builder, loc, x, positions, builder.getI64IntegerAttr(heads),
                            builder.getF32FloatAttr(theta), /*rotary_dim=*/nullptr);
  }
  Value ffn(Value x, Value up, Value upBias, Value gate, Value down, Value downBias, ActivationKind activation) {
    return FfnOp::create(builder, loc, x, up, upBias, gate, down, downBias, activation);
  }
  /// `tensor.dim` of `value`'s dimension `dim`.
  Value dim(Value value, int64_t dim) {
    return tensor::DimOp::create(builder, loc, value, arith::ConstantIndexOp::create(builder, loc, dim));
  }
  /// T5's relative position bias [1, H, S, L] from a [buckets, H] table.
  Value relativePositionBias(Value table, Value queryLength, Value keyLength, int64_t maxDistance,
                             bool bidirectional) {
    return RelativePositionBiasOp::create(builder, loc, table, queryLength, keyLength,
                                          builder.getI64IntegerAttr(maxDistance),
                                          bidirectional ? builder.getUnitAttr() : nullptr);
  }
  /// Multi-head attention with an additive bias and an explicit scale (no KV cache).
  Value biasedAttention(Value q, Value k, Value v, Value mask, Value bias, int64_t heads, double scale,
                        bool causal) {
    return AttentionOp::create(builder, loc, q, k, v, mask, bias, /*head_mask=*/Value(), Value(), Value(),
                               builder.getI64IntegerAttr(heads), nullptr, builder.getF32FloatAttr(scale),
                               causal ? builder.getUnitAttr() : nullptr)
        .getOutput();
  }
  /// Multi-head attention; with a past (decode) also returns the presents, else the key and value themselves.
  std::array<Value, 3> attention(Value q, Value k, Value v, Value mask, Value pastKey, Value pastValue,
                                 int64_t heads, int64_t kvHeads, bool causal) {
    auto op = AttentionOp::create(builder, loc, q, k, v, mask, /*head_mask=*/Value(), pastKey, pastValue,
                                  builder.getI64IntegerAttr(heads),
                                  kvHeads != heads ? builder.getI64IntegerAttr(kvHeads) : nullptr,
                                  /*scale=*/nullptr, causal ? builder.getUnitAttr() : nullptr);
    if (pastKey)
      return {op.getOutput(), op.getPresent()[0], op.getPresent()[1]};
    return {op.getOutput(), k, v};
  }

  /// The linear layer `module` (its checkpoint name without ".weight") on `x`, with the LoRA or (IA)^3 of every
  /// adapter that targets it, in the order the adapters were given: (IA)^3 vectors of a feed-forward module scale
  /// the input the linear reads (and the LoRAs read), the others wrap its output one after the other, so two
  /// LoRAs add both updates. `weight` [N, K] may be rows [rowOffset, rowOffset + N) of a fused layer with
  /// `totalRows` outputs (GPT-2's c_attn); the adapters' output-side tensors are sliced alike. `role` is what an
  /// (IA)^3 vector on the output rescales.
  Value projection(StringRef module, Value x, Value weight, Value bias, Ia3Target role = Ia3Target::key,
                   int64_t rowOffset = 0, std::optional<int64_t> totalRows = std::nullopt) {
    SmallVector<Adapter *> active;
    for (Adapter *adapter : adapters)
      if (adapter->adapts(module))
        active.push_back(adapter);
    if (active.empty())
      return linear(x, weight, bias);
    auto weightType = cast<RankedTensorType>(weight.getType());
    int64_t n = weightType.getDimSize(0), k = weightType.getDimSize(1), total = totalRows.value_or(n);
    // (IA)^3: PEFT stores a feed-forward module's vector as [1, K] (it scales the input), others as [N, 1].
    Value input = x;
    for (Adapter *adapter : active)
      if (adapter->getKind() == Adapter::Kind::Ia3 && adapter->isFeedforward(module))
        input = Ia3Op::create(builder, loc, Ia3Target::ffn, input, adapterVector(*adapter, module, {1, k}, 0, k));
    // The adapters' tensors (LoRA: A and B; an output (IA)^3 vector) come before the linear that they adapt.
    SmallVector<std::pair<Value, Value>> tensors;
    for (Adapter *adapter : active) {
      if (adapter->getKind() == Adapter::Kind::Lora) {
        int64_t r = adapter->getRank();
        tensors.emplace_back(
            adapterParam(*adapter, adapter->tensorName(module, "lora_A.weight"), {r, k}, {r, k}, 0),
            adapterParam(*adapter, adapter->tensorName(module, "lora_B.weight"), {total, r}, {n, r}, rowOffset));
      } else if (!adapter->isFeedforward(module)) {
        tensors.emplace_back(adapterVector(*adapter, module, {total, 1}, rowOffset, n), Value());
      } else {
        tensors.emplace_back(); // applied to the input above
      }
    }
    Value y = linear(input, weight, bias);
    for (auto [adapter, operands] : llvm::zip(active, tensors)) {
      auto [first, second] = operands;
      if (adapter->getKind() == Adapter::Kind::Lora)
        y = LoraOp::create(builder, loc, y, input, first, second, builder.getI64IntegerAttr(adapter->getRank()),
                           builder.getF32FloatAttr(adapter->getAlpha()));
      else if (first)
        y = Ia3Op::create(builder, loc, role, y, first);
    }
    return y;
  }

  /// A feed-forward network: one eff.ffn, or, when an adapter targets one of its projections (`up`, the
  /// optional `gate`, `down`: module names with their weights and biases), the projections with the
  /// activation between them, so that the adapters can attach.
  Value feedForward(Value x, StringRef upName, Value up, Value upBias, StringRef gateName, Value gate,
                    StringRef downName, Value down, Value downBias, ActivationKind activation) {
    bool adapted = llvm::any_of(adapters, [&](Adapter *adapter) {
      return adapter->adapts(upName) || (gate && adapter->adapts(gateName)) || adapter->adapts(downName);
    });
    if (!adapted)
      return ffn(x, up, upBias, gate, down, downBias, activation);
    Value h = projection(upName, x, up, upBias);
    if (gate)
      h = GluOp::create(builder, loc, activation, projection(gateName, x, gate, {}), h);
    else
      h = ActivationOp::create(builder, loc, activation, h);
    return projection(downName, h, down, downBias);
  }

private:
  void check(ModelFolder &source, StringRef name, ArrayRef<int64_t> shape) {
    if (failed)
      return;
    failed = ::mlir::failed(source.tensor(name, shape));
  }

  /// The tensor `name` of `adapter` (stored as `stored`), rows [rowOffset, rowOffset + shape[0]) when they
  /// differ; the parameter's name carries the adapter's prefix.
  Value adapterParam(Adapter &adapter, StringRef name, ArrayRef<int64_t> stored, ArrayRef<int64_t> shape,
                     int64_t rowOffset) {
    check(adapter.getFolder(), name, stored);
    bool sliced = stored[0] != shape[0];
    return ParameterOp::create(builder, loc, f32(shape), (adapter.getPrefix() + name).str(), /*stack=*/nullptr,
                               /*transpose=*/false,
                               sliced ? builder.getI64IntegerAttr(rowOffset) : nullptr);
  }

  /// Elements [offset, offset + n) of module `module`'s (IA)^3 vector in `adapter` (stored as `stored`: [N, 1] or
  /// [1, K]) as an inline constant [n]: PEFT names it "<module>.ia3_l" (older files: "<module>.ia3_l.weight").
  Value adapterVector(Adapter &adapter, StringRef module, ArrayRef<int64_t> stored, int64_t offset, int64_t n) {
    ModelFolder &source = adapter.getFolder();
    std::string plain = ("base_model.model." + module + ".ia3_l").str();
    bool legacy = !source.hasTensor(plain) && source.hasTensor(plain + ".weight");
    std::string name = adapter.tensorName(module, legacy ? "ia3_l.weight" : "ia3_l");
    SmallVector<float> values(n, 1.0f);
    FailureOr<const SafetensorsTensor *> tensor = failed ? FailureOr<const SafetensorsTensor *>(::mlir::failure())
                                                         : source.tensor(name, stored);
    if (::mlir::failed(tensor))
      failed = true;
    else
      std::memcpy(values.data(), (*tensor)->data.data() + offset * sizeof(float), n * sizeof(float));
    return arith::ConstantOp::create(builder, loc, DenseElementsAttr::get(f32({n}), ArrayRef<float>(values)));
  }

  ModelFolder &folder;
  SmallVector<Adapter *> adapters;
  OpBuilder builder;
  Location loc;
  OpBuilder::InsertPoint moduleInsertion;
  bool failed = false;
};


//===----------------------------------------------------------------------===//
// Decoders: prefill and decode with a KV cache
//===----------------------------------------------------------------------===//

/// What differs between decoder families; the functions share their structure (examples/gpt_tiny.mlir).
struct Decoder {
  int64_t layers = 0, kvDim = 0;
  /// Whether blocks need the token positions (rotary embeddings) as a layer input.
  bool blocksUsePositions = false;
  /// The embedded tokens.
  std::function<Value(Value ids, Value positions)> embed;
  /// Block `i` on `x`; returns (x, key, value) where key and value are the cache entries (with a past: the
  /// presents).
  std::function<std::array<Value, 3>(int64_t i, Value x, Value positions, Value pastKey, Value pastValue)> block;
  /// Final norm and LM head: the logits.
  std::function<Value(Value h)> head;
};

void buildDecoder(Builder &b, const Decoder &decoder) {
  Location loc = b.location();
  std::vector<std::string> names = {"logits"};
  for (int64_t i = 0; i < decoder.layers; ++i)
    for (StringRef kind : {"key", "value"})
      names.push_back(("present_" + kind + "_" + Twine(i)).str());

  auto layers = [&](Value h, Value positions, ArrayRef<Value> past, SmallVector<Value> &presents) {
    for (int64_t i = 0; i < decoder.layers; ++i) {
      SmallVector<Value> inputs{h};
      if (decoder.blocksUsePositions)
        inputs.push_back(positions);
      if (!past.empty())
        inputs.append({past[2 * i], past[2 * i + 1]});
      SmallVector<Value> results = b.layer(i, inputs, [&](ValueRange args) {
        Value pos = decoder.blocksUsePositions ? args[1] : Value();
        Value pastKey = past.empty() ? Value() : args[args.size() - 2];
        Value pastValue = past.empty() ? Value() : args[args.size() - 1];
        auto [x, key, value] = decoder.block(i, args[0], pos, pastKey, pastValue);
        return SmallVector<Value>{x, key, value};
      });
      h = results[0];
      presents.append({results[1], results[2]});
    }
    return h;
  };

  // prefill: the whole prompt; the keys and values of every layer are the cache.
  {
    func::FuncOp fn = b.function("prefill", {{"input_ids", b.i64({ShapedType::kDynamic, ShapedType::kDynamic})}});
    Value ids = fn.getArgument(0);
    Value positions = b.positionIds(ids);
    SmallVector<Value> results{Value()};
    Value h = layers(decoder.embed(ids, positions), positions, {}, results);
    results[0] = decoder.head(h);
    b.ret(fn, results, names);
  }
  // decode: one new token per sequence at position past_length, attending to the cache.
  {
    std::vector<std::pair<StringRef, Type>> inputs = {{"input_ids", b.i64({ShapedType::kDynamic, 1})}};
    std::vector<std::string> pastNames;
    for (int64_t i = 0; i < decoder.layers; ++i)
      for (StringRef kind : {"key", "value"})
        pastNames.push_back(("past_" + kind + "_" + Twine(i)).str());
    for (const std::string &name : pastNames)
      inputs.push_back({name, b.f32({ShapedType::kDynamic, ShapedType::kDynamic, decoder.kvDim})});
    func::FuncOp fn = b.function("decode", inputs);
    Value ids = fn.getArgument(0);
    SmallVector<Value> past(fn.getArguments().drop_front());
    Value one = arith::ConstantIndexOp::create(b.b(), loc, 1);
    Value pastLength = tensor::DimOp::create(b.b(), loc, past[0], one);
    Value positions = b.positionIds(ids, pastLength);
    SmallVector<Value> results{Value()};
    Value h = layers(decoder.embed(ids, positions), positions, past, results);
    results[0] = decoder.head(h);
    b.ret(fn, results, names);
  }
}

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

/// The number of labels of a classifier: config.json's "num_labels", else the size of its "id2label" (what
/// Hugging Face saves), else 2 (its default).
int64_t numLabelsOf(Config &config, const json::Object &object) {
  if (object.get("num_labels"))
    return config.integer("num_labels");
  if (const json::Object *labels = object.getObject("id2label"))
    return labels->size();
  return 2;
}

/// BertModel: post-LN encoder with token, position and segment embeddings and a padding mask.
/// BertForSequenceClassification (`numLabels` > 0) adds the pooler, tanh(dense(h[:, 0])), and the classifier.
void importBert(Builder &b, Config &config, StringRef prefix, int64_t numLabels) {
  int64_t vocab = config.integer("vocab_size"), d = config.integer("hidden_size");
  int64_t layers = config.integer("num_hidden_layers"), heads = config.integer("num_attention_heads");
  int64_t ffnDim = config.integer("intermediate_size", 4 * d);
  int64_t positions = config.integer("max_position_embeddings"), types = config.integer("type_vocab_size", 2);
  double eps = config.number("layer_norm_eps", 1e-12);
  ActivationKind act = config.activation("hidden_act", "gelu");
  if (config.string("position_embedding_type", "absolute") != "absolute")
    config.reject("position_embedding_type", "a position embedding type other than \"absolute\"");
  config.divides("num_attention_heads", heads, "hidden_size", d);
  if (config.hasFailed())
    return;

  auto P = [&](const Twine &name, ArrayRef<int64_t> shape) { return b.param((prefix + name).str(), shape); };
  auto dyn = ShapedType::kDynamic;
  func::FuncOp fn = b.function("main", {{"input_ids", b.i64({dyn, dyn})},
                                        {"attention_mask", b.i64({dyn, dyn})},
                                        {"token_type_ids", b.i64({dyn, dyn})}});
  Value ids = fn.getArgument(0), mask = fn.getArgument(1), typeIds = fn.getArgument(2);
  Value e = b.embedding(EmbeddingKind::token, P("embeddings.word_embeddings.weight", {vocab, d}), ids);
  Value pos = b.positionIds(ids);
  e = b.add(e, b.embedding(EmbeddingKind::position, P("embeddings.position_embeddings.weight", {positions, d}), pos));
  e = b.add(e, b.embedding(EmbeddingKind::segment, P("embeddings.token_type_embeddings.weight", {types, d}), typeIds));
  Value h = b.layerNorm(e, P("embeddings.LayerNorm.weight", {d}), P("embeddings.LayerNorm.bias", {d}), eps);
  for (int64_t i = 0; i < layers; ++i) {
    std::string p = "encoder.layer." + std::to_string(i) + ".";
    h = b.layer(i, {h, mask}, [&](ValueRange args) {
      Value x = args[0], mk = args[1];
      auto proj = [&](const std::string &name, Value in, Ia3Target role = Ia3Target::key) {
        return b.projection((prefix + p + name).str(), in, P(p + name + ".weight", {d, d}),
                            P(p + name + ".bias", {d}), role);
      };
      Value q = proj("attention.self.query", x), k = proj("attention.self.key", x);
      Value v = proj("attention.self.value", x, Ia3Target::value);
      Value a = b.attention(q, k, v, mk, {}, {}, heads, heads, /*causal=*/false)[0];
      a = proj("attention.output.dense", a);
      x = b.layerNorm(b.add(x, a), P(p + "attention.output.LayerNorm.weight", {d}),
                      P(p + "attention.output.LayerNorm.bias", {d}), eps);
      Value f = b.feedForward(x, (prefix + p + "intermediate.dense").str(),
                              P(p + "intermediate.dense.weight", {ffnDim, d}), P(p + "intermediate.dense.bias", {ffnDim}),
                              "", {}, (prefix + p + "output.dense").str(), P(p + "output.dense.weight", {d, ffnDim}),
                              P(p + "output.dense.bias", {d}), act);
      x = b.layerNorm(b.add(x, f), P(p + "output.LayerNorm.weight", {d}), P(p + "output.LayerNorm.bias", {d}), eps);
      return SmallVector<Value>{x};
    })[0];
  }
  if (numLabels == 0)
    return b.ret(fn, {h}, {"last_hidden_state"});

  // The first token of each sequence, [B, D] (a rank-reducing slice of [B, 1, D]).
  OpBuilder &ob = b.b();
  Location loc = b.location();
  SmallVector<OpFoldResult> offsets(3, ob.getIndexAttr(0)), strides(3, ob.getIndexAttr(1));
  SmallVector<OpFoldResult> sizes = {OpFoldResult(b.dim(h, 0)), ob.getIndexAttr(1), ob.getIndexAttr(d)};
  Value first = tensor::ExtractSliceOp::create(ob, loc, b.f32({dyn, d}), h, offsets, sizes, strides);
  Value pooled = b.linear(first, P("pooler.dense.weight", {d, d}), P("pooler.dense.bias", {d}));
  pooled = ActivationOp::create(ob, loc, ActivationKind::tanh, pooled);
  Value logits = b.linear(pooled, b.param("classifier.weight", {numLabels, d}), b.param("classifier.bias", {numLabels}));
  b.ret(fn, {logits}, {"logits"});
}

/// GPT2LMHeadModel: pre-LN decoder with learned positions and a tied LM head. Its Conv1D weights are stored
/// [in, out] and the query, key and value projections fused into c_attn: read through transposed views.
void importGpt2(Builder &b, Config &config, StringRef prefix, bool hasLmHead) {
  int64_t vocab = config.integer("vocab_size"), d = config.integer("n_embd");
  int64_t layers = config.integer("n_layer"), heads = config.integer("n_head");
  int64_t positions = config.integer("n_positions"), ffnDim = config.integer("n_inner", 4 * d);
  double eps = config.number("layer_norm_epsilon", 1e-5);
  ActivationKind act = config.activation("activation_function", "gelu_new");
  config.divides("n_head", heads, "n_embd", d);
  if (!config.boolean("scale_attn_weights", true))
    config.reject("scale_attn_weights", "attention without 1/sqrt(head_dim) scaling");
  if (config.boolean("scale_attn_by_inverse_layer_idx", false))
    config.reject("scale_attn_by_inverse_layer_idx", "scaling attention by the inverse layer index");
  if (config.hasFailed())
    return;

  auto name = [&](const Twine &n) { return (prefix + n).str(); };
  // A Conv1D weight [k, n] read as an [n, k] linear weight, from row `offset` of its transpose.
  auto conv = [&](const std::string &p, int64_t k, int64_t total, int64_t n, int64_t offset) {
    Value w = b.view(p + ".weight", {k, total}, {n, k}, /*transpose=*/true,
                     total != n ? std::optional<int64_t>(offset) : std::nullopt);
    Value bias = b.view(p + ".bias", {total}, {n}, false, total != n ? std::optional<int64_t>(offset) : std::nullopt);
    return std::make_pair(w, bias);
  };
  Decoder decoder;
  decoder.layers = layers;
  decoder.kvDim = d;
  decoder.embed = [&](Value ids, Value pos) {
    Value tokens = b.embedding(EmbeddingKind::token, b.param(name("wte.weight"), {vocab, d}), ids);
    return b.add(tokens, b.embedding(EmbeddingKind::position, b.param(name("wpe.weight"), {positions, d}), pos));
  };
  decoder.block = [&](int64_t i, Value x, Value, Value pastKey, Value pastValue) -> std::array<Value, 3> {
    std::string p = name("h." + Twine(i) + ".");
    Value n = b.layerNorm(x, b.param(p + "ln_1.weight", {d}), b.param(p + "ln_1.bias", {d}), eps);
    Value qkv[3];
    for (int part = 0; part < 3; ++part) {
      auto [w, bias] = conv(p + "attn.c_attn", d, 3 * d, d, part * d);
      qkv[part] = b.projection(p + "attn.c_attn", n, w, bias, part == 2 ? Ia3Target::value : Ia3Target::key,
                               part * d, 3 * d);
    }
    auto [a, key, value] = b.attention(qkv[0], qkv[1], qkv[2], {}, pastKey, pastValue, heads, heads, true);
    auto [ow, ob] = conv(p + "attn.c_proj", d, d, d, 0);
    x = b.add(x, b.projection(p + "attn.c_proj", a, ow, ob));
    n = b.layerNorm(x, b.param(p + "ln_2.weight", {d}), b.param(p + "ln_2.bias", {d}), eps);
    auto [upW, upB] = conv(p + "mlp.c_fc", d, ffnDim, ffnDim, 0);
    auto [downW, downB] = conv(p + "mlp.c_proj", ffnDim, d, d, 0);
    return {b.add(x, b.feedForward(n, p + "mlp.c_fc", upW, upB, "", {}, p + "mlp.c_proj", downW, downB, act)), key,
            value};
  };
  decoder.head = [&](Value h) {
    h = b.layerNorm(h, b.param(name("ln_f.weight"), {d}), b.param(name("ln_f.bias"), {d}), eps);
    // Tied with the token embeddings unless the checkpoint has its own head.
    return b.linear(h, hasLmHead ? b.param("lm_head.weight", {vocab, d}) : b.param(name("wte.weight"), {vocab, d}));
  };
  buildDecoder(b, decoder);
}

/// LlamaForCausalLM and MixtralForCausalLM: RMSNorm, rotary positions, grouped-query attention, and a SwiGLU
/// FFN (Llama) or top-k routed SwiGLU experts (Mixtral).
void importLlama(Builder &b, Config &config, bool mixtral) {
  int64_t vocab = config.integer("vocab_size"), d = config.integer("hidden_size");
  int64_t layers = config.integer("num_hidden_layers"), heads = config.integer("num_attention_heads");
  int64_t kvHeads = config.integer("num_key_value_heads", heads);
  int64_t ffnDim = config.integer("intermediate_size");
  int64_t headDim = config.integer("head_dim", d / std::max<int64_t>(heads, 1));
  double eps = config.number("rms_norm_eps", 1e-6), theta = config.number("rope_theta", 10000.0);
  bool tied = config.boolean("tie_word_embeddings", false);
  ActivationKind act = config.activation("hidden_act", "silu");
  int64_t experts = mixtral ? config.integer("num_local_experts") : 0;
  int64_t topK = mixtral ? config.integer("num_experts_per_tok", 2) : 0;
  config.unsupported("rope_scaling", "rope scaling");
  if (config.boolean("mlp_bias", false))
    config.reject("mlp_bias", "an MLP with biases");
  config.divides("num_key_value_heads", kvHeads, "num_attention_heads", heads);
  if (mixtral && topK > experts)
    config.reject("num_experts_per_tok", "routing to more experts than num_local_experts");
  if (config.hasFailed())
    return;

  int64_t qDim = heads * headDim;
  Decoder decoder;
  decoder.layers = layers;
  decoder.kvDim = kvHeads * headDim;
  decoder.blocksUsePositions = true;
  decoder.embed = [&](Value ids, Value) {
    return b.embedding(EmbeddingKind::token, b.param("model.embed_tokens.weight", {vocab, d}), ids);
  };
  decoder.block = [&](int64_t i, Value x, Value pos, Value pastKey, Value pastValue) -> std::array<Value, 3> {
    std::string p = "model.layers." + std::to_string(i) + ".";
    auto proj = [&](const std::string &name, int64_t n, int64_t k, Value in) {
      return b.projection(p + name, in, b.param(p + name + ".weight", {n, k}),
                          b.optionalParam(p + name + ".bias", {n}),
                          name == "self_attn.v_proj" ? Ia3Target::value : Ia3Target::key);
    };
    Value n = b.rmsNorm(x, b.param(p + "input_layernorm.weight", {d}), eps);
    Value q = b.rotary(proj("self_attn.q_proj", qDim, d, n), pos, heads, theta);
    Value k = b.rotary(proj("self_attn.k_proj", decoder.kvDim, d, n), pos, kvHeads, theta);
    Value v = proj("self_attn.v_proj", decoder.kvDim, d, n);
    auto [a, key, value] = b.attention(q, k, v, {}, pastKey, pastValue, heads, kvHeads, true);
    x = b.add(x, proj("self_attn.o_proj", d, qDim, a));
    n = b.rmsNorm(x, b.param(p + "post_attention_layernorm.weight", {d}), eps);
    Value f;
    if (!mixtral) {
      f = b.feedForward(n, p + "mlp.up_proj", b.param(p + "mlp.up_proj.weight", {ffnDim, d}), {},
                        p + "mlp.gate_proj", b.param(p + "mlp.gate_proj.weight", {ffnDim, d}), p + "mlp.down_proj",
                        b.param(p + "mlp.down_proj.weight", {d, ffnDim}), {}, act);
    } else {
      std::string moe = p + "block_sparse_moe.";
      auto router = RouterOp::create(b.b(), b.location(), n, b.param(moe + "gate.weight", {experts, d}),
                                     b.b().getI64IntegerAttr(topK),
                                     GatingKindAttr::get(b.getContext(), GatingKind::softmax), b.b().getUnitAttr(),
                                     /*capacity_factor=*/nullptr);
      auto stacked = [&](StringRef w, ArrayRef<int64_t> part) {
        std::vector<std::string> names;
        for (int64_t e = 0; e < experts; ++e)
          names.push_back(moe + "experts." + std::to_string(e) + "." + w.str() + ".weight");
        return b.stack(moe + "experts." + w.str(), names, part);
      };
      Value up = stacked("w3", {ffnDim, d}), gate = stacked("w1", {ffnDim, d}), down = stacked("w2", {d, ffnDim});
      f = ExpertsOp::create(b.b(), b.location(), n, router.getWeights(), router.getIndices(), up, Value(), gate,
                            down, Value(), act);
    }
    return {b.add(x, f), key, value};
  };
  decoder.head = [&](Value h) {
    h = b.rmsNorm(h, b.param("model.norm.weight", {d}), eps);
    return b.linear(h, tied ? b.param("model.embed_tokens.weight", {vocab, d}) : b.param("lm_head.weight", {vocab, d}));
  };
  buildDecoder(b, decoder);
}

/// T5Model, T5ForConditionalGeneration, T5EncoderModel and SwitchTransformersForConditionalGeneration: a
/// pre-norm encoder-decoder with T5's RMS norm, unscaled attention and a bucketed relative position bias,
/// which the first block of each stack owns and every block shares (computed once, before the blocks, and
/// passed to each). The feed-forward network is relu (v1.0) or gated-gelu (v1.1); Switch Transformers
/// replace it in every `*_sparse_step`-th block by top-1 routed experts (router jitter is a training-time
/// noise and is off; capacity is unlimited, which equals Hugging Face's unless more than `expert_capacity`
/// tokens of one sequence choose one expert). With tied embeddings the decoder output is scaled by
/// d_model^-0.5 before the LM head: the scale is folded into the final norm's weights.
void importT5(Builder &b, Config &config, StringRef architecture) {
  bool isSwitch = architecture.starts_with("SwitchTransformers");
  bool encoderOnly = architecture == "T5EncoderModel";
  bool lmHead = architecture.ends_with("ForConditionalGeneration");
  int64_t vocab = config.integer("vocab_size"), d = config.integer("d_model"), dKv = config.integer("d_kv");
  int64_t ffnDim = config.integer("d_ff"), heads = config.integer("num_heads");
  int64_t layers = config.integer("num_layers"), decoderLayers = config.integer("num_decoder_layers", layers);
  int64_t buckets = config.integer("relative_attention_num_buckets", 32);
  int64_t maxDistance = config.integer("relative_attention_max_distance", 128);
  double eps = config.number("layer_norm_epsilon", 1e-6);
  bool tied = config.boolean("tie_word_embeddings", true);
  // "relu", "gelu", "gated-gelu" (v1.1: gelu_new), "gated-silu", ...: Hugging Face's T5Config.
  std::string proj = config.string("feed_forward_proj", "relu");
  bool gated = StringRef(proj).starts_with("gated-");
  std::string actName = gated ? proj.substr(6) : proj;
  if (proj == "gated-gelu")
    actName = "gelu_new";
  if (isSwitch && gated)
    config.reject("feed_forward_proj", "a gated feed-forward network in Switch Transformers");
  ActivationKind act = isSwitch ? config.activation("dense_act_fn", "relu")
                                : config.activationNamed("feed_forward_proj", proj, actName);
  int64_t experts = isSwitch ? config.integer("num_experts") : 0;
  int64_t encoderStep = isSwitch ? config.integer("encoder_sparse_step", 1) : 0;
  int64_t decoderStep = isSwitch ? config.integer("decoder_sparse_step", 1) : 0;
  if (isSwitch && config.boolean("router_bias", false))
    config.reject("router_bias", "a router with a bias");
  if (2 * (buckets / 2) < 4 || maxDistance <= buckets / 4)
    config.reject("relative_attention_num_buckets", "fewer than 4 buckets, or relative_attention_max_distance "
                                                    "within the exact buckets,");
  if (config.hasFailed())
    return;

  int64_t inner = heads * dKv;
  std::string embedName = b.hasTensor("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight";
  auto dyn = ShapedType::kDynamic;
  Type ids = b.i64({dyn, dyn});
  std::vector<std::pair<StringRef, Type>> inputs = {{"input_ids", ids}, {"attention_mask", ids}};
  if (!encoderOnly)
    inputs.insert(inputs.end(), {{"decoder_input_ids", ids}, {"decoder_attention_mask", ids}});
  func::FuncOp fn = b.function("main", inputs);
  Value inputIds = fn.getArgument(0), mask = fn.getArgument(1);

  // Sparse blocks: Hugging Face's SwitchTransformersStack.
  auto isSparse = [](int64_t i, int64_t step) { return step > 0 && (i % step == 1 || step == 1); };
  auto feedForward = [&](const std::string &p, Value n, bool sparse) -> Value {
    if (!isSwitch)
      return gated ? b.ffn(n, b.param(p + "DenseReluDense.wi_1.weight", {ffnDim, d}), {},
                           b.param(p + "DenseReluDense.wi_0.weight", {ffnDim, d}),
                           b.param(p + "DenseReluDense.wo.weight", {d, ffnDim}), {}, act)
                   : b.ffn(n, b.param(p + "DenseReluDense.wi.weight", {ffnDim, d}), {}, {},
                           b.param(p + "DenseReluDense.wo.weight", {d, ffnDim}), {}, act);
    if (!sparse)
      return b.ffn(n, b.param(p + "mlp.wi.weight", {ffnDim, d}), {}, {}, b.param(p + "mlp.wo.weight", {d, ffnDim}),
                   {}, act);
    std::string moe = p + "mlp.";
    auto router = RouterOp::create(b.b(), b.location(), n, b.param(moe + "router.classifier.weight", {experts, d}),
                                   b.b().getI64IntegerAttr(1),
                                   GatingKindAttr::get(b.getContext(), GatingKind::softmax), /*normalize=*/nullptr,
                                   /*capacity_factor=*/nullptr);
    auto stacked = [&](StringRef w, ArrayRef<int64_t> part) {
      std::vector<std::string> names;
      for (int64_t e = 0; e < experts; ++e)
        names.push_back(moe + "experts.expert_" + std::to_string(e) + "." + w.str() + ".weight");
      return b.stack(moe + "experts." + w.str(), names, part);
    };
    return ExpertsOp::create(b.b(), b.location(), n, router.getWeights(), router.getIndices(),
                             stacked("wi", {ffnDim, d}), Value(), Value(), stacked("wo", {d, ffnDim}), Value(), act);
  };
  auto linear = [&](Value in, const std::string &name, int64_t n, int64_t k) {
    return b.projection(StringRef(name).drop_back(strlen(".weight")), in, b.param(name, {n, k}), {},
                        StringRef(name).ends_with(".v.weight") ? Ia3Target::value : Ia3Target::key);
  };
  auto norm = [&](Value x, const std::string &name) { return b.rmsNorm(x, b.param(name, {d}), eps); };
  /// Attention of block `p` ("...SelfAttention." or "...EncDecAttention.") from `x` to `memory`, projected out.
  auto attend = [&](const std::string &p, Value x, Value memory, Value memoryMask, Value bias, bool causal) {
    Value q = linear(x, p + "q.weight", inner, d), k = linear(memory, p + "k.weight", inner, d);
    Value v = linear(memory, p + "v.weight", inner, d);
    Value a = b.biasedAttention(q, k, v, memoryMask, bias, heads, /*scale=*/1.0, causal);
    return linear(a, p + "o.weight", d, inner);
  };

  // Encoder: blocks (x, mask, bias) -> x.
  Value h = b.embedding(EmbeddingKind::token, b.param(embedName, {vocab, d}), inputIds);
  Value length = b.dim(inputIds, 1);
  Value encoderBias = b.relativePositionBias(
      b.param("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", {buckets, heads}), length,
      length, maxDistance, /*bidirectional=*/true);
  for (int64_t i = 0; i < layers; ++i) {
    std::string p = "encoder.block." + std::to_string(i) + ".layer.";
    h = b.layer(i, {h, mask, encoderBias}, [&](ValueRange args) {
      Value x = args[0], n = norm(x, p + "0.layer_norm.weight");
      x = b.add(x, attend(p + "0.SelfAttention.", n, n, args[1], args[2], false));
      x = b.add(x, feedForward(p + "1.", norm(x, p + "1.layer_norm.weight"), isSparse(i, encoderStep)));
      return SmallVector<Value>{x};
    })[0];
  }
  Value encoded = norm(h, "encoder.final_layer_norm.weight");
  if (encoderOnly)
    return b.ret(fn, {encoded}, {"last_hidden_state"});

  // Decoder: blocks (y, decoder mask, bias, encoder output, encoder mask) -> y.
  Value decoderIds = fn.getArgument(2), decoderMask = fn.getArgument(3);
  Value y = b.embedding(EmbeddingKind::token, b.param(embedName, {vocab, d}), decoderIds);
  Value decoderLength = b.dim(decoderIds, 1);
  Value decoderBias = b.relativePositionBias(
      b.param("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", {buckets, heads}),
      decoderLength, decoderLength, maxDistance, /*bidirectional=*/false);
  for (int64_t i = 0; i < decoderLayers; ++i) {
    std::string p = "decoder.block." + std::to_string(i) + ".layer.";
    y = b.layer(layers + i, {y, decoderMask, decoderBias, encoded, mask}, [&](ValueRange args) {
      Value x = args[0], n = norm(x, p + "0.layer_norm.weight");
      x = b.add(x, attend(p + "0.SelfAttention.", n, n, args[1], args[2], /*causal=*/true));
      n = norm(x, p + "1.layer_norm.weight");
      x = b.add(x, attend(p + "1.EncDecAttention.", n, args[3], args[4], Value(), false));
      x = b.add(x, feedForward(p + "2.", norm(x, p + "2.layer_norm.weight"), isSparse(i, decoderStep)));
      return SmallVector<Value>{x};
    })[0];
  }
  if (!lmHead)
    return b.ret(fn, {norm(y, "decoder.final_layer_norm.weight")}, {"last_hidden_state"});
  Value logits;
  if (tied) {
    Value gamma = b.scaledVector("decoder.final_layer_norm.weight", d, 1.0 / std::sqrt(static_cast<double>(d)));
    logits = b.linear(b.rmsNorm(y, gamma, eps), b.param(embedName, {vocab, d}));
  } else {
    logits = b.linear(norm(y, "decoder.final_layer_norm.weight"), b.param("lm_head.weight", {vocab, d}));
  }
  b.ret(fn, {logits}, {"logits"});
}

/// The architecture config.json names: its first "architectures" entry, else one derived from "model_type".
std::string architectureOf(const json::Object &config) {
  if (const json::Array *architectures = config.getArray("architectures"))
    if (!architectures->empty())
      if (std::optional<StringRef> name = (*architectures)[0].getAsString())
        return name->str();
  std::optional<StringRef> type = config.getString("model_type");
  if (!type)
    return "";
  if (*type == "bert")
    return "BertModel";
  if (*type == "gpt2")
    return "GPT2LMHeadModel";
  if (*type == "llama")
    return "LlamaForCausalLM";
  if (*type == "mixtral")
    return "MixtralForCausalLM";
  if (*type == "t5")
    return "T5ForConditionalGeneration";
  if (*type == "switch_transformers")
    return "SwitchTransformersForConditionalGeneration";
  return ("model_type " + *type).str();
}

} // namespace

FailureOr<OwningOpRef<ModuleOp>> importHuggingFace(MLIRContext *context, StringRef dir,
                                                   ArrayRef<std::string> adapterDirs) {
  context->loadDialect<EffDialect, func::FuncDialect, arith::ArithDialect, tensor::TensorDialect>();
  ModelFolder folder(context, dir);
  if (failed(folder.open()))
    return failure();
  std::vector<std::unique_ptr<Adapter>> adapters;
  SmallVector<Adapter *> adapterPtrs;
  for (auto [i, adapterDir] : llvm::enumerate(adapterDirs)) {
    adapters.push_back(std::make_unique<Adapter>(context, adapterDir, i ? "adapter" + std::to_string(i) + "." : ""));
    if (failed(adapters.back()->open()))
      return failure();
    adapterPtrs.push_back(adapters.back().get());
  }
  Location loc = folder.location();
  std::string architecture = architectureOf(folder.getConfig());
  if (!llvm::is_contained(supportedHuggingFaceArchitectures(), architecture)) {
    InFlightDiagnostic diag = emitError(loc);
    if (architecture.empty())
      diag << "config.json names no architecture (\"architectures\" or \"model_type\")";
    else
      diag << "unsupported architecture " << architecture;
    diag << "; supported: ";
    llvm::interleaveComma(supportedHuggingFaceArchitectures(), diag);
    return failure();
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder attrs(context);
  // The first adapter's tensors all start with "base_model.model.": no name clashes with the model's. The
  // others' files are entries {file, prefix}: their parameters are named with the prefix, which the file lacks.
  SmallVector<Attribute> files;
  for (const std::string &file : folder.weightsFiles())
    files.push_back(attrs.getStringAttr(file));
  for (const std::unique_ptr<Adapter> &adapter : adapters)
    for (const std::string &file : adapter->weightsPaths()) {
      if (adapter->getPrefix().empty()) {
        files.push_back(attrs.getStringAttr(file));
        continue;
      }
      files.push_back(attrs.getDictionaryAttr({attrs.getNamedAttr("file", attrs.getStringAttr(file)),
                                               attrs.getNamedAttr("prefix", attrs.getStringAttr(adapter->getPrefix()))}));
    }
  if (files.size() == 1)
    (*module)->setAttr("eff.weights", files[0]);
  else
    (*module)->setAttr("eff.weights", attrs.getArrayAttr(files));

  Builder builder(folder, *module, adapterPtrs);
  Config config(folder);
  StringRef arch = architecture;
  if (arch.starts_with("Bert"))
    importBert(builder, config, folder.hasTensor("bert.embeddings.word_embeddings.weight") ? "bert." : "",
               arch == "BertForSequenceClassification" ? numLabelsOf(config, folder.getConfig()) : 0);
  else if (arch.starts_with("T5") || arch.starts_with("SwitchTransformers"))
    importT5(builder, config, arch);
  else if (architecture == "GPT2LMHeadModel")
    importGpt2(builder, config, folder.hasTensor("transformer.wte.weight") ? "transformer." : "",
               folder.hasTensor("lm_head.weight"));
  else
    importLlama(builder, config, architecture == "MixtralForCausalLM");
  if (config.hasFailed() || builder.hasFailed())
    return failure();
  for (const std::unique_ptr<Adapter> &adapter : adapters)
    if (failed(adapter->checkComplete(architecture)))
      return failure();
  if (failed(verify(*module)))
    return failure();
  return module;
}

} // namespace effc
