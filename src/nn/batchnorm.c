/* Batch normalisation per channel over NCHW or blocked (nChw<block>c) activations. Each thread takes one channel
 * block and keeps `block` accumulators, so the inner loops run over contiguous memory in both layouts. Statistics
 * accumulate in double so large batches stay exact to float precision. Running-statistics updates live with the
 * net (bookkeeping, not the layer's math). */
#include <math.h>
#include <string.h>

#include "scan/nn_layers.h"

enum { MAX_BLOCK = 64 };

/* Start of channel block cb of image b. */
static inline int64_t block_offset(int b, int blocks, int cb, int hw, int block) {
  return ((int64_t)b * blocks + cb) * hw * block;
}

void scan_bn_stats(int n, int c, int hw, int block, const float *x, float *mean, float *var) {
  const int blocks = scan_channel_blocks(c, block);
  const double count = (double)n * hw;
#pragma omp parallel for schedule(static)
  for (int cb = 0; cb < blocks; cb++) {
    double sum[MAX_BLOCK] = {0}, sum_sq[MAX_BLOCK] = {0}, mu[MAX_BLOCK];
    for (int b = 0; b < n; b++) {
      const float *p = x + block_offset(b, blocks, cb, hw, block);
      for (int i = 0; i < hw; i++)
        for (int k = 0; k < block; k++) sum[k] += p[(int64_t)i * block + k];
    }
    for (int k = 0; k < block; k++) mu[k] = sum[k] / count;
    /* two-pass variance: no cancellation when |mean| >> std */
    for (int b = 0; b < n; b++) {
      const float *p = x + block_offset(b, blocks, cb, hw, block);
      for (int i = 0; i < hw; i++)
        for (int k = 0; k < block; k++) {
          double d = p[(int64_t)i * block + k] - mu[k];
          sum_sq[k] += d * d;
        }
    }
    for (int k = 0; k < block && cb * block + k < c; k++) {
      mean[cb * block + k] = (float)mu[k];
      var[cb * block + k] = (float)(sum_sq[k] / count);
    }
  }
}

void scan_bn_apply(int n, int c, int hw, int block, const float *x, const float *mean, const float *var, double eps,
                   const float *gamma, const float *beta, int relu, float *y) {
  const int blocks = scan_channel_blocks(c, block);
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int cb = 0; cb < blocks; cb++) {
      float scale[MAX_BLOCK], shift[MAX_BLOCK];
      for (int k = 0; k < block; k++) {
        int ch = cb * block + k;
        scale[k] = ch < c ? (float)(gamma[ch] / sqrt((double)var[ch] + eps)) : 0.0f; /* padded channels stay 0 */
        shift[k] = ch < c ? beta[ch] - mean[ch] * scale[k] : 0.0f;
      }
      const float *p = x + block_offset(b, blocks, cb, hw, block);
      float *q = y + block_offset(b, blocks, cb, hw, block);
      if (relu) {
        for (int i = 0; i < hw; i++)
          for (int k = 0; k < block; k++) q[(int64_t)i * block + k] = fmaxf(p[(int64_t)i * block + k] * scale[k] + shift[k], 0.0f);
      } else {
        for (int i = 0; i < hw; i++)
          for (int k = 0; k < block; k++) q[(int64_t)i * block + k] = p[(int64_t)i * block + k] * scale[k] + shift[k];
      }
    }
}

/* With xhat = (x - mean) * invstd and batch statistics:
 *   dbeta = sum dy, dgamma = sum dy * xhat,
 *   dx = gamma * invstd / m * (m * dy - dbeta - xhat * dgamma). */
/* The gradient reaching the batch-norm output: dy, or zero where a fused ReLU was not active. */
static inline float masked(const float *dy, const float *relu_out, int64_t at) {
  return relu_out && !(relu_out[at] > 0) ? 0.0f : dy[at];
}

