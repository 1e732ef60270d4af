//===- Compiler.cpp - Python bindings of the effc compiler API -------------===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//

#include "Bindings.h"

namespace py = pybind11;

namespace effc::python {

void bindCompiler(py::module_ &m) { m.attr("has_compiler") = false; }

} // namespace effc::python
