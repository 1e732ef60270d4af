#!/usr/bin/env bash
# The main job on a model shipped in the repo: build effc (installing what it needs), compile the BERT-style
# example ahead of time into a shared object, run it with effc-run, check it against the numpy reference
# of the same graph and weights, and time it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/bootstrap.sh"

BIN="$ROOT/build/bin"
OUT="$ROOT/build/demo"
MODEL=bert_tiny
INPUTS="$ROOT/examples/$MODEL.inputs"
mkdir -p "$OUT"

echo "== effc $MODEL.mlir -o $MODEL.so"
"$BIN/effc" "$ROOT/examples/$MODEL.mlir" -o "$OUT/$MODEL.so" -v
echo "== effc-run --list"
"$BIN/effc-run" "$OUT/$MODEL.so" --list
echo "== effc-run (writes $OUT/last_hidden_state.npy)"
run=("$BIN/effc-run" "$OUT/$MODEL.so" --output-dir "$OUT"
     --input "input_ids=$INPUTS/input_ids.npy"
     --input "attention_mask=$INPUTS/attention_mask.npy"
     --input "token_type_ids=$INPUTS/token_type_ids.npy")
"${run[@]}"
echo "== compare with the numpy reference"
/usr/bin/python3 - "$ROOT" "$OUT" "$MODEL" <<'PY'
import sys
from pathlib import Path
import numpy as np
root, out, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
sys.path[:0] = [str(root / "examples"), str(root / "python-bindings")]
import models
inputs = {p.stem: np.load(p) for p in sorted((root / "examples" / f"{name}.inputs").glob("*.npy"))}
expected = models.example_module(name).evaluate("main", inputs)["last_hidden_state"]
actual = np.load(out / "last_hidden_state.npy")
error = np.abs(actual - expected).max()
print(f"last_hidden_state {list(actual.shape)}: max |effc - numpy| = {error:.2e}")
sys.exit(0 if np.allclose(actual, expected, rtol=1e-4, atol=1e-4) else 1)
PY
echo "== latency"
"${run[@]}" --bench 50 | tail -n 1
