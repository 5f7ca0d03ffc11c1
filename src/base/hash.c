#include "scan/hash.h"

#include <string.h>

/* One multiply per 8-byte word, then a final avalanche (the murmur3 finaliser) so every input bit reaches every
   output bit; the length goes in too, so trailing zero bytes count. */
static uint64_t mix(uint64_t h, uint64_t word) { return (h ^ word) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull; }

uint64_t scan_hash_bytes(uint64_t h, const void *data, size_t size) {
  const unsigned char *p = data;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    memcpy(&word, p + i, 8);
    h = mix(h, word);
  }
  uint64_t tail = 0;
  if (size > i) memcpy(&tail, p + i, size - i);
  h = mix(mix(h, tail), (uint64_t)size);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

uint64_t scan_hash_string(uint64_t h, const char *text) { return scan_hash_bytes(h, text, strlen(text) + 1); }
