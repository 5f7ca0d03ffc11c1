/* Confusion-matrix chart: Blues colour map on row-normalised values (each row
 * divided by its own sum, unlike the reference's broadcast; spec §18.3), every
 * cell annotated with its count and row percentage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "chart_internal.h"

/* matplotlib's 'Blues' (ColorBrewer, 9 stops), interpolated linearly. */
static void blues(double v, double *r, double *g, double *b) {
  static const unsigned stops[9] = {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                    0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
  v = v < 0 ? 0 : v > 1 ? 1 : v;
  double pos = v * 8;
  int i = (int)pos < 8 ? (int)pos : 7;
  double f = pos - i;
  unsigned a = stops[i], c = stops[i + 1];
  *r = (((a >> 16) & 255) * (1 - f) + ((c >> 16) & 255) * f) / 255;
  *g = (((a >> 8) & 255) * (1 - f) + ((c >> 8) & 255) * f) / 255;
  *b = ((a & 255) * (1 - f) + (c & 255) * f) / 255;
}

scan_status scan_chart_confusion(const char *path, const scan_chart_frame *frame, const int64_t *counts, int rows,
                                 int cols, const char *const *row_names, const char *const *col_names) {
  if (rows < 1 || cols < 1) return scan_fail(SCAN_ERR_INPUT, "%s: confusion matrix needs at least one row and column", path);
  enum { CELL = 56, TOP = 50, RIGHT = 20, NAME_FONT = 11, AXIS_FONT = 13 };
  const double slant = 40 * M_PI / 180;
  char text[64];
  /* Margins from the measured names, so long class names are never cut off. */
  double row_names_width = 0, col_names_width = 0;
  for (int r = 0; r < rows; r++) {
    snprintf(text, sizeof text, "class %d", r);
    row_names_width = fmax(row_names_width, chart_text_width(row_names && row_names[r] ? row_names[r] : text, NAME_FONT));
  }
  for (int c = 0; c < cols; c++) {
    snprintf(text, sizeof text, "%d", c);
    col_names_width = fmax(col_names_width, chart_text_width(col_names && col_names[c] ? col_names[c] : text, NAME_FONT));
  }
  int left = (int)fmax(row_names_width + 12 + 2 * AXIS_FONT, col_names_width * cos(slant) - CELL / 2.0 + 10);
  int bottom = (int)(col_names_width * sin(slant) + NAME_FONT + 20 + 2 * AXIS_FONT);
  double xlabel_width = frame && frame->xlabel ? chart_text_width(frame->xlabel, AXIS_FONT) : 0;
  double title_width = frame && frame->title ? chart_text_width(frame->title, 16) : 0;
  int width = frame && frame->width ? frame->width
                                    : (int)fmax(left + cols * CELL + RIGHT, fmax(xlabel_width, title_width) + 20);
  int height = frame && frame->height ? frame->height : TOP + rows * CELL + bottom;
  if (!(frame && frame->width)) left = (int)fmax(left, (width - cols * CELL) / 2.0); /* centred under a wide title */
  cairo_t *cr;
  cairo_surface_t *surface = chart_begin(frame, width, height, &cr);
  double cw = frame && frame->width ? (double)(width - left - RIGHT) / cols : CELL;
  double ch = (double)(height - TOP - bottom) / rows;
  double font = fmin(11, fmin(cw, ch) / 4.5);
  for (int r = 0; r < rows; r++) {
    int64_t row_sum = 0;
    for (int c = 0; c < cols; c++) row_sum += counts[(long)r * cols + c];
    for (int c = 0; c < cols; c++) {
      int64_t count = counts[(long)r * cols + c];
      double share = row_sum ? (double)count / row_sum : 0, cr_, cg, cb;
      blues(share, &cr_, &cg, &cb);
      double x = left + c * cw, y = TOP + r * ch;
      cairo_set_source_rgb(cr, cr_, cg, cb);
      cairo_rectangle(cr, x, y, cw, ch);
      cairo_fill(cr);
      /* white text on dark cells, as matplotlib's annotated heat maps */
      double ink = share > 0.5 ? 1 : 0;
      cairo_set_source_rgb(cr, ink, ink, ink);
      snprintf(text, sizeof text, "%lld", (long long)count);
      chart_text(cr, text, x + cw / 2, y + ch / 2 - font * 0.6, 0.5, 0.5, font, 0);
      snprintf(text, sizeof text, "%.1f%%", 100 * share);
      chart_text(cr, text, x + cw / 2, y + ch / 2 + font * 0.6, 0.5, 0.5, font * 0.9, 0);
    }
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int r = 0; r < rows; r++) {
    snprintf(text, sizeof text, "class %d", r);
    chart_text(cr, row_names && row_names[r] ? row_names[r] : text, left - 6, TOP + (r + 0.5) * ch, 1, 0.5, NAME_FONT, 0);
  }
  for (int c = 0; c < cols; c++) { /* rotated 40 degrees, right-aligned under the column */
    snprintf(text, sizeof text, "%d", c);
    chart_text(cr, col_names && col_names[c] ? col_names[c] : text, left + (c + 0.5) * cw, TOP + rows * ch + 8, 1, 0.5,
               NAME_FONT, -slant);
  }
  if (frame && frame->ylabel) /* just left of the row names */
    chart_text(cr, frame->ylabel, fmax(8, left - row_names_width - 12 - 1.5 * AXIS_FONT), TOP + rows * ch / 2, 0.5, 0,
               AXIS_FONT, -M_PI / 2);
  if (frame && frame->xlabel) { /* centred under the matrix, but kept inside the canvas */
    double x = fmin(fmax(left + cols * cw / 2, xlabel_width / 2 + 8), width - xlabel_width / 2 - 8);
    chart_text(cr, frame->xlabel, x, height - AXIS_FONT - 12, 0.5, 0, AXIS_FONT, 0);
  }
  return chart_finish(surface, cr, path);
}
