/* Bar chart: cluster sizes, or signed weights (LIME superpixels) with a zero line.
 * Bar labels that are wider than their slot are drawn at 45 degrees, and the
 * plot shrinks to make room for them, so long class names stay readable. */
#include <math.h>
#include <stdio.h>

#include "chart_internal.h"

enum { LABEL_FONT = 11 };

scan_status scan_chart_bar(const char *path, const scan_chart_frame *frame, const double *values, int n,
                           const char *const *labels, int signed_colors) {
  if (n < 1) return scan_fail(SCAN_ERR_INPUT, "%s: bar chart needs at least one value", path);
  for (int i = 0; i < n; i++)
    if (!isfinite(values[i])) return scan_fail(SCAN_ERR_INPUT, "%s: bar %d is not finite", path, i);
  int width = frame && frame->width ? frame->width : 800, height = frame && frame->height ? frame->height : 500;
  char text[32];
  double slot = (width - 100.0) / n, font = fmin(LABEL_FONT, slot * 0.8), widest = 0;
  for (int i = 0; i < n; i++) {
    snprintf(text, sizeof text, "%d", i);
    widest = fmax(widest, chart_text_width(labels && labels[i] ? labels[i] : text, font));
  }
  int rotated = widest > 0.9 * slot;
  if (rotated) { /* smaller, so neighbouring slanted labels do not touch */
    double slanted_font = fmin(font, slot * 0.7);
    widest *= slanted_font / font;
    font = slanted_font;
  }
  /* the band under the plot that holds the labels; at most a third of the chart */
  double band = rotated ? fmin(widest * M_SQRT1_2 + font + 6, height / 3.0) : font + 10;
  cairo_t *cr;
  cairo_surface_t *surface = chart_begin(frame, width, height, &cr);
  chart_area area = {80, 45, width - 20.0, height - 40.0 - band};
  double lo = 0, hi = 0;
  for (int i = 0; i < n; i++) {
    lo = fmin(lo, values[i]);
    hi = fmax(hi, values[i]);
  }
  if (hi == lo) hi = lo + 1;
  double pad = 0.05 * (hi - lo);
  hi += hi > 0 ? pad : 0;
  lo -= lo < 0 ? pad : 0;
  scan_chart_frame axes_frame = {frame ? frame->title : NULL, NULL, frame ? frame->ylabel : NULL, width, height};
  chart_axes(cr, &area, &axes_frame, 0, n, lo, hi, CHART_X_NO_TICKS);
  double zero = chart_py(&area, 0, lo, hi);
  for (int i = 0; i < n; i++) {
    double r, g, b;
    if (signed_colors) {
      r = values[i] < 0 ? 0.84 : 0.17;
      g = values[i] < 0 ? 0.15 : 0.63;
      b = values[i] < 0 ? 0.16 : 0.17;
    } else {
      chart_series_color(0, &r, &g, &b);
    }
    double top = chart_py(&area, values[i], lo, hi);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_rectangle(cr, area.left + (i + 0.1) * slot, fmin(top, zero), 0.8 * slot, fabs(zero - top));
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    snprintf(text, sizeof text, "%d", i);
    const char *label = labels && labels[i] ? labels[i] : text;
    double cx = area.left + (i + 0.5) * slot;
    if (rotated) chart_text(cr, label, cx + font * 0.3, area.bottom + 6, 1, 0.5, font, -M_PI / 4);
    else chart_text(cr, label, cx, area.bottom + 6, 0.5, 0, font, 0);
  }
  if (signed_colors) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, area.left, zero);
    cairo_line_to(cr, area.right, zero);
    cairo_stroke(cr);
  }
  if (frame && frame->xlabel) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    chart_text(cr, frame->xlabel, (area.left + area.right) / 2, height - 24, 0.5, 0, 13, 0);
  }
  return chart_finish(surface, cr, path);
}
