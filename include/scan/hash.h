/* A 64-bit non-cryptographic hash for telling whether bytes changed (config.yml checksums, data fingerprints,
 * stage stamps). Not for security: anyone can forge a match on purpose; it catches truncation, edits and
 * changed data. */
#ifndef SCAN_HASH_H
#define SCAN_HASH_H

#include <stddef.h>
#include <stdint.h>

enum { SCAN_HASH_SEED = 0x5CA11 };

/* Continues `h` (start with SCAN_HASH_SEED) over `size` bytes; 8 bytes a step, so a dataset of 150 MB takes
   about a tenth of a second. The result depends on the byte order of the machine. */
uint64_t scan_hash_bytes(uint64_t h, const void *data, size_t size);
/* Continues `h` over a NUL-terminated string and a separator, so ("ab", "c") and ("a", "bc") differ. */
uint64_t scan_hash_string(uint64_t h, const char *text);

#endif
