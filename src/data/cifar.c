/* CIFAR-10 / CIFAR-100 binary versions (Krizhevsky). Each record is the label
 * byte(s) then 3072 pixel bytes: the 1024 red, 1024 green, then 1024 blue
 * values of a 32x32 image, rows top to bottom (CHW). cifar-20 is CIFAR-100 with
 * the fine labels mapped to the 20 superclasses as SCAN does (spec §3.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data_internal.h"
#include "scan/atomic_file.h"

#define CIFAR_SIDE 32
#define CIFAR_PIXEL_BYTES (3 * CIFAR_SIDE * CIFAR_SIDE)

const int scan_cifar20_superclass[100] = {
    4,  1,  14, 8,  0,  6,  7,  7,  18, 3,  /*  0- 9 */
    3,  14, 9,  18, 7,  11, 3,  9,  7,  11, /* 10-19 */
    6,  11, 5,  10, 7,  6,  13, 15, 3,  15, /* 20-29 */
    0,  11, 1,  10, 12, 14, 16, 9,  11, 5,  /* 30-39 */
    5,  19, 8,  8,  15, 13, 14, 17, 18, 10, /* 40-49 */
    16, 4,  17, 4,  2,  0,  17, 4,  18, 17, /* 50-59 */
    10, 3,  2,  12, 12, 16, 12, 1,  9,  19, /* 60-69 */
    2,  10, 0,  1,  16, 12, 9,  13, 15, 13, /* 70-79 */
    16, 19, 2,  4,  6,  19, 5,  5,  8,  19, /* 80-89 */
    18, 1,  2,  15, 6,  0,  17, 8,  14, 13, /* 90-99 */
};

/* Spelling exactly as in the reference code, typo included. */
const char *const scan_cifar20_names[20] = {"aquatic mammals",
                                            "fish",
                                            "flowers",
                                            "food containers",
                                            "fruit and vegetables",
                                            "household electrical devices",
                                            "househould furniture",
                                            "insects",
                                            "large carnivores",
                                            "large man-made outdoor things",
                                            "large natural outdoor scenes",
                                            "large omnivores and herbivores",
                                            "medium-sized mammals",
                                            "non-insect invertebrates",
                                            "people",
                                            "reptiles",
                                            "small mammals",
                                            "trees",
                                            "vehicles 1",
                                            "vehicles 2"};

static const char *const cifar10_classes[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};

static int label_bytes(scan_cifar_kind kind) { return kind == SCAN_CIFAR10 ? 1 : 2; }

long scan_cifar_record_count(size_t size, scan_cifar_kind kind, const char *name) {
  size_t record = (size_t)label_bytes(kind) + CIFAR_PIXEL_BYTES;
  if (size == 0 || size % record != 0) {
    scan_fail(SCAN_ERR_INPUT, "%s: truncated: %zu bytes is not a whole number of %zu-byte records", name, size, record);
    return -1;
  }
  return (long)(size / record);
}

scan_status scan_cifar_parse_records(const unsigned char *data, long count, scan_cifar_kind kind, const char *name,
                                     uint8_t *pixels, int32_t *labels) {
  const int head = label_bytes(kind);
  const size_t record = (size_t)head + CIFAR_PIXEL_BYTES;
  const int plane = CIFAR_SIDE * CIFAR_SIDE;
  for (long i = 0; i < count; i++) {
    const unsigned char *r = data + (size_t)i * record;
    if (kind == SCAN_CIFAR10) {
      if (r[0] >= 10) return scan_fail(SCAN_ERR_INPUT, "%s: record %ld: label %d outside 0..9", name, i, r[0]);
      labels[i] = r[0];
    } else {
      if (r[0] >= 20) return scan_fail(SCAN_ERR_INPUT, "%s: record %ld: coarse label %d outside 0..19", name, i, r[0]);
      if (r[1] >= 100) return scan_fail(SCAN_ERR_INPUT, "%s: record %ld: fine label %d outside 0..99", name, i, r[1]);
      labels[i] = kind == SCAN_CIFAR100_FINE ? r[1] : scan_cifar20_superclass[r[1]];
    }
    const unsigned char *chw = r + head;
    uint8_t *hwc = pixels + (size_t)i * CIFAR_PIXEL_BYTES;
    for (int p = 0; p < plane; p++)
      for (int c = 0; c < 3; c++) hwc[p * 3 + c] = chw[c * plane + p];
  }
  return SCAN_OK;
}

