/*===- runtime.c - effc runtime: thread pool and tracked allocator --------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements effc_runtime_t and the host services of abi.h that it lends to compiled code:
 *
 * - parallel_for runs on a persistent pool of pthreads. The caller publishes a job under the pool mutex and
 *   wakes the workers, which spin briefly and then sleep on a condition variable when idle. Everyone, the caller
 *   included, takes chunks of indices from an atomic counter until none are left. Workers join a job only
 *   while it is open; the caller closes it after its own last chunk and waits for the workers that joined.
 *   A nested or concurrent call (the pool is taken) runs serially on its thread, so nothing can deadlock.
 * - Out of memory unwinds. Compiled code does not check allocation results, so during an invoke a refused
 *   allocation never returns: host_alloc records it in the invoke context and longjmps. On the invoking
 *   thread it jumps straight back to effc_function_invoke; on a thread running chunks of a parallel_for it
 *   jumps to that thread's chunk loop, which marks the job aborted (no more chunks are handed out) and
 *   leaves it normally, so the pool's bookkeeping stays consistent; the caller of the parallel_for then
 *   jumps back to effc_function_invoke once every worker has left. Compiled code and micro-kernels hold
 *   no locks and need no cleanup beyond their heap blocks, which carry the invoke's id and are freed by it.
 * - alloc/free use posix_memalign and record every live block in a small open-addressing hash table
 *   (pointer -> size, claimed flag). The table lets the runtime count live bytes against the memory limit,
 *   free without a size, and tell a compiled-code output buffer from a view of a weight or an input.
 * - Freed host blocks of at least BLOCK_CACHE_MIN_BYTES are kept in a small cache and handed out again to
 *   requests they fit with little waste. The heap returns such blocks to the kernel (they are mmap'ed),
 *   so without the cache every call of a model would fault its activations' pages in afresh: a decode step
 *   of GPT-2 spent a fifth of its time in page faults. Cached bytes count against the memory limit (a
 *   request that would pass it because of them empties the cache first); sanitizer builds cache nothing,
 *   so that a use after free stays visible. On a GPU the blocks are managed memory: a fresh block takes a
 *   GPU page fault per page when a kernel first writes it (0.47 ms for BERT-base's 3 MB output on an H100),
 *   a reused one is already resident. Blocks are freed only after the kernels that use them have finished
 *   (compiled code frees managed memory after a wait; an invocation ends with a device synchronisation).
 *
 *===----------------------------------------------------------------------===*/

#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One live block. key 0 marks an empty slot and key 1 a deleted one (blocks are 64-byte aligned). */
typedef struct alloc_entry_t {
  uintptr_t key;
  uint64_t size;     /* bytes requested: what live_bytes counts */
  uint64_t capacity; /* bytes the block holds (a cached block may be larger than the request) */
  uint64_t invoke_id; /* the effc_invoke_context_t::id of the call that allocated it; 0 outside calls */
  int claimed;
} alloc_entry_t;
#define SLOT_EMPTY ((uintptr_t)0)
#define SLOT_DELETED ((uintptr_t)1)

/* The block cache (file comment): smallest block kept, most blocks and bytes kept, and the waste allowed
 * when a cached block serves a smaller request (a quarter of the request). */
enum { BLOCK_CACHE_SLOTS = EFFC_BLOCK_CACHE ? 64 : 0 };
#define BLOCK_CACHE_MIN_BYTES ((uint64_t)64 << 10)
#define BLOCK_CACHE_MAX_BYTES ((uint64_t)512 << 20)

typedef struct cached_block_t {
  void *ptr;
  uint64_t capacity;
} cached_block_t;

/* A parallel_for in flight. */
typedef struct job_t {
  void (*body)(void *ctx, int64_t i);
  void *ctx;
  int64_t n;
  int64_t chunk;
  effc_invoke_context_t *invoke_context;
} job_t;

struct effc_runtime_t {
  atomic_size_t refcount;
  effc_abi_host_t host;
  uint64_t memory_limit;
  int verify_weights;
  uint64_t spin_micros; /* how long pool threads spin before they sleep (see spin_until) */

