/* Explanations of a cluster assignment, independent of the network: LIME for images (superpixels
 * from VLFeat, weighted ridge surrogate) and the Grad-CAM maths (map from activation and gradient,
 * jet overlay). The caller wires them to the model: LIME gets a classify callback, Grad-CAM gets the
 * target layer's activation and gradient. Images are HWC uint8 with 1 (grey) or 3 (RGB) channels. */
#ifndef SCAN_EXPLAIN_H
#define SCAN_EXPLAIN_H

#include <stdint.h>

#include "scan/error.h"

/* ---- superpixels (labels [h*w] row-major, 0..S-1) ---- */

/* Quickshift the way skimage's quickshift (used by lime) does it: the image is converted to CIE Lab
 * (grey is treated as R=G=B) and scaled by `ratio`; the Parzen density uses a Gaussian of width
 * `kernel_size` over a window of ceil(3 kernel_size) pixels; each pixel links to the nearest pixel of
 * higher density in that window, unless it is farther than `max_dist`. VLFeat computes the density and
 * the links; exact density ties between window maxima are broken by pixel index (skimage breaks them
 * with tiny noise). Segments are numbered by their root pixel in row-major order. */
scan_status scan_superpixels_quickshift(const uint8_t *image, int h, int w, int channels, double kernel_size,
                                        double max_dist, double ratio, int32_t *labels, int *num_segments);

/* SLIC (VLFeat's vl_slic_segment) on the Lab image: regions of about region_size pixels a side;
 * regularization trades colour for compactness (spatial distance^2 is weighted regularization /
 * region_size^2, so 100 is like skimage's compactness 10). Regions smaller than region_size^2/16
 * are merged. Segments renumbered 0..S-1 in order of first appearance. */
scan_status scan_superpixels_slic(const uint8_t *image, int h, int w, int channels, int region_size,
                                  double regularization, int32_t *labels, int *num_segments);

/* ---- weighted ridge regression ---- */

/* sklearn's Ridge(alpha, fit_intercept=True).fit(x, y, sample_weight=weights): minimises
 *   sum_i weights_i (y_i - x_i . coef - intercept)^2 + alpha |coef|^2   (intercept not penalised),
 * solved exactly on the weighted-centred normal equations with a Cholesky factorisation.
 * x [n, p] row-major, y [n], weights [n] >= 0 (NULL = all 1); coef [p] out. alpha must be > 0
 * unless the centred design has full rank. Optional: *r2 = weighted R^2 of the fit (sklearn's score). */
scan_status scan_weighted_ridge(const double *x, const double *y, const double *weights, int n, int p, double alpha,
                                double *coef, double *intercept, double *r2);

/* ---- LIME ---- */

/* classify(ctx, images [n, h, w, channels] uint8, n, probs_out [n]) returns the explained quantity for
 * each image: the caller applies the model's own preprocessing and returns the softmax probability of
 * the explained cluster. */
typedef scan_status (*scan_lime_classify_fn)(void *ctx, const uint8_t *images, int n, float *probs_out);

typedef struct {
  int samples;                /* perturbed images, the first one unperturbed (lime: 1000) */
  double kernel_width;        /* of the sample-weight kernel sqrt(exp(-d^2 / width^2)) (lime: 0.25) */
  int use_slic;               /* 0 = quickshift (lime's default), 1 = SLIC, 2 = auto: quickshift, SLIC when it finds
                                 fewer than SCAN_LIME_MIN_SEGMENTS superpixels */
  double qs_kernel, qs_max_dist, qs_ratio; /* quickshift (lime: 4, 200, 0.2) */
  int slic_region;            /* SLIC region size in pixels */
  double slic_regularization; /* SLIC compactness (see scan_superpixels_slic) */
  int hide_mean;              /* hidden superpixels: 0 = filled with 0 (lime's hide_color=0), 1 = their mean colour */
  int batch;                  /* images per classify call */
  int top_features;           /* superpixels shown by scan_lime_render (lime: num_features=10) */
  double ridge_alpha;         /* surrogate regulariser (lime: 1) */
  uint64_t seed;              /* perturbations come from scan_rng_make(seed, 0, sample index) */
} scan_lime_config;

/* The defaults above (lime's, with quickshift), SLIC region 8 / regularization 100, batch 50. */
scan_lime_config scan_lime_config_default(void);

