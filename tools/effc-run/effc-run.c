/*===- effc-run.c - run a function of an effc-compiled module -------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements effc-run, the command-line driver of the effc runtime: it loads a compiled module,
 * reads the inputs of one of its functions from .npy files, runs it, writes each output to
 * DIR/NAME.npy and prints its dtype and shape; --list shows the signatures and --bench times the call.
 * Every failure is reported on stderr with exit code 1.
 *
 *===----------------------------------------------------------------------===*/

#include "effc/runtime/api.h"
#include "effc/runtime/npy.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char k_usage[] =
    "usage: effc-run MODEL.so [options]\n"
    "\n"
    "Runs a function of an effc-compiled module on .npy inputs.\n"
    "\n"
    "options:\n"
    "  --function NAME      function to run (default: the only one, or 'main')\n"
    "  --input NAME=FILE    .npy file for input NAME (repeat for each input)\n"
    "  --output-dir DIR     where to write NAME.npy for each output (default: .)\n"
    "  --bench N            time N runs after the warmup runs and print the latency\n"
    "  --warmup W           untimed runs before --bench (default: 3)\n"
    "  --threads T          threads for parallel loops (default: all cores)\n"
    "  --memory-limit BYTES cap on runtime allocations (suffixes K, M, G; default: none)\n"
    "  --spin-us US         microseconds idle threads spin before sleeping (default: 100; 0 on a busy\n"
    "                       shared machine)\n"
    "  --device KIND        cpu, or cuda for a module compiled with --target=cuda (default: cpu)\n"
    "  --list               print the module's functions, their signatures and the bytes a call needs at least\n"
    "  -h, --help           print this help\n";

typedef struct input_arg_t {
  const char *name;
  const char *path;
} input_arg_t;

typedef struct options_t {
  const char *model;
  const char *function;
  const char *output_dir;
  input_arg_t *inputs;
  size_t num_inputs;
  long long bench;
  long long warmup;
  unsigned long long threads;
  unsigned long long memory_limit;
  unsigned long long spin_micros;
  effc_device_kind_t device;
  int list;
} options_t;

static int fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("effc-run: error: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  return 1;
}

/* Reports a failed status (consuming it); returns 1. */
static int fail_status(effc_status_t status) {
  int result = fail("%s", effc_status_message(status));
  effc_status_free(status);
  return result;
}

/* Parses a non-negative integer with an optional K/M/G suffix (when `suffixes`). */
static int parse_count(const char *text, int suffixes, unsigned long long *out) {
  char *end;
  errno = 0;
  if (!text[0] || text[0] == '-')
    return 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno || end == text)
    return 0;
  unsigned long long scale = 1;
  if (suffixes && *end) {
    switch (*end++) {
    case 'K': case 'k': scale = 1ull << 10; break;
    case 'M': case 'm': scale = 1ull << 20; break;
    case 'G': case 'g': scale = 1ull << 30; break;
    default: return 0;
    }
    if (*end == 'B' || *end == 'b')
      ++end;
  }
  if (*end || (value && scale > ~0ull / value))
    return 0;
  *out = value * scale;
  return 1;
}

