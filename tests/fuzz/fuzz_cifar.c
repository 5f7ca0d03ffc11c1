/* CIFAR record parser: the first byte picks the record layout (CIFAR-10,
 * CIFAR-100 fine, CIFAR-100 mapped to CIFAR-20), the rest is the file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "scan/datasets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  scan_cifar_kind kind = (scan_cifar_kind)(data[0] % 3);
  long count = scan_cifar_record_count(size - 1, kind, "cifar");
  if (count <= 0) return 0;
  uint8_t *pixels = malloc((size_t)count * 32 * 32 * 3);
  int32_t *labels = malloc((size_t)count * sizeof(int32_t));
  if (pixels && labels) {
    scan_status st = scan_cifar_parse_records(data + 1, count, kind, "cifar", pixels, labels);
    /* A successful parse must give labels inside the class range. */
    int classes = kind == SCAN_CIFAR10 ? 10 : kind == SCAN_CIFAR100_FINE ? 100 : 20;
    for (long i = 0; st == SCAN_OK && i < count; i++)
      if (labels[i] < 0 || labels[i] >= classes) abort();
  }
  free(pixels);
  free(labels);
  return 0;
}
