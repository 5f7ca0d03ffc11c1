/* Drawing helpers shared by the chart files (internal to viz). */
#ifndef SCAN_VIZ_CHART_INTERNAL_H
#define SCAN_VIZ_CHART_INTERNAL_H

#include <cairo.h>

#include "scan/viz_chart.h"

/* The plotting area inside the margins, in pixels. */
typedef struct {
  double left, top, right, bottom;
} chart_area;

/* A white canvas of width x height with the title drawn at the top. */
cairo_surface_t *chart_begin(const scan_chart_frame *frame, int width, int height, cairo_t **cr);
/* Encodes the surface as PNG in memory and writes it atomically; destroys cr and surface. */
scan_status chart_finish(cairo_surface_t *surface, cairo_t *cr, const char *path);

/* Advance width in pixels of text in the charts' font at `size`, measured before any canvas exists. */
double chart_text_width(const char *text, double size);

/* Text anchored at (x, y): ax/ay = 0 left/top, 0.5 centre, 1 right/bottom; angle in radians. */
void chart_text(cairo_t *cr, const char *text, double x, double y, double ax, double ay, double size, double angle);

/* How chart_axes labels the x axis: no ticks (bar charts label their own slots),
 * round ticks, or round ticks that are whole numbers (epochs, counts). */
typedef enum { CHART_X_NO_TICKS, CHART_X_TICKS, CHART_X_WHOLE_TICKS } chart_x_ticks;

/* Axes with ticks, grid lines, tick labels and axis labels for the value ranges
 * [x0, x1] x [y0, y1]. */
void chart_axes(cairo_t *cr, const chart_area *area, const scan_chart_frame *frame, double x0, double x1, double y0,
                double y1, chart_x_ticks x_ticks);
/* Round tick step giving about `target` ticks over span. */
double chart_tick_step(double span, int target);
/* Maps a value to a pixel inside the area. */
double chart_px(const chart_area *a, double v, double v0, double v1);
double chart_py(const chart_area *a, double v, double v0, double v1);

/* Series colours (matplotlib's tab10). */
void chart_series_color(int index, double *r, double *g, double *b);

#endif
