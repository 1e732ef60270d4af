/*===- npy.c - reading and writing NumPy .npy files -----------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements effc/runtime/npy.h. A .npy file is the magic "\x93NUMPY", a version (major, minor),
 * a little-endian header length (2 bytes in version 1, 4 bytes in versions 2 and 3), a Python dict literal
 * such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a newline,
 * then the raw elements. The reader parses just that dict grammar; the writer emits version 1.0 with the
 * header padded to a multiple of 64 bytes, as NumPy does.
 *
 *===----------------------------------------------------------------------===*/

#include "effc/runtime/npy.h"

#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char k_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* NumPy's descr for each dtype; bf16 has none. */
static const char *descr_of(effc_dtype_t dtype) {
  switch (dtype) {
  case EFFC_DTYPE_F32: return "<f4";
  case EFFC_DTYPE_F16: return "<f2";
  case EFFC_DTYPE_F64: return "<f8";
  case EFFC_DTYPE_I64: return "<i8";
  case EFFC_DTYPE_I32: return "<i4";
  case EFFC_DTYPE_I8: return "|i1";
  case EFFC_DTYPE_U8: return "|u1";
  case EFFC_DTYPE_BOOL: return "|b1";
  case EFFC_DTYPE_I16: return "<i2";
  case EFFC_DTYPE_U16: return "<u2";
  case EFFC_DTYPE_U32: return "<u4";
  case EFFC_DTYPE_U64: return "<u8";
  case EFFC_DTYPE_BF16:
  case EFFC_DTYPE_INVALID: break;
  }
  return NULL;
}

static effc_status_t dtype_of(const char *path, const char *descr, effc_dtype_t *out_dtype) {
  static const struct {
    const char *code;
    effc_dtype_t dtype;
  } k_types[] = {{"f4", EFFC_DTYPE_F32}, {"f2", EFFC_DTYPE_F16}, {"f8", EFFC_DTYPE_F64},
                 {"i8", EFFC_DTYPE_I64}, {"i4", EFFC_DTYPE_I32}, {"i1", EFFC_DTYPE_I8},
                 {"u1", EFFC_DTYPE_U8},  {"b1", EFFC_DTYPE_BOOL}, {"i2", EFFC_DTYPE_I16},
                 {"u2", EFFC_DTYPE_U16}, {"u4", EFFC_DTYPE_U32},  {"u8", EFFC_DTYPE_U64}};
  char order = descr[0];
  if (order == '<' || order == '|' || order == '=' || order == '>') {
    for (size_t i = 0; i < sizeof(k_types) / sizeof(k_types[0]); ++i) {
      if (strcmp(descr + 1, k_types[i].code))
        continue;
      if (order == '>' && effc_dtype_size(k_types[i].dtype) > 1)
        return effc_status_make(EFFC_STATUS_UNIMPLEMENTED,
                                "%s: big-endian data ('%s') is not supported; save it with arr.astype('<%s')", path,
                                descr, k_types[i].code);
      *out_dtype = k_types[i].dtype;
      return NULL;
    }
  }
  return effc_status_make(EFFC_STATUS_UNIMPLEMENTED,
                          "%s: unsupported dtype '%s' (supported: <f4 <f2 <f8 <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1 |b1)", path, descr);
}

/*===----------------------------------------------------------------------===*
 * Header parsing
 *===----------------------------------------------------------------------===*/

typedef struct cursor_t {
  const char *p, *end;
} cursor_t;

static void skip_space(cursor_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    ++c->p;
}

static int eat(cursor_t *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) {
    ++c->p;
    return 1;
  }
  return 0;
}

/* A quoted Python string without escapes, copied into out[cap]. */
static int parse_string(cursor_t *c, char *out, size_t cap) {
  skip_space(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return 0;
  char quote = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != quote) {
    if (n + 1 >= cap || *c->p == '\\')
      return 0;
    out[n++] = *c->p++;
  }
  out[n] = '\0';
  return c->p++ < c->end;
}

static int parse_word(cursor_t *c, const char *word) {
  skip_space(c);
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || strncmp(c->p, word, n))
    return 0;
  c->p += n;
  return 1;
}

/* A tuple of non-negative integers, e.g. (), (3,), (2, 3). */
static int parse_shape(cursor_t *c, int64_t *dims, size_t *rank) {
  *rank = 0;
  if (!eat(c, '('))
    return 0;
  for (;;) {
    if (eat(c, ')'))
      return 1;
    if (*rank == EFFC_MAX_RANK || c->p >= c->end || *c->p < '0' || *c->p > '9')
      return 0;
    int64_t value = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      if (value > (INT64_MAX - 9) / 10)
        return 0;
      value = value * 10 + (*c->p++ - '0');
    }
    if (c->p < c->end && *c->p == 'L') /* Python 2 longs */
      ++c->p;
    dims[(*rank)++] = value;
    if (!eat(c, ',')) {
      return eat(c, ')');
    }
  }
}

