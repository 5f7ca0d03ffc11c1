/* The reference memory-bound layers: plain NCHW loops that follow the definitions, sums in double, one thread. Written
 * for clarity, not speed; the oneDNN backend's kernels (cpu_*.c) are tested against them. */
#include <math.h>

#include "naive_layers.h"

static scan_status plain_layout(int block, const char *op) {
  if (block > 1) return scan_fail(SCAN_ERR_INTERNAL, "naive backend: %s on a blocked activation layout (block %d)", op, block);
  return SCAN_OK;
}

/* Element i of channel ch of image b in [n, c, hw]. */
static int64_t at(int b, int ch, int i, int c, int hw) { return ((int64_t)b * c + ch) * hw + i; }

scan_status naive_bn_stats(int n, int c, int hw, int block, const float *x, float *mean, float *var) {
  SCAN_TRY(plain_layout(block, "batch-norm statistics"));
  const double m = (double)n * hw;
  for (int ch = 0; ch < c; ch++) {
    double sum = 0, sq = 0;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) sum += x[at(b, ch, i, c, hw)];
    const double mu = sum / m;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) sq += (x[at(b, ch, i, c, hw)] - mu) * (x[at(b, ch, i, c, hw)] - mu);
    mean[ch] = (float)mu;
    var[ch] = (float)(sq / m);
  }
  return SCAN_OK;
}

scan_status naive_bn_apply(int n, int c, int hw, int block, const float *x, const float *mean, const float *var, double eps,
                           const float *gamma, const float *beta, int relu, float *y) {
  SCAN_TRY(plain_layout(block, "batch-norm"));
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (int i = 0; i < hw; i++) {
        const int64_t k = at(b, ch, i, c, hw);
        const double v = gamma[ch] * ((x[k] - (double)mean[ch]) / sqrt((double)var[ch] + eps)) + beta[ch];
        y[k] = (float)(relu && !(v > 0) ? 0 : v);
      }
  return SCAN_OK;
}

/* The gradient reaching the batch-norm output: dy, or 0 where a fused ReLU's output is not positive. */
static double grad_in(const float *dy, const float *relu_out, int64_t k) {
  return relu_out && !(relu_out[k] > 0) ? 0.0 : dy[k];
}

/* Per channel, with xhat = (x - mean) / sqrt(var + eps) and g the masked gradient: dbeta = sum g, dgamma = sum g xhat;
 * with batch statistics (training) the mean and variance depend on x too, and
 *   dx = gamma / sqrt(var + eps) * (g - dbeta / m - xhat * dgamma / m);
 * with running statistics (eval) they are constants: dx = gamma / sqrt(var + eps) * g. */
static scan_status bn_backward(int training, int n, int c, int hw, int block, const float *x, const float *dy,
                               const float *relu_out, const float *mean, const float *var, double eps, const float *gamma,
                               float *dx, float *dgamma, float *dbeta) {
  SCAN_TRY(plain_layout(block, "batch-norm backward"));
  const double m = (double)n * hw;
  for (int ch = 0; ch < c; ch++) {
    const double invstd = 1.0 / sqrt((double)var[ch] + eps);
    double sum_g = 0, sum_gxhat = 0;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        const int64_t k = at(b, ch, i, c, hw);
        sum_g += grad_in(dy, relu_out, k);
        sum_gxhat += grad_in(dy, relu_out, k) * (x[k] - (double)mean[ch]) * invstd;
      }
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        const int64_t k = at(b, ch, i, c, hw);
        const double xhat = (x[k] - (double)mean[ch]) * invstd;
        const double g = grad_in(dy, relu_out, k);
        dx[k] = (float)(gamma[ch] * invstd * (training ? g - sum_g / m - xhat * sum_gxhat / m : g));
      }
    dgamma[ch] += (float)sum_gxhat;
    dbeta[ch] += (float)sum_g;
  }
  return SCAN_OK;
}

scan_status naive_bn_backward(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                              const float *mean, const float *var, double eps, const float *gamma, float *dx, float *dgamma,
                              float *dbeta) {
  return bn_backward(1, n, c, hw, block, x, dy, relu_out, mean, var, eps, gamma, dx, dgamma, dbeta);
}

scan_status naive_bn_backward_eval(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                                   const float *mean, const float *var, double eps, const float *gamma, float *dx,
                                   float *dgamma, float *dbeta) {
  return bn_backward(0, n, c, hw, block, x, dy, relu_out, mean, var, eps, gamma, dx, dgamma, dbeta);
}

/* Synchronised batch-norm's pieces (include/scan/tensor.h): the sums of one shard in double, and dx from the whole
 * batch's. Plain double sums of x and x^2 are exact enough here: E[x^2] - E[x]^2 in double loses log10(mean^2 / var)
 * of 16 digits. */
scan_status naive_bn_sums(int n, int c, int hw, int block, const float *x, double *sum, double *sum_sq) {
  SCAN_TRY(plain_layout(block, "batch-norm sums"));
  for (int ch = 0; ch < c; ch++) {
    sum[ch] = sum_sq[ch] = 0;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        const double v = x[at(b, ch, i, c, hw)];
        sum[ch] += v;
        sum_sq[ch] += v * v;
      }
  }
  return SCAN_OK;
}

