#include "eval_output.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/stages.h"
#include "scan/atomic_file.h"
#include "scan/csv.h"
#include "scan/metrics.h"
#include "scan/viz_chart.h"
#include "scan/viz_grid.h"

/* Contact sheets: 5 rows of 10; thumbnails at least MIN_CELL pixels so a 28-pixel image is drawn 4x. */
enum { SHEET_MAX_MEMBERS = 50, SHEET_COLUMNS = 10, PROTOTYPE_COLUMNS = 10, MIN_CELL = 112, BAR_LABEL_SIZE = 40 };

scan_status eval_output_begin(eval_output *o, scan_pipeline *p, const scan_dataset *val, const char *model_path, int heads,
                              int classes, int chosen, int chosen_head) {
  memset(o, 0, sizeof *o);
  o->chosen_head = chosen_head;
  o->p = p;
  o->val = val;
  o->heads = heads;
  o->classes = classes;
  o->chosen = chosen;
  SCAN_TRY(scan_pipeline_path(p, o->dir, sizeof o->dir, "eval/clusters"));
  SCAN_TRY(scan_make_dirs(o->dir));
  SCAN_TRY(scan_pipeline_path(p, o->dir, sizeof o->dir, "eval"));
  o->root = cJSON_CreateObject();
  cJSON_AddStringToObject(o->root, "dataset", val->name);
  cJSON_AddStringToObject(o->root, "model", model_path);
  cJSON_AddNumberToObject(o->root, "count", val->count);
  cJSON_AddNumberToObject(o->root, "num_clusters", classes);
  cJSON_AddNumberToObject(o->root, "num_classes", val->num_classes);
  cJSON_AddBoolToObject(o->root, "labelled", val->labels != NULL);
  cJSON_AddNumberToObject(o->root, "chosen_head", chosen);
  o->heads_json = cJSON_AddArrayToObject(o->root, "heads");
  o->baselines_json = cJSON_AddArrayToObject(o->root, "baseline");
  return SCAN_OK;
}

/* Label-free diagnostics of one clustering: how many clusters are used, how balanced, how confident. */
static scan_status add_diagnostics(cJSON *object, const int32_t *pred, int n, int clusters, const float *probs,
                                   scan_cluster_summary *summary) {
  SCAN_TRY(scan_cluster_summarize(pred, n, clusters, probs, summary));
  cJSON_AddNumberToObject(object, "nonempty_clusters", summary->num_nonempty);
  cJSON_AddNumberToObject(object, "entropy", summary->entropy);
  cJSON_AddNumberToObject(object, "uniform_entropy", log((double)clusters));
  if (summary->has_confidence) cJSON_AddNumberToObject(object, "mean_confidence", summary->mean_confidence);
  return SCAN_OK;
}

scan_status eval_output_add_head(eval_output *o, const char *model, int head, const int32_t *pred, const float *probs,
                                 double scan_loss) {
  const int position = cJSON_GetArraySize(o->heads_json);
  cJSON *h = cJSON_CreateObject();
  cJSON_AddItemToArray(o->heads_json, h);
  if (model) cJSON_AddStringToObject(h, "model", model);
  cJSON_AddNumberToObject(h, "head", head);
  cJSON_AddBoolToObject(h, "chosen", position == o->chosen);
  if (isfinite(scan_loss)) cJSON_AddNumberToObject(h, "scan_loss", scan_loss);
  scan_cluster_summary summary;
  SCAN_TRY(add_diagnostics(h, pred, o->val->count, o->classes, probs, &summary));
  scan_cluster_summary_free(&summary);
  if (!o->val->labels) return SCAN_OK;
  scan_metrics m;
  SCAN_TRY(scan_cluster_metrics(pred, o->val->labels, o->val->count, o->classes, o->val->num_classes, probs, &m));
  scan_metrics_add_json(h, &m);
  scan_metrics_free(&m);
  return SCAN_OK;
}

scan_status eval_output_add_baseline(eval_output *o, const char *name, const int32_t *assign, const int32_t *labels, int n,
                                     int clusters, int classes) {
  scan_metrics m;
  SCAN_TRY(scan_cluster_metrics(assign, labels, n, clusters, classes, NULL, &m));
  cJSON *b = cJSON_CreateObject();
  cJSON_AddStringToObject(b, "name", name);
  scan_metrics_add_json(b, &m);
  cJSON_AddItemToArray(o->baselines_json, b);
  scan_metrics_free(&m);
  return SCAN_OK;
}

