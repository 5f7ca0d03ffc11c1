/* Row L2 normalisation (features are compared by cosine similarity). */
#include <math.h>

#include "scan/knn.h"

void scan_l2_normalize_rows(float *x, int64_t n, int d) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float *row = x + i * d;
    double sum = 0;
    for (int j = 0; j < d; j++) sum += (double)row[j] * row[j];
    if (sum > 0) {
      float scale = (float)(1.0 / sqrt(sum));
      for (int j = 0; j < d; j++) row[j] *= scale;
    }
  }
}
