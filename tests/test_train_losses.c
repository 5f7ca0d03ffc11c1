/* The training losses against PyTorch (tests/data/losses.safetensors, written by
 * tools/make_loss_fixture.py from the reference's loss classes) and their gradients against
 * central finite differences of the loss itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/losses.h"
#include "scan/rng.h"
#include "scan/safetensors.h"
#include "testlib.h"

static scan_safetensors *fixture;

/* A fixture tensor as doubles (whatever its stored dtype); exits the test if it is missing. */
static double *fixture_doubles(const char *name, int64_t expected_count) {
  const scan_tensor_view *t = scan_safetensors_find(fixture, name);
  CHECK_MSG(t != NULL, "fixture tensor %s missing", name);
  if (!t) exit(test_main_end() | 1);
  int64_t count = 1;
  for (int k = 0; k < t->ndim; k++) count *= t->shape[k];
  CHECK_MSG(count == expected_count, "%s has %lld values, expected %lld", name, (long long)count,
            (long long)expected_count);
  if (count != expected_count) exit(test_main_end() | 1);
  double *out = malloc((size_t)count * sizeof(double));
  for (int64_t i = 0; i < count; i++) {
    switch (t->dtype) {
      case SCAN_F32: out[i] = ((const float *)t->data)[i]; break;
      case SCAN_F64: out[i] = ((const double *)t->data)[i]; break;
      case SCAN_I64: out[i] = (double)((const int64_t *)t->data)[i]; break;
      case SCAN_I32: out[i] = ((const int32_t *)t->data)[i]; break;
      case SCAN_U8: out[i] = ((const uint8_t *)t->data)[i]; break;
      default: out[i] = NAN; break; /* safetensors has no other dtype */
    }
  }
  return out;
}

static float *fixture_floats(const char *name, int64_t count) {
  double *values = fixture_doubles(name, count);
  float *out = malloc((size_t)count * sizeof(float));
  for (int64_t i = 0; i < count; i++) out[i] = (float)values[i];
  free(values);
  return out;
}

static double max_abs_diff(const float *a, const double *b, int n) {
  double worst = 0.0;
  for (int i = 0; i < n; i++)
    if (fabs(a[i] - b[i]) > worst) worst = fabs(a[i] - b[i]);
  return worst;
}

static void random_fill(float *x, int n, double scale, uint64_t stream) {
  scan_rng rng = scan_rng_make(7, stream, 0);
  for (int i = 0; i < n; i++) x[i] = (float)(scale * scan_rng_normal(&rng));
}

static void normalise_rows(float *x, int rows, int d) {
  for (int r = 0; r < rows; r++) {
    double norm = 0.0;
    for (int k = 0; k < d; k++) norm += (double)x[r * d + k] * x[r * d + k];
    norm = sqrt(norm);
    for (int k = 0; k < d; k++) x[r * d + k] = (float)(x[r * d + k] / norm);
  }
}

/* Central difference of `eval` w.r.t. x[i]; the step actually taken is measured after rounding to
 * float, and the losses accumulate in double, so the quotient is accurate to ~1e-6. */
typedef double (*loss_fn)(void *ctx);
static double central_difference(loss_fn eval, void *ctx, float *x, int i, double h) {
  const float saved = x[i];
  x[i] = (float)(saved + h);
  const double up_step = (double)x[i] - saved, up = eval(ctx);
  x[i] = (float)(saved - h);
  const double down_step = (double)saved - x[i], down = eval(ctx);
  x[i] = saved;
  return (up - down) / (up_step + down_step);
}

/* Compares every entry of an analytic gradient with finite differences. */
static void check_gradient(const char *what, loss_fn eval, void *ctx, float *x, const float *grad, int n) {
  double worst = 0.0;
  int worst_index = 0;
  for (int i = 0; i < n; i++) {
    double numeric = central_difference(eval, ctx, x, i, 1e-3);
    double error = fabs(numeric - grad[i]) / (1e-3 + fabs(numeric));
    if (error > worst) {
      worst = error;
      worst_index = i;
    }
  }
  CHECK_MSG(worst < 2e-3, "%s: gradient entry %d off by %.3g (relative)", what, worst_index, worst);
}

