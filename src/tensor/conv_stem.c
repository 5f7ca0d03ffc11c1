/* Stem weight gradient: for each output channel block, image and kernel tap, the dot product over output pixels of
 * the input value under the tap with the pixel's gradient vector (one lane per output channel, so one vector
 * register: the block is a compile-time constant in the copies below). With one grey input channel and a 3x3
 * kernel that is 9 passes over an image's dy, which stays in cache: the whole gradient costs little more than
 * reading dy once. Sums run in float over one image and in double across images, in a fixed order per output
 * block, so results do not depend on the thread count. */
#include "conv_stem.h"

#include <string.h>

enum { STEM_MAX_TAPS = 4 * 7 * 7, STEM_MAX_BLOCK = 16 };

int stem_conv_applies(const scan_conv_shape *s) {
  return s->src_block <= 1 && (s->dst_block == 8 || s->dst_block == 16) && s->in_c * s->kernel * s->kernel <= STEM_MAX_TAPS;
}

/* First output index o in [0, out) whose input index o * stride - pad + tap lies in [0, in), and one past the last. */
static void valid_range(int in, int out, int stride, int pad, int tap, int *lo, int *hi) {
  int first = pad - tap > 0 ? (pad - tap + stride - 1) / stride : 0;
  int last = (in - 1 + pad - tap) / stride; /* in - 1 + pad - tap >= 0 whenever any tap fits */
  *lo = first;
  *hi = in - 1 + pad - tap < 0 ? first : (last + 1 < out ? last + 1 : out);
}

/* One image, one output channel block: acc[tap][lane] += sum over pixels of x(tap at pixel) * dy(pixel, lane).
 * Tap by tap over the exact range of pixels where the tap lands inside the image (no tests in the inner loop),
 * with two accumulators (even and odd columns) so consecutive additions do not wait for each other. */
static inline __attribute__((always_inline)) void image_block(const int block, const scan_conv_shape *s, const float *x,
                                                              const float *dy, float (*acc)[STEM_MAX_BLOCK]) {
  const int k = s->kernel;
  for (int c = 0; c < s->in_c; c++)
    for (int ky = 0; ky < k; ky++)
      for (int kx = 0; kx < k; kx++) {
        int y_lo, y_hi, x_lo, x_hi;
        valid_range(s->in_h, s->out_h, s->stride, s->pad, ky, &y_lo, &y_hi);
        valid_range(s->in_w, s->out_w, s->stride, s->pad, kx, &x_lo, &x_hi);
        float even[STEM_MAX_BLOCK] = {0}, odd[STEM_MAX_BLOCK] = {0};
        for (int oy = y_lo; oy < y_hi; oy++) {
          const float *xr = x + ((int64_t)c * s->in_h + oy * s->stride - s->pad + ky) * s->in_w - s->pad + kx;
          const float *g = dy + (int64_t)oy * s->out_w * block;
          int ox = x_lo;
          for (; ox + 1 < x_hi; ox += 2) {
            const float v0 = xr[ox * s->stride], v1 = xr[(ox + 1) * s->stride];
            const float *g0 = g + (int64_t)ox * block, *g1 = g0 + block;
#pragma omp simd
            for (int lane = 0; lane < block; lane++) {
              even[lane] += v0 * g0[lane];
              odd[lane] += v1 * g1[lane];
            }
          }
          if (ox < x_hi) {
            const float v0 = xr[ox * s->stride];
            const float *g0 = g + (int64_t)ox * block;
#pragma omp simd
            for (int lane = 0; lane < block; lane++) even[lane] += v0 * g0[lane];
          }
        }
        float *out = acc[(c * k + ky) * k + kx];
        for (int lane = 0; lane < block; lane++) out[lane] += even[lane] + odd[lane];
      }
}

void stem_conv_backward_weights(const scan_conv_shape *s, const float *x, const float *dy, float *dw) {
  const int block = s->dst_block, blocks = scan_channel_blocks(s->out_c, block);
  const int taps = s->in_c * s->kernel * s->kernel;
  const int64_t in_image = (int64_t)s->in_c * s->in_h * s->in_w, out_plane = (int64_t)s->out_h * s->out_w * block;
#pragma omp parallel for schedule(static)
  for (int ob = 0; ob < blocks; ob++) {
    double total[STEM_MAX_TAPS][STEM_MAX_BLOCK];
    memset(total, 0, sizeof total);
    for (int b = 0; b < s->n; b++) {
      float acc[STEM_MAX_TAPS][STEM_MAX_BLOCK];
      memset(acc, 0, (size_t)taps * sizeof acc[0]);
      const float *xb = x + b * in_image, *g = dy + ((int64_t)b * blocks + ob) * out_plane;
      if (block == 8) image_block(8, s, xb, g, acc);
      else image_block(16, s, xb, g, acc);
      for (int t = 0; t < taps; t++)
        for (int lane = 0; lane < block; lane++) total[t][lane] += acc[t][lane];
    }
    /* dw is [OC, IC, K, K]: tap t = c * K * K + ky * K + kx is the inner index of output channel o */
    for (int lane = 0; lane < block && ob * block + lane < s->out_c; lane++)
      for (int t = 0; t < taps; t++) dw[(int64_t)(ob * block + lane) * taps + t] += (float)total[t][lane];
  }
}
