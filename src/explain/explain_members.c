/* `scan explain --cluster K`: the validation images the model puts in cluster K most confidently,
 * each explained for K. The assignments come from eval's predictions.csv when it is known to describe
 * the same model, otherwise from predicting the split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "scan/model_load.h"
#include "scan/atomic_file.h"
#include "scan/csv.h"
#include "scan/explain_model.h"
#include "scan/nn_layers.h"
#include "scan/progress.h"

typedef struct {
  int index;
  float confidence; /* probability of the assigned cluster */
} member;

static int by_confidence(const void *a, const void *b) {
  const member *p = a, *q = b;
  if (p->confidence != q->confidence) return p->confidence > q->confidence ? -1 : 1;
  return p->index - q->index;
}

static long long modified_ns(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* eval/predictions.csv describes the run's own model when eval/metrics.json names that model file
 * and the CSV is not older than it (a retrained model makes it stale). */
static int predictions_describe_run_model(scan_pipeline *p, const char *csv_path) {
  char model[SCAN_PATH_MAX], metrics[SCAN_PATH_MAX];
  if (scan_pipeline_cluster_model_path(p, model, sizeof model, NULL) != SCAN_OK) {
    scan_error_clear();
    return 0;
  }
  unsigned char *text = NULL;
  size_t size = 0;
  if (scan_pipeline_path(p, metrics, sizeof metrics, "eval/metrics.json") != SCAN_OK ||
      scan_read_file(metrics, &text, &size) != SCAN_OK)
    return 0;
  cJSON *root = cJSON_ParseWithLength((const char *)text, size);
  free(text);
  const cJSON *named = cJSON_GetObjectItemCaseSensitive(root, "model");
  const int same = cJSON_IsString(named) && strcmp(named->valuestring, model) == 0;
  cJSON_Delete(root);
  const long long model_time = modified_ns(model), csv_time = modified_ns(csv_path);
  return same && model_time >= 0 && csv_time >= model_time;
}

/* Reads cluster and confidence of every row of predictions.csv ("index,file,cluster,confidence,label",
 * file possibly quoted). Returns 0 (and the caller predicts instead) unless every val image has a row. */
static int read_predictions(const char *path, int count, int *cluster, float *confidence) {
  unsigned char *text = NULL;
  size_t size = 0;
  if (scan_read_file_max(path, SCAN_CSV_MAX_BYTES, "a predictions file", &text, &size) != SCAN_OK) return 0;
  scan_csv_reader csv;
  scan_csv_begin(&csv, (char *)text);
  char *fields[5];
  int rows = 0, ok = scan_csv_next(&csv, fields, 5) == 5; /* the header */
  for (int n; ok && (n = scan_csv_next(&csv, fields, 5)) != 0; rows++) {
    char *end;
    const long index = strtol(fields[0], &end, 10);
    ok = n == 5 && end != fields[0] && !*end && index >= 0 && index < count;
    if (!ok) break;
    cluster[index] = (int)strtol(fields[2], &end, 10);
    confidence[index] = strtof(fields[3], NULL);
  }
  free(text);
  return ok && rows == count;
}

/* Every val image's cluster and confidence under e's model. */
static scan_status predict_split(scan_pipeline *p, scan_explainer *e, const scan_dataset *val, int *cluster,
                                 float *confidence) {
  float *probs = scan_malloc(sizeof(float) * (size_t)val->count * (size_t)e->clusters);
  if (!probs) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for %d predictions", val->count);
  float *outputs[1] = {probs};
  scan_status status = scan_pipeline_predict(p, e->net, val, "explain: predict", NULL, outputs);
  if (status == SCAN_OK) {
    scan_softmax_forward(val->count, e->clusters, probs, probs); /* in place: each row is read before written */
    for (int i = 0; i < val->count; i++) {
      const float *row = probs + (size_t)i * e->clusters;
      int best = 0;
      for (int k = 1; k < e->clusters; k++)
        if (row[k] > row[best]) best = k;
      cluster[i] = best;
      confidence[i] = row[best];
    }
  }
  free(probs);
  return status;
}

scan_status scan_explain_cluster_members(scan_pipeline *p, const char *model_path, int cluster, int top, int methods,
                                         const char *out_dir, scan_explanation **items_out, int *count_out) {
  if (items_out) *items_out = NULL;
  if (count_out) *count_out = 0;
  if (top < 1) return scan_fail(SCAN_ERR_INPUT, "explain: --top must be at least 1, got %d", top);
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  char dir[SCAN_PATH_MAX], path[SCAN_PATH_MAX];
  scan_explainer e;
  SCAN_TRY(scan_explain_output_dir(p, out_dir, dir, sizeof dir));
  SCAN_TRY(scan_explainer_open_model(&e, p, model_path));
  scan_status status = SCAN_OK;
  if (cluster < 0 || cluster >= e.clusters)
    status = scan_fail(SCAN_ERR_INPUT, "explain: cluster %d does not exist (the model has %d clusters)", cluster, e.clusters);
  int *assigned = scan_malloc(sizeof(int) * ((size_t)val->count + 1));
  float *confidence = scan_malloc(sizeof(float) * ((size_t)val->count + 1));
  member *members = scan_malloc(sizeof(member) * ((size_t)val->count + 1));
  uint8_t *view = scan_malloc((size_t)e.side * e.side * e.channels);
  scan_explanation *items = scan_calloc((size_t)top, sizeof *items);
  if (status == SCAN_OK && (!assigned || !confidence || !members || !view || !items))
    status = scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  if (status == SCAN_OK) status = scan_pipeline_path(p, path, sizeof path, "eval/predictions.csv");
  if (status == SCAN_OK) {
    const int from_eval = !model_path && predictions_describe_run_model(p, path) &&
                          read_predictions(path, val->count, assigned, confidence);
    if (!from_eval) status = predict_split(p, &e, val, assigned, confidence);
  }
  int found = 0, done = 0;
  for (int i = 0; status == SCAN_OK && i < val->count; i++)
    if (assigned[i] == cluster) members[found++] = (member){i, confidence[i]};
  qsort(members, (size_t)found, sizeof *members, by_confidence);
  const int explain = found < top ? found : top;
  scan_progress progress;
  scan_progress_start(&progress, "explain: cluster members", explain, "img");
  for (int m = 0; status == SCAN_OK && m < explain; m++) {
    char prefix[48];
    snprintf(prefix, sizeof prefix, "cluster_%02d_member_%02d", cluster, m);
    status = scan_explainer_view_of(&e, val, members[m].index, view);
    if (status == SCAN_OK) status = scan_explain_image(&e, view, cluster, methods, dir, prefix, &items[done++]);
    items[m].index = members[m].index;
    if (status != SCAN_OK) scan_fail_context(status, "explain: member %d of cluster %d (val image %d)", m, cluster, members[m].index);
    scan_progress_update(&progress, done);
  }
  scan_progress_finish(&progress);
  if (status == SCAN_OK) {
    status = scan_path_format(path, sizeof path, "%s/cluster_%02d_members.json", dir, cluster);
    if (status == SCAN_OK) status = scan_explanations_write_json(path, e.model_source, 0, items, done);
  }
  if (status == SCAN_OK && items_out) {
    *items_out = items;
    *count_out = done;
    items = NULL;
  }
  for (int i = 0; items && i < done; i++) scan_explanation_free(&items[i]);
  free(items);
  free(view);
  free(members);
  free(confidence);
  free(assigned);
  scan_explainer_close(&e);
  return status;
}