static scan_status write_predictions(eval_output *o, const int32_t *pred, const float *confidence) {
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_join(path, sizeof path, o->dir, "predictions.csv"));
  scan_atomic_file af;
  SCAN_TRY(scan_atomic_open(&af, path));
  fprintf(af.file, "index,file,cluster,confidence,label\n");
  for (int i = 0; i < o->val->count; i++) {
    fprintf(af.file, "%d,", i);
    scan_csv_put_field(af.file, o->val->file_names ? o->val->file_names[i] : "");
    fprintf(af.file, ",%d,%.6f,", pred[i], confidence[i]);
    if (o->val->labels) fprintf(af.file, "%d", o->val->labels[i]);
    fputc('\n', af.file);
  }
  return scan_atomic_commit(&af);
}

/* Cell side for thumbnails: the image side times the smallest integer factor reaching MIN_CELL pixels, so
   small images (28 px) are enlarged without blur and their captions fit under them. */
static int thumbnail_cell(const scan_dataset *d) {
  int side = d->height > d->width ? d->height : d->width;
  if (side < 1) side = 1;
  return side * ((MIN_CELL + side - 1) / side);
}

static int by_confidence_desc(const void *a, const void *b, void *ctx) {
  const float *confidence = ctx;
  int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
  if (confidence[i] != confidence[j]) return confidence[i] < confidence[j] ? 1 : -1;
  return (i > j) - (i < j);
}

/* One contact sheet per non-empty cluster: up to SHEET_MAX_MEMBERS members, most confident first, each captioned
   with its confidence (and its true class when there are labels). An empty cluster gets no sheet, and an old
   sheet of that cluster from an earlier evaluation is removed so the report never shows stale members. */
static scan_status write_contact_sheets(eval_output *o, const int32_t *pred, const float *confidence) {
  const scan_dataset *d = o->val;
  int32_t *members = scan_malloc(sizeof(int32_t) * (size_t)d->count);
  scan_grid_cell *cells = scan_calloc(SHEET_MAX_MEMBERS, sizeof *cells);
  char (*captions)[32] = scan_calloc(SHEET_MAX_MEMBERS, 32);
  scan_status status = members && cells && captions ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  int labelled = d->labels && d->class_names;
  uint8_t *pixels = NULL; /* the shown members' images, one cluster at a time */
  for (int c = 0; c < o->classes && status == SCAN_OK; c++) {
    char title[160], path[SCAN_PATH_MAX];
    status = scan_path_format(path, sizeof path, "%s/clusters/cluster_%02d.png", o->dir, c);
    if (status != SCAN_OK) break;
    int count = 0;
    for (int i = 0; i < d->count; i++)
      if (pred[i] == c) members[count++] = i;
    if (count == 0) {
      remove(path);
      continue;
    }
    qsort_r(members, (size_t)count, sizeof *members, by_confidence_desc, (void *)confidence);
    int shown = count < SHEET_MAX_MEMBERS ? count : SHEET_MAX_MEMBERS;
    memset(cells, 0, SHEET_MAX_MEMBERS * sizeof *cells);
    int64_t shown_indices[SHEET_MAX_MEMBERS];
    for (int k = 0; k < shown; k++) shown_indices[k] = members[k];
    status = scan_dataset_gather(d, shown_indices, shown, &pixels);
    if (status != SCAN_OK) break;
    for (int k = 0; k < shown; k++) {
      int i = members[k];
      cells[k] = (scan_grid_cell){pixels + (size_t)k * scan_dataset_image_bytes(d), d->height, d->width, d->channels,
                                  captions[k]};
      if (labelled) snprintf(captions[k], 32, "%.2f %.14s", confidence[i], d->class_names[d->labels[i]]);
      else snprintf(captions[k], 32, "%.2f #%d", confidence[i], i);
    }
    const char *legend = labelled ? "confidence, true class" : "confidence, image index";
    if (count > shown)
      snprintf(title, sizeof title, "Cluster %d: %d images, the %d most confident shown (%s)", c, count, shown, legend);
    else
      snprintf(title, sizeof title, "Cluster %d: %d image%s, most confident first (%s)", c, count, count == 1 ? "" : "s",
               legend);
    scan_grid grid = {(shown + SHEET_COLUMNS - 1) / SHEET_COLUMNS, SHEET_COLUMNS, cells, NULL, title, thumbnail_cell(d), 0};
    status = scan_grid_write_png(path, &grid);
    free(pixels);
    pixels = NULL;
  }
  free(members);
  free(cells);
  free(captions);
  return status;
}

