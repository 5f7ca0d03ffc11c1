/* PNG charts drawn with cairo: confusion matrix, bar chart, line chart and
 * histogram overlay. Each is rendered in memory and written atomically (a
 * failure never leaves a partial file under the real name). */
#ifndef SCAN_VIZ_CHART_H
#define SCAN_VIZ_CHART_H

#include <stdint.h>

#include "scan/error.h"

/* Text and size shared by every chart; width/height 0 pick a default. */
typedef struct {
  const char *title;
  const char *xlabel;
  const char *ylabel;
  int width, height; /* pixels */
} scan_chart_frame;

/* Confusion matrix: counts [rows, cols] (rows = true classes). Each cell is
 * coloured (Blues) by its share of ITS OWN row and annotated with the count and
 * that percentage. Rectangular matrices are fine. Column names are drawn rotated.
 * Default size grows with the matrix. */
scan_status scan_chart_confusion(const char *path, const scan_chart_frame *frame, const int64_t *counts, int rows,
                                 int cols, const char *const *row_names, const char *const *col_names);

/* Bar chart of values[n]; labels[n] or NULL (then 0..n-1). signed_colors: positive
 * bars green, negative red, with a zero line (LIME weights); otherwise one colour. */
scan_status scan_chart_bar(const char *path, const scan_chart_frame *frame, const double *values, int n,
                           const char *const *labels, int signed_colors);

/* Line chart: x[n] and num_series series (series[s][n]) with names (legend when
 * more than one); grid. When every x is a whole number (epochs) the x ticks are
 * whole numbers. Up to 30 points: circle markers, each annotated with its value
 * (2 decimals, more when the y ticks are finer); more points: a plain line with only the last value annotated. */
scan_status scan_chart_line(const char *path, const scan_chart_frame *frame, const double *x, int n,
                            const double *const *series, const char *const *names, int num_series);
/* The same on a fixed value axis y_min..y_max (e.g. 0..100 for a percentage, so a change of 1 point does
   not look like a leap); values outside it widen it. */
scan_status scan_chart_line_range(const char *path, const scan_chart_frame *frame, double y_min, double y_max,
                                  const double *x, int n, const double *const *series, const char *const *names,
                                  int num_series);

/* Overlaid histograms of num_series samples (values[s][counts[s]]) over common
 * bins spanning all values; drawn as translucent step areas with a legend. */
scan_status scan_chart_histogram(const char *path, const scan_chart_frame *frame, const float *const *values,
                                 const int64_t *counts, const char *const *names, int num_series, int bins);

#endif
