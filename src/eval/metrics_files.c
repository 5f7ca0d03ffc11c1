/* `scan metrics`' work: label arrays from files checked against each other, every metric computed, and the
 * result as JSON (also what scan eval's metrics.json uses for each head). */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "scan/metrics.h"

/* The contingency table is [clusters, classes] int64: refuse sizes that would take more than about 200 MB. */
#define MAX_TABLE_CELLS 25000000LL

static int32_t max_id(const int32_t *ids, int64_t n) {
  int32_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (ids[i] > m) m = ids[i];
  return m;
}

scan_status scan_metrics_files(const char *truth_path, const char *pred_path, const char *probs_path, scan_metrics *out) {
  int32_t *truth = NULL, *pred = NULL;
  float *probs = NULL;
  int64_t n_truth = 0, n_pred = 0, n_probs = 0;
  int prob_columns = 0;
  scan_status st = scan_label_file_read(truth_path, "label", &truth, &n_truth);
  if (st == SCAN_OK) st = scan_label_file_read(pred_path, "cluster", &pred, &n_pred);
  if (st == SCAN_OK && probs_path) st = scan_prob_file_read(probs_path, &probs, &n_probs, &prob_columns);
  if (st == SCAN_OK && n_truth != n_pred)
    st = scan_fail(SCAN_ERR_INPUT, "%s has %lld ids but %s has %lld: they must describe the same samples", truth_path,
                   (long long)n_truth, pred_path, (long long)n_pred);
  if (st == SCAN_OK && probs && n_probs != n_pred)
    st = scan_fail(SCAN_ERR_INPUT, "%s has %lld rows but %s has %lld predictions", probs_path, (long long)n_probs, pred_path,
                   (long long)n_pred);
  if (st == SCAN_OK && n_pred > 0x7fffffffLL) st = scan_fail(SCAN_ERR_INPUT, "%s: more than 2^31 samples", pred_path);
  int clusters = 0, classes = 0;
  if (st == SCAN_OK) {
    clusters = max_id(pred, n_pred) + 1;
    classes = max_id(truth, n_truth) + 1;
    /* The probabilities' columns are the clusters: clusters nobody was assigned to still count (empty clusters). */
    if (probs && clusters > prob_columns)
      st = scan_fail(SCAN_ERR_INPUT, "%s has %d columns, but %s assigns cluster %d", probs_path, prob_columns, pred_path,
                     clusters - 1);
    if (probs && prob_columns > clusters) clusters = prob_columns;
  }
  if (st == SCAN_OK && (long long)clusters * classes > MAX_TABLE_CELLS)
    st = scan_fail(SCAN_ERR_INPUT, "%s and %s: %d clusters x %d classes is too large a table (renumber the ids 0, 1, 2, ...)",
                   pred_path, truth_path, clusters, classes);
  if (st == SCAN_OK) st = scan_cluster_metrics(pred, truth, (int)n_pred, clusters, classes, probs, out);
  free(truth);
  free(pred);
  free(probs);
  return st;
}

void scan_metrics_add_json(struct cJSON *object, const scan_metrics *m) {
  cJSON_AddNumberToObject(object, "acc", m->acc);
  cJSON_AddNumberToObject(object, "majority_acc", m->acc_majority);
  cJSON_AddNumberToObject(object, "nmi", m->nmi);
  cJSON_AddNumberToObject(object, "ari", m->ari);
  cJSON_AddNumberToObject(object, "ami", m->ami);
  if (m->has_top5) cJSON_AddNumberToObject(object, "top5", m->acc_top5);
  cJSON_AddNumberToObject(object, "precision_weighted", m->precision_weighted);
  cJSON_AddNumberToObject(object, "recall_weighted", m->recall_weighted);
  cJSON_AddNumberToObject(object, "f1_weighted", m->f1_weighted);
}

void scan_metrics_add_table_json(struct cJSON *object, const scan_metrics *m) {
  cJSON_AddNumberToObject(object, "n", (double)m->n);
  cJSON_AddNumberToObject(object, "num_clusters", m->num_clusters);
  cJSON_AddNumberToObject(object, "num_classes", m->num_classes);
  cJSON *match = cJSON_AddArrayToObject(object, "match");
  for (int c = 0; c < m->num_clusters; c++) cJSON_AddItemToArray(match, cJSON_CreateNumber(m->match[c]));
  cJSON *confusion = cJSON_AddArrayToObject(object, "confusion");
  for (int c = 0; c < m->num_clusters; c++) {
    cJSON *row = cJSON_CreateArray();
    for (int y = 0; y < m->num_classes; y++)
      cJSON_AddItemToArray(row, cJSON_CreateNumber((double)m->contingency[(long)c * m->num_classes + y]));
    cJSON_AddItemToArray(confusion, row);
  }
}