typedef struct header_t {
  char descr[32];
  int fortran_order;
  size_t rank;
  int64_t dims[EFFC_MAX_RANK];
} header_t;

static effc_status_t parse_header(const char *path, const char *text, size_t size, header_t *out) {
  cursor_t c = {text, text + size};
  int have_descr = 0, have_order = 0, have_shape = 0;
  if (!eat(&c, '{'))
    goto malformed;
  while (!eat(&c, '}')) {
    char key[32];
    if (!parse_string(&c, key, sizeof(key)) || !eat(&c, ':'))
      goto malformed;
    if (!strcmp(key, "descr")) {
      skip_space(&c);
      if (c.p < c.end && *c.p == '[')
        return effc_status_make(EFFC_STATUS_UNIMPLEMENTED, "%s: structured dtypes are not supported", path);
      if (!parse_string(&c, out->descr, sizeof(out->descr)))
        goto malformed;
      have_descr = 1;
    } else if (!strcmp(key, "fortran_order")) {
      if (parse_word(&c, "True"))
        out->fortran_order = 1;
      else if (parse_word(&c, "False"))
        out->fortran_order = 0;
      else
        goto malformed;
      have_order = 1;
    } else if (!strcmp(key, "shape")) {
      if (!parse_shape(&c, out->dims, &out->rank))
        goto malformed;
      have_shape = 1;
    } else {
      goto malformed;
    }
    if (!eat(&c, ',')) {
      if (!eat(&c, '}'))
        goto malformed;
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape)
    goto malformed;
  return NULL;
malformed:
  return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s: malformed .npy header: %.*s", path,
                          (int)(size > 200 ? 200 : size), text);
}

/*===----------------------------------------------------------------------===*
 * Reading
 *===----------------------------------------------------------------------===*/

/* Reads one .npy from the current position of `file`, whose data must end exactly at offset `end`. */
static effc_status_t read_file(effc_runtime_t *runtime, const char *path, FILE *file, uint64_t end,
                               effc_tensor_t **out_tensor) {
  unsigned char prefix[12];
  size_t got = fread(prefix, 1, 8, file);
  if (got < 8 || memcmp(prefix, k_magic, sizeof(k_magic)))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s is not a .npy file (bad magic)", path);
  unsigned major = prefix[6];
  if (major < 1 || major > 3)
    return effc_status_make(EFFC_STATUS_UNIMPLEMENTED, "%s: unsupported .npy format version %u.%u", path, major,
                            prefix[7]);
  size_t length_bytes = major == 1 ? 2 : 4;
  if (fread(prefix + 8, 1, length_bytes, file) != length_bytes)
    return effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: truncated .npy header", path);
  uint32_t header_len = prefix[8] | (uint32_t)prefix[9] << 8;
  if (major > 1)
    header_len |= (uint32_t)prefix[10] << 16 | (uint32_t)prefix[11] << 24;
  if (header_len > (1u << 20))
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s: .npy header of %u bytes is too large", path,
                            header_len);
  char *text = malloc(header_len ? header_len : 1);
  if (!text)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  header_t header;
  memset(&header, 0, sizeof(header));
  effc_status_t status = NULL;
  if (fread(text, 1, header_len, file) != header_len)
    status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: truncated .npy header", path);
  else
    status = parse_header(path, text, header_len, &header);
  free(text);
  EFFC_RETURN_IF_ERROR(status);

  effc_dtype_t dtype = EFFC_DTYPE_INVALID;
  EFFC_RETURN_IF_ERROR(dtype_of(path, header.descr, &dtype));
  int trivially_ordered = header.rank <= 1;
  if (header.fortran_order && !trivially_ordered)
    return effc_status_make(EFFC_STATUS_UNIMPLEMENTED,
                            "%s: Fortran-order arrays are not supported; save np.ascontiguousarray(arr)", path);

  /* Compare the data size with what the shape needs before allocating: the header is not to be trusted. */
  long offset = ftell(file);
  uint64_t available = offset >= 0 && end > (uint64_t)offset ? end - (uint64_t)offset : 0;
  int64_t num_elements;
  size_t needed;
  EFFC_RETURN_IF_ERROR(effc_status_annotate(
      effc_shape_byte_size("shape", dtype, header.rank, header.dims, &num_elements, &needed), "%s", path));
  if (available < needed)
    return effc_status_make(EFFC_STATUS_DATA_LOSS, "%s is truncated: %llu bytes of data, expected %zu", path,
                            (unsigned long long)available, needed);
  if (available > needed)
    return effc_status_make(EFFC_STATUS_DATA_LOSS, "%s has %llu bytes of data, expected %zu", path,
                            (unsigned long long)available, needed);
  effc_tensor_t *tensor;
  EFFC_RETURN_IF_ERROR(effc_status_annotate(effc_tensor_create(runtime, dtype, header.rank, header.dims, &tensor),
                                            "%s", path));
  if (fread(effc_tensor_data(tensor), 1, needed, file) != needed)
    status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: read error", path);
  if (status) {
    effc_tensor_release(tensor);
    return status;
  }
  *out_tensor = tensor;
  return NULL;
}

