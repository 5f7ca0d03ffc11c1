/* k-means (src/eval/kmeans.c) against an independent reference written here in plain double loops: the same
 * greedy k-means++ seeding from the same random stream, the same Lloyd iterations, stopping rule, empty-cluster
 * relocation and choice among restarts. The reference also counts every decision that float rounding in the
 * implementation could take the other way (a near tie); with none, the assignments must agree exactly and the
 * centres and inertia within the float error bounds derived below. Independently of the initialisation, a
 * converged result must be a Lloyd fixed point; well-separated blobs must come out as the true partition; and
 * the same result for 1 and 2 threads. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "scan/metrics.h"
#include "scan/rng.h"
#include "testlib.h"

/* float32's unit roundoff: rounding v to float moves it by at most U * |v|. */
static const double U = 1.0 / 16777216.0;

/* Decisions the float implementation could take the other way than the double reference. Must stay 0 for an
   exact comparison to be meaningful; a non-zero count means the test data needs another seed. */
static int64_t near_ties;

typedef struct {
  const float *x;
  int64_t n;
  int d, k, max_iter;
  double tol;     /* absolute: opt.tol * the mean per-feature variance, as kmeans.c (scikit-learn) defines it */
  double *x_norm; /* [n] |x_i| */
  double x_max;   /* the largest |x_i| */
} ref_data;

typedef struct {
  int32_t *labels;    /* [n] */
  double *centers;    /* [k * d] */
  double inertia;     /* sum of exact squared distances to the final centres */
  double inertia_err; /* bound on |the implementation's inertia - inertia| */
} ref_run;

/* The implementation's distance between two float vectors: float differences squared, summed in double. */
static double sq_dist_ff(const float *a, const float *b, int d) {
  double s = 0;
  for (int j = 0; j < d; j++) s += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
  return s;
}

static double sq_dist_fd(const float *a, const double *c, int d) {
  double s = 0;
  for (int j = 0; j < d; j++) s += (a[j] - c[j]) * (a[j] - c[j]);
  return s;
}

static double max_norm(const double *centers, int k, int d) {
  double worst = 0;
  for (int c = 0; c < k; c++) {
    double s = 0;
    for (int j = 0; j < d; j++) s += centers[(long)c * d + j] * centers[(long)c * d + j];
    worst = fmax(worst, sqrt(s));
  }
  return worst;
}

/* Bound on the implementation's error in one squared distance |x - c|^2, computed in float as
   fl(fl(|x|^2) - 2 sgemm(x, c) + fl(|c|^2)) with c itself rounded to float:
   |x|^2, |c|^2 and the two float additions round once each (<= U (|x| + |c|)^2 each, 3 in all), the GEMM's
   d-term float dot product is off by <= d U |x| |c|, and c's rounding moves the distance by <= 2 U |c| (|x| + |c|).
   Together <= (d + 5) U (|x| + |c|)^2; d + 6 leaves room for second-order terms. */
static double dist_err(const ref_data *r, int64_t i, double c_max) {
  return (r->d + 6) * U * (r->x_norm[i] + c_max) * (r->x_norm[i] + c_max);
}

/* One k-means++ draw: the first point whose running sum of D(x)^2 exceeds target. The implementation's D(x)^2
   are the reference's rounded to float (rounding is monotonic, so fminf of rounded values is the rounded
   minimum), so its running sums and its target (uniform * potential) are each within U * potential of the
   reference's: a boundary within 4 U * potential of the target is a near tie. */
static int64_t ref_draw(const double *closest, int64_t n, double target, double potential) {
  double running = 0, margin = 4 * U * potential;
  for (int64_t i = 0; i < n; i++) {
    double below = running;
    running += closest[i];
    if (running > target) {
      if (running - target <= margin || target - below <= margin) near_ties++;
      return i;
    }
  }
  near_ties++; /* only rounding lets the target reach the total */
  return n - 1;
}

