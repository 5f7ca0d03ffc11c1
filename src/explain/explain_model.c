/* The explainer: a run's clustering network with its own val transform, and the four questions
 * explanations ask of it (probabilities, Grad-CAM, LIME, deletion). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/explain_model.h"
#include "scan/model_load.h"
#include "scan/nn_layers.h"
#include "scan/rng.h"


int scan_explain_batch(int side) {
  const long pixels = (long)side * side, batch = SCAN_EXPLAIN_BATCH * 32L * 32L / (pixels > 0 ? pixels : 1);
  return batch < 4 ? 4 : batch > SCAN_EXPLAIN_BATCH ? SCAN_EXPLAIN_BATCH : (int)batch;
}

scan_status scan_explainer_init(scan_explainer *e, scan_net *net, const scan_aug_config *val_aug) {
  memset(e, 0, sizeof *e);
  if (val_aug->strategy != SCAN_AUG_VAL)
    return scan_fail(SCAN_ERR_INTERNAL, "explain: the model's preprocessing must be the val transform");
  if (scan_net_num_heads(net) != 1)
    return scan_fail(SCAN_ERR_INTERNAL, "explain: the network must have one cluster head, it has %d", scan_net_num_heads(net));
  e->net = net;
  e->val_aug = *val_aug;
  e->side = val_aug->out_size;
  e->channels = val_aug->channels;
  e->clusters = scan_net_head_dim(net);
  e->batch = scan_net_max_batch(net);
  e->lime = scan_lime_config_default();
  e->lime.batch = e->batch;
  e->deletion_draws = 20;
  SCAN_TRY(scan_aug_validate(&e->val_aug, e->side, e->side, e->channels));
  const size_t plane = (size_t)e->channels * e->side * e->side;
  e->input = scan_malloc(sizeof(float) * plane * (size_t)e->batch);
  e->probs = scan_malloc(sizeof(float) * (size_t)e->batch * (size_t)e->clusters);
  e->d_logits = scan_calloc((size_t)e->clusters, sizeof(float));
  if (!e->input || !e->probs || !e->d_logits) {
    scan_explainer_close(e);
    return scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory for a batch of %d images", e->batch);
  }
  return SCAN_OK;
}

static scan_status read_explain_config(scan_explainer *e, const scan_config *cfg) {
  const char *layer = "", *segmenter = "quickshift", *hide = "zero";
  int samples = 0, top = 0, seed = 0;
  double width = 0;
  SCAN_TRY(scan_config_get_string(cfg, "explain", "gradcam_layer", &layer));
  SCAN_TRY(scan_config_get_int(cfg, "explain", "lime_samples", &samples));
  SCAN_TRY(scan_config_get_double(cfg, "explain", "lime_kernel_width", &width));
  SCAN_TRY(scan_config_get_string(cfg, "explain", "lime_segmenter", &segmenter));
  SCAN_TRY(scan_config_get_string(cfg, "explain", "lime_hide", &hide));
  SCAN_TRY(scan_config_get_int(cfg, "explain", "lime_top_features", &top));
  SCAN_TRY(scan_config_get_int(cfg, "explain", "seed", &seed));
  if (samples < 2 || !(width > 0) || top < 1)
    return scan_fail(SCAN_ERR_INPUT, "config: explain needs lime_samples >= 2 (got %d), lime_kernel_width > 0 (%g) and "
                     "lime_top_features >= 1 (%d)", samples, width, top);
  if (strlen(layer) >= sizeof e->gradcam_layer)
    return scan_fail(SCAN_ERR_INPUT, "config: explain.gradcam_layer '%s' is too long", layer);
  snprintf(e->gradcam_layer, sizeof e->gradcam_layer, "%s", layer);
  e->lime.samples = samples;
  e->lime.kernel_width = width;
  e->lime.use_slic = strcmp(segmenter, "slic") == 0 ? 1 : strcmp(segmenter, "auto") == 0 ? 2 : 0;
  e->lime.hide_mean = strcmp(hide, "mean") == 0;
  e->lime.top_features = top;
  e->lime.seed = (uint64_t)seed;
  return SCAN_OK;
}

scan_status scan_explainer_open(scan_explainer *e, scan_pipeline *p) { return scan_explainer_open_model(e, p, NULL); }

scan_status scan_explainer_open_model(scan_explainer *e, scan_pipeline *p, const char *model_path) {
  memset(e, 0, sizeof *e);
  scan_aug_config val_aug;
  SCAN_TRY(scan_pipeline_augment(p, NULL, 1, &val_aug));
  scan_net *net = NULL;
  char source[SCAN_PATH_MAX];
  SCAN_TRY(scan_model_load_cluster(p, model_path, scan_explain_batch(val_aug.out_size), &net, source, sizeof source));
  scan_status status = scan_explainer_init(e, net, &val_aug);
  if (status != SCAN_OK) {
    scan_net_free(net);
    return status;
  }
  e->owns_net = 1;
  snprintf(e->model_source, sizeof e->model_source, "%s", source);
  status = read_explain_config(e, p->cfg);
  if (status == SCAN_OK && e->gradcam_layer[0]) {
    /* A wrong layer name fails now, not after the first LIME: one forward pass lets the net report its stages. */
    memset(e->input, 0, sizeof(float) * (size_t)e->channels * e->side * e->side);
    status = scan_net_forward(e->net, e->input, 1, 0);
    if (status == SCAN_OK) status = scan_net_stage(e->net, e->gradcam_layer, 0, NULL, NULL, NULL, NULL, NULL);
    if (status != SCAN_OK) scan_fail_context(status, "config: explain.gradcam_layer");
  }
  if (status != SCAN_OK) scan_explainer_close(e);
  return status;
}

