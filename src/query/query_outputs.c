/* The files of one query clustering (spec §14.2, §15.2, §15.4, saved instead of
 * shown): the query image, a contact sheet per cluster, the confusion matrix,
 * metrics.json and members.json, and optionally each cluster's prototype. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/query.h"
#include "scan/viz_grid.h"

enum { SHEET_COLUMNS = 10, SHEET_MAX_MEMBERS = 200 };

/* "<index> <class>" for a candidate (class name shortened to fit under a small image). */
static void member_caption(const scan_dataset *val, int64_t index, char *buf, size_t size) {
  int32_t y = val->labels ? val->labels[index] : -1;
  if (y >= 0 && val->class_names && y < val->num_classes)
    snprintf(buf, size, "#%lld %.10s", (long long)index, val->class_names[y]);
  else
    snprintf(buf, size, "#%lld", (long long)index);
}

/* The query alone, enlarged to at least 192 pixels, captioned with its class when known. */
static scan_status write_query_image(const scan_dataset *val, const scan_query_output_options *o) {
  char caption[128], path[SCAN_PATH_MAX];
  if (o->query_index >= 0) {
    char member[96];
    member_caption(val, o->query_index, member, sizeof member);
    snprintf(caption, sizeof caption, "query %s", member);
  } else {
    const char *base = strrchr(o->query_file, '/');
    snprintf(caption, sizeof caption, "%.100s", base ? base + 1 : o->query_file);
  }
  int side = val->height > val->width ? val->height : val->width;
  scan_grid_cell cell = {o->query_image, val->height, val->width, val->channels, caption};
  scan_grid grid = {1, 1, &cell, NULL, "Query image", side * ((192 + side - 1) / side), 0};
  SCAN_TRY(scan_path_join(path, sizeof path, o->dir, "query.png"));
  return scan_grid_write_png(path, &grid);
}

/* One sheet per present cluster: its members in candidate order (nearest to the query first). */
static scan_status write_cluster_sheet(const scan_dataset *val, const scan_query_prediction *pr,
                                       const scan_query_scores *s, const char *dir, int cluster, const int *members,
                                       int count) {
  int shown = count < SHEET_MAX_MEMBERS ? count : SHEET_MAX_MEMBERS;
  int cols = shown < SHEET_COLUMNS ? shown : SHEET_COLUMNS, rows = (shown + cols - 1) / cols;
  scan_grid_cell *cells = scan_calloc((size_t)rows * cols, sizeof *cells); /* the last row's spare cells stay empty */
  char(*captions)[48] = scan_calloc((size_t)shown, 48);
  if (!cells || !captions) {
    free(cells);
    free(captions);
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  }
  int64_t shown_indices[SHEET_MAX_MEMBERS];
  for (int k = 0; k < shown; k++) shown_indices[k] = pr->indices[members[k]];
  uint8_t *pixels = NULL;
  scan_status status = scan_dataset_gather(val, shown_indices, shown, &pixels);
  for (int k = 0; k < shown && status == SCAN_OK; k++) {
    member_caption(val, shown_indices[k], captions[k], 48);
    cells[k] = (scan_grid_cell){pixels + (size_t)k * scan_dataset_image_bytes(val), val->height, val->width,
                                val->channels, captions[k]};
  }
  char title[192], matched[96] = "", path[SCAN_PATH_MAX];
  int32_t cls = s->evaluated ? s->metrics.match[cluster] : -1;
  if (cls >= 0)
    snprintf(matched, sizeof matched, ", matched to class %.60s",
             val->class_names && cls < val->num_classes ? val->class_names[cls] : "a class");
  snprintf(title, sizeof title, "cluster %d: %d of %d candidates%s%s", cluster, count, pr->n, matched,
           count > shown ? " (nearest shown)" : "");
  scan_grid grid = {rows, cols, cells, NULL, title, 0, 0};
  if (status == SCAN_OK) status = scan_path_format(path, sizeof path, "%s/cluster_%02d.png", dir, cluster);
  if (status == SCAN_OK) status = scan_grid_write_png(path, &grid);
  free(pixels);
  free(cells);
  free(captions);
  return status;
}

static scan_status write_prototype(const scan_dataset *val, const char *dir, int cluster, int64_t index) {
  char caption[64], member[48], path[SCAN_PATH_MAX], title[64];
  member_caption(val, index, member, sizeof member);
  snprintf(caption, sizeof caption, "%s", member);
  snprintf(title, sizeof title, "Prototype of cluster %d", cluster);
  int side = val->height > val->width ? val->height : val->width;
  uint8_t *pixels = NULL;
  SCAN_TRY(scan_dataset_gather(val, &index, 1, &pixels));
  scan_grid_cell cell = {pixels, val->height, val->width, val->channels, caption};
  scan_grid grid = {1, 1, &cell, NULL, title, side * ((128 + side - 1) / side), 0};
  scan_status status = scan_path_format(path, sizeof path, "%s/prototype_%02d.png", dir, cluster);
  if (status == SCAN_OK) status = scan_grid_write_png(path, &grid);
  free(pixels);
  return status;
}

static scan_status write_json(const char *dir, const char *name, cJSON *json) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_join(path, sizeof path, dir, name));
  return scan_write_json_atomic(path, json);
}

static void add_query(cJSON *json, const scan_dataset *val, const scan_query_output_options *o, int n) {
  if (o->query_index >= 0) {
    cJSON_AddNumberToObject(json, "query", o->query_index);
    int32_t y = val->labels ? val->labels[o->query_index] : -1;
    if (y >= 0) cJSON_AddNumberToObject(json, "query_label", y);
    if (y >= 0 && val->class_names && y < val->num_classes) cJSON_AddStringToObject(json, "query_class", val->class_names[y]);
  } else {
    cJSON_AddNullToObject(json, "query");
    cJSON_AddStringToObject(json, "query_image", o->query_file);
  }
  cJSON_AddNumberToObject(json, "n", n);
}

