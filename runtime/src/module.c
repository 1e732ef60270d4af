/*===- module.c - loading and invoking effc compiled modules --------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements effc_module_t and effc_function_t: dlopen a compiled module, validate the header
 * its effc_module_query returns, install the runtime's host services and map external weights; then turn
 * tensors into memref descriptors, call an entry point, and turn the output descriptors back into tensors.
 *
 * A dlopen'ed object is process-global, and so are its host and weights slots. A registry keyed by the
 * header address therefore records, per loaded object, which runtime it uses and its weights mapping;
 * loading an object again shares that state (and must use the same runtime).
 *
 *===----------------------------------------------------------------------===*/

#include "internal.h"

#include "effc/runtime/checksum.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(sizeof(void *) == sizeof(int64_t), "the descriptor layout assumes 64-bit pointers");

/* Sanity bounds on module headers. */
#define MAX_FUNCTIONS 4096
#define MAX_TENSORS 4096

/* One dlopen'ed object's process-global state. */
typedef struct loaded_t {
  struct loaded_t *next;
  const effc_abi_module_t *header;
  effc_runtime_t *runtime; /* whose host services sit in *header->host_slot */
  size_t refcount;         /* modules using this entry */
  void *weights;           /* mapping of an external weights file (its header included), or NULL */
  size_t weights_size;     /* bytes mapped */
  void *weights_base;      /* the weight data inside the mapping */
} loaded_t;

static pthread_mutex_t g_loaded_mutex = PTHREAD_MUTEX_INITIALIZER;
static loaded_t *g_loaded;

struct effc_function_t {
  effc_module_t *module;
  const effc_abi_function_t *abi;
};

struct effc_module_t {
  atomic_size_t refcount;
  effc_runtime_t *runtime;
  void *handle;
  const effc_abi_module_t *header;
  loaded_t *loaded;
  effc_function_t *functions;
};

/* A memref descriptor: allocated, aligned, offset, then sizes[rank] and strides[rank]. */
typedef struct descriptor_t {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes_and_strides[];
} descriptor_t;

static size_t descriptor_bytes(size_t rank) { return sizeof(descriptor_t) + 2 * rank * sizeof(int64_t); }

/*===----------------------------------------------------------------------===*
 * Loading
 *===----------------------------------------------------------------------===*/

/* Checks the trailer effc appends to a module file (abi.h), and with verification its checksum, before the
 * file is handed to dlopen. */
static effc_status_t verify_module_file(effc_runtime_t *runtime, const char *path, int fd, uint64_t file_size) {
  effc_abi_module_trailer_t trailer;
  static const char k_elf_magic[4] = {0x7f, 'E', 'L', 'F'};
  char elf_magic[4] = {0};
  if (pread(fd, elf_magic, sizeof(elf_magic), 0) != (ssize_t)sizeof(elf_magic) ||
      memcmp(elf_magic, k_elf_magic, sizeof(elf_magic)))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "cannot load '%s' as a shared object: not an ELF file",
                            path);
  if (file_size < sizeof(trailer) ||
      pread(fd, &trailer, sizeof(trailer), (off_t)(file_size - sizeof(trailer))) != (ssize_t)sizeof(trailer) ||
      memcmp(trailer.magic, EFFC_TRAILER_MAGIC, sizeof(EFFC_TRAILER_MAGIC)) ||
      trailer.trailer_size != sizeof(trailer))
    return effc_status_make(EFFC_STATUS_DATA_LOSS,
                            "'%s' is not an effc module, or it is truncated: it does not end with the trailer "
                            "effc writes",
                            path);
  if (trailer.abi_version != EFFC_ABI_VERSION)
    return effc_status_make(EFFC_STATUS_INCOMPATIBLE_VERSION,
                            "'%s' was written for ABI v%u, this runtime supports v%u; recompile with a matching "
                            "effc",
                            path, trailer.abi_version, EFFC_ABI_VERSION);
  if (trailer.payload_size != file_size - sizeof(trailer))
    return effc_status_make(EFFC_STATUS_DATA_LOSS, "'%s' has %llu bytes before its trailer, expected %llu", path,
                            (unsigned long long)(file_size - sizeof(trailer)),
                            (unsigned long long)trailer.payload_size);
  if (!effc_runtime_verify_weights(runtime) || !trailer.payload_size)
    return NULL;
  void *data = mmap(NULL, (size_t)trailer.payload_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data == MAP_FAILED)
    return effc_status_make(EFFC_STATUS_UNAVAILABLE, "cannot map '%s' to verify it: %s", path, strerror(errno));
  uint64_t checksum = effc_checksum(data, (size_t)trailer.payload_size);
  munmap(data, (size_t)trailer.payload_size);
  if (checksum != trailer.checksum)
    return effc_status_make(EFFC_STATUS_DATA_LOSS, "'%s' is corrupt: checksum %016llx, expected %016llx", path,
                            (unsigned long long)checksum, (unsigned long long)trailer.checksum);
  return NULL;
}

