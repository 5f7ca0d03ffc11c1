/* LIME: superpixels on a synthetic 4-quadrant image, the weighted ridge against a direct solve,
 * an end-to-end explanation of a synthetic classifier, determinism and the rendered figure. */
#include <stdlib.h>
#include <string.h>

#include "scan/explain.h"
#include "scan/rng.h"
#include "scan/safetensors.h"
#include "testlib.h"

enum { SIZE = 32, HALF = SIZE / 2 };

/* Quadrant of a pixel: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right. */
static int quadrant(int y, int x) { return (y >= HALF) * 2 + (x >= HALF); }

static void quadrant_image(int channels, uint8_t *image) {
  static const uint8_t rgb[4][3] = {{200, 40, 40}, {40, 190, 60}, {50, 60, 210}, {230, 230, 120}};
  static const uint8_t grey[4] = {20, 90, 160, 240};
  for (int y = 0; y < SIZE; y++)
    for (int x = 0; x < SIZE; x++)
      for (int k = 0; k < channels; k++)
        image[(y * SIZE + x) * channels + k] = channels == 3 ? rgb[quadrant(y, x)][k] : grey[quadrant(y, x)];
}

/* Every quadrant is one segment and different quadrants are different segments. */
static int segments_are_quadrants(const int32_t *labels, int num_segments) {
  if (num_segments != 4) return 0;
  int label_of[4] = {-1, -1, -1, -1};
  for (int y = 0; y < SIZE; y++)
    for (int x = 0; x < SIZE; x++) {
      int q = quadrant(y, x), l = labels[y * SIZE + x];
      if (label_of[q] < 0) label_of[q] = l;
      if (label_of[q] != l) return 0;
    }
  for (int a = 0; a < 4; a++)
    for (int b = a + 1; b < 4; b++)
      if (label_of[a] == label_of[b]) return 0;
  return 1;
}

static void test_superpixels(void) {
  uint8_t image[SIZE * SIZE * 3];
  int32_t labels[SIZE * SIZE];
  int count = 0;
  for (int channels = 1; channels <= 3; channels += 2) {
    quadrant_image(channels, image);
    CHECK(scan_superpixels_quickshift(image, SIZE, SIZE, channels, 4, 200, 0.2, labels, &count) == SCAN_OK);
    CHECK_MSG(segments_are_quadrants(labels, count), "quickshift, %d channel(s): %d segments", channels, count);
    CHECK(scan_superpixels_slic(image, SIZE, SIZE, channels, HALF, 100, labels, &count) == SCAN_OK);
    CHECK_MSG(segments_are_quadrants(labels, count), "slic, %d channel(s): %d segments", channels, count);
  }
  /* Labels are dense 0..S-1 on a textured image too, and small max_dist makes more segments. */
  scan_rng rng = scan_rng_make(3, 0, 0);
  for (int i = 0; i < SIZE * SIZE * 3; i++) image[i] = (uint8_t)(scan_rng_next(&rng) >> 56);
  int many = 0;
  CHECK(scan_superpixels_quickshift(image, SIZE, SIZE, 3, 2, 6, 0.5, labels, &many) == SCAN_OK);
  int seen_max = -1, dense = 1;
  for (int i = 0; i < SIZE * SIZE; i++) {
    dense &= labels[i] >= 0 && labels[i] < many;
    if (labels[i] > seen_max) seen_max = labels[i];
  }
  CHECK_MSG(dense && seen_max == many - 1 && many > 4, "textured quickshift: %d segments", many);
  CHECK(scan_superpixels_quickshift(image, SIZE, SIZE, 2, 4, 200, 0.2, labels, &count) == SCAN_ERR_INPUT);
}

/* Against skimage's quickshift algorithm, as tools/make_quickshift_fixture.py restates it in numpy:
 * the same labels, numbered the same way, for lime's settings and for a setting where max_dist cuts. */
