/* Row-wise ops over [n, d] (the heads): a linear layer's bias and L2 normalisation. Plain loops with double sums are
 * both the reference and fast enough for rows of a few hundred values next to the matrix products around them, so
 * the naive and the oneDNN backend share them (cpu_layers.h). */
#include <math.h>

#include "cpu_layers.h"
#include "cpu_parallel.h"

static const double kNormEps = 1e-12;

scan_status rows_bias_forward(int n, int d, const float *b, float *y) {
#pragma omp parallel for schedule(static) if ((int64_t)n * d >= SCAN_PARALLEL_MIN_WORK)
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) y[(int64_t)i * d + j] += b[j];
  return SCAN_OK;
}

scan_status rows_bias_backward(int n, int d, const float *dy, float *db) {
#pragma omp parallel for schedule(static) if ((int64_t)n * d >= SCAN_PARALLEL_MIN_WORK)
  for (int j = 0; j < d; j++) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += dy[(int64_t)i * d + j];
    db[j] += (float)sum;
  }
  return SCAN_OK;
}

static double row_norm(int d, const float *x) {
  double sum = 0;
  for (int j = 0; j < d; j++) sum += (double)x[j] * x[j];
  return sqrt(sum);
}

/* y = x / max(|x|, 1e-12) */
scan_status rows_l2norm_forward(int n, int d, const float *x, float *y) {
#pragma omp parallel for schedule(static) if ((int64_t)n * d >= SCAN_PARALLEL_MIN_WORK)
  for (int i = 0; i < n; i++) {
    const float *xr = x + (int64_t)i * d;
    float *yr = y + (int64_t)i * d;
    double norm = row_norm(d, xr);
    double inv = 1.0 / (norm > kNormEps ? norm : kNormEps);
    for (int j = 0; j < d; j++) yr[j] = (float)(xr[j] * inv);
  }
  return SCAN_OK;
}

/* Above the clamp, dx = (dy - y (y . dy)) / |x|; below it the map is x / eps, a plain scaling. */
scan_status rows_l2norm_backward(int n, int d, const float *x, const float *y, const float *dy, float *dx) {
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
  return SCAN_OK;
}
