/*===- npy_tests.c - .npy reader and writer tests -------------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file tests effc/runtime/npy.h: a write/read round trip for every supported dtype and several ranks,
 * hand-made files (version 2.0, NumPy's header spellings), and every rejected input.
 *
 *===----------------------------------------------------------------------===*/

#include "test_util.h"

#include <stdlib.h>

/* Writes a .npy file with the given version, header text and data. */
static int write_npy(const char *path, int major, const char *header, const void *data, size_t size) {
  unsigned char buffer[1024];
  size_t len = strlen(header), pos = 0;
  memcpy(buffer, "\x93NUMPY", 6);
  buffer[6] = (unsigned char)major;
  buffer[7] = 0;
  pos = 8;
  buffer[pos++] = (unsigned char)(len & 0xff);
  buffer[pos++] = (unsigned char)(len >> 8);
  if (major > 1) {
    buffer[pos++] = 0;
    buffer[pos++] = 0;
  }
  memcpy(buffer + pos, header, len);
  pos += len;
  memcpy(buffer + pos, data, size);
  return write_file(path, buffer, pos + size);
}

static int round_trip(effc_runtime_t *rt, effc_dtype_t dtype, size_t rank, const int64_t *dims) {
  effc_tensor_t *t, *back;
  CHECK_OK(effc_tensor_create(rt, dtype, rank, dims, &t));
  unsigned char *bytes = effc_tensor_data(t);
  for (size_t i = 0; i < effc_tensor_byte_size(t); ++i)
    bytes[i] = (unsigned char)(dtype == EFFC_DTYPE_BOOL ? i % 2 : i * 7 + 3);
  const char *path = test_path("t.npy");
  CHECK_OK(effc_npy_write(t, path));
  CHECK_OK(effc_npy_read(rt, path, &back));
  CHECK(effc_tensor_dtype(back) == dtype && effc_tensor_rank(back) == rank);
  for (size_t d = 0; d < rank; ++d)
    CHECK(effc_tensor_dims(back)[d] == dims[d]);
  CHECK(effc_tensor_byte_size(back) == effc_tensor_byte_size(t));
  CHECK(!memcmp(effc_tensor_data(back), effc_tensor_data(t), effc_tensor_byte_size(t)));

  /* NumPy's layout: the data starts at a multiple of 64 and the header ends with a newline. */
  FILE *file = fopen(path, "rb");
  CHECK(file);
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  char prefix[1024] = {0};
  CHECK(fread(prefix, 1, sizeof(prefix) - 1, file) > 10);
  fclose(file);
  long data_offset = size - (long)effc_tensor_byte_size(t);
  CHECK(data_offset % 64 == 0 && prefix[data_offset - 1] == '\n');
  CHECK(10 + ((unsigned char)prefix[8] | (unsigned char)prefix[9] << 8) == data_offset);
  if (rank == 1)
    CHECK(strstr(prefix + 10, "'shape': (") && strstr(prefix + 10, ",), }"));
  if (rank == 0)
    CHECK(strstr(prefix + 10, "'shape': (), }"));
  effc_tensor_release(t);
  effc_tensor_release(back);
  return 0;
}

int test_npy_round_trip(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  const effc_dtype_t dtypes[] = {EFFC_DTYPE_F32, EFFC_DTYPE_F16, EFFC_DTYPE_F64, EFFC_DTYPE_I64,
                                 EFFC_DTYPE_I32, EFFC_DTYPE_I8,  EFFC_DTYPE_U8,  EFFC_DTYPE_BOOL,
                                 EFFC_DTYPE_I16, EFFC_DTYPE_U16, EFFC_DTYPE_U32, EFFC_DTYPE_U64};
  const int64_t d1[] = {5}, d3[] = {2, 3, 4}, empty[] = {3, 0};
  for (size_t i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); ++i) {
    printf("  %s\n", effc_dtype_name(dtypes[i]));
    CHECK_PASS(round_trip(rt, dtypes[i], 0, NULL));
    CHECK_PASS(round_trip(rt, dtypes[i], 1, d1));
    CHECK_PASS(round_trip(rt, dtypes[i], 3, d3));
    CHECK_PASS(round_trip(rt, dtypes[i], 2, empty));
  }

  /* Version 2.0, double quotes, no trailing comma, Python 2 longs, a 1-d Fortran-order array. */
  const float data[6] = {1, 2, 3, 4, 5, 6};
  const char *path = test_path("v2.npy");
  CHECK(write_npy(path, 2, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2L, 3L)}\n", data, 24) == 0);
  effc_tensor_t *t;
  CHECK_OK(effc_npy_read(rt, path, &t));
  CHECK(effc_tensor_rank(t) == 2 && effc_tensor_dims(t)[0] == 2 && effc_tensor_dims(t)[1] == 3);
  CHECK(!memcmp(effc_tensor_data(t), data, 24));
  effc_tensor_release(t);
  CHECK(write_npy(path, 1, "{'shape': (6,), 'fortran_order': True, 'descr': '<f4'}", data, 24) == 0);
  CHECK_OK(effc_npy_read(rt, path, &t));
  CHECK(effc_tensor_num_elements(t) == 6);
  effc_tensor_release(t);
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_runtime_release(rt);
  return 0;
}

