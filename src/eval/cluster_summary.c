/* Label-free diagnostics: cluster sizes, balance (entropy) and confidence. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/metrics.h"

void scan_cluster_summary_free(scan_cluster_summary *s) {
  free(s->sizes);
  s->sizes = NULL;
}

scan_status scan_cluster_summarize(const int32_t *pred, int64_t n, int num_clusters, const float *probs,
                                   scan_cluster_summary *out) {
  memset(out, 0, sizeof *out);
  if (n < 1 || num_clusters < 1)
    return scan_fail(SCAN_ERR_INPUT, "cluster summary: need samples and clusters (n=%lld, clusters=%d)",
                     (long long)n, num_clusters);
  out->sizes = scan_calloc(num_clusters, sizeof(int64_t));
  if (!out->sizes) return scan_fail(SCAN_ERR_INTERNAL, "cluster summary: out of memory");
  out->num_clusters = num_clusters;
  for (int64_t i = 0; i < n; i++) {
    if (pred[i] < 0 || pred[i] >= num_clusters) {
      scan_cluster_summary_free(out);
      return scan_fail(SCAN_ERR_INPUT, "cluster summary: sample %lld has cluster %d outside 0..%d",
                       (long long)i, pred[i], num_clusters - 1);
    }
    out->sizes[pred[i]]++;
  }
  for (int c = 0; c < num_clusters; c++) {
    if (!out->sizes[c]) continue;
    out->num_nonempty++;
    double p = (double)out->sizes[c] / n;
    out->entropy -= p * log(p);
  }
  out->entropy_normalized = num_clusters > 1 ? out->entropy / log(num_clusters) : 1.0;
  if (probs) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
      float best = probs[i * num_clusters];
      for (int c = 1; c < num_clusters; c++) best = fmaxf(best, probs[i * num_clusters + c]);
      sum += best;
    }
    out->has_confidence = 1;
    out->mean_confidence = sum / n;
  }
  return SCAN_OK;
}
