/* Benchmark case: self-search on random L2-normalised vectors. */
#include <stdlib.h>

#include "scan/knn.h"
#include "scan/knn_bench.h"
#include "scan/progress.h"
#include "scan/rng.h"

double scan_bench_knn(int64_t n, int d, int k) {
  float *x = scan_malloc(sizeof(float) * (size_t)n * d);
  int64_t *indices = scan_malloc(sizeof(int64_t) * (size_t)n * (k + 1));
  double seconds = -1;
  if (x && indices) {
    scan_rng rng = scan_rng_make(12345, (uint64_t)n, (uint64_t)d);
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)scan_rng_normal(&rng);
    scan_l2_normalize_rows(x, n, d);
    double start = scan_now_seconds();
    if (scan_knn_self(x, n, d, k, indices, NULL) == SCAN_OK) seconds = scan_now_seconds() - start;
  }
  free(x);
  free(indices);
  return seconds;
}
