/* Row-wise L2 normalisation, y = x / max(|x|, 1e-12) (torch.nn.functional.normalize). */
#include <math.h>

#include "parallel.h"
#include "scan/nn_layers.h"

static const double kNormEps = 1e-12;

static double row_norm(int d, const float *x) {
  double sum = 0;
  for (int j = 0; j < d; j++) sum += (double)x[j] * x[j];
  return sqrt(sum);
}

void scan_l2norm_forward(int n, int d, const float *x, float *y) {
#pragma omp parallel for schedule(static) if ((int64_t)n * d >= SCAN_PARALLEL_MIN_WORK)
  for (int i = 0; i < n; i++) {
    const float *xr = x + (int64_t)i * d;
    float *yr = y + (int64_t)i * d;
    double norm = row_norm(d, xr);
    double inv = 1.0 / (norm > kNormEps ? norm : kNormEps);
    for (int j = 0; j < d; j++) yr[j] = (float)(xr[j] * inv);
  }
}

/* Above the clamp, dx = (dy - y (y . dy)) / |x|; below it the map is x / eps, a plain scaling. */
void scan_l2norm_backward(int n, int d, const float *x, const float *y, const float *dy, float *dx) {
#pragma omp parallel for schedule(static) if ((int64_t)n * d >= SCAN_PARALLEL_MIN_WORK)
  for (int i = 0; i < n; i++) {
    const float *xr = x + (int64_t)i * d, *yr = y + (int64_t)i * d, *gr = dy + (int64_t)i * d;
    float *dr = dx + (int64_t)i * d;
    double norm = row_norm(d, xr);
    if (norm <= kNormEps) {
      for (int j = 0; j < d; j++) dr[j] = (float)(gr[j] / kNormEps);
      continue;
    }
    double dot = 0;
    for (int j = 0; j < d; j++) dot += (double)yr[j] * gr[j];
    for (int j = 0; j < d; j++) dr[j] = (float)((gr[j] - yr[j] * dot) / norm);
  }
}
