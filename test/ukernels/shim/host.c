// Stand-in for the host services a compiled module provides to micro-kernels (ukernels/ukernel.h), for
// testing kernels outside effc: parallel_for on a few pthreads, aligned allocation.
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "ukernel.h"
static int threads = 2;
void qg_set_threads(int t) { threads = t; }
typedef struct { void (*body)(void *, int64_t); void *ctx; int64_t n; atomic_long next; } Job;
static void *worker(void *p) {
  Job *j = p;
  for (int64_t i; (i = atomic_fetch_add(&j->next, 1)) < j->n;) j->body(j->ctx, i);
  return 0;
}
void effc_uk_parallel_for(void (*body)(void *, int64_t), void *ctx, int64_t n) {
  Job j = {body, ctx, n, 0};
  pthread_t t[16];
  int extra = threads - 1;
  for (int i = 0; i < extra; ++i) pthread_create(&t[i], 0, worker, &j);
  worker(&j);
  for (int i = 0; i < extra; ++i) pthread_join(t[i], 0);
}
void *effc_uk_alloc(uint64_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64 + 64); }
void effc_uk_free(void *p) { free(p); }
