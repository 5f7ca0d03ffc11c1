/* Silhouette coefficient (scikit-learn's silhouette_score, Euclidean): for each
 * sample a = mean distance to the other members of its cluster, b = smallest mean
 * distance to another cluster, s = (b - a) / max(a, b), s = 0 in a singleton
 * cluster; the score is the mean of s. Distances come from blocked GEMM
 * (|x|^2 + |y|^2 - 2 x.y, as scikit-learn's euclidean_distances). */
#include <math.h>
#include <stdlib.h>

#include <oneapi/dnnl/dnnl.h>

#include "scan/metrics.h"

enum { ROW_BLOCK = 128, COL_BLOCK = 1024 };

static int cmp_int32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* Maps labels to 0..L-1; returns L, or -1 when out of memory. */
static int compact_labels(const int32_t *labels, int n, int *compact) {
  int32_t *sorted = malloc(sizeof(int32_t) * n);
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

double scan_silhouette(const float *x, int n, int d, const int32_t *labels, int *defined) {
  if (defined) *defined = 0;
  if (n < 3 || d < 1) return 0;
  int *cluster = malloc(sizeof(int) * n);
  float *sq_norm = malloc(sizeof(float) * n);
  if (!cluster || !sq_norm) {
    free(cluster);
    free(sq_norm);
    return 0;
  }
  int L = compact_labels(labels, n, cluster);
  if (L < 2 || L > n - 1) {
    free(cluster);
    free(sq_norm);
    return 0;
  }
  int64_t *size = calloc(L, sizeof(int64_t));
  if (!size) {
    free(cluster);
    free(sq_norm);
    return 0;
  }
  for (int i = 0; i < n; i++) {
    size[cluster[i]]++;
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[(long)i * d + j] * x[(long)i * d + j];
    sq_norm[i] = (float)s;
  }
  double total = 0;
  int ok = 1;
#pragma omp parallel reduction(+ : total)
  {
    float *tile = malloc(sizeof(float) * ROW_BLOCK * COL_BLOCK);
    double *dist_sum = malloc(sizeof(double) * ROW_BLOCK * L);
    if (!tile || !dist_sum) {
#pragma omp atomic write
      ok = 0;
    }
#pragma omp for schedule(dynamic, 1)
    for (int r0 = 0; r0 < n; r0 += ROW_BLOCK) {
      if (!tile || !dist_sum) continue;
      int rows = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;
      for (long t = 0; t < (long)rows * L; t++) dist_sum[t] = 0;
      for (int c0 = 0; c0 < n; c0 += COL_BLOCK) {
        int cols = n - c0 < COL_BLOCK ? n - c0 : COL_BLOCK;
        dnnl_sgemm('N', 'T', rows, cols, d, 1.0f, x + (long)r0 * d, d, x + (long)c0 * d, d, 0.0f, tile, cols);
        for (int r = 0; r < rows; r++)
          for (int c = 0; c < cols; c++) {
            if (r0 + r == c0 + c) continue; /* distance to itself is 0 */
            float sq = sq_norm[r0 + r] + sq_norm[c0 + c] - 2 * tile[(long)r * cols + c];
            dist_sum[(long)r * L + cluster[c0 + c]] += sqrtf(sq > 0 ? sq : 0);
          }
      }
      for (int r = 0; r < rows; r++) {
        int own = cluster[r0 + r];
        if (size[own] < 2) continue; /* singleton: s = 0 */
        double a = dist_sum[(long)r * L + own] / (double)(size[own] - 1), b = INFINITY;
        for (int c = 0; c < L; c++)
          if (c != own) b = fmin(b, dist_sum[(long)r * L + c] / (double)size[c]);
        double m = fmax(a, b);
        total += m > 0 ? (b - a) / m : 0;
      }
    }
    free(tile);
    free(dist_sum);
  }
  free(cluster);
  free(sq_norm);
  free(size);
  if (!ok) return 0;
  if (defined) *defined = 1;
  return total / n;
}
