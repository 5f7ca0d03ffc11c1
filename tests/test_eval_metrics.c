/* Clustering metrics against hand-derived values, brute-force references and
 * values scikit-learn computed (tests/data/metrics_sklearn.txt, written by
 * tools/make_metrics_fixture.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/metrics.h"
#include "scan/rng.h"
#include "testlib.h"

/* Brute force over all injective row->column maps (rows <= cols) or the transpose. */
static double best_assignment(const double *cost, int rows, int cols, int row, int *used) {
  if (row == rows) return 0;
  double best = INFINITY;
  int free_cols = 0;
  for (int c = 0; c < cols; c++) free_cols += !used[c];
  if (rows - row > free_cols) return INFINITY;
  for (int c = 0; c < cols; c++) {
    if (used[c]) continue;
    used[c] = 1;
    best = fmin(best, cost[row * cols + c] + best_assignment(cost, rows, cols, row + 1, used));
    used[c] = 0;
  }
  if (rows > cols) best = fmin(best, best_assignment(cost, rows, cols, row + 1, used)); /* row left out */
  return best;
}

static void test_hungarian(void) {
  scan_rng r = scan_rng_make(5, 0, 0);
  int shapes[4][2] = {{4, 6}, {6, 4}, {5, 5}, {1, 3}};
  for (int trial = 0; trial < 40; trial++) {
    int rows = shapes[trial % 4][0], cols = shapes[trial % 4][1];
    double cost[36];
    for (int t = 0; t < rows * cols; t++) cost[t] = scan_rng_int(&r, 10) - 3; /* ties on purpose */
    int assign[6], used[6] = {0}, col_used[6] = {0};
    CHECK(scan_hungarian(cost, rows, cols, assign) == SCAN_OK);
    double total = 0;
    int assigned = 0, valid = 1;
    for (int i = 0; i < rows; i++) {
      if (assign[i] < 0) continue;
      valid &= !col_used[assign[i]];
      col_used[assign[i]] = 1;
      total += cost[i * cols + assign[i]];
      assigned++;
    }
    CHECK(valid && assigned == (rows < cols ? rows : cols));
    /* with rows > cols every column is used, so compare with "exactly cols rows assigned" */
    double expect = rows <= cols ? best_assignment(cost, rows, cols, 0, used) : INFINITY;
    if (rows > cols) { /* transpose brute force */
      double t[36];
      for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) t[j * rows + i] = cost[i * cols + j];
      expect = best_assignment(t, cols, rows, 0, used);
    }
    CHECK_NEAR(total, expect, 1e-12, 0);
  }
}

/* Expected MI over all orderings of the predictions (the permutation model that
 * the hypergeometric formula sums in closed form). */
static double mi_of(const int32_t *a, const int32_t *b, int n, int ka, int kb) {
  double table[8][8] = {{0}}, ra[8] = {0}, rb[8] = {0}, mi = 0;
  for (int i = 0; i < n; i++) table[a[i]][b[i]]++, ra[a[i]]++, rb[b[i]]++;
  for (int i = 0; i < ka; i++)
    for (int j = 0; j < kb; j++)
      if (table[i][j] > 0) mi += table[i][j] / n * log(n * table[i][j] / (ra[i] * rb[j]));
  return mi;
}
static void permute_mi(int32_t *p, int at, int n, const int32_t *y, int ka, int kb, double *sum, long *count) {
  if (at == n) {
    *sum += mi_of(p, y, n, ka, kb);
    (*count)++;
    return;
  }
  for (int i = at; i < n; i++) {
    int32_t t = p[at]; p[at] = p[i]; p[i] = t;
    permute_mi(p, at + 1, n, y, ka, kb, sum, count);
    t = p[at]; p[at] = p[i]; p[i] = t;
  }
}

