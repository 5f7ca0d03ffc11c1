/* Neighbour statistics the reference prints: top-k neighbour label agreement
 * (spec §6.5) and the weighted kNN monitor of the memory bank (spec §6.4). */
#include <math.h>
#include <stdlib.h>

#include "scan/knn.h"

double scan_neighbor_accuracy(const int64_t *indices, int64_t n, int cols, const int32_t *labels) {
  if (n <= 0 || cols < 2) return 0.0;
  int64_t agree = 0;
#pragma omp parallel for schedule(static) reduction(+ : agree)
  for (int64_t i = 0; i < n; i++) {
    for (int c = 1; c < cols; c++) {
      int64_t j = indices[i * cols + c];
      agree += j >= 0 && j < n && labels[j] == labels[i];
    }
  }
  return 100.0 * (double)agree / ((double)n * (cols - 1));
}

static int first_label_out_of_range(const int32_t *labels, int64_t n, int num_classes, int64_t *where) {
  for (int64_t i = 0; i < n; i++) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      *where = i;
      return 1;
    }
  }
  return 0;
}

scan_status scan_weighted_knn_accuracy(const float *bank, const int32_t *bank_labels, int64_t nb,
                                       const float *queries, const int32_t *query_labels, int64_t nq,
                                       int d, int k, double temperature, int num_classes,
                                       double *accuracy) {
  if (num_classes < 1 || !(temperature > 0) || k < 1 || nb < 1)
    return scan_fail(SCAN_ERR_INPUT, "weighted knn: need classes >= 1, temperature > 0, k >= 1 and a non-empty bank");
  int64_t where;
  if (first_label_out_of_range(bank_labels, nb, num_classes, &where))
    return scan_fail(SCAN_ERR_INPUT, "weighted knn: bank label %d of sample %lld is outside 0..%d",
                     bank_labels[where], (long long)where, num_classes - 1);
  if (first_label_out_of_range(query_labels, nq, num_classes, &where))
    return scan_fail(SCAN_ERR_INPUT, "weighted knn: query label %d of sample %lld is outside 0..%d",
                     query_labels[where], (long long)where, num_classes - 1);
  *accuracy = 0;
  if (nq == 0) return SCAN_OK;
  if (k > nb) k = (int)nb; /* upstream takes min(K, bank size) implicitly through topk */

  int64_t *neighbors = scan_malloc(sizeof(int64_t) * (size_t)nq * k);
  float *sims = scan_malloc(sizeof(float) * (size_t)nq * k);
  if (!neighbors || !sims) {
    free(neighbors);
    free(sims);
    return SCAN_ERR_INTERNAL;
  }
  scan_status st = scan_knn(queries, nq, bank, nb, d, k, 0, neighbors, sims);
  if (st == SCAN_OK) {
    int64_t correct = 0;
    int no_memory = 0;
#pragma omp parallel reduction(+ : correct)
    {
      double *score = scan_malloc(sizeof(double) * num_classes);
#pragma omp for schedule(static)
      for (int64_t q = 0; q < nq; q++) {
        if (!score) continue;
        for (int c = 0; c < num_classes; c++) score[c] = 0;
        for (int t = 0; t < k; t++)
          score[bank_labels[neighbors[q * k + t]]] += exp(sims[q * k + t] / temperature);
        int best = 0;
        for (int c = 1; c < num_classes; c++)
          if (score[c] > score[best]) best = c;
        correct += best == query_labels[q];
      }
      if (!score) {
#pragma omp atomic write
        no_memory = 1;
      }
      free(score);
    }
    if (no_memory) st = scan_fail(SCAN_ERR_INTERNAL, "weighted knn: out of memory");
    else *accuracy = 100.0 * (double)correct / (double)nq;
  }
  free(neighbors);
  free(sims);
  return st;
}
