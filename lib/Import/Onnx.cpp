//===- Onnx.cpp - import ONNX models ----------------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The graph is imported on demand, from its outputs back: asking for a value emits the node producing it,
// after trying to raise the subgraph that ends there to an eff op (so a raised subgraph's inner nodes are never
// emitted). Values known while importing (constants, shapes, and what is computed from them) are kept as
// `Known` contents or, for shape vectors with dynamic dimensions, as a list of constants and `index` values,
// and folded; only what a computation on real tensors needs is materialised as IR.
//
// The protobuf parser reads the model without its initializers (OnnxWeightsFile::skeleton): their bytes stay
// in the mapped file, where eff-materialize-parameters reads the large ones and the importer the small ones.
//
//===----------------------------------------------------------------------===//

#include "effc/Import/Onnx.h"

#include "effc/Dialect/Eff/IR/EffOps.h"
#include "effc/Support/OnnxWeights.h"
#include "effc/Support/Safetensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Path.h"

#include <onnx/onnx_pb.h>

#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>

using namespace mlir;
using namespace mlir::eff;

namespace effc {

bool isOnnxFile(llvm::StringRef path) { return path.ends_with_insensitive(".onnx"); }

std::optional<std::pair<std::string, std::string>> parseInputBinding(llvm::StringRef binding) {
  auto [name, file] = binding.split('=');
  if (name.empty() || file.empty())
    return std::nullopt;
  return std::make_pair(name.str(), file.str());
}

llvm::ArrayRef<llvm::StringRef> supportedOnnxOps() {
  static const llvm::StringRef ops[] = {
      "Abs",       "Add",     "And",        "Cast",       "Ceil",       "Concat",    "Constant",  "ConstantOfShape",
      "Cos",       "Div",     "Equal",      "Erf",        "Exp",        "Expand",    "Floor",     "Gather",
      "GatherElements",
      "Gemm",      "Greater", "Identity",   "LayerNormalization", "Less", "Log",       "MatMul",    "Max",
      "Min",       "Mul",     "Neg",        "Not",        "Or",         "Pow",       "Range",     "Reciprocal",
      "ReduceMax", "ReduceMean", "ReduceSum", "Relu",     "Reshape",    "Sigmoid",   "Shape",     "Sin",
      "Slice",     "Softmax", "Split",      "Sqrt",       "Squeeze",    "Sub",       "Tanh",      "TopK",
      "Transpose", "Trilu",   "Unsqueeze",  "Where"};
  return ops;
}

namespace {

/// The operators whose definition did not change from opset 1 to 7 (each one's only version up to opset 7 is
/// version 1), so a model of a lower opset means what the importer implements for opset 7. The others (Add,
/// Cast, Reshape, Concat, the unary math ops, ...) had legacy attributes (`broadcast`, `consumed_inputs`, a string
/// `to`, a `shape` attribute) before opset 7.
ArrayRef<StringRef> opsetOneOps() {
  static const StringRef ops[] = {"Constant",   "Gather",    "Identity",  "MatMul",  "Not",       "ReduceMax",
                                  "ReduceMean", "ReduceSum", "Shape",     "Slice",   "Softmax",   "Squeeze",
                                  "TopK",       "Transpose", "Unsqueeze"};
  return ops;
}

/// How many inputs an operator the importer maps takes (in opsets 7 to 18; optional inputs included), or
/// nullopt for another operator. The raisers read inputs of nodes they match by index, so every node is checked
/// against this before any is imported.
std::optional<std::pair<int, int>> inputArity(StringRef op) {
  constexpr int many = std::numeric_limits<int>::max();
  return llvm::StringSwitch<std::optional<std::pair<int, int>>>(op)
      .Case("Constant", std::pair(0, 0))
      .Cases({"Abs", "Cast", "Ceil", "ConstantOfShape", "Cos", "Erf", "Exp", "Floor", "Identity", "Log", "Neg", "Not",
              "Reciprocal", "Relu", "Shape", "Sigmoid", "Sin", "Softmax", "Sqrt", "Tanh", "Transpose"},
             std::pair(1, 1))
      .Cases({"Add", "And", "Div", "Equal", "Expand", "Gather", "GatherElements", "Greater", "Less", "MatMul", "Mul", "Or", "Pow",
              "Reshape", "Sub"},
             std::pair(2, 2))
      .Cases({"ReduceMax", "ReduceMean", "ReduceSum", "Split", "Squeeze", "Trilu", "Unsqueeze"}, std::pair(1, 2))
      .Case("TopK", std::pair(1, 2)) // k an attribute before opset 10
      .Cases({"Gemm", "LayerNormalization"}, std::pair(2, 3))
      .Cases({"Range", "Where"}, std::pair(3, 3))
      .Case("Slice", std::pair(1, 5)) // one input with attributes before opset 10
      .Cases({"Concat", "Max", "Min"}, std::pair(1, many))
      .Default(std::nullopt);
}

//===----------------------------------------------------------------------===//
// Values known while importing
//===----------------------------------------------------------------------===//

/// The contents of a tensor known at import time: row-major elements, as doubles for floats and int64 for
/// integers and booleans.
struct Known {
  Type elementType;
  SmallVector<int64_t> shape;
  std::vector<double> floats;
  std::vector<int64_t> ints;

  bool isFloat() const { return isa<FloatType>(elementType); }
  int64_t size() const { return isFloat() ? floats.size() : ints.size(); }
  double at(int64_t i) const { return isFloat() ? floats[i] : double(ints[i]); }
};

/// An imported ONNX value: IR, known contents, or a shape vector (an integer tensor of rank <= 1 whose elements
/// are constants or `index` values), materialised as IR when a computation needs it.
struct Tensor {
  Value value;
  std::optional<Known> known;
  std::optional<SmallVector<OpFoldResult>> dims;
  bool dimsAreScalar = false; ///< the shape vector is a 0-D tensor (one element)
  Type dimsElementType;       ///< i64 unless cast
};

/// The number of elements of `shape`, saturated at INT64_MAX (extents come from the untrusted model; callers
/// compare the count with a limit or with the data at hand).
int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      return std::numeric_limits<int64_t>::max();
  return n;
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (ShapedType::isDynamic(shape[i]) ? std::string("?") : std::to_string(shape[i]));
  return s + "]";
}

/// The MLIR element type of an ONNX TensorProto.DataType, or null.
Type elementTypeOf(MLIRContext *ctx, int dataType) {
  switch (dataType) {
  case onnx::TensorProto::FLOAT: return Float32Type::get(ctx);
  case onnx::TensorProto::DOUBLE: return Float64Type::get(ctx);
  case onnx::TensorProto::FLOAT16: return Float16Type::get(ctx);
  case onnx::TensorProto::BFLOAT16: return BFloat16Type::get(ctx);
  case onnx::TensorProto::INT64: return IntegerType::get(ctx, 64);
  case onnx::TensorProto::INT32: return IntegerType::get(ctx, 32);
  case onnx::TensorProto::INT16: return IntegerType::get(ctx, 16);
  case onnx::TensorProto::INT8: return IntegerType::get(ctx, 8);
  // Unsigned tensors are signless integers too; the ops whose result depends on the signedness (Cast, Div,
  // Max/Min, comparisons, TopK) read it from the value's ONNX type (Importer::isUnsigned).
  case onnx::TensorProto::UINT8: return IntegerType::get(ctx, 8);
  case onnx::TensorProto::UINT16: return IntegerType::get(ctx, 16);
  case onnx::TensorProto::UINT32: return IntegerType::get(ctx, 32);
  case onnx::TensorProto::UINT64: return IntegerType::get(ctx, 64);
  case onnx::TensorProto::BOOL: return IntegerType::get(ctx, 1);
  default: return {};
  }
}

/// An ONNX TensorProto.DataType's name (`STRING`, `COMPLEX64`...), or its number if it has none.
std::string dataTypeName(int64_t dataType) {
  if (onnx::TensorProto::DataType_IsValid(dataType))
    return onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(dataType));
  return std::to_string(dataType);
}

/// What a graph value that is not a tensor is, for errors.
std::string describeNonTensor(const onnx::TypeProto &type) {
  if (type.has_sequence_type())
    return "a sequence";
  if (type.has_optional_type())
    return "an optional";
  if (type.has_map_type())
    return "a map";
  return "not a tensor";
}

/// Decodes `count` little-endian elements of `dtype` (a safetensors dtype name) into `known`.
LogicalResult decodeElements(StringRef dtype, const char *data, int64_t count, Known &known) {
  for (int64_t i = 0; i < count; ++i) {
    if (dtype == "F32") {
      float f;
      std::memcpy(&f, data + 4 * i, 4);
      known.floats.push_back(f);
    } else if (dtype == "F64") {
      double f;
      std::memcpy(&f, data + 8 * i, 8);
      known.floats.push_back(f);
    } else if (dtype == "I64") {
      known.ints.push_back(int64_t(llvm::support::endian::read64le(data + 8 * i)));
    } else if (dtype == "I32") {
      known.ints.push_back(int32_t(llvm::support::endian::read32le(data + 4 * i)));
    } else if (dtype == "I16") {
      known.ints.push_back(int16_t(llvm::support::endian::read16le(data + 2 * i)));
    } else if (dtype == "U64") { // values past INT64_MAX keep their bits
      known.ints.push_back(int64_t(llvm::support::endian::read64le(data + 8 * i)));
    } else if (dtype == "U32") {
      known.ints.push_back(llvm::support::endian::read32le(data + 4 * i));
    } else if (dtype == "U16") {
      known.ints.push_back(llvm::support::endian::read16le(data + 2 * i));
    } else if (dtype == "I8") {
      known.ints.push_back(int8_t(data[i]));
    } else if (dtype == "U8" || dtype == "BOOL") {
      known.ints.push_back(uint8_t(data[i]));
    } else {
      return failure();
    }
  }
  return success();
}

/// The contents of a TensorProto held in the graph (a Constant's value), or failure with a reason.
FailureOr<Known> knownFromProto(MLIRContext *ctx, const onnx::TensorProto &proto, std::string &why) {
  Known known;
  known.elementType = elementTypeOf(ctx, proto.data_type());
  StringRef dtype = OnnxWeightsFile::dtypeName(proto.data_type());
  if (!known.elementType || dtype.empty() || dtype == "F16" || dtype == "BF16") {
    why = "has unsupported data type " + std::to_string(proto.data_type());
    return failure();
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    why = "is stored externally (only initializers may be)";
    return failure();
  }
  for (int64_t d : proto.dims()) {
    if (d < 0) {
      why = "has a negative dimension";
      return failure();
    }
    known.shape.push_back(d);
  }
  int64_t count = product(known.shape), bytes;
  if (proto.has_raw_data()) {
    if (__builtin_mul_overflow(count, int64_t(SafetensorsFile::elementSize(dtype)), &bytes) ||
        int64_t(proto.raw_data().size()) != bytes) {
      why = "has " + std::to_string(proto.raw_data().size()) + " bytes of data for shape " + formatShape(known.shape);
      return failure();
    }
    (void)decodeElements(dtype, proto.raw_data().data(), count, known);
    return known;
  }
  if (known.isFloat()) {
    for (float f : proto.float_data())
      known.floats.push_back(f);
    for (double f : proto.double_data())
      known.floats.push_back(f);
  } else {
    for (int64_t v : proto.int64_data())
      known.ints.push_back(v);
    for (int32_t v : proto.int32_data())
      known.ints.push_back(v);
  }
  if (known.size() != count) {
    why = "has " + std::to_string(known.size()) + " elements for shape " + formatShape(known.shape);
    return failure();
  }
  return known;
}

/// Reads a .npy file (versions 1-3, C order, little-endian) into `known`, with its ONNX data type in
/// `dataType`; failure with a reason in `why`.
LogicalResult readNpy(MLIRContext *ctx, StringRef path, Known &known, int &dataType, std::string &why) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer) {
    why = "cannot be read: " + buffer.getError().message();
    return failure();
  }
  StringRef data = (*buffer)->getBuffer();
  if (data.size() < 10 || !data.starts_with("\x93NUMPY") || data[6] < 1 || data[6] > 3) {
    why = "is not a .npy file";
    return failure();
  }
  size_t headerLength = data[6] == 1 ? llvm::support::endian::read16le(data.data() + 8)
                                     : llvm::support::endian::read32le(data.data() + 8);
  size_t headerStart = data[6] == 1 ? 10 : 12;
  if (data.size() < headerStart + headerLength) {
    why = "is truncated";
    return failure();
  }
  StringRef header = data.substr(headerStart, headerLength);
  auto field = [&](StringRef key) -> StringRef {
    for (StringRef quote : {"'", "\""}) {
      size_t at = header.find((quote + key + quote).str());
      if (at != StringRef::npos)
        return header.substr(at + key.size() + 2).ltrim(" :");
    }
    return {};
  };
  StringRef descr = field("descr"), order = field("fortran_order"), shapeText = field("shape");
  if (descr.size() < 4 || !order.consume_front("False") || !shapeText.consume_front("(")) {
    why = "has a header effc does not read (it needs descr, fortran_order False and shape)";
    return failure();
  }
  descr = descr.drop_front().take_until([](char c) { return c == '\'' || c == '"'; });
  static const struct {
    const char *descr, *dtype;
    int onnxType;
  } types[] = {{"<f4", "F32", onnx::TensorProto::FLOAT},   {"<f8", "F64", onnx::TensorProto::DOUBLE},
               {"<i8", "I64", onnx::TensorProto::INT64},   {"<i4", "I32", onnx::TensorProto::INT32},
               {"<i2", "I16", onnx::TensorProto::INT16},   {"|i1", "I8", onnx::TensorProto::INT8},
               {"|u1", "U8", onnx::TensorProto::UINT8},    {"<u2", "U16", onnx::TensorProto::UINT16},
               {"<u4", "U32", onnx::TensorProto::UINT32},  {"<u8", "U64", onnx::TensorProto::UINT64},
               {"|b1", "BOOL", onnx::TensorProto::BOOL}};
  const auto *type = llvm::find_if(types, [&](const auto &t) { return descr == t.descr; });
  if (type == std::end(types)) {
    why = "has dtype '" + descr.str() + "', which effc does not bind (integers, bool, f32 or f64, little-endian)";
    return failure();
  }
  shapeText = shapeText.take_until([](char c) { return c == ')'; });
  SmallVector<StringRef> extents;
  shapeText.split(extents, ',', -1, /*KeepEmpty=*/false);
  for (StringRef extent : extents) {
    int64_t d;
    if (extent.trim().trim('L').getAsInteger(10, d) || d < 0) {
      why = "has a malformed shape";
      return failure();
    }
    known.shape.push_back(d);
  }
  int64_t count = product(known.shape);
  StringRef body = data.substr(headerStart + headerLength);
  if (count > (1 << 20) || int64_t(body.size()) != count * int64_t(SafetensorsFile::elementSize(type->dtype))) {
    why = "has " + std::to_string(body.size()) + " bytes of data for shape " + formatShape(known.shape) +
          (count > (1 << 20) ? " (bound inputs hold at most 2^20 elements)" : "");
    return failure();
  }
  known.elementType = elementTypeOf(ctx, type->onnxType);
  dataType = type->onnxType;
  return decodeElements(type->dtype, body.data(), count, known);
}

//===----------------------------------------------------------------------===//
// The importer
//===----------------------------------------------------------------------===//

using Node = onnx::NodeProto;
using BodyBuilder = std::function<Value(OpBuilder &, Location, ValueRange)>;

class Importer {
public:
  /// Imports the model at `path`, or in `input` (named `path`) if given.
  Importer(MLIRContext *context, StringRef path, const OnnxImportOptions &options,
           std::unique_ptr<llvm::MemoryBuffer> input = nullptr)
      : context(context), path(path.str()), options(options), input(std::move(input)), b(context),
        fileLoc(FileLineColLoc::get(context, path, 0, 0)), loc(fileLoc) {}

  FailureOr<OwningOpRef<ModuleOp>> run();

private:
  friend class Raiser;

  //===--- Graph queries ---===//
  const Node *producer(StringRef name) const {
    auto it = producers.find(name);
    return it == producers.end() ? nullptr : it->second;
  }
  /// The node producing `name` if it is an `opType` node.
  const Node *producerIs(StringRef name, StringRef opType) const {
    const Node *node = producer(name);
    return node && node->op_type() == opType && (node->domain().empty() || node->domain() == "ai.onnx") ? node
                                                                                                        : nullptr;
  }
  unsigned useCount(StringRef name) const { return uses.lookup(name); }
  /// Whether `name` is an argument of @main (a graph input not bound at compile time).
  bool valueIsArgument(StringRef name) {
    auto it = values.find(name);
    return it != values.end() && it->second.value && isa<BlockArgument>(it->second.value);
  }
  /// Whether `name` is a uint8/16/32/64 tensor (its ONNX type, from the graph's declarations and propagated
  /// through the nodes by `inferOnnxTypes`; unknown counts as signed).
  bool isUnsigned(StringRef name) const {
    int type = onnxTypes.lookup(name);
    return type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::UINT16 ||
           type == onnx::TensorProto::UINT32 || type == onnx::TensorProto::UINT64;
  }
  void inferOnnxTypes(const onnx::GraphProto &graph);
  /// Folds the inputs of `options.boundInputs` into known contents, checked against the graph's declarations.
  LogicalResult bindInputs(const onnx::GraphProto &graph);
  bool isInitializer(StringRef name) const { return weights->lookup(name) != nullptr; }
  /// The contents of `name` if it is a constant (an initializer or a Constant node), without emitting anything.
  std::optional<Known> constantOf(StringRef name);
  /// The single value of a constant scalar (or one-element tensor).
  std::optional<double> scalarOf(StringRef name) {
    std::optional<Known> known = constantOf(name);
    if (!known || known->size() != 1)
      return std::nullopt;
    return known->at(0);
  }

  //===--- Attributes ---===//
  static const onnx::AttributeProto *attr(const Node &node, StringRef name) {
    for (const onnx::AttributeProto &a : node.attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  static int64_t intAttr(const Node &node, StringRef name, int64_t fallback) {
    const onnx::AttributeProto *a = attr(node, name);
    return a ? a->i() : fallback;
  }
  static double floatAttr(const Node &node, StringRef name, double fallback) {
    const onnx::AttributeProto *a = attr(node, name);
    return a ? a->f() : fallback;
  }
  static std::optional<SmallVector<int64_t>> intsAttr(const Node &node, StringRef name) {
    const onnx::AttributeProto *a = attr(node, name);
    if (!a)
      return std::nullopt;
    return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
  }

  //===--- Locations and errors ---===//
  static std::string describe(const Node &node) {
    return "node '" + (node.name().empty() ? (node.output_size() ? node.output(0) : std::string("?")) : node.name()) +
           "' (" + node.op_type() + ")";
  }
  Location locOf(const Node &node) {
    std::string name = node.name().empty() && node.output_size() ? node.output(0) : node.name();
    return NameLoc::get(StringAttr::get(context, name), fileLoc);
  }
  InFlightDiagnostic error(const Node &node) { return emitError(locOf(node)) << describe(node) << ": "; }
  /// The node's `axis` attribute (`fallback` when absent), made non-negative for `rank`; an error at the node if
  /// it is out of range.
  FailureOr<int64_t> axisAttr(const Node &node, int64_t fallback, int64_t rank);

  /// Creates the `OpTy` from `args` at `loc`, its first result's type inferred with diagnostics: the
  /// inferring builders abort on operands the op rejects, and an imported graph's shapes are not trusted.
  /// `args` follow the builder that takes the first result's type (and, for eff.attention, the types of
  /// its variadic results, NoneType placeholders: all are inferred).
  template <typename OpTy, typename... Args>
  FailureOr<Value> inferred(Args &&...args) {
    auto op = OpTy::create(b, loc, Type(NoneType::get(context)), std::forward<Args>(args)...);
    SmallVector<Type, 1> types;
    if (failed(OpTy::inferReturnTypes(context, loc, op->getOperands(), op->getRawDictionaryAttrs(),
                                      op->getPropertiesStorage(), op->getRegions(), types))) {
      op->erase();
      return failure();
    }
    assert(types.size() == op->getNumResults() && "inferred a different number of results");
    for (auto [result, type] : llvm::zip(op->getResults(), types))
      result.setType(type);
    return op->getResult(0);
  }

  //===--- Values ---===//
  /// The imported value `name`, emitting its producer if needed.
  FailureOr<Tensor *> get(StringRef name);
  /// `name` as IR.
  FailureOr<Value> value(StringRef name) {
    FailureOr<Tensor *> t = get(name);
    if (failed(t))
      return failure();
    return materialize(**t);
  }
  Value materialize(Tensor &t);
  Value constant(const Known &known);
  /// `name` as a shape vector (constants and index values), if it is one or a small known integer tensor.
  FailureOr<std::optional<SmallVector<OpFoldResult>>> dimsOf(StringRef name);

  //===--- Emission ---===//
  LogicalResult emitNode(const Node &node);
  LogicalResult emitGeneric(const Node &node, SmallVectorImpl<Tensor> &results);
  LogicalResult foldKnown(const Node &node, ArrayRef<Tensor *> inputs, SmallVectorImpl<Tensor> &results, bool &folded);
  LogicalResult foldDims(const Node &node, ArrayRef<Tensor *> inputs, SmallVectorImpl<Tensor> &results, bool &folded);

  // IR helpers at location `loc`.
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value toIndex(OpFoldResult ofr) {
    if (auto v = dyn_cast<Value>(ofr))
      return v;
    return index(cast<IntegerAttr>(cast<Attribute>(ofr)).getInt());
  }
  OpFoldResult indexAttr(int64_t v) { return b.getIndexAttr(v); }
  static std::optional<int64_t> constantDim(OpFoldResult ofr) {
    if (auto attr = dyn_cast<Attribute>(ofr))
      return cast<IntegerAttr>(attr).getInt();
    return std::nullopt;
  }
  OpFoldResult indexBinary(StringRef op, OpFoldResult lhs, OpFoldResult rhs);
  SmallVector<OpFoldResult> sizesOf(Value v) { return tensor::getMixedSizes(b, loc, v); }
  Value empty(ArrayRef<OpFoldResult> sizes, Type elementType) {
    return tensor::EmptyOp::create(b, loc, sizes, elementType);
  }
  Value fill(Value init, double value);
  Value scalar(Type type, double value);
  Value convertScalar(OpBuilder &nb, Location nl, Value v, Type to, bool isUnsignedSource = false,
                      bool isUnsignedTarget = false);
  /// A numpy-broadcasting elementwise linalg.generic; `outSizes` (right-aligned) joins the broadcast (Expand).
  Value elementwise(ValueRange inputs, Type resultElementType, const BodyBuilder &body,
                    ArrayRef<OpFoldResult> outSizes = {});
  Value reshape(Value input, ArrayRef<OpFoldResult> sizes);
  Value power(Value base, Value exponent);
  FailureOr<SmallVector<Tensor>> layerNormalization(const Node &node, Value x, Value scale, Value bias, int64_t axis);
  Value transpose(Value input, ArrayRef<int64_t> permutation);
  Value reduce(Value input, ArrayRef<int64_t> axes, bool keepDims, StringRef kind);
  FailureOr<Value> sliceAlong(const Node &node, Value input, ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                              ArrayRef<int64_t> axes, ArrayRef<int64_t> steps, ArrayRef<OpFoldResult> symbolicEnds,
                              ArrayRef<OpFoldResult> symbolicStarts = {});
  FailureOr<Value> sliceAtRunTime(const Node &node, Value input, Value starts, Value ends, Value axes, Value steps);
  /// out[i...] = input[starts[d] + i_d * steps[d]...], of extents `sizes` (index values; in bounds by the caller).
  Value gatherSlice(Value input, ArrayRef<Value> starts, ArrayRef<Value> steps, ArrayRef<Value> sizes);

  // Raising.
  void report(const Twine &line) {
    if (options.raisingReport)
      *options.raisingReport << line << "\n";
  }
  FailureOr<bool> tryRaise(const Node &node, SmallVectorImpl<Tensor> &results);
  Value parameter(StringRef name, bool transpose);

  MLIRContext *context;
  std::string path;
  OnnxImportOptions options;
  std::unique_ptr<llvm::MemoryBuffer> input;
  OpBuilder b;
  Location fileLoc, loc;
  std::unique_ptr<OnnxWeightsFile> weights;
  onnx::ModelProto model;
  int64_t opset = 0;
  llvm::StringMap<const Node *> producers;
  llvm::StringMap<unsigned> uses;
  llvm::StringMap<int> onnxTypes; ///< TensorProto.DataType of each value whose type is known
  llvm::StringMap<Tensor> values;
  llvm::StringMap<Value> parameters;
  llvm::StringSet<> emitting; // nodes being emitted (a cycle is an error)
  Block *entry = nullptr; // @main's body
  unsigned raisedCount = 0;
};

std::optional<Known> Importer::constantOf(StringRef name) {
  auto it = values.find(name);
  if (it != values.end() && it->second.known)
    return it->second.known;
  if (const SafetensorsTensor *tensor = weights->lookup(name)) {
    if (product(tensor->shape) > (1 << 22))
      return std::nullopt;
    Known known;
    for (int64_t d : tensor->shape)
      known.shape.push_back(d);
    StringRef dtype = tensor->dtype;
    MLIRContext *ctx = context;
    known.elementType = llvm::StringSwitch<Type>(dtype)
                            .Case("F32", Float32Type::get(ctx))
                            .Case("F64", Float64Type::get(ctx))
                            .Cases({"I64", "U64"}, IntegerType::get(ctx, 64))
                            .Cases({"I32", "U32"}, IntegerType::get(ctx, 32))
                            .Cases({"I16", "U16"}, IntegerType::get(ctx, 16))
                            .Cases({"I8", "U8"}, IntegerType::get(ctx, 8))
                            .Case("BOOL", IntegerType::get(ctx, 1))
                            .Default(Type());
    if (!known.elementType || failed(decodeElements(dtype, tensor->data.data(), product(known.shape), known)))
      return std::nullopt;
    return known;
  }
  if (const Node *node = producerIs(name, "Constant")) {
    if (const onnx::AttributeProto *a = attr(*node, "value")) {
      std::string why;
      FailureOr<Known> known = knownFromProto(context, a->t(), why);
      if (succeeded(known))
        return *known;
      return std::nullopt;
    }
    Known known;
    if (const onnx::AttributeProto *a = attr(*node, "value_float")) {
      known.elementType = Float32Type::get(context);
      known.floats.push_back(a->f());
    } else if (const onnx::AttributeProto *a = attr(*node, "value_floats")) {
      known.elementType = Float32Type::get(context);
      known.floats.assign(a->floats().begin(), a->floats().end());
      known.shape.push_back(a->floats_size());
    } else if (const onnx::AttributeProto *a = attr(*node, "value_int")) {
      known.elementType = IntegerType::get(context, 64);
      known.ints.push_back(a->i());
    } else if (const onnx::AttributeProto *a = attr(*node, "value_ints")) {
      known.elementType = IntegerType::get(context, 64);
      known.ints.assign(a->ints().begin(), a->ints().end());
      known.shape.push_back(a->ints_size());
    } else {
      return std::nullopt;
    }
    return known;
  }
  return std::nullopt;
}

Value Importer::constant(const Known &known) {
  auto type = RankedTensorType::get(known.shape, known.elementType);
  DenseElementsAttr attr;
  if (auto floatType = dyn_cast<FloatType>(known.elementType)) {
    SmallVector<APFloat> values;
    for (double v : known.floats) {
      APFloat f(v);
      bool lost;
      f.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(f);
    }
    attr = DenseElementsAttr::get(type, values);
  } else {
    unsigned width = known.elementType.getIntOrFloatBitWidth();
    SmallVector<APInt> values;
    for (int64_t v : known.ints)
      values.push_back(APInt(width, uint64_t(v), /*isSigned=*/width > 1, /*implicitTrunc=*/true));
    attr = DenseElementsAttr::get(type, values);
  }
  return arith::ConstantOp::create(b, loc, type, attr);
}

Value Importer::materialize(Tensor &t) {
  if (t.value)
    return t.value;
  if (t.known) {
    t.value = constant(*t.known);
  } else if (t.dims) {
    Type elementType = t.dimsElementType ? t.dimsElementType : b.getI64Type();
    SmallVector<Value> elements;
    for (OpFoldResult d : *t.dims)
      elements.push_back(arith::IndexCastOp::create(b, loc, elementType, toIndex(d)));
    SmallVector<int64_t> shape;
    if (!t.dimsAreScalar)
      shape.push_back(elements.size());
    t.value = tensor::FromElementsOp::create(b, loc, RankedTensorType::get(shape, elementType), elements);
  }
  return t.value;
}

FailureOr<std::optional<SmallVector<OpFoldResult>>> Importer::dimsOf(StringRef name) {
  FailureOr<Tensor *> t = get(name);
  if (failed(t))
    return failure();
  if ((*t)->dims)
    return std::optional<SmallVector<OpFoldResult>>((*t)->dims);
  if ((*t)->known && !(*t)->known->isFloat() && (*t)->known->shape.size() <= 1) {
    SmallVector<OpFoldResult> dims;
    for (int64_t v : (*t)->known->ints)
      dims.push_back(indexAttr(v));
    return std::optional<SmallVector<OpFoldResult>>(dims);
  }
  return std::optional<SmallVector<OpFoldResult>>();
}

OpFoldResult Importer::indexBinary(StringRef op, OpFoldResult lhs, OpFoldResult rhs) {
  std::optional<int64_t> l = constantDim(lhs), r = constantDim(rhs);
  if (l && r) {
    // Folded only where the result fits: an overflowing constant (a malformed model) is left to the index
    // arithmetic below, which wraps as the run-time computation would.
    std::optional<int64_t> folded;
    if (op == "Add")
      folded = llvm::checkedAdd(*l, *r);
    else if (op == "Sub")
      folded = llvm::checkedSub(*l, *r);
    else if (op == "Mul")
      folded = llvm::checkedMul(*l, *r);
    else if (op == "Div" && *r != 0 && !(*l == std::numeric_limits<int64_t>::min() && *r == -1))
      folded = llvm::divideFloorSigned(*l, *r);
    if (folded)
      return indexAttr(*folded);
  }
  if (op == "Mul" && r == 1) return lhs;
  if ((op == "Div" || op == "Mul") && r == 1) return lhs;
  if ((op == "Add" || op == "Sub") && r == 0) return lhs;
  Value a = toIndex(lhs), c = toIndex(rhs);
  if (op == "Add") return arith::AddIOp::create(b, loc, a, c).getResult();
  if (op == "Sub") return arith::SubIOp::create(b, loc, a, c).getResult();
  if (op == "Mul") return arith::MulIOp::create(b, loc, a, c).getResult();
  return arith::FloorDivSIOp::create(b, loc, a, c).getResult();
}

Value Importer::scalar(Type type, double value) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type, FloatAttr::get(floatType, value));
  return arith::ConstantOp::create(b, loc, type, IntegerAttr::get(type, int64_t(value)));
}

