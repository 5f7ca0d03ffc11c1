/* The LIME figure: the `top` superpixels of lime's get_image_and_mask(positive_only=False, hide_rest=False)
 * tinted translucent green or red over the enlarged image, every superpixel's boundary drawn thin, and the
 * marked regions outlined like skimage's mark_boundaries (mode 'outer', yellow). Translucent, so the person
 * sees which part of the image each colour covers (lime's own figure sets a channel to the maximum, which
 * hides the image under flat green and red). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan/explain.h"

/* How many superpixels rank ahead of f (larger |weight|; ties rank by index, as Python's stable sort of
 * lime's explanation list does), counting no further than `limit`. */
static int superpixels_ahead(const double *weights, int count, int f, int limit) {
  int ahead = 0;
  for (int g = 0; g < count && ahead < limit; g++)
    if (fabs(weights[g]) > fabs(weights[f]) || (fabs(weights[g]) == fabs(weights[f]) && g < f)) ahead++;
  return ahead;
}

int scan_lime_rank_features(const double *weights, int count, int top, int32_t *order) {
  if (top > count) top = count;
  for (int f = 0; f < count; f++) {
    const int rank = superpixels_ahead(weights, count, f, top);
    if (rank < top) order[rank] = f;
  }
  return top > 0 ? top : 0;
}

/* +1 / -1 for the `top` superpixels of largest |weight| (sign of the weight), 0 for the rest. */
static void mark_top_superpixels(const double *weights, int count, int top, int8_t *marks) {
  for (int f = 0; f < count; f++)
    marks[f] = superpixels_ahead(weights, count, f, top) < top ? (weights[f] < 0 ? -1 : 1) : 0;
}

typedef struct {
  const int32_t *segments;
  const int8_t *marks;
  int w, scale, out_h, out_w;
} mask_view;

/* The mask at display resolution (nearest enlargement), read through the segments. */
static int mask_at(const mask_view *m, int y, int x) {
  return m->marks[m->segments[(y / m->scale) * m->w + x / m->scale]];
}

/* skimage find_boundaries(mode='outer', background=0) at one pixel:
 *   thick = dilation != erosion over the 4-neighbour cross;
 *   kept where the pixel is background, or touches (8-neighbour) another object, computed as
 *   dilation(mask) != erosion(mask with background = +inf) over the 3x3 square. */
static int is_outer_boundary(const mask_view *m, int y, int x) {
  const int centre = mask_at(m, y, x);
  int cross_max = centre, cross_min = centre, square_max = centre, square_min_objects = centre ? centre : INT_MAX;
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      const int yy = y + dy, xx = x + dx;
      if (yy < 0 || yy >= m->out_h || xx < 0 || xx >= m->out_w) continue;
      const int v = mask_at(m, yy, xx);
      if (dy == 0 || dx == 0) {
        if (v > cross_max) cross_max = v;
        if (v < cross_min) cross_min = v;
      }
      if (v > square_max) square_max = v;
      if (v != 0 && v < square_min_objects) square_min_objects = v;
    }
  if (cross_max == cross_min) return 0;
  if (centre == 0) return 1;
  return square_max != square_min_objects;
}

/* How strongly a marked superpixel is tinted (0 = not at all, 100 = flat colour), and the colours. */
enum { TINT_PERCENT = 45, EDGE_PERCENT = 55 };
static const uint8_t POSITIVE[3] = {0, 200, 0}, NEGATIVE[3] = {230, 0, 0}, EDGE[3] = {255, 255, 255},
                     OUTLINE[3] = {255, 255, 0};

static void blend(uint8_t *pixel, const uint8_t colour[3], int percent) {
  for (int k = 0; k < 3; k++) pixel[k] = (uint8_t)((pixel[k] * (100 - percent) + colour[k] * percent + 50) / 100);
}

/* Whether display pixel (y, x) is the last one of its superpixel before another begins, to the right or below. */
static int is_segment_edge(const int32_t *segments, int h, int w, int scale, int y, int x) {
  const int sy = y / scale, sx = x / scale, here = segments[sy * w + sx];
  const int right = (x + 1) / scale, below = (y + 1) / scale;
  return (right < w && segments[sy * w + right] != here) || (below < h && segments[below * w + sx] != here);
}

void scan_lime_render(const scan_lime_result *r, const uint8_t *image, int h, int w, int channels, int top, int scale,
                      uint8_t *rgb_out) {
  if (scale < 1) scale = 1;
  const int out_h = h * scale, out_w = w * scale;
  int8_t *marks = scan_calloc((size_t)(r->num_segments > 0 ? r->num_segments : 1), 1);
  if (marks) mark_top_superpixels(r->weights, r->num_segments, top, marks);
  /* Without memory for the marks the figure degrades to the plain enlarged image. */
  const mask_view view = {r->segments, marks, w, scale, out_h, out_w};
  for (int y = 0; y < out_h; y++)
    for (int x = 0; x < out_w; x++) {
      const uint8_t *src = image + ((size_t)(y / scale) * w + x / scale) * channels;
      uint8_t *dst = rgb_out + ((size_t)y * out_w + x) * 3;
      for (int k = 0; k < 3; k++) dst[k] = src[channels == 3 ? k : 0];
      if (!marks) continue;
      const int mark = mask_at(&view, y, x);
      if (mark) blend(dst, mark > 0 ? POSITIVE : NEGATIVE, TINT_PERCENT);
      if (is_outer_boundary(&view, y, x)) memcpy(dst, OUTLINE, 3);
      else if (is_segment_edge(r->segments, h, w, scale, y, x)) blend(dst, EDGE, EDGE_PERCENT);
    }
  free(marks);
}
