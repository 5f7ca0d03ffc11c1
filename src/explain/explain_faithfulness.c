/* How faithful the explanations are, measured rather than judged by eye:
 * - deletion and insertion curves (Petsiuk et al., RISE): superpixels are hidden (or revealed) one by
 *   one in the order an explanation ranks them and the cluster's probability is recorded; a faithful
 *   ranking makes the probability fall fast (small deletion AUC) and rise fast (large insertion AUC),
 *   compared with random orders. All three orders use LIME's segmentation, so only the order differs.
 * - the model-randomisation check (Adebayo et al., "Sanity checks for saliency maps"): the same
 *   explanations of a model with re-initialised weights must differ from the trained model's, so their
 *   rank correlation should be near 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scan/atomic_file.h"
#include "scan/explain_model.h"
#include "scan/progress.h"
#include "scan/rng.h"
#include "scan/viz_chart.h"

enum { RANDOM_ORDERS = 3 };

static const char *const ORDER_NAMES[SCAN_ORDERS] = {"lime", "gradcam", "random"};
static const char *const ORDER_LABELS[SCAN_ORDERS] = {"LIME", "Grad-CAM", "random"};

scan_status scan_explainer_curves(scan_explainer *e, const uint8_t *view, int cluster, const int32_t *segments, int S,
                                  const int32_t *order, double *fraction, double *deletion, double *insertion) {
  const long pixels = (long)e->side * e->side;
  const size_t view_bytes = (size_t)pixels * e->channels;
  const int steps = S + 1, images = 2 * steps; /* deletion steps, then insertion steps */
  uint8_t *batch = scan_malloc(view_bytes * (size_t)images), *hidden = scan_malloc(view_bytes);
  int32_t *step_of = scan_malloc(sizeof(int32_t) * ((size_t)S + 1)); /* the step at which a superpixel goes */
  long *sizes = scan_calloc((size_t)S + 1, sizeof(long));
  float *probs = scan_malloc(sizeof(float) * (size_t)images);
  scan_status status = batch && hidden && step_of && sizes && probs
                           ? scan_lime_hidden_image(view, e->side, e->side, e->channels, segments, S, e->lime.hide_mean, hidden)
                           : scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory for %d curve images", images);
  if (status == SCAN_OK) {
    for (int k = 0; k < S; k++) step_of[order[k]] = k;
    for (long i = 0; i < pixels; i++) sizes[segments[i]]++;
    fraction[0] = 0;
    for (int k = 0; k < S; k++) fraction[k + 1] = fraction[k] + (double)sizes[order[k]] / (double)pixels;
    fraction[S] = 1; /* exactly, whatever the rounding */
    for (int k = 0; k < steps; k++) {
      uint8_t *del = batch + (size_t)k * view_bytes, *ins = batch + (size_t)(steps + k) * view_bytes;
      for (long i = 0; i < pixels; i++) {
        const int among_first_k = step_of[segments[i]] < k;
        memcpy(del + i * e->channels, (among_first_k ? hidden : view) + i * e->channels, (size_t)e->channels);
        memcpy(ins + i * e->channels, (among_first_k ? view : hidden) + i * e->channels, (size_t)e->channels);
      }
    }
    scan_explain_target target = {e, cluster};
    status = scan_explainer_lime_classify(&target, batch, images, probs);
  }
  if (status == SCAN_OK)
    for (int k = 0; k < steps; k++) {
      deletion[k] = probs[k];
      insertion[k] = probs[steps + k];
    }
  free(batch);
  free(hidden);
  free(step_of);
  free(sizes);
  free(probs);
  return status;
}

typedef struct {
  double score;
  int32_t index;
} scored;

static int by_score_descending(const void *a, const void *b) {
  const scored *p = a, *q = b;
  if (p->score != q->score) return p->score > q->score ? -1 : 1;
  return p->index - q->index;
}

/* order[S]: superpixels by decreasing score, ties by index. */
static scan_status order_by_score(const double *scores, int S, int32_t *order) {
  scored *s = scan_malloc(sizeof *s * ((size_t)S + 1));
  if (!s) return scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory");
  for (int i = 0; i < S; i++) s[i] = (scored){scores[i], i};
  qsort(s, (size_t)S, sizeof *s, by_score_descending);
  for (int i = 0; i < S; i++) order[i] = s[i].index;
  free(s);
  return SCAN_OK;
}

