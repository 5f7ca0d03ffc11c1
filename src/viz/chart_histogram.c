/* Overlaid histograms on common bins (e.g. nearest-neighbour similarity of the
 * target, the candidate pool and the curated set), as densities so sets of
 * different sizes compare, with a legend. */
#include <math.h>
#include <stdlib.h>

#include "chart_internal.h"

scan_status scan_chart_histogram(const char *path, const scan_chart_frame *frame, const float *const *values,
                                 const int64_t *counts, const char *const *names, int num_series, int bins) {
  if (num_series < 1 || bins < 1) return scan_fail(SCAN_ERR_INPUT, "%s: histogram needs a series and bins", path);
  double lo = INFINITY, hi = -INFINITY;
  for (int s = 0; s < num_series; s++)
    for (int64_t i = 0; i < counts[s]; i++) {
      if (!isfinite(values[s][i])) return scan_fail(SCAN_ERR_INPUT, "%s: series %d value %lld is not finite", path, s, (long long)i);
      lo = fmin(lo, values[s][i]);
      hi = fmax(hi, values[s][i]);
    }
  if (!(hi >= lo)) return scan_fail(SCAN_ERR_INPUT, "%s: histogram has no values", path);
  if (hi == lo) hi = lo + 1;
  double *density = scan_calloc((size_t)num_series * bins, sizeof(double)), top = 0;
  if (!density) return scan_fail(SCAN_ERR_INTERNAL, "%s: out of memory", path);
  for (int s = 0; s < num_series; s++) {
    for (int64_t i = 0; i < counts[s]; i++) {
      int bin = (int)((values[s][i] - lo) / (hi - lo) * bins);
      density[(long)s * bins + (bin < bins ? bin : bins - 1)] += 1;
    }
    for (int b = 0; b < bins; b++) {
      density[(long)s * bins + b] /= counts[s] ? counts[s] * (hi - lo) / bins : 1;
      top = fmax(top, density[(long)s * bins + b]);
    }
  }
  int width = frame && frame->width ? frame->width : 800, height = frame && frame->height ? frame->height : 500;
  cairo_t *cr;
  cairo_surface_t *surface = chart_begin(frame, width, height, &cr);
  chart_area area = {80, 45, width - 20.0, height - 70.0};
  chart_axes(cr, &area, frame, lo, hi, 0, top * 1.08 + (top == 0), CHART_X_TICKS);
  for (int s = 0; s < num_series; s++) {
    double r, g, b, y1 = top * 1.08 + (top == 0);
    chart_series_color(s, &r, &g, &b);
    cairo_move_to(cr, area.left, area.bottom);
    for (int k = 0; k < bins; k++) { /* step outline of the bars */
      double py = chart_py(&area, density[(long)s * bins + k], 0, y1);
      cairo_line_to(cr, chart_px(&area, lo + (hi - lo) * k / bins, lo, hi), py);
      cairo_line_to(cr, chart_px(&area, lo + (hi - lo) * (k + 1) / bins, lo, hi), py);
    }
    cairo_line_to(cr, area.right, area.bottom);
    cairo_close_path(cr);
    cairo_set_source_rgba(cr, r, g, b, 0.35);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, 1.5);
    cairo_stroke(cr);
    if (names && names[s]) {
      double ly = area.top + 10 + 18 * s;
      cairo_rectangle(cr, area.left + 10, ly - 5, 14, 10);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0, 0, 0);
      chart_text(cr, names[s], area.left + 30, ly, 0, 0.5, 11, 0);
    }
  }
  free(density);
  return chart_finish(surface, cr, path);
}