/* Parses the command line; returns 0 to run, -1 to exit successfully (--help), 1 on error. */
static int parse_args(int argc, char **argv, options_t *options) {
  options->output_dir = ".";
  options->warmup = 3;
  effc_runtime_options_t defaults;
  effc_runtime_options_initialize(&defaults);
  options->spin_micros = defaults.spin_micros;
  options->inputs = calloc((size_t)argc, sizeof(input_arg_t));
  if (!options->inputs)
    return fail("out of memory");
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      fputs(k_usage, stdout);
      return -1;
    }
    if (!strcmp(arg, "--list")) {
      options->list = 1;
      continue;
    }
    if (arg[0] != '-' || !arg[1]) {
      if (options->model)
        return fail("unexpected argument '%s' (the model is '%s'); see --help", arg, options->model);
      options->model = arg;
      continue;
    }
    /* Options with a value: --opt VALUE or --opt=VALUE. */
    static const char *const k_valued[] = {"--function", "--input", "--output-dir", "--bench",
                                           "--warmup",   "--threads", "--memory-limit", "--device",
                                           "--spin-us"};
    const char *value = NULL, *name = NULL;
    for (size_t k = 0; k < sizeof(k_valued) / sizeof(k_valued[0]) && !name; ++k) {
      size_t len = strlen(k_valued[k]);
      if (!strncmp(arg, k_valued[k], len) && (arg[len] == '\0' || arg[len] == '=')) {
        name = k_valued[k];
        if (arg[len] == '=')
          value = arg + len + 1;
        else if (i + 1 < argc)
          value = argv[++i];
        else
          return fail("%s needs a value; see --help", name);
      }
    }
    if (!name)
      return fail("unknown option '%s'; see --help", arg);
    unsigned long long number = 0;
    if (!strcmp(name, "--function")) {
      options->function = value;
    } else if (!strcmp(name, "--output-dir")) {
      options->output_dir = value;
    } else if (!strcmp(name, "--device")) {
      effc_status_t status = effc_device_kind_parse(value, &options->device);
      if (status) {
        int result = fail("--device: %s", effc_status_message(status));
        effc_status_free(status);
        return result;
      }
    } else if (!strcmp(name, "--input")) {
      const char *eq = strchr(value, '=');
      if (!eq || eq == value || !eq[1])
        return fail("--input expects NAME=FILE.npy, got '%s'", value);
      input_arg_t *input = &options->inputs[options->num_inputs++];
      input->path = eq + 1;
      char *input_name = malloc((size_t)(eq - value) + 1);
      if (!input_name)
        return fail("out of memory");
      memcpy(input_name, value, (size_t)(eq - value));
      input_name[eq - value] = '\0';
      input->name = input_name;
    } else if (!parse_count(value, !strcmp(name, "--memory-limit"), &number)) {
      return fail("%s expects a non-negative integer, got '%s'", name, value);
    } else if (!strcmp(name, "--bench")) {
      if (number == 0 || number > 1000000)
        return fail("--bench expects a run count between 1 and 1000000, got '%s'", value);
      options->bench = (long long)number;
    } else if (!strcmp(name, "--warmup")) {
      if (number > 1000000)
        return fail("--warmup expects at most 1000000 runs, got '%s'", value);
      options->warmup = (long long)number;
    } else if (!strcmp(name, "--threads")) {
      if (number > 4096)
        return fail("--threads expects at most 4096, got '%s'", value);
      options->threads = number;
    } else if (!strcmp(name, "--spin-us")) {
      if (number > 1000000)
        return fail("--spin-us expects at most 1000000 microseconds, got '%s'", value);
      options->spin_micros = number;
    } else {
      options->memory_limit = number;
    }
  }
  if (!options->model)
    return fail("no model given (usage: effc-run MODEL.so [options]; see --help)");
  return 0;
}

static void print_tensor_info(FILE *out, effc_tensor_info_t info) {
  fprintf(out, "%s: %s [", info.name, effc_dtype_name(info.dtype));
  for (size_t d = 0; d < info.rank; ++d) {
    if (info.dims[d] == EFFC_DYNAMIC_DIM)
      fprintf(out, "%s?", d ? ", " : "");
    else
      fprintf(out, "%s%lld", d ? ", " : "", (long long)info.dims[d]);
  }
  fputc(']', out);
}

static void print_signature(FILE *out, const effc_function_t *fn) {
  fprintf(out, "%s(", effc_function_name(fn));
  for (size_t i = 0; i < effc_function_num_inputs(fn); ++i) {
    fputs(i ? ", " : "", out);
    print_tensor_info(out, effc_function_input(fn, i));
  }
  fputs(") -> (", out);
  for (size_t i = 0; i < effc_function_num_outputs(fn); ++i) {
    fputs(i ? ", " : "", out);
    print_tensor_info(out, effc_function_output(fn, i));
  }
  fputs(")\n", out);
}

/* Comma-separated function names, for error messages. */
static void list_functions(const effc_module_t *module, char *buffer, size_t size) {
  size_t used = 0;
  buffer[0] = '\0';
  for (size_t i = 0; i < effc_module_num_functions(module) && used < size; ++i)
    used += (size_t)snprintf(buffer + used, size - used, "%s%s", i ? ", " : "",
                             effc_function_name(effc_module_function(module, i)));
}

static int select_function(const effc_module_t *module, const char *name, const effc_function_t **out_fn) {
  if (name) {
    effc_status_t status = effc_module_lookup_function(module, name, out_fn);
    return status ? fail_status(status) : 0;
  }
  size_t count = effc_module_num_functions(module);
  if (count == 1) {
    *out_fn = effc_module_function(module, 0);
    return 0;
  }
  effc_status_t status = effc_module_lookup_function(module, "main", out_fn);
  if (!status)
    return 0;
  effc_status_free(status);
  char names[1024];
  list_functions(module, names, sizeof(names));
  if (count == 0)
    return fail("the module has no functions");
  return fail("the module has %zu functions and none is 'main'; choose one with --function (%s)", count, names);
}

/* Reads each input of `fn` from the --input files, in signature order. */

static void release_tensor(void *user_data, void *data) {
  (void)data;
  effc_tensor_release((effc_tensor_t *)user_data);
}

/* bf16 has no NumPy dtype: a bf16 input may be given as uint16 (`<u2`) holding its bits, as the Python package
 * and ONNX's test data store it. The tensor is rewrapped as bf16 without a copy. */
