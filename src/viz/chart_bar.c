/* Bar chart: cluster sizes, or signed weights (LIME superpixels) with a zero line. */
#include <math.h>
#include <stdio.h>

#include "chart_internal.h"

scan_status scan_chart_bar(const char *path, const scan_chart_frame *frame, const double *values, int n,
                           const char *const *labels, int signed_colors) {
  if (n < 1) return scan_fail(SCAN_ERR_INPUT, "%s: bar chart needs at least one value", path);
  for (int i = 0; i < n; i++)
    if (!isfinite(values[i])) return scan_fail(SCAN_ERR_INPUT, "%s: bar %d is not finite", path, i);
  int width = frame && frame->width ? frame->width : 800, height = frame && frame->height ? frame->height : 500;
  cairo_t *cr;
  cairo_surface_t *surface = chart_begin(frame, width, height, &cr);
  chart_area area = {80, 45, width - 20.0, height - 90.0};
  double lo = 0, hi = 0;
  for (int i = 0; i < n; i++) {
    lo = fmin(lo, values[i]);
    hi = fmax(hi, values[i]);
  }
  if (hi == lo) hi = lo + 1;
  double pad = 0.05 * (hi - lo);
  hi += hi > 0 ? pad : 0;
  lo -= lo < 0 ? pad : 0;
  chart_axes(cr, &area, frame, 0, n, lo, hi, 0);
  double slot = (area.right - area.left) / n, zero = chart_py(&area, 0, lo, hi);
  char text[32];
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
    chart_text(cr, labels && labels[i] ? labels[i] : text, area.left + (i + 0.5) * slot, area.bottom + 6, 0.5, 0,
               fmin(11, slot * 0.8), 0);
  }
  if (signed_colors) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, area.left, zero);
    cairo_line_to(cr, area.right, zero);
    cairo_stroke(cr);
  }
  return chart_finish(surface, cr, path);
}