  /* Allocator. live/peak are atomics so that the limit check needs no lock; the table has one. */
  atomic_uint_fast64_t live_bytes;
  atomic_uint_fast64_t peak_bytes;
  pthread_mutex_t alloc_mutex;
  alloc_entry_t *table;
  size_t table_capacity; /* a power of two */
  size_t table_used;     /* live + deleted slots */
  /* Freed host blocks kept for reuse, oldest first (guarded by alloc_mutex). */
  cached_block_t cache[BLOCK_CACHE_SLOTS + 1];
  size_t cache_count;
  atomic_uint_fast64_t cache_bytes;

  /* Thread pool. */
  size_t num_threads; /* counting the caller */
  size_t num_workers; /* num_threads - 1 */
  pthread_t *workers;
  pthread_mutex_t submit_mutex; /* held by the one caller that owns the pool */
  pthread_mutex_t pool_mutex;   /* guards everything below */
  pthread_cond_t work_cv;       /* workers wait here for a job or shutdown */
  pthread_cond_t done_cv;       /* the caller waits here for running == 0 */
  uint64_t generation;          /* bumped per job */
  int job_open;                 /* workers may still join the current job */
  /* Lock-free mirrors of the two fields above and of `running`, read while spinning (see spin_until):
   * the generation of the open job (0: none) and the workers inside a job. */
  atomic_uint_fast64_t open_generation;
  atomic_size_t active_workers;
  int job_aborted;              /* a thread left the current job after a refused allocation */
  size_t running;               /* workers inside the current job */
  int shutdown;
  job_t job;
  atomic_int_fast64_t next_index;

  /* The GPU, when options.device asked for one: the allocator then hands out its managed memory. */
  effc_device_t *device;
};

static _Thread_local effc_invoke_context_t *t_invoke_context;
static _Thread_local int t_in_parallel;
/* Set while this thread runs chunks of a pool job that may unwind: where a refused allocation jumps. */
static _Thread_local jmp_buf *t_chunk_unwind;

static atomic_uint_fast64_t g_next_invoke_id = 1;

effc_invoke_context_t *effc_invoke_context_exchange(effc_invoke_context_t *context) {
  effc_invoke_context_t *previous = t_invoke_context;
  t_invoke_context = context;
  return previous;
}

void effc_invoke_context_init(effc_invoke_context_t *context) {
  atomic_init(&context->failed_allocs, 0);
  atomic_init(&context->first_failed_size, 0);
  atomic_init(&context->bad_requests, 0);
  atomic_init(&context->live_at_failure, 0);
  context->id = atomic_fetch_add(&g_next_invoke_id, 1);
  context->unwind = NULL;
}

/*===----------------------------------------------------------------------===*
 * Thread pool
 *===----------------------------------------------------------------------===*/

/* Takes chunks of the runtime's current job until its index range is exhausted: at most job->chunk indices,
 * shrinking to a share of what is left as the job ends (guided scheduling), so that the threads finish
 * together (fixed chunks left a thread up to a whole chunk of GEMM tiles behind the others at the end of every
 * parallel region). */
static void run_chunks(effc_runtime_t *rt, const job_t *job) {
  const int64_t share = 2 * (int64_t)rt->num_threads;
  int64_t begin = atomic_load_explicit(&rt->next_index, memory_order_relaxed);
  for (;;) {
    if (begin >= job->n)
      return;
    int64_t size = (job->n - begin) / share;
    size = size < 1 ? 1 : (size > job->chunk ? job->chunk : size);
    if (!atomic_compare_exchange_weak_explicit(&rt->next_index, &begin, begin + size, memory_order_relaxed,
                                               memory_order_relaxed))
      continue; /* `begin` now holds the index another thread left */
    for (int64_t i = begin; i < begin + size; ++i)
      job->body(job->ctx, i);
    begin = atomic_load_explicit(&rt->next_index, memory_order_relaxed);
  }
}

/* Runs chunks of `job`; returns early if a refused allocation unwinds out of one (see the file comment).
 * Returns 1 if this thread aborted the job. */
static int run_job(effc_runtime_t *rt, const job_t *job) {
  if (!job->invoke_context || !job->invoke_context->unwind) {
    run_chunks(rt, job);
    return 0;
  }
  jmp_buf unwind;
  if (setjmp(unwind) != 0) {
    t_chunk_unwind = NULL;
    return 1;
  }
  t_chunk_unwind = &unwind;
  run_chunks(rt, job);
  t_chunk_unwind = NULL;
  return 0;
}

