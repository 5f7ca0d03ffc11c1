/* Evidence that a selection is distributed like its target (issue 11): the MMD between feature distributions,
 * each image's highest similarity to the target, and class histograms when labels exist. Written as
 * evidence.json, evidence.png (nearest-neighbour similarity histograms) and evidence_classes.png. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curate_internal.h"
#include "scan/atomic_file.h"
#include "scan/knn.h"
#include "scan/viz_chart.h"

enum { DEFAULT_MMD_SAMPLES = 1000, HISTOGRAM_BINS = 50 };

/* Random-stream numbers for the subsamples, so each set's sample is reproducible on its own. */
enum { STREAM_TARGET = 1, STREAM_POOL = 2, STREAM_SELECTION = 16 };

typedef struct {
  float *pool_nn;   /* [pool_count] highest similarity of each pool image to a unique target */
  float *target_nn; /* [unique_count] highest similarity to another unique target; NULL with one target */
  float *target_sample, *pool_sample;
  int64_t target_sample_rows, pool_sample_rows, sample_max;
  int64_t *classes; /* [(2 + k_count) * num_classes]: target, pool, then each selection; NULL without labels */
} evidence;

static scan_status nearest_similarities(const curate_state *s, evidence *e) {
  const scan_curate_request *req = s->req;
  int64_t *index = scan_malloc(sizeof(int64_t) * (size_t)(req->pool_count > s->unique_count ? req->pool_count : s->unique_count));
  e->pool_nn = scan_malloc(sizeof(float) * (size_t)req->pool_count);
  if (!index || !e->pool_nn) {
    free(index);
    return SCAN_ERR_INTERNAL;
  }
  scan_status status = scan_knn(req->pool, req->pool_count, s->unique, s->unique_count, req->dim, 1, 0, index, e->pool_nn);
  if (status == SCAN_OK && s->unique_count > 1) {
    e->target_nn = scan_malloc(sizeof(float) * (size_t)s->unique_count);
    status = e->target_nn ? scan_knn(s->unique, s->unique_count, s->unique, s->unique_count, req->dim, 1, 1, index,
                                     e->target_nn)
                          : SCAN_ERR_INTERNAL;
  }
  free(index);
  return status;
}

static double mean_at(const float *values, const int64_t *rows, int64_t count) {
  double sum = 0;
  for (int64_t i = 0; i < count; i++) sum += values[rows ? rows[i] : i];
  return count ? sum / (double)count : 0;
}

/* MMD(target, selection) on bounded samples; the selection's rows are gathered first. */
static scan_status selection_mmd(const curate_state *s, const evidence *e, double sigma2, int which_k, double *mmd) {
  const scan_curate_request *req = s->req;
  int64_t count = s->selected_count[which_k];
  float *rows = scan_malloc(sizeof(float) * (size_t)count * (size_t)req->dim);
  float *sample = scan_malloc(sizeof(float) * (size_t)(count < e->sample_max ? count : e->sample_max) * (size_t)req->dim);
  if (!rows || !sample) {
    free(rows);
    free(sample);
    return SCAN_ERR_INTERNAL;
  }
  for (int64_t i = 0; i < count; i++)
    memcpy(rows + i * req->dim, req->pool + s->selected[which_k][i] * req->dim, sizeof(float) * (size_t)req->dim);
  int64_t n = scan_curate_subsample(rows, count, req->dim, e->sample_max, req->seed, STREAM_SELECTION + which_k, sample);
  *mmd = scan_curate_mmd_rbf(e->target_sample, e->target_sample_rows, sample, n, req->dim, sigma2);
  free(rows);
  free(sample);
  return SCAN_OK;
}

