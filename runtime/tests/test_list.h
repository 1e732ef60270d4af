/*===- test_list.h - the runtime test cases -------------------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file lists every test case once. test_main.c expands it into its dispatch table, and CMake reads it
 * to register one CTest test per case (runtime.<name>), so a case cannot be written and forgotten.
 *
 *===----------------------------------------------------------------------===*/

/* clang-format off */
#define EFFC_RUNTIME_TESTS(X) \
  X(status_basics) \
  X(dtype_helpers) \
  X(tensor_create_and_wrap) \
  X(runtime_options) \
  X(runtime_reuses_freed_blocks) \
  X(runtime_idle_workers_sleep) \
  X(runtime_oversubscribed_pool_does_not_spin) \
  X(parallel_for_covers_each_index_once) \
  X(parallel_for_uses_multiple_threads) \
  X(parallel_for_nested_and_concurrent) \
  X(module_load_and_introspect) \
  X(invoke_add) \
  X(invoke_scale_rows_parallel) \
  X(invoke_output_views) \
  X(invoke_input_errors) \
  X(invoke_compiled_code_failure) \
  X(invoke_concurrently) \
  X(load_missing_file) \
  X(load_not_a_shared_object) \
  X(load_no_query_symbol) \
  X(load_old_abi_version) \
  X(load_new_abi_version) \
  X(load_bad_header) \
  X(load_same_module_twice) \
  X(weights_external_ok) \
  X(weights_truncated) \
  X(weights_corrupt) \
  X(weights_missing) \
  X(weights_from_another_compile) \
  X(module_file_tampered) \
  X(memory_limit_tensors) \
  X(memory_limit_invoke) \
  X(memory_limit_weights) \
  X(memory_limit_min_call_bytes) \
  X(memory_limit_unwinds_compiled_code) \
  X(npy_round_trip) \
  X(npy_malformed) \
  X(npy_write_errors) \
  X(device_kind_names) \
  X(cuda_without_driver) \
  X(cuda_stub_driver) \
  X(gpu_module_needs_cuda_runtime)
/* clang-format on */
