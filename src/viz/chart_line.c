/* Line chart: metric against number of candidates, loss per epoch. Circle
 * markers annotated with their values (2 decimals), grid, legend for several series. */
#include <math.h>
#include <stdio.h>

#include "chart_internal.h"

scan_status scan_chart_line(const char *path, const scan_chart_frame *frame, const double *x, int n,
                            const double *const *series, const char *const *names, int num_series) {
  if (n < 1 || num_series < 1) return scan_fail(SCAN_ERR_INPUT, "%s: line chart needs points and a series", path);
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (int i = 0; i < n; i++) {
    if (!isfinite(x[i])) return scan_fail(SCAN_ERR_INPUT, "%s: x value %d is not finite", path, i);
    x0 = fmin(x0, x[i]);
    x1 = fmax(x1, x[i]);
    for (int s = 0; s < num_series; s++) {
      if (!isfinite(series[s][i])) return scan_fail(SCAN_ERR_INPUT, "%s: series %d point %d is not finite", path, s, i);
      y0 = fmin(y0, series[s][i]);
      y1 = fmax(y1, series[s][i]);
    }
  }
  /* margins so markers and their labels stay inside the frame */
  double xpad = x1 > x0 ? 0.04 * (x1 - x0) : 1, ypad = y1 > y0 ? 0.12 * (y1 - y0) : 0.5;
  x0 -= xpad, x1 += xpad, y0 -= ypad, y1 += ypad;
  int width = frame && frame->width ? frame->width : 800, height = frame && frame->height ? frame->height : 500;
  cairo_t *cr;
  cairo_surface_t *surface = chart_begin(frame, width, height, &cr);
  chart_area area = {80, 45, width - 20.0, height - 70.0};
  chart_axes(cr, &area, frame, x0, x1, y0, y1, 1);
  char text[32];
  for (int s = 0; s < num_series; s++) {
    double r, g, b;
    chart_series_color(s, &r, &g, &b);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, 2);
    for (int i = 0; i < n; i++) {
      double px = chart_px(&area, x[i], x0, x1), py = chart_py(&area, series[s][i], y0, y1);
      if (i == 0) cairo_move_to(cr, px, py);
      else cairo_line_to(cr, px, py);
    }
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
      double px = chart_px(&area, x[i], x0, x1), py = chart_py(&area, series[s][i], y0, y1);
      cairo_set_source_rgb(cr, r, g, b);
      cairo_arc(cr, px, py, 4, 0, 2 * M_PI);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      snprintf(text, sizeof text, "%.2f", series[s][i]);
      chart_text(cr, text, px, py - 7, 0.5, 1, 9, 0);
    }
    if (num_series > 1 && names && names[s]) { /* legend, top right */
      double ly = area.top + 10 + 18 * s;
      cairo_set_source_rgb(cr, r, g, b);
      cairo_rectangle(cr, area.right - 150, ly - 5, 14, 10);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0, 0, 0);
      chart_text(cr, names[s], area.right - 130, ly, 0, 0.5, 11, 0);
    }
  }
  return chart_finish(surface, cr, path);
}
