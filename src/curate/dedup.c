/* Greedy near-duplicate removal in file order (spec §17.2 step 1), made exact.
 *
 * The reference looks only at each row's top-k neighbours, so a frame with more than k near-copies keeps
 * some of them. Here a kept row's candidate list comes from the blocked GEMM search (scan_knn_self, few
 * candidates, fast); when even its last candidate is at or above the threshold the list may be incomplete,
 * and that row alone is compared with every later row. */
#include <stdlib.h>
#include <string.h>

#include "scan/curate.h"
#include "scan/knn.h"

/* Candidates per row from the GEMM search: near-duplicates are rare in most data, so a few suffice. */
enum { DEDUP_CANDIDATES = 16 };

static double dot(const float *a, const float *b, int d) {
  double s = 0;
  for (int i = 0; i < d; i++) s += (double)a[i] * b[i];
  return s;
}

/* Marks every later row within the threshold of kept row i, scanning them all. */
static void remove_later_by_scan(const float *x, int64_t n, int d, int64_t i, float threshold, uint8_t *keep) {
  const float *xi = x + i * d;
  for (int64_t j = i + 1; j < n; j++)
    if (keep[j] && (float)dot(xi, x + j * d, d) >= threshold) keep[j] = 0;
}

scan_status scan_curate_dedup(const float *x, int64_t n, int d, double threshold, uint8_t *keep, int64_t *kept_count) {
  if (n < 1 || d < 1) return scan_fail(SCAN_ERR_INPUT, "de-duplication: %lld rows of dimension %d", (long long)n, d);
  memset(keep, 1, (size_t)n);
  *kept_count = n;
  if (n == 1 || threshold > 1) return SCAN_OK;
  int k = n - 1 < DEDUP_CANDIDATES ? (int)(n - 1) : DEDUP_CANDIDATES;
  int cols = k + 1; /* column 0 is the row itself */
  int64_t *indices = scan_malloc(sizeof(int64_t) * (size_t)n * (size_t)cols);
  float *similarities = scan_malloc(sizeof(float) * (size_t)n * (size_t)cols);
  scan_status status = indices && similarities ? scan_knn_self(x, n, d, k, indices, similarities) : SCAN_ERR_INTERNAL;
  /* Compare in float, as the search computes: a similarity the search reports as >= threshold is a duplicate. */
  float limit = (float)threshold;
  for (int64_t i = 0; status == SCAN_OK && i < n; i++) {
    if (!keep[i]) continue;
    const int64_t *row = indices + i * cols;
    const float *sim = similarities + i * cols;
    if (k < n - 1 && sim[k] >= limit) {
      remove_later_by_scan(x, n, d, i, limit, keep);
      continue;
    }
    for (int c = 1; c < cols && sim[c] >= limit; c++)
      if (row[c] > i) keep[row[c]] = 0;
  }
  if (status == SCAN_OK) {
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) kept += keep[i];
    *kept_count = kept;
  }
  free(indices);
  free(similarities);
  return status;
}
