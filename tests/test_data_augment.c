/* The augmentation ops on small images against hand-computed expectations, and
 * the pipelines' invariants (normalisation constants, flips, crop boxes, channel
 * independence of the random stream). White-box: the single ops are internal to
 * the data module (src/data/augment_internal.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/data/augment_internal.h"
#include "scan/augment.h"
#include "scan/resample.h"
#include "testlib.h"

static const float cifar10_mean[3] = {0.4914f, 0.4822f, 0.4465f}, cifar10_std[3] = {0.2023f, 0.1994f, 0.2010f};

static void fill_random(uint8_t *p, long n, uint64_t seed) {
  scan_rng r = scan_rng_make(seed, 1, 2);
  for (long i = 0; i < n; i++) p[i] = (uint8_t)scan_rng_int(&r, 256);
}

static void test_normalise_val(void) {
  enum { S = 32 };
  uint8_t img[S * S * 3];
  float out[3 * S * S];
  scan_aug_config cfg;
  scan_aug_default(&cfg, SCAN_AUG_VAL, S, 3);
  memcpy(cfg.mean, cifar10_mean, sizeof cfg.mean);
  memcpy(cfg.std, cifar10_std, sizeof cfg.std);
  CHECK(scan_aug_validate(&cfg, S, S, 3) == SCAN_OK);
  memset(img, 128, sizeof img);
  scan_rng rng = scan_rng_make(1, 0, 0);
  scan_augment(&cfg, img, S, S, &rng, out);
  for (int c = 0; c < 3; c++) {
    double expected = (128.0 / 255.0 - cifar10_mean[c]) / cifar10_std[c];
    int all = 1;
    for (int i = 0; i < S * S; i++) all &= fabs(out[c * S * S + i] - expected) < 1e-5;
    CHECK_MSG(all, "channel %d: %g, expected %g", c, out[c * S * S], expected);
  }
  /* CHW layout and the identity geometry: pixel (y, x, c) lands at [c][y][x]. */
  fill_random(img, sizeof img, 5);
  scan_augment(&cfg, img, S, S, &rng, out);
  int layout = 1;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      for (int c = 0; c < 3; c++) {
        double expected = (img[(y * S + x) * 3 + c] / 255.0 - cifar10_mean[c]) / cifar10_std[c];
        layout &= fabs(out[(c * S + y) * S + x] - expected) < 1e-5;
      }
  CHECK(layout);
}

static void test_val_resize_and_crop(void) {
  /* 40 x 48 -> 32: torchvision Resize(32) gives 32 x 38 (int(32 * 48 / 40)), then the
   * centre crop starts at column round(6 / 2) = 3. */
  enum { H = 40, W = 48, S = 32, NW = 38 };
  uint8_t img[H * W * 3], resized[S * NW * 3], out[S * S * 3];
  fill_random(img, sizeof img, 11);
  scan_resample_bilinear_u8(img, H, W, 3, 0, 0, H, W, resized, S, NW, 1);
  scan_aug_config cfg;
  scan_aug_default(&cfg, SCAN_AUG_VAL, S, 3);
  scan_rng rng = scan_rng_make(1, 0, 0);
  scan_augment_u8(&cfg, img, H, W, &rng, out);
  int worst = 0;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      for (int c = 0; c < 3; c++) {
        int d = abs(out[(y * S + x) * 3 + c] - resized[(y * NW + x + 3) * 3 + c]);
        if (d > worst) worst = d;
      }
  CHECK_MSG(worst <= 1, "val resize+crop differs from resize then crop by %d", worst);
}