void scan_explainer_close(scan_explainer *e) {
  if (e->owns_net && e->net) scan_net_free(e->net);
  free(e->input);
  free(e->probs);
  free(e->d_logits);
  memset(e, 0, sizeof *e);
}

scan_status scan_explainer_view(const scan_explainer *e, const uint8_t *image, int h, int w, uint8_t *view) {
  SCAN_TRY(scan_aug_validate(&e->val_aug, h, w, e->channels));
  scan_rng unused = scan_rng_make(0, 0, 0); /* the val transform draws nothing */
  scan_augment_u8(&e->val_aug, image, h, w, &unused, view);
  return SCAN_OK;
}

scan_status scan_explainer_view_of(const scan_explainer *e, const scan_dataset *d, long index, uint8_t *view) {
  uint8_t *image = scan_malloc(scan_dataset_image_bytes(d));
  if (!image) return scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  scan_status status = scan_dataset_copy_image(d, index, image);
  if (status == SCAN_OK) status = scan_explainer_view(e, image, d->height, d->width, view);
  free(image);
  return status;
}

/* Softmax probabilities of n <= e->batch views into e->probs. The views are side x side already, so
 * the val transform reduces to ToTensor + Normalize: exactly what the model saw in training. keep_for_backward:
 * Grad-CAM differentiates afterwards; LIME only needs the probabilities (the faster inference pass). */
static scan_status forward_views(scan_explainer *e, const uint8_t *views, int n, int keep_for_backward) {
  const size_t view_bytes = (size_t)e->side * e->side * e->channels;
  const size_t plane = view_bytes; /* floats per normalised image: same count */
  for (int i = 0; i < n; i++) {
    scan_rng unused = scan_rng_make(0, 0, 0);
    scan_augment(&e->val_aug, views + (size_t)i * view_bytes, e->side, e->side, &unused, e->input + (size_t)i * plane);
  }
  SCAN_TRY(keep_for_backward ? scan_net_forward(e->net, e->input, n, 0) : scan_net_infer(e->net, e->input, n));
  scan_softmax_forward(n, e->clusters, scan_net_head_output(e->net, 0), e->probs);
  return SCAN_OK;
}

scan_status scan_explainer_predict(scan_explainer *e, const uint8_t *views, int n, float *probs) {
  const size_t view_bytes = (size_t)e->side * e->side * e->channels;
  for (int first = 0; first < n; first += e->batch) {
    const int count = n - first < e->batch ? n - first : e->batch;
    SCAN_TRY(forward_views(e, views + (size_t)first * view_bytes, count, 0));
    memcpy(probs + (size_t)first * e->clusters, e->probs, sizeof(float) * (size_t)count * (size_t)e->clusters);
  }
  return SCAN_OK;
}

