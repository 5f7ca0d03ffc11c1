/* `scan predict`: a trained clustering model over new images, batch by batch (include/scan/predict.h).
 * The model is loaded as `scan eval` loads it (every head, the chosen one predicts) and the images go through
 * the same validation transform in batches of the same size, so images eval has seen get eval's clusters. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict_internal.h"
#include "scan/model_load.h"
#include "scan/atomic_file.h"
#include "scan/csv.h"
#include "scan/nn_layers.h"
#include "scan/progress.h"

enum { PREDICT_BATCH = 256 }; /* scan eval's batch: the same batches round the same way */

/* The cluster names of an annotated run (eval/cluster_names.json, written by `scan annotate`), when they are
   for as many clusters as the model has; else all NULL. */
static char **read_cluster_names(const scan_pipeline *p, int clusters) {
  char **names = scan_calloc((size_t)clusters, sizeof *names);
  char path[SCAN_PATH_MAX];
  unsigned char *text = NULL;
  size_t size = 0;
  if (!names || scan_pipeline_path(p, path, sizeof path, "eval/cluster_names.json") != SCAN_OK ||
      scan_read_file(path, &text, &size) != SCAN_OK) {
    scan_error_clear();
    return names;
  }
  cJSON *root = cJSON_ParseWithLength((const char *)text, size);
  free(text);
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "names");
  if (cJSON_GetArraySize(list) == clusters)
    for (int c = 0; c < clusters; c++) {
      const cJSON *item = cJSON_GetArrayItem(list, c);
      if (cJSON_IsString(item) && item->valuestring[0]) names[c] = strdup(item->valuestring);
    }
  cJSON_Delete(root);
  return names;
}

static void free_names(char **names, int clusters) {
  for (int c = 0; names && c < clusters; c++) free(names[c]);
  free(names);
}

/* The model as `scan eval` builds it: every cluster head of the file, input channels from the file itself. */
static scan_status load_model(scan_pipeline *p, const char *path, scan_model_info *info, scan_net **net) {
  SCAN_TRY(scan_model_info_read(path, info));
  if (info->in_channels != 0 && info->in_channels != 1 && info->in_channels != 3)
    return scan_fail(SCAN_ERR_INPUT, "%s: the model takes %d-channel images; scan reads grey (1) or RGB (3) images", path,
                     info->in_channels);
  if (info->in_channels > 0) scan_pipeline_set_input(p, info->in_channels);
  scan_head_config head = {SCAN_HEAD_CLUSTER, 0, info->heads, info->classes};
  SCAN_TRY(scan_pipeline_create_net_with_head(p, "cluster", &head, PREDICT_BATCH, net));
  scan_status status = scan_net_load(*net, path, NULL);
  if (status != SCAN_OK) {
    scan_net_free(*net);
    *net = NULL;
    return scan_fail_context(status, "%s does not fit this run's configuration (backbone, widths, classes)", path);
  }
  return SCAN_OK;
}

typedef struct {
  const scan_predict_request *req;
  predict_source source;
  predict_sorter sorter;
  scan_net *net;
  scan_model_info info;
  scan_aug_config aug;
  int resize_to; /* the training images' size when their reader resized them (folder, list with image_size) */
  char **names;
  int64_t *sizes;
  int top_k;
  scan_atomic_file csv, failed_csv;
  int failed_open;
  char failed_path[SCAN_PATH_MAX];
  float *input, *probs;
  int *ok, *order;
  char (*messages)[PREDICT_MESSAGE_SIZE];
} predictor;

static void write_header(predictor *r) {
  fputs("index,file,cluster,name,confidence", r->csv.file);
  for (int j = 1; j <= r->top_k; j++) fprintf(r->csv.file, ",top%d_cluster,top%d_prob", j, j);
  fputc('\n', r->csv.file);
}

/* The row of one predicted image: its cluster and the top_k most probable clusters (smaller id on a tie). */
static void write_row(predictor *r, long index, const float *prob) {
  const int clusters = r->info.classes;
  for (int c = 0; c < clusters; c++) r->order[c] = c;
  for (int j = 0; j < r->top_k; j++) { /* partial selection sort: top_k is small */
    int best = j;
    for (int c = j + 1; c < clusters; c++) {
      const int candidate = r->order[c], leader = r->order[best];
      if (prob[candidate] > prob[leader] || (prob[candidate] == prob[leader] && candidate < leader)) best = c;
    }
    int t = r->order[j];
    r->order[j] = r->order[best];
    r->order[best] = t;
  }
  const int cluster = r->order[0];
  char name_buf[32];
  fprintf(r->csv.file, "%ld,", index);
  scan_csv_put_field(r->csv.file, predict_source_name(&r->source, index, name_buf, sizeof name_buf));
  fprintf(r->csv.file, ",%d,", cluster);
  scan_csv_put_field(r->csv.file, r->names[cluster] ? r->names[cluster] : "");
  fprintf(r->csv.file, ",%.6f", prob[cluster]);
  for (int j = 0; j < r->top_k; j++) fprintf(r->csv.file, ",%d,%.6f", r->order[j], prob[r->order[j]]);
  fputc('\n', r->csv.file);
  r->sizes[cluster]++;
}