Value Importer::fill(Value init, double value) {
  Type elementType = cast<RankedTensorType>(init.getType()).getElementType();
  return linalg::FillOp::create(b, loc, scalar(elementType, value), init).getResult(0);
}

/// `v` (f64) rounded to f32 by round-to-odd: truncated toward zero, with the last bit set when inexact. Rounding
/// that to a format of at most 22 bits of precision (f16, bf16) rounds once, as a direct f64 -> f16 conversion
/// would (Boldo and Melquiond, "When double rounding is odd"); LLVM lowers that conversion to compiler-rt's
/// __truncdfhf2, which compiled models cannot link.
static Value truncateToOddF32(OpBuilder &nb, Location nl, Value v) {
  Type f32 = nb.getF32Type(), i32 = nb.getI32Type();
  Value nearest = arith::TruncFOp::create(nb, nl, f32, v);
  Value back = arith::ExtFOp::create(nb, nl, v.getType(), nearest);
  Value exactOrNan = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UEQ, back, v);
  Value awayFromZero = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGT, math::AbsFOp::create(nb, nl, back),
                                             math::AbsFOp::create(nb, nl, v));
  Value bits = arith::BitcastOp::create(nb, nl, i32, nearest);
  Value one = arith::ConstantIntOp::create(nb, nl, i32, 1);
  // The magnitude's bits are monotonic: one step down is the next f32 toward zero (FLT_MAX from infinity).
  Value towardZero = arith::SelectOp::create(nb, nl, awayFromZero, arith::SubIOp::create(nb, nl, bits, one), bits);
  Value odd = arith::OrIOp::create(nb, nl, towardZero, one);
  return arith::BitcastOp::create(nb, nl, f32, arith::SelectOp::create(nb, nl, exactOrNan, bits, odd));
}

Value Importer::convertScalar(OpBuilder &nb, Location nl, Value v, Type to, bool isUnsignedSource,
                              bool isUnsignedTarget) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto fromFloat = dyn_cast<FloatType>(from), toFloat = dyn_cast<FloatType>(to);
  if (fromFloat && toFloat) {
    if (fromFloat.getWidth() < toFloat.getWidth())
      return arith::ExtFOp::create(nb, nl, to, v);
    if (fromFloat.isF64() && toFloat.getWidth() < 32)
      v = truncateToOddF32(nb, nl, v);
    return arith::TruncFOp::create(nb, nl, to, v);
  }
  if (fromFloat) {
    if (to.isInteger(1)) {
      Value zero = arith::ConstantOp::create(nb, nl, from, FloatAttr::get(from, 0.0));
      return arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNE, v, zero);
    }
    if (isUnsignedTarget)
      return arith::FPToUIOp::create(nb, nl, to, v);
    return arith::FPToSIOp::create(nb, nl, to, v);
  }
  if (toFloat) {
    if (from.isInteger(1) || isUnsignedSource)
      return arith::UIToFPOp::create(nb, nl, to, v);
    return arith::SIToFPOp::create(nb, nl, to, v);
  }
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (tw == 1) {
    Value zero = arith::ConstantOp::create(nb, nl, from, IntegerAttr::get(from, 0));
    return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne, v, zero);
  }
  if (fw < tw)
    return fw == 1 || isUnsignedSource ? Value(arith::ExtUIOp::create(nb, nl, to, v))
                                       : Value(arith::ExtSIOp::create(nb, nl, to, v));
  return arith::TruncIOp::create(nb, nl, to, v);
}

Value Importer::elementwise(ValueRange inputs, Type resultElementType, const BodyBuilder &body,
                            ArrayRef<OpFoldResult> outSizes) {
  int64_t rank = outSizes.size();
  for (Value input : inputs)
    rank = std::max<int64_t>(rank, cast<RankedTensorType>(input.getType()).getRank());
  // Each output dimension: the first static extent other than 1, else the first dynamic one, else 1 (dynamic
  // extents are assumed to agree with each other, as numpy broadcasting requires unless one of them is 1).
  SmallVector<OpFoldResult> sizes(rank, indexAttr(1));
  SmallVector<bool> isStatic(rank, false);
  SmallVector<OpFoldResult> dynamicCandidate(rank, OpFoldResult());
  auto consider = [&](int64_t d, OpFoldResult size) {
    std::optional<int64_t> extent = constantDim(size);
    if (!extent) {
      if (!dynamicCandidate[d])
        dynamicCandidate[d] = size;
    } else if (*extent != 1 && !isStatic[d]) {
      sizes[d] = size;
      isStatic[d] = true;
    }
  };
  for (Value input : inputs) {
    auto type = cast<RankedTensorType>(input.getType());
    int64_t offset = rank - type.getRank();
    for (int64_t i = 0; i < type.getRank(); ++i)
      consider(offset + i, type.isDynamicDim(i) ? OpFoldResult(tensor::DimOp::create(b, loc, input, i).getResult())
                                                : indexAttr(type.getDimSize(i)));
  }
  int64_t outOffset = rank - int64_t(outSizes.size());
  for (auto [i, size] : llvm::enumerate(outSizes))
    consider(outOffset + i, size);
  for (int64_t d = 0; d < rank; ++d)
    if (!isStatic[d] && dynamicCandidate[d])
      sizes[d] = dynamicCandidate[d];
  SmallVector<int64_t> staticSizes;
  for (OpFoldResult size : sizes)
    staticSizes.push_back(constantDim(size).value_or(ShapedType::kDynamic));

  SmallVector<AffineMap> maps;
  for (Value input : inputs) {
    auto type = cast<RankedTensorType>(input.getType());
    int64_t offset = rank - type.getRank();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      bool broadcast = !type.isDynamicDim(i) && type.getDimSize(i) == 1 && staticSizes[offset + i] != 1;
      exprs.push_back(broadcast ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(offset + i));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, context));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, context));
  Value init = empty(sizes, resultElementType);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     linalg::YieldOp::create(nb, nl, body(nb, nl, args.drop_back()));
                                   })
      .getResult(0);
}

Value Importer::reshape(Value input, ArrayRef<OpFoldResult> sizes) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape;
  SmallVector<Value> elements;
  for (OpFoldResult size : sizes) {
    shape.push_back(constantDim(size).value_or(ShapedType::kDynamic));
    elements.push_back(toIndex(size));
  }
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  if (resultType == type)
    return input;
  Value shapeTensor = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({int64_t(elements.size())}, b.getIndexType()), elements);
  return tensor::ReshapeOp::create(b, loc, resultType, input, shapeTensor);
}

Value Importer::power(Value base, Value exponent) {
  auto baseType = cast<RankedTensorType>(base.getType());
  Type elementType = baseType.getElementType();
  // A constant integer exponent (x^2, x^3 in models) is a product: exact, and cheap.
  DenseElementsAttr splat;
  if (matchPattern(exponent, m_Constant(&splat)) && splat.isSplat() && isa<FloatType>(elementType)) {
    double e = isa<FloatType>(splat.getElementType()) ? splat.getSplatValue<APFloat>().convertToDouble()
                                                      : double(splat.getSplatValue<APInt>().getSExtValue());
    if (e == std::floor(e) && e >= 1 && e <= 4)
      return elementwise({base}, elementType, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value r = a[0];
        for (int i = 1; i < int(e); ++i)
          r = arith::MulFOp::create(nb, nl, r, a[0]);
        return r;
      });
  }
  // x^y = exp(y · log|x|), negated for a negative x and an odd integer y, NaN for a negative x and a fractional
  // y, 1 for y = 0. Integer bases are computed in f32 (exact to 2^24) and rounded. (math.powf would need libm at load time.)
  Type computeType = isa<FloatType>(elementType) ? elementType : Type(b.getF32Type());
  return elementwise({base, exponent}, elementType, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
    Value x = convertScalar(nb, nl, a[0], computeType), y = convertScalar(nb, nl, a[1], computeType);
    auto cst = [&](double v) { return arith::ConstantOp::create(nb, nl, computeType, nb.getFloatAttr(computeType, v)); };
    Value magnitude = math::ExpOp::create(nb, nl, arith::MulFOp::create(nb, nl, y, math::LogOp::create(nb, nl, math::AbsFOp::create(nb, nl, x))));
    Value yFloor = math::FloorOp::create(nb, nl, y);
    Value isInteger = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, yFloor, y);
    Value half = math::FloorOp::create(nb, nl, arith::MulFOp::create(nb, nl, y, cst(0.5)));
    Value isOdd = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::ONE, arith::MulFOp::create(nb, nl, half, cst(2.0)), y);
    Value negative = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT, x, cst(0.0));
    Value signed_ = arith::SelectOp::create(nb, nl, isOdd, arith::NegFOp::create(nb, nl, magnitude), magnitude);
    Value forNegative = arith::SelectOp::create(nb, nl, isInteger, signed_, cst(std::nan("")));
    Value r = arith::SelectOp::create(nb, nl, negative, forNegative, magnitude);
    Value zeroExponent = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, y, cst(0.0));
    r = arith::SelectOp::create(nb, nl, zeroExponent, cst(1.0), r);
    if (!isa<FloatType>(elementType))
      r = math::RoundEvenOp::create(nb, nl, r);
    return convertScalar(nb, nl, r, elementType);
  });
}

FailureOr<SmallVector<Tensor>> Importer::layerNormalization(const Node &node, Value x, Value scale, Value bias,
                                                           int64_t axis) {
  auto type = cast<RankedTensorType>(x.getType());
  Type elementType = type.getElementType();
  if (!isa<FloatType>(elementType))
    return error(node) << "expects a float input", failure();
  double epsilon = floatAttr(node, "epsilon", 1e-5);
  SmallVector<int64_t> axes;
  for (int64_t d = axis; d < type.getRank(); ++d)
    axes.push_back(d);
  Value mean = reduce(x, axes, /*keepDims=*/true, "ReduceMean");
  Value centered = elementwise({x, mean}, elementType, [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
    return arith::SubFOp::create(nb, nl, a[0], a[1]);
  });
  Value squared = elementwise({centered}, elementType, [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
    return arith::MulFOp::create(nb, nl, a[0], a[0]);
  });
  Value variance = reduce(squared, axes, /*keepDims=*/true, "ReduceMean");
  Value invStdDev = elementwise({variance}, elementType, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
    Value eps = arith::ConstantOp::create(nb, nl, elementType, nb.getFloatAttr(elementType, epsilon));
    return math::RsqrtOp::create(nb, nl, arith::AddFOp::create(nb, nl, a[0], eps));
  });
  SmallVector<Value> operands{centered, invStdDev, scale};
  if (bias)
    operands.push_back(bias);
  Value y = elementwise(operands, elementType, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
    Value r = arith::MulFOp::create(nb, nl, arith::MulFOp::create(nb, nl, a[0], a[1]), a[2]);
    return a.size() > 3 ? Value(arith::AddFOp::create(nb, nl, r, a[3])) : r;
  });
  SmallVector<Tensor> results(3);
  results[0].value = y;
  results[1].value = mean;
  results[2].value = invStdDev;
  results.resize(std::min<size_t>(3, node.output_size()));
  return results;
}

Value Importer::transpose(Value input, ArrayRef<int64_t> permutation) {
  SmallVector<OpFoldResult> in = sizesOf(input), out;
  for (int64_t p : permutation)
    out.push_back(in[p]);
  Value init = empty(out, cast<RankedTensorType>(input.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, input, init, permutation).getResult()[0];
}

Value Importer::reduce(Value input, ArrayRef<int64_t> axes, bool keepDims, StringRef kind) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Type elementType = type.getElementType();
  SmallVector<OpFoldResult> inSizes = sizesOf(input), outSizes;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (!reduced) {
      outSizes.push_back(inSizes[d]);
      outExprs.push_back(b.getAffineDimExpr(d));
    } else if (keepDims) {
      outSizes.push_back(indexAttr(1));
      outExprs.push_back(b.getAffineConstantExpr(0));
    }
  }
  double initial = kind == "ReduceMax" ? -std::numeric_limits<double>::infinity() : 0.0;
  if (kind == "ReduceMax" && !isa<FloatType>(elementType))
    initial = double(std::numeric_limits<int64_t>::min());
  Value init = fill(empty(outSizes, elementType), initial);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, context),
                                 AffineMap::get(rank, 0, outExprs, context)};
  bool isFloat = isa<FloatType>(elementType);
  Value result = linalg::GenericOp::create(
                     b, loc, TypeRange{init.getType()}, ValueRange{input}, ValueRange{init}, maps, iterators,
                     [&](OpBuilder &nb, Location nl, ValueRange args) {
                       Value r;
                       if (kind == "ReduceMax")
                         r = isFloat ? Value(arith::MaximumFOp::create(nb, nl, args[0], args[1]))
                                     : Value(arith::MaxSIOp::create(nb, nl, args[0], args[1]));
                       else
                         r = isFloat ? Value(arith::AddFOp::create(nb, nl, args[0], args[1]))
                                     : Value(arith::AddIOp::create(nb, nl, args[0], args[1]));
                       linalg::YieldOp::create(nb, nl, r);
                     })
                     .getResult(0);
  if (kind != "ReduceMean")
    return result;
  // The mean: divide by the number of reduced elements.
  OpFoldResult count = indexAttr(1);
  for (int64_t axis : axes)
    count = indexBinary("Mul", count, inSizes[axis]);
  Value countValue = arith::IndexCastOp::create(b, loc, b.getI64Type(), toIndex(count));
  Value countFloat = convertScalar(b, loc, countValue, elementType);
  return elementwise({result}, elementType, [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
    return arith::DivFOp::create(nb, nl, args[0], countFloat);
  });
}

FailureOr<Tensor *> Importer::get(StringRef name) {
  auto it = values.find(name);
  if (it != values.end())
    return &it->second;
  if (const SafetensorsTensor *tensor = weights->lookup(name)) {
    Tensor t;
    // Small and integer initializers are folded; large float ones stay in the file as parameters.
    bool isFloat = tensor->dtype == "F32" || tensor->dtype == "F64" || tensor->dtype == "F16" || tensor->dtype == "BF16";
    if (!isFloat || product(tensor->shape) <= 16) {
      std::optional<Known> known = constantOf(name);
      if (!known) {
        emitError(fileLoc) << "initializer '" << name << "' has unsupported data type " << tensor->dtype;
        return failure();
      }
      t.known = std::move(known);
    } else {
      if (tensor->dtype != "F32" && tensor->dtype != "F16" && tensor->dtype != "BF16") {
        emitError(fileLoc) << "initializer '" << name << "' is " << tensor->dtype << "; float weights must be "
                           << "F32, F16 or BF16";
        return failure();
      }
      t.value = parameter(name, /*transpose=*/false);
    }
    return &(values[name] = std::move(t));
  }
  const Node *node = producer(name);
  if (!node) {
    emitError(fileLoc) << "value '" << name << "' is used but neither a graph input, an initializer nor a node output";
    return failure();
  }
  if (failed(emitNode(*node)))
    return failure();
  it = values.find(name);
  if (it == values.end())
    return error(*node) << "produced no value '" << name << "'", failure();
  return &it->second;
}

Value Importer::parameter(StringRef name, bool transposed) {
  std::string key = (name + (transposed ? "#T" : "")).str();
  auto it = parameters.find(key);
  if (it != parameters.end())
    return it->second;
  const SafetensorsTensor *tensor = weights->lookup(name);
  SmallVector<int64_t> shape(tensor->shape.begin(), tensor->shape.end());
  if (transposed)
    std::swap(shape[0], shape[1]);
  Type elementType = tensor->dtype == "F16" ? Type(b.getF16Type())
                     : tensor->dtype == "BF16" ? Type(b.getBF16Type())
                                               : Type(b.getF32Type());
  // Parameters are created at the top of @main so every use is dominated.
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(entry);
  Value v = ParameterOp::create(b, fileLoc, RankedTensorType::get(shape, elementType), name, /*stack=*/nullptr,
                                transposed, /*row_offset=*/nullptr);
  parameters[key] = v;
  return v;
}

LogicalResult Importer::emitNode(const Node &node) {
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return error(node) << "operator domain '" << node.domain() << "' is not supported (only the default domain)";
  std::string key = node.output_size() ? node.output(0) : node.name();
  if (!emitting.insert(key).second)
    return error(node) << "the graph has a cycle through this node";
  SmallVector<Tensor> results;
  loc = locOf(node);
  FailureOr<bool> raised = tryRaise(node, results);
  if (failed(raised))
    return failure();
  if (!*raised) {
    results.clear();
    if (failed(emitGeneric(node, results)))
      return failure();
  }
  if (results.size() > size_t(node.output_size()))
    return error(node) << "importer produced too many results";
  for (auto [i, result] : llvm::enumerate(results))
    if (!node.output(i).empty())
      values[node.output(i)] = std::move(result);
  return success();
}

/// Normalises a possibly negative axis; fails if it is out of range.
static std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

FailureOr<int64_t> Importer::axisAttr(const Node &node, int64_t fallback, int64_t rank) {
  int64_t axis = intAttr(node, "axis", fallback);
  if (std::optional<int64_t> normalized = normalizeAxis(axis, rank))
    return *normalized;
  return error(node) << "axis " << axis << " is out of range for rank " << rank;
}