/* Parallel regions of a model follow each other within microseconds (a GPT-2 decode step runs about 150 in
 * 7 ms), and waking a thread from a condition variable takes about as long, so the pool spins before it
 * sleeps: workers watch for the next job, the caller for the workers' last chunks, each for at most the
 * runtime's spin_micros (effc_runtime_options_t) before blocking. Idle pools still sleep
 * (runtime.runtime_idle_workers_sleep). */

static uint64_t now_micros(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Spins until done(rt, arg) holds or rt->spin_micros pass; returns whether it held. */
static int spin_until(effc_runtime_t *rt, int (*done)(effc_runtime_t *rt, uint64_t arg), uint64_t arg) {
  if (rt->spin_micros == 0)
    return done(rt, arg);
  uint64_t deadline = 0;
  for (unsigned i = 0;; ++i) {
    if (done(rt, arg))
      return 1;
    if ((i & 63) == 0) {
      uint64_t now = now_micros();
      if (!deadline)
        deadline = now + rt->spin_micros;
      else if (now >= deadline)
        return 0;
    }
    cpu_relax();
  }
}

static int job_published(effc_runtime_t *rt, uint64_t seen) {
  uint64_t open = atomic_load_explicit(&rt->open_generation, memory_order_acquire);
  return open != 0 && open != seen;
}

static int workers_idle(effc_runtime_t *rt, uint64_t unused) {
  (void)unused;
  return atomic_load_explicit(&rt->active_workers, memory_order_acquire) == 0;
}

static void *worker_main(void *arg) {
  effc_runtime_t *rt = arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&rt->pool_mutex);
  for (;;) {
    if (!rt->shutdown && !(rt->job_open && rt->generation != seen)) {
      pthread_mutex_unlock(&rt->pool_mutex);
      spin_until(rt, job_published, seen);
      pthread_mutex_lock(&rt->pool_mutex);
    }
    while (!rt->shutdown && !(rt->job_open && rt->generation != seen))
      pthread_cond_wait(&rt->work_cv, &rt->pool_mutex);
    if (rt->shutdown)
      break;
    seen = rt->generation;
    job_t job = rt->job;
    ++rt->running;
    atomic_fetch_add_explicit(&rt->active_workers, 1, memory_order_relaxed);
    pthread_mutex_unlock(&rt->pool_mutex);

    t_invoke_context = job.invoke_context;
    t_in_parallel = 1;
    int aborted = run_job(rt, &job);
    t_in_parallel = 0;
    t_invoke_context = NULL;

    pthread_mutex_lock(&rt->pool_mutex);
    rt->job_aborted |= aborted;
    atomic_fetch_sub_explicit(&rt->active_workers, 1, memory_order_release);
    if (--rt->running == 0)
      pthread_cond_signal(&rt->done_cv);
  }
  pthread_mutex_unlock(&rt->pool_mutex);
  return NULL;
}

static void host_parallel_for(void *host_ctx, void (*body)(void *ctx, int64_t i), void *ctx, int64_t n) {
  effc_runtime_t *rt = host_ctx;
  if (n <= 0)
    return;
  /* Serial when there is nothing to share, when nested, or when another caller owns the pool. */
  if (n == 1 || rt->num_workers == 0 || t_in_parallel || pthread_mutex_trylock(&rt->submit_mutex) != 0) {
    for (int64_t i = 0; i < n; ++i)
      body(ctx, i);
    return;
  }
  /* About 8 chunks per thread balances load without much counter traffic. */
  int64_t chunk = n / (int64_t)(rt->num_threads * 8);
  job_t job = {body, ctx, n, chunk > 0 ? chunk : 1, t_invoke_context};

  pthread_mutex_lock(&rt->pool_mutex);
  rt->job = job;
  atomic_store_explicit(&rt->next_index, 0, memory_order_relaxed);
  rt->job_open = 1;
  ++rt->generation;
  atomic_store_explicit(&rt->open_generation, rt->generation, memory_order_release);
  pthread_cond_broadcast(&rt->work_cv);
  pthread_mutex_unlock(&rt->pool_mutex);

  t_in_parallel = 1;
  int aborted = run_job(rt, &job);
  t_in_parallel = 0;

  spin_until(rt, workers_idle, 0);
  pthread_mutex_lock(&rt->pool_mutex);
  rt->job_open = 0; /* late risers keep sleeping */
  atomic_store_explicit(&rt->open_generation, 0, memory_order_release);
  while (rt->running > 0)
    pthread_cond_wait(&rt->done_cv, &rt->pool_mutex);
  aborted |= rt->job_aborted;
  rt->job_aborted = 0;
  pthread_mutex_unlock(&rt->pool_mutex);
  pthread_mutex_unlock(&rt->submit_mutex);
  /* The pool is free again; leave the compiled code that called us. */
  if (aborted)
    longjmp(*job.invoke_context->unwind, 1);
}

