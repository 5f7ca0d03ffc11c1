/* Superpixels for LIME: quickshift (lime's default, emulating skimage) and SLIC, both from VLFeat. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vl/quickshift.h>
#include <vl/slic.h>

#include "scan/explain.h"

/* sRGB (0..255) -> CIE Lab (D65), skimage's rgb2lab constants. */
static void rgb_to_lab(const uint8_t *pixel, int channels, double lab[3]) {
  static const double to_xyz[3][3] = {{0.412453, 0.357580, 0.180423},
                                      {0.212671, 0.715160, 0.072169},
                                      {0.019334, 0.119193, 0.950227}};
  static const double white[3] = {0.95047, 1.0, 1.08883};
  double linear[3], f[3];
  for (int k = 0; k < 3; k++) {
    double v = pixel[channels == 3 ? k : 0] / 255.0;
    linear[k] = v > 0.04045 ? pow((v + 0.055) / 1.055, 2.4) : v / 12.92;
  }
  for (int r = 0; r < 3; r++) {
    double t = (to_xyz[r][0] * linear[0] + to_xyz[r][1] * linear[1] + to_xyz[r][2] * linear[2]) / white[r];
    f[r] = t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0;
  }
  lab[0] = 116.0 * f[1] - 16.0;
  lab[1] = 500.0 * (f[0] - f[1]);
  lab[2] = 200.0 * (f[1] - f[2]);
}

static scan_status check_image(const uint8_t *image, int h, int w, int channels) {
  if (!image || h <= 0 || w <= 0 || (channels != 1 && channels != 3))
    return scan_fail(SCAN_ERR_INPUT, "superpixels: need a %s image of 1 or 3 channels, got %dx%dx%d",
                     image ? "non-empty" : "non-NULL", h, w, channels);
  return SCAN_OK;
}

/* Follows links to the roots and numbers segments by root, roots taken in row-major order.
 * parent[] is row-major and acyclic; labels may alias nothing. */
static scan_status label_roots(const int *parent, int h, int w, int32_t *labels, int *num_segments) {
  const int n = h * w;
  int32_t *root_label = scan_malloc((size_t)n * sizeof(int32_t));
  if (!root_label) return scan_fail(SCAN_ERR_INTERNAL, "superpixels: out of memory for %d pixels", n);
  int count = 0;
  for (int i = 0; i < n; i++) root_label[i] = parent[i] == i ? count++ : -1;
  for (int i = 0; i < n; i++) {
    int r = i;
    while (parent[r] != r) r = parent[r];
    labels[i] = root_label[r];
  }
  free(root_label);
  *num_segments = count;
  return SCAN_OK;
}

