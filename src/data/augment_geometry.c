/* Geometric pieces of the augmentations: the RandomResizedCrop box and PIL's
 * nearest-neighbour affine transforms (rotate, shear, translate). */
#include <math.h>
#include <string.h>

#include "augment_internal.h"

aug_box aug_rrc_box(scan_rng *rng, int h, int w, double scale_min, double scale_max, double ratio_min,
                    double ratio_max) {
  double area = (double)h * w;
  double log_ratio_min = log(ratio_min), log_ratio_max = log(ratio_max);
  for (int attempt = 0; attempt < 10; attempt++) {
    double target_area = area * scan_rng_range(rng, scale_min, scale_max);
    double aspect = exp(scan_rng_range(rng, log_ratio_min, log_ratio_max));
    /* Python's round(): halves to even, which nearbyint does in the default rounding mode. */
    int bw = (int)nearbyint(sqrt(target_area * aspect));
    int bh = (int)nearbyint(sqrt(target_area / aspect));
    if (bw > 0 && bw <= w && bh > 0 && bh <= h) {
      aug_box box = {0, 0, bh, bw};
      box.top = scan_rng_int(rng, h - bh + 1);
      box.left = scan_rng_int(rng, w - bw + 1);
      return box;
    }
  }
  /* Fallback: the largest centred box whose aspect ratio is within bounds. */
  double in_ratio = (double)w / h;
  aug_box box = {0, 0, h, w};
  if (in_ratio < ratio_min) {
    box.height = (int)nearbyint(w / ratio_min);
  } else if (in_ratio > ratio_max) {
    box.width = (int)nearbyint(h * ratio_max);
  }
  box.top = (h - box.height) / 2;
  box.left = (w - box.width) / 2;
  return box;
}

static inline void copy_pixel(uint8_t *out, const uint8_t *in, int channels) {
  for (int c = 0; c < channels; c++) out[c] = in[c];
}

/* PIL's ImagingScaleAffine (the path it takes when m1 = m3 = 0, e.g. translations):
 * coordinates in double, negative ones mapped outside. */
static int scale_coord(double v) { return v < 0.0 ? -1 : (int)v; }

static void affine_axis_aligned(const uint8_t *src, uint8_t *dst, int h, int w, int channels, const double m[6]) {
  for (int y = 0; y < h; y++) {
    int yin = scale_coord(m[5] + m[4] * (y + 0.5));
    for (int x = 0; x < w; x++) {
      int xin = scale_coord(m[2] + m[0] * (x + 0.5));
      uint8_t *out = dst + ((long)y * w + x) * channels;
      if (xin >= 0 && xin < w && yin >= 0 && yin < h)
        copy_pixel(out, src + ((long)yin * w + xin) * channels, channels);
      else
        memset(out, 0, (size_t)channels);
    }
  }
}

/* PIL's affine_fixed: coordinates in 16.16 fixed point, floored by the shift. */
static int32_t fix16(double v) { return (int32_t)floor(v * 65536.0 + 0.5); }

void aug_affine_nearest(const uint8_t *src, uint8_t *dst, int h, int w, int channels, const double m[6]) {
  if (m[1] == 0.0 && m[3] == 0.0) {
    affine_axis_aligned(src, dst, h, w, channels, m);
    return;
  }
  int32_t a0 = fix16(m[0]), a1 = fix16(m[1]), a3 = fix16(m[3]), a4 = fix16(m[4]);
  int32_t row_x = fix16(m[2] + m[0] * 0.5 + m[1] * 0.5);
  int32_t row_y = fix16(m[5] + m[3] * 0.5 + m[4] * 0.5);
  for (int y = 0; y < h; y++) {
    int32_t xx = row_x, yy = row_y;
    for (int x = 0; x < w; x++) {
      int xin = xx >> 16, yin = yy >> 16; /* arithmetic shift: floor, also for negatives */
      uint8_t *out = dst + ((long)y * w + x) * channels;
      if (xin >= 0 && xin < w && yin >= 0 && yin < h)
        copy_pixel(out, src + ((long)yin * w + xin) * channels, channels);
      else
        memset(out, 0, (size_t)channels);
      xx += a0;
      yy += a3;
    }
    row_x += a1;
    row_y += a4;
  }
}

static double round15(double v) { return nearbyint(v * 1e15) / 1e15; }

void aug_rotate(const uint8_t *src, uint8_t *dst, int h, int w, int channels, double degrees) {
  double turn = fmod(degrees, 360.0);
  if (turn == 0.0) {
    memcpy(dst, src, (size_t)h * w * channels);
    return;
  }
  /* PIL Image.rotate: the inverse map (output -> input) rotates by -degrees about (w/2, h/2). */
  double angle = -turn * M_PI / 180.0;
  double cx = w / 2.0, cy = h / 2.0;
  /* PIL rounds the matrix to 15 decimals, so quarter turns give exact zeros. */
  double c = round15(cos(angle)), s = round15(sin(angle));
  double m[6] = {c, s, 0.0, -s, c, 0.0};
  m[2] = m[0] * -cx + m[1] * -cy + cx;
  m[5] = m[3] * -cx + m[4] * -cy + cy;
  aug_affine_nearest(src, dst, h, w, channels, m);
}
