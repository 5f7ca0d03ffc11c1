/* PNG/JPEG decoder: any bytes in, either an error or an image whose size and
 * channel count are within the documented limits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "scan/image_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *pixels = NULL;
  int h, w, c;
  if (scan_image_decode(data, size, "fuzz", &pixels, &h, &w, &c) == SCAN_OK) {
    if (h <= 0 || w <= 0 || h > SCAN_IMAGE_MAX_SIDE || w > SCAN_IMAGE_MAX_SIDE || (c != 1 && c != 3)) abort();
    /* Touch the last byte so a short allocation shows up under ASan. */
    volatile uint8_t last = pixels[(size_t)h * w * c - 1];
    (void)last;
  } else if (pixels) {
    abort(); /* failures hand back nothing */
  }
  free(pixels);
  return 0;
}
