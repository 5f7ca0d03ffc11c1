/* Colour operations with PIL's integer semantics: ImageEnhance (Brightness,
 * Contrast, Color, Sharpness) is Image.blend(degenerate, image, factor), which
 * computes in float and truncates; torchvision's ColorJitter on PIL images calls
 * exactly these, and its hue shift goes through PIL's HSV conversion. */
#include <math.h>
#include <string.h>

#include "augment_internal.h"

/* PIL's Image.blend(a, b, alpha) for one value: float arithmetic, clipped, truncated
 * (written with selects, so loops over it vectorise). */
VECTORISE_SELECTS static inline uint8_t blend(int a, int b, float alpha) {
  float t = (float)a + alpha * (float)(b - a);
  t = t <= 0.0f ? 0.0f : t;
  t = t >= 255.0f ? 255.0f : t;
  return (uint8_t)(int)t;
}

uint8_t aug_luma(const uint8_t *rgb) {
  /* ITU-R 601-2 in PIL's 16-bit fixed point, rounded. */
  return (uint8_t)((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

/* Vectorised, computing each blend costs less than a 256-entry table (build and lookups). */
VECTORISE_SELECTS static void blend_with_constant(uint8_t *img, long values, int constant, double factor) {
  float alpha = (float)factor;
  for (long i = 0; i < values; i++) img[i] = blend(constant, img[i], alpha);
}

/* The sum of the grey values of n RGB pixels (integer, so vectorising changes nothing). */
VECTORISE_SELECTS static uint64_t luma_sum(const uint8_t *rgb, long n) {
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) sum += aug_luma(rgb + 3 * i);
  return sum;
}

void aug_brightness(uint8_t *img, long n, int channels, double factor) {
  blend_with_constant(img, n * channels, 0, factor);
}

void aug_contrast(uint8_t *img, long n, int channels, double factor) {
  /* The degenerate image is the mean of the grey image, rounded (ImageStat on convert("L")). */
  uint64_t sum = 0;
  if (channels == 3) {
    sum = luma_sum(img, n);
  } else {
    for (long i = 0; i < n; i++) sum += img[i];
  }
  int mean = (int)((double)sum / (double)n + 0.5);
  blend_with_constant(img, n * channels, mean, factor);
}

/* Each pixel's grey value, written three times (one per channel) so that the
 * blend below is a plain elementwise loop. */
VECTORISE_SELECTS static void luma_triples(const uint8_t *restrict rgb, int n, uint8_t *restrict grey3) {
  for (int k = 0; k < n; k++) {
    uint8_t grey = aug_luma(rgb + 3 * k);
    grey3[3 * k] = grey3[3 * k + 1] = grey3[3 * k + 2] = grey;
  }
}

VECTORISE_SELECTS static void blend_values(uint8_t *restrict img, const uint8_t *restrict base, int n, float alpha) {
  for (int i = 0; i < n; i++) img[i] = blend(base[i], img[i], alpha);
}

void aug_saturation(uint8_t *img, long n, double factor) {
  enum { BLOCK = 256 };
  uint8_t grey3[3 * BLOCK];
  for (long start = 0; start < n; start += BLOCK) {
    int count = n - start < BLOCK ? (int)(n - start) : BLOCK;
    luma_triples(img + 3 * start, count, grey3);
    blend_values(img + 3 * start, grey3, 3 * count, (float)factor);
  }
}

void aug_grayscale(uint8_t *img, long n) {
  for (long i = 0; i < n; i++) {
    uint8_t *p = img + 3 * i;
    p[0] = p[1] = p[2] = aug_luma(p);
  }
}

/* The hue byte of PIL's rgb2hsv_row (Convert.c) for n pixels, with its float/double
 * mix kept as written there, but branch-free so the compiler can vectorise the
 * divisions (saturation and value come from saturation_value_bytes). */
VECTORISE_SELECTS static void hue_bytes(const uint8_t *restrict rgb, int n, uint8_t *restrict hue) {
  for (int i = 0; i < n; i++) {
    int r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    int maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
    float cr = (float)(maxc - minc > 0 ? maxc - minc : 1);
    float rc = (float)(maxc - r) / cr, gc = (float)(maxc - g) / cr, bc = (float)(maxc - b) / cr;
    float h_r = bc - gc, h_g = (float)(2.0 + rc - bc), h_b = (float)(4.0 + gc - rc);
    float h = r == maxc ? h_r : (g == maxc ? h_g : h_b);
    /* fmod(h / 6 + 1, 1) without the library call: h is in [-1, 5], so the
     * argument is in (0, 2) and subtracting 1 is exact. */
    double turns = h / 6.0 + 1.0;
    float hf = (float)(turns >= 1.0 ? turns - 1.0 : turns);
    int byte = (int)(hf * 255.0);
    hue[i] = (uint8_t)(maxc == minc ? 0 : byte > 255 ? 255 : byte);
  }
}

/* PIL's hsv2rgb (Convert.c) for n pixels given as separate h, s, v bytes, writing
 * interleaved RGB. The sector switch is a chain of two-way selects, one per sector
 * and channel: GCC if-converts (and so vectorises) those, not a switch or nested
 * many-way conditionals. */
VECTORISE_SELECTS static void hsv_to_rgb(const uint8_t *restrict hue, const uint8_t *restrict sat,
                                         const uint8_t *restrict val, int n, uint8_t *restrict rgb) {
  for (int k = 0; k < n; k++) {
    int h = hue[k], s = sat[k], v = val[k];
    /* Everything below is >= 0, so truncation is floor and +0.5 truncation is round(). */
    double sector = (float)h * 6.0 / 255.0;
    int i = (int)sector;
    float f = (float)(sector - (float)i);
    float fs = (float)(((float)s) / 255.0);
    int p = (int)((float)v * (1.0 - fs) + 0.5);
    int q = (int)((float)v * (1.0 - fs * f) + 0.5);
    int t = (int)((float)v * (1.0 - fs * (1.0 - f)) + 0.5);
    p = p > 255 ? 255 : p;
    q = q > 255 ? 255 : q;
    t = t > 255 ? 255 : t;
    i = i == 6 ? 0 : i; /* i % 6 */
    int r = v, g = t, b = p; /* sector 0 */
    r = i == 1 ? q : r;
    g = i == 1 ? v : g;
    r = i == 2 ? p : r;
    g = i == 2 ? v : g;
    b = i == 2 ? t : b;
    r = i == 3 ? p : r;
    g = i == 3 ? q : g;
    b = i == 3 ? v : b;
    r = i == 4 ? t : r;
    g = i == 4 ? p : g;
    b = i == 4 ? v : b;
    g = i == 5 ? p : g;
    b = i == 5 ? q : b;
    rgb[3 * k] = (uint8_t)(s == 0 ? v : r);
    rgb[3 * k + 1] = (uint8_t)(s == 0 ? v : g);
    rgb[3 * k + 2] = (uint8_t)(s == 0 ? v : b);
  }
}

/* The saturation and value bytes of rgb2hsv_row: clip8((int)(cr / maxc * 255.0)) and max. */
VECTORISE_SELECTS static void saturation_value_bytes(const uint8_t *restrict rgb, int n, uint8_t *restrict sat,
                                                     uint8_t *restrict val) {
  for (int k = 0; k < n; k++) {
    int r = rgb[3 * k], g = rgb[3 * k + 1], b = rgb[3 * k + 2];
    int mx = r > g ? r : g, mn = r < g ? r : g;
    mx = mx > b ? mx : b;
    mn = mn < b ? mn : b;
    float s = (float)(mx - mn) / (float)(mx > 0 ? mx : 1);
    int byte = (int)(s * 255.0);
    sat[k] = (uint8_t)(byte > 255 ? 255 : byte);
    val[k] = (uint8_t)mx;
  }
}

void aug_hue(uint8_t *img, long n, double shift) {
  /* torchvision adds np.uint8(shift * 255) to the hue byte with wrap-around;
   * the float-to-int conversion truncates toward zero. */
  int step = (int)(shift * 255.0);
  enum { BLOCK = 256 };
  uint8_t hue[BLOCK], sat[BLOCK], val[BLOCK];
  for (long start = 0; start < n; start += BLOCK) {
    int count = n - start < BLOCK ? (int)(n - start) : BLOCK;
    uint8_t *block = img + 3 * start;
    hue_bytes(block, count, hue);
    saturation_value_bytes(block, count, sat, val);
    for (int k = 0; k < count; k++) hue[k] = (uint8_t)((hue[k] + step) & 255);
    hsv_to_rgb(hue, sat, val, count, block);
  }
}

void aug_sharpness(uint8_t *img, uint8_t *tmp, int h, int w, int channels, double factor) {
  /* Degenerate image: PIL's SMOOTH filter, kernel [1 1 1; 1 5 1; 1 1 1] / 13,
   * rounded; the outermost rows and columns are copied unchanged. */
  memcpy(tmp, img, (size_t)h * w * channels);
  const float k1 = 1.0f / 13.0f, k5 = 5.0f / 13.0f;
  long stride = (long)w * channels;
  for (int y = 1; y < h - 1; y++) {
    for (int x = 1; x < w - 1; x++) {
      for (int c = 0; c < channels; c++) {
        const uint8_t *p = img + y * stride + (long)x * channels + c;
        float around = (float)(p[-stride - channels] + p[-stride] + p[-stride + channels] + p[-channels] +
                               p[channels] + p[stride - channels] + p[stride] + p[stride + channels]);
        float s = 0.5f + around * k1 + (float)p[0] * k5;
        tmp[y * stride + (long)x * channels + c] = s <= 0.0f ? 0 : s >= 255.0f ? 255 : (uint8_t)s;
      }
    }
  }
  float alpha = (float)factor;
  long values = (long)h * stride;
  for (long i = 0; i < values; i++) img[i] = blend(tmp[i], img[i], alpha);
}