static void test_flip(void) {
  /* RRC with scale and ratio fixed at 1 takes the whole square image: each output
   * is the image or its mirror, and both occur. */
  enum { S = 8 };
  uint8_t img[S * S * 3], mirror[S * S * 3], out[S * S * 3];
  fill_random(img, sizeof img, 3);
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) memcpy(mirror + (y * S + x) * 3, img + (y * S + S - 1 - x) * 3, 3);
  scan_aug_config cfg;
  scan_aug_default(&cfg, SCAN_AUG_STANDARD, S, 3);
  cfg.rrc_scale_min = cfg.rrc_scale_max = 1.0;
  cfg.rrc_ratio_min = cfg.rrc_ratio_max = 1.0;
  int plain = 0, flipped = 0, other = 0;
  for (int i = 0; i < 200; i++) {
    scan_rng rng = scan_rng_make(9, 0, (uint64_t)i);
    scan_augment_u8(&cfg, img, S, S, &rng, out);
    if (memcmp(out, img, sizeof out) == 0) plain++;
    else if (memcmp(out, mirror, sizeof out) == 0) flipped++;
    else other++;
  }
  CHECK(other == 0);
  CHECK_MSG(plain > 70 && flipped > 70, "plain %d flipped %d of 200", plain, flipped);
}

static void test_rrc_boxes(void) {
  enum { H = 32, W = 32, N = 20000 };
  int inside = 1, in_bounds = 1, fallbacks = 0, small = 0, large = 0;
  for (int i = 0; i < N; i++) {
    scan_rng rng = scan_rng_make(4, 0, (uint64_t)i);
    aug_box b = aug_rrc_box(&rng, H, W, 0.2, 1.0, 3.0 / 4.0, 4.0 / 3.0);
    inside &= b.top >= 0 && b.left >= 0 && b.top + b.height <= H && b.left + b.width <= W && b.height > 0 &&
              b.width > 0;
    double area = (double)b.height * b.width / (H * W), ratio = (double)b.width / b.height;
    if (b.height == H && b.width == W) fallbacks++;
    /* Sides are rounded to whole pixels, so allow half a pixel on each. */
    double lo_area = 0.2 * (1 - 1.0 / 32) * (1 - 1.0 / 32) * 0.9;
    in_bounds &= area >= lo_area && area <= 1.0 && ratio >= 0.75 * (1 - 0.1) && ratio <= 4.0 / 3.0 * 1.1;
    if (area < 0.3) small++;
    if (area > 0.9) large++;
  }
  CHECK(inside);
  CHECK(in_bounds);
  CHECK_MSG(small > N / 20 && large > N / 100, "small %d large %d", small, large);
  /* The fallback: a 100 x 10 strip cannot hold a box of ratio 1 and area >= 90%,
   * so the centre crop of ratio 1 is used: 10 x 10 at row (100 - 10) / 2 = 45. */
  scan_rng rng = scan_rng_make(4, 1, 1);
  aug_box b = aug_rrc_box(&rng, 100, 10, 0.9, 1.0, 1.0, 1.0);
  CHECK(b.height == 10 && b.width == 10 && b.top == 45 && b.left == 0);
  (void)fallbacks;
}

static void test_pixel_luts(void) {
  uint8_t v[6] = {0, 100, 127, 128, 200, 255};
  uint8_t s[6];
  memcpy(s, v, 6);
  aug_solarize(s, 6, 1, 128.0); /* invert values >= 128 */
  CHECK(s[0] == 0 && s[1] == 100 && s[2] == 127 && s[3] == 127 && s[4] == 55 && s[5] == 0);
  memcpy(s, v, 6);
  aug_posterize(s, 6, 1, 4); /* keep the top 4 bits */
  CHECK(s[0] == 0 && s[1] == 96 && s[2] == 112 && s[3] == 128 && s[4] == 192 && s[5] == 240);
  /* Autocontrast: [50, 150] -> [0, 255] with scale 2.55, truncated: 100 -> 127. */
  uint8_t a[3] = {50, 100, 150};
  aug_autocontrast(a, 3, 1);
  CHECK(a[0] == 0 && a[1] == 127 && a[2] == 255);
  /* Per channel: an RGB image whose channels have different ranges (PIL gives
   * [[0 0 7] [255 254 7]]: 200 * (255.0 / 200) is just below 255 in double; a
   * constant channel is left alone). */
  uint8_t rgb[6] = {10, 0, 7, 20, 200, 7};
  aug_autocontrast(rgb, 2, 3);
  CHECK(rgb[0] == 0 && rgb[3] == 255 && rgb[1] == 0 && rgb[4] == 254 && rgb[2] == 7 && rgb[5] == 7);
  /* Equalize, PIL's rule: histogram {10: 2, 20: 1, 30: 1}, step = (4 - 1) // 255 = 0 -> unchanged;
   * 510 pixels at 0 and 255 at 9 and 255 at 200: step = (1020 - 255) // 255 = 3,
   * table[0] = 1 // 3 = 0, table[9] = (1 + 510) // 3 = 170, table[200] = (1 + 765) // 3 = 255. */
  uint8_t e[4] = {10, 10, 20, 30};
  aug_equalize(e, 4, 1);
  CHECK(e[0] == 10 && e[2] == 20 && e[3] == 30);
  uint8_t *big = malloc(1020);
  memset(big, 0, 510);
  memset(big + 510, 9, 255);
  memset(big + 765, 200, 255);
  aug_equalize(big, 1020, 1);
  CHECK(big[0] == 0 && big[510] == 170 && big[765] == 255);
  free(big);
}

