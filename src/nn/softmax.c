/* Row-wise softmax, max-shifted for stability. */
#include <math.h>

#include "scan/nn_layers.h"

void scan_softmax_forward(int n, int d, const float *x, float *y) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    const float *xr = x + (int64_t)i * d;
    float *yr = y + (int64_t)i * d;
    float mx = xr[0];
    for (int j = 1; j < d; j++) mx = xr[j] > mx ? xr[j] : mx;
    double sum = 0;
    for (int j = 0; j < d; j++) sum += exp((double)xr[j] - mx);
    for (int j = 0; j < d; j++) yr[j] = (float)(exp((double)xr[j] - mx) / sum);
  }
}
