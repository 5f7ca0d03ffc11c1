/* STL-10 parser: the first byte is the length of the labels file at the end
 * of the input (255: no labels file, unlabelled); the rest is the images file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "scan/datasets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t rest = size - 1, label_bytes = data[0] == 255 ? 0 : data[0];
  if (label_bytes > rest) label_bytes = rest;
  size_t cut = rest - label_bytes;
  const uint8_t *images = data + 1, *labels = data[0] == 255 ? NULL : data + 1 + cut;
  long count = 0;
  /* First pass validates and counts; the second converts into a buffer of that size. */
  if (scan_stl_parse(images, cut, labels, rest - cut, "images", "labels", &count, NULL, NULL) != SCAN_OK) return 0;
  uint8_t *pixels = malloc((size_t)count * 3 * SCAN_STL_SIDE * SCAN_STL_SIDE);
  int32_t *out_labels = malloc((size_t)count * sizeof(int32_t));
  if (pixels && out_labels &&
      scan_stl_parse(images, cut, labels, rest - cut, "images", "labels", &count, pixels, out_labels) == SCAN_OK)
    for (long i = 0; i < count; i++)
      if (out_labels[i] < -1 || out_labels[i] > 9 || (labels && out_labels[i] < 0)) abort();
  free(pixels);
  free(out_labels);
  return 0;
}
