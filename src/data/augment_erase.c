/* Occlusions applied to the normalised CHW tensor, so a hole is 0 there
 * (the dataset's mean colour): the reference's Cutout and torchvision's RandomErasing. */
#include <math.h>

#include "augment_internal.h"

static void zero_box(float *chw, int channels, int h, int w, int top, int bottom, int left, int right) {
  for (int c = 0; c < channels; c++)
    for (int y = top; y < bottom; y++)
      for (int x = left; x < right; x++) chw[((long)c * h + y) * w + x] = 0.0f;
}

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void aug_cutout(float *chw, int channels, int h, int w, int holes, int length, int fixed_length, scan_rng *rng) {
  if (holes <= 0 || length <= 0) return;
  /* The reference draws the side once per image, in [1, length], whatever its `random` flag says (spec §4.4);
   * here `random: false` means what it says: every hole is length x length. */
  int side = fixed_length ? length : 1 + scan_rng_int(rng, length);
  for (int i = 0; i < holes; i++) {
    int y = scan_rng_int(rng, h), x = scan_rng_int(rng, w);
    int top = clamp_int(y - side / 2, 0, h), bottom = clamp_int(y + side / 2, 0, h);
    int left = clamp_int(x - side / 2, 0, w), right = clamp_int(x + side / 2, 0, w);
    zero_box(chw, channels, h, w, top, bottom, left, right);
  }
}

void aug_random_erasing(float *chw, int channels, int h, int w, double p, double scale_min, double scale_max,
                        scan_rng *rng) {
  if (p <= 0.0 || !(scan_rng_uniform(rng) < p)) return;
  const double log_ratio_min = log(0.3), log_ratio_max = log(3.3);
  double area = (double)h * w;
  for (int attempt = 0; attempt < 10; attempt++) {
    double erase_area = area * scan_rng_range(rng, scale_min, scale_max);
    double aspect = exp(scan_rng_range(rng, log_ratio_min, log_ratio_max));
    int eh = (int)nearbyint(sqrt(erase_area * aspect));
    int ew = (int)nearbyint(sqrt(erase_area / aspect));
    if (!(eh < h && ew < w)) continue;
    int top = scan_rng_int(rng, h - eh + 1), left = scan_rng_int(rng, w - ew + 1);
    zero_box(chw, channels, h, w, top, top + eh, left, left + ew);
    return;
  }
}