static effc_status_t validate_tensor_info(const effc_abi_tensor_info_t *info) {
  if (!info->name)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "a tensor has no name");
  if (!effc_dtype_size((effc_dtype_t)info->dtype))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "tensor '%s' has invalid dtype %u", info->name,
                            info->dtype);
  if (info->rank > EFFC_MAX_RANK || (info->rank && !info->dims))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "tensor '%s' has invalid rank %u", info->name,
                            info->rank);
  for (uint32_t d = 0; d < info->rank; ++d) {
    if (info->dims[d] < 0 && info->dims[d] != EFFC_DYNAMIC_DIM)
      return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "tensor '%s' dimension %u has invalid extent %lld",
                              info->name, d, (long long)info->dims[d]);
    if (info->dim_groups && info->dim_groups[d] < -1)
      return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "tensor '%s' dimension %u has invalid group %d",
                              info->name, d, (int)info->dim_groups[d]);
  }
  return NULL;
}

static effc_status_t validate_tensor_list(const char *function, const char *kind, uint32_t count,
                                          const effc_abi_tensor_info_t *infos) {
  if (count > MAX_TENSORS || (count && !infos))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "function '%s' has an invalid %s list", function,
                            kind);
  for (uint32_t i = 0; i < count; ++i) {
    EFFC_RETURN_IF_ERROR(effc_status_annotate(validate_tensor_info(&infos[i]), "function '%s' %s %u", function,
                                              kind, i));
    for (uint32_t j = 0; j < i; ++j)
      if (!strcmp(infos[i].name, infos[j].name))
        return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "function '%s' has two %ss named '%s'", function,
                                kind, infos[i].name);
  }
  return NULL;
}

/* Checks everything the runtime later relies on. */
static effc_status_t validate_header(const effc_abi_module_t *header) {
  if (header->num_functions > MAX_FUNCTIONS || (header->num_functions && !header->functions))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "invalid function table (%u functions)",
                            header->num_functions);
  if (!header->host_slot)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "host_slot is NULL");
  if (header->weights_file && (!header->weights_file[0] || !header->weights_base_slot))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "invalid external weights description");
  for (uint32_t f = 0; f < header->num_functions; ++f) {
    const effc_abi_function_t *fn = &header->functions[f];
    if (!fn->name || !fn->name[0] || !fn->invoke)
      return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "function %u has no name or no entry point", f);
    for (uint32_t g = 0; g < f; ++g)
      if (!strcmp(fn->name, header->functions[g].name))
        return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "two functions are named '%s'", fn->name);
    EFFC_RETURN_IF_ERROR(validate_tensor_list(fn->name, "input", fn->num_inputs, fn->inputs));
    EFFC_RETURN_IF_ERROR(validate_tensor_list(fn->name, "output", fn->num_outputs, fn->outputs));
  }
  return NULL;
}

/* Refuses a module that cannot run under `limit`: its weights alone exceed it, or they and the bytes its
 * most demanding function allocates in every call (min_call_bytes, abi.h) do. */
static effc_status_t check_memory_limit(const char *path, const effc_abi_module_t *header, uint64_t limit) {
  if (header->weights_size > limit)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED,
                            "'%s' has %llu bytes of weights, more than the memory limit of %llu bytes", path,
                            (unsigned long long)header->weights_size, (unsigned long long)limit);
  const effc_abi_function_t *largest = NULL;
  for (uint32_t f = 0; f < header->num_functions; ++f)
    if (!largest || header->functions[f].min_call_bytes > largest->min_call_bytes)
      largest = &header->functions[f];
  if (largest && largest->min_call_bytes > limit - header->weights_size)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED,
                            "'%s': function '%s' needs at least %llu bytes of activations per call and the weights "
                            "take %llu; the memory limit is %llu bytes",
                            path, largest->name, (unsigned long long)largest->min_call_bytes,
                            (unsigned long long)header->weights_size, (unsigned long long)limit);
  return NULL;
}

