/* Query-candidate clustering (spec §14, §15): pick a query image, take its N nearest
 * "candidate" images of the validation set in the pretext feature space, cluster
 * only those with the trained model, evaluate them, and chart how the metrics move
 * as N grows. Differences from the originals, on purpose:
 * - candidates never contain the query, nor any byte-identical copy of it, whatever
 *   position the search put them in (§18.13: dropping column 0 can drop a copy and
 *   keep the query);
 * - one search for the largest N; every smaller N is a prefix of it (the originals
 *   searched 20 times);
 * - matching is rectangular over the clusters and classes that actually occur, and
 *   unmatched clusters never count as hits for top-5 (§18.1, §18.2; see metrics.h);
 * - prototypes are the most confident member closest to the mean of the cluster's
 *   `topk` most confident members, among its own members only (§18.4).
 *
 * Files: RUN/pretext/candidates-N<N>.npy (int64 [N_val, N], nearest first),
 * RUN/query/<INDEX>-n<N>/ or RUN/query/file-<NAME>-n<N>/ (figures, metrics.json,
 * members.json), RUN/query/<INDEX>-charts/ (one PNG per metric, charts.csv, charts.json). */
#ifndef SCAN_QUERY_H
#define SCAN_QUERY_H

#include <stdint.h>

#include "scan/explain_model.h"
#include "scan/metrics.h"
#include "scan/npy.h"
#include "scan/pipeline.h"

#define SCAN_QUERY_MAX_COUNTS 64

/* ---- candidate counts ---- */

/* The originals' list 50, 100, ..., 1000; returns how many were written (at most max). */
int scan_query_default_counts(int *counts, int max);
/* "50,100,200": positive, strictly increasing integers; anything else is SCAN_ERR_INPUT naming the item. */
scan_status scan_query_parse_counts(const char *text, int *counts, int max, int *num);

/* ---- mining ---- */

/* For every row i of features [n, d] (L2-normalised), its k nearest other rows by inner product,
 * nearest first (ties: smaller index), leaving out i itself and every image whose pixels are
 * byte-identical to image i's (images: the n images, in memory or streamed; NULL = leave out only i).
 * candidates [n, k]. SCAN_ERR_INPUT when a row has fewer than k other images. */
scan_status scan_query_mine(const float *features, int64_t n, int d, const scan_dataset *images, int k,
                            int64_t *candidates);

/* For each counts[j] (<= k): the percentage (0..100) of the first counts[j] candidates of every
 * labelled row that share its label, over candidates [n, k]. Rows labelled -1 are skipped and
 * candidates labelled -1 are mismatches; 0 when nothing is labelled. One pass over the table.
 * SCAN_ERR_INTERNAL only when out of memory. */
scan_status scan_query_candidate_accuracy(const int64_t *candidates, int64_t n, int k, const int32_t *labels,
                                   const int *counts, int num_counts, double *accuracy);

/* pretext/features-val.npy, checked: float32 [val->count, dim] (dim 0: any width) with finite values only. */
scan_status scan_query_read_val_features(scan_pipeline *p, const scan_dataset *val, int dim, scan_array *features);

/* Step 1: mines the largest count once over pretext/features-val.npy and writes
 * pretext/candidates-N<count>.npy for every count. accuracy[num_counts] (may be NULL) receives
 * each count's neighbour label accuracy, or -1 when the validation set has no labels. */
scan_status scan_query_write_candidates(scan_pipeline *p, const int *counts, int num_counts, double *accuracy);

/* The n candidates of validation image `query`, from the smallest candidates file with at
 * least n columns (its first n columns). SCAN_ERR_INPUT for a bad index, or when no file is wide enough. */
scan_status scan_query_candidates_of(scan_pipeline *p, int query, int n, int64_t *indices);

/* An image file not in the dataset: decoded, converted to the validation images' channels and
 * resized (whole image, bilinear) to their size into image_out [h * w * channels of the val set],
 * embedded with the pretext model; indices [n] = its n nearest validation images (byte-identical
 * copies of the converted image left out). */
scan_status scan_query_candidates_of_image(scan_pipeline *p, const char *path, int n, uint8_t *image_out,
                                           int64_t *indices);

typedef struct {
  int n;                  /* candidates */
  int num_clusters;       /* the head's output size */
  int feature_dim;        /* backbone feature size */
  int64_t *indices;       /* [n] validation-set indices */
  int32_t *pred;          /* [n] cluster of each candidate */
  float *probs;           /* [n, num_clusters] softmax */
  float *features;        /* [n, feature_dim] backbone features (prototypes) */
} scan_query_prediction;

/* Predicts the validation images `indices` [n] with the val transform. */
scan_status scan_query_predict(scan_pipeline *p, scan_net *net, const int64_t *indices, int n,
                               scan_query_prediction *out);
