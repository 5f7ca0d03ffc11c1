/* Labelled image grids written to PNG (cairo): dataset samples per class,
 * cluster contact sheets, an original next to its augmented views.
 *
 *   title
 *   label 0 | img img img ...
 *   label 1 | img img img ...
 *
 * Every cell is a square of cell_size pixels; each image is scaled with
 * nearest-neighbour sampling to fit its cell (keeping its aspect ratio), so
 * small images (28x28) stay crisp and images of different sizes line up. */
#ifndef SCAN_VIZ_GRID_H
#define SCAN_VIZ_GRID_H

#include <stdint.h>

#include "scan/error.h"

typedef struct {
  const uint8_t *pixels; /* HWC uint8; NULL leaves the cell empty */
  int height, width;
  int channels;          /* 1 (grey), 3 (RGB) or 4 (RGBA, not premultiplied) */
  const char *caption;   /* optional text under the image, or NULL */
} scan_grid_cell;

typedef struct {
  int rows, cols;
  const scan_grid_cell *cells;   /* rows * cols cells, row-major */
  const char *const *row_labels; /* rows strings (entries may be NULL), or NULL for no label column */
  const char *title;             /* optional, or NULL */
  int cell_size;                 /* cell side in pixels; 0 = automatic (see scan_grid_auto_cell_size) */
  int gap;                       /* pixels between cells; 0 = 4 */
} scan_grid;

/* The automatic cell size: the largest image side times the smallest integer
 * factor that makes it at least 64 pixels. */
int scan_grid_auto_cell_size(const scan_grid *grid);

/* Renders the grid and writes it atomically as PNG. */
scan_status scan_grid_write_png(const char *path, const scan_grid *grid);

#endif
