/* The picture behind `scan data show --augment simclr|ours`: each row is one
 * dataset image followed by `views` random augmentations of it (PNG). */
#ifndef SCAN_AUGMENT_SHEET_H
#define SCAN_AUGMENT_SHEET_H

#include <stdint.h>

#include "scan/augment.h"
#include "scan/dataset.h"
#include "scan/error.h"

/* Rows are `images` samples spread evenly over the dataset (index i * count / images),
 * labelled with their class name (or index); column v is the view the loader's first
 * view would give that sample in epoch v - 1 with this seed: the u8 image before
 * normalisation (Cutout and erasing happen after it, so they do not show). */
scan_status scan_augment_sheet_png(const char *path, const scan_dataset *d, const scan_aug_config *cfg, int images,
                                   int views, uint64_t seed);

#endif
