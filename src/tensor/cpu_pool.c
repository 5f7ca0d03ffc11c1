/* Max pooling (square windows, PyTorch floor mode) and global average pooling over NCHW or blocked activations. */
#include <float.h>
#include <string.h>

#include "cpu_layers.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

enum { MAX_BLOCK = 64 };

/* One (image, channel block) plane; channel k of the block sits at stride `block`. The lane loop is innermost (one
 * vector register for the usual blocks, instantiated with the block as a constant below); the window bounds are
 * checked once per window cell, not per lane. */
ALWAYS_INLINE void maxpool_plane(int block, int ih, int iw, int oh, int ow, int kernel, int stride, int pad, const float *xp,
                                 float *yp, int32_t *ap) {
  for (int oy = 0; oy < oh; oy++)
    for (int ox = 0; ox < ow; ox++) {
      /* the running maximum lives in locals (registers), not in the output: stores there would be masked and
         serialised through memory */
      float best[MAX_BLOCK];
      int32_t where[MAX_BLOCK];
#pragma omp simd
      for (int k = 0; k < block; k++) {
        best[k] = -FLT_MAX;
        where[k] = -1;
      }
      for (int ky = 0; ky < kernel; ky++) {
        int yy = oy * stride - pad + ky;
        if (yy < 0 || yy >= ih) continue;
        for (int kx = 0; kx < kernel; kx++) {
          int xx = ox * stride - pad + kx;
          if (xx < 0 || xx >= iw) continue;
          const int32_t at = yy * iw + xx;
          const float *v = xp + (int64_t)at * block;
          /* strict '>' keeps the first maximum, as PyTorch does; NaN propagates like PyTorch too */
#pragma omp simd
          for (int k = 0; k < block; k++) {
            const int take = where[k] < 0 || v[k] > best[k] || v[k] != v[k];
            best[k] = take ? v[k] : best[k];
            where[k] = take ? at : where[k];
          }
        }
      }
      float *y_out = yp + (int64_t)(oy * ow + ox) * block;
      int32_t *where_out = ap + (int64_t)(oy * ow + ox) * block;
#pragma omp simd
      for (int k = 0; k < block; k++) {
        y_out[k] = best[k];
        where_out[k] = where[k];
      }
    }
}

scan_status cpu_maxpool_forward(int n, int c, int block, int ih, int iw, int oh, int ow, int kernel, int stride, int pad,
                                const float *x, float *y, int32_t *argmax) {
  const int64_t chunks = (int64_t)n * scan_channel_blocks(c, block);
#pragma omp parallel for schedule(static)
  for (int64_t chunk = 0; chunk < chunks; chunk++) {
    const float *xp = x + chunk * ih * iw * block;
    float *yp = y + chunk * oh * ow * block;
    int32_t *ap = argmax + chunk * oh * ow * block;
    if (block == 8) maxpool_plane(8, ih, iw, oh, ow, kernel, stride, pad, xp, yp, ap);
    else if (block == 16) maxpool_plane(16, ih, iw, oh, ow, kernel, stride, pad, xp, yp, ap);
    else maxpool_plane(block, ih, iw, oh, ow, kernel, stride, pad, xp, yp, ap);
  }
  return SCAN_OK;
}

scan_status cpu_maxpool_backward(int n, int c, int block, int ih, int iw, int oh, int ow, const int32_t *argmax, const float *dy,
                                 float *dx) {
  const int64_t chunks = (int64_t)n * scan_channel_blocks(c, block);
#pragma omp parallel for schedule(static)
  for (int64_t chunk = 0; chunk < chunks; chunk++) {
    float *dxp = dx + chunk * ih * iw * block;
    const float *dyp = dy + chunk * oh * ow * block;
    const int32_t *ap = argmax + chunk * oh * ow * block;
    memset(dxp, 0, (size_t)ih * iw * block * sizeof(float));
    for (int64_t o = 0; o < (int64_t)oh * ow; o++)
      for (int k = 0; k < block; k++) dxp[(int64_t)ap[o * block + k] * block + k] += dyp[o * block + k];
  }
  return SCAN_OK;
}

scan_status cpu_gap_forward(int n, int c, int hw, int block, const float *x, float *y) {
  const int blocks = scan_channel_blocks(c, block);
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int cb = 0; cb < blocks; cb++) {
      double sum[64] = {0};
      const float *p = x + ((int64_t)b * blocks + cb) * hw * block;
      for (int i = 0; i < hw; i++)
        for (int k = 0; k < block; k++) sum[k] += p[(int64_t)i * block + k];
      for (int k = 0; k < block && cb * block + k < c; k++) y[(int64_t)b * c + cb * block + k] = (float)(sum[k] / hw);
    }
  return SCAN_OK;
}

scan_status cpu_gap_backward(int n, int c, int hw, int block, const float *dy, float *dx) {
  const int blocks = scan_channel_blocks(c, block);
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int cb = 0; cb < blocks; cb++) {
      float g[64];
      for (int k = 0; k < block; k++) g[k] = cb * block + k < c ? dy[(int64_t)b * c + cb * block + k] / (float)hw : 0.0f;
      float *q = dx + ((int64_t)b * blocks + cb) * hw * block;
      for (int i = 0; i < hw; i++)
        for (int k = 0; k < block; k++) q[(int64_t)i * block + k] = g[k];
    }
  return SCAN_OK;
}
