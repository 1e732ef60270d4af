# -*- Python -*-
# lit configuration of effc's test suite: FileCheck tests of the IR and the tools.

import os
import platform

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "EFFC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "reference", "e2e", "python", "fuzz"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.effc_obj_root, "test")

# Avoid accidentally reusing a FileCheck variable across CHECK-LABEL blocks.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
# Sanitizer builds (scripts/sanitize.sh) configure the sanitizers through the environment.
llvm_config.with_system_environment(["ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [os.path.join(config.effc_obj_root, "bin"), config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["effc-opt", "effc", "effc-import", "effc-run", ToolSubst("%PYTHON", "/usr/bin/python3")],
                                   tool_dirs)

# Tests that check x86 machine code (test/effc/emit-asm-x86.mlir).
if platform.machine() in ("x86_64", "AMD64"):
    config.available_features.add("x86_64")
