/* Bilinear resampling with PIL / torchvision semantics.
 *
 * Each output pixel o along an axis is centred on the source coordinate
 *   centre = box_start + (o + 0.5) * scale,     scale = box_length / out_length,
 * and takes a weighted sum of the source pixels whose centres lie within
 * `support` of it, with the triangle (bilinear) filter
 *   weight(i) = max(0, 1 - |i + 0.5 - centre| / filterscale),
 * normalised to sum to 1 over the pixels inside the image (which is what makes
 * the borders behave like edge clamping). Without antialiasing, filterscale = 1
 * (plain bilinear, torch's antialias=False); with it, filterscale = max(scale, 1),
 * so a shrinking resize averages over every source pixel it covers (PIL's
 * ImageResample and torch's antialias=True compute exactly these coefficients).
 *
 * Two readings of a box: crop-then-resize (torchvision's resized_crop: pixels
 * outside the box, rounded outward to whole pixels, are never read, so its edges
 * clamp like image edges), and resize-then-crop (PIL's resize(box=...): the
 * filter reads across the box edge into the rest of the image). The public
 * function is the first; the val transform's resize + centre crop uses the second.
 *
 * The work is separable: per output row, the vertical taps are summed into a
 * float row buffer over the source columns the output needs, then the
 * horizontal taps (precomputed per column) are applied. Everything lives in a
 * fixed stack workspace; very wide outputs are processed in column strips, so
 * no call ever allocates. */
#include "augment_internal.h"

#include <math.h>
#include <string.h>

#include "scan/resample.h"

/* The workspace: floats for the horizontal tables and the row buffer (64 KiB),
 * and the first-tap index of at most STRIP_MAX columns per strip. */
enum { WORKSPACE_FLOATS = 16384, STRIP_MAX = 1024 };

typedef struct {
  int lo, hi;      /* the source pixels that may be read: [lo, hi) */
  double start;    /* box start in source pixel units */
  double scale;    /* source pixels per output pixel */
  double support;  /* half-width of the filter in source pixels */
  double inv_filterscale;
} axis_map;

static void axis_init(axis_map *m, int in_size, double start, double length, int out_size, int antialias,
                      int clip_to_box) {
  m->lo = 0;
  m->hi = in_size;
  if (clip_to_box) {
    double lo = floor(start), hi = ceil(start + length);
    if (lo > 0) m->lo = lo < in_size - 1 ? (int)lo : in_size - 1;
    if (hi < in_size) m->hi = hi > m->lo + 1 ? (int)hi : m->lo + 1;
  }
  m->start = start;
  m->scale = length / out_size;
  double filterscale = (antialias && m->scale > 1.0) ? m->scale : 1.0;
  m->support = filterscale; /* the triangle filter's support is 1 */
  m->inv_filterscale = 1.0 / filterscale;
}

/* Upper bound of the taps any output pixel can have along this axis. */
static int axis_max_taps(const axis_map *m) { return (int)(2.0 * m->support) + 3; }

/* The source range [first, first + count) that output pixel o reads, and its centre.
 * A box reaching outside the readable range still reads at least its nearest pixel. */
static int axis_range(const axis_map *m, int o, int *first, double *centre) {
  double c = m->start + (o + 0.5) * m->scale;
  /* PIL truncates toward zero here; with the clamp to 0 that equals floor for the ranges that matter. */
  int lo = (int)(c - m->support + 0.5);
  int hi = (int)(c + m->support + 0.5);
  if (lo < m->lo) lo = m->lo;
  if (hi > m->hi) hi = m->hi;
  if (lo >= m->hi) lo = m->hi - 1;
  if (hi <= lo) hi = lo + 1;
  *first = lo;
  *centre = c;
  return hi - lo;
}

