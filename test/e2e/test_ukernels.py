"""Micro-kernels (ukernels/) linked into compiled models: the calling convention, both CPU variants, numerics.

The IR below is what `buildUkernelCall` (lib/Conversion/EffToLinalg/LoweringUtils.cpp) emits.
"""

import numpy as np
import pytest

from effc_testing import compile_and_run, rng

QUANTIZE_ROWS_IR = """
module {
  func.func private @effc_uk_quantize_rows_u8(memref<?x?xf32, strided<[?, ?], offset: ?>>,
      memref<?x?xui8, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>,
      memref<?xi32, strided<[?], offset: ?>>)
  func.func @quantize(%x: tensor<?x?xf32> {eff.name = "x"})
      -> (tensor<?x?xui8> {eff.name = "q"}, tensor<?xf32> {eff.name = "scales"},
          tensor<?xi32> {eff.name = "zero_points"}) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %m = tensor.dim %x, %c0 : tensor<?x?xf32>
    %k = tensor.dim %x, %c1 : tensor<?x?xf32>
    %xb = bufferization.to_buffer %x read_only : tensor<?x?xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
    %q = memref.alloc(%m, %k) {alignment = 64 : i64} : memref<?x?xui8>
    %s = memref.alloc(%m) {alignment = 64 : i64} : memref<?xf32>
    %z = memref.alloc(%m) {alignment = 64 : i64} : memref<?xi32>
    %qc = memref.cast %q : memref<?x?xui8> to memref<?x?xui8, strided<[?, ?], offset: ?>>
    %sc = memref.cast %s : memref<?xf32> to memref<?xf32, strided<[?], offset: ?>>
    %zc = memref.cast %z : memref<?xi32> to memref<?xi32, strided<[?], offset: ?>>
    func.call @effc_uk_quantize_rows_u8(%xb, %qc, %sc, %zc)
        : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xui8, strided<[?, ?], offset: ?>>,
           memref<?xf32, strided<[?], offset: ?>>, memref<?xi32, strided<[?], offset: ?>>) -> ()
    %qt = bufferization.to_tensor %q restrict writable : memref<?x?xui8> to tensor<?x?xui8>
    %st = bufferization.to_tensor %s restrict writable : memref<?xf32> to tensor<?xf32>
    %zt = bufferization.to_tensor %z restrict writable : memref<?xi32> to tensor<?xi32>
    return %qt, %st, %zt : tensor<?x?xui8>, tensor<?xf32>, tensor<?xi32>
  }
}
"""


def quantize_rows_reference(x):
    """Asymmetric per-row u8 quantization as ukernels/quantize_rows.c documents it."""
    lo = np.minimum(x.min(axis=1), 0).astype(np.float32)
    hi = np.maximum(x.max(axis=1), 0).astype(np.float32)
    scale = ((hi - lo) / np.float32(255)).astype(np.float32)
    scale[scale == 0] = 1
    zero = np.clip(np.rint(-lo / scale), 0, 255).astype(np.float32)
    inverse = (np.float32(1) / scale).astype(np.float32)
    shifted = (x * inverse[:, None]).astype(np.float32) + zero[:, None]
    q = np.clip(np.rint(shifted), 0, 255).astype(np.uint8)
    return q, scale, zero.astype(np.int32)


# 37 columns exercise the vector body and the scalar tail; a zero row has scale 1.
@pytest.mark.parametrize("cpu", ["native", "x86-64"])
def test_quantize_rows_matches_reference(cpu):
    x = rng(0).standard_normal((6, 37)).astype(np.float32) * 3
    x[2] = 0
    x[3] = np.abs(x[3])  # all positive: the range still includes 0
    outputs = compile_and_run(QUANTIZE_ROWS_IR, {"x": x}, cpu=cpu)
    q, scale, zero = quantize_rows_reference(x)
    np.testing.assert_array_equal(outputs["scales"], scale)
    np.testing.assert_array_equal(outputs["zero_points"], zero)
    np.testing.assert_array_equal(outputs["q"], q)
    dequantized = (outputs["q"].astype(np.float32) - zero[:, None]) * scale[:, None]
    assert np.all(np.abs(dequantized - x) <= scale[:, None] * 0.5001)


def test_unknown_micro_kernel_is_an_error(tmp_path):
    ir = QUANTIZE_ROWS_IR.replace("effc_uk_quantize_rows_u8", "effc_uk_no_such_kernel")
    with pytest.raises(Exception, match="unknown micro-kernel 'effc_uk_no_such_kernel'"):
        compile_and_run(ir, {"x": np.zeros((1, 4), np.float32)})
