//===- Runtime.cpp - Python bindings of the effc C runtime -----------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Binds runtime/include/effc/runtime/api.h: a Runtime (thread pool + allocator), a Module loaded from a
// shared object (from a file, or from an in-memory copy of one: a memfd that no directory lists), and its
// Functions, which run on numpy arrays.
//
// Inputs are not copied: a C-contiguous, aligned numpy array of the signature's dtype is wrapped as a
// borrowed effc tensor for the duration of the call. Outputs are not copied either: each numpy result is a
// view of the runtime-owned tensor, which a capsule releases when the array dies. The GIL is released while
// compiled code runs, so Python threads can run models concurrently.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

#include "effc/runtime/api.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace py = pybind11;

namespace effc::python {
namespace {

/// Throws a runtime status as effc.RuntimeError (freeing it); does nothing for success.
void check(effc_status_t status) {
  if (!status)
    return;
  effc_status_code_t code = effc_status_code(status);
  std::string message = effc_status_message(status);
  effc_status_free(status);
  py::dict attributes;
  attributes["code"] = effc_status_code_name(code);
  throw PythonError{exceptionTypes().runtimeError, message, attributes};
}

[[noreturn]] void inputError(const std::string &message) {
  throw PythonError{exceptionTypes().inputError, message, py::dict()};
}

/// The numpy dtype holding elements of `dtype`. bf16 has no numpy type: its raw bits travel as uint16.
py::dtype numpyDtype(effc_dtype_t dtype) {
  switch (dtype) {
  case EFFC_DTYPE_F32:
    return py::dtype("float32");
  case EFFC_DTYPE_F16:
    return py::dtype("float16");
  case EFFC_DTYPE_BF16:
    return py::dtype("uint16");
  case EFFC_DTYPE_F64:
    return py::dtype("float64");
  case EFFC_DTYPE_I64:
    return py::dtype("int64");
  case EFFC_DTYPE_I32:
    return py::dtype("int32");
  case EFFC_DTYPE_I8:
    return py::dtype("int8");
  case EFFC_DTYPE_U8:
    return py::dtype("uint8");
  case EFFC_DTYPE_BOOL:
    return py::dtype("bool");
  case EFFC_DTYPE_I16:
    return py::dtype("int16");
  case EFFC_DTYPE_U16:
    return py::dtype("uint16");
  case EFFC_DTYPE_U32:
    return py::dtype("uint32");
  case EFFC_DTYPE_U64:
    return py::dtype("uint64");
  default:
    throw PythonError{exceptionTypes().runtimeError, "unknown element type " + std::to_string(dtype), py::dict()};
  }
}

/// Whether a numpy array's dtype stores `dtype`'s elements (same kind and size, native byte order).
bool dtypeMatches(const py::dtype &actual, effc_dtype_t dtype) {
  py::dtype expected = numpyDtype(dtype);
  char order = actual.byteorder();
  return actual.kind() == expected.kind() && actual.itemsize() == expected.itemsize() &&
         (order == '=' || order == '|' || order == '<');
}

/// A signature entry as a Python tuple: (name, dtype name, shape with None for dynamic extents).
py::tuple tensorInfo(const effc_tensor_info_t &info) {
  py::list shape;
  for (size_t d = 0; d < info.rank; ++d) {
    if (info.dims[d] == EFFC_DYNAMIC_DIM)
      shape.append(py::none());
    else
      shape.append(info.dims[d]);
  }
  return py::make_tuple(info.name ? info.name : "", effc_dtype_name(info.dtype), py::tuple(shape));
}

std::string shapeText(size_t rank, const int64_t *dims) {
  std::string text = "[";
  for (size_t d = 0; d < rank; ++d) {
    if (d)
      text += ", ";
    text += dims[d] == EFFC_DYNAMIC_DIM ? std::string("?") : std::to_string(dims[d]);
  }
  return text + "]";
}

//===----------------------------------------------------------------------===//
// Runtime
//===----------------------------------------------------------------------===//

class Runtime {
public:
  Runtime(uint32_t numThreads, uint64_t memoryLimitBytes, const std::string &device,
          std::optional<uint32_t> spinMicros) {
    effc_runtime_options_t options;
    effc_runtime_options_initialize(&options);
    options.num_threads = numThreads;
    options.memory_limit_bytes = memoryLimitBytes;
    if (spinMicros)
      options.spin_micros = *spinMicros;
    check(effc_device_kind_parse(device.c_str(), &options.device));
    check(effc_runtime_create(&options, &runtime));
  }
  ~Runtime() { effc_runtime_release(runtime); }
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;