typedef struct {
  int num_segments;
  int32_t *segments; /* [h*w] superpixel of each pixel */
  double *weights;   /* [num_segments] surrogate coefficient of each superpixel */
  double intercept;
  double score;      /* weighted R^2 of the surrogate on the samples */
  double local_pred; /* surrogate prediction for the unperturbed image */
} scan_lime_result;

/* The superpixels LIME uses under cfg (quickshift or SLIC with cfg's parameters). labels [h*w]. */
scan_status scan_lime_segment(const scan_lime_config *cfg, const uint8_t *image, int h, int w, int channels,
                              int32_t *labels, int *num_segments);

/* The image with every superpixel hidden the way LIME hides an "off" superpixel (hide_mean as in the
 * config). hidden is HWC like image. */
scan_status scan_lime_hidden_image(const uint8_t *image, int h, int w, int channels, const int32_t *segments,
                                   int num_segments, int hide_mean, uint8_t *hidden);

/* Segments the image, classifies `samples` perturbations (each superpixel on or off at random; off
 * superpixels hidden), weights each sample by its cosine distance to the unperturbed one and fits the
 * weighted ridge surrogate, as lime's LimeImageExplainer.explain_instance does for one label.
 * Deterministic for a given seed. On failure *out is left empty (free is still safe). */
scan_status scan_lime_explain(const scan_lime_config *cfg, const uint8_t *image, int h, int w, int channels,
                              scan_lime_classify_fn classify, void *ctx, scan_lime_result *out);
void scan_lime_result_free(scan_lime_result *r);

/* The `top` superpixels of largest |weight| in that order (ties by index), as the figure marks them:
 * order[] receives min(top, count) indices, the return value. */
int scan_lime_rank_features(const double *weights, int count, int top, int32_t *order);

/* Renders the LIME overlay: the image enlarged by `scale` (nearest); the `top` superpixels by |weight|
 * (lime's get_image_and_mask(positive_only=False, num_features=top)) tinted translucent green (positive
 * weight) or red (negative), 45% colour over the image; every superpixel's boundary as a thin light line;
 * the outer boundaries of the marked regions in yellow (skimage's mark_boundaries, mode 'outer').
 * rgb_out is HWC RGB of size (h*scale) x (w*scale). */
void scan_lime_render(const scan_lime_result *r, const uint8_t *image, int h, int w, int channels, int top, int scale,
                      uint8_t *rgb_out);

/* ---- Grad-CAM ---- */

/* activation and gradient [C, H, W] at the target layer -> map [H, W] = ReLU(sum_c mean(grad_c) A_c),
 * divided by its maximum so it lies in [0, 1] (an all-zero map stays zero). */
void scan_gradcam_map(const float *activation, const float *gradient, int c, int h, int w, float *map);

/* The map [mh, mw] upsampled bilinearly (half-pixel centres, edge clamping) to out [out_h, out_w], as
 * the overlay sees it. */
void scan_gradcam_upsample(const float *map, int mh, int mw, int out_h, int out_w, float *out);

/* Matplotlib's jet colour map at v in [0, 1], quantised to 256 levels like the reference
 * (0 -> dark blue (0, 0, 128), 1 -> dark red (128, 0, 0)). */
void scan_jet_colour(double v, uint8_t rgb[3]);

/* The reference's overlay: the image enlarged by `scale` (nearest), the map upsampled bilinearly
 * (half-pixel centres) to that size and coloured with jet, summed as image + alpha * jet, then
 * rescaled min..max -> 0..255 as Keras' array_to_img does. rgb_out is HWC RGB (h*scale) x (w*scale). */
void scan_gradcam_overlay(const float *map, int mh, int mw, const uint8_t *image, int h, int w, int channels, int scale,
                          double alpha, uint8_t *rgb_out);

/* ---- faithfulness arithmetic ---- */

/* Area under the curve through (x[i], y[i]), i < n (x increasing), by the trapezoid rule. */
double scan_curve_auc(const double *x, const double *y, int n);
/* The curve (x increasing from 0 to 1, n >= 1 points) linearly interpolated at the `points` evenly
 * spaced positions i / (points - 1), so curves of different images can be averaged point by point. */
void scan_curve_resample(const double *x, const double *y, int n, int points, double *out);
/* Spearman's rank correlation of a[n] and b[n] (scipy.stats.spearmanr): the Pearson correlation of
 * their ranks, tied values sharing their average rank. 0 when either is constant (nothing to rank). */
double scan_rank_correlation(const double *a, const double *b, int n);

/* Fewer superpixels than this leave LIME too little to explain (see use_slic = 2). */
#define SCAN_LIME_MIN_SEGMENTS 4

#endif
