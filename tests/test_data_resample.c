/* scan_resample_bilinear_u8 against (1) values PyTorch computed with
 * F.interpolate(bilinear, align_corners=False, antialias=True/False)
 * (tools/make_resample_fixture.py), and (2) a naive double-precision definition:
 * every source pixel weighted by the triangle filter around the output pixel's
 * centre, normalised over the image. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/resample.h"
#include "scan/rng.h"
#include "testlib.h"

static double tri(double x) {
  x = fabs(x);
  return x < 1 ? 1 - x : 0;
}

/* The definition, straight: O(out * in) per axis, doubles throughout; only the
 * pixels the box touches count (crop, then resize). */
static double naive_value(const uint8_t *src, int h, int w, int channels, double top, double left, double box_h,
                          double box_w, int out_h, int out_w, int antialias, int oy, int ox, int ch) {
  double sy = box_h / out_h, sx = box_w / out_w;
  double fy = antialias && sy > 1 ? sy : 1, fx = antialias && sx > 1 ? sx : 1;
  double cy = top + (oy + 0.5) * sy, cx = left + (ox + 0.5) * sx;
  int y0 = (int)floor(top), y1 = (int)ceil(top + box_h), x0 = (int)floor(left), x1 = (int)ceil(left + box_w);
  if (y0 < 0) y0 = 0;
  if (x0 < 0) x0 = 0;
  if (y1 > h) y1 = h;
  if (x1 > w) x1 = w;
  double sum = 0, wy_total = 0, wx_total = 0;
  for (int x = x0; x < x1; x++) wx_total += tri((x + 0.5 - cx) / fx);
  for (int y = y0; y < y1; y++) {
    double wy = tri((y + 0.5 - cy) / fy);
    wy_total += wy;
    if (wy == 0) continue;
    for (int x = x0; x < x1; x++) sum += wy * tri((x + 0.5 - cx) / fx) * src[((long)y * w + x) * channels + ch];
  }
  return sum / (wy_total * wx_total);
}

/* Largest |ours - naive| over the output. */
static double max_error_vs_naive(const uint8_t *src, int h, int w, int channels, double top, double left,
                                 double box_h, double box_w, int out_h, int out_w, int antialias) {
  uint8_t *dst = malloc((size_t)out_h * out_w * channels);
  scan_resample_bilinear_u8(src, h, w, channels, top, left, box_h, box_w, dst, out_h, out_w, antialias);
  double worst = 0;
  for (int oy = 0; oy < out_h; oy++)
    for (int ox = 0; ox < out_w; ox++)
      for (int c = 0; c < channels; c++) {
        double ref = naive_value(src, h, w, channels, top, left, box_h, box_w, out_h, out_w, antialias, oy, ox, c);
        double err = fabs(dst[((long)oy * out_w + ox) * channels + c] - ref);
        if (err > worst) worst = err;
      }
  free(dst);
  return worst;
}

static void fill_random(uint8_t *p, long n, uint64_t seed) {
  scan_rng r = scan_rng_make(seed, 0, 0);
  for (long i = 0; i < n; i++) p[i] = (uint8_t)scan_rng_int(&r, 256);
}

static void test_against_pytorch(void) {
  FILE *f = test_open_fixture("resample_fixture.txt");
  if (!f) return;
  int cases = 0;
  int h, w, c, top, left, bh, bw, oh, ow, aa;
  while (fscanf(f, " case %d %d %d %d %d %d %d %d %d %d", &h, &w, &c, &top, &left, &bh, &bw, &oh, &ow, &aa) == 10) {
    long n_src = (long)h * w * c, n_out = (long)oh * ow * c;
    uint8_t *src = malloc((size_t)n_src), *dst = malloc((size_t)n_out);
    for (long i = 0; i < n_src; i++) {
      int v = 0;
      if (fscanf(f, "%d", &v) != 1) break;
      src[i] = (uint8_t)v;
    }
    scan_resample_bilinear_u8(src, h, w, c, top, left, bh, bw, dst, oh, ow, aa);
    double worst = 0;
    long off_by_rounding = 0;
    for (long i = 0; i < n_out; i++) {
      double ref = 0;
      if (fscanf(f, "%lf", &ref) != 1) break;
      double err = fabs(dst[i] - ref);
      if (err > worst) worst = err;
      if (err > 0.5 + 1e-3) off_by_rounding++;
    }
    /* Rounded to the nearest integer, except where float vs double sits on a .5 tie. */
    CHECK_MSG(worst <= 0.51 || (worst < 1.0 && off_by_rounding <= n_out / 1000),
              "case %d (%dx%dx%d box %d,%d %dx%d -> %dx%d aa=%d): max error %.4f, %ld beyond rounding", cases, h, w,
              c, top, left, bh, bw, oh, ow, aa, worst, off_by_rounding);
    free(src);
    free(dst);
    cases++;
  }
  fclose(f);
  CHECK_MSG(cases == 7, "read %d fixture cases, expected 7", cases);
}

