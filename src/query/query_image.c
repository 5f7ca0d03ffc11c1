/* Candidates of an image file that is not in the dataset (the query-image mode
 * seed 001's README promises, §15.5): the image is brought to the validation
 * images' shape, embedded with the pretext model like `scan mine` embeds the
 * dataset, and its nearest validation images become the candidates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/image_io.h"
#include "scan/knn.h"
#include "scan/neighbors.h"
#include "scan/npy.h"
#include "scan/query.h"

/* Decodes `path` into the validation images' channel count and size (whole image, bilinear, antialiased). */
static scan_status read_as_dataset_image(const char *path, const scan_dataset *val, uint8_t *image_out) {
  uint8_t *pixels = NULL;
  int h = 0, w = 0, channels = 0;
  SCAN_TRY(scan_image_read(path, &pixels, &h, &w, &channels));
  scan_status status = scan_image_reshape(pixels, h, w, channels, val->height, val->width, val->channels, image_out);
  free(pixels);
  return status;
}

/* One image in the val shape, in the space the validation features were mined in (scan_pipeline_neighbor_features). */
static scan_status embed(scan_pipeline *p, const scan_dataset *val, uint8_t *image, float **embedding, int *dim) {
  char model_path[SCAN_PATH_MAX];
  SCAN_TRY(scan_pipeline_path(p, model_path, sizeof model_path, "pretext/model.safetensors"));
  scan_net *net = NULL;
  SCAN_TRY(scan_pipeline_create_net(p, "pretext", 1, &net));
  scan_status status = scan_net_load(net, model_path, NULL);
  if (status != SCAN_OK) scan_fail_context(status, "the pretext model is needed (run 'scan pretext' first)");
  if (status == SCAN_OK) {
    scan_dataset one = {0};
    one.count = 1;
    one.height = val->height;
    one.width = val->width;
    one.channels = val->channels;
    one.pixels = image;
    snprintf(one.name, sizeof one.name, "query image");
    status = scan_pipeline_neighbor_features(p, net, &one, "embed query image", embedding, dim);
  }
  scan_net_free(net);
  return status;
}

/* *same = whether image `index` of d is byte-identical to `image` (scratch: one image's bytes, for a streamed d). */
static scan_status same_image(const scan_dataset *d, long index, const uint8_t *image, uint8_t *scratch, int *same) {
  const uint8_t *other = NULL;
  SCAN_TRY(scan_dataset_read(d, index, scratch, &other));
  *same = memcmp(other, image, scan_dataset_image_bytes(d)) == 0;
  return SCAN_OK;
}

scan_status scan_query_candidates_of_image(scan_pipeline *p, const char *path, int n, uint8_t *image_out,
                                           int64_t *indices) {
  const scan_dataset *val;
  SCAN_TRY(scan_pipeline_val_data(p, &val));
  size_t bytes = (size_t)val->height * val->width * val->channels;
  if (n < 1 || n > val->count)
    return scan_fail(SCAN_ERR_INPUT, "%d candidates asked for, but the validation set has %d images", n, val->count);
  SCAN_TRY(read_as_dataset_image(path, val, image_out));
  float *query = NULL;
  int dim = 0;
  scan_array base = {0};
  scan_status status = embed(p, val, image_out, &query, &dim);
  if (status == SCAN_OK) status = scan_query_read_val_features(p, val, dim, &base);
  /* Copies of the query image in the validation set are the query itself: search past them. */
  uint8_t *scratch = scan_malloc(bytes);
  if (status == SCAN_OK && !scratch) status = scan_fail(SCAN_ERR_INTERNAL, "out of memory");
  int copies = 0;
  for (int i = 0; status == SCAN_OK && i < val->count; i++) {
    int same = 0;
    status = same_image(val, i, image_out, scratch, &same);
    copies += same;
  }
  if (status == SCAN_OK && n > val->count - copies)
    status = scan_fail(SCAN_ERR_INPUT, "%d candidates asked for, but only %d validation images differ from %s", n,
                       val->count - copies, path);
  int depth = n + copies;
  int64_t *found = status == SCAN_OK ? scan_malloc(sizeof(int64_t) * (size_t)depth) : NULL;
  if (status == SCAN_OK && !found) status = SCAN_ERR_INTERNAL;
  if (status == SCAN_OK) status = scan_knn(query, 1, base.data, base.shape[0], dim, depth, 0, found, NULL);
  for (int j = 0, taken = 0; status == SCAN_OK && j < depth && taken < n; j++) {
    int same = 0;
    status = same_image(val, found[j], image_out, scratch, &same);
    if (status == SCAN_OK && !same) indices[taken++] = found[j];
  }
  free(scratch);
  free(found);
  free(query);
  scan_array_free(&base);
  return status;
}