static void test_colour(void) {
  uint8_t p[6] = {201, 10, 0, 255, 128, 3};
  aug_brightness(p, 2, 3, 0.5); /* PIL blend with black truncates: 100.5 -> 100 */
  CHECK(p[0] == 100 && p[1] == 5 && p[2] == 0 && p[3] == 127 && p[4] == 64 && p[5] == 1);
  uint8_t q[2] = {100, 200};
  aug_brightness(q, 2, 1, 1.5); /* extrapolation clips */
  CHECK(q[0] == 150 && q[1] == 255);
  /* Contrast blends with the rounded grey mean: mean(50, 150) = 100; factor 0.5 -> 75, 125. */
  uint8_t c[2] = {50, 150};
  aug_contrast(c, 2, 1, 0.5);
  CHECK(c[0] == 75 && c[1] == 125);
  /* Grey of pure red by PIL's L = (19595 R + 38470 G + 7471 B + 32768) >> 16. */
  uint8_t red[3] = {255, 0, 0};
  CHECK(aug_luma(red) == 76);
  aug_grayscale(red, 1);
  CHECK(red[0] == 76 && red[1] == 76 && red[2] == 76);
  /* Saturation 0 is the grey image; 1 is the identity. */
  uint8_t col[3] = {200, 50, 20};
  uint8_t grey = aug_luma(col);
  aug_saturation(col, 1, 0.0);
  CHECK(col[0] == grey && col[1] == grey && col[2] == grey);
  uint8_t keep[3] = {200, 50, 20};
  aug_saturation(keep, 1, 1.0);
  CHECK(keep[0] == 200 && keep[1] == 50 && keep[2] == 20);
  /* Hue: pure red shifted by 0.3 turn. The hue byte 0 + int(0.3 * 255) = 76 ->
   * sector 76 * 6 / 255 = 1.788: (q, v, p) with f = 0.788: q = round(255 (1 - 0.788)) = 54
   * (PIL + torchvision's adjust_hue give (54, 255, 0) too). */
  uint8_t h[3] = {255, 0, 0};
  aug_hue(h, 1, 0.3);
  CHECK_MSG(h[0] == 54 && h[1] == 255 && h[2] == 0, "got %d %d %d", h[0], h[1], h[2]);
  /* Grey pixels have no hue: unchanged by any shift. */
  uint8_t g[3] = {90, 90, 90};
  aug_hue(g, 1, 0.1);
  CHECK(g[0] == 90 && g[1] == 90 && g[2] == 90);
}