/// Elementwise folding of known contents with numpy broadcasting.
static std::optional<Known> foldElementwise(ArrayRef<const Known *> inputs, Type resultType,
                                            const std::function<double(ArrayRef<double>)> &fn) {
  size_t rank = 0;
  for (const Known *k : inputs)
    rank = std::max(rank, k->shape.size());
  SmallVector<int64_t> shape(rank, 1);
  for (const Known *k : inputs)
    for (size_t i = 0; i < k->shape.size(); ++i) {
      int64_t &out = shape[rank - k->shape.size() + i];
      int64_t extent = k->shape[i];
      if (extent != 1) {
        if (out != 1 && out != extent)
          return std::nullopt;
        out = extent;
      }
    }
  int64_t count = product(shape);
  if (count > (1 << 20))
    return std::nullopt;
  Known result;
  result.elementType = resultType;
  result.shape = shape;
  SmallVector<double> args(inputs.size());
  SmallVector<int64_t> index(rank, 0);
  for (int64_t n = 0; n < count; ++n) {
    for (auto [j, k] : llvm::enumerate(inputs)) {
      int64_t flat = 0;
      size_t offset = rank - k->shape.size();
      for (size_t i = 0; i < k->shape.size(); ++i)
        flat = flat * k->shape[i] + (k->shape[i] == 1 ? 0 : index[offset + i]);
      args[j] = k->at(flat);
    }
    double v = fn(args);
    if (isa<FloatType>(resultType))
      result.floats.push_back(v);
    else if (resultType.isInteger(1))
      result.ints.push_back(v != 0);
    else
      result.ints.push_back(int64_t(v));
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  return result;
}

/// The scalar function of an elementwise ONNX op on doubles, or null.
static std::function<double(ArrayRef<double>)> scalarFunction(StringRef op, bool isInteger) {
  if (op == "Add") return [](ArrayRef<double> a) { return a[0] + a[1]; };
  if (op == "Sub") return [](ArrayRef<double> a) { return a[0] - a[1]; };
  if (op == "Mul") return [](ArrayRef<double> a) { return a[0] * a[1]; };
  if (op == "Div")
    return isInteger ? std::function<double(ArrayRef<double>)>([](ArrayRef<double> a) {
      return a[1] == 0 ? 0.0 : std::trunc(a[0] / a[1]);
    })
                     : [](ArrayRef<double> a) { return a[0] / a[1]; };
  if (op == "Pow") return [](ArrayRef<double> a) { return std::pow(a[0], a[1]); };
  if (op == "Equal") return [](ArrayRef<double> a) { return double(a[0] == a[1]); };
  if (op == "Less") return [](ArrayRef<double> a) { return double(a[0] < a[1]); };
  if (op == "Greater") return [](ArrayRef<double> a) { return double(a[0] > a[1]); };
  if (op == "And") return [](ArrayRef<double> a) { return double(a[0] != 0 && a[1] != 0); };
  if (op == "Or") return [](ArrayRef<double> a) { return double(a[0] != 0 || a[1] != 0); };
  if (op == "Max") return [](ArrayRef<double> a) { return std::max(a[0], a[1]); };
  if (op == "Min") return [](ArrayRef<double> a) { return std::min(a[0], a[1]); };
  if (op == "Where") return [](ArrayRef<double> a) { return a[0] != 0 ? a[1] : a[2]; };
  if (op == "Not") return [](ArrayRef<double> a) { return double(a[0] == 0); };
  if (op == "Neg") return [](ArrayRef<double> a) { return -a[0]; };
  if (op == "Abs") return [](ArrayRef<double> a) { return std::fabs(a[0]); };
  if (op == "Sqrt") return [](ArrayRef<double> a) { return std::sqrt(a[0]); };
  if (op == "Identity") return [](ArrayRef<double> a) { return a[0]; };
  return nullptr;
}

static bool isComparison(StringRef op) {
  return op == "Equal" || op == "Less" || op == "Greater" || op == "And" || op == "Or" || op == "Not";
}

LogicalResult Importer::foldKnown(const Node &node, ArrayRef<Tensor *> inputs, SmallVectorImpl<Tensor> &results,
                                  bool &folded) {
  StringRef op = node.op_type();
  SmallVector<Known> owned;
  owned.reserve(inputs.size());
  SmallVector<const Known *> known;
  for (Tensor *t : inputs) {
    if (!t) {
      known.push_back(nullptr);
      continue;
    }
    if (t->known) {
      known.push_back(&*t->known);
    } else if (t->dims && llvm::all_of(*t->dims, [](OpFoldResult d) { return constantDim(d).has_value(); })) {
      Known k;
      k.elementType = t->dimsElementType ? t->dimsElementType : b.getI64Type();
      if (!t->dimsAreScalar)
        k.shape.push_back(t->dims->size());
      for (OpFoldResult d : *t->dims)
        k.ints.push_back(*constantDim(d));
      owned.push_back(std::move(k));
      known.push_back(&owned.back());
    } else {
      return success(); // not everything known
    }
  }
  auto emitKnown = [&](Known k) {
    Tensor t;
    t.known = std::move(k);
    results.push_back(std::move(t));
    folded = true;
    return success();
  };
  if (known.empty() || !known[0])
    return success();
  Type elementType = known[0]->elementType;
  if (auto fn = scalarFunction(op, !known[0]->isFloat())) {
    SmallVector<const Known *> args(known.begin(), known.end());
    if (llvm::is_contained(args, nullptr))
      return success();
    Type resultType = isComparison(op) ? b.getI1Type() : op == "Where" ? args[1]->elementType : elementType;
    if (std::optional<Known> k = foldElementwise(args, resultType, fn))
      return emitKnown(std::move(*k));
    return success();
  }
  if (op == "Cast") {
    Type to = elementTypeOf(context, intAttr(node, "to", 0));
    if (!to)
      return success();
    std::optional<Known> k = foldElementwise({known[0]}, to, [&](ArrayRef<double> a) {
      return to.isInteger(1) ? double(a[0] != 0) : isa<FloatType>(to) ? a[0] : std::trunc(a[0]);
    });
    return k ? emitKnown(std::move(*k)) : success();
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    // Known contents keep their elements; only the shape changes.
    SmallVector<int64_t> axes;
    if (opset >= 13 && inputs.size() > 1 && known[1]) {
      axes.assign(known[1]->ints.begin(), known[1]->ints.end());
    } else if (std::optional<SmallVector<int64_t>> a = intsAttr(node, "axes")) {
      axes = *a;
    }
    Known k = *known[0];
    SmallVector<int64_t> shape;
    if (op == "Unsqueeze") {
      int64_t rank = k.shape.size() + axes.size();
      for (int64_t &a : axes)
        a = a < 0 ? a + rank : a;
      for (int64_t d = 0, src = 0; d < rank; ++d)
        shape.push_back(llvm::is_contained(axes, d) ? 1 : k.shape[src++]);
    } else {
      int64_t rank = k.shape.size();
      for (int64_t &a : axes)
        a = a < 0 ? a + rank : a;
      for (int64_t d = 0; d < rank; ++d)
        if (axes.empty() ? k.shape[d] != 1 : !llvm::is_contained(axes, d))
          shape.push_back(k.shape[d]);
    }
    k.shape = shape;
    return emitKnown(std::move(k));
  }
  return success();
}

LogicalResult Importer::foldDims(const Node &node, ArrayRef<Tensor *> inputs, SmallVectorImpl<Tensor> &results,
                                 bool &folded) {
  StringRef op = node.op_type();
  auto emitDims = [&](SmallVector<OpFoldResult> dims, bool scalar, Type elementType = {}) {
    Tensor t;
    t.dims = std::move(dims);
    t.dimsAreScalar = scalar;
    t.dimsElementType = elementType;
    results.push_back(std::move(t));
    folded = true;
    return success();
  };
  if (op == "Shape") {
    Tensor *in = inputs[0];
    SmallVector<OpFoldResult> dims;
    if (in->known) {
      for (int64_t d : in->known->shape)
        dims.push_back(indexAttr(d));
    } else if (in->dims && !in->value) {
      if (!in->dimsAreScalar)
        dims.push_back(indexAttr(in->dims->size()));
    } else {
      dims = sizesOf(materialize(*in));
    }
    int64_t rank = dims.size();
    int64_t start = intAttr(node, "start", 0), end = intAttr(node, "end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    return emitDims(SmallVector<OpFoldResult>(dims.begin() + start, dims.begin() + std::max(start, end)), false);
  }
  auto isDims = [](Tensor *t) { return t && t->dims; };
  if (inputs.empty() || !isDims(inputs[0]))
    return success();
  Tensor &in = *inputs[0];
  SmallVector<OpFoldResult> &dims = *in.dims;
  int64_t n = dims.size();
  auto knownInts = [&](unsigned i) -> std::optional<SmallVector<int64_t>> {
    if (i >= inputs.size() || !inputs[i])
      return std::nullopt;
    if (inputs[i]->known && !inputs[i]->known->isFloat())
      return SmallVector<int64_t>(inputs[i]->known->ints.begin(), inputs[i]->known->ints.end());
    if (inputs[i]->dims) {
      SmallVector<int64_t> v;
      for (OpFoldResult d : *inputs[i]->dims) {
        std::optional<int64_t> c = constantDim(d);
        if (!c)
          return std::nullopt;
        v.push_back(*c);
      }
      return v;
    }
    return std::nullopt;
  };
  if (op == "Identity")
    return emitDims(dims, in.dimsAreScalar, in.dimsElementType);
  if (op == "Cast") {
    Type to = elementTypeOf(context, intAttr(node, "to", 0));
    if (!to || !to.isInteger() || to.isInteger(1))
      return success();
    return emitDims(dims, in.dimsAreScalar, to);
  }
  if (op == "Gather" && intAttr(node, "axis", 0) == 0 && !in.dimsAreScalar) {
    std::optional<SmallVector<int64_t>> indices = knownInts(1);
    if (!indices)
      return success();
    SmallVector<OpFoldResult> out;
    for (int64_t i : *indices) {
      if (i < -n || i >= n)
        return error(node) << "index " << i << " is out of range for a shape of rank " << n;
      out.push_back(dims[i < 0 ? i + n : i]);
    }
    bool scalar = inputs[1]->known ? inputs[1]->known->shape.empty() : inputs[1]->dimsAreScalar;
    return emitDims(out, scalar, in.dimsElementType);
  }
  if (op == "Unsqueeze" && in.dimsAreScalar)
    return emitDims(dims, false, in.dimsElementType);
  if (op == "Squeeze" && !in.dimsAreScalar && n == 1)
    return emitDims(dims, true, in.dimsElementType);
  if (op == "Concat") {
    SmallVector<OpFoldResult> out;
    for (Tensor *t : inputs) {
      if (t && t->known && !t->known->isFloat() && t->known->shape.size() == 1) {
        for (int64_t v : t->known->ints)
          out.push_back(indexAttr(v));
      } else if (isDims(t) && !t->dimsAreScalar) {
        out.append(t->dims->begin(), t->dims->end());
      } else {
        return success();
      }
    }
    return emitDims(out, false, in.dimsElementType);
  }
  if (op == "Slice" && !in.dimsAreScalar) {
    std::optional<SmallVector<int64_t>> starts = knownInts(1), ends = knownInts(2), axes = knownInts(3),
                                        steps = knownInts(4);
    if (!starts || !ends || (axes && (axes->size() != 1 || ((*axes)[0] != 0 && (*axes)[0] != -1))) ||
        starts->size() != 1 || ends->size() != 1 || (steps && (*steps)[0] != 1))
      return success();
    int64_t s = (*starts)[0], e = (*ends)[0];
    s = std::clamp<int64_t>(s < 0 ? s + n : s, 0, n);
    e = std::clamp<int64_t>(e < 0 ? e + n : e, 0, n);
    return emitDims(SmallVector<OpFoldResult>(dims.begin() + s, dims.begin() + std::max(s, e)), false,
                    in.dimsElementType);
  }
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    std::optional<SmallVector<OpFoldResult>> rhs;
    if (inputs.size() != 2 || !inputs[1])
      return success();
    if (inputs[1]->dims) {
      rhs = *inputs[1]->dims;
    } else if (std::optional<SmallVector<int64_t>> r = knownInts(1)) {
      rhs.emplace();
      for (int64_t v : *r)
        rhs->push_back(indexAttr(v));
    } else {
      return success();
    }
    int64_t m = std::max<int64_t>(n, rhs->size());
    if ((n != m && n != 1) || (int64_t(rhs->size()) != m && rhs->size() != 1))
      return success();
    SmallVector<OpFoldResult> out;
    for (int64_t i = 0; i < m; ++i)
      out.push_back(indexBinary(op, dims[n == 1 ? 0 : i], (*rhs)[rhs->size() == 1 ? 0 : i]));
    bool scalar = in.dimsAreScalar && (inputs[1]->dims ? inputs[1]->dimsAreScalar : inputs[1]->known->shape.empty());
    return emitDims(out, scalar, in.dimsElementType);
  }
  return success();
}

FailureOr<Value> Importer::sliceAlong(const Node &node, Value input, ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                                      ArrayRef<int64_t> axes, ArrayRef<int64_t> steps,
                                      ArrayRef<OpFoldResult> symbolicEnds, ArrayRef<OpFoldResult> symbolicStarts) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes = sizesOf(input);
  SmallVector<OpFoldResult> offsets(rank, indexAttr(0)), strides(rank, indexAttr(1));
  SmallVector<OpFoldResult> outSizes = sizes;
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axisValue = axes.empty() ? int64_t(i) : axes[i];
    std::optional<int64_t> axis = normalizeAxis(axisValue, rank);
    if (!axis)
      return error(node) << "axis " << axisValue << " is out of range for rank " << rank, failure();
    int64_t step = steps.empty() ? 1 : steps[i];
    if (step <= 0)
      return error(node) << "step " << step << " is not supported (only positive steps)", failure();
    OpFoldResult dim = sizes[*axis];
    std::optional<int64_t> staticDim = constantDim(dim);
    // Normalise the start and end against the dimension: negative counts from the end, then clamp to [0, dim].
    auto bound = [&](int64_t v, OpFoldResult symbolic) -> OpFoldResult {
      if (symbolic) {
        // A bound known only at run time (a start at the cache length): the same rules, in IR.
        Value value = toIndex(symbolic), size = toIndex(dim);
        Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, value, index(0));
        Value fromEnd = arith::AddIOp::create(b, loc, value, size);
        Value normalized = arith::SelectOp::create(b, loc, negative, fromEnd, value);
        Value clamped = arith::MaxSIOp::create(b, loc, normalized, index(0));
        return arith::MinSIOp::create(b, loc, clamped, size).getResult();
      }
      if (staticDim)
        return indexAttr(std::clamp<int64_t>(v < 0 ? v + *staticDim : v, 0, *staticDim));
      if (v >= (int64_t(1) << 62))
        return dim;
      if (v >= 0)
        return arith::MinSIOp::create(b, loc, index(v), toIndex(dim)).getResult();
      Value shifted = arith::AddIOp::create(b, loc, toIndex(dim), index(v));
      return arith::MaxSIOp::create(b, loc, shifted, index(0)).getResult();
    };
    OpFoldResult start = bound(starts[i], i < symbolicStarts.size() ? symbolicStarts[i] : OpFoldResult());
    OpFoldResult end = bound(ends[i], i < symbolicEnds.size() ? symbolicEnds[i] : OpFoldResult());
    // size = max(0, ceil((end - start) / step))
    OpFoldResult size;
    std::optional<int64_t> s = constantDim(start), e = constantDim(end);
    if (s && e) {
      size = indexAttr(std::max<int64_t>(0, llvm::divideCeilSigned(*e - *s, step)));
    } else {
      Value diff = arith::SubIOp::create(b, loc, toIndex(end), toIndex(start));
      Value up = arith::AddIOp::create(b, loc, diff, index(step - 1));
      Value count = arith::DivSIOp::create(b, loc, up, index(step));
      size = arith::MaxSIOp::create(b, loc, count, index(0)).getResult();
    }
    offsets[*axis] = start;
    outSizes[*axis] = size;
    strides[*axis] = indexAttr(step);
  }
  return tensor::ExtractSliceOp::create(b, loc, input, offsets, outSizes, strides).getResult();
}

FailureOr<Value> Importer::sliceAtRunTime(const Node &node, Value input, Value starts, Value ends, Value axes,
                                          Value steps) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  // The number of sliced axes must be static; their values may be known only at run time.
  int64_t count = -1;
  for (Value v : {starts, ends, axes, steps}) {
    if (!v)
      continue;
    auto vType = cast<RankedTensorType>(v.getType());
    if (vType.getRank() != 1 || vType.isDynamicDim(0) || !isa<IntegerType>(vType.getElementType()))
      return error(node) << "starts, ends, axes and steps must be integer vectors of static length, not " << vType,
             failure();
    if (count >= 0 && vType.getDimSize(0) != count)
      return error(node) << "starts, ends, axes and steps have different lengths", failure();
    count = vType.getDimSize(0);
  }
  auto element = [&](Value vector, int64_t j) -> Value {
    Value e = tensor::ExtractOp::create(b, loc, vector, ValueRange{index(j)});
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), e);
  };
  auto cmp = [&](arith::CmpIPredicate p, Value l, Value r) { return arith::CmpIOp::create(b, loc, p, l, r); };
  auto select = [&](Value c, Value t, Value f) { return arith::SelectOp::create(b, loc, c, t, f).getResult(); };
  auto clamp = [&](Value v, Value lo, Value hi) {
    return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, v, lo), hi).getResult();
  };
  Value zero = index(0), one = index(1), minusOne = index(-1);
  SmallVector<OpFoldResult> sizes = sizesOf(input);
  SmallVector<Value> dimStart, dimStep, dimSize;
  for (int64_t d = 0; d < rank; ++d) {
    dimStart.push_back(zero);
    dimStep.push_back(one);
    dimSize.push_back(toIndex(sizes[d]));
  }
  // ONNX's rules per sliced axis of extent D: negative starts and ends count from the end; with a positive step
  // both are clamped to [0, D], with a negative one the start to [0, D - 1] and the end to [-1, D - 1]; the
  // extent is ceil((end - start) / step), at least 0. An axis out of range at run time slices nothing (ONNX
  // makes it an error) and a zero step is read as 1, so that no value makes the code read out of bounds.
  for (int64_t j = 0; j < count; ++j) {
    Value axis = axes ? element(axes, j) : index(j);
    axis = select(cmp(arith::CmpIPredicate::slt, axis, zero), arith::AddIOp::create(b, loc, axis, index(rank)), axis);
    Value step = steps ? element(steps, j) : one;
    step = select(cmp(arith::CmpIPredicate::eq, step, zero), one, step);
    Value positive = cmp(arith::CmpIPredicate::sgt, step, zero);
    Value start = element(starts, j), end = element(ends, j);
    for (int64_t d = 0; d < rank; ++d) {
      Value extent = toIndex(sizes[d]);
      auto fromEnd = [&](Value v) {
        return select(cmp(arith::CmpIPredicate::slt, v, zero), arith::AddIOp::create(b, loc, v, extent), v);
      };
      Value last = arith::SubIOp::create(b, loc, extent, one);
      Value s = select(positive, clamp(fromEnd(start), zero, extent), clamp(fromEnd(start), zero, last));
      Value e = select(positive, clamp(fromEnd(end), zero, extent), clamp(fromEnd(end), minusOne, last));
      // n elements to cover, k per step: (n - 1) / k + 1 if n > 0 (no overflow for huge steps).
      Value n = select(positive, arith::SubIOp::create(b, loc, e, s), arith::SubIOp::create(b, loc, s, e));
      Value k = select(positive, step, arith::SubIOp::create(b, loc, zero, step));
      Value size = arith::AddIOp::create(b, loc, arith::DivSIOp::create(b, loc, arith::SubIOp::create(b, loc, n, one), k),
                                         one);
      size = select(cmp(arith::CmpIPredicate::sgt, n, zero), size, zero);
      Value here = cmp(arith::CmpIPredicate::eq, axis, index(d));
      dimStart[d] = select(here, s, dimStart[d]);
      dimStep[d] = select(here, step, dimStep[d]);
      dimSize[d] = select(here, size, dimSize[d]);
    }
  }
  return gatherSlice(input, dimStart, dimStep, dimSize);
}

Value Importer::gatherSlice(Value input, ArrayRef<Value> starts, ArrayRef<Value> steps, ArrayRef<Value> sizes) {
  int64_t rank = starts.size();
  SmallVector<OpFoldResult> outSizes;
  for (Value size : sizes)
    outSizes.push_back(getAsOpFoldResult(size));
  Value init = empty(outSizes, cast<RankedTensorType>(input.getType()).getElementType());
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, context)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, maps, iterators,
             [&](OpBuilder &nb, Location nl, ValueRange) {
               SmallVector<Value> at;
               for (int64_t d = 0; d < rank; ++d) {
                 Value i = linalg::IndexOp::create(nb, nl, d);
                 at.push_back(arith::AddIOp::create(nb, nl, starts[d], arith::MulIOp::create(nb, nl, i, steps[d])));
               }
               linalg::YieldOp::create(nb, nl, tensor::ExtractOp::create(nb, nl, input, at).getResult());
             })
      .getResult(0);
}