/*===----------------------------------------------------------------------===*
 * Allocation table (callers hold alloc_mutex)
 *===----------------------------------------------------------------------===*/

static size_t slot_of(uintptr_t key, size_t capacity) {
  return (size_t)(((uint64_t)key >> 6) * UINT64_C(0x9E3779B97F4A7C15) >> 20) & (capacity - 1);
}

static alloc_entry_t *table_find(effc_runtime_t *rt, uintptr_t key) {
  if (!rt->table || key <= SLOT_DELETED) /* (void *)1 must not match a deleted slot */
    return NULL;
  for (size_t i = slot_of(key, rt->table_capacity);; i = (i + 1) & (rt->table_capacity - 1)) {
    if (rt->table[i].key == key)
      return &rt->table[i];
    if (rt->table[i].key == SLOT_EMPTY)
      return NULL;
  }
}

/* Rehashes into a table sized for the live entries (dropping deleted slots). Returns 0 on OOM. */
static int table_rehash(effc_runtime_t *rt, size_t live) {
  size_t capacity = 64;
  while (capacity < (live + 1) * 4)
    capacity *= 2;
  alloc_entry_t *table = calloc(capacity, sizeof(*table));
  if (!table)
    return 0;
  for (size_t i = 0; i < rt->table_capacity; ++i) {
    uintptr_t key = rt->table[i].key;
    if (key == SLOT_EMPTY || key == SLOT_DELETED)
      continue;
    size_t j = slot_of(key, capacity);
    while (table[j].key != SLOT_EMPTY)
      j = (j + 1) & (capacity - 1);
    table[j] = rt->table[i];
  }
  free(rt->table);
  rt->table = table;
  rt->table_capacity = capacity;
  rt->table_used = live;
  return 1;
}

static size_t table_live(effc_runtime_t *rt) {
  size_t live = 0;
  for (size_t i = 0; i < rt->table_capacity; ++i)
    live += rt->table[i].key > SLOT_DELETED;
  return live;
}

static int table_insert(effc_runtime_t *rt, uintptr_t key, uint64_t size, uint64_t capacity, uint64_t invoke_id,
                        int claimed) {
  if ((rt->table_used + 1) * 2 > rt->table_capacity && !table_rehash(rt, rt->table ? table_live(rt) : 0))
    return 0;
  size_t i = slot_of(key, rt->table_capacity);
  while (rt->table[i].key > SLOT_DELETED)
    i = (i + 1) & (rt->table_capacity - 1);
  if (rt->table[i].key == SLOT_EMPTY)
    ++rt->table_used;
  rt->table[i] = (alloc_entry_t){key, size, capacity, invoke_id, claimed};
  return 1;
}

/*===----------------------------------------------------------------------===*
 * Allocation
 *===----------------------------------------------------------------------===*/

/* Counts `bytes` against the limit; returns 0 if they do not fit. */
static int reserve_bytes(effc_runtime_t *rt, uint64_t bytes) {
  uint_fast64_t live = atomic_load(&rt->live_bytes);
  do {
    if (rt->memory_limit && (bytes > rt->memory_limit || live > rt->memory_limit - bytes))
      return 0;
  } while (!atomic_compare_exchange_weak(&rt->live_bytes, &live, live + bytes));
  uint_fast64_t peak = atomic_load(&rt->peak_bytes);
  while (live + bytes > peak && !atomic_compare_exchange_weak(&rt->peak_bytes, &peak, live + bytes)) {
  }
  return 1;
}

