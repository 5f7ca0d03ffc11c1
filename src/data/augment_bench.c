/* scan_bench_augment: the one-thread augmentation throughput behind `scan bench`
 * augment_*_1core. Random images, the strategy's defaults, full scan_augment. */
#include <stdlib.h>
#include <time.h>

#include "scan/augment_bench.h"

double scan_bench_augment(scan_aug_strategy s, int images, int size, int channels) {
  enum { POOL = 64 }; /* distinct source images, reused round-robin */
  if (images < 1 || size < 1 || size > SCAN_AUG_MAX_SIZE || (channels != 1 && channels != 3)) return 0.0;
  long image_bytes = (long)size * size * channels;
  uint8_t *pool = scan_malloc((size_t)(POOL * image_bytes));
  float *out = scan_malloc(sizeof(float) * (size_t)image_bytes);
  if (!pool || !out) {
    free(pool);
    free(out);
    return 0.0;
  }
  scan_rng fill = scan_rng_make(1, 2, 3);
  for (long i = 0; i < POOL * image_bytes; i++) pool[i] = (uint8_t)scan_rng_int(&fill, 256);
  scan_aug_config cfg;
  scan_aug_default(&cfg, s, size, channels);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < images; i++) {
    scan_rng rng = scan_rng_make(42, 0, (uint64_t)i);
    scan_augment(&cfg, pool + (i % POOL) * image_bytes, size, size, &rng, out);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  free(pool);
  free(out);
  return seconds > 0 ? images / seconds : 0.0;
}