/* Maps `weights_file` (relative to the directory of `module_path`), checking size and checksum. */
static effc_status_t map_weights(effc_runtime_t *runtime, const char *module_path, const effc_abi_module_t *header,
                                 void **out_map, size_t *out_map_size, void **out_base) {
  *out_map = *out_base = NULL;
  *out_map_size = 0;
  const char *file = header->weights_file;
  const char *slash = strrchr(module_path, '/');
  int dir_len = slash ? (int)(slash - module_path) : 1;
  const char *dir = slash ? module_path : ".";
  if (slash == module_path)
    dir_len = 0; /* "/model.so" -> "/weights" */
  char *path = malloc((size_t)dir_len + strlen(file) + 2);
  if (!path)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  if (file[0] == '/')
    strcpy(path, file);
  else
    sprintf(path, "%.*s/%s", dir_len, dir, file);

  effc_status_t status = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  effc_abi_weights_header_t file_header;
  const uint64_t header_size = sizeof(file_header);
  const char *producer = header->producer ? header->producer : "";
  if (fd < 0) {
    status = effc_status_make(errno == ENOENT ? EFFC_STATUS_NOT_FOUND : EFFC_STATUS_UNAVAILABLE,
                              "cannot open weights file %s: %s", path, strerror(errno));
  } else if (fstat(fd, &st) != 0) {
    status = effc_status_make(EFFC_STATUS_UNAVAILABLE, "cannot stat weights file %s: %s", path, strerror(errno));
  } else if ((uint64_t)st.st_size < header_size ||
             pread(fd, &file_header, sizeof(file_header), 0) != (ssize_t)sizeof(file_header) ||
             memcmp(file_header.magic, EFFC_WEIGHTS_MAGIC, sizeof(EFFC_WEIGHTS_MAGIC)) ||
             file_header.header_size != header_size) {
    status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s is not an effc weights file (no valid header)", path);
  } else if (file_header.abi_version != EFFC_ABI_VERSION ||
             strncmp(file_header.producer, producer, sizeof(file_header.producer))) {
    status = effc_status_make(EFFC_STATUS_INCOMPATIBLE_VERSION,
                              "weights file %s was written by '%.*s' for ABI v%u, but the module by '%s' for ABI "
                              "v%u",
                              path, (int)strnlen(file_header.producer, sizeof(file_header.producer)),
                              file_header.producer, file_header.abi_version, producer, EFFC_ABI_VERSION);
  } else if (file_header.compile_id != header->compile_id || file_header.data_size != header->weights_size ||
             file_header.checksum != header->weights_checksum) {
    status = effc_status_make(EFFC_STATUS_FAILED_PRECONDITION,
                              "weights file %s belongs to another compile (weights id %016llx, %llu bytes; the module "
                              "expects id %016llx, %llu bytes): use the weights file written with this module",
                              path, (unsigned long long)file_header.compile_id,
                              (unsigned long long)file_header.data_size, (unsigned long long)header->compile_id,
                              (unsigned long long)header->weights_size);
  } else if ((uint64_t)st.st_size - header_size < header->weights_size) {
    status = effc_status_make(EFFC_STATUS_DATA_LOSS, "weights file %s is truncated: %llu bytes, expected %llu",
                              path, (unsigned long long)st.st_size,
                              (unsigned long long)(header_size + header->weights_size));
  } else if ((uint64_t)st.st_size - header_size > header->weights_size) {
    status = effc_status_make(EFFC_STATUS_DATA_LOSS, "weights file %s has %llu bytes, expected %llu", path,
                              (unsigned long long)st.st_size, (unsigned long long)(header_size + header->weights_size));
  } else {
    size_t map_size = (size_t)(header_size + header->weights_size);
    unsigned char *map = mmap(NULL, map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    uint64_t checksum = 0;
    if (map == MAP_FAILED) {
      status = effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "cannot map weights file %s: %s", path,
                                strerror(errno));
    } else if (effc_runtime_verify_weights(runtime) &&
               (checksum = effc_checksum(map + header_size, (size_t)header->weights_size)) != header->weights_checksum) {
      status = effc_status_make(EFFC_STATUS_DATA_LOSS,
                                "weights file %s is corrupt: checksum %016llx, expected %016llx", path,
                                (unsigned long long)checksum, (unsigned long long)header->weights_checksum);
      munmap(map, map_size);
    } else {
      *out_map = map;
      *out_map_size = map_size;
      *out_base = map + header_size;
    }
  }
  if (fd >= 0)
    close(fd);
  free(path);
  return status;
}

