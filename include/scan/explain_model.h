/* Explanations of the clustering model's own decision (spec §18.10, issue 10), wiring the maths of
 * scan/explain.h to a run's network: the image goes through the model's own val transform, Grad-CAM
 * differentiates the explained cluster's logit at a backbone stage, LIME explains the cluster's
 * softmax probability, and a deletion test measures how faithful each explanation is.
 *
 * Images handed to the explainer are "views": what the val transform crops out of an image before
 * ToTensor/Normalize (side x side x channels uint8, see scan_explainer_view). Every map, superpixel
 * and figure refers to that view, so the explanation shows exactly the pixels the model saw. */
#ifndef SCAN_EXPLAIN_MODEL_H
#define SCAN_EXPLAIN_MODEL_H

#include <stdint.h>

#include "scan/explain.h"
#include "scan/pipeline.h"

enum { SCAN_EXPLAIN_GRADCAM = 1, SCAN_EXPLAIN_LIME = 2, SCAN_EXPLAIN_BOTH = 3 };

/* Images per forward pass for LIME and the curves at 32 x 32 (the max batch the explainer's net is
 * planned for): oneDNN runs ResNet-18 ~1.4x faster per image at 250 than at 50 (measured, loaded 2-core
 * AVX2 machine: 18 vs 24 CPU-s for 1000 images) at ~6 MiB per image (1.5 GiB resident). Larger views
 * get proportionally fewer images (scan_explain_batch), so the memory stays about the same. */
#define SCAN_EXPLAIN_BATCH 250
/* SCAN_EXPLAIN_BATCH scaled by 32^2 / side^2, at least 4. */
int scan_explain_batch(int side);

typedef struct {
  scan_net *net;           /* one cluster head, used in eval mode */
  int owns_net;
  scan_aug_config val_aug; /* the model's own preprocessing */
  int side, channels;      /* a view is side x side x channels */
  int clusters;
  int batch;               /* images per forward pass, <= the net's max batch */
  float *input;            /* [batch, channels, side, side] normalised */
  float *probs;            /* [batch, clusters] softmax scratch */
  float *d_logits;         /* [clusters] one-hot gradient for Grad-CAM */
  char gradcam_layer[64];  /* backbone stage ("layer4", "stage2", ...); "" = the last one */
  scan_lime_config lime;
  int deletion_draws;      /* random superpixel sets averaged for the deletion baseline */
  char model_source[SCAN_PATH_MAX]; /* which file the model came from (for the JSON) */
} scan_explainer;

/* Wraps a network (not owned) and its val transform: LIME with lime's defaults, Grad-CAM on the last
 * stage, 20 deletion draws. The net must have exactly one cluster head. */
scan_status scan_explainer_init(scan_explainer *e, scan_net *net, const scan_aug_config *val_aug);
/* The run's clustering model (scan_pipeline_load_cluster_model), its val transform and the config's
 * explain.{gradcam_layer, lime_samples, lime_kernel_width, lime_segmenter, lime_hide, lime_top_features, seed}. */
scan_status scan_explainer_open(scan_explainer *e, scan_pipeline *p);
void scan_explainer_close(scan_explainer *e);

/* The view the model sees of an image of h x w x e->channels: the val transform's resize and centre
 * crop, without normalisation. view holds side*side*channels bytes. */
scan_status scan_explainer_view(const scan_explainer *e, const uint8_t *image, int h, int w, uint8_t *view);
/* The same view of image `index` of a dataset, in memory or streamed. */
scan_status scan_explainer_view_of(const scan_explainer *e, const scan_dataset *d, long index, uint8_t *view);
/* Softmax probabilities [n, clusters] of n views, in batches of e->batch. */
scan_status scan_explainer_predict(scan_explainer *e, const uint8_t *views, int n, float *probs);

/* LIME's classifier: ctx is a scan_explain_target; returns the target cluster's softmax probability
 * of each view (scan_lime_classify_fn). */
typedef struct {
  scan_explainer *e;
  int cluster;
} scan_explain_target;
scan_status scan_explainer_lime_classify(void *ctx, const uint8_t *views, int n, float *probs_out);

/* Grad-CAM of one view for `cluster`'s logit at e->gradcam_layer: *map (malloc'd, caller frees) is
 * [*mh, *mw] in [0, 1]. */