static effc_status_t retag_as_bf16(effc_tensor_t **tensor) {
  effc_tensor_t *bits = *tensor, *wrapped = NULL;
  EFFC_RETURN_IF_ERROR(effc_tensor_wrap(EFFC_DTYPE_BF16, effc_tensor_rank(bits), effc_tensor_dims(bits),
                                        effc_tensor_data(bits), effc_tensor_byte_size(bits), release_tensor, bits,
                                        &wrapped));
  *tensor = wrapped; /* owns `bits` now: released with it */
  return NULL;
}
static int read_inputs(effc_runtime_t *runtime, const effc_function_t *fn, const options_t *options,
                       effc_tensor_t **inputs) {
  size_t count = effc_function_num_inputs(fn);
  char names[1024] = "";
  size_t used = 0;
  for (size_t i = 0; i < count && used < sizeof(names); ++i)
    used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                             effc_function_input(fn, i).name);
  for (size_t k = 0; k < options->num_inputs; ++k) {
    int known = 0;
    for (size_t i = 0; i < count; ++i)
      known |= !strcmp(options->inputs[k].name, effc_function_input(fn, i).name);
    if (!known)
      return fail("function '%s' has no input '%s' (inputs: %s)", effc_function_name(fn), options->inputs[k].name,
                  count ? names : "none");
    for (size_t j = 0; j < k; ++j)
      if (!strcmp(options->inputs[k].name, options->inputs[j].name))
        return fail("input '%s' is given twice", options->inputs[k].name);
  }
  for (size_t i = 0; i < count; ++i) {
    effc_tensor_info_t info = effc_function_input(fn, i);
    const input_arg_t *arg = NULL;
    for (size_t k = 0; k < options->num_inputs && !arg; ++k)
      if (!strcmp(options->inputs[k].name, info.name))
        arg = &options->inputs[k];
    if (!arg)
      return fail("missing input '%s' of function '%s' (give --input %s=FILE.npy; inputs: %s)", info.name,
                  effc_function_name(fn), info.name, names);
    effc_status_t status = effc_npy_read(runtime, arg->path, &inputs[i]);
    if (!status && info.dtype == EFFC_DTYPE_BF16 && effc_tensor_dtype(inputs[i]) == EFFC_DTYPE_U16)
      status = retag_as_bf16(&inputs[i]);
    if (status)
      return fail_status(effc_status_annotate(status, "input '%s'", info.name));
  }
  return 0;
}

/* bf16 has no NumPy dtype: widen it to f32 (exact) for the .npy file. */
static effc_status_t widen_bf16(effc_runtime_t *runtime, const effc_tensor_t *tensor, effc_tensor_t **out) {
  EFFC_RETURN_IF_ERROR(effc_tensor_create(runtime, EFFC_DTYPE_F32, effc_tensor_rank(tensor),
                                          effc_tensor_dims(tensor), out));
  const uint16_t *src = effc_tensor_data(tensor);
  uint32_t *dst = effc_tensor_data(*out);
  for (int64_t i = 0; i < effc_tensor_num_elements(tensor); ++i)
    dst[i] = (uint32_t)src[i] << 16;
  return NULL;
}

static int write_outputs(effc_runtime_t *runtime, const effc_function_t *fn, effc_tensor_t **outputs,
                         const char *dir) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return fail("cannot create output directory %s: %s", dir, strerror(errno));
  for (size_t i = 0; i < effc_function_num_outputs(fn); ++i) {
    const char *name = effc_function_output(fn, i).name;
    /* File name: the output name with anything but [A-Za-z0-9_.-] replaced. */
    char file[512];
    size_t n = 0;
    for (const char *c = name; *c && n < 200; ++c)
      file[n++] = (strchr("_.-", *c) || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                   (*c >= '0' && *c <= '9'))
                      ? *c
                      : '_';
    file[n] = '\0';
    if (!n || !strcmp(file, ".") || !strcmp(file, ".."))
      snprintf(file, sizeof(file), "output%zu", i);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.npy", dir, file);

    effc_tensor_t *tensor = outputs[i], *widened = NULL;
    effc_status_t status = NULL;
    if (effc_tensor_dtype(tensor) == EFFC_DTYPE_BF16)
      status = widen_bf16(runtime, tensor, &widened);
    if (!status)
      status = effc_npy_write(widened ? widened : tensor, path);
    int was_widened = widened != NULL;
    effc_tensor_release(widened);
    if (status)
      return fail_status(effc_status_annotate(status, "output '%s'", name));

    printf("%s: %s [", name, effc_dtype_name(effc_tensor_dtype(tensor)));
    for (size_t d = 0; d < effc_tensor_rank(tensor); ++d)
      printf("%s%lld", d ? ", " : "", (long long)effc_tensor_dims(tensor)[d]);
    printf("]\n");
    if (was_widened)
      fprintf(stderr, "effc-run: note: output '%s' is bf16, which NumPy lacks; %s holds it widened to f32\n", name,
              path);
  }
  return 0;
}