static double triangle(double x) {
  x = fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

/* Normalised weights of output pixel o; returns the tap count. When every raw
 * weight is 0 (a box entirely outside the image), the nearest pixel gets weight 1. */
static int axis_weights(const axis_map *m, int o, int *first, float *weights) {
  double centre;
  int count = axis_range(m, o, first, &centre);
  double total = 0.0;
  for (int t = 0; t < count; t++) {
    double w = triangle((*first + t - centre + 0.5) * m->inv_filterscale);
    weights[t] = (float)w;
    total += w;
  }
  if (total <= 0.0) {
    for (int t = 0; t < count; t++) weights[t] = 0.0f;
    weights[centre < *first ? 0 : count - 1] = 1.0f;
    return count;
  }
  float inv = (float)(1.0 / total);
  for (int t = 0; t < count; t++) weights[t] *= inv;
  return count;
}

static inline uint8_t round_u8(float v) {
  if (!(v > 0.0f)) return 0;
  if (v >= 255.0f) return 255;
  return (uint8_t)(v + 0.5f);
}

/* row[i] += weight * in[i]: one vertical tap added to the row buffer. */
VECTORISE_SELECTS static void add_weighted_row(float *restrict row, const uint8_t *restrict in, float weight, int n) {
  for (int i = 0; i < n; i++) row[i] += weight * in[i];
}

/* Fills one output row's columns [ox0, ox0 + strip) from the vertically summed
 * source row `row` (columns span0.., channels interleaved). */
static void horizontal_pass(const float *row, int span0, int channels, const int *firsts, const float *table,
                            int taps_stride, const int *counts, int ox0, int strip, int out_w, int flip,
                            uint8_t *dst_row) {
  for (int k = 0; k < strip; k++) {
    const float *w = table + (long)k * taps_stride;
    const float *in = row + (long)(firsts[k] - span0) * channels;
    int ox = ox0 + k;
    uint8_t *out = dst_row + (long)(flip ? out_w - 1 - ox : ox) * channels;
    if (channels == 3) {
      float r = 0, g = 0, b = 0;
      for (int t = 0; t < counts[k]; t++) {
        r += w[t] * in[3 * t];
        g += w[t] * in[3 * t + 1];
        b += w[t] * in[3 * t + 2];
      }
      out[0] = round_u8(r);
      out[1] = round_u8(g);
      out[2] = round_u8(b);
    } else {
      for (int ch = 0; ch < channels; ch++) {
        float s = 0;
        for (int t = 0; t < counts[k]; t++) s += w[t] * in[t * channels + ch];
        out[ch] = round_u8(s);
      }
    }
  }
}

/* One output column computed straight from the source, weights on the fly: the
 * path for a column whose taps do not fit the workspace (a box thousands of
 * times wider than the output). */
static void direct_column(const uint8_t *src, int src_w, int channels, const axis_map *mx, const axis_map *my,
                          int ox, int out_h, int out_w, int flip, uint8_t *dst) {
  int x_first, y_first;
  double x_centre, y_centre;
  int x_count = axis_range(mx, ox, &x_first, &x_centre);
  double x_total = 0.0;
  for (int t = 0; t < x_count; t++) x_total += triangle((x_first + t - x_centre + 0.5) * mx->inv_filterscale);
  for (int oy = 0; oy < out_h; oy++) {
    int y_count = axis_range(my, oy, &y_first, &y_centre);
    double y_total = 0.0;
    for (int t = 0; t < y_count; t++) y_total += triangle((y_first + t - y_centre + 0.5) * my->inv_filterscale);
    for (int ch = 0; ch < channels; ch++) {
      double sum = 0.0;
      for (int ty = 0; ty < y_count; ty++) {
        double wy = triangle((y_first + ty - y_centre + 0.5) * my->inv_filterscale);
        const uint8_t *in = src + ((long)(y_first + ty) * src_w + x_first) * channels + ch;
        for (int tx = 0; tx < x_count; tx++)
          sum += wy * triangle((x_first + tx - x_centre + 0.5) * mx->inv_filterscale) * in[(long)tx * channels];
      }
      double norm = (x_total > 0 ? x_total : 1.0) * (y_total > 0 ? y_total : 1.0);
      dst[((long)oy * out_w + (flip ? out_w - 1 - ox : ox)) * channels + ch] = round_u8((float)(sum / norm));
    }
  }
}

/* The box is an exact, unscaled integer window: a copy (mirrored when flipping). */
static int try_copy(const uint8_t *src, int src_h, int src_w, int channels, double top, double left, double box_h,
                    double box_w, uint8_t *dst, int out_h, int out_w, int flip) {
  if (box_h != out_h || box_w != out_w || top != floor(top) || left != floor(left)) return 0;
  int y0 = (int)top, x0 = (int)left;
  if (y0 < 0 || x0 < 0 || y0 + out_h > src_h || x0 + out_w > src_w) return 0;
  for (int y = 0; y < out_h; y++) {
    const uint8_t *in = src + ((long)(y0 + y) * src_w + x0) * channels;
    uint8_t *out = dst + (long)y * out_w * channels;
    if (!flip) {
      memcpy(out, in, (size_t)out_w * channels);
    } else {
      for (int x = 0; x < out_w; x++)
        for (int ch = 0; ch < channels; ch++) out[(long)(out_w - 1 - x) * channels + ch] = in[(long)x * channels + ch];
    }
  }
  return 1;
}

void aug_resample(const uint8_t *src, int src_h, int src_w, int channels, double top, double left, double box_h,
                  double box_w, uint8_t *dst, int out_h, int out_w, int antialias, int flip, int clip_to_box) {
  if (try_copy(src, src_h, src_w, channels, top, left, box_h, box_w, dst, out_h, out_w, flip)) return;
  axis_map mx, my;
  axis_init(&mx, src_w, left, box_w, out_w, antialias, clip_to_box);
  axis_init(&my, src_h, top, box_h, out_h, antialias, clip_to_box);
  int taps_x = axis_max_taps(&mx);

  float workspace[WORKSPACE_FLOATS];
  int firsts[STRIP_MAX], counts[STRIP_MAX];
  for (int ox0 = 0; ox0 < out_w;) {
    /* The widest strip whose horizontal table and row span fit the workspace. */
    int strip = out_w - ox0 < STRIP_MAX ? out_w - ox0 : STRIP_MAX;
    int span0 = 0, span_len = 0;
    for (;;) {
      double c0, c1;
      int f0, f1;
      axis_range(&mx, ox0, &f0, &c0);
      int n1 = axis_range(&mx, ox0 + strip - 1, &f1, &c1);
      span0 = f0;
      span_len = f1 + n1 - f0;
      if ((long)strip * taps_x + (long)span_len * channels <= WORKSPACE_FLOATS || strip == 1) break;
      strip = (strip + 1) / 2;
    }
    if ((long)strip * taps_x + (long)span_len * channels > WORKSPACE_FLOATS) {
      direct_column(src, src_w, channels, &mx, &my, ox0, out_h, out_w, flip, dst);
      ox0 += 1;
      continue;
    }
    float *table = workspace;
    float *row = workspace + (long)strip * taps_x;
    for (int k = 0; k < strip; k++) counts[k] = axis_weights(&mx, ox0 + k, &firsts[k], table + (long)k * taps_x);

    for (int oy = 0; oy < out_h; oy++) {
      int y_first;
      double y_centre;
      int y_count = axis_range(&my, oy, &y_first, &y_centre);
      double y_total = 0.0;
      for (int t = 0; t < y_count; t++) y_total += triangle((y_first + t - y_centre + 0.5) * my.inv_filterscale);
      int n = span_len * channels;
      memset(row, 0, sizeof(float) * (size_t)n);
      for (int t = 0; t < y_count; t++) {
        double wy = triangle((y_first + t - y_centre + 0.5) * my.inv_filterscale);
        if (wy == 0.0) continue;
        float w = (float)(y_total > 0 ? wy / y_total : 0.0);
        const uint8_t *in = src + ((long)(y_first + t) * src_w + span0) * channels;
        add_weighted_row(row, in, w, n);
      }
      if (y_total <= 0.0) { /* box entirely outside the image: the nearest row */
        int y = y_centre < y_first ? y_first : y_first + y_count - 1;
        const uint8_t *in = src + ((long)y * src_w + span0) * channels;
        for (int i = 0; i < n; i++) row[i] = in[i];
      }
      horizontal_pass(row, span0, channels, firsts, table, taps_x, counts, ox0, strip, out_w, flip,
                      dst + (long)oy * out_w * channels);
    }
    ox0 += strip;
  }
}

void scan_resample_bilinear_u8(const uint8_t *src, int src_h, int src_w, int channels, double top, double left,
                               double box_h, double box_w, uint8_t *dst, int out_h, int out_w, int antialias) {
  aug_resample(src, src_h, src_w, channels, top, left, box_h, box_w, dst, out_h, out_w, antialias, 0, 1);
}