/* ---- SimCLR ---- */

typedef struct {
  float *z1, *z2;
  int b, d, symmetric;
} simclr_case;

static double simclr_eval(void *ctx) {
  simclr_case *s = ctx;
  return scan_loss_simclr(s->z1, s->z2, s->b, s->d, 0.1, s->symmetric, NULL, NULL);
}

static void test_simclr(void) {
  const int b = 8, d = 16;
  float *z1 = fixture_floats("simclr_z1", b * d), *z2 = fixture_floats("simclr_z2", b * d);
  float gz1[8 * 16], gz2[8 * 16];
  const char *prefixes[2] = {"simclr", "simclr_sym"};
  for (int symmetric = 0; symmetric <= 1; symmetric++) {
    char name[64];
    snprintf(name, sizeof name, "%s_loss", prefixes[symmetric]);
    double *expected_loss = fixture_doubles(name, 1);
    double loss = scan_loss_simclr(z1, z2, b, d, 0.1, symmetric, gz1, gz2);
    CHECK_NEAR(loss, expected_loss[0], 1e-9, 1e-6);
    snprintf(name, sizeof name, "%s_dz1", prefixes[symmetric]);
    double *expected_g1 = fixture_doubles(name, b * d);
    snprintf(name, sizeof name, "%s_dz2", prefixes[symmetric]);
    double *expected_g2 = fixture_doubles(name, b * d);
    CHECK_MSG(max_abs_diff(gz1, expected_g1, b * d) < 1e-5, "simclr symmetric=%d d_z1 vs PyTorch: %g", symmetric,
              max_abs_diff(gz1, expected_g1, b * d));
    CHECK_MSG(max_abs_diff(gz2, expected_g2, b * d) < 1e-5, "simclr symmetric=%d d_z2 vs PyTorch: %g", symmetric,
              max_abs_diff(gz2, expected_g2, b * d));
    free(expected_loss);
    free(expected_g1);
    free(expected_g2);
  }
  /* Value only (NULL gradients) gives the same number. */
  CHECK(scan_loss_simclr(z1, z2, b, d, 0.1, 0, NULL, NULL) == scan_loss_simclr(z1, z2, b, d, 0.1, 0, gz1, NULL));
  free(z1);
  free(z2);

  /* Finite differences on other shapes, including non-unit vectors (the formula holds for any input). */
  simclr_case s = {malloc(5 * 7 * sizeof(float)), malloc(5 * 7 * sizeof(float)), 5, 7, 0};
  random_fill(s.z1, 5 * 7, 0.5, 1);
  random_fill(s.z2, 5 * 7, 0.5, 2);
  normalise_rows(s.z1, 5, 7);
  float g1[35], g2[35];
  for (s.symmetric = 0; s.symmetric <= 1; s.symmetric++) {
    scan_loss_simclr(s.z1, s.z2, s.b, s.d, 0.1, s.symmetric, g1, g2);
    check_gradient(s.symmetric ? "simclr symmetric d_z1" : "simclr d_z1", simclr_eval, &s, s.z1, g1, 35);
    check_gradient(s.symmetric ? "simclr symmetric d_z2" : "simclr d_z2", simclr_eval, &s, s.z2, g2, 35);
  }
  free(s.z1);
  free(s.z2);
}

/* ---- SCAN ---- */

typedef struct {
  float *anchors, *neighbors;
  int b, c;
} scan_case;

static double scan_eval(void *ctx) {
  scan_case *s = ctx;
  return scan_loss_scan(s->anchors, s->neighbors, s->b, s->c, 5.0, NULL, NULL).total;
}

