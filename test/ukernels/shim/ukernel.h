// Stand-in for ukernels/ukernel.h until the coordinator's header lands: the host services, run serially or on
// a few pthreads by test/ukernels/shim/host.c.
#include <stdint.h>
void effc_uk_parallel_for(void (*body)(void *ctx, int64_t i), void *ctx, int64_t n);
void *effc_uk_alloc(uint64_t bytes);
void effc_uk_free(void *ptr);