scan_status scan_superpixels_quickshift(const uint8_t *image, int h, int w, int channels, double kernel_size,
                                        double max_dist, double ratio, int32_t *labels, int *num_segments) {
  SCAN_TRY(check_image(image, h, w, channels));
  if (!(kernel_size > 0) || !(max_dist > 0))
    return scan_fail(SCAN_ERR_INPUT, "quickshift: kernel size %g and max distance %g must be positive", kernel_size,
                     max_dist);
  const int n = h * w;
  /* VLFeat wants a MATLAB-style column-major image: element (y, x, k) at y + h x + h w k. */
  double *features = scan_malloc((size_t)n * 3 * sizeof(double));
  int *parent = scan_malloc((size_t)n * sizeof(int));
  if (!features || !parent) {
    free(features);
    free(parent);
    return scan_fail(SCAN_ERR_INTERNAL, "quickshift: out of memory for a %dx%d image", h, w);
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double lab[3];
      rgb_to_lab(image + ((size_t)y * w + x) * channels, channels, lab);
      for (int k = 0; k < 3; k++) features[y + (size_t)h * x + (size_t)n * k] = lab[k] * ratio;
    }

  /* skimage searches for a parent within the density window, ceil(3 kernel_size), whatever max_dist is.
   * VLFeat searches within ceil(tau) and only accepts links no longer than tau, so run it with
   * tau = 3 kernel_size and then repair: links longer than max_dist are cut, and VLFeat's roots look
   * again (same window) for a higher pixel up to max_dist away. */
  VlQS *qs = vl_quickshift_new(features, h, w, 3);
  if (!qs) {
    free(features);
    free(parent);
    return scan_fail(SCAN_ERR_INTERNAL, "quickshift: VLFeat could not allocate");
  }
  const double window_dist = 3.0 * kernel_size;
  vl_quickshift_set_kernel_size(qs, kernel_size);
  vl_quickshift_set_max_dist(qs, window_dist);
  vl_quickshift_process(qs);
  const int *vl_parent = vl_quickshift_get_parents(qs);
  const double *vl_dist = vl_quickshift_get_dists(qs);
  const double *density = vl_quickshift_get_density(qs);
  const int window = (int)ceil(window_dist);
  const double max_dist_sq = max_dist * max_dist;

  for (int x = 0; x < w; x++)
    for (int y = 0; y < h; y++) {
      const int i = y + h * x; /* VLFeat's index */
      int link = i;
      if (isfinite(vl_dist[i])) {
        if (vl_dist[i] <= max_dist) link = vl_parent[i];
      } else {
        /* A VLFeat root: nearest pixel that is higher in (density, index) order, so that equal-density
         * maxima join one tree instead of each forming a segment; links stay acyclic. */
        double best = INFINITY;
        for (int xj = x - window < 0 ? 0 : x - window; xj <= x + window && xj < w; xj++)
          for (int yj = y - window < 0 ? 0 : y - window; yj <= y + window && yj < h; yj++) {
            const int j = yj + h * xj;
            if (!(density[j] > density[i] || (density[j] == density[i] && j > i))) continue;
            double d = (double)(x - xj) * (x - xj) + (double)(y - yj) * (y - yj);
            for (int k = 0; k < 3; k++) {
              double diff = features[i + (size_t)n * k] - features[j + (size_t)n * k];
              d += diff * diff;
            }
            if (d <= max_dist_sq && d < best) {
              best = d;
              link = j;
            }
          }
      }
      /* to row-major */
      parent[y * w + x] = (link % h) * w + link / h;
    }
  vl_quickshift_delete(qs);
  free(features);
  scan_status st = label_roots(parent, h, w, labels, num_segments);
  free(parent);
  return st;
}

scan_status scan_superpixels_slic(const uint8_t *image, int h, int w, int channels, int region_size,
                                  double regularization, int32_t *labels, int *num_segments) {
  SCAN_TRY(check_image(image, h, w, channels));
  if (region_size <= 0 || !(regularization >= 0))
    return scan_fail(SCAN_ERR_INPUT, "slic: region size %d must be positive and regularization %g non-negative",
                     region_size, regularization);
  const size_t n = (size_t)h * w;
  /* VLFeat's SLIC takes planar float channels, row-major: (x, y, k) at x + w y + w h k. */
  float *lab = scan_malloc(n * 3 * sizeof(float));
  vl_uint32 *segmentation = scan_malloc(n * sizeof(vl_uint32));
  int32_t *renumber = scan_malloc(n * sizeof(int32_t));
  if (!lab || !segmentation || !renumber) {
    free(lab);
    free(segmentation);
    free(renumber);
    return scan_fail(SCAN_ERR_INTERNAL, "slic: out of memory for a %dx%d image", h, w);
  }
  for (size_t i = 0; i < n; i++) {
    double v[3];
    rgb_to_lab(image + i * channels, channels, v);
    for (int k = 0; k < 3; k++) lab[i + n * k] = (float)v[k];
  }
  vl_size min_region = (vl_size)region_size * region_size / 16;
  vl_slic_segment(segmentation, lab, (vl_size)w, (vl_size)h, 3, (vl_size)region_size, (float)regularization,
                  min_region > 0 ? min_region : 1);
  /* VLFeat's labels are region-grid numbers with gaps after merging: renumber densely. */
  for (size_t i = 0; i < n; i++) renumber[i] = -1;
  int count = 0;
  for (size_t i = 0; i < n; i++) {
    vl_uint32 s = segmentation[i];
    if (s >= n) s = (vl_uint32)(n - 1); /* cannot happen: one region per pixel at most */
    if (renumber[s] < 0) renumber[s] = count++;
    labels[i] = renumber[s];
  }
  *num_segments = count;
  free(lab);
  free(segmentation);
  free(renumber);
  return SCAN_OK;
}
