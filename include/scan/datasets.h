/* Dataset readers: every supported on-disk format loads into a scan_dataset
 * (include/scan/dataset.h). Every error names the file (and the record where
 * one applies) and is SCAN_ERR_INPUT: wrong magic numbers, truncated or
 * over-long files, labels outside the class range, image/label count
 * mismatches, unreadable images. */
#ifndef SCAN_DATASETS_H
#define SCAN_DATASETS_H

#include <stddef.h>

#include "scan/dataset.h"

typedef enum { SCAN_STREAM_OFF = 0, SCAN_STREAM_AUTO, SCAN_STREAM_ON } scan_streaming;
#define SCAN_DEFAULT_CACHE_MB 1024

typedef struct {
  const char *name;  /* fashion-mnist, mnist, cifar-10, cifar-20, cifar-100, stl-10, folder, list, packed */
  const char *root;  /* directory (for `list`, the list file; for `packed`, the file); NULL or "" = default (fashion-mnist only) */
  const char *split; /* train | test (| unlabeled | train+unlabeled for stl-10); NULL = train; folder/list ignore it */
  int image_size;    /* folder/list: resize every image to this square size (0 = keep, all must be equal) */
  int channels;      /* folder/list: 1 or 3 (0 = 3) */
  scan_streaming streaming; /* folder/list/packed: keep the images in memory or stream them (0 = off: in memory) */
  long cache_mb;            /* streamed folder/list: the decoded-image cache's budget in MiB (0 = 1024); auto streams
                               when the decoded images would not fit in it */
} scan_dataset_spec;

#define SCAN_DEFAULT_FASHION_MNIST_ROOT "/usr/share/datasets/fashion-mnist"

scan_status scan_dataset_load(scan_dataset *out, const scan_dataset_spec *spec);

/* 1 when `name` is one of the formats above. */
int scan_dataset_name_valid(const char *name);
/* The splits a format knows, NULL-terminated ({NULL} only for folder/list),
 * or NULL for an unknown name. */
const char *const *scan_dataset_splits(const char *name);
/* 1 when the files of spec's split are present (their contents are not checked). */
int scan_dataset_split_present(const scan_dataset_spec *spec);

/* The image files of a folder or list dataset, listed without decoding them (the folder's sorted
 * ImageFolder order, or the list's order): full paths, names relative to the folder (or as the list
 * wrote them), labels (NULL when unlabelled) and class names (NULL for a list: numbered "0", "1", ...). */
typedef struct {
  long count;
  char **paths, **names;
  int32_t *labels;
  int num_classes;
  char **class_names;
} scan_image_files;

/* Writes `d` (in memory or streamed) as one packed file: a header (count, sizes, labels, class and file names)
 * then the raw images, read back image by image by the `packed` dataset. Written to a temporary and renamed. */
scan_status scan_dataset_pack(const scan_dataset *d, const char *path);

/* 1 for the formats whose images are files of their own (folder, list). */
int scan_dataset_is_files(const char *name);
scan_status scan_image_files_find(scan_image_files *out, const scan_dataset_spec *spec);
void scan_image_files_free(scan_image_files *f);

/* ---- Parse-from-memory entry points (used by the loaders and the fuzzers) ---- */

/* IDX pair: images (magic 2051, N x rows x cols uint8) and labels (magic 2049,
 * N uint8 < num_classes). The names are used in error messages only.
 * Fills out->count/height/width/channels(1)/pixels/labels; nothing else. */
scan_status scan_idx_parse(scan_dataset *out, const unsigned char *images, size_t images_size,
                           const unsigned char *labels, size_t labels_size, int num_classes,
                           const char *images_name, const char *labels_name);

/* CIFAR binary records: label bytes then 3072 bytes of 32x32 RGB stored CHW.
 * kind picks the record layout and which label is kept. */
typedef enum {
  SCAN_CIFAR10,        /* 1 label byte, < 10 */
  SCAN_CIFAR100_FINE,  /* coarse byte (< 20), fine byte (< 100); keeps fine */
  SCAN_CIFAR100_COARSE_FROM_FINE /* same records; keeps scan_cifar20_superclass[fine] (cifar-20) */
} scan_cifar_kind;

/* Number of records in `size` bytes, or -1 (with an error naming `name`) when
 * size is not a whole number of records. */
long scan_cifar_record_count(size_t size, scan_cifar_kind kind, const char *name);
/* Converts `count` whole records to HWC pixels (count*32*32*3) and labels. */
scan_status scan_cifar_parse_records(const unsigned char *data, long count, scan_cifar_kind kind, const char *name,
                                     uint8_t *pixels, int32_t *labels);

/* CIFAR-100 fine label -> CIFAR-20 superclass (spec §3.1) and the superclass names. */
extern const int scan_cifar20_superclass[100];
extern const char *const scan_cifar20_names[20];

/* STL-10: images are (N, 3, 96, 96) bytes with each channel stored
 * column-major ([x][y]); labels are bytes 1..10 (converted to 0..9).
 * labels == NULL means unlabelled (every label -1). Converts `count` images
 * to HWC at `pixels` and labels to `labels_out` (may be NULL when labels is NULL). */
#define SCAN_STL_SIDE 96
scan_status scan_stl_parse(const unsigned char *images, size_t images_size, const unsigned char *labels,
                           size_t labels_size, const char *images_name, const char *labels_name, long *count,
                           uint8_t *pixels, int32_t *labels_out);

#endif