/* Registers the loaded object (or joins its existing registration) and fills its slots. */
static effc_status_t register_loaded(effc_runtime_t *runtime, const char *path, const effc_abi_module_t *header,
                                     loaded_t **out_loaded) {
  effc_status_t status = NULL;
  pthread_mutex_lock(&g_loaded_mutex);
  loaded_t *loaded = g_loaded;
  while (loaded && loaded->header != header)
    loaded = loaded->next;
  if (loaded && loaded->runtime != runtime) {
    status = effc_status_make(EFFC_STATUS_FAILED_PRECONDITION,
                              "'%s' is already loaded by another runtime; a shared object is process-global, so "
                              "load it with the same runtime (or load a copy of the file)",
                              path);
  } else if (loaded) {
    ++loaded->refcount;
  } else if (!(loaded = calloc(1, sizeof(*loaded)))) {
    status = effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  } else if (header->weights_file && (status = map_weights(runtime, path, header, &loaded->weights,
                                                          &loaded->weights_size, &loaded->weights_base))) {
    free(loaded);
    loaded = NULL;
  } else {
    loaded->header = header;
    loaded->runtime = runtime;
    loaded->refcount = 1;
    if (header->weights_file)
      *header->weights_base_slot = loaded->weights_base;
    *header->host_slot = effc_runtime_host(runtime);
    loaded->next = g_loaded;
    g_loaded = loaded;
  }
  pthread_mutex_unlock(&g_loaded_mutex);
  *out_loaded = status ? NULL : loaded;
  return status;
}

static void unregister_loaded(loaded_t *loaded) {
  pthread_mutex_lock(&g_loaded_mutex);
  if (--loaded->refcount == 0) {
    loaded_t **link = &g_loaded;
    while (*link != loaded)
      link = &(*link)->next;
    *link = loaded->next;
    /* The object may stay mapped (another dlopen handle); leave no dangling pointers in it. */
    *loaded->header->host_slot = NULL;
    if (loaded->header->weights_file)
      *loaded->header->weights_base_slot = NULL;
    if (loaded->weights)
      munmap(loaded->weights, loaded->weights_size);
    free(loaded);
  }
  pthread_mutex_unlock(&g_loaded_mutex);
}

/* dlopen, query and validate; on success the caller owns *out_handle. */
static effc_status_t open_module(effc_runtime_t *runtime, const char *path, void **out_handle,
                                 const effc_abi_module_t **out_header) {
  struct stat st;
  if (stat(path, &st) != 0)
    return effc_status_make(errno == ENOENT ? EFFC_STATUS_NOT_FOUND : EFFC_STATUS_UNAVAILABLE,
                            "cannot open module '%s': %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "module '%s' is a directory", path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return effc_status_make(EFFC_STATUS_UNAVAILABLE, "cannot open module '%s': %s", path, strerror(errno));
  effc_status_t verified = verify_module_file(runtime, path, fd, (uint64_t)st.st_size);
  close(fd);
  if (verified)
    return verified;

  /* A name without a slash would make dlopen search the library path instead of the current directory. */
  char *dl_path = malloc(strlen(path) + 3);
  if (!dl_path)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  sprintf(dl_path, "%s%s", strchr(path, '/') ? "" : "./", path);
  void *handle = dlopen(dl_path, RTLD_NOW | RTLD_LOCAL);
  free(dl_path);
  if (!handle) {
    const char *error = dlerror();
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "cannot load '%s' as a shared object: %s", path,
                            error ? error : "unknown error");
  }

  effc_status_t status = NULL;
  dlerror();
  void *symbol = dlsym(handle, EFFC_MODULE_QUERY_SYMBOL);
  effc_module_query_fn_t query;
  memcpy(&query, &symbol, sizeof(query)); /* ISO C has no object-to-function pointer cast */
  const effc_abi_module_t *header = NULL;
  if (!symbol) {
    status = effc_status_make(EFFC_STATUS_INVALID_ARGUMENT,
                              "'%s' is not an effc module: it does not export " EFFC_MODULE_QUERY_SYMBOL, path);
  } else if (!(header = query(EFFC_ABI_VERSION))) {
    status = effc_status_make(EFFC_STATUS_INCOMPATIBLE_VERSION,
                              "'%s' was compiled for a newer ABI than v%u, which this runtime supports; recompile "
                              "with a matching effc",
                              path, EFFC_ABI_VERSION);
  } else if (header->version != EFFC_ABI_VERSION) {
    status = effc_status_make(EFFC_STATUS_INCOMPATIBLE_VERSION,
                              "'%s' was compiled for ABI v%u, this runtime supports v%u; recompile with a matching "
                              "effc",
                              path, header->version, EFFC_ABI_VERSION);
  } else if ((status = validate_header(header))) {
    status = effc_status_annotate(status, "'%s' has a malformed module header", path);
  } else if (effc_runtime_memory_limit(runtime)) {
    status = check_memory_limit(path, header, effc_runtime_memory_limit(runtime));
  }
  if (!status) {
    /* A module compiled for a GPU names it; it runs only on a runtime with that device. */
    const char *target = dlsym(handle, EFFC_MODULE_TARGET_SYMBOL);
    if (target)
      status = effc_device_check_module_target(effc_runtime_device(runtime), path, target);
  }
  if (status) {
    dlclose(handle);
    return status;
  }
  *out_handle = handle;
  *out_header = header;
  return NULL;
}

