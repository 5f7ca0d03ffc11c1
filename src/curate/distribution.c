/* Distances between sets of feature vectors and between class histograms: the evidence that a selection is
 * distributed like its target. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/curate.h"
#include "scan/knn.h"
#include "scan/rng.h"

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double scan_curate_median_sq_distance(const float *x, int64_t nx, const float *y, int64_t ny, int d) {
  if (nx < 1 || ny < 1) return 0;
  double *all = scan_malloc(sizeof(double) * (size_t)nx * (size_t)ny);
  if (!all) return -1;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < nx; i++)
    for (int64_t j = 0; j < ny; j++) all[i * ny + j] = scan_squared_distance(x + i * d, y + j * d, d);
  size_t count = (size_t)nx * (size_t)ny;
  qsort(all, count, sizeof(double), compare_doubles);
  double median = count % 2 ? all[count / 2] : 0.5 * (all[count / 2 - 1] + all[count / 2]);
  free(all);
  return median;
}

/* Mean of the RBF kernel over all pairs of rows of a and b. */
static double mean_kernel(const float *a, int64_t na, const float *b, int64_t nb, int d, double sigma2) {
  double total = 0;
  double scale = -1.0 / (2.0 * sigma2);
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t i = 0; i < na; i++) {
    double row = 0;
    for (int64_t j = 0; j < nb; j++) row += exp(scale * scan_squared_distance(a + i * d, b + j * d, d));
    total += row;
  }
  return total / ((double)na * (double)nb);
}

double scan_curate_mmd_rbf(const float *x, int64_t nx, const float *y, int64_t ny, int d, double sigma2) {
  if (nx < 1 || ny < 1 || !(sigma2 > 0)) return 0;
  double mmd2 = mean_kernel(x, nx, x, nx, d, sigma2) + mean_kernel(y, ny, y, ny, d, sigma2) -
                2 * mean_kernel(x, nx, y, ny, d, sigma2);
  return mmd2 > 0 ? sqrt(mmd2) : 0;
}

int64_t scan_curate_subsample(const float *x, int64_t n, int d, int64_t max_rows, uint64_t seed, uint64_t stream,
                              float *out) {
  if (n <= max_rows) {
    memcpy(out, x, sizeof(float) * (size_t)n * (size_t)d);
    return n;
  }
  /* Selection sampling (Knuth's algorithm S): each row is taken with probability needed/remaining, which
   * picks a uniform subset in increasing order without an index array. */
  scan_rng rng = scan_rng_make(seed, stream, 0);
  int64_t taken = 0;
  for (int64_t i = 0; i < n && taken < max_rows; i++)
    if (scan_rng_uniform(&rng) * (double)(n - i) < (double)(max_rows - taken)) {
      memcpy(out + taken * d, x + i * d, sizeof(float) * (size_t)d);
      taken++;
    }
  return taken;
}

double scan_curate_tv_distance(const int64_t *a, const int64_t *b, int classes) {
  double total_a = 0, total_b = 0;
  for (int c = 0; c < classes; c++) {
    total_a += (double)a[c];
    total_b += (double)b[c];
  }
  if (total_a <= 0 || total_b <= 0) return 0;
  double sum = 0;
  for (int c = 0; c < classes; c++) sum += fabs((double)a[c] / total_a - (double)b[c] / total_b);
  return 0.5 * sum;
}
