/* `scan annotate`: names that a person gave to the clusters (in the report page, or by hand) applied to a
 * run's predictions. The names file is CSV, either `cluster,name` per line or the page's labels.csv
 * (`file_or_index,cluster,name` per image); a header line is allowed. Writes eval/cluster_names.json
 * and eval/predictions_named.csv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scan/stages.h"
#include "scan/atomic_file.h"
#include "scan/csv.h"
#include "scan/pipeline.h"

enum { MAX_FIELDS = 8, MAX_CLUSTERS = 10000 };

static scan_status read_names(const char *path, char **names, int clusters) {
  unsigned char *text = NULL;
  size_t size = 0;
  SCAN_TRY(scan_read_file_max(path, SCAN_CSV_MAX_BYTES, "a names file", &text, &size));
  if (memchr(text, 0, size)) {
    free(text);
    return scan_fail(SCAN_ERR_INPUT, "%s: not a text file", path);
  }
  scan_csv_reader csv;
  scan_csv_begin(&csv, (char *)text);
  scan_status status = SCAN_OK;
  char *fields[MAX_FIELDS];
  int n;
  while (status == SCAN_OK && (n = scan_csv_next(&csv, fields, MAX_FIELDS)) != 0) {
    if (n < 0) {
      status = scan_fail(SCAN_ERR_INPUT, "%s:%ld: a quoted field is never closed", path, csv.line);
      break;
    }
    if (n == 1 && (!fields[0][0] || fields[0][0] == '#')) continue; /* blank or comment line */
    if (n != 2 && n != 3) {
      status = scan_fail(SCAN_ERR_INPUT, "%s:%ld: expected 'cluster,name' or 'file_or_index,cluster,name'", path, csv.line);
      break;
    }
    const char *cluster_text = fields[n - 2], *name = fields[n - 1];
    char *end = NULL;
    long cluster = strtol(cluster_text, &end, 10);
    if (end == cluster_text || *end) {
      if (csv.line == 1) continue; /* a header line */
      status = scan_fail(SCAN_ERR_INPUT, "%s:%ld: cluster '%s' is not a number", path, csv.line, cluster_text);
      break;
    }
    if (cluster < 0 || cluster >= clusters) {
      status = scan_fail(SCAN_ERR_INPUT, "%s:%ld: cluster %ld is outside 0..%d of this run", path, csv.line, cluster,
                         clusters - 1);
      break;
    }
    if (!name[0]) continue;
    if (names[cluster] && strcmp(names[cluster], name) != 0) {
      status = scan_fail(SCAN_ERR_INPUT, "%s:%ld: cluster %ld is named both '%s' and '%s'", path, csv.line, cluster,
                         names[cluster], name);
      break;
    }
    if (!names[cluster] && !(names[cluster] = strdup(name))) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  }
  free(text);
  return status;
}

/* predictions.csv with each row's cluster name appended; the rows are parsed as CSV records, so a quoted
   file name holding a comma or a line break is one field (and is written back quoted). */
static scan_status write_named_predictions(scan_pipeline *p, char **names, int clusters) {
  char in_path[SCAN_PATH_MAX], out_path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, in_path, sizeof in_path, "eval/predictions.csv"));
  SCAN_TRY(scan_pipeline_path(p, out_path, sizeof out_path, "eval/predictions_named.csv"));
  if (!scan_file_exists(in_path)) return scan_fail(SCAN_ERR_INPUT, "%s: no predictions (run 'scan eval' first)", in_path);
  unsigned char *text = NULL;
  size_t size = 0;
  SCAN_TRY(scan_read_file_max(in_path, SCAN_CSV_MAX_BYTES, "a predictions file", &text, &size));
  scan_atomic_file af;
  scan_status status = scan_atomic_open(&af, out_path);
  scan_csv_reader csv;
  scan_csv_begin(&csv, (char *)text);
  char *fields[MAX_FIELDS];
  int n;
  for (long record = 0; status == SCAN_OK && (n = scan_csv_next(&csv, fields, MAX_FIELDS)) != 0; record++) {
    long cluster = record == 0 ? 0 : n >= 3 && n <= MAX_FIELDS ? strtol(fields[2], NULL, 10) : -1;
    if (n < 0 || n > MAX_FIELDS || cluster < 0 || cluster >= clusters) {
      status = scan_fail(SCAN_ERR_INPUT, "%s:%ld: malformed prediction row", in_path, csv.line);
      break;
    }
    for (int f = 0; f < n; f++) {
      if (f) fputc(',', af.file);
      scan_csv_put_field(af.file, fields[f]);
    }
    fputc(',', af.file);
    scan_csv_put_field(af.file, record == 0 ? "name" : names[cluster] ? names[cluster] : "");
    fputc('\n', af.file);
  }
  free(text);
  if (status == SCAN_OK) return scan_atomic_commit(&af);
  if (af.file) scan_atomic_abort(&af);
  return status;
}

scan_status scan_annotate(scan_pipeline *p, const char *names_path) {
  char path[SCAN_PATH_MAX];
  cJSON *metrics = NULL;
  unsigned char *text = NULL;
  size_t size = 0;
  SCAN_TRY(scan_pipeline_path(p, path, sizeof path, "eval/metrics.json"));
  SCAN_TRY(scan_read_file(path, &text, &size));
  metrics = cJSON_Parse((const char *)text);
  free(text);
  const cJSON *count = cJSON_GetObjectItemCaseSensitive(metrics, "num_clusters");
  int clusters = cJSON_IsNumber(count) ? (int)count->valuedouble : 0;
  cJSON_Delete(metrics);
  if (clusters < 1 || clusters > MAX_CLUSTERS) return scan_fail(SCAN_ERR_INPUT, "%s: no cluster count", path);
  char **names = scan_calloc((size_t)clusters, sizeof *names);
  if (!names) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  scan_status status = read_names(names_path, names, clusters);
  if (status == SCAN_OK) status = write_named_predictions(p, names, clusters);
  if (status == SCAN_OK) {
    cJSON *json = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(json, "names");
    int named = 0;
    for (int c = 0; c < clusters; c++) {
      cJSON_AddItemToArray(list, cJSON_CreateString(names[c] ? names[c] : ""));
      named += names[c] != NULL;
    }
    status = scan_pipeline_path(p, path, sizeof path, "eval/cluster_names.json");
    if (status == SCAN_OK) status = scan_write_json_atomic(path, json);
    cJSON_Delete(json);
    if (status == SCAN_OK) printf("annotate: %d of %d clusters named; wrote eval/predictions_named.csv and eval/cluster_names.json\n", named, clusters);
  }
  for (int c = 0; c < clusters; c++) free(names[c]);
  free(names);
  return status;
}
