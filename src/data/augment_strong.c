/* The "strong" augmentation of the SCAN reference (spec §4.4): per image,
 * `count` ops drawn with replacement from 14, each with a magnitude
 * v = U[0,1) * (max - min) + min, applied in sequence with PIL semantics. */
#include <string.h>

#include "augment_internal.h"
#include "scan/augment.h"

/* Applies a per-channel 256-entry table to every value. */
static void apply_tables(uint8_t *img, long n, int channels, const uint8_t tables[][256]) {
  if (channels == 1) {
    for (long i = 0; i < n; i++) img[i] = tables[0][img[i]];
    return;
  }
  for (long i = 0; i < n; i++)
    for (int c = 0; c < channels; c++) img[i * channels + c] = tables[c][img[i * channels + c]];
}

static void histograms(const uint8_t *img, long n, int channels, uint32_t hist[][256]) {
  memset(hist, 0, sizeof(uint32_t) * 256 * (size_t)channels);
  for (long i = 0; i < n; i++)
    for (int c = 0; c < channels; c++) hist[c][img[i * channels + c]]++;
}

static void identity_table(uint8_t *table) {
  for (int v = 0; v < 256; v++) table[v] = (uint8_t)v;
}

void aug_autocontrast(uint8_t *img, long n, int channels) {
  /* PIL ImageOps.autocontrast(cutoff=0): per channel, stretch [lo, hi] to [0, 255], truncating. */
  uint32_t hist[3][256];
  uint8_t tables[3][256];
  histograms(img, n, channels, hist);
  for (int c = 0; c < channels; c++) {
    int lo = 0, hi = 255;
    while (lo < 256 && !hist[c][lo]) lo++;
    while (hi >= 0 && !hist[c][hi]) hi--;
    if (hi <= lo) {
      identity_table(tables[c]);
      continue;
    }
    double scale = 255.0 / (hi - lo), offset = -lo * scale;
    for (int v = 0; v < 256; v++) {
      int out = (int)(v * scale + offset); /* Python int(): toward zero */
      tables[c][v] = (uint8_t)(out < 0 ? 0 : out > 255 ? 255 : out);
    }
  }
  apply_tables(img, n, channels, (const uint8_t(*)[256])tables);
}

void aug_equalize(uint8_t *img, long n, int channels) {
  /* PIL ImageOps.equalize: per channel, step = (count - count of the last used value) // 255,
   * table[v] = (step // 2 + pixels below v) // step. */
  uint32_t hist[3][256];
  uint8_t tables[3][256];
  histograms(img, n, channels, hist);
  for (int c = 0; c < channels; c++) {
    long total = 0, used = 0, last = 0;
    for (int v = 0; v < 256; v++)
      if (hist[c][v]) {
        total += hist[c][v];
        last = hist[c][v];
        used++;
      }
    long step = used <= 1 ? 0 : (total - last) / 255;
    if (!step) {
      identity_table(tables[c]);
      continue;
    }
    long acc = step / 2;
    for (int v = 0; v < 256; v++) {
      long out = acc / step;
      tables[c][v] = (uint8_t)(out > 255 ? 255 : out); /* PIL clips the table to bytes */
      acc += hist[c][v];
    }
  }
  apply_tables(img, n, channels, (const uint8_t(*)[256])tables);
}

void aug_solarize(uint8_t *img, long n, int channels, double threshold) {
  uint8_t table[256];
  for (int v = 0; v < 256; v++) table[v] = (uint8_t)(v < threshold ? v : 255 - v);
  for (long i = 0; i < n * channels; i++) img[i] = table[img[i]];
}

void aug_posterize(uint8_t *img, long n, int channels, int bits) {
  uint8_t mask = (uint8_t)~((1 << (8 - bits)) - 1);
  for (long i = 0; i < n * channels; i++) img[i] &= mask;
}