scan_status scan_explainer_gradcam(scan_explainer *e, const uint8_t *view, int cluster, float **map, int *mh, int *mw);
/* LIME of one view for `cluster`'s probability, with e->lime. */
scan_status scan_explainer_lime(scan_explainer *e, const uint8_t *view, int cluster, scan_lime_result *out);

/* Deletion test: each ranking scores the superpixels (higher = more important to the cluster); its
 * top k superpixels are hidden (as LIME hides them) and the cluster probability measured, against the
 * mean over e->deletion_draws random sets of k superpixels. k = min(lime.top_features, S / 2). */
#define SCAN_DELETION_MAX_RANKINGS 4
typedef struct {
  int k, draws;
  double p_full;                                /* probability with nothing hidden */
  double p_ranked[SCAN_DELETION_MAX_RANKINGS];  /* with ranking r's top k hidden */
  double p_random;                              /* mean with k random superpixels hidden */
} scan_deletion;
scan_status scan_explainer_deletion(scan_explainer *e, const uint8_t *view, int cluster, const int32_t *segments,
                                    int num_segments, const double *const *rankings, int num_rankings, scan_deletion *out);

/* Grad-CAM's ranking of superpixels: the mean of the map, upsampled to the view, inside each one. */
void scan_gradcam_superpixel_scores(const float *map, int mh, int mw, const int32_t *segments, int h, int w,
                                    int num_segments, double *scores);

/* One explained image: what scan_explain_image computed and wrote. */
typedef struct {
  long index;           /* dataset index, -1 for an image file */
  int cluster;          /* explained cluster */
  int assigned;         /* the model's cluster for the image */
  float probability;    /* of the explained cluster */
  int clusters;
  float *probabilities; /* [clusters] */
  int methods;          /* SCAN_EXPLAIN_* that ran */
  int map_h, map_w;     /* Grad-CAM map size */
  int num_segments, top_count;
  int32_t *top_segments; /* [top_count] superpixels by |weight| */
  double *top_weights;
  double lime_r2, lime_intercept, lime_local_pred;
  scan_deletion deletion; /* p_ranked[0] = LIME when it ran, then Grad-CAM */
  int deletion_lime, deletion_gradcam; /* index into p_ranked, -1 when the method did not run */
  char files[4][SCAN_PATH_MAX];
  int file_count;
} scan_explanation;

/* Predicts the view's cluster, explains `cluster` (-1 = the assigned one) with the chosen methods,
 * runs the deletion test, and, when dir is given, writes <dir>/<prefix>_gradcam.png (view and overlay
 * side by side), <prefix>_lime.png (top superpixels and boundaries) and <prefix>_lime_weights.png
 * (bar chart). Tiny views are enlarged to about 224 px. */
scan_status scan_explain_image(scan_explainer *e, const uint8_t *view, int cluster, int methods, const char *dir,
                               const char *prefix, scan_explanation *out);
void scan_explanation_free(scan_explanation *r);

/* Where explanation files go: out_dir, or RUN/explain when it is NULL. Created; fails (input) on a too-long name. */
scan_status scan_explain_output_dir(const scan_pipeline *p, const char *out_dir, char *dir, size_t size);

/* {"model": ..., "head": ..., "explanations": [...]} with every field of each item; written atomically. */
scan_status scan_explanations_write_json(const char *path, const char *model, int head, const scan_explanation *items,
                                         int count);

/* The explain stage's work: for every cluster's prototype in RUN/eval/prototypes.json (only
 * `only_cluster` when >= 0), explain the val image for its cluster with the run's model (or the one in
 * model_path, see scan_explainer_open_model) into out_dir (NULL = RUN/explain) as cluster_XX_*.png and
 * write explanations.json there. *items (may be NULL) receives the results (free each with
 * scan_explanation_free, then the array), *count their number. */
scan_status scan_explain_prototypes(scan_pipeline *p, const char *model_path, int only_cluster, int methods,
                                    const char *out_dir, scan_explanation **items, int *count);

/* scan_explainer_open with the model in `model_path` (a SCAN model, whose best head is taken, or a
 * self-label model, of this config's architecture) instead of the run's; NULL = the run's model. */
scan_status scan_explainer_open_model(scan_explainer *e, scan_pipeline *p, const char *model_path);

