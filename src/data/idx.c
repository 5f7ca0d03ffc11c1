/* MNIST and Fashion-MNIST in IDX format (LeCun et al.): big-endian headers,
 * images magic 2051 = 0x00000803 (N, rows, cols, then N*rows*cols bytes),
 * labels magic 2049 = 0x00000801 (N, then N bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "scan/atomic_file.h"
#include "scan/image_io.h"

#define IDX_IMAGES_MAGIC 2051u
#define IDX_LABELS_MAGIC 2049u
/* The full 60k Fashion-MNIST train file is 47 MB; this leaves room for larger IDX sets. */
#define IDX_MAX_BYTES ((size_t)1 << 32)

static const char *const fashion_mnist_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static uint32_t read_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Checks that a file holds exactly `expected` bytes. */
static scan_status check_size(const char *name, size_t size, unsigned long long expected, const char *what) {
  if (size < expected)
    return scan_fail(SCAN_ERR_INPUT, "%s: truncated: %zu bytes, the header promises %llu %s", name, size, expected, what);
  if (size > expected)
    return scan_fail(SCAN_ERR_INPUT, "%s: %zu bytes after the %llu the header promises (%s)", name, size - (size_t)expected,
                     expected, what);
  return SCAN_OK;
}

scan_status scan_idx_parse(scan_dataset *out, const unsigned char *images, size_t images_size,
                           const unsigned char *labels, size_t labels_size, int num_classes,
                           const char *images_name, const char *labels_name) {
  memset(out, 0, sizeof *out);
  if (images_size < 16) return scan_fail(SCAN_ERR_INPUT, "%s: truncated IDX header (%zu bytes)", images_name, images_size);
  if (read_be32(images) != IDX_IMAGES_MAGIC)
    return scan_fail(SCAN_ERR_INPUT, "%s: wrong magic number %u (IDX images have %u)", images_name, read_be32(images),
                     IDX_IMAGES_MAGIC);
  uint32_t count = read_be32(images + 4), rows = read_be32(images + 8), cols = read_be32(images + 12);
  if (count == 0 || count > 0x7fffffffu)
    return scan_fail(SCAN_ERR_INPUT, "%s: unusable image count %u", images_name, count);
  if (rows == 0 || cols == 0 || rows > SCAN_IMAGE_MAX_SIDE || cols > SCAN_IMAGE_MAX_SIDE)
    return scan_fail(SCAN_ERR_INPUT, "%s: unusable image size %ux%u", images_name, rows, cols);
  unsigned long long image_bytes = (unsigned long long)count * rows * cols;
  SCAN_TRY(check_size(images_name, images_size, 16 + image_bytes, "image bytes and header"));

  if (labels_size < 8) return scan_fail(SCAN_ERR_INPUT, "%s: truncated IDX header (%zu bytes)", labels_name, labels_size);
  if (read_be32(labels) != IDX_LABELS_MAGIC)
    return scan_fail(SCAN_ERR_INPUT, "%s: wrong magic number %u (IDX labels have %u)", labels_name, read_be32(labels),
                     IDX_LABELS_MAGIC);
  uint32_t label_count = read_be32(labels + 4);
  if (label_count != count)
    return scan_fail(SCAN_ERR_INPUT, "%s: %u labels but %s has %u images", labels_name, label_count, images_name, count);
  SCAN_TRY(check_size(labels_name, labels_size, 8ull + label_count, "label bytes and header"));
  for (uint32_t i = 0; i < count; i++)
    if (labels[8 + i] >= num_classes)
      return scan_fail(SCAN_ERR_INPUT, "%s: record %u: label %d outside 0..%d", labels_name, i, labels[8 + i],
                       num_classes - 1);

  SCAN_TRY(data_alloc_images(out, count, (int)rows, (int)cols, 1, 1));
  memcpy(out->pixels, images + 16, (size_t)image_bytes);
  for (uint32_t i = 0; i < count; i++) out->labels[i] = labels[8 + i];
  return SCAN_OK;
}

/* train -> "train", test -> "t10k", as the files are named upstream. */
static const char *file_prefix(const char *split) { return strcmp(split, "test") == 0 ? "t10k" : "train"; }

/* Finds <root>/<prefix>-<kind>-ubyte.gz, else the uncompressed name: 1 found, 0 not (path names both for the
   message), -1 a path too long (the message is recorded). */
static int find_idx_file(const char *root, const char *split, const char *kind, char *path, size_t path_size) {
  /* stat, not fopen: opening a FIFO of that name would wait for a writer (data_read_whole refuses it). */
  if (scan_path_format(path, path_size, "%s/%s-%s-ubyte.gz", root, file_prefix(split), kind) != SCAN_OK) return -1;
  if (scan_file_exists(path)) return 1;
  if (scan_path_format(path, path_size, "%s/%s-%s-ubyte", root, file_prefix(split), kind) != SCAN_OK) return -1;
  if (scan_file_exists(path)) return 1;
  return scan_path_format(path, path_size, "%s/%s-%s-ubyte[.gz]", root, file_prefix(split), kind) == SCAN_OK ? 0 : -1;
}

int data_idx_present(const scan_dataset_spec *spec) {
  char path[SCAN_PATH_MAX];
  return find_idx_file(spec->root, spec->split, "images-idx3", path, sizeof path) > 0;
}

scan_status data_load_idx(scan_dataset *out, const scan_dataset_spec *spec) {
  char images_path[SCAN_PATH_MAX], labels_path[SCAN_PATH_MAX];
  int found = find_idx_file(spec->root, spec->split, "images-idx3", images_path, sizeof images_path);
  if (found <= 0) return found < 0 ? SCAN_ERR_INPUT : scan_fail(SCAN_ERR_INPUT, "%s: no such file", images_path);
  found = find_idx_file(spec->root, spec->split, "labels-idx1", labels_path, sizeof labels_path);
  if (found <= 0) return found < 0 ? SCAN_ERR_INPUT : scan_fail(SCAN_ERR_INPUT, "%s: no such file", labels_path);
  unsigned char *images = NULL, *labels = NULL;
  size_t images_size = 0, labels_size = 0;
  scan_status st = data_read_whole(images_path, IDX_MAX_BYTES, &images, &images_size);
  if (st == SCAN_OK) st = data_read_whole(labels_path, IDX_MAX_BYTES, &labels, &labels_size);
  if (st == SCAN_OK)
    st = scan_idx_parse(out, images, images_size, labels, labels_size, 10, images_path, labels_path);
  free(images);
  free(labels);
  SCAN_TRY(st);
  if (strcmp(spec->name, "fashion-mnist") == 0) return data_set_class_names(out, fashion_mnist_classes, 10);
  return data_set_numbered_class_names(out, 10);
}