/* prototypes.png (one cell per cluster, in cluster order, empty clusters left blank) and prototypes.json. */
static scan_status write_prototypes(eval_output *o, const int64_t *prototypes, const float *confidence) {
  const scan_dataset *d = o->val;
  int cols = o->classes < PROTOTYPE_COLUMNS ? o->classes : PROTOTYPE_COLUMNS;
  int rows = (o->classes + cols - 1) / cols;
  scan_grid_cell *cells = scan_calloc((size_t)rows * (size_t)cols, sizeof *cells);
  char (*captions)[48] = scan_calloc((size_t)o->classes, 48);
  if (!cells || !captions) {
    free(cells);
    free(captions);
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  }
  uint8_t *pixels = NULL; /* prototype c's image at c * image bytes (zero for an empty cluster) */
  scan_status status = scan_dataset_gather(d, prototypes, o->classes, &pixels);
  if (status != SCAN_OK) {
    free(cells);
    free(captions);
    return status;
  }
  cJSON *json = cJSON_CreateObject();
  cJSON_AddNumberToObject(json, "head", o->chosen_head);
  cJSON_AddNumberToObject(json, "topk", o->topk);
  cJSON *list = cJSON_AddArrayToObject(json, "prototypes");
  for (int c = 0; c < o->classes; c++) {
    int64_t i = prototypes[c];
    cJSON_AddItemToArray(list, cJSON_CreateNumber((double)i));
    cells[c].caption = captions[c];
    if (i < 0) {
      snprintf(captions[c], 48, "%d: empty", c);
      continue;
    }
    snprintf(captions[c], 48, "%d: %.2f", c, confidence[i]);
    cells[c] = (scan_grid_cell){pixels + (size_t)c * scan_dataset_image_bytes(d), d->height, d->width, d->channels,
                                captions[c]};
  }
  scan_grid grid = {rows, cols, cells, NULL, "Prototypes (cluster: confidence)", thumbnail_cell(d), 0};
  char path[SCAN_PATH_MAX];
  status = scan_path_join(path, sizeof path, o->dir, "prototypes.png");
  if (status == SCAN_OK) status = scan_grid_write_png(path, &grid);
  if (status == SCAN_OK) status = scan_path_join(path, sizeof path, o->dir, "prototypes.json");
  if (status == SCAN_OK) status = scan_write_json_atomic(path, json);
  cJSON_Delete(json);
  free(pixels);
  free(cells);
  free(captions);
  return status;
}

/* With labels: each cluster's most frequent class (cluster_names in metrics.json) and the confusion matrix. */
static scan_status write_label_figures(eval_output *o, const int32_t *pred, const float *probs, char **bar_labels) {
  const scan_dataset *d = o->val;
  scan_metrics m;
  SCAN_TRY(scan_cluster_metrics(pred, d->labels, d->count, o->classes, d->num_classes, probs, &m));
  cJSON *names = cJSON_AddArrayToObject(o->root, "cluster_names");
  for (int c = 0; c < o->classes; c++) {
    int cls = m.majority_match[c];
    char fallback[32];
    snprintf(fallback, sizeof fallback, "class %d", cls);
    const char *name = cls < 0 ? "" : d->class_names ? d->class_names[cls] : fallback;
    cJSON_AddItemToArray(names, cJSON_CreateString(name));
    if (name[0]) snprintf(bar_labels[c], BAR_LABEL_SIZE, "%d: %.24s", c, name);
  }
  char path[SCAN_PATH_MAX];
  scan_status status = scan_path_join(path, sizeof path, o->dir, "confusion.png");
  if (status == SCAN_OK) status = scan_confusion_chart(&m, (const char *const *)d->class_names, "Confusion matrix (chosen head)", path);
  scan_metrics_free(&m);
  return status;
}

