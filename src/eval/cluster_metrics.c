/* scan_cluster_metrics: contingency table, Hungarian and majority matching,
 * ACC / top-5 / weighted precision-recall-F1, and the partition scores. */
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"
#include "scan/metrics.h"

void scan_metrics_free(scan_metrics *m) {
  free(m->match);
  free(m->majority_match);
  free(m->contingency);
  m->match = m->majority_match = NULL;
  m->contingency = NULL;
}

/* Hungarian matching restricted to the clusters and classes that occur (spec
 * §18.1): maximise matched counts = minimise (-count). */
static scan_status match_present(const scan_metrics *m, int32_t *match) {
  int C = m->num_clusters, K = m->num_classes;
  int *cluster_ids = scan_malloc(sizeof(int) * C), *class_ids = scan_malloc(sizeof(int) * K);
  int64_t *cluster_size = scan_calloc(C, sizeof(int64_t)), *class_size = scan_calloc(K, sizeof(int64_t));
  /* sized for every cluster and class; only the occurring ones are used */
  double *cost = scan_calloc((size_t)C * K + 1, sizeof(double));
  int *assigned = scan_malloc(sizeof(int) * (C + 1));
  scan_status st = SCAN_OK;
  if (!cluster_ids || !class_ids || !cluster_size || !class_size || !cost || !assigned) {
    st = scan_fail(SCAN_ERR_INTERNAL, "metrics: out of memory");
  } else {
    for (int c = 0; c < C; c++)
      for (int y = 0; y < K; y++) {
        cluster_size[c] += m->contingency[(long)c * K + y];
        class_size[y] += m->contingency[(long)c * K + y];
      }
    int rows = 0, cols = 0;
    for (int c = 0; c < C; c++)
      if (cluster_size[c] > 0) cluster_ids[rows++] = c;
    for (int y = 0; y < K; y++)
      if (class_size[y] > 0) class_ids[cols++] = y;
    for (int r = 0; r < rows; r++)
      for (int q = 0; q < cols; q++)
        cost[(long)r * cols + q] = -(double)m->contingency[(long)cluster_ids[r] * K + class_ids[q]];
    st = scan_hungarian(cost, rows, cols, assigned);
    if (st == SCAN_OK) {
      for (int c = 0; c < C; c++) match[c] = -1;
      for (int r = 0; r < rows; r++)
        if (assigned[r] >= 0) match[cluster_ids[r]] = class_ids[assigned[r]];
    }
  }
  free(cluster_ids);
  free(class_ids);
  free(cluster_size);
  free(class_size);
  free(cost);
  free(assigned);
  return st;
}

/* 1 when y is the match of one of the sample's 5 most probable clusters
 * (higher probability first, smaller cluster id on a tie). */
static int top5_hit(const float *p, int num_clusters, const int32_t *match, int y) {
  int chosen[5], count = num_clusters < 5 ? num_clusters : 5;
  for (int t = 0; t < count; t++) {
    int best = -1;
    for (int c = 0; c < num_clusters; c++) {
      int taken = 0;
      for (int u = 0; u < t; u++) taken |= chosen[u] == c;
      if (!taken && (best < 0 || p[c] > p[best])) best = c;
    }
    chosen[t] = best;
    if (match[best] == y) return 1; /* match -1 (unmatched) never equals a class */
  }
  return 0;
}

static void weighted_scores(scan_metrics *m) {
  int C = m->num_clusters, K = m->num_classes;
  double precision = 0, recall = 0, f1 = 0;
  for (int y = 0; y < K; y++) {
    int64_t support = 0;
    for (int c = 0; c < C; c++) support += m->contingency[(long)c * K + y];
    if (support == 0) continue;
    int64_t tp = 0, predicted = 0; /* at most one cluster is matched to y */
    for (int c = 0; c < C; c++) {
      if (m->match[c] != y) continue;
      tp = m->contingency[(long)c * K + y];
      for (int z = 0; z < K; z++) predicted += m->contingency[(long)c * K + z];
    }
    double p = predicted ? (double)tp / predicted : 0, r = (double)tp / support;
    double weight = (double)support / m->n;
    precision += weight * p;
    recall += weight * r;
    f1 += weight * (p + r > 0 ? 2 * p * r / (p + r) : 0);
  }
  m->precision_weighted = precision;
  m->recall_weighted = recall;
  m->f1_weighted = f1;
}

scan_status scan_cluster_metrics(const int32_t *pred, const int32_t *labels, int n, int num_clusters,
                                 int num_classes, const float *probs, scan_metrics *out) {
  memset(out, 0, sizeof *out);
  if (n < 1 || num_clusters < 1 || num_classes < 1)
    return scan_fail(SCAN_ERR_INPUT, "metrics: need samples, clusters and classes (n=%d clusters=%d classes=%d)", n,
                     num_clusters, num_classes);
  for (int i = 0; i < n; i++) {
    if (pred[i] < 0 || pred[i] >= num_clusters)
      return scan_fail(SCAN_ERR_INPUT, "metrics: sample %d has cluster %d outside 0..%d", i, pred[i],
                       num_clusters - 1);
    if (labels[i] < 0 || labels[i] >= num_classes)
      return scan_fail(SCAN_ERR_INPUT, "metrics: sample %d has label %d outside 0..%d", i, labels[i],
                       num_classes - 1);
  }
  int C = num_clusters, K = num_classes;
  out->num_clusters = C;
  out->num_classes = K;
  out->n = n;
  out->contingency = scan_calloc((size_t)C * K, sizeof(int64_t));
  out->match = scan_malloc(sizeof(int32_t) * C);
  out->majority_match = scan_malloc(sizeof(int32_t) * C);
  if (!out->contingency || !out->match || !out->majority_match) {
    scan_metrics_free(out);
    return scan_fail(SCAN_ERR_INTERNAL, "metrics: out of memory");
  }
  for (int i = 0; i < n; i++) out->contingency[(long)pred[i] * K + labels[i]]++;

  scan_status st = match_present(out, out->match);
  if (st != SCAN_OK) {
    scan_metrics_free(out);
    return st;
  }
  int64_t correct = 0, majority_correct = 0;
  for (int c = 0; c < C; c++) {
    const int64_t *row = out->contingency + (long)c * K;
    if (out->match[c] >= 0) correct += row[out->match[c]];
    int best = 0;
    int64_t size = 0;
    for (int y = 0; y < K; y++) {
      size += row[y];
      if (row[y] > row[best]) best = y;
    }
    out->majority_match[c] = size ? best : -1;
    majority_correct += size ? row[best] : 0;
  }
  out->acc = (double)correct / n;
  out->acc_majority = (double)majority_correct / n;
  if (probs) {
    int64_t hits = 0;
    for (int i = 0; i < n; i++) hits += top5_hit(probs + (long)i * C, C, out->match, labels[i]);
    out->has_top5 = 1;
    out->acc_top5 = (double)hits / n;
  }
  weighted_scores(out);
  out->nmi = scan_contingency_nmi(out->contingency, C, K);
  out->ari = scan_contingency_ari(out->contingency, C, K);
  out->ami = scan_contingency_ami(out->contingency, C, K);
  return SCAN_OK;
}
