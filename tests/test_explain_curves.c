/* The faithfulness arithmetic (src/explain/curves.c) against values worked out by hand:
 * - the trapezoid AUC of a hand-made deletion curve, and of y = x on an uneven grid;
 * - resampling reproduces the curve's own points and interpolates linearly between them;
 * - Spearman's rank correlation: the textbook 1 - 6 sum d^2 / (n (n^2 - 1)) without ties, a tied
 *   example worked out by hand (scipy.stats.spearmanr gives 8 / sqrt(95) for it), +-1 for monotone
 *   maps, 0 for a constant input. */
#include <math.h>

#include "scan/explain.h"
#include "scan/rng.h"
#include "testlib.h"

static void test_auc(void) {
  /* probability 1 -> 0.5 over the first quarter, flat to half way, then down to 0:
     0.25 * 0.75 + 0.25 * 0.5 + 0.5 * 0.25 = 0.4375 */
  const double x[] = {0, 0.25, 0.5, 1}, y[] = {1, 0.5, 0.5, 0};
  CHECK_NEAR(scan_curve_auc(x, y, 4), 0.4375, 1e-15, 0);
  /* the trapezoid rule is exact for a straight line, whatever the spacing */
  const double u[] = {0, 0.1, 0.15, 0.7, 1};
  CHECK_NEAR(scan_curve_auc(u, u, 5), 0.5, 1e-15, 0);
  CHECK_NEAR(scan_curve_auc(x, y, 1), 0, 0, 0); /* one point: no area */

  double r[5];
  scan_curve_resample(x, y, 4, 5, r); /* at 0, 0.25, 0.5, 0.75, 1 */
  const double expected[5] = {1, 0.5, 0.5, 0.25, 0};
  for (int i = 0; i < 5; i++) CHECK_NEAR(r[i], expected[i], 1e-15, 0);
  double fine[9];
  scan_curve_resample(x, y, 4, 9, fine); /* at 0.125: half way down the first segment */
  CHECK_NEAR(fine[1], 0.75, 1e-15, 0);
  CHECK_NEAR(fine[7], 0.125, 1e-15, 0);
}

static void test_rank_correlation(void) {
  /* no ties: the textbook formula on random permutations */
  enum { N = 40 };
  double a[N], b[N];
  for (int trial = 0; trial < 5; trial++) {
    int32_t pa[N], pb[N];
    for (int i = 0; i < N; i++) pa[i] = pb[i] = i;
    scan_rng r = scan_rng_make(3, (uint64_t)trial, 0);
    scan_rng_shuffle(&r, pa, N);
    scan_rng_shuffle(&r, pb, N);
    double d2 = 0;
    for (int i = 0; i < N; i++) {
      a[i] = 0.5 * pa[i] - 3; /* ranks are pa + 1, whatever this monotone map does */
      b[i] = exp(0.1 * pb[i]);
      d2 += (double)(pa[i] - pb[i]) * (pa[i] - pb[i]);
    }
    CHECK_NEAR(scan_rank_correlation(a, b, N), 1 - 6 * d2 / (N * ((double)N * N - 1)), 1e-12, 0);
  }
  /* ties share their average rank: b's ranks are 1, 2, 3.5, 5, 3.5 */
  const double ta[] = {1, 2, 3, 4, 5}, tb[] = {5, 6, 7, 8, 7};
  CHECK_NEAR(scan_rank_correlation(ta, tb, 5), 8 / sqrt(95), 1e-12, 0);
  const double up[] = {0.1, 0.2, 0.9, 3}, down[] = {9, 4, 1, -1}, flat[] = {2, 2, 2, 2};
  CHECK_NEAR(scan_rank_correlation(up, up, 4), 1, 1e-12, 0);
  CHECK_NEAR(scan_rank_correlation(up, down, 4), -1, 1e-12, 0);
  CHECK_NEAR(scan_rank_correlation(up, flat, 4), 0, 0, 0);
}

int main(void) {
  test_auc();
  test_rank_correlation();
  return test_main_end();
}
