/* The one form every dataset loads into: uint8 images, H x W x C (channels last), with optional labels and class
 * names. Unlabelled data is a first-class case: labels == NULL.
 *
 * The images are either all in memory (`pixels`) or streamed (`pixels` NULL, `source` set): a folder or list too
 * large to decode whole keeps only its file names and decodes an image when asked, through a bounded cache; a
 * packed file (scan data pack) is read image by image. scan_dataset_read is the way to get an image of either. */
#ifndef SCAN_DATASET_H
#define SCAN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "scan/error.h"

typedef struct {
  int count;          /* number of images */
  int height, width;  /* every image has the same size */
  int channels;       /* 1 (grey) or 3 (RGB) */
  uint8_t *pixels;    /* count * height * width * channels, image-major, HWC; NULL when streamed */
  struct scan_image_source *source; /* streamed images (src/data/image_source.c), or NULL when in memory */
  int32_t *labels;    /* count entries in [0, num_classes), or -1 for "no label"; NULL when unlabelled */
  int num_classes;    /* 0 when unknown */
  char **class_names; /* num_classes strings, or NULL */
  char **file_names;  /* count strings (image folders and lists), or NULL */
  char name[64];      /* e.g. "fashion-mnist/train" */
} scan_dataset;

static inline size_t scan_dataset_image_bytes(const scan_dataset *d) {
  return (size_t)d->height * (size_t)d->width * (size_t)d->channels;
}

/* Image `index`: *image points into d->pixels when the images are in memory, else at `scratch` (at least
 * scan_dataset_image_bytes), filled from the cache, the file (decoded) or the packed file. Thread-safe. A file that
 * cannot be read or decoded any more is SCAN_ERR_INPUT naming it. */
scan_status scan_dataset_read(const scan_dataset *d, long index, uint8_t *scratch, const uint8_t **image);

/* Image `index`'s pixels scaled to [0, 1] in `row` (scan_dataset_image_bytes floats); scratch as scan_dataset_read. */
scan_status scan_dataset_read_unit(const scan_dataset *d, long index, uint8_t *scratch, float *row);

/* A copy of image `index` in `dst` (scan_dataset_image_bytes), from memory, the cache, the file or the packed file. */
scan_status scan_dataset_copy_image(const scan_dataset *d, long index, uint8_t *dst);

/* Copies of images indices[0..count) side by side in one new allocation (*out, count * scan_dataset_image_bytes; free
 * it), for code that needs several at once, such as an image grid. A negative index leaves its slot zeroed. */
scan_status scan_dataset_gather(const scan_dataset *d, const int64_t *indices, long count, uint8_t **out);

/* A streamed dataset's cache: bytes of decoded images held now, the most ever held, and the budget (all 0 for
 * a dataset in memory or a packed file, which needs no cache). */
void scan_dataset_cache_usage(const scan_dataset *d, size_t *held, size_t *peak, size_t *budget);

void scan_dataset_free(scan_dataset *d);
/* A hash of everything a stage reads from the dataset (shape, pixels, labels, file and class names), so that a run
   can tell that its data changed since a stage ran. */
uint64_t scan_dataset_fingerprint(const scan_dataset *d);

#endif
