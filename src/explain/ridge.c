/* Weighted ridge regression with an unpenalised intercept: LIME's surrogate model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/explain.h"

/* In-place Cholesky factorisation of the symmetric p x p matrix a (lower triangle used and
 * overwritten by L); returns 0 if a is not positive definite. */
static int cholesky(double *a, int p) {
  for (int j = 0; j < p; j++) {
    double diag = a[(size_t)j * p + j];
    for (int k = 0; k < j; k++) diag -= a[(size_t)j * p + k] * a[(size_t)j * p + k];
    if (!(diag > 0.0)) return 0;
    const double l_jj = sqrt(diag);
    a[(size_t)j * p + j] = l_jj;
    for (int i = j + 1; i < p; i++) {
      double v = a[(size_t)i * p + j];
      for (int k = 0; k < j; k++) v -= a[(size_t)i * p + k] * a[(size_t)j * p + k];
      a[(size_t)i * p + j] = v / l_jj;
    }
  }
  return 1;
}

/* Solves L L^T x = b in place (b becomes x). */
static void cholesky_solve(const double *l, int p, double *b) {
  for (int i = 0; i < p; i++) {
    for (int k = 0; k < i; k++) b[i] -= l[(size_t)i * p + k] * b[k];
    b[i] /= l[(size_t)i * p + i];
  }
  for (int i = p - 1; i >= 0; i--) {
    for (int k = i + 1; k < p; k++) b[i] -= l[(size_t)k * p + i] * b[k];
    b[i] /= l[(size_t)i * p + i];
  }
}

scan_status scan_weighted_ridge(const double *x, const double *y, const double *weights, int n, int p, double alpha,
                                double *coef, double *intercept, double *r2) {
  if (n <= 0 || p <= 0) return scan_fail(SCAN_ERR_INPUT, "ridge: need samples and features, got %d x %d", n, p);
  double weight_sum = 0.0;
  for (int i = 0; i < n; i++) weight_sum += weights ? weights[i] : 1.0;
  if (!(weight_sum > 0.0)) return scan_fail(SCAN_ERR_INPUT, "ridge: the sample weights sum to %g", weight_sum);

  double *mean_x = scan_calloc((size_t)p, sizeof(double));
  double *gram = scan_calloc((size_t)p * p, sizeof(double));
  double *centred = scan_malloc((size_t)p * sizeof(double));
  if (!mean_x || !gram || !centred) {
    free(mean_x);
    free(gram);
    free(centred);
    return scan_fail(SCAN_ERR_INTERNAL, "ridge: out of memory for %d features", p);
  }
  /* Weighted means; the intercept absorbs them, which is how sklearn leaves it unpenalised. */
  double mean_y = 0.0;
  for (int i = 0; i < n; i++) {
    const double wi = weights ? weights[i] : 1.0;
    mean_y += wi * y[i];
    for (int k = 0; k < p; k++) mean_x[k] += wi * x[(size_t)i * p + k];
  }
  mean_y /= weight_sum;
  for (int k = 0; k < p; k++) mean_x[k] /= weight_sum;

  /* Normal equations on the centred data: (Xc^T W Xc + alpha I) coef = Xc^T W yc (lower triangle). */
  for (int k = 0; k < p; k++) coef[k] = 0.0;
  for (int i = 0; i < n; i++) {
    const double wi = weights ? weights[i] : 1.0;
    if (wi == 0.0) continue;
    for (int k = 0; k < p; k++) centred[k] = x[(size_t)i * p + k] - mean_x[k];
    const double yc = y[i] - mean_y;
    for (int r = 0; r < p; r++) {
      const double wr = wi * centred[r];
      coef[r] += wr * yc;
      for (int k = 0; k <= r; k++) gram[(size_t)r * p + k] += wr * centred[k];
    }
  }
  for (int k = 0; k < p; k++) gram[(size_t)k * p + k] += alpha;
  scan_status st = SCAN_OK;
  if (!cholesky(gram, p)) {
    st = scan_fail(SCAN_ERR_INPUT, "ridge: the system is singular (alpha %g with %d samples, %d features)", alpha, n,
                   p);
  } else {
    cholesky_solve(gram, p, coef);
    double b0 = mean_y;
    for (int k = 0; k < p; k++) b0 -= mean_x[k] * coef[k];
    *intercept = b0;
    if (r2) {
      /* sklearn's r2_score with sample weights; a constant target scores 1 if fitted exactly, else 0. */
      double residual = 0.0, total = 0.0;
      for (int i = 0; i < n; i++) {
        const double wi = weights ? weights[i] : 1.0;
        double prediction = b0;
        for (int k = 0; k < p; k++) prediction += x[(size_t)i * p + k] * coef[k];
        residual += wi * (y[i] - prediction) * (y[i] - prediction);
        total += wi * (y[i] - mean_y) * (y[i] - mean_y);
      }
      *r2 = total > 0.0 ? 1.0 - residual / total : (residual == 0.0 ? 1.0 : 0.0);
    }
  }
  free(mean_x);
  free(gram);
  free(centred);
  return st;
}
