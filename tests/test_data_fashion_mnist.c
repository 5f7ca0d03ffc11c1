/* The installed Fashion-MNIST (package dataset-fashion-mnist): sizes, balanced
 * classes and a first-image checksum against the raw gzip'd file read here with zlib. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "scan/datasets.h"
#include "testlib.h"

/* Sum of the first image's 784 pixel bytes, read independently of the loader. */
static long first_image_sum(const char *path) {
  gzFile f = gzopen(path, "rb");
  if (!f) return -1;
  unsigned char buf[16 + 784];
  int n = gzread(f, buf, sizeof buf);
  gzclose(f);
  if (n != (int)sizeof buf) return -1;
  long sum = 0;
  for (int i = 16; i < n; i++) sum += buf[i];
  return sum;
}

static void check_split(const char *split, int expected_count, const char *images_file) {
  scan_dataset_spec spec = {.name = "fashion-mnist", .split = split};
  scan_dataset d;
  CHECK_MSG(scan_dataset_load(&d, &spec) == SCAN_OK, "%s", scan_error_message());
  CHECK(d.count == expected_count && d.height == 28 && d.width == 28 && d.channels == 1);
  CHECK(d.num_classes == 10 && d.labels != NULL);
  if (!d.labels) return;
  int per_class[10] = {0};
  for (int i = 0; i < d.count; i++)
    if (d.labels[i] >= 0 && d.labels[i] < 10) per_class[d.labels[i]]++;
  for (int k = 0; k < 10; k++) CHECK_MSG(per_class[k] == expected_count / 10, "%s class %d: %d", split, k, per_class[k]);
  char path[512];
  snprintf(path, sizeof path, "%s/%s", SCAN_DEFAULT_FASHION_MNIST_ROOT, images_file);
  long sum = 0;
  for (int i = 0; i < 784; i++) sum += d.pixels[i];
  CHECK(sum == first_image_sum(path) && sum > 0);
  scan_dataset_free(&d);
}

int main(void) {
  check_split("train", 60000, "train-images-idx3-ubyte.gz");
  check_split("test", 10000, "t10k-images-idx3-ubyte.gz");
  return test_main_end();
}
