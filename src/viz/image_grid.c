/* Image grids with cairo: white background, optional title on top, optional
 * row labels on the left, optional captions under cells. The PNG is encoded
 * into memory and written with scan_write_file_atomic. */
#include "scan/viz_grid.h"

#include <cairo.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "viz_font.h"
#include "viz_png.h"

#define GRID_MIN_CELL 64
#define GRID_FONT_SIZE 12.0
#define GRID_TITLE_SIZE 16.0
#define GRID_MAX_SIDE 32767 /* cairo's limit for image surfaces */


int scan_grid_auto_cell_size(const scan_grid *grid) {
  int largest = 1;
  for (int i = 0; i < grid->rows * grid->cols; i++) {
    const scan_grid_cell *cell = &grid->cells[i];
    if (!cell->pixels) continue;
    if (cell->height > largest) largest = cell->height;
    if (cell->width > largest) largest = cell->width;
  }
  int factor = (GRID_MIN_CELL + largest - 1) / largest;
  return largest * factor;
}

static scan_status check_grid(const scan_grid *grid) {
  if (grid->rows <= 0 || grid->cols <= 0 || !grid->cells)
    return scan_fail(SCAN_ERR_INTERNAL, "image grid: %d x %d cells", grid->rows, grid->cols);
  for (int i = 0; i < grid->rows * grid->cols; i++) {
    const scan_grid_cell *cell = &grid->cells[i];
    if (!cell->pixels) continue;
    if (cell->height <= 0 || cell->width <= 0 || cell->height > GRID_MAX_SIDE || cell->width > GRID_MAX_SIDE ||
        (cell->channels != 1 && cell->channels != 3 && cell->channels != 4))
      return scan_fail(SCAN_ERR_INTERNAL, "image grid: cell %d is %dx%dx%d", i, cell->height, cell->width, cell->channels);
  }
  return SCAN_OK;
}

/* A cairo surface holding one HWC image (RGB24, or premultiplied ARGB32 with alpha). */
static cairo_surface_t *cell_surface(const scan_grid_cell *cell) {
  cairo_format_t format = cell->channels == 4 ? CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24;
  cairo_surface_t *surface = cairo_image_surface_create(format, cell->width, cell->height);
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) return surface;
  cairo_surface_flush(surface);
  unsigned char *data = cairo_image_surface_get_data(surface);
  int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < cell->height; y++) {
    uint32_t *row = (uint32_t *)(data + (size_t)y * (size_t)stride);
    const uint8_t *src = cell->pixels + (size_t)y * (size_t)cell->width * (size_t)cell->channels;
    for (int x = 0; x < cell->width; x++, src += cell->channels) {
      uint32_t r, g, b, a = 255;
      if (cell->channels == 1) {
        r = g = b = src[0];
      } else {
        r = src[0], g = src[1], b = src[2];
        if (cell->channels == 4) {
          a = src[3];
          r = (r * a + 127) / 255, g = (g * a + 127) / 255, b = (b * a + 127) / 255;
        }
      }
      row[x] = a << 24 | r << 16 | g << 8 | b;
    }
  }
  cairo_surface_mark_dirty(surface);
  return surface;
}

static double text_width(cairo_t *cr, const char *text) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text, &extents);
  return extents.x_advance;
}

