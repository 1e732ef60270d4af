/*===- model_stress.c - concurrency, leak and memory-limit checks on a real module -===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements effc_model_stress, which runs a compiled module (normally an effc-compiled example,
 * see test/e2e/test_runtime_safety.py) through a list of calls ("jobs") and checks what the runtime
 * promises:
 *
 *   effc_model_stress MODEL.so JOBS [--pool-threads P] [--threads T] [--calls M] [--stress N]
 *                     [--limited-copy COPY.so]
 *
 * JOBS is a text file with one call per line: `FUNCTION NAME=FILE.npy ...` (inputs in any order). Phases:
 *
 * 1. serial: each job runs once on one thread; its outputs are the reference, and its own peak of runtime
 *    bytes (effc_runtime_reset_peak_bytes) is recorded.
 * 2. concurrent (T > 0): T threads make M calls each, walking the jobs in different orders, on one runtime
 *    of P pool threads; every output must equal the reference bit for bit.
 * 3. stress (N > 0): N calls on one thread, cycling through the jobs; after every call the runtime's live
 *    bytes must be back to the baseline, and the phase's peak must not exceed the largest serial peak.
 * 4. limited (COPY.so, a copy of MODEL.so, since one loaded file belongs to one runtime): a second runtime
 *    whose memory limit lies between the smallest and the largest job's need runs every job 4 times; each
 *    call must either match the reference or fail with RESOURCE_EXHAUSTED, both outcomes must occur, and
 *    live bytes must return to the baseline after each call (a refused allocation unwinds cleanly).
 *
 * It prints `key: value` lines (peaks, RSS) for the test to read, and exits 1 with a message on any failure.
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE
#include "effc/runtime/api.h"
#include "effc/runtime/npy.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JOBS 64
#define MAX_TENSORS 16
#define MAX_LINE 8192 /* a job line: FUNCTION and up to MAX_TENSORS NAME=PATH words */

typedef struct job_t {
  const effc_function_t *fn;
  size_t num_inputs, num_outputs;
  effc_tensor_t *inputs[MAX_TENSORS];    /* in signature order */
  effc_tensor_t *reference[MAX_TENSORS]; /* outputs of the serial run */
  uint64_t peak;                         /* runtime bytes the serial call needed beyond its inputs */
  char line[MAX_LINE];
} job_t;

static job_t g_jobs[MAX_JOBS];
static size_t g_num_jobs;

static int fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("effc_model_stress: error: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  return 1;
}

static int fail_status(effc_status_t status, const char *what) {
  int result = fail("%s: %s: %s", what, effc_status_code_name(effc_status_code(status)), effc_status_message(status));
  effc_status_free(status);
  return result;
}

