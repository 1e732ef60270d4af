/*===- quantize_rows.c - dynamic per-row activation quantization ------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Asymmetric per-row (per-token) quantization of f32 activations to u8, the form VNNI's u8 x s8 dot
 * products take: q = clamp(round(x / scale) + zero_point, 0, 255), with scale = (max - min) / 255 over the
 * row (the range always includes 0, so 0 is exact) and x ~= (q - zero_point) * scale.
 *
 *===----------------------------------------------------------------------===*/
#include "ukernel.h"

#include <immintrin.h>

/* Rounds to nearest, ties to even (numpy's np.rint) for |value| < 2^31 with SSE's cvtss2si (the default
 * rounding mode), never a libm call: compiled models link no libc, and baseline x86-64 has no roundss. */
static inline float round_nearest_even(float value) { return (float)_mm_cvtss_si32(_mm_set_ss(value)); }

static void quantize_row(const float *x, int64_t x_stride, int64_t k, uint8_t *q, int64_t q_stride, float *scale,
                         int32_t *zero_point) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t j = 0; j < k; ++j) {
    float value = x[j * x_stride];
    lo = value < lo ? value : lo;
    hi = value > hi ? value : hi;
  }
  float s = (hi - lo) / 255.0f;
  if (s == 0.0f)
    s = 1.0f;
  float zero = round_nearest_even(-lo / s);
  zero = zero < 0.0f ? 0.0f : (zero > 255.0f ? 255.0f : zero);
  float inverse = 1.0f / s;
  int64_t j = 0;
#if defined(__AVX512F__)
  if (x_stride == 1 && q_stride == 1) {
    __m512 vinverse = _mm512_set1_ps(inverse), vzero = _mm512_set1_ps(zero);
    __m512 vmin = _mm512_setzero_ps(), vmax = _mm512_set1_ps(255.0f);
    for (; j + 16 <= k; j += 16) {
      __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(x + j), vinverse), vzero);
      v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm512_min_ps(_mm512_max_ps(v, vmin), vmax);
      _mm_storeu_si128((__m128i *)(q + j), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
    }
  }
#endif
  for (; j < k; ++j) {
    float scaled = x[j * x_stride] * inverse; /* two statements: never contracted into an fma */
    float v = round_nearest_even(scaled + zero);
    v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
    q[j * q_stride] = (uint8_t)v;
  }
  *scale = s;
  *zero_point = (int32_t)zero;
}

/* x: [M, K] f32 -> q: [M, K] u8, scales: [M] f32, zero_points: [M] i32. */
void effc_uk_quantize_rows_u8(EFFC_UK_MEMREF2(const float, x), EFFC_UK_MEMREF2(uint8_t, q),
                              EFFC_UK_MEMREF1(float, scales), EFFC_UK_MEMREF1(int32_t, zero_points)) {
  for (int64_t i = 0; i < x_size0; ++i)
    quantize_row(x + x_offset + i * x_stride0, x_stride1, x_size1, q + q_offset + i * q_stride0, q_stride1,
                 scales + scales_offset + i * scales_stride0, zero_points + zero_points_offset + i * zero_points_stride0);
}
