/* Scores of a query's candidate clustering (spec §14.2 step 5, §15.2): the
 * supervised metrics of metrics.h over the labelled candidates (rectangular
 * matching over the clusters and classes present, §18.1-18.2) and seed 001's
 * silhouette of the probability vectors. */
#include <stdlib.h>
#include <string.h>

#include "scan/query.h"

const char *const scan_query_metric_titles[SCAN_QUERY_CHART_METRICS] = {
    "Accuracy", "Adjusted Rand Index", "Normalized Mutual Information", "Top-5 accuracy",
    "F1 score (weighted)", "Precision (weighted)", "Recall (weighted)", "Silhouette coefficient"};
const char *const scan_query_metric_keys[SCAN_QUERY_CHART_METRICS] = {
    "accuracy", "ari", "nmi", "top5_accuracy", "f1", "precision", "recall", "silhouette"};

void scan_query_scores_values(const scan_query_scores *s, double values[SCAN_QUERY_CHART_METRICS]) {
  const double v[SCAN_QUERY_CHART_METRICS] = {s->acc, s->ari, s->nmi, s->acc_top5, s->f1, s->precision, s->recall,
                                              s->silhouette};
  memcpy(values, v, sizeof v);
}

void scan_query_scores_free(scan_query_scores *s) {
  if (s->evaluated) scan_metrics_free(&s->metrics);
  memset(s, 0, sizeof *s);
}

/* How many distinct values of ids[n] lie in 0..range-1; -1 when out of memory (scan_calloc said so). */
static int distinct(const int32_t *ids, int n, int range) {
  unsigned char *seen = scan_calloc((size_t)range + 1, 1);
  if (!seen) return -1;
  int count = 0;
  for (int i = 0; i < n; i++)
    if (ids[i] >= 0 && ids[i] < range && !seen[ids[i]]) seen[ids[i]] = 1, count++;
  free(seen);
  return count;
}

scan_status scan_query_evaluate(const scan_dataset *val, const scan_query_prediction *pr, int n,
                                scan_query_scores *out) {
  memset(out, 0, sizeof *out);
  if (n < 1 || n > pr->n) return scan_fail(SCAN_ERR_INPUT, "evaluate %d candidates of %d", n, pr->n);
  int C = pr->num_clusters;
  out->n = n;
  out->clusters_present = distinct(pr->pred, n, C);
  if (out->clusters_present < 0) return SCAN_ERR_INTERNAL;
  out->silhouette = scan_silhouette(pr->probs, n, C, pr->pred, &out->silhouette_defined);
  if (!val->labels) return SCAN_OK;

  /* The labelled candidates only: an image without a label can be neither right nor wrong. */
  int classes = val->num_classes;
  for (int i = 0; i < n; i++)
    if (val->labels[pr->indices[i]] >= classes) classes = val->labels[pr->indices[i]] + 1;
  int32_t *pred = scan_malloc(sizeof(int32_t) * (size_t)n), *labels = scan_malloc(sizeof(int32_t) * (size_t)n);
  float *probs = scan_malloc(sizeof(float) * (size_t)n * (size_t)C);
  scan_status status = pred && labels && probs ? SCAN_OK : SCAN_ERR_INTERNAL;
  int m = 0;
  for (int i = 0; i < n && status == SCAN_OK; i++) {
    int32_t y = val->labels[pr->indices[i]];
    if (y < 0) continue;
    pred[m] = pr->pred[i];
    labels[m] = y;
    memcpy(probs + (size_t)m * C, pr->probs + (size_t)i * C, sizeof(float) * (size_t)C);
    m++;
  }
  out->labelled = m;
  if (status == SCAN_OK && m > 0) {
    status = scan_cluster_metrics(pred, labels, m, C, classes, probs, &out->metrics);
    if (status == SCAN_OK) {
      const scan_metrics *r = &out->metrics;
      out->evaluated = 1;
      out->acc = r->acc;
      out->ari = r->ari;
      out->nmi = r->nmi;
      out->acc_top5 = r->has_top5 ? r->acc_top5 : 0;
      out->f1 = r->f1_weighted;
      out->precision = r->precision_weighted;
      out->recall = r->recall_weighted;
      out->classes_present = distinct(labels, m, classes);
      if (out->classes_present < 0) status = SCAN_ERR_INTERNAL;
    }
  }
  free(pred);
  free(labels);
  free(probs);
  return status;
}