  effc_runtime_t *get() const { return runtime; }

private:
  effc_runtime_t *runtime = nullptr;
};

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

/// A loaded module. An in-memory module keeps its memfd open while loaded: the dynamic loader knows the
/// object by the name /proc/self/fd/N, which must not be reused by another memfd while it is loaded.
class Module {
public:
  Module(std::shared_ptr<Runtime> runtime, std::string path, int memfd)
      : runtime(std::move(runtime)), path(std::move(path)), memfd(memfd) {
    effc_status_t status = effc_module_load(this->runtime->get(), this->path.c_str(), &module);
    if (status && memfd >= 0)
      close(memfd);
    check(status);
  }
  ~Module() {
    effc_module_release(module);
    if (memfd >= 0)
      close(memfd);
  }
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;

  effc_module_t *get() const { return module; }
  const std::string &loadPath() const { return path; }
  bool inMemory() const { return memfd >= 0; }
  const std::shared_ptr<Runtime> &owner() const { return runtime; }

private:
  std::shared_ptr<Runtime> runtime;
  std::string path;
  int memfd;
  effc_module_t *module = nullptr;
};

/// Copies the shared object at `path` into a new memfd and loads it from there; the file may then be
/// deleted. Falls back to loading the file itself if the kernel has no memfd_create.
std::shared_ptr<Module> loadInMemory(std::shared_ptr<Runtime> runtime, const std::string &path) {
  int source = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (source < 0)
    check(effc_status_make(EFFC_STATUS_NOT_FOUND, "cannot open '%s': %s", path.c_str(), strerror(errno)));
  std::string name = "effc:" + path.substr(path.find_last_of('/') + 1);
  int memfd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (memfd < 0) {
    close(source);
    return std::make_shared<Module>(std::move(runtime), path, -1);
  }
  std::vector<char> buffer(1 << 20);
  ssize_t n;
  while ((n = read(source, buffer.data(), buffer.size())) > 0) {
    for (ssize_t done = 0; done < n;) {
      ssize_t written = write(memfd, buffer.data() + done, static_cast<size_t>(n - done));
      if (written < 0) {
        int error = errno;
        close(source);
        close(memfd);
        check(effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "cannot copy '%s' into memory: %s", path.c_str(),
                               strerror(error)));
      }
      done += written;
    }
  }
  int readError = n < 0 ? errno : 0;
  close(source);
  if (readError) {
    close(memfd);
    check(effc_status_make(EFFC_STATUS_UNAVAILABLE, "cannot read '%s': %s", path.c_str(), strerror(readError)));
  }
  return std::make_shared<Module>(std::move(runtime), "/proc/self/fd/" + std::to_string(memfd), memfd);
}

//===----------------------------------------------------------------------===//
// Function
//===----------------------------------------------------------------------===//

class Function {
public:
  Function(std::shared_ptr<Module> module, const effc_function_t *function)
      : module(std::move(module)), function(function) {}

  std::string name() const { return effc_function_name(function); }
  uint64_t minCallBytes() const { return effc_function_min_call_bytes(function); }

  py::list inputs() const {
    py::list result;
    for (size_t i = 0, e = effc_function_num_inputs(function); i < e; ++i)
      result.append(tensorInfo(effc_function_input(function, i)));
    return result;
  }

  py::list outputs() const {
    py::list result;
    for (size_t i = 0, e = effc_function_num_outputs(function); i < e; ++i)
      result.append(tensorInfo(effc_function_output(function, i)));
    return result;
  }