typedef enum {
  OP_IDENTITY, OP_AUTOCONTRAST, OP_EQUALIZE, OP_ROTATE, OP_SOLARIZE, OP_COLOR, OP_CONTRAST, OP_BRIGHTNESS,
  OP_SHARPNESS, OP_SHEAR_X, OP_TRANSLATE_X, OP_TRANSLATE_Y, OP_POSTERIZE, OP_SHEAR_Y, OP_COUNT
} strong_op;

/* Magnitude ranges in the reference's order (spec §4.4 table). */
static const double op_range[OP_COUNT][2] = {
    {0, 1}, {0, 1}, {0, 1}, {-30, 30}, {0, 256}, {0.05, 0.95}, {0.05, 0.95},
    {0.05, 0.95}, {0.05, 0.95}, {-0.1, 0.1}, {-0.1, 0.1}, {-0.1, 0.1}, {4, 8}, {-0.1, 0.1},
};

/* Applies op with magnitude v; the result is in *img (tmp is scratch, buffers may swap). */
static void apply_op(strong_op op, double v, uint8_t **img, uint8_t **tmp, int h, int w, int channels,
                     scan_rng *rng) {
  long n = (long)h * w;
  /* The geometric ops flip the sign of v with probability 1/2. */
  if (op == OP_ROTATE || op == OP_SHEAR_X || op == OP_SHEAR_Y || op == OP_TRANSLATE_X || op == OP_TRANSLATE_Y) {
    if (scan_rng_uniform(rng) > 0.5) v = -v;
  }
  double m[6] = {1, 0, 0, 0, 1, 0};
  switch (op) {
    case OP_IDENTITY: return;
    case OP_AUTOCONTRAST: aug_autocontrast(*img, n, channels); return;
    case OP_EQUALIZE: aug_equalize(*img, n, channels); return;
    case OP_SOLARIZE: aug_solarize(*img, n, channels, v); return;
    case OP_COLOR:
      /* Saturation is the identity on a grey image (its grey version is itself). */
      if (channels == 3) aug_saturation(*img, n, v);
      return;
    case OP_CONTRAST: aug_contrast(*img, n, channels, v); return;
    case OP_BRIGHTNESS: aug_brightness(*img, n, channels, v); return;
    case OP_SHARPNESS: aug_sharpness(*img, *tmp, h, w, channels, v); return;
    case OP_POSTERIZE: aug_posterize(*img, n, channels, (int)v); return;
    case OP_ROTATE: aug_rotate(*img, *tmp, h, w, channels, v); break;
    case OP_SHEAR_X: m[1] = v; aug_affine_nearest(*img, *tmp, h, w, channels, m); break;
    case OP_SHEAR_Y: m[3] = v; aug_affine_nearest(*img, *tmp, h, w, channels, m); break;
    case OP_TRANSLATE_X: m[2] = v * w; aug_affine_nearest(*img, *tmp, h, w, channels, m); break;
    case OP_TRANSLATE_Y: m[5] = v * h; aug_affine_nearest(*img, *tmp, h, w, channels, m); break;
    case OP_COUNT: return;
  }
  uint8_t *swap = *img; /* the geometric ops wrote into tmp */
  *img = *tmp;
  *tmp = swap;
}

void aug_strong_ops(uint8_t *img, uint8_t *tmp, int h, int w, int channels, int count, scan_rng *rng) {
  /* Python's random.choices draws all ops first, then each is applied with its magnitude. */
  strong_op ops[SCAN_AUG_MAX_STRONG_OPS];
  if (count > SCAN_AUG_MAX_STRONG_OPS) count = SCAN_AUG_MAX_STRONG_OPS; /* scan_aug_validate refuses more */
  for (int i = 0; i < count; i++) ops[i] = (strong_op)scan_rng_int(rng, OP_COUNT);
  uint8_t *cur = img, *other = tmp;
  for (int i = 0; i < count; i++) {
    double v = scan_rng_uniform(rng) * (op_range[ops[i]][1] - op_range[ops[i]][0]) + op_range[ops[i]][0];
    apply_op(ops[i], v, &cur, &other, h, w, channels, rng);
  }
  if (cur != img) memcpy(img, cur, (size_t)h * w * channels);
}
