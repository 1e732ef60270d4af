#!/usr/bin/env bash
# Builds effc (installing what it needs) and runs every test: lit, the runtime's CTest suite and pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/bootstrap.sh"
cmake --build "$ROOT/build" --target check-effc
# The sanitizer build and the fuzzers (docs/reliability.md), sized for CI: build-asan/ instrumented with
# ASan+UBSan, CTest (runtime, fuzz replays), the driver and dialect lit suites, a pytest subset, and each
# fuzzer for 60 s. `scripts/sanitize.sh` without --ci runs all of it.
bash "$ROOT/scripts/sanitize.sh" --ci