/* Returns a block to the heap or, with a device, to the device. */
static void release_block(effc_runtime_t *rt, void *ptr) {
  if (rt->device)
    effc_device_free_shared(rt->device, ptr);
  else
    free(ptr);
}

/* Takes the smallest cached block that holds `bytes` at `alignment` with at most a quarter wasted, or
 * returns NULL. Callers hold alloc_mutex. */
static void *cache_take(effc_runtime_t *rt, uint64_t bytes, uint64_t alignment, uint64_t *out_capacity) {
  size_t best = rt->cache_count;
  for (size_t i = 0; i < rt->cache_count; ++i) {
    const cached_block_t *block = &rt->cache[i];
    if (block->capacity >= bytes && block->capacity - bytes <= bytes / 4 &&
        (uintptr_t)block->ptr % alignment == 0 &&
        (best == rt->cache_count || block->capacity < rt->cache[best].capacity))
      best = i;
  }
  if (best == rt->cache_count)
    return NULL;
  cached_block_t block = rt->cache[best];
  memmove(&rt->cache[best], &rt->cache[best + 1], (rt->cache_count - best - 1) * sizeof(cached_block_t));
  --rt->cache_count;
  atomic_fetch_sub(&rt->cache_bytes, block.capacity);
  *out_capacity = block.capacity;
  return block.ptr;
}

/* Keeps a freed block of `capacity` bytes for reuse if the cache takes it. What must go back to the heap
 * instead (the block itself, or the oldest cached ones it displaces) is stored in `out_release`, which has
 * room for BLOCK_CACHE_SLOTS + 1 pointers; returns their number. Callers hold alloc_mutex. */
static size_t cache_put(effc_runtime_t *rt, void *ptr, uint64_t capacity, void **out_release) {
  uint64_t limit = BLOCK_CACHE_MAX_BYTES;
  if (rt->memory_limit && rt->memory_limit / 2 < limit)
    limit = rt->memory_limit / 2;
  if (BLOCK_CACHE_SLOTS == 0 || capacity < BLOCK_CACHE_MIN_BYTES || capacity > limit) {
    out_release[0] = ptr;
    return 1;
  }
  rt->cache[rt->cache_count++] = (cached_block_t){ptr, capacity};
  uint64_t cached = atomic_fetch_add(&rt->cache_bytes, capacity) + capacity;
  size_t evicted = 0;
  while (rt->cache_count - evicted > BLOCK_CACHE_SLOTS || cached > limit) {
    out_release[evicted] = rt->cache[evicted].ptr;
    cached -= rt->cache[evicted].capacity;
    ++evicted;
  }
  /* The newest block fits the limit on its own, so the loop stopped before reaching it. */
  memmove(&rt->cache[0], &rt->cache[evicted], (rt->cache_count - evicted) * sizeof(cached_block_t));
  rt->cache_count -= evicted;
  atomic_store(&rt->cache_bytes, cached);
  return evicted;
}

/* Releases every cached block. */
static void cache_flush(effc_runtime_t *rt) {
  cached_block_t blocks[BLOCK_CACHE_SLOTS + 1];
  pthread_mutex_lock(&rt->alloc_mutex);
  size_t count = rt->cache_count;
  memcpy(blocks, rt->cache, count * sizeof(cached_block_t));
  rt->cache_count = 0;
  atomic_store(&rt->cache_bytes, 0);
  pthread_mutex_unlock(&rt->alloc_mutex);
  for (size_t i = 0; i < count; ++i)
    release_block(rt, blocks[i].ptr);
}