static scan_status distribution_distances(const curate_state *s, evidence *e, scan_curate_result *result) {
  const scan_curate_request *req = s->req;
  e->sample_max = req->mmd_samples > 0 ? req->mmd_samples : DEFAULT_MMD_SAMPLES;
  int64_t target_rows = req->target_count < e->sample_max ? req->target_count : e->sample_max;
  int64_t pool_rows = req->pool_count < e->sample_max ? req->pool_count : e->sample_max;
  e->target_sample = scan_malloc(sizeof(float) * (size_t)target_rows * (size_t)req->dim);
  e->pool_sample = scan_malloc(sizeof(float) * (size_t)pool_rows * (size_t)req->dim);
  if (!e->target_sample || !e->pool_sample) return SCAN_ERR_INTERNAL;
  /* The target as given (duplicates included): the selection should look like what the target really holds. */
  e->target_sample_rows = scan_curate_subsample(req->target, req->target_count, req->dim, e->sample_max, req->seed,
                                                STREAM_TARGET, e->target_sample);
  e->pool_sample_rows = scan_curate_subsample(req->pool, req->pool_count, req->dim, e->sample_max, req->seed,
                                              STREAM_POOL, e->pool_sample);
  /* One bandwidth for every comparison, so the MMDs of the selections and of the pool can be compared. */
  double sigma2 = scan_curate_median_sq_distance(e->target_sample, e->target_sample_rows, e->pool_sample,
                                                 e->pool_sample_rows, req->dim);
  if (sigma2 < 0) return SCAN_ERR_INTERNAL; /* out of memory, said by scan_malloc */
  if (!(sigma2 > 0)) sigma2 = 1; /* every target equals every pool image: any bandwidth gives MMD 0 */
  result->mmd_sigma2 = sigma2;
  result->mmd_pool = scan_curate_mmd_rbf(e->target_sample, e->target_sample_rows, e->pool_sample, e->pool_sample_rows,
                                         req->dim, sigma2);
  for (int i = 0; i < req->k_count; i++) SCAN_TRY(selection_mmd(s, e, sigma2, i, &result->per_k[i].mmd_target));
  return SCAN_OK;
}

static void count_classes(const int32_t *labels, const int64_t *rows, int64_t count, int classes, int64_t *hist) {
  for (int64_t i = 0; i < count; i++) {
    int32_t label = labels[rows ? rows[i] : i];
    if (label >= 0 && label < classes) hist[label]++;
  }
}

static scan_status class_histograms(const curate_state *s, evidence *e, scan_curate_result *result) {
  const scan_curate_request *req = s->req;
  int classes = req->num_classes;
  result->tv_pool = -1;
  for (int i = 0; i < req->k_count; i++) result->per_k[i].tv_target = -1;
  if (!req->target_labels || !req->pool_labels || classes < 1) return SCAN_OK;
  e->classes = scan_calloc((unsigned long)(2 + req->k_count) * (unsigned long)classes, sizeof(int64_t));
  if (!e->classes) return SCAN_ERR_INTERNAL;
  int64_t *target = e->classes, *pool = e->classes + classes;
  count_classes(req->target_labels, NULL, req->target_count, classes, target);
  count_classes(req->pool_labels, NULL, req->pool_count, classes, pool);
  result->tv_pool = scan_curate_tv_distance(target, pool, classes);
  for (int i = 0; i < req->k_count; i++) {
    int64_t *selection = e->classes + (2 + i) * classes;
    count_classes(req->pool_labels, s->selected[i], s->selected_count[i], classes, selection);
    result->per_k[i].tv_target = scan_curate_tv_distance(target, selection, classes);
  }
  return SCAN_OK;
}

static cJSON *class_array(const int64_t *hist, int classes) {
  cJSON *a = cJSON_CreateArray();
  for (int c = 0; c < classes; c++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)hist[c]));
  return a;
}

