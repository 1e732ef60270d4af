/*===- status.h - effc runtime status objects -----------------------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * This file declares effc_status_t, the result of every fallible runtime call. NULL means success; any
 * other value is an owned object carrying a code and a message, which the caller must free with
 * effc_status_free (or hand on to its own caller). Modelled on IREE's iree_status_t.
 *
 * Thread-safety: a status object is owned by one thread at a time; the functions below are reentrant.
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_RUNTIME_STATUS_H
#define EFFC_RUNTIME_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Every public runtime function carries EFFC_API so that the shared library exports nothing else. */
#if defined(__GNUC__) || defined(__clang__)
#define EFFC_API __attribute__((visibility("default")))
#define EFFC_PRINTF_FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define EFFC_API
#define EFFC_PRINTF_FORMAT(fmt, args)
#endif

/// Error categories. The numeric values are stable.
typedef enum effc_status_code_e {
  EFFC_STATUS_OK = 0,
  EFFC_STATUS_INVALID_ARGUMENT = 1,     ///< The caller passed something malformed (bad shape, bad file).
  EFFC_STATUS_NOT_FOUND = 2,            ///< A file, function or input does not exist.
  EFFC_STATUS_FAILED_PRECONDITION = 3,  ///< The system is not in a state where the call can succeed.
  EFFC_STATUS_RESOURCE_EXHAUSTED = 4,   ///< Out of memory, or the runtime's memory limit was hit.
  EFFC_STATUS_UNAVAILABLE = 5,          ///< A needed facility (e.g. a GPU driver) is missing.
  EFFC_STATUS_DATA_LOSS = 6,            ///< A file is truncated or corrupt.
  EFFC_STATUS_INCOMPATIBLE_VERSION = 7, ///< A module was compiled for another ABI version.
  EFFC_STATUS_UNIMPLEMENTED = 8,        ///< A valid request the runtime does not support.
  EFFC_STATUS_INTERNAL = 9,             ///< A broken invariant, e.g. compiled code misbehaved.
} effc_status_code_t;

/// An owned error, or NULL for success.
typedef struct effc_status_s *effc_status_t;

/// Creates an error status with a printf-style message. `code` must not be EFFC_STATUS_OK. Never returns
/// NULL: if memory is exhausted it returns a static RESOURCE_EXHAUSTED status (which effc_status_free
/// accepts).
EFFC_API effc_status_t effc_status_make(effc_status_code_t code, const char *format, ...)
    EFFC_PRINTF_FORMAT(2, 3);

/// Returns `status` with "PREFIX: " prepended to its message (the code is kept). NULL stays NULL. Consumes
/// `status`.
EFFC_API effc_status_t effc_status_annotate(effc_status_t status, const char *format, ...)
    EFFC_PRINTF_FORMAT(2, 3);

/// The status's code; EFFC_STATUS_OK for NULL.
EFFC_API effc_status_code_t effc_status_code(effc_status_t status);

/// The status's message, valid until the status is freed; "OK" for NULL.
EFFC_API const char *effc_status_message(effc_status_t status);

/// The code's upper-case name, e.g. "INVALID_ARGUMENT".
EFFC_API const char *effc_status_code_name(effc_status_code_t code);

/// Frees a status. Accepts NULL.
EFFC_API void effc_status_free(effc_status_t status);

/// Returns from the enclosing function (which must return effc_status_t) if `expr` failed.
#define EFFC_RETURN_IF_ERROR(expr)                                                                     \
  do {                                                                                                 \
    effc_status_t effc_status_tmp_ = (expr);                                                           \
    if (effc_status_tmp_)                                                                              \
      return effc_status_tmp_;                                                                         \
  } while (0)

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EFFC_RUNTIME_STATUS_H */
