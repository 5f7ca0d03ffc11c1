/* The parts of `scan predict` (src/predict/predict_*.c): where the images come from, and the folders they
 * are sorted into. Internal to src/predict. */
#ifndef SCAN_PIPELINE_PREDICT_INTERNAL_H
#define SCAN_PIPELINE_PREDICT_INTERNAL_H

#include <stddef.h>

#include "scan/datasets.h"
#include "scan/predict.h"

enum { PREDICT_MESSAGE_SIZE = 512 };

/* Image files (folder, list) are decoded a batch at a time; other formats are loaded whole by their reader. */
typedef struct {
  int from_files;
  scan_image_files files;
  scan_dataset data;
  long count;
} predict_source;

scan_status predict_source_open(predict_source *s, const scan_dataset_spec *spec);
void predict_source_close(predict_source *s);
/* The image's name in the outputs: its path as the folder or list gave it, or its index in a dataset file. */
const char *predict_source_name(const predict_source *s, long index, char *buf, size_t size);
/* Images [first, first + n) into input [n, C, S, S], on all threads: converted to aug->channels, resized whole
   to resize_to x resize_to when resize_to > 0, then the validation transform `aug` (any size). ok[k] = 0 and
   messages[k] the reason for an image that cannot be read. */
void predict_source_prepare(const predict_source *s, long first, int n, int resize_to, const scan_aug_config *aug,
                            float *input, int *ok, char (*messages)[PREDICT_MESSAGE_SIZE]);

/* One sub-folder per cluster under dir, created when its first image arrives. */
typedef struct {
  scan_sort_mode mode;
  char dir[SCAN_PATH_MAX];
  int clusters;
  char (*folders)[128]; /* [clusters] sub-folder names */
} predict_sorter;

/* names [clusters] (entries may be NULL or empty: cluster_XX). Links need image files. */
scan_status predict_sorter_open(predict_sorter *s, scan_sort_mode mode, const char *dir, char *const *names, int clusters,
                                const predict_source *source);
scan_status predict_sorter_add(predict_sorter *s, const predict_source *source, long index, int cluster);
void predict_sorter_close(predict_sorter *s);

#endif