/* Greedy k-means++: 2 + ln k candidates per centre, the one leaving the lowest potential (first on equality). */
static void ref_seed(const ref_data *r, scan_rng *rng, double *centers) {
  int64_t n = r->n;
  int d = r->d, trials = 2 + (int)log(r->k);
  double *closest = malloc(sizeof(double) * n);
  int64_t first = (int64_t)(scan_rng_uniform(rng) * n);
  double potential = 0;
  for (int64_t i = 0; i < n; i++) potential += closest[i] = sq_dist_ff(r->x + i * d, r->x + first * d, d);
  for (int j = 0; j < d; j++) centers[j] = r->x[first * d + j];
  for (int c = 1; c < r->k; c++) {
    int64_t best = -1;
    double best_potential = INFINITY;
    for (int t = 0; t < trials; t++) {
      int64_t candidate = ref_draw(closest, n, scan_rng_uniform(rng) * potential, potential);
      double pot = 0;
      for (int64_t i = 0; i < n; i++) pot += fmin(closest[i], sq_dist_ff(r->x + i * d, r->x + candidate * d, d));
      /* each potential is within U * itself of the implementation's */
      if (best >= 0 && candidate != best && fabs(pot - best_potential) <= 4 * U * fmax(pot, best_potential)) near_ties++;
      if (pot < best_potential) best_potential = pot, best = candidate;
    }
    for (int64_t i = 0; i < n; i++) closest[i] = fmin(closest[i], sq_dist_ff(r->x + i * d, r->x + best * d, d));
    for (int j = 0; j < d; j++) centers[(long)c * d + j] = r->x[best * d + j];
    potential = best_potential;
  }
  free(closest);
}

/* Every point to its nearest centre (smaller id on a tie); returns how many labels changed. A point whose two
   nearest distances are within both their error bounds is a near tie. */
static int64_t ref_assign(const ref_data *r, const double *centers, int32_t *labels, double *min_dist, ref_run *out) {
  double c_max = max_norm(centers, r->k, r->d);
  int64_t changed = 0;
  out->inertia = out->inertia_err = 0;
  for (int64_t i = 0; i < r->n; i++) {
    int best = 0;
    double best_d = INFINITY, second = INFINITY;
    for (int c = 0; c < r->k; c++) {
      double dist = sq_dist_fd(r->x + i * r->d, centers + (long)c * r->d, r->d);
      if (dist < best_d) second = best_d, best_d = dist, best = c;
      else if (dist < second) second = dist;
    }
    double err = dist_err(r, i, c_max);
    if (second - best_d <= 2 * err) near_ties++;
    changed += labels[i] != best;
    labels[i] = best;
    min_dist[i] = best_d;
    out->inertia += best_d;
    out->inertia_err += err;
  }
  return changed;
}

/* The point farthest from its centre (first on equality), for an empty cluster; taken points hold -1. */
static int64_t ref_farthest(const double *min_dist, int64_t n, double margin) {
  int64_t far = 0;
  for (int64_t i = 1; i < n; i++)
    if (min_dist[i] > min_dist[far]) far = i;
  for (int64_t i = 0; i < n; i++)
    if (i != far && min_dist[i] >= min_dist[far] - margin) near_ties++;
  return far;
}

/* Centres = member means (double sums in point order, as the implementation's; it keeps them rounded to float),
   an empty cluster takes the farthest point. Returns the total squared shift; *margin receives the bound on the
   implementation's shift against it: each centre coordinate of old and new is within U * c_max of the
   reference's, so each difference is within e = 2 U c_max and the shift within 2 e sqrt(k d shift) + k d e^2. */