LogicalResult Importer::emitGeneric(const Node &node, SmallVectorImpl<Tensor> &results) {
  StringRef op = node.op_type();
  if (!llvm::is_contained(supportedOnnxOps(), op))
    return error(node) << "unsupported operator " << op << " (opset " << opset
                       << "); effc maps: " << llvm::join(supportedOnnxOps(), ", ");
  if (op == "Constant") {
    const onnx::AttributeProto *a = attr(node, "value");
    std::string why = "has no value, value_float(s) or value_int(s) attribute";
    std::optional<Known> known;
    if (a) {
      FailureOr<Known> k = knownFromProto(context, a->t(), why);
      if (succeeded(k))
        known = *k;
    } else {
      known = constantOf(node.output(0));
    }
    if (!known)
      return error(node) << "the constant " << why;
    Tensor t;
    t.known = std::move(known);
    results.push_back(std::move(t));
    return success();
  }

  SmallVector<Tensor *> inputs;
  for (const std::string &name : node.input()) {
    if (name.empty()) {
      inputs.push_back(nullptr);
      continue;
    }
    FailureOr<Tensor *> t = get(name);
    if (failed(t))
      return failure();
    inputs.push_back(*t);
  }
  loc = locOf(node);
  auto need = [&](unsigned count) -> LogicalResult {
    if (inputs.size() < count || llvm::any_of(ArrayRef(inputs).take_front(count), [](Tensor *t) { return !t; }))
      return error(node) << "expects " << count << " inputs, has " << inputs.size();
    return success();
  };
  if (failed(need(op == "ConstantOfShape" || op == "Range" ? (op == "Range" ? 3 : 1) : 1)))
    return failure();

  bool folded = false;
  if (failed(foldDims(node, inputs, results, folded)))
    return failure();
  if (!folded && failed(foldKnown(node, inputs, results, folded)))
    return failure();
  if (folded)
    return success();

  auto in = [&](unsigned i) { return materialize(*inputs[i]); };
  auto typeOf = [](Value v) { return cast<RankedTensorType>(v.getType()); };
  auto push = [&](Value v) {
    Tensor t;
    t.value = v;
    results.push_back(std::move(t));
    return success();
  };
  auto knownInts = [&](unsigned i) -> FailureOr<SmallVector<int64_t>> {
    if (i >= inputs.size() || !inputs[i])
      return SmallVector<int64_t>();
    FailureOr<std::optional<SmallVector<OpFoldResult>>> dims = dimsOf(node.input(i));
    if (failed(dims))
      return failure();
    SmallVector<int64_t> values;
    if (*dims)
      for (OpFoldResult d : **dims)
        if (std::optional<int64_t> c = constantDim(d))
          values.push_back(*c);
    if (!*dims || values.size() != (*dims)->size()) {
      if (valueIsArgument(node.input(i)))
        return error(node) << "input " << i << " ('" << node.input(i) << "') is a graph input, but it fixes the "
                           << "result's shape, which an ahead-of-time compiler needs constant: bind it at compile "
                           << "time with --bind-input " << node.input(i) << "=FILE.npy", failure();
      return error(node) << "input " << i << " ('" << node.input(i)
                         << "') must be known while importing (a constant or a folded shape)", failure();
    }
    return values;
  };
  /// The axes of Unsqueeze, Squeeze, Reduce*: an attribute before `inputSince`, an input from then on.
  auto axesOf = [&](int64_t inputSince) -> FailureOr<SmallVector<int64_t>> {
    if (opset >= inputSince)
      return knownInts(1);
    return intsAttr(node, "axes").value_or(SmallVector<int64_t>());
  };

  // Elementwise ops.
  if (op == "Identity")
    return results.push_back(*inputs[0]), success();
  static const llvm::StringSet<> binary = {"Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less",
                                           "Greater", "And", "Or", "Max", "Min"};
  if ((op == "Max" || op == "Min") && inputs.size() != 2) {
    // Variadic: one input is the identity, more are reduced pairwise.
    Value acc = in(0);
    bool isFloat = isa<FloatType>(typeOf(acc).getElementType());
    for (unsigned i = 1; i < inputs.size(); ++i)
      acc = elementwise({acc, in(i)}, typeOf(acc).getElementType(), [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        if (isFloat)
          return op == "Max" ? Value(arith::MaximumFOp::create(nb, nl, a[0], a[1]))
                             : Value(arith::MinimumFOp::create(nb, nl, a[0], a[1]));
        if (isUnsigned(node.input(0)))
          return op == "Max" ? Value(arith::MaxUIOp::create(nb, nl, a[0], a[1]))
                             : Value(arith::MinUIOp::create(nb, nl, a[0], a[1]));
        return op == "Max" ? Value(arith::MaxSIOp::create(nb, nl, a[0], a[1]))
                           : Value(arith::MinSIOp::create(nb, nl, a[0], a[1]));
      });
    return push(acc);
  }
  if (binary.contains(op)) {
    if (failed(need(2)))
      return failure();
    Value lhs = in(0), rhs = in(1);
    Type elementType = typeOf(lhs).getElementType();
    bool isFloat = isa<FloatType>(elementType);
    if (op == "Add" && isFloat && lhs.getType() == rhs.getType() && isa<FloatType>(elementType) &&
        elementType.getIntOrFloatBitWidth() <= 32)
      return push(AddOp::create(b, loc, lhs, rhs));
    if (op == "Pow")
      return push(power(lhs, rhs));
    if (op != "Pow" && typeOf(rhs).getElementType() != elementType)
      return error(node) << "operands have different element types (" << elementType << " and "
                         << typeOf(rhs).getElementType() << ")";
    Type resultType = isComparison(op) ? b.getI1Type() : elementType;
    bool isUnsignedOp = !isFloat && isUnsigned(node.input(0));
    return push(elementwise({lhs, rhs}, resultType, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      Value x = a[0], y = a[1];
      if (isFloat) {
        if (op == "Add") return arith::AddFOp::create(nb, nl, x, y);
        if (op == "Sub") return arith::SubFOp::create(nb, nl, x, y);
        if (op == "Mul") return arith::MulFOp::create(nb, nl, x, y);
        if (op == "Div") return arith::DivFOp::create(nb, nl, x, y);
        if (op == "Max") return arith::MaximumFOp::create(nb, nl, x, y);
        if (op == "Min") return arith::MinimumFOp::create(nb, nl, x, y);
        auto predicate = op == "Equal" ? arith::CmpFPredicate::OEQ
                         : op == "Less" ? arith::CmpFPredicate::OLT
                                        : arith::CmpFPredicate::OGT;
        return arith::CmpFOp::create(nb, nl, predicate, x, y);
      }
      if (op == "Add") return arith::AddIOp::create(nb, nl, x, y);
      if (op == "Sub") return arith::SubIOp::create(nb, nl, x, y);
      if (op == "Mul") return arith::MulIOp::create(nb, nl, x, y);
      if (op == "Div" && isUnsignedOp) return arith::DivUIOp::create(nb, nl, x, y);
      if (op == "Max" && isUnsignedOp) return arith::MaxUIOp::create(nb, nl, x, y);
      if (op == "Min" && isUnsignedOp) return arith::MinUIOp::create(nb, nl, x, y);
      if (op == "Div") return arith::DivSIOp::create(nb, nl, x, y);
      if (op == "Max") return arith::MaxSIOp::create(nb, nl, x, y);
      if (op == "Min") return arith::MinSIOp::create(nb, nl, x, y);
      if (op == "And") return arith::AndIOp::create(nb, nl, x, y);
      if (op == "Or") return arith::OrIOp::create(nb, nl, x, y);
      auto predicate = op == "Equal"  ? arith::CmpIPredicate::eq
                       : op == "Less" ? (isUnsignedOp ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt)
                                      : (isUnsignedOp ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt);
      return arith::CmpIOp::create(nb, nl, predicate, x, y);
    }));
  }
  if (op == "Where") {
    if (failed(need(3)))
      return failure();
    Value cond = in(0), x = in(1), y = in(2);
    if (!typeOf(cond).getElementType().isInteger(1))
      return error(node) << "the condition must be a bool tensor";
    return push(elementwise({cond, x, y}, typeOf(x).getElementType(),
                            [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                              return arith::SelectOp::create(nb, nl, a[0], a[1], a[2]);
                            }));
  }
  static const llvm::StringSet<> unary = {"Sqrt", "Erf", "Tanh", "Exp", "Log", "Neg", "Abs", "Reciprocal",
                                          "Floor", "Ceil", "Sin", "Cos", "Not", "Sigmoid", "Relu"};
  if (unary.contains(op)) {
    Value x = in(0);
    Type elementType = typeOf(x).getElementType();
    bool isFloat = isa<FloatType>(elementType);
    bool effFloat = elementType.isF32() || elementType.isF16() || elementType.isBF16();
    if ((op == "Sigmoid" || op == "Relu") && effFloat)
      return push(ActivationOp::create(b, loc, op == "Relu" ? ActivationKind::relu : ActivationKind::sigmoid, x));
    if (!isFloat && op != "Neg" && op != "Abs" && op != "Not" && op != "Relu")
      return error(node) << "is not supported on " << elementType << " tensors";
    if (!elementType.isInteger(1) && op == "Not")
      return error(node) << "expects a bool tensor";
    return push(elementwise({x}, elementType, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      Value v = a[0];
      auto one = [&] { return arith::ConstantOp::create(nb, nl, elementType, nb.getFloatAttr(elementType, 1.0)); };
      if (op == "Not")
        return arith::XOrIOp::create(nb, nl, v, arith::ConstantOp::create(nb, nl, elementType, nb.getBoolAttr(true)));
      if (!isFloat) {
        Value zero = arith::ConstantOp::create(nb, nl, elementType, nb.getIntegerAttr(elementType, 0));
        if (op == "Neg") return arith::SubIOp::create(nb, nl, zero, v);
        if (op == "Relu") return arith::MaxSIOp::create(nb, nl, v, zero);
        return math::AbsIOp::create(nb, nl, v);
      }
      if (op == "Sqrt") return math::SqrtOp::create(nb, nl, v);
      if (op == "Erf") return math::ErfOp::create(nb, nl, v);
      if (op == "Tanh") return math::TanhOp::create(nb, nl, v);
      if (op == "Exp") return math::ExpOp::create(nb, nl, v);
      if (op == "Log") return math::LogOp::create(nb, nl, v);
      if (op == "Neg") return arith::NegFOp::create(nb, nl, v);
      if (op == "Abs") return math::AbsFOp::create(nb, nl, v);
      if (op == "Floor") return math::FloorOp::create(nb, nl, v);
      if (op == "Ceil") return math::CeilOp::create(nb, nl, v);
      if (op == "Sin") return math::SinOp::create(nb, nl, v);
      if (op == "Cos") return math::CosOp::create(nb, nl, v);
      if (op == "Reciprocal") return arith::DivFOp::create(nb, nl, one(), v);
      if (op == "Relu") {
        Value zero = arith::ConstantOp::create(nb, nl, elementType, nb.getFloatAttr(elementType, 0.0));
        return arith::MaximumFOp::create(nb, nl, v, zero);
      }
      // Sigmoid on f64: 1 / (1 + exp(-x)).
      Value e = math::ExpOp::create(nb, nl, arith::NegFOp::create(nb, nl, v));
      return arith::DivFOp::create(nb, nl, one(), arith::AddFOp::create(nb, nl, one(), e));
    }));
  }
  if (op == "Cast") {
    Type to = elementTypeOf(context, intAttr(node, "to", 0));
    if (!to)
      return error(node) << "casts to data type " << dataTypeName(intAttr(node, "to", 0))
                         << ", which effc does not support";
    Value x = in(0);
    bool fromUnsigned = isUnsigned(node.input(0)), toUnsigned = isUnsigned(node.output(0));
    return push(elementwise({x}, to, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return convertScalar(nb, nl, a[0], to, fromUnsigned, toUnsigned);
    }));
  }

  // Contractions and normalisations.
  if (op == "MatMul") {
    if (failed(need(2)))
      return failure();
    Value lhs = in(0), rhs = in(1);
    if (!isa<FloatType>(typeOf(lhs).getElementType()) || typeOf(lhs).getElementType() != typeOf(rhs).getElementType())
      return error(node) << "supports float operands of one element type only";
    int64_t lr = typeOf(lhs).getRank(), rr = typeOf(rhs).getRank();
    if (lr == 0 || rr == 0)
      return error(node) << "operands must have rank >= 1, got ranks " << lr << " and " << rr;
    // 1-D operands become matrices and the added dimension is dropped from the result.
    SmallVector<OpFoldResult> lhsSizes = sizesOf(lhs), rhsSizes = sizesOf(rhs);
    if (lr == 1)
      lhs = reshape(lhs, {indexAttr(1), lhsSizes[0]});
    if (rr == 1)
      rhs = reshape(rhs, {rhsSizes[0], indexAttr(1)});
    int64_t l = typeOf(lhs).getRank(), r = typeOf(rhs).getRank();
    if (r != 2 && l != r) {
      // Broadcast the batch dimensions of the lower-rank operand.
      Value &low = l < r ? lhs : rhs;
      Value high = l < r ? rhs : lhs;
      SmallVector<OpFoldResult> sizes = sizesOf(high), lowSizes = sizesOf(low);
      int64_t hr = sizes.size(), lowRank = lowSizes.size();
      sizes[hr - 2] = lowSizes[lowRank - 2];
      sizes[hr - 1] = lowSizes[lowRank - 1];
      low = elementwise({low}, typeOf(low).getElementType(),
                        [](OpBuilder &, Location, ValueRange a) { return a[0]; }, sizes);
    }
    FailureOr<Value> matmul = inferred<MatmulOp>(lhs, rhs, /*transpose_b=*/false);
    if (failed(matmul))
      return failure();
    Value product = *matmul;
    if (lr == 1 || rr == 1) {
      SmallVector<OpFoldResult> sizes = sizesOf(product);
      if (rr == 1)
        sizes.pop_back();
      if (lr == 1)
        sizes.erase(sizes.end() - (rr == 1 ? 1 : 2));
      product = reshape(product, sizes);
    }
    return push(product);
  }
  if (op == "Gemm") {
    if (failed(need(2)))
      return failure();
    Value a = in(0), bm = in(1);
    if (typeOf(a).getRank() != 2 || typeOf(bm).getRank() != 2)
      return error(node) << "expects 2-D A and B";
    if (intAttr(node, "transA", 0))
      a = transpose(a, {1, 0});
    bool transB = intAttr(node, "transB", 0);
    FailureOr<Value> matmul = inferred<MatmulOp>(a, bm, transB);
    if (failed(matmul))
      return failure();
    Value y = *matmul;
    Type elementType = typeOf(y).getElementType();
    double alpha = floatAttr(node, "alpha", 1.0), beta = floatAttr(node, "beta", 1.0);
    Value c = inputs.size() > 2 && inputs[2] ? in(2) : Value();
    if (alpha == 1.0 && (!c || beta == 0.0))
      return push(y);
    SmallVector<Value> operands{y};
    if (c && beta != 0.0)
      operands.push_back(c);
    return push(elementwise(operands, elementType, [&](OpBuilder &nb, Location nl, ValueRange v) -> Value {
      Value r = v[0];
      if (alpha != 1.0)
        r = arith::MulFOp::create(nb, nl, r, arith::ConstantOp::create(nb, nl, elementType, nb.getFloatAttr(elementType, alpha)));
      if (v.size() > 1) {
        Value cv = v[1];
        if (beta != 1.0)
          cv = arith::MulFOp::create(nb, nl, cv, arith::ConstantOp::create(nb, nl, elementType, nb.getFloatAttr(elementType, beta)));
        r = arith::AddFOp::create(nb, nl, r, cv);
      }
      return r;
    }));
  }
  if (op == "Softmax") {
    Value x = in(0);
    int64_t rank = typeOf(x).getRank();
    int64_t axisValue = intAttr(node, "axis", opset >= 13 ? -1 : 1);
    std::optional<int64_t> axis = normalizeAxis(axisValue, rank);
    if (!axis)
      return error(node) << "axis " << axisValue << " is out of range for rank " << rank;
    if (opset >= 13 || *axis == rank - 1)
      return push(SoftmaxOp::create(b, loc, x, b.getI64IntegerAttr(*axis)));
    // Before opset 13 the softmax runs over the input flattened to 2-D at `axis`.
    SmallVector<OpFoldResult> sizes = sizesOf(x);
    OpFoldResult rows = indexAttr(1), cols = indexAttr(1);
    for (int64_t d = 0; d < rank; ++d)
      (d < *axis ? rows : cols) = indexBinary("Mul", d < *axis ? rows : cols, sizes[d]);
    Value flat = reshape(x, {rows, cols});
    return push(reshape(SoftmaxOp::create(b, loc, flat, b.getI64IntegerAttr(1)), sizes));
  }
  if (op == "LayerNormalization") {
    if (failed(need(2)))
      return failure();
    Value x = in(0);
    int64_t rank = typeOf(x).getRank();
    FailureOr<int64_t> axis = axisAttr(node, -1, rank);
    if (failed(axis))
      return failure();
    Value scale = in(1), bias = inputs.size() > 2 && inputs[2] ? in(2) : Value();
    bool statistics = node.output_size() > 1 &&
                      llvm::any_of(llvm::drop_begin(node.output()), [](const std::string &o) { return !o.empty(); });
    auto isVector = [&](Value v) { return !v || typeOf(v).getRank() == 1; };
    Type elementType = typeOf(x).getElementType();
    if (!statistics && *axis == rank - 1 && isVector(scale) && isVector(bias) &&
        (elementType.isF32() || elementType.isF16() || elementType.isBF16()))
    {
      FailureOr<Value> y = inferred<LayerNormOp>(x, scale, bias, b.getF32FloatAttr(floatAttr(node, "epsilon", 1e-5)));
      return failed(y) ? failure() : push(*y);
    }
    // Over several axes, or with the Mean and InvStdDev outputs: the reductions themselves.
    FailureOr<SmallVector<Tensor>> outputs = layerNormalization(node, x, scale, bias, *axis);
    if (failed(outputs))
      return failure();
    results.append(outputs->begin(), outputs->end());
    return success();
  }
  if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax") {
    Value x = in(0);
    int64_t rank = typeOf(x).getRank();
    FailureOr<SmallVector<int64_t>> axes = axesOf(op == "ReduceSum" ? 13 : 18);
    if (failed(axes))
      return failure();
    if (axes->empty()) {
      if (intAttr(node, "noop_with_empty_axes", 0))
        return push(x);
      for (int64_t d = 0; d < rank; ++d)
        axes->push_back(d);
    }
    for (int64_t &a : *axes) {
      std::optional<int64_t> axis = normalizeAxis(a, rank);
      if (!axis)
        return error(node) << "axis " << a << " is out of range for rank " << rank;
      a = *axis;
    }
    return push(reduce(x, *axes, intAttr(node, "keepdims", 1), op));
  }

  // Data movement.
  if (op == "Transpose") {
    Value x = in(0);
    int64_t rank = typeOf(x).getRank();
    SmallVector<int64_t> perm = intsAttr(node, "perm").value_or(SmallVector<int64_t>());
    if (perm.empty())
      for (int64_t d = rank - 1; d >= 0; --d)
        perm.push_back(d);
    if (int64_t(perm.size()) != rank)
      return error(node) << "perm has " << perm.size() << " entries for rank " << rank;
    SmallVector<bool> seen(rank, false);
    for (int64_t p : perm) {
      if (p < 0 || p >= rank || seen[p])
        return error(node) << "perm is not a permutation of the " << rank << " dimensions";
      seen[p] = true;
    }
    return push(transpose(x, perm));
  }
  if (op == "Reshape" || op == "Expand" || op == "ConstantOfShape") {
    unsigned shapeInput = op == "ConstantOfShape" ? 0 : 1;
    if (failed(need(shapeInput + 1)))
      return failure();
    FailureOr<std::optional<SmallVector<OpFoldResult>>> dims = dimsOf(node.input(shapeInput));
    if (failed(dims))
      return failure();
    // A shape only known at run time (a 1-D tensor of static length) is read element by element.
    bool fromData = false;
    if (!*dims) {
      Value shape = in(shapeInput);
      auto shapeType = typeOf(shape);
      if (shapeType.getRank() != 1 || shapeType.isDynamicDim(0) || !shapeType.getElementType().isInteger(64))
        return error(node) << "the shape ('" << node.input(shapeInput)
                           << "') must be an i64 vector of static length or known while importing";
      dims->emplace();
      for (int64_t i = 0; i < shapeType.getDimSize(0); ++i) {
        Value element = tensor::ExtractOp::create(b, loc, shape, ValueRange{index(i)});
        (*dims)->push_back(arith::IndexCastOp::create(b, loc, b.getIndexType(), element).getResult());
      }
      fromData = true;
    }
    SmallVector<OpFoldResult> sizes = **dims;
    if (op == "ConstantOfShape") {
      Known value;
      value.elementType = b.getF32Type();
      value.floats.push_back(0.0);
      if (const onnx::AttributeProto *a = attr(node, "value")) {
        std::string why;
        FailureOr<Known> k = knownFromProto(context, a->t(), why);
        if (failed(k) || k->size() != 1)
          return error(node) << "the value " << (failed(k) ? why : "must have one element");
        value = *k;
      }
      if (llvm::all_of(sizes, [](OpFoldResult s) { return constantDim(s).has_value(); })) {
        Known k;
        k.elementType = value.elementType;
        for (OpFoldResult s : sizes)
          k.shape.push_back(*constantDim(s));
        int64_t count = product(k.shape);
        if (count <= (1 << 16)) {
          if (value.isFloat())
            k.floats.assign(count, value.floats[0]);
          else
            k.ints.assign(count, value.ints[0]);
          Tensor t;
          t.known = std::move(k);
          results.push_back(std::move(t));
          return success();
        }
      }
      return push(fill(empty(sizes, value.elementType), value.at(0)));
    }
    Value x = in(0);
    if (op == "Expand")
      return push(elementwise({x}, typeOf(x).getElementType(),
                              [](OpBuilder &, Location, ValueRange a) { return a[0]; }, sizes));
    // Reshape: 0 copies the input's dimension (unless allowzero), -1 is inferred.
    SmallVector<OpFoldResult> inSizes = sizesOf(x);
    bool allowZero = intAttr(node, "allowzero", 0);
    if (fromData) {
      // Resolved at run time: d = (s == 0 && !allowzero) ? input dim : s; then the -1 (if any) is inferred.
      Value total = index(1), known = index(1);
      for (OpFoldResult size : inSizes)
        total = arith::MulIOp::create(b, loc, total, toIndex(size));
      SmallVector<Value> resolved;
      Value minusOne = index(-1);
      for (auto [i, size] : llvm::enumerate(sizes)) {
        Value s = toIndex(size);
        if (!allowZero && i < inSizes.size()) {
          Value isZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, s, index(0));
          s = arith::SelectOp::create(b, loc, isZero, toIndex(inSizes[i]), s);
        }
        resolved.push_back(s);
        Value isInferred = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, s, minusOne);
        known = arith::MulIOp::create(b, loc, known, arith::SelectOp::create(b, loc, isInferred, index(1), s));
      }
      // A zero extent (allowzero) makes the product of the others 0: divided by 1 instead, so the division
      // cannot trap. The result has a zero extent either way, so it holds no element.
      Value knownIsZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, known, index(0));
      known = arith::SelectOp::create(b, loc, knownIsZero, index(1), known);
      Value inferredSize = arith::DivSIOp::create(b, loc, total, known);
      for (auto [i, s] : llvm::enumerate(resolved)) {
        Value isInferred = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, s, minusOne);
        sizes[i] = arith::SelectOp::create(b, loc, isInferred, inferredSize, s).getResult();
      }
      return push(reshape(x, sizes));
    }
    int64_t inferred = -1;
    OpFoldResult known = indexAttr(1);
    for (auto [i, size] : llvm::enumerate(sizes)) {
      std::optional<int64_t> c = constantDim(size);
      if (c == 0 && !allowZero) {
        if (i >= inSizes.size())
          return error(node) << "copies dimension " << i << " of a rank-" << inSizes.size() << " input";
        size = inSizes[i];
      } else if (c == -1) {
        if (inferred >= 0)
          return error(node) << "has more than one -1 in its shape";
        inferred = i;
        continue;
      } else if (c && *c < 0) {
        return error(node) << "has invalid extent " << *c << " in its shape";
      }
      known = indexBinary("Mul", known, size);
    }
    if (inferred >= 0) {
      OpFoldResult total = indexAttr(1);
      for (OpFoldResult s : inSizes)
        total = indexBinary("Mul", total, s);
      sizes[inferred] = indexBinary("Div", total, known);
    }
    return push(reshape(x, sizes));
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    Value x = in(0);
    SmallVector<OpFoldResult> sizes = sizesOf(x), out;
    FailureOr<SmallVector<int64_t>> axes = axesOf(13);
    if (failed(axes))
      return failure();
    int64_t rank = op == "Unsqueeze" ? int64_t(sizes.size() + axes->size()) : int64_t(sizes.size());
    for (int64_t &a : *axes) {
      std::optional<int64_t> axis = normalizeAxis(a, rank);
      if (!axis)
        return error(node) << "axis " << a << " is out of range for rank " << rank;
      a = *axis;
    }
    for (auto [i, a] : llvm::enumerate(*axes))
      if (llvm::is_contained(ArrayRef<int64_t>(*axes).take_front(i), a))
        return error(node) << "lists axis " << a << " twice";
    if (op == "Unsqueeze") {
      for (int64_t d = 0, src = 0; d < rank; ++d)
        out.push_back(llvm::is_contained(*axes, d) ? indexAttr(1) : sizes[src++]);
    } else {
      for (int64_t d = 0; d < rank; ++d) {
        bool squeezed = axes->empty() ? constantDim(sizes[d]) == 1 : llvm::is_contained(*axes, d);
        if (squeezed && constantDim(sizes[d]).value_or(1) != 1)
          return error(node) << "squeezes dimension " << d << " of extent " << *constantDim(sizes[d]);
        if (!squeezed)
          out.push_back(sizes[d]);
      }
    }
    return push(reshape(x, out));
  }
  if (op == "Concat") {
    SmallVector<Value> parts;
    for (unsigned i = 0; i < inputs.size(); ++i)
      if (inputs[i])
        parts.push_back(in(i));
    int64_t rank = typeOf(parts[0]).getRank();
    FailureOr<int64_t> axis = axisAttr(node, 0, rank);
    if (failed(axis))
      return failure();
    if (parts.size() == 1)
      return push(parts[0]);
    for (Value part : parts)
      if (typeOf(part).getRank() != rank || typeOf(part).getElementType() != typeOf(parts[0]).getElementType())
        return error(node) << "inputs of different ranks or element types";
    return push(tensor::ConcatOp::create(b, loc, *axis, parts));
  }
  if (op == "Gather") {
    if (failed(need(2)))
      return failure();
    Value data = in(0), indices = in(1);
    auto dataType = typeOf(data), indexType = typeOf(indices);
    int64_t rank = dataType.getRank();
    FailureOr<int64_t> axis = axisAttr(node, 0, rank);
    if (failed(axis))
      return failure();
    SmallVector<OpFoldResult> dataSizes = sizesOf(data), indexSizes = sizesOf(indices), outSizes;
    outSizes.append(dataSizes.begin(), dataSizes.begin() + *axis);
    outSizes.append(indexSizes.begin(), indexSizes.end());
    outSizes.append(dataSizes.begin() + *axis + 1, dataSizes.end());
    int64_t outRank = outSizes.size(), indexRank = indexType.getRank();
    Value init = empty(outSizes, dataType.getElementType());
    Value axisSize = toIndex(dataSizes[*axis]);
    SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(outRank, context)};
    SmallVector<utils::IteratorType> iterators(outRank, utils::IteratorType::parallel);
    return push(linalg::GenericOp::create(
                    b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, maps, iterators,
                    [&](OpBuilder &nb, Location nl, ValueRange) {
                      SmallVector<Value> at, dataAt;
                      for (int64_t d = 0; d < indexRank; ++d)
                        at.push_back(linalg::IndexOp::create(nb, nl, *axis + d));
                      Value i = tensor::ExtractOp::create(nb, nl, indices, at);
                      Value idx = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), i);
                      // Negative indices count from the end.
                      Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
                      Value negative = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, idx, zero);
                      Value wrapped = arith::AddIOp::create(nb, nl, idx, axisSize);
                      idx = arith::SelectOp::create(nb, nl, negative, wrapped, idx);
                      for (int64_t d = 0; d < *axis; ++d)
                        dataAt.push_back(linalg::IndexOp::create(nb, nl, d));
                      dataAt.push_back(idx);
                      for (int64_t d = *axis + 1; d < rank; ++d)
                        dataAt.push_back(linalg::IndexOp::create(nb, nl, d - 1 + indexRank));
                      linalg::YieldOp::create(nb, nl, tensor::ExtractOp::create(nb, nl, data, dataAt).getResult());
                    })
                    .getResult(0));
  }
  if (op == "GatherElements") {
    // out[i...] = data[i...] with the axis' coordinate replaced by indices[i...] (torch.gather): the result has
    // the indices' shape. Negative indices count from the end; out-of-range ones, invalid ONNX, are clamped to
    // the axis rather than read out of bounds.
    if (failed(need(2)))
      return failure();
    Value data = in(0), indices = in(1);
    auto dataType = typeOf(data), indexType = typeOf(indices);
    int64_t rank = dataType.getRank();
    if (indexType.getRank() != rank)
      return error(node) << "indices have rank " << indexType.getRank() << ", the data " << rank;
    FailureOr<int64_t> axis = axisAttr(node, 0, rank);
    if (failed(axis))
      return failure();
    Value init = empty(sizesOf(indices), dataType.getElementType());
    Value axisSize = toIndex(sizesOf(data)[*axis]);
    SmallVector<AffineMap> maps(2, AffineMap::getMultiDimIdentityMap(rank, context));
    SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
    return push(linalg::GenericOp::create(
                    b, loc, TypeRange{init.getType()}, ValueRange{indices}, ValueRange{init}, maps, iterators,
                    [&](OpBuilder &nb, Location nl, ValueRange args) {
                      Value idx = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), args[0]);
                      Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
                      Value negative = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, idx, zero);
                      Value wrapped = arith::AddIOp::create(nb, nl, idx, axisSize);
                      idx = arith::SelectOp::create(nb, nl, negative, wrapped, idx);
                      Value last = arith::SubIOp::create(nb, nl, axisSize, arith::ConstantIndexOp::create(nb, nl, 1));
                      idx = arith::MinSIOp::create(nb, nl, arith::MaxSIOp::create(nb, nl, idx, zero), last);
                      SmallVector<Value> dataAt;
                      for (int64_t d = 0; d < rank; ++d)
                        dataAt.push_back(d == *axis ? idx : Value(linalg::IndexOp::create(nb, nl, d)));
                      linalg::YieldOp::create(nb, nl, tensor::ExtractOp::create(nb, nl, data, dataAt).getResult());
                    })
                    .getResult(0));
  }
  if (op == "Slice") {
    Value x = in(0);
    SmallVector<int64_t> starts, ends, axes, steps;
    SmallVector<OpFoldResult> symbolicStarts, symbolicEnds;
    if (opset < 10) {
      starts = intsAttr(node, "starts").value_or(SmallVector<int64_t>());
      ends = intsAttr(node, "ends").value_or(SmallVector<int64_t>());
      axes = intsAttr(node, "axes").value_or(SmallVector<int64_t>());
    } else {
      if (failed(need(3)))
        return failure();
      // Starts, ends, axes or steps computed at run time (graph inputs), or a negative step: a gather whose
      // every bound is computed in IR. The result's rank is the input's whatever their values.
      auto isKnown = [&](unsigned i) {
        if (i >= inputs.size() || !inputs[i])
          return true;
        FailureOr<std::optional<SmallVector<OpFoldResult>>> d = dimsOf(node.input(i));
        return succeeded(d) && d->has_value();
      };
      auto optional = [&](unsigned i) { return i < inputs.size() && inputs[i] ? in(i) : Value(); };
      bool negativeStep = false;
      if (inputs.size() > 4 && inputs[4] && inputs[4]->known)
        negativeStep = llvm::any_of(inputs[4]->known->ints, [](int64_t v) { return v < 0; });
      if (!isKnown(1) || !isKnown(2) || !isKnown(3) || !isKnown(4) || negativeStep) {
        FailureOr<Value> sliced = sliceAtRunTime(node, x, in(1), in(2), optional(3), optional(4));
        if (failed(sliced))
          return failure();
        return push(*sliced);
      }
      FailureOr<SmallVector<int64_t>> a = knownInts(3), st = knownInts(4);
      if (failed(a) || failed(st))
        return failure();
      axes = *a, steps = *st;
      // The starts and ends may be known only at run time (x[:, :seq], a table read at the cache length:
      // cos[past : past + seq]); they must be shape computations, so that the result's rank is known.
      for (auto [input, what, known, symbolic] :
           {std::make_tuple(1, "starts", &starts, &symbolicStarts), std::make_tuple(2, "ends", &ends, &symbolicEnds)}) {
        FailureOr<std::optional<SmallVector<OpFoldResult>>> bounds = dimsOf(node.input(input));
        if (failed(bounds))
          return failure();
        if (!*bounds)
          return error(node) << "the " << what << " ('" << node.input(input) << "') must be known while importing";
        for (OpFoldResult d : **bounds) {
          std::optional<int64_t> c = constantDim(d);
          known->push_back(c.value_or(0));
          symbolic->push_back(c ? OpFoldResult() : d);
        }
      }
    }
    if (starts.size() != ends.size() || (!axes.empty() && axes.size() != starts.size()) ||
        (!steps.empty() && steps.size() != starts.size()))
      return error(node) << "starts, ends, axes and steps have different lengths";
    FailureOr<Value> sliced = sliceAlong(node, x, starts, ends, axes, steps, symbolicEnds, symbolicStarts);
    if (failed(sliced))
      return failure();
    return push(*sliced);
  }
  if (op == "TopK") {
    // The k largest (or smallest) elements along `axis` and their indices, in order (ties: the lower index
    // first, as ONNX specifies; `sorted = 0` allows any order, so sorted is right too). One arg-max reduction per
    // output position, each skipping the indices already taken: k passes over the input, for the small k of
    // routing (top-2 of the experts) and sampling.
    Value x = in(0);
    auto type = typeOf(x);
    int64_t rank = type.getRank();
    FailureOr<int64_t> axis = axisAttr(node, -1, rank);
    if (failed(axis))
      return failure();
    int64_t k = intAttr(node, "k", -1);
    if (opset >= 10) {
      if (failed(need(2)))
        return failure();
      FailureOr<SmallVector<int64_t>> ks = knownInts(1);
      if (failed(ks))
        return failure();
      if (ks->size() != 1)
        return error(node) << "k must have one element, has " << ks->size();
      k = (*ks)[0];
    }
    constexpr int64_t maxK = 64;
    if (k < 0 || k > maxK)
      return error(node) << "k = " << k << " is not supported (0 to " << maxK << ")";
    SmallVector<OpFoldResult> sizes = sizesOf(x);
    if (std::optional<int64_t> extent = constantDim(sizes[*axis]); extent && k > *extent)
      return error(node) << "k = " << k << " is larger than the axis' " << *extent << " elements";
    bool largest = intAttr(node, "largest", 1) != 0;
    bool unsignedValues = isUnsigned(node.input(0));
    Type elementType = type.getElementType();
    bool isFloat = isa<FloatType>(elementType);
    if (!isFloat && !elementType.isSignlessInteger())
      return error(node) << "element type " << elementType << " is not supported";
    SmallVector<OpFoldResult> reducedSizes(sizes), outSizes(sizes);
    reducedSizes.erase(reducedSizes.begin() + *axis);
    outSizes[*axis] = indexAttr(k);
    SmallVector<AffineExpr> reducedExprs;
    SmallVector<utils::IteratorType> iterators;
    for (int64_t d = 0; d < rank; ++d) {
      iterators.push_back(d == *axis ? utils::IteratorType::reduction : utils::IteratorType::parallel);
      if (d != *axis)
        reducedExprs.push_back(b.getAffineDimExpr(d));
    }
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
    AffineMap reducedMap = AffineMap::get(rank, 0, reducedExprs, context);
    Type i64 = b.getI64Type();
    constexpr int64_t none = -1; // no index taken yet
    Value values = empty(outSizes, elementType), indices = empty(outSizes, i64);
    SmallVector<Value> taken;
    for (int64_t j = 0; j < k; ++j) {
      Value bestInit = fill(empty(reducedSizes, elementType), 0.0);
      Value indexInit = fill(empty(reducedSizes, i64), double(none));
      SmallVector<Value> ins = {x};
      ins.append(taken);
      SmallVector<AffineMap> maps = {identity};
      maps.append(taken.size() + 2, reducedMap);
      auto pass = linalg::GenericOp::create(
          b, loc, TypeRange{bestInit.getType(), indexInit.getType()}, ins, ValueRange{bestInit, indexInit}, maps,
          iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value value = args[0], best = args[args.size() - 2], bestIndex = args.back();
            Value index = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, *axis));
            // Not taken by an earlier pass.
            Value free = arith::ConstantIntOp::create(nb, nl, 1, 1);
            for (Value earlier : args.slice(1, args.size() - 3))
              free = arith::AndIOp::create(
                  nb, nl, free, arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne, index, earlier));
            Value better = isFloat ? Value(arith::CmpFOp::create(nb, nl,
                                                                 largest ? arith::CmpFPredicate::OGT
                                                                         : arith::CmpFPredicate::OLT,
                                                                 value, best))
                                   : Value(arith::CmpIOp::create(
                                         nb, nl,
                                         largest ? (unsignedValues ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt)
                                                 : (unsignedValues ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt),
                                         value, best));
            Value first = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, bestIndex,
                                                arith::ConstantIntOp::create(nb, nl, none, 64));
            // Equal values: the lower index (the reduction may visit the axis in any order).
            Value equal = isFloat ? Value(arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, value, best))
                                  : Value(arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, value, best));
            Value lower = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, index, bestIndex);
            Value tie = arith::AndIOp::create(nb, nl, equal, lower);
            Value wins = arith::OrIOp::create(nb, nl, first, arith::OrIOp::create(nb, nl, better, tie));
            wins = arith::AndIOp::create(nb, nl, free, wins);
            linalg::YieldOp::create(nb, nl,
                                    ValueRange{arith::SelectOp::create(nb, nl, wins, value, best).getResult(),
                                               arith::SelectOp::create(nb, nl, wins, index, bestIndex).getResult()});
          });
      taken.push_back(pass.getResult(1));
      // Position j of the outputs along the axis.
      SmallVector<OpFoldResult> offsets(rank, indexAttr(0)), ones(rank, indexAttr(1)), slice(sizes);
      offsets[*axis] = indexAttr(j);
      slice[*axis] = indexAttr(1);
      values = tensor::InsertSliceOp::create(b, loc, pass.getResult(0), values, offsets, slice, ones);
      indices = tensor::InsertSliceOp::create(b, loc, pass.getResult(1), indices, offsets, slice, ones);
    }
    (void)push(values); // always succeeds
    return push(indices);
  }
  if (op == "Split") {
    Value x = in(0);
    int64_t rank = typeOf(x).getRank();
    FailureOr<int64_t> axis = axisAttr(node, 0, rank);
    if (failed(axis))
      return failure();
    SmallVector<int64_t> split;
    int64_t parts = node.output_size();
    if (opset >= 13 && inputs.size() > 1 && inputs[1] && !inputs[1]->known && !inputs[1]->dims) {
      // Sizes known only at run time (a graph input): the output count fixes how many. Each part starts where
      // the previous ended; starts and sizes are clamped to the axis, so sizes that do not add up to its extent
      // (invalid ONNX) give short or empty parts rather than reads out of bounds.
      Value sizesVector = in(1);
      auto vType = typeOf(sizesVector);
      if (vType.getRank() != 1 || vType.isDynamicDim(0) || vType.getDimSize(0) != parts ||
          !isa<IntegerType>(vType.getElementType()))
        return error(node) << "the split sizes ('" << node.input(1) << "') are " << vType << ", expected one per output ("
                           << parts << ")";
      Value extent = toIndex(sizesOf(x)[*axis]), offset = index(0), zero = index(0);
      for (int64_t i = 0; i < parts; ++i) {
        Value size = arith::IndexCastOp::create(
            b, loc, b.getIndexType(), tensor::ExtractOp::create(b, loc, sizesVector, ValueRange{index(i)}));
        Value left = arith::SubIOp::create(b, loc, extent, offset);
        size = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, size, zero), left);
        // A gather rather than tensor.extract_slice: a strided slice of run-time extent returned as is would be
        // copied by memref.copy, which lowers to a call of MLIR's C runner library.
        SmallVector<Value> starts(rank, zero), steps(rank, index(1)), partSizes;
        for (OpFoldResult d : sizesOf(x))
          partSizes.push_back(toIndex(d));
        starts[*axis] = offset;
        partSizes[*axis] = size;
        (void)push(gatherSlice(x, starts, steps, partSizes));
        offset = arith::AddIOp::create(b, loc, offset, size);
      }
      return success();
    }
    if (opset >= 13) {
      FailureOr<SmallVector<int64_t>> s = knownInts(1);
      if (failed(s))
        return failure();
      split = *s;
    } else {
      split = intsAttr(node, "split").value_or(SmallVector<int64_t>());
    }
    OpFoldResult dim = sizesOf(x)[*axis];
    if (split.empty()) {
      std::optional<int64_t> extent = constantDim(dim);
      if (!extent)
        return error(node) << "splitting a dynamic dimension needs explicit split sizes";
      int64_t chunk = llvm::divideCeil(*extent, parts);
      for (int64_t i = 0; i < parts; ++i)
        split.push_back(std::max<int64_t>(0, std::min(chunk, *extent - i * chunk)));
    }
    if (int64_t(split.size()) != parts)
      return error(node) << "has " << split.size() << " split sizes for " << parts << " outputs";
    int64_t offset = 0;
    for (int64_t size : split) {
      FailureOr<Value> part = sliceAlong(node, x, {offset}, {offset + size}, {*axis}, {}, {});
      if (failed(part))
        return failure();
      (void)push(*part);
      offset += size;
    }
    return success();
  }
  if (op == "Range") {
    FailureOr<std::optional<SmallVector<OpFoldResult>>> start = dimsOf(node.input(0)), limit = dimsOf(node.input(1)),
                                                        delta = dimsOf(node.input(2));
    if (failed(start) || failed(limit) || failed(delta))
      return failure();
    Value s = in(0), l = in(1), d = in(2);
    Type elementType = typeOf(s).getElementType();
    // n = max(ceil((limit - start) / delta), 0), as index arithmetic on the scalars.
    auto scalarOf = [&](Value v) { return tensor::ExtractOp::create(b, loc, v, ValueRange{}).getResult(); };
    Value sv = scalarOf(s), lv = scalarOf(l), dv = scalarOf(d);
    Value count;
    if (isa<FloatType>(elementType)) {
      Value q = arith::DivFOp::create(b, loc, arith::SubFOp::create(b, loc, lv, sv), dv);
      Value c = math::CeilOp::create(b, loc, q);
      count = arith::FPToSIOp::create(b, loc, b.getI64Type(), c);
      count = arith::IndexCastOp::create(b, loc, b.getIndexType(), count);
    } else {
      Value si = arith::IndexCastOp::create(b, loc, b.getIndexType(), sv);
      Value li = arith::IndexCastOp::create(b, loc, b.getIndexType(), lv);
      Value di = arith::IndexCastOp::create(b, loc, b.getIndexType(), dv);
      count = arith::CeilDivSIOp::create(b, loc, arith::SubIOp::create(b, loc, li, si), di);
    }
    count = arith::MaxSIOp::create(b, loc, count, index(0));
    Value init = empty({OpFoldResult(count)}, elementType);
    SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(1, context)};
    return push(linalg::GenericOp::create(
                    b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init}, maps,
                    {utils::IteratorType::parallel},
                    [&](OpBuilder &nb, Location nl, ValueRange) {
                      Value i = linalg::IndexOp::create(nb, nl, 0);
                      Value iv = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), i);
                      Value r;
                      if (isa<FloatType>(elementType)) {
                        Value f = arith::SIToFPOp::create(nb, nl, elementType, iv);
                        r = arith::AddFOp::create(nb, nl, sv, arith::MulFOp::create(nb, nl, f, dv));
                      } else {
                        Value c = convertScalar(nb, nl, iv, elementType);
                        r = arith::AddIOp::create(nb, nl, sv, arith::MulIOp::create(nb, nl, c, dv));
                      }
                      linalg::YieldOp::create(nb, nl, r);
                    })
                    .getResult(0));
  }
  if (op == "Trilu") {
    Value x = in(0);
    int64_t rank = typeOf(x).getRank();
    if (rank < 2)
      return error(node) << "expects rank >= 2";
    // k (default 0) may be a run-time scalar: it only moves the diagonal.
    Value k = index(0);
    if (inputs.size() > 1 && inputs[1]) {
      Value kTensor = in(1);
      if (typeOf(kTensor).getNumElements() != 1)
        return error(node) << "k must be a scalar";
      SmallVector<Value> zeros(typeOf(kTensor).getRank(), index(0));
      k = arith::IndexCastOp::create(b, loc, b.getIndexType(), tensor::ExtractOp::create(b, loc, kTensor, zeros));
    }
    bool upper = intAttr(node, "upper", 1);
    Type elementType = typeOf(x).getElementType();
    return push(elementwise({x}, elementType, [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      Value i = linalg::IndexOp::create(nb, nl, rank - 2), j = linalg::IndexOp::create(nb, nl, rank - 1);
      Value diff = arith::SubIOp::create(nb, nl, j, i);
      Value keep = arith::CmpIOp::create(nb, nl, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                                         diff, k);
      Value zero = isa<FloatType>(elementType)
                       ? Value(arith::ConstantOp::create(nb, nl, elementType, nb.getFloatAttr(elementType, 0.0)))
                       : Value(arith::ConstantOp::create(nb, nl, elementType, nb.getIntegerAttr(elementType, 0)));
      return arith::SelectOp::create(nb, nl, keep, a[0], zero);
    }));
  }
  if (op == "Shape")
    return error(node) << "internal: Shape was not folded";
  return error(node) << "unsupported operator " << op;
}

