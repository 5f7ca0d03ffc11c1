/* LIME for images (lime's LimeImageExplainer.explain_instance for one label): superpixels, random
 * on/off perturbations, cosine-distance kernel weights and a weighted ridge surrogate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/explain.h"
#include "scan/rng.h"

scan_lime_config scan_lime_config_default(void) {
  return (scan_lime_config){.samples = 1000,
                            .kernel_width = 0.25,
                            .use_slic = 0,
                            .qs_kernel = 4.0,
                            .qs_max_dist = 200.0,
                            .qs_ratio = 0.2,
                            .slic_region = 8,
                            .slic_regularization = 100.0,
                            .hide_mean = 0,
                            .batch = 50,
                            .top_features = 10,
                            .ridge_alpha = 1.0,
                            .seed = 0};
}

void scan_lime_result_free(scan_lime_result *r) {
  if (!r) return;
  free(r->segments);
  free(r->weights);
  memset(r, 0, sizeof *r);
}

scan_status scan_lime_segment(const scan_lime_config *cfg, const uint8_t *image, int h, int w, int channels,
                              int32_t *labels, int *num_segments) {
  if (cfg->use_slic == 1)
    return scan_superpixels_slic(image, h, w, channels, cfg->slic_region, cfg->slic_regularization, labels, num_segments);
  SCAN_TRY(scan_superpixels_quickshift(image, h, w, channels, cfg->qs_kernel, cfg->qs_max_dist, cfg->qs_ratio, labels,
                                       num_segments));
  /* Quickshift's reference settings merge a small grey image (28 px) into one or two segments, which
     leaves LIME nothing to explain; `auto` then falls back to SLIC. */
  if (cfg->use_slic == 2 && *num_segments < SCAN_LIME_MIN_SEGMENTS)
    return scan_superpixels_slic(image, h, w, channels, cfg->slic_region, cfg->slic_regularization, labels, num_segments);
  return SCAN_OK;
}

/* All zeros (lime's hide_color=0), or each superpixel's mean colour, truncated to uint8 as lime's numpy
 * assignment does. */
scan_status scan_lime_hidden_image(const uint8_t *image, int h, int w, int channels, const int32_t *segments,
                                   int num_segments, int hide_mean, uint8_t *hidden) {
  const int pixels = h * w;
  if (!hide_mean) {
    memset(hidden, 0, (size_t)pixels * channels);
    return SCAN_OK;
  }
  double *sums = scan_calloc((size_t)num_segments * channels, sizeof(double));
  int *counts = scan_calloc((size_t)num_segments, sizeof(int));
  if (!sums || !counts) {
    free(sums);
    free(counts);
    return scan_fail(SCAN_ERR_INTERNAL, "lime: out of memory for %d superpixels", num_segments);
  }
  for (int i = 0; i < pixels; i++) {
    counts[segments[i]]++;
    for (int k = 0; k < channels; k++) sums[(size_t)segments[i] * channels + k] += image[(size_t)i * channels + k];
  }
  for (int i = 0; i < pixels; i++)
    for (int k = 0; k < channels; k++)
      hidden[(size_t)i * channels + k] = (uint8_t)(sums[(size_t)segments[i] * channels + k] / counts[segments[i]]);
  free(sums);
  free(counts);
  return SCAN_OK;
}

/* Sample rows [samples, S] of 0/1: row 0 all on, row s from its own stream (seed, 0, s), so the
 * perturbations do not depend on the batch size. */
static void draw_samples(uint64_t seed, int samples, int num_segments, uint8_t *on) {
  memset(on, 1, (size_t)num_segments);
  for (int s = 1; s < samples; s++) {
    scan_rng rng = scan_rng_make(seed, 0, (uint64_t)s);
    for (int f = 0; f < num_segments; f++) on[(size_t)s * num_segments + f] = (uint8_t)(scan_rng_next(&rng) >> 63);
  }
}

