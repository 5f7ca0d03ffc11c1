/* libFuzzer target: the .npy header and size checks must reject any damaged input without crashing. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  scan_array a;
  if (scan_npy_parse(data, size, "fuzz.npy", &a) == SCAN_OK) {
    /* Touch every byte the shape claims, so an undersized buffer would show up under ASan. */
    size_t nbytes = (size_t)scan_array_count(&a) * (size_t)scan_dtype_size(a.dtype);
    volatile unsigned char sum = 0;
    for (size_t i = 0; i < nbytes; i++) sum ^= ((const unsigned char *)a.data)[i];
    (void)sum;
    scan_array_free(&a);
  }
  return 0;
}
