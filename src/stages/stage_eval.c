/* Evaluation (spec §9, with the corrections of §18.1–18.4): every head of the
 * model predicts the validation split; with labels, Hungarian ACC (rectangular),
 * majority ACC, NMI, ARI, AMI and top-5; without, label-free diagnostics only.
 * Writes eval/metrics.json, eval/predictions.csv, eval/prototypes.json and the
 * figures (confusion matrix, cluster sizes, prototypes, one contact sheet per cluster). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_output.h"
#include "scan/model_load.h"
#include "scan/stages.h"
#include "scan/atomic_file.h"
#include "scan/dist.h"
#include "scan/losses.h"
#include "scan/metrics.h"
#include "scan/nn_layers.h"
#include "scan/npy.h"
#include "scan/progress.h"
#include "scan/safetensors.h"
#include "scan/neighbors.h"

static void argmax_rows(const float *probs, long n, int classes, int32_t *pred, float *confidence) {
  for (long i = 0; i < n; i++) {
    const float *row = probs + i * classes;
    int best = 0;
    for (int c = 1; c < classes; c++)
      if (row[c] > row[best]) best = c;
    pred[i] = best;
    confidence[i] = row[best];
  }
}

/* The pixel baseline clusters the pixels of at most this many images (held as floats, 4 bytes a pixel); every image
   then joins its nearest centre, so a large or streamed validation split costs bounded memory. Fashion-MNIST's
   10,000 test images are clustered whole. */
enum { PIXEL_BASELINE_FIT_MAX = 20000 };

/* k-means on raw pixels and on the pretext features, for the baseline rows of the metrics table. */
static scan_status kmeans_baselines(scan_pipeline *p, const scan_dataset *val, int k, eval_output *out) {
  if (!val->labels) {
    out->baseline_skipped = 1;
    return SCAN_OK;
  }
  char pixels_name[64], features_name[64];
  snprintf(pixels_name, sizeof pixels_name, "k-means on pixels (k=%d)", k);
  snprintf(features_name, sizeof features_name, "k-means on pretext features (k=%d)", k);
  long n = val->count;
  int32_t *assign = scan_malloc(sizeof(int32_t) * (size_t)n);
  scan_status status = assign ? SCAN_OK : SCAN_ERR_INTERNAL;
  scan_kmeans_options opt;
  scan_kmeans_default_options(&opt, k, p->seed);
  opt.n_init = 3;
  if (status == SCAN_OK) status = scan_kmeans_images(val, PIXEL_BASELINE_FIT_MAX, &opt, NULL, assign);
  if (status == SCAN_OK) status = eval_output_add_baseline(out, pixels_name, assign, val->labels, (int)n, k, val->num_classes);
  char path[SCAN_PATH_MAX];
  scan_array features = {0};
  if (status == SCAN_OK) status = scan_pipeline_path(p, path, sizeof path, "pretext/features-val.npy");
  if (status == SCAN_OK && scan_npy_read(path, &features) == SCAN_OK) {
    if (features.dtype == SCAN_F32 && features.ndim == 2 && features.shape[0] == n) {
      float *fc = scan_malloc(sizeof(float) * (size_t)k * (size_t)features.shape[1]);
      status = fc ? scan_kmeans(features.data, n, (int)features.shape[1], &opt, fc, assign, NULL) : SCAN_ERR_INTERNAL;
      if (status == SCAN_OK)
        status = eval_output_add_baseline(out, features_name, assign, val->labels, (int)n, k, val->num_classes);
      free(fc);
    }
    scan_array_free(&features);
  }
  free(assign);
  return status;
}

/* One model file to evaluate: the run's SCAN model (all heads) and, when self-labelling kept a model, that
   one too, so metrics.json compares every head whichever is chosen. */
typedef struct {
  char path[SCAN_PATH_MAX];
  const char *name; /* "cluster", "selflabel", or NULL for a file given with --model */
  scan_model_info info; /* heads, clusters, the chosen head, the stage that wrote it */
} eval_model;

static scan_status list_models(scan_pipeline *p, const char *model_path, eval_model *models, int *count) {
  *count = 0;
  if (model_path) {
    SCAN_TRY(scan_path_format(models[0].path, sizeof models[0].path, "%s", model_path));
    models[0].name = NULL;
    *count = 1;
  } else {
    char final[SCAN_PATH_MAX];
    int selflabel = 0;
    SCAN_TRY(scan_pipeline_cluster_model_path(p, final, sizeof final, &selflabel));
    SCAN_TRY(scan_pipeline_path(p, models[0].path, sizeof models[0].path, "cluster/model.safetensors"));
    models[0].name = "cluster";
    *count = scan_file_exists(models[0].path) ? 1 : 0;
    if (selflabel) {
      SCAN_TRY(scan_path_format(models[*count].path, sizeof models[*count].path, "%s", final));
      models[*count].name = "selflabel";
      (*count)++;
    }
  }
  for (int m = 0; m < *count; m++) {
    eval_model *e = &models[m];
    SCAN_TRY(scan_model_info_read(e->path, &e->info));
    if (e->info.classes != models[0].info.classes)
      return scan_fail(SCAN_ERR_INPUT, "%s: %d clusters, but %s has %d", e->path, e->info.classes, models[0].path,
                       models[0].info.classes);
  }
  return SCAN_OK;
}

