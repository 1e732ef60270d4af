//===- Bindings.h - shared declarations of the effc Python extension -------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The extension `effc._effc` is split by what it binds: Runtime.cpp (the C runtime: runtimes, modules,
// functions, tensors as numpy arrays) and Compiler.cpp (the C++ compiler API). Both raise the exception
// classes declared here, which Extension.cpp creates when the module is imported.
//
// These files are compiled with exceptions and RTTI (pybind11 needs both), unlike the rest of effc; they
// include no MLIR or LLVM header, so nothing here needs typeinfo from libMLIR.
//
//===----------------------------------------------------------------------===//

#ifndef EFFC_PYTHON_BINDINGS_H
#define EFFC_PYTHON_BINDINGS_H

#include <pybind11/pybind11.h>

#include <string>

namespace effc::python {

/// The Python exception classes of the package (effc.Error and its subclasses).
struct ExceptionTypes {
  pybind11::object error;        ///< effc.Error(Exception): the base of every effc error
  pybind11::object compileError; ///< effc.CompileError(Error): diagnostics from the compiler
  pybind11::object runtimeError; ///< effc.RuntimeError(Error, RuntimeError): a runtime status
  pybind11::object inputError;   ///< effc.InputError(Error, ValueError): inputs that do not fit a signature
};
ExceptionTypes &exceptionTypes();

/// Thrown by the bindings and translated into the Python class `type` with `message`; `attributes` are set
/// on the exception instance (e.g. `code` of a runtime status, `diagnostics` of a compile error).
struct PythonError {
  pybind11::object type;
  std::string message;
  pybind11::dict attributes;
};

void bindRuntime(pybind11::module_ &m);
void bindCompiler(pybind11::module_ &m);

} // namespace effc::python

#endif // EFFC_PYTHON_BINDINGS_H
