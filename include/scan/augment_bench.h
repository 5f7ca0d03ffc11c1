/* Throughput of the augmentations on the calling thread (for `scan bench`:
 * augment_simclr_1core, augment_ours_1core, augment_val_1core). */
#ifndef SCAN_AUGMENT_BENCH_H
#define SCAN_AUGMENT_BENCH_H

#include "scan/augment.h"

/* Augments `images` random size x size x channels images (full scan_augment,
 * float output) and returns images per second. */
double scan_bench_augment(scan_aug_strategy s, int images, int size, int channels);

#endif