/* Curves of one order, resampled and integrated into out's slot `which`; `weight` scales what is
 * added (random orders are averaged). */
static scan_status add_curves(scan_explainer *e, const uint8_t *view, int cluster, const scan_lime_result *lime,
                              const int32_t *order, double *work, int which, double weight, scan_faithfulness *out) {
  const int S = lime->num_segments;
  double *fraction = work, *deletion = work + S + 1, *insertion = work + 2 * (S + 1);
  SCAN_TRY(scan_explainer_curves(e, view, cluster, lime->segments, S, order, fraction, deletion, insertion));
  double resampled[SCAN_CURVE_POINTS];
  scan_curve_resample(fraction, deletion, S + 1, SCAN_CURVE_POINTS, resampled);
  for (int i = 0; i < SCAN_CURVE_POINTS; i++) out->deletion[which][i] += weight * resampled[i];
  scan_curve_resample(fraction, insertion, S + 1, SCAN_CURVE_POINTS, resampled);
  for (int i = 0; i < SCAN_CURVE_POINTS; i++) out->insertion[which][i] += weight * resampled[i];
  out->deletion_auc[which] += weight * scan_curve_auc(fraction, deletion, S + 1);
  out->insertion_auc[which] += weight * scan_curve_auc(fraction, insertion, S + 1);
  return SCAN_OK;
}

/* Grad-CAM maps and LIME weights of the re-initialised model, ranked against the trained model's. */
static scan_status randomisation_check(scan_explainer *randomised, const uint8_t *view, int cluster, const float *map,
                                       int mh, int mw, const scan_lime_result *lime, scan_faithfulness *out) {
  float *map2 = NULL;
  int mh2 = 0, mw2 = 0;
  SCAN_TRY(scan_explainer_gradcam(randomised, view, cluster, &map2, &mh2, &mw2));
  scan_lime_result lime2 = {0};
  scan_status status = mh2 == mh && mw2 == mw ? scan_explainer_lime(randomised, view, cluster, &lime2)
                                              : scan_fail(SCAN_ERR_INTERNAL, "explain: the re-initialised model's map "
                                                          "is %dx%d, the trained one's %dx%d", mh2, mw2, mh, mw);
  if (status == SCAN_OK && lime2.num_segments != lime->num_segments)
    status = scan_fail(SCAN_ERR_INTERNAL, "explain: LIME segmented the view differently for the re-initialised model");
  const int cells = mh * mw;
  double *a = status == SCAN_OK ? scan_malloc(sizeof(double) * (size_t)cells * 2) : NULL;
  if (status == SCAN_OK && !a) status = scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory");
  if (status == SCAN_OK) {
    for (int i = 0; i < cells; i++) {
      a[i] = map[i];
      a[cells + i] = map2[i];
    }
    out->gradcam_rank_corr = scan_rank_correlation(a, a + cells, cells);
    out->lime_rank_corr = scan_rank_correlation(lime->weights, lime2.weights, lime->num_segments);
  }
  free(a);
  free(map2);
  scan_lime_result_free(&lime2);
  return status;
}

