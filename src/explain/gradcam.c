/* Grad-CAM maths: the class-activation map from a layer's activation and gradient, and the
 * reference's jet overlay (spec §14.2, computed on our own network as §18.10 recommends). */
#include <math.h>
#include <stdlib.h>

#include "scan/explain.h"

void scan_gradcam_map(const float *activation, const float *gradient, int c, int h, int w, float *map) {
  const size_t plane = (size_t)h * w;
  double *cam = scan_calloc(plane > 0 ? plane : 1, sizeof(double));
  if (!cam) { /* no memory: an empty map rather than a wrong one */
    for (size_t i = 0; i < plane; i++) map[i] = 0.0f;
    return;
  }
  for (int ch = 0; ch < c; ch++) {
    /* channel weight = spatial mean of the gradient */
    double weight = 0.0;
    for (size_t i = 0; i < plane; i++) weight += gradient[(size_t)ch * plane + i];
    weight /= (double)plane;
    for (size_t i = 0; i < plane; i++) cam[i] += weight * activation[(size_t)ch * plane + i];
  }
  double max = 0.0;
  for (size_t i = 0; i < plane; i++) {
    if (cam[i] < 0.0) cam[i] = 0.0;
    if (cam[i] > max) max = cam[i];
  }
  for (size_t i = 0; i < plane; i++) map[i] = max > 0.0 ? (float)(cam[i] / max) : 0.0f;
  free(cam);
}

/* Piecewise-linear interpolation through matplotlib's _jet_data control points. */
static double piecewise(const double (*points)[2], int count, double x) {
  for (int i = 1; i < count; i++)
    if (x <= points[i][0])
      return points[i - 1][1] + (x - points[i - 1][0]) / (points[i][0] - points[i - 1][0]) *
                                    (points[i][1] - points[i - 1][1]);
  return points[count - 1][1];
}

/* jet(index / 255) in [0, 1] for a LUT index 0..255, as matplotlib's 256-entry colormap gives it. */
static void jet_lut(int index, double rgb[3]) {
  static const double red[][2] = {{0, 0}, {0.35, 0}, {0.66, 1}, {0.89, 1}, {1, 0.5}};
  static const double green[][2] = {{0, 0}, {0.125, 0}, {0.375, 1}, {0.64, 1}, {0.91, 0}, {1, 0}};
  static const double blue[][2] = {{0, 0.5}, {0.11, 1}, {0.34, 1}, {0.65, 0}, {1, 0}};
  const double x = index / 255.0;
  rgb[0] = piecewise(red, 5, x);
  rgb[1] = piecewise(green, 6, x);
  rgb[2] = piecewise(blue, 5, x);
}

/* The reference indexes the colormap with uint8(255 * heat): truncation, clamped to 0..255. */
static int jet_index(double v) {
  double scaled = 255.0 * v;
  if (!(scaled > 0.0)) return 0;
  return scaled >= 255.0 ? 255 : (int)scaled;
}

void scan_jet_colour(double v, uint8_t rgb[3]) {
  double colour[3];
  jet_lut(jet_index(v), colour);
  for (int k = 0; k < 3; k++) rgb[k] = (uint8_t)lround(255.0 * colour[k]);
}

/* Bilinear sample of map [mh, mw] at output pixel (y, x) of an out_h x out_w grid, half-pixel centres. */
static double bilinear(const float *map, int mh, int mw, int out_h, int out_w, int y, int x) {
  double sy = (y + 0.5) * mh / out_h - 0.5, sx = (x + 0.5) * mw / out_w - 0.5;
  if (sy < 0) sy = 0;
  if (sx < 0) sx = 0;
  if (sy > mh - 1) sy = mh - 1;
  if (sx > mw - 1) sx = mw - 1;
  const int y0 = (int)sy, x0 = (int)sx;
  const int y1 = y0 + 1 < mh ? y0 + 1 : y0, x1 = x0 + 1 < mw ? x0 + 1 : x0;
  const double fy = sy - y0, fx = sx - x0;
  const double top = map[y0 * mw + x0] * (1 - fx) + map[y0 * mw + x1] * fx;
  const double bottom = map[y1 * mw + x0] * (1 - fx) + map[y1 * mw + x1] * fx;
  return top * (1 - fy) + bottom * fy;
}

void scan_gradcam_upsample(const float *map, int mh, int mw, int out_h, int out_w, float *out) {
  for (int y = 0; y < out_h; y++)
    for (int x = 0; x < out_w; x++) out[(size_t)y * out_w + x] = (float)bilinear(map, mh, mw, out_h, out_w, y, x);
}

void scan_gradcam_overlay(const float *map, int mh, int mw, const uint8_t *image, int h, int w, int channels, int scale,
                          double alpha, uint8_t *rgb_out) {
  if (scale < 1) scale = 1;
  const int out_h = h * scale, out_w = w * scale;
  /* Two passes over the summed image (its min and max first) instead of a float buffer. */
  double lo = INFINITY, hi = -INFINITY;
  for (int pass = 0; pass < 2; pass++) {
    const double range = hi - lo;
    for (int y = 0; y < out_h; y++)
      for (int x = 0; x < out_w; x++) {
        double colour[3];
        jet_lut(jet_index(bilinear(map, mh, mw, out_h, out_w, y, x)), colour);
        const uint8_t *src = image + ((size_t)(y / scale) * w + x / scale) * channels;
        for (int k = 0; k < 3; k++) {
          const double v = src[channels == 3 ? k : 0] + alpha * 255.0 * colour[k];
          if (pass == 0) {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          } else {
            /* Keras array_to_img: shift to 0, divide by the max (unless 0), times 255, truncate. */
            const double scaled = range > 0 ? (v - lo) / range * 255.0 : 0.0;
            rgb_out[((size_t)y * out_w + x) * 3 + k] = (uint8_t)(scaled > 255.0 ? 255.0 : scaled);
          }
        }
      }
  }
}