effc_status_t effc_module_load(effc_runtime_t *runtime, const char *path, effc_module_t **out_module) {
  *out_module = NULL;
  if (!runtime || !path)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "effc_module_load: runtime and path are required");
  void *handle = NULL;
  const effc_abi_module_t *header = NULL;
  EFFC_RETURN_IF_ERROR(open_module(runtime, path, &handle, &header));

  effc_module_t *module = calloc(1, sizeof(*module));
  effc_function_t *functions = calloc(header->num_functions ? header->num_functions : 1, sizeof(*functions));
  loaded_t *loaded = NULL;
  effc_status_t status = !module || !functions
                             ? effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory")
                             : register_loaded(runtime, path, header, &loaded);
  if (status) {
    free(functions);
    free(module);
    dlclose(handle);
    return status;
  }
  atomic_init(&module->refcount, 1);
  module->runtime = runtime;
  effc_runtime_retain(runtime);
  module->handle = handle;
  module->header = header;
  module->loaded = loaded;
  module->functions = functions;
  for (uint32_t i = 0; i < header->num_functions; ++i)
    functions[i] = (effc_function_t){module, &header->functions[i]};
  *out_module = module;
  return NULL;
}

void effc_module_retain(effc_module_t *module) {
  if (module)
    atomic_fetch_add(&module->refcount, 1);
}

void effc_module_release(effc_module_t *module) {
  if (!module || atomic_fetch_sub(&module->refcount, 1) != 1)
    return;
  unregister_loaded(module->loaded);
  dlclose(module->handle);
  effc_runtime_release(module->runtime);
  free(module->functions);
  free(module);
}

/*===----------------------------------------------------------------------===*
 * Introspection
 *===----------------------------------------------------------------------===*/

const char *effc_module_producer(const effc_module_t *module) {
  return module->header->producer ? module->header->producer : "";
}

size_t effc_module_num_functions(const effc_module_t *module) { return module->header->num_functions; }

const effc_function_t *effc_module_function(const effc_module_t *module, size_t index) {
  return index < module->header->num_functions ? &module->functions[index] : NULL;
}

effc_status_t effc_module_lookup_function(const effc_module_t *module, const char *name,
                                          const effc_function_t **out_function) {
  *out_function = NULL;
  char names[512] = "";
  size_t used = 0;
  for (uint32_t i = 0; i < module->header->num_functions; ++i) {
    const char *candidate = module->header->functions[i].name;
    if (name && !strcmp(candidate, name)) {
      *out_function = &module->functions[i];
      return NULL;
    }
    if (used < sizeof(names))
      used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", candidate);
  }
  return effc_status_make(EFFC_STATUS_NOT_FOUND, "module has no function '%s' (it has: %s)", name ? name : "(null)",
                          names);
}

const char *effc_function_name(const effc_function_t *function) { return function->abi->name; }
size_t effc_function_num_inputs(const effc_function_t *function) { return function->abi->num_inputs; }
size_t effc_function_num_outputs(const effc_function_t *function) { return function->abi->num_outputs; }
uint64_t effc_function_min_call_bytes(const effc_function_t *function) { return function->abi->min_call_bytes; }

static effc_tensor_info_t tensor_info(const effc_abi_tensor_info_t *infos, uint32_t count, size_t index) {
  effc_tensor_info_t info = {NULL, EFFC_DTYPE_INVALID, 0, NULL};
  if (index < count)
    info = (effc_tensor_info_t){infos[index].name, (effc_dtype_t)infos[index].dtype, infos[index].rank,
                                infos[index].dims};
  return info;
}

effc_tensor_info_t effc_function_input(const effc_function_t *function, size_t index) {
  return tensor_info(function->abi->inputs, function->abi->num_inputs, index);
}

effc_tensor_info_t effc_function_output(const effc_function_t *function, size_t index) {
  return tensor_info(function->abi->outputs, function->abi->num_outputs, index);
}

/*===----------------------------------------------------------------------===*
 * Invocation
 *===----------------------------------------------------------------------===*/

