/*===- checksum.h - the checksum of module files and weights ---------------===*
 *
 * SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
 *
 *===----------------------------------------------------------------------===*
 *
 * XXH64 (seed 0), streaming, header-only so that the compiler (lib/Target), the runtime and the tests
 * compute the same value. It runs at memory speed (several GB/s per core), so verifying a model of hundreds
 * of megabytes at load costs a fraction of a second; a byte-at-a-time hash would cost seconds. It detects
 * corruption and accidental mismatches, not tampering by someone who can also rewrite the stored checksum.
 * Multi-byte words are read little-endian, the byte order of every target effc supports.
 *
 *===----------------------------------------------------------------------===*/

#ifndef EFFC_RUNTIME_CHECKSUM_H
#define EFFC_RUNTIME_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EFFC_XXH_P1 UINT64_C(0x9E3779B185EBCA87)
#define EFFC_XXH_P2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define EFFC_XXH_P3 UINT64_C(0x165667B19E3779F9)
#define EFFC_XXH_P4 UINT64_C(0x85EBCA77C2B2AE63)
#define EFFC_XXH_P5 UINT64_C(0x27D4EB2F165667C5)

typedef struct effc_checksum_t {
  uint64_t lanes[4];
  uint64_t total_size;
  unsigned char pending[32]; /* bytes not yet folded into the lanes */
  size_t num_pending;
} effc_checksum_t;

static inline uint64_t effc_checksum_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t effc_checksum_read64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

static inline uint64_t effc_checksum_round(uint64_t lane, uint64_t input) {
  return effc_checksum_rotl(lane + input * EFFC_XXH_P2, 31) * EFFC_XXH_P1;
}

static inline void effc_checksum_init(effc_checksum_t *state) {
  memset(state, 0, sizeof(*state));
  state->lanes[0] = EFFC_XXH_P1 + EFFC_XXH_P2;
  state->lanes[1] = EFFC_XXH_P2;
  state->lanes[2] = 0;
  state->lanes[3] = (uint64_t)0 - EFFC_XXH_P1;
}

static inline void effc_checksum_stripe(effc_checksum_t *state, const unsigned char *stripe) {
  for (int i = 0; i < 4; ++i)
    state->lanes[i] = effc_checksum_round(state->lanes[i], effc_checksum_read64(stripe + 8 * i));
}

static inline void effc_checksum_update(effc_checksum_t *state, const void *data, size_t size) {
  const unsigned char *bytes = (const unsigned char *)data;
  state->total_size += size;
  if (state->num_pending) {
    size_t take = 32 - state->num_pending < size ? 32 - state->num_pending : size;
    memcpy(state->pending + state->num_pending, bytes, take);
    state->num_pending += take;
    bytes += take;
    size -= take;
    if (state->num_pending < 32)
      return;
    effc_checksum_stripe(state, state->pending);
    state->num_pending = 0;
  }
  for (; size >= 32; bytes += 32, size -= 32)
    effc_checksum_stripe(state, bytes);
  memcpy(state->pending, bytes, size);
  state->num_pending = size;
}

static inline uint64_t effc_checksum_merge(uint64_t hash, uint64_t lane) {
  return (hash ^ effc_checksum_round(0, lane)) * EFFC_XXH_P1 + EFFC_XXH_P4;
}

static inline uint64_t effc_checksum_final(const effc_checksum_t *state) {
  const uint64_t *v = state->lanes;
  uint64_t hash;
  if (state->total_size >= 32) {
    hash = effc_checksum_rotl(v[0], 1) + effc_checksum_rotl(v[1], 7) + effc_checksum_rotl(v[2], 12) +
           effc_checksum_rotl(v[3], 18);
    for (int i = 0; i < 4; ++i)
      hash = effc_checksum_merge(hash, v[i]);
  } else {
    hash = EFFC_XXH_P5;
  }
  hash += state->total_size;
  const unsigned char *p = state->pending;
  size_t left = state->num_pending;
  for (; left >= 8; p += 8, left -= 8)
    hash = effc_checksum_rotl(hash ^ effc_checksum_round(0, effc_checksum_read64(p)), 27) * EFFC_XXH_P1 +
           EFFC_XXH_P4;
  if (left >= 4) {
    uint32_t word;
    memcpy(&word, p, sizeof(word));
    hash = effc_checksum_rotl(hash ^ ((uint64_t)word * EFFC_XXH_P1), 23) * EFFC_XXH_P2 + EFFC_XXH_P3;
    p += 4;
    left -= 4;
  }
  for (; left; ++p, --left)
    hash = effc_checksum_rotl(hash ^ ((uint64_t)*p * EFFC_XXH_P5), 11) * EFFC_XXH_P1;
  hash ^= hash >> 33;
  hash *= EFFC_XXH_P2;
  hash ^= hash >> 29;
  hash *= EFFC_XXH_P3;
  hash ^= hash >> 32;
  return hash;
}

/* The checksum of one contiguous range. */
static inline uint64_t effc_checksum(const void *data, size_t size) {
  effc_checksum_t state;
  effc_checksum_init(&state);
  effc_checksum_update(&state, data, size);
  return effc_checksum_final(&state);
}

#ifdef __cplusplus
}
#endif

#endif /* EFFC_RUNTIME_CHECKSUM_H */