//===----------------------------------------------------------------------===//
// Raising subgraphs to eff ops
//===----------------------------------------------------------------------===//

/// Matches the subgraph ending at one node; `why` says what did not match.
class Raiser {
public:
  Raiser(Importer &im, const Node &root) : im(im), root(root) {}

  const Node *prod(StringRef name, StringRef opType) const { return im.producerIs(name, opType); }
  /// The node producing `name` if it is an `opType` node used only inside the pattern (once).
  const Node *inner(StringRef name, StringRef opType) const {
    const Node *node = prod(name, opType);
    return node && im.useCount(name) == 1 ? node : nullptr;
  }
  std::optional<double> scalar(StringRef name) const { return im.scalarOf(name); }
  bool isScalar(StringRef name, double value, double tolerance = 1e-4) const {
    std::optional<double> v = scalar(name);
    return v && std::fabs(*v - value) <= tolerance * std::max(1.0, std::fabs(value));
  }
  /// A large negative constant used to mask scores (finfo.min, -1e4, -1e9, -inf).
  bool isMaskFill(StringRef name) const {
    std::optional<double> v = scalar(name);
    return v && *v <= -1e4;
  }
  /// For a binary node with one constant scalar operand: the other operand and the constant.
  std::optional<std::pair<std::string, double>> withScalar(const Node *node) const {
    if (!node || node->input_size() != 2)
      return std::nullopt;
    if (std::optional<double> c = scalar(node->input(1)))
      return std::make_pair(node->input(0), *c);
    if (std::optional<double> c = scalar(node->input(0)); c && node->op_type() != "Div" && node->op_type() != "Sub")
      return std::make_pair(node->input(1), *c);
    return std::nullopt;
  }
  /// The leaves of a product tree of single-use Mul nodes under `name`.
  void factors(StringRef name, SmallVectorImpl<std::string> &out, bool top = true) const {
    const Node *mul = top ? prod(name, "Mul") : inner(name, "Mul");
    if (!mul) {
      out.push_back(name.str());
      return;
    }
    factors(mul->input(0), out, false);
    factors(mul->input(1), out, false);
  }
  bool fail(const Twine &reason) {
    why = reason.str();
    return false;
  }
  /// A float initializer of rank `rank`.
  bool isWeight(StringRef name, size_t rank) const {
    const SafetensorsTensor *t = im.weights->lookup(name);
    return t && t->shape.size() == rank && (t->dtype == "F32" || t->dtype == "F16" || t->dtype == "BF16");
  }

  // Each pattern returns the raised value; a null value (with `why` set) when it does not match; failure on an
  // import error. `what` names the pattern for the report.
  /// Whether `node` is a ReduceMean over the last axis only, keeping it.
  bool isLastAxisMean(const Node *node) const;

  FailureOr<Value> linear();
  FailureOr<Value> embedding();
  FailureOr<Value> gelu();
  FailureOr<Value> silu();
  FailureOr<Value> layerNorm();
  FailureOr<Value> rmsNorm();
  FailureOr<Value> attention();
  /// Rotary embeddings on heads [B, H, S, Dh]: x * cos + rotate_half(x) * sin with cos/sin rows of constant
  /// tables [P, R] that match RoPE, read at rows start..start+S-1 (a Slice of the tables, start possibly known
  /// only at run time: the cache length) or the whole tables; with R < Dh (GPT-NeoX's partial rotary) as
  /// Concat(rotary(x[..., :R]), x[..., R:]). GPT-J's interleaved form rotates every two channels:
  /// rotate_every_two(x) = Reshape(Concat(Unsqueeze(-x[..., 1::2], -1), Unsqueeze(x[..., ::2], -1)), x's shape)
  /// (torch.stack + flatten), with tables whose columns 2i and 2i + 1 repeat pair i's angle.
  struct Rotary {
    std::string input;       // the heads [B, H, S, Dh]
    double theta = 0;
    int64_t width = 0;       // R, the tables' width: the rotated channels of each head
    int64_t rows = 0;        // P, the tables' rows
    bool partial = false;    // only channels [0, R) rotated, the others concatenated back
    bool interleaved = false; // GPT-J's pairs (x[2i], x[2i+1]) rather than (x[i], x[i + R/2])
    std::string start, end;  // the cos table's Slice bounds (both empty: the whole tables)
    std::string sinStart, sinEnd; // the sin table's
    const Node *add = nullptr; // the x * cos + rotate_half(x) * sin node, for diagnostics
  };
  std::optional<Rotary> rotaryOf(StringRef name) const;
  /// Why `rotary` does not provably read its tables at positions start..start+S-1 of its S rotated positions
  /// (empty when it does). Needs the heads' producers emitted (the shape tracing reads ranks).
  std::string rotaryMismatch(const Rotary &rotary) const;
  /// Entry `i` of the shape vector (or scalar) `name`, traced through the ONNX shape computation without emitting
  /// anything: `factor` times dimension `axis` of `tensor` (a negative axis counts from the end), or the constant
  /// `factor` when `tensor` is empty.
  struct DimSource {
    int64_t factor = 1;
    std::string tensor;
    int64_t axis = 0;
  };
  std::optional<DimSource> dimSource(StringRef name, int64_t i, int depth = 0) const;
  /// The number of entries of the shape vector `name` (1 for a scalar), if known without emitting anything.
  std::optional<int64_t> shapeLength(StringRef name, int depth = 0) const;
  /// The value of every element of `name` if they are all equal and known (constants, ConstantOfShape).
  std::optional<double> uniformOf(StringRef name, int depth = 0) const;
  /// Whether `node` is a Slice that keeps everything (x[:, :, None, :] leaves such Slices).
  bool isFullSlice(const Node *node) const;
  /// Repeated key/value heads (Llama's repeat_kv): `name` =
  /// Reshape(Expand(Unsqueeze(heads, 2), [B, Hkv, n, L, Dh]), [B, Hkv * n, L, Dh]), each shape entry traced to
  /// a dimension of `heads` or a constant. `staticDims` lists (dimension of heads, extent) pairs that constant
  /// entries assume; the caller checks them against the projections' static shapes.
  struct RepeatedHeads {
    std::string heads;
    int64_t repeats = 1;
    SmallVector<std::pair<int64_t, int64_t>> staticDims;
  };
  std::optional<RepeatedHeads> repeatedHeads(StringRef name);
  /// An extent as an integer linear combination of tensor dimensions ((tensor, axis) -> coefficient) plus a
  /// constant. A dimension that cannot be traced further is its own term, so equal expressions are equal extents.
  struct DimExpr {
    int64_t constant = 0;
    std::map<std::pair<std::string, int64_t>, int64_t> terms;

    static DimExpr of(int64_t value) {
      DimExpr e;
      e.constant = value;
      return e;
    }
    DimExpr &add(const DimExpr &other, int64_t coefficient = 1) {
      constant += coefficient * other.constant;
      for (const auto &[term, c] : other.terms)
        if ((terms[term] += coefficient * c) == 0)
          terms.erase(term);
      return *this;
    }
    bool isConstant(int64_t value) const { return terms.empty() && constant == value; }
    bool operator==(const DimExpr &other) const { return constant == other.constant && terms == other.terms; }
  };
  /// The rank of `name` where the graph says it without emitting anything.
  std::optional<int64_t> rankOf(StringRef name, int depth = 0) const;
  std::optional<int64_t> computeRankOf(StringRef name, int depth) const;
  /// Dimension `axis` (negative counts from the end) of `name`, traced through shape-preserving nodes.
  std::optional<DimExpr> dimExpr(StringRef name, int64_t axis, int depth = 0) const;
  std::optional<DimExpr> computeDimExpr(StringRef name, int64_t axis, int depth) const;
  // Both walk both operands of broadcasting nodes (residual adds): memoised, they visit each value once.
  mutable llvm::StringMap<std::optional<int64_t>> rankMemo;
  mutable std::map<std::pair<std::string, int64_t>, std::optional<DimExpr>> dimMemo;
  /// rankOf, dimExpr and entryExpr calls in progress: bounds the walk on a cyclic (invalid) graph.
  mutable int tracing = 0;
  /// Entry `i` of the shape vector (or scalar) `name` as a DimExpr (shape arithmetic: Add, Sub, Mul by constants).
  std::optional<DimExpr> entryExpr(StringRef name, int64_t i, int depth = 0) const;
  /// Whether the causal condition `cond` (Slices of a lower-triangular [.., n, n] constant) reads rows
  /// [L - S, L) and columns [0, L), the mask eff.attention's `causal` applies for S queries and L keys.
  bool isCausalWindow(StringRef cond, const DimExpr &queries, const DimExpr &keys) const;
  /// For a Slice of a shape vector of `length` entries (torch writes x.size(-2) as Slice(Shape(x), [-2], [-1])):
  /// the index of its first entry and the number of entries.
  std::optional<std::pair<int64_t, int64_t>> shapeSliceWindow(const Node &slice, int64_t length) const;

  std::string what, detail;

  Importer &im;
  const Node &root;
  std::string why;
};

/// Whether eff.linear takes `x` with `weight` ([N, K]) and `bias` ([N] or null): an input of rank >= 1 and the
/// weight's element type whose last dimension can be K (a mismatch is the generic MatMul's to report).
static bool linearFits(Value x, Value weight, Value bias) {
  auto input = dyn_cast<RankedTensorType>(x.getType());
  auto w = cast<RankedTensorType>(weight.getType());
  if (!input || input.getRank() < 1 || input.getElementType() != w.getElementType() ||
      (bias && cast<RankedTensorType>(bias.getType()).getElementType() != w.getElementType()))
    return false;
  int64_t k = input.getShape().back();
  return ShapedType::isDynamic(k) || ShapedType::isDynamic(w.getDimSize(1)) || k == w.getDimSize(1);
}

FailureOr<Value> Raiser::linear() {
  what = "linear";
  const Node *matmul = nullptr;
  std::string bias;
  StringRef op = root.op_type();
  if (op == "Gemm") {
    if (Importer::intAttr(root, "transA", 0) || Importer::floatAttr(root, "alpha", 1.0) != 1.0)
      return fail("Gemm with transA or alpha != 1"), Value();
    if (!isWeight(root.input(1), 2))
      return fail("B is not a 2-D float initializer"), Value();
    const SafetensorsTensor *b = im.weights->lookup(root.input(1));
    int64_t n = b->shape[Importer::intAttr(root, "transB", 0) ? 0 : 1];
    if (root.input_size() > 2 && !root.input(2).empty()) {
      if (!isWeight(root.input(2), 1) || Importer::floatAttr(root, "beta", 1.0) != 1.0 ||
          im.weights->lookup(root.input(2))->shape[0] != n)
        return fail("C is not a float initializer [N] with beta = 1"), Value();
      bias = root.input(2);
    }
    FailureOr<Value> x = im.value(root.input(0));
    if (failed(x))
      return failure();
    im.loc = im.locOf(root);
    Value w = im.parameter(root.input(1), /*transpose=*/!Importer::intAttr(root, "transB", 0));
    Value bv = bias.empty() ? Value() : im.parameter(bias, false);
    if (!linearFits(*x, w, bv))
      return fail("the input does not fit the weight (element type or features)"), Value();
    detail = "Gemm '" + root.input(1) + "'" + (bias.empty() ? "" : " + bias '" + bias + "'");
    return Value(LinearOp::create(im.b, im.loc, *x, w, bv));
  }
  if (op == "Add") {
    for (int i = 0; i < 2 && !matmul; ++i)
      if (const Node *m = inner(root.input(i), "MatMul"); m && isWeight(m->input(1), 2) &&
                                                        isWeight(root.input(1 - i), 1)) {
        matmul = m;
        bias = root.input(1 - i);
      }
    if (!matmul)
      return fail("not a MatMul on a 2-D initializer plus a 1-D initializer"), Value();
  } else {
    matmul = &root;
    if (!isWeight(root.input(1), 2))
      return fail("the right operand is not a 2-D float initializer"), Value();
  }
  const SafetensorsTensor *w = im.weights->lookup(matmul->input(1));
  if (!bias.empty() && im.weights->lookup(bias)->shape[0] != w->shape[1])
    return fail("the bias does not have the output width"), Value();
  FailureOr<Value> x = im.value(matmul->input(0));
  if (failed(x))
    return failure();
  if (cast<RankedTensorType>(x->getType()).getElementType() != im.b.getF32Type())
    return fail("the input is not f32"), Value();
  im.loc = im.locOf(root);
  // ONNX's MatMul weight is [K, N]; eff.linear's is [N, K]: read it transposed.
  Value weight = im.parameter(matmul->input(1), /*transpose=*/true);
  Value bv = bias.empty() ? Value() : im.parameter(bias, false);
  if (!linearFits(*x, weight, bv))
    return fail("the input does not fit the weight (element type or features)"), Value();
  detail = "MatMul '" + matmul->input(1) + "'" + (bias.empty() ? "" : " + bias '" + bias + "'");
  return Value(LinearOp::create(im.b, im.loc, *x, weight, bv));
}

FailureOr<Value> Raiser::embedding() {
  what = "embedding";
  if (!isWeight(root.input(0), 2) || Importer::intAttr(root, "axis", 0) != 0)
    return fail("not a Gather along axis 0 of a 2-D float initializer"), Value();
  FailureOr<Value> ids = im.value(root.input(1));
  if (failed(ids))
    return failure();
  Type idType = cast<RankedTensorType>(ids->getType()).getElementType();
  if (!idType.isInteger(64) && !idType.isInteger(32))
    return fail("the indices are not i32 or i64"), Value();
  im.loc = im.locOf(root);
  StringRef name = root.input(0);
  EmbeddingKind kind = name.contains_insensitive("position") || name.contains("wpe") ? EmbeddingKind::position
                       : name.contains_insensitive("token_type") || name.contains_insensitive("segment")
                           ? EmbeddingKind::segment
                           : EmbeddingKind::token;
  detail = "Gather '" + name.str() + "'";
  return im.inferred<EmbeddingOp>(kind, im.parameter(name, false), *ids);
}

FailureOr<Value> Raiser::gelu() {
  what = "gelu";
  // 0.5 · x · (1 + T) in any association, T = erf(x / √2) or tanh(√(2/π) · (x + 0.044715 · x³)).
  SmallVector<std::string> leaves;
  factors(root.output(0), leaves);
  std::string x, inner;
  int halves = 0;
  const Node *onePlus = nullptr;
  for (const std::string &leaf : leaves)
    if (const Node *add = prod(leaf, "Add"); add && !onePlus)
      if (auto other = withScalar(add); other && std::fabs(other->second - 1.0) < 1e-6 &&
                                        (prod(other->first, "Erf") || prod(other->first, "Tanh"))) {
        onePlus = add;
        inner = other->first;
      }
  if (!onePlus)
    return fail(""), Value(); // no erf or tanh: not a GELU candidate
  for (const std::string &leaf : leaves) {
    if (onePlus && leaf == onePlus->output(0))
      continue;
    if (isScalar(leaf, 0.5)) {
      ++halves;
      continue;
    }
    if (!x.empty() || scalar(leaf))
      return fail("factors are not 0.5, x and 1 + erf/tanh(...)"), Value();
    x = leaf;
  }
  if (halves != 1 || x.empty())
    return fail("factors are not 0.5, x and 1 + erf/tanh(...)"), Value();
  ActivationKind kind;
  if (const Node *erf = prod(inner, "Erf")) {
    auto arg = withScalar(prod(erf->input(0), "Div"));
    bool div = arg && arg->first == x && std::fabs(arg->second - M_SQRT2) < 1e-3;
    auto argMul = withScalar(prod(erf->input(0), "Mul"));
    bool mul = argMul && argMul->first == x && std::fabs(argMul->second - M_SQRT1_2) < 1e-3;
    if (!div && !mul)
      return fail("the erf argument is not x / sqrt(2)"), Value();
    kind = ActivationKind::gelu;
  } else {
    const Node *tanh = prod(inner, "Tanh");
    auto scaled = withScalar(prod(tanh->input(0), "Mul"));
    if (!scaled || std::fabs(scaled->second - 0.7978845608) > 1e-3)
      return fail("the tanh argument is not sqrt(2/pi) * (...)"), Value();
    const Node *sum = prod(scaled->first, "Add");
    if (!sum)
      return fail("the tanh argument is not sqrt(2/pi) * (x + 0.044715 x^3)"), Value();
    int xi = sum->input(0) == x ? 0 : sum->input(1) == x ? 1 : -1;
    if (xi < 0)
      return fail("the tanh argument does not add x"), Value();
    SmallVector<std::string> cubic;
    factors(sum->input(1 - xi), cubic);
    int xs = 0, coefficient = 0;
    for (const std::string &f : cubic) {
      if (f == x)
        ++xs;
      else if (isScalar(f, 0.044715))
        ++coefficient;
      else if (const Node *pow = prod(f, "Pow"); pow && pow->input(0) == x && isScalar(pow->input(1), 3.0))
        xs += 3;
      else
        return fail("the cubic term is not 0.044715 * x^3"), Value();
    }
    if (xs != 3 || coefficient != 1)
      return fail("the cubic term is not 0.044715 * x^3"), Value();
    kind = ActivationKind::gelu_tanh;
  }
  FailureOr<Value> input = im.value(x);
  if (failed(input))
    return failure();
  if (!cast<RankedTensorType>(input->getType()).getElementType().isF32())
    return fail("the input is not f32"), Value();
  im.loc = im.locOf(root);
  detail = kind == ActivationKind::gelu ? "erf form" : "tanh form";
  return Value(ActivationOp::create(im.b, im.loc, kind, *input));
}

FailureOr<Value> Raiser::silu() {
  what = "silu";
  // x · sigmoid(x) -> eff.activation silu; silu(g) · u -> eff.glu silu.
  auto siluOf = [&](StringRef name, bool top) -> std::string {
    const Node *mul = top ? prod(name, "Mul") : inner(name, "Mul");
    if (!mul)
      return "";
    for (int i = 0; i < 2; ++i)
      if (const Node *sig = prod(mul->input(1 - i), "Sigmoid"); sig && sig->input(0) == mul->input(i))
        return mul->input(i);
    return "";
  };
  std::string x = siluOf(root.output(0), true);
  if (!x.empty()) {
    FailureOr<Value> input = im.value(x);
    if (failed(input))
      return failure();
    if (!cast<RankedTensorType>(input->getType()).getElementType().isF32())
      return fail("the input is not f32"), Value();
    im.loc = im.locOf(root);
    detail = "x * sigmoid(x)";
    return Value(ActivationOp::create(im.b, im.loc, ActivationKind::silu, *input));
  }
  for (int i = 0; i < 2; ++i) {
    std::string gate = siluOf(root.input(i), false);
    if (gate.empty())
      continue;
    FailureOr<Value> g = im.value(gate), u = im.value(root.input(1 - i));
    if (failed(g) || failed(u))
      return failure();
    if (g->getType() != u->getType() || !cast<RankedTensorType>(g->getType()).getElementType().isF32())
      return fail("the gate and up projections have different types"), Value();
    im.loc = im.locOf(root);
    what = "swiglu";
    detail = "silu(gate) * up";
    return Value(GluOp::create(im.b, im.loc, ActivationKind::silu, *g, *u));
  }
  return fail("not x * sigmoid(x) nor silu(gate) * up"), Value();
}

bool Raiser::isLastAxisMean(const Node *node) const {
  if (!node || !Importer::intAttr(*node, "keepdims", 1))
    return false;
  std::optional<SmallVector<int64_t>> axes = Importer::intsAttr(*node, "axes");
  if (!axes && node->input_size() > 1) {
    std::optional<Known> k = im.constantOf(node->input(1));
    if (k)
      axes = SmallVector<int64_t>(k->ints.begin(), k->ints.end());
  }
  return axes && axes->size() == 1 && (*axes)[0] == -1;
}

FailureOr<Value> Raiser::layerNorm() {
  what = "layer_norm";
  // (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * gamma + beta, reductions over the last axis.
  std::string normalized, gamma, beta;
  for (int i = 0; i < 2 && normalized.empty(); ++i)
    if (const Node *mul = inner(root.input(i), "Mul"); mul && isWeight(root.input(1 - i), 1))
      for (int j = 0; j < 2; ++j)
        if (inner(mul->input(j), "Div") && isWeight(mul->input(1 - j), 1)) {
          normalized = mul->input(j);
          gamma = mul->input(1 - j);
          beta = root.input(1 - i);
        }
  if (normalized.empty())
    return fail("not (...) * gamma + beta with 1-D initializers"), Value();
  const Node *div = prod(normalized, "Div");
  const Node *centered = prod(div->input(0), "Sub");
  const Node *sqrt = prod(div->input(1), "Sqrt");
  if (!centered || !sqrt)
    return fail("the normalised value is not (x - mean) / sqrt(...)"), Value();
  std::string x = centered->input(0);
  const Node *mean = prod(centered->input(1), "ReduceMean");
  if (!mean || mean->input(0) != x || !isLastAxisMean(mean))
    return fail("the centre is not x - ReduceMean(x) over the last axis"), Value();
  auto variance = withScalar(prod(sqrt->input(0), "Add"));
  if (!variance)
    return fail("the denominator is not sqrt(variance + epsilon)"), Value();
  const Node *varMean = prod(variance->first, "ReduceMean");
  const Node *square = varMean ? prod(varMean->input(0), "Pow") : nullptr;
  if (!square || !isLastAxisMean(varMean) || square->input(0) != div->input(0) ||
      !isScalar(square->input(1), 2.0))
    return fail("the variance is not ReduceMean((x - mean)^2) over the last axis"), Value();
  if (variance->second <= 0)
    return fail("epsilon is not positive"), Value();
  FailureOr<Value> input = im.value(x);
  if (failed(input))
    return failure();
  if (!cast<RankedTensorType>(input->getType()).getElementType().isF32())
    return fail("the input is not f32"), Value();
  im.loc = im.locOf(root);
  detail = "decomposed, epsilon " + std::to_string(variance->second);
  return im.inferred<LayerNormOp>(*input, im.parameter(gamma, false), im.parameter(beta, false),
                                  im.b.getF32FloatAttr(variance->second));
}