static void test_sharpness(void) {
  /* 3 x 3 with one bright centre: SMOOTH gives round(5 * 130 / 13) = 50 there and keeps
   * the border; factor 0 returns that degenerate image, 1 the original, 2 extrapolates. */
  uint8_t img[9] = {0, 0, 0, 0, 130, 0, 0, 0, 0}, tmp[9];
  uint8_t a[9];
  memcpy(a, img, 9);
  aug_sharpness(a, tmp, 3, 3, 1, 0.0);
  CHECK(a[4] == 50 && a[0] == 0 && a[1] == 0);
  memcpy(a, img, 9);
  aug_sharpness(a, tmp, 3, 3, 1, 1.0);
  CHECK(memcmp(a, img, 9) == 0);
  memcpy(a, img, 9);
  aug_sharpness(a, tmp, 3, 3, 1, 2.0); /* 50 + 2 (130 - 50) = 210 */
  CHECK(a[4] == 210);
}

static void test_geometry(void) {
  enum { S = 4 };
  uint8_t img[S * S], out[S * S];
  for (int i = 0; i < S * S; i++) img[i] = (uint8_t)(i + 1);
  /* 90 degrees counter-clockwise: out(x, y) = in(3 - y, x), i.e. the top row is the right column. */
  aug_rotate(img, out, S, S, 1, 90.0);
  int ok = 1;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) ok &= out[y * S + x] == img[x * S + (S - 1 - y)];
  CHECK(ok);
  /* 180 degrees: point reflection. */
  aug_rotate(img, out, S, S, 1, 180.0);
  ok = 1;
  for (int i = 0; i < S * S; i++) ok &= out[i] == img[S * S - 1 - i];
  CHECK(ok);
  /* A small rotation keeps the centre and blackens corners: 30 degrees on 9 x 9. */
  uint8_t white[81], rot[81];
  memset(white, 255, sizeof white);
  aug_rotate(white, rot, 9, 9, 1, 30.0);
  CHECK(rot[4 * 9 + 4] == 255 && rot[0] == 0 && rot[80] == 0);
  /* ShearX 0.5: input x = floor(x + 0.5 + 0.5 (y + 0.5)) -> shifts 0, 1, 1, 2 by row, black beyond. */
  double shear[6] = {1, 0.5, 0, 0, 1, 0};
  aug_affine_nearest(img, out, S, S, 1, shear);
  const int shift[S] = {0, 1, 1, 2};
  ok = 1;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) {
      int xin = x + shift[y];
      ok &= out[y * S + x] == (xin < S ? img[y * S + xin] : 0);
    }
  CHECK(ok);
  /* ShearY -0.5: input y = floor(y + 0.5 - 0.5 (x + 0.5)). */
  double shear_y[6] = {1, 0, 0, -0.5, 1, 0};
  aug_affine_nearest(img, out, S, S, 1, shear_y);
  ok = 1;
  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++) {
      int yin = (int)floor(y + 0.5 - 0.5 * (x + 0.5));
      ok &= out[y * S + x] == (yin >= 0 ? img[yin * S + x] : 0);
    }
  CHECK(ok);
  /* TranslateX by 1.0 px reads x + 1; TranslateY by -1.6 px reads floor(y + 0.5 - 1.6) = y - 2. */
  double tx[6] = {1, 0, 1.0, 0, 1, 0}, ty[6] = {1, 0, 0, 0, 1, -1.6};
  aug_affine_nearest(img, out, S, S, 1, tx);
  CHECK(out[0] == img[1] && out[S - 1] == 0 && out[S] == img[S + 1]);
  aug_affine_nearest(img, out, S, S, 1, ty);
  CHECK(out[0] == 0 && out[S] == 0 && out[2 * S] == img[0] && out[3 * S + 3] == img[S + 3]);
}

enum { HOLE_S = 32, HOLE_C = 3 };

/* Cuts one hole in an all-ones tensor and checks it against the same draws made by hand: the side (in
 * [1, length] unless fixed_length), the centre, a half-open box clipped to the image, zero in every channel. */
