//===- Extension.cpp - the effc._effc Python extension module --------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Defines the module `effc._effc` and its exception classes; the pure-Python package `effc`
// (python-bindings/effc/) re-exports them and builds its API on the classes bound here.
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

namespace py = pybind11;

namespace effc::python {

ExceptionTypes &exceptionTypes() {
  // Leaked on purpose: the classes live as long as the interpreter, and destroying Python objects from a
  // static destructor after the interpreter is finalised would crash.
  static ExceptionTypes *types = new ExceptionTypes();
  return *types;
}

namespace {

/// Creates `effc.NAME` deriving from `bases` (a tuple of exception classes).
py::object makeException(py::module_ &m, const char *name, const char *doc, py::tuple bases) {
  std::string qualified = std::string("effc.") + name;
  PyObject *type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (!type)
    throw py::error_already_set();
  py::object result = py::reinterpret_steal<py::object>(type);
  m.attr(name) = result;
  return result;
}

} // namespace
} // namespace effc::python

PYBIND11_MODULE(_effc, m) {
  using namespace effc::python;
  m.doc() = "effc's compiler and runtime (bound with pybind11); use the `effc` package, which wraps this module.";

  ExceptionTypes &types = exceptionTypes();
  py::object exception = py::reinterpret_borrow<py::object>(PyExc_Exception);
  py::object builtinRuntimeError = py::reinterpret_borrow<py::object>(PyExc_RuntimeError);
  py::object valueError = py::reinterpret_borrow<py::object>(PyExc_ValueError);
  types.error = makeException(m, "Error", "Base class of every error raised by effc.", py::make_tuple(exception));
  types.compileError =
      makeException(m, "CompileError",
                    "The compiler rejected the model. The message holds its diagnostics with locations "
                    "(file:line:col); `diagnostics` holds the same text.",
                    py::make_tuple(types.error));
  types.runtimeError = makeException(m, "RuntimeError",
                                     "The effc runtime failed (loading or running a module); `code` is the "
                                     "status code's name, e.g. 'INVALID_ARGUMENT'.",
                                     py::make_tuple(types.error, builtinRuntimeError));
  types.inputError = makeException(m, "InputError",
                                   "Inputs that do not fit a function's signature (missing, unknown, wrong "
                                   "dtype or shape).",
                                   py::make_tuple(types.error, valueError));

  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown)
        std::rethrow_exception(thrown);
    } catch (const PythonError &error) {
      py::object instance = error.type(error.message);
      for (auto item : error.attributes)
        py::setattr(instance, item.first, item.second);
      PyErr_SetObject(error.type.ptr(), instance.ptr());
    }
  });

  bindRuntime(m);
  bindCompiler(m);
}
