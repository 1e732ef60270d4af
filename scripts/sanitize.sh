#!/usr/bin/env bash
# Builds effc with AddressSanitizer and UndefinedBehaviorSanitizer (and the libFuzzer targets) into
# build-asan/, runs the test suite under the sanitizers, then runs each fuzzer. docs/reliability.md explains
# what is instrumented and how to read a report.
#
#   scripts/sanitize.sh                 everything: lit, CTest, pytest, every fuzzer for 60 s (~1.5 h here)
#   scripts/sanitize.sh --ci            the part CI runs: lit, CTest (runtime, fuzz replays), three pytest
#                                       files (extension errors, core lowerings, micro-kernels), fuzzers for
#                                       a fixed number of inputs each (a minute or more here)
#   scripts/sanitize.sh --fuzz-seconds N   how long each fuzzer runs (0: skip fuzzing)
#   scripts/sanitize.sh --fuzz-seed N      libFuzzer's -seed (default: random; --ci: 1)
#   scripts/sanitize.sh --fuzz-runs N      run N inputs per fuzzer instead of --fuzz-seconds; `ci` (--ci's default):
#                                       each target's CI_RUNS (test/fuzz/CMakeLists.txt), from an empty corpus,
#                                       seed 1, without address randomisation: CI's verdict on a commit is
#                                       repeatable, and a red run reproduces with the same command
#   scripts/sanitize.sh --steps "lit ctest"  only these of: build lit ctest pytest fuzz
#
# Extra arguments after `--` go to pytest (e.g. -- -k attention).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EFFC_ASAN_BUILD_DIR:-$ROOT/build-asan}
MODE=full
FUZZ_SECONDS=60
FUZZ_SEED=
FUZZ_RUNS=
STEPS="build lit ctest pytest fuzz"
PYTEST_ARGS=()
while (($#)); do
  case "$1" in
    --ci) MODE=ci ;;
    --fuzz-seconds) FUZZ_SECONDS=$2; shift ;;
    --fuzz-seed) FUZZ_SEED=$2; shift ;;
    --fuzz-runs) FUZZ_RUNS=$2; shift ;;
    --steps) STEPS=$2; shift ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    *) echo "sanitize.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
has_step() { [[ " $STEPS " == *" $1 "* ]]; }
timed() { local start=$SECONDS; "$@"; echo "sanitize: $1 ${2:-} done in $((SECONDS - start)) s"; }

# clang's sanitizer runtimes are a package of their own.
if ! dpkg-query -W -f='${Status}' libclang-rt-22-dev 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libclang-rt-22-dev >/dev/null
fi

# Sanitizer settings for every process of the tests. UBSan findings already abort (-fno-sanitize-recover);
# the suppression files hold findings in code that is not ours, each with its reason.
SUPP="$ROOT/scripts/sanitizers"
export ASAN_OPTIONS="abort_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:suppressions=$SUPP/asan.supp"
export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$SUPP/ubsan.supp"

if has_step build; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DLLVM_USE_LINKER=lld \
    -DEFFC_SANITIZE=address,undefined -DEFFC_ENABLE_FUZZERS=ON -DEFFC_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null
  timed cmake --build "$BUILD"
fi
RUNTIME=$(sed -n 's/^EFFC_SANITIZER_RUNTIME:INTERNAL=//p' "$BUILD/CMakeCache.txt")

if has_step lit; then
  timed /usr/lib/llvm-22/bin/lit -sv "$BUILD/test"
fi

if has_step ctest; then
  timed ctest --test-dir "$BUILD" --output-on-failure -LE fuzz -j2
fi

if has_step pytest; then
  # python3 is not instrumented: preload the sanitizer runtime the extension was built against. Leak
  # checking is off in this step (CPython and NumPy keep memory until exit); lit and CTest check leaks.
  # Child processes (effc, effc-run) inherit the preload, which is the runtime they link anyway.
  PYTEST_FILES=("$ROOT/test")
  # CI: the Python package's error paths (the extension), the core lowerings end to end (effc, effc-run),
  # the runtime driving a CUDA driver (the stand-in one) and the micro-kernels.
  [ "$MODE" = ci ] && PYTEST_FILES=("$ROOT/test/python/test_errors.py" "$ROOT/test/e2e/test_core_lowering.py"
                                    "$ROOT/test/e2e/test_cuda.py::test_fake_driver_plumbing"
                                    "$ROOT/test/e2e/test_cuda.py::test_fake_driver_launch_failure"
                                    "$ROOT/test/ukernels")
  # test/ukernels builds the micro-kernels natively with these flags, so they run under the sanitizers too;
  # at -O1, as ASan advises: instrumented -O3 took clang 5 minutes on sparse_gemm.c alone (13 s at -O1).
  # One pytest worker per core when pytest-xdist is installed (scripts/bootstrap.sh installs it).
  PARALLEL=()
  /usr/bin/python3 -c "import xdist" 2>/dev/null && PARALLEL=(-n auto)
  timed env LD_PRELOAD="$RUNTIME" ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" PYTHONMALLOC=malloc \
    EFFC_UKERNEL_SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all -shared-libsan -O1" \
    EFFC_BIN_DIR="$BUILD/bin" EFFC_BUILD_DIR="$BUILD" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider ${PARALLEL[@]+"${PARALLEL[@]}"} "${PYTEST_FILES[@]}" \
    ${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"}
fi

if has_step fuzz && [ "$FUZZ_SECONDS" != 0 ]; then
  # Each fuzz.<target> test runs its fuzzer for EFFC_FUZZ_SECONDS; two at a time on two cores.
  if [ -z "$FUZZ_SEED" ]; then
    FUZZ_SEED=0 # libFuzzer picks one
    [ "$MODE" = ci ] && FUZZ_SEED=1
  fi
  [ -z "$FUZZ_RUNS" ] && { FUZZ_RUNS=0; [ "$MODE" = ci ] && FUZZ_RUNS=ci; }
  cmake "$BUILD" -DEFFC_FUZZ_SECONDS="$FUZZ_SECONDS" -DEFFC_FUZZ_SEED="$FUZZ_SEED" -DEFFC_FUZZ_RUNS="$FUZZ_RUNS" >/dev/null
  NORANDOM=()
  if [ "$FUZZ_RUNS" != 0 ]; then
    # A repeatable run: no inputs kept from earlier runs, and the same addresses each time (MLIR iterates some
    # maps in pointer order, which steers coverage and so the mutations).
    rm -rf "$BUILD/test/fuzz/corpus" && mkdir -p "$BUILD/test/fuzz/corpus"
    for dir in "$BUILD"/test/fuzz/*_fuzzer; do [ -x "$dir" ] && mkdir -p "$BUILD/test/fuzz/corpus/$(basename "$dir")"; done
    setarch "$(uname -m)" -R true 2>/dev/null && NORANDOM=(setarch "$(uname -m)" -R)
  fi
  timed ${NORANDOM[@]+"${NORANDOM[@]}"} ctest --test-dir "$BUILD" --output-on-failure -L fuzz -j2
fi
echo "sanitize: all clean"