scan_status naive_bn_grad_sums(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                               const float *mean, const float *var, double eps, double *sum_g, double *sum_gx,
                               float *dgamma, float *dbeta) {
  SCAN_TRY(plain_layout(block, "batch-norm gradient sums"));
  for (int ch = 0; ch < c; ch++) {
    sum_g[ch] = sum_gx[ch] = 0;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        const int64_t k = at(b, ch, i, c, hw);
        sum_g[ch] += grad_in(dy, relu_out, k);
        sum_gx[ch] += grad_in(dy, relu_out, k) * (x[k] - (double)mean[ch]);
      }
    dgamma[ch] += (float)(sum_gx[ch] / sqrt((double)var[ch] + eps));
    dbeta[ch] += (float)sum_g[ch];
  }
  return SCAN_OK;
}

scan_status naive_bn_backward_dx(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                                 const float *mean, const float *var, double eps, const float *gamma, double count,
                                 const double *sum_g, const double *sum_gx, float *dx) {
  SCAN_TRY(plain_layout(block, "batch-norm backward"));
  for (int ch = 0; ch < c; ch++) {
    const double invstd = 1.0 / sqrt((double)var[ch] + eps), sum_gxhat = sum_gx[ch] * invstd;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) {
        const int64_t k = at(b, ch, i, c, hw);
        const double xhat = (x[k] - (double)mean[ch]) * invstd;
        dx[k] = (float)(gamma[ch] * invstd * (grad_in(dy, relu_out, k) - sum_g[ch] / count - xhat * sum_gxhat / count));
      }
  }
  return SCAN_OK;
}

scan_status naive_relu_forward(int64_t count, const float *x, float *y) {
  for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
  return SCAN_OK;
}

scan_status naive_relu_backward(int64_t count, const float *y, const float *dy, float *dx) {
  for (int64_t i = 0; i < count; i++) dx[i] = y[i] > 0 ? dy[i] : 0.0f;
  return SCAN_OK;
}

scan_status naive_add_forward(int64_t count, const float *a, const float *b, int relu, float *y) {
  for (int64_t i = 0; i < count; i++) {
    const float sum = a[i] + b[i];
    y[i] = relu && !(sum > 0) ? 0.0f : sum;
  }
  return SCAN_OK;
}

scan_status naive_add_backward(int64_t count, const float *y, const float *dy, float *da, int add_a, float *db, int add_b) {
  for (int64_t i = 0; i < count; i++) {
    const float g = y && !(y[i] > 0) ? 0.0f : dy[i];
    da[i] = add_a ? da[i] + g : g;
    db[i] = add_b ? db[i] + g : g;
  }
  return SCAN_OK;
}

scan_status naive_accumulate(int64_t count, const float *src, float *dst) {
  for (int64_t i = 0; i < count; i++) dst[i] += src[i];
  return SCAN_OK;
}

/* argmax: the winner's index into its input plane. The first maximum wins; a NaN always wins (PyTorch). */
scan_status naive_maxpool_forward(int n, int c, int block, int ih, int iw, int oh, int ow, int kernel, int stride, int pad,
                                  const float *x, float *y, int32_t *argmax) {
  SCAN_TRY(plain_layout(block, "max-pool"));
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        int32_t best = -1;
        for (int ky = 0; ky < kernel; ky++)
          for (int kx = 0; kx < kernel; kx++) {
            const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue; /* padding never wins */
            const int32_t here = iy * iw + ix;
            const float v = x[plane * ih * iw + here];
            if (best < 0 || v > x[plane * ih * iw + best] || isnan(v)) best = here;
          }
        y[plane * oh * ow + oy * ow + ox] = x[plane * ih * iw + best];
        argmax[plane * oh * ow + oy * ow + ox] = best;
      }
  return SCAN_OK;
}

/* Each output's gradient goes to its winner; an input cell in several windows sums them in double. */
scan_status naive_maxpool_backward(int n, int c, int block, int ih, int iw, int oh, int ow, const int32_t *argmax,
                                   const float *dy, float *dx) {
  SCAN_TRY(plain_layout(block, "max-pool backward"));
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++)
    for (int i = 0; i < ih * iw; i++) {
      double sum = 0;
      for (int o = 0; o < oh * ow; o++)
        if (argmax[plane * oh * ow + o] == i) sum += dy[plane * oh * ow + o];
      dx[plane * ih * iw + i] = (float)sum;
    }
  return SCAN_OK;
}

scan_status naive_gap_forward(int n, int c, int hw, int block, const float *x, float *y) {
  SCAN_TRY(plain_layout(block, "global average pool"));
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++) {
      double sum = 0;
      for (int i = 0; i < hw; i++) sum += x[at(b, ch, i, c, hw)];
      y[(int64_t)b * c + ch] = (float)(sum / hw);
    }
  return SCAN_OK;
}

scan_status naive_gap_backward(int n, int c, int hw, int block, const float *dy, float *dx) {
  SCAN_TRY(plain_layout(block, "global average pool backward"));
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (int i = 0; i < hw; i++) dx[at(b, ch, i, c, hw)] = (float)((double)dy[(int64_t)b * c + ch] / hw);
  return SCAN_OK;
}
