/* Input checks shared by the kNN searches. */
#include <math.h>
#include <stdint.h>

#include "topk.h"

int64_t scan_knn_first_nonfinite_row(const float *x, int64_t n, int d) {
  int64_t first = INT64_MAX;
#pragma omp parallel for schedule(static) reduction(min : first)
  for (int64_t i = 0; i < n; i++) {
    const float *row = x + i * d;
    int finite = 1;
    for (int j = 0; j < d; j++) finite &= isfinite(row[j]) != 0;
    if (!finite && i < first) first = i;
  }
  return first == INT64_MAX ? -1 : first;
}
