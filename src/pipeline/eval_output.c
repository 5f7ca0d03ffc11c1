#include "eval_output.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/metrics.h"
#include "scan/viz_chart.h"
#include "scan/viz_grid.h"

enum { SHEET_MAX_MEMBERS = 48, SHEET_COLUMNS = 12 };

scan_status eval_output_begin(eval_output *o, scan_pipeline *p, const scan_dataset *val, const char *model_path, int heads,
                              int classes, int chosen) {
  memset(o, 0, sizeof *o);
  o->p = p;
  o->val = val;
  o->heads = heads;
  o->classes = classes;
  o->chosen = chosen;
  scan_pipeline_path(p, o->dir, sizeof o->dir, "eval/clusters");
  SCAN_TRY(scan_make_dirs(o->dir));
  scan_pipeline_path(p, o->dir, sizeof o->dir, "eval");
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

static void add_metrics(cJSON *object, const scan_metrics *m) {
  cJSON_AddNumberToObject(object, "acc", m->acc);
  cJSON_AddNumberToObject(object, "majority_acc", m->acc_majority);
  cJSON_AddNumberToObject(object, "nmi", m->nmi);
  cJSON_AddNumberToObject(object, "ari", m->ari);
  cJSON_AddNumberToObject(object, "ami", m->ami);
  if (m->has_top5) cJSON_AddNumberToObject(object, "top5", m->acc_top5);
  cJSON_AddNumberToObject(object, "f1_weighted", m->f1_weighted);
}

scan_status eval_output_add_head(eval_output *o, int head, const int32_t *pred, const float *probs, double scan_loss) {
  cJSON *h = cJSON_CreateObject();
  cJSON_AddItemToArray(o->heads_json, h);
  cJSON_AddNumberToObject(h, "head", head);
  cJSON_AddBoolToObject(h, "chosen", head == o->chosen);
  if (isfinite(scan_loss)) cJSON_AddNumberToObject(h, "scan_loss", scan_loss);
  if (!o->val->labels) return SCAN_OK;
  scan_metrics m;
  SCAN_TRY(scan_cluster_metrics(pred, o->val->labels, o->val->count, o->classes, o->val->num_classes, probs, &m));
  add_metrics(h, &m);
  scan_metrics_free(&m);
  return SCAN_OK;
}

scan_status eval_output_add_baseline(eval_output *o, const char *name, const int32_t *assign, const int32_t *labels, int n,
                                     int clusters, int classes) {
  scan_metrics m;
  SCAN_TRY(scan_cluster_metrics(assign, labels, n, clusters, classes, NULL, &m));
  cJSON *b = cJSON_CreateObject();
  cJSON_AddStringToObject(b, "name", name);
  add_metrics(b, &m);
  cJSON_AddItemToArray(o->baselines_json, b);
  scan_metrics_free(&m);
  return SCAN_OK;
}

static scan_status write_predictions(eval_output *o, const int32_t *pred, const float *confidence) {
  char path[1400];
  snprintf(path, sizeof path, "%s/predictions.csv", o->dir);
  scan_atomic_file af;
  SCAN_TRY(scan_atomic_open(&af, path));
  fprintf(af.file, "index,file,cluster,confidence,label\n");
  for (int i = 0; i < o->val->count; i++) {
    fprintf(af.file, "%d,%s,%d,%.6f,", i, o->val->file_names ? o->val->file_names[i] : "", pred[i], confidence[i]);
    if (o->val->labels) fprintf(af.file, "%d", o->val->labels[i]);
    fputc('\n', af.file);
  }
  return scan_atomic_commit(&af);
}

static int by_confidence_desc(const void *a, const void *b, void *ctx) {
  const float *confidence = ctx;
  int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
  if (confidence[i] != confidence[j]) return confidence[i] < confidence[j] ? 1 : -1;
  return (i > j) - (i < j);
}

/* One contact sheet per cluster: up to SHEET_MAX_MEMBERS members, most confident first. */
static scan_status write_contact_sheets(eval_output *o, const int32_t *pred, const float *confidence) {
  const scan_dataset *d = o->val;
  int32_t *members = scan_malloc(sizeof(int32_t) * (size_t)d->count);
  scan_grid_cell *cells = calloc(SHEET_MAX_MEMBERS, sizeof *cells);
  char (*captions)[32] = calloc(SHEET_MAX_MEMBERS, 32);
  scan_status status = members && cells && captions ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  for (int c = 0; c < o->classes && status == SCAN_OK; c++) {
    int count = 0;
    for (int i = 0; i < d->count; i++)
      if (pred[i] == c) members[count++] = i;
    qsort_r(members, (size_t)count, sizeof *members, by_confidence_desc, (void *)confidence);
    int shown = count < SHEET_MAX_MEMBERS ? count : SHEET_MAX_MEMBERS;
    int rows = shown ? (shown + SHEET_COLUMNS - 1) / SHEET_COLUMNS : 1;
    memset(cells, 0, SHEET_MAX_MEMBERS * sizeof *cells);
    for (int k = 0; k < shown; k++) {
      int i = members[k];
      cells[k] = (scan_grid_cell){scan_dataset_image(d, i), d->height, d->width, d->channels, captions[k]};
      if (d->labels && d->class_names) snprintf(captions[k], 32, "%.2f %.12s", confidence[i], d->class_names[d->labels[i]]);
      else snprintf(captions[k], 32, "#%d %.2f", i, confidence[i]);
    }
    char title[128], path[1400];
    snprintf(title, sizeof title, "cluster %d: %d members%s", c, count, count > shown ? " (most confident shown)" : "");
    snprintf(path, sizeof path, "%s/clusters/cluster_%02d.png", o->dir, c);
    scan_grid grid = {rows, SHEET_COLUMNS, cells, NULL, title, 0, 0};
    status = scan_grid_write_png(path, &grid);
  }
  free(members);
  free(cells);
  free(captions);
  return status;
}

static scan_status write_prototypes(eval_output *o, const int64_t *prototypes, const float *confidence) {
  const scan_dataset *d = o->val;
  scan_grid_cell *cells = calloc((size_t)o->classes, sizeof *cells);
  char (*captions)[48] = calloc((size_t)o->classes, 48);
  if (!cells || !captions) { free(cells); free(captions); return scan_fail(SCAN_ERR_INTERNAL, "out of memory"); }
  cJSON *json = cJSON_CreateObject();
  cJSON_AddNumberToObject(json, "head", o->chosen);
  cJSON *list = cJSON_AddArrayToObject(json, "prototypes");
  for (int c = 0; c < o->classes; c++) {
    int64_t i = prototypes[c];
    cJSON_AddItemToArray(list, cJSON_CreateNumber((double)i));
    if (i < 0) { snprintf(captions[c], 48, "cluster %d: empty", c); cells[c].caption = captions[c]; continue; }
    snprintf(captions[c], 48, "cluster %d (%.2f)", c, confidence[i]);
    cells[c] = (scan_grid_cell){scan_dataset_image(d, (int)i), d->height, d->width, d->channels, captions[c]};
  }
  int cols = o->classes < 10 ? o->classes : 10;
  scan_grid grid = {(o->classes + cols - 1) / cols, cols, cells, NULL, "Cluster prototypes", 0, 0};
  char path[1400];
  snprintf(path, sizeof path, "%s/prototypes.png", o->dir);
  scan_status status = scan_grid_write_png(path, &grid);
  char *text = cJSON_Print(json);
  snprintf(path, sizeof path, "%s/prototypes.json", o->dir);
  if (status == SCAN_OK) status = scan_write_file_atomic(path, text, strlen(text));
  free(text);
  cJSON_Delete(json);
  free(cells);
  free(captions);
  return status;
}

scan_status eval_output_chosen(eval_output *o, const int32_t *pred, const float *confidence, const float *probs,
                               const float *features, int dim, int topk) {
  const scan_dataset *d = o->val;
  scan_cluster_summary summary;
  SCAN_TRY(scan_cluster_summarize(pred, d->count, o->classes, probs, &summary));
  cJSON *diag = cJSON_AddObjectToObject(o->root, "diagnostics");
  double *sizes = scan_malloc(sizeof(double) * (size_t)o->classes);
  char **labels = calloc((size_t)o->classes, sizeof *labels);
  scan_status status = sizes && labels ? SCAN_OK : SCAN_ERR_INTERNAL;
  cJSON *size_list = cJSON_AddArrayToObject(diag, "cluster_sizes");
  for (int c = 0; c < o->classes && status == SCAN_OK; c++) {
    sizes[c] = (double)summary.sizes[c];
    cJSON_AddItemToArray(size_list, cJSON_CreateNumber(sizes[c]));
  }
  cJSON_AddNumberToObject(diag, "entropy", summary.entropy);
  cJSON_AddNumberToObject(diag, "uniform_entropy", log((double)o->classes));
  cJSON_AddNumberToObject(diag, "mean_confidence", summary.mean_confidence);
  cJSON_AddNumberToObject(diag, "nonempty_clusters", summary.num_nonempty);
  scan_cluster_summary_free(&summary);

  /* With labels: name each cluster after its most frequent class, and draw the confusion matrix. */
  cJSON *names = cJSON_AddArrayToObject(o->root, "cluster_names");
  if (status == SCAN_OK && d->labels) {
    scan_metrics m;
    status = scan_cluster_metrics(pred, d->labels, d->count, o->classes, d->num_classes, probs, &m);
    if (status == SCAN_OK) {
      for (int c = 0; c < o->classes; c++) {
        int cls = m.majority_match[c];
        const char *name = cls >= 0 && d->class_names ? d->class_names[cls] : "";
        cJSON_AddItemToArray(names, cJSON_CreateString(name));
        labels[c] = malloc(64);
        if (labels[c]) snprintf(labels[c], 64, "%d %.40s", c, name);
      }
      char path[1400];
      snprintf(path, sizeof path, "%s/confusion.png", o->dir);
      status = scan_confusion_chart(&m, (const char *const *)d->class_names, "Confusion matrix (chosen head)", path);
      scan_metrics_free(&m);
    }
  }
  if (status == SCAN_OK) {
    char path[1400];
    snprintf(path, sizeof path, "%s/cluster_sizes.png", o->dir);
    scan_chart_frame frame = {"Cluster sizes", "cluster", "images", 0, 0};
    status = scan_chart_bar(path, &frame, sizes, o->classes, d->labels ? (const char *const *)labels : NULL, 0);
  }
  int64_t *prototypes = scan_malloc(sizeof(int64_t) * (size_t)o->classes);
  if (status == SCAN_OK && !prototypes) status = SCAN_ERR_INTERNAL;
  if (status == SCAN_OK) status = scan_prototypes(pred, confidence, features, d->count, dim, o->classes, topk, prototypes);
  if (status == SCAN_OK) status = write_prototypes(o, prototypes, confidence);
  if (status == SCAN_OK) status = write_contact_sheets(o, pred, confidence);
  if (status == SCAN_OK) status = write_predictions(o, pred, confidence);
  free(prototypes);
  for (int c = 0; c < o->classes && labels; c++) free(labels[c]);
  free(labels);
  free(sizes);
  return status;
}

static void print_row(const char *name, const cJSON *m) {
  const cJSON *acc = cJSON_GetObjectItemCaseSensitive(m, "acc");
  if (!cJSON_IsNumber(acc)) {
    printf("%-30s (no labels)\n", name);
    return;
  }
  printf("%-30s ACC %6.2f%%  majority %6.2f%%  NMI %.4f  ARI %.4f  AMI %.4f", name, 100 * acc->valuedouble,
         100 * cJSON_GetObjectItemCaseSensitive(m, "majority_acc")->valuedouble,
         cJSON_GetObjectItemCaseSensitive(m, "nmi")->valuedouble, cJSON_GetObjectItemCaseSensitive(m, "ari")->valuedouble,
         cJSON_GetObjectItemCaseSensitive(m, "ami")->valuedouble);
  const cJSON *top5 = cJSON_GetObjectItemCaseSensitive(m, "top5");
  if (cJSON_IsNumber(top5)) printf("  top-5 %6.2f%%", 100 * top5->valuedouble);
  putchar('\n');
}

scan_status eval_output_finish(eval_output *o) {
  char path[1400];
  snprintf(path, sizeof path, "%s/metrics.json", o->dir);
  char *text = cJSON_Print(o->root);
  scan_status status = text ? scan_write_file_atomic(path, text, strlen(text)) : SCAN_ERR_INTERNAL;
  free(text);
  if (status == SCAN_OK) {
    const cJSON *h;
    cJSON_ArrayForEach(h, o->heads_json) {
      char name[64];
      int index = (int)cJSON_GetObjectItemCaseSensitive(h, "head")->valuedouble;
      snprintf(name, sizeof name, "head %d%s", index, index == o->chosen ? " (chosen)" : "");
      print_row(name, h);
    }
    cJSON_ArrayForEach(h, o->baselines_json) print_row(cJSON_GetObjectItemCaseSensitive(h, "name")->valuestring, h);
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