void scan_query_prediction_free(scan_query_prediction *pr);

/* ---- evaluation ---- */

typedef struct {
  int n;                 /* candidates evaluated (a prefix of the prediction) */
  int labelled;          /* of which have a label; the supervised scores use only those */
  int evaluated;         /* 0 when none is labelled: the supervised scores are then 0 */
  double acc, ari, nmi, acc_top5, f1, precision, recall; /* fractions 0..1, metrics.h definitions */
  double silhouette;     /* of the probability vectors under the predicted clusters (seed 001's SIL) */
  int silhouette_defined;/* 0 with a single cluster (then silhouette = 0) */
  int clusters_present, classes_present;
  scan_metrics metrics;  /* the full result (contingency, matching) when evaluated */
} scan_query_scores;

/* Scores the first n candidates of `pr` against the labels of `val`. */
scan_status scan_query_evaluate(const scan_dataset *val, const scan_query_prediction *pr, int n,
                                scan_query_scores *out);
void scan_query_scores_free(scan_query_scores *s);

/* ---- outputs ---- */

/* Explains one prototype (dataset index `index` of the validation set, assigned to `cluster`)
 * into files under dir, e.g. Grad-CAM and LIME figures. */
typedef scan_status (*scan_query_explain_fn)(void *ctx, scan_pipeline *p, int64_t index, int cluster, const char *dir);

typedef struct {
  const char *dir;            /* created when missing */
  const uint8_t *query_image; /* in the validation images' shape */
  int query_index;            /* validation index, or -1 for an image file */
  const char *query_file;     /* the image file, or NULL */
  const char *model_path;     /* recorded in metrics.json */
  int prototypes;             /* also write prototype_XX.png (and explanations) */
  int prototype_topk;         /* confident members averaged for the prototype */
  scan_query_explain_fn explain; /* called for each prototype when set (with prototypes), else none */
  void *explain_ctx;
} scan_query_output_options;

/* Writes query.png (enlarged), cluster_XX.png (a contact sheet per present cluster, members
 * captioned with their dataset index), confusion.png (when evaluated), metrics.json and
 * members.json; with o->prototypes also prototype_XX.png and whatever o->explain writes. prototypes_out [num_clusters]
 * (may be NULL) receives each cluster's prototype as a dataset index, -1 for absent clusters. */
scan_status scan_query_write_outputs(scan_pipeline *p, const scan_query_prediction *pr, const scan_query_scores *s,
                                     const scan_query_output_options *o, int64_t *prototypes_out);

/* Grad-CAM and LIME of the prototypes (explain_model.h), as the o->explain hook: open, pass
 * scan_query_explain_prototype with the explainer as ctx, then finish (explanations.json) and close. */
typedef struct {
  scan_explainer explainer;
  scan_explanation *items;
  int count, capacity;
} scan_query_explainer;

/* The run's explainer settings (config `explain:`); model_path (may be NULL) replaces the run's model. */
scan_status scan_query_explainer_open(scan_query_explainer *x, scan_pipeline *p, const char *model_path);
/* A scan_query_explain_fn: writes <dir>/prototype_XX_{gradcam,lime,lime_weights}.png. */
scan_status scan_query_explain_prototype(void *ctx, scan_pipeline *p, int64_t index, int cluster, const char *dir);
/* <dir>/explanations.json of every explained prototype. */
scan_status scan_query_explainer_finish(scan_query_explainer *x, const char *dir);
void scan_query_explainer_close(scan_query_explainer *x);

/* ---- metric-vs-N charts ---- */

enum { SCAN_QUERY_CHART_METRICS = 8 };
/* Names as charted: Accuracy, Adjusted Rand Index, Normalized Mutual Information, Top-5 accuracy,
 * F1 score (weighted), Precision (weighted), Recall (weighted), Silhouette coefficient; and file stems. */
extern const char *const scan_query_metric_titles[SCAN_QUERY_CHART_METRICS];
extern const char *const scan_query_metric_keys[SCAN_QUERY_CHART_METRICS];

/* The chart values of one evaluation, in scan_query_metric_keys order. */
void scan_query_scores_values(const scan_query_scores *s, double values[SCAN_QUERY_CHART_METRICS]);

/* Evaluates every count for each query of queries[num_queries] (one prediction of the largest
 * candidate set per query; smaller counts are prefixes) and writes into dir: <key>.png per
 * metric (the mean over the queries, and their minimum and maximum when there are several),
 * charts.csv and charts.json. mean [num_counts * SCAN_QUERY_CHART_METRICS] (may be NULL)
 * receives the means, row = count. */
scan_status scan_query_charts(scan_pipeline *p, scan_net *net, const int *queries, int num_queries, const int *counts,
                              int num_counts, const char *dir, double *mean);

#endif