static double ref_update(const ref_data *r, const int32_t *labels, double *min_dist, double *centers, double *margin) {
  int k = r->k, d = r->d;
  double *sums = calloc((size_t)k * d, sizeof *sums), c_max = max_norm(centers, k, d), shift = 0;
  int64_t *counts = calloc((size_t)k, sizeof *counts);
  for (int64_t i = 0; i < r->n; i++) {
    counts[labels[i]]++;
    for (int j = 0; j < d; j++) sums[(long)labels[i] * d + j] += r->x[i * d + j];
  }
  double far_margin = 2 * (d + 6) * U * (r->x_max + c_max) * (r->x_max + c_max);
  for (int c = 0; c < k; c++) {
    double *center = centers + (long)c * d;
    if (counts[c] == 0) {
      int64_t far = ref_farthest(min_dist, r->n, far_margin);
      min_dist[far] = -1;
      shift += sq_dist_fd(r->x + far * d, center, d);
      for (int j = 0; j < d; j++) center[j] = r->x[far * d + j];
      continue;
    }
    for (int j = 0; j < d; j++) {
      double v = sums[(long)c * d + j] / (double)counts[c];
      shift += (v - center[j]) * (v - center[j]);
      center[j] = v;
    }
  }
  double e = 2 * U * fmax(c_max, max_norm(centers, k, d));
  *margin = 2 * e * sqrt((double)k * d * shift) + (double)k * d * e * e;
  free(sums);
  free(counts);
  return shift;
}

/* One restart: seed from the stream kmeans.c uses for restart `run`, iterate until no label changes, the
   shift is <= tol, or max_iter; then assign once more so labels and inertia belong to the final centres. */
static void ref_kmeans_run(const ref_data *r, uint64_t seed, int run, ref_run *out) {
  scan_rng rng = scan_rng_make(seed, (uint64_t)run, 0x6b6d65616e73ull);
  double *min_dist = malloc(sizeof(double) * r->n);
  ref_seed(r, &rng, out->centers);
  for (int64_t i = 0; i < r->n; i++) out->labels[i] = -1;
  for (int iter = 0; iter < r->max_iter; iter++) {
    if (ref_assign(r, out->centers, out->labels, min_dist, out) == 0) break;
    double margin;
    double shift = ref_update(r, out->labels, min_dist, out->centers, &margin);
    if (fabs(shift - r->tol) <= 2 * margin) near_ties++;
    if (shift <= r->tol) break;
  }
  ref_assign(r, out->centers, out->labels, min_dist, out);
  free(min_dist);
}

static ref_data ref_make(const float *x, int64_t n, int d, const scan_kmeans_options *opt) {
  ref_data r = {.x = x, .n = n, .d = d, .k = opt->k, .max_iter = opt->max_iter};
  double mean_var = 0;
  for (int j = 0; j < d; j++) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += x[i * d + j], s2 += (double)x[i * d + j] * x[i * d + j];
    mean_var += s2 / n - (s / n) * (s / n);
  }
  r.tol = opt->tol * mean_var / d;
  r.x_norm = malloc(sizeof(double) * n);
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
    r.x_norm[i] = sqrt(s);
    r.x_max = fmax(r.x_max, r.x_norm[i]);
  }
  return r;
}

/* The largest |found - want| in units of want's float rounding (U |want|): at most 1 when found is want rounded to
   float; INFINITY when anything is NaN or infinite (test_worse), so a NaN centre never passes. */
static double rounding_units(const float *found, const double *want, int64_t count) {
  double worst = 0;
  for (int64_t i = 0; i < count; i++) worst = test_worse(worst, fabs(found[i] - want[i]) / (U * fabs(want[i]) + 1e-300));
  return worst;
}

/* Runs scan_kmeans and the reference with the same options on x and compares them. The implementation keeps the
   first restart of lowest inertia; restarts whose inertias are within their error bounds of the best (the same
   partition reached under other labels) may be chosen either way, so its labels must equal exactly those of the
   best restart or of one that ties with it. */
