//===- ukernel_peaks.c - this machine's compute and bandwidth ceilings ----===//
//
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The ceilings bench/ukernel_peaks.py rates the compressed linear kernels against, measured rather than
// taken from a data sheet (a VM's clock and memory are whatever the host gives it):
//
//   fma     register-only vfmadd231ps loop, 16 independent zmm accumulators: f32 GFLOP/s (2 per lane)
//   vnni    register-only vpdpbusd loop, 16 independent zmm accumulators: int8 GOP/s (64 u8 x s8 MACs per
//           instruction, 2 ops per MAC)
//   bf16    register-only vdpbf16ps loop (only where the CPU has AVX512-BF16): bf16 GFLOP/s (32 bf16 x bf16
//           MACs per instruction, 2 FLOP per MAC)
//   stream  streaming read of a buffer far larger than the caches (vpaddd into 8 accumulators): GB/s
//
//     ukernel_peaks THREADS [stream]   ->   one line per ceiling: "<name> <value>" (with `stream`, that one
//                                          only: bench/peers.py measures it again in every round)
//
// Each figure is the best of several timed repetitions (peaks, not typical values); with THREADS > 1 every
// thread runs the loop at once and the figure is their total.
//
//===----------------------------------------------------------------------===//

#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ITERATIONS = 20000000, REPEATS = 5 };
static const size_t STREAM_BYTES = (size_t)1 << 30; // 1 GiB, split among the threads

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// The asm keeps each loop exactly as written: 16 independent dependency chains, one instruction each.
#define FOUR(OP, A, B, C, D) OP(A) OP(B) OP(C) OP(D)
#define SIXTEEN(OP) FOUR(OP, 0, 1, 2, 3) FOUR(OP, 4, 5, 6, 7) FOUR(OP, 8, 9, 10, 11) FOUR(OP, 12, 13, 14, 15)
#define FMA(i) "vfmadd231ps %%zmm16, %%zmm17, %%zmm" #i "\n\t"
#define DPBUSD(i) "vpdpbusd %%zmm16, %%zmm17, %%zmm" #i "\n\t"
#define DPBF16(i) "vdpbf16ps %%zmm16, %%zmm17, %%zmm" #i "\n\t"

// A register-only loop of ITERATIONS x 16 instructions OP; returns the rate in operations per second, at
// OPS per instruction.
#define REGISTER_LOOP(NAME, OP, OPS)                                                                          \
  static double NAME(void) {                                                                                  \
    double start = now();                                                                                     \
    for (long i = 0; i < ITERATIONS; ++i)                                                                     \
      __asm__ volatile(SIXTEEN(OP)::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",   \
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");                       \
    return (double)ITERATIONS * 16 * (OPS) / (now() - start);                                                 \
  }
REGISTER_LOOP(fma_loop, FMA, 16 * 2)     // f32 FLOP/s: 16 lanes, 2 FLOP per FMA
REGISTER_LOOP(vnni_loop, DPBUSD, 64 * 2) // int8 OP/s: 64 u8 x s8 MACs
REGISTER_LOOP(bf16_loop, DPBF16, 32 * 2) // bf16 FLOP/s: 32 bf16 x bf16 MACs

static uint8_t *stream_buffer;
static int thread_count;

static double stream_read(int index) {
  size_t bytes = STREAM_BYTES / (size_t)thread_count / 512 * 512;
  const __m512i *p = (const __m512i *)(stream_buffer + (size_t)index * bytes);
  __m512i acc[8];
  for (int j = 0; j < 8; ++j)
    acc[j] = _mm512_setzero_si512();
  double start = now();
  for (size_t i = 0; i < bytes / 64; i += 8)
    for (int j = 0; j < 8; ++j)
      acc[j] = _mm512_add_epi32(acc[j], _mm512_load_si512(p + i + j));
  double seconds = now() - start;
  for (int j = 1; j < 8; ++j)
    acc[0] = _mm512_add_epi32(acc[0], acc[j]);
  volatile int sink = _mm512_reduce_add_epi32(acc[0]);
  (void)sink;
  return (double)bytes / seconds; // B/s
}

typedef struct {
  int index, which;
  double rate;
  pthread_barrier_t *barrier;
} Worker;

static void *work(void *p) {
  Worker *w = (Worker *)p;
  pthread_barrier_wait(w->barrier);
  w->rate = w->which == 0 ? fma_loop() : w->which == 1 ? vnni_loop() : w->which == 2 ? bf16_loop()
                                                                                 : stream_read(w->index);
  return NULL;
}

static double measure(int which) {
  double best = 0.0;
  for (int r = 0; r < REPEATS; ++r) {
    pthread_t threads[64];
    Worker workers[64];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)thread_count);
    for (int t = 0; t < thread_count; ++t) {
      workers[t] = (Worker){t, which, 0.0, &barrier};
      pthread_create(&threads[t], NULL, work, &workers[t]);
    }
    double total = 0.0;
    for (int t = 0; t < thread_count; ++t) {
      pthread_join(threads[t], NULL);
      total += workers[t].rate;
    }
    pthread_barrier_destroy(&barrier);
    best = total > best ? total : best;
  }
  return best;
}

int main(int argc, char **argv) {
  thread_count = argc > 1 ? atoi(argv[1]) : 1;
  int stream_only = argc > 2 && strcmp(argv[2], "stream") == 0;
  if (thread_count < 1 || thread_count > 64) {
    fprintf(stderr, "ukernel_peaks: THREADS must be in [1, 64]\n");
    return 1;
  }
  stream_buffer = aligned_alloc(4096, STREAM_BYTES);
  if (!stream_buffer) {
    fprintf(stderr, "ukernel_peaks: cannot allocate %zu bytes\n", STREAM_BYTES);
    return 1;
  }
  memset(stream_buffer, 1, STREAM_BYTES);
  if (!stream_only) {
    printf("fma_gflops %.1f\n", measure(0) / 1e9);
    printf("vnni_gops %.1f\n", measure(1) / 1e9);
    if (__builtin_cpu_supports("avx512bf16"))
      printf("bf16_gflops %.1f\n", measure(2) / 1e9);
  }
  printf("stream_gbs %.1f\n", measure(3) / 1e9);
  free(stream_buffer);
  return 0;
}
