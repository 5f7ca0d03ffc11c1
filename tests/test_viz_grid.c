/* Image grid: automatic cell size, nearest-neighbour enlargement, empty
 * cells, mixed image sizes and channel counts, read back from the PNG. */
#include <cairo.h>
#include <stdint.h>
#include <string.h>

#include "scan/viz_grid.h"
#include "testlib.h"

/* RGB of pixel (x, y) of an RGB24 cairo surface. */
static void pixel_at(cairo_surface_t *s, int x, int y, int rgb[3]) {
  const uint32_t *row = (const uint32_t *)(cairo_image_surface_get_data(s) + (size_t)y * cairo_image_surface_get_stride(s));
  rgb[0] = (int)(row[x] >> 16 & 255), rgb[1] = (int)(row[x] >> 8 & 255), rgb[2] = (int)(row[x] & 255);
}

int main(void) {
  /* A 2x2 RGB checker (red, green / blue, white), a 4x2 grey gradient (tall), an empty cell, and an RGBA pixel. */
  const uint8_t checker[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
  const uint8_t tall[4 * 2] = {0, 0, 80, 80, 160, 160, 240, 240};
  const uint8_t opaque_rgba[4] = {10, 20, 30, 255};
  scan_grid_cell cells[4] = {{checker, 2, 2, 3, "a"}, {tall, 4, 2, 1, NULL}, {NULL, 0, 0, 0, NULL}, {opaque_rgba, 1, 1, 4, NULL}};
  scan_grid grid = {2, 2, cells, NULL, NULL, 0, 0};
  CHECK(scan_grid_auto_cell_size(&grid) == 64); /* largest side 4, x16 */
  cells[2].pixels = NULL;

  char path[512];
  snprintf(path, sizeof path, "%s/grid.png", test_tmpdir());
  grid.cells = cells;
  cells[0].caption = NULL; /* no captions: the layout below is margin 8, cells 64, gap 4 */
  CHECK_MSG(scan_grid_write_png(path, &grid) == SCAN_OK, "%s", scan_error_message());
  cairo_surface_t *png = cairo_image_surface_create_from_png(path);
  CHECK(cairo_surface_status(png) == CAIRO_STATUS_SUCCESS);
  if (cairo_surface_status(png) == CAIRO_STATUS_SUCCESS) {
    CHECK(cairo_image_surface_get_width(png) == 8 + 64 + 4 + 64 + 8);
    CHECK(cairo_image_surface_get_height(png) == 8 + 64 + 4 + 64 + 8);
    int rgb[3];
    pixel_at(png, 2, 2, rgb); /* margin: white */
    CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
    /* Checker enlarged 32x by nearest neighbour: quadrants are pure colours up to their edges. */
    pixel_at(png, 8 + 1, 8 + 1, rgb);
    CHECK(rgb[0] == 255 && rgb[1] == 0 && rgb[2] == 0);
    pixel_at(png, 8 + 31, 8 + 31, rgb);
    CHECK(rgb[0] == 255 && rgb[1] == 0 && rgb[2] == 0);
    pixel_at(png, 8 + 32, 8 + 1, rgb);
    CHECK(rgb[0] == 0 && rgb[1] == 255 && rgb[2] == 0);
    pixel_at(png, 8 + 1, 8 + 63, rgb);
    CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 255);
    /* The tall 4x2 grey image is scaled 16x and centred: 32 px wide from x = 16 inside its cell. */
    int left = 8 + 64 + 4;
    pixel_at(png, left + 8, 8 + 40, rgb); /* beside the image: white */
    CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
    pixel_at(png, left + 20, 8 + 40, rgb); /* row 2 of the image (y 32..47): 160 */
    CHECK(rgb[0] == 160 && rgb[1] == 160 && rgb[2] == 160);
    /* Empty cell stays white; the RGBA pixel fills its whole cell. */
    pixel_at(png, 8 + 32, 8 + 68 + 32, rgb);
    CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
    pixel_at(png, left + 63, 8 + 68 + 63, rgb);
    CHECK(rgb[0] == 10 && rgb[1] == 20 && rgb[2] == 30);
  }
  cairo_surface_destroy(png);

  /* Labels, title and captions make the sheet larger; it still renders. */
  const char *labels[2] = {"first row", NULL};
  cells[0].caption = "caption";
  scan_grid labelled = {2, 2, cells, labels, "title", 0, 0};
  CHECK(scan_grid_write_png(path, &labelled) == SCAN_OK);
  png = cairo_image_surface_create_from_png(path);
  CHECK(cairo_image_surface_get_width(png) > 148 && cairo_image_surface_get_height(png) > 148);
  cairo_surface_destroy(png);

  /* A grid too large for cairo is an input error, and a bad cell an internal one. */
  scan_grid huge = {2, 2, cells, NULL, NULL, 20000, 0};
  CHECK(scan_grid_write_png(path, &huge) == SCAN_ERR_INPUT && strstr(scan_error_message(), "too large") != NULL);
  cells[1].channels = 2;
  CHECK(scan_grid_write_png(path, &grid) == SCAN_ERR_INTERNAL);
  return test_main_end();
}