scan_status scan_grid_write_png(const char *path, const scan_grid *grid) {
  SCAN_TRY(check_grid(grid));
  const int cell = grid->cell_size > 0 ? grid->cell_size : scan_grid_auto_cell_size(grid);
  const int gap = grid->gap > 0 ? grid->gap : 4;
  const int margin = 2 * gap;
  int any_caption = 0;
  for (int i = 0; i < grid->rows * grid->cols; i++)
    if (grid->cells[i].caption && grid->cells[i].caption[0]) any_caption = 1;

  /* Measure the label column on a scratch surface before sizing the real one. */
  cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *measure = cairo_create(scratch);
  viz_use_font(measure);
  cairo_set_font_size(measure, GRID_FONT_SIZE);
  double label_width = 0;
  if (grid->row_labels)
    for (int r = 0; r < grid->rows; r++)
      if (grid->row_labels[r]) {
        double w = text_width(measure, grid->row_labels[r]);
        if (w > label_width) label_width = w;
      }
  cairo_destroy(measure);
  cairo_surface_destroy(scratch);

  const int label_column = label_width > 0 ? (int)label_width + 2 * gap : 0;
  const int caption_height = any_caption ? (int)GRID_FONT_SIZE + 4 : 0;
  const int title_height = grid->title && grid->title[0] ? (int)GRID_TITLE_SIZE + 2 * gap : 0;
  const long width = 2L * margin + label_column + (long)grid->cols * cell + (long)(grid->cols - 1) * gap;
  const long height =
      2L * margin + title_height + (long)grid->rows * (cell + caption_height) + (long)(grid->rows - 1) * gap;
  if (width > GRID_MAX_SIDE || height > GRID_MAX_SIDE)
    return scan_fail(SCAN_ERR_INPUT, "%s: image grid of %ldx%ld pixels is too large (at most %d a side); show fewer images",
                     path, width, height, GRID_MAX_SIDE);

  cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
  cairo_t *cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  viz_use_font(cr);

  if (title_height) {
    cairo_set_font_size(cr, GRID_TITLE_SIZE);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, margin, margin + GRID_TITLE_SIZE);
    cairo_show_text(cr, grid->title);
  }
  cairo_set_font_size(cr, GRID_FONT_SIZE);
  scan_status st = SCAN_OK;
  for (int r = 0; r < grid->rows && st == SCAN_OK; r++) {
    const double row_top = margin + title_height + r * (cell + caption_height + gap);
    if (grid->row_labels && grid->row_labels[r]) {
      cairo_set_source_rgb(cr, 0, 0, 0);
      cairo_move_to(cr, margin, row_top + cell / 2.0 + GRID_FONT_SIZE / 3.0);
      cairo_show_text(cr, grid->row_labels[r]);
    }
    for (int c = 0; c < grid->cols; c++) {
      const scan_grid_cell *item = &grid->cells[r * grid->cols + c];
      const double left = margin + label_column + c * (cell + gap);
      if (item->pixels) {
        cairo_surface_t *image = cell_surface(item);
        if (cairo_surface_status(image) != CAIRO_STATUS_SUCCESS) {
          cairo_surface_destroy(image);
          st = scan_fail(SCAN_ERR_INTERNAL, "%s: cannot create an image surface", path);
          break;
        }
        /* Fit inside the cell, keep the aspect ratio, centre it. */
        double scale = (double)cell / (item->width > item->height ? item->width : item->height);
        double draw_w = item->width * scale, draw_h = item->height * scale;
        cairo_save(cr);
        cairo_translate(cr, left + (cell - draw_w) / 2, row_top + (cell - draw_h) / 2);
        cairo_scale(cr, scale, scale);
        cairo_set_source_surface(cr, image, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_rectangle(cr, 0, 0, item->width, item->height);
        cairo_fill(cr);
        cairo_restore(cr);
        cairo_surface_destroy(image);
      }
      if (item->caption && item->caption[0]) {
        /* Centred under the cell, clipped to its width. */
        cairo_save(cr);
        cairo_rectangle(cr, left, row_top + cell, cell, caption_height);
        cairo_clip(cr);
        double w = text_width(cr, item->caption);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, left + (w < cell ? (cell - w) / 2 : 0), row_top + cell + GRID_FONT_SIZE);
        cairo_show_text(cr, item->caption);
        cairo_restore(cr);
      }
    }
  }
  cairo_destroy(cr);
  if (st == SCAN_OK) st = viz_write_png(surface, path, "image grid");
  cairo_surface_destroy(surface);
  return st;
}