static void test_small_case(void) {
  /* clusters x classes contingency: c0 [2,0], c1 [1,1], c2 [0,2] */
  int32_t y[6] = {0, 0, 0, 1, 1, 1}, pred[6] = {0, 0, 1, 1, 2, 2};
  scan_metrics m;
  CHECK(scan_cluster_metrics(pred, y, 6, 3, 2, NULL, &m) == SCAN_OK);
  /* ARI: sum C(nij,2)=2; rows C(2,2)*3=3; classes C(3,2)*2=6; E=3*6/15=1.2; max=4.5 -> 0.8/3.3 */
  CHECK_NEAR(m.ari, 0.8 / 3.3, 1e-12, 0);
  /* NMI: MI = 2*(2/6)ln(6*2/(2*3)) = (2/3)ln2; H(C)=ln3, H(Y)=ln2 */
  CHECK_NEAR(m.nmi, (2.0 / 3 * log(2)) / ((log(2) + log(3)) / 2), 1e-12, 0);
  /* c0->0 and c2->1 matched, c1 left over: 4 of 6 right; majority c1->0 adds one */
  CHECK_NEAR(m.acc, 4.0 / 6, 1e-12, 0);
  CHECK_NEAR(m.acc_majority, 5.0 / 6, 1e-12, 0);
  CHECK(m.match[0] == 0 && m.match[1] == -1 && m.match[2] == 1);
  CHECK(m.majority_match[1] == 0);
  CHECK(m.contingency[1 * 2 + 0] == 1 && m.contingency[2 * 2 + 1] == 2);
  /* each class: P = 2/2, R = 2/3, F1 = 0.8 */
  CHECK_NEAR(m.f1_weighted, 0.8, 1e-12, 0);
  CHECK_NEAR(m.precision_weighted, 1.0, 1e-12, 0);
  CHECK_NEAR(m.recall_weighted, m.acc, 1e-12, 0);
  CHECK(!m.has_top5);
  /* AMI against brute-force expectation over all 720 orderings */
  int32_t p[6];
  memcpy(p, pred, sizeof p);
  double sum = 0;
  long count = 0;
  permute_mi(p, 0, 6, y, 3, 2, &sum, &count);
  double emi = sum / count, mi = 2.0 / 3 * log(2);
  CHECK_NEAR(m.ami, (mi - emi) / ((log(2) + log(3)) / 2 - emi), 1e-10, 0);
  scan_metrics_free(&m);

  /* top-5 with unmatched clusters: 7 clusters, 3..6 empty. Each sample's top 5
     are its own cluster and 3..6. Hits: samples of c0 (y0) and c2 (y1) = 4 of 6;
     sample 2 (c1, y0) would hit if unmatched clusters mapped to class 0. */
  float probs[6 * 7];
  for (int i = 0; i < 6; i++)
    for (int c = 0; c < 7; c++) probs[i * 7 + c] = c == pred[i] ? 0.5f : c >= 3 ? 0.1f : 0.05f;
  CHECK(scan_cluster_metrics(pred, y, 6, 7, 2, probs, &m) == SCAN_OK);
  CHECK(m.has_top5);
  CHECK_NEAR(m.acc_top5, 4.0 / 6, 1e-12, 0);
  CHECK_NEAR(m.acc, 4.0 / 6, 1e-12, 0);
  scan_metrics_free(&m);

  /* more classes than clusters: c0 {y0, y1}, c1 {y0, y1, y2, y2} -> c1->2, c0->0: 3/6 */
  int32_t y3[6] = {0, 1, 0, 1, 2, 2}, pred2[6] = {0, 0, 1, 1, 1, 1};
  CHECK(scan_cluster_metrics(pred2, y3, 6, 2, 3, NULL, &m) == SCAN_OK);
  CHECK_NEAR(m.acc, 3.0 / 6, 1e-12, 0);
  CHECK(m.match[1] == 2);
  scan_metrics_free(&m);

  int32_t bad[6] = {0, 0, 0, 0, 0, 9};
  CHECK(scan_cluster_metrics(bad, y, 6, 3, 2, NULL, &m) == SCAN_ERR_INPUT);
}