static effc_status_t check_inputs(const effc_abi_function_t *fn, const effc_tensor_t *const *inputs,
                                  size_t num_inputs) {
  if (num_inputs != fn->num_inputs || (num_inputs && !inputs))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "function '%s' takes %u inputs, got %zu", fn->name,
                            fn->num_inputs, inputs ? num_inputs : 0);
  for (size_t i = 0; i < num_inputs; ++i) {
    const effc_abi_tensor_info_t *info = &fn->inputs[i];
    const effc_tensor_t *input = inputs[i];
    if (!input)
      return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "input '%s' is NULL", info->name);
    if (effc_tensor_dtype(input) != (effc_dtype_t)info->dtype)
      return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "input '%s': expected dtype %s, got %s", info->name,
                              effc_dtype_name((effc_dtype_t)info->dtype), effc_dtype_name(effc_tensor_dtype(input)));
    if (effc_tensor_rank(input) != info->rank)
      return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "input '%s': expected rank %u, got %zu", info->name,
                              info->rank, effc_tensor_rank(input));
    const int64_t *dims = effc_tensor_dims(input);
    for (uint32_t d = 0; d < info->rank; ++d)
      if (dims[d] < 0 || (info->dims[d] != EFFC_DYNAMIC_DIM && dims[d] != info->dims[d]))
        return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "input '%s' dimension %u: expected %lld, got %lld",
                                info->name, d, (long long)info->dims[d], (long long)dims[d]);
    /* Dimensions the compiled code requires to be equal: compare with the first earlier one of the group. */
    for (uint32_t d = 0; info->dim_groups && d < info->rank; ++d) {
      int32_t group = info->dim_groups[d];
      for (size_t j = 0; group >= 0 && j <= i; ++j) {
        const effc_abi_tensor_info_t *other = &fn->inputs[j];
        uint32_t end = j == i ? d : other->rank;
        for (uint32_t e = 0; other->dim_groups && e < end; ++e) {
          if (other->dim_groups[e] != group)
            continue;
          int64_t extent = effc_tensor_dims(inputs[j])[e];
          if (extent != dims[d])
            return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT,
                                    "input '%s' dimension %u is %lld, but input '%s' dimension %u is %lld; the model "
                                    "needs them equal",
                                    info->name, d, (long long)dims[d], other->name, e, (long long)extent);
          group = -1; /* checked against the group's first dimension */
          break;
        }
      }
    }
    int64_t num_elements;
    size_t byte_size; /* tensors are validated on creation; this guards against overflow all the same */
    EFFC_RETURN_IF_ERROR(effc_status_annotate(
        effc_shape_byte_size("shape", (effc_dtype_t)info->dtype, info->rank, dims, &num_elements, &byte_size),
        "input '%s'", info->name));
  }
  return NULL;
}

/* Row-major contiguity, ignoring the strides of unit (or empty) dimensions. */
static int is_contiguous(size_t rank, const int64_t *sizes, const int64_t *strides) {
  int64_t expected = 1;
  for (size_t d = rank; d-- > 0;) {
    if (sizes[d] == 0)
      return 1;
    if (sizes[d] != 1 && strides[d] != expected)
      return 0;
    expected *= sizes[d];
  }
  return 1;
}

/* Copies a strided view into a dense row-major buffer. */
static void strided_copy(char *dst, const char *src, size_t rank, const int64_t *sizes, const int64_t *strides,
                         size_t element_size) {
  if (rank == 0) {
    memcpy(dst, src, element_size);
    return;
  }
  int64_t index[EFFC_MAX_RANK] = {0};
  int64_t inner = sizes[rank - 1], inner_stride = strides[rank - 1];
  for (size_t d = 0; d < rank; ++d)
    if (sizes[d] == 0)
      return;
  for (;;) {
    int64_t offset = 0;
    for (size_t d = 0; d + 1 < rank; ++d)
      offset += index[d] * strides[d];
    const char *row = src + offset * (int64_t)element_size;
    if (inner_stride == 1) {
      memcpy(dst, row, (size_t)inner * element_size);
    } else {
      for (int64_t j = 0; j < inner; ++j)
        memcpy(dst + j * (int64_t)element_size, row + j * inner_stride * (int64_t)element_size, element_size);
    }
    dst += inner * (int64_t)element_size;
    size_t d = rank - 1;
    while (d > 0 && ++index[d - 1] == sizes[d - 1])
      index[--d] = 0;
    if (d == 0)
      return;
  }
}