static void test_quickshift_matches_skimage(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/quickshift.safetensors", test_data_dir());
  scan_safetensors *f = NULL;
  scan_status st = scan_safetensors_read(path, &f);
  CHECK_MSG(st == SCAN_OK, "%s", scan_error_message());
  if (st != SCAN_OK) return;
  const scan_tensor_view *image = scan_safetensors_find(f, "image");
  CHECK(image && image->dtype == SCAN_U8 && image->ndim == 3 && image->shape[2] == 3);
  const char *names[2] = {"labels_lime", "labels_cut"};
  const double params[2][3] = {{4, 200, 0.2}, {2, 6, 0.5}};
  for (int c = 0; c < 2 && image; c++) {
    const scan_tensor_view *expected = scan_safetensors_find(f, names[c]);
    CHECK(expected && expected->dtype == SCAN_I32);
    if (!expected) continue;
    const int h = (int)image->shape[0], w = (int)image->shape[1];
    int32_t *labels = malloc((size_t)h * w * sizeof(int32_t));
    int count = 0;
    CHECK(scan_superpixels_quickshift(image->data, h, w, 3, params[c][0], params[c][1], params[c][2], labels, &count) ==
          SCAN_OK);
    int mismatches = 0;
    for (int i = 0; i < h * w; i++) mismatches += labels[i] != ((const int32_t *)expected->data)[i];
    CHECK_MSG(mismatches == 0, "%s: %d of %d pixels labelled differently (%d segments)", names[c], mismatches, h * w,
              count);
    free(labels);
  }
  scan_safetensors_free(f);
}

/* Naive reference: the intercept as an extra unpenalised column, normal equations solved by
 * Gaussian elimination with partial pivoting. */
static void naive_ridge(const double *x, const double *y, const double *w, int n, int p, double alpha, double *theta) {
  const int m = p + 1;
  double a[16][17] = {{0}};
  for (int i = 0; i < n; i++) {
    double row[16];
    for (int k = 0; k < p; k++) row[k] = x[i * p + k];
    row[p] = 1.0;
    for (int r = 0; r < m; r++) {
      for (int c = 0; c < m; c++) a[r][c] += w[i] * row[r] * row[c];
      a[r][m] += w[i] * row[r] * y[i];
    }
  }
  for (int k = 0; k < p; k++) a[k][k] += alpha;
  for (int col = 0; col < m; col++) {
    int pivot = col;
    for (int r = col + 1; r < m; r++)
      if (fabs(a[r][col]) > fabs(a[pivot][col])) pivot = r;
    for (int c = 0; c <= m; c++) {
      double t = a[col][c];
      a[col][c] = a[pivot][c];
      a[pivot][c] = t;
    }
    for (int r = 0; r < m; r++) {
      if (r == col) continue;
      double f = a[r][col] / a[col][col];
      for (int c = col; c <= m; c++) a[r][c] -= f * a[col][c];
    }
  }
  for (int r = 0; r < m; r++) theta[r] = a[r][m] / a[r][r];
}

static void test_ridge(void) {
  enum { N = 60, P = 7 };
  double x[N * P], y[N], w[N], coef[P], intercept, r2, theta[P + 1];
  scan_rng rng = scan_rng_make(11, 0, 0);
  for (int i = 0; i < N; i++) {
    for (int k = 0; k < P; k++) x[i * P + k] = (double)(scan_rng_next(&rng) >> 63); /* 0/1 like LIME */
    y[i] = 0.3 + 0.8 * x[i * P + 1] - 0.4 * x[i * P + 4] + 0.1 * scan_rng_normal(&rng);
    w[i] = scan_rng_uniform(&rng);
  }
  CHECK(scan_weighted_ridge(x, y, w, N, P, 0.7, coef, &intercept, &r2) == SCAN_OK);
  naive_ridge(x, y, w, N, P, 0.7, theta);
  double worst = 0.0;
  for (int k = 0; k < P; k++) worst = test_worse(worst, fabs(coef[k] - theta[k]));
  CHECK_MSG(worst < 1e-10, "ridge coefficients differ from the direct solve by %g", worst);
  CHECK_NEAR(intercept, theta[P], 1e-10, 0);
  /* weighted R^2 from its definition */
  double mean = 0, wsum = 0, residual = 0, total = 0;
  for (int i = 0; i < N; i++) mean += w[i] * y[i], wsum += w[i];
  mean /= wsum;
  for (int i = 0; i < N; i++) {
    double pred = theta[P];
    for (int k = 0; k < P; k++) pred += theta[k] * x[i * P + k];
    residual += w[i] * (y[i] - pred) * (y[i] - pred);
    total += w[i] * (y[i] - mean) * (y[i] - mean);
  }
  CHECK_NEAR(r2, 1.0 - residual / total, 1e-10, 0);
  CHECK(r2 > 0.5 && r2 < 1.0);
  /* Unweighted (NULL) equals all-ones weights. */
  double ones[N], coef_ones[P], intercept_ones, coef_null[P], intercept_null;
  for (int i = 0; i < N; i++) ones[i] = 1.0;
  scan_weighted_ridge(x, y, ones, N, P, 1.0, coef_ones, &intercept_ones, NULL);
  scan_weighted_ridge(x, y, NULL, N, P, 1.0, coef_null, &intercept_null, NULL);
  CHECK(memcmp(coef_ones, coef_null, sizeof coef_ones) == 0 && intercept_ones == intercept_null);
  /* A duplicated column without regularisation is singular: an error, not garbage. */
  for (int i = 0; i < N; i++) x[i * P + 2] = x[i * P + 3];
  CHECK(scan_weighted_ridge(x, y, w, N, P, 0.0, coef, &intercept, NULL) == SCAN_ERR_INPUT);
}

