/* Metric-vs-N charts (spec §14.3, §15.3): every count of candidates evaluated
 * from one prediction of the largest candidate set (each smaller set is its
 * prefix), one annotated line chart per metric, and the numbers as CSV and JSON.
 * Several queries give the mean with their minimum and maximum, since one query
 * is a noisy estimate. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/query.h"
#include "scan/viz_chart.h"

enum { M = SCAN_QUERY_CHART_METRICS };

/* values [num_counts * M] of one query. */
static scan_status evaluate_query(scan_pipeline *p, scan_net *net, const scan_dataset *val, int query, const int *counts,
                                  int num_counts, double *values) {
  int largest = counts[num_counts - 1];
  int64_t *indices = scan_malloc(sizeof(int64_t) * (size_t)largest);
  if (!indices) return SCAN_ERR_INTERNAL;
  scan_status status = scan_query_candidates_of(p, query, largest, indices);
  scan_query_prediction pr = {0};
  if (status == SCAN_OK) status = scan_query_predict(p, net, indices, largest, &pr);
  for (int c = 0; c < num_counts && status == SCAN_OK; c++) {
    scan_query_scores s;
    status = scan_query_evaluate(val, &pr, counts[c], &s);
    if (status == SCAN_OK) scan_query_scores_values(&s, values + (size_t)c * M);
    scan_query_scores_free(&s);
  }
  scan_query_prediction_free(&pr);
  free(indices);
  return status;
}

static scan_status write_csv(const char *dir, const int *queries, int num_queries, const int *counts, int num_counts,
                             const double *all, const double *mean) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_join(path, sizeof path, dir, "charts.csv"));
  scan_atomic_file af;
  SCAN_TRY(scan_atomic_open(&af, path));
  fprintf(af.file, "query,n");
  for (int k = 0; k < M; k++) fprintf(af.file, ",%s", scan_query_metric_keys[k]);
  fputc('\n', af.file);
  for (int q = 0; q <= num_queries; q++) {
    if (q == num_queries && num_queries == 1) break; /* the mean of one query is that query */
    for (int c = 0; c < num_counts; c++) {
      const double *row = q < num_queries ? all + ((size_t)q * num_counts + c) * M : mean + (size_t)c * M;
      if (q < num_queries) fprintf(af.file, "%d,%d", queries[q], counts[c]);
      else fprintf(af.file, "mean,%d", counts[c]);
      for (int k = 0; k < M; k++) fprintf(af.file, ",%.6f", row[k]);
      fputc('\n', af.file);
    }
  }
  return scan_atomic_commit(&af);
}

static cJSON *number_array(const double *values, int n, int stride) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(values[(size_t)i * stride]));
  return a;
}

static scan_status write_json(const char *dir, const int *queries, int num_queries, const int *counts, int num_counts,
                              const double *all, const double *mean, const double *low, const double *high) {
  cJSON *root = cJSON_CreateObject();
  cJSON *q = cJSON_AddArrayToObject(root, "queries");
  for (int i = 0; i < num_queries; i++) cJSON_AddItemToArray(q, cJSON_CreateNumber(queries[i]));
  cJSON *n = cJSON_AddArrayToObject(root, "n");
  for (int c = 0; c < num_counts; c++) cJSON_AddItemToArray(n, cJSON_CreateNumber(counts[c]));
  cJSON *metrics = cJSON_AddObjectToObject(root, "metrics");
  for (int k = 0; k < M; k++) {
    cJSON *entry = cJSON_AddObjectToObject(metrics, scan_query_metric_keys[k]);
    cJSON_AddStringToObject(entry, "title", scan_query_metric_titles[k]);
    cJSON_AddItemToObject(entry, "mean", number_array(mean + k, num_counts, M));
    cJSON_AddItemToObject(entry, "min", number_array(low + k, num_counts, M));
    cJSON_AddItemToObject(entry, "max", number_array(high + k, num_counts, M));
    cJSON *per_query = cJSON_AddArrayToObject(entry, "per_query");
    for (int i = 0; i < num_queries; i++)
      cJSON_AddItemToArray(per_query, number_array(all + (size_t)i * num_counts * M + k, num_counts, M));
  }
  char path[SCAN_PATH_MAX];
  scan_status status = scan_path_join(path, sizeof path, dir, "charts.json");
  if (status == SCAN_OK) status = scan_write_json_atomic(path, root);
  cJSON_Delete(root);
  return status;
}

