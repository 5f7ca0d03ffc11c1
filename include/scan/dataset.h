/* The one in-memory form every dataset loads into: uint8 images, H x W x C
 * (channels last), with optional labels and class names. Unlabelled data is a
 * first-class case: labels == NULL. */
#ifndef SCAN_DATASET_H
#define SCAN_DATASET_H

#include <stdint.h>

#include "scan/error.h"

typedef struct {
  int count;          /* number of images */
  int height, width;  /* every image has the same size */
  int channels;       /* 1 (grey) or 3 (RGB) */
  uint8_t *pixels;    /* count * height * width * channels, image-major, HWC */
  int32_t *labels;    /* count entries in [0, num_classes), or -1 for "no label"; NULL when unlabelled */
  int num_classes;    /* 0 when unknown */
  char **class_names; /* num_classes strings, or NULL */
  char **file_names;  /* count strings (image folders and lists), or NULL */
  char name[64];      /* e.g. "fashion-mnist/train" */
} scan_dataset;

static inline const uint8_t *scan_dataset_image(const scan_dataset *d, int index) {
  return d->pixels + (long)index * d->height * d->width * d->channels;
}

void scan_dataset_free(scan_dataset *d);
/* A hash of everything a stage reads from the dataset (shape, pixels, labels, file and class names), so that a run
   can tell that its data changed since a stage ran. */
uint64_t scan_dataset_fingerprint(const scan_dataset *d);

#endif
