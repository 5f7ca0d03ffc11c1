/* libFuzzer target: safetensors header validation must reject any damaged input without crashing. */
#include <stddef.h>
#include <stdint.h>

#include "scan/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  scan_safetensors *f;
  if (scan_safetensors_parse(data, size, "fuzz.safetensors", &f) == SCAN_OK) {
    /* Every accepted tensor must lie inside memory we own: read all of its bytes. */
    volatile unsigned char sum = 0;
    for (int i = 0; i < scan_safetensors_count(f); i++) {
      const scan_tensor_view *t = scan_safetensors_get(f, i);
      for (size_t b = 0; b < t->nbytes; b++) sum ^= ((const unsigned char *)t->data)[b];
      (void)scan_safetensors_find(f, t->name);
    }
    (void)sum;
    (void)scan_safetensors_metadata(f, "format");
    scan_safetensors_free(f);
  }
  return 0;
}