/* Checks an output descriptor against its signature; computes where its data starts and its size. */
static effc_status_t check_output(const effc_abi_function_t *fn, uint32_t i, const descriptor_t *desc,
                                  char **out_data, size_t *out_byte_size) {
  const effc_abi_tensor_info_t *info = &fn->outputs[i];
  const int64_t *sizes = desc->sizes_and_strides;
  for (uint32_t d = 0; d < info->rank; ++d)
    if (sizes[d] < 0 || (info->dims[d] != EFFC_DYNAMIC_DIM && sizes[d] != info->dims[d]))
      return effc_status_make(EFFC_STATUS_INTERNAL,
                              "function '%s' returned output '%s' with extent %lld in dimension %u, expected %lld",
                              fn->name, info->name, (long long)sizes[d], d, (long long)info->dims[d]);
  int64_t num_elements;
  EFFC_RETURN_IF_ERROR(effc_status_annotate(
      effc_shape_byte_size("shape", (effc_dtype_t)info->dtype, info->rank, sizes, &num_elements, out_byte_size),
      "function '%s' output '%s'", fn->name, info->name));
  if (desc->offset < 0 || desc->offset > INT64_MAX / 8)
    return effc_status_make(EFFC_STATUS_INTERNAL, "function '%s' returned output '%s' with invalid offset %lld",
                            fn->name, info->name, (long long)desc->offset);
  if (num_elements && !desc->aligned)
    return effc_status_make(EFFC_STATUS_INTERNAL, "function '%s' did not produce output '%s'", fn->name,
                            info->name);
  *out_data = desc->aligned ? (char *)desc->aligned + desc->offset * (int64_t)effc_dtype_size((effc_dtype_t)info->dtype)
                            : NULL;
  return NULL;
}

/* Turns output descriptor i into a tensor: adopt the buffer when it is an unowned, contiguous runtime block
 * (claimed[i] set), otherwise copy. Copied-from blocks are freed by the caller. */
static effc_status_t make_output(effc_runtime_t *runtime, const effc_abi_function_t *fn, uint32_t i,
                                 const descriptor_t *desc, int *claimed, const uint64_t *claimed_size,
                                 effc_tensor_t **out_tensor) {
  const effc_abi_tensor_info_t *info = &fn->outputs[i];
  const int64_t *sizes = desc->sizes_and_strides, *strides = sizes + info->rank;
  char *data = NULL;
  size_t byte_size = 0;
  EFFC_RETURN_IF_ERROR(check_output(fn, i, desc, &data, &byte_size));
  if (claimed[i] && is_contiguous(info->rank, sizes, strides)) {
    uintptr_t begin = (uintptr_t)desc->allocated;
    if ((uintptr_t)data < begin || (uint64_t)((uintptr_t)data - begin) + byte_size > claimed_size[i])
      return effc_status_make(EFFC_STATUS_INTERNAL, "function '%s' output '%s' lies outside its buffer", fn->name,
                              info->name);
    claimed[i] = 0; /* the tensor owns it now */
    return effc_tensor_adopt(runtime, (effc_dtype_t)info->dtype, info->rank, sizes, desc->allocated, data,
                             out_tensor);
  }
  EFFC_RETURN_IF_ERROR(effc_tensor_create(runtime, (effc_dtype_t)info->dtype, info->rank, sizes, out_tensor));
  if (byte_size)
    strided_copy(effc_tensor_data(*out_tensor), data, info->rank, sizes, strides,
                 effc_dtype_size((effc_dtype_t)info->dtype));
  return NULL;
}

/* Reports what the host services recorded during the call. */
static effc_status_t invoke_errors(effc_runtime_t *runtime, const effc_abi_function_t *fn,
                                   effc_invoke_context_t *context) {
  if (atomic_load(&context->failed_allocs))
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED,
                            "function '%s' ran out of memory: an allocation of %llu bytes failed (memory limit "
                            "%llu bytes, %llu in use)",
                            fn->name, (unsigned long long)atomic_load(&context->first_failed_size),
                            (unsigned long long)effc_runtime_memory_limit(runtime),
                            (unsigned long long)atomic_load(&context->live_at_failure));
  if (atomic_load(&context->bad_requests))
    return effc_status_make(EFFC_STATUS_INTERNAL,
                            "function '%s' made an invalid allocator request (bad alignment or foreign free)",
                            fn->name);
  return NULL;
}

