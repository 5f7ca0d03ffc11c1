/* Canvas, text, axes and PNG output shared by the charts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart_internal.h"
#include "viz_font.h"
#include "viz_png.h"
#include "scan/atomic_file.h"

cairo_surface_t *chart_begin(const scan_chart_frame *frame, int width, int height, cairo_t **cr) {
  cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  *cr = cairo_create(surface);
  cairo_set_source_rgb(*cr, 1, 1, 1);
  cairo_paint(*cr);
  viz_use_font(*cr);
  if (frame && frame->title) {
    cairo_set_source_rgb(*cr, 0, 0, 0);
    chart_text(*cr, frame->title, width / 2.0, 10, 0.5, 0, 16, 0);
  }
  return surface;
}

scan_status chart_finish(cairo_surface_t *surface, cairo_t *cr, const char *path) {
  cairo_status_t cs = cairo_status(cr);
  cairo_destroy(cr);
  scan_status st = cs == CAIRO_STATUS_SUCCESS
                       ? viz_write_png(surface, path, "chart")
                       : scan_fail(SCAN_ERR_INTERNAL, "%s: drawing the chart failed: %s", path, cairo_status_to_string(cs));
  cairo_surface_destroy(surface);
  return st;
}

double chart_text_width(const char *text, double size) {
  cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *cr = cairo_create(scratch);
  viz_use_font(cr);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, text, &e);
  cairo_destroy(cr);
  cairo_surface_destroy(scratch);
  return e.x_advance;
}

void chart_text(cairo_t *cr, const char *text, double x, double y, double ax, double ay, double size, double angle) {
  cairo_text_extents_t e;
  cairo_set_font_size(cr, size);
  cairo_text_extents(cr, text, &e);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  /* place by the logical box (advance width, font size) so baselines line up */
  cairo_move_to(cr, -ax * e.x_advance, -ay * size + size * 0.8);
  cairo_show_text(cr, text);
  cairo_restore(cr);
}

double chart_tick_step(double span, int target) {
  if (!(span > 0)) return 1;
  double raw = span / target, magnitude = pow(10, floor(log10(raw))), f = raw / magnitude;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude;
}

double chart_px(const chart_area *a, double v, double v0, double v1) {
  return a->left + (v1 > v0 ? (v - v0) / (v1 - v0) : 0.5) * (a->right - a->left);
}

double chart_py(const chart_area *a, double v, double v0, double v1) {
  return a->bottom - (v1 > v0 ? (v - v0) / (v1 - v0) : 0.5) * (a->bottom - a->top);
}

static void format_tick(char *out, size_t size, double v, double step) {
  int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  snprintf(out, size, "%.*f", decimals, fabs(v) < step * 1e-9 ? 0.0 : v);
}

/* Ticks at the multiples of step inside [lo, hi]: sets *first and returns how many. Counted, not
 * stepped to: `v += step` never moves v when step is below v's rounding unit (an NMI axis over
 * [1, 1 + 2e-16]), and that loop never ended. An axis asking for more than 100 ticks gets none. */
static int tick_count(double lo, double hi, double step, double *first) {
  *first = ceil(lo / step) * step;
  double count = floor((hi - *first) / step + 1e-9) + 1;
  return count >= 1 && count <= 100 ? (int)count : 0;
}

void chart_axes(cairo_t *cr, const chart_area *area, const scan_chart_frame *frame, double x0, double x1, double y0,
                double y1, chart_x_ticks x_ticks) {
  char label[64];
  cairo_set_line_width(cr, 1);
  double ystep = chart_tick_step(y1 - y0, 6), widest_tick = 0, yfirst;
  int yticks = tick_count(y0, y1, ystep, &yfirst);
  for (int t = 0; t < yticks; t++) {
    format_tick(label, sizeof label, yfirst + t * ystep, ystep);
    widest_tick = fmax(widest_tick, chart_text_width(label, 11));
  }
  for (int t = 0; t < yticks; t++) {
    double v = yfirst + t * ystep;
    double py = chart_py(area, v, y0, y1);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, area->left, py);
    cairo_line_to(cr, area->right, py);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    format_tick(label, sizeof label, v, ystep);
    chart_text(cr, label, area->left - 6, py, 1, 0.5, 11, 0);
  }
  if (x_ticks != CHART_X_NO_TICKS) {
    double xstep = chart_tick_step(x1 - x0, 8);
    if (x_ticks == CHART_X_WHOLE_TICKS && xstep < 1) xstep = 1;
    double xfirst;
    int xticks = tick_count(x0, x1, xstep, &xfirst);
    for (int t = 0; t < xticks; t++) {
      double v = xfirst + t * xstep;
      double px = chart_px(area, v, x0, x1);
      cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
      cairo_move_to(cr, px, area->top);
      cairo_line_to(cr, px, area->bottom);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0, 0, 0);
      format_tick(label, sizeof label, v, xstep);
      chart_text(cr, label, px, area->bottom + 6, 0.5, 0, 11, 0);
    }
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, area->left, area->top, area->right - area->left, area->bottom - area->top);
  cairo_stroke(cr);
  if (frame && frame->xlabel) chart_text(cr, frame->xlabel, (area->left + area->right) / 2, area->bottom + 28, 0.5, 0, 13, 0);
  if (frame && frame->ylabel)
    chart_text(cr, frame->ylabel, fmax(2, area->left - 6 - widest_tick - 8 - 13), (area->top + area->bottom) / 2, 0.5, 0,
               13, -M_PI / 2); /* left of the widest tick label */
}

void chart_series_color(int index, double *r, double *g, double *b) {
  static const unsigned tab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  unsigned c = tab10[index % 10];
  *r = ((c >> 16) & 255) / 255.0;
  *g = ((c >> 8) & 255) / 255.0;
  *b = (c & 255) / 255.0;
}
