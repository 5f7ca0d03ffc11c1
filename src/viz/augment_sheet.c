/* scan_augment_sheet_png: originals next to their augmented views, as the
 * training loader would make them (include/scan/augment_sheet.h). */
#include "scan/augment_sheet.h"

#include <stdio.h>
#include <stdlib.h>

#include "scan/viz_grid.h"

enum { MAX_SHEET_IMAGES = 256, MAX_SHEET_VIEWS = 32 };

scan_status scan_augment_sheet_png(const char *path, const scan_dataset *d, const scan_aug_config *cfg, int images,
                                   int views, uint64_t seed) {
  if (!d || d->count < 1) return scan_fail(SCAN_ERR_INPUT, "augmentation sheet: the dataset is empty");
  if (images < 1 || images > MAX_SHEET_IMAGES || views < 1 || views > MAX_SHEET_VIEWS)
    return scan_fail(SCAN_ERR_INPUT, "augmentation sheet: %d images x %d views (allowed 1..%d x 1..%d)", images, views,
                     MAX_SHEET_IMAGES, MAX_SHEET_VIEWS);
  if (scan_aug_validate(cfg, d->height, d->width, d->channels) != SCAN_OK)
    return scan_fail_context(SCAN_ERR_INPUT, "augmentation sheet for %s", d->name);
  if (images > d->count) images = d->count;

  int cols = 1 + views;
  long view_bytes = (long)cfg->out_size * cfg->out_size * cfg->channels;
  uint8_t *pixels = scan_malloc((size_t)(images * views * view_bytes));
  uint8_t *originals = NULL; /* the shown images, gathered from memory or from their files */
  scan_grid_cell *cells = scan_calloc((size_t)(images * cols), sizeof *cells);
  char(*labels)[48] = scan_calloc((size_t)images, sizeof *labels);
  const char **label_ptrs = scan_calloc((size_t)images, sizeof *label_ptrs);
  char(*captions)[16] = scan_calloc((size_t)cols, sizeof *captions);
  scan_status st = SCAN_OK;
  if (!pixels || !cells || !labels || !label_ptrs || !captions) {
    st = scan_fail(SCAN_ERR_INTERNAL, "augmentation sheet: out of memory");
    goto done;
  }
  snprintf(captions[0], sizeof captions[0], "original");
  for (int v = 1; v < cols; v++) snprintf(captions[v], sizeof captions[v], "epoch %d", v - 1);
  int64_t *indices = scan_malloc(sizeof *indices * (size_t)images);
  if (!indices) {
    st = scan_fail(SCAN_ERR_INTERNAL, "augmentation sheet: out of memory");
    goto done;
  }
  for (int r = 0; r < images; r++) indices[r] = (long)r * d->count / images;
  st = scan_dataset_gather(d, indices, images, &originals);
  free(indices);
  if (st != SCAN_OK) goto done;
  for (int r = 0; r < images; r++) {
    int index = (int)((long)r * d->count / images);
    const uint8_t *src = originals + (size_t)r * scan_dataset_image_bytes(d);
    int label = d->labels ? d->labels[index] : -1;
    if (label >= 0 && d->class_names && label < d->num_classes)
      snprintf(labels[r], sizeof labels[r], "#%d %s", index, d->class_names[label]);
    else
      snprintf(labels[r], sizeof labels[r], "#%d", index);
    label_ptrs[r] = labels[r];
    cells[r * cols] = (scan_grid_cell){src, d->height, d->width, d->channels, r == 0 ? captions[0] : NULL};
    for (int v = 0; v < views; v++) {
      uint8_t *out = pixels + (long)(r * views + v) * view_bytes;
      /* The loader's first view of this sample in epoch v. */
      scan_rng rng = scan_rng_make(seed, (uint64_t)v, (uint64_t)index * 4);
      scan_augment_u8(cfg, src, d->height, d->width, &rng, out);
      cells[r * cols + 1 + v] =
          (scan_grid_cell){out, cfg->out_size, cfg->out_size, cfg->channels, r == 0 ? captions[1 + v] : NULL};
    }
  }
  char title[128];
  snprintf(title, sizeof title, "%s: %s augmentation, seed %llu", d->name, scan_aug_strategy_name(cfg->strategy),
           (unsigned long long)seed);
  scan_grid grid = {.rows = images, .cols = cols, .cells = cells, .row_labels = label_ptrs, .title = title};
  st = scan_grid_write_png(path, &grid);
done:
  free(originals);
  free(pixels);
  free(cells);
  free(labels);
  free(label_ptrs);
  free(captions);
  return st;
}