FailureOr<Value> Raiser::rmsNorm() {
  what = "rms_norm";
  // x · 1/sqrt(mean(x²) + eps) · gamma (Reciprocal(Sqrt) or Div by Sqrt), reductions over the last axis.
  SmallVector<std::string> leaves;
  factors(root.output(0), leaves);
  // The inverse root is Reciprocal(Sqrt(...)) or Div(1, Sqrt(...)) (torch.rsqrt).
  auto inverseRoot = [&](StringRef name) -> const Node * {
    if (const Node *reciprocal = prod(name, "Reciprocal"))
      return prod(reciprocal->input(0), "Sqrt");
    if (const Node *div = prod(name, "Div"); div && isScalar(div->input(0), 1.0))
      return prod(div->input(1), "Sqrt");
    return nullptr;
  };
  std::string gamma, x;
  const Node *sqrt = nullptr;
  for (const std::string &leaf : leaves) {
    if (isWeight(leaf, 1) && gamma.empty())
      gamma = leaf;
    else if (const Node *root = inverseRoot(leaf); root && !sqrt)
      sqrt = root;
    else if (x.empty())
      x = leaf;
    else
      return fail("factors are not x, 1/sqrt(mean(x^2) + eps) and gamma"), Value();
  }
  if (!sqrt) {
    if (const Node *div = prod(x, "Div")) {
      sqrt = prod(div->input(1), "Sqrt");
      x = div->input(0);
    }
  }
  if (gamma.empty() || !sqrt)
    return fail("factors are not x, 1/sqrt(mean(x^2) + eps) and a 1-D gamma"), Value();
  auto shifted = withScalar(prod(sqrt->input(0), "Add"));
  const Node *mean = shifted ? prod(shifted->first, "ReduceMean") : nullptr;
  const Node *square = mean ? prod(mean->input(0), "Pow") : nullptr;
  if (!square || !isLastAxisMean(mean) || square->input(0) != x || !isScalar(square->input(1), 2.0))
    return fail("the denominator is not sqrt(ReduceMean(x^2) + epsilon) over the last axis"), Value();
  if (shifted->second <= 0)
    return fail("epsilon is not positive"), Value();
  FailureOr<Value> input = im.value(x);
  if (failed(input))
    return failure();
  if (!cast<RankedTensorType>(input->getType()).getElementType().isF32())
    return fail("the input is not f32"), Value();
  im.loc = im.locOf(root);
  detail = "epsilon " + std::to_string(shifted->second);
  return im.inferred<RmsNormOp>(*input, im.parameter(gamma, false), im.b.getF32FloatAttr(shifted->second));
}

std::optional<Raiser::Rotary> Raiser::rotaryOf(StringRef name) const {
  auto isLastAxisSlice = [&](const Node *slice, StringRef of, int64_t start, int64_t end) {
    if (!slice || slice->input(0) != of || slice->input_size() < 4)
      return false;
    std::optional<Known> s = im.constantOf(slice->input(1)), e = im.constantOf(slice->input(2)),
                         a = im.constantOf(slice->input(3));
    std::optional<Known> st = slice->input_size() > 4 ? im.constantOf(slice->input(4)) : std::nullopt;
    if (slice->input_size() > 4 && (!st || st->size() != 1 || st->at(0) != 1))
      return false;
    return s && e && a && s->size() == 1 && e->size() == 1 && a->size() == 1 && s->at(0) == start &&
           (end < 0 ? e->at(0) >= 1e9 : e->at(0) == end) && (a->at(0) == -1 || a->at(0) == 3);
  };
  // Partial rotary: Concat(rotary(heads[..., :R]), heads[..., R:]) on the last axis.
  if (const Node *concat = prod(name, "Concat")) {
    int64_t axis = Importer::intAttr(*concat, "axis", 0);
    const Node *rest = concat->input_size() == 2 && (axis == -1 || axis == 3) ? prod(concat->input(1), "Slice")
                                                                               : nullptr;
    std::optional<Known> restStart = rest && rest->input_size() > 1 ? im.constantOf(rest->input(1)) : std::nullopt;
    if (!restStart || restStart->size() != 1 || restStart->isFloat())
      return std::nullopt;
    int64_t width = restStart->ints[0];
    std::string heads = rest->input(0);
    std::optional<Rotary> inner = rotaryOf(concat->input(0));
    if (!inner || inner->partial || inner->width != width || !isLastAxisSlice(rest, heads, width, -1) ||
        !isLastAxisSlice(prod(inner->input, "Slice"), heads, 0, width))
      return std::nullopt;
    inner->input = heads;
    inner->partial = true;
    return inner;
  }
  const Node *add = prod(name, "Add");
  if (!add)
    return std::nullopt;
  // The tables: Slice(constant [P, R], start, end, axes 0) or the constants themselves.
  struct Table {
    Known known;
    std::string start, end;
  };
  auto table = [&](StringRef t) -> std::optional<Table> {
    Table result;
    if (const Node *slice = prod(t, "Slice")) {
      std::optional<Known> axes = slice->input_size() > 3 ? im.constantOf(slice->input(3)) : std::nullopt;
      std::optional<Known> steps = slice->input_size() > 4 ? im.constantOf(slice->input(4)) : std::nullopt;
      if (slice->input_size() < 3 || (slice->input_size() > 3 && (!axes || axes->size() != 1 || axes->at(0) != 0)) ||
          (slice->input_size() > 4 && (!steps || steps->size() != 1 || steps->at(0) != 1)))
        return std::nullopt;
      result.start = slice->input(1);
      result.end = slice->input(2);
      t = slice->input(0);
    }
    std::optional<Known> k = im.constantOf(t);
    if (!k || k->shape.size() != 2 || !k->isFloat())
      return std::nullopt;
    result.known = std::move(*k);
    return result;
  };
  // x[..., start::2] on the last axis (to its end).
  auto isEveryOtherChannel = [&](const Node *slice, StringRef of, int64_t start, int64_t width) {
    if (!slice || slice->input(0) != of || slice->input_size() != 5)
      return false;
    std::optional<Known> s = im.constantOf(slice->input(1)), e = im.constantOf(slice->input(2)),
                         a = im.constantOf(slice->input(3)), st = im.constantOf(slice->input(4));
    return s && e && a && st && s->size() == 1 && e->size() == 1 && a->size() == 1 && st->size() == 1 &&
           s->at(0) == start && e->at(0) >= width && (a->at(0) == -1 || a->at(0) == 3) && st->at(0) == 2;
  };
  // Unsqueeze(v, [-1]) (or axis 4 of the 5-D stack), returning v.
  auto unsqueezedLast = [&](StringRef name) -> const Node * {
    const Node *unsqueeze = prod(name, "Unsqueeze");
    if (!unsqueeze)
      return nullptr;
    std::optional<SmallVector<int64_t>> axes = Importer::intsAttr(*unsqueeze, "axes");
    if (!axes && unsqueeze->input_size() == 2)
      if (std::optional<Known> k = im.constantOf(unsqueeze->input(1)); k && !k->isFloat())
        axes = SmallVector<int64_t>(k->ints.begin(), k->ints.end());
    return axes && axes->size() == 1 && ((*axes)[0] == -1 || (*axes)[0] == 4) ? unsqueeze : nullptr;
  };
  // GPT-J's rotate_every_two(x) of `width` channels: the Reshape's shape is x's own (traced, or -1 last).
  auto isRotateEveryTwo = [&](const Node *reshape, StringRef x, int64_t width) {
    const Node *stack = reshape ? prod(reshape->input(0), "Concat") : nullptr;
    if (!stack || stack->input_size() != 2)
      return false;
    int64_t axis = Importer::intAttr(*stack, "axis", 0);
    const Node *first = unsqueezedLast(stack->input(0)), *second = unsqueezedLast(stack->input(1));
    const Node *neg = first ? prod(first->input(0), "Neg") : nullptr;
    if ((axis != -1 && axis != 4) || !neg || !second || !isEveryOtherChannel(prod(neg->input(0), "Slice"), x, 1, width) ||
        !isEveryOtherChannel(prod(second->input(0), "Slice"), x, 0, width))
      return false;
    for (int64_t d = 0; d < 4; ++d) {
      std::optional<DimExpr> entry = entryExpr(reshape->input(1), d), dim = d == 3 ? DimExpr::of(width) : dimExpr(x, d);
      if (!entry || !dim || !(*entry == *dim || (d == 3 && entry->isConstant(-1))))
        return false;
    }
    return true;
  };
  for (int i = 0; i < 2; ++i) {
    const Node *direct = prod(add->input(i), "Mul"), *rotated = prod(add->input(1 - i), "Mul");
    if (!direct || !rotated)
      continue;
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) {
        std::string x = direct->input(j);
        const Node *concat = prod(rotated->input(k), "Concat");
        const Node *reshape = prod(rotated->input(k), "Reshape");
        std::optional<Table> cosTable = table(direct->input(1 - j)), sinTable = table(rotated->input(1 - k));
        if ((!concat || concat->input_size() != 2) && !reshape)
          continue;
        if (!cosTable || !sinTable || cosTable->known.shape != sinTable->known.shape ||
            cosTable->start.empty() != sinTable->start.empty())
          continue;
        const Known &cos = cosTable->known, &sin = sinTable->known;
        int64_t rows = cos.shape[0], dh = cos.shape[1], half = dh / 2;
        if (dh < 4 || dh % 2 || rows < 2)
          continue;
        bool interleaved = !concat;
        if (interleaved) {
          if (!isRotateEveryTwo(reshape, x, dh))
            continue;
        } else {
          const Node *neg = prod(concat->input(0), "Neg");
          if (!neg || !isLastAxisSlice(prod(neg->input(0), "Slice"), x, half, -1) ||
              !isLastAxisSlice(prod(concat->input(1), "Slice"), x, 0, half))
            continue;
        }
        // Channel c's pair: c mod R/2 (rotate-half) or c / 2 (interleaved).
        auto pairOf = [&](int64_t c) { return interleaved ? c / 2 : c % half; };
        // theta from position 1's angle of pair 1 (inv_freq[1] = theta^(-2/Dh)); then every entry is checked.
        int64_t pairOneChannel = interleaved ? 2 : 1;
        double freq1 = std::atan2(sin.at(dh + pairOneChannel), cos.at(dh + pairOneChannel));
        if (freq1 <= 0)
          continue;
        double theta = std::pow(freq1, -double(dh) / 2);
        if (std::fabs(theta - std::round(theta)) < 1e-5 * theta) // f32 tables: 9999.9986 is 10000
          theta = std::round(theta);
        bool matches = true;
        for (int64_t p = 0; p < rows && matches; ++p)
          for (int64_t c = 0; c < dh && matches; ++c) {
            double angle = double(p) * std::pow(theta, -2.0 * double(pairOf(c)) / double(dh));
            matches = std::fabs(cos.at(p * dh + c) - std::cos(angle)) < 1e-4 &&
                      std::fabs(sin.at(p * dh + c) - std::sin(angle)) < 1e-4;
          }
        if (!matches)
          continue;
        Rotary rotary;
        rotary.input = x;
        rotary.theta = theta;
        rotary.width = dh;
        rotary.rows = rows;
        rotary.start = cosTable->start;
        rotary.end = cosTable->end;
        rotary.sinStart = sinTable->start;
        rotary.sinEnd = sinTable->end;
        rotary.add = add;
        rotary.interleaved = interleaved;
        return rotary;
      }
  }
  return std::nullopt;
}

std::string Raiser::rotaryMismatch(const Rotary &rotary) const {
  std::optional<DimExpr> length = dimExpr(rotary.input, 2);
  if (!length)
    return "the rotated sequence length is not known";
  if (rotary.start.empty())
    return length->isConstant(rotary.rows) ? ""
                                           : "the whole " + std::to_string(rotary.rows) +
                                                 "-row tables are not provably the sequence's length";
  // Rows [start, end) of both tables with the same start, end - start = S and a start that cannot be negative
  // (a constant >= 0 or a sum of sizes: the cache length).
  for (StringRef bound : {rotary.start, rotary.end, rotary.sinStart, rotary.sinEnd})
    if (shapeLength(bound) != 1)
      return "the tables are not sliced along their rows alone";
  std::optional<DimExpr> start = entryExpr(rotary.start, 0), end = entryExpr(rotary.end, 0);
  std::optional<DimExpr> sinStart = entryExpr(rotary.sinStart, 0), sinEnd = entryExpr(rotary.sinEnd, 0);
  if (!start || !end || !sinStart || !sinEnd || !(*start == *sinStart) || !(*end == *sinEnd) ||
      !end->add(*start, -1).add(*length, -1).isConstant(0) || start->constant < 0 ||
      llvm::any_of(start->terms, [](const auto &term) { return term.second < 0; }))
    return "the tables' rows are not provably start..start+S-1 for S rotated positions";
  return "";
}

std::optional<double> Raiser::uniformOf(StringRef name, int depth) const {
  if (depth > 8)
    return std::nullopt;
  if (std::optional<Known> k = im.constantOf(name)) {
    if (k->size() == 0)
      return std::nullopt;
    for (int64_t i = 1; i < k->size(); ++i)
      if (k->at(i) != k->at(0))
        return std::nullopt;
    return k->at(0);
  }
  const Node *node = im.producer(name);
  if (!node)
    return std::nullopt;
  StringRef op = node->op_type();
  if (op == "ConstantOfShape") {
    const onnx::AttributeProto *value = Importer::attr(*node, "value");
    if (!value)
      return 0.0;
    std::string why;
    FailureOr<Known> k = knownFromProto(im.context, value->t(), why);
    return succeeded(k) && k->size() == 1 ? std::optional<double>(k->at(0)) : std::nullopt;
  }
  if (op == "Cast" || op == "Identity")
    return uniformOf(node->input(0), depth + 1);
  if (op == "Mul" && node->input_size() == 2) {
    std::optional<double> lhs = uniformOf(node->input(0), depth + 1), rhs = uniformOf(node->input(1), depth + 1);
    if (lhs && rhs)
      return *lhs * *rhs;
  }
  return std::nullopt;
}

bool Raiser::isFullSlice(const Node *node) const {
  if (!node || node->op_type() != "Slice")
    return false;
  std::optional<SmallVector<int64_t>> starts, ends, steps;
  auto ints = [&](int input) -> std::optional<SmallVector<int64_t>> {
    if (node->input_size() <= input || node->input(input).empty())
      return std::nullopt;
    std::optional<Known> k = im.constantOf(node->input(input));
    if (!k || k->isFloat())
      return std::nullopt;
    return SmallVector<int64_t>(k->ints.begin(), k->ints.end());
  };
  if (im.opset < 10) {
    starts = Importer::intsAttr(*node, "starts");
    ends = Importer::intsAttr(*node, "ends");
  } else {
    starts = ints(1);
    ends = ints(2);
    steps = ints(4);
    if (node->input_size() > 4 && !node->input(4).empty() && !steps)
      return false;
  }
  if (!starts || !ends)
    return false;
  return llvm::all_of(*starts, [](int64_t s) { return s == 0; }) &&
         llvm::all_of(*ends, [](int64_t e) { return e >= std::numeric_limits<int32_t>::max(); }) &&
         (!steps || llvm::all_of(*steps, [](int64_t s) { return s == 1; }));
}

std::optional<int64_t> Raiser::shapeLength(StringRef name, int depth) const {
  if (depth > 16)
    return std::nullopt;
  if (std::optional<Known> k = im.constantOf(name)) {
    if (k->shape.size() > 1)
      return std::nullopt;
    return k->size();
  }
  const Node *node = im.producer(name);
  if (!node)
    return std::nullopt;
  StringRef op = node->op_type();
  if (op == "Cast" || op == "Identity" || op == "Squeeze" || (op == "Reshape" && uniformOf(node->input(1)) == -1))
    return shapeLength(node->input(0), depth + 1);
  if (op == "Where" && node->input_size() == 3)
    return shapeLength(node->input(2), depth + 1);
  if (op == "Slice") {
    const Node *shape = prod(node->input(0), "Shape");
    std::optional<int64_t> length = shape && Importer::intAttr(*shape, "start", 0) == 0 && !Importer::attr(*shape, "end")
                                        ? rankOf(shape->input(0))
                                        : shapeLength(node->input(0), depth + 1);
    std::optional<std::pair<int64_t, int64_t>> window = length ? shapeSliceWindow(*node, *length) : std::nullopt;
    return window ? std::optional<int64_t>(window->second) : std::nullopt;
  }
  if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && node->input_size() == 2) {
    std::optional<int64_t> lhs = shapeLength(node->input(0), depth + 1), rhs = shapeLength(node->input(1), depth + 1);
    if (!lhs || !rhs || (*lhs != *rhs && *lhs != 1 && *rhs != 1))
      return std::nullopt;
    return std::max(*lhs, *rhs);
  }
  if (op == "Unsqueeze")
    return shapeLength(node->input(0), depth + 1) == 1 ? std::optional<int64_t>(1) : std::nullopt;
  if (op == "Gather" && node->input_size() == 2) {
    std::optional<Known> indices = im.constantOf(node->input(1));
    return indices && !indices->isFloat() && indices->shape.size() <= 1 ? std::optional<int64_t>(indices->size())
                                                                        : std::nullopt;
  }
  if (op == "Shape") {
    int64_t start = Importer::intAttr(*node, "start", 0), end = Importer::intAttr(*node, "end", -1);
    if (start >= 0 && end >= start && Importer::attr(*node, "end"))
      return end - start;
    if (std::optional<int64_t> rank = start == 0 && !Importer::attr(*node, "end") ? rankOf(node->input(0))
                                                                                : std::nullopt)
      return rank;
    return std::nullopt;
  }
  if (op == "Concat") {
    int64_t total = 0;
    for (const std::string &input : node->input()) {
      std::optional<int64_t> length = shapeLength(input, depth + 1);
      if (!length)
        return std::nullopt;
      total += *length;
    }
    return total;
  }
  return std::nullopt;
}

std::optional<Raiser::DimSource> Raiser::dimSource(StringRef name, int64_t i, int depth) const {
  if (depth > 16 || i < 0)
    return std::nullopt;
  if (std::optional<Known> k = im.constantOf(name)) {
    if (k->isFloat() || k->shape.size() > 1 || i >= k->size())
      return std::nullopt;
    return DimSource{int64_t(k->at(i)), "", 0};
  }
  const Node *node = im.producer(name);
  if (!node)
    return std::nullopt;
  StringRef op = node->op_type();
  if (op == "Cast" || op == "Identity" || op == "Squeeze" || (op == "Reshape" && uniformOf(node->input(1)) == -1))
    return dimSource(node->input(0), i, depth + 1);
  if (op == "Unsqueeze")
    return i == 0 && shapeLength(node->input(0), depth + 1) == 1 ? dimSource(node->input(0), 0, depth + 1)
                                                                  : std::nullopt;
  if (op == "Concat") {
    for (const std::string &input : node->input()) {
      std::optional<int64_t> length = shapeLength(input, depth + 1);
      if (!length)
        return std::nullopt;
      if (i < *length)
        return dimSource(input, i, depth + 1);
      i -= *length;
    }
    return std::nullopt;
  }
  if (op == "Shape") {
    int64_t start = Importer::intAttr(*node, "start", 0);
    if (start < 0)
      return std::nullopt;
    return DimSource{1, node->input(0), start + i};
  }
  if (op == "Gather" && node->input_size() == 2 && Importer::intAttr(*node, "axis", 0) == 0) {
    std::optional<Known> indices = im.constantOf(node->input(1));
    if (!indices || indices->isFloat() || indices->shape.size() > 1 || i >= indices->size())
      return std::nullopt;
    int64_t index = indices->ints[i];
    if (const Node *shape = prod(node->input(0), "Shape")) {
      if (Importer::intAttr(*shape, "start", 0) != 0 || Importer::attr(*shape, "end"))
        return std::nullopt;
      return DimSource{1, shape->input(0), index}; // a negative index counts from the end, like an axis
    }
    if (index < 0) {
      std::optional<int64_t> length = shapeLength(node->input(0), depth + 1);
      if (!length)
        return std::nullopt;
      index += *length;
    }
    return dimSource(node->input(0), index, depth + 1);
  }
  if (op == "Mul" && node->input_size() == 2) {
    // Broadcasting: a one-entry operand applies to every entry.
    auto entry = [&](StringRef operand) {
      return dimSource(operand, shapeLength(operand, depth + 1) == 1 ? 0 : i, depth + 1);
    };
    std::optional<DimSource> lhs = entry(node->input(0)), rhs = entry(node->input(1));
    if (!lhs || !rhs || (!lhs->tensor.empty() && !rhs->tensor.empty()))
      return std::nullopt;
    DimSource product = lhs->tensor.empty() ? *rhs : *lhs;
    product.factor = lhs->factor * rhs->factor;
    return product;
  }
  if (op == "Where" && node->input_size() == 3) {
    // torch's expand: Where(Equal(size, -1), 1, size) turns -1 ("keep") into 1, which Expand keeps too.
    const Node *equal = prod(node->input(0), "Equal");
    std::string size = node->input(2);
    if (!equal || uniformOf(node->input(1)) != 1.0)
      return std::nullopt;
    bool isMinusOneTest = (equal->input(0) == size && uniformOf(equal->input(1)) == -1.0) ||
                          (equal->input(1) == size && uniformOf(equal->input(0)) == -1.0);
    if (!isMinusOneTest)
      return std::nullopt;
    std::optional<DimSource> entry = dimSource(size, i, depth + 1);
    if (entry && entry->tensor.empty() && entry->factor == -1)
      entry->factor = 1;
    return entry;
  }
  return std::nullopt;
}

std::optional<Raiser::RepeatedHeads> Raiser::repeatedHeads(StringRef name) {
  const Node *reshape = prod(name, "Reshape");
  if (!reshape)
    return std::nullopt;
  std::string expanded = reshape->input(0);
  const Node *expand = prod(expanded, "Expand");
  if (!expand)
    return std::nullopt;
  std::string unsqueezed = expand->input(0);
  while (isFullSlice(im.producer(unsqueezed)))
    unsqueezed = im.producer(unsqueezed)->input(0);
  const Node *unsqueeze = prod(unsqueezed, "Unsqueeze");
  if (!unsqueeze)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> axes;
  if (im.opset >= 13) {
    std::optional<Known> k = unsqueeze->input_size() > 1 ? im.constantOf(unsqueeze->input(1)) : std::nullopt;
    if (k && !k->isFloat())
      axes = SmallVector<int64_t>(k->ints.begin(), k->ints.end());
  } else {
    axes = Importer::intsAttr(*unsqueeze, "axes");
  }
  if (!axes || axes->size() != 1 || ((*axes)[0] != 2 && (*axes)[0] != -3))
    return std::nullopt;

  RepeatedHeads repeated;
  repeated.heads = unsqueeze->input(0);
  SmallVector<std::string> aliases{repeated.heads};
  while (isFullSlice(im.producer(repeated.heads))) {
    repeated.heads = im.producer(repeated.heads)->input(0);
    aliases.push_back(repeated.heads);
  }
  // Whether `entry` is `factor` times dimension `axis` of the (rank-4) heads.
  auto isDim = [&](const DimSource &entry, int64_t axis, int64_t factor) {
    return !entry.tensor.empty() && entry.factor == factor && (entry.axis < 0 ? entry.axis + 4 : entry.axis) == axis &&
           llvm::is_contained(aliases, entry.tensor);
  };
  // Expand to [B, Hkv, n, L, Dh]: each entry but n keeps the heads' dimension (1 keeps it too).
  if (shapeLength(expand->input(1)) != 5)
    return std::nullopt;
  std::optional<DimSource> repeats = dimSource(expand->input(1), 2);
  if (!repeats || !repeats->tensor.empty() || repeats->factor < 1)
    return std::nullopt;
  repeated.repeats = repeats->factor;
  static const std::pair<int64_t, int64_t> keptAxes[] = {{0, 0}, {1, 1}, {3, 2}, {4, 3}};
  for (auto [entry, axis] : keptAxes) {
    std::optional<DimSource> e = dimSource(expand->input(1), entry);
    if (!e)
      return std::nullopt;
    if (e->tensor.empty() && e->factor > 1)
      repeated.staticDims.push_back({axis, e->factor});
    else if (!(e->tensor.empty() && e->factor == 1) && !isDim(*e, axis, 1))
      return std::nullopt;
  }
  // Reshape to [B, Hkv * n, L, Dh] (one -1 is inferred; a 0 in front copies B).
  if (shapeLength(reshape->input(1)) != 4)
    return std::nullopt;
  bool allowZero = Importer::intAttr(*reshape, "allowzero", 0);
  int inferred = 0;
  for (int64_t axis = 0; axis < 4; ++axis) {
    int64_t factor = axis == 1 ? repeated.repeats : 1;
    std::optional<DimSource> e = dimSource(reshape->input(1), axis);
    if (!e)
      return std::nullopt;
    if (e->tensor.empty() && e->factor == -1)
      ++inferred;
    else if (e->tensor.empty() && e->factor == 0 && axis == 0 && !allowZero)
      continue;
    else if (e->tensor.empty() && e->factor > 0 && e->factor % factor == 0)
      repeated.staticDims.push_back({axis, e->factor / factor});
    else if (!isDim(*e, axis, factor))
      return std::nullopt;
  }
  if (inferred > 1)
    return std::nullopt;
  return repeated;
}

std::optional<int64_t> Raiser::rankOf(StringRef name, int depth) const {
  auto it = rankMemo.find(name);
  if (it != rankMemo.end())
    return it->second;
  if (tracing > 256)
    return std::nullopt;
  ++tracing;
  std::optional<int64_t> rank = computeRankOf(name, depth);
  --tracing;
  rankMemo[name] = rank;
  return rank;
}

std::optional<int64_t> Raiser::computeRankOf(StringRef name, int depth) const {
  if (depth > 64)
    return std::nullopt;
  if (auto it = im.values.find(name); it != im.values.end() && it->second.value)
    if (auto type = dyn_cast<RankedTensorType>(it->second.value.getType()))
      return type.getRank();
  if (const SafetensorsTensor *t = im.weights->lookup(name))
    return int64_t(t->shape.size());
  for (const onnx::ValueInfoProto &input : im.model.graph().input())
    if (input.name() == name)
      return input.type().tensor_type().has_shape()
                 ? std::optional<int64_t>(input.type().tensor_type().shape().dim_size())
                 : std::nullopt;
  const Node *node = im.producer(name);
  if (!node)
    return std::nullopt;
  StringRef op = node->op_type();
  if (op == "Constant") {
    std::optional<Known> k = im.constantOf(name);
    return k ? std::optional<int64_t>(k->shape.size()) : std::nullopt;
  }
  if (op == "Shape" || op == "Range")
    return 1;
  if (op == "ConstantOfShape")
    return shapeLength(node->input(0));
  if (op == "Transpose") {
    if (std::optional<SmallVector<int64_t>> perm = Importer::intsAttr(*node, "perm"))
      return int64_t(perm->size());
    return rankOf(node->input(0), depth + 1);
  }
  if (op == "Reshape")
    return shapeLength(node->input(1));
  if (op == "Unsqueeze") {
    std::optional<int64_t> added;
    if (im.opset >= 13)
      added = node->input_size() > 1 ? shapeLength(node->input(1)) : std::nullopt;
    else if (std::optional<SmallVector<int64_t>> axes = Importer::intsAttr(*node, "axes"))
      added = int64_t(axes->size());
    std::optional<int64_t> rank = rankOf(node->input(0), depth + 1);
    return rank && added ? std::optional<int64_t>(*rank + *added) : std::nullopt;
  }
  if (op == "Gather") {
    std::optional<int64_t> data = rankOf(node->input(0), depth + 1), indices = rankOf(node->input(1), depth + 1);
    return data && indices ? std::optional<int64_t>(*data - 1 + *indices) : std::nullopt;
  }
  static const llvm::StringSet<> sameRank = {"Cast", "Identity", "Softmax", "LayerNormalization", "Neg", "Sqrt",
                                             "Erf", "Tanh", "Sigmoid", "Relu", "Exp", "Log", "Abs", "Reciprocal",
                                             "Not", "Slice", "Concat", "Trilu"};
  if (sameRank.contains(op) || (op.starts_with("Reduce") && Importer::intAttr(*node, "keepdims", 1)))
    return rankOf(node->input(0), depth + 1);
  static const llvm::StringSet<> broadcasting = {"Add", "Sub", "Mul", "Div", "Pow", "Where", "Equal", "And",
                                                 "Or", "Max", "Min", "MatMul", "Less", "Greater"};
  if (broadcasting.contains(op)) {
    int64_t rank = 0;
    for (const std::string &input : node->input()) {
      std::optional<int64_t> r = rankOf(input, depth + 1);
      if (!r)
        return std::nullopt;
      rank = std::max(rank, *r);
    }
    return rank;
  }
  return std::nullopt;
}