void scan_bn_backward(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out, const float *mean,
                      const float *var, double eps, const float *gamma, float *dx, float *dgamma, float *dbeta) {
  const int blocks = scan_channel_blocks(c, block);
  const double count = (double)n * hw;
#pragma omp parallel for schedule(static)
  for (int cb = 0; cb < blocks; cb++) {
    double invstd[MAX_BLOCK], mu[MAX_BLOCK], sum_dy[MAX_BLOCK] = {0}, sum_dy_xhat[MAX_BLOCK] = {0};
    float k1[MAX_BLOCK], k2[MAX_BLOCK], k3[MAX_BLOCK];
    for (int k = 0; k < block; k++) {
      int ch = cb * block + k;
      invstd[k] = ch < c ? 1.0 / sqrt((double)var[ch] + eps) : 0.0;
      mu[k] = ch < c ? mean[ch] : 0.0;
    }
    for (int b = 0; b < n; b++) {
      const int64_t start = block_offset(b, blocks, cb, hw, block);
      const float *px = x + start, *pd = dy + start, *pr = relu_out ? relu_out + start : NULL;
      for (int i = 0; i < hw; i++)
        for (int k = 0; k < block; k++) {
          double g = masked(pd, pr, (int64_t)i * block + k);
          sum_dy[k] += g;
          sum_dy_xhat[k] += g * (px[(int64_t)i * block + k] - mu[k]) * invstd[k];
        }
    }
    /* dx = k1 * dy + k2 * (x - mean) + k3, per channel */
    for (int k = 0; k < block; k++) {
      int ch = cb * block + k;
      double scale = ch < c ? gamma[ch] * invstd[k] / count : 0.0;
      k1[k] = (float)(scale * count);
      k2[k] = (float)(-scale * invstd[k] * sum_dy_xhat[k]);
      k3[k] = (float)(-scale * sum_dy[k] + scale * invstd[k] * sum_dy_xhat[k] * mu[k]);
    }
    for (int b = 0; b < n; b++) {
      const int64_t start = block_offset(b, blocks, cb, hw, block);
      const float *px = x + start, *pd = dy + start, *pr = relu_out ? relu_out + start : NULL;
      float *q = dx + start;
      for (int i = 0; i < hw; i++)
        for (int k = 0; k < block; k++) {
          int64_t at = (int64_t)i * block + k;
          q[at] = k1[k] * masked(pd, pr, at) + k2[k] * px[at] + k3[k];
        }
    }
    for (int k = 0; k < block && cb * block + k < c; k++) {
      dgamma[cb * block + k] += (float)sum_dy_xhat[k];
      dbeta[cb * block + k] += (float)sum_dy[k];
    }
  }
}

void scan_bn_backward_eval(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                           const float *mean, const float *var, double eps, const float *gamma, float *dx, float *dgamma,
                           float *dbeta) {
  const int blocks = scan_channel_blocks(c, block);
#pragma omp parallel for schedule(static)
  for (int cb = 0; cb < blocks; cb++) {
    double invstd[MAX_BLOCK], mu[MAX_BLOCK], sum_dy[MAX_BLOCK] = {0}, sum_dy_xhat[MAX_BLOCK] = {0};
    float scale[MAX_BLOCK];
    for (int k = 0; k < block; k++) {
      int ch = cb * block + k;
      invstd[k] = ch < c ? 1.0 / sqrt((double)var[ch] + eps) : 0.0;
      mu[k] = ch < c ? mean[ch] : 0.0;
      scale[k] = ch < c ? (float)(gamma[ch] * invstd[k]) : 0.0f;
    }
    for (int b = 0; b < n; b++) {
      const int64_t start = block_offset(b, blocks, cb, hw, block);
      const float *px = x + start, *pd = dy + start, *pr = relu_out ? relu_out + start : NULL;
      float *q = dx + start;
      for (int i = 0; i < hw; i++)
        for (int k = 0; k < block; k++) {
          int64_t at = (int64_t)i * block + k;
          float g = masked(pd, pr, at);
          sum_dy[k] += g;
          sum_dy_xhat[k] += g * (px[at] - mu[k]) * invstd[k];
          q[at] = g * scale[k];
        }
    }
    for (int k = 0; k < block && cb * block + k < c; k++) {
      dgamma[cb * block + k] += (float)sum_dy_xhat[k];
      dbeta[cb * block + k] += (float)sum_dy[k];
    }
  }
}
