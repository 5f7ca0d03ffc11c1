/* The four strategies of spec §4 assembled from the op families, plus the
 * conversion to a normalised tensor. Working images are on the stack
 * (bounded by SCAN_AUG_MAX_SIZE), so augmenting never allocates. */
#include <math.h>
#include <string.h>

#include "augment_internal.h"
#include "scan/augment.h"

int scan_aug_cutout_length(int out_size) { return out_size <= 32 ? out_size / 2 : (out_size + 1) / 3; }

void scan_aug_default(scan_aug_config *cfg, scan_aug_strategy s, int out_size, int channels) {
  memset(cfg, 0, sizeof *cfg);
  cfg->strategy = s;
  cfg->out_size = out_size;
  cfg->channels = channels;
  cfg->rrc_scale_min = 0.2;
  cfg->rrc_scale_max = 1.0;
  cfg->rrc_ratio_min = 3.0 / 4.0;
  cfg->rrc_ratio_max = 4.0 / 3.0;
  cfg->jitter_p = 0.8;
  cfg->brightness = cfg->contrast = cfg->saturation = 0.4;
  cfg->hue = 0.1;
  cfg->grayscale_p = 0.2;
  cfg->num_strong_augs = 4;
  if (s == SCAN_AUG_OURS) {
    cfg->cutout_holes = 1;
    cfg->cutout_length = scan_aug_cutout_length(out_size);
  }
  cfg->erasing_p = 0.0;
  cfg->erasing_min = 0.02; /* torchvision's RandomErasing defaults, used once erasing_p > 0 */
  cfg->erasing_max = 0.33;
  for (int c = 0; c < 3; c++) {
    cfg->mean[c] = 0.5f;
    cfg->std[c] = 0.5f;
  }
}

const char *scan_aug_strategy_name(scan_aug_strategy s) {
  switch (s) {
    case SCAN_AUG_VAL: return "val";
    case SCAN_AUG_STANDARD: return "standard";
    case SCAN_AUG_SIMCLR: return "simclr";
    case SCAN_AUG_OURS: return "ours";
  }
  return "?";
}

int scan_aug_strategy_parse(const char *name, scan_aug_strategy *out) {
  static const scan_aug_strategy all[] = {SCAN_AUG_VAL, SCAN_AUG_STANDARD, SCAN_AUG_SIMCLR, SCAN_AUG_OURS};
  for (int i = 0; i < 4; i++)
    if (strcmp(name, scan_aug_strategy_name(all[i])) == 0) {
      *out = all[i];
      return 0;
    }
  return -1;
}

static int bad_probability(double p) { return !(p >= 0.0 && p <= 1.0); }

scan_status scan_aug_validate(const scan_aug_config *c, int h, int w, int channels) {
  if (c->strategy < SCAN_AUG_VAL || c->strategy > SCAN_AUG_OURS)
    return scan_fail(SCAN_ERR_INPUT, "augmentation: unknown strategy %d", (int)c->strategy);
  const char *name = scan_aug_strategy_name(c->strategy);
  if (c->out_size < 1 || c->out_size > SCAN_AUG_MAX_SIZE)
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: out_size %d is outside 1..%d", name, c->out_size,
                     SCAN_AUG_MAX_SIZE);
  if (c->channels != 1 && c->channels != 3)
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: channels must be 1 or 3, not %d", name, c->channels);
  if (c->channels != channels)
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: configured for %d channels but the images have %d", name,
                     c->channels, channels);
  if (h < 1 || w < 1) return scan_fail(SCAN_ERR_INPUT, "augmentation %s: empty %dx%d image", name, h, w);
  if (!(c->rrc_scale_min > 0.0 && c->rrc_scale_min <= c->rrc_scale_max))
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: crop scale range [%g, %g] must satisfy 0 < min <= max", name,
                     c->rrc_scale_min, c->rrc_scale_max);
  if (!(c->rrc_ratio_min > 0.0 && c->rrc_ratio_min <= c->rrc_ratio_max))
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: crop ratio range [%g, %g] must satisfy 0 < min <= max", name,
                     c->rrc_ratio_min, c->rrc_ratio_max);
  if (bad_probability(c->jitter_p) || bad_probability(c->grayscale_p) || bad_probability(c->erasing_p))
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: jitter_p, grayscale_p and erasing_p must be in [0, 1]", name);
  if (!(c->brightness >= 0 && c->contrast >= 0 && c->saturation >= 0 && c->hue >= 0 && c->hue <= 0.5))
    return scan_fail(SCAN_ERR_INPUT,
                     "augmentation %s: brightness, contrast and saturation must be >= 0 and hue in [0, 0.5]", name);
  if (c->num_strong_augs < 0 || c->num_strong_augs > SCAN_AUG_MAX_STRONG_OPS)
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: num_strong_augs %d is outside 0..%d", name,
                     c->num_strong_augs, SCAN_AUG_MAX_STRONG_OPS);
  if (c->cutout_holes < 0 || c->cutout_length < 0)
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: cutout holes and length must be >= 0", name);
  if (c->erasing_p > 0 && !(c->erasing_min > 0 && c->erasing_min <= c->erasing_max && c->erasing_max < 1))
    return scan_fail(SCAN_ERR_INPUT, "augmentation %s: erasing scale [%g, %g] must satisfy 0 < min <= max < 1",
                     name, c->erasing_min, c->erasing_max);
  for (int ch = 0; ch < c->channels; ch++)
    if (!(c->std[ch] > 0.0f) || !isfinite(c->mean[ch]))
      return scan_fail(SCAN_ERR_INPUT, "augmentation %s: channel %d has std %g (must be > 0) or a bad mean", name, ch,
                       (double)c->std[ch]);
  return SCAN_OK;
}

