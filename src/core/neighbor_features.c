/* The vectors neighbours are mined on (scan/neighbors.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/knn.h"
#include "scan/neighbors.h"

/* Each row's parts side by side: part a [n, da] and part b [n, db], each already of unit length, weighted 1/sqrt(2)
   so that the whole row is of unit length again and each part counts equally in an inner product. */
static void side_by_side(const float *a, int da, const float *b, int db, long n, float *out) {
  const float w = (float)(1.0 / sqrt(2.0));
  for (long i = 0; i < n; i++) {
    float *row = out + (size_t)i * (size_t)(da + db);
    for (int j = 0; j < da; j++) row[j] = w * a[(size_t)i * da + j];
    for (int j = 0; j < db; j++) row[da + j] = w * b[(size_t)i * db + j];
  }
}

static scan_status pixel_rows(const scan_dataset *data, float **out, int *dim) {
  *dim = data->height * data->width * data->channels;
  *out = scan_malloc(sizeof(float) * (size_t)data->count * (size_t)*dim);
  uint8_t *scratch = scan_malloc((size_t)*dim); /* one image of a streamed dataset */
  scan_status status = *out && scratch ? SCAN_OK : scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  for (long i = 0; i < data->count && status == SCAN_OK; i++)
    status = scan_dataset_read_unit(data, i, scratch, *out + (size_t)i * *dim);
  free(scratch);
  if (status != SCAN_OK) {
    free(*out);
    *out = NULL;
    return status;
  }
  scan_l2_normalize_rows(*out, data->count, *dim);
  return SCAN_OK;
}

scan_status scan_pipeline_neighbor_features(scan_pipeline *p, scan_net *net, const scan_dataset *data, const char *label,
                                            float **out, int *dim) {
  *out = NULL;
  const scan_neighbor_source source = p->settings.cluster.neighbor_features;
  const long n = data->count;
  const int head = source == SCAN_NEIGHBORS_HEAD;
  const int net_dim = head ? scan_net_head_dim(net) : scan_net_feature_dim(net);
  float *rows = scan_malloc(sizeof(float) * (size_t)n * (size_t)net_dim);
  if (!rows) return SCAN_ERR_INTERNAL;
  float *outputs[1] = {rows};
  scan_status status = scan_pipeline_predict_sharded(p, net, data, label, head ? NULL : rows, head ? outputs : NULL);
  /* A non-finite row is left as it is: normalising it would hide it from the caller's check. */
  if (status == SCAN_OK && scan_knn_first_nonfinite_row(rows, n, net_dim) < 0) scan_l2_normalize_rows(rows, n, net_dim);
  if (status != SCAN_OK || source != SCAN_NEIGHBORS_BACKBONE_PIXELS) {
    if (status == SCAN_OK) {
      *out = rows;
      *dim = net_dim;
    } else {
      free(rows);
    }
    return status;
  }
  float *pixels = NULL, *both = NULL;
  int pixel_dim = 0;
  status = pixel_rows(data, &pixels, &pixel_dim);
  if (status == SCAN_OK) both = scan_malloc(sizeof(float) * (size_t)n * (size_t)(net_dim + pixel_dim));
  if (status == SCAN_OK && !both) status = SCAN_ERR_INTERNAL;
  if (status == SCAN_OK) {
    side_by_side(rows, net_dim, pixels, pixel_dim, n, both);
    *out = both;
    *dim = net_dim + pixel_dim;
  }
  free(rows);
  free(pixels);
  return status;
}