/* Resident set size now, in KiB (0 if /proc is unavailable). */
static long rss_kib(void) {
  long pages = 0, resident = 0;
  FILE *statm = fopen("/proc/self/statm", "r");
  if (statm) {
    if (fscanf(statm, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    fclose(statm);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Reads the job file, loading inputs through `runtime`. */
static int read_jobs(const char *path, effc_runtime_t *runtime, effc_module_t *module) {
  FILE *file = fopen(path, "r");
  if (!file)
    return fail("cannot open %s", path);
  char line[MAX_LINE];
  while (fgets(line, sizeof(line), file)) {
    size_t length = strcspn(line, "\n");
    if (line[length] != '\n' && !feof(file))
      return fclose(file), fail("%s: a line longer than %d bytes", path, MAX_LINE - 2);
    line[length] = '\0';
    if (!line[0])
      continue;
    if (g_num_jobs == MAX_JOBS)
      return fclose(file), fail("more than %d jobs", MAX_JOBS);
    job_t *job = &g_jobs[g_num_jobs++];
    snprintf(job->line, sizeof(job->line), "%s", line);
    char *save = NULL, *word = strtok_r(line, " ", &save);
    effc_status_t status = effc_module_lookup_function(module, word, &job->fn);
    if (status)
      return fclose(file), fail_status(status, job->line);
    job->num_inputs = effc_function_num_inputs(job->fn);
    job->num_outputs = effc_function_num_outputs(job->fn);
    if (job->num_inputs > MAX_TENSORS || job->num_outputs > MAX_TENSORS)
      return fclose(file), fail("%s: too many tensors", job->line);
    while ((word = strtok_r(NULL, " ", &save))) {
      char *eq = strchr(word, '=');
      if (!eq)
        return fclose(file), fail("%s: expected NAME=FILE.npy, got '%s'", job->line, word);
      *eq = '\0';
      size_t i = 0;
      while (i < job->num_inputs && strcmp(effc_function_input(job->fn, i).name, word))
        ++i;
      if (i == job->num_inputs || job->inputs[i])
        return fclose(file), fail("%s: unknown or repeated input '%s'", job->line, word);
      if ((status = effc_npy_read(runtime, eq + 1, &job->inputs[i])))
        return fclose(file), fail_status(status, eq + 1);
    }
    for (size_t i = 0; i < job->num_inputs; ++i)
      if (!job->inputs[i])
        return fclose(file), fail("%s: missing input '%s'", job->line, effc_function_input(job->fn, i).name);
  }
  fclose(file);
  return g_num_jobs ? 0 : fail("%s lists no jobs", path);
}

static effc_status_t invoke(const effc_function_t *fn, const job_t *job, effc_tensor_t **outputs) {
  return effc_function_invoke(fn, (const effc_tensor_t *const *)job->inputs, job->num_inputs, outputs,
                              job->num_outputs);
}

/* 1 if `outputs` equal the job's reference bit for bit. */
static int matches_reference(const job_t *job, effc_tensor_t *const *outputs) {
  for (size_t i = 0; i < job->num_outputs; ++i) {
    const effc_tensor_t *a = outputs[i], *b = job->reference[i];
    if (effc_tensor_rank(a) != effc_tensor_rank(b) ||
        memcmp(effc_tensor_dims(a), effc_tensor_dims(b), effc_tensor_rank(a) * sizeof(int64_t)) ||
        effc_tensor_byte_size(a) != effc_tensor_byte_size(b) ||
        memcmp(effc_tensor_data(a), effc_tensor_data(b), effc_tensor_byte_size(a)))
      return 0;
  }
  return 1;
}

static void release_all(effc_tensor_t **tensors, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    effc_tensor_release(tensors[i]);
    tensors[i] = NULL;
  }
}

typedef struct worker_t {
  int index, calls, failed;
  char message[512];
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  for (int call = 0; call < w->calls && !w->failed; ++call) {
    /* Threads walk the jobs from different starts and with different strides. */
    size_t stride = (size_t)w->index % 2 ? 1 : g_num_jobs - 1;
    job_t *job = &g_jobs[((size_t)w->index * 7 + (size_t)call * (stride ? stride : 1)) % g_num_jobs];
    effc_tensor_t *outputs[MAX_TENSORS] = {0};
    effc_status_t status = invoke(job->fn, job, outputs);
    if (status) {
      snprintf(w->message, sizeof(w->message), "%s: %s", job->line, effc_status_message(status));
      effc_status_free(status);
      w->failed = 1;
    } else if (!matches_reference(job, outputs)) {
      snprintf(w->message, sizeof(w->message), "thread %d call %d (%s) differs from the serial run", w->index,
               call, job->line);
      w->failed = 1;
    }
    release_all(outputs, job->num_outputs);
  }
  return NULL;
}

/* Runs every job a few times on `module` (a copy of the model) under a limit between the jobs' needs. */
static int run_limited(const char *copy_path, uint32_t pool_threads) {
  uint64_t lowest = UINT64_MAX, highest = 0;
  for (size_t j = 0; j < g_num_jobs; ++j) {
    lowest = g_jobs[j].peak < lowest ? g_jobs[j].peak : lowest;
    highest = g_jobs[j].peak > highest ? g_jobs[j].peak : highest;
  }
  if (lowest == highest)
    return fail("--limited-copy needs jobs of different sizes (all need %llu bytes)", (unsigned long long)lowest);
  /* The inputs live in the first runtime; the limit only covers what calls allocate. */
  uint64_t limit = lowest + (highest - lowest) / 2;
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.num_threads = pool_threads;
  options.memory_limit_bytes = limit;
  effc_runtime_t *runtime = NULL;
  effc_module_t *module = NULL;
  effc_status_t status = effc_runtime_create(&options, &runtime);
  if (!status)
    status = effc_module_load(runtime, copy_path, &module);
  if (status) {
    effc_runtime_release(runtime);
    return fail_status(status, copy_path);
  }
  int result = 0;
  size_t ok = 0, refused = 0;
  for (int round = 0; round < 4 && !result; ++round) {
    for (size_t j = 0; j < g_num_jobs && !result; ++j) {
      job_t *job = &g_jobs[j];
      const effc_function_t *fn = NULL;
      effc_tensor_t *outputs[MAX_TENSORS] = {0};
      status = effc_module_lookup_function(module, effc_function_name(job->fn), &fn);
      if (!status)
        status = invoke(fn, job, outputs);
      if (!status) {
        ++ok;
        if (!matches_reference(job, outputs))
          result = fail("limited run of %s differs from the serial run", job->line);
      } else if (effc_status_code(status) == EFFC_STATUS_RESOURCE_EXHAUSTED) {
        ++refused;
        if (job->peak <= limit)
          result = fail("%s needs %llu bytes but was refused under a limit of %llu: %s", job->line,
                        (unsigned long long)job->peak, (unsigned long long)limit, effc_status_message(status));
        if (refused == 1)
          printf("limited example error: %s\n", effc_status_message(status));
        effc_status_free(status);
      } else {
        result = fail_status(status, job->line);
      }
      release_all(outputs, job->num_outputs);
      if (!result && effc_runtime_live_bytes(runtime) != 0)
        result = fail("after a limited call of %s, %llu bytes are still live", job->line,
                      (unsigned long long)effc_runtime_live_bytes(runtime));
    }
  }
  printf("limited limit_bytes: %llu\nlimited ok: %zu\nlimited refused: %zu\n", (unsigned long long)limit, ok,
         refused);
  if (!result && (!ok || !refused))
    result = fail("the limited runs should both succeed and be refused (ok %zu, refused %zu)", ok, refused);
  effc_module_release(module);
  effc_runtime_release(runtime);
  return result;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return fail("usage: effc_model_stress MODEL.so JOBS [--pool-threads P] [--threads T] [--calls M] "
                "[--stress N] [--limited-copy COPY.so]");
  uint32_t pool_threads = 2;
  int threads = 0, calls = 0;
  long stress = 0;
  const char *limited_copy = NULL;
  for (int i = 3; i < argc; ++i) {
    if (i + 1 == argc)
      return fail("%s needs a value", argv[i]);
    const char *value = argv[++i];
    if (!strcmp(argv[i - 1], "--pool-threads"))
      pool_threads = (uint32_t)atoi(value);
    else if (!strcmp(argv[i - 1], "--threads"))
      threads = atoi(value);
    else if (!strcmp(argv[i - 1], "--calls"))
      calls = atoi(value);
    else if (!strcmp(argv[i - 1], "--stress"))
      stress = atol(value);
    else if (!strcmp(argv[i - 1], "--limited-copy"))
      limited_copy = value;
    else
      return fail("unknown option %s", argv[i - 1]);
  }

  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.num_threads = pool_threads;
  effc_runtime_t *runtime = NULL;
  effc_module_t *module = NULL;
  effc_status_t status = effc_runtime_create(&options, &runtime);
  if (!status)
    status = effc_module_load(runtime, argv[1], &module);
  if (status)
    return fail_status(status, argv[1]);
  int result = read_jobs(argv[2], runtime, module);
  uint64_t baseline = effc_runtime_live_bytes(runtime);

  /* 1. Serial reference runs. */
  uint64_t largest_peak = 0;
  for (size_t j = 0; j < g_num_jobs && !result; ++j) {
    job_t *job = &g_jobs[j];
    uint64_t before = effc_runtime_live_bytes(runtime);
    effc_runtime_reset_peak_bytes(runtime);
    if ((status = invoke(job->fn, job, job->reference)))
      result = fail_status(status, job->line);
    job->peak = effc_runtime_peak_bytes(runtime) - before;
    largest_peak = job->peak > largest_peak ? job->peak : largest_peak;
    printf("job %zu peak_bytes: %llu (%s)\n", j, (unsigned long long)job->peak, job->line);
  }
  uint64_t reference_bytes = effc_runtime_live_bytes(runtime) - baseline;
  baseline = effc_runtime_live_bytes(runtime);
  printf("rss_kib after serial: %ld\n", rss_kib());

  /* 2. Concurrent calls, compared bit for bit. */
  if (!result && threads > 0) {
    worker_t *workers = calloc((size_t)threads, sizeof(worker_t));
    pthread_t *ids = calloc((size_t)threads, sizeof(pthread_t));
    if (!workers || !ids)
      result = fail("out of memory");
    int started = 0;
    for (; !result && started < threads; ++started) {
      workers[started] = (worker_t){started, calls, 0, ""};
      if (pthread_create(&ids[started], NULL, worker_main, &workers[started]))
        result = fail("cannot start thread %d", started);
    }
    for (int t = 0; t < started; ++t)
      pthread_join(ids[t], NULL);
    for (int t = 0; t < started && !result; ++t)
      if (workers[t].failed)
        result = fail("%s", workers[t].message);
    if (!result && effc_runtime_live_bytes(runtime) != baseline)
      result = fail("after the concurrent calls %llu bytes are live, expected %llu",
                    (unsigned long long)effc_runtime_live_bytes(runtime), (unsigned long long)baseline);
    if (!result)
      printf("concurrent calls: %d threads x %d calls, all bit-exact\nrss_kib after concurrent: %ld\n", threads,
             calls, rss_kib());
    free(workers);
    free(ids);
  }

  /* 3. Stress: many calls, no growth. */
  if (!result && stress > 0) {
    /* Warm up (the allocator's free lists, the pool's threads), then measure. */
    for (size_t j = 0; j < g_num_jobs && !result; ++j) {
      effc_tensor_t *outputs[MAX_TENSORS] = {0};
      if ((status = invoke(g_jobs[j].fn, &g_jobs[j], outputs)))
        result = fail_status(status, g_jobs[j].line);
      release_all(outputs, g_jobs[j].num_outputs);
    }
    long rss_start = rss_kib();
    effc_runtime_reset_peak_bytes(runtime);
    for (long call = 0; call < stress && !result; ++call) {
      job_t *job = &g_jobs[(size_t)call % g_num_jobs];
      effc_tensor_t *outputs[MAX_TENSORS] = {0};
      if ((status = invoke(job->fn, job, outputs)))
        result = fail_status(status, job->line);
      else if (call < (long)g_num_jobs * 2 && !matches_reference(job, outputs))
        result = fail("stress call %ld (%s) differs from the serial run", call, job->line);
      release_all(outputs, job->num_outputs);
      if (!result && effc_runtime_live_bytes(runtime) != baseline)
        result = fail("after stress call %ld (%s) %llu bytes are live, expected %llu", call, job->line,
                      (unsigned long long)effc_runtime_live_bytes(runtime), (unsigned long long)baseline);
    }
    uint64_t peak = effc_runtime_peak_bytes(runtime) - baseline;
    printf("stress calls: %ld\nstress peak_bytes: %llu\nlargest serial peak_bytes: %llu\n", stress,
           (unsigned long long)peak, (unsigned long long)largest_peak);
    printf("rss_kib stress start: %ld\nrss_kib stress end: %ld\n", rss_start, rss_kib());
    /* Micro-kernels allocate scratch per parallel task (e.g. the fused attention's key/value tiles), so
     * how much of it is live at once depends on how the pool's threads interleave: the bound is the
     * largest single call's peak plus a quarter. Leaks are what the live-bytes check after every call
     * catches. */
    uint64_t bound = largest_peak + largest_peak / 4;
    if (!result && peak > bound)
      result = fail("the stress peak (%llu bytes) exceeds 1.25x the largest single call's (%llu)",
                    (unsigned long long)peak, (unsigned long long)largest_peak);
  }
  printf("reference_bytes: %llu\n", (unsigned long long)reference_bytes);

  /* 4. Under a memory limit. */
  if (!result && limited_copy)
    result = run_limited(limited_copy, pool_threads);

  for (size_t j = 0; j < g_num_jobs; ++j) {
    release_all(g_jobs[j].inputs, g_jobs[j].num_inputs);
    release_all(g_jobs[j].reference, g_jobs[j].num_outputs);
  }
  if (!result && effc_runtime_live_bytes(runtime) != 0)
    result = fail("%llu bytes still live at the end", (unsigned long long)effc_runtime_live_bytes(runtime));
  effc_module_release(module);
  effc_runtime_release(runtime);
  return result;
}
