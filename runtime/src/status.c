/*===- status.c - effc runtime status objects -----------------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file implements effc_status_t: a heap object holding a code and a formatted message. When the heap
 * is exhausted, a static status stands in so that errors are never lost.
 *
 *===----------------------------------------------------------------------===*/

#include "effc/runtime/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct effc_status_s {
  effc_status_code_t code;
  char message[]; /* NUL-terminated */
};

/* Returned when a status cannot be allocated; never freed. */
static struct {
  effc_status_code_t code;
  char message[32];
} g_out_of_memory = {EFFC_STATUS_RESOURCE_EXHAUSTED, "out of memory"};
#define OUT_OF_MEMORY ((effc_status_t)(void *)&g_out_of_memory)

/* Formats "prefix" + vformat(args) into a new status. */
static effc_status_t make_status(effc_status_code_t code, const char *prefix, const char *format,
                                 va_list args) {
  va_list copy;
  va_copy(copy, args);
  int len = vsnprintf(NULL, 0, format, copy);
  va_end(copy);
  if (len < 0)
    len = 0;
  size_t prefix_len = prefix ? strlen(prefix) : 0;
  effc_status_t status = malloc(sizeof(*status) + prefix_len + (size_t)len + 1);
  if (!status)
    return OUT_OF_MEMORY;
  status->code = code;
  if (prefix_len)
    memcpy(status->message, prefix, prefix_len);
  vsnprintf(status->message + prefix_len, (size_t)len + 1, format, args);
  return status;
}

effc_status_t effc_status_make(effc_status_code_t code, const char *format, ...) {
  if (code == EFFC_STATUS_OK)
    code = EFFC_STATUS_INTERNAL; /* an error must not look like success */
  va_list args;
  va_start(args, format);
  effc_status_t status = make_status(code, NULL, format, args);
  va_end(args);
  return status;
}

effc_status_t effc_status_annotate(effc_status_t status, const char *format, ...) {
  if (!status || status == OUT_OF_MEMORY)
    return status;
  /* Build "PREFIX: " first, then append the old message. */
  va_list args;
  va_start(args, format);
  effc_status_t prefix = make_status(status->code, NULL, format, args);
  va_end(args);
  if (prefix == OUT_OF_MEMORY)
    return status;
  effc_status_t annotated = effc_status_make(status->code, "%s: %s", prefix->message, status->message);
  effc_status_free(prefix);
  if (annotated == OUT_OF_MEMORY)
    return status;
  effc_status_free(status);
  return annotated;
}

effc_status_code_t effc_status_code(effc_status_t status) { return status ? status->code : EFFC_STATUS_OK; }

const char *effc_status_message(effc_status_t status) { return status ? status->message : "OK"; }

const char *effc_status_code_name(effc_status_code_t code) {
  switch (code) {
  case EFFC_STATUS_OK: return "OK";
  case EFFC_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
  case EFFC_STATUS_NOT_FOUND: return "NOT_FOUND";
  case EFFC_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
  case EFFC_STATUS_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
  case EFFC_STATUS_UNAVAILABLE: return "UNAVAILABLE";
  case EFFC_STATUS_DATA_LOSS: return "DATA_LOSS";
  case EFFC_STATUS_INCOMPATIBLE_VERSION: return "INCOMPATIBLE_VERSION";
  case EFFC_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
  case EFFC_STATUS_INTERNAL: return "INTERNAL";
  }
  return "UNKNOWN";
}

void effc_status_free(effc_status_t status) {
  if (status != OUT_OF_MEMORY)
    free(status);
}