scan_status scan_faithfulness_image(scan_explainer *e, scan_explainer *randomised, const uint8_t *view,
                                    int random_orders, uint64_t stream, scan_faithfulness *out) {
  memset(out, 0, sizeof *out);
  out->gradcam_rank_corr = out->lime_rank_corr = NAN;
  float *probs = scan_malloc(sizeof(float) * (size_t)e->clusters);
  if (!probs) return scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory");
  scan_status status = scan_explainer_predict(e, view, 1, probs);
  for (int c = 1; status == SCAN_OK && c < e->clusters; c++)
    if (probs[c] > probs[out->cluster]) out->cluster = c;
  if (status == SCAN_OK) out->probability = probs[out->cluster];
  free(probs);
  SCAN_TRY(status);

  float *map = NULL;
  int mh = 0, mw = 0;
  scan_lime_result lime = {0};
  status = scan_explainer_gradcam(e, view, out->cluster, &map, &mh, &mw);
  if (status == SCAN_OK) status = scan_explainer_lime(e, view, out->cluster, &lime);
  const int S = lime.num_segments;
  out->num_segments = S;
  double *scores = scan_malloc(sizeof(double) * ((size_t)S + 1)), *work = scan_malloc(sizeof(double) * 3 * ((size_t)S + 1));
  int32_t *order = scan_malloc(sizeof(int32_t) * ((size_t)S + 1));
  if (status == SCAN_OK && (!scores || !work || !order)) status = scan_fail(SCAN_ERR_INTERNAL, "explain: out of memory");
  if (status == SCAN_OK) status = order_by_score(lime.weights, S, order);
  if (status == SCAN_OK) status = add_curves(e, view, out->cluster, &lime, order, work, SCAN_ORDER_LIME, 1, out);
  if (status == SCAN_OK) {
    scan_gradcam_superpixel_scores(map, mh, mw, lime.segments, e->side, e->side, S, scores);
    status = order_by_score(scores, S, order);
  }
  if (status == SCAN_OK) status = add_curves(e, view, out->cluster, &lime, order, work, SCAN_ORDER_GRADCAM, 1, out);
  for (int r = 0; status == SCAN_OK && r < random_orders; r++) {
    scan_rng rng = scan_rng_make(e->lime.seed, 2, stream * (uint64_t)random_orders + (uint64_t)r);
    for (int s = 0; s < S; s++) order[s] = s;
    scan_rng_shuffle(&rng, order, S);
    status = add_curves(e, view, out->cluster, &lime, order, work, SCAN_ORDER_RANDOM, 1.0 / random_orders, out);
  }
  if (status == SCAN_OK && randomised)
    status = randomisation_check(randomised, view, out->cluster, map, mh, mw, &lime, out);
  free(map);
  free(scores);
  free(work);
  free(order);
  scan_lime_result_free(&lime);
  return status;
}

void scan_faithfulness_summarise(const scan_faithfulness *items, int count, scan_faithfulness_summary *out) {
  memset(out, 0, sizeof *out);
  out->images = count;
  out->random_orders = RANDOM_ORDERS;
  int checked = 0;
  for (int i = 0; i < count; i++) {
    const scan_faithfulness *f = &items[i];
    for (int o = 0; o < SCAN_ORDERS; o++) {
      out->deletion_auc[o] += f->deletion_auc[o] / count;
      out->insertion_auc[o] += f->insertion_auc[o] / count;
      for (int k = 0; k < SCAN_CURVE_POINTS; k++) {
        out->deletion[o][k] += f->deletion[o][k] / count;
        out->insertion[o][k] += f->insertion[o][k] / count;
      }
    }
    if (!isnan(f->gradcam_rank_corr)) {
      out->gradcam_rank_corr += f->gradcam_rank_corr;
      out->lime_rank_corr += f->lime_rank_corr;
      checked++;
    }
  }
  out->gradcam_rank_corr = checked ? out->gradcam_rank_corr / checked : NAN;
  out->lime_rank_corr = checked ? out->lime_rank_corr / checked : NAN;
}

/* The explainer's twin with re-initialised weights: a fresh net of the same architecture from the
 * run's seed + 1 (so not even the trained model's starting point), the same preprocessing and settings. */
static scan_status open_randomised(scan_explainer *r, scan_pipeline *p, const scan_explainer *trained) {
  memset(r, 0, sizeof *r);
  scan_net *net = NULL;
  const uint64_t seed = p->seed;
  p->seed = seed + 1;
  scan_status status = scan_pipeline_create_net(p, "selflabel", scan_net_max_batch(trained->net), &net);
  p->seed = seed;
  SCAN_TRY(status);
  status = scan_explainer_init(r, net, &trained->val_aug);
  if (status != SCAN_OK) {
    scan_net_free(net);
    return status;
  }
  r->owns_net = 1;
  r->lime = trained->lime;
  r->deletion_draws = trained->deletion_draws;
  snprintf(r->gradcam_layer, sizeof r->gradcam_layer, "%s", trained->gradcam_layer);
  snprintf(r->model_source, sizeof r->model_source, "re-initialised (seed %llu)", (unsigned long long)(seed + 1));
  return SCAN_OK;
}