static cJSON *metrics_json(const scan_dataset *val, const scan_query_prediction *pr, const scan_query_scores *s,
                           const scan_query_output_options *o) {
  cJSON *json = cJSON_CreateObject();
  add_query(json, val, o, pr->n);
  if (o->model_path) cJSON_AddStringToObject(json, "model", o->model_path);
  cJSON_AddNumberToObject(json, "labelled", s->labelled);
  cJSON_AddNumberToObject(json, "clusters_present", s->clusters_present);
  cJSON_AddNumberToObject(json, "classes_present", s->classes_present);
  double values[SCAN_QUERY_CHART_METRICS];
  scan_query_scores_values(s, values);
  for (int k = 0; k < SCAN_QUERY_CHART_METRICS; k++) {
    int defined = k == SCAN_QUERY_CHART_METRICS - 1 ? s->silhouette_defined : s->evaluated;
    if (defined) cJSON_AddNumberToObject(json, scan_query_metric_keys[k], values[k]);
    else cJSON_AddNullToObject(json, scan_query_metric_keys[k]);
  }
  if (s->evaluated) {
    cJSON *match = cJSON_AddObjectToObject(json, "hungarian_match");
    for (int c = 0; c < pr->num_clusters; c++) {
      if (s->metrics.match[c] < 0) continue;
      char key[16];
      snprintf(key, sizeof key, "%d", c);
      cJSON_AddNumberToObject(match, key, s->metrics.match[c]);
    }
  }
  return json;
}

scan_status scan_query_write_outputs(scan_pipeline *p, const scan_query_prediction *pr, const scan_query_scores *s,
                                     const scan_query_output_options *o, int64_t *prototypes_out) {
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  SCAN_TRY(scan_make_dirs(o->dir));
  SCAN_TRY(write_query_image(val, o));
  int C = pr->num_clusters;
  int *members = scan_malloc(sizeof(int) * (size_t)pr->n);
  int64_t *prototypes = scan_malloc(sizeof(int64_t) * (size_t)C);
  float *confidence = scan_malloc(sizeof(float) * (size_t)pr->n);
  scan_status status = members && prototypes && confidence ? SCAN_OK : SCAN_ERR_INTERNAL;
  for (int c = 0; c < C && status == SCAN_OK; c++) prototypes[c] = -1;
  if (status == SCAN_OK && o->prototypes) {
    for (int i = 0; i < pr->n; i++) confidence[i] = pr->probs[(size_t)i * C + pr->pred[i]];
    status = scan_prototypes(pr->pred, confidence, pr->features, pr->n, pr->feature_dim, C,
                             o->prototype_topk > 0 ? o->prototype_topk : 1, prototypes);
    for (int c = 0; c < C && status == SCAN_OK; c++) /* candidate positions -> dataset indices */
      prototypes[c] = prototypes[c] >= 0 ? pr->indices[prototypes[c]] : -1;
  }
  cJSON *members_json = cJSON_CreateObject();
  add_query(members_json, val, o, pr->n);
  cJSON *clusters = cJSON_AddArrayToObject(members_json, "clusters");
  for (int c = 0; c < C && status == SCAN_OK; c++) {
    int count = 0;
    for (int i = 0; i < pr->n; i++)
      if (pr->pred[i] == c) members[count++] = i;
    if (count == 0) continue;
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddItemToArray(clusters, entry);
    cJSON_AddNumberToObject(entry, "cluster", c);
    if (s->evaluated && s->metrics.match[c] >= 0) cJSON_AddNumberToObject(entry, "matched_class", s->metrics.match[c]);
    if (o->prototypes) cJSON_AddNumberToObject(entry, "prototype", (double)prototypes[c]);
    cJSON *list = cJSON_AddArrayToObject(entry, "members");
    for (int k = 0; k < count; k++) cJSON_AddItemToArray(list, cJSON_CreateNumber((double)pr->indices[members[k]]));
    status = write_cluster_sheet(val, pr, s, o->dir, c, members, count);
    if (status == SCAN_OK && o->prototypes) status = write_prototype(val, o->dir, c, prototypes[c]);
    if (status == SCAN_OK && o->prototypes && o->explain) status = o->explain(o->explain_ctx, p, prototypes[c], c, o->dir);
  }
  if (status == SCAN_OK) status = write_json(o->dir, "members.json", members_json);
  cJSON_Delete(members_json);
  if (status == SCAN_OK) {
    cJSON *json = metrics_json(val, pr, s, o);
    status = write_json(o->dir, "metrics.json", json);
    cJSON_Delete(json);
  }
  if (status == SCAN_OK && s->evaluated) {
    char path[SCAN_PATH_MAX], title[128];
    status = scan_path_join(path, sizeof path, o->dir, "confusion.png");
    snprintf(title, sizeof title, "Confusion matrix of %d candidates", pr->n);
    int names_fit = val->class_names && s->metrics.num_classes == val->num_classes;
    if (status == SCAN_OK) status = scan_confusion_chart(&s->metrics, names_fit ? (const char *const *)val->class_names : NULL, title, path);
  }
  if (status == SCAN_OK && prototypes_out) memcpy(prototypes_out, prototypes, sizeof(int64_t) * (size_t)C);
  free(members);
  free(prototypes);
  free(confidence);
  return status;
}