static scan_status record_failure(predictor *r, long index, const char *message) {
  char name_buf[32];
  const char *name = predict_source_name(&r->source, index, name_buf, sizeof name_buf);
  if (r->req->on_failure) r->req->on_failure(r->req->failure_context, name, message);
  if (!r->failed_open) {
    SCAN_TRY(scan_atomic_open(&r->failed_csv, r->failed_path));
    fputs("file,error\n", r->failed_csv.file);
    r->failed_open = 1;
  }
  scan_csv_put_field(r->failed_csv.file, name);
  fputc(',', r->failed_csv.file);
  scan_csv_put_field(r->failed_csv.file, message);
  fputc('\n', r->failed_csv.file);
  return SCAN_OK;
}

/* One batch: prepare, drop the images that failed, predict the rest, write their rows (and sort them). */
static scan_status predict_batch(predictor *r, long first, int n, scan_predict_result *result) {
  const size_t item = (size_t)r->aug.channels * r->aug.out_size * r->aug.out_size;
  predict_source_prepare(&r->source, first, n, r->resize_to, &r->aug, r->input, r->ok, r->messages);
  int good = 0;
  for (int k = 0; k < n; k++) {
    if (!r->ok[k]) {
      SCAN_TRY(record_failure(r, first + k, r->messages[k]));
      result->failed++;
      continue;
    }
    if (good != k) memmove(r->input + (size_t)good * item, r->input + (size_t)k * item, item * sizeof(float));
    r->ok[good++] = k; /* ok[] now maps packed rows to batch positions */
  }
  if (good == 0) return SCAN_OK;
  SCAN_TRY(scan_net_infer(r->net, r->input, good));
  const int clusters = r->info.classes;
  scan_softmax_forward(good, clusters, scan_net_head_output(r->net, r->info.chosen), r->probs);
  for (int g = 0; g < good; g++) {
    const long index = first + r->ok[g];
    write_row(r, index, r->probs + (size_t)g * clusters);
    SCAN_TRY(predict_sorter_add(&r->sorter, &r->source, index, r->order[0]));
  }
  result->predicted += good;
  return SCAN_OK;
}

static cJSON *summary_json(const predictor *r, const char *model, const scan_predict_result *result) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "model", model);
  cJSON_AddNumberToObject(root, "head", r->info.chosen);
  cJSON_AddNumberToObject(root, "images", (double)result->total);
  cJSON_AddNumberToObject(root, "predicted", (double)result->predicted);
  cJSON_AddNumberToObject(root, "failed", (double)result->failed);
  cJSON_AddNumberToObject(root, "num_clusters", r->info.classes);
  cJSON *clusters = cJSON_AddArrayToObject(root, "clusters");
  for (int c = 0; c < r->info.classes; c++) {
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddNumberToObject(entry, "cluster", c);
    cJSON_AddStringToObject(entry, "name", r->names[c] ? r->names[c] : "");
    cJSON_AddNumberToObject(entry, "size", (double)r->sizes[c]);
    cJSON_AddItemToArray(clusters, entry);
  }
  return root;
}