static void test_perfect_and_permuted(void) {
  enum { N = 90 };
  int32_t y[N], pred[N];
  for (int i = 0; i < N; i++) y[i] = i % 3, pred[i] = i % 3;
  scan_metrics m;
  CHECK(scan_cluster_metrics(pred, y, N, 3, 3, NULL, &m) == SCAN_OK);
  CHECK_NEAR(m.acc, 1, 1e-12, 0);
  CHECK_NEAR(m.nmi, 1, 1e-12, 0);
  CHECK_NEAR(m.ari, 1, 1e-12, 0);
  CHECK_NEAR(m.ami, 1, 1e-9, 0);
  CHECK_NEAR(m.f1_weighted, 1, 1e-12, 0);
  scan_metrics_free(&m);
  int perm[3] = {2, 0, 1};
  for (int i = 0; i < N; i++) pred[i] = perm[y[i]];
  CHECK(scan_cluster_metrics(pred, y, N, 3, 3, NULL, &m) == SCAN_OK);
  CHECK_NEAR(m.acc, 1, 1e-12, 0);
  CHECK_NEAR(m.nmi, 1, 1e-12, 0);
  CHECK_NEAR(m.ari, 1, 1e-12, 0);
  CHECK(m.match[2] == 0 && m.match[0] == 1 && m.match[1] == 2);
  scan_metrics_free(&m);
  /* one cluster vs one class: both trivial, scikit-learn's special case 1 */
  for (int i = 0; i < N; i++) y[i] = 0, pred[i] = 0;
  CHECK(scan_cluster_metrics(pred, y, N, 1, 1, NULL, &m) == SCAN_OK);
  CHECK(m.nmi == 1 && m.ari == 1 && m.ami == 1 && m.acc == 1);
  scan_metrics_free(&m);
}

static void test_silhouette_summary_prototypes(void) {
  /* 1-D points {0, 1} and {5}: s = (5-1)/5, (4-1)/4, 0 (singleton) */
  float x[3] = {0, 1, 5};
  int32_t lab[3] = {7, 7, -2};
  int defined = 0;
  CHECK_NEAR(scan_silhouette(x, 3, 1, lab, &defined), (0.8 + 0.75 + 0) / 3, 1e-15, 0);
  CHECK(defined);
  int32_t one[3] = {1, 1, 1};
  CHECK(scan_silhouette(x, 3, 1, one, &defined) == 0 && !defined);

  int32_t pred[5] = {0, 0, 2, 0, 2};
  float probs[5 * 3] = {.8f, .1f, .1f, .5f, .3f, .2f, .1f, .1f, .8f, .6f, .2f, .2f, .3f, .3f, .4f};
  scan_cluster_summary s;
  CHECK(scan_cluster_summarize(pred, 5, 3, probs, &s) == SCAN_OK);
  CHECK(s.sizes[0] == 3 && s.sizes[1] == 0 && s.sizes[2] == 2 && s.num_nonempty == 2);
  CHECK_NEAR(s.entropy, -(0.6 * log(0.6) + 0.4 * log(0.4)), 1e-12, 0);
  CHECK_NEAR(s.mean_confidence, (0.8 + 0.5 + 0.8 + 0.6 + 0.4) / 5, 1e-6, 0);
  scan_cluster_summary_free(&s);

  /* prototypes, top 2 by confidence among members only:
     cluster 0 members 0 (.8), 1 (.5), 3 (.6) -> top {0, 3}, mean of features (0 and 2) = 1, tie -> rank order: 0.
     cluster 2 members 2 (.8), 4 (.4) -> {2, 4}: features 10, 11 -> mean 10.5, tie -> 2. cluster 1 empty -> -1. */
  float conf[5] = {.8f, .5f, .8f, .6f, .4f}, feat[5] = {0, 100, 10, 2, 11};
  int64_t proto[3];
  CHECK(scan_prototypes(pred, conf, feat, 5, 1, 3, 2, proto) == SCAN_OK);
  CHECK(proto[0] == 0 && proto[1] == -1 && proto[2] == 2);
  /* topk 3: cluster 0 mean of {0, 2, 100} = 34 -> closest is feature 2 (sample 3) */
  CHECK(scan_prototypes(pred, conf, feat, 5, 1, 3, 3, proto) == SCAN_OK);
  CHECK(proto[0] == 3);
}

