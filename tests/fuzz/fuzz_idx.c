/* IDX parser: the first byte chooses where the input splits into the images
 * file and the labels file. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/datasets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t rest = size - 1, cut = (size_t)data[0] * rest / 255;
  scan_dataset d;
  memset(&d, 0, sizeof d);
  scan_idx_parse(&d, data + 1, cut, data + 1 + cut, rest - cut, 10, "images", "labels");
  scan_dataset_free(&d);
  return 0;
}
