/* Max and average pooling over NCHW planes (square windows, PyTorch floor mode). */
#include <float.h>

#include "scan/nn_layers.h"

void scan_maxpool_forward(int n, int c, int ih, int iw, int oh, int ow, int kernel, int stride, int pad, const float *x,
                          float *y, int32_t *argmax) {
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++) {
    const float *xp = x + plane * ih * iw;
    float *yp = y + plane * oh * ow;
    int32_t *ap = argmax + plane * oh * ow;
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        float best = -FLT_MAX;
        int32_t where = -1;
        for (int ky = 0; ky < kernel; ky++) {
          int yy = oy * stride - pad + ky;
          if (yy < 0 || yy >= ih) continue;
          for (int kx = 0; kx < kernel; kx++) {
            int xx = ox * stride - pad + kx;
            if (xx < 0 || xx >= iw) continue;
            /* strict '>' keeps the first maximum, as PyTorch does; NaN propagates like PyTorch too */
            float v = xp[yy * iw + xx];
            if (where < 0 || v > best || v != v) { best = v; where = yy * iw + xx; }
          }
        }
        yp[oy * ow + ox] = best;
        ap[oy * ow + ox] = where;
      }
  }
}

void scan_maxpool_backward(int n, int c, int ih, int iw, int oh, int ow, const int32_t *argmax, const float *dy, float *dx) {
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++) {
    float *dxp = dx + plane * ih * iw;
    const float *dyp = dy + plane * oh * ow;
    const int32_t *ap = argmax + plane * oh * ow;
    for (int i = 0; i < ih * iw; i++) dxp[i] = 0;
    for (int i = 0; i < oh * ow; i++) dxp[ap[i]] += dyp[i];
  }
}

void scan_avgpool_forward(int n, int c, int ih, int iw, int oh, int ow, int kernel, int stride, int pad, const float *x,
                          float *y) {
  const double inv_area = 1.0 / ((double)kernel * kernel);
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++) {
    const float *xp = x + plane * ih * iw;
    float *yp = y + plane * oh * ow;
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double sum = 0;
        for (int ky = 0; ky < kernel; ky++) {
          int yy = oy * stride - pad + ky;
          if (yy < 0 || yy >= ih) continue;
          for (int kx = 0; kx < kernel; kx++) {
            int xx = ox * stride - pad + kx;
            if (xx >= 0 && xx < iw) sum += xp[yy * iw + xx];
          }
        }
        yp[oy * ow + ox] = (float)(sum * inv_area);
      }
  }
}

void scan_avgpool_backward(int n, int c, int ih, int iw, int oh, int ow, int kernel, int stride, int pad, const float *dy,
                           float *dx) {
  const float inv_area = 1.0f / ((float)kernel * kernel);
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < (int64_t)n * c; plane++) {
    float *dxp = dx + plane * ih * iw;
    const float *dyp = dy + plane * oh * ow;
    for (int i = 0; i < ih * iw; i++) dxp[i] = 0;
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        float g = dyp[oy * ow + ox] * inv_area;
        for (int ky = 0; ky < kernel; ky++) {
          int yy = oy * stride - pad + ky;
          if (yy < 0 || yy >= ih) continue;
          for (int kx = 0; kx < kernel; kx++) {
            int xx = ox * stride - pad + kx;
            if (xx >= 0 && xx < iw) dxp[yy * iw + xx] += g;
          }
        }
      }
  }
}
