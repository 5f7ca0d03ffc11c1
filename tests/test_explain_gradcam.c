/* Grad-CAM maths: the map on hand-made activations and gradients, the jet colour map, the overlay. */
#include <stdlib.h>
#include <string.h>

#include "scan/explain.h"
#include "testlib.h"

static void test_map(void) {
  /* Two channels of 2x3. Channel 0's gradient averages +0.5, channel 1's -1, so
   * cam = 0.5 A0 - A1 before the ReLU. */
  const float activation[2 * 6] = {1, 2, 3, 4, 5, 6, /* A0 */ 0, 0, 4, 0, 1, 0 /* A1 */};
  const float gradient[2 * 6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, /* mean 0.5 */ -3, 1, -1, 0, -2, -1 /* mean -1 */};
  float map[6];
  scan_gradcam_map(activation, gradient, 2, 2, 3, map);
  /* cam = {0.5, 1, -2.5, 2, 1.5, 3} -> ReLU -> / 3 */
  const double expected[6] = {0.5 / 3, 1.0 / 3, 0.0, 2.0 / 3, 1.5 / 3, 1.0};
  for (int i = 0; i < 6; i++) CHECK_NEAR(map[i], expected[i], 1e-6, 0);

  /* Only negative evidence: the ReLU leaves nothing and the map stays zero (no 0/0). */
  const float negative_gradient[2 * 6] = {-1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0};
  scan_gradcam_map(activation, negative_gradient, 2, 2, 3, map);
  int all_zero = 1;
  for (int i = 0; i < 6; i++) all_zero &= map[i] == 0.0f;
  CHECK(all_zero);

  /* A single 1x1 location that is positive normalises to exactly 1. */
  const float a1 = 2.0f, g1 = 0.25f;
  float m1;
  scan_gradcam_map(&a1, &g1, 1, 1, 1, &m1);
  CHECK(m1 == 1.0f);
}

static void test_jet(void) {
  uint8_t rgb[3];
  scan_jet_colour(0.0, rgb);
  CHECK(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 128); /* dark blue */
  scan_jet_colour(1.0, rgb);
  CHECK(rgb[0] == 128 && rgb[1] == 0 && rgb[2] == 0); /* dark red */
  scan_jet_colour(2.0, rgb); /* out of range clamps */
  CHECK(rgb[0] == 128 && rgb[1] == 0 && rgb[2] == 0);
  scan_jet_colour(0.5, rgb); /* LUT index 127 -> x = 127/255: green full, red and blue about half */
  CHECK(rgb[1] == 255);
  CHECK_NEAR(rgb[0], 255.0 * (127.0 / 255 - 0.35) / 0.31, 1.0, 0);
  CHECK_NEAR(rgb[2], 255.0 * (1.0 - (127.0 / 255 - 0.34) / 0.31), 1.0, 0);
  scan_jet_colour(0.25, rgb); /* index 63 -> x = 0.247: blue full, green rising, no red */
  CHECK(rgb[0] == 0 && rgb[2] == 255);
  CHECK_NEAR(rgb[1], 255.0 * (63.0 / 255 - 0.125) / 0.25, 1.0, 0);
}

static void test_overlay(void) {
  enum { H = 8, W = 6, SCALE = 5, OH = H * SCALE, OW = W * SCALE };
  uint8_t image[H * W];
  memset(image, 100, sizeof image); /* uniform grey, one channel */
  /* A 2x2 map hot in its top-left cell only. */
  const float map[4] = {1, 0, 0, 0};
  uint8_t *out = malloc((size_t)OH * OW * 3 + 4);
  memset(out + (size_t)OH * OW * 3, 0xAB, 4); /* canary: nothing past (h*scale) x (w*scale) x 3 is written */
  scan_gradcam_overlay(map, 2, 2, image, H, W, 1, SCALE, 0.4, out);
  CHECK(out[(size_t)OH * OW * 3] == 0xAB && out[(size_t)OH * OW * 3 + 3] == 0xAB);
  const uint8_t *hot = out, *cold = out + ((size_t)(OH - 1) * OW + OW - 1) * 3;
  CHECK(hot[0] > cold[0] && hot[2] < cold[2]); /* red where the map is 1, blue where it is 0 */
  /* min-max rescaled like Keras' array_to_img: the output spans the whole 0..255 range */
  uint8_t lo = 255, hi = 0;
  for (size_t i = 0; i < (size_t)OH * OW * 3; i++) {
    if (out[i] < lo) lo = out[i];
    if (out[i] > hi) hi = out[i];
  }
  CHECK(lo == 0 && hi >= 254);

  /* Against the formula at the cold corner: image 100 + 0.4 * 255 * jet(0) = (100, 100, 151). The
   * upsampled map passes through every value between 0 and 1, so some jet channel reaches 1 somewhere:
   * min = 100, max = 100 + 0.4 * 255, and (v - min) / (max - min) * 255 gives blue 127.5 -> 127. */
  CHECK_NEAR(cold[2], (0.4 * 127.5) / (0.4 * 255) * 255, 1.0, 0);
  CHECK(cold[0] == 0 && cold[1] == 0);
  free(out);

  /* RGB input and scale 1: a zero map gives a pure-blue tint of the image, output of image size. */
  uint8_t rgb[2 * 3 * 3];
  for (int i = 0; i < 18; i++) rgb[i] = (uint8_t)(i * 10);
  const float zero_map[1] = {0};
  uint8_t small[2 * 3 * 3 + 1];
  small[18] = 0xAB;
  scan_gradcam_overlay(zero_map, 1, 1, rgb, 2, 3, 3, 1, 0.4, small);
  CHECK(small[18] == 0xAB);
  CHECK(small[0] == 0 && small[17] == 255); /* min and max of the sum land at the ends */
}

int main(void) {
  test_map();
  test_jet();
  test_overlay();
  return test_main_end();
}