/* Allocates a tracked block; NULL if the limit or the heap refuses it. */
static void *allocate_tracked(effc_runtime_t *rt, uint64_t size, uint64_t alignment, uint64_t invoke_id,
                              int claimed) {
  uint64_t bytes = size ? size : 1; /* distinct non-NULL pointers even for empty tensors */
  if (bytes > SIZE_MAX || !reserve_bytes(rt, bytes))
    return NULL;
  uint64_t capacity = bytes;
  void *ptr = NULL;
  if (bytes >= BLOCK_CACHE_MIN_BYTES && (!rt->device || alignment <= 256)) {
    pthread_mutex_lock(&rt->alloc_mutex);
    ptr = cache_take(rt, bytes, alignment, &capacity);
    if (ptr && !table_insert(rt, (uintptr_t)ptr, bytes, capacity, invoke_id, claimed)) {
      release_block(rt, ptr);
      ptr = NULL;
      capacity = bytes;
    }
    pthread_mutex_unlock(&rt->alloc_mutex);
    if (ptr)
      return ptr;
  }
  /* Cached blocks count against the limit: make room from them before asking the heap. */
  if (rt->memory_limit && atomic_load(&rt->cache_bytes) > rt->memory_limit - atomic_load(&rt->live_bytes))
    cache_flush(rt);
  if (rt->device && alignment <= 256) /* managed memory is at least 256-byte aligned */
    ptr = effc_device_alloc_shared(rt->device, bytes);
  else if (!rt->device && posix_memalign(&ptr, (size_t)alignment, (size_t)bytes) != 0)
    ptr = NULL;
  if (!ptr) {
    atomic_fetch_sub(&rt->live_bytes, bytes);
    return NULL;
  }
  pthread_mutex_lock(&rt->alloc_mutex);
  int inserted = table_insert(rt, (uintptr_t)ptr, bytes, capacity, invoke_id, claimed);
  pthread_mutex_unlock(&rt->alloc_mutex);
  if (!inserted) {
    release_block(rt, ptr);
    atomic_fetch_sub(&rt->live_bytes, bytes);
    return NULL;
  }
  return ptr;
}

/* Frees a tracked block (into the cache when it takes it); returns 0 (and frees nothing) if `ptr` is not
 * one. */
static int free_tracked(effc_runtime_t *rt, void *ptr) {
  pthread_mutex_lock(&rt->alloc_mutex);
  alloc_entry_t *entry = table_find(rt, (uintptr_t)ptr);
  uint64_t size = entry ? entry->size : 0;
  void *release[BLOCK_CACHE_SLOTS + 1];
  size_t releases = 0;
  if (entry) {
    entry->key = SLOT_DELETED;
    releases = cache_put(rt, ptr, entry->capacity, release);
  }
  pthread_mutex_unlock(&rt->alloc_mutex);
  if (!entry)
    return 0;
  for (size_t i = 0; i < releases; ++i)
    release_block(rt, release[i]);
  atomic_fetch_sub(&rt->live_bytes, size);
  return 1;
}

/* After a refused request during an invoke that can unwind, leaves the compiled code (file comment). */
static void unwind_if_possible(effc_runtime_t *rt, effc_invoke_context_t *context) {
  if (!context || !context->unwind)
    return;
  if (t_chunk_unwind) {
    /* Hand out no more chunks: the call is lost. run_chunks stops at n, so n is a safe upper bound. */
    atomic_store_explicit(&rt->next_index, INT64_MAX / 2, memory_order_relaxed);
    longjmp(*t_chunk_unwind, 1);
  }
  longjmp(*context->unwind, 1);
}

static void *host_alloc(void *host_ctx, uint64_t size, uint64_t alignment) {
  effc_runtime_t *rt = host_ctx;
  effc_invoke_context_t *context = t_invoke_context;
  if (alignment & (alignment - 1)) { /* not a power of two: a compiler bug */
    if (context)
      atomic_fetch_add(&context->bad_requests, 1);
    unwind_if_possible(rt, context);
    return NULL;
  }
  void *ptr = allocate_tracked(rt, size, alignment > EFFC_ALIGNMENT ? alignment : EFFC_ALIGNMENT,
                               context ? context->id : 0, 0);
  if (!ptr && context) {
    uint_fast64_t none = 0;
    if (atomic_compare_exchange_strong(&context->first_failed_size, &none, size ? size : 1))
      atomic_store(&context->live_at_failure, atomic_load(&rt->live_bytes));
    atomic_fetch_add(&context->failed_allocs, 1);
    unwind_if_possible(rt, context);
  }
  return ptr;
}

static void host_free(void *host_ctx, void *ptr) {
  effc_runtime_t *rt = host_ctx;
  if (ptr && !free_tracked(rt, ptr) && t_invoke_context)
    atomic_fetch_add(&t_invoke_context->bad_requests, 1);
}