/* Classifies all samples in batches of `batch` perturbed images. */
static scan_status classify_samples(const scan_lime_config *cfg, const uint8_t *image, const uint8_t *hidden,
                                    const int32_t *segments, int pixels, int channels, const uint8_t *on,
                                    int num_segments, scan_lime_classify_fn classify, void *ctx, double *labels) {
  const size_t image_bytes = (size_t)pixels * channels;
  uint8_t *batch_images = scan_malloc(image_bytes * (size_t)cfg->batch);
  float *batch_probs = scan_malloc((size_t)cfg->batch * sizeof(float));
  if (!batch_images || !batch_probs) {
    free(batch_images);
    free(batch_probs);
    return scan_fail(SCAN_ERR_INTERNAL, "lime: out of memory for a batch of %d images", cfg->batch);
  }
  scan_status st = SCAN_OK;
  for (int first = 0; first < cfg->samples && st == SCAN_OK; first += cfg->batch) {
    const int count = cfg->samples - first < cfg->batch ? cfg->samples - first : cfg->batch;
    for (int b = 0; b < count; b++) {
      const uint8_t *row = on + (size_t)(first + b) * num_segments;
      uint8_t *dst = batch_images + (size_t)b * image_bytes;
      for (int i = 0; i < pixels; i++) {
        const uint8_t *src = (row[segments[i]] ? image : hidden) + (size_t)i * channels;
        memcpy(dst + (size_t)i * channels, src, (size_t)channels);
      }
    }
    st = classify(ctx, batch_images, count, batch_probs);
    if (st != SCAN_OK) {
      scan_fail_context(st, "lime: classifying perturbed images %d..%d", first, first + count - 1);
      break;
    }
    for (int b = 0; b < count; b++) labels[first + b] = batch_probs[b];
  }
  free(batch_images);
  free(batch_probs);
  return st;
}

scan_status scan_lime_explain(const scan_lime_config *cfg, const uint8_t *image, int h, int w, int channels,
                              scan_lime_classify_fn classify, void *ctx, scan_lime_result *out) {
  memset(out, 0, sizeof *out);
  if (cfg->samples < 2 || cfg->batch < 1 || !(cfg->kernel_width > 0) || !(cfg->ridge_alpha > 0) || !classify)
    return scan_fail(SCAN_ERR_INPUT,
                     "lime: need samples >= 2 (got %d), batch >= 1 (%d), kernel width > 0 (%g), ridge alpha > 0 (%g) "
                     "and a classifier",
                     cfg->samples, cfg->batch, cfg->kernel_width, cfg->ridge_alpha);
  const int pixels = h * w;
  scan_lime_result r = {0};
  r.segments = scan_malloc((size_t)(pixels > 0 ? pixels : 1) * sizeof(int32_t));
  if (!r.segments) return scan_fail(SCAN_ERR_INTERNAL, "lime: out of memory for a %dx%d image", h, w);
  scan_status st = scan_lime_segment(cfg, image, h, w, channels, r.segments, &r.num_segments);
  if (st != SCAN_OK) {
    scan_lime_result_free(&r);
    return scan_fail_context(st, "lime");
  }
  const int S = r.num_segments, n = cfg->samples;
  uint8_t *hidden = scan_malloc((size_t)pixels * channels);
  uint8_t *on = scan_malloc((size_t)n * S);
  double *design = scan_malloc((size_t)n * S * sizeof(double));
  double *labels = scan_malloc((size_t)n * sizeof(double)), *kernel = scan_malloc((size_t)n * sizeof(double));
  r.weights = scan_malloc((size_t)S * sizeof(double));
  if (!hidden || !on || !design || !labels || !kernel || !r.weights) {
    st = scan_fail(SCAN_ERR_INTERNAL, "lime: out of memory for %d samples of %d superpixels", n, S);
    goto done;
  }
  st = scan_lime_hidden_image(image, h, w, channels, r.segments, S, cfg->hide_mean, hidden);
  if (st != SCAN_OK) goto done;
  draw_samples(cfg->seed, n, S, on);
  st = classify_samples(cfg, image, hidden, r.segments, pixels, channels, on, S, classify, ctx, labels);
  if (st != SCAN_OK) goto done;

  /* Cosine distance of a 0/1 row with k ones to the all-ones row: 1 - k / sqrt(k S) (1 for k = 0,
   * as sklearn's pairwise cosine distance gives for a zero vector); kernel sqrt(exp(-d^2 / width^2)). */
  for (int s = 0; s < n; s++) {
    int k = 0;
    for (int f = 0; f < S; f++) {
      design[(size_t)s * S + f] = on[(size_t)s * S + f];
      k += on[(size_t)s * S + f];
    }
    const double distance = k > 0 ? 1.0 - sqrt((double)k / S) : 1.0;
    kernel[s] = sqrt(exp(-distance * distance / (cfg->kernel_width * cfg->kernel_width)));
  }
  /* lime selects features with 'auto' = all of them here (num_features 100000), then fits Ridge(alpha). */
  st = scan_weighted_ridge(design, labels, kernel, n, S, cfg->ridge_alpha, r.weights, &r.intercept, &r.score);
  if (st != SCAN_OK) {
    scan_fail_context(st, "lime: surrogate");
    goto done;
  }
  r.local_pred = r.intercept;
  for (int f = 0; f < S; f++) r.local_pred += r.weights[f];

done:
  free(hidden);
  free(on);
  free(design);
  free(labels);
  free(kernel);
  if (st != SCAN_OK) {
    scan_lime_result_free(&r);
    return st;
  }
  *out = r;
  return SCAN_OK;
}
