/* One image explained end to end: prediction, Grad-CAM, LIME, the deletion test, the figures and
 * their JSON description. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scan/atomic_file.h"
#include "scan/explain_model.h"
#include "scan/image_io.h"
#include "scan/viz_chart.h"

enum { DISPLAY_SIDE = 224, PANEL_GAP = 8 };

/* Tiny images (28 or 32 px) are enlarged by an integer factor to about 224 px so a person can see them. */
static int display_scale(int side) { return side >= DISPLAY_SIDE ? 1 : (DISPLAY_SIDE + side - 1) / side; }

/* Records "<dir>/<prefix>_<suffix>.png" as the explanation's next file; *path points at it. */
static scan_status add_file(scan_explanation *r, const char *dir, const char *prefix, const char *suffix,
                            const char **path) {
  char *file = r->files[r->file_count];
  SCAN_TRY(scan_path_format(file, sizeof r->files[0], "%s/%s_%s.png", dir, prefix, suffix));
  r->file_count++;
  *path = file;
  return SCAN_OK;
}

/* A figure of two panels on a white background: the view enlarged (nearest) and, beside it, `overlay`
   [panel, panel] RGB, the view with an explanation drawn over it (Grad-CAM and LIME alike). */
static scan_status write_beside_original(const char *path, const uint8_t *overlay, const uint8_t *view, int side,
                                         int channels) {
  const int scale = display_scale(side), panel = side * scale, width = 2 * panel + PANEL_GAP;
  uint8_t *figure = scan_malloc((size_t)panel * width * 3);
  if (!figure) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  memset(figure, 255, (size_t)panel * width * 3);
  for (int y = 0; y < panel; y++) {
    uint8_t *row = figure + (size_t)y * width * 3;
    for (int x = 0; x < panel; x++) {
      const uint8_t *src = view + ((size_t)(y / scale) * side + x / scale) * channels;
      for (int k = 0; k < 3; k++) row[x * 3 + k] = src[channels == 3 ? k : 0];
    }
    memcpy(row + (size_t)(panel + PANEL_GAP) * 3, overlay + (size_t)y * panel * 3, (size_t)panel * 3);
  }
  scan_status status = scan_image_write_png(path, figure, panel, width, 3);
  free(figure);
  return status;
}

static scan_status write_gradcam_figure(const char *path, const float *map, int mh, int mw, const uint8_t *view, int side,
                                        int channels) {
  const int scale = display_scale(side), panel = side * scale;
  uint8_t *overlay = scan_malloc((size_t)panel * panel * 3);
  if (!overlay) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  scan_gradcam_overlay(map, mh, mw, view, side, side, channels, scale, 0.4, overlay);
  scan_status status = write_beside_original(path, overlay, view, side, channels);
  free(overlay);
  return status;
}

static scan_status write_lime_figures(const char *overlay_path, const char *chart_path, const scan_lime_result *lime,
                                      const scan_explanation *r, const uint8_t *view, int side, int channels) {
  const int scale = display_scale(side), panel = side * scale;
  uint8_t *figure = scan_malloc((size_t)panel * panel * 3);
  if (!figure) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", overlay_path);
  scan_lime_render(lime, view, side, side, channels, r->top_count, scale, figure);
  scan_status status = write_beside_original(overlay_path, figure, view, side, channels);
  free(figure);
  if (status != SCAN_OK) return status;
  char (*names)[24] = scan_calloc((size_t)r->top_count + 1, sizeof *names);
  const char **labels = scan_calloc((size_t)r->top_count + 1, sizeof *labels);
  if (!names || !labels) status = scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", chart_path);
  for (int i = 0; status == SCAN_OK && i < r->top_count; i++) {
    snprintf(names[i], sizeof names[i], "#%d", (int)r->top_segments[i]);
    labels[i] = names[i];
  }
  char title[96];
  snprintf(title, sizeof title, "LIME superpixel weights for cluster %d (R\xc2\xb2 %.2f)", r->cluster, r->lime_r2);
  scan_chart_frame frame = {title, "superpixel", "weight (cluster probability)", 0, 0};
  if (status == SCAN_OK) status = scan_chart_bar(chart_path, &frame, r->top_weights, r->top_count, labels, 1);
  free(names);
  free(labels);
  return status;
}

