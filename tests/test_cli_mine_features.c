/* What neighbours are mined on (cluster.neighbor_features), on the tiny synthetic run:
 * - head (the default): the contrastive head's output, unit rows of the head's size;
 * - backbone: the backbone's features, unit rows of the backbone's size;
 * - backbone+pixels: the backbone's unit features and the image's raw pixels (/255, L2-normalised) side by side with
 *   weight 1/sqrt(2) each. The pixel half is checked against the images read back from the dataset files (an
 *   independent computation in double), the backbone half's norm against 1/sqrt(2);
 * - each row's neighbours are its exact top-k by inner product (a naive double search, ties allowed either way);
 * - a query image is embedded the same way (`scan query --query-image` finds candidates in that space). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/datasets.h"
#include "scan/image_io.h"
#include "scan/npy.h"
#include "testlib.h"
#include "tiny_run.h"

enum { TRAIN = 120, VAL = 60, K = 5, HEAD_DIM = 16, BACKBONE_DIM = 16 };

static char output[1 << 16];

static int read_array(const char *run, const char *name, scan_array *a) {
  char path[1024];
  snprintf(path, sizeof path, "%s/pretext/%s", run, name);
  int ok = scan_npy_read(path, a) == SCAN_OK;
  CHECK_MSG(ok, "%s: %s", path, scan_error_message());
  return ok;
}

/* Every row's neighbours (columns 1..K) are among its K best by inner product: the K-th best similarity bounds them
   (1e-5: the float sums of unit rows of a few hundred values). */
static void check_neighbors(const scan_array *f, const scan_array *nb) {
  const long n = f->shape[0];
  const int d = (int)f->shape[1];
  const float *x = f->data;
  const int64_t *idx = nb->data;
  double *sims = malloc(sizeof(double) * (size_t)n), worst = 0;
  for (long i = 0; i < n && sims; i++) {
    for (long j = 0; j < n; j++) {
      double s = 0;
      for (int k = 0; k < d; k++) s += (double)x[i * d + k] * x[j * d + k];
      sims[j] = j == i ? -INFINITY : s;
    }
    double kth = INFINITY; /* the K-th largest */
    for (int r = 0; r < K; r++) {
      double best = -INFINITY;
      for (long j = 0; j < n; j++)
        if (sims[j] > best && sims[j] < kth) best = sims[j];
      kth = best;
    }
    for (int c = 1; c <= K; c++) {
      int64_t j = idx[i * (K + 1) + c];
      worst = test_worse(worst, j < 0 || j >= n || j == i ? INFINITY : fmax(0, kth - sims[j]));
    }
  }
  CHECK_MSG(worst <= 1e-5, "a mined neighbour is %g below the K-th best similarity", worst);
  free(sims);
}

static void check_source(const char *config, const char *source, int want_dim, const scan_dataset *train) {
  char run[1024], args[4096];
  snprintf(run, sizeof run, "%s/run-%s", test_tmpdir(), source);
  snprintf(args, sizeof args, "pretext --config %s --out %s --quiet --set pretext.epochs=1", config, run);
  CHECK(test_scan_run(args, output, sizeof output, 1) == 0);
  snprintf(args, sizeof args, "mine --config %s --out %s --quiet --set cluster.neighbor_features=%s", config, run, source);
  CHECK(test_scan_run(args, output, sizeof output, 1) == 0);
  scan_array f = {0}, nb = {0};
  if (!read_array(run, "features-train.npy", &f) || !read_array(run, "neighbors-train.npy", &nb)) return;
  CHECK_MSG(f.ndim == 2 && f.shape[0] == TRAIN && f.shape[1] == want_dim, "%s: features [%lld, %lld], want [%d, %d]",
            source, (long long)f.shape[0], (long long)f.shape[1], TRAIN, want_dim);
  CHECK(nb.ndim == 2 && nb.shape[0] == TRAIN && nb.shape[1] == K + 1);
  if (f.shape[1] != want_dim) return;
  const float *x = f.data;
  const int pixels = TINY_SIDE * TINY_SIDE, split = want_dim - (strcmp(source, "backbone+pixels") == 0 ? pixels : 0);
  double norm_error = 0, pixel_error = 0, half_error = 0;
  for (long i = 0; i < TRAIN; i++) {
    const float *row = x + i * want_dim;
    double all = 0, first = 0;
    for (int k = 0; k < want_dim; k++) all += (double)row[k] * row[k];
    for (int k = 0; k < split; k++) first += (double)row[k] * row[k];
    norm_error = test_worse(norm_error, fabs(sqrt(all) - 1));
    if (split == want_dim) continue;
    half_error = test_worse(half_error, fabs(sqrt(first) - sqrt(0.5)));
    const uint8_t *image = TEST_DATASET_IMAGE(train, i);
    double image_norm = 0;
    for (int k = 0; k < pixels; k++) image_norm += (image[k] / 255.0) * (image[k] / 255.0);
    for (int k = 0; k < pixels; k++)
      pixel_error = test_worse(pixel_error, fabs(row[split + k] - (image[k] / 255.0) / sqrt(image_norm) * sqrt(0.5)));
  }
  /* Float rows of unit length: a few float epsilons per element, sqrt of a sum of a few hundred squares. */
  CHECK_MSG(norm_error <= 1e-5, "%s: a row's length is off by %g", source, norm_error);
  CHECK_MSG(half_error <= 1e-5, "%s: the backbone half's length is off by %g from 1/sqrt(2)", source, half_error);
  CHECK_MSG(pixel_error <= 1e-6, "%s: the pixel half is off by %g from the images' own", source, pixel_error);
  check_neighbors(&f, &nb);
  scan_array_free(&f);
  scan_array_free(&nb);
}

/* A query image lands in the mined space: candidates are found without a size mismatch. */
static void check_query_image(const char *config, const scan_dataset *train) {
  char run[1024], image[1024], args[4096];
  snprintf(run, sizeof run, "%s/run-backbone+pixels", test_tmpdir());
  snprintf(image, sizeof image, "%s/query.png", test_tmpdir());
  CHECK(scan_image_write_png(image, TEST_DATASET_IMAGE(train, 7), TINY_SIDE, TINY_SIDE, 1) == SCAN_OK);
  snprintf(args, sizeof args,
           "query --config %s --out %s --quiet --set cluster.neighbor_features=backbone+pixels --query-image %s --n 10",
           config, run, image);
  /* query needs a clustering model: train the heads briefly first */
  char train_args[4096];
  snprintf(train_args, sizeof train_args,
           "cluster --config %s --out %s --quiet --set cluster.neighbor_features=backbone+pixels "
           "--set cluster.head_warmup_epochs=2",
           config, run);
  CHECK(test_scan_run(train_args, output, sizeof output, 1) == 0);
  CHECK(test_scan_run(args, output, sizeof output, 1) == 0);
}

int main(void) {
  char data[512], config[512];
  tiny_setup(TRAIN, VAL, data, sizeof data, config, sizeof config);
  scan_dataset train = {0};
  scan_dataset_spec spec = {.name = "mnist", .split = "train", .root = data};
  CHECK_MSG(scan_dataset_load(&train, &spec) == SCAN_OK, "%s", scan_error_message());
  check_source(config, "head", HEAD_DIM, &train);
  check_source(config, "backbone", BACKBONE_DIM, &train);
  check_source(config, "backbone+pixels", BACKBONE_DIM + TINY_SIDE * TINY_SIDE, &train);
  check_query_image(config, &train);
  scan_dataset_free(&train);
  return test_main_end();
}
