/*===- module_header_fuzzer.c - fuzz module header and weights checks -----===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * Builds an effc_abi_module_t from the input (version, function table, tensor signatures with any dtype,
 * rank, extents and dimension groups, each function's min_call_bytes, host slot, producer, an external
 * weights file with its size and checksum, and the weights bytes) and loads it with effc_module_load
 * through fuzz_module.c. The runtime must reject every malformed header or weights file with an error, and
 * a module it accepts must be safe to introspect and release, and fit the runtime's memory limit. The header itself is always well-formed memory: the runtime trusts the
 * pointers a compiled module hands it (see docs/reliability.md); what it must not trust are the counts,
 * names, extents and the weights file.
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE /* memfd_create */
#include "fuzz_util.h"

#include "effc/runtime/abi.h"
#include "effc/runtime/api.h"
#include "effc/runtime/checksum.h"

#include <dlfcn.h>
#include <string.h>

#ifndef EFFC_FUZZ_MODULE
#error "EFFC_FUZZ_MODULE must name the fuzz_module shared object"
#endif

/* Reads the input front to back; past its end every read gives zeros. */
typedef struct reader_t {
  const uint8_t *p, *end;
} reader_t;

static uint8_t u8(reader_t *r) { return r->p < r->end ? *r->p++ : 0; }

static uint64_t u64(reader_t *r) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value |= (uint64_t)u8(r) << (8 * i);
  return value;
}

/* A small or arbitrary extent: mostly 0..6 and -1 (dynamic), sometimes any 64-bit value. */
static int64_t extent(reader_t *r) {
  uint8_t b = u8(r);
  return b < 0xf0 ? (int64_t)(b % 8) - 1 : (int64_t)u64(r);
}

/* Everything one header owns, freed after each input. */
typedef struct arena_t {
  void *blocks[1024];
  size_t count;
} arena_t;

static void *arena_alloc(arena_t *arena, size_t size) {
  if (arena->count == sizeof(arena->blocks) / sizeof(arena->blocks[0]))
    return NULL;
  void *block = calloc(1, size ? size : 1);
  if (!block)
    abort();
  return arena->blocks[arena->count++] = block;
}

static void arena_free(arena_t *arena) {
  while (arena->count)
    free(arena->blocks[--arena->count]);
}

/* A name: NULL, or 0..15 bytes of the input (possibly empty, possibly repeating another name). */
static const char *name(reader_t *r, arena_t *arena) {
  uint8_t b = u8(r);
  if (b == 0xff)
    return NULL;
  size_t length = b % 16;
  char *text = arena_alloc(arena, length + 1);
  if (!text)
    return NULL;
  for (size_t i = 0; i < length; ++i)
    text[i] = (char)u8(r);
  return text;
}

static void invoke_stub(void **args) { (void)args; abort(); /* loading never calls an entry point */ }

static effc_abi_tensor_info_t *tensor_list(reader_t *r, arena_t *arena, uint32_t *count) {
  uint8_t b = u8(r);
  *count = b % 5;
  if (b & 0x80)
    return NULL; /* a count with no list */
  effc_abi_tensor_info_t *infos = arena_alloc(arena, *count * sizeof(*infos));
  for (uint32_t i = 0; infos && i < *count; ++i) {
    effc_abi_tensor_info_t *info = &infos[i];
    info->name = name(r, arena);
    info->dtype = u8(r) % 12; /* valid dtypes and a few beyond */
    uint8_t rank = u8(r);
    info->rank = rank < 0xf0 ? rank % 5 : rank; /* up to 255, beyond EFFC_MAX_RANK */
    uint8_t layout = u8(r);
    int64_t *dims = (layout & 1) ? NULL : arena_alloc(arena, info->rank * sizeof(int64_t));
    int32_t *groups = (layout & 2) ? arena_alloc(arena, info->rank * sizeof(int32_t)) : NULL;
    for (uint32_t d = 0; d < info->rank; ++d) {
      if (dims)
        dims[d] = extent(r);
      if (groups)
        groups[d] = (int32_t)(u8(r) % 5) - 2;
    }
    info->dims = dims;
    info->dim_groups = groups;
  }
  return infos;
}

