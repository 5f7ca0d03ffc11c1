/* Every chart writes a PNG of the expected size; pixels of the confusion matrix
 * show the Blues colour map on row-normalised values. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/viz_chart.h"
#include "testlib.h"

/* RGB of a pixel of a PNG read back with cairo; size returned through w, h. */
static int read_png(const char *path, int *w, int *h, int px, int py, int rgb[3]) {
  cairo_surface_t *s = cairo_image_surface_create_from_png(path);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return 0;
  }
  *w = cairo_image_surface_get_width(s);
  *h = cairo_image_surface_get_height(s);
  cairo_surface_flush(s);
  const unsigned char *data = cairo_image_surface_get_data(s);
  uint32_t v = *(const uint32_t *)(data + py * cairo_image_surface_get_stride(s) + px * 4);
  rgb[0] = (v >> 16) & 255, rgb[1] = (v >> 8) & 255, rgb[2] = v & 255;
  cairo_surface_destroy(s);
  return 1;
}

/* Bounding box [x0, y0, x1, y1) of the bluish pixels (the matrix cells: every Blues colour has more blue
   than red, while text and background are grey). 0 when there are none. */
static int matrix_box(const char *path, int box[4]) {
  cairo_surface_t *s = cairo_image_surface_create_from_png(path);
  int found = 0;
  if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    box[0] = w, box[1] = h, box[2] = 0, box[3] = 0;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        uint32_t v = *(const uint32_t *)(data + y * stride + x * 4);
        int r = (v >> 16) & 255, b = v & 255;
        if (b - r < 6 || b < 100) continue;
        found = 1;
        if (x < box[0]) box[0] = x;
        if (y < box[1]) box[1] = y;
        if (x + 1 > box[2]) box[2] = x + 1;
        if (y + 1 > box[3]) box[3] = y + 1;
      }
  }
  cairo_surface_destroy(s);
  return found;
}

/* 1 when the outermost 2 pixels on every side are white: nothing was cut off at the canvas edge. */
static int blank_border(const char *path) {
  cairo_surface_t *s = cairo_image_surface_create_from_png(path);
  int blank = cairo_surface_status(s) == CAIRO_STATUS_SUCCESS;
  if (blank) {
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        if (x >= 2 && x < w - 2 && y >= 2 && y < h - 2) continue;
        if ((*(const uint32_t *)(data + y * stride + x * 4) & 0xFFFFFF) != 0xFFFFFF) blank = 0;
      }
  }
  cairo_surface_destroy(s);
  return blank;
}

