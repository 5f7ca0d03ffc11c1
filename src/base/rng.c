#include "scan/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

scan_rng scan_rng_make(uint64_t seed, uint64_t a, uint64_t b) {
  /* Mix the three coordinates through splitmix so nearby (a, b) give unrelated streams. */
  uint64_t x = seed;
  uint64_t h = splitmix64(&x);
  x = h ^ (a * 0xD1B54A32D192ED03ull);
  h = splitmix64(&x);
  x = h ^ (b * 0xABC98388FB8FAC03ull);
  scan_rng r;
  for (int i = 0; i < 4; i++) r.s[i] = splitmix64(&x);
  return r;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t scan_rng_next(scan_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double scan_rng_uniform(scan_rng *r) { return (double)(scan_rng_next(r) >> 11) * 0x1.0p-53; }

double scan_rng_range(scan_rng *r, double lo, double hi) { return lo + (hi - lo) * scan_rng_uniform(r); }

int scan_rng_int(scan_rng *r, int n) {
  if (n <= 1) return 0;
  return (int)(((scan_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double scan_rng_normal(scan_rng *r) {
  double u1 = scan_rng_uniform(r), u2 = scan_rng_uniform(r);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void scan_rng_shuffle(scan_rng *r, int32_t *values, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = scan_rng_int(r, i + 1);
    int32_t t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
}