scan_status eval_output_chosen(eval_output *o, const int32_t *pred, const float *confidence, const float *probs,
                               const float *features, int dim, int topk) {
  const scan_dataset *d = o->val;
  o->topk = topk;
  cJSON *diag = cJSON_AddObjectToObject(o->root, "diagnostics");
  scan_cluster_summary summary;
  SCAN_TRY(add_diagnostics(diag, pred, d->count, o->classes, probs, &summary));
  double *sizes = scan_malloc(sizeof(double) * (size_t)o->classes);
  char **bar_labels = scan_calloc((size_t)o->classes, sizeof *bar_labels);
  int64_t *prototypes = scan_malloc(sizeof(int64_t) * (size_t)o->classes);
  scan_status status = sizes && bar_labels && prototypes ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  cJSON *size_list = cJSON_AddArrayToObject(diag, "cluster_sizes");
  for (int c = 0; c < o->classes && status == SCAN_OK; c++) {
    sizes[c] = (double)summary.sizes[c];
    cJSON_AddItemToArray(size_list, cJSON_CreateNumber(sizes[c]));
    if (!(bar_labels[c] = scan_malloc(BAR_LABEL_SIZE))) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory");
    else snprintf(bar_labels[c], BAR_LABEL_SIZE, "%d", c);
  }
  scan_cluster_summary_free(&summary);
  if (status == SCAN_OK && d->labels) status = write_label_figures(o, pred, probs, bar_labels);
  if (status == SCAN_OK) {
    char path[SCAN_PATH_MAX];
    status = scan_path_join(path, sizeof path, o->dir, "cluster_sizes.png");
    /* about 48 pixels a bar, within 560..1200 pixels */
    int width = 120 + 48 * o->classes < 560 ? 560 : 120 + 48 * o->classes > 1200 ? 1200 : 120 + 48 * o->classes;
    scan_chart_frame frame = {"Cluster sizes (chosen head)", d->labels ? "cluster: its most frequent class" : "cluster",
                              "images", width, 400};
    if (status == SCAN_OK) status = scan_chart_bar(path, &frame, sizes, o->classes, (const char *const *)bar_labels, 0);
  }
  if (status == SCAN_OK) status = scan_prototypes(pred, confidence, features, d->count, dim, o->classes, topk, prototypes);
  if (status == SCAN_OK) status = write_prototypes(o, prototypes, confidence);
  if (status == SCAN_OK) status = write_contact_sheets(o, pred, confidence);
  if (status == SCAN_OK) status = write_predictions(o, pred, confidence);
  free(prototypes);
  for (int c = 0; c < o->classes && bar_labels; c++) free(bar_labels[c]);
  free(bar_labels);
  free(sizes);
  return status;
}

static double number(const cJSON *object, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

/* One line of the metrics table: label metrics when there are labels, else the label-free diagnostics. */
static void print_row(const char *name, const cJSON *m) {
  printf("%-34s", name);
  if (isfinite(number(m, "acc"))) {
    printf(" ACC %6.2f%%  majority %6.2f%%  NMI %.4f  ARI %.4f  AMI %.4f", 100 * number(m, "acc"),
           100 * number(m, "majority_acc"), number(m, "nmi"), number(m, "ari"), number(m, "ami"));
    if (isfinite(number(m, "top5"))) printf("  top-5 %6.2f%%", 100 * number(m, "top5"));
  } else {
    if (isfinite(number(m, "scan_loss"))) printf(" SCAN loss %.4f ", number(m, "scan_loss"));
    printf(" clusters used %.0f of %.0f  entropy %.3f (uniform %.3f)", number(m, "nonempty_clusters"),
           round(exp(number(m, "uniform_entropy"))), number(m, "entropy"), number(m, "uniform_entropy"));
    if (isfinite(number(m, "mean_confidence"))) printf("  mean confidence %.3f", number(m, "mean_confidence"));
  }
  putchar('\n');
}

void scan_eval_head_name(const cJSON *head, char *name, size_t size) {
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(head, "model");
  const cJSON *head_number = cJSON_GetObjectItemCaseSensitive(head, "head");
  const int number = cJSON_IsNumber(head_number) ? head_number->valueint : 0;
  if (cJSON_IsString(model) && strcmp(model->valuestring, "selflabel") == 0) snprintf(name, size, "self-label head");
  else if (cJSON_IsString(model)) snprintf(name, size, "SCAN head %d", number);
  else snprintf(name, size, "head %d", number);
}

scan_status eval_output_finish(eval_output *o) {
  char path[SCAN_PATH_MAX];
  scan_status status = scan_path_join(path, sizeof path, o->dir, "metrics.json");
  if (status == SCAN_OK) status = scan_write_json_atomic(path, o->root);
  if (status == SCAN_OK) {
    printf("%s on %s (%d images, %d clusters):\n", o->val->labels ? "Metrics" : "Label-free diagnostics (no labels)",
           o->val->name, o->val->count, o->classes);
    const cJSON *h;
    int position = 0;
    cJSON_ArrayForEach(h, o->heads_json) {
      char name[64];
      scan_eval_head_name(h, name, sizeof name);
      if (position++ == o->chosen) strncat(name, " (chosen)", sizeof name - strlen(name) - 1);
      print_row(name, h);
    }
    cJSON_ArrayForEach(h, o->baselines_json) print_row(cJSON_GetObjectItemCaseSensitive(h, "name")->valuestring, h);
    if (o->baseline_skipped) printf("%-34s skipped: no labels to score it against\n", "k-means baseline");
    printf("eval: wrote %s\n", path);
  }
  cJSON_Delete(o->root);
  o->root = NULL;
  return status;
}

void eval_output_abort(eval_output *o) {
  cJSON_Delete(o->root);
  o->root = NULL;
}
