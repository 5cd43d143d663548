/*
 * parley_sha256.h — SHA-256 (FIPS 180-4) for message ids and federation request digests.
 *
 * Uses the x86 SHA extensions when the CPU has them (checked once, at the first call) and portable C otherwise.
 * Both give the same digests; every function is safe to call from several threads at once.
 */
#ifndef PARLEY_SHA256_H
#define PARLEY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Writes the SHA-256 digest of `len` bytes at `data` to `out` (32 bytes). `data` may be NULL when `len` is 0. */
void parley_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/** Compresses `blocks` 64-byte blocks into `state` (the eight working words), for callers that stream. */
void parley_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

/** The portable compression alone, whatever the CPU has: lets tests compare both paths. */
void parley_sha256_blocks_portable(uint32_t state[8], const uint8_t *data, size_t blocks);

/** 1 when `parley_sha256_blocks` uses the CPU's SHA extensions, 0 when it runs the portable code. */
int parley_sha256_accelerated(void);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_SHA256_H */