/* The `top` validation images the model assigns to `cluster` with the highest probability, each
 * explained for that cluster into out_dir (NULL = RUN/explain) as cluster_XX_member_NN_*.png, plus
 * cluster_XX_members.json. The assignments come from RUN/eval/predictions.csv when it describes this
 * model (no model_path, the file is newer than the model and has a row per val image), otherwise
 * from predicting the split. *items and *count as for scan_explain_prototypes (fewer than `top` when the
 * cluster has fewer members; none when it is empty). */
scan_status scan_explain_cluster_members(scan_pipeline *p, const char *model_path, int cluster, int top, int methods,
                                         const char *out_dir, scan_explanation **items, int *count);

/* ---- faithfulness: deletion / insertion curves and the model-randomisation check ---- */

/* Orders in which superpixels are removed (deletion) or added back (insertion): by LIME's weight, by
 * Grad-CAM's mean map value inside each superpixel (scan_gradcam_superpixel_scores), and at random
 * (the baseline, averaged over several random orders). */
enum { SCAN_ORDER_LIME, SCAN_ORDER_GRADCAM, SCAN_ORDER_RANDOM, SCAN_ORDERS };
/* Curves are stored resampled at fractions i / (SCAN_CURVE_POINTS - 1) of the image's pixels. */
enum { SCAN_CURVE_POINTS = 51 };

/* One ordering's curves: order[S] is a permutation of the superpixels, most important first. Step k
 * (0..S) hides the first k superpixels (deletion, from the whole view) or shows only them (insertion,
 * from the fully hidden view; hidden as LIME hides). fraction[k] = share of the pixels in the first k
 * superpixels; deletion[k], insertion[k] = the cluster's probability. Each array has S + 1 entries. */
scan_status scan_explainer_curves(scan_explainer *e, const uint8_t *view, int cluster, const int32_t *segments, int S,
                                  const int32_t *order, double *fraction, double *deletion, double *insertion);

typedef struct {
  int cluster;       /* the explained cluster: the one the model assigns */
  double probability;
  int num_segments;
  double deletion_auc[SCAN_ORDERS], insertion_auc[SCAN_ORDERS]; /* area under the curve over the pixel fraction */
  double deletion[SCAN_ORDERS][SCAN_CURVE_POINTS], insertion[SCAN_ORDERS][SCAN_CURVE_POINTS];
  /* Randomisation check: Spearman correlation between the trained and the re-initialised model's Grad-CAM
     maps (cell by cell) and LIME weights (superpixel by superpixel, same segmentation and samples). NAN
     when no re-initialised model was given. Faithful explanations give values near 0. */
  double gradcam_rank_corr, lime_rank_corr;
} scan_faithfulness;

/* One view: LIME and Grad-CAM of its assigned cluster with e, the curves of their orders and of
 * `random_orders` random orders (random streams (e->lime.seed, 2, stream * random_orders + r)),
 * and, when randomised is not NULL (the same architecture with re-initialised weights), the
 * randomisation check. */
scan_status scan_faithfulness_image(scan_explainer *e, scan_explainer *randomised, const uint8_t *view,
                                    int random_orders, uint64_t stream, scan_faithfulness *out);

/* Means over images (curves point by point). */
typedef struct {
  int images, random_orders;
  double deletion_auc[SCAN_ORDERS], insertion_auc[SCAN_ORDERS];
  double deletion[SCAN_ORDERS][SCAN_CURVE_POINTS], insertion[SCAN_ORDERS][SCAN_CURVE_POINTS];
  double gradcam_rank_corr, lime_rank_corr;
} scan_faithfulness_summary;
void scan_faithfulness_summarise(const scan_faithfulness *items, int count, scan_faithfulness_summary *out);

/* `scan explain --faithfulness`: `samples` validation images drawn with explain.seed, each measured by
 * scan_faithfulness_image against a re-initialised copy of the model (fresh weights from the run's
 * seed + 1); writes <out_dir>/faithfulness.json (summary and every image) and the mean curves as
 * faithfulness_deletion.png and faithfulness_insertion.png (out_dir NULL = RUN/explain). */
scan_status scan_explain_faithfulness(scan_pipeline *p, const char *model_path, int samples, const char *out_dir,
                                      scan_faithfulness_summary *summary);

#endif