static scan_status write_json(const curate_state *s, const evidence *e, const scan_curate_result *result) {
  const scan_curate_request *req = s->req;
  int classes = e->classes ? req->num_classes : 0;
  cJSON *root = cJSON_CreateObject();
  cJSON *target = cJSON_AddObjectToObject(root, "target");
  cJSON_AddNumberToObject(target, "count", (double)req->target_count);
  cJSON_AddNumberToObject(target, "unique", (double)s->unique_count);
  cJSON_AddNumberToObject(target, "dedup_threshold", req->dedup_threshold);
  if (e->target_nn)
    cJSON_AddNumberToObject(target, "mean_nn_similarity", result->mean_nn_similarity_target);
  else
    cJSON_AddNullToObject(target, "mean_nn_similarity");
  if (classes) cJSON_AddItemToObject(target, "classes", class_array(e->classes, classes));
  cJSON *pool = cJSON_AddObjectToObject(root, "pool");
  cJSON_AddNumberToObject(pool, "count", (double)req->pool_count);
  cJSON_AddNumberToObject(pool, "mmd_to_target", result->mmd_pool);
  cJSON_AddNumberToObject(pool, "mean_nn_similarity_to_target", result->mean_nn_similarity_pool);
  if (classes) {
    cJSON_AddNumberToObject(pool, "tv_to_target", result->tv_pool);
    cJSON_AddItemToObject(pool, "classes", class_array(e->classes + classes, classes));
  }
  cJSON *selections = cJSON_AddArrayToObject(root, "selections");
  for (int i = 0; i < req->k_count; i++) {
    const scan_curate_k_result *r = &result->per_k[i];
    cJSON *o = cJSON_CreateObject();
    char image_set[64];
    snprintf(image_set, sizeof image_set, "ImageSets/scan_nn%d.txt", r->k);
    cJSON_AddNumberToObject(o, "k", r->k);
    cJSON_AddStringToObject(o, "image_set", image_set);
    cJSON_AddNumberToObject(o, "neighbours_before_dedup", (double)r->neighbour_total);
    cJSON_AddNumberToObject(o, "count", (double)r->selected);
    cJSON_AddNumberToObject(o, "mmd_to_target", r->mmd_target);
    cJSON_AddNumberToObject(o, "mean_nn_similarity_to_target", r->mean_nn_similarity);
    if (r->missing_annotations >= 0) cJSON_AddNumberToObject(o, "missing_annotations", (double)r->missing_annotations);
    if (classes) {
      cJSON_AddNumberToObject(o, "tv_to_target", r->tv_target);
      cJSON_AddItemToObject(o, "classes", class_array(e->classes + (2 + i) * classes, classes));
    }
    cJSON_AddItemToArray(selections, o);
  }
  cJSON *mmd = cJSON_AddObjectToObject(root, "mmd");
  cJSON_AddStringToObject(mmd, "kernel", "rbf exp(-|a-b|^2 / (2 sigma2)), biased estimate, sqrt of MMD^2");
  cJSON_AddNumberToObject(mmd, "sigma2", result->mmd_sigma2);
  cJSON_AddNumberToObject(mmd, "samples_per_set", (double)e->sample_max);
  cJSON_AddNumberToObject(mmd, "seed", (double)req->seed);
  if (classes && req->class_names) {
    cJSON *names = cJSON_AddArrayToObject(root, "class_names");
    for (int c = 0; c < classes; c++) cJSON_AddItemToArray(names, cJSON_CreateString(req->class_names[c]));
  }
  char path[SCAN_PATH_MAX];
  scan_status status = curate_path(req, path, sizeof path, "evidence.json");
  if (status == SCAN_OK) status = scan_write_json_atomic(path, root);
  cJSON_Delete(root);
  return status;
}

/* evidence.png: the distribution of "how close is this image to the target" for the target itself (its nearest
 * other unique target), each selection and the whole pool. A selection that works sits with the target, right of
 * the pool. */
static scan_status similarity_figure(const curate_state *s, const evidence *e) {
  const scan_curate_request *req = s->req;
  int n = 0;
  const float *values[SCAN_CURATE_MAX_K + 2];
  int64_t counts[SCAN_CURATE_MAX_K + 2];
  char labels[SCAN_CURATE_MAX_K + 2][48];
  const char *names[SCAN_CURATE_MAX_K + 2];
  float *gathered[SCAN_CURATE_MAX_K] = {0};
  scan_status status = SCAN_OK;
  if (e->target_nn) {
    values[n] = e->target_nn, counts[n] = s->unique_count;
    snprintf(labels[n], sizeof labels[n], "target (to another target)");
    n++;
  }
  for (int i = 0; i < req->k_count && status == SCAN_OK; i++) {
    gathered[i] = scan_malloc(sizeof(float) * (size_t)(s->selected_count[i] > 0 ? s->selected_count[i] : 1));
    if (!gathered[i]) status = SCAN_ERR_INTERNAL;
    for (int64_t j = 0; status == SCAN_OK && j < s->selected_count[i]; j++) gathered[i][j] = e->pool_nn[s->selected[i][j]];
    values[n] = gathered[i], counts[n] = s->selected_count[i];
    snprintf(labels[n], sizeof labels[n], "selection k=%d", req->ks[i]);
    n++;
  }
  values[n] = e->pool_nn, counts[n] = req->pool_count;
  snprintf(labels[n], sizeof labels[n], "whole pool");
  n++;
  for (int i = 0; i < n; i++) names[i] = labels[i];
  scan_chart_frame frame = {"Nearest-neighbour similarity to the target", "cosine similarity to the nearest unique target",
                            "density", 0, 0};
  char path[SCAN_PATH_MAX];
  if (status == SCAN_OK) status = curate_path(req, path, sizeof path, "evidence.png");
  if (status == SCAN_OK) status = scan_chart_histogram(path, &frame, values, counts, names, n, HISTOGRAM_BINS);
  for (int i = 0; i < req->k_count; i++) free(gathered[i]);
  return status;
}

