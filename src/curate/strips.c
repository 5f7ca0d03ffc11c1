/* Visual check of a selection (spec §17.2, optional in the reference): PNG strips, each a target image followed
 * by its nearest pool images with their similarity. */
#include <stdio.h>
#include <stdlib.h>

#include "curate_internal.h"
#include "scan/atomic_file.h"
#include "scan/viz_grid.h"

/* The reference tiled 236-pixel images; larger images are shrunk to this so a strip stays a few MB. */
enum { STRIP_MAX_CELL = 236 };

static scan_status write_strip(const curate_state *s, int64_t unique_row, int k, const char *path) {
  const scan_curate_request *req = s->req;
  const scan_dataset *target = req->target_images, *pool = req->pool_images;
  int64_t target_index = s->kept[unique_row];
  scan_grid_cell *cells = scan_calloc((unsigned long)k + 1, sizeof *cells);
  char(*captions)[32] = scan_calloc((unsigned long)k + 1, sizeof *captions);
  uint8_t *target_pixels = NULL, *pool_pixels = NULL;
  scan_status status = cells && captions ? SCAN_OK : SCAN_ERR_INTERNAL;
  if (status == SCAN_OK) status = scan_dataset_gather(target, &target_index, 1, &target_pixels);
  if (status == SCAN_OK) status = scan_dataset_gather(pool, s->neighbors + unique_row * s->k_max, k, &pool_pixels);
  if (status == SCAN_OK) {
    snprintf(captions[0], sizeof captions[0], "target");
    cells[0] = (scan_grid_cell){target_pixels, target->height, target->width, target->channels, captions[0]};
    const size_t pool_bytes = scan_dataset_image_bytes(pool);
    for (int c = 0; c < k; c++) {
      snprintf(captions[c + 1], sizeof captions[c + 1], "%.3f", s->similarities[unique_row * s->k_max + c]);
      cells[c + 1] = (scan_grid_cell){pool_pixels + (size_t)c * pool_bytes, pool->height, pool->width, pool->channels,
                                      captions[c + 1]};
    }
    char title[1200];
    snprintf(title, sizeof title, "%s: %d nearest", req->target_names[target_index], k);
    scan_grid grid = {.rows = 1, .cols = k + 1, .cells = cells, .title = title};
    grid.cell_size = scan_grid_auto_cell_size(&grid);
    if (grid.cell_size > STRIP_MAX_CELL) grid.cell_size = STRIP_MAX_CELL;
    status = scan_grid_write_png(path, &grid);
  }
  free(target_pixels);
  free(pool_pixels);
  free(cells);
  free(captions);
  return status;
}

scan_status curate_write_strips(const curate_state *s, int *written) {
  const scan_curate_request *req = s->req;
  *written = 0;
  char path[SCAN_PATH_MAX];
  SCAN_TRY(curate_path(req, path, sizeof path, "strips"));
  SCAN_TRY(scan_make_dirs(path));
  int64_t count = req->strips < s->unique_count ? req->strips : s->unique_count;
  int k = req->ks[0];
  for (int64_t m = 0; m < count; m++) {
    /* Spread over the whole target rather than its first frames. */
    int64_t row = m * s->unique_count / count;
    SCAN_TRY(curate_path(req, path, sizeof path, "strips/strip_%03lld.png", (long long)m));
    SCAN_TRY(write_strip(s, row, k, path));
    (*written)++;
  }
  return SCAN_OK;
}