scan_status scan_explainer_lime_classify(void *ctx, const uint8_t *views, int n, float *probs_out) {
  const scan_explain_target *t = ctx;
  scan_explainer *e = t->e;
  if (t->cluster < 0 || t->cluster >= e->clusters)
    return scan_fail(SCAN_ERR_INPUT, "explain: cluster %d does not exist (the model has %d)", t->cluster, e->clusters);
  const size_t view_bytes = (size_t)e->side * e->side * e->channels;
  for (int first = 0; first < n; first += e->batch) {
    const int count = n - first < e->batch ? n - first : e->batch;
    SCAN_TRY(forward_views(e, views + (size_t)first * view_bytes, count, 0));
    for (int i = 0; i < count; i++) probs_out[first + i] = e->probs[(size_t)i * e->clusters + t->cluster];
  }
  return SCAN_OK;
}

scan_status scan_explainer_gradcam(scan_explainer *e, const uint8_t *view, int cluster, float **map, int *mh, int *mw) {
  *map = NULL;
  if (cluster < 0 || cluster >= e->clusters)
    return scan_fail(SCAN_ERR_INPUT, "explain: cluster %d does not exist (the model has %d)", cluster, e->clusters);
  SCAN_TRY(forward_views(e, view, 1, 1));
  /* d(logit of the cluster) / d(logits) is one-hot. Backward stops at the explained stage (for the default, the last
     one, that leaves only global average pooling). The parameter gradients it accumulates as a side effect are
     never read, so they are not cleared (that would cost a pass over every weight). */
  memset(e->d_logits, 0, sizeof(float) * (size_t)e->clusters);
  e->d_logits[cluster] = 1.0f;
  const float *d_heads[1] = {e->d_logits};
  const char *layer = e->gradcam_layer[0] ? e->gradcam_layer : NULL;
  SCAN_TRY(scan_net_backward_to_stage(e->net, d_heads, layer));
  int c = 0, h = 0, w = 0;
  SCAN_TRY(scan_net_stage(e->net, layer, 0, NULL, NULL, &c, &h, &w));
  const size_t numel = (size_t)c * h * w;
  float *activation = scan_malloc(sizeof(float) * numel), *gradient = scan_malloc(sizeof(float) * numel);
  float *out = scan_malloc(sizeof(float) * (size_t)h * w);
  scan_status status = activation && gradient && out ? SCAN_OK
                                                     : scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory for Grad-CAM");
  if (status == SCAN_OK) status = scan_net_stage(e->net, layer, 0, activation, gradient, &c, &h, &w);
  if (status == SCAN_OK) scan_gradcam_map(activation, gradient, c, h, w, out);
  free(activation);
  free(gradient);
  if (status != SCAN_OK) {
    free(out);
    return status;
  }
  *map = out;
  *mh = h;
  *mw = w;
  return SCAN_OK;
}

scan_status scan_explainer_lime(scan_explainer *e, const uint8_t *view, int cluster, scan_lime_result *out) {
  scan_explain_target target = {e, cluster};
  scan_lime_config cfg = e->lime;
  cfg.batch = e->batch;
  return scan_lime_explain(&cfg, view, e->side, e->side, e->channels, scan_explainer_lime_classify, &target, out);
}

void scan_gradcam_superpixel_scores(const float *map, int mh, int mw, const int32_t *segments, int h, int w,
                                    int num_segments, double *scores) {
  float *full = scan_malloc(sizeof(float) * (size_t)h * w);
  long *counts = scan_calloc((size_t)num_segments, sizeof(long));
  for (int s = 0; s < num_segments; s++) scores[s] = 0;
  if (!full || !counts) { /* no memory: an uninformative ranking rather than a crash */
    free(full);
    free(counts);
    return;
  }
  scan_gradcam_upsample(map, mh, mw, h, w, full);
  for (long i = 0; i < (long)h * w; i++) {
    scores[segments[i]] += full[i];
    counts[segments[i]]++;
  }
  for (int s = 0; s < num_segments; s++)
    if (counts[s]) scores[s] /= (double)counts[s];
  free(full);
  free(counts);
}