/* Every head of one model over the validation split: softmax probabilities probs[h] [n, classes] and the
   backbone features [n, dim] (dim from the net). */
static scan_status predict_model(scan_pipeline *p, const scan_dataset *val, const eval_model *m, float **probs,
                                 float **features, int *dim) {
  scan_head_config head = {SCAN_HEAD_CLUSTER, 0, m->info.heads, m->info.classes};
  scan_net *net = NULL;
  SCAN_TRY(scan_pipeline_create_net_with_head(p, "cluster", &head, 256, &net));
  scan_status status = scan_net_load(net, m->path, NULL);
  if (status != SCAN_OK) scan_fail_context(status, "eval");
  *dim = scan_net_feature_dim(net);
  free(*features);
  *features = status == SCAN_OK ? scan_malloc(sizeof(float) * (size_t)val->count * (size_t)*dim) : NULL;
  if (status == SCAN_OK && !*features) status = SCAN_ERR_INTERNAL;
  for (int h = 0; h < m->info.heads && status == SCAN_OK; h++)
    if (!(probs[h] = scan_malloc(sizeof(float) * (size_t)val->count * (size_t)m->info.classes))) status = SCAN_ERR_INTERNAL;
  if (status == SCAN_OK) status = scan_pipeline_predict_sharded(p, net, val, "eval: predict", *features, probs);
  for (int h = 0; h < m->info.heads && status == SCAN_OK; h++) scan_softmax_forward(val->count, m->info.classes, probs[h], probs[h]);
  scan_net_free(net);
  return status;
}

scan_status scan_eval_model(scan_pipeline *p, const char *model_path, int baseline) {
  const double start = scan_now_seconds();
  eval_model models[2];
  int count = 0;
  const int topk = p->settings.eval.prototypes_topk;
  SCAN_TRY(list_models(p, model_path, models, &count));
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  /* The chosen head is the last model's own choice: the self-label model when it was kept, else SCAN's best. */
  const eval_model *last = &models[count - 1];
  int total_heads = 0;
  for (int m = 0; m < count; m++) total_heads += models[m].info.heads;
  const int chosen = total_heads - last->info.heads + last->info.chosen, classes = last->info.classes;
  long n = val->count;
  float **probs = scan_calloc((size_t)total_heads, sizeof *probs), *features = NULL;
  int32_t *pred = scan_malloc(sizeof(int32_t) * (size_t)n);
  float *confidence = scan_malloc(sizeof(float) * (size_t)n);
  scan_status status = probs && pred && confidence ? SCAN_OK : SCAN_ERR_INTERNAL;
  int dim = 0;
  /* Every model's predictions first: under mpirun the ranks divide them (a collective), then rank 0 alone computes
     the metrics and writes. Features are kept from the last model, the one the chosen head belongs to. */
  for (int m = 0, first = 0; m < count && status == SCAN_OK; first += models[m].info.heads, m++)
    status = predict_model(p, val, &models[m], probs + first, &features, &dim);
  neighbor_table nbrs = {0};
  int have_neighbors = 0;
  if (status == SCAN_OK && !scan_dist_is_root()) goto done;
  if (status == SCAN_OK) {
    have_neighbors = neighbors_load(p, "val", n, p->settings.cluster.num_neighbors_val, &nbrs) == SCAN_OK;
    scan_error_clear();
  }
  eval_output out = {0};
  if (status == SCAN_OK) status = eval_output_begin(&out, p, val, last->path, total_heads, classes, chosen, last->info.chosen);
  const double entropy_weight = p->settings.cluster.selection_entropy_weight; /* the loss that chose the model */
  for (int m = 0, first = 0; m < count && status == SCAN_OK; first += models[m].info.heads, m++) {
    for (int h = 0; h < models[m].info.heads && status == SCAN_OK; h++) {
      const float *head_probs = probs[first + h];
      argmax_rows(head_probs, n, classes, pred, confidence);
      double loss = NAN, consistency, entropy;
      if (have_neighbors)
        scan_scan_eval_loss(head_probs, (int)n, classes, nbrs.indices, nbrs.cols, entropy_weight, &loss, &consistency,
                            &entropy);
      status = eval_output_add_head(&out, models[m].name, h, pred, head_probs, loss);
    }
  }
  if (status == SCAN_OK) {
    argmax_rows(probs[chosen], n, classes, pred, confidence);
    status = eval_output_chosen(&out, pred, confidence, probs[chosen], features, dim, topk);
  }
  if (status == SCAN_OK && baseline) status = kmeans_baselines(p, val, classes, &out);
  if (status == SCAN_OK) status = eval_output_finish(&out);
  else if (out.root) eval_output_abort(&out);
  if (status == SCAN_OK) status = scan_pipeline_write_timing(p, "eval/timing.json", scan_now_seconds() - start, n);
done:
  if (have_neighbors) neighbors_free(&nbrs);
  for (int h = 0; probs && h < total_heads; h++) free(probs[h]);
  free(probs);
  free(features);
  free(pred);
  free(confidence);
  return status;
}

scan_status scan_stage_eval(scan_pipeline *p) { return scan_eval_model(p, NULL, p->settings.eval.kmeans_baseline); }
