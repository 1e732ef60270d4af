/* Stand-in for ukernels/ukernel.h while testing kernels outside a compiled model: serial parallel_for and
 * aligned_alloc scratch. */
#ifndef EFFC_UKERNEL_SHIM_H
#define EFFC_UKERNEL_SHIM_H
#include <stdint.h>
#include <stdlib.h>
static inline void effc_uk_parallel_for(void (*body)(void *, int64_t), void *ctx, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    body(ctx, i);
}
static inline void *effc_uk_alloc(uint64_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }
static inline void effc_uk_free(void *p) { free(p); }
#endif