static void check_one_hole(uint64_t trial, int length, int fixed_length) {
  enum { S = HOLE_S, C = HOLE_C };
  float t[C * S * S];
  for (int i = 0; i < C * S * S; i++) t[i] = 1.0f;
  scan_rng rng = scan_rng_make(77, (uint64_t)fixed_length, trial), replay = rng;
  aug_cutout(t, C, S, S, 1, length, fixed_length, &rng);
  int side = fixed_length ? length : 1 + scan_rng_int(&replay, length);
  int cy = scan_rng_int(&replay, S), cx = scan_rng_int(&replay, S);
  int y0 = cy - side / 2 < 0 ? 0 : cy - side / 2, y1 = cy + side / 2 > S ? S : cy + side / 2;
  int x0 = cx - side / 2 < 0 ? 0 : cx - side / 2, x1 = cx + side / 2 > S ? S : cx + side / 2;
  int ok = 1, zeros = 0;
  for (int c = 0; c < C; c++)
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++) {
        int in_hole = y >= y0 && y < y1 && x >= x0 && x < x1;
        ok &= t[(c * S + y) * S + x] == (in_hole ? 0.0f : 1.0f);
        zeros += t[(c * S + y) * S + x] == 0.0f;
      }
  CHECK_MSG(ok, "trial %d: hole rows [%d, %d) cols [%d, %d)", (int)trial, y0, y1, x0, x1);
  /* A fixed side away from the border cuts exactly length x length pixels per channel. */
  if (fixed_length && cy >= length / 2 && cx >= length / 2 && cy + length / 2 <= S && cx + length / 2 <= S)
    CHECK_MSG(zeros == C * length * length, "trial %d: %d zeros", (int)trial, zeros);
}

static void test_cutout_and_erasing(void) {
  enum { S = HOLE_S, C = HOLE_C };
  float t[C * S * S];
  for (int trial = 0; trial < 50; trial++) check_one_hole((uint64_t)trial, 16, 0);
  /* cutout_kwargs.random: false */
  for (int trial = 0; trial < 50; trial++) check_one_hole((uint64_t)trial, 10, 1);
  /* Erasing with p = 1: one rectangle of zeros, area fraction about [0.1, 0.2]. */
  for (int trial = 0; trial < 20; trial++) {
    for (int i = 0; i < C * S * S; i++) t[i] = 1.0f;
    scan_rng rng = scan_rng_make(78, 0, (uint64_t)trial);
    aug_random_erasing(t, C, S, S, 1.0, 0.1, 0.2, &rng);
    int zeros = 0, ymin = S, ymax = -1, xmin = S, xmax = -1;
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++)
        if (t[y * S + x] == 0.0f) {
          zeros++;
          if (y < ymin) ymin = y;
          if (y > ymax) ymax = y;
          if (x < xmin) xmin = x;
          if (x > xmax) xmax = x;
        }
    int rectangle = zeros == (ymax - ymin + 1) * (xmax - xmin + 1);
    int same_in_all_channels = 1;
    for (int i = 0; i < S * S; i++) same_in_all_channels &= t[i] == t[S * S + i] && t[i] == t[2 * S * S + i];
    CHECK(rectangle && same_in_all_channels);
    CHECK_MSG(zeros >= 0.07 * S * S && zeros <= 0.25 * S * S, "erased %d pixels", zeros);
  }
}

/* A grey image and the same image as RGB: every op draws the same numbers, and
 * saturation, hue and grayscale leave grey RGB pixels unchanged, so each RGB
 * channel must equal the grey result. */