static scan_status keep_lime(scan_explanation *r, const scan_lime_result *lime, int top) {
  r->num_segments = lime->num_segments;
  r->lime_r2 = lime->score;
  r->lime_intercept = lime->intercept;
  r->lime_local_pred = lime->local_pred;
  r->top_segments = scan_malloc(sizeof(int32_t) * ((size_t)top + 1));
  r->top_weights = scan_malloc(sizeof(double) * ((size_t)top + 1));
  if (!r->top_segments || !r->top_weights) return scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory");
  r->top_count = scan_lime_rank_features(lime->weights, lime->num_segments, top, r->top_segments);
  for (int i = 0; i < r->top_count; i++) r->top_weights[i] = lime->weights[r->top_segments[i]];
  return SCAN_OK;
}

/* The deletion test over the superpixels: LIME's own, or (Grad-CAM alone) the same segmentation. */
static scan_status run_deletion(scan_explainer *e, const uint8_t *view, const scan_lime_result *lime, const float *map,
                                int mh, int mw, scan_explanation *r) {
  scan_lime_result own = {0};
  const int32_t *segments = lime ? lime->segments : NULL;
  int S = lime ? lime->num_segments : 0;
  scan_status status = SCAN_OK;
  if (!lime) {
    own.segments = scan_malloc(sizeof(int32_t) * (size_t)e->side * e->side);
    if (!own.segments) return scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory");
    status = scan_lime_segment(&e->lime, view, e->side, e->side, e->channels, own.segments, &S);
    segments = own.segments;
  }
  double *gradcam_scores = map && status == SCAN_OK ? scan_malloc(sizeof(double) * ((size_t)S + 1)) : NULL;
  if (map && status == SCAN_OK && !gradcam_scores) status = scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory");
  const double *rankings[2];
  int count = 0;
  r->deletion_lime = r->deletion_gradcam = -1;
  if (lime) {
    r->deletion_lime = count;
    rankings[count++] = lime->weights;
  }
  if (map && status == SCAN_OK) {
    scan_gradcam_superpixel_scores(map, mh, mw, segments, e->side, e->side, S, gradcam_scores);
    r->deletion_gradcam = count;
    rankings[count++] = gradcam_scores;
  }
  r->num_segments = S;
  if (status == SCAN_OK) status = scan_explainer_deletion(e, view, r->cluster, segments, S, rankings, count, &r->deletion);
  free(gradcam_scores);
  scan_lime_result_free(&own);
  return status;
}

scan_status scan_explain_image(scan_explainer *e, const uint8_t *view, int cluster, int methods, const char *dir,
                               const char *prefix, scan_explanation *out) {
  memset(out, 0, sizeof *out);
  out->index = -1;
  out->clusters = e->clusters;
  out->methods = methods & SCAN_EXPLAIN_BOTH;
  if (dir && strlen(dir) + strlen(prefix) + 24 >= sizeof out->files[0])
    return scan_fail(SCAN_ERR_INPUT, "%s/%s: output path too long", dir, prefix);
  out->probabilities = scan_malloc(sizeof(float) * (size_t)e->clusters);
  if (!out->probabilities) return scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory");
  SCAN_TRY(scan_explainer_predict(e, view, 1, out->probabilities));
  for (int c = 1; c < e->clusters; c++)
    if (out->probabilities[c] > out->probabilities[out->assigned]) out->assigned = c;
  if (cluster < 0) cluster = out->assigned;
  if (cluster >= e->clusters)
    return scan_fail(SCAN_ERR_INPUT, "explain: cluster %d does not exist (the model has %d clusters)", cluster, e->clusters);
  out->cluster = cluster;
  out->probability = out->probabilities[cluster];

  float *map = NULL;
  scan_lime_result lime = {0};
  scan_status status = SCAN_OK;
  if (out->methods & SCAN_EXPLAIN_GRADCAM) {
    status = scan_explainer_gradcam(e, view, cluster, &map, &out->map_h, &out->map_w);
    const char *file = NULL;
    if (status == SCAN_OK && dir) status = add_file(out, dir, prefix, "gradcam", &file);
    if (status == SCAN_OK && dir) status = write_gradcam_figure(file, map, out->map_h, out->map_w, view, e->side, e->channels);
  }
  if (status == SCAN_OK && (out->methods & SCAN_EXPLAIN_LIME)) {
    status = scan_explainer_lime(e, view, cluster, &lime);
    if (status == SCAN_OK) status = keep_lime(out, &lime, e->lime.top_features);
    if (status == SCAN_OK && dir) {
      const char *overlay = NULL, *weights = NULL;
      status = add_file(out, dir, prefix, "lime", &overlay);
      if (status == SCAN_OK) status = add_file(out, dir, prefix, "lime_weights", &weights);
      if (status == SCAN_OK) status = write_lime_figures(overlay, weights, &lime, out, view, e->side, e->channels);
    }
  }
  if (status == SCAN_OK && out->methods)
    status = run_deletion(e, view, (out->methods & SCAN_EXPLAIN_LIME) ? &lime : NULL, map, out->map_h, out->map_w, out);
  free(map);
  scan_lime_result_free(&lime);
  return status;
}