/* A crash in compiled code is a compiler bug (a refused allocation is an error, not a crash): say so before
 * dying of the signal. */
static void on_crash(int sig) {
  static const char k_message[] = "effc-run: error: the compiled module crashed\n";
  ssize_t ignored = write(STDERR_FILENO, k_message, sizeof(k_message) - 1);
  (void)ignored;
  signal(sig, SIG_DFL);
  raise(sig);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int bench(const effc_function_t *fn, const effc_tensor_t *const *inputs, effc_tensor_t **outputs,
                 const options_t *options) {
  size_t num_inputs = effc_function_num_inputs(fn), num_outputs = effc_function_num_outputs(fn);
  double *times = malloc((size_t)options->bench * sizeof(double));
  if (!times)
    return fail("out of memory");
  for (long long run = 0; run < options->warmup + options->bench; ++run) {
    double start = now_ms();
    effc_status_t status = effc_function_invoke(fn, inputs, num_inputs, outputs, num_outputs);
    double elapsed = now_ms() - start;
    if (status) {
      free(times);
      return fail_status(status);
    }
    for (size_t i = 0; i < num_outputs; ++i)
      effc_tensor_release(outputs[i]);
    if (run >= options->warmup)
      times[run - options->warmup] = elapsed;
  }
  size_t n = (size_t)options->bench;
  qsort(times, n, sizeof(double), compare_doubles);
  double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  printf("latency ms: min %.3f median %.3f max %.3f (%zu runs)\n", times[0], median, times[n - 1], n);
  free(times);
  return 0;
}

static int run(const options_t *options) {
  effc_runtime_options_t runtime_options;
  effc_runtime_options_initialize(&runtime_options);
  runtime_options.num_threads = (uint32_t)options->threads;
  runtime_options.memory_limit_bytes = options->memory_limit;
  runtime_options.spin_micros = (uint32_t)options->spin_micros;
  runtime_options.device = options->device;
  effc_runtime_t *runtime = NULL;
  effc_module_t *module = NULL;
  effc_status_t status = effc_runtime_create(&runtime_options, &runtime);
  if (!status)
    status = effc_module_load(runtime, options->model, &module);
  if (status) {
    effc_runtime_release(runtime);
    return fail_status(status);
  }

  int result = 0;
  const effc_function_t *fn = NULL;
  effc_tensor_t **inputs = NULL, **outputs = NULL;
  if (options->list) {
    printf("module %s: %zu functions (producer: %s)\n", options->model, effc_module_num_functions(module),
           effc_module_producer(module));
    for (size_t i = 0; i < effc_module_num_functions(module); ++i) {
      const effc_function_t *listed = effc_module_function(module, i);
      print_signature(stdout, listed);
      if (effc_function_min_call_bytes(listed))
        printf("  needs at least %llu bytes per call\n", (unsigned long long)effc_function_min_call_bytes(listed));
    }
  } else if (!(result = select_function(module, options->function, &fn))) {
    size_t num_inputs = effc_function_num_inputs(fn), num_outputs = effc_function_num_outputs(fn);
    inputs = calloc(num_inputs + 1, sizeof(*inputs));
    outputs = calloc(num_outputs + 1, sizeof(*outputs));
    if (!inputs || !outputs)
      result = fail("out of memory");
    if (!result)
      result = read_inputs(runtime, fn, options, inputs);
    if (!result && (status = effc_function_invoke(fn, (const effc_tensor_t *const *)inputs, num_inputs, outputs,
                                                  num_outputs)))
      result = fail_status(effc_status_annotate(status, "running '%s'", effc_function_name(fn)));
    if (!result)
      result = write_outputs(runtime, fn, outputs, options->output_dir);
    for (size_t i = 0; outputs && i < num_outputs; ++i) {
      effc_tensor_release(outputs[i]);
      outputs[i] = NULL;
    }
    if (!result && options->bench)
      result = bench(fn, (const effc_tensor_t *const *)inputs, outputs, options);
    for (size_t i = 0; inputs && i < num_inputs; ++i)
      effc_tensor_release(inputs[i]);
  }
  free(inputs);
  free(outputs);
  effc_module_release(module);
  effc_runtime_release(runtime);
  return result;
}

int main(int argc, char **argv) {
  options_t options;
  memset(&options, 0, sizeof(options));
  int result = parse_args(argc, argv, &options);
  if (result == 0) {
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
    signal(SIGILL, on_crash);
    result = run(&options);
  }
  for (size_t i = 0; i < options.num_inputs; ++i)
    free((void *)(uintptr_t)options.inputs[i].name);
  free(options.inputs);
  return result < 0 ? 0 : result;
}