/* Writes into dst the view with the superpixels flagged in `hide` replaced by the hidden image. */
static void compose(const uint8_t *view, const uint8_t *hidden, const int32_t *segments, long pixels, int channels,
                    const uint8_t *hide, uint8_t *dst) {
  for (long i = 0; i < pixels; i++)
    memcpy(dst + i * channels, (hide[segments[i]] ? hidden : view) + i * channels, (size_t)channels);
}

scan_status scan_explainer_deletion(scan_explainer *e, const uint8_t *view, int cluster, const int32_t *segments,
                                    int num_segments, const double *const *rankings, int num_rankings, scan_deletion *out) {
  memset(out, 0, sizeof *out);
  if (num_rankings < 0 || num_rankings > SCAN_DELETION_MAX_RANKINGS)
    return scan_fail(SCAN_ERR_INTERNAL, "explain: %d rankings for the deletion test (at most %d)", num_rankings,
                     SCAN_DELETION_MAX_RANKINGS);
  const int S = num_segments;
  int k = e->lime.top_features < S / 2 ? e->lime.top_features : S / 2;
  const int draws = k > 0 ? e->deletion_draws : 0;
  out->k = k;
  out->draws = draws;
  /* images: the view itself, one per ranking, then the random draws */
  const int images = 1 + num_rankings + draws;
  const long pixels = (long)e->side * e->side;
  const size_t view_bytes = (size_t)pixels * e->channels;
  uint8_t *batch = scan_malloc(view_bytes * (size_t)images), *hidden = scan_malloc(view_bytes);
  uint8_t *hide = scan_malloc((size_t)S + 1);
  int32_t *order = scan_malloc(sizeof(int32_t) * ((size_t)S + 1));
  float *probs = scan_malloc(sizeof(float) * (size_t)images);
  scan_status status = batch && hidden && hide && order && probs
                           ? scan_lime_hidden_image(view, e->side, e->side, e->channels, segments, S, e->lime.hide_mean, hidden)
                           : scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory for the deletion test");
  if (status == SCAN_OK) {
    memcpy(batch, view, view_bytes);
    for (int r = 0; r < num_rankings; r++) {
      /* the k highest scores, ties by index */
      memset(hide, 0, (size_t)S);
      for (int taken = 0; taken < k; taken++) {
        int best = -1;
        for (int s = 0; s < S; s++)
          if (!hide[s] && (best < 0 || rankings[r][s] > rankings[r][best])) best = s;
        hide[best] = 1;
      }
      compose(view, hidden, segments, pixels, e->channels, hide, batch + (size_t)(1 + r) * view_bytes);
    }
    for (int d = 0; d < draws; d++) {
      scan_rng rng = scan_rng_make(e->lime.seed, 1, (uint64_t)d);
      for (int s = 0; s < S; s++) order[s] = s;
      scan_rng_shuffle(&rng, order, S);
      memset(hide, 0, (size_t)S);
      for (int i = 0; i < k; i++) hide[order[i]] = 1;
      compose(view, hidden, segments, pixels, e->channels, hide, batch + (size_t)(1 + num_rankings + d) * view_bytes);
    }
    scan_explain_target target = {e, cluster};
    status = scan_explainer_lime_classify(&target, batch, images, probs);
  }
  if (status == SCAN_OK) {
    out->p_full = probs[0];
    for (int r = 0; r < num_rankings; r++) out->p_ranked[r] = probs[1 + r];
    double sum = 0;
    for (int d = 0; d < draws; d++) sum += probs[1 + num_rankings + d];
    out->p_random = draws ? sum / draws : probs[0];
  }
  free(batch);
  free(hidden);
  free(hide);
  free(order);
  free(probs);
  return status;
}

scan_status scan_explain_output_dir(const scan_pipeline *p, const char *out_dir, char *dir, size_t size) {
  if (out_dir) SCAN_TRY(scan_path_format(dir, size, "%s", out_dir));
  else SCAN_TRY(scan_pipeline_path(p, dir, size, "explain"));
  return scan_make_dirs(dir);
}