/* The binary archives unpack into these folders; files directly in root are accepted too. */
static const char *folder_of(const scan_dataset_spec *spec) {
  return strcmp(spec->name, "cifar-10") == 0 ? "cifar-10-batches-bin" : "cifar-100-binary";
}

/* Fills names[] with the files of the split; returns how many. */
static int split_files(const scan_dataset_spec *spec, const char *names[5]) {
  int test = strcmp(spec->split, "test") == 0;
  if (strcmp(spec->name, "cifar-10") != 0) {
    names[0] = test ? "test.bin" : "train.bin";
    return 1;
  }
  if (test) {
    names[0] = "test_batch.bin";
    return 1;
  }
  static const char *const batches[5] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                                         "data_batch_5.bin"};
  for (int i = 0; i < 5; i++) names[i] = batches[i];
  return 5;
}

int data_cifar_present(const scan_dataset_spec *spec) {
  const char *names[5];
  char path[SCAN_PATH_MAX];
  return data_find_file(spec->root, folder_of(spec), names[split_files(spec, names) - 1], path, sizeof path) > 0;
}

static scan_status load_class_names(scan_dataset *out, const scan_dataset_spec *spec) {
  char path[SCAN_PATH_MAX];
  if (strcmp(spec->name, "cifar-20") == 0) return data_set_class_names(out, scan_cifar20_names, 20);
  if (strcmp(spec->name, "cifar-10") == 0) {
    int found = data_find_file(spec->root, folder_of(spec), "batches.meta.txt", path, sizeof path);
    if (found < 0) return SCAN_ERR_INPUT;
    if (found) return data_read_class_names(out, path, 10);
    return data_set_class_names(out, cifar10_classes, 10);
  }
  int found = data_find_file(spec->root, folder_of(spec), "fine_label_names.txt", path, sizeof path);
  if (found < 0) return SCAN_ERR_INPUT;
  if (found) return data_read_class_names(out, path, 100);
  return data_set_numbered_class_names(out, 100);
}

scan_status data_load_cifar(scan_dataset *out, const scan_dataset_spec *spec) {
  scan_cifar_kind kind = strcmp(spec->name, "cifar-10") == 0    ? SCAN_CIFAR10
                         : strcmp(spec->name, "cifar-100") == 0 ? SCAN_CIFAR100_FINE
                                                                : SCAN_CIFAR100_COARSE_FROM_FINE;
  const char *names[5];
  int files = split_files(spec, names);
  char paths[5][SCAN_PATH_MAX];
  long counts[5], total = 0;
  /* Sizes first, so one allocation holds the whole split. */
  for (int f = 0; f < files; f++) {
    int found = data_find_file(spec->root, folder_of(spec), names[f], paths[f], sizeof paths[f]);
    if (found < 0) return SCAN_ERR_INPUT;
    if (!found) return scan_fail(SCAN_ERR_INPUT, "%s: no such file", paths[f]);
    int fd;
    size_t size;
    SCAN_TRY(scan_open_regular(paths[f], &fd, &size)); /* a FIFO or device is refused, not waited on */
    close(fd);
    counts[f] = scan_cifar_record_count(size, kind, paths[f]);
    if (counts[f] < 0) return SCAN_ERR_INPUT;
    total += counts[f];
  }
  SCAN_TRY(data_alloc_images(out, total, CIFAR_SIDE, CIFAR_SIDE, 3, 1));
  long offset = 0;
  for (int f = 0; f < files; f++) {
    unsigned char *data;
    size_t size;
    SCAN_TRY(scan_read_file(paths[f], &data, &size));
    /* The file may have changed since it was measured. */
    scan_status st = scan_cifar_record_count(size, kind, paths[f]) == counts[f]
                         ? scan_cifar_parse_records(data, counts[f], kind, paths[f],
                                                    out->pixels + (size_t)offset * CIFAR_PIXEL_BYTES, out->labels + offset)
                         : scan_fail(SCAN_ERR_INPUT, "%s: changed size while being read", paths[f]);
    free(data);
    SCAN_TRY(st);
    offset += counts[f];
  }
  return load_class_names(out, spec);
}