static void check_against_reference(const float *x, int64_t n, int d, const scan_kmeans_options *opt, const char *what) {
  int k = opt->k;
  float *centers = malloc(sizeof(float) * k * d);
  int32_t *assign = malloc(sizeof(int32_t) * n);
  double inertia = NAN;
  CHECK_MSG(scan_kmeans(x, n, d, opt, centers, assign, &inertia) == SCAN_OK, "%s: %s", what, scan_error_message());
  ref_data r = ref_make(x, n, d, opt);
  ref_run *runs = calloc((size_t)opt->n_init, sizeof *runs);
  int best = 0;
  near_ties = 0;
  for (int run = 0; run < opt->n_init; run++) {
    runs[run].labels = malloc(sizeof(int32_t) * n);
    runs[run].centers = malloc(sizeof(double) * k * d);
    ref_kmeans_run(&r, opt->seed, run, &runs[run]);
    if (runs[run].inertia < runs[best].inertia) best = run;
  }
  CHECK_MSG(near_ties == 0, "%s: %lld near ties in the reference: the data needs another seed", what, (long long)near_ties);
  int match = -1;
  for (int run = 0; run < opt->n_init && match < 0; run++)
    if (runs[run].inertia <= runs[best].inertia + runs[best].inertia_err + runs[run].inertia_err &&
        memcmp(runs[run].labels, assign, sizeof(int32_t) * n) == 0)
      match = run;
  CHECK_MSG(match >= 0, "%s: the assignment differs from the reference's (best restart %d)", what, best);
  if (match >= 0) {
    double units = rounding_units(centers, runs[match].centers, (int64_t)k * d);
    CHECK_MSG(units <= 1, "%s: centres %g float roundings from the reference's", what, units);
    double off = test_worse(0, fabs(inertia - runs[match].inertia));
    CHECK_MSG(off <= runs[match].inertia_err, "%s: inertia %.12g vs the reference's %.12g (bound %g)", what, inertia,
              runs[match].inertia, runs[match].inertia_err);
    /* the comparison itself must refuse a NaN centre */
    centers[0] = NAN;
    CHECK(!(rounding_units(centers, runs[match].centers, (int64_t)k * d) <= 1));
  }
  for (int run = 0; run < opt->n_init; run++) free(runs[run].labels), free(runs[run].centers);
  free(runs);
  free(r.x_norm);
  free(centers);
  free(assign);
}

/* n points around `blobs` centres drawn N(0, spread^2) per coordinate, unit normal noise; truth may be NULL. */
static float *overlapping_blobs(int64_t n, int d, int blobs, double spread, uint64_t seed) {
  float *x = malloc(sizeof(float) * n * d), *centres = test_randn(seed, (int64_t)blobs * d, 1),
        *noise = test_randn(seed, n * d, 2);
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < d; j++) x[i * d + j] = (float)(spread * centres[(i % blobs) * d + j] + noise[i * d + j]);
  free(centres);
  free(noise);
  return x;
}

static void test_against_reference(void) {
  enum { N = 600, D = 4 };
  float *x = overlapping_blobs(N, D, 5, 2.0, 21);
  scan_kmeans_options opt;
  scan_kmeans_default_options(&opt, 6, 42); /* more clusters than blobs: the seeding and the restarts matter */
  check_against_reference(x, N, D, &opt, "k=6, 10 restarts");
  for (uint64_t seed = 1; seed <= 3; seed++) {
    scan_kmeans_default_options(&opt, 3, seed);
    opt.n_init = 1;
    check_against_reference(x, N, D, &opt, "k=3, one restart");
  }
  scan_kmeans_default_options(&opt, 4, 7);
  opt.max_iter = 2; /* stopped early: the centres are the second update's, not a fixed point */
  check_against_reference(x, N, D, &opt, "k=4, 2 iterations");
  free(x);
}

/* Whatever the initialisation, converged Lloyd (tol 0: until no label changes) ends at a fixed point: every
   point's centre is its nearest (within two distance error bounds), every cluster is non-empty and its centre
   is the float rounding of its members' mean, and the inertia is the sum of the distances. */