static cJSON *orders_json(const double *values) {
  cJSON *o = cJSON_CreateObject();
  for (int k = 0; k < SCAN_ORDERS; k++) cJSON_AddNumberToObject(o, ORDER_NAMES[k], values[k]);
  return o;
}

static cJSON *curves_json(const double (*curves)[SCAN_CURVE_POINTS]) {
  cJSON *o = cJSON_CreateObject();
  for (int k = 0; k < SCAN_ORDERS; k++) cJSON_AddItemToObject(o, ORDER_NAMES[k], cJSON_CreateDoubleArray(curves[k], SCAN_CURVE_POINTS));
  return o;
}

/* NAN is not JSON: a check that did not run is null. */
static void add_number_or_null(cJSON *o, const char *key, double value) {
  if (isnan(value)) cJSON_AddNullToObject(o, key);
  else cJSON_AddNumberToObject(o, key, value);
}

static scan_status write_json(const char *path, const char *model, const scan_faithfulness_summary *s,
                              const scan_faithfulness *items, const int *indices) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "model", model);
  cJSON_AddStringToObject(root, "method",
                          "superpixels (LIME's segmentation) hidden one by one in each order (deletion, from the image) "
                          "or revealed one by one (insertion, from the fully hidden image); y = probability of the "
                          "image's assigned cluster, x = fraction of pixels hidden/revealed; AUC by the trapezoid rule. "
                          "Lower deletion AUC and higher insertion AUC than random = more faithful. Randomisation: "
                          "Spearman correlation with the same explanation of a re-initialised model (near 0 = passes).");
  cJSON_AddNumberToObject(root, "images", s->images);
  cJSON_AddNumberToObject(root, "random_orders", s->random_orders);
  cJSON *summary = cJSON_AddObjectToObject(root, "summary");
  cJSON_AddItemToObject(summary, "deletion_auc", orders_json(s->deletion_auc));
  cJSON_AddItemToObject(summary, "insertion_auc", orders_json(s->insertion_auc));
  cJSON *check = cJSON_AddObjectToObject(summary, "randomisation_rank_correlation");
  add_number_or_null(check, "gradcam", s->gradcam_rank_corr);
  add_number_or_null(check, "lime", s->lime_rank_corr);
  double fraction[SCAN_CURVE_POINTS];
  for (int i = 0; i < SCAN_CURVE_POINTS; i++) fraction[i] = (double)i / (SCAN_CURVE_POINTS - 1);
  cJSON *curves = cJSON_AddObjectToObject(root, "mean_curves");
  cJSON_AddItemToObject(curves, "fraction", cJSON_CreateDoubleArray(fraction, SCAN_CURVE_POINTS));
  cJSON_AddItemToObject(curves, "deletion", curves_json(s->deletion));
  cJSON_AddItemToObject(curves, "insertion", curves_json(s->insertion));
  cJSON *list = cJSON_AddArrayToObject(root, "per_image");
  for (int i = 0; i < s->images; i++) {
    const scan_faithfulness *f = &items[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", indices[i]);
    cJSON_AddNumberToObject(o, "cluster", f->cluster);
    cJSON_AddNumberToObject(o, "probability", f->probability);
    cJSON_AddNumberToObject(o, "superpixels", f->num_segments);
    cJSON_AddItemToObject(o, "deletion_auc", orders_json(f->deletion_auc));
    cJSON_AddItemToObject(o, "insertion_auc", orders_json(f->insertion_auc));
    cJSON *rc = cJSON_AddObjectToObject(o, "randomisation_rank_correlation");
    add_number_or_null(rc, "gradcam", f->gradcam_rank_corr);
    add_number_or_null(rc, "lime", f->lime_rank_corr);
    cJSON_AddItemToArray(list, o);
  }
  scan_status status = scan_write_json_atomic(path, root);
  cJSON_Delete(root);
  return status;
}