int main(void) {
  char path[512];
  int w = 0, h = 0, rgb[3];
  const char *names[3] = {"cat", "dog", "bird"};

  /* Perfect 3x3 matrix, default layout: 56 px cells. */
  int64_t perfect[9] = {10, 0, 0, 0, 20, 0, 0, 0, 5};
  scan_chart_frame frame = {"Confusion", "predicted", "true", 0, 0};
  snprintf(path, sizeof path, "%s/confusion.png", test_tmpdir());
  CHECK(scan_chart_confusion(path, &frame, perfect, 3, 3, names, names) == SCAN_OK);
  int box[4];
  CHECK(matrix_box(path, box));
  CHECK_MSG(abs(box[2] - box[0] - 3 * 56) <= 1 && abs(box[3] - box[1] - 3 * 56) <= 1, "matrix %dx%d", box[2] - box[0],
            box[3] - box[1]);
  CHECK(read_png(path, &w, &h, box[0] + 56 + 4, box[1] + 56 + 4, rgb)); /* corner of diagonal cell (1,1) */
  CHECK_MSG(rgb[2] > 90 && rgb[0] < 30 && rgb[1] < 70, "diagonal cell rgb %d %d %d", rgb[0], rgb[1], rgb[2]);
  CHECK(read_png(path, &w, &h, box[0] + 2 * 56 + 4, box[1] + 56 + 4, rgb)); /* off-diagonal: near white */
  CHECK_MSG(rgb[0] > 230 && rgb[2] > 240, "off-diagonal rgb %d %d %d", rgb[0], rgb[1], rgb[2]);
  CHECK_MSG(blank_border(path), "confusion chart: something drawn across the border");

  /* Long names, rectangular, a wide axis label: the canvas grows so nothing is cut off. */
  const char *long_rows[2] = {"T-shirt/top of a rather long name", "Ankle boot"};
  const char *long_cols[4] = {"cluster 0", "cluster 1", "cluster 12 (unmatched)", "cluster 3 (unmatched)"};
  int64_t wide[8] = {5, 1, 0, 2, 0, 7, 3, 1};
  scan_chart_frame long_frame = {"Confusion matrix (chosen head)",
                                 "cluster (matched pairs on the diagonal; 3 empty not shown) and some more words", "true class",
                                 0, 0};
  CHECK(scan_chart_confusion(path, &long_frame, wide, 2, 4, long_rows, long_cols) == SCAN_OK);
  CHECK(matrix_box(path, box) && abs(box[2] - box[0] - 4 * 56) <= 1 && abs(box[3] - box[1] - 2 * 56) <= 1);
  CHECK_MSG(blank_border(path), "long-named confusion chart is cut off");

  /* Row normalisation: row 0 = {1, 3} -> 25% and 75%; row 1 = {30, 10} -> 75%, 25%.
     Cells with equal shares get equal colours even though the counts differ. */
  int64_t rect[6] = {1, 3, 9, 30, 10, 0};
  frame.width = 500, frame.height = 400;
  CHECK(scan_chart_confusion(path, &frame, rect, 2, 3, NULL, NULL) == SCAN_OK);
  CHECK(read_png(path, &w, &h, 0, 0, rgb) && w == 500 && h == 400);
  CHECK(matrix_box(path, box));
  int a[3], b[3];
  double cw = (box[2] - box[0]) / 3.0, ch = (box[3] - box[1]) / 2.0;
  CHECK(read_png(path, &w, &h, (int)(box[0] + 0 * cw + 3), (int)(box[1] + 1 * ch + 3), a)); /* 30/40 */
  CHECK(read_png(path, &w, &h, (int)(box[0] + 2 * cw + 3), (int)(box[1] + 0 * ch + 3), b)); /* 9/13 */
  int c[3], e[3];
  CHECK(read_png(path, &w, &h, (int)(box[0] + 1 * cw + 3), (int)(box[1] + 0 * ch + 3), c)); /* 3/13 */
  CHECK(read_png(path, &w, &h, (int)(box[0] + 1 * cw + 3), (int)(box[1] + 1 * ch + 3), e)); /* 10/40 */
  CHECK_MSG(abs(c[0] - e[0]) <= 20 && abs(c[2] - e[2]) <= 10, "23%% vs 25%% cells differ: %d/%d", c[0], e[0]);
  CHECK(a[0] < c[0]); /* the 75% cell is darker than the 25% cell */

  double sizes[4] = {5, 12, 0, 7}, weights[4] = {0.3, -0.2, 0.05, -0.4};
  scan_chart_frame bars = {"Cluster sizes", "cluster", "images", 640, 360};
  snprintf(path, sizeof path, "%s/bars.png", test_tmpdir());
  CHECK(scan_chart_bar(path, &bars, sizes, 4, NULL, 0) == SCAN_OK);
  CHECK(read_png(path, &w, &h, 0, 0, rgb) && w == 640 && h == 360 && rgb[0] == 255);
  CHECK(scan_chart_bar(path, &bars, weights, 4, NULL, 1) == SCAN_OK);
  CHECK(read_png(path, &w, &h, 0, 0, rgb) && w == 640 && h == 360);

  double xs[3] = {50, 100, 150}, acc[3] = {0.5, 0.61, 0.58}, nmi[3] = {0.4, 0.45, 0.5};
  const double *series[2] = {acc, nmi};
  const char *series_names[2] = {"ACC", "NMI"};
  scan_chart_frame line = {"Accuracy Evaluation", "Number of Candidates", "Accuracy", 0, 0};
  snprintf(path, sizeof path, "%s/line.png", test_tmpdir());
  CHECK(scan_chart_line(path, &line, xs, 3, series, series_names, 2) == SCAN_OK);
  CHECK(read_png(path, &w, &h, 0, 0, rgb) && w == 800 && h == 500);
  /* A series flat but for rounding noise (NMI 1 and 1 + 2e-16) once made the tick loop run forever. */
  double noisy_one[3] = {1, nextafter(1, 2), 1};
  const double *noisy_series[1] = {noisy_one};
  CHECK(scan_chart_line(path, &line, xs, 3, noisy_series, series_names, 1) == SCAN_OK);
  CHECK(read_png(path, &w, &h, 0, 0, rgb) && w == 800 && h == 500);

  float s1[5] = {0.1f, 0.2f, 0.2f, 0.3f, 0.9f}, s2[3] = {0.5f, 0.6f, 0.7f};
  const float *hs[2] = {s1, s2};
  int64_t counts[2] = {5, 3};
  scan_chart_frame hist = {"Nearest-neighbour similarity", "similarity", "density", 300, 200};
  snprintf(path, sizeof path, "%s/hist.png", test_tmpdir());
  CHECK(scan_chart_histogram(path, &hist, hs, counts, series_names, 2, 10) == SCAN_OK);
  CHECK(read_png(path, &w, &h, 0, 0, rgb) && w == 300 && h == 200);

  /* bad input leaves no file */
  snprintf(path, sizeof path, "%s/none.png", test_tmpdir());
  CHECK(scan_chart_bar(path, &bars, sizes, 0, NULL, 0) == SCAN_ERR_INPUT);
  FILE *f = fopen(path, "rb");
  CHECK(f == NULL);
  if (f) fclose(f);
  cairo_debug_reset_static_data(); /* free cairo's font caches so leak checkers see only our memory */
  return test_main_end();
}