static void test_against_naive(void) {
  enum { H = 23, W = 31, C = 3 };
  uint8_t src[H * W * C];
  fill_random(src, H * W * C, 7);
  /* Fractional boxes, shrinking and enlarging, with and without antialias. */
  CHECK(max_error_vs_naive(src, H, W, C, 2.3, 4.7, 15.2, 20.9, 32, 32, 1) <= 0.51);
  CHECK(max_error_vs_naive(src, H, W, C, 0, 0, H, W, 7, 5, 1) <= 0.51);
  CHECK(max_error_vs_naive(src, H, W, C, 0, 0, H, W, 7, 5, 0) <= 0.51);
  CHECK(max_error_vs_naive(src, H, W, C, 1.5, 0.25, 20, 30.5, 40, 61, 1) <= 0.51);
  CHECK(max_error_vs_naive(src, H, W, 1, 0, 0, H, W * 3, 9, 9, 1) <= 0.51); /* read as grey, 3x wider */
  /* Wide output: the horizontal table no longer fits in one strip. */
  CHECK(max_error_vs_naive(src, H, W, C, 0, 0, H, W, 3, 1500, 1) <= 0.51);
  /* A box thousands of times wider than the output: the per-column direct path. */
  enum { WIDE = 40000 };
  uint8_t *wide = malloc(2 * WIDE);
  fill_random(wide, 2 * WIDE, 9);
  CHECK(max_error_vs_naive(wide, 2, WIDE, 1, 0, 0, 2, WIDE, 1, 3, 1) <= 0.51);
  free(wide);
}

static void test_identity_and_constant(void) {
  enum { H = 12, W = 10, C = 3 };
  uint8_t src[H * W * C], dst[H * W * C];
  fill_random(src, H * W * C, 3);
  scan_resample_bilinear_u8(src, H, W, C, 0, 0, H, W, dst, H, W, 1);
  CHECK(memcmp(src, dst, sizeof src) == 0);
  /* An integer window of the same size is an exact crop. */
  uint8_t crop[5 * 4 * C];
  scan_resample_bilinear_u8(src, H, W, C, 3, 2, 5, 4, crop, 5, 4, 1);
  int same = 1;
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 4; x++)
      for (int c = 0; c < C; c++) same &= crop[(y * 4 + x) * C + c] == src[((y + 3) * W + x + 2) * C + c];
  CHECK(same);
  /* A constant image stays constant, whatever the box. */
  memset(src, 77, sizeof src);
  uint8_t big[37 * 29 * C];
  scan_resample_bilinear_u8(src, H, W, C, 1.25, 0.5, 7.5, 8.0, big, 37, 29, 1);
  int constant = 1;
  for (int i = 0; i < 37 * 29 * C; i++) constant &= big[i] == 77;
  CHECK(constant);
}

static void test_hand_values(void) {
  /* 1x2 -> 1x4, plain bilinear with half-pixel centres: source x = (o + 0.5) / 2 - 0.5
   * = -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1 -> 0, 25, 75, 100. */
  uint8_t src[2] = {0, 100}, dst[4];
  scan_resample_bilinear_u8(src, 1, 2, 1, 0, 0, 1, 2, dst, 1, 4, 1);
  CHECK(dst[0] == 0 && dst[1] == 25 && dst[2] == 75 && dst[3] == 100);
  /* 1x4 -> 1x2 with antialias: triangle of half-width 2 around centres 1 and 3:
   * weights (0.75, 0.75, 0.25) / 1.75 over pixels 0..2, so (0*0.75 + 40*0.75 + 80*0.25) / 1.75 = 28.57 -> 29;
   * without antialias: the mean of pixels 0,1 and 2,3: 20 and 100. */
  uint8_t row[4] = {0, 40, 80, 120}, out[2];
  scan_resample_bilinear_u8(row, 1, 4, 1, 0, 0, 1, 4, out, 1, 2, 1);
  CHECK(out[0] == 29);
  CHECK(out[1] == 91); /* (40*0.25 + 80*0.75 + 120*0.75) / 1.75 = 91.43 */
  scan_resample_bilinear_u8(row, 1, 4, 1, 0, 0, 1, 4, out, 1, 2, 0);
  CHECK(out[0] == 20 && out[1] == 100);
}

int main(void) {
  test_hand_values();
  test_identity_and_constant();
  test_against_naive();
  test_against_pytorch();
  return test_main_end();
}