static scan_status write_charts(const char *dir, int num_queries, const int *counts, int num_counts, const double *mean,
                                const double *low, const double *high) {
  double *x = scan_malloc(sizeof(double) * (size_t)num_counts);
  double *series = scan_malloc(sizeof(double) * (size_t)num_counts * 3);
  scan_status status = x && series ? SCAN_OK : SCAN_ERR_INTERNAL;
  for (int c = 0; c < num_counts && status == SCAN_OK; c++) x[c] = counts[c];
  char mean_name[64];
  snprintf(mean_name, sizeof mean_name, "mean of %d queries", num_queries);
  const char *names[3] = {num_queries > 1 ? mean_name : "query", "min", "max"};
  for (int k = 0; k < M && status == SCAN_OK; k++) {
    const double *sources[3] = {mean, low, high};
    const double *lines[3];
    for (int s = 0; s < 3; s++) {
      for (int c = 0; c < num_counts; c++) series[(size_t)s * num_counts + c] = sources[s][(size_t)c * M + k];
      lines[s] = series + (size_t)s * num_counts;
    }
    char title[128], path[SCAN_PATH_MAX];
    snprintf(title, sizeof title, "%s Evaluation", scan_query_metric_titles[k]);
    status = scan_path_format(path, sizeof path, "%s/%s.png", dir, scan_query_metric_keys[k]);
    scan_chart_frame frame = {title, "Number of candidates", scan_query_metric_titles[k], 0, 0};
    if (status == SCAN_OK) status = scan_chart_line(path, &frame, x, num_counts, lines, names, num_queries > 1 ? 3 : 1);
  }
  free(x);
  free(series);
  return status;
}

scan_status scan_query_charts(scan_pipeline *p, scan_net *net, const int *queries, int num_queries, const int *counts,
                              int num_counts, const char *dir, double *mean_out) {
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  if (!val->labels) return scan_fail(SCAN_ERR_INPUT, "charts need labels, and %s has none", val->name);
  if (num_queries < 1 || num_counts < 1) return scan_fail(SCAN_ERR_INPUT, "charts need at least one query and one count");
  for (int c = 1; c < num_counts; c++)
    if (counts[c] <= counts[c - 1]) return scan_fail(SCAN_ERR_INPUT, "candidate counts must increase");
  SCAN_TRY(scan_make_dirs(dir));
  size_t table = (size_t)num_counts * M;
  double *all = scan_malloc(sizeof(double) * table * (size_t)num_queries);
  double *mean = scan_calloc(table, sizeof(double)), *low = scan_malloc(sizeof(double) * table),
         *high = scan_malloc(sizeof(double) * table);
  scan_status status = all && mean && low && high ? SCAN_OK : SCAN_ERR_INTERNAL;
  for (int q = 0; q < num_queries && status == SCAN_OK; q++)
    status = evaluate_query(p, net, val, queries[q], counts, num_counts, all + table * (size_t)q);
  for (size_t i = 0; i < table && status == SCAN_OK; i++) {
    low[i] = high[i] = all[i];
    for (int q = 0; q < num_queries; q++) {
      double v = all[table * (size_t)q + i];
      mean[i] += v / num_queries;
      if (v < low[i]) low[i] = v;
      if (v > high[i]) high[i] = v;
    }
  }
  if (status == SCAN_OK) status = write_charts(dir, num_queries, counts, num_counts, mean, low, high);
  if (status == SCAN_OK) status = write_csv(dir, queries, num_queries, counts, num_counts, all, mean);
  if (status == SCAN_OK) status = write_json(dir, queries, num_queries, counts, num_counts, all, mean, low, high);
  if (status == SCAN_OK && mean_out) memcpy(mean_out, mean, sizeof(double) * table);
  free(all);
  free(mean);
  free(low);
  free(high);
  return status;
}
