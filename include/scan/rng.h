/* Counter-based randomness: every stream is derived from (seed, a, b), e.g.
 * (seed, epoch, sample index), so results never depend on thread timing. */
#ifndef SCAN_RNG_H
#define SCAN_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } scan_rng; /* xoshiro256** state */

scan_rng scan_rng_make(uint64_t seed, uint64_t a, uint64_t b);
uint64_t scan_rng_next(scan_rng *r);
double scan_rng_uniform(scan_rng *r);                   /* [0, 1) */
double scan_rng_range(scan_rng *r, double lo, double hi); /* [lo, hi) */
int scan_rng_int(scan_rng *r, int n);                    /* uniform in [0, n) */
double scan_rng_normal(scan_rng *r);                     /* standard normal */
void scan_rng_shuffle(scan_rng *r, int32_t *values, int n);

#endif