/* evidence_classes.png: each set's share of every class (%), target, selections and pool side by side. */
static scan_status class_figure(const curate_state *s, const evidence *e) {
  const scan_curate_request *req = s->req;
  int classes = req->num_classes, n = 2 + req->k_count;
  double *x = scan_malloc(sizeof(double) * (size_t)classes);
  double *shares = scan_malloc(sizeof(double) * (size_t)classes * (size_t)n);
  if (!x || !shares) {
    free(x);
    free(shares);
    return SCAN_ERR_INTERNAL;
  }
  const double *series[SCAN_CURATE_MAX_K + 2];
  char labels[SCAN_CURATE_MAX_K + 2][48];
  const char *names[SCAN_CURATE_MAX_K + 2];
  /* Order in the figure: target, selections, pool; in e->classes: target, pool, selections. */
  for (int j = 0; j < n; j++) {
    int from = j == 0 ? 0 : j == n - 1 ? 1 : j + 1;
    const int64_t *hist = e->classes + (long)from * classes;
    double total = 0;
    for (int c = 0; c < classes; c++) total += (double)hist[c];
    for (int c = 0; c < classes; c++) shares[(long)j * classes + c] = total > 0 ? 100.0 * (double)hist[c] / total : 0;
    series[j] = shares + (long)j * classes;
    if (j == 0) snprintf(labels[j], sizeof labels[j], "target");
    else if (j == n - 1) snprintf(labels[j], sizeof labels[j], "whole pool");
    else snprintf(labels[j], sizeof labels[j], "selection k=%d", req->ks[j - 1]);
    names[j] = labels[j];
  }
  for (int c = 0; c < classes; c++) x[c] = c;
  scan_chart_frame frame = {"Class shares of the target, the selections and the pool", "class", "% of the set", 0, 0};
  char path[SCAN_PATH_MAX];
  scan_status status = curate_path(req, path, sizeof path, "evidence_classes.png");
  if (status == SCAN_OK) status = scan_chart_line(path, &frame, x, classes, series, names, n);
  free(x);
  free(shares);
  return status;
}

scan_status curate_evidence(const curate_state *s, scan_curate_result *result) {
  const scan_curate_request *req = s->req;
  evidence e = {0};
  scan_status status = nearest_similarities(s, &e);
  if (status == SCAN_OK) {
    result->mean_nn_similarity_pool = mean_at(e.pool_nn, NULL, req->pool_count);
    result->mean_nn_similarity_target = e.target_nn ? mean_at(e.target_nn, NULL, s->unique_count) : 0;
    for (int i = 0; i < req->k_count; i++)
      result->per_k[i].mean_nn_similarity = mean_at(e.pool_nn, s->selected[i], s->selected_count[i]);
    status = distribution_distances(s, &e, result);
  }
  if (status == SCAN_OK) status = class_histograms(s, &e, result);
  if (status == SCAN_OK) status = write_json(s, &e, result);
  if (status == SCAN_OK) status = similarity_figure(s, &e);
  if (status == SCAN_OK && e.classes) status = class_figure(s, &e);
  free(e.pool_nn);
  free(e.target_nn);
  free(e.target_sample);
  free(e.pool_sample);
  free(e.classes);
  return status;
}
