"""Makes the ONNX test helpers (onnx_models.py) and effc_testing importable."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "e2e"))