/* Opens `path` for reading and gives its size. */
static effc_status_t open_for_reading(const char *path, FILE **out_file, uint64_t *out_size) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return effc_status_make(errno == ENOENT ? EFFC_STATUS_NOT_FOUND : EFFC_STATUS_UNAVAILABLE, "cannot open %s: %s",
                            path, strerror(errno));
  struct stat st;
  if (fstat(fileno(file), &st) != 0) {
    effc_status_t status = effc_status_make(EFFC_STATUS_UNAVAILABLE, "cannot stat %s: %s", path, strerror(errno));
    fclose(file);
    return status;
  }
  *out_file = file;
  *out_size = (uint64_t)st.st_size;
  return NULL;
}

effc_status_t effc_npy_read(effc_runtime_t *runtime, const char *path, effc_tensor_t **out_tensor) {
  *out_tensor = NULL;
  if (!runtime || !path)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "effc_npy_read: runtime and path are required");
  FILE *file;
  uint64_t size;
  EFFC_RETURN_IF_ERROR(open_for_reading(path, &file, &size));
  effc_status_t status = read_file(runtime, path, file, size, out_tensor);
  fclose(file);
  return status;
}

/*===----------------------------------------------------------------------===*
 * .npz: a zip archive of .npy files, as np.savez writes it (entries stored, not compressed)
 *===----------------------------------------------------------------------===*/

static uint32_t le16(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const unsigned char *p) { return le16(p) | le16(p + 2) << 16; }

void effc_npz_free(effc_npz_entry_t *entries, size_t count) {
  if (!entries)
    return;
  for (size_t i = 0; i < count; ++i) {
    free(entries[i].name);
    effc_tensor_release(entries[i].tensor);
  }
  free(entries);
}

/* Reads the archive's entries; `size` is the file's size. */
static effc_status_t read_archive(effc_runtime_t *runtime, const char *path, FILE *file, uint64_t size,
                                  size_t *out_count, effc_npz_entry_t **out_entries) {
  /* The end-of-central-directory record: 22 bytes plus a comment of up to 65535, at the end. */
  uint64_t tail_size = size < 22 + 65535 ? size : 22 + 65535;
  unsigned char *tail = malloc(tail_size ? tail_size : 1);
  if (!tail)
    return effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  if (fseek(file, (long)(size - tail_size), SEEK_SET) || fread(tail, 1, tail_size, file) != tail_size) {
    free(tail);
    return effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: read error", path);
  }
  long eocd = -1;
  for (long i = (long)tail_size - 22; i >= 0; --i)
    if (le32(tail + i) == 0x06054b50u) {
      eocd = i;
      break;
    }
  if (eocd < 0) {
    free(tail);
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "%s is not a .npz file (no zip directory; truncated?)",
                            path);
  }
  uint32_t count = le16(tail + eocd + 10), directory_size = le32(tail + eocd + 12);
  uint32_t directory_offset = le32(tail + eocd + 16);
  free(tail);
  if (directory_offset == 0xffffffffu || count == 0xffffu)
    return effc_status_make(EFFC_STATUS_UNIMPLEMENTED, "%s: zip64 archives are not supported", path);
  if ((uint64_t)directory_offset + directory_size > size)
    return effc_status_make(EFFC_STATUS_DATA_LOSS, "%s is truncated (zip directory past the end)", path);

  unsigned char *directory = malloc(directory_size ? directory_size : 1);
  effc_npz_entry_t *entries = calloc(count ? count : 1, sizeof(*entries));
  effc_status_t status = NULL;
  if (!directory || !entries)
    status = effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  else if (fseek(file, (long)directory_offset, SEEK_SET) || fread(directory, 1, directory_size, file) != directory_size)
    status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: read error", path);
  size_t filled = 0, at = 0;
  for (; !status && filled < count; ++filled) {
    const unsigned char *record = directory + at;
    if (at + 46 > directory_size || le32(record) != 0x02014b50u) {
      status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: corrupt zip directory", path);
      break;
    }
    uint32_t method = le16(record + 10), stored = le32(record + 20), name_length = le16(record + 28);
    uint32_t extra_length = le16(record + 30), comment_length = le16(record + 32), local = le32(record + 42);
    if (at + 46 + name_length > directory_size) {
      status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: corrupt zip directory", path);
      break;
    }
    char *name = malloc(name_length + 1);
    if (!name) {
      status = effc_status_make(EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    memcpy(name, record + 46, name_length);
    name[name_length] = 0;
    if (name_length > 4 && !strcmp(name + name_length - 4, ".npy"))
      name[name_length - 4] = 0; /* entries are named after the arrays */
    entries[filled].name = name;
    at += 46 + name_length + extra_length + comment_length;
    if (method != 0) {
      status = effc_status_make(EFFC_STATUS_UNIMPLEMENTED,
                                "%s: array '%s' is compressed; save the file with np.savez, not np.savez_compressed",
                                path, name);
      break;
    }
    unsigned char header[30];
    if (fseek(file, (long)local, SEEK_SET) || fread(header, 1, 30, file) != 30 || le32(header) != 0x04034b50u) {
      status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: corrupt zip entry for array '%s'", path, name);
      break;
    }
    uint64_t data = (uint64_t)local + 30 + le16(header + 26) + le16(header + 28);
    if (data + stored > size) {
      status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s is truncated (array '%s')", path, name);
      break;
    }
    if (fseek(file, (long)data, SEEK_SET)) {
      status = effc_status_make(EFFC_STATUS_DATA_LOSS, "%s: read error", path);
      break;
    }
    status = effc_status_annotate(read_file(runtime, name, file, data + stored, &entries[filled].tensor),
                                  "in %s", path);
  }
  free(directory);
  if (status) {
    effc_npz_free(entries, count);
    return status;
  }
  *out_count = count;
  *out_entries = entries;
  return NULL;
}

effc_status_t effc_npz_read(effc_runtime_t *runtime, const char *path, size_t *out_count,
                            effc_npz_entry_t **out_entries) {
  if (out_count)
    *out_count = 0;
  if (out_entries)
    *out_entries = NULL;
  if (!runtime || !path || !out_count || !out_entries)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "effc_npz_read: runtime, path and outputs are required");
  FILE *file;
  uint64_t size;
  EFFC_RETURN_IF_ERROR(open_for_reading(path, &file, &size));
  effc_status_t status = read_archive(runtime, path, file, size, out_count, out_entries);
  fclose(file);
  return status;
}