static void test_grey_matches_rgb(scan_aug_strategy s) {
  enum { S = 28 };
  uint8_t grey[S * S], rgb[S * S * 3], out_grey[S * S], out_rgb[S * S * 3];
  fill_random(grey, sizeof grey, 21);
  for (int i = 0; i < S * S; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = grey[i];
  scan_aug_config cg, cr;
  scan_aug_default(&cg, s, S, 1);
  scan_aug_default(&cr, s, S, 3);
  int same = 1;
  for (int i = 0; i < 200; i++) {
    scan_rng r1 = scan_rng_make(5, 2, (uint64_t)i), r3 = r1;
    scan_augment_u8(&cg, grey, S, S, &r1, out_grey);
    scan_augment_u8(&cr, rgb, S, S, &r3, out_rgb);
    for (int p = 0; p < S * S; p++)
      same &= out_rgb[3 * p] == out_grey[p] && out_rgb[3 * p + 1] == out_grey[p] && out_rgb[3 * p + 2] == out_grey[p];
    same &= scan_rng_next(&r1) == scan_rng_next(&r3); /* the streams stayed in step */
  }
  CHECK_MSG(same, "strategy %s: grey and RGB differ", scan_aug_strategy_name(s));
}

static void test_determinism_and_validation(void) {
  enum { S = 32 };
  uint8_t img[S * S * 3];
  float a[3 * S * S], b[3 * S * S];
  fill_random(img, sizeof img, 8);
  scan_aug_config cfg;
  scan_aug_default(&cfg, SCAN_AUG_OURS, S, 3);
  CHECK(cfg.cutout_holes == 1 && cfg.cutout_length == 16);
  scan_rng r1 = scan_rng_make(3, 1, 4), r2 = r1, r3 = scan_rng_make(3, 1, 5);
  scan_augment(&cfg, img, S, S, &r1, a);
  scan_augment(&cfg, img, S, S, &r2, b);
  CHECK(memcmp(a, b, sizeof a) == 0);
  scan_augment(&cfg, img, S, S, &r3, b);
  CHECK(memcmp(a, b, sizeof a) != 0);
  CHECK(scan_aug_validate(&cfg, S, S, 1) == SCAN_ERR_INPUT);
  cfg.out_size = SCAN_AUG_MAX_SIZE + 1;
  CHECK(scan_aug_validate(&cfg, S, S, 3) == SCAN_ERR_INPUT);
  scan_aug_default(&cfg, SCAN_AUG_SIMCLR, S, 3);
  cfg.jitter_p = 1.5;
  CHECK(scan_aug_validate(&cfg, S, S, 3) == SCAN_ERR_INPUT);
  scan_aug_default(&cfg, SCAN_AUG_SIMCLR, S, 3);
  cfg.std[1] = 0.0f;
  CHECK(scan_aug_validate(&cfg, S, S, 3) == SCAN_ERR_INPUT);
  scan_aug_strategy s;
  CHECK(scan_aug_strategy_parse("ours", &s) == 0 && s == SCAN_AUG_OURS);
  CHECK(scan_aug_strategy_parse("bogus", &s) == -1);
  /* ours on a larger image is a RandomCrop: with no strong ops and no cutout, the
   * output is a 32 x 32 window of the 40 x 36 source (or its mirror). */
  enum { H = 40, W = 36 };
  uint8_t src[H * W * 3], out[S * S * 3];
  fill_random(src, sizeof src, 12);
  scan_aug_default(&cfg, SCAN_AUG_OURS, S, 3);
  cfg.num_strong_augs = 0;
  int windows_ok = 1;
  for (int i = 0; i < 20; i++) {
    scan_rng rng = scan_rng_make(6, 0, (uint64_t)i);
    scan_augment_u8(&cfg, src, H, W, &rng, out);
    int found = 0;
    for (int top = 0; top <= H - S && !found; top++)
      for (int left = 0; left <= W - S && !found; left++)
        for (int flip = 0; flip < 2 && !found; flip++) {
          int match = 1;
          for (int y = 0; y < S && match; y++)
            for (int x = 0; x < S && match; x++) {
              int sx = left + (flip ? S - 1 - x : x);
              match = memcmp(out + (y * S + x) * 3, src + ((top + y) * W + sx) * 3, 3) == 0;
            }
          found = match;
        }
    windows_ok &= found;
  }
  CHECK(windows_ok);
}

/* Applies op `name` with magnitude v to img (h x w x channels) as the strong ops
 * and ColorJitter do. */
static void apply_named_op(const char *name, double v, uint8_t *img, int h, int w, int channels) {
  long n = (long)h * w;
  uint8_t tmp[64 * 64 * 3];
  double m[6] = {1, 0, 0, 0, 1, 0};
  if (!strcmp(name, "autocontrast")) aug_autocontrast(img, n, channels);
  else if (!strcmp(name, "equalize")) aug_equalize(img, n, channels);
  else if (!strcmp(name, "solarize")) aug_solarize(img, n, channels, v);
  else if (!strcmp(name, "posterize")) aug_posterize(img, n, channels, (int)v);
  else if (!strcmp(name, "color")) aug_saturation(img, n, v);
  else if (!strcmp(name, "contrast")) aug_contrast(img, n, channels, v);
  else if (!strcmp(name, "brightness")) aug_brightness(img, n, channels, v);
  else if (!strcmp(name, "sharpness")) aug_sharpness(img, tmp, h, w, channels, v);
  else if (!strcmp(name, "hue")) aug_hue(img, n, v);
  else if (!strcmp(name, "grayscale")) aug_grayscale(img, n);
  else {
    if (!strcmp(name, "rotate")) aug_rotate(img, tmp, h, w, channels, v);
    else {
      if (!strcmp(name, "shearx")) m[1] = v;
      else if (!strcmp(name, "sheary")) m[3] = v;
      else if (!strcmp(name, "translatex")) m[2] = v * w;
      else if (!strcmp(name, "translatey")) m[5] = v * h;
      aug_affine_nearest(img, tmp, h, w, channels, m);
    }
    memcpy(img, tmp, (size_t)n * channels);
  }
}

static int read_bytes(FILE *f, uint8_t *out, long n) {
  for (long i = 0; i < n; i++) {
    int v;
    if (fscanf(f, "%d", &v) != 1) return 0;
    out[i] = (uint8_t)v;
  }
  return 1;
}

/* Every op against PIL 9 (tools/make_augment_fixture.py): bit-exact. */
static void test_against_pil(void) {
  const char *path = "augment_ops_fixture.txt";
  FILE *f = test_open_fixture(path);
  if (!f) return;
  enum { MAX = 64 * 64 * 3 };
  static uint8_t rgb[MAX], grey[MAX], img[MAX], expected[MAX];
  int h = 0, w = 0, h2 = 0, w2 = 0;
  char mode[8], mode2[8];
  int ok = fscanf(f, " image %7s %d %d", mode, &h, &w) == 3 && h * w * 3 <= MAX && read_bytes(f, rgb, (long)h * w * 3);
  ok = ok && fscanf(f, " image %7s %d %d", mode2, &h2, &w2) == 3 && h2 == h && w2 == w &&
       read_bytes(f, grey, (long)h * w);
  CHECK_MSG(ok, "%s: bad header", path);
  int ops = 0;
  char name[32];
  double v;
  while (ok && fscanf(f, " op %31s %lf %7s", name, &v, mode) == 3) {
    int channels = strcmp(mode, "RGB") == 0 ? 3 : 1;
    long values = (long)h * w * channels;
    memcpy(img, channels == 3 ? rgb : grey, (size_t)values);
    if (!read_bytes(f, expected, values)) break;
    apply_named_op(name, v, img, h, w, channels);
    long wrong = 0, first = -1;
    for (long i = 0; i < values; i++)
      if (img[i] != expected[i]) {
        if (first < 0) first = i;
        wrong++;
      }
    CHECK_MSG(wrong == 0, "%s(%g) on %s: %ld of %ld values differ from PIL (first at %ld: %d, PIL %d)", name, v, mode,
              wrong, values, first, first >= 0 ? img[first] : 0, first >= 0 ? expected[first] : 0);
    ops++;
  }
  fclose(f);
  CHECK_MSG(ops == 37, "read %d ops, expected 37", ops);
}

int main(void) {
  test_normalise_val();
  test_val_resize_and_crop();
  test_flip();
  test_rrc_boxes();
  test_pixel_luts();
  test_colour();
  test_sharpness();
  test_geometry();
  test_against_pil();
  test_cutout_and_erasing();
  test_grey_matches_rgb(SCAN_AUG_SIMCLR);
  test_grey_matches_rgb(SCAN_AUG_OURS);
  test_determinism_and_validation();
  return test_main_end();
}