effc_status_t effc_runtime_allocate(effc_runtime_t *runtime, uint64_t size, void **out_ptr) {
  *out_ptr = allocate_tracked(runtime, size, EFFC_ALIGNMENT, 0, 1);
  if (!*out_ptr) {
    if (runtime->memory_limit)
      return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED,
                              "cannot allocate %llu bytes: memory limit is %llu bytes, %llu in use",
                              (unsigned long long)size, (unsigned long long)runtime->memory_limit,
                              (unsigned long long)atomic_load(&runtime->live_bytes));
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "cannot allocate %llu bytes: out of memory",
                            (unsigned long long)size);
  }
  memset(*out_ptr, 0, (size_t)size);
  return NULL;
}

void effc_runtime_deallocate(effc_runtime_t *runtime, void *ptr) {
  if (ptr)
    free_tracked(runtime, ptr);
}

int effc_runtime_claim(effc_runtime_t *runtime, const void *ptr, uint64_t *out_size) {
  int claimed = 0;
  pthread_mutex_lock(&runtime->alloc_mutex);
  alloc_entry_t *entry = ptr ? table_find(runtime, (uintptr_t)ptr) : NULL;
  if (entry && !entry->claimed) {
    entry->claimed = 1;
    *out_size = entry->size;
    claimed = 1;
  }
  pthread_mutex_unlock(&runtime->alloc_mutex);
  return claimed;
}

uint64_t effc_runtime_free_invoke_blocks(effc_runtime_t *runtime, const effc_invoke_context_t *context) {
  uint64_t freed = 0;
  pthread_mutex_lock(&runtime->alloc_mutex);
  for (size_t i = 0; i < runtime->table_capacity; ++i) {
    alloc_entry_t *entry = &runtime->table[i];
    if (entry->key <= SLOT_DELETED || entry->claimed || entry->invoke_id != context->id)
      continue;
    void *release[BLOCK_CACHE_SLOTS + 1];
    size_t releases = cache_put(runtime, (void *)entry->key, entry->capacity, release);
    for (size_t j = 0; j < releases; ++j)
      release_block(runtime, release[j]);
    freed += entry->size;
    entry->key = SLOT_DELETED;
  }
  pthread_mutex_unlock(&runtime->alloc_mutex);
  atomic_fetch_sub(&runtime->live_bytes, freed);
  return freed;
}

/*===----------------------------------------------------------------------===*
 * Runtime
 *===----------------------------------------------------------------------===*/

void effc_runtime_options_initialize(effc_runtime_options_t *out_options) {
  memset(out_options, 0, sizeof(*out_options));
  out_options->verify_weights = 1;
  out_options->spin_micros = 100;
}

/* Stops and joins the first `count` workers. */
static void stop_workers(effc_runtime_t *rt, size_t count) {
  pthread_mutex_lock(&rt->pool_mutex);
  rt->shutdown = 1;
  pthread_cond_broadcast(&rt->work_cv);
  pthread_mutex_unlock(&rt->pool_mutex);
  for (size_t i = 0; i < count; ++i)
    pthread_join(rt->workers[i], NULL);
}

static void destroy(effc_runtime_t *rt) {
  effc_device_release(rt->device);
  pthread_mutex_destroy(&rt->alloc_mutex);
  pthread_mutex_destroy(&rt->submit_mutex);
  pthread_mutex_destroy(&rt->pool_mutex);
  pthread_cond_destroy(&rt->work_cv);
  pthread_cond_destroy(&rt->done_cv);
  free(rt->workers);
  free(rt->table);
  free(rt);
}

