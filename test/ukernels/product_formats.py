"""The 16-bit formats the tensor-core kernels round their operands to, as numpy references: bf16 (round to nearest
even, as cvt.rn.bf16x2.f32 and eff-quantize's toBf16) and f16 (IEEE half, round to nearest even, as
cvt.rn.f16x2.f32)."""

import numpy as np


def bf16_bits(a):
    """float32 -> bf16 bits, round to nearest even."""
    u = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFFFFFF) >> 16).astype(np.uint16)


def bf16_round(a):
    """float32 values rounded to bf16, as float32."""
    return (bf16_bits(a).astype(np.uint32) << 16).view(np.float32)


def f16_round(a):
    """float32 values rounded to f16, as float32."""
    return np.asarray(a, np.float32).astype(np.float16).astype(np.float32)