static void test_scan(void) {
  const int b = 16, c = 10;
  const char *cases[2] = {"scan", "scan_clamp"};
  for (int which = 0; which < 2; which++) {
    char name[64];
    snprintf(name, sizeof name, "%s_anchors", cases[which]);
    float *anchors = fixture_floats(name, b * c);
    snprintf(name, sizeof name, "%s_neighbors", cases[which]);
    float *neighbors = fixture_floats(name, b * c);
    snprintf(name, sizeof name, "%s_values", cases[which]);
    double *values = fixture_doubles(name, 3);
    snprintf(name, sizeof name, "%s_danchors", cases[which]);
    double *expected_da = fixture_doubles(name, b * c);
    snprintf(name, sizeof name, "%s_dneighbors", cases[which]);
    double *expected_dn = fixture_doubles(name, b * c);
    float da[16 * 10], dn[16 * 10];
    scan_scan_loss loss = scan_loss_scan(anchors, neighbors, b, c, 5.0, da, dn);
    CHECK_NEAR(loss.total, values[0], 1e-9, 1e-7);
    CHECK_NEAR(loss.consistency, values[1], 1e-9, 1e-7);
    CHECK_NEAR(loss.entropy, values[2], 1e-9, 1e-7);
    CHECK_MSG(max_abs_diff(da, expected_da, b * c) < 1e-6, "%s d_anchor vs PyTorch: %g", cases[which],
              max_abs_diff(da, expected_da, b * c));
    CHECK_MSG(max_abs_diff(dn, expected_dn, b * c) < 1e-6, "%s d_neighbor vs PyTorch: %g", cases[which],
              max_abs_diff(dn, expected_dn, b * c));
    free(anchors);
    free(neighbors);
    free(values);
    free(expected_da);
    free(expected_dn);
  }

  scan_case s = {malloc(6 * 4 * sizeof(float)), malloc(6 * 4 * sizeof(float)), 6, 4};
  random_fill(s.anchors, 24, 1.5, 3);
  random_fill(s.neighbors, 24, 1.5, 4);
  float da[24], dn[24];
  scan_loss_scan(s.anchors, s.neighbors, s.b, s.c, 5.0, da, dn);
  check_gradient("scan d_anchor", scan_eval, &s, s.anchors, da, 24);
  check_gradient("scan d_neighbor", scan_eval, &s, s.neighbors, dn, 24);
  free(s.anchors);
  free(s.neighbors);
}

/* ---- validation SCAN loss and adaptive thresholds ---- */

static void test_scan_eval_and_thresholds(void) {
  const int n = 20, c = 5, cols = 4;
  float *probs = fixture_floats("eval_probs", n * c);
  double *neighbor_values = fixture_doubles("eval_neighbors", n * cols), *values = fixture_doubles("eval_values", 3);
  int64_t neighbors[20 * 4];
  for (int i = 0; i < n * cols; i++) neighbors[i] = (int64_t)neighbor_values[i];
  double total, consistency, entropy;
  scan_scan_eval_loss(probs, n, c, neighbors, cols, 1.0, &total, &consistency, &entropy);
  CHECK_NEAR(total, values[0], 1e-9, 1e-6);
  CHECK_NEAR(consistency, values[1], 1e-9, 1e-6);
  CHECK_NEAR(entropy, values[2], 1e-9, 1e-6);
  /* An index outside the set is skipped, not read: same result as the row without it. */
  int64_t damaged[20 * 5];
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < cols; k++) damaged[i * 5 + k] = neighbors[i * cols + k];
    damaged[i * 5 + 4] = i % 2 ? n + 3 : -1;
  }
  double total_damaged;
  scan_scan_eval_loss(probs, n, c, damaged, 5, 1.0, &total_damaged, NULL, NULL);
  CHECK_NEAR(total_damaged, total, 1e-12, 1e-12);
  free(probs);
  free(neighbor_values);
  free(values);

  float *adaptive_probs = fixture_floats("adaptive_probs", 60 * 5);
  double *expected = fixture_doubles("adaptive_thresholds", 5);
  float thresholds[5];
  scan_adaptive_thresholds(adaptive_probs, 60, 5, 0.3, 0.4, thresholds);
  for (int k = 0; k < 5; k++) CHECK_NEAR(thresholds[k], expected[k], 1e-6, 0);
  /* A class nobody predicts gets the floor. */
  float one_class[3 * 3] = {0.9f, 0.05f, 0.05f, 0.8f, 0.1f, 0.1f, 0.6f, 0.3f, 0.1f};
  float t3[3];
  scan_adaptive_thresholds(one_class, 3, 3, 0.5, 0.25, t3);
  CHECK_NEAR(t3[0], 0.8, 1e-6, 0);
  CHECK(t3[1] == 0.25f && t3[2] == 0.25f);
  free(adaptive_probs);
  free(expected);
}