void scan_explanation_free(scan_explanation *r) {
  free(r->probabilities);
  free(r->top_segments);
  free(r->top_weights);
  memset(r, 0, sizeof *r);
}

static cJSON *deletion_json(const scan_explanation *r) {
  const scan_deletion *d = &r->deletion;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "k", d->k);
  cJSON_AddNumberToObject(o, "random_draws", d->draws);
  cJSON_AddNumberToObject(o, "probability", d->p_full);
  if (r->deletion_lime >= 0) cJSON_AddNumberToObject(o, "drop_lime", d->p_full - d->p_ranked[r->deletion_lime]);
  if (r->deletion_gradcam >= 0) cJSON_AddNumberToObject(o, "drop_gradcam", d->p_full - d->p_ranked[r->deletion_gradcam]);
  cJSON_AddNumberToObject(o, "drop_random", d->p_full - d->p_random);
  return o;
}

static cJSON *explanation_json(const scan_explanation *r) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "index", (double)r->index);
  cJSON_AddNumberToObject(o, "cluster", r->cluster);
  if (!r->probabilities) return o; /* an empty cluster: nothing was explained */
  cJSON_AddNumberToObject(o, "assigned", r->assigned);
  cJSON_AddNumberToObject(o, "probability", r->probability);
  cJSON *probs = cJSON_AddArrayToObject(o, "probabilities");
  for (int c = 0; c < r->clusters; c++) cJSON_AddItemToArray(probs, cJSON_CreateNumber(r->probabilities[c]));
  if (r->methods & SCAN_EXPLAIN_GRADCAM) {
    cJSON *g = cJSON_AddObjectToObject(o, "gradcam");
    cJSON *size = cJSON_AddArrayToObject(g, "map_size");
    cJSON_AddItemToArray(size, cJSON_CreateNumber(r->map_h));
    cJSON_AddItemToArray(size, cJSON_CreateNumber(r->map_w));
  }
  if (r->methods & SCAN_EXPLAIN_LIME) {
    cJSON *l = cJSON_AddObjectToObject(o, "lime");
    cJSON_AddNumberToObject(l, "superpixels", r->num_segments);
    cJSON_AddNumberToObject(l, "r2", r->lime_r2);
    cJSON_AddNumberToObject(l, "intercept", r->lime_intercept);
    cJSON_AddNumberToObject(l, "local_prediction", r->lime_local_pred);
    cJSON *top = cJSON_AddArrayToObject(l, "top");
    for (int i = 0; i < r->top_count; i++) {
      cJSON *item = cJSON_CreateObject();
      cJSON_AddNumberToObject(item, "superpixel", r->top_segments[i]);
      cJSON_AddNumberToObject(item, "weight", r->top_weights[i]);
      cJSON_AddItemToArray(top, item);
    }
  }
  if (r->methods) cJSON_AddItemToObject(o, "deletion", deletion_json(r));
  cJSON *files = cJSON_AddArrayToObject(o, "files");
  for (int i = 0; i < r->file_count; i++) cJSON_AddItemToArray(files, cJSON_CreateString(r->files[i]));
  return o;
}

scan_status scan_explanations_write_json(const char *path, const char *model, int head, const scan_explanation *items,
                                         int count) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "model", model);
  cJSON_AddNumberToObject(root, "head", head);
  cJSON_AddStringToObject(root, "deletion_test",
                          "k top-ranked superpixels hidden (as LIME hides them); drop = probability of the cluster "
                          "before minus after; drop_random averages random_draws random sets of k");
  cJSON *list = cJSON_AddArrayToObject(root, "explanations");
  for (int i = 0; i < count; i++) cJSON_AddItemToArray(list, explanation_json(&items[i]));
  scan_status status = scan_write_json_atomic(path, root);
  cJSON_Delete(root);
  return status;
}