std::optional<Raiser::DimExpr> Raiser::dimExpr(StringRef name, int64_t axis, int depth) const {
  if (axis < 0) {
    std::optional<int64_t> rank = rankOf(name);
    if (!rank || axis + *rank < 0)
      return std::nullopt;
    axis += *rank;
  }
  std::pair<std::string, int64_t> key{name.str(), axis};
  auto it = dimMemo.find(key);
  if (it != dimMemo.end())
    return it->second;
  if (tracing > 256)
    return std::nullopt;
  ++tracing;
  std::optional<DimExpr> e = computeDimExpr(name, axis, depth);
  --tracing;
  dimMemo[key] = e;
  return e;
}

std::optional<Raiser::DimExpr> Raiser::computeDimExpr(StringRef name, int64_t axis, int depth) const {
  DimExpr leaf;
  leaf.terms[{name.str(), axis}] = 1;
  if (depth > 64)
    return leaf;
  if (const SafetensorsTensor *t = im.weights->lookup(name))
    return axis < int64_t(t->shape.size()) ? std::optional<DimExpr>(DimExpr::of(t->shape[axis])) : std::nullopt;
  for (const onnx::ValueInfoProto &input : im.model.graph().input())
    if (input.name() == name) {
      const onnx::TensorShapeProto &shape = input.type().tensor_type().shape();
      if (axis < shape.dim_size() && shape.dim(axis).has_dim_value() && shape.dim(axis).dim_value() > 0)
        return DimExpr::of(shape.dim(axis).dim_value());
      return leaf;
    }
  const Node *node = im.producer(name);
  if (!node)
    return leaf;
  StringRef op = node->op_type();
  if (op == "Transpose") {
    std::optional<SmallVector<int64_t>> perm = Importer::intsAttr(*node, "perm");
    if (!perm || axis >= int64_t(perm->size()))
      return leaf;
    return dimExpr(node->input(0), (*perm)[axis], depth + 1);
  }
  if (op == "Reshape") {
    std::optional<DimExpr> entry = entryExpr(node->input(1), axis);
    if (!entry || entry->isConstant(-1))
      return leaf;
    if (entry->isConstant(0))
      return Importer::intAttr(*node, "allowzero", 0) ? *entry : dimExpr(node->input(0), axis, depth + 1);
    return entry;
  }
  if (op == "Concat") {
    std::optional<int64_t> rank = rankOf(name);
    int64_t along = Importer::intAttr(*node, "axis", 0);
    if (!rank)
      return leaf;
    if (along < 0)
      along += *rank;
    if (along != axis)
      return dimExpr(node->input(0), axis, depth + 1);
    DimExpr sum;
    for (const std::string &input : node->input()) {
      std::optional<DimExpr> part = dimExpr(input, axis, depth + 1);
      if (!part)
        return leaf;
      sum.add(*part);
    }
    return sum;
  }
  static const llvm::StringSet<> sameShape = {"Cast", "Identity", "Softmax", "LayerNormalization", "Neg", "Sqrt",
                                              "Erf", "Tanh", "Sigmoid", "Relu", "Exp", "Log", "Abs", "Reciprocal",
                                              "Not", "Trilu"};
  if (sameShape.contains(op))
    return dimExpr(node->input(0), axis, depth + 1);
  if (op.starts_with("Reduce") && Importer::intAttr(*node, "keepdims", 1)) {
    // Reduced axes keep extent 1; the others are the input's.
    std::optional<SmallVector<int64_t>> axes = Importer::intsAttr(*node, "axes");
    if (!axes && node->input_size() > 1) {
      std::optional<Known> k = im.constantOf(node->input(1));
      if (k && !k->isFloat())
        axes = SmallVector<int64_t>(k->ints.begin(), k->ints.end());
    }
    std::optional<int64_t> rank = rankOf(name);
    if (!axes || !rank)
      return leaf;
    bool reduced = llvm::any_of(*axes, [&](int64_t a) { return (a < 0 ? a + *rank : a) == axis; });
    return reduced ? DimExpr::of(1) : dimExpr(node->input(0), axis, depth + 1);
  }
  if (op == "Slice") {
    std::optional<Known> axes = node->input_size() > 3 ? im.constantOf(node->input(3)) : std::nullopt;
    std::optional<int64_t> rank = rankOf(name);
    bool untouched = axes && rank && llvm::none_of(axes->ints, [&](int64_t a) { return (a < 0 ? a + *rank : a) == axis; });
    return isFullSlice(node) || untouched ? dimExpr(node->input(0), axis, depth + 1) : leaf;
  }
  if (op == "Gather" && Importer::intAttr(*node, "axis", 0) == 0) {
    std::optional<int64_t> indices = rankOf(node->input(1));
    if (!indices)
      return leaf;
    return axis < *indices ? dimExpr(node->input(1), axis, depth + 1)
                           : dimExpr(node->input(0), axis - *indices + 1, depth + 1);
  }
  if (op == "MatMul") {
    std::optional<int64_t> rank = rankOf(name), lhs = rankOf(node->input(0)), rhs = rankOf(node->input(1));
    if (!rank || !lhs || !rhs || *lhs < 2 || *rhs < 2)
      return leaf;
    if (axis == *rank - 1)
      return dimExpr(node->input(1), *rhs - 1, depth + 1);
    if (axis == *rank - 2 || *rhs == 2)
      return dimExpr(node->input(0), axis - (*rank - *lhs), depth + 1);
    return leaf;
  }
  if (op == "Unsqueeze") {
    // Inserted axes have extent 1; the others are the input's, in order.
    std::optional<SmallVector<int64_t>> axes = Importer::intsAttr(*node, "axes");
    if (!axes && node->input_size() > 1) {
      std::optional<Known> k = im.constantOf(node->input(1));
      if (k && !k->isFloat())
        axes = SmallVector<int64_t>(k->ints.begin(), k->ints.end());
    }
    std::optional<int64_t> rank = rankOf(name);
    if (!axes || !rank)
      return leaf;
    int64_t inputAxis = axis;
    for (int64_t d = 0; d < axis + 1 && d < *rank; ++d) {
      bool inserted = llvm::any_of(*axes, [&](int64_t a) { return (a < 0 ? a + *rank : a) == d; });
      if (inserted && d == axis)
        return DimExpr::of(1);
      if (inserted)
        --inputAxis;
    }
    return dimExpr(node->input(0), inputAxis, depth + 1);
  }
  if (op == "ConstantOfShape") {
    std::optional<DimExpr> entry = entryExpr(node->input(0), axis);
    return entry ? *entry : leaf;
  }
  if (op == "Range" && axis == 0 && node->input_size() == 3 && entryExpr(node->input(2), 0) &&
      entryExpr(node->input(2), 0)->isConstant(1)) {
    // arange(start, limit): limit - start elements (a limit below the start, none, is not a shape here).
    std::optional<DimExpr> start = entryExpr(node->input(0), 0), limit = entryExpr(node->input(1), 0);
    if (!start || !limit)
      return leaf;
    return limit->add(*start, -1);
  }
  // A rotary embedding keeps its heads' shape when its tables are provably read at the heads' positions (its
  // Add broadcasts the heads with tables of S rows, or of one at the end of the tables).
  if (op == "Add")
    if (std::optional<Rotary> rotary = rotaryOf(name); rotary && rotaryMismatch(*rotary).empty())
      return dimExpr(rotary->input, axis, depth + 1);
  static const llvm::StringSet<> broadcasting = {"Add", "Sub", "Mul", "Div", "Pow", "Where", "Equal", "And",
                                                 "Or", "Max", "Min", "Less", "Greater"};
  if (broadcasting.contains(op)) {
    // Right-aligned broadcasting: operands of extent 1 follow the others, which must agree.
    std::optional<int64_t> rank = rankOf(name);
    if (!rank)
      return leaf;
    std::optional<DimExpr> agreed;
    for (const std::string &input : node->input()) {
      std::optional<int64_t> r = rankOf(input);
      if (!r)
        return leaf;
      int64_t aligned = axis - (*rank - *r);
      if (aligned < 0)
        continue;
      std::optional<DimExpr> e = dimExpr(input, aligned, depth + 1);
      if (!e)
        return leaf;
      if (e->isConstant(1))
        continue;
      if (agreed && !(*agreed == *e))
        return leaf;
      agreed = e;
    }
    return agreed ? *agreed : DimExpr::of(1);
  }
  return leaf;
}

std::optional<Raiser::DimExpr> Raiser::entryExpr(StringRef name, int64_t i, int depth) const {
  if (depth > 32 || i < 0 || tracing > 256)
    return std::nullopt;
  ++tracing;
  auto done = llvm::make_scope_exit([&] { --tracing; });
  if (std::optional<Known> k = im.constantOf(name)) {
    if (k->isFloat() || k->shape.size() > 1 || i >= k->size())
      return std::nullopt;
    return DimExpr::of(k->ints[i]);
  }
  const Node *node = im.producer(name);
  if (!node)
    return std::nullopt;
  StringRef op = node->op_type();
  if (op == "Cast" || op == "Identity" || op == "Squeeze" || (op == "Reshape" && uniformOf(node->input(1)) == -1))
    return entryExpr(node->input(0), i, depth + 1);
  if (op == "Unsqueeze")
    return i == 0 && shapeLength(node->input(0)) == 1 ? entryExpr(node->input(0), 0, depth + 1) : std::nullopt;
  if (op == "Concat") {
    for (const std::string &input : node->input()) {
      std::optional<int64_t> length = shapeLength(input);
      if (!length)
        return std::nullopt;
      if (i < *length)
        return entryExpr(input, i, depth + 1);
      i -= *length;
    }
    return std::nullopt;
  }
  if (op == "Shape") {
    int64_t start = Importer::intAttr(*node, "start", 0);
    return start >= 0 ? dimExpr(node->input(0), start + i) : std::nullopt;
  }
  if (op == "Slice") {
    const Node *shape = prod(node->input(0), "Shape");
    std::optional<int64_t> length = shape && Importer::intAttr(*shape, "start", 0) == 0 && !Importer::attr(*shape, "end")
                                        ? rankOf(shape->input(0))
                                        : shapeLength(node->input(0));
    std::optional<std::pair<int64_t, int64_t>> window = length ? shapeSliceWindow(*node, *length) : std::nullopt;
    if (!window || i >= window->second)
      return std::nullopt;
    return entryExpr(node->input(0), window->first + i, depth + 1);
  }
  if (op == "Gather" && node->input_size() == 2 && Importer::intAttr(*node, "axis", 0) == 0) {
    std::optional<Known> indices = im.constantOf(node->input(1));
    if (!indices || indices->isFloat() || indices->shape.size() > 1 || i >= indices->size())
      return std::nullopt;
    int64_t index = indices->ints[i];
    if (const Node *shape = prod(node->input(0), "Shape"))
      return Importer::intAttr(*shape, "start", 0) == 0 && !Importer::attr(*shape, "end")
                 ? dimExpr(shape->input(0), index)
                 : std::nullopt;
    if (index < 0) {
      std::optional<int64_t> length = shapeLength(node->input(0));
      if (!length)
        return std::nullopt;
      index += *length;
    }
    return entryExpr(node->input(0), index, depth + 1);
  }
  if ((op == "Add" || op == "Sub" || op == "Mul") && node->input_size() == 2) {
    auto operand = [&](StringRef input) {
      return entryExpr(input, shapeLength(input) == 1 ? 0 : i, depth + 1);
    };
    std::optional<DimExpr> lhs = operand(node->input(0)), rhs = operand(node->input(1));
    if (!lhs || !rhs)
      return std::nullopt;
    if (op != "Mul")
      return lhs->add(*rhs, op == "Add" ? 1 : -1);
    if (!rhs->terms.empty())
      std::swap(lhs, rhs);
    if (!rhs->terms.empty())
      return std::nullopt;
    DimExpr scaled = DimExpr::of(0);
    return scaled.add(*lhs, rhs->constant);
  }
  if (op == "Where" && node->input_size() == 3) {
    // torch's expand: Where(Equal(size, -1), 1, size).
    const Node *equal = prod(node->input(0), "Equal");
    std::string size = node->input(2);
    if (!equal || uniformOf(node->input(1)) != 1.0 ||
        !((equal->input(0) == size && uniformOf(equal->input(1)) == -1.0) ||
          (equal->input(1) == size && uniformOf(equal->input(0)) == -1.0)))
      return std::nullopt;
    std::optional<DimExpr> entry = entryExpr(size, i, depth + 1);
    if (entry && entry->isConstant(-1))
      entry = DimExpr::of(1);
    return entry;
  }
  return std::nullopt;
}

std::optional<std::pair<int64_t, int64_t>> Raiser::shapeSliceWindow(const Node &slice, int64_t length) const {
  if (im.opset < 10 || slice.input_size() < 3)
    return std::nullopt;
  auto single = [&](int input, int64_t fallback) -> std::optional<int64_t> {
    if (slice.input_size() <= input || slice.input(input).empty())
      return fallback;
    std::optional<Known> k = im.constantOf(slice.input(input));
    if (!k || k->isFloat() || k->size() != 1)
      return std::nullopt;
    return k->ints[0];
  };
  std::optional<int64_t> start = single(1, 0), end = single(2, 0), axis = single(3, 0), step = single(4, 1);
  if (!start || !end || axis != 0 || step != 1)
    return std::nullopt;
  int64_t s = std::clamp<int64_t>(*start < 0 ? *start + length : *start, 0, length);
  int64_t e = std::clamp<int64_t>(*end < 0 ? *end + length : *end, 0, length);
  return std::make_pair(s, std::max<int64_t>(e - s, 0));
}

bool Raiser::isCausalWindow(StringRef cond, const DimExpr &queries, const DimExpr &keys) const {
  // Each sliced axis of the buffer: [start, end) as expressions.
  std::map<int64_t, std::pair<DimExpr, DimExpr>> windows;
  std::string c = cond.str();
  while (const Node *n = im.producer(c)) {
    if (n->op_type() == "Cast" || isFullSlice(n)) {
      c = n->input(0);
      continue;
    }
    if (n->op_type() != "Slice" || n->input_size() < 3 || im.opset < 10)
      break;
    std::optional<int64_t> rank = rankOf(n->input(0)), count = shapeLength(n->input(1));
    std::optional<Known> axes = n->input_size() > 3 ? im.constantOf(n->input(3)) : std::nullopt;
    if (!rank || !count || (n->input_size() > 3 && (!axes || axes->size() != *count)))
      return false;
    if (n->input_size() > 4 && !n->input(4).empty() && uniformOf(n->input(4)) != 1.0)
      return false;
    for (int64_t j = 0; j < *count; ++j) {
      int64_t axis = axes ? axes->ints[j] : j;
      axis = axis < 0 ? axis + *rank : axis;
      std::optional<DimExpr> start = entryExpr(n->input(1), j), end = entryExpr(n->input(2), j);
      if (!start || !end || windows.count(axis))
        return false;
      windows[axis] = {*start, *end};
    }
    c = n->input(0);
  }
  std::optional<Known> buffer = im.constantOf(c);
  if (!buffer || buffer->shape.size() < 2)
    return false;
  int64_t rank = buffer->shape.size(), n = buffer->shape.back();
  for (const auto &[axis, window] : windows)
    if (axis < rank - 2 && !(window.first.isConstant(0) && window.second.terms.empty() &&
                             window.second.constant >= buffer->shape[axis]))
      return false;
  auto windowOf = [&](int64_t axis) {
    auto it = windows.find(axis);
    return it == windows.end() ? std::make_pair(DimExpr::of(0), DimExpr::of(n)) : it->second;
  };
  auto [rowStart, rowEnd] = windowOf(rank - 2);
  auto [colStart, colEnd] = windowOf(rank - 1);
  // mask[i, j] = buffer[rowStart + i, colStart + j] = (colStart + j <= rowStart + i): causal with offset L - S
  // when rowStart - colStart = L - S, over S rows and L columns.
  DimExpr offset = rowStart, expected = keys, rows = rowEnd, columns = colEnd;
  offset.add(colStart, -1);
  expected.add(queries, -1);
  rows.add(rowStart, -1);
  columns.add(colStart, -1);
  return offset == expected && rows == queries && columns == keys;
}

