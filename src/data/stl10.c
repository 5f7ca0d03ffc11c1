/* STL-10 binary version (Coates et al.): <split>_X.bin holds N images of
 * 3x96x96 bytes, each colour plane stored column-major (MATLAB order), and
 * <split>_y.bin holds N labels 1..10. The reference reads (N,3,96,96) and
 * transposes the last two axes; here that is: pixel (y, x, c) of image n is
 * byte n*27648 + c*9216 + x*96 + y. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_internal.h"
#include "scan/atomic_file.h"

#define STL_PLANE (SCAN_STL_SIDE * SCAN_STL_SIDE)
#define STL_IMAGE_BYTES (3 * STL_PLANE)

static const char *const stl_classes[10] = {"airplane", "bird", "car", "cat", "deer",
                                            "dog",      "horse", "monkey", "ship", "truck"};

scan_status scan_stl_parse(const unsigned char *images, size_t images_size, const unsigned char *labels,
                           size_t labels_size, const char *images_name, const char *labels_name, long *count,
                           uint8_t *pixels, int32_t *labels_out) {
  if (images_size == 0 || images_size % STL_IMAGE_BYTES != 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: truncated: %zu bytes is not a whole number of %d-byte images", images_name,
                     images_size, STL_IMAGE_BYTES);
  long n = (long)(images_size / STL_IMAGE_BYTES);
  if (labels) {
    if (labels_size != (size_t)n)
      return scan_fail(SCAN_ERR_INPUT, "%s: %zu labels but %s has %ld images", labels_name, labels_size, images_name, n);
    for (long i = 0; i < n; i++) {
      if (labels[i] < 1 || labels[i] > 10)
        return scan_fail(SCAN_ERR_INPUT, "%s: record %ld: label %d outside 1..10", labels_name, i, labels[i]);
      if (labels_out) labels_out[i] = labels[i] - 1;
    }
  } else if (labels_out) {
    for (long i = 0; i < n; i++) labels_out[i] = -1;
  }
  *count = n;
  if (!pixels) return SCAN_OK;
  for (long i = 0; i < n; i++) {
    const unsigned char *src = images + (size_t)i * STL_IMAGE_BYTES;
    uint8_t *dst = pixels + (size_t)i * STL_IMAGE_BYTES;
    for (int c = 0; c < 3; c++)
      for (int x = 0; x < SCAN_STL_SIDE; x++)
        for (int y = 0; y < SCAN_STL_SIDE; y++)
          dst[(y * SCAN_STL_SIDE + x) * 3 + c] = src[c * STL_PLANE + x * SCAN_STL_SIDE + y];
  }
  return SCAN_OK;
}

/* One part of a split: "train", "test" or "unlabeled". */
typedef struct {
  char images[SCAN_PATH_MAX], labels[SCAN_PATH_MAX];
  int labelled;
  long count;
} stl_part;

/* As data_find_file: 1 found, 0 not (part->images names the file), -1 a path too long. */
static int find_part(const char *root, const char *which, stl_part *part) {
  char name[64];
  snprintf(name, sizeof name, "%s_X.bin", which);
  int found = data_find_file(root, "stl10_binary", name, part->images, sizeof part->images);
  part->labelled = strcmp(which, "unlabeled") != 0;
  if (part->labelled && found >= 0) {
    snprintf(name, sizeof name, "%s_y.bin", which);
    if (data_find_file(root, "stl10_binary", name, part->labels, sizeof part->labels) < 0) found = -1;
  }
  return found;
}

/* train+unlabeled is two parts, every other split one. */
static int split_parts(const scan_dataset_spec *spec, const char *which[2]) {
  if (strcmp(spec->split, "train+unlabeled") == 0) {
    which[0] = "train";
    which[1] = "unlabeled";
    return 2;
  }
  which[0] = spec->split;
  return 1;
}

int data_stl_present(const scan_dataset_spec *spec) {
  const char *which[2];
  int parts = split_parts(spec, which);
  stl_part part;
  for (int p = 0; p < parts; p++)
    if (find_part(spec->root, which[p], &part) <= 0) return 0;
  return 1;
}

static scan_status read_part(stl_part *part, unsigned char **images, size_t *images_size, unsigned char **labels,
                             size_t *labels_size) {
  SCAN_TRY(scan_read_file(part->images, images, images_size));
  if (part->labelled) SCAN_TRY(scan_read_file(part->labels, labels, labels_size));
  return SCAN_OK;
}

scan_status data_load_stl(scan_dataset *out, const scan_dataset_spec *spec) {
  const char *which[2];
  int parts = split_parts(spec, which);
  stl_part part[2];
  long total = 0;
  /* Sizes first (from the file lengths), so one allocation holds the whole split. */
  for (int p = 0; p < parts; p++) {
    int found = find_part(spec->root, which[p], &part[p]);
    if (found < 0) return SCAN_ERR_INPUT;
    if (!found) return scan_fail(SCAN_ERR_INPUT, "%s: no such file", part[p].images);
    int fd;
    size_t file_size;
    SCAN_TRY(scan_open_regular(part[p].images, &fd, &file_size)); /* a FIFO or device is refused, not waited on */
    close(fd);
    long size = (long)file_size;
    if (size <= 0 || size % STL_IMAGE_BYTES != 0)
      return scan_fail(SCAN_ERR_INPUT, "%s: truncated: %ld bytes is not a whole number of %d-byte images", part[p].images,
                       size, STL_IMAGE_BYTES);
    part[p].count = size / STL_IMAGE_BYTES;
    total += part[p].count;
  }
  int any_labelled = part[0].labelled;
  SCAN_TRY(data_alloc_images(out, total, SCAN_STL_SIDE, SCAN_STL_SIDE, 3, any_labelled));
  long offset = 0;
  for (int p = 0; p < parts; p++) {
    unsigned char *images = NULL, *labels = NULL;
    size_t images_size = 0, labels_size = 0;
    long count = 0;
    scan_status st = read_part(&part[p], &images, &images_size, &labels, &labels_size);
    if (st == SCAN_OK && images_size != (size_t)part[p].count * STL_IMAGE_BYTES)
      st = scan_fail(SCAN_ERR_INPUT, "%s: changed size while being read", part[p].images);
    if (st == SCAN_OK)
      st = scan_stl_parse(images, images_size, part[p].labelled ? labels : NULL, labels_size, part[p].images,
                          part[p].labels, &count, out->pixels + (size_t)offset * STL_IMAGE_BYTES,
                          out->labels ? out->labels + offset : NULL);
    free(images);
    free(labels);
    SCAN_TRY(st);
    offset += count;
  }
  if (!any_labelled) return SCAN_OK; /* the unlabeled split alone: no labels, no classes */
  char names_path[SCAN_PATH_MAX];
  int found = data_find_file(spec->root, "stl10_binary", "class_names.txt", names_path, sizeof names_path);
  if (found < 0) return SCAN_ERR_INPUT;
  if (found) return data_read_class_names(out, names_path, 10);
  return data_set_class_names(out, stl_classes, 10);
}