effc_status_t effc_function_invoke(const effc_function_t *function, const effc_tensor_t *const *inputs,
                                   size_t num_inputs, effc_tensor_t **outputs, size_t num_outputs) {
  /* Every failure, including a wrong output count, leaves the caller's outputs NULL. */
  for (size_t i = 0; outputs && i < num_outputs; ++i)
    outputs[i] = NULL;
  if (!function)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "effc_function_invoke: function is NULL");
  const effc_abi_function_t *fn = function->abi;
  effc_runtime_t *runtime = function->module->runtime;
  if (num_outputs != fn->num_outputs || (num_outputs && !outputs))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "function '%s' has %u outputs, got room for %zu",
                            fn->name, fn->num_outputs, outputs ? num_outputs : 0);
  EFFC_RETURN_IF_ERROR(check_inputs(fn, inputs, num_inputs));

  /* One block for: args, the claimed flags and sizes of outputs, then the descriptors. */
  size_t num_args = num_inputs + num_outputs;
  size_t header_bytes = num_args * sizeof(void *) + num_outputs * (sizeof(int) + sizeof(uint64_t));
  header_bytes = (header_bytes + 7) & ~(size_t)7;
  size_t total = header_bytes;
  for (size_t i = 0; i < num_outputs; ++i)
    total += descriptor_bytes(fn->outputs[i].rank);
  for (size_t i = 0; i < num_inputs; ++i)
    total += descriptor_bytes(fn->inputs[i].rank);
  char *block = calloc(1, total ? total : 1);
  if (!block)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  void **args = (void **)block;
  uint64_t *claimed_size = (uint64_t *)(args + num_args);
  int *claimed = (int *)(claimed_size + num_outputs);
  char *cursor = block + header_bytes;
  for (size_t i = 0; i < num_args; ++i) {
    args[i] = cursor;
    cursor += descriptor_bytes(i < num_outputs ? fn->outputs[i].rank : fn->inputs[i - num_outputs].rank);
  }
  /* On a GPU, kernels read inputs in place: stage inputs that are not the runtime's (managed) memory. */
  effc_device_t *device = effc_runtime_device(runtime);
  effc_tensor_t **staged = device ? calloc(num_inputs ? num_inputs : 1, sizeof(*staged)) : NULL;
  if (device && !staged) {
    free(block);
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  }
  for (size_t i = 0; device && i < num_inputs; ++i) {
    if (effc_runtime_owns(runtime, effc_tensor_data(inputs[i])))
      continue;
    effc_status_t status = effc_tensor_create(runtime, effc_tensor_dtype(inputs[i]), effc_tensor_rank(inputs[i]),
                                              effc_tensor_dims(inputs[i]), &staged[i]);
    if (status) {
      for (size_t j = 0; j < i; ++j)
        effc_tensor_release(staged[j]);
      free(staged);
      free(block);
      return status;
    }
    memcpy(effc_tensor_data(staged[i]), effc_tensor_data(inputs[i]), effc_tensor_byte_size(inputs[i]));
  }
  for (size_t i = 0; i < num_inputs; ++i) {
    descriptor_t *desc = args[num_outputs + i];
    size_t rank = fn->inputs[i].rank;
    const int64_t *dims = effc_tensor_dims(inputs[i]);
    desc->allocated = desc->aligned = effc_tensor_data(staged && staged[i] ? staged[i] : inputs[i]);
    desc->offset = 0;
    int64_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      desc->sizes_and_strides[d] = dims[d];
      desc->sizes_and_strides[rank + d] = stride;
      stride *= dims[d] ? dims[d] : 1;
    }
  }

  /* A refused allocation longjmps back here (runtime.c); nothing below setjmp is modified before it. */
  effc_invoke_context_t context;
  effc_invoke_context_init(&context);
  jmp_buf unwind;
  context.unwind = &unwind;
  effc_invoke_context_t *previous = effc_invoke_context_exchange(&context);
  int unwound = 0;
  if (setjmp(unwind) == 0)
    fn->invoke(args);
  else
    unwound = 1;
  effc_invoke_context_exchange(previous);
  effc_status_t device_status = NULL;
  if (device) {
    device_status = effc_device_take_error(device);
    if (!device_status)
      device_status = effc_device_synchronize(device);
    if (device_status)
      device_status = effc_status_annotate(device_status, "function '%s' failed on %s", fn->name,
                                           effc_device_description(device));
    for (size_t i = 0; i < num_inputs; ++i)
      effc_tensor_release(staged[i]);
    free(staged);
  }

  if (unwound) {
    /* The output descriptors are unfinished: free everything the call allocated instead of claiming. */
    effc_runtime_free_invoke_blocks(runtime, &context);
    memset(claimed, 0, num_outputs * sizeof(int));
  } else {
    /* Claim every output block first, so that on any error all of them are freed exactly once. */
    for (size_t i = 0; i < num_outputs; ++i)
      claimed[i] = effc_runtime_claim(runtime, ((descriptor_t *)args[i])->allocated, &claimed_size[i]);
  }
  effc_status_t status = device_status ? device_status : invoke_errors(runtime, fn, &context);
  if (device_status)
    effc_status_free(invoke_errors(runtime, fn, &context));
  if (!status && unwound)
    status = effc_status_make(EFFC_STATUS_INTERNAL, "function '%s' was interrupted", fn->name);
  for (uint32_t i = 0; i < num_outputs && !status; ++i)
    status = make_output(runtime, fn, i, args[i], claimed, claimed_size, &outputs[i]);
  for (size_t i = 0; i < num_outputs; ++i)
    if (claimed[i])
      effc_runtime_deallocate(runtime, ((descriptor_t *)args[i])->allocated);
  if (status)
    for (size_t i = 0; i < num_outputs; ++i) {
      effc_tensor_release(outputs[i]);
      outputs[i] = NULL;
    }
  free(block);
  return status;
}
