#!/usr/bin/env bash
# Builds effc (installing what it needs) and runs every test: lit, the runtime's CTest suite and pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/bootstrap.sh"
cmake --build "$ROOT/build" --target check-effc