  /// Runs the function on `arrays` (one per input, in signature order); returns the outputs in order.
  py::list invoke(const py::sequence &arrays) const {
    size_t numInputs = effc_function_num_inputs(function);
    size_t numOutputs = effc_function_num_outputs(function);
    if (arrays.size() != numInputs)
      inputError("function '" + name() + "' takes " + std::to_string(numInputs) + " inputs, got " +
                 std::to_string(arrays.size()));

    // Borrow each array's buffer; `held` keeps the arrays alive until the call returns.
    std::vector<py::array> held;
    std::vector<std::unique_ptr<effc_tensor_t, void (*)(effc_tensor_t *)>> wrapped;
    std::vector<const effc_tensor_t *> inputs;
    for (size_t i = 0; i < numInputs; ++i) {
      effc_tensor_info_t info = effc_function_input(function, i);
      std::string what = "function '" + name() + "' input '" + info.name + "'";
      py::object item = arrays[i];
      if (!py::isinstance<py::array>(item))
        inputError(what + ": expected a numpy array, got " + std::string(py::str(py::type::of(item))));
      auto array = py::reinterpret_borrow<py::array>(item);
      if (!dtypeMatches(array.dtype(), info.dtype))
        inputError(what + ": dtype " + std::string(py::str(array.dtype())) + ", expected " +
                   std::string(py::str(numpyDtype(info.dtype))) + " (" + effc_dtype_name(info.dtype) + ")");
      if (!(array.flags() & py::array::c_style) || !(array.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
        inputError(what + ": the array must be C-contiguous and aligned (use numpy.ascontiguousarray)");
      std::vector<int64_t> dims(array.shape(), array.shape() + array.ndim());
      bool fits = dims.size() == info.rank;
      for (size_t d = 0; fits && d < info.rank; ++d)
        fits = info.dims[d] == EFFC_DYNAMIC_DIM || info.dims[d] == dims[d];
      if (!fits)
        inputError(what + ": shape " + shapeText(dims.size(), dims.data()) + " does not match " +
                   shapeText(info.rank, info.dims));
      effc_tensor_t *tensor = nullptr;
      check(effc_tensor_wrap(info.dtype, dims.size(), dims.data(), const_cast<void *>(array.data()),
                             static_cast<size_t>(array.nbytes()), nullptr, nullptr, &tensor));
      wrapped.emplace_back(tensor, effc_tensor_release);
      inputs.push_back(tensor);
      held.push_back(std::move(array));
    }

    std::vector<effc_tensor_t *> outputs(numOutputs, nullptr);
    effc_status_t status;
    {
      py::gil_scoped_release release;
      status = effc_function_invoke(function, inputs.data(), inputs.size(), outputs.data(), outputs.size());
    }
    // The runtime checks what the signature alone cannot (e.g. extents that must be equal across inputs).
    if (effc_status_code(status) == EFFC_STATUS_INVALID_ARGUMENT) {
      std::string message = effc_status_message(status);
      effc_status_free(status);
      py::dict attributes;
      attributes["code"] = effc_status_code_name(EFFC_STATUS_INVALID_ARGUMENT);
      throw PythonError{exceptionTypes().inputError, message, attributes};
    }
    check(status);

    // Hand each output tensor to a numpy array that views it; the capsule releases the tensor.
    std::vector<std::unique_ptr<effc_tensor_t, void (*)(effc_tensor_t *)>> owned;
    for (effc_tensor_t *tensor : outputs)
      owned.emplace_back(tensor, effc_tensor_release);
    py::list result;
    for (auto &tensor : owned) {
      const int64_t *dims = effc_tensor_dims(tensor.get());
      std::vector<py::ssize_t> shape(dims, dims + effc_tensor_rank(tensor.get()));
      py::dtype dtype = numpyDtype(effc_tensor_dtype(tensor.get()));
      void *data = effc_tensor_data(tensor.get());
      py::capsule owner(tensor.get(), [](void *p) { effc_tensor_release(static_cast<effc_tensor_t *>(p)); });
      tensor.release(); // the capsule owns it now
      result.append(py::array(dtype, shape, data, owner));
    }
    return result;
  }

private:
  std::shared_ptr<Module> module;
  const effc_function_t *function;
};

std::vector<Function> moduleFunctions(const std::shared_ptr<Module> &module) {
  std::vector<Function> functions;
  for (size_t i = 0, e = effc_module_num_functions(module->get()); i < e; ++i)
    functions.emplace_back(module, effc_module_function(module->get(), i));
  return functions;
}

} // namespace

void bindRuntime(py::module_ &m) {
  py::class_<Runtime, std::shared_ptr<Runtime>>(m, "Runtime",
                                                "A thread pool and allocator that runs loaded modules.")
      .def(py::init<uint32_t, uint64_t, const std::string &, std::optional<uint32_t>>(), py::arg("num_threads") = 0,
           py::arg("memory_limit_bytes") = 0, py::arg("device") = "cpu", py::arg("spin_micros") = py::none(),
           "num_threads counts the calling thread (0: all online cores); memory_limit_bytes caps live "
           "runtime allocations (0: no limit); device is cpu, or cuda to run modules compiled for "
           "target='cuda' (raises effc.RuntimeError with code UNAVAILABLE without a CUDA driver); "
           "spin_micros is how long idle pool threads spin for the next parallel loop before they sleep "
           "(None: the runtime's default, 100; 0 on cores that other busy processes share; no spinning with "
           "more threads than cores).")
      .def_property_readonly("device", [](const Runtime &r) -> py::object {
        effc_device_t *device = effc_runtime_device(r.get());
        return device ? py::str(effc_device_description(device)) : py::object(py::none());
      })
      .def_property_readonly("num_threads", [](const Runtime &r) { return effc_runtime_num_threads(r.get()); })
      .def_property_readonly("spin_micros", [](const Runtime &r) { return effc_runtime_spin_micros(r.get()); })
      .def_property_readonly("live_bytes", [](const Runtime &r) { return effc_runtime_live_bytes(r.get()); })
      .def_property_readonly("peak_bytes", [](const Runtime &r) { return effc_runtime_peak_bytes(r.get()); });

  py::class_<Module, std::shared_ptr<Module>>(m, "Module", "A compiled module loaded by the effc runtime.")
      .def_property_readonly("producer", [](const Module &mod) { return effc_module_producer(mod.get()); })
      .def_property_readonly("load_path", &Module::loadPath,
                             "The path the module was loaded from (/proc/self/fd/N for an in-memory module).")
      .def_property_readonly("in_memory", &Module::inMemory)
      .def_property_readonly("runtime", &Module::owner)
      .def_property_readonly("functions", &moduleFunctions);

  py::class_<Function>(m, "Function", "An entry point of a loaded module.")
      .def_property_readonly("name", &Function::name)
      .def_property_readonly("min_call_bytes", &Function::minCallBytes,
                             "a lower bound of the bytes one call allocates, for any input shapes (0: unknown)")
      .def_property_readonly("inputs", &Function::inputs, "[(name, dtype, shape)] with None for dynamic extents")
      .def_property_readonly("outputs", &Function::outputs, "[(name, dtype, shape)] with None for dynamic extents")
      .def("invoke", &Function::invoke, py::arg("arrays"),
           "Runs the function on numpy arrays in signature order (C-contiguous, of the signature's dtype; "
           "not copied) and returns its outputs as numpy arrays. Releases the GIL while running.");

  m.def(
      "load_module",
      [](std::shared_ptr<Runtime> runtime, const std::string &path) {
        return std::make_shared<Module>(std::move(runtime), path, -1);
      },
      py::arg("runtime"), py::arg("path"), "Loads the compiled module at `path`.");
  m.def("load_module_in_memory", &loadInMemory, py::arg("runtime"), py::arg("path"),
        "Copies the compiled module at `path` into memory and loads that copy; `path` may be removed after.");
  m.def(
      "dtype_of", [](const std::string &name) {
        for (int d = EFFC_DTYPE_F32; d <= EFFC_DTYPE_U64; ++d)
          if (name == effc_dtype_name(static_cast<effc_dtype_t>(d)))
            return numpyDtype(static_cast<effc_dtype_t>(d));
        throw PythonError{exceptionTypes().error, "unknown element type '" + name + "'", py::dict()};
      },
      py::arg("name"), "The numpy dtype that holds elements of an effc element type (bf16: uint16 bits).");
}

} // namespace effc::python
