/* k-means on images' pixels with bounded memory (include/scan/metrics.h): the k-means baseline of evaluation, for
 * validation splits of any size, in memory or streamed. */
#include <math.h>
#include <stdlib.h>

#include "scan/metrics.h"

static int nearest_centre(const float *row, const float *centroids, int k, int d) {
  double best = INFINITY;
  int arg = 0;
  for (int c = 0; c < k; c++) {
    double dist = 0;
    for (int j = 0; j < d; j++) {
      const double diff = (double)row[j] - centroids[(size_t)c * d + j];
      dist += diff * diff;
    }
    if (dist < best) best = dist, arg = c;
  }
  return arg;
}

scan_status scan_kmeans_images(const scan_dataset *images, long fit_max, const scan_kmeans_options *opt,
                               float *centroids, int32_t *assign) {
  const long n = images->count, fit = n < fit_max ? n : fit_max;
  const int d = (int)scan_dataset_image_bytes(images), k = opt->k;
  if (fit < 1) return scan_fail(SCAN_ERR_INPUT, "%s: k-means needs at least one image", images->name);
  float *rows = scan_malloc(sizeof(float) * (size_t)fit * (size_t)d);
  float *centres = centroids ? centroids : scan_malloc(sizeof(float) * (size_t)k * (size_t)d);
  uint8_t *scratch = scan_malloc((size_t)d);
  scan_status status = rows && centres && scratch ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  for (long i = 0; i < fit && status == SCAN_OK; i++)
    status = scan_dataset_read_unit(images, fit == n ? i : i * n / fit, scratch, rows + (size_t)i * d);
  if (status == SCAN_OK) status = scan_kmeans(rows, fit, d, opt, centres, assign, NULL);
  /* A sample was clustered: every image (the sample too) joins its nearest centre, one row at a time. */
  for (long i = 0; i < n && status == SCAN_OK && fit < n; i++) {
    status = scan_dataset_read_unit(images, i, scratch, rows);
    if (status == SCAN_OK) assign[i] = nearest_centre(rows, centres, k, d);
  }
  free(rows);
  if (centres != centroids) free(centres);
  free(scratch);
  return status;
}
