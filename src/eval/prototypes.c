/* Cluster prototypes (spec §9.5 corrected per §18.4): the member closest to the
 * mean feature of the cluster's `topk` most confident members. */
#include <math.h>
#include <stdlib.h>

#include "scan/metrics.h"

typedef struct {
  float confidence;
  int64_t index;
} ranked;

static int more_confident_first(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  if (a->confidence != b->confidence) return a->confidence > b->confidence ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

scan_status scan_prototypes(const int32_t *pred, const float *confidence, const float *features, int64_t n,
                            int d, int num_clusters, int topk, int64_t *prototypes) {
  if (topk < 1 || d < 1 || num_clusters < 1 || n < 0)
    return scan_fail(SCAN_ERR_INPUT, "prototypes: need topk >= 1, d >= 1 and clusters >= 1");
  for (int64_t i = 0; i < n; i++)
    if (pred[i] < 0 || pred[i] >= num_clusters)
      return scan_fail(SCAN_ERR_INPUT, "prototypes: sample %lld has cluster %d outside 0..%d", (long long)i,
                       pred[i], num_clusters - 1);
  /* Bucket the samples by cluster (counting sort keeps index order inside a bucket). */
  int64_t *start = scan_calloc(num_clusters + 1, sizeof(int64_t));
  ranked *members = scan_malloc(sizeof(ranked) * (n ? n : 1));
  double *mean = scan_malloc(sizeof(double) * d);
  if (!start || !members || !mean) {
    free(start);
    free(members);
    free(mean);
    return scan_fail(SCAN_ERR_INTERNAL, "prototypes: out of memory");
  }
  for (int64_t i = 0; i < n; i++) start[pred[i] + 1]++;
  for (int c = 0; c < num_clusters; c++) start[c + 1] += start[c];
  int64_t *fill = scan_malloc(sizeof(int64_t) * num_clusters);
  for (int c = 0; c < num_clusters && fill; c++) fill[c] = start[c];
  for (int64_t i = 0; i < n && fill; i++) members[fill[pred[i]]++] = (ranked){confidence[i], i};
  for (int c = 0; c < num_clusters && fill; c++) {
    ranked *m = members + start[c];
    int64_t count = start[c + 1] - start[c];
    prototypes[c] = -1;
    if (count == 0) continue;
    qsort(m, count, sizeof(ranked), more_confident_first);
    int64_t top = count < topk ? count : topk;
    for (int j = 0; j < d; j++) mean[j] = 0;
    for (int64_t t = 0; t < top; t++)
      for (int j = 0; j < d; j++) mean[j] += features[m[t].index * d + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)top;
    double best = INFINITY;
    for (int64_t t = 0; t < top; t++) {
      double dist = 0;
      for (int j = 0; j < d; j++) {
        double diff = features[m[t].index * d + j] - mean[j];
        dist += diff * diff;
      }
      if (dist < best) {
        best = dist;
        prototypes[c] = m[t].index;
      }
    }
  }
  scan_status st = fill ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "prototypes: out of memory");
  free(fill);
  free(start);
  free(members);
  free(mean);
  return st;
}
