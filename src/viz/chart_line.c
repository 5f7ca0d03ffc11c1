/* Line chart: metric against number of candidates, loss or accuracy per epoch.
 * Grid, legend for several series; markers and value labels while the points
 * are few enough to read them. */
#include <math.h>
#include <stdio.h>

#include "chart_internal.h"

enum { MAX_LABELLED_POINTS = 30 };

scan_status scan_chart_line_range(const char *path, const scan_chart_frame *frame, double y_min, double y_max,
                                  const double *x, int n, const double *const *series, const char *const *names,
                                  int num_series) {
  if (n < 1 || num_series < 1) return scan_fail(SCAN_ERR_INPUT, "%s: line chart needs points and a series", path);
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  int whole_x = 1;
  for (int i = 0; i < n; i++) {
    if (!isfinite(x[i])) return scan_fail(SCAN_ERR_INPUT, "%s: x value %d is not finite", path, i);
    x0 = fmin(x0, x[i]);
    x1 = fmax(x1, x[i]);
    whole_x &= x[i] == floor(x[i]);
    for (int s = 0; s < num_series; s++) {
      if (!isfinite(series[s][i])) return scan_fail(SCAN_ERR_INPUT, "%s: series %d point %d is not finite", path, s, i);
      y0 = fmin(y0, series[s][i]);
      y1 = fmax(y1, series[s][i]);
    }
  }
  /* margins so markers and their labels stay inside the frame; a y spread within rounding noise
   * of the values (1 and 1 + 2e-16) is drawn as flat, not as an axis of 1e-17 steps */
  int flat_y = !(y1 - y0 > 1e-9 * fmax(1, fmax(fabs(y0), fabs(y1))));
  double xpad = x1 > x0 ? 0.04 * (x1 - x0) : 1, ypad = flat_y ? 0.5 : 0.12 * (y1 - y0);
  x0 -= xpad, x1 += xpad;
  if (y_min < y_max) { /* the fixed axis, widened to any value outside it, with room for markers at its ends */
    y0 = fmin(y0, y_min);
    y1 = fmax(y1, y_max);
    double pad = 0.05 * (y1 - y0);
    y0 -= pad, y1 += pad;
  } else {
    y0 -= ypad, y1 += ypad;
  }
  int width = frame && frame->width ? frame->width : 800, height = frame && frame->height ? frame->height : 500;
  cairo_t *cr;
  cairo_surface_t *surface = chart_begin(frame, width, height, &cr);
  chart_area area = {80, 45, width - 20.0, height - 70.0};
  chart_axes(cr, &area, frame, x0, x1, y0, y1, whole_x ? CHART_X_WHOLE_TICKS : CHART_X_TICKS);
  int markers = n <= MAX_LABELLED_POINTS;
  /* value labels one decimal finer than the y ticks (at least 2), so neighbouring values stay distinguishable */
  double ystep = chart_tick_step(y1 - y0, 6);
  int decimals = ystep >= 1 ? 2 : (int)fmax(2, ceil(-log10(ystep) - 1e-9) + 1);
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
    for (int i = markers ? 0 : n - 1; i < n; i++) {
      double px = chart_px(&area, x[i], x0, x1), py = chart_py(&area, series[s][i], y0, y1);
      cairo_set_source_rgb(cr, r, g, b);
      cairo_arc(cr, px, py, markers ? 4 : 3, 0, 2 * M_PI);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      snprintf(text, sizeof text, "%.*f", decimals, series[s][i]);
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

scan_status scan_chart_line(const char *path, const scan_chart_frame *frame, const double *x, int n,
                            const double *const *series, const char *const *names, int num_series) {
  return scan_chart_line_range(path, frame, 0, 0, x, n, series, names, num_series);
}