/* ---- self-label ---- */

typedef struct {
  const float *weak;
  float *strong;
  int b, c;
} selflabel_case;

static double selflabel_eval(void *ctx) {
  selflabel_case *s = ctx;
  int confident;
  return scan_loss_selflabel(s->weak, s->strong, s->b, s->c, 0.99, NULL, 1, NULL, &confident, NULL);
}

static void test_selflabel(void) {
  const int b = 32, c = 6;
  float *weak = fixture_floats("selflabel_weak", b * c), *strong = fixture_floats("selflabel_strong", b * c);
  float *class_thresholds = fixture_floats("selflabel_class_thresholds", c);
  const char *cases[3] = {"selflabel_bal", "selflabel_plain", "selflabel_adaptive"};
  for (int which = 0; which < 3; which++) {
    char name[64];
    snprintf(name, sizeof name, "%s_loss", cases[which]);
    double *expected_loss = fixture_doubles(name, 1);
    snprintf(name, sizeof name, "%s_dstrong", cases[which]);
    double *expected_grad = fixture_doubles(name, b * c);
    snprintf(name, sizeof name, "%s_targets", cases[which]);
    double *expected_targets = fixture_doubles(name, b);
    float grad[32 * 6];
    int32_t targets[32];
    int confident = -1, expected_confident = 0, targets_match = 1;
    double loss = scan_loss_selflabel(weak, strong, b, c, 0.99, which == 2 ? class_thresholds : NULL, which != 1,
                                      grad, &confident, targets);
    for (int i = 0; i < b; i++) {
      expected_confident += expected_targets[i] >= 0;
      targets_match &= targets[i] == (int32_t)expected_targets[i];
    }
    CHECK_MSG(targets_match, "%s: confident targets differ from PyTorch", cases[which]);
    CHECK_MSG(confident == expected_confident && confident > 0, "%s: %d confident, PyTorch %d", cases[which],
              confident, expected_confident);
    CHECK_NEAR(loss, expected_loss[0], 1e-9, 1e-6);
    CHECK_MSG(max_abs_diff(grad, expected_grad, b * c) < 1e-6, "%s d_strong vs PyTorch: %g", cases[which],
              max_abs_diff(grad, expected_grad, b * c));
    free(expected_loss);
    free(expected_grad);
    free(expected_targets);
  }

  selflabel_case s = {weak, strong, b, c};
  float grad[32 * 6];
  scan_loss_selflabel(weak, strong, b, c, 0.99, NULL, 1, grad, NULL, NULL);
  check_gradient("selflabel d_strong", selflabel_eval, &s, strong, grad, b * c);

  /* Nobody confident: loss 0, zero gradient, no crash (the reference raises, its issue #46). */
  int confident = -1;
  int32_t targets[32];
  for (int i = 0; i < b * c; i++) grad[i] = 1.0f;
  double loss = scan_loss_selflabel(weak, strong, b, c, 1.0, NULL, 1, grad, &confident, targets);
  int all_zero = 1, all_unassigned = 1;
  for (int i = 0; i < b * c; i++) all_zero &= grad[i] == 0.0f;
  for (int i = 0; i < b; i++) all_unassigned &= targets[i] == -1;
  CHECK(loss == 0.0 && confident == 0 && all_zero && all_unassigned);
  free(weak);
  free(strong);
  free(class_thresholds);
}

int main(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/losses.safetensors", test_data_dir());
  scan_status st = scan_safetensors_read(path, &fixture);
  CHECK_MSG(st == SCAN_OK, "%s", scan_error_message());
  if (st != SCAN_OK) return test_main_end();
  test_simclr();
  test_scan();
  test_scan_eval_and_thresholds();
  test_selflabel();
  scan_safetensors_free(fixture);
  return test_main_end();
}
