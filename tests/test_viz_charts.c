/* Every chart writes a PNG of the expected size; pixels of the confusion matrix
 * show the Blues colour map on row-normalised values. */
#include <cairo.h>
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

int main(void) {
  char path[512];
  int w = 0, h = 0, rgb[3];
  const char *names[3] = {"cat", "dog", "bird"};

  /* Perfect 3x3 matrix, default layout: 150 px left margin, 50 px top, 56 px cells. */
  int64_t perfect[9] = {10, 0, 0, 0, 20, 0, 0, 0, 5};
  scan_chart_frame frame = {"Confusion", "predicted", "true", 0, 0};
  snprintf(path, sizeof path, "%s/confusion.png", test_tmpdir());
  CHECK(scan_chart_confusion(path, &frame, perfect, 3, 3, names, names) == SCAN_OK);
  CHECK(read_png(path, &w, &h, 150 + 56 + 4, 50 + 56 + 4, rgb)); /* corner of diagonal cell (1,1) */
  CHECK(w == 150 + 3 * 56 + 20 && h == 50 + 3 * 56 + 130);
  CHECK_MSG(rgb[2] > 90 && rgb[0] < 30 && rgb[1] < 70, "diagonal cell rgb %d %d %d", rgb[0], rgb[1], rgb[2]);
  CHECK(read_png(path, &w, &h, 150 + 2 * 56 + 4, 50 + 56 + 4, rgb)); /* off-diagonal: near white */
  CHECK_MSG(rgb[0] > 230 && rgb[2] > 240, "off-diagonal rgb %d %d %d", rgb[0], rgb[1], rgb[2]);

  /* Row normalisation: row 0 = {1, 3} -> 25% and 75%; row 1 = {30, 10} -> 75%, 25%.
     Cells with equal shares get equal colours even though the counts differ. */
  int64_t rect[6] = {1, 3, 9, 30, 10, 0};
  frame.width = 500, frame.height = 400;
  CHECK(scan_chart_confusion(path, &frame, rect, 2, 3, NULL, NULL) == SCAN_OK);
  int a[3], b[3];
  double cw = (500 - 150 - 20) / 3.0, ch = (400 - 50 - 130) / 2.0;
  CHECK(read_png(path, &w, &h, (int)(150 + 0 * cw + 3), (int)(50 + 1 * ch + 3), a)); /* 30/40 */
  CHECK(read_png(path, &w, &h, (int)(150 + 2 * cw + 3), (int)(50 + 0 * ch + 3), b)); /* 9/13 */
  CHECK(w == 500 && h == 400);
  int c[3], e[3];
  CHECK(read_png(path, &w, &h, (int)(150 + 1 * cw + 3), (int)(50 + 0 * ch + 3), c)); /* 3/13 */
  CHECK(read_png(path, &w, &h, (int)(150 + 1 * cw + 3), (int)(50 + 1 * ch + 3), e)); /* 10/40 */
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