effc_status_t effc_runtime_create(const effc_runtime_options_t *options, effc_runtime_t **out_runtime) {
  *out_runtime = NULL;
  effc_runtime_options_t defaults;
  effc_runtime_options_initialize(&defaults);
  if (!options)
    options = &defaults;
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  size_t num_threads = options->num_threads;
  if (num_threads == 0)
    num_threads = online > 0 ? (size_t)online : 1;
  if (num_threads > 4096)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "num_threads %zu is too large (at most 4096)",
                            num_threads);

  effc_runtime_t *rt = calloc(1, sizeof(*rt));
  if (!rt || !(rt->workers = calloc(num_threads, sizeof(pthread_t)))) {
    free(rt);
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory creating the runtime");
  }
  atomic_init(&rt->refcount, 1);
  rt->host = (effc_abi_host_t){EFFC_ABI_VERSION, host_parallel_for, host_alloc, host_free, rt, NULL};
  rt->memory_limit = options->memory_limit_bytes;
  rt->verify_weights = options->verify_weights;
  /* With more threads than cores, a spinning thread only takes time from one that has work. */
  rt->spin_micros = online > 0 && num_threads > (size_t)online ? 0 : options->spin_micros;
  atomic_init(&rt->live_bytes, 0);
  atomic_init(&rt->peak_bytes, 0);
  atomic_init(&rt->cache_bytes, 0);
  atomic_init(&rt->open_generation, 0);
  atomic_init(&rt->active_workers, 0);
  atomic_init(&rt->next_index, 0);
  pthread_mutex_init(&rt->alloc_mutex, NULL);
  pthread_mutex_init(&rt->submit_mutex, NULL);
  pthread_mutex_init(&rt->pool_mutex, NULL);
  pthread_cond_init(&rt->work_cv, NULL);
  pthread_cond_init(&rt->done_cv, NULL);
  rt->num_threads = num_threads;
  rt->num_workers = num_threads - 1;
  if (options->device != EFFC_DEVICE_CPU) {
    effc_status_t status = effc_device_create(options->device, options->device_ordinal, &rt->device);
    if (status) {
      destroy(rt);
      return status;
    }
    rt->host.gpu = effc_device_services(rt->device);
  }
  for (size_t i = 0; i < rt->num_workers; ++i) {
    int error = pthread_create(&rt->workers[i], NULL, worker_main, rt);
    if (error) {
      stop_workers(rt, i);
      destroy(rt);
      return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "cannot start worker thread %zu of %zu: %s",
                              i + 1, num_threads - 1, strerror(error));
    }
  }
  *out_runtime = rt;
  return NULL;
}

void effc_runtime_retain(effc_runtime_t *runtime) {
  if (runtime)
    atomic_fetch_add(&runtime->refcount, 1);
}

void effc_runtime_release(effc_runtime_t *runtime) {
  if (!runtime || atomic_fetch_sub(&runtime->refcount, 1) != 1)
    return;
  stop_workers(runtime, runtime->num_workers);
  /* Every tensor and module holds a reference, so no block can still be live here; free any stragglers
   * that compiled code leaked. */
  for (size_t i = 0; i < runtime->table_capacity; ++i)
    if (runtime->table[i].key > SLOT_DELETED)
      release_block(runtime, (void *)runtime->table[i].key);
  cache_flush(runtime);
  destroy(runtime);
}

size_t effc_runtime_num_threads(const effc_runtime_t *runtime) { return runtime->num_threads; }

uint32_t effc_runtime_spin_micros(const effc_runtime_t *runtime) { return (uint32_t)runtime->spin_micros; }
uint64_t effc_runtime_live_bytes(const effc_runtime_t *runtime) { return atomic_load(&runtime->live_bytes); }
uint64_t effc_runtime_peak_bytes(const effc_runtime_t *runtime) { return atomic_load(&runtime->peak_bytes); }
void effc_runtime_reset_peak_bytes(effc_runtime_t *runtime) {
  atomic_store(&runtime->peak_bytes, atomic_load(&runtime->live_bytes));
}
const effc_abi_host_t *effc_runtime_host(const effc_runtime_t *runtime) { return &runtime->host; }
uint64_t effc_runtime_memory_limit(const effc_runtime_t *runtime) { return runtime->memory_limit; }
int effc_runtime_verify_weights(const effc_runtime_t *runtime) { return runtime->verify_weights; }

effc_device_t *effc_runtime_device(const effc_runtime_t *runtime) { return runtime->device; }

int effc_runtime_owns(effc_runtime_t *runtime, const void *ptr) {
  pthread_mutex_lock(&runtime->alloc_mutex);
  int owned = ptr && table_find(runtime, (uintptr_t)ptr) != NULL;
  pthread_mutex_unlock(&runtime->alloc_mutex);
  return owned;
}
