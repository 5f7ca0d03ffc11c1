/* Training and evaluation transforms of the SCAN reference (spec §4), on one
 * image at a time: HWC uint8 in, CHW float normalised out.
 *
 *   val      resize the shorter side to out_size when it differs, centre crop, ToTensor, Normalize
 *   standard RandomResizedCrop, horizontal flip, ToTensor, Normalize
 *   simclr   RandomResizedCrop, flip, ColorJitter (p = jitter_p), RandomGrayscale, ToTensor, Normalize
 *   ours     flip, RandomCrop, num_strong_augs ops of the 14 of §4.4, ToTensor, Normalize, Cutout
 *
 * Optional random erasing (erasing_p > 0) and Cutout (cutout_holes > 0) follow
 * the normalisation in every strategy but val. The pixel operations follow PIL's
 * integer semantics (what torchvision and the reference apply to PIL images).
 * All randomness comes from the caller's rng, so a sample's views depend only on
 * (seed, epoch, sample, view), never on threads. Nothing here allocates. */
#ifndef SCAN_AUGMENT_H
#define SCAN_AUGMENT_H

#include <stdint.h>

#include "scan/error.h"
#include "scan/rng.h"

/* At most this many strong ops per image. */
#define SCAN_AUG_MAX_STRONG_OPS 64
/* Largest output side: the working images live on the stack (3 x 512 x 512 bytes each). */
#define SCAN_AUG_MAX_SIZE 512

typedef enum { SCAN_AUG_VAL, SCAN_AUG_STANDARD, SCAN_AUG_SIMCLR, SCAN_AUG_OURS } scan_aug_strategy;

typedef struct {
  scan_aug_strategy strategy;
  int out_size; /* output is out_size x out_size (val: centre-crop/resize; simclr: RRC size; ours: crop_size) */
  double rrc_scale_min, rrc_scale_max, rrc_ratio_min, rrc_ratio_max; /* 0.2, 1.0, 3/4, 4/3 */
  double jitter_p, brightness, contrast, saturation, hue;            /* 0.8, 0.4, 0.4, 0.4, 0.1 */
  double grayscale_p;                                                /* 0.2 */
  int num_strong_augs;                                               /* 4 */
  int cutout_holes, cutout_length;                                   /* 1, 16 (ours); 0 disables */
  int cutout_fixed_length; /* 0: each image's hole side is drawn in [1, cutout_length] (the reference); 1: exactly it */
  /* Random erasing as torchvision's RandomErasing: with probability erasing_p, a
   * box of area fraction U(erasing_min, erasing_max) and log-uniform aspect ratio
   * in [0.3, 3.3] is set to 0 after normalisation (10 attempts, else nothing).
   * The Fashion-MNIST probe's 6-14 px boxes on 28 px images are about 0.05-0.25. */
  double erasing_p, erasing_min, erasing_max;
  int channels;                /* 1 or 3: channels of the input images (output has the same) */
  float mean[3], std[3];       /* normalisation */
} scan_aug_config;

/* Fills the reference defaults of strategy s: RRC scale [0.2, 1], jitter 0.8 x
 * (0.4, 0.4, 0.4, 0.1), grayscale 0.2, 4 strong ops, Cutout only for ours (one
 * hole, length 16 for 32 px as the reference's CIFAR configs: out_size / 2 up to
 * 32 px, else about out_size / 3, which gives STL's 32 and ImageNet's 75), no
 * erasing. Normalisation is mean 0.5, std 0.5 per channel until the caller sets
 * the dataset's constants (spec §4.5). */
void scan_aug_default(scan_aug_config *cfg, scan_aug_strategy s, int out_size, int channels);
/* The reference's Cutout length for out_size x out_size crops: half the side up to 32 px (CIFAR's 16),
 * about a third above (STL's 32 for 96 px, ImageNet's 75 for 224 px). */
int scan_aug_cutout_length(int out_size);

/* Checks a config against images of channels x h x w (sizes, probabilities,
 * ranges); SCAN_ERR_INPUT with a message naming the field otherwise. */
scan_status scan_aug_validate(const scan_aug_config *cfg, int h, int w, int channels);

/* One sample: src HWC uint8 (h x w x channels) -> dst CHW float normalised
 * [channels, out_size, out_size]. The config must have passed scan_aug_validate. */
void scan_augment(const scan_aug_config *cfg, const uint8_t *src, int h, int w, scan_rng *rng, float *dst);

/* The same but stopping before ToTensor/Normalize/Cutout/erasing (for pictures):
 * dst HWC uint8 out_size x out_size x channels. It draws the same random numbers
 * as scan_augment up to that point. */
void scan_augment_u8(const scan_aug_config *cfg, const uint8_t *src, int h, int w, scan_rng *rng, uint8_t *dst);

const char *scan_aug_strategy_name(scan_aug_strategy s);
/* "val", "standard", "simclr", "ours" -> 0 and *out, else -1. */
int scan_aug_strategy_parse(const char *name, scan_aug_strategy *out);

#endif