/* torchvision Resize(int) on a PIL image: the shorter side becomes `size`, the
 * longer one int(size * long / short). */
static void shorter_side_size(int h, int w, int size, int *new_h, int *new_w) {
  if (h <= w) {
    *new_h = size;
    *new_w = (int)((double)size * w / h);
  } else {
    *new_w = size;
    *new_h = (int)((double)size * h / w);
  }
}

/* val: shorter side to out_size (when it differs), then CenterCrop (offsets rounded half-even, as Python). */
static void val_geometry(const scan_aug_config *cfg, const uint8_t *src, int h, int w, uint8_t *dst) {
  int out = cfg->out_size, nh = h, nw = w;
  if ((h < w ? h : w) != out) shorter_side_size(h, w, out, &nh, &nw);
  double sy = (double)h / nh, sx = (double)w / nw;
  int top = (int)nearbyint((nh - out) / 2.0), left = (int)nearbyint((nw - out) / 2.0);
  aug_resample(src, h, w, cfg->channels, top * sy, left * sx, out * sy, out * sx, dst, out, out, 1, 0, 0);
}

/* ours: flip, then RandomCrop(out_size) (images smaller than out_size first get their
 * shorter side resized to it). Cropping the mirrored image at column j is cropping the
 * original at the mirrored column and mirroring the result: one resampling pass. */
static void ours_geometry(const scan_aug_config *cfg, const uint8_t *src, int h, int w, scan_rng *rng,
                          uint8_t *dst) {
  int out = cfg->out_size, nh = h, nw = w;
  int flip = scan_rng_uniform(rng) < 0.5;
  if ((h < w ? h : w) < out) shorter_side_size(h, w, out, &nh, &nw);
  int top = scan_rng_int(rng, nh - out + 1), left = scan_rng_int(rng, nw - out + 1);
  if (flip) left = nw - left - out;
  double sy = (double)h / nh, sx = (double)w / nw;
  aug_resample(src, h, w, cfg->channels, top * sy, left * sx, out * sy, out * sx, dst, out, out, 1, flip, 0);
}

/* RandomResizedCrop then RandomHorizontalFlip, fused. */
static void rrc_flip(const scan_aug_config *cfg, const uint8_t *src, int h, int w, scan_rng *rng, uint8_t *dst) {
  aug_box box = aug_rrc_box(rng, h, w, cfg->rrc_scale_min, cfg->rrc_scale_max, cfg->rrc_ratio_min,
                            cfg->rrc_ratio_max);
  int flip = scan_rng_uniform(rng) < 0.5;
  aug_resample(src, h, w, cfg->channels, box.top, box.left, box.height, box.width, dst, cfg->out_size,
               cfg->out_size, 1, flip, 1);
}