static void test_fixed_point(void) {
  enum { N = 600, D = 4, K = 6 };
  float *x = overlapping_blobs(N, D, 5, 2.0, 33), centers[K * D];
  int32_t *assign = malloc(sizeof(int32_t) * N);
  scan_kmeans_options opt;
  scan_kmeans_default_options(&opt, K, 5);
  opt.tol = 0;
  double inertia = NAN;
  CHECK(scan_kmeans(x, N, D, &opt, centers, assign, &inertia) == SCAN_OK);
  ref_data r = ref_make(x, N, D, &opt);
  double means[K * D] = {0}, as_double[K * D], sum = 0, err = 0, worst_excess = 0;
  int64_t counts[K] = {0};
  for (int t = 0; t < K * D; t++) as_double[t] = centers[t];
  double c_max = max_norm(as_double, K, D);
  for (int64_t i = 0; i < N; i++) {
    double own = sq_dist_fd(x + i * D, as_double + (long)assign[i] * D, D), nearest = own;
    for (int c = 0; c < K; c++) nearest = fmin(nearest, sq_dist_fd(x + i * D, as_double + (long)c * D, D));
    worst_excess = test_worse(worst_excess, (own - nearest) / (2 * dist_err(&r, i, c_max)));
    counts[assign[i]]++;
    for (int j = 0; j < D; j++) means[assign[i] * D + j] += x[i * D + j];
    sum += own;
    err += dist_err(&r, i, c_max);
  }
  CHECK_MSG(worst_excess <= 1, "a point is %g error bounds farther from its centre than from the nearest", worst_excess);
  for (int c = 0; c < K; c++) {
    CHECK_MSG(counts[c] > 0, "cluster %d is empty", c);
    for (int j = 0; j < D; j++) means[c * D + j] /= (double)(counts[c] ? counts[c] : 1);
  }
  double units = rounding_units(centers, means, K * D);
  CHECK_MSG(units <= 1, "centres %g float roundings from their members' means", units);
  CHECK_MSG(test_worse(0, fabs(inertia - sum)) <= err, "inertia %.12g, distances sum to %.12g", inertia, sum);
  free(r.x_norm);
  free(x);
  free(assign);
}

/* A known answer: four well-separated blobs come out as the true partition (ACC 1.0 up to relabelling), each
   centre near its blob's; and the result is the same for 1 and 2 threads. */
static void test_separated_blobs(void) {
  enum { K = 4, D = 5 };
  int per = test_light() ? 60 : 600, n = K * per;
  float *x = malloc(sizeof(float) * n * D), centers[K * D], found[K * D];
  int32_t *truth = malloc(sizeof(int32_t) * n), *assign = malloc(sizeof(int32_t) * n),
          *assign1 = malloc(sizeof(int32_t) * n);
  scan_rng r = scan_rng_make(9, 0, 0);
  for (int c = 0; c < K; c++)
    for (int j = 0; j < D; j++) centers[c * D + j] = (float)(20 * ((c >> (j % 2)) & 1) + 7 * (j == c));
  for (int i = 0; i < n; i++) {
    truth[i] = i % K;
    for (int j = 0; j < D; j++) x[i * D + j] = centers[truth[i] * D + j] + (float)scan_rng_normal(&r);
  }
  scan_kmeans_options opt;
  scan_kmeans_default_options(&opt, K, 42);
  double inertia = 0, inertia1 = 0;
  CHECK(scan_kmeans(x, n, D, &opt, found, assign, &inertia) == SCAN_OK);
  scan_metrics m;
  CHECK(scan_cluster_metrics(assign, truth, n, K, K, NULL, &m) == SCAN_OK);
  CHECK_NEAR(m.acc, 1.0, 1e-12, 0);
  /* each found centroid is near its blob's true centre: the mean of `per` unit
     normal points is off by about sqrt(D / per); allow 3 times that */
  double worst = 0;
  for (int c = 0; c < K; c++) {
    int y = m.match[c];
    double dist = 0;
    for (int j = 0; j < D; j++) dist += pow(found[c * D + j] - centers[y * D + j], 2);
    worst = test_worse(worst, sqrt(dist));
  }
  CHECK_MSG(worst < 3 * sqrt((double)D / per), "centroid off by %g", worst);
  scan_metrics_free(&m);
  check_against_reference(x, n, D, &opt, "separated blobs");

  omp_set_num_threads(1);
  CHECK(scan_kmeans(x, n, D, &opt, centers, assign1, &inertia1) == SCAN_OK);
  omp_set_num_threads(2);
  CHECK(memcmp(assign, assign1, sizeof(int32_t) * n) == 0);
  CHECK(memcmp(found, centers, sizeof found) == 0 && inertia == inertia1);

  opt.k = n + 1;
  CHECK(scan_kmeans(x, n, D, &opt, found, assign, NULL) == SCAN_ERR_INPUT);
  opt.k = K;
  x[7] = NAN; /* a NaN feature is refused, not clustered */
  CHECK(scan_kmeans(x, n, D, &opt, found, assign, NULL) == SCAN_ERR_INPUT);
  free(x);
  free(truth);
  free(assign);
  free(assign1);
}