FailureOr<Value> Raiser::attention() {
  what = "attention";
  auto perm = [](const Node *node) { return Importer::intsAttr(*node, "perm").value_or(SmallVector<int64_t>()); };
  auto isPerm = [&](const Node *node, ArrayRef<int64_t> expected) {
    return node && ArrayRef<int64_t>(perm(node)) == expected;
  };
  // softmax(scores) @ V_heads, heads merged back: Reshape(Transpose(MatMul(Softmax, V), [0, 2, 1, 3])).
  const Node *merge = prod(root.input(0), "Transpose");
  const Node *pv = merge ? prod(merge->input(0), "MatMul") : nullptr;
  const Node *softmax = pv ? prod(pv->input(0), "Softmax") : nullptr;
  if (!softmax)
    return fail(""), Value(); // not an attention candidate: nothing to report
  if (!isPerm(merge, {0, 2, 1, 3}))
    return fail("the heads are not merged by Transpose [0, 2, 1, 3]"), Value();
  int64_t axis = Importer::intAttr(*softmax, "axis", -1);
  if (axis != -1 && axis != 3)
    return fail("the softmax is not over the last axis"), Value();

  // X_heads = Transpose(Reshape(x, [B, S, H, Dh]), perm): x, H and Dh (-1 where the shape leaves them to infer).
  struct Heads {
    std::string source;
    int64_t heads = -1, headDim = -1;
  };
  auto headsOf = [&](StringRef name, ArrayRef<int64_t> expectedPerm) -> FailureOr<std::optional<Heads>> {
    const Node *t = prod(name, "Transpose");
    if (!isPerm(t, expectedPerm))
      return std::optional<Heads>();
    const Node *reshape = prod(t->input(0), "Reshape");
    if (!reshape)
      return std::optional<Heads>();
    FailureOr<std::optional<SmallVector<OpFoldResult>>> dims = im.dimsOf(reshape->input(1));
    if (failed(dims))
      return failure();
    if (!*dims || (*dims)->size() != 4)
      return std::optional<Heads>();
    Heads h;
    h.source = reshape->input(0);
    h.heads = Importer::constantDim((**dims)[2]).value_or(-2);
    h.headDim = Importer::constantDim((**dims)[3]).value_or(-2);
    if (h.heads == -2 || h.headDim == -2 || h.heads == 0 || h.headDim == 0)
      return std::optional<Heads>();
    return std::optional<Heads>(h);
  };

  double scale = 1.0;
  // Grouped-query attention repeats the key and value heads (repeat_kv) before the products.
  std::string vName = pv->input(1);
  std::optional<RepeatedHeads> vRepeat = repeatedHeads(vName), kRepeat;
  if (vRepeat)
    vName = vRepeat->heads;
  // A KV cache in the heads layout (Hugging Face's): Concat(past [B, Hkv, P, Dh], new heads, axis 2), whose
  // result is also the present output.
  auto cacheOf = [&](StringRef name) -> const Node * {
    const Node *concat = prod(name, "Concat");
    int64_t axis = concat ? Importer::intAttr(*concat, "axis", 0) : 0;
    return concat && concat->input_size() == 2 && (axis == 2 || axis == -2) ? concat : nullptr;
  };
  std::string vPast, vPresent, kPast, kPresent;
  if (const Node *concat = cacheOf(vName)) {
    vPresent = vName;
    vPast = concat->input(0);
    vName = concat->input(1);
  }
  FailureOr<std::optional<Heads>> v = headsOf(vName, {0, 2, 1, 3});
  if (failed(v))
    return failure();
  if (!*v)
    return fail("V is not Transpose(Reshape(v, [B, L, H, Dh]), [0, 2, 1, 3])" +
                std::string(prod(vName, "Expand") || prod(vName, "Reshape") ? " nor repeated heads (repeat_kv)" : "")),
           Value();

  // Walk from the softmax input to Q @ K^T through the mask and the scaling.
  std::string scores = softmax->input(0), maskName, causalCondition, biasName;
  bool causal = false;
  const Node *qk = nullptr;
  for (int steps = 0; steps < 8 && !qk; ++steps) {
    if ((qk = prod(scores, "MatMul")))
      break;
    if (const Node *node = prod(scores, "Div"); node && scalar(node->input(1))) {
      scale /= *scalar(node->input(1));
      scores = node->input(0);
    } else if (auto scaled = withScalar(prod(scores, "Mul"))) {
      scale *= scaled->second;
      scores = scaled->first;
    } else if (const Node *where = prod(scores, "Where")) {
      // Where(causal_mask, scores, fill) with a lower-triangular constant (a sliced buffer) as the condition.
      std::string cond = where->input(0);
      while (const Node *n = im.producer(cond)) {
        if (n->op_type() != "Slice" && n->op_type() != "Cast" && n->op_type() != "Unsqueeze")
          break;
        cond = n->input(0);
      }
      std::optional<Known> buffer = im.constantOf(cond);
      if (!buffer || buffer->shape.size() < 2 || !isMaskFill(where->input(2)))
        return fail("Where(...) on the scores is not Where(lower-triangular constant, scores, -large)"), Value();
      int64_t n = buffer->shape.back(), m = buffer->shape[buffer->shape.size() - 2];
      if (n != m)
        return fail("the causal mask buffer is not square"), Value();
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j)
          if ((buffer->at(i * n + j) != 0) != (j <= i))
            return fail("the mask buffer '" + cond + "' is not lower-triangular"), Value();
      causal = true;
      causalCondition = where->input(0);
      scores = where->input(1);
    } else if (const Node *add = prod(scores, "Add")) {
      // One operand is the mask term, the other the scores.
      bool matched = false;
      for (int i = 0; i < 2 && !matched; ++i) {
        std::string term = add->input(1 - i);
        // Causal: Trilu(upper, k = 1) of a -large fill, possibly sliced or broadcast.
        std::string t = term;
        while (const Node *n = im.producer(t)) {
          if (n->op_type() != "Slice" && n->op_type() != "Unsqueeze" && n->op_type() != "Cast")
            break;
          t = n->input(0);
        }
        if (const Node *trilu = prod(t, "Trilu")) {
          bool upperByOne = Importer::intAttr(*trilu, "upper", 1) && trilu->input_size() > 1 &&
                            isScalar(trilu->input(1), 1.0);
          const Node *filled = prod(trilu->input(0), "ConstantOfShape");
          std::optional<Known> fill;
          if (filled && Importer::attr(*filled, "value")) {
            std::string why;
            FailureOr<Known> k = knownFromProto(im.context, Importer::attr(*filled, "value")->t(), why);
            if (succeeded(k))
              fill = *k;
          }
          if (!upperByOne || !fill || fill->size() != 1 || fill->at(0) > -1e4)
            return fail("the additive mask is a Trilu but not triu(-large, 1)"), Value();
          causal = true;
          scores = add->input(i);
          matched = true;
          break;
        }
        // Padding: (1 - mask[:, None, None, :]) * -large.
        auto masked = withScalar(prod(term, "Mul"));
        const Node *sub = masked ? prod(masked->first, "Sub") : nullptr;
        if (!masked || masked->second > -1e4 || !sub || !isScalar(sub->input(0), 1.0))
          continue;
        std::string m = sub->input(1);
        while (const Node *n = im.producer(m)) {
          if (n->op_type() != "Cast" && n->op_type() != "Unsqueeze" && n->op_type() != "Reshape" &&
              n->op_type() != "Expand")
            break;
          m = n->input(0);
        }
        FailureOr<Value> mv = im.value(m);
        if (failed(mv))
          return failure();
        if (cast<RankedTensorType>(mv->getType()).getRank() != 2)
          return fail("the padding mask is not [batch, key length]"), Value();
        maskName = m;
        scores = add->input(i);
        matched = true;
      }
      // An additive bias [1 or B, H, S, L] (T5's relative position bias) on the unscaled scores Q @ K^T
      // (possibly scaled inside: the bias is not); its shape is checked once the projections are emitted.
      for (int i = 0; i < 2 && !matched && biasName.empty() && scale == 1.0; ++i) {
        std::string product = add->input(i);
        if (auto scaled = withScalar(prod(product, "Mul")))
          product = scaled->first;
        else if (const Node *div = prod(product, "Div"); div && scalar(div->input(1)))
          product = div->input(0);
        if (!prod(product, "MatMul"))
          continue;
        biasName = add->input(1 - i);
        scores = add->input(i);
        matched = true;
      }
      if (!matched)
        return fail("the scores are added to something other than a padding or causal mask or a bias on Q @ K^T"),
               Value();
    } else {
      return fail("the softmax input is not Q @ K^T, scaled and masked"), Value();
    }
  }
  if (!qk)
    return fail("the softmax input is not Q @ K^T, scaled and masked"), Value();

  // Q (possibly scaled) and K^T: Transpose(Reshape(k), [0, 2, 3, 1]) or Transpose(K_heads, [0, 1, 3, 2]).
  std::string qName = qk->input(0);
  if (auto scaled = withScalar(prod(qName, "Mul"))) {
    scale *= scaled->second;
    qName = scaled->first;
  }
  // Rotary embeddings on the query and key heads (rotate-half form, positions start..start+S-1).
  std::optional<Rotary> qRotary, kRotary;
  if ((qRotary = rotaryOf(qName)))
    qName = qRotary->input;
  std::string kName = qk->input(1);
  if (auto scaled = withScalar(prod(kName, "Mul"))) {
    scale *= scaled->second;
    kName = scaled->first;
  }
  FailureOr<std::optional<Heads>> q = headsOf(qName, {0, 2, 1, 3});
  if (failed(q))
    return failure();
  if (!*q)
    return fail("Q is not Transpose(Reshape(q, [B, S, H, Dh]), [0, 2, 1, 3])"), Value();
  FailureOr<std::optional<Heads>> k = headsOf(kName, {0, 2, 3, 1});
  if (failed(k))
    return failure();
  if (!*k) {
    const Node *t = prod(kName, "Transpose");
    if (isPerm(t, {0, 1, 3, 2})) {
      std::string heads = t->input(0);
      if (auto scaled = withScalar(prod(heads, "Mul"))) {
        scale *= scaled->second;
        heads = scaled->first;
      }
      if ((kRepeat = repeatedHeads(heads)))
        heads = kRepeat->heads;
      if (const Node *concat = cacheOf(heads)) {
        kPresent = heads;
        kPast = concat->input(0);
        heads = concat->input(1);
      }
      if ((kRotary = rotaryOf(heads)))
        heads = kRotary->input;
      k = headsOf(heads, {0, 2, 1, 3});
      if (failed(k))
        return failure();
    }
  }
  if (!*k)
    return fail("K^T is not the key heads transposed"), Value();

  // A cache concatenated before the heads split: Concat(past [B, P, Hkv * Dh], projection, axis 1), the layout
  // of eff.attention's past and presents. Not with rotary keys: those rotate the cached keys again, at positions
  // 0..L-1, which eff.attention's past (keys stored rotated) does not.
  bool hiddenCache = false;
  if (kPast.empty() && vPast.empty() && !kRotary) {
    auto hiddenCacheOf = [&](StringRef source) -> const Node * {
      const Node *concat = prod(source, "Concat");
      int64_t axis = concat ? Importer::intAttr(*concat, "axis", 0) : 0;
      return concat && concat->input_size() == 2 && (axis == 1 || axis == -2) ? concat : nullptr;
    };
    const Node *kConcat = hiddenCacheOf((*k)->source), *vConcat = hiddenCacheOf((*v)->source);
    if (kConcat && vConcat) {
      kPresent = (*k)->source;
      vPresent = (*v)->source;
      kPast = kConcat->input(0);
      vPast = vConcat->input(0);
      (*k)->source = kConcat->input(1);
      (*v)->source = vConcat->input(1);
      hiddenCache = true;
    }
  }
  if (kPast.empty() != vPast.empty())
    return fail("only one of K and V is concatenated with a cache"), Value();

  FailureOr<Value> qv = im.value((*q)->source), kv = im.value((*k)->source), vv = im.value((*v)->source);
  if (failed(qv) || failed(kv) || failed(vv))
    return failure();
  // A causal mask sliced from a buffer must be the window eff.attention's `causal` applies: queries are the last
  // S of the L = P + Lnew keys. (Checked once the projections are emitted, whose ranks the shape tracing uses.)
  if (!causalCondition.empty()) {
    std::optional<DimExpr> queries = dimExpr((*q)->source, 1), keys = dimExpr((*k)->source, 1);
    std::optional<DimExpr> past = kPast.empty() ? DimExpr::of(0) : dimExpr(kPast, hiddenCache ? 1 : 2);
    if (!queries || !keys || !past || !isCausalWindow(causalCondition, *queries, keys->add(*past)))
      return fail("the causal mask is not provably the buffer's rows [L - S, L) and columns [0, L) for S queries "
                  "and L keys"),
             Value();
  }
  Value mask;
  if (!maskName.empty()) {
    FailureOr<Value> mv = im.value(maskName);
    if (failed(mv))
      return failure();
    mask = *mv;
  }
  for (Value x : {*qv, *kv, *vv})
    if (cast<RankedTensorType>(x.getType()).getRank() != 3 || !cast<RankedTensorType>(x.getType()).getElementType().isF32())
      return fail("Q, K and V are not [batch, seq, hidden] f32 tensors"), Value();
  // Head counts and sizes, a -1 in the split inferred from the projection's (static) width.
  auto resolve = [](const Heads &h, Value source, int64_t &count, int64_t &size) {
    int64_t hidden = cast<RankedTensorType>(source.getType()).getDimSize(2);
    count = h.heads;
    size = h.headDim;
    if (ShapedType::isDynamic(hidden))
      return false;
    if (count < 0 && size > 0)
      count = hidden / size;
    if (size < 0 && count > 0)
      size = hidden / count;
    std::optional<int64_t> product = llvm::checkedMul(count, size);
    return count > 0 && size > 0 && product == hidden;
  };
  int64_t heads, headDim, kvHeads, kHeadDim, vHeads, vHeadDim;
  if (!resolve(**q, *qv, heads, headDim) || !resolve(**k, *kv, kvHeads, kHeadDim) ||
      !resolve(**v, *vv, vHeads, vHeadDim))
    return fail("the head count and size do not split the hidden size"), Value();
  if (kHeadDim != headDim || vHeadDim != headDim || vHeads != kvHeads)
    return fail("Q, K and V heads differ in size, or K and V in count"), Value();
  int64_t kRepeats = kRepeat ? kRepeat->repeats : 1, vRepeats = vRepeat ? vRepeat->repeats : 1;
  if (kRepeats != vRepeats || llvm::checkedMul(kvHeads, kRepeats) != std::optional<int64_t>(heads))
    return fail(kRepeat || vRepeat ? "the key and value heads are not repeated to the query's head count"
                                   : "K or V have a different head count than Q and are not repeated (repeat_kv)"),
           Value();
  // The repeat's shapes may name static extents: they must be those of the key/value heads [B, Hkv, L, Dh].
  for (const std::optional<RepeatedHeads> &repeat : {kRepeat, vRepeat}) {
    if (!repeat)
      continue;
    auto kvType = cast<RankedTensorType>(kv->getType());
    int64_t extents[4] = {kvType.getDimSize(0), kvHeads, kvType.getDimSize(1), headDim};
    for (auto [axis, extent] : repeat->staticDims)
      if (extents[axis] != extent)
        return fail("the repeat_kv shapes assume extent " + std::to_string(extent) + " for dimension " +
                    std::to_string(axis) + " of the key/value heads"),
               Value();
  }
  // The rotary tables must be as wide as the heads (or, partial, narrower) and read at the rotated positions:
  // a table of another width is an error at its node (the graph's own broadcast could not hold), an unproven
  // window leaves the attention to import op by op.
  for (const std::optional<Rotary> &rotary : {qRotary, kRotary}) {
    if (!rotary)
      continue;
    if (rotary->partial ? rotary->width >= headDim : rotary->width != headDim)
      return im.error(*rotary->add) << "rotary tables of width " << rotary->width << " on heads of " << headDim
                                    << " channels" << (rotary->partial ? " (partial rotary needs fewer)" : ""),
             failure();
    if (std::string mismatch = rotaryMismatch(*rotary); !mismatch.empty())
      return fail("the rotary embedding at node '" + rotary->add->name() + "' is not raised: " + mismatch), Value();
  }
  // The bias must be [1 or B, H, S, L] exactly (eff.attention reads it so): each extent proven from the graph's
  // shape arithmetic, a static 1 for a batch it broadcasts over.
  Value bias;
  if (!biasName.empty()) {
    std::optional<DimExpr> batch = dimExpr((*q)->source, 0), queryLength = dimExpr((*q)->source, 1),
                           keyLength = dimExpr((*k)->source, 1);
    std::optional<DimExpr> past = kPast.empty() ? DimExpr::of(0) : dimExpr(kPast, hiddenCache ? 1 : 2);
    std::optional<DimExpr> b0 = dimExpr(biasName, 0), b1 = dimExpr(biasName, 1), b2 = dimExpr(biasName, 2),
                           b3 = dimExpr(biasName, 3);
    if (rankOf(biasName) != 4 || !batch || !queryLength || !keyLength || !past || !b0 || !b1 || !b2 || !b3 ||
        !(b0->isConstant(1) || *b0 == *batch) || !b1->isConstant(heads) || !(*b2 == *queryLength) ||
        !(*b3 == keyLength->add(*past)))
      return fail("the score bias '" + biasName + "' is not provably [1 or batch, " + std::to_string(heads) +
                  ", queries, keys]"),
             Value();
    FailureOr<Value> bv = im.value(biasName);
    if (failed(bv))
      return failure();
    auto type = cast<RankedTensorType>(bv->getType());
    if (type.getRank() != 4 || !type.getElementType().isF32())
      return fail("the score bias is not a 4-D f32 tensor"), Value();
    bias = *bv;
    if (b0->isConstant(1) && type.getDimSize(0) != 1) {
      // A batch of 1 that the IR type leaves dynamic: eff.attention broadcasts a static 1 only.
      SmallVector<int64_t> shape(type.getShape());
      shape[0] = 1;
      bias = tensor::CastOp::create(im.b, im.locOf(root), RankedTensorType::get(shape, type.getElementType()), bias);
    }
  }
  im.loc = im.locOf(root);
  Value queries = *qv, keys = *kv;
  if (qRotary || kRotary) {
    // Positions start..start+S-1 of the rotated tensor's own sequence, as eff.rotary's [S] positions (the keys
    // may be longer than the queries; start is the cache length for a decoder), clamped to the tables' last row
    // as the graph's Slice and broadcast read it.
    auto positionsOf = [&](Value x, const Rotary &rotary) -> FailureOr<Value> {
      Value offset = im.index(0);
      if (!rotary.start.empty()) {
        FailureOr<std::optional<SmallVector<OpFoldResult>>> start = im.dimsOf(rotary.start);
        if (failed(start))
          return failure();
        if (!*start || (*start)->size() != 1)
          return fail("the rotary tables' start is not a known scalar"), Value();
        offset = im.toIndex((**start)[0]);
      }
      Value length = tensor::DimOp::create(im.b, im.loc, x, 1);
      Value init = tensor::EmptyOp::create(im.b, im.loc, ArrayRef<OpFoldResult>{length}, im.b.getI64Type());
      int64_t lastRow = rotary.rows - 1;
      return linalg::GenericOp::create(
                 im.b, im.loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
                 ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(1, im.context)},
                 ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
                 [&](OpBuilder &nb, Location nl, ValueRange) {
                   Value i = linalg::IndexOp::create(nb, nl, 0);
                   Value position = arith::AddIOp::create(nb, nl, i, offset);
                   if (!rotary.start.empty())
                     position = arith::MinSIOp::create(nb, nl, position,
                                                       arith::ConstantIndexOp::create(nb, nl, lastRow));
                   linalg::YieldOp::create(
                       nb, nl, arith::IndexCastOp::create(nb, nl, nb.getI64Type(), position).getResult());
                 })
          .getResult(0);
    };
    // The structural checks above do not compare every shape (K's hidden size with its heads): eff.rotary's
    // type inference does, with its diagnostic at the node.
    auto rotate = [&](Value x, int64_t headCount, const Rotary &rotary) -> FailureOr<Value> {
      FailureOr<Value> positions = positionsOf(x, rotary);
      if (failed(positions) || !*positions)
        return positions;
      return im.inferred<RotaryOp>(x, *positions, im.b.getI64IntegerAttr(headCount),
                                   im.b.getF32FloatAttr(rotary.theta),
                                   rotary.partial ? im.b.getI64IntegerAttr(rotary.width) : IntegerAttr(),
                                   rotary.interleaved ? im.b.getUnitAttr() : UnitAttr());
    };
    FailureOr<Value> rotatedQueries = qRotary ? rotate(queries, heads, *qRotary) : FailureOr<Value>(queries);
    if (failed(rotatedQueries) || !*rotatedQueries)
      return rotatedQueries;
    FailureOr<Value> rotatedKeys = kRotary ? rotate(keys, kvHeads, *kRotary) : FailureOr<Value>(keys);
    if (failed(rotatedKeys) || !*rotatedKeys)
      return rotatedKeys;
    queries = *rotatedQueries;
    keys = *rotatedKeys;
  }
  // The cache goes from the heads layout [B, Hkv, P, Dh] to eff.attention's [B, P, Hkv * Dh] and back.
  Value pastKey, pastValue;
  if (!kPast.empty()) {
    FailureOr<Value> pk = im.value(kPast), pv = im.value(vPast);
    if (failed(pk) || failed(pv))
      return failure();
    for (Value past : {*pk, *pv}) {
      auto type = cast<RankedTensorType>(past.getType());
      if (hiddenCache) {
        if (type.getRank() != 3 || type.getElementType() != cast<RankedTensorType>(kv->getType()).getElementType() ||
            type.getDimSize(2) != kvHeads * headDim)
          return fail("the cache is not [batch, past, " + std::to_string(kvHeads * headDim) +
                      "] of the keys' element type"),
                 Value();
        continue;
      }
      if (type.getRank() != 4 || type.getElementType() != cast<RankedTensorType>(kv->getType()).getElementType() ||
          type.getDimSize(1) != kvHeads || type.getDimSize(3) != headDim)
        return fail("the cache is not [batch, " + std::to_string(kvHeads) + ", past, " + std::to_string(headDim) +
                    "] of the keys' element type"),
               Value();
    }
    auto toHidden = [&](Value cache) {
      Value t = im.transpose(cache, {0, 2, 1, 3});
      SmallVector<OpFoldResult> sizes = im.sizesOf(t);
      return im.reshape(t, {sizes[0], sizes[1], im.indexAttr(kvHeads * headDim)});
    };
    pastKey = hiddenCache ? *pk : toHidden(*pk);
    pastValue = hiddenCache ? *pv : toHidden(*pv);
  }
  bool defaultScale = std::fabs(scale * std::sqrt(double(headDim)) - 1.0) < 1e-5;
  // Nor are K's and V's head sizes, batch sizes or the mask's length checked above: eff.attention's are.
  SmallVector<Type, 2> presentTypes(pastKey ? 2 : 0, NoneType::get(im.context));
  FailureOr<Value> attention = im.inferred<AttentionOp>(
      TypeRange(presentTypes), queries, keys, *vv, mask, bias, /*head_mask=*/Value(), pastKey, pastValue,
      im.b.getI64IntegerAttr(heads), kvHeads != heads ? im.b.getI64IntegerAttr(kvHeads) : IntegerAttr(),
      defaultScale ? FloatAttr() : im.b.getF32FloatAttr(scale), causal ? im.b.getUnitAttr() : UnitAttr());
  if (failed(attention))
    return failure();
  auto op = cast<AttentionOp>(attention->getDefiningOp());
  std::string rotaryDetail;
  if (const Rotary *rotary = qRotary ? &*qRotary : kRotary ? &*kRotary : nullptr) {
    rotaryDetail = ", rotary theta " + std::to_string(rotary->theta);
    if (rotary->partial)
      rotaryDetail += " on " + std::to_string(rotary->width) + " channels";
    if (!rotary->start.empty() && !entryExpr(rotary->start, 0)->isConstant(0))
      rotaryDetail += " from position '" + rotary->start + "'";
  }
  detail = std::to_string(heads) + " heads of " + std::to_string(headDim) +
           (kvHeads != heads ? ", " + std::to_string(kvHeads) + " key/value heads" : "") + (causal ? ", causal" : "") +
           rotaryDetail +
           (mask ? ", padding mask '" + maskName + "'" : "") + (bias ? ", score bias '" + biasName + "'" : "") + (defaultScale ? "" : ", scale " + std::to_string(scale)) +
           (pastKey ? ", KV cache '" + kPast + "', '" + vPast + "'" : "");
  if (pastKey) {
    // The presents, back in the heads layout, are the Concat nodes' values (unless already emitted op by op).
    for (auto [present, name] : llvm::zip(op.getPresent(), std::array<std::string, 2>{kPresent, vPresent})) {
      if (hiddenCache) {
        // The heads split's shape may have emitted the Concat already (Shape of it): later uses take the present,
        // and the Concat goes when nothing else reads it.
        if (auto it = im.values.find(name); it != im.values.end() && it->second.value) {
          Value concat = it->second.value;
          concat.replaceUsesWithIf(present, [&](OpOperand &use) {
            return use.getOwner()->getBlock() == op->getBlock() && op->isBeforeInBlock(use.getOwner());
          });
          if (Operation *def = concat.getDefiningOp(); def && def->use_empty())
            def->erase();
        }
        im.values[name].value = present;
        continue;
      }
      if (im.values.count(name))
        continue;
      SmallVector<OpFoldResult> sizes = im.sizesOf(present);
      Value split = im.reshape(present, {sizes[0], sizes[1], im.indexAttr(kvHeads), im.indexAttr(headDim)});
      im.values[name].value = im.transpose(split, {0, 2, 1, 3});
    }
  }
  return *attention;
}

LogicalResult Importer::bindInputs(const onnx::GraphProto &graph) {
  for (const auto &[name, file] : options.boundInputs) {
    auto fail = [&, &name = name, &file = file]() {
      return emitError(fileLoc) << "--bind-input " << name << "=" << file << ": ";
    };
    const onnx::ValueInfoProto *input = nullptr;
    for (const onnx::ValueInfoProto &candidate : graph.input())
      if (candidate.name() == name && !isInitializer(name))
        input = &candidate;
    if (!input) {
      std::string names;
      for (const onnx::ValueInfoProto &candidate : graph.input())
        if (!isInitializer(candidate.name()))
          names += (names.empty() ? "" : ", ") + candidate.name();
      return fail() << "the model has no graph input '" << name << "' (inputs: " << names << ")";
    }
    if (values.count(name))
      return fail() << "the input is bound twice";
    if (!input->type().has_tensor_type())
      return fail() << "graph input '" << name << "' is not a tensor";
    const onnx::TypeProto::Tensor &declared = input->type().tensor_type();
    Known known;
    int dataType = 0;
    std::string why;
    if (failed(readNpy(context, file, known, dataType, why)))
      return fail() << "the file " << why;
    if (dataType != declared.elem_type())
      return fail() << "the file holds " << dataTypeName(dataType) << ", graph input '" << name << "' is "
                    << dataTypeName(declared.elem_type());
    bool fits = declared.shape().dim_size() == int64_t(known.shape.size());
    for (int d = 0; fits && d < declared.shape().dim_size(); ++d)
      fits = !declared.shape().dim(d).has_dim_value() || declared.shape().dim(d).dim_value() == known.shape[d];
    if (declared.has_shape() && !fits) {
      SmallVector<int64_t> shape;
      for (const onnx::TensorShapeProto::Dimension &dim : declared.shape().dim())
        shape.push_back(dim.has_dim_value() ? dim.dim_value() : ShapedType::kDynamic);
      return fail() << "the file's shape " << formatShape(known.shape) << " does not fit graph input '" << name
                    << "' " << formatShape(shape);
    }
    values[name].known = std::move(known);
  }
  return success();
}

void Importer::inferOnnxTypes(const onnx::GraphProto &graph) {
  auto declare = [&](const onnx::ValueInfoProto &info) {
    if (info.type().has_tensor_type() && info.type().tensor_type().elem_type() != 0)
      onnxTypes[info.name()] = info.type().tensor_type().elem_type();
  };
  for (const onnx::ValueInfoProto &info : graph.input())
    declare(info);
  for (const onnx::ValueInfoProto &info : graph.value_info())
    declare(info);
  for (const onnx::ValueInfoProto &info : graph.output())
    declare(info);
  for (StringRef name : weights->names()) {
    int type = llvm::StringSwitch<int>(weights->lookup(name)->dtype)
                   .Case("U8", onnx::TensorProto::UINT8)
                   .Case("U16", onnx::TensorProto::UINT16)
                   .Case("U32", onnx::TensorProto::UINT32)
                   .Case("U64", onnx::TensorProto::UINT64)
                   .Default(0);
    if (type)
      onnxTypes[name] = type;
  }
  // Nodes are topologically sorted (the ONNX spec requires it): one pass types every output that a
  // declaration did not.
  for (const Node &node : graph.node()) {
    StringRef op = node.op_type();
    auto inputType = [&](int i) { return i < node.input_size() ? onnxTypes.lookup(node.input(i)) : 0; };
    for (int i = 0; i < node.output_size(); ++i) {
      if (node.output(i).empty() || onnxTypes.count(node.output(i)))
        continue;
      int type = 0;
      if (op == "Cast")
        type = intAttr(node, "to", 0);
      else if (isComparison(op))
        type = onnx::TensorProto::BOOL;
      else if (op == "Shape" || (op == "TopK" && i == 1))
        type = onnx::TensorProto::INT64;
      else if (op == "Constant" || op == "ConstantOfShape") {
        const onnx::AttributeProto *value = attr(node, "value");
        type = value ? value->t().data_type()
               : op == "ConstantOfShape" || attr(node, "value_float") || attr(node, "value_floats")
                   ? int(onnx::TensorProto::FLOAT)
                   : int(onnx::TensorProto::INT64);
      } else if (op == "Where")
        type = inputType(1);
      else
        type = inputType(0);
      if (type)
        onnxTypes[node.output(i)] = type;
    }
  }
}

FailureOr<bool> Importer::tryRaise(const Node &node, SmallVectorImpl<Tensor> &results) {
  StringRef op = node.op_type();
  SmallVector<FailureOr<Value> (Raiser::*)()> patterns;
  if (op == "MatMul" || op == "Gemm")
    patterns = {&Raiser::linear};
  else if (op == "Add")
    patterns = {&Raiser::linear, &Raiser::layerNorm};
  else if (op == "Gather")
    patterns = {&Raiser::embedding};
  else if (op == "Mul")
    patterns = {&Raiser::gelu, &Raiser::silu, &Raiser::rmsNorm};
  else if (op == "Reshape")
    patterns = {&Raiser::attention};
  else if (op == "LayerNormalization")
    ++raisedCount, report("raised layer_norm at " + describe(node) + " -> eff.layer_norm (the ONNX op)");
  for (auto pattern : patterns) {
    Raiser raiser(*this, node);
    FailureOr<Value> raised = (raiser.*pattern)();
    if (failed(raised))
      return failure();
    if (*raised) {
      ++raisedCount;
      report("raised " + raiser.what + " at " + describe(node) + " -> " +
             raised->getDefiningOp()->getName().getStringRef() + " (" + raiser.detail + ")");
      Tensor t;
      t.value = *raised;
      results.push_back(std::move(t));
      return true;
    }
    // Patterns leave `why` empty where their anchor (an Erf, a Softmax, a ReduceMean...) is absent.
    bool candidate = !raiser.why.empty() && raiser.what != "linear" && raiser.what != "embedding" &&
                     !(raiser.what == "layer_norm" && raiser.why.find("not (...)") != std::string::npos) &&
                     !(raiser.what == "rms_norm" && raiser.why.find("factors") != std::string::npos) &&
                     !(raiser.what == "silu" && raiser.why.find("not x * sigmoid") != std::string::npos);
    if (candidate)
      report("not raised: " + raiser.what + " at " + describe(node) + ": " + raiser.why);
  }
  return false;
}

//===----------------------------------------------------------------------===//
// The graph
//===----------------------------------------------------------------------===//

FailureOr<OwningOpRef<ModuleOp>> Importer::run() {
  auto file = input ? OnnxWeightsFile::parse(std::move(input), path) : OnnxWeightsFile::open(path);
  if (!file) {
    emitError(fileLoc) << llvm::toString(file.takeError());
    return failure();
  }
  weights = std::move(*file);
  if (!model.ParseFromString(std::string(weights->skeleton())))
    return emitError(fileLoc) << "not a valid ONNX model (the protobuf ModelProto does not parse)", failure();
  for (const onnx::OperatorSetIdProto &set : model.opset_import())
    if (set.domain().empty() || set.domain() == "ai.onnx")
      opset = set.version();
  if (opset == 0)
    return emitError(fileLoc) << "the model imports no opset of the default ONNX domain", failure();
  if (opset < 1 || opset > 18)
    return emitError(fileLoc) << "opset " << opset << " is not supported (effc imports opsets 7 to 18)", failure();
  const onnx::GraphProto &graph = model.graph();
  if (opset < 7) {
    // Below opset 7, only operators whose definition at the model's opset is the one in effect at opset 7.
    for (const Node &node : graph.node())
      if ((node.domain().empty() || node.domain() == "ai.onnx") && !llvm::is_contained(opsetOneOps(), node.op_type()))
        return error(node) << "opset " << opset << " is not supported for " << node.op_type()
                           << ", whose definition changed before opset 7 (effc imports opsets 7 to 18, and "
                           << "below 7 only " << llvm::join(opsetOneOps(), ", ") << ")",
               failure();
  }

  for (const Node &node : graph.node()) {
    bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
    if (auto arity = defaultDomain ? inputArity(node.op_type()) : std::nullopt) {
      if (node.input_size() < arity->first || node.input_size() > arity->second)
        return error(node) << "has " << node.input_size() << " inputs, " << node.op_type() << " takes "
                           << (arity->first == arity->second ? std::to_string(arity->first)
                               : arity->second == std::numeric_limits<int>::max()
                                   ? "at least " + std::to_string(arity->first)
                                   : std::to_string(arity->first) + " to " + std::to_string(arity->second)),
               failure();
      if (node.output_size() == 0)
        return error(node) << "has no outputs", failure();
    }
    for (const std::string &output : node.output())
      if (!output.empty())
        producers[output] = &node;
    for (const std::string &input : node.input())
      if (!input.empty())
        ++uses[input];
  }
  for (const onnx::ValueInfoProto &output : graph.output())
    ++uses[output.name()];
  inferOnnxTypes(graph);

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  if (!weights->names().empty())
    (*module)->setAttr("eff.weights", b.getStringAttr(llvm::sys::path::filename(path)));
  b.setInsertionPointToEnd(module->getBody());

  if (failed(bindInputs(graph)))
    return failure();

  // @main's arguments: the graph inputs that are neither initializers nor bound at compile time.
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (isInitializer(input.name()) || values.count(input.name()))
      continue;
    if (!input.type().has_tensor_type())
      return emitError(fileLoc) << "graph input '" << input.name() << "' is " << describeNonTensor(input.type())
                                << "; effc compiles tensors only (no sequence, optional or map values)", failure();
    const onnx::TypeProto::Tensor &tensorType = input.type().tensor_type();
    Type elementType = elementTypeOf(context, tensorType.elem_type());
    if (!elementType)
      return emitError(fileLoc) << "graph input '" << input.name() << "' has element type "
                                << dataTypeName(tensorType.elem_type()) << ", which effc does not support", failure();
    SmallVector<int64_t> shape;
    for (const onnx::TensorShapeProto::Dimension &dim : tensorType.shape().dim())
      shape.push_back(dim.has_dim_value() && dim.dim_value() > 0 ? dim.dim_value() : ShapedType::kDynamic);
    argTypes.push_back(RankedTensorType::get(shape, elementType));
    argNames.push_back(input.name());
  }
  auto fn = func::FuncOp::create(b, fileLoc, "main", b.getFunctionType(argTypes, {}));
  entry = fn.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    fn.setArgAttr(i, "eff.name", b.getStringAttr(name));
    if (isUnsigned(name)) // the entry point's dtype tag: u8, u16, u32 or u64
      fn.setArgAttr(i, "eff.unsigned", b.getUnitAttr());
    values[name].value = entry->getArgument(i);
  }
  b.setInsertionPointToEnd(entry);

  SmallVector<Value> outputs;
  for (const onnx::ValueInfoProto &output : graph.output()) {
    FailureOr<Value> v = value(output.name());
    if (failed(v))
      return failure();
    outputs.push_back(*v);
  }
  b.setInsertionPointToEnd(entry);
  func::ReturnOp::create(b, fileLoc, outputs);
  fn.setFunctionType(b.getFunctionType(argTypes, ValueRange(outputs).getTypes()));
  for (auto [i, output] : llvm::enumerate(graph.output())) {
    fn.setResultAttr(i, "eff.name", b.getStringAttr(output.name()));
    if (isUnsigned(output.name()) && isa<IntegerType>(cast<RankedTensorType>(outputs[i].getType()).getElementType()))
      fn.setResultAttr(i, "eff.unsigned", b.getUnitAttr());
  }

  // Shape computations and the inner nodes of raised subgraphs may have left unused ops behind.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*entry)))
    if (isOpTriviallyDead(&op))
      op.erase();
  if (options.raisingReport)
    *options.raisingReport << "raised " << raisedCount << " subgraph" << (raisedCount == 1 ? "" : "s") << " to eff ops\n";
  if (failed(verify(*module)))
    return failure();
  return module;
}

} // namespace

FailureOr<OwningOpRef<ModuleOp>> importOnnx(MLIRContext *context, StringRef path, const OnnxImportOptions &options) {
  context->loadDialect<EffDialect, func::FuncDialect, arith::ArithDialect, tensor::TensorDialect,
                       linalg::LinalgDialect, math::MathDialect>();
  Importer importer(context, path, options);
  return importer.run();
}

FailureOr<OwningOpRef<ModuleOp>> importOnnx(MLIRContext *context, std::unique_ptr<llvm::MemoryBuffer> buffer,
                                            const OnnxImportOptions &options) {
  context->loadDialect<EffDialect, func::FuncDialect, arith::ArithDialect, tensor::TensorDialect,
                       linalg::LinalgDialect, math::MathDialect>();
  std::string path = buffer->getBufferIdentifier().str();
  Importer importer(context, path, options, std::move(buffer));
  return importer.run();
}

} // namespace effc