/* Synthetic model: the fraction of the top-right quadrant's pixels still showing their colour. */
typedef struct {
  const uint8_t *original;
  int channels, calls, saw_zero_pixel;
  scan_status fail_with;
} quadrant_classifier;

static scan_status classify_quadrant(void *ctx, const uint8_t *images, int n, float *probs_out) {
  quadrant_classifier *qc = ctx;
  qc->calls++;
  if (qc->fail_with != SCAN_OK) return scan_fail(qc->fail_with, "model refused the batch");
  const size_t image_bytes = (size_t)SIZE * SIZE * qc->channels;
  for (int i = 0; i < n; i++) {
    const uint8_t *img = images + i * image_bytes;
    int visible = 0;
    for (int y = 0; y < SIZE; y++)
      for (int x = 0; x < SIZE; x++) {
        const size_t at = ((size_t)y * SIZE + x) * qc->channels;
        if (img[at] == 0) qc->saw_zero_pixel = 1;
        if (quadrant(y, x) == 1 && memcmp(img + at, qc->original + at, (size_t)qc->channels) == 0) visible++;
      }
    probs_out[i] = (float)visible / (HALF * HALF);
  }
  return SCAN_OK;
}

static void test_lime_end_to_end(void) {
  uint8_t image[SIZE * SIZE * 3];
  quadrant_image(3, image);
  quadrant_classifier qc = {image, 3, 0, 0, SCAN_OK};
  scan_lime_config cfg = scan_lime_config_default();
  cfg.seed = 42;
  cfg.samples = test_light() ? 200 : 1000;
  scan_lime_result r;
  CHECK(scan_lime_explain(&cfg, image, SIZE, SIZE, 3, classify_quadrant, &qc, &r) == SCAN_OK);
  CHECK(qc.calls == (cfg.samples + cfg.batch - 1) / cfg.batch && qc.saw_zero_pixel);
  CHECK(r.num_segments == 4);
  const int target = r.segments[SIZE / 4 * SIZE + 3 * SIZE / 4]; /* a pixel inside the top-right quadrant */
  for (int f = 0; f < r.num_segments; f++) {
    if (f == target) CHECK_MSG(r.weights[f] > 0.8, "quadrant weight %g", r.weights[f]);
    else CHECK_MSG(fabs(r.weights[f]) < 0.02, "other quadrant weight %g", r.weights[f]);
  }
  CHECK(r.score > 0.95 && fabs(r.local_pred - 1.0) < 0.1);

  /* Determinism: same seed -> same bits, whatever the batch size; another seed -> other samples. */
  scan_lime_result again, other;
  cfg.batch = 7;
  CHECK(scan_lime_explain(&cfg, image, SIZE, SIZE, 3, classify_quadrant, &qc, &again) == SCAN_OK);
  CHECK(again.num_segments == r.num_segments &&
        memcmp(again.weights, r.weights, sizeof(double) * r.num_segments) == 0 && again.intercept == r.intercept);
  cfg.seed = 43;
  CHECK(scan_lime_explain(&cfg, image, SIZE, SIZE, 3, classify_quadrant, &qc, &other) == SCAN_OK);
  CHECK(memcmp(other.weights, r.weights, sizeof(double) * r.num_segments) != 0);

  /* The rendered figure, top 1: the explained quadrant under translucent green (45% colour, so the image shows
     through), a yellow outer boundary, the other quadrants untouched away from their boundaries. */
  const int scale = 4, out = SIZE * scale;
  uint8_t *figure = malloc((size_t)out * out * 3 + 1);
  figure[(size_t)out * out * 3] = 0xAB; /* canary */
  scan_lime_render(&r, image, SIZE, SIZE, 3, 1, scale, figure);
  CHECK(figure[(size_t)out * out * 3] == 0xAB);
  const uint8_t *inside = figure + ((size_t)(out / 4) * out + 3 * out / 4) * 3;
  const uint8_t *source = image + (SIZE / 4 * SIZE + 3 * SIZE / 4) * 3;
  static const int green[3] = {0, 200, 0};
  for (int k = 0; k < 3; k++) CHECK_MSG(inside[k] == (source[k] * 55 + green[k] * 45 + 50) / 100, "channel %d: %d", k, inside[k]);
  CHECK(inside[0] != 0 || source[0] == 0); /* translucent: the image's red still shows */
  const uint8_t *other_quadrant = figure + ((size_t)(out / 4) * out + out / 4) * 3;
  CHECK(other_quadrant[0] == 200 && other_quadrant[1] == 40 && other_quadrant[2] == 40);
  const uint8_t *outside_edge = figure + ((size_t)(out / 4) * out + out / 2 - 1) * 3; /* left of the quadrant */
  const uint8_t *inside_edge = figure + ((size_t)(out / 4) * out + out / 2) * 3;
  CHECK(outside_edge[0] == 255 && outside_edge[1] == 255 && outside_edge[2] == 0);
  CHECK(!(inside_edge[0] == 255 && inside_edge[2] == 0));
  free(figure);
  scan_lime_result_free(&r);
  scan_lime_result_free(&again);
  scan_lime_result_free(&other);

  /* hide_mean fills hidden superpixels with their mean colour (here: their own colour, never 0). */
  quadrant_classifier mean_qc = {image, 3, 0, 0, SCAN_OK};
  cfg.hide_mean = 1;
  cfg.samples = 60;
  CHECK(scan_lime_explain(&cfg, image, SIZE, SIZE, 3, classify_quadrant, &mean_qc, &r) == SCAN_OK);
  CHECK(!mean_qc.saw_zero_pixel);
  scan_lime_result_free(&r);

  /* Grey images and SLIC go through the same path. */
  uint8_t grey[SIZE * SIZE];
  quadrant_image(1, grey);
  quadrant_classifier grey_qc = {grey, 1, 0, 0, SCAN_OK};
  cfg.hide_mean = 0;
  cfg.use_slic = 1;
  cfg.slic_region = HALF;
  cfg.samples = 200;
  CHECK(scan_lime_explain(&cfg, grey, SIZE, SIZE, 1, classify_quadrant, &grey_qc, &r) == SCAN_OK);
  CHECK(r.num_segments == 4 && r.weights[r.segments[3 * SIZE / 4]] > 0.8);
  scan_lime_result_free(&r);

  /* A failing model: its status comes back with context, nothing is left allocated. */
  quadrant_classifier failing = {image, 3, 0, 0, SCAN_ERR_INPUT};
  CHECK(scan_lime_explain(&cfg, image, SIZE, SIZE, 3, classify_quadrant, &failing, &r) == SCAN_ERR_INPUT);
  CHECK(r.segments == NULL && r.weights == NULL && strstr(scan_error_message(), "model refused") != NULL);
  cfg.samples = 1;
  CHECK(scan_lime_explain(&cfg, image, SIZE, SIZE, 3, classify_quadrant, &qc, &r) == SCAN_ERR_INPUT);
}

int main(void) {
  test_superpixels();
  test_quickshift_matches_skimage();
  test_ridge();
  test_lime_end_to_end();
  return test_main_end();
}