/* The memory limit of the second runtime. */
static const uint64_t k_memory_limit = 4096;

static void *g_self;
static const effc_abi_module_t **g_header_slot;
static effc_runtime_t *g_runtimes[2];
static int g_weights_fd = -1;

static void set_up(void) {
  if (g_self)
    return;
  /* Keeps the object resident between inputs, so the header slot stays valid. */
  g_self = dlopen(EFFC_FUZZ_MODULE, RTLD_NOW | RTLD_LOCAL);
  if (!g_self || !(g_header_slot = (const effc_abi_module_t **)dlsym(g_self, "effc_fuzz_header"))) {
    fprintf(stderr, "cannot load %s: %s\n", EFFC_FUZZ_MODULE, dlerror());
    abort();
  }
  effc_runtime_options_t options;
  effc_runtime_options_initialize(&options);
  options.num_threads = 1;
  if (effc_runtime_create(&options, &g_runtimes[0]))
    abort();
  options.memory_limit_bytes = k_memory_limit; /* weights, or weights and a call's minimum, beyond it fail */
  if (effc_runtime_create(&options, &g_runtimes[1]))
    abort();
}

/* Introspects an accepted module the way effc-run and the Python package do. */
static void introspect(effc_module_t *module) {
  (void)strlen(effc_module_producer(module));
  size_t count = effc_module_num_functions(module);
  for (size_t f = 0; f < count; ++f) {
    const effc_function_t *function = effc_module_function(module, f);
    const effc_function_t *found = NULL;
    effc_status_t status = effc_module_lookup_function(module, effc_function_name(function), &found);
    if (status || !found)
      abort(); /* a function is found under its own name */
    (void)effc_function_min_call_bytes(function);
    for (size_t i = 0; i <= effc_function_num_inputs(function); ++i) {
      effc_tensor_info_t info = effc_function_input(function, i);
      for (size_t d = 0; info.name && d < info.rank; ++d)
        if (info.dims[d] < EFFC_DYNAMIC_DIM)
          abort(); /* validation lets no negative extent through */
    }
    for (size_t i = 0; i <= effc_function_num_outputs(function); ++i)
      (void)effc_function_output(function, i);
  }
  const effc_function_t *missing = NULL;
  effc_status_free(effc_module_lookup_function(module, "\x01 no such function", &missing));
  if (missing || effc_module_function(module, count))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  set_up();
  reader_t r = {data, data + size};
  arena_t arena = {.count = 0};
  effc_abi_module_t header;
  memset(&header, 0, sizeof(header));
  static const effc_abi_host_t *host_slot;
  static void *weights_base;

  uint8_t flags = u8(&r);
  header.version = (flags & 1) ? (uint32_t)u8(&r) : EFFC_ABI_VERSION;
  header.host_slot = (flags & 2) ? NULL : &host_slot;
  header.producer = (flags & 4) ? name(&r, &arena) : "effc fuzz";
  int query_fails = (flags & 8) != 0;
  effc_runtime_t *runtime = g_runtimes[(flags >> 4) & 1];

  uint8_t functions = u8(&r);
  header.num_functions = functions % 5;
  effc_abi_function_t *table = (functions & 0x80) ? NULL
                                                  : arena_alloc(&arena, header.num_functions * sizeof(*table));
  for (uint32_t f = 0; table && f < header.num_functions; ++f) {
    table[f].name = name(&r, &arena);
    table[f].invoke = (u8(&r) & 1) ? NULL : invoke_stub;
    table[f].inputs = tensor_list(&r, &arena, &table[f].num_inputs);
    table[f].outputs = tensor_list(&r, &arena, &table[f].num_outputs);
    /* The bytes a call needs at least: none, a multiple of 64 around the 4096-byte limit, or any value. */
    uint8_t need = u8(&r);
    table[f].min_call_bytes = need < 0x80 ? 0 : need < 0xf0 ? (uint64_t)(need - 0x80) * 64 : u64(&r);
  }
  header.functions = table;

  /* Weights: none, or a file (given by absolute path, by a missing relative name, empty, or a directory)
   * whose bytes are the rest of the input, with a size and checksum that are right or arbitrary. */
  uint8_t weights = u8(&r);
  char path[64] = "";
  if (weights & 1) {
    uint8_t size_kind = u8(&r), checksum_kind = u8(&r), file_kind = u8(&r);
    uint64_t claimed_size = u64(&r), claimed_checksum = u64(&r);
    header.compile_id = u64(&r);
    const uint8_t *bytes = r.p;
    size_t num_bytes = (size_t)(r.end - r.p);
    uint64_t checksum = effc_checksum(bytes, num_bytes);
    header.weights_size = (size_kind & 1) ? claimed_size : num_bytes;
    header.weights_checksum = (checksum_kind & 1) ? claimed_checksum : checksum;
    /* The file: a weights header (abi.h) that matches the module header or differs in one field, then the
     * bytes; or the bytes alone. */
    effc_abi_weights_header_t file_header;
    memset(&file_header, 0, sizeof(file_header));
    memcpy(file_header.magic, EFFC_WEIGHTS_MAGIC, sizeof(EFFC_WEIGHTS_MAGIC));
    file_header.abi_version = (file_kind & 2) ? file_kind : EFFC_ABI_VERSION;
    file_header.header_size = sizeof(file_header);
    file_header.compile_id = header.compile_id ^ ((file_kind & 4) ? 1 : 0);
    file_header.data_size = header.weights_size;
    file_header.checksum = header.weights_checksum;
    if (header.producer)
      strncpy(file_header.producer, header.producer, sizeof(file_header.producer));
    uint8_t *file = malloc(sizeof(file_header) + num_bytes);
    if (!file)
      abort();
    memcpy(file, &file_header, sizeof(file_header));
    if (num_bytes)
      memcpy(file + sizeof(file_header), bytes, num_bytes);
    size_t file_size = (file_kind & 1) ? num_bytes : sizeof(file_header) + num_bytes;
    fuzz_write_memfd(&g_weights_fd, path, (file_kind & 1) ? bytes : file, file_size);
    free(file);
    static const char *const k_other_names[] = {"", "no-such-weights.bin", "/", "/dev/null"};
    header.weights_file = (weights & 2) ? k_other_names[(weights >> 2) % 4] : path;
    header.weights_base_slot = (weights & 0x40) ? NULL : &weights_base;
  } else {
    header.weights_size = u64(&r) & 0xffff; /* embedded weights: only counted against the memory limit */
  }

  *g_header_slot = query_fails ? NULL : &header;
  effc_module_t *module = NULL;
  effc_status_t status = effc_module_load(runtime, EFFC_FUZZ_MODULE, &module);
  fuzz_report("load", status ? effc_status_message(status) : NULL);
  if (!status == !module)
    abort(); /* exactly one of a module and an error */
  if (status && !effc_status_message(status)[0])
    abort();
  effc_status_free(status);
  if (module) {
    if (host_slot != effc_runtime_host(runtime))
      abort(); /* the host services are installed */
    if (header.weights_file && header.weights_size && !weights_base)
      abort(); /* the weights are mapped */
    uint64_t limit = runtime == g_runtimes[1] ? k_memory_limit : 0;
    for (uint32_t f = 0; limit && f < header.num_functions; ++f)
      if (header.weights_size > limit || header.functions[f].min_call_bytes > limit - header.weights_size)
        abort(); /* the memory limit holds the weights and every function's minimum call */
    introspect(module);
    effc_module_release(module);
    if (host_slot || weights_base)
      abort(); /* releasing leaves no dangling pointers in the object */
  }
  *g_header_slot = NULL;
  arena_free(&arena);
  return 0;
}
