/* Bilinear resampling with torchvision's semantics (half-pixel centres,
 * align_corners=False, edge clamping; antialiasing when shrinking, as
 * torchvision's antialias=True / PIL do). Used by the crops of the augmentations,
 * by the val transform and by image-folder loading. */
#ifndef SCAN_RESAMPLE_H
#define SCAN_RESAMPLE_H

#include <stdint.h>

/* Resamples the box (top, left, box_h, box_w) of an HWC uint8 image (src_h x src_w x channels)
 * to out_h x out_w, writing HWC uint8 (rounded, clamped). The box may be fractional.
 * It is crop-then-resize, as torchvision's resized_crop: only the pixels the box
 * touches are read (its edges clamp like image edges). */
void scan_resample_bilinear_u8(const uint8_t *src, int src_h, int src_w, int channels, double top, double left,
                               double box_h, double box_w, uint8_t *dst, int out_h, int out_w, int antialias);

#endif