static int read_ints(FILE *f, int32_t *v, int count) {
  for (int i = 0; i < count; i++)
    if (fscanf(f, "%d", &v[i]) != 1) return 0;
  return 1;
}

/* Label metrics and silhouette against scikit-learn: over- and under-clustering,
 * empty cluster ids, a single cluster, a noisy 1000-sample case. Counts-based
 * metrics agree to rounding (1e-9). The silhouette's inputs are exact float32 values; scan sums exact
 * double distances, scikit-learn expands |x|^2 + |y|^2 - 2 x.y in double, which loses up to
 * sqrt(eps64) ~ 1.5e-8 of a distance's scale between near points: 1e-7 covers that. */
static void test_sklearn_fixture(void) {
  char kind[32], name[64];
  FILE *f = test_open_fixture("metrics_sklearn.txt");
  if (!f) return;
  int label_cases = 0, silhouette_cases = 0, n, a, b;
  while (fscanf(f, "%31s %63s %d %d", kind, name, &n, &a) == 4) {
    if (strcmp(kind, "case") == 0) {
      CHECK(fscanf(f, "%d", &b) == 1);
      int32_t *labels = malloc(sizeof(int32_t) * n), *pred = malloc(sizeof(int32_t) * n);
      double want[7]; /* acc nmi ari ami precision recall f1 */
      int ok = read_ints(f, labels, n) && read_ints(f, pred, n);
      for (int t = 0; t < 7; t++) ok &= fscanf(f, "%lf", &want[t]) == 1;
      CHECK_MSG(ok, "case %s: truncated record", name);
      scan_metrics m;
      if (ok && scan_cluster_metrics(pred, labels, n, a, b, NULL, &m) == SCAN_OK) {
        double got[7] = {m.acc, m.nmi, m.ari, m.ami, m.precision_weighted, m.recall_weighted, m.f1_weighted};
        const char *names[7] = {"acc", "nmi", "ari", "ami", "precision", "recall", "f1"};
        for (int t = 0; t < 7; t++)
          CHECK_MSG(fabs(got[t] - want[t]) <= 1e-9, "case %s: %s %.17g, scikit-learn %.17g", name, names[t],
                    got[t], want[t]);
        scan_metrics_free(&m);
      } else {
        CHECK_MSG(0, "case %s: scan_cluster_metrics failed", name);
      }
      free(labels);
      free(pred);
      label_cases++;
    } else {
      int d = a;
      float *x = malloc(sizeof(float) * n * d);
      int32_t *labels = malloc(sizeof(int32_t) * n);
      double want = 0;
      int ok = 1;
      for (int t = 0; t < n * d; t++) ok &= fscanf(f, "%f", &x[t]) == 1;
      ok = ok && read_ints(f, labels, n) && fscanf(f, "%lf", &want) == 1;
      CHECK_MSG(ok, "silhouette %s: truncated record", name);
      int defined = 0;
      double got = ok ? scan_silhouette(x, n, d, labels, &defined) : NAN;
      CHECK_MSG(defined && fabs(got - want) <= 1e-7, "silhouette %s: %.9g, scikit-learn %.9g", name, got, want);
      free(x);
      free(labels);
      silhouette_cases++;
    }
  }
  fclose(f);
  CHECK_MSG(label_cases == 6 && silhouette_cases == 2, "read %d label and %d silhouette cases, expected 6 and 2",
            label_cases, silhouette_cases);
}

int main(void) {
  test_hungarian();
  test_sklearn_fixture();
  test_small_case();
  test_perfect_and_permuted();
  test_silhouette_summary_prototypes();
  return test_main_end();
}