static int expect_read_error(effc_runtime_t *rt, int major, const char *header, size_t data_size,
                             effc_status_code_t code, const char *text) {
  const char *path = test_path("bad.npy");
  unsigned char data[64] = {0};
  CHECK(write_npy(path, major, header, data, data_size) == 0);
  effc_tensor_t *t = (effc_tensor_t *)(uintptr_t)1;
  CHECK_ERROR(effc_npy_read(rt, path, &t), code, text);
  CHECK(t == NULL);
  return 0;
}

int test_npy_malformed(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  const char *f32_2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK_PASS(expect_read_error(rt, 1, f32_2x3, 8, EFFC_STATUS_DATA_LOSS, "is truncated: 8 bytes of data, expected 24"));
  CHECK_PASS(expect_read_error(rt, 1, f32_2x3, 28, EFFC_STATUS_DATA_LOSS, "has 28 bytes of data, expected 24"));
  CHECK_PASS(expect_read_error(rt, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24,
                               EFFC_STATUS_UNIMPLEMENTED, "Fortran-order arrays are not supported"));
  CHECK_PASS(expect_read_error(rt, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24,
                               EFFC_STATUS_UNIMPLEMENTED, "big-endian data ('>f4') is not supported"));
  CHECK_PASS(expect_read_error(rt, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16,
                               EFFC_STATUS_UNIMPLEMENTED, "unsupported dtype '<c8'"));
  CHECK_PASS(expect_read_error(rt, 1, "{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", 24,
                               EFFC_STATUS_UNIMPLEMENTED, "unsupported dtype '<U3'"));
  CHECK_PASS(expect_read_error(rt, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
                               EFFC_STATUS_UNIMPLEMENTED, "structured dtypes"));
  CHECK_PASS(expect_read_error(rt, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 0,
                               EFFC_STATUS_INVALID_ARGUMENT, "malformed .npy header"));
  CHECK_PASS(expect_read_error(rt, 1, "{'descr': '<f4', 'shape': (2,), }", 8, EFFC_STATUS_INVALID_ARGUMENT,
                               "malformed .npy header"));
  CHECK_PASS(expect_read_error(rt, 1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8,
                               EFFC_STATUS_INVALID_ARGUMENT, "malformed .npy header"));
  CHECK_PASS(expect_read_error(rt, 1, "not a dict", 0, EFFC_STATUS_INVALID_ARGUMENT, "malformed .npy header"));
  CHECK_PASS(expect_read_error(rt, 9, f32_2x3, 24, EFFC_STATUS_UNIMPLEMENTED, "unsupported .npy format version 9.0"));

  /* Not .npy at all, an empty file, a header cut short, a missing file. */
  const char *path = test_path("junk.npy");
  CHECK(write_file(path, "PK\3\4 not numpy", 15) == 0);
  effc_tensor_t *t;
  CHECK_ERROR(effc_npy_read(rt, path, &t), EFFC_STATUS_INVALID_ARGUMENT, "is not a .npy file (bad magic)");
  CHECK(write_file(path, "", 0) == 0);
  CHECK_ERROR(effc_npy_read(rt, path, &t), EFFC_STATUS_INVALID_ARGUMENT, "bad magic");
  CHECK(write_file(path, "\x93NUMPY\1\0\x40\0{'descr'", 17) == 0);
  CHECK_ERROR(effc_npy_read(rt, path, &t), EFFC_STATUS_DATA_LOSS, "truncated .npy header");
  CHECK_ERROR(effc_npy_read(rt, test_path("absent.npy"), &t), EFFC_STATUS_NOT_FOUND, "No such file");
  CHECK(effc_runtime_live_bytes(rt) == 0);
  effc_runtime_release(rt);
  return 0;
}

int test_npy_write_errors(void) {
  effc_runtime_t *rt = make_runtime(1, 0);
  effc_tensor_t *t;
  int64_t n = 4;
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_BF16, 1, &n, &t));
  CHECK_ERROR(effc_npy_write(t, test_path("bf16.npy")), EFFC_STATUS_UNIMPLEMENTED,
              "bf16 tensors have no NumPy dtype; convert to f32 first");
  effc_tensor_release(t);
  CHECK_OK(effc_tensor_create(rt, EFFC_DTYPE_F32, 1, &n, &t));
  CHECK_ERROR(effc_npy_write(t, test_path("no/such/dir.npy")), EFFC_STATUS_NOT_FOUND, "cannot create");
  effc_tensor_release(t);
  effc_runtime_release(rt);
  return 0;
}
