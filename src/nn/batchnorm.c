/* Batch normalisation over NCHW, per channel. Statistics accumulate in double so the mean/variance of large
 * batches stay exact to float precision. Running-statistics updates live with the net (they are bookkeeping,
 * not part of the layer's math). */
#include <math.h>

#include "scan/nn_layers.h"

void scan_bn_stats(int n, int c, int hw, const float *x, float *mean, float *var) {
  const double count = (double)n * hw;
#pragma omp parallel for schedule(static)
  for (int ch = 0; ch < c; ch++) {
    double sum = 0, sum_sq = 0;
    for (int b = 0; b < n; b++) {
      const float *p = x + ((int64_t)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) sum += p[i];
    }
    double mu = sum / count;
    /* two-pass variance: no cancellation when |mean| >> std */
    for (int b = 0; b < n; b++) {
      const float *p = x + ((int64_t)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) sum_sq += (p[i] - mu) * (p[i] - mu);
    }
    mean[ch] = (float)mu;
    var[ch] = (float)(sum_sq / count);
  }
}

void scan_bn_apply(int n, int c, int hw, const float *x, const float *mean, const float *var, double eps,
                   const float *gamma, const float *beta, float *y) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++) {
      float scale = (float)(gamma[ch] / sqrt((double)var[ch] + eps));
      float shift = beta[ch] - mean[ch] * scale;
      const float *p = x + ((int64_t)b * c + ch) * hw;
      float *q = y + ((int64_t)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) q[i] = p[i] * scale + shift;
    }
}

/* With xhat = (x - mean) * invstd and batch statistics:
 *   dbeta = sum dy, dgamma = sum dy * xhat,
 *   dx = gamma * invstd / m * (m * dy - dbeta - xhat * dgamma). */
void scan_bn_backward(int n, int c, int hw, const float *x, const float *dy, const float *mean, const float *var, double eps,
                      const float *gamma, float *dx, float *dgamma, float *dbeta) {
  const double count = (double)n * hw;
#pragma omp parallel for schedule(static)
  for (int ch = 0; ch < c; ch++) {
    double invstd = 1.0 / sqrt((double)var[ch] + eps), mu = mean[ch];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int b = 0; b < n; b++) {
      const float *px = x + ((int64_t)b * c + ch) * hw, *pd = dy + ((int64_t)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) {
        sum_dy += pd[i];
        sum_dy_xhat += pd[i] * (px[i] - mu) * invstd;
      }
    }
    double k = gamma[ch] * invstd / count;
    for (int b = 0; b < n; b++) {
      const float *px = x + ((int64_t)b * c + ch) * hw, *pd = dy + ((int64_t)b * c + ch) * hw;
      float *q = dx + ((int64_t)b * c + ch) * hw;
      for (int i = 0; i < hw; i++)
        q[i] = (float)(k * (count * pd[i] - sum_dy - (px[i] - mu) * invstd * sum_dy_xhat));
    }
    dgamma[ch] += (float)sum_dy_xhat;
    dbeta[ch] += (float)sum_dy;
  }
}

void scan_bn_backward_eval(int n, int c, int hw, const float *x, const float *dy, const float *mean, const float *var,
                           double eps, const float *gamma, float *dx, float *dgamma, float *dbeta) {
#pragma omp parallel for schedule(static)
  for (int ch = 0; ch < c; ch++) {
    double invstd = 1.0 / sqrt((double)var[ch] + eps), mu = mean[ch];
    float scale = (float)(gamma[ch] * invstd);
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int b = 0; b < n; b++) {
      const float *px = x + ((int64_t)b * c + ch) * hw, *pd = dy + ((int64_t)b * c + ch) * hw;
      float *q = dx + ((int64_t)b * c + ch) * hw;
      for (int i = 0; i < hw; i++) {
        sum_dy += pd[i];
        sum_dy_xhat += pd[i] * (px[i] - mu) * invstd;
        q[i] = pd[i] * scale;
      }
    }
    dgamma[ch] += (float)sum_dy_xhat;
    dbeta[ch] += (float)sum_dy;
  }
}