/* torchvision ColorJitter on PIL images, applied with probability jitter_p, then
 * RandomGrayscale. On grey input, saturation, hue and grayscale are identities
 * (a grey image has no chroma to scale or rotate, and is its own grey version),
 * so they are skipped; their random numbers are still drawn, so the stream of a
 * sample does not depend on the channel count. */
static void colour_jitter(const scan_aug_config *cfg, uint8_t *img, scan_rng *rng) {
  long n = (long)cfg->out_size * cfg->out_size;
  int rgb = cfg->channels == 3;
  if (scan_rng_uniform(rng) < cfg->jitter_p) {
    int32_t order[4] = {0, 1, 2, 3};
    scan_rng_shuffle(rng, order, 4);
    double b = scan_rng_range(rng, fmax(0.0, 1.0 - cfg->brightness), 1.0 + cfg->brightness);
    double c = scan_rng_range(rng, fmax(0.0, 1.0 - cfg->contrast), 1.0 + cfg->contrast);
    double s = scan_rng_range(rng, fmax(0.0, 1.0 - cfg->saturation), 1.0 + cfg->saturation);
    double hshift = scan_rng_range(rng, -cfg->hue, cfg->hue);
    for (int k = 0; k < 4; k++) {
      switch (order[k]) {
        case 0: if (cfg->brightness > 0) aug_brightness(img, n, cfg->channels, b); break;
        case 1: if (cfg->contrast > 0) aug_contrast(img, n, cfg->channels, c); break;
        case 2: if (rgb && cfg->saturation > 0) aug_saturation(img, n, s); break;
        default: if (rgb && cfg->hue > 0) aug_hue(img, n, hshift); break;
      }
    }
  }
  if (scan_rng_uniform(rng) < cfg->grayscale_p && rgb) aug_grayscale(img, n);
}

void scan_augment_u8(const scan_aug_config *cfg, const uint8_t *src, int h, int w, scan_rng *rng, uint8_t *dst) {
  switch (cfg->strategy) {
    case SCAN_AUG_VAL:
      val_geometry(cfg, src, h, w, dst);
      return;
    case SCAN_AUG_STANDARD:
      rrc_flip(cfg, src, h, w, rng, dst);
      return;
    case SCAN_AUG_SIMCLR:
      rrc_flip(cfg, src, h, w, rng, dst);
      colour_jitter(cfg, dst, rng);
      return;
    case SCAN_AUG_OURS: {
      ours_geometry(cfg, src, h, w, rng, dst);
      uint8_t tmp[(size_t)cfg->out_size * cfg->out_size * cfg->channels];
      aug_strong_ops(dst, tmp, cfg->out_size, cfg->out_size, cfg->channels, cfg->num_strong_augs, rng);
      return;
    }
  }
}

/* ToTensor + Normalize: ((v / 255) - mean) / std in float, as torchvision computes
 * it, through one 256-entry table per channel; HWC -> CHW. */
static void to_tensor_normalize(const scan_aug_config *cfg, const uint8_t *img, float *dst) {
  int channels = cfg->channels;
  long n = (long)cfg->out_size * cfg->out_size;
  float table[3][256];
  for (int c = 0; c < channels; c++)
    for (int v = 0; v < 256; v++) table[c][v] = ((float)v / 255.0f - cfg->mean[c]) / cfg->std[c];
  if (channels == 1) {
    for (long i = 0; i < n; i++) dst[i] = table[0][img[i]];
    return;
  }
  for (long i = 0; i < n; i++) {
    dst[i] = table[0][img[3 * i]];
    dst[n + i] = table[1][img[3 * i + 1]];
    dst[2 * n + i] = table[2][img[3 * i + 2]];
  }
}

void scan_augment(const scan_aug_config *cfg, const uint8_t *src, int h, int w, scan_rng *rng, float *dst) {
  int out = cfg->out_size;
  uint8_t img[(size_t)out * out * cfg->channels];
  scan_augment_u8(cfg, src, h, w, rng, img);
  to_tensor_normalize(cfg, img, dst);
  if (cfg->strategy == SCAN_AUG_VAL) return;
  aug_cutout(dst, cfg->channels, out, out, cfg->cutout_holes, cfg->cutout_length, cfg->cutout_fixed_length, rng);
  aug_random_erasing(dst, cfg->channels, out, out, cfg->erasing_p, cfg->erasing_min, cfg->erasing_max, rng);
}
