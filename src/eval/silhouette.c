/* Silhouette coefficient (scikit-learn's silhouette_score, Euclidean): for each
 * sample a = mean distance to the other members of its cluster, b = smallest mean
 * distance to another cluster, s = (b - a) / max(a, b), s = 0 in a singleton
 * cluster; the score is the mean of s.
 *
 * Distances are exact in double, sqrt(sum (x_i - x_j)^2), not the GEMM expansion
 * |x|^2 + |y|^2 - 2 x.y: the expansion cancels for near points, and its float
 * rounding follows the GEMM kernel the CPU picked, so the score moved by 1e-4
 * between AVX2 and AVX-512 machines. Callers score cluster probabilities (d is the
 * number of clusters, n at most a few thousand candidates), where O(n^2 d) double
 * work is a small cost. Each sample's s is summed in index order after the
 * parallel loop, so the score has the same bits for any thread count and CPU. */
#include <math.h>
#include <stdlib.h>

#include "scan/metrics.h"

static int cmp_int32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Maps labels to 0..L-1; returns L, or -1 when out of memory. */
static int compact_labels(const int32_t *labels, int n, int *compact) {
  int32_t *sorted = scan_malloc(sizeof(int32_t) * n);
  if (!sorted) return -1;
  for (int i = 0; i < n; i++) sorted[i] = labels[i];
  qsort(sorted, n, sizeof(int32_t), cmp_int32);
  int count = 0;
  for (int i = 0; i < n; i++)
    if (i == 0 || sorted[i] != sorted[i - 1]) sorted[count++] = sorted[i];
  for (int i = 0; i < n; i++) {
    int32_t *hit = bsearch(&labels[i], sorted, count, sizeof(int32_t), cmp_int32);
    compact[i] = (int)(hit - sorted);
  }
  free(sorted);
  return count;
}

static double distance(const float *x, const float *y, int d) {
  double s = 0;
  for (int t = 0; t < d; t++) {
    double diff = (double)x[t] - y[t];
    s += diff * diff;
  }
  return sqrt(s);
}

/* s of sample i, given its cluster's and the other clusters' sizes; dist_sum [L] is scratch. */
static double sample_score(const float *x, int n, int d, const int *cluster, const int64_t *size, int L, int i,
                           double *dist_sum) {
  int own = cluster[i];
  if (size[own] < 2) return 0; /* singleton: s = 0 */
  for (int c = 0; c < L; c++) dist_sum[c] = 0;
  for (int j = 0; j < n; j++)
    if (j != i) dist_sum[cluster[j]] += distance(x + (size_t)i * d, x + (size_t)j * d, d);
  double a = dist_sum[own] / (double)(size[own] - 1), b = INFINITY;
  for (int c = 0; c < L; c++)
    if (c != own) b = fmin(b, dist_sum[c] / (double)size[c]);
  double m = fmax(a, b);
  return m > 0 ? (b - a) / m : 0;
}

double scan_silhouette(const float *x, int n, int d, const int32_t *labels, int *defined) {
  if (defined) *defined = 0;
  if (n < 3 || d < 1) return 0;
  int *cluster = scan_malloc(sizeof(int) * n);
  double *score = scan_malloc(sizeof(double) * n);
  int64_t *size = NULL;
  int L = cluster && score ? compact_labels(labels, n, cluster) : -1;
  if (L >= 2 && L <= n - 1) size = scan_calloc(L, sizeof(int64_t));
  int ok = size != NULL;
  for (int i = 0; ok && i < n; i++) size[cluster[i]]++;
#pragma omp parallel if (ok)
  {
    double *dist_sum = ok ? scan_malloc(sizeof(double) * L) : NULL;
    if (ok && !dist_sum) {
#pragma omp atomic write
      ok = 0;
    }
#pragma omp for schedule(dynamic, 16)
    for (int i = 0; i < n; i++)
      if (dist_sum) score[i] = sample_score(x, n, d, cluster, size, L, i, dist_sum);
    free(dist_sum);
  }
  double total = 0;
  for (int i = 0; ok && i < n; i++) total += score[i];
  free(cluster);
  free(score);
  free(size);
  if (!ok) return 0;
  if (defined) *defined = 1;
  return total / n;
}