/* k-means on a dataset's images: with room for every image it is scan_kmeans on their pixels / 255 (the same
   bits); with room for fewer, the centres are scan_kmeans's on the evenly spread sample and every image joins its
   nearest centre (a plain double reference here). */
static void test_images(void) {
  enum { N = 300, H = 2, W = 3, C = 1, D = H * W * C, K = 3, FIT = 50 };
  uint8_t pixels[N * D];
  scan_rng r = scan_rng_make(17, 0, 0);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < D; j++) pixels[i * D + j] = (uint8_t)(80 * (i % K) + (j % 2) * 20 + scan_rng_int(&r, 60));
  scan_dataset images = {.count = N, .height = H, .width = W, .channels = C, .pixels = pixels, .name = "images"};
  float x[N * D], centres[K * D], want_centres[K * D];
  int32_t assign[N], want[N];
  for (int i = 0; i < N * D; i++) x[i] = pixels[i] / 255.0f;
  scan_kmeans_options opt;
  scan_kmeans_default_options(&opt, K, 5);
  CHECK(scan_kmeans(x, N, D, &opt, want_centres, want, NULL) == SCAN_OK);
  CHECK(scan_kmeans_images(&images, N, &opt, centres, assign) == SCAN_OK);
  CHECK(memcmp(assign, want, sizeof assign) == 0 && memcmp(centres, want_centres, sizeof centres) == 0);

  float sample[FIT * D];
  for (int i = 0; i < FIT; i++)
    for (int j = 0; j < D; j++) sample[i * D + j] = x[(i * N / FIT) * D + j];
  CHECK(scan_kmeans(sample, FIT, D, &opt, want_centres, want, NULL) == SCAN_OK);
  for (int i = 0; i < N * D; i++) assign[i % N] = -1;
  CHECK(scan_kmeans_images(&images, FIT, &opt, centres, assign) == SCAN_OK);
  CHECK(memcmp(centres, want_centres, sizeof centres) == 0);
  int nearest = 1;
  for (int i = 0; i < N; i++) {
    int best = 0;
    double best_dist = INFINITY;
    for (int c = 0; c < K; c++) {
      double dist = 0;
      for (int j = 0; j < D; j++) dist += pow((double)x[i * D + j] - want_centres[c * D + j], 2);
      if (dist < best_dist) best_dist = dist, best = c;
    }
    nearest &= assign[i] == best;
  }
  CHECK_MSG(nearest, "an image is not assigned to its nearest centre");
  scan_dataset empty = images;
  empty.count = 0;
  CHECK(scan_kmeans_images(&empty, FIT, &opt, centres, assign) == SCAN_ERR_INPUT);
}

int main(void) {
  test_images();
  test_separated_blobs();
  test_against_reference();
  test_fixed_point();
  return test_main_end();
}