/*===----------------------------------------------------------------------===*
 * Writing
 *===----------------------------------------------------------------------===*/

effc_status_t effc_npy_write(const effc_tensor_t *tensor, const char *path) {
  if (!tensor || !path)
    return effc_status_make(EFFC_STATUS_INVALID_ARGUMENT, "effc_npy_write: tensor and path are required");
  const char *descr = descr_of(effc_tensor_dtype(tensor));
  if (!descr)
    return effc_status_make(EFFC_STATUS_UNIMPLEMENTED,
                            "cannot write %s: %s tensors have no NumPy dtype; convert to f32 first", path,
                            effc_dtype_name(effc_tensor_dtype(tensor)));

  /* Build the padded header: 10 prefix bytes + header is a multiple of 64 and ends in '\n'. */
  char header[64 + EFFC_MAX_RANK * 24 + 64];
  size_t rank = effc_tensor_rank(tensor);
  const int64_t *dims = effc_tensor_dims(tensor);
  int n = snprintf(header, sizeof(header), "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (size_t i = 0; i < rank; ++i)
    n += snprintf(header + n, sizeof(header) - (size_t)n, i ? ", %lld" : "%lld", (long long)dims[i]);
  n += snprintf(header + n, sizeof(header) - (size_t)n, "%s), }", rank == 1 ? "," : "");
  size_t total = ((10 + (size_t)n + 1 + 63) / 64) * 64;
  size_t header_len = total - 10;
  memset(header + n, ' ', header_len - (size_t)n - 1);
  header[header_len - 1] = '\n';
  unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_len & 0xff),
                              (unsigned char)(header_len >> 8)};

  FILE *file = fopen(path, "wb");
  if (!file)
    return effc_status_make(errno == ENOENT ? EFFC_STATUS_NOT_FOUND : EFFC_STATUS_UNAVAILABLE,
                            "cannot create %s: %s", path, strerror(errno));
  size_t size = effc_tensor_byte_size(tensor);
  int ok = fwrite(prefix, 1, sizeof(prefix), file) == sizeof(prefix) &&
           fwrite(header, 1, header_len, file) == header_len &&
           (size == 0 || fwrite(effc_tensor_data(tensor), 1, size, file) == size);
  ok = (fclose(file) == 0) && ok;
  if (!ok)
    return effc_status_make(EFFC_STATUS_UNAVAILABLE, "cannot write %s: %s", path, strerror(errno));
  return NULL;
}