static scan_status write_chart(const char *path, const char *what, const double (*curves)[SCAN_CURVE_POINTS],
                               const double *auc, int images) {
  double fraction[SCAN_CURVE_POINTS];
  for (int i = 0; i < SCAN_CURVE_POINTS; i++) fraction[i] = (double)i / (SCAN_CURVE_POINTS - 1);
  char names[SCAN_ORDERS][64], title[128], xlabel[64];
  const char *name_list[SCAN_ORDERS];
  const double *series[SCAN_ORDERS];
  for (int k = 0; k < SCAN_ORDERS; k++) {
    snprintf(names[k], sizeof names[k], "%s: %.3f", ORDER_LABELS[k], auc[k]);
    name_list[k] = names[k];
    series[k] = curves[k];
  }
  snprintf(title, sizeof title, "Mean %s curve over %d validation images (legend: order: AUC)", what, images);
  snprintf(xlabel, sizeof xlabel, "fraction of pixels %s", strcmp(what, "deletion") == 0 ? "hidden" : "revealed");
  scan_chart_frame frame = {title, xlabel, "probability of the assigned cluster", 0, 0};
  return scan_chart_line_range(path, &frame, 0, 1, fraction, SCAN_CURVE_POINTS, series, name_list, SCAN_ORDERS);
}

scan_status scan_explain_faithfulness(scan_pipeline *p, const char *model_path, int samples, const char *out_dir,
                                      scan_faithfulness_summary *summary) {
  memset(summary, 0, sizeof *summary);
  if (samples < 1) return scan_fail(SCAN_ERR_INPUT, "explain: --samples must be at least 1, got %d", samples);
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  char dir[SCAN_PATH_MAX], path[SCAN_PATH_MAX];
  SCAN_TRY(scan_explain_output_dir(p, out_dir, dir, sizeof dir));
  scan_explainer e, randomised;
  SCAN_TRY(scan_explainer_open_model(&e, p, model_path));
  scan_status status = open_randomised(&randomised, p, &e);
  if (status != SCAN_OK) {
    scan_explainer_close(&e);
    return status;
  }
  const int n = samples < val->count ? samples : val->count;
  int32_t *indices = scan_malloc(sizeof(int32_t) * ((size_t)val->count + 1));
  scan_faithfulness *items = scan_calloc((size_t)n + 1, sizeof *items);
  uint8_t *view = scan_malloc((size_t)e.side * e.side * e.channels);
  if (!indices || !items || !view) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  if (status == SCAN_OK) { /* a sample without repeats, the same for the same explain.seed */
    for (int i = 0; i < val->count; i++) indices[i] = i;
    scan_rng rng = scan_rng_make(e.lime.seed, 3, 0);
    scan_rng_shuffle(&rng, indices, val->count);
  }
  scan_progress progress;
  scan_progress_start(&progress, "explain: faithfulness", n, "img");
  for (int i = 0; status == SCAN_OK && i < n; i++) {
    status = scan_explainer_view_of(&e, val, indices[i], view);
    if (status == SCAN_OK) status = scan_faithfulness_image(&e, &randomised, view, RANDOM_ORDERS, (uint64_t)i, &items[i]);
    if (status != SCAN_OK) scan_fail_context(status, "explain: faithfulness of val image %d", indices[i]);
    scan_progress_update(&progress, i + 1);
  }
  scan_progress_finish(&progress);
  if (status == SCAN_OK) {
    scan_faithfulness_summarise(items, n, summary);
    status = scan_path_join(path, sizeof path, dir, "faithfulness.json");
    if (status == SCAN_OK) status = write_json(path, e.model_source, summary, items, indices);
  }
  if (status == SCAN_OK) {
    status = scan_path_join(path, sizeof path, dir, "faithfulness_deletion.png");
    if (status == SCAN_OK) status = write_chart(path, "deletion", summary->deletion, summary->deletion_auc, n);
  }
  if (status == SCAN_OK) {
    status = scan_path_join(path, sizeof path, dir, "faithfulness_insertion.png");
    if (status == SCAN_OK) status = write_chart(path, "insertion", summary->insertion, summary->insertion_auc, n);
  }
  free(indices);
  free(items);
  free(view);
  scan_explainer_close(&randomised);
  scan_explainer_close(&e);
  return status;
}