static scan_status run(predictor *r, scan_pipeline *p, scan_predict_result *result) {
  const scan_predict_request *req = r->req;
  char model[SCAN_PATH_MAX];
  if (req->model_path) SCAN_TRY(scan_path_format(model, sizeof model, "%s", req->model_path));
  else SCAN_TRY(scan_pipeline_cluster_model_path(p, model, sizeof model, NULL));
  SCAN_TRY(load_model(p, model, &r->info, &r->net));
  SCAN_TRY(scan_pipeline_augment(p, NULL, 1, &r->aug));
  SCAN_TRY(scan_aug_validate(&r->aug, r->aug.out_size, r->aug.out_size, r->aug.channels));
  /* Images the model was trained on from a folder or list were first resized whole to image_size (squashed,
     not cropped); new images get the same, so that they look like the training images did. */
  scan_dataset_spec trained;
  SCAN_TRY(scan_pipeline_data_spec(p, 0, &trained));
  r->resize_to = scan_dataset_is_files(trained.name) ? trained.image_size : 0;
  scan_dataset_spec spec = req->images;
  if (!spec.name) SCAN_TRY(scan_pipeline_data_spec(p, 1, &spec));
  spec.image_size = 0; /* the validation transform sizes each image itself */
  SCAN_TRY(predict_source_open(&r->source, &spec));
  result->total = r->source.count;
  const int clusters = r->info.classes;
  r->top_k = req->top_k < 1 ? 1 : req->top_k > clusters ? clusters : req->top_k;
  r->names = read_cluster_names(p, clusters);
  r->sizes = scan_calloc((size_t)clusters, sizeof *r->sizes);
  r->order = scan_calloc((size_t)clusters, sizeof *r->order);
  r->ok = scan_calloc(PREDICT_BATCH, sizeof *r->ok);
  r->messages = scan_calloc(PREDICT_BATCH, sizeof *r->messages);
  r->input = scan_malloc(sizeof(float) * PREDICT_BATCH * (size_t)r->aug.channels * r->aug.out_size * r->aug.out_size);
  r->probs = scan_malloc(sizeof(float) * PREDICT_BATCH * (size_t)clusters);
  if (!r->names || !r->sizes || !r->order || !r->ok || !r->messages || !r->input || !r->probs)
    return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  SCAN_TRY(predict_sorter_open(&r->sorter, req->sort, req->sort_dir, r->names, clusters, &r->source));
  char eval_dir[SCAN_PATH_MAX], resolved_out[SCAN_PATH_MAX], resolved_eval[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, eval_dir, sizeof eval_dir, "eval"));
  if (realpath(result->out_dir, resolved_out) && realpath(eval_dir, resolved_eval) && strcmp(resolved_out, resolved_eval) == 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: this is the run's eval folder, whose predictions.csv belongs to 'scan eval'; "
                                     "give --pred-out another folder", result->out_dir);
  SCAN_TRY(scan_make_dirs(result->out_dir));
  char path[SCAN_PATH_MAX];
  SCAN_TRY(scan_path_join(path, sizeof path, result->out_dir, "predictions.csv"));
  SCAN_TRY(scan_path_join(r->failed_path, sizeof r->failed_path, result->out_dir, "failed.csv"));
  SCAN_TRY(scan_atomic_open(&r->csv, path));
  write_header(r);
  scan_progress progress;
  scan_progress_start(&progress, "predict", r->source.count, "img");
  scan_status status = SCAN_OK;
  for (long first = 0; status == SCAN_OK && first < r->source.count; first += PREDICT_BATCH) {
    int n = (int)(r->source.count - first < PREDICT_BATCH ? r->source.count - first : PREDICT_BATCH);
    status = predict_batch(r, first, n, result);
    scan_progress_note(&progress, "%ld failed", result->failed);
    scan_progress_update(&progress, first + n);
  }
  scan_progress_finish(&progress);
  if (status == SCAN_OK && result->predicted == 0)
    status = scan_fail(SCAN_ERR_INPUT, "%s: none of the %ld images could be read (see %s)",
                       r->source.from_files ? spec.root : r->source.data.name, result->total, r->failed_path);
  if (r->failed_open) { /* kept even when nothing was predicted: it says why */
    scan_status failed_status = scan_atomic_commit(&r->failed_csv);
    r->failed_open = 0;
    if (status == SCAN_OK) status = failed_status;
  } else if (status == SCAN_OK) {
    remove(r->failed_path); /* an earlier run's list no longer applies */
  }
  if (status != SCAN_OK) {
    scan_atomic_abort(&r->csv);
    return status;
  }
  SCAN_TRY(scan_atomic_commit(&r->csv));
  result->summary = summary_json(r, model, result);
  SCAN_TRY(scan_path_join(path, sizeof path, result->out_dir, "summary.json"));
  return scan_write_json_atomic(path, result->summary);
}

scan_status scan_predict(scan_pipeline *p, const scan_predict_request *request, scan_predict_result *result) {
  memset(result, 0, sizeof *result);
  SCAN_TRY(request->out_dir ? scan_path_format(result->out_dir, sizeof result->out_dir, "%s", request->out_dir)
                            : scan_pipeline_path(p, result->out_dir, sizeof result->out_dir, "predict"));
  predictor r;
  memset(&r, 0, sizeof r);
  r.req = request;
  scan_status status = run(&r, p, result);
  if (r.failed_open) scan_atomic_abort(&r.failed_csv);
  predict_sorter_close(&r.sorter);
  predict_source_close(&r.source);
  if (r.names) free_names(r.names, r.info.classes);
  free(r.sizes);
  free(r.order);
  free(r.ok);
  free(r.messages);
  free(r.input);
  free(r.probs);
  scan_net_free(r.net);
  if (status != SCAN_OK && result->summary) {
    cJSON_Delete(result->summary);
    result->summary = NULL;
  }
  return status;
}
